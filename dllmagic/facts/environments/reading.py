"""One environment, read from its files only (pyvenv.cfg, conda-meta, lib/pythonX.Y, site-packages)."""
from __future__ import annotations

import re
from typing import Dict, List, Mapping, Optional, Tuple

from ..distributions import normalize
from ..system import System
from .conda import _CONDA_RECORD, conda_records
from .paths import _realpath, env_key, python_of_prefix, site_listing
from .records import Environment
from .trust import ownership_problem

_VERSION_DIR = re.compile(r"^(?:python|pypy)(\d+)\.(\d+)t?$")



def _pyvenv_cfg(system: System, prefix: str) -> Dict[str, str]:
    path = system.join(prefix, "pyvenv.cfg")
    try:
        text = system.read_text(path, limit=16384)
    except OSError:
        return {}
    values: Dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip().lower()] = value.strip()
    return values


def _lib_versions(system: System, prefix: str) -> List[Tuple[str, str]]:
    """(X.Y, lib folder) for every lib/pythonX.Y folder under a POSIX prefix."""
    out = []
    for lib in ("lib", "lib64"):
        libdir = system.join(prefix, lib)
        for name in site_listing(system, libdir):
            match = _VERSION_DIR.match(name)
            if match:
                out.append((f"{match.group(1)}.{match.group(2)}", system.join(libdir, name)))
    return out


def _site_packages(system: System, prefix: str, version: Optional[str]) -> Tuple[List[str], Optional[str]]:
    """site-packages folders of a prefix, and the X.Y its folder names imply."""
    if system.platform == "windows":
        site = system.join(prefix, "Lib", "site-packages")
        return ([site] if system.is_dir(site) else []), None
    found: List[str] = []
    implied = None
    libs = _lib_versions(system, prefix)
    minor = ".".join(version.split(".")[:2]) if version else None
    if minor:
        libs.sort(key=lambda item: item[0] != minor)
    real_seen = set()
    for ver, libdir in libs:
        for sub in ("site-packages", "dist-packages"):
            site = system.join(libdir, sub)
            if not system.is_dir(site):
                continue
            real = _realpath(system, site)   # a venv's lib64 is a link to lib
            if real in real_seen:
                continue
            real_seen.add(real)
            found.append(site)
            implied = implied or ver
    if not found and system.is_dir(system.join(prefix, "lib", "python3", "dist-packages")):
        # Debian's system Python: /usr/lib/python3/dist-packages serves every 3.x.
        found.append(system.join(prefix, "lib", "python3", "dist-packages"))
    return found, implied


def _conda_python_version(records: Mapping[str, str]) -> Optional[str]:
    path = records.get("python")
    if not path:
        return None
    match = _CONDA_RECORD.match(path.replace("\\", "/").rsplit("/", 1)[-1])
    return match.group("version") if match else None


def _windows_dll_version(system: System, prefix: str) -> Optional[str]:
    for name in site_listing(system, prefix):
        match = re.fullmatch(r"python3(\d+)\.dll", name, re.I)
        if match:
            return f"3.{match.group(1)}"
    return None


def _classify(system: System, prefix: str, python: Optional[str], cfg: Mapping[str, str], conda: bool,
              externally_managed: bool) -> str:
    from ..interpreter import classify_environment

    text = "\n".join(f"{k} = {v}" for k, v in cfg.items()) if cfg else None
    real = _realpath(system, python) if python else ""
    return classify_environment({
        "pyvenv_cfg": text, "conda_meta": conda, "real_executable": real, "prefix": prefix,
        "executable": python or "", "externally_managed": externally_managed,
    })


