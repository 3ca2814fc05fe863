"""Trust boundaries of discovery: which folders a walk up from the notebook may look into, and which
environments belong to someone else.

* Walking up from the notebook's folder (or the working folder) stops at ``$HOME`` when the walk starts
  under it, and never lists a folder that holds users' homes (``/home``, ``/Users`` ...): a ``pyvenv.cfg``
  in another user's home is no environment of ours.
* An environment (or a kernel.json) whose files belong to another user than the current one or root, or
  that every user may change (world-writable, no sticky bit), is evidence only: its names never become
  runnable installs and its interpreter never appears in a cell or an argv.
"""
from __future__ import annotations

import os
import stat
from typing import Iterable, List, Optional

from ..system import System
from .paths import _home

__all__ = ["walk_up", "ownership_problem", "HOME_ROOTS"]

#: Folders that hold users' homes on the usual systems, besides the parent of $HOME itself.
HOME_ROOTS = ("/home", "/Users", "/export/home", "/usr/home", "/var/home")


def _norm(system: System, path: str) -> str:
    pm = system.pathmod
    path = pm.normpath(path)
    return path.lower() if system.platform == "windows" else path


def _under(system: System, path: str, folder: str) -> bool:
    p, f = _norm(system, path), _norm(system, folder).rstrip("/\\")
    return p == f or p.startswith(f + system.pathmod.sep)


def _home_roots(system: System, home: Optional[str]) -> List[str]:
    pm = system.pathmod
    roots = [] if system.platform == "windows" else list(HOME_ROOTS)
    if system.platform == "windows":
        drive = pm.splitdrive(home or "")[0] or "C:"
        roots.append(drive + "\\Users")
    parent = pm.dirname(pm.normpath(home)) if home else ""
    if parent and pm.dirname(parent) != parent:   # /home for /home/me; never / (root's home is /root)
        roots.append(parent)
    return [_norm(system, r) for r in roots]


def walk_up(system: System, start: str, depth: int = 8) -> List[str]:
    """``start`` and the folders above it that discovery may look into for venvs and pixi projects: up to
    ``$HOME`` (inclusive) when ``start`` is under it; never a folder that holds users' homes."""
    pm = system.pathmod
    home = _home(system)
    stop = home if home and _under(system, start, home) else None
    roots = _home_roots(system, home)
    out: List[str] = []
    current = pm.normpath(start)
    for _ in range(depth):
        if _norm(system, current) in roots:
            break   # listing it would find other users' homes
        out.append(current)
        if stop and _norm(system, current) == _norm(system, stop):
            break
        parent = pm.dirname(current)
        if parent == current:
            break
        current = parent
    return out


def _user_name(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def ownership_problem(system: System, paths: Iterable[Optional[str]]) -> Optional[str]:
    """Why files at ``paths`` are not ours to run or install from (another user's, or world-writable); None
    when each belongs to the current user or root. Symbolic links are judged by the link itself (a venv's
    bin/python links to a system Python; the link is what its creator made). Windows: None (no uids)."""
    if system.platform == "windows" or not hasattr(os, "geteuid"):
        return None
    me = os.geteuid()
    for path in paths:
        if not path:
            continue
        try:
            st = os.lstat(system.host_path(path))
        except (OSError, ValueError):
            continue
        if st.st_uid not in (me, 0):
            return f"{path} belongs to {_user_name(st.st_uid)}, not to you or root"
        if not stat.S_ISLNK(st.st_mode) and st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
            return f"every user may change {path} (it is world-writable)"
    return None
