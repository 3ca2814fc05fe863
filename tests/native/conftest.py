"""Fixtures and oracles for the native engine's tests.

- ``rules``: every folder under fixtures/ built by its build.sh into a session tmp folder (gcc).
- ``driver``: a stand-in for python that dlopen()s its arguments (fixtures/driver.c).
- ``ldd`` / ``ld_debug`` parsers: the real loader's verdict, to compare with the emulation.
- ``wheel_env``: a venv with real numpy and Pillow wheels (pip; the pip cache is used when present).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"

#: The environment every oracle runs in and every model is given: no inherited loader variables.
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if not k.startswith(("LD_", "PYTHON")) and k not in ("VIRTUAL_ENV",)}


def rule_names() -> List[str]:
    return sorted(p.name for p in FIXTURES.iterdir() if (p / "build.sh").is_file())


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build the loader fixtures (apt: gcc, libc6-dev, gcc-multilib)")
    out = tmp_path_factory.mktemp("native-rules")
    env = dict(CLEAN_ENV, DRIVER_SRC=str(FIXTURES / "driver.c"))

    def build(name: str) -> Tuple[str, int, str]:
        proc = subprocess.run(["sh", str(FIXTURES / name / "build.sh"), str(out / name)],
                              env=env, capture_output=True, text=True)
        return name, proc.returncode, proc.stdout + proc.stderr

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(build, rule_names()))
    failed = [f"{n}: {log}" for n, rc, log in results if rc]
    assert not failed, "fixture builds failed:\n" + "\n".join(failed)
    subprocess.run(["gcc", "-o", str(out / "driver"), str(FIXTURES / "driver.c"), "-ldl"], check=True)
    return out


@pytest.fixture(scope="session")
def driver(built) -> Path:
    return built / "driver"


# -- the real loader's verdicts ---------------------------------------------------------------------

_LDD_LINE = re.compile(r"^\s+(\S+) => (?:(not found)|(\S+) \(0x[0-9a-f]+\))\s*$")
_LDD_VERSION = re.compile(r"version `([^']+)' not found \(required by ([^)]+)\)")
_LDD_UNDEF = re.compile(r"undefined symbol: (\S+)\s+\(([^)]+)\)")


def run_ldd(path: str, env=None, relocs: bool = False) -> Dict[str, object]:
    """ldd's answer: [(name, path or None)] in load order, missing versions, undefined symbols."""
    args = ["ldd"] + (["-r"] if relocs else []) + [path]
    proc = subprocess.run(args, env=env or CLEAN_ENV, capture_output=True, text=True)
    text = proc.stdout + proc.stderr
    entries = []
    for line in proc.stdout.splitlines():
        m = _LDD_LINE.match(line)
        if m:
            entries.append((m.group(1), None if m.group(2) else m.group(3)))
            continue
        m = re.match(r"^\s+(/\S+) \(0x[0-9a-f]+\)\s*$", line)  # a name with a slash: no "=>"
        if m and "/ld-linux" not in m.group(1) and "/ld64.so" not in m.group(1):
            entries.append((m.group(1), m.group(1)))
    return {
        "entries": entries,
        "versions": {(v, os.path.basename(r)) for v, r in _LDD_VERSION.findall(text)},
        "undefined": {(s, os.path.basename(r)) for s, r in _LDD_UNDEF.findall(text)},
        "text": text,
        "rc": proc.returncode,
    }


_DBG = re.compile(r"^\s*\d+:\s(.*)$")


def parse_ld_debug(text: str, marker: str) -> List[Dict[str, object]]:
    """The ``find library`` blocks after ``marker`` in LD_DEBUG=libs,files output.

    Each: name, tried (every 'trying file'), last (the last tried: the file opened when the load went
    on), requested_by (from the 'needed by' line, when files is on), dlopened (the object whose
    dlopen() led to it).
    """
    blocks: List[Dict[str, object]] = []
    started = False
    current: Optional[Dict[str, object]] = None
    pending_by: Optional[str] = None
    dlopened: Optional[str] = None
    for raw in text.splitlines():
        if raw.startswith(marker):
            started = True
            continue
        if not started:
            continue
        m = _DBG.match(raw)
        if not m:
            continue
        line = m.group(1).strip()
        fm = re.match(r"file=(\S+) \[\d+\];\s+(needed by|dynamically loaded by) (\S+)", line)
        if fm:
            pending_by = fm.group(3)
            if fm.group(2) == "dynamically loaded by":
                dlopened = fm.group(1)
                blocks.append({"dlopen": fm.group(1)})
            continue
        lm = re.match(r"find library=(\S+) \[\d+\]; searching", line)
        if lm:
            current = {"name": lm.group(1), "tried": [], "requested_by": pending_by, "dlopened": dlopened}
            blocks.append(current)
            continue
        tm = re.match(r"trying file=(\S+)", line)
        if tm and current is not None:
            current["tried"].append(tm.group(1))
    for b in blocks:
        if "name" in b:
            b["last"] = b["tried"][-1] if b["tried"] else None
    return blocks


