"""Builders for the environment tests: a machine with several real Python environments.

``machine`` holds, under one temporary folder with its own HOME:

* ``a``  — ``python -m venv --without-pip``: the kernel's environment in most tests; has nothing extra.
* ``b``  — ``python -m venv --without-pip`` + pip and tabulate (installed with uv): the other environment.
* ``u``  — ``uv venv`` + six: a uv environment without pip.
* ``condaenv`` — a conda-shaped prefix: ``bin/python``, ``lib/python3.X/site-packages`` with pyjokes
  (INSTALLER conda) and six (INSTALLER pip, "pip over conda"), and ``conda-meta/*.json`` records written
  here (no conda channel is reachable from the test machines), listed in ``~/.conda/environments.txt``.
* a user site-packages of Python 3.8 (``~/.local/lib/python3.8/site-packages``) holding pyjokes, built from
  files (a fresh CI machine may have only one Python).

Tests build kernelspecs, notebooks and a :class:`System` over this machine with :func:`machine_system`.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Sequence



CACHE = Path(os.environ.get("DLLMAGIC_TEST_CACHE", Path.home() / ".cache" / "dllmagic-tests"))
MINOR = f"{sys.version_info[0]}.{sys.version_info[1]}"
FOREIGN_MINOR = "3.8" if MINOR != "3.8" else "3.9"


def _run(cmd: Sequence[str], **kwargs: Any) -> None:
    env = dict(os.environ, UV_CACHE_DIR=str(CACHE / "uv"), PIP_CACHE_DIR=str(CACHE / "pip"))
    subprocess.run([str(c) for c in cmd], check=True, stdin=subprocess.DEVNULL, env=env,
                   capture_output=True, **kwargs)


def _uv() -> Optional[str]:
    # on PATH, or beside the interpreter running the tests (a venv used without activating it)
    return shutil.which("uv") or shutil.which("uv", path=os.path.dirname(sys.executable))


def install(python: Path, *reqs: str) -> None:
    uv = _uv()
    if uv:
        _run([uv, "pip", "install", "--quiet", "--python", python, *reqs])
    else:
        _run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", *reqs])


def install_target(target: Path, *reqs: str) -> None:
    uv = _uv()
    if uv:
        _run([uv, "pip", "install", "--quiet", "--python", sys.executable, "--target", target, *reqs])
    else:
        _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target, *reqs])


def site_of(prefix: Path) -> Path:
    return prefix / "lib" / f"python{MINOR}" / "site-packages"


@dataclass
class Machine:
    root: Path
    home: Path
    a: Path
    b: Path
    u: Path
    condaenv: Path
    foreign_site: Path
    notebooks: Path     # the notebooks' folder: envs/notebooks, so env-a, env-b, env-u sit above it

    def python(self, prefix: Path) -> Path:
        return prefix / "bin" / "python"


def build_machine(root: Path) -> Machine:
    if os.name == "nt":  # pragma: no cover - the environments here are POSIX-shaped; Windows is modelled
        raise RuntimeError("POSIX venv layout")
    home = root / "home"
    home.mkdir()
    envs = root / "envs"
    envs.mkdir()
    a, b, u, condaenv = envs / "env-a", envs / "env-b", envs / "env-u", envs / "condaenv"
    _run([sys.executable, "-m", "venv", "--without-pip", a])
    _run([sys.executable, "-m", "venv", "--without-pip", b])
    install(b / "bin" / "python", "pip", "tabulate")
    uv = _uv()
    if uv:
        _run([uv, "venv", "--quiet", "--python", sys.executable, u])
    else:  # a uv venv is recognised by its pyvenv.cfg; without uv, write what uv writes
        _run([sys.executable, "-m", "venv", "--without-pip", u])
        cfg = u / "pyvenv.cfg"
        cfg.write_text(cfg.read_text() + "uv = 0.4.0\n")
    install(u / "bin" / "python", "six")

    # conda-shaped prefix
    (condaenv / "bin").mkdir(parents=True)
    (condaenv / "bin" / "python").symlink_to(os.path.realpath(sys.executable))
    site = site_of(condaenv)
    site.mkdir(parents=True)
    install_target(site, "pyjokes", "six")
    for dist in site.glob("pyjokes-*.dist-info"):
        (dist / "INSTALLER").write_text("conda\n")
    for dist in site.glob("six-*.dist-info"):
        (dist / "INSTALLER").write_text("pip\n")
    meta = condaenv / "conda-meta"
    meta.mkdir()
    version = "%d.%d.%d" % sys.version_info[:3]
    for name, ver, build in (("python", version, "h955ad1f_0"), ("pyjokes", "0.8.3", "pyhd8ed1ab_0"),
                             ("six", "1.16.0", "pyh6c4a22f_0")):
        (meta / f"{name}-{ver}-{build}.json").write_text(json.dumps(
            {"name": name, "version": ver, "build": build, "channel": "https://conda.anaconda.org/conda-forge"}))
    (meta / "history").write_text("==> 2024-01-01 00:00:00 <==\n# cmd: conda create -n condaenv python\n")
    (home / ".conda").mkdir()
    (home / ".conda" / "environments.txt").write_text(f"{condaenv}\n")

    # the user site of another Python version
    foreign = home / ".local" / "lib" / f"python{FOREIGN_MINOR}" / "site-packages"
    foreign.mkdir(parents=True)
    install_target(foreign, "pyjokes")
    notebooks = envs / "notebooks"
    notebooks.mkdir()
    return Machine(root=root, home=home, a=a, b=b, u=u, condaenv=condaenv, foreign_site=foreign,
                   notebooks=notebooks)


def machine_environ(machine: Machine, tmp_path: Path, *, path_first: Optional[Path] = None,
                    **extra: str) -> Dict[str, str]:
    data = tmp_path / "jupyter-data"
    data.mkdir(exist_ok=True)
    path = os.pathsep.join(p for p in (str(path_first / "bin") if path_first else "", "/usr/bin", "/bin") if p)
    env = {"HOME": str(machine.home), "PATH": path, "JUPYTER_DATA_DIR": str(data)}
    env.update(extra)
    return env


def machine_system(environ: Dict[str, str]):
    from dllmagic.facts.system import System

    return System.current().replace(environ=environ)


def write_kernelspec(data_dir: Path, name: str, python: Path, display_name: Optional[str] = None) -> Path:
    folder = data_dir / "kernels" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name or name, "language": "python"}))
    return folder / "kernel.json"


def write_notebook(path: Path, kernelspec: str, display_name: str, version: str = MINOR) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "cells": [], "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": kernelspec, "display_name": display_name, "language": "python"},
                     "language_info": {"name": "python", "version": version}}}))
    return path


_PROBES: Dict[str, Any] = {}


def probe(python: Path, home: Path):
    """The interpreter record and sys.path of ``python`` (probed once; HOME decides its user site)."""
    from dllmagic.facts.interpreter import run_probe

    key = f"{python}|{home}"
    if key not in _PROBES:
        env = dict(os.environ, HOME=str(home))
        env.pop("PYTHONPATH", None)
        _PROBES[key] = run_probe(str(python), env=env)
    return _PROBES[key]


def make_context(machine: Machine, python: Path, system, *, module: str = "tabulate",
                 kind: str = "module-not-found", message: Optional[str] = None, cwd: Optional[Path] = None,
                 sys_path: Optional[Sequence[str]] = None, interpreter=None, live_modules=None,
                 user_ns=None, history=None, from_path: Optional[str] = None, name: Optional[str] = None):
    from dllmagic.diagnosis import Context
    from dllmagic.model import Failure

    result = probe(python, machine.home) if interpreter is None else None
    interpreter = interpreter or result.interpreter
    if sys_path is None:
        sys_path = [p for p in result.facts["sys_path"] if p] if result else []
    if message is None:
        message = f"No module named '{module}'" if kind == "module-not-found" else \
            f"cannot import name '{name}' from '{module}' ({from_path})"
    failure = Failure(kind=kind, exc_type="ModuleNotFoundError" if kind == "module-not-found" else "ImportError",
                      message=message, module=module, name=name, from_path=from_path)
    ctx = Context(target=module, failure=failure, system=system, interpreter=interpreter,
                  sys_path=tuple(sys_path), cwd=str(cwd) if cwd else None, live_modules=live_modules)
    if user_ns is not None:
        ctx.cache["user_ns"] = user_ns
    if history is not None:
        ctx.cache["history"] = history
    return ctx


def run_env_rules(ctx):
    """Only this issue's rules (the registry's other rules are the lead's), ranked as run_rules ranks."""
    from dllmagic.diagnosis import environment as rules

    findings = []
    for func in (rules.shadowed_by_local_file, rules.restart_needed, rules.installed_elsewhere,
                 rules.notebook_kernel_mismatch, rules.foreign_user_site_on_path, rules.duplicate_distributions,
                 rules.externally_managed, rules.mixed_installers):
        findings.extend(func(ctx) or ())
    findings.sort(key=lambda f: -f.confidence)
    return findings


