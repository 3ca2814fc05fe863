"""Parsers for what the real loaders print, so the model can be checked against a live machine.

A live Windows or macOS loader cannot run here; in a user's kernel (or a probe subprocess) it can:

- macOS: ``DYLD_PRINT_SEARCHING=1`` makes dyld print each install name it looks for, every possible
  path with the rule that produced it, and what it found (:func:`parse_dyld_searching`); and the
  error CPython raises carries dyld's own "tried:" list (:func:`parse_dyld_error`).
- Windows: "loader snaps" (``gflags -i python.exe +sls``, or ``ntdll!LdrpDebugFlags``) print, under a
  debugger, each DLL name the loader resolves, the search path it computed, and every failure with
  its NTSTATUS (:func:`parse_loader_snaps`).

Each parser is pure (text in, records out) and tolerant: unknown lines are skipped, never fatal.
:func:`compare` lines a parsed trace up with a resolved :class:`DepTree` and lists where they differ.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

__all__ = ["TraceSearch", "DyldError", "parse_dyld_searching", "parse_dyld_error", "parse_loader_snaps",
           "compare", "NTSTATUS"]

#: NTSTATUS values met in loader snaps, and the Win32 error they surface as.
NTSTATUS = {
    0xC0000135: ("STATUS_DLL_NOT_FOUND", 126),
    0xC0000139: ("STATUS_ENTRYPOINT_NOT_FOUND", 127),
    0xC0000138: ("STATUS_ORDINAL_NOT_FOUND", 182),
    0xC000007B: ("STATUS_INVALID_IMAGE_FORMAT", 193),
    0xC0000142: ("STATUS_DLL_INIT_FAILED", 1114),
    0xC0000034: ("STATUS_OBJECT_NAME_NOT_FOUND", 2),
    0x00000000: ("STATUS_SUCCESS", 0),
}


@dataclass
class TraceSearch:
    """One library the real loader looked for: the places it tried, in order, and the outcome."""

    name: str
    tried: List[Tuple[str, str]] = field(default_factory=list)   # (path, why/how)
    found: Optional[str] = None
    status: Optional[str] = None        # Windows: the NTSTATUS name of the outcome
    parent: Optional[str] = None        # Windows: the module that asked for it
    search_path: Tuple[str, ...] = ()   # Windows: the search path the loader computed
    missing_procedures: List[str] = field(default_factory=list)


@dataclass
class DyldError:
    """``Library not loaded: X / Referenced from: Y / Reason: tried: ...`` as data."""

    library: str
    referenced_from: Optional[str]
    tried: List[Tuple[str, str]]


# -- macOS -----------------------------------------------------------------------------------------------

_DYLD_PREFIX = re.compile(r"^dyld(?:\[\d+\])?:\s?")
_FIND = re.compile(r'^find path "(?P<name>[^"]+)"')
_POSSIBLE = re.compile(r'^possible path\((?P<how>.*)\):\s*"(?P<path>[^"]+)"')
_FOUND = re.compile(r'^found:\s*(?P<kind>[\w-]+)?:?\s*(?:\(0x[0-9A-Fa-f]+\)\s*)?"(?P<path>[^"]+)"')
_NOTFOUND = re.compile(r'^not found:?\s*"(?P<path>[^"]+)"(?:\s*\((?P<why>[^)]*)\))?')


def parse_dyld_searching(text: str) -> List[TraceSearch]:
    """The searches in ``DYLD_PRINT_SEARCHING`` output (dyld4: "find path", "possible path(...)", "found:")."""
    out: List[TraceSearch] = []
    current: Optional[TraceSearch] = None
    for raw in text.splitlines():
        line = _DYLD_PREFIX.sub("", raw.rstrip()).strip()
        m = _FIND.match(line)
        if m:
            current = TraceSearch(m.group("name"))
            out.append(current)
            continue
        if current is None:
            continue
        m = _POSSIBLE.match(line)
        if m:
            current.tried.append((m.group("path"), m.group("how")))
            continue
        m = _FOUND.match(line)
        if m:
            current.found = m.group("path")
            if m.group("kind"):
                current.status = m.group("kind")
            continue
        m = _NOTFOUND.match(line)
        if m:
            current.tried.append((m.group("path"), m.group("why") or "not found"))
    return out


_LIB_NOT_LOADED = re.compile(r"Library not loaded:\s*(?P<lib>\S+)")
_REFERENCED = re.compile(r"Referenced from:\s*(?:<[0-9A-Fa-f-]+>\s*)?(?P<path>\S[^\n]*?)\s*$", re.M)
_TRIED_ITEM = re.compile(r"'(?P<path>[^']*)'\s*\((?P<why>[^)]*(?:\([^)]*\)[^)]*)*)\)")


def parse_dyld_error(text: str) -> Optional[DyldError]:
    """dyld's own account in an ImportError from ``dlopen``: the library, who asked, and every place tried."""
    m = _LIB_NOT_LOADED.search(text)
    if not m:
        return None
    ref = _REFERENCED.search(text)
    reason = text.split("tried:", 1)[1] if "tried:" in text else ""
    tried = [(t.group("path"), t.group("why")) for t in _TRIED_ITEM.finditer(reason)]
    return DyldError(m.group("lib"), ref.group("path") if ref else None, tried)


