"""Where environments live: conda's lists and envs folders, venvs in and above a folder, the central folders
of poetry / pipenv / hatch / virtualenvwrapper, pyenv and uv Pythons, user site-packages."""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from ..system import System
from .paths import _home, site_listing
from .reading import _lib_versions

_WIN_USER_SITE = re.compile(r"^Python(\d)(\d+)(?:-32|-arm64)?$", re.I)



def _condarc_envs_dirs(system: System, path: str) -> List[str]:
    """``envs_dirs`` from a .condarc (a tiny reader: block lists and flow lists, no PyYAML needed)."""
    try:
        text = system.read_text(path, limit=1 << 20)
    except OSError:
        return []
    out: List[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^envs_dirs\s*:\s*(.*)$", line)
        if not match:
            continue
        rest = match.group(1).split(" #", 1)[0].strip()
        if rest.startswith("["):
            out += [p.strip().strip("'\"") for p in rest.strip("[]").split(",") if p.strip()]
            continue
        for follow in lines[i + 1:]:
            item = re.match(r"^\s*-\s*(.+?)\s*$", follow)
            if item:
                out.append(item.group(1).split(" #", 1)[0].strip().strip("'\""))
            elif follow.strip() and not follow.strip().startswith("#"):
                break
    return out


def _expand_user(system: System, path: str) -> str:
    home = _home(system)
    if home and (path == "~" or path.startswith(("~/", "~\\"))):
        return system.join(home, path[2:]) if len(path) > 1 else home
    return path


def _conda_roots(system: System) -> List[Tuple[str, str]]:
    pm = system.pathmod
    roots: List[Tuple[str, str]] = []
    for var in ("CONDA_EXE", "MAMBA_EXE"):
        exe = system.getenv(var)
        if exe and pm.isabs(exe):
            folder = pm.dirname(exe)
            root = pm.dirname(pm.dirname(folder)) if pm.basename(folder).lower() == "condabin" else pm.dirname(folder)
            if pm.basename(folder).lower() in ("bin", "scripts", "condabin", "library"):
                roots.append((root, var))
    for var in ("CONDA_ROOT", "MAMBA_ROOT_PREFIX", "CONDA_PREFIX_1"):
        value = system.getenv(var)
        if value:
            roots.append((value, var))
    home = _home(system)
    if home:
        for name in ("miniconda3", "anaconda3", "miniforge3", "mambaforge", "micromamba", "miniconda",
                     "anaconda", ".local/share/mamba", "AppData/Local/miniconda3"):
            roots.append((system.join(home, *name.split("/")), "default location"))
    if system.platform != "windows":
        roots.append(("/opt/conda", "default location"))
    return roots


def _conda_prefixes(system: System, notes: List[str]) -> List[Tuple[str, str, Optional[str]]]:
    """(prefix, how found, env name) of every conda environment the machine's conda would list."""
    pm = system.pathmod
    home = _home(system)
    out: List[Tuple[str, str, Optional[str]]] = []
    envs_dirs: List[Tuple[str, str]] = []
    if home:
        listing = pm.join(home, ".conda", "environments.txt")
        if system.is_file(listing):
            try:
                for line in system.read_text(listing, limit=1 << 20).splitlines():
                    if line.strip():
                        out.append((line.strip(), listing, None))
            except OSError as exc:
                notes.append(f"unreadable {listing}: {exc}")
        envs_dirs.append((pm.join(home, ".conda", "envs"), "default location"))
    for var in ("CONDA_ENVS_PATH", "CONDA_ENVS_DIRS"):
        for entry in (system.getenv(var) or "").split(system.pathsep):
            if entry:
                envs_dirs.append((_expand_user(system, entry), var))
    rcfiles = []
    if system.getenv("CONDARC"):
        rcfiles.append(system.getenv("CONDARC") or "")
    if home:
        rcfiles += [pm.join(home, ".condarc"), pm.join(home, ".conda", ".condarc"),
                    pm.join(home, ".config", "conda", ".condarc")]
    for root, how in _conda_roots(system):
        if system.is_dir(pm.join(root, "conda-meta")):
            out.append((root, how, "base"))
            rcfiles.append(pm.join(root, ".condarc"))
        envs_dirs.append((pm.join(root, "envs"), how))
    for rc in rcfiles:
        if rc and system.is_file(rc):
            envs_dirs += [(_expand_user(system, d), rc) for d in _condarc_envs_dirs(system, rc)]
    for folder, how in envs_dirs:
        for name in site_listing(system, folder):
            prefix = pm.join(folder, name)
            if system.is_dir(pm.join(prefix, "conda-meta")):
                out.append((prefix, f"{how}: {folder}", name))
    return out


def _venvs_in(system: System, folder: str, limit: int = 200) -> List[str]:
    """Children of ``folder`` that are virtual environments (pyvenv.cfg)."""
    out = []
    names = site_listing(system, folder)
    if len(names) > limit:  # a huge folder (a home with thousands of entries): common names only
        names = tuple(n for n in names if n in (".venv", "venv", "env", ".env", "virtualenv"))
    for name in names:
        if system.is_file(system.join(folder, name, "pyvenv.cfg")):
            out.append(system.join(folder, name))
    return out


def _ancestors(system: System, folder: str, stop: Optional[str], depth: int = 8) -> List[str]:
    pm = system.pathmod
    out = []
    current = pm.normpath(folder)
    for _ in range(depth):
        out.append(current)
        if stop and current == pm.normpath(stop):
            break
        parent = pm.dirname(current)
        if parent == current:
            break
        current = parent
    return out


def _central_venv_dirs(system: System) -> List[Tuple[str, str, int]]:
    """(folder, tool, depth of the venvs below it) for poetry, pipenv, hatch, virtualenvwrapper, pyenv."""
    pm = system.pathmod
    home = _home(system)
    out: List[Tuple[str, str, int]] = []
    get = system.getenv
    if get("POETRY_VIRTUALENVS_PATH"):
        out.append((get("POETRY_VIRTUALENVS_PATH") or "", "poetry", 1))
    if get("POETRY_CACHE_DIR"):
        out.append((pm.join(get("POETRY_CACHE_DIR") or "", "virtualenvs"), "poetry", 1))
    if get("WORKON_HOME"):
        out.append((get("WORKON_HOME") or "", "pipenv", 1))
    if get("HATCH_DATA_DIR"):
        out.append((pm.join(get("HATCH_DATA_DIR") or "", "env", "virtual"), "hatch", 3))
    if home:
        if system.platform == "windows":
            local = get("LOCALAPPDATA") or pm.join(home, "AppData", "Local")
            out += [(pm.join(local, "pypoetry", "Cache", "virtualenvs"), "poetry", 1),
                    (pm.join(home, ".virtualenvs"), "pipenv", 1),
                    (pm.join(local, "hatch", "env", "virtual"), "hatch", 3)]
        else:
            cache = get("XDG_CACHE_HOME") or pm.join(home, ".cache")
            data = get("XDG_DATA_HOME") or pm.join(home, ".local", "share")
            out += [(pm.join(cache, "pypoetry", "virtualenvs"), "poetry", 1),
                    (pm.join(home, "Library", "Caches", "pypoetry", "virtualenvs"), "poetry", 1),
                    (pm.join(data, "virtualenvs"), "pipenv", 1),
                    (pm.join(home, ".virtualenvs"), "virtualenvwrapper", 1),
                    (pm.join(data, "hatch", "env", "virtual"), "hatch", 3),
                    (pm.join(home, "Library", "Application Support", "hatch", "env", "virtual"), "hatch", 3)]
    return out


def _walk_venvs(system: System, folder: str, depth: int) -> List[str]:
    if depth <= 1:
        return _venvs_in(system, folder)
    out = []
    for name in site_listing(system, folder):
        child = system.join(folder, name)
        if system.is_file(system.join(child, "pyvenv.cfg")):
            out.append(child)
        elif system.is_dir(child):
            out += _walk_venvs(system, child, depth - 1)
    return out


def _pyenv_prefixes(system: System) -> List[Tuple[str, str]]:
    pm = system.pathmod
    home = _home(system)
    roots = []
    if system.getenv("PYENV_ROOT"):
        roots.append(system.getenv("PYENV_ROOT") or "")
    if home:
        roots.append(pm.join(home, ".pyenv"))
        if system.platform == "windows":
            roots.append(pm.join(home, ".pyenv", "pyenv-win"))
    out = []
    for root in dict.fromkeys(roots):
        versions = pm.join(root, "versions")
        for name in site_listing(system, versions):
            prefix = pm.join(versions, name)
            out.append((prefix, f"pyenv: {versions}"))
            for env in site_listing(system, pm.join(prefix, "envs")):  # pyenv-virtualenv
                out.append((pm.join(prefix, "envs", env), f"pyenv-virtualenv: {prefix}"))
    # uv-managed Python installs
    uv_dir = system.getenv("UV_PYTHON_INSTALL_DIR")
    if not uv_dir and home and system.platform != "windows":
        uv_dir = pm.join(system.getenv("XDG_DATA_HOME") or pm.join(home, ".local", "share"), "uv", "python")
    elif not uv_dir and home:
        uv_dir = pm.join(system.getenv("APPDATA") or pm.join(home, "AppData", "Roaming"), "uv", "python")
    if uv_dir:
        for name in site_listing(system, uv_dir):
            if name.startswith("cpython-") or name.startswith("pypy-"):
                out.append((pm.join(uv_dir, name), f"uv python: {uv_dir}"))
    return out


def _user_sites(system: System) -> List[Tuple[str, str, str]]:
    """(site folder, X.Y, base) of every user site-packages on the machine, whatever its Python version."""
    pm = system.pathmod
    home = _home(system)
    base = system.getenv("PYTHONUSERBASE")
    out: List[Tuple[str, str, str]] = []
    if system.platform == "windows":
        base = base or system.getenv("APPDATA")
        if not base:
            return out
        root = pm.join(base, "Python")
        for name in site_listing(system, root):
            match = _WIN_USER_SITE.match(name)
            site = pm.join(root, name, "site-packages")
            if match and system.is_dir(site):
                out.append((site, f"{match.group(1)}.{match.group(2)}", root))
        return out
    bases = [base] if base else []
    if home:
        bases.append(pm.join(home, ".local"))
        if system.platform == "macos":
            lib = pm.join(home, "Library", "Python")
            for ver in site_listing(system, lib):
                site = pm.join(lib, ver, "lib", "python", "site-packages")
                if re.fullmatch(r"\d+\.\d+", ver) and system.is_dir(site):
                    out.append((site, ver, lib))
    for b in dict.fromkeys(bases):
        for ver, libdir in _lib_versions(system, b):
            site = pm.join(libdir, "site-packages")
            if system.is_dir(site):
                out.append((site, ver, b))
    return out