# ------------------------------------------------------------------------------------- installer ownership
def pip_install_target(target: Path, *reqs: str) -> None:
    """Install with pip itself (its INSTALLER says pip, its RECORD lists the files); uv when pip is absent,
    with INSTALLER rewritten to what pip writes."""
    import importlib.util

    if importlib.util.find_spec("pip") is not None:
        _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
              "--target", target, *reqs])
        return
    install_target(target, *reqs)  # pragma: no cover - CI machines have pip
    for dist in target.glob("*.dist-info"):
        (dist / "INSTALLER").write_text("pip\n")


def conda_prefix(path: Path, records: Sequence[Dict[str, Any]] = ()) -> Path:
    """A conda-shaped prefix whose interpreter really runs: a venv (so ``sys.prefix`` is this folder) with a
    ``conda-meta`` folder of records written here (no conda channel is reachable from the test machines).
    Each record: name, version, build, optional channel and files (prefix-relative, as conda writes them)."""
    _run([sys.executable, "-m", "venv", "--without-pip", path])
    meta = path / "conda-meta"
    meta.mkdir()
    version = "%d.%d.%d" % sys.version_info[:3]
    for rec in [{"name": "python", "version": version, "build": "h955ad1f_0_cpython"}, *records]:
        data = {"channel": "https://conda.anaconda.org/conda-forge", **rec}
        (meta / f"{rec['name']}-{rec['version']}-{rec['build']}.json").write_text(json.dumps(data))
    (meta / "history").write_text("==> 2024-01-01 00:00:00 <==\n# cmd: conda create -p %s python\n" % path)
    return path

