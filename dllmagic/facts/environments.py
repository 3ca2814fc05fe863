"""Every Python environment on a machine, and the one the notebook expects, read without starting Pythons.

Two questions live here:

* :func:`discover` — which kernelspecs and Python environments exist on this machine (Jupyter's kernel
  folders, conda's ``environments.txt`` / envs folders / ``.condarc``, pixi, venvs in and above the notebook's
  folder, poetry / pipenv / hatch / virtualenvwrapper central folders, pyenv and uv Python installs, the
  ``python`` first on PATH, Windows' registry of installed Pythons (PEP 514: HKCU / HKLM / Wow6432Node,
  read with winreg on a live Windows machine, from ``System.registry`` on a modelled one), user
  site-packages of every Python version). Each environment is read from its
  files only: ``pyvenv.cfg``, ``conda-meta``, the ``lib/pythonX.Y`` folder names and site-packages listings.
  No interpreter is started, so a broken or slow environment cannot hang the diagnosis.
* :func:`expected_environment` — what the notebook expects: its metadata (found through
  ``JPY_SESSION_NAME``, ``__session__`` or VS Code's ``__vsc_ipynb_file__``), the kernelspec of that name and
  whether its ``argv[0]`` is this interpreter, VIRTUAL_ENV / CONDA_PREFIX inherited from the server, the
  ``python`` and ``pip`` first on PATH, requirement files beside the notebook and ``!pip install`` lines in
  the session's history.
* :func:`installer_conflicts` — who owns a distribution of a conda prefix: conda-meta records against the
  ``.dist-info``'s INSTALLER and RECORD (pip over conda's copy, conda over pip's).

Everything goes through a :class:`~dllmagic.facts.system.System`, so tests describe other machines.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..model import Evidence, ExpectedEnvironment, Interpreter
from .distributions import DistributionIndex, normalize
from .system import System

__all__ = [
    "Kernelspec", "Environment", "Location", "Discovery", "PipCommand", "NotebookExpectation",
    "discover", "locate", "expected_environment", "notebook_expectation", "kernelspec_dirs",
    "prefix_of_python", "python_of_prefix", "read_environment", "site_listing", "conda_records",
    "parse_pip_history", "same_python_minor", "env_key", "nb_conda_kernel_env", "NOT_VISIBLE",
    "RegisteredPython", "parse_pep514", "read_pep514_registry", "registry_pythons",
    "InstallerConflict", "installer_conflicts", "conda_record_data",
]

#: Evidence fact names this module produces (the rules and the report read them by name).
NOT_VISIBLE = "not visible from this kernel"

_VERSION_DIR = re.compile(r"^(?:python|pypy)(\d+)\.(\d+)t?$")
_NB_CONDA = re.compile(r"^conda-(?:env-(?P<env>.+?)|root|base)-(?P<lang>py|python|r|ir)$")
_CONDA_RECORD = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+)-(?P<build>[^-]+)\.json$")
_WIN_USER_SITE = re.compile(r"^Python(\d)(\d+)(?:-32|-arm64)?$", re.I)


# ------------------------------------------------------------------------------------------------ records
@dataclass(frozen=True)
class Kernelspec:
    """A Jupyter kernelspec (``kernel.json``), or a virtual one that nb_conda_kernels would offer."""

    name: str
    display_name: str
    argv: Tuple[str, ...]
    language: str
    path: str                      # the kernel.json; "" for nb_conda_kernels' virtual specs
    source: str                    # which Jupyter data folder it came from (JUPYTER_PATH, user, env, system)
    python: Optional[str] = None   # the Python its argv starts, as written (None: not a Python kernel)
    prefix: Optional[str] = None   # the environment prefix that Python belongs to
    env: Tuple[Tuple[str, str], ...] = ()
    hidden_by: Optional[str] = None  # an earlier kernel.json of the same name that Jupyter uses instead


@dataclass(frozen=True)
class Environment:
    """A Python environment found on disk (or a user site-packages folder of one Python version)."""

    prefix: str
    key: str                                  # identity: real, case-normalised prefix
    kind: str                                 # venv, uv, conda, pixi, poetry, pipenv, hatch, pyenv, user-site ...
    name: str
    python: Optional[str]                     # its interpreter, when one is on disk
    version: Optional[str]                    # "3.11.7", or "3.11" when only the folder name says it
    version_source: str
    site_packages: Tuple[str, ...]
    found_by: Tuple[str, ...]                 # how discovery reached it: "kernelspec b", environments.txt ...
    kernelspecs: Tuple[str, ...] = ()         # kernelspec names that run its Python
    conda: bool = False                       # conda-meta present: conda (or mamba, pixi) manages it
    has_pip: bool = False
    has_ipykernel: bool = False
    externally_managed: bool = False          # PEP 668 EXTERNALLY-MANAGED marker next to its stdlib
    distributions: int = 0                    # *.dist-info / *.egg-info folders in its site-packages
    current: bool = False                     # the kernel's own environment
    architecture: Optional[str] = None        # as the PEP 514 registry states it (SysArchitecture: 64bit ...)

    @property
    def minor(self) -> Optional[str]:
        if not self.version:
            return None
        return ".".join(self.version.split(".")[:2])


@dataclass(frozen=True)
class Location:
    """Where an import name was found in an environment: the file or folder, and its distribution."""

    environment: Environment
    site: str
    path: str
    distribution: Optional[str] = None
    version: Optional[str] = None
    dist_path: Optional[str] = None
    installer: Optional[str] = None
    conda_record: Optional[str] = None        # conda-meta/<name>-<ver>-<build>.json naming it


@dataclass(frozen=True)
class Discovery:
    kernelspecs: Tuple[Kernelspec, ...]
    environments: Tuple[Environment, ...]
    current: Optional[Environment]
    notes: Tuple[str, ...] = ()

    def environment(self, key_or_prefix: str) -> Optional[Environment]:
        for env in self.environments:
            if env.key == key_or_prefix or env.prefix == key_or_prefix:
                return env
        return None

    def kernelspec(self, name: str) -> Optional[Kernelspec]:
        lowered = name.lower()
        for spec in self.kernelspecs:
            if spec.name.lower() == lowered and spec.hidden_by is None:
                return spec
        return None

    def kernelspecs_for(self, env: Environment) -> List[Kernelspec]:
        return [k for k in self.kernelspecs if k.hidden_by is None and k.name in env.kernelspecs]


# ------------------------------------------------------------------------------------------------ paths
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


# ------------------------------------------------------------------------------------------------ caches
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


def conda_records(system: System, prefix: str) -> Dict[str, str]:
    """conda-meta records of a prefix: normalised package name → record file (names from file names)."""
    meta = system.join(prefix, "conda-meta")
    out: Dict[str, str] = {}
    for name in site_listing(system, meta):
        match = _CONDA_RECORD.match(name)
        if match:
            out.setdefault(normalize(match.group("name")), system.join(meta, name))
    return out


def conda_record_data(system: System, record: str) -> Dict[str, Any]:
    """A conda-meta record's JSON (name, version, build, channel, files ...); {} when unreadable."""
    try:
        data = json.loads(system.read_text(record, limit=64 << 20))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _conda_files(data: Mapping[str, Any]) -> List[str]:
    files = data.get("files")
    if not isinstance(files, list):
        paths = data.get("paths_data", {}).get("paths") if isinstance(data.get("paths_data"), dict) else None
        files = [p.get("_path") for p in paths if isinstance(p, dict)] if isinstance(paths, list) else []
    return [f for f in files if isinstance(f, str)]


