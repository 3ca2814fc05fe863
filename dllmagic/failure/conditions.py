"""Checks a live exception must pass before a ``live_if`` signature counts as an import failure.

``module 'torch' has no attribute 'tensor'`` is a plain AttributeError, and most are the user's own typos: the
per-cell hook reports one only when the module the message names was loaded from a shadow — a file or
folder outside every site folder and the standard library, with another copy of that name further along
sys.path (a ``torch.py`` beside the notebook hiding the real torch).
"""
from __future__ import annotations

import os
import sys
from typing import Optional

from ..model import module_attribute


def _module_folder(name: str) -> Optional[str]:
    """The sys.path folder the loaded top-level module ``name`` came from, or None."""
    module = sys.modules.get(name)
    if module is None:
        return None
    path = module_attribute(module, "__file__")
    if isinstance(path, str) and path:
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.basename(path).startswith("__init__."):
            folder = os.path.dirname(folder)
        return folder
    paths = list(module_attribute(module, "__path__") or ())   # a namespace package: its first portion
    return os.path.dirname(os.path.abspath(paths[0])) if paths and isinstance(paths[0], str) else None


def _installed_folders() -> set:
    import sysconfig

    folders = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            folders.add(os.path.realpath(sysconfig.get_paths()[key]))
        except (KeyError, OSError):
            pass
    try:
        import site

        folders.update(os.path.realpath(p) for p in site.getsitepackages())
        folders.add(os.path.realpath(site.getusersitepackages()))
    except Exception:
        pass
    return folders


def module_shadowed(name: str) -> bool:
    """True when the loaded module ``name`` (top level) is a local copy hiding another one on sys.path."""
    top = name.split(".")[0]
    folder = _module_folder(top)
    if folder is None:
        return False
    real = os.path.realpath(folder)
    if real in _installed_folders() or os.path.basename(real) in ("site-packages", "dist-packages"):
        return False
    from importlib.machinery import PathFinder

    others = [p for p in sys.path if isinstance(p, str) and os.path.realpath(p or os.curdir) != real]
    try:
        return PathFinder.find_spec(top, others) is not None
    except (ImportError, ValueError, OSError):
        return False


CHECKS = {"module-shadowed": module_shadowed}


def holds(check: Optional[str], groups: dict) -> bool:
    """Whether the signature's ``live_if`` check holds for a match's named groups (no check: True)."""
    if not check:
        return True
    func = CHECKS.get(check)
    module = groups.get("module")
    return bool(func and module and func(module))
