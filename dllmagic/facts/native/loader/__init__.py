"""Resolve a binary's dependency tree the way the operating system's loader would, with reasons.

``resolve(path, system)`` picks the loader model from ``system.platform`` (Linux: glibc ld.so or musl,
chosen from the program interpreter); the answer is a frozen :class:`DepTree`. Printing lives apart,
in :func:`format_tree` and :func:`tree_to_dict`; :func:`problems` lists what would make the load fail.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import Optional

from .tree import (Candidate, DepTree, MissingSymbol, MissingVersion, Node, Problem, format_tree,
                   problems, tree_to_dict, tree_to_json, walk)

__all__ = [
    "resolve", "loader_for", "problems", "format_tree", "tree_to_dict", "tree_to_json", "walk",
    "DepTree", "Node", "Candidate", "MissingVersion", "MissingSymbol", "Problem",
]

MODES = ("as-imported", "standalone")


def loader_for(system):
    """A reusable loader model for ``system`` (reads the machine-wide facts once, for many files)."""
    if system.platform == "linux":
        from .linux import LinuxLoader

        return LinuxLoader(system)
    if system.platform == "windows":  # PE side (windows.py): KnownDLLs, API sets, add_dll_directory
        from .windows import WindowsLoader

        return WindowsLoader(system)
    if system.platform == "macos":  # Mach-O side (macos.py): dyld
        from .macos import MacLoader

        return MacLoader(system)
    raise NotImplementedError(f"no loader model for {system.platform} yet")


def resolve(path: str, system=None, *, mode: str = "as-imported", python_executable: Optional[str] = None,
            symbols: Optional[bool] = None, loader=None) -> DepTree:
    """The dependency tree of ``path`` (a machine path of ``system``; default: the live machine).

    ``mode="as-imported"``: as the target Python would ``import`` it - dlopen(path, RTLD_NOW) inside a
    process that runs ``python_executable`` (default ``system.executable``), with that program's RPATH
    and what ``system.loaded_libraries()`` says is already loaded. ``mode="standalone"``: as ``ldd``
    would, the file being the main program. ``symbols`` (default: on for as-imported) also checks that
    every undefined non-weak symbol is defined somewhere in the lookup scope.
    Never raises for hostile files: they become ``error`` and ``notes`` on their nodes.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if system is None:
        from ...system import System

        system = System.current()
    loader = loader or loader_for(system)
    return loader.resolve(path, mode=mode, python_executable=python_executable, symbols=symbols)