@dataclass(frozen=True)
class InstallerConflict:
    """conda-meta and a non-conda installer (pip, uv ...) both claim one distribution of a conda prefix.

    ``relation`` is ``pip-over-conda`` (pip replaced conda's copy: conda-meta still records the package, but
    the only metadata on disk is pip's) or ``conda-over-pip`` (conda installed its copy over a pip install:
    conda's metadata sits beside pip's, and pip's RECORD lists files that conda's record owns now).
    """

    name: str                       # normalised project name
    relation: str                   # pip-over-conda, conda-over-pip
    installer: str                  # the other installer, as its INSTALLER file says (pip, uv ...)
    dist_path: str                  # that installer's .dist-info folder
    version: str                    # the version in that .dist-info
    conda_record: str               # conda-meta/<name>-<version>-<build>.json
    conda_version: Optional[str]
    conda_channel: Optional[str]
    conda_dist_path: Optional[str]  # conda's own .dist-info, when it is on disk
    conflicts: Tuple[str, ...]      # files (prefix-relative) that both RECORD and conda-meta claim, first few
    conflict_count: int = 0

    @property
    def sentence(self) -> str:
        conda = f"conda's {self.name} {self.conda_version or ''}".strip()
        if self.relation == "pip-over-conda":
            return (f"{self.installer} installed {self.name} {self.version} over {conda}: conda-meta still "
                    f"records conda's copy, but the files on disk are {self.installer}'s")
        return (f"conda installed {conda} over {self.installer}'s {self.name} {self.version}: {self.installer}'s "
                f"metadata is still there and lists files conda's record owns now")


def _rel_files(system: System, prefix: str, d: Any) -> List[str]:
    pm = system.pathmod
    site_rel = pm.relpath(d.location, prefix) if prefix else d.location
    out = []
    for entry in d.record():
        if "__pycache__" in entry or entry.endswith(".pyc"):
            continue
        rel = pm.normpath(pm.join(site_rel, entry)).replace("\\", "/")
        if rel.startswith("../"):
            continue
        out.append(rel.lower() if system.platform == "windows" else rel)
    return out


def installer_conflicts(system: System, prefix: str, distributions: Sequence[Any]) -> List[InstallerConflict]:
    """Which installer owns each of ``distributions`` (the .dist-info folders of one conda prefix, as a
    :class:`~dllmagic.facts.distributions.DistributionIndex` lists them), where conda-meta and another
    installer's INSTALLER disagree. Read from files only: conda-meta records, INSTALLER and RECORD."""
    records = conda_records(system, prefix)
    if not records:
        return []
    pm = system.pathmod
    groups: Dict[str, List[Any]] = {}
    for d in distributions:
        groups.setdefault(d.key, [])
        if all(d.path != o.path for o in groups[d.key]):
            groups[d.key].append(d)
    out: List[InstallerConflict] = []
    for key, dists in groups.items():
        record = records.get(key)
        if record is None:
            continue
        installers = {d.path: (d.installer or "").strip().lower() for d in dists}
        others = [d for d in dists if installers[d.path] not in ("", "conda")]
        if not others:
            continue
        data = conda_record_data(system, record)
        files = _conda_files(data)
        owned = {(f.lower() if system.platform == "windows" else f).replace("\\", "/") for f in files}
        conda_dist = None
        for d in dists:
            rel = pm.relpath(d.path, prefix).replace("\\", "/")
            rel = rel.lower() if system.platform == "windows" else rel
            if installers[d.path] == "conda" or any(f.startswith(rel + "/") for f in owned):
                if d not in others:
                    conda_dist = d
                    break
        channel = data.get("channel") if isinstance(data.get("channel"), str) else None
        match = _CONDA_RECORD.match(pm.basename(record))
        conda_version = str(data.get("version") or (match.group("version") if match else "")) or None
        for d in others:
            mine = _rel_files(system, prefix, d) if owned else []
            clash = [f for f in mine if f in owned]
            relation = "conda-over-pip" if conda_dist is not None and (clash or not owned) else "pip-over-conda"
            out.append(InstallerConflict(
                name=key, relation=relation, installer=d.installer or "pip", dist_path=d.path, version=d.version,
                conda_record=record, conda_version=conda_version, conda_channel=channel,
                conda_dist_path=conda_dist.path if conda_dist is not None else None,
                conflicts=tuple(clash[:5]), conflict_count=len(clash)))
    return out


# ------------------------------------------------------------------------------------------------ one env
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
    from .interpreter import classify_environment

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
    key = env_key(system, prefix)
    kind = kind or _classify(system, prefix, python, cfg, conda, externally_managed)
    if not name:
        name = _env_name(system, prefix, cfg, kind)
    return Environment(
        prefix=prefix, key=key, kind=kind, name=name, python=python, version=version,
        version_source=version_source, site_packages=tuple(sites), found_by=(found_by,), conda=conda,
        has_pip="pip" in names, has_ipykernel="ipykernel" in names, externally_managed=externally_managed,
        distributions=count, current=current_key is not None and key == current_key, architecture=architecture)


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


