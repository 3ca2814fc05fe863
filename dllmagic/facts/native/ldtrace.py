"""The real loader's own verdict: an import re-run in a child process under ``LD_DEBUG``.

glibc's ld.so reports what it does when ``LD_DEBUG`` names the categories: ``libs`` (each library
searched for, the search lists with their source - RPATH of a file, LD_LIBRARY_PATH, RUNPATH, the
cache, the system path - and every file tried), ``files`` (each dlopen() and which object asked for
it, each link map made) and ``versions`` (each symbol version checked, in which file, for whom).
This module runs ``import NAME`` in a child of the target interpreter with those categories on,
parses the trace into plain records (:class:`ImportTrace`), and compares it with the emulation
(:func:`compare`): each dlopen() of the trace is replayed on :mod:`.loader` with what the child had
loaded before it, and every difference - a library searched for by one and not the other, a
different file opened, found by one and not the other - is reported, never hidden.

Facts only: no judgement, no printing. The diagnosis rule that turns this into evidence is
:mod:`dllmagic.diagnosis.native_truth`. Linux with glibc only: musl and the other platforms have no
``LD_DEBUG``; on them :func:`trace_import` is not called (:func:`can_trace` says so).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections import deque
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = [
    "LD_DEBUG", "LibrarySearch", "VersionCheck", "Dlopen", "ImportTrace", "DlopenComparison",
    "Comparison", "can_trace", "parse_ld_debug", "parse_trace", "trace_import", "compare",
    "compare_tree", "searched_nodes",
]

#: The categories asked for: libs and versions (the verdict), files (where each dlopen() begins).
LD_DEBUG = "libs,files,versions"
MARKER = "@@DLLMAGIC-IMPORT"
DONE = "@@DLLMAGIC-DONE"


@dataclass(frozen=True)
class LibrarySearch:
    """One ``find library=NAME`` block: a library ld.so had to search for."""

    name: str
    #: The file whose DT_NEEDED asked for it (the ``needed by`` line), when the trace says.
    requested_by: Optional[str]
    #: Every ``trying file=`` line, in order.
    tried: Tuple[str, ...]
    #: The search lists, in order: (folders joined by ':', where the list came from) - e.g.
    #: ("/opt/x/lib", "RUNPATH from file /opt/x/libfoo.so"), ("/etc/ld.so.cache", "cache").
    search_lists: Tuple[Tuple[str, str], ...]
    #: The file ld.so opened (the last one tried, when a link map followed); None when not found.
    found: Optional[str]


@dataclass(frozen=True)
class VersionCheck:
    """``checking for version `V' in file F required by file R``."""

    version: str
    file: str
    required_by: str


@dataclass(frozen=True)
class Dlopen:
    """One dlopen() in the child (CPython importing an extension module, or ctypes)."""

    path: str
    #: The object that called dlopen() (libpython, the python executable, _ctypes ...).
    loaded_by: Optional[str]
    searches: Tuple[LibrarySearch, ...]
    versions: Tuple[VersionCheck, ...]
    #: Objects for which ld.so made a link map (what this dlopen() brought in), in order.
    mapped: Tuple[str, ...]
    #: Whether ld.so threw the new objects away again (the load failed).
    failed: bool


@dataclass(frozen=True)
class ImportTrace:
    """``import NAME`` in a child process of ``python``, as ld.so saw it."""

    module: str
    python: str
    ok: bool
    #: "ImportError: libfoo.so.1: cannot open shared object file: ..." when the import failed.
    error: Optional[str]
    #: Files mapped in the child before the import began (/proc/self/maps).
    loaded_before: Tuple[str, ...]
    dlopens: Tuple[Dlopen, ...]
    returncode: int
    notes: Tuple[str, ...] = ()


def can_trace(system) -> bool:
    """Whether ``system`` is this live Linux machine, where ld.so's own trace can be had."""
    return bool(getattr(system, "live", False)) and getattr(system, "platform", None) == "linux"


# -- parsing -------------------------------------------------------------------------------------------

_DBG = re.compile(r"^\s*\d+:\s(.*)$")
_FILE = re.compile(r"file=(\S+) \[\d+\];\s+(needed by|dynamically loaded by) (\S+)")
_LINKMAP = re.compile(r"file=(\S+) \[\d+\];\s+generating link map")
_DESTROY = re.compile(r"file=(\S+) \[\d+\];\s+destroying link map")
_FIND = re.compile(r"find library=(\S+) \[\d+\]; searching")
_TRYING = re.compile(r"trying file=(\S+)")
_SEARCH = re.compile(r"search (path|cache)=(\S*)\s*(?:\((.*)\))?")
_VERSION = re.compile(r"checking for version `([^']+)' in file (\S+) \[\d+\] required by file (\S+) \[\d+\]")


def _debug_lines(text: str, marker: Optional[str]):
    started = marker is None
    for raw in text.splitlines():
        if not started:
            if raw.startswith(marker):
                started = True
            continue
        if raw.startswith(DONE):
            return
        m = _DBG.match(raw)
        if m:
            yield m.group(1).strip()


def parse_ld_debug(text: str, marker: Optional[str] = None) -> List[Dict[str, object]]:
    """The ``find library`` blocks (after ``marker``) of LD_DEBUG=libs,files output, as plain dicts.

    Each block: name, tried (every 'trying file'), last (the last tried: the file opened when the load
    went on), requested_by (from the 'needed by' line, when files is on), dlopened (the object whose
    dlopen() led to it). A dlopen() itself is a block ``{"dlopen": path}``.
    """
    blocks: List[Dict[str, object]] = []
    current: Optional[Dict[str, object]] = None
    pending_by: Optional[str] = None
    dlopened: Optional[str] = None
    for line in _debug_lines(text, marker):
        fm = _FILE.match(line)
        if fm:
            pending_by = fm.group(3)
            if fm.group(2) == "dynamically loaded by":
                dlopened = fm.group(1)
                blocks.append({"dlopen": fm.group(1), "by": fm.group(3)})
            continue
        lm = _FIND.match(line)
        if lm:
            current = {"name": lm.group(1), "tried": [], "requested_by": pending_by, "dlopened": dlopened}
            blocks.append(current)
            continue
        tm = _TRYING.match(line)
        if tm and current is not None:
            current["tried"].append(tm.group(1))
    for b in blocks:
        if "name" in b:
            b["last"] = b["tried"][-1] if b["tried"] else None
    return blocks


def parse_trace(text: str, marker: Optional[str] = MARKER) -> Tuple[Dlopen, ...]:
    """The dlopen() calls in LD_DEBUG=libs,files,versions output (after ``marker``), as records."""
    out: List[Dlopen] = []
    cur: Optional[Dict[str, object]] = None
    search: Optional[Dict[str, object]] = None
    pending_by: Optional[str] = None

    def close_search():
        nonlocal search
        if search is not None and cur is not None:
            cur["searches"].append(search)
        search = None

    def close():
        nonlocal cur
        close_search()
        if cur is not None:
            out.append(Dlopen(
                path=cur["path"], loaded_by=cur["by"],
                searches=tuple(LibrarySearch(s["name"], s["by"], tuple(s["tried"]), tuple(s["lists"]),
                                             s["found"]) for s in cur["searches"]),
                versions=tuple(cur["versions"]), mapped=tuple(cur["mapped"]), failed=cur["failed"]))
        cur = None

    for line in _debug_lines(text, marker):
        fm = _FILE.match(line)
        if fm:
            if fm.group(2) == "dynamically loaded by":
                close()
                cur = {"path": fm.group(1), "by": fm.group(3), "searches": [], "versions": [],
                       "mapped": [], "failed": False}
            else:
                close_search()
                pending_by = fm.group(3)
            continue
        if cur is None:
            continue
        m = _FIND.match(line)
        if m:
            close_search()
            search = {"name": m.group(1), "by": pending_by, "tried": [], "lists": [], "found": None}
            continue
        m = _TRYING.match(line)
        if m and search is not None:
            search["tried"].append(m.group(1))
            continue
        m = _SEARCH.match(line)
        if m and search is not None:
            source = m.group(3) or ("cache" if m.group(1) == "cache" else "")
            search["lists"].append((m.group(2), source.strip()))
            continue
        m = _LINKMAP.match(line)
        if m:
            name = m.group(1)
            if search is not None and search["name"] == name and search["tried"]:
                search["found"] = search["tried"][-1]
                cur["mapped"].append(search["tried"][-1])
                close_search()
            else:
                cur["mapped"].append(name)
            continue
        m = _VERSION.match(line)
        if m:
            close_search()
            cur["versions"].append(VersionCheck(m.group(1), m.group(2), m.group(3)))
            continue
        if _DESTROY.match(line):
            close_search()
            cur["failed"] = True
    close()
    return tuple(out)


# -- running ---------------------------------------------------------------------------------------------

#: The child: writes what is mapped before the import, marks the start on fd 2 (where ld.so writes),
#: imports, and prints one JSON line with the outcome. Standard library only, Python 3.6+.
_CHILD = r"""
import json, os, sys
paths = json.loads(sys.argv[3])
if paths is not None:
    sys.path[:] = paths
maps = []
try:
    for line in open("/proc/self/maps"):
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/") and parts[5].strip() not in maps:
            maps.append(parts[5].strip())
except OSError:
    pass
with open(sys.argv[1], "w") as fh:
    fh.write("\n".join(maps))
os.write(2, b"\n@@DLLMAGIC-IMPORT\n")
result = {"ok": True, "error": None}
try:
    __import__(sys.argv[2])
except BaseException as exc:
    result = {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}
os.write(2, b"\n@@DLLMAGIC-DONE\n")
sys.stdout.write(json.dumps(result) + "\n")
sys.stdout.flush()
"""


def trace_import(python: str, module: str, *, sys_path: Optional[Sequence[str]] = None,
                 env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None,
                 timeout: float = 120.0) -> ImportTrace:
    """Run ``import module`` in a child of ``python`` with LD_DEBUG on; what ld.so did, as records.

    ``python`` is run as an argv list (never a shell); ``sys_path`` is the kernel's sys.path, handed
    over so the child imports what the kernel would; ``env`` defaults to this process's environment
    (the loader variables included: they are part of what is being checked). Never raises for a
    failing or crashing import: that is the answer. Raises OSError when ``python`` cannot be run.
    """
    child_env = dict(os.environ if env is None else env)
    child_env.pop("PYTHONSTARTUP", None)
    child_env.pop("LD_DEBUG_OUTPUT", None)
    child_env["LD_DEBUG"] = LD_DEBUG
    child_env["PYTHONIOENCODING"] = "utf-8"
    notes: List[str] = []
    with tempfile.TemporaryDirectory(prefix="dllmagic-ldtrace-") as tmp:
        maps_file = os.path.join(tmp, "maps.txt")
        argv = [python, "-c", _CHILD, maps_file, module, json.dumps(list(sys_path) if sys_path is not None else None)]
        try:
            proc = subprocess.run(argv, cwd=cwd, env=child_env, stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=timeout)
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            rc, out, err = -9, exc.stdout or b"", exc.stderr or b""
            notes.append(f"the traced import did not finish within {timeout:.0f} s")
        try:
            with open(maps_file, encoding="utf-8", errors="surrogateescape") as fh:
                loaded = tuple(p for p in fh.read().splitlines() if p)
        except OSError:
            loaded = ()
    text = err.decode("utf-8", "surrogateescape")
    result = None
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith("{"):
            try:
                result = json.loads(line)
            except ValueError:
                pass
    if MARKER not in text:
        notes.append("the child never reached the import (see its stderr)")
    if result is None:
        notes.append(f"the child ended without a result (exit status {rc})")
    return ImportTrace(
        module=module, python=python, ok=bool(result and result.get("ok")),
        error=(result or {}).get("error"), loaded_before=loaded, dlopens=parse_trace(text),
        returncode=rc, notes=tuple(notes))


# -- comparing with the emulation -----------------------------------------------------------------------

def _first_nodes(tree):
    """The nodes ld.so maps (first occurrence of each object), in load order (breadth first)."""
    out = []
    queue = deque([tree.root])
    while queue:
        node = queue.popleft()
        out.append(node)
        queue.extend(c for c in node.children if not c.repeat)
    return out[1:]


def searched_nodes(tree) -> List[Tuple[str, Optional[str]]]:
    """(name, path found by the search or None) for every node that made ld.so search, in order."""
    out = []
    for node in _first_nodes(tree):
        if "/" in node.name:
            continue
        rules = [c for c in node.candidates if c.rule != "already-loaded" and c.outcome != "not-searched"]
        if not rules and node.rule == "already-loaded":
            continue
        found = [c.path for c in node.candidates if c.outcome == "found" and c.rule != "already-loaded"]
        out.append((node.name, found[0] if found else None))
    return out


def compare_tree(tree, searches: Sequence[LibrarySearch], *, failed: bool = False) -> List[str]:
    """Differences between an as-imported tree and ld.so's searches for the same dlopen(), in order.

    ld.so stops at the first library it cannot load; when ``failed`` the emulation is compared up to
    that point only.
    """
    mine = searched_nodes(tree)
    theirs = [(s.name, s.found) for s in searches]
    if failed and len(mine) > len(theirs):
        mine = mine[:len(theirs)]
    problems = []
    if [n for n, _ in mine] != [n for n, _ in theirs]:
        problems.append(f"libraries searched for differ: emulation {[n for n, _ in mine]}, "
                        f"ld.so {[n for n, _ in theirs]}")
        return problems
    for (name, mp), (_n, tp) in zip(mine, theirs):
        if mp is not None and tp is None:
            problems.append(f"{name}: emulation found {mp}, ld.so found nothing")
        elif mp is None and tp is not None:
            problems.append(f"{name}: emulation found nothing, ld.so opened {tp}")
        elif mp != tp:
            problems.append(f"{name}: emulation found {mp}, ld.so opened {tp}")
    return problems


@dataclass(frozen=True)
class DlopenComparison:
    """One dlopen() of the trace beside the emulation's tree for it."""

    dlopen: Dlopen
    tree: object                      # the emulation's DepTree (as-imported, with what was loaded)
    disagreements: Tuple[str, ...]
    #: The emulation's problems for the file (loader.problems), for the side-by-side verdict.
    emulated_problems: Tuple[object, ...]


@dataclass(frozen=True)
class Comparison:
    """A traced import beside the emulation: agreement means no disagreement in any dlopen()."""

    trace: ImportTrace
    dlopens: Tuple[DlopenComparison, ...]
    notes: Tuple[str, ...] = ()

    @property
    def disagreements(self) -> Tuple[str, ...]:
        return tuple(f"{c.dlopen.path}: {d}" for c in self.dlopens for d in c.disagreements)

    @property
    def agrees(self) -> bool:
        return not self.disagreements

    def for_file(self, path: str) -> Optional[DlopenComparison]:
        """The comparison for the dlopen() of ``path`` (by real path), or None when it was not traced."""
        real = os.path.realpath(path)
        for c in self.dlopens:
            if c.dlopen.path == path or os.path.realpath(c.dlopen.path) == real:
                return c
        return None


def compare(trace: ImportTrace, system, *, python_executable: Optional[str] = None) -> Comparison:
    """Replay each dlopen() of ``trace`` on the emulation and compare, in the order the child ran them.

    ``system`` is the machine (its environment should be the child's). Each replay starts with what
    the child had mapped before the import plus what the earlier dlopen() calls brought in. A dlopen()
    of a bare name (ctypes ``CDLL("libfoo.so")`` from a package's own code) is searched with the
    caller's RPATH, not as an import: it is not replayed, but what it loaded counts as loaded.
    """
    from .loader import loader_for, problems

    python = python_executable or trace.python
    loaded: List[str] = list(trace.loaded_before)
    results: List[DlopenComparison] = []
    notes: List[str] = []
    for d in trace.dlopens:
        if not d.path.startswith("/"):
            loaded.extend(s.found for s in d.searches if s.found)
            continue
        model = system.replace(executable=python, loaded=tuple(loaded), live=False,
                                    _loaded_reader=None)
        try:
            tree = loader_for(model).resolve(d.path, mode="as-imported", python_executable=python)
        except Exception as exc:  # the emulation's trouble is a disagreement to show, not a crash
            notes.append(f"emulation of {d.path} failed: {type(exc).__name__}: {exc}")
            continue
        diffs = compare_tree(tree, d.searches, failed=d.failed)
        results.append(DlopenComparison(d, tree, tuple(diffs), problems(tree)))
        if not d.failed:
            loaded.append(d.path)
            loaded.extend(p for _n, p in searched_nodes(tree) if p)
    return Comparison(trace, tuple(results), tuple(notes))