# -- Windows -----------------------------------------------------------------------------------------------

_SNAP = re.compile(r"^\s*(?:[0-9a-fA-F]+:[0-9a-fA-F]+\s*@\s*[0-9a-fA-F]+\s*-\s*)?(?P<fn>Ldr\w+)\s*-\s*(?P<what>[A-Z]+):\s*"
                   r"(?P<rest>.*)$")
_STATUS = re.compile(r"Status:\s*(0x[0-9a-fA-F]+)")


def _status_name(hexval: str) -> str:
    value = int(hexval, 16)
    return NTSTATUS.get(value, (f"{hexval.lower()}", None))[0]


def parse_loader_snaps(text: str) -> List[TraceSearch]:
    """The DLL searches in a Windows loader-snaps log (Windows 10/11 ``Ldrp*`` wording).

    A search starts at ``LdrpLoadDllInternal``/``LdrpSearchPath``/``LdrpResolveDllName`` "ENTER: DLL
    name: X", collects the path the loader computed (``LdrpComputeLazyDllPath - INFO: DLL search path
    computed: ...``), the files it tried (``LdrpResolveDllName``) and ends with the first RETURN
    status or ``LdrpProcessWork - ERROR: Unable to load DLL: "X", Parent Module: "Y", Status: ...``.
    Failed procedure lookups (``Locating procedure "F" by name failed``) are kept on the search of the
    module being snapped.
    """
    out: List[TraceSearch] = []
    by_name = {}
    current: Optional[TraceSearch] = None
    for raw in text.splitlines():
        m = _SNAP.match(raw)
        if not m:
            continue
        fn, what, rest = m.group("fn"), m.group("what"), m.group("rest").strip()
        if what == "ENTER" and rest.startswith("DLL name:"):
            name = rest[len("DLL name:"):].strip()
            base = re.split(r"[\\/]", name)[-1].lower()
            if fn == "LdrpResolveDllName" and current is not None and ("\\" in name or "/" in name):
                current.tried.append((name, "tried"))
                continue
            if base in by_name and fn != "LdrpLoadDllInternal":
                current = by_name[base]
                continue
            current = TraceSearch(name)
            by_name[base] = current
            out.append(current)
            continue
        if what == "INFO" and "search path computed:" in rest and current is not None:
            current.search_path = tuple(p for p in rest.split("computed:", 1)[1].strip().split(";") if p)
            continue
        if what == "ERROR" and rest.startswith("Unable to load DLL:"):
            dm = re.search(r'Unable to load DLL:\s*"([^"]+)",\s*Parent Module:\s*"([^"]*)"', rest)
            sm = _STATUS.search(rest)
            if dm:
                base = re.split(r"[\\/]", dm.group(1))[-1].lower()
                search = by_name.get(base)
                if search is None:
                    search = TraceSearch(dm.group(1))
                    by_name[base] = search
                    out.append(search)
                search.parent = dm.group(2) or None
                if sm:
                    search.status = _status_name(sm.group(1))
            continue
        pm = re.search(r'(?:Locating procedure|Procedure)\s*"([^"]+)"', rest)
        if pm and what in ("ERROR", "WARNING") and current is not None:
            current.missing_procedures.append(pm.group(1))
            continue
        if what == "RETURN" and current is not None:
            sm = _STATUS.search(rest)
            if sm and current.status is None and fn in ("LdrpResolveDllName", "LdrpSearchPath",
                                                        "LdrpLoadDllInternal", "LdrpFindOrPrepareLoadingModule"):
                status = _status_name(sm.group(1))
                if status == "STATUS_SUCCESS" and current.tried:
                    current.found = current.tried[-1][0]
                    current.status = status
                elif status != "STATUS_SUCCESS":
                    current.status = status
            continue
        if what == "INFO" and "Mapping DLL" in rest and current is not None:
            mm = re.search(r'"([^"]+)"', rest)
            if mm:
                current.found = mm.group(1)
    return out


# -- model against trace -------------------------------------------------------------------------------

def compare(tree, searches: List[TraceSearch], *, case_insensitive: Optional[bool] = None) -> List[str]:
    """Where the model (``tree``) and the real loader (``searches``) disagree on what was found."""
    from .loader.tree import walk

    ci = tree.platform == "windows" if case_insensitive is None else case_insensitive

    def norm(p: Optional[str]) -> Optional[str]:
        if p is None:
            return None
        return p.lower().replace("/", "\\") if ci else p

    model = {}
    for n in walk(tree.root):
        if n is tree.root or n.repeat:
            continue
        key = n.name.lower() if ci else n.name
        model.setdefault(key, n)
    diffs = []
    for s in searches:
        key = re.split(r"[\\/]", s.name)[-1].lower() if ci else s.name
        n = model.get(key)
        if n is None:
            continue
        found_model = n.path if n.error is None else None
        if n.rule in ("api-set", "shared-cache"):
            continue
        if norm(found_model) != norm(s.found):
            diffs.append(f"{s.name}: the loader found {s.found or 'nothing'}, the model "
                         f"{found_model or 'nothing'} [{n.rule}]")
    return diffs
