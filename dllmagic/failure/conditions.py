"""Checks a live exception must pass before a ``live_if`` signature counts as an import failure.

``module 'torch' has no attribute 'tensor'`` is a plain AttributeError, and most are the user's own typos: the
per-cell hook reports one only when the module the message names was loaded from a shadow — a file or
folder outside every site folder and the standard library, with another copy of that name further along
sys.path (a ``torch.py`` beside the notebook hiding the real torch) — or is an empty namespace package made
from a local folder with no code in it (a ``torch/`` data folder where torch is not installed).
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


def _code_free_local_namespace(top: str, installed: set) -> bool:
    """The loaded ``top`` is a namespace package whose every portion is a local folder (no site folder)
    without any Python code in it: a data folder that has the name, not a module anyone meant."""
    module = sys.modules.get(top)
    if module is None or module_attribute(module, "__file__"):
        return False
    portions = [p for p in (module_attribute(module, "__path__") or ()) if isinstance(p, str)]
    if not portions:
        return False
    seen = 0
    for portion in portions:
        if os.path.realpath(os.path.dirname(os.path.abspath(portion))) in installed:
            return False
        for _folder, _dirs, files in os.walk(portion):
            seen += len(files) + len(_dirs)
            if seen > 2000 or any(f.endswith((".py", ".pyc", ".so", ".pyd")) for f in files):
                return False
    return True


def module_shadowed(name: str) -> bool:
    """True when the loaded module ``name`` (top level) is a local copy hiding another one on sys.path, or a
    local folder without code that Python made into an empty namespace package."""
    top = name.split(".")[0]
    folder = _module_folder(top)
    if folder is None:
        return False
    real = os.path.realpath(folder)
    installed = _installed_folders()
    if real in installed or os.path.basename(real) in ("site-packages", "dist-packages"):
        return False
    if _code_free_local_namespace(top, installed):
        return True
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
