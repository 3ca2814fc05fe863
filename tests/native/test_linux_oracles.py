"""Zero disagreements with the real loader on real environments.

(a) standalone: every extension module and bundled library of the installed environments resolves each
    DT_NEEDED to the same path, in the same load order, as ``ldd``.
(b) as-imported: a real ``import`` of numpy and every Pillow extension in a child process, traced with
    LD_DEBUG=libs,files; each dlopen() is replayed on the emulation (with what was loaded before it)
    and must search the same names and open the same files.
"""
from __future__ import annotations

import os
import subprocess
import sysconfig
from concurrent.futures import ThreadPoolExecutor

from native_oracles import CLEAN_ENV, compare_with_ld_debug, compare_with_ldd, parse_ld_debug, run_ldd, searched_nodes
from dllmagic.facts.native.loader import format_tree, loader_for
from dllmagic.facts.system import System
from native_oracles import elf_files


def test_standalone_agrees_with_ldd_on_installed_environments(wheel_env):
    files = elf_files(wheel_env["site"]) + elf_files(sysconfig.get_paths()["purelib"])
    assert len(files) >= 40
    system = System.model("linux", "/", environ=CLEAN_ENV)
    loader = loader_for(system)
    with ThreadPoolExecutor(max_workers=4) as pool:
        ldds = list(pool.map(lambda p: run_ldd(str(p)), files))
    disagreements = []
    compared = 0
    for path, ldd in zip(files, ldds):
        tree = loader.resolve(str(path), mode="standalone")
        problems = compare_with_ldd(tree, ldd)
        compared += len(ldd["entries"])
        if problems:
            disagreements.append(f"{path}:\n  " + "\n  ".join(problems))
    assert compared > 200
    assert disagreements == [], "\n".join(disagreements[:10])


CHILD = r"""
import os, sys
maps = []
for line in open("/proc/self/maps"):
    parts = line.split(None, 5)
    if len(parts) == 6 and parts[5].startswith("/") and parts[5].strip() not in maps:
        maps.append(parts[5].strip())
open(sys.argv[1], "w").write("\n".join(maps))
os.write(2, b"@@IMPORT\n")
import importlib
for name in sys.argv[2:]:
    importlib.import_module(name)
os.write(2, b"@@DONE\n")
"""


def replay(python, site, modules, tmp_path):
    env = dict(CLEAN_ENV, PYTHONPATH=str(site), PYTHONNOUSERSITE="1", LD_DEBUG="libs,files")
    maps_file = tmp_path / "maps.txt"
    proc = subprocess.run([str(python), "-c", CHILD, str(maps_file)] + modules, env=env,
                          capture_output=True, text=True)
    assert "@@DONE" in proc.stderr, proc.stderr[-3000:]
    text = proc.stderr.split("@@DONE", 1)[0]
    blocks = parse_ld_debug(text, "@@IMPORT")
    loaded = [p for p in maps_file.read_text().splitlines() if p]
    env.pop("LD_DEBUG")
    groups = []
    for b in blocks:
        if "dlopen" in b:
            groups.append((b["dlopen"], []))
        elif groups:
            groups[-1][1].append(b)
    disagreements, compared = [], 0
    for target, found in groups:
        if not target.startswith("/"):
            # ctypes-style dlopen("libfribidi.so") from a module's own code (Pillow's raqm support):
            # searched with the caller's RPATH, not an import. Not replayed; what it loaded is.
            loaded.extend(b["last"] for b in found if b["last"] and os.path.exists(b["last"]))
            continue
        system = System.model("linux", "/", environ=env, executable=str(python), loaded=tuple(loaded))
        tree = loader_for(system).resolve(target, mode="as-imported")
        problems = compare_with_ld_debug(tree, found)
        compared += len(found)
        if problems:
            disagreements.append(f"{target}:\n  " + "\n  ".join(problems) + "\n" + format_tree(tree, True))
        loaded.append(target)
        loaded.extend(p for _n, p in searched_nodes(tree) if p)
    return groups, compared, disagreements


def test_as_imported_agrees_with_ld_debug_of_real_imports(wheel_env, tmp_path):
    site = wheel_env["site"]
    pil = sorted("PIL." + p.name.split(".")[0] for p in (site / "PIL").glob("*.so"))
    modules = ["numpy", "numpy.linalg", "numpy.fft", "numpy.random"] + pil
    groups, compared, disagreements = replay(wheel_env["python"], site, modules, tmp_path)
    assert len(groups) >= 10 and compared >= 15
    assert disagreements == [], "\n".join(disagreements[:5])
