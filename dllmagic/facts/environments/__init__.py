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

The package's modules follow these questions: ``records`` (the records), ``paths`` (paths and the listing
cache), ``conda`` (conda-meta records, installer conflicts), ``reading`` (one environment), ``kernelspecs``,
``sources`` (where environments live), ``trust`` (walk-up limits, ownership), ``pep514``, ``discovery``
(discover, locate) and ``expected`` (the notebook's expectation and the pip history). Everything goes through a
:class:`~dllmagic.facts.system.System`, so tests describe other machines.
"""
from __future__ import annotations

from .conda import InstallerConflict, conda_record_data, conda_records, installer_conflicts
from .discovery import _finds, discover, locate, nb_conda_kernel_env, same_python_minor
from .expected import (NotebookExpectation, PipCommand, _notebook_path, expected_environment, notebook_expectation,
                       parse_pip_history)
from .kernelspecs import kernelspec_dirs
from .paths import _LISTINGS, _which, env_key, prefix_of_python, python_of_prefix, site_listing
from .pep514 import PEP514, RegisteredPython, parse_pep514, read_pep514_registry, registry_pythons
from .reading import read_environment
from .records import NOT_VISIBLE, Discovery, Environment, Kernelspec, Location
from .trust import ownership_problem, walk_up

# Private names the rules and the benchmark use through this package.
_PRIVATE = (_finds, _notebook_path, _which, _LISTINGS, PEP514)

__all__ = [
    "Kernelspec", "Environment", "Location", "Discovery", "PipCommand", "NotebookExpectation",
    "discover", "locate", "expected_environment", "notebook_expectation", "kernelspec_dirs",
    "prefix_of_python", "python_of_prefix", "read_environment", "site_listing", "conda_records",
    "parse_pip_history", "same_python_minor", "env_key", "nb_conda_kernel_env", "NOT_VISIBLE",
    "RegisteredPython", "parse_pep514", "read_pep514_registry", "registry_pythons",
    "InstallerConflict", "installer_conflicts", "conda_record_data", "walk_up", "ownership_problem",
]
