"""The Windows loader, emulated over a System: which DLL each import of a .pyd resolves to, and why.

The model follows Microsoft's "Dynamic-link library search order"
(https://learn.microsoft.com/en-us/windows/win32/dlls/dynamic-link-library-search-order) and CPython's
``Python/dynload_win.c``. CPython >= 3.8 loads an extension with ``LoadLibraryExW(path,
LOAD_LIBRARY_SEARCH_DEFAULT_DIRS | LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR)``; each imported DLL name is then
looked up, for the whole call, in this order:

1. API sets (``api-ms-win-*``, ``ext-ms-*``): contracts resolved through the schema, no file;
2. a module of the same base name already loaded in the process, from whatever folder;
3. KnownDLLs, from the system folder;
4. the folder of the .pyd (``LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR``): fixed for the whole call, so a DLL
   found elsewhere does not get its own folder searched for its imports;
5. the application folder: the folder of the *base* python.exe (a venv's python.exe only starts it);
6. the folders added with ``os.add_dll_directory`` (each labelled with who added it), then - for
   conda's patched Python - the five conda folders of the prefix;
7. System32 (SysWOW64 for a 32-bit process on 64-bit Windows).

PATH, the current folder and the Windows folder are *not* searched: whenever the name is present in
a PATH folder all the same, that place is listed as "not-searched" with the reason, because most
advice on the web still assumes PATH. Python < 3.8 (``LOAD_WITH_ALTERED_SEARCH_PATH``: the .pyd's
folder, System32, the 16-bit system folder, the Windows folder, the current folder, PATH) and conda
Python 3.8/3.9 with ``CONDA_DLL_SEARCH_MODIFICATION_ENABLE`` (PATH before System32) are modelled too;
the tree's notes say which order applied.

A file of the wrong machine met during the search is passed over and recorded (as delvewheel and
Dependencies do; a real-Windows check is still owed), a file that is not a PE image stops the load
("%1 is not a valid Win32 application"). Every imported function (name or ordinal) is checked against
the exports of the DLL that would be loaded, following forwarders ("The specified procedure could not
be found"); a miss names the function, the DLL that lacks it, and the other copies of that DLL on the
machine that have it. Delay-load imports are resolved and shown, but never fail the load.
"""
from __future__ import annotations

import ast
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Tuple

from ..binary import Binary, read_binary
from .tree import Candidate, DepTree, MissingSymbol, Node, freeze_draft, walk

__all__ = [
    "WindowsLoader", "WindowsFacts", "WindowsPython", "DllDirectory", "describe_python",
    "reconstruct_dll_directories", "LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR", "LOAD_LIBRARY_SEARCH_APPLICATION_DIR",
    "LOAD_LIBRARY_SEARCH_USER_DIRS", "LOAD_LIBRARY_SEARCH_SYSTEM32", "LOAD_LIBRARY_SEARCH_DEFAULT_DIRS",
    "VC_RUNTIME_NAMES",
]

# LoadLibraryExW dwFlags (libloaderapi.h).
LOAD_WITH_ALTERED_SEARCH_PATH = 0x0008
LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR = 0x0100
LOAD_LIBRARY_SEARCH_APPLICATION_DIR = 0x0200
LOAD_LIBRARY_SEARCH_USER_DIRS = 0x0400
LOAD_LIBRARY_SEARCH_SYSTEM32 = 0x0800
LOAD_LIBRARY_SEARCH_DEFAULT_DIRS = 0x1000
_DEFAULT_DIRS = LOAD_LIBRARY_SEARCH_APPLICATION_DIR | LOAD_LIBRARY_SEARCH_USER_DIRS | LOAD_LIBRARY_SEARCH_SYSTEM32

#: The VC++ runtime DLLs whose file version must be at least the toolset that built a module.
VC_RUNTIME_NAMES = ("msvcp140.dll", "msvcp140_1.dll", "msvcp140_2.dll", "msvcp140_atomic_wait.dll",
                    "msvcp140_codecvt_ids.dll", "vcruntime140.dll", "vcruntime140_1.dll",
                    "vcruntime140_threads.dll", "concrt140.dll", "vcomp140.dll")
_VC_MANGLED = re.compile(r"^(msvcp140(?:_\w+)?|vcruntime140(?:_\w+)?|concrt140|vcomp140)-[0-9a-f]{8,}\.dll$", re.I)
_PYTHON_DLL = re.compile(r"^python(\d)(\d+)(?:_d)?\.dll$", re.I)
MAX_MODULES = 4000


@dataclass(frozen=True)
class DllDirectory:
    """A folder on the ``os.add_dll_directory`` list, and who put it there."""

    path: str
    source: str


@dataclass(frozen=True)
class WindowsFacts:
    """What a Windows machine's loader knows beyond its files and variables.

    ``known_dlls`` and ``api_sets`` default to the knowledge tables (Windows 10/11);
    ``dll_directories`` are the folders already added to the process (recorded in a live kernel, or
    stated by a machine description); ``imported`` names packages already imported, whose
    ``__init__`` additions are reconstructed too.
    """

    version: Tuple[int, ...] = (10, 0, 19045)
    system_root: str = "C:\\Windows"
    known_dlls: Optional[FrozenSet[str]] = None
    api_sets: Optional[Tuple[Tuple[str, str], ...]] = None
    dll_directories: Tuple[DllDirectory, ...] = ()
    imported: Tuple[str, ...] = ()
    python_version: Optional[Tuple[int, int]] = None
    conda: Optional[bool] = None
    cwd: Optional[str] = None
    os_bits: int = 64
    #: Read packages' __init__.py for os.add_dll_directory calls (off: only the stated list counts).
    reconstruct: bool = True