# ------------------------------------------------------------------------------------------------ jupyter
def kernelspec_dirs(system: System, interpreter: Optional[Interpreter] = None) -> List[Tuple[str, str]]:
    """Jupyter's kernel folders in jupyter_core's order of precedence, each with its origin."""
    pm = system.pathmod
    home = _home(system)
    out: List[Tuple[str, str]] = []

    def add(path: Optional[str], origin: str) -> None:
        if path:
            folder = pm.join(path, "kernels")
            if all(folder != existing for existing, _ in out):
                out.append((folder, origin))

    for entry in (system.getenv("JUPYTER_PATH") or "").split(system.pathsep):
        add(entry or None, "JUPYTER_PATH")
    user = system.getenv("JUPYTER_DATA_DIR")
    if not user and home:
        if system.platform == "windows":
            appdata = system.getenv("APPDATA")
            user = pm.join(appdata, "jupyter") if appdata else None
        elif system.platform == "macos":
            user = pm.join(home, "Library", "Jupyter")
        else:
            user = pm.join(system.getenv("XDG_DATA_HOME") or pm.join(home, ".local", "share"), "jupyter")
    env_paths = []
    if interpreter is not None and interpreter.prefix:
        env_paths.append(pm.join(interpreter.prefix, "share", "jupyter"))
    if system.platform == "windows":
        programdata = system.getenv("PROGRAMDATA")
        system_paths = [pm.join(programdata, "jupyter")] if programdata else []
    else:
        system_paths = ["/usr/local/share/jupyter", "/usr/share/jupyter"]
    prefer_env = (system.getenv("JUPYTER_PREFER_ENV_PATH") or "").lower() in ("1", "true", "yes", "on")
    ordered = ([(p, "environment") for p in env_paths] + [(user, "user")]) if prefer_env else \
        ([(user, "user")] + [(p, "environment") for p in env_paths])
    for path, origin in ordered + [(p, "system") for p in system_paths]:
        add(path, origin)
    return out


def _argv_python(system: System, argv: Sequence[str]) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """(python, prefix, conda env name) that a kernelspec's argv starts."""
    pm = system.pathmod
    args = list(argv)
    if args and pm.basename(args[0]).lower() in ("env", "env.exe"):
        args = args[1:]
        while args and ("=" in args[0] or args[0].startswith("-")):
            args = args[1:]
    if not args:
        return None, None, None
    head = pm.basename(args[0]).lower().replace(".exe", "").replace(".bat", "")
    if head in ("conda", "mamba", "micromamba") and "run" in args:
        # `conda run -n NAME python -m ipykernel_launcher ...` or `-p PREFIX`
        for flag in ("-p", "--prefix"):
            if flag in args and args.index(flag) + 1 < len(args):
                prefix = args[args.index(flag) + 1]
                return python_of_prefix(system, prefix), prefix, None
        for flag in ("-n", "--name"):
            if flag in args and args.index(flag) + 1 < len(args):
                return None, None, args[args.index(flag) + 1]
        return None, None, None
    if not _is_python_name(args[0]):
        return None, None, None
    python = args[0]
    if not pm.isabs(python):
        python = _which(system, python) or python
        if not pm.isabs(python):
            return python, None, None
    return python, prefix_of_python(system, python), None


def _read_kernelspecs(system: System, interpreter: Optional[Interpreter], notes: List[str]) -> List[Kernelspec]:
    specs: List[Kernelspec] = []
    seen: Dict[str, str] = {}
    for folder, origin in kernelspec_dirs(system, interpreter):
        for name in site_listing(system, folder):
            path = system.join(folder, name, "kernel.json")
            if not system.is_file(path):
                continue
            try:
                data = json.loads(system.read_text(path, limit=1 << 20))
            except (OSError, ValueError, RecursionError) as exc:
                notes.append(f"unreadable kernelspec {path}: {exc}")
                continue
            if not isinstance(data, dict):
                continue
            argv = tuple(str(a) for a in data.get("argv") or ())
            python, prefix, _ = _argv_python(system, argv)
            env = data.get("env") if isinstance(data.get("env"), dict) else {}
            specs.append(Kernelspec(
                name=name, display_name=str(data.get("display_name") or name), argv=argv,
                language=str(data.get("language") or ""), path=path, source=f"{origin} ({folder})",
                python=python, prefix=prefix, env=tuple((str(k), str(v)) for k, v in env.items()),
                hidden_by=seen.get(name.lower())))
            seen.setdefault(name.lower(), path)
    return specs


# ------------------------------------------------------------------------------------------------ conda
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


# ------------------------------------------------------------------------------------------------ other
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


# ------------------------------------------------------------------------------------------------ PEP 514
PEP514 = "PEP 514 registry"

#: Hive labels a machine description (or the live reader) may use, and the registry path each stands for.
_HIVES = {
    "hkcu": "HKCU\\Software\\Python",
    "hkey_current_user": "HKCU\\Software\\Python",
    "hklm": "HKLM\\Software\\Python",
    "hkey_local_machine": "HKLM\\Software\\Python",
    "hklm\\wow6432node": "HKLM\\Software\\Wow6432Node\\Python",
    "hklm\\software\\wow6432node": "HKLM\\Software\\Wow6432Node\\Python",
    "hkey_local_machine\\software\\wow6432node": "HKLM\\Software\\Wow6432Node\\Python",
    "hklm32": "HKLM\\Software\\Wow6432Node\\Python",
}


@dataclass(frozen=True)
class RegisteredPython:
    """One ``Software\\Python\\<Company>\\<Tag>`` key of Windows' registry of installed Pythons (PEP 514)."""

    key: str                          # HKCU\Software\Python\PythonCore\3.11
    company: str
    tag: str
    install_path: Optional[str]       # InstallPath's default value
    executable: Optional[str]         # InstallPath\ExecutablePath
    version: Optional[str]            # SysVersion (X.Y), or PythonCore's tag
    architecture: Optional[str]       # SysArchitecture (32bit, 64bit, ARM64), or PythonCore's default
    display_name: Optional[str]

    @property
    def found_by(self) -> str:
        return f"{PEP514} ({self.key})"

    def prefix(self, system: System) -> Optional[str]:
        if self.install_path:
            return system.pathmod.normpath(self.install_path)
        if self.executable:
            return system.pathmod.dirname(self.executable)
        return None


def _reg_str(value: Any) -> Optional[str]:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _reg_default(value: Any) -> Optional[str]:
    """A key's default value: a dict holds it under "" (winreg's name), "(default)" or "(Default)"."""
    if isinstance(value, Mapping):
        for name in ("", "(default)", "(Default)", "@"):
            if _reg_str(value.get(name)):
                return _reg_str(value.get(name))
        return None
    return _reg_str(value)


