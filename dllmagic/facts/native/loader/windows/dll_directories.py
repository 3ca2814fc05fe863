"""os.add_dll_directory folders reconstructed from the packages' own code (read, never run)."""
from __future__ import annotations

import ast
from typing import Dict, List, Optional, Tuple

from .facts import DllDirectory, WindowsFacts, WindowsPython, _knowledge


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