@dataclass(frozen=True)
class WindowsPython:
    """The interpreter a module would be imported into, as the loader sees it."""

    executable: str
    base_executable: str
    app_dir: str
    version: Optional[Tuple[int, int]]
    venv: bool = False
    conda: bool = False
    dll_name: Optional[str] = None
    notes: Tuple[str, ...] = ()

    @property
    def search_order(self) -> str:
        """"default-dirs" (3.8+), "conda-path" (conda 3.8/3.9 with the PATH mode) or "legacy" (< 3.8)."""
        if self.version is not None and self.version < (3, 8):
            return "legacy"
        return "default-dirs"


def _knowledge(name: str):
    from ....knowledge import load

    return load(name)["entries"]


def default_known_dlls() -> FrozenSet[str]:
    return frozenset(e["name"].lower() for e in _knowledge("windows_known_dlls"))


def default_api_sets() -> Tuple[Tuple[str, str], ...]:
    rows = [(e["prefix"].lower(), e["host"]) for e in _knowledge("windows_api_sets")]
    return tuple(sorted(rows, key=lambda r: -len(r[0])))  # longest prefix first


def live_facts() -> WindowsFacts:  # pragma: no cover - needs a live Windows
    """The facts of the running Windows machine: version, KnownDLLs from the registry."""
    import sys

    known = None
    try:
        import winreg

        key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE,
                             r"SYSTEM\CurrentControlSet\Control\Session Manager\KnownDLLs")
        names = set()
        i = 0
        while True:
            try:
                _name, value, _t = winreg.EnumValue(key, i)
            except OSError:
                break
            if isinstance(value, str) and value.lower().endswith(".dll"):
                names.add(value.lower())
            i += 1
        known = frozenset(names | {"ntdll.dll"})
    except Exception:
        pass
    ver = sys.getwindowsversion()
    from ..machine import recorded_dll_directories

    import os

    return WindowsFacts(version=(ver.major, ver.minor, ver.build),
                        system_root=os.environ.get("SystemRoot", "C:\\Windows"), known_dlls=known,
                        dll_directories=tuple(recorded_dll_directories()),
                        python_version=tuple(sys.version_info[:2]),
                        conda="conda" in sys.version.lower() or "anaconda" in sys.version.lower() or None,
                        cwd=os.getcwd())


# -- the interpreter -----------------------------------------------------------------------------

def describe_python(system, facts: WindowsFacts, executable: Optional[str] = None) -> WindowsPython:
    """Base interpreter, application folder, version and flavour of ``executable`` (default: the system's).

    A venv's ``Scripts\\python.exe`` is a launcher that starts the base interpreter named by
    ``pyvenv.cfg`` (``home``): the loader's application folder is that base install's folder.
    """
    pm = system.pathmod
    exe = executable or system.executable or ""
    notes: List[str] = []
    version = facts.python_version
    app_dir = pm.dirname(exe) if exe else ""
    base = exe
    venv = False
    cfg = None
    for folder in (app_dir, pm.dirname(app_dir)):
        if folder and system.is_file(pm.join(folder, "pyvenv.cfg")):
            cfg = pm.join(folder, "pyvenv.cfg")
            break
    if cfg is not None:
        venv = True
        values: Dict[str, str] = {}
        try:
            for line in system.read_text(cfg, 1 << 16).splitlines():
                if "=" in line:
                    k, v = line.split("=", 1)
                    values[k.strip().lower()] = v.strip()
        except OSError:
            pass
        home = values.get("home")
        if home:
            app_dir = home.rstrip("\\/")
            base = pm.join(app_dir, "python.exe")
            notes.append(f"{exe} is a venv launcher: the process runs {base}, whose folder is the "
                         f"application folder (pyvenv.cfg home)")
        if version is None:
            m = re.match(r"(\d+)\.(\d+)", values.get("version_info") or values.get("version") or "")
            if m:
                version = (int(m.group(1)), int(m.group(2)))
    dll_name = None
    if app_dir:
        for entry in system.listdir(app_dir):
            m = _PYTHON_DLL.match(entry)
            if m and m.group(1) + m.group(2) != "3":
                dll_name = entry
                if version is None:
                    version = (int(m.group(1)), int(m.group(2)))
                break
    if dll_name is None and version is not None:
        dll_name = f"python{version[0]}{version[1]}.dll"
    if version is None:
        notes.append("Python version unknown: the 3.8+ search order is assumed")
    conda = facts.conda
    if conda is None:
        conda = bool(app_dir) and system.is_dir(pm.join(app_dir, "conda-meta"))
    return WindowsPython(executable=exe, base_executable=base, app_dir=app_dir, version=version,
                         venv=venv, conda=bool(conda), dll_name=dll_name, notes=tuple(notes))


