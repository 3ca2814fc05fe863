"""Windows loader constants and machine facts: LoadLibraryExW flags, KnownDLLs, API sets, the facts of a modelled or live machine."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import FrozenSet, Optional, Tuple



# LoadLibraryExW dwFlags (libloaderapi.h).
LOAD_WITH_ALTERED_SEARCH_PATH = 0x0008
LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR = 0x0100
LOAD_LIBRARY_SEARCH_APPLICATION_DIR = 0x0200
LOAD_LIBRARY_SEARCH_USER_DIRS = 0x0400
LOAD_LIBRARY_SEARCH_SYSTEM32 = 0x0800
LOAD_LIBRARY_SEARCH_DEFAULT_DIRS = 0x1000
_DEFAULT_DIRS = LOAD_LIBRARY_SEARCH_APPLICATION_DIR | LOAD_LIBRARY_SEARCH_USER_DIRS | LOAD_LIBRARY_SEARCH_SYSTEM32

#: The VC++ runtime DLLs whose file version must be at least the toolset that built a module.
VC_RUNTIME_NAMES = ("msvcp140.dll", "msvcp140_1.dll", "msvcp140_2.dll", "msvcp140_atomic_wait.dll",
                    "msvcp140_codecvt_ids.dll", "vcruntime140.dll", "vcruntime140_1.dll",
                    "vcruntime140_threads.dll", "concrt140.dll", "vcomp140.dll")
_VC_MANGLED = re.compile(r"^(msvcp140(?:_\w+)?|vcruntime140(?:_\w+)?|concrt140|vcomp140)-[0-9a-f]{8,}\.dll$", re.I)
_PYTHON_DLL = re.compile(r"^python(\d)(\d+)(?:_d)?\.dll$", re.I)
MAX_MODULES = 4000


@dataclass(frozen=True)
class DllDirectory:
    """A folder on the ``os.add_dll_directory`` list, and who put it there."""

    path: str
    source: str


@dataclass(frozen=True)
class WindowsFacts:
    """What a Windows machine's loader knows beyond its files and variables.

    ``known_dlls`` and ``api_sets`` default to the knowledge tables (Windows 10/11);
    ``dll_directories`` are the folders already added to the process (recorded in a live kernel, or
    stated by a machine description); ``imported`` names packages already imported, whose
    ``__init__`` additions are reconstructed too.
    """

    version: Tuple[int, ...] = (10, 0, 19045)
    system_root: str = "C:\\Windows"
    known_dlls: Optional[FrozenSet[str]] = None
    api_sets: Optional[Tuple[Tuple[str, str], ...]] = None
    dll_directories: Tuple[DllDirectory, ...] = ()
    imported: Tuple[str, ...] = ()
    python_version: Optional[Tuple[int, int]] = None
    conda: Optional[bool] = None
    cwd: Optional[str] = None
    os_bits: int = 64
    #: Read packages' __init__.py for os.add_dll_directory calls (off: only the stated list counts).
    reconstruct: bool = True


@dataclass(frozen=True)
class WindowsPython:
    """The interpreter a module would be imported into, as the loader sees it."""

    executable: str
    base_executable: str
    app_dir: str
    version: Optional[Tuple[int, int]]
    venv: bool = False
    conda: bool = False
    dll_name: Optional[str] = None
    notes: Tuple[str, ...] = ()

    @property
    def search_order(self) -> str:
        """"default-dirs" (3.8+), "conda-path" (conda 3.8/3.9 with the PATH mode) or "legacy" (< 3.8)."""
        if self.version is not None and self.version < (3, 8):
            return "legacy"
        return "default-dirs"


def _knowledge(name: str):
    from .....knowledge import load

    return load(name)["entries"]


def default_known_dlls() -> FrozenSet[str]:
    return frozenset(e["name"].lower() for e in _knowledge("windows_known_dlls"))


def default_api_sets() -> Tuple[Tuple[str, str], ...]:
    rows = [(e["prefix"].lower(), e["host"]) for e in _knowledge("windows_api_sets")]
    return tuple(sorted(rows, key=lambda r: -len(r[0])))  # longest prefix first


def live_facts() -> WindowsFacts:  # pragma: no cover - needs a live Windows
    """The facts of the running Windows machine: version, KnownDLLs from the registry."""
    import sys

    known = None
    try:
        import winreg

        key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE,
                             r"SYSTEM\CurrentControlSet\Control\Session Manager\KnownDLLs")
        names = set()
        i = 0
        while True:
            try:
                _name, value, _t = winreg.EnumValue(key, i)
            except OSError:
                break
            if isinstance(value, str) and value.lower().endswith(".dll"):
                names.add(value.lower())
            i += 1
        known = frozenset(names | {"ntdll.dll"})
    except Exception:
        pass
    ver = sys.getwindowsversion()
    from ...machine import recorded_dll_directories

    import os

    return WindowsFacts(version=(ver.major, ver.minor, ver.build),
                        system_root=os.environ.get("SystemRoot", "C:\\Windows"), known_dlls=known,
                        dll_directories=tuple(recorded_dll_directories()),
                        python_version=tuple(sys.version_info[:2]),
                        conda="conda" in sys.version.lower() or "anaconda" in sys.version.lower() or None,
                        cwd=os.getcwd())
