"""Every kernelspec and environment on the machine (:func:`discover`), and where an import name is installed
(:func:`locate`)."""
from __future__ import annotations

import os
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ...model import Interpreter
from ..distributions import DistributionIndex, normalize
from ..system import System
from .conda import conda_records
from .kernelspecs import _argv_python, _read_kernelspecs
from .paths import _which, env_key, prefix_of_python, python_of_prefix, site_listing
from .pep514 import PEP514, registry_pythons
from .reading import read_environment
from .records import Discovery, Environment, Kernelspec, Location
from .trust import ownership_problem, walk_up
from .sources import (_central_venv_dirs, _conda_prefixes, _pyenv_prefixes, _user_sites, _venvs_in,
                      _walk_venvs)

_NB_CONDA = re.compile(r"^conda-(?:env-(?P<env>.+?)|root|base)-(?P<lang>py|python|r|ir)$")



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


def _guard(notes: List[str], what: str, read: Callable[[], Any], default: Any) -> Any:
    """``read()``, or ``default`` and a note when it fails: one damaged source never hides the others (the
    test suite's DLLMAGIC_STRICT=1 makes it loud)."""
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - a fact we cannot read is a note, never a failed diagnosis
        if os.environ.get("DLLMAGIC_STRICT") == "1":
            raise
        notes.append(f"could not read {what}: {type(exc).__name__}: {exc}")
        return default


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
    specs = _guard(notes, "Jupyter's kernel folders", lambda: _read_kernelspecs(system, interpreter, notes), [])
    conda = _guard(notes, "conda's environments", lambda: _conda_prefixes(system, notes), [])
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
    for prefix, how in _guard(notes, "pyenv and uv Pythons", lambda: _pyenv_prefixes(system), []):
        candidates.append((prefix, how, {}))
    for folder, tool, depth in _guard(notes, "central venv folders", lambda: _central_venv_dirs(system), []):
        for prefix in _guard(notes, folder, lambda: _walk_venvs(system, folder, depth), []):
            candidates.append((prefix, f"{tool}: {folder}", {}))
    if notebook_dir:
        for folder in _guard(notes, "the folders above the notebook", lambda: walk_up(system, notebook_dir), []):
            for prefix in _guard(notes, folder, lambda: _venvs_in(system, folder), []):
                candidates.append((prefix, f"beside the notebook: {folder}", {}))
            pixi = pm.join(folder, ".pixi", "envs")
            for name in site_listing(system, pixi):
                candidates.append((pm.join(pixi, name), f"pixi: {pixi}", {}))
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        value = system.getenv(var)
        if value:
            candidates.append((value, f"${var}", {}))
    for reg in _guard(notes, "the PEP 514 registry", lambda: registry_pythons(system, notes), []):
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
    for prefix, how, python in _guard(notes, "standard install folders", lambda: _standard_pythons(system), []):
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
        env = _guard(notes, prefix, lambda: read_environment(system, prefix, how, current_key=current_key,
                                                             **overrides), None)
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
    for site, ver, base in _guard(notes, "user site-packages", lambda: _user_sites(system), []):
        key = env_key(system, site)
        if key in envs:
            continue
        count = sum(1 for n in site_listing(system, site) if n.endswith((".dist-info", ".egg-info")))
        current = bool(interpreter and interpreter.user_site and env_key(system, interpreter.user_site) == key)
        envs[key] = Environment(
            prefix=site, key=key, kind="user-site", name=f"user site-packages of Python {ver}", python=None,
            version=ver, version_source=site, site_packages=(site,), found_by=(f"user base {base}",),
            distributions=count, current=current,
            untrusted=None if current else ownership_problem(system, [site]))
        order.append(key)
    environments = tuple(envs[k] for k in order)
    current = envs.get(current_key) if current_key else None
    return Discovery(kernelspecs=tuple(specs), environments=environments, current=current, notes=tuple(notes))


def _replace(record: Any, **changes: Any) -> Any:
    return record.replace(**changes)


def _with_prefix(system: System, spec: Kernelspec, prefix: str) -> Kernelspec:
    return _replace(spec, prefix=prefix, python=python_of_prefix(system, prefix))


def nb_conda_kernel_env(name: str) -> Optional[str]:
    """The conda env an nb_conda_kernels kernel name refers to ('conda-env-foo-py' → 'foo', root → 'base')."""
    match = _NB_CONDA.match(name)
    if not match:
        return None
    return match.group("env") or "base"


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