def parse_pep514(tree: Optional[Mapping[str, Any]]) -> List[RegisteredPython]:
    """The Pythons a PEP 514 registry tree lists: ``{hive: {company: {tag: values}}}`` (pure; tests feed it).

    ``hive`` is ``HKCU``, ``HKLM`` or ``HKLM\\Wow6432Node`` (the 32-bit view); a tag's values are
    ``DisplayName``, ``SysVersion``, ``SysArchitecture`` and the ``InstallPath`` subkey, either a string (its
    default value) or ``{"": folder, "ExecutablePath": ...}`` as winreg reads it; ``ExecutablePath`` may also
    sit on the tag itself. PEP 514's rules apply: the ``PyLauncher`` company is not a Python; for
    ``PythonCore`` a missing SysVersion is the tag's X.Y and a missing SysArchitecture is that of the
    registry view (``-32`` tags and Wow6432Node: 32bit).
    """
    out: List[RegisteredPython] = []
    if not isinstance(tree, Mapping):
        return out
    for hive, companies in tree.items():
        base = _HIVES.get(str(hive).lower().replace("/", "\\").rstrip("\\"))
        if base is None or not isinstance(companies, Mapping):
            continue
        wow32 = "Wow6432Node" in base
        for company, tags in companies.items():
            if not isinstance(tags, Mapping) or str(company).lower() == "pylauncher":
                continue
            for tag, values in tags.items():
                if not isinstance(values, Mapping):
                    continue
                install = values.get("InstallPath")
                install_path = _reg_default(install)
                executable = _reg_str(install.get("ExecutablePath")) if isinstance(install, Mapping) else None
                executable = executable or _reg_str(values.get("ExecutablePath"))
                version = _reg_str(values.get("SysVersion"))
                arch = _reg_str(values.get("SysArchitecture"))
                core = str(company) == "PythonCore"
                if core and not version:
                    match = re.match(r"^(\d+\.\d+)", str(tag))
                    version = match.group(1) if match else None
                if core and not arch:
                    tag_l = str(tag).lower()
                    arch = "32bit" if (tag_l.endswith("-32") or wow32) else (
                        "ARM64" if tag_l.endswith("-arm64") else "64bit")
                display = _reg_str(values.get("DisplayName")) or (f"Python {tag}" if core else None)
                out.append(RegisteredPython(
                    key=f"{base}\\{company}\\{tag}", company=str(company), tag=str(tag), install_path=install_path,
                    executable=executable, version=version, architecture=arch, display_name=display))
    return out


def read_pep514_registry(winreg_module: Any = None) -> Dict[str, Any]:
    """Windows' PEP 514 keys, read live with ``winreg``, as the tree :func:`parse_pep514` takes.

    Reads ``HKCU\\Software\\Python`` and ``HKLM\\Software\\Python`` in the 64-bit and the 32-bit
    (``Wow6432Node``) registry views; every key is opened read-only and closed again. Only Windows has this
    registry: elsewhere ``import winreg`` fails and the tree is empty. The real registry cannot be had on
    Linux, so the tests pass a stand-in module (``winreg_module``) with winreg's functions and constants
    (OpenKey, EnumKey, EnumValue, CloseKey, HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, KEY_READ,
    KEY_WOW64_64KEY, KEY_WOW64_32KEY).
    """
    if winreg_module is None:
        try:
            import winreg as winreg_module  # type: ignore[import-not-found,no-redef]
        except ImportError:
            return {}
    w = winreg_module
    read = getattr(w, "KEY_READ", 0x20019)
    views = (("HKCU", w.HKEY_CURRENT_USER, 0),
             ("HKLM", w.HKEY_LOCAL_MACHINE, getattr(w, "KEY_WOW64_64KEY", 0x0100)),
             ("HKLM\\Wow6432Node", w.HKEY_LOCAL_MACHINE, getattr(w, "KEY_WOW64_32KEY", 0x0200)))

    def subkeys(key: Any) -> List[str]:
        names: List[str] = []
        for i in range(512):
            try:
                names.append(w.EnumKey(key, i))
            except OSError:
                break
        return names

    def values(key: Any) -> Dict[str, Any]:
        found: Dict[str, Any] = {}
        for i in range(256):
            try:
                name, data, _type = w.EnumValue(key, i)
            except OSError:
                break
            if isinstance(data, str):
                found[name or ""] = data
        return found

    def opened(parent: Any, path: str, flag: int) -> Any:
        try:
            return w.OpenKey(parent, path, 0, read | flag)
        except OSError:
            return None

    tree: Dict[str, Any] = {}
    seen: Dict[Tuple[str, str], Any] = {}
    for label, root, flag in views:
        top = opened(root, "Software\\Python", flag)
        if top is None:
            continue
        try:
            for company in subkeys(top):
                ckey = opened(top, company, flag)
                if ckey is None:
                    continue
                try:
                    for tag in subkeys(ckey):
                        tkey = opened(ckey, tag, flag)
                        if tkey is None:
                            continue
                        try:
                            entry = values(tkey)
                            ikey = opened(tkey, "InstallPath", flag)
                            if ikey is not None:
                                try:
                                    entry["InstallPath"] = values(ikey)
                                finally:
                                    w.CloseKey(ikey)
                        finally:
                            w.CloseKey(tkey)
                        if label != "HKCU":
                            # On 32-bit Windows both HKLM views are one: list each key once.
                            if seen.get((company, tag)) == entry:
                                continue
                            seen[(company, tag)] = entry
                        tree.setdefault(label, {}).setdefault(company, {})[tag] = entry
                finally:
                    w.CloseKey(ckey)
        finally:
            w.CloseKey(top)
    return tree


def registry_pythons(system: System, notes: Optional[List[str]] = None) -> List[RegisteredPython]:
    """The PEP 514 Pythons of ``system``: a modelled machine's stated registry, a live Windows machine's own."""
    tree = getattr(system, "registry", None)
    if tree is None:
        if not (system.live and system.platform == "windows"):
            return []
        try:
            tree = read_pep514_registry()
        except Exception as exc:  # an unreadable registry is a note, never a failed discovery
            if notes is not None:
                notes.append(f"could not read the PEP 514 registry: {type(exc).__name__}: {exc}")
            return []
    return parse_pep514(tree)


# ------------------------------------------------------------------------------------------------ discover
_POSIX_PYTHON_DIRS = ("/usr/bin", "/usr/local/bin", "/opt/homebrew/bin")
_VERSIONED = re.compile(r"^python3\.\d+$")


