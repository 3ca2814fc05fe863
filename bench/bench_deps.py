"""Measure ``deps`` against ldd, auditwheel's lddtree and pyelftools, side by side, in one run.

    python bench/bench_deps.py [SITE_PACKAGES] [--python EXE] [--skip-lddtree]

Every ELF file under SITE_PACKAGES is:
  1. run through ``ldd`` once per file (a process each, as a shell loop would);
  2. resolved by auditwheel's ``lddtree.ldd`` (in process; skipped when auditwheel is not installed);
  3. read by pyelftools (dynamic and version sections only: no resolution);
  4. read by our reader (``read_binary``, cold cache: no resolution);
  5. resolved by ``python -m dllmagic.cli_deps deps SITE --standalone --json`` (interpreter start,
     resolution and version checks included), and by ``deps SITE --json`` (extension modules as
     imported, with the symbol check), each in a fresh process.
Then a single failing extension (Pillow's _imaging copied away from its libraries) is timed cold.
The standalone answers are compared with ldd's: every DT_NEEDED must resolve to the same path.
Results go to stdout as a table and, with --json FILE, as data.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from dllmagic.cli_deps import iter_binaries  # noqa: E402
from dllmagic.facts.native import binary as binary_mod  # noqa: E402
from dllmagic.facts.native.loader import loader_for, problems  # noqa: E402
from dllmagic.facts.system import System  # noqa: E402

LDD_LINE = re.compile(r"^\s+(\S+) => (?:(not found)|(\S+) \(0x[0-9a-f]+\))\s*$")
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("LD_", "PYTHON"))}


def timed(fn):
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def run_ldd_all(files):
    out = {}
    for f in files:
        p = subprocess.run(["ldd", f], capture_output=True, text=True, env=ENV)
        out[f] = [(m.group(1), None if m.group(2) else m.group(3))
                  for m in map(LDD_LINE.match, p.stdout.splitlines()) if m]
    return out


def run_lddtree_all(files):
    from auditwheel.lddtree import ldd

    for f in files:
        try:
            ldd(Path(f))
        except Exception:  # noqa: BLE001 - a tool's failure on one file is not the bench's
            pass


def run_pyelftools_all(files):
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection

    for f in files:
        with open(f, "rb") as fh:
            e = ELFFile(fh)
            for sec in e.iter_sections():
                if isinstance(sec, DynamicSection):
                    for _tag in sec.iter_tags():
                        pass
                elif isinstance(sec, (GNUVerNeedSection, GNUVerDefSection)):
                    for _v, auxes in sec.iter_versions():
                        for _a in auxes:
                            pass


def run_reader_all(files):
    binary_mod.clear_cache()
    for f in files:
        binary_mod.read_binary(f, System.model("linux", "/", environ=ENV))


def cli(site, *extra, python=None):
    argv = [sys.executable, "-m", "dllmagic.cli_deps", "deps", site, "--json", *extra]
    if python:
        argv += ["--python", python]
    p = subprocess.run(argv, capture_output=True, text=True, cwd=str(HERE.parent), env=ENV)
    if p.returncode not in (0, 1):
        raise SystemExit(f"deps failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout)


def agreement(site_json, ldd_out):
    """(entries compared, disagreements) between the standalone trees and ldd."""
    compared, bad = 0, []
    for tree in site_json["trees"]:
        root = tree["root"]["path"]
        mine = {}
        queue = [tree["root"]]
        while queue:
            n = queue.pop(0)
            for c in n["children"]:
                if not c["repeat"]:
                    mine.setdefault(c["name"], c["path"] if c["error"] is None else None)
                    queue.append(c)
        for name, path in ldd_out.get(root, []):
            compared += 1
            if mine.get(name, "absent") != path:
                bad.append((root, name, path, mine.get(name, "absent")))
    return compared, bad


def failing_extension(site):
    """Pillow's _imaging, copied away from pillow.libs: a real extension whose libraries are gone."""
    src = sorted(Path(site).glob("PIL/_imaging.cpython-*.so"))
    if not src:
        return None
    tmp = Path(tempfile.mkdtemp())
    (tmp / "PIL").mkdir()
    dst = tmp / "PIL" / src[0].name
    shutil.copy(src[0], dst)
    return str(dst)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("site", nargs="?", default=sysconfig.get_paths()["purelib"])
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--skip-lddtree", action="store_true")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    site = os.path.abspath(args.site)
    files = list(iter_binaries(System.model("linux", "/"), site))
    print(f"{len(files)} ELF files under {site}")
    rows = {}
    rows["ldd once per file"], ldd_out = timed(lambda: run_ldd_all(files))
    try:
        import auditwheel  # noqa: F401
        have_lddtree = not args.skip_lddtree
    except ImportError:
        have_lddtree = False
    if have_lddtree:
        rows["auditwheel lddtree"], _ = timed(lambda: run_lddtree_all(files))
    rows["pyelftools bare read (dynamic + versions)"], _ = timed(lambda: run_pyelftools_all(files))
    rows["dllmagic reader, cold (no resolution)"], _ = timed(lambda: run_reader_all(files))
    rows["deps --standalone (process, resolution + versions)"], standalone = timed(
        lambda: cli(site, "--standalone"))
    rows["deps (auto: extensions as imported, no symbols) (process)"], _ = timed(
        lambda: cli(site, "--no-symbols", python=args.python))
    rows["deps (auto: extensions as imported, + symbols) (process)"], imported = timed(
        lambda: cli(site, python=args.python))
    compared, bad = agreement(standalone, ldd_out)
    fail = failing_extension(site)
    single = {}
    if fail:
        binary_mod.clear_cache()
        system = System.model("linux", "/", environ=ENV, executable=args.python)
        t, tree = timed(lambda: loader_for(system).resolve(fail, mode="as-imported"))
        single = {"file": fail, "seconds_in_process_cold": t, "problems": len(problems(tree))}
        t2, _ = timed(lambda: cli(fail, python=args.python))
        single["seconds_cli_process"] = t2
    base = rows["ldd once per file"]
    print(f"\n{'measure':55} {'seconds':>9} {'ldd / this':>11}")
    for name, sec in rows.items():
        print(f"{name:55} {sec:9.3f} {base / sec:11.1f}")
    if have_lddtree:
        lt = rows["auditwheel lddtree"]
        for name in [r for r in rows if r.startswith("deps")]:
            print(f"lddtree / {name}: {lt / rows[name]:.1f}")
    print(f"\nstandalone vs ldd: {compared} DT_NEEDED answers compared, {len(bad)} disagreements")
    for b in bad[:10]:
        print("  ", b)
    missing = sum(1 for t in imported["trees"] if t["problems"])
    print(f"auto: {len(imported['trees'])} trees ({len(imported['checked_as_dependencies'])} bundled "
          f"libraries checked as dependencies), {missing} with problems")
    if single:
        print(f"single failing extension ({single['problems']} problems): "
              f"{single['seconds_in_process_cold'] * 1000:.1f} ms in process (cold), "
              f"{single['seconds_cli_process'] * 1000:.1f} ms as a CLI process")
    if args.json:
        Path(args.json).write_text(json.dumps({"files": len(files), "rows": rows, "compared": compared,
                                               "disagreements": len(bad), "single": single}, indent=1))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
