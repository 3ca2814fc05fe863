"""Paths on a (live or modelled) machine: home, real paths, prefixes of interpreters, PATH lookups, and the
per-folder listing cache every scan goes through."""
from __future__ import annotations

import json
import os
import re
from typing import Any, Dict, Optional, Tuple

from ..system import System


def _home(system: System) -> Optional[str]:
    if system.platform == "windows":
        home = system.getenv("USERPROFILE")
        if not home and system.getenv("HOMEDRIVE") and system.getenv("HOMEPATH"):
            home = system.getenv("HOMEDRIVE", "") + system.getenv("HOMEPATH", "")
        return home or None
    return system.getenv("HOME") or None


def _realpath(system: System, path: str) -> str:
    """The machine's real path of ``path`` (symlinks resolved inside the modelled root)."""
    if not path:
        return path
    if system.live or system.root == "/":
        return os.path.realpath(path)
    host = os.path.realpath(system.host_path(path))
    root = system.root.rstrip(os.sep)
    if host != root and not host.startswith(root + os.sep):
        return system.pathmod.normpath(path)
    rel = os.path.relpath(host, root)
    parts = [] if rel == "." else rel.split(os.sep)
    if system.platform == "windows":
        if not parts:
            return path
        return parts[0] + ":\\" + "\\".join(parts[1:])
    return "/" + "/".join(parts)


def env_key(system: System, prefix: str) -> str:
    real = _realpath(system, prefix).rstrip("/\\") or prefix
    return real.lower() if system.platform == "windows" else real


def _abs(system: System, path: str, base: Optional[str]) -> str:
    pm = system.pathmod
    if not pm.isabs(path) and base:
        path = pm.join(base, path)
    return pm.normpath(path)


def prefix_of_python(system: System, python: str) -> str:
    """The environment prefix an interpreter path belongs to (``.../bin/python`` → ``...``)."""
    pm = system.pathmod
    # Resolve the folder, not the file: a venv's bin/python is a symlink to its base Python, and the venv
    # (not the base) is the environment that this path runs.
    folder = _realpath(system, pm.dirname(python)) if pm.dirname(python) else pm.dirname(python)
    base = pm.basename(folder).lower()
    if system.platform == "windows":
        return pm.dirname(folder) if base == "scripts" else folder
    return pm.dirname(folder) if base == "bin" else folder


def python_of_prefix(system: System, prefix: str) -> Optional[str]:
    names = (("python.exe", "Scripts\\python.exe") if system.platform == "windows"
             else ("bin/python", "bin/python3"))
    for name in names:
        path = system.join(prefix, *name.replace("\\", "/").split("/"))
        if system.exists(path):
            return path
    if system.platform != "windows":
        for name in sorted(system.listdir(system.join(prefix, "bin")), reverse=True):
            if re.fullmatch(r"python3\.\d+", name):
                return system.join(prefix, "bin", name)
    return None


def _is_python_name(name: str) -> bool:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if base.endswith(".exe"):
        base = base[:-4]
    return bool(re.fullmatch(r"(python|pypy)(\d+(\.\d+)?t?)?w?", base))


def _which(system: System, name: str, path_var: Optional[str] = None) -> Optional[str]:
    """The first ``name`` on PATH (with PATHEXT on Windows), as the machine would pick it."""
    path_var = system.getenv("PATH", "") if path_var is None else path_var
    exts = [""]
    if system.platform == "windows":
        exts = [e.lower() for e in (system.getenv("PATHEXT") or ".COM;.EXE;.BAT;.CMD").split(";") if e]
        if "." in name.rsplit("\\", 1)[-1]:
            exts = [""] + exts
    for folder in path_var.split(system.pathsep):
        if not folder:
            continue
        for ext in exts:
            candidate = system.join(folder, name + ext)
            if system.is_file(candidate):
                if system.platform != "windows" and system.root == "/" and not os.access(candidate, os.X_OK):
                    continue
                return candidate
    return None


# Scans are cached per folder and (mtime_ns, size) within a process, so a second report is cheap.
_LISTINGS: Dict[Tuple[str, str], Tuple[Tuple[int, int], Tuple[str, ...]]] = {}


def _stamp(system: System, path: str) -> Optional[Tuple[int, int]]:
    try:
        st = system.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def site_listing(system: System, folder: str) -> Tuple[str, ...]:
    """The names in ``folder`` (cached per folder mtime)."""
    stamp = _stamp(system, folder)
    if stamp is None:
        return ()
    key = (system.root, folder)
    hit = _LISTINGS.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    names = tuple(sorted(system.listdir(folder)))
    _LISTINGS[key] = (stamp, names)
    return names


def read_json(system: System, path: str, limit: int) -> Tuple[Any, Optional[str]]:
    """(data, None), or (None, why not) for a JSON file that is unreadable, not UTF-8, not JSON or nested too
    deeply for the parser. Never raises: a damaged file is a note, not a failed diagnosis."""
    try:
        raw = system.read_bytes(path, limit)
    except (OSError, ValueError) as exc:
        return None, f"unreadable ({getattr(exc, 'strerror', None) or exc})"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 (byte {exc.start})"
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "JSON nested too deeply to read"
    except ValueError as exc:
        return None, f"not valid JSON ({exc})"