def _standard_pythons(system: System) -> List[Tuple[str, str, str]]:
    """Pythons installed in the standard places, whether or not they are on PATH (python3.X in /usr/bin,
    /usr/local/bin, Homebrew; python.org framework builds; on Windows C:\\PythonXY, Program Files and
    %LOCALAPPDATA%\\Programs\\Python)."""
    pm = system.pathmod
    found: List[Tuple[str, str, str]] = []
    if system.platform == "windows":
        roots = ["C:\\"]
        for var in ("ProgramFiles", "ProgramFiles(x86)"):
            if system.getenv(var):
                roots.append(system.getenv(var))
        local = system.getenv("LOCALAPPDATA")
        if local:
            roots.append(pm.join(local, "Programs", "Python"))
        for root in roots:
            for name in site_listing(system, root):
                if re.fullmatch(r"(?i)python3\d+(-32|-arm64)?", name):
                    exe = pm.join(root, name, "python.exe")
                    if system.is_file(exe):
                        found.append((pm.join(root, name), f"standard install folder {root}", exe))
        return found
    for folder in _POSIX_PYTHON_DIRS:
        for name in site_listing(system, folder):
            if _VERSIONED.match(name):
                exe = pm.join(folder, name)
                found.append((prefix_of_python(system, exe), f"standard install folder {folder} ({exe})", exe))
    framework = "/Library/Frameworks/Python.framework/Versions"
    for version in site_listing(system, framework):
        exe = pm.join(framework, version, "bin", "python3")
        if system.is_file(exe):
            found.append((pm.join(framework, version), f"python.org framework build ({framework})", exe))
    return found


def discover(system: Optional[System] = None, interpreter: Optional[Interpreter] = None, *,
             notebook_dir: Optional[str] = None, extra_prefixes: Sequence[str] = ()) -> Discovery:
    """Every kernelspec and Python environment on the machine, without starting an interpreter."""
    system = system or System.current()
    pm = system.pathmod
    notes: List[str] = []
    current_key = env_key(system, interpreter.prefix) if interpreter and interpreter.prefix else None
    candidates: List[Tuple[str, str, Dict[str, Any]]] = []   # (prefix, found_by, overrides)

    if interpreter is not None and interpreter.prefix:
        candidates.append((interpreter.prefix, "this kernel's interpreter",
                           {"python": interpreter.executable, "kind": interpreter.environment_kind,
                            "version": interpreter.version or None}))
        if interpreter.base_prefix and interpreter.base_prefix != interpreter.prefix:
            candidates.append((interpreter.base_prefix, "base of this kernel's interpreter", {}))
    specs = _read_kernelspecs(system, interpreter, notes)
    conda = _conda_prefixes(system, notes)
    conda_names = {name: prefix for prefix, _, name in conda if name}
    # nb_conda_kernels offers conda-env-<name>-py for every conda env with ipykernel, with no kernel.json.
    for spec in list(specs):
        if spec.prefix:
            candidates.append((spec.prefix, f"kernelspec {spec.name} ({spec.path})", {"python": spec.python}))
        else:
            _, _, env_name = _argv_python(system, spec.argv)
            if env_name and env_name in conda_names:
                i = specs.index(spec)
                specs[i] = _with_prefix(system, spec, conda_names[env_name])
    for prefix, how, name in conda:
        candidates.append((prefix, how, {"name": name} if name and name != "base" else {}))
    for prefix, how in _pyenv_prefixes(system):
        candidates.append((prefix, how, {}))
    for folder, tool, depth in _central_venv_dirs(system):
        for prefix in _walk_venvs(system, folder, depth):
            candidates.append((prefix, f"{tool}: {folder}", {}))
    if notebook_dir:
        home = _home(system)
        for folder in _ancestors(system, notebook_dir, pm.dirname(home) if home else None):
            for prefix in _venvs_in(system, folder):
                candidates.append((prefix, f"beside the notebook: {folder}", {}))
            pixi = pm.join(folder, ".pixi", "envs")
            for name in site_listing(system, pixi):
                candidates.append((pm.join(pixi, name), f"pixi: {pixi}", {}))
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        value = system.getenv(var)
        if value:
            candidates.append((value, f"${var}", {}))
    for reg in registry_pythons(system, notes):
        prefix = reg.prefix(system)
        if not prefix:
            notes.append(f"PEP 514 registry key {reg.key} states no InstallPath or ExecutablePath")
            continue
        overrides: Dict[str, Any] = {"python": reg.executable if reg.executable and system.is_file(reg.executable)
                                     else None}
        if reg.display_name:
            overrides["name"] = reg.display_name
        if reg.version:
            overrides["fallback_version"] = (reg.version, f"{reg.key} (SysVersion)")
        if reg.architecture:
            overrides["architecture"] = reg.architecture
        candidates.append((prefix, reg.found_by, overrides))
    for name in ("python3", "python"):
        found = _which(system, name)
        if found:
            candidates.append((prefix_of_python(system, found), f"{name} first on PATH ({found})",
                               {"python": found}))
    for prefix, how, python in _standard_pythons(system):
        candidates.append((prefix, how, {"python": python}))
    for prefix in extra_prefixes:
        candidates.append((prefix, "given", {}))

    envs: Dict[str, Environment] = {}
    order: List[str] = []
    for prefix, how, overrides in candidates:
        if not prefix:
            continue
        key = env_key(system, prefix)
        if key in envs:
            old = envs[key]
            if how not in old.found_by:
                envs[key] = _replace(old, found_by=old.found_by + (how,))
            if overrides.get("architecture") and not old.architecture:
                envs[key] = _replace(envs[key], architecture=overrides["architecture"])
            continue
        env = read_environment(system, prefix, how, current_key=current_key, **overrides)
        if env is None:
            if how.startswith(PEP514):
                notes.append(f"{how} names {prefix}, which is not on disk (left behind by an uninstall?)")
            continue
        envs[key] = env
        order.append(key)
    # kernelspecs → environments
    for spec in specs:
        if spec.prefix and spec.hidden_by is None:
            key = env_key(system, spec.prefix)
            if key in envs:
                env = envs[key]
                envs[key] = _replace(env, kernelspecs=env.kernelspecs + (spec.name,))
    # user site-packages of every Python version: shared by all environments of that version
    for site, ver, base in _user_sites(system):
        key = env_key(system, site)
        if key in envs:
            continue
        count = sum(1 for n in site_listing(system, site) if n.endswith((".dist-info", ".egg-info")))
        envs[key] = Environment(
            prefix=site, key=key, kind="user-site", name=f"user site-packages of Python {ver}", python=None,
            version=ver, version_source=site, site_packages=(site,), found_by=(f"user base {base}",),
            distributions=count,
            current=bool(interpreter and interpreter.user_site
                         and env_key(system, interpreter.user_site) == key))
        order.append(key)
    environments = tuple(envs[k] for k in order)
    current = envs.get(current_key) if current_key else None
    return Discovery(kernelspecs=tuple(specs), environments=environments, current=current, notes=tuple(notes))


