"""The interpreter of a Windows machine: its executable, base executable, DLL and version, read from files."""
from __future__ import annotations

import re
from typing import Dict, List, Optional

from .facts import WindowsFacts, WindowsPython, _PYTHON_DLL


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