# -- os.add_dll_directory, reconstructed from the packages' code -----------------------------------

def package_chain(system, path: str) -> Tuple[Optional[str], List[str]]:
    """(site-packages folder, [package folders from the top-level package down]) of a module file."""
    pm = system.pathmod
    chain: List[str] = []
    folder = pm.dirname(path)
    while folder and system.is_file(pm.join(folder, "__init__.py")):
        chain.insert(0, folder)
        parent = pm.dirname(folder)
        if parent == folder:
            break
        folder = parent
    if not chain:
        return None, []
    return pm.dirname(chain[0]), chain


class _Eval(ast.NodeVisitor):
    """A tiny constant folder for the path expressions packages hand to os.add_dll_directory."""

    def __init__(self, pm, file: str, site: str, assigned: Dict[str, ast.AST]) -> None:
        self.pm, self.file, self.site, self.assigned = pm, file, site, assigned
        self.depth = 0

    def value(self, node: ast.AST) -> Optional[object]:
        self.depth += 1
        try:
            if self.depth > 40:
                return None
            return self._value(node)
        finally:
            self.depth -= 1

    def _value(self, node: ast.AST) -> Optional[object]:
        pm = self.pm
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            if node.id == "__file__":
                return self.file
            if node.id in self.assigned:
                return self.value(self.assigned[node.id])
            return None
        if isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if dotted in ("os.pardir", "os.path.pardir"):
                return ".."
            if dotted in ("os.sep", "os.path.sep"):
                return "\\"
            return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            a, b = self.value(node.left), self.value(node.right)
            return a + b if isinstance(a, str) and isinstance(b, str) else None
        if isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                x = self.value(v.value if isinstance(v, ast.FormattedValue) else v)
                if not isinstance(x, str):
                    return None
                parts.append(x)
            return "".join(parts)
        if isinstance(node, ast.Call):
            fn = _dotted(node.func)
            args = [self.value(a) for a in node.args]
            if fn in ("str", "os.fspath", "Path", "pathlib.Path") and len(args) == 1:
                return args[0]
            if any(not isinstance(a, str) for a in args):
                return None
            if fn in ("os.path.join", "join") and args:
                return pm.join(*args)
            if fn in ("os.path.dirname", "dirname") and len(args) == 1:
                return pm.dirname(args[0])
            if fn in ("os.path.abspath", "os.path.normpath", "os.path.realpath", "abspath", "normpath") \
                    and len(args) == 1:
                return pm.normpath(args[0])
            if fn in ("site.getsitepackages", "sysconfig.get_path"):
                return self.site
        return None


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.insert(0, node.id)
    return ".".join(parts)