def _replace(record: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(record, **changes)


def _with_prefix(system: System, spec: Kernelspec, prefix: str) -> Kernelspec:
    return _replace(spec, prefix=prefix, python=python_of_prefix(system, prefix))


def nb_conda_kernel_env(name: str) -> Optional[str]:
    """The conda env an nb_conda_kernels kernel name refers to ('conda-env-foo-py' → 'foo', root → 'base')."""
    match = _NB_CONDA.match(name)
    if not match:
        return None
    return match.group("env") or "base"


# ------------------------------------------------------------------------------------------------ locate
def _finds(names: Tuple[str, ...], top: str) -> Optional[str]:
    """The entry in a folder listing that ``import top`` would load (package, module or extension)."""
    if top in names:
        return top
    for name in names:
        if name.startswith(top + ".") and name.endswith((".py", ".pyc", ".so", ".pyd")) \
                and name.count(".") >= 1:
            stem = name[len(top):]
            if stem in (".py", ".pyc", ".so", ".pyd") or re.fullmatch(r"\.[\w.-]+\.(so|pyd)", stem):
                return name
    return None


def locate(discovery: Discovery, import_name: str, system: Optional[System] = None, *,
           include_current: bool = False) -> List[Location]:
    """Every environment where ``import_name`` is installed, read from site-packages listings."""
    system = system or System.current()
    top = import_name.split(".")[0]
    out: List[Location] = []
    for env in discovery.environments:
        if env.current and not include_current:
            continue
        for site in env.site_packages:
            names = site_listing(system, site)
            hit = _finds(names, top)
            if hit is None:
                continue
            path = system.join(site, hit)
            dist_name = version = dist_path = installer = record = None
            index = DistributionIndex([site], system)
            providers = index.providing(top)
            if not providers:
                providers = index.by_name(top)
            if providers:
                dist = providers[0]
                dist_name, version, dist_path = dist.name, dist.version, dist.path
                installer = dist.installer
            if env.conda and env.kind != "user-site":
                records = conda_records(system, env.prefix)
                record = records.get(normalize(dist_name or top))
            out.append(Location(environment=env, site=site, path=path, distribution=dist_name, version=version,
                                dist_path=dist_path, installer=installer, conda_record=record))
            break
    return out


def same_python_minor(a: Optional[str], b: Optional[str]) -> Optional[bool]:
    if not a or not b:
        return None
    return a.split(".")[:2] == b.split(".")[:2]


# ------------------------------------------------------------------------------------------------ expected
@dataclass(frozen=True)
class PipCommand:
    """An install command found in the session's input history."""

    cell: str             # "In[3]"
    line: str
    tool: str             # pip, python-pip, conda, mamba, uv, %pip, %conda
    packages: Tuple[str, ...]
    shell: bool           # run through the shell (!...): uses PATH's pip, not necessarily the kernel's


_INSTALL_LINE = re.compile(
    r"^\s*(?P<bang>!|%|%%)?\s*(?P<tool>pip3?(?:\.\d+)?|python[\d.]*\s+-m\s+pip|conda|mamba|micromamba|uv\s+pip)"
    r"\s+install\s+(?P<args>.*)$")


def parse_pip_history(history: Sequence[Any]) -> List[PipCommand]:
    """``!pip install ...`` and friends in input cells (each cell a string, or (label, source))."""
    out: List[PipCommand] = []
    for i, cell in enumerate(history or ()):
        if isinstance(cell, (tuple, list)) and len(cell) == 2:
            label, source = str(cell[0]), str(cell[1])
        else:
            label, source = f"In[{i + 1}]", str(cell)
        for line in source.splitlines():
            # IPython's history holds the transformed source: get_ipython().system('pip install x')
            m = re.match(r"^\s*get_ipython\(\)\.(system|run_line_magic)\((['\"])(.*?)\2(?:,\s*(['\"])(.*)\4)?\)",
                         line)
            if m:
                line = ("!" + m.group(3)) if m.group(1) == "system" else f"%{m.group(3)} {m.group(5) or ''}"
            match = _INSTALL_LINE.match(line)
            if not match or not match.group("bang"):
                continue
            tool = re.sub(r"\s+", " ", match.group("tool"))
            if tool.startswith("python"):
                tool = "python -m pip"
            packages = tuple(a for a in match.group("args").split()
                             if not a.startswith("-") and re.match(r"^[A-Za-z0-9]", a))
            out.append(PipCommand(cell=label, line=line.strip(), tool=tool, packages=packages,
                                  shell=match.group("bang") == "!"))
    return out


@dataclass(frozen=True)
class NotebookExpectation:
    """Everything this module learned about the environment the notebook expects (the rules' view)."""

    notebook: Optional[str] = None
    notebook_readable: bool = False
    notebook_kernelspec: Optional[str] = None
    notebook_display_name: Optional[str] = None
    notebook_language_version: Optional[str] = None
    kernelspec: Optional[Kernelspec] = None          # the kernelspec the notebook names, as found on disk
    kernelspec_runs_this: Optional[bool] = None
    expected_python: Optional[str] = None
    expected_prefix: Optional[str] = None
    variables: Tuple[Tuple[str, str, bool], ...] = ()   # (VAR, value, matches this kernel)
    python_on_path: Optional[str] = None
    python_on_path_prefix: Optional[str] = None
    pip_on_path: Optional[str] = None
    pip_on_path_prefix: Optional[str] = None
    requirement_files: Tuple[str, ...] = ()
    declared: Tuple[Tuple[str, str], ...] = ()        # (file, line) declaring the name asked about
    installs: Tuple[PipCommand, ...] = ()
    foreign_installs: Tuple[Tuple[PipCommand, str], ...] = ()  # (command, prefix it installed into)
    evidence: Tuple[Evidence, ...] = ()
    notes: Tuple[str, ...] = ()

    def to_expected(self, interpreter: Optional[Interpreter]) -> ExpectedEnvironment:
        return ExpectedEnvironment(description=self.describe(interpreter), interpreter=self.expected_python,
                                   kernelspec=self.notebook_kernelspec, evidence=self.evidence)

    def describe(self, interpreter: Optional[Interpreter]) -> str:
        parts = []
        if self.notebook and not self.notebook_readable:
            parts.append(f"The notebook file is {NOT_VISIBLE}.")
        elif not self.notebook:
            parts.append(f"The notebook file is {NOT_VISIBLE} (no JPY_SESSION_NAME, __session__ or "
                         f"__vsc_ipynb_file__).")
        if self.notebook_kernelspec:
            shown = self.notebook_display_name or self.notebook_kernelspec
            if self.kernelspec is None:
                parts.append(f"It asks for the kernel '{self.notebook_kernelspec}' ({shown}), which is not "
                             f"installed where this kernel can see Jupyter's kernel folders.")
            elif self.kernelspec_runs_this:
                parts.append(f"It asks for the kernel '{self.notebook_kernelspec}' ({shown}), which runs this "
                             f"kernel's interpreter.")
            elif self.kernelspec_runs_this is False:
                parts.append(f"It asks for the kernel '{self.notebook_kernelspec}' ({shown}), whose kernel.json "
                             f"runs {self.kernelspec.argv[0] if self.kernelspec.argv else '?'}, not this "
                             f"kernel's interpreter.")
        for var, value, same in self.variables:
            if not same:
                parts.append(f"${var} points at {value}, another environment than this kernel's.")
        if self.pip_on_path and self.pip_on_path_prefix is not None and any(
                c.shell and c.tool in ("pip", "pip3") for c in self.installs):
            parts.append(f"'!pip' runs {self.pip_on_path}.")
        for cmd, prefix in self.foreign_installs:
            parts.append(f"{cmd.cell} ran '{cmd.line}', which installed into {prefix}, not into this kernel.")
        if not parts:
            return "Nothing suggests an environment other than this kernel's."
        return " ".join(parts)


def _notebook_path(system: System, user_ns: Optional[Mapping[str, Any]], cwd: Optional[str]
                   ) -> Tuple[Optional[str], str, List[str]]:
    """(notebook path, where it came from, other candidate paths tried)."""
    pm = system.pathmod
    ns = user_ns or {}
    vsc = ns.get("__vsc_ipynb_file__")
    if isinstance(vsc, str) and vsc:
        return vsc, "__vsc_ipynb_file__", []
    session = ns.get("__session__")
    source = "__session__"
    if not (isinstance(session, str) and session):
        session = system.getenv("JPY_SESSION_NAME")
        source = "JPY_SESSION_NAME"
    if not session:
        return None, "", []
    if pm.isabs(session):
        return session, source, []
    # jupyter_server passes the path relative to its root; the kernel starts in the notebook's folder.
    tried = []
    if cwd:
        tried.append(pm.join(cwd, pm.basename(session)))
        tried.append(pm.join(cwd, session))
    for path in tried:
        if system.is_file(path):
            return path, source, tried
    return (tried[0] if tried else session), source, tried


def _read_notebook(system: System, path: str) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    try:
        data = json.loads(system.read_text(path, limit=256 << 20))
    except OSError as exc:
        return None, exc.strerror or type(exc).__name__
    except (ValueError, RecursionError) as exc:
        return None, f"not a notebook ({exc})"
    if not isinstance(data, dict):
        return None, "not a notebook"
    meta = data.get("metadata")
    return (meta if isinstance(meta, dict) else {}), None


_REQUIREMENT_FILES = ("requirements.txt", "requirements-dev.txt", "environment.yml", "environment.yaml",
                      "pyproject.toml", "pixi.toml", "Pipfile", "setup.cfg")


def _declares(system: System, path: str, names: Sequence[str]) -> Optional[str]:
    try:
        text = system.read_text(path, limit=1 << 20)
    except OSError:
        return None
    wanted = {normalize(n) for n in names if n}
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].strip().strip(",").strip()
        stripped = stripped.lstrip("-").strip().strip("'\"")
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", stripped)
        if match and normalize(match.group(1)) in wanted:
            return line.strip()
    return None