def read_environment(system: System, prefix: str, found_by: str, *, name: Optional[str] = None,
                     python: Optional[str] = None, kind: Optional[str] = None, version: Optional[str] = None,
                     current_key: Optional[str] = None, fallback_version: Optional[Tuple[str, str]] = None,
                     architecture: Optional[str] = None) -> Optional["Environment"]:
    """An environment read from its files, or None when ``prefix`` does not look like one.

    ``fallback_version``: (version, where it is stated), used only when the files say nothing (the PEP 514
    registry's SysVersion)."""
    pm = system.pathmod
    prefix = pm.normpath(prefix)
    if not system.is_dir(prefix):
        return None
    cfg = _pyvenv_cfg(system, prefix)
    records = conda_records(system, prefix)
    conda = system.is_dir(system.join(prefix, "conda-meta"))
    version_source = "sys.version_info" if version else ""
    if not version and (cfg.get("version_info") or cfg.get("version")):
        version = (cfg.get("version_info") or cfg.get("version") or "").split("+")[0]
        version = ".".join(version.split(".")[:3])
        version_source = system.join(prefix, "pyvenv.cfg")
    if not version and records:
        version = _conda_python_version(records)
        version_source = records.get("python", "")
    sites, implied = _site_packages(system, prefix, version)
    if not version and implied:
        version, version_source = implied, sites[0]
    if not version and system.platform == "windows":
        version = _windows_dll_version(system, prefix)
        version_source = prefix if version else ""
    if version and version.count(".") == 1 and re.fullmatch(re.escape(version) + r"\.\d+", pm.basename(prefix)):
        version = pm.basename(prefix)   # pyenv and uv keep each Python in a folder named by its version
    python = python or python_of_prefix(system, prefix)
    if not sites and not python and not cfg and not conda:
        return None
    if not version and python:
        match = re.search(r"python(\d+\.\d+)", _realpath(system, python))
        if match:
            version, version_source = match.group(1), python
    if not version and fallback_version:
        version, version_source = fallback_version
    # PEP 668: the marker sits in the stdlib folder of a base installation; a venv is never managed.
    externally_managed = False
    if not cfg and system.platform == "windows":
        externally_managed = system.is_file(system.join(prefix, "Lib", "EXTERNALLY-MANAGED"))
    elif not cfg:
        minor = ".".join(version.split(".")[:2]) if version else None
        libs = [libdir for ver, libdir in _lib_versions(system, prefix) if minor is None or ver == minor]
        externally_managed = any(system.is_file(system.join(libdir, "EXTERNALLY-MANAGED")) for libdir in libs)
    names = set()
    count = 0
    for site in sites:
        for entry in site_listing(system, site):
            if entry.endswith((".dist-info", ".egg-info")):
                count += 1
                names.add(normalize(entry.split("-", 1)[0]))
    lacks_ipykernel = ("ipykernel" not in names and bool(cfg) and sites != () and
                       cfg.get("include-system-site-packages", "").strip().lower() != "true" and
                       not any(_pth_adds_folders(system, system.join(site, entry))
                               for site in sites for entry in site_listing(system, site) if entry.endswith(".pth")))
    key = env_key(system, prefix)
    kind = kind or _classify(system, prefix, python, cfg, conda, externally_managed)
    if not name:
        name = _env_name(system, prefix, cfg, kind)
    current = current_key is not None and key == current_key
    # Another user's environment is evidence only (the kernel's own is what the user runs already).
    untrusted = None if current else ownership_problem(system, [
        prefix, system.join(prefix, "pyvenv.cfg"), system.join(prefix, "conda-meta"),
        pm.dirname(python) if python else None, python, *sites])
    return Environment(
        prefix=prefix, key=key, kind=kind, name=name, python=python, version=version,
        version_source=version_source, site_packages=tuple(sites), found_by=(found_by,), conda=conda,
        has_pip="pip" in names, has_ipykernel="ipykernel" in names, lacks_ipykernel=lacks_ipykernel,
        externally_managed=externally_managed,
        distributions=count, current=current, architecture=architecture, untrusted=untrusted)


def _pth_adds_folders(system: System, path: str) -> bool:
    """Whether a .pth file may put other folders on sys.path: a line naming a folder, or an import line that
    touches sys.path or calls addsitedir (an unreadable file counts as one that may)."""
    try:
        text = system.read_text(path, limit=1 << 16)
    except (OSError, ValueError):
        return True
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith(("import ", "import\t")) or "sys.path" in line or "addsitedir" in line:
            return True
    return False


def _env_name(system: System, prefix: str, cfg: Mapping[str, str], kind: str) -> str:
    pm = system.pathmod
    base = pm.basename(prefix.rstrip("/\\")) or prefix
    if kind == "pyenv" and re.fullmatch(r"\d+\.\d+[\w.-]*", base):
        return f"pyenv {base}"
    if cfg.get("prompt"):
        return cfg["prompt"].strip("()'\" ")
    if base.lower() in (".venv", "venv", "env", ".env") or kind in ("pixi",):
        parent = pm.basename(pm.dirname(prefix))
        if kind == "pixi":
            # <project>/.pixi/envs/<env>
            project = pm.basename(pm.dirname(pm.dirname(pm.dirname(prefix))))
            return f"{project}:{base}"
        return f"{parent}/{base}" if parent else base
    return base
