"""The records discovery returns: kernelspecs, environments, where a name was found, the whole scan."""
from __future__ import annotations

from typing import List, Optional, Tuple

from ..._record import Record

#: Evidence fact names this package produces (the rules and the report read them by name).
NOT_VISIBLE = "not visible from this kernel"


class Kernelspec(Record):
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
    untrusted: Optional[str] = None  # why its kernel.json is evidence only (another user's file ...)


class Environment(Record):
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
    # Certainly without ipykernel: a venv that sees no folder but its own site-packages (no system site
    # packages, no .pth file adding folders) and has none there. False where unknown.
    lacks_ipykernel: bool = False
    externally_managed: bool = False          # PEP 668 EXTERNALLY-MANAGED marker next to its stdlib
    distributions: int = 0                    # *.dist-info / *.egg-info folders in its site-packages
    current: bool = False                     # the kernel's own environment
    architecture: Optional[str] = None        # as the PEP 514 registry states it (SysArchitecture: 64bit ...)
    untrusted: Optional[str] = None           # why it is evidence only: another user's files, world-writable

    @property
    def trusted(self) -> bool:
        """Its names may become runnable installs and its interpreter may appear in a cell or an argv."""
        return self.untrusted is None

    @property
    def minor(self) -> Optional[str]:
        if not self.version:
            return None
        return ".".join(self.version.split(".")[:2])


class Location(Record):
    """Where an import name was found in an environment: the file or folder, and its distribution."""

    environment: Environment
    site: str
    path: str
    distribution: Optional[str] = None
    version: Optional[str] = None
    dist_path: Optional[str] = None
    installer: Optional[str] = None
    conda_record: Optional[str] = None        # conda-meta/<name>-<ver>-<build>.json naming it


class Discovery(Record):
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
