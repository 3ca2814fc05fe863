"""Oracles for the native engine's tests: the real loader's verdicts and how to compare them.

``ldd`` and LD_DEBUG=libs,files output parsers, and comparisons with the emulation's trees. Kept in a
module with a unique name (not conftest) so test modules can import it whatever else pytest collected.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

#: The environment every oracle runs in and every model is given: no inherited loader variables.
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if not k.startswith(("LD_", "PYTHON")) and k not in ("VIRTUAL_ENV",)}


def elf_files(*folders):
    """Every ELF file under the folders (symlinks left out), sorted."""
    out = []
    for folder in folders:
        for dirpath, _dirs, files in os.walk(folder):
            for name in files:
                p = Path(dirpath) / name
                if p.is_symlink() or not p.is_file():
                    continue
                with open(p, "rb") as fh:
                    if fh.read(4) == b"\x7fELF":
                        out.append(p)
    return sorted(out)


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


# The LD_DEBUG parser lives in the package now (the ``check`` verb shows ld.so's verdict too).
from dllmagic.facts.native.ldtrace import parse_ld_debug  # noqa: E402,F401


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

from dllmagic.facts.native.ldtrace import _first_nodes as first_nodes  # noqa: E402,F401
from dllmagic.facts.native.ldtrace import searched_nodes  # noqa: E402,F401


def compare_with_ldd(tree, ldd) -> List[str]:
    """Disagreements between a standalone tree and ldd's list (name => path, in load order)."""
    mine = []
    for node in first_nodes(tree):
        if node.rule == "already-loaded" and node.path and "/" in node.name:
            continue
        # (The program met again by its SONAME is a repeat, not here; the same file met by a search is
        # a new object, listed by ldd too: ld.so does not compare the program's inode.)
        mine.append((node.name, node.path if node.error is None else None))
    # ldd lists an object once, under the name it was first asked for; ld.so itself has no "=>" line.
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