def notebook_expectation(system: System, interpreter: Optional[Interpreter], *,
                         user_ns: Optional[Mapping[str, Any]] = None, history: Optional[Sequence[Any]] = None,
                         cwd: Optional[str] = None, names: Sequence[str] = (),
                         discovery: Optional[Discovery] = None) -> NotebookExpectation:
    """What the notebook expects; ``names`` (import and distribution names) are looked up in requirement files."""
    pm = system.pathmod
    ev: List[Evidence] = []
    notes: List[str] = []
    this_key = env_key(system, interpreter.prefix) if interpreter and interpreter.prefix else None
    fields: Dict[str, Any] = {}

    path, source, _ = _notebook_path(system, user_ns, cwd)
    meta: Optional[Dict[str, Any]] = None
    if path:
        fields["notebook"] = path
        meta, problem = _read_notebook(system, path)
        if meta is None:
            ev.append(Evidence("notebook", f"{path}: {NOT_VISIBLE} ({problem})", source))
        else:
            fields["notebook_readable"] = True
            ev.append(Evidence("notebook", path, source))
    else:
        ev.append(Evidence("notebook", NOT_VISIBLE, "JPY_SESSION_NAME, __session__, __vsc_ipynb_file__ unset"))
    if meta:
        ks = meta.get("kernelspec") if isinstance(meta.get("kernelspec"), dict) else {}
        li = meta.get("language_info") if isinstance(meta.get("language_info"), dict) else {}
        if ks.get("name"):
            fields["notebook_kernelspec"] = str(ks["name"])
            ev.append(Evidence("notebook kernelspec", str(ks["name"]), f"{path}: metadata.kernelspec.name"))
        if ks.get("display_name"):
            fields["notebook_display_name"] = str(ks["display_name"])
            ev.append(Evidence("notebook kernelspec display name", str(ks["display_name"]),
                               f"{path}: metadata.kernelspec.display_name"))
        if li.get("version"):
            fields["notebook_language_version"] = str(li["version"])
            ev.append(Evidence("notebook language version", str(li["version"]),
                               f"{path}: metadata.language_info.version"))

    name = fields.get("notebook_kernelspec")
    if name:
        if discovery is None:
            discovery = discover(system, interpreter, notebook_dir=pm.dirname(path) if path else cwd)
        spec = discovery.kernelspec(name)
        if spec is None:
            env_name = nb_conda_kernel_env(name)
            if env_name is not None:
                for env in discovery.environments:
                    if env.conda and (env.name == env_name or (env_name == "base" and "base" in env.found_by)
                                      or pm.basename(env.prefix) == env_name):
                        spec = Kernelspec(name=name, display_name=fields.get("notebook_display_name") or name,
                                          argv=((env.python or ""), "-m", "ipykernel_launcher", "-f",
                                                "{connection_file}"),
                                          language="python", path="", source="nb_conda_kernels (no kernel.json)",
                                          python=env.python, prefix=env.prefix)
                        break
                if spec is None:
                    notes.append(f"'{name}' is an nb_conda_kernels name, but no conda environment "
                                 f"'{env_name}' was found")
        if spec is not None:
            fields["kernelspec"] = spec
            ev.append(Evidence("kernelspec argv[0]", spec.argv[0] if spec.argv else "",
                               spec.path or spec.source))
            if spec.prefix:
                runs_this = this_key is not None and env_key(system, spec.prefix) == this_key
                fields["kernelspec_runs_this"] = runs_this
                fields["expected_python"] = spec.python
                fields["expected_prefix"] = spec.prefix
                ev.append(Evidence("kernelspec runs this interpreter", "yes" if runs_this else
                                   f"no: it runs the environment {spec.prefix}", spec.path or spec.source))
        else:
            ev.append(Evidence("notebook kernelspec on disk", f"no kernelspec named {name}",
                               ", ".join(f for f, _ in kernelspec_dirs(system, interpreter))))

    variables = []
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV"):
        value = system.getenv(var)
        if not value:
            continue
        if var == "CONDA_DEFAULT_ENV" and not pm.isabs(value):
            prefix_value = system.getenv("CONDA_PREFIX")
            same = prefix_value is not None and this_key is not None and env_key(system, prefix_value) == this_key
        else:
            same = this_key is not None and env_key(system, value) == this_key
        variables.append((var, value, same))
        ev.append(Evidence(var, value + ("" if same else " (not this kernel's environment)"),
                           "environment variable"))
    fields["variables"] = tuple(variables)

    for tool, key in (("python", "python_on_path"), ("pip", "pip_on_path")):
        found = _which(system, tool) or _which(system, tool + "3")
        if not found:
            continue
        prefix = _pyenv_shim_prefix(system, found, cwd)
        if prefix is None:
            prefix = _script_prefix(system, found) if tool == "pip" else prefix_of_python(system, found)
        fields[key] = found
        fields[key + "_prefix"] = prefix
        same = prefix is not None and this_key is not None and env_key(system, prefix) == this_key
        ev.append(Evidence(f"{tool} first on PATH", found + ("" if same else
                           f" (belongs to {prefix or 'an unknown interpreter'}, not this kernel)"), "PATH"))

    folders = []
    if path:
        folders.append(pm.dirname(path))
    if cwd and cwd not in folders:
        folders.append(cwd)
    req_files, declared = [], []
    for folder in folders:
        for fname in _REQUIREMENT_FILES:
            fpath = pm.join(folder, fname)
            if system.is_file(fpath):
                req_files.append(fpath)
                line = _declares(system, fpath, names) if names else None
                if line:
                    declared.append((fpath, line))
                    ev.append(Evidence("declared in", line, fpath))
    if req_files:
        ev.append(Evidence("requirement files", ", ".join(req_files), "beside the notebook"))
    fields["requirement_files"] = tuple(req_files)
    fields["declared"] = tuple(declared)

    installs = parse_pip_history(history or ())
    fields["installs"] = tuple(installs)
    foreign = []
    for cmd in installs:
        if not cmd.shell:
            continue
        if cmd.tool in ("pip", "pip3") or cmd.tool.startswith("pip"):
            prefix = fields.get("pip_on_path_prefix")
        elif cmd.tool == "python -m pip":
            prefix = fields.get("python_on_path_prefix")
        elif cmd.tool in ("conda", "mamba", "micromamba"):
            prefix = system.getenv("CONDA_PREFIX")
        else:
            prefix = None
        if prefix and this_key is not None and env_key(system, prefix) != this_key:
            foreign.append((cmd, prefix))
            ev.append(Evidence("install in history ran another environment's installer",
                               f"{cmd.line} → {prefix}", cmd.cell))
        elif names and any(normalize(p.split("=")[0].split("<")[0].split(">")[0]) in
                           {normalize(n) for n in names} for p in cmd.packages):
            ev.append(Evidence("install in history", cmd.line, cmd.cell))
    fields["foreign_installs"] = tuple(foreign)
    return NotebookExpectation(evidence=tuple(ev), notes=tuple(notes), **fields)


