"""The loader state of one Windows machine (a WindowsLoader) and the mutable records of a resolution."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ...binary import Binary
from ..tree import Candidate, DepTree, MissingSymbol, Node, freeze_draft, freeze_tree
from .facts import DllDirectory, WindowsFacts, WindowsPython, default_api_sets, default_known_dlls, live_facts
from .python import describe_python


# -- resolution --------------------------------------------------------------------------------------

@dataclass
class _Mod:
    """A module in the emulated process."""

    path: str
    binary: Binary
    preloaded: bool
    node: Optional["_N"] = None
    rule: Optional[str] = None
    deps: Dict[str, "_Mod"] = field(default_factory=dict)


@dataclass
class _N:
    name: str
    depth: int
    requested_by: Optional[str]
    path: Optional[str] = None
    rule: Optional[str] = None
    via: Optional[str] = None
    candidates: List[Candidate] = field(default_factory=list)
    children: List["_N"] = field(default_factory=list)
    repeat: bool = False
    system: bool = False
    error: Optional[str] = None
    mod: Optional[_Mod] = None
    delay: bool = False
    missing_symbols: List[MissingSymbol] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def freeze(self) -> Node:
        return freeze_tree(self)

    def freeze_one(self, children: tuple) -> Node:
        b = self.mod.binary if self.mod is not None else None
        # the import-table notes only once the tables were read (reading them is not the freeze's job)
        tables = getattr(b, "table_notes", ()) if b is not None and "imports" in b.__dict__ else ()
        return freeze_draft(self, b, tables, children)


class WindowsLoader:
    """The loader state of one Windows machine: its facts and the folder listings met so far."""

    def __init__(self, system, facts: Optional[WindowsFacts] = None) -> None:
        self.system = system
        if facts is None:
            facts = live_facts() if (system.live and system.platform == "windows") else WindowsFacts()
        self.facts = facts
        self.known = facts.known_dlls if facts.known_dlls is not None else default_known_dlls()
        self.api_sets = facts.api_sets if facts.api_sets is not None else default_api_sets()
        self._listing: Dict[str, Dict[str, str]] = {}
        self._python: Dict[str, WindowsPython] = {}
        self._init_cache: Dict[str, Tuple[List[DllDirectory], List[str]]] = {}
        self._imports_cache: Dict[tuple, list] = {}
        self._groups: Dict[tuple, list] = {}

    def import_groups(self, binary) -> list:
        """[(DLL name lower, names, ordinals, [imports])] of a binary's static imports, once per file."""
        key = (binary.path, getattr(binary, "file_id", None))
        groups = self._groups.get(key)
        if groups is None:
            fast = getattr(binary, "import_groups", None)
            if fast is not None:  # the name sets only; the imports themselves are read on a miss
                merged: Dict[str, list] = {}
                for dll, names, ordinals in fast:
                    g = merged.setdefault(dll.lower(), [dll.lower(), frozenset(), frozenset(), None])
                    g[1], g[2] = g[1] | names, g[2] | ordinals
                groups = [tuple(g) for g in merged.values()]
            else:
                by: Dict[str, list] = {}
                for imp in getattr(binary, "imports", ()):
                    if not imp.delay:
                        by.setdefault(imp.dll.lower(), []).append(imp)
                groups = [(dll, frozenset(i.name for i in imps if i.name is not None),
                           frozenset(i.ordinal for i in imps if i.name is None), imps)
                          for dll, imps in by.items()]
            self._groups[key] = groups
        return groups

    # -- machine facts --------------------------------------------------------------------------
    def python(self, executable: Optional[str] = None) -> WindowsPython:
        key = executable or self.system.executable or ""
        if key not in self._python:
            self._python[key] = describe_python(self.system, self.facts, key or None)
        return self._python[key]

    def system32(self, bits: int) -> str:
        pm = self.system.pathmod
        if bits == 32 and self.facts.os_bits == 64:
            # File system redirection: a 32-bit process that asks for System32 gets SysWOW64.
            return pm.join(self.facts.system_root, "SysWOW64")
        return pm.join(self.facts.system_root, "System32")

    def lookup(self, folder: str, name: str) -> Optional[str]:
        """The machine path of ``name`` in ``folder``, matched case-insensitively; None if absent."""
        key = folder.lower()
        listing = self._listing.get(key)
        if listing is None:
            listing = {e.lower(): e for e in self.system.listdir(folder)}
            self._listing[key] = listing
        entry = listing.get(name.lower())
        return self.system.pathmod.join(folder, entry) if entry is not None else None

    def path_folders(self) -> List[str]:
        value = self.system.getenv("PATH") or ""
        return [p.strip().strip('"') for p in value.split(";") if p.strip()]

    def api_set_host(self, name: str) -> Tuple[bool, Optional[str]]:
        """(is an API set, host DLL or None) for an imported name."""
        lower = name.lower()
        if not lower.startswith(("api-", "ext-")):
            return False, None
        for prefix, host in self.api_sets:
            if lower.startswith(prefix):
                return True, host or None
        return True, None

    def resolve(self, path: str, *, mode: str = "as-imported", python_executable: Optional[str] = None,
                symbols: Optional[bool] = None) -> DepTree:
        return _Resolution(self, path, mode, python_executable, symbols).run()


from .resolution import _Resolution  # noqa: E402 (last: that module imports this one)