def dll_directories_in_code(system, init_py: str, site: str) -> Tuple[List[DllDirectory], List[str]]:
    """The folders an ``__init__.py`` hands to ``os.add_dll_directory``, read (never run) from its code."""
    pm = system.pathmod
    found: List[DllDirectory] = []
    notes: List[str] = []
    try:
        text = system.read_text(init_py, 4 << 20)
    except OSError:
        return found, notes
    if "add_dll_directory" not in text and "AddDllDirectory" not in text:
        return found, notes
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        notes.append(f"{init_py}: cannot be parsed; its DLL folders are not reconstructed")
        return found, notes
    assigned: Dict[str, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assigned.setdefault(node.targets[0].id, node.value)
        elif isinstance(node, ast.NamedExpr):  # delvewheel: if os.path.isdir(libs_dir := ...)
            assigned.setdefault(node.target.id, node.value)
    delvewheel = "_delvewheel_patch" in text or "delvewheel" in text
    ev = _Eval(pm, init_py, site, assigned)
    rel = init_py[len(site):].lstrip("\\/") if init_py.startswith(site) else init_py
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = _dotted(node.func)
        if not fn.endswith("add_dll_directory") and not fn.endswith("AddDllDirectory"):
            continue
        if not node.args:
            continue
        value = ev.value(node.args[0])
        how = "delvewheel patch in " if delvewheel else "os.add_dll_directory in "
        if isinstance(value, str):
            found.append(DllDirectory(pm.normpath(value), how + rel))
        else:
            notes.append(f"{rel} line {node.lineno}: os.add_dll_directory with a folder computed at run "
                         f"time; not reconstructed")
    return found, notes


def reconstruct_dll_directories(system, module_path: str, facts: WindowsFacts,
                                python: WindowsPython, cache: Optional[Dict] = None
                                ) -> Tuple[List[DllDirectory], List[str]]:
    """The ``os.add_dll_directory`` list in force when ``module_path`` is imported, each with its source.

    In order: the folders stated for the machine (recorded live or in its description), those of the
    packages named as already imported, those of the module's own package chain (their ``__init__``
    runs before the module is loaded), then the known package folders of the knowledge table.
    """
    pm = system.pathmod
    out: List[DllDirectory] = list(facts.dll_directories)
    notes: List[str] = []
    if not facts.reconstruct:
        return out, notes
    site, chain = package_chain(system, module_path)
    inits: List[str] = []
    if site:
        for name in facts.imported:
            top = pm.join(site, *name.split("."))
            if system.is_file(pm.join(top, "__init__.py")):
                inits.append(pm.join(top, "__init__.py"))
        for folder in chain:
            inits.append(pm.join(folder, "__init__.py"))
    seen = {d.path.lower() for d in out}
    for init in dict.fromkeys(inits):
        # One parse per __init__.py per loader: a site-packages walk meets scipy/__init__.py 100 times.
        if cache is not None and init in cache:
            dirs, more = cache[init]
        else:
            dirs, more = dll_directories_in_code(system, init, site or "")
            if cache is not None:
                cache[init] = (dirs, more)
        notes.extend(more)
        for d in dirs:
            if d.path.lower() not in seen:
                seen.add(d.path.lower())
                out.append(d)
    if site:
        tops = {pm.basename(chain[0]).lower()} if chain else set()
        tops |= {n.split(".")[0].lower() for n in facts.imported}
        for entry in _knowledge("windows_dll_directories"):
            if entry["kind"] == "conda" or entry["package"].lower() not in tops:
                continue
            for pattern in entry["folders"]:
                for folder in _glob_folders(system, site, pattern):
                    if folder.lower() not in seen and system.is_dir(folder):
                        seen.add(folder.lower())
                        out.append(DllDirectory(folder, f"{entry['package']} ({entry['id']}, knowledge table)"))
    return out, notes


def _glob_folders(system, base: str, pattern: str) -> List[str]:
    pm = system.pathmod
    current = [base]
    for part in pattern.split("/"):
        nxt = []
        for folder in current:
            if part == "*":
                nxt.extend(pm.join(folder, e) for e in sorted(system.listdir(folder)))
            else:
                nxt.append(pm.join(folder, part))
        current = nxt
    return current


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
        b = self.mod.binary if self.mod is not None else None
        # the import-table notes only once the tables were read (reading them is not the freeze's job)
        tables = getattr(b, "table_notes", ()) if b is not None and "imports" in b.__dict__ else ()
        return freeze_draft(self, b, tables)


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


class _Resolution:
    """One ``import`` of an extension (as-imported) or one program start (standalone), emulated."""

    def __init__(self, loader: WindowsLoader, path: str, mode: str, python_executable: Optional[str],
                 symbols: Optional[bool]) -> None:
        if mode not in ("as-imported", "standalone"):
            raise ValueError(f"mode must be 'as-imported' or 'standalone', not {mode!r}")
        self.L = loader
        self.system = loader.system
        self.pm = loader.system.pathmod
        self.path = path
        self.mode = mode
        self.symbols = True if symbols is None else symbols
        self.python = loader.python(python_executable) if mode == "as-imported" else None
        self.loaded: Dict[str, _Mod] = {}        # base name (lower) -> module, in load order
        self.notes: List[str] = []
        self.machine = loader.system.machine or "x86_64"
        self.bits = 64
        self.preloaded_paths: List[str] = []
        self.plan: List[Tuple[str, str, Optional[str]]] = []   # (folder, rule, source)
        self.delay_plan: List[Tuple[str, str, Optional[str]]] = []
        self.order = "default-dirs"

    # -- set-up ------------------------------------------------------------------------------------
    def _set_process(self, program: Optional[Binary]) -> None:
        if program is not None and program.ok and program.machine:
            self.machine = program.machine
            self.bits = program.bits or self.bits
        elif self.machine in ("AMD64", "amd64", "x64"):
            self.machine = "x86_64"
        if self.machine in ("i386", "arm"):
            self.bits = 32

    def _preload_python(self) -> Optional[Binary]:
        py = self.python
        if py is None or not py.base_executable:
            self.notes.append("python executable unknown: the application folder and the modules python "
                              "loads at start are not modelled")
            return None
        prog = read_binary(py.base_executable, self.system)
        if prog.error:
            self.notes.append(f"python executable {py.base_executable}: {prog.error}")
            self._set_process(None)
            return None
        self._set_process(prog)
        self.notes.extend(py.notes)
        # What python.exe loaded at start (its static imports, found from its own folder) is in the
        # process before any extension: later imports of those names reuse them whatever their folder.
        start = _Mod(py.base_executable, prog, True)
        self.loaded[self.pm.basename(py.base_executable).lower()] = start
        plan = self._standard_plan(py.app_dir)
        self._load_tree(start, _N(py.base_executable, 0, None), plan, preloaded=True)
        if py.dll_name:
            # CPython pre-loads python3.dll next to pythonXY.dll (PC/getpathp / dynload_win).
            p3 = self.L.lookup(py.app_dir, "python3.dll")
            if p3 and "python3.dll" not in self.loaded:
                b = read_binary(p3, self.system)
                if b.ok:
                    self._add_loaded(p3, b)
        return prog

    def _add_loaded(self, path: str, b: Binary) -> _Mod:
        mod = _Mod(path, b, True, rule="already-loaded")
        self.loaded.setdefault(self.pm.basename(path).lower(), mod)
        self.preloaded_paths.append(path)
        return mod

    def _standard_plan(self, app_dir: str) -> List[Tuple[str, str, Optional[str]]]:
        """The classic order (SafeDllSearchMode): application folder, System32, System, Windows, cwd, PATH."""
        root = self.L.facts.system_root
        plan = [(app_dir, "app-dir", None)] if app_dir else []
        plan += [(self.L.system32(self.bits), "system32", None),
                 (self.pm.join(root, "System"), "system-16", None),
                 (root, "windows-dir", None)]
        if self.L.facts.cwd:
            plan.append((self.L.facts.cwd, "cwd", None))
        plan += [(p, "path", "PATH") for p in self.L.path_folders()]
        return plan

    def _import_plan(self, module_dir: str) -> List[Tuple[str, str, Optional[str]]]:
        """The folders of CPython's LoadLibraryExW for an extension, in order, with their rules."""
        py = self.python
        assert py is not None
        version = py.version
        if version is not None and version < (3, 8):
            self.order = "legacy"
            self.notes.append(f"Python {version[0]}.{version[1]} loads extensions with "
                              "LOAD_WITH_ALTERED_SEARCH_PATH: the classic order, PATH included")
            root = self.L.facts.system_root
            plan = [(module_dir, "dll-load-dir", None), (self.L.system32(self.bits), "system32", None),
                    (self.pm.join(root, "System"), "system-16", None), (root, "windows-dir", None)]
            if self.L.facts.cwd:
                plan.append((self.L.facts.cwd, "cwd", None))
            plan += [(p, "path", "PATH") for p in self.L.path_folders()]
            return plan
        plan: List[Tuple[str, str, Optional[str]]] = [(module_dir, "dll-load-dir", None)]
        if py.app_dir:
            plan.append((py.app_dir, "app-dir", py.base_executable))
        dirs, more = reconstruct_dll_directories(self.system, self.path, self.L.facts, py, self.L._init_cache)
        self.notes.extend(more)
        for d in dirs:
            plan.append((d.path, "add-dll-directory", d.source))
        if dirs:
            self.notes.append("os.add_dll_directory folders are searched in an order Windows leaves "
                              "unspecified; they are listed in the order they were added")
        if py.conda:
            env_mode = (self.system.getenv("CONDA_DLL_SEARCH_MODIFICATION_ENABLE") or "").strip()
            for entry in _knowledge("windows_dll_directories"):
                if entry["kind"] != "conda":
                    continue
                for rel in entry["folders"]:
                    plan.append((self.pm.join(py.app_dir, *rel.split("/")), "conda-dll-dir",
                                 "conda's patched python (CondaEcosystemModifyDllSearchPath)"))
            if env_mode and version is not None and version < (3, 10):
                self.order = "conda-path"
                self.notes.append("conda Python before 3.10 with CONDA_DLL_SEARCH_MODIFICATION_ENABLE: "
                                  "PATH is searched, before System32")
                plan += [(p, "path", "PATH (CONDA_DLL_SEARCH_MODIFICATION_ENABLE)")
                         for p in self.L.path_folders()]
            elif env_mode:
                self.notes.append("CONDA_DLL_SEARCH_MODIFICATION_ENABLE is set but has no effect on conda "
                                  "Python 3.10 and later (the PATH mode was deprecated, then removed in 3.11)")
        plan.append((self.L.system32(self.bits), "system32", None))
        return plan

    # -- the run -----------------------------------------------------------------------------------
    def run(self) -> DepTree:
        root_n = _N(self.path, 0, None)
        target = read_binary(self.path, self.system)
        module_dir = self.pm.dirname(self.path)
        if self.mode == "standalone":
            self._set_process(target)
            self.plan = self._standard_plan(module_dir)
            self.delay_plan = self.plan
            self.order = "standard"
        else:
            self._preload_python()
            for p in self.system.loaded_libraries():
                b = read_binary(p, self.system)
                if b.format == "pe" and b.ok:
                    mod = self._add_loaded(p, b)
                    if self.loaded.get(self.pm.basename(p).lower()) is not mod:
                        self.notes.append(f"{p} is listed as loaded but a module of that name is already "
                                          "in the process")
            self.plan = self._import_plan(module_dir)
            # The delay-load helper calls LoadLibraryExA(name, NULL, 0) at the first call: the process's
            # default order, without the .pyd's folder or the add_dll_directory list (verify on Windows).
            self.delay_plan = self._standard_plan(self.python.app_dir if self.python else "")
        if target.error or target.format != "pe":
            why = target.error or f"a {target.format} file, not a PE image"
            if why == "no such file":
                root_n.error = why
            else:
                root_n.path, root_n.error = self.path, f"%1 is not a valid Win32 application ({why})"
            return self._finish(root_n, None)
        if self.mode == "as-imported":
            wrong = self._mismatch(target)
            if wrong:
                root_n.path, root_n.error = self.path, f"%1 is not a valid Win32 application ({wrong})"
                return self._finish(root_n, None)
        root = _Mod(self.path, target, False, node=root_n, rule="direct-path")
        root_n.path, root_n.rule, root_n.mod = self.path, "direct-path", root
        self._load_tree(root, root_n, self.plan, preloaded=False)
        return self._finish(root_n, root)

    def _mismatch(self, b: Binary) -> Optional[str]:
        if b.machine and b.machine != self.machine:
            return f"a {b.machine} image; the process is {self.machine}"
        return None

    def _load_tree(self, root: _Mod, root_n: _N, plan, *, preloaded: bool) -> None:
        """Breadth first over the static imports of each new module (delay-load imports shown apart)."""
        root.node = root_n
        queue = deque([root])
        count = 0
        while queue:
            mod = queue.popleft()
            for needed in mod.binary.needed:
                count += 1
                if count > MAX_MODULES:
                    mod.node.notes.append("too many modules: resolution stopped")
                    return
                child = _N(needed.name, mod.node.depth + 1, mod.path, delay=needed.delay)
                mod.node.children.append(child)
                own_plan = self._plan_for(mod, plan)
                found = self._request(needed.name, mod, child, self.delay_plan if needed.delay else own_plan)
                if needed.delay:
                    child.notes.insert(0, "delay-load import: loaded at the first call, never at import")
                    if found is None:
                        # Not an import failure: only the first call into it fails.
                        child.notes.append(f"not found ({child.error}); the import succeeds, the first "
                                           "call into this DLL fails")
                        child.error = None
                        child.rule = child.rule or "delay-load, not found"
                    else:
                        mod.deps[needed.name.lower()] = found
                    continue
                if found is None:
                    continue
                mod.deps[needed.name.lower()] = found
                child.mod = found
                if found.node is child:  # loaded by this request: its own imports come next
                    if preloaded:
                        found.preloaded = True
                        self.preloaded_paths.append(found.path)
                    if not child.system:
                        queue.append(found)
                elif child.rule not in ("already-loaded", "api-set"):  # contracts of one host are not repeats
                    child.repeat = True

    def _plan_for(self, mod: _Mod, plan):
        flags = getattr(mod.binary, "dependent_load_flags", 0) or 0
        if not flags or self.L.facts.version < (10, 0, 14393):
            return plan
        # /DEPENDENTLOADFLAG replaces the search flags for this module's static imports (Windows 10
        # 1607+): e.g. 0x800 = System32 only.
        out = []
        if flags & LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR:
            out.append((self.pm.dirname(mod.path), "dll-load-dir", "DependentLoadFlags"))
        if flags & (LOAD_LIBRARY_SEARCH_APPLICATION_DIR | LOAD_LIBRARY_SEARCH_DEFAULT_DIRS):
            out += [p for p in plan if p[1] == "app-dir"]
        if flags & (LOAD_LIBRARY_SEARCH_USER_DIRS | LOAD_LIBRARY_SEARCH_DEFAULT_DIRS):
            out += [p for p in plan if p[1] in ("add-dll-directory", "conda-dll-dir")]
        if flags & (LOAD_LIBRARY_SEARCH_SYSTEM32 | LOAD_LIBRARY_SEARCH_DEFAULT_DIRS):
            out.append((self.L.system32(self.bits), "system32", None))
        mod.node.notes.append(f"DependentLoadFlags {flags:#x}: its own imports are searched only in "
                              + (", ".join(dict.fromkeys(r for _f, r, _s in out)) or "nowhere"))
        return out

    # -- one name ---------------------------------------------------------------------------------
    def _request(self, name: str, requester: _Mod, node: _N, plan) -> Optional[_Mod]:
        lower = name.lower()
        # 1. API sets: a contract, resolved through the schema (on Windows < 10 the CRT sets are files).
        is_api, host = self.L.api_set_host(name)
        crt_file = lower.startswith("api-ms-win-crt-") and self.L.facts.version < (10,)
        if is_api and not crt_file:
            node.rule, node.system = "api-set", True
            if host is None:
                node.notes.append("API set not in our schema table: assumed provided by Windows"
                                  if lower.startswith("api-") else
                                  "extension API set: present on some editions only; assumed present")
                node.path = f"(API set {name})"
                node.candidates.append(Candidate(node.path, "api-set", "found", "contract, no file"))
                return None
            hpath = self.L.lookup(self.L.system32(self.bits), host) or self.pm.join(
                self.L.system32(self.bits), host)
            node.path = hpath
            node.via = host
            node.candidates.append(Candidate(hpath, "api-set", "found", f"API set hosted by {host}"))
            hit = self.loaded.get(host.lower())
            if hit is not None:
                return hit
            b = read_binary(hpath, self.system)
            if not b.ok:
                node.notes.append(f"host {host} not in the modelled System32: its exports are not checked")
                return None
            mod = _Mod(hpath, b, False, node=node, rule="api-set")
            self.loaded[host.lower()] = mod
            return mod
        # 2. A module of that base name already in the process wins, from whatever folder.
        hit = self.loaded.get(lower)
        if hit is not None:
            node.path = hit.path
            if hit.preloaded:
                node.rule = "already-loaded"
                node.candidates.append(Candidate(hit.path, "already-loaded", "found",
                                                 "a module of this name is already loaded"))
            else:
                node.rule = hit.rule
                node.system = hit.node.system if hit.node is not None else False
            self._path_notes(name, node, hit.path)
            return hit
        # 3. KnownDLLs: always the system copy.
        if lower in self.L.known:
            folder = self.L.system32(self.bits)
            path = self.L.lookup(folder, name) or self.pm.join(folder, name)
            node.path, node.rule, node.system = path, "known-dll", True
            node.candidates.append(Candidate(path, "known-dll", "found", "listed in KnownDLLs"))
            b = read_binary(path, self.system)
            if not b.ok:
                node.notes.append("KnownDLL not in the modelled System32: its exports are not checked")
                return None
            mod = _Mod(path, b, False, node=node, rule="known-dll")
            self.loaded[lower] = mod
            return mod
        if "\\" in name or "/" in name:
            node.notes.append("a path in an import name: opened as it is")
            plan = [(self.pm.dirname(name), "direct-path", None)]
            name = self.pm.basename(name)
        # 4... the folders of the plan.
        for folder, rule, source in plan:
            if not folder:
                continue
            path = self.L.lookup(folder, name)
            if path is None:
                reason = "" if self.system.is_dir(folder) else "no such folder"
                node.candidates.append(Candidate(self.pm.join(folder, name), rule, "missing", reason, source))
                continue
            b = read_binary(path, self.system)
            if b.error == "not a regular file":
                node.candidates.append(Candidate(path, rule, "skipped", "a folder, not a file", source))
                continue
            if b.error or b.format != "pe":
                # Windows maps the file and fails: STATUS_INVALID_IMAGE_FORMAT, no further search.
                why = b.error or f"a {b.format} file"
                node.candidates.append(Candidate(path, rule, "refused", why, source))
                node.path, node.rule = path, rule
                node.error = f"%1 is not a valid Win32 application ({why})"
                return None
            wrong = self._mismatch(b)
            if wrong:
                node.candidates.append(Candidate(path, rule, "skipped", f"wrong machine: {wrong}", source))
                continue
            node.candidates.append(Candidate(path, rule, "found", "", source))
            node.path, node.rule, node.via = path, rule, source
            node.system = rule == "system32" and self.pm.basename(path).lower() not in VC_RUNTIME_NAMES
            mod = _Mod(path, b, False, node=node, rule=rule)
            self.loaded[lower] = mod
            self._path_notes(name, node, path)
            return mod
        if any(c.outcome == "skipped" and c.reason.startswith("wrong machine") for c in node.candidates):
            node.error = ("not found: only images of another machine are on the search path "
                          "(%1 is not a valid Win32 application)")
        else:
            node.error = "not found (The specified module could not be found)"
        self._path_notes(name, node, None)
        return None

    def _path_notes(self, name: str, node: _N, found: Optional[str]) -> None:
        if self.order in ("legacy", "conda-path") or node.system:
            return
        for folder in self.L.path_folders():
            path = self.L.lookup(folder, name)
            if path is not None and (found is None or path.lower() != found.lower()):
                why = ("present in a PATH folder, but Python 3.8 and later do not search PATH for an "
                       "extension's DLLs (use os.add_dll_directory)")
                node.candidates.append(Candidate(path, "path", "not-searched", why, "PATH"))

    # -- checks after loading ------------------------------------------------------------------------
    def _finish(self, root_n: _N, root: Optional[_Mod]) -> DepTree:
        checked = False
        if root is not None:
            self._check_python_dll(root, root_n)
            if self.symbols:
                failed = any(n.error for n in walk(root_n))
                if failed:
                    self.notes.append("imported functions not checked: the load already fails before binding")
                else:
                    self._check_imports(root_n)
                    checked = True
            self._check_vc_runtime(root_n)
        if self.mode == "as-imported" and self.order == "default-dirs":
            self.notes.append("not searched (Python 3.8+): PATH, the current folder, the Windows folder")
        return DepTree(root=root_n.freeze(), mode=self.mode, platform="windows",
                       loader=f"windows ({self.order})",
                       executable=self.python.base_executable if self.python else self.path,
                       search_defaults=tuple(f for f, r, _s in self.plan if r != "dll-load-dir"),
                       preloaded=tuple(dict.fromkeys(self.preloaded_paths)), symbols_checked=checked,
                       notes=tuple(dict.fromkeys(self.notes)))

    def _check_python_dll(self, root: _Mod, root_n: _N) -> None:
        py = self.python
        if py is None or not py.dll_name:
            return
        for child in root_n.children:
            m = _PYTHON_DLL.match(child.name)
            if not m or child.name.lower() == "python3.dll":
                continue
            if child.name.lower() == py.dll_name.lower():
                continue
            wanted = f"{m.group(1)}.{m.group(2)}"
            child.notes.append(f"{child.name} is the DLL of Python {wanted}: this module was built for "
                               f"Python {wanted}, the interpreter is {py.dll_name}")
            if child.error is None:
                root_n.error = f"Module use of {child.name} conflicts with this version of Python."

    def _check_imports(self, root_n: _N) -> None:
        """Every static import by name or ordinal against the exports of the DLL loaded for it."""
        seen_mods = set()
        for n in walk(root_n):
            mod = n.mod
            if mod is None or n.repeat or n.rule == "already-loaded" or id(mod) in seen_mods:
                continue
            if mod.preloaded and n is not root_n:
                continue
            seen_mods.add(id(mod))
            by_child = {c.name.lower(): c for c in n.children}
            for imp, dep, why in self._missing_imports(mod):
                child = by_child.get(imp.dll.lower())
                if child is None:
                    continue
                child.missing_symbols.append(MissingSymbol(imp.label, None, imp.dll, mod.path))
                note = f"{dep.path} lacks {imp.label}, imported by {mod.path}"
                if why:
                    note += f" ({why})"
                note += " - The specified procedure could not be found"
                child.notes.append(note)
                others = self._other_copies(imp.dll, dep.path, imp.name, imp.ordinal)
                for other in others:
                    child.notes.append(f"another copy has {imp.label}: {other}")

    def _missing_imports(self, mod: _Mod):
        """(import, DLL module, why) for each static import the DLL loaded for it lacks.

        Cached per loader by (importer, the files its DLLs resolved to): a walk over a whole
        site-packages meets arrow.dll's 5 000 imports in every pyarrow module's tree."""
        deps = tuple(sorted((k, d.path) for k, d in mod.deps.items()))
        key = (mod.path, getattr(mod.binary, "file_id", None), deps)
        hit = self.L._imports_cache.get(key)
        if hit is not None:
            return hit
        out = []
        for dll, names, ordinals, imps in self.L.import_groups(mod.binary):
            dep = mod.deps.get(dll)
            exports = getattr(dep.binary, "exports", None) if dep is not None else None
            if exports is None:
                continue
            # Fast path: every name and ordinal exported and none of them forwarded (set operations
            # in C; arrow.dll alone is asked for 5 000 names by each pyarrow module).
            if not exports.forwarders and exports.names.keys() >= names and ordinals <= exports.ordinals:
                continue
            if imps is None:
                imps = [i for i in mod.binary.imports if not i.delay and i.dll.lower() == dll]
            for imp in imps:
                ok, why = self._provides(dep, imp.name, imp.ordinal, 0)
                if not ok:
                    out.append((imp, dep, why))
        self.L._imports_cache[key] = out
        return out

    def _provides(self, dep: _Mod, name: Optional[str], ordinal: Optional[int], depth: int) -> Tuple[bool, str]:
        exports = dep.binary.exports
        if name is not None:
            ordinal = exports.names.get(name)
            if ordinal is None:
                return False, ""
        elif ordinal not in exports.ordinals:
            return False, ""
        target = exports.forwarders.get(ordinal) if exports.forwarders else None
        if not target or depth > 8:
            return True, ""
        # A forwarder "OTHER.func" makes the loader load OTHER and bind func there.
        dll, _, func = target.rpartition(".")
        dll_name = dll if dll.lower().endswith(".dll") else dll + ".dll"
        is_api, host = self.L.api_set_host(dll_name)
        if is_api:
            if not host:
                return True, ""
            dll_name = host
        other = self.loaded.get(dll_name.lower())
        if other is None:
            folder = self.L.system32(self.bits)
            for f in [folder] + [p for p, _r, _s in self.plan]:
                path = self.L.lookup(f, dll_name) if f else None
                if path:
                    b = read_binary(path, self.system)
                    if b.ok and b.format == "pe":
                        other = _Mod(path, b, False)
                        break
        if other is None:
            return False, f"forwarded to {target}, and {dll_name} was not found"
        fname, ford = (None, int(func[1:])) if func.startswith("#") and func[1:].isdigit() else (func, None)
        ok, why = self._provides(other, fname, ford, depth + 1)
        return ok, why or ("" if ok else f"forwarded to {target}, which {other.path} lacks")

    def _other_copies(self, dll: str, found: str, name: Optional[str], ordinal: Optional[int]) -> List[str]:
        out = []
        folders = [f for f, _r, _s in self.plan] + self.L.path_folders()
        for folder in dict.fromkeys(f for f in folders if f):
            path = self.L.lookup(folder, dll)
            if path is None or path.lower() == found.lower():
                continue
            b = read_binary(path, self.system)
            exports = getattr(b, "exports", None)
            if exports is not None and exports.has(name, ordinal):
                out.append(path)
        return out

    def _check_vc_runtime(self, root_n: _N) -> None:
        """The VC++ runtime must be at least as new as the toolset (linker 14.x) of every module using it."""
        parents: Dict[int, List[_N]] = {}
        runtimes: List[_N] = []
        for req in walk(root_n):
            for c in req.children:
                parents.setdefault(id(c), []).append(req)
            if req.mod is None or req.repeat:
                continue
            base = req.name.lower()
            if base in VC_RUNTIME_NAMES or _VC_MANGLED.match(base):
                runtimes.append(req)
        for n in runtimes:
            version = getattr(n.mod.binary, "file_version", None)
            if not version:
                continue
            for req in parents.get(id(n), ()):
                if req.mod is None:
                    continue
                linker = getattr(req.mod.binary, "linker_version", None)
                if not linker or linker[0] != version[0]:
                    continue
                if tuple(version[:2]) < tuple(linker):
                    dotted = ".".join(str(v) for v in version)
                    n.notes.append(f"{n.name} is version {dotted}, older than the Visual C++ toolset "
                                   f"{linker[0]}.{linker[1]} that built {req.mod.path}: install the latest "
                                   "Microsoft Visual C++ Redistributable (an older runtime than the "
                                   "toolset is unsupported and can crash or fail with error 127)")