def _pyenv_shim_prefix(system: System, path: str, cwd: Optional[str]) -> Optional[str]:
    """The Python a pyenv shim runs: PYENV_VERSION, else .python-version up from cwd, else the global."""
    pm = system.pathmod
    folder = pm.dirname(path)
    if pm.basename(folder) != "shims" or not system.is_dir(pm.join(pm.dirname(folder), "versions")):
        return None
    root = pm.dirname(folder)
    version = (system.getenv("PYENV_VERSION") or "").split(":")[0].strip()
    files = [pm.join(d, ".python-version") for d in (_ancestors(system, cwd, None, depth=32) if cwd else [])]
    files.append(pm.join(root, "version"))
    for candidate in files:
        if version:
            break
        try:
            version = system.read_text(candidate, limit=4096).split()[0].strip()
        except (OSError, IndexError):
            continue
    if not version or version == "system":
        return None
    prefix = pm.join(root, "versions", version)
    return prefix if system.is_dir(prefix) else None


def _script_prefix(system: System, script: str) -> Optional[str]:
    """The environment a console script (pip) belongs to: its shebang's interpreter, else its folder."""
    if system.platform != "windows":
        try:
            head = system.read_text(script, limit=512)
        except OSError:
            head = ""
        if head.startswith("#!"):
            first = head[2:].splitlines()[0].strip()
            # pip's launcher for long paths: '#!/bin/sh' + "'''exec' /path/python ..."
            match = re.search(r"exec'?\s+['\"]?(/[^'\" ]+)", head)
            exe = first.split()[0] if first and not first.startswith("/bin/sh") else (match.group(1) if match else "")
            if exe.endswith("/env") and len(first.split()) > 1:
                exe = _which(system, first.split()[1]) or ""
            if exe:
                return prefix_of_python(system, exe)
    return prefix_of_python(system, script)


def expected_environment(system: Optional[System], interpreter: Optional[Interpreter], *,
                         user_ns: Optional[Mapping[str, Any]] = None, history: Optional[Sequence[Any]] = None,
                         cwd: Optional[str] = None, names: Sequence[str] = ()) -> ExpectedEnvironment:
    """The environment the notebook expects, as the report shows it. Never raises."""
    try:
        system = system or System.current()
        if cwd is None and system.live:
            cwd = os.getcwd()
        exp = notebook_expectation(system, interpreter, user_ns=user_ns, history=history, cwd=cwd, names=names)
        return exp.to_expected(interpreter)
    except Exception as exc:  # a fact we cannot read is a sentence in the report, never a crash
        if os.environ.get("DLLMAGIC_STRICT") == "1":
            raise
        return ExpectedEnvironment(description=f"The notebook's environment is {NOT_VISIBLE} "
                                               f"({type(exc).__name__}: {exc}).")