def run_driver(driver: Path, args: List[str], env=None) -> Dict[str, object]:
    """The driver dlopen()s each argument; LD_DEBUG=libs,files tells what the loader did."""
    env = dict(env or CLEAN_ENV, LD_DEBUG="libs,files")
    proc = subprocess.run([str(driver)] + args, env=env, capture_output=True, text=True)
    err = None
    maps = []
    for line in proc.stdout.splitlines():
        if line.startswith("DLERROR "):
            err = line[8:]
        elif line.startswith("MAP "):
            maps.append(line[4:])
    return {"blocks": [b for b in parse_ld_debug(proc.stderr, "@@DLOPEN") if "name" in b],
            "error": err, "maps": maps, "stderr": proc.stderr}


# -- comparing -------------------------------------------------------------------------------------

def first_nodes(tree):
    """The nodes ld.so maps (first occurrence of each object), in load order (breadth first)."""
    from collections import deque

    out = []
    queue = deque([tree.root])
    while queue:
        node = queue.popleft()
        out.append(node)
        queue.extend(c for c in node.children if not c.repeat)
    return out[1:]


def searched_nodes(tree):
    """(name, path found by the search or None) for every node that made ld.so search, in order."""
    out = []
    for node in first_nodes(tree):
        if "/" in node.name:
            continue
        rules = [c for c in node.candidates if c.rule != "already-loaded" and c.outcome != "not-searched"]
        if not rules and node.rule == "already-loaded":
            continue
        found = [c.path for c in node.candidates if c.outcome == "found" and c.rule != "already-loaded"]
        out.append((node.name, found[0] if found else None))
    return out


def compare_with_ldd(tree, ldd) -> List[str]:
    """Disagreements between a standalone tree and ldd's list (name => path, in load order)."""
    mine = []
    for node in first_nodes(tree):
        if node.rule == "already-loaded" and node.path and "/" in node.name:
            continue
        mine.append((node.name, node.path if node.error is None else None))
    # ldd lists an object once, under the name it was first asked for; ld.so itself has no "=>" line.
    mine = [(n, p) for n, p in mine if not (p and p == tree.root.path)]
    seen = set()
    uniq = []
    for n, p in mine:
        key = p or ("missing", n)
        if key in seen:
            continue
        seen.add(key)
        uniq.append((n, p))
    theirs = [(n, p) for n, p in ldd["entries"]]
    # The interpreter (named by its path, no "=>") and the vDSO are not in ldd's "=>" lines.
    uniq = [(n, p) for n, p in uniq if not (p and "ld-linux" in p and n.startswith("ld-linux"))]
    theirs = [(n, p) for n, p in theirs if not n.startswith("ld-linux")]
    if uniq != theirs:
        return [f"emulation {uniq}\n    ldd {theirs}"]
    return []


def compare_with_ld_debug(tree, blocks) -> List[str]:
    """Disagreements between an as-imported tree and the loader's own search blocks, in order."""
    mine = searched_nodes(tree)
    theirs = [(b["name"], b["last"]) for b in blocks]
    problems = []
    if [n for n, _ in mine] != [n for n, _ in theirs]:
        problems.append(f"searched names differ:\n    emulation {[n for n, _ in mine]}\n"
                        f"    ld.so     {[n for n, _ in theirs]}")
        return problems
    for (name, mp), (_n, tp) in zip(mine, theirs):
        if mp is not None and mp != tp:
            problems.append(f"{name}: emulation found {mp}, ld.so opened {tp}")
    return problems


# -- a real environment -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def wheel_env(tmp_path_factory) -> Dict[str, Path]:
    """A venv holding real numpy and Pillow wheels."""
    root = tmp_path_factory.mktemp("wheel-env")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.check_output(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--only-binary=:all:", "--target", str(site), "numpy", "Pillow"],
        capture_output=True, text=True)
    if proc.returncode:
        pytest.fail("could not install numpy and Pillow wheels: " + proc.stderr[-2000:])
    return {"python": py, "site": site, "root": root}
