"""The machine a diagnosis is about, handed in rather than read from globals.

``System.live()`` describes the running process. A modelled machine (``System.model(...)``) keeps its
files under a folder of this one, so tests on Linux can describe a Windows or macOS machine from real
binaries. Every fact gatherer reads files, variables and the platform through a ``System``; nothing
outside this module and the process probe asks ``sys.platform`` or ``os.environ``.
"""
from __future__ import annotations

import ntpath
import os
import posixpath
import sys
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from .._record import Record, field

PLATFORMS = ("linux", "windows", "macos")


def _machine_name() -> str:
    """The CPU name as ``platform.machine()`` gives it (uname where there is one: no import)."""
    if hasattr(os, "uname"):
        return os.uname().machine
    import platform

    return platform.machine()


def live_platform() -> str:
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


def _live_loaded_libraries() -> Tuple[str, ...]:
    """Paths of the shared objects mapped into this process (Linux: /proc/self/maps)."""
    try:
        with open("/proc/self/maps", "rb") as fh:
            data = fh.read()
    except OSError:
        return ()
    seen: List[str] = []
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/"):
            path = parts[5]
            if path not in seen:
                seen.append(path)
    return tuple(seen)


_LISTINGS: Dict[str, Tuple[int, Dict[str, str]]] = {}


def _folder_names(folder: str) -> Dict[str, str]:
    """lower-cased name → name on disk, for one host folder; cached until the folder's mtime changes (a
    loader model asks the same folders for many names that are not there)."""
    try:
        stamp = os.stat(folder).st_mtime_ns
    except OSError:
        return {}
    cached = _LISTINGS.get(folder)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        names = {entry.lower(): entry for entry in os.listdir(folder)}
    except OSError:
        names = {}
    if len(_LISTINGS) > 4096:
        _LISTINGS.clear()
    _LISTINGS[folder] = (stamp, names)
    return names


class System(Record):
    """A machine: its platform, CPU, variables, files and (for a live one) its loaded libraries.

    ``root`` is the host folder that holds the machine's file system: "/" for the live machine. Paths
    given to the file methods are the machine's own (``C:\\Python311\\python.exe`` on a modelled Windows
    machine maps to ``<root>/C/Python311/python.exe``).
    """

    platform: str
    machine: str
    environ: Mapping[str, str] = field(default_factory=dict)
    root: str = "/"
    executable: str = ""
    live: bool = False
    #: For a live process, the libraries already mapped; for a model, the list it states.
    loaded: Optional[Tuple[str, ...]] = None
    _loaded_reader: Optional[Callable[[], Tuple[str, ...]]] = field(default=None, repr=False, compare=False)
    #: Windows' registry of installed Pythons (PEP 514) on a modelled machine, as the machine description
    #: states it: ``{"HKCU": {company: {tag: {"InstallPath": ..., "SysVersion": ...}}}}`` (appended field).
    #: None: a live Windows machine reads its own registry with winreg; any other machine has none.
    registry: Optional[Mapping[str, object]] = field(default=None, repr=False, compare=False)

    @classmethod
    def current(cls) -> "System":
        return cls(
            platform=live_platform(),
            machine=_machine_name(),
            environ=os.environ,
            root="/",
            executable=sys.executable,
            live=True,
            _loaded_reader=_live_loaded_libraries,
        )

    @classmethod
    def model(cls, platform: str, root: str, *, machine: str = "x86_64",
              environ: Optional[Mapping[str, str]] = None, executable: str = "",
              loaded: Tuple[str, ...] = ()) -> "System":
        if platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r}")
        return cls(platform=platform, machine=machine, environ=dict(environ or {}),
                   root=os.path.abspath(root), executable=executable, live=False, loaded=tuple(loaded))

    # -- paths --------------------------------------------------------------------------------------
    @property
    def pathmod(self):
        """ntpath for Windows, posixpath otherwise: the machine's own path rules."""
        return ntpath if self.platform == "windows" else posixpath

    @property
    def pathsep(self) -> str:
        return ";" if self.platform == "windows" else ":"

    def host_path(self, path: str) -> str:
        """Where the machine's ``path`` lives on this host."""
        if self.live or self.root == "/":
            return path
        if self.platform == "windows":
            drive, rest = ntpath.splitdrive(path)
            parts = [drive.rstrip(":")] if drive else []
            parts += [p for p in rest.replace("\\", "/").split("/") if p]
            return self._casefold_join(parts)
        return os.path.join(self.root, path.lstrip("/"))

    def _casefold_join(self, parts: List[str]) -> str:
        # Windows file names are case-insensitive: match each component against what is on disk.
        current = self.root
        for part in parts:
            candidate = os.path.join(current, part)
            if not os.path.exists(candidate):
                actual = _folder_names(current).get(part.lower())
                if actual is not None:
                    candidate = os.path.join(current, actual)
            current = candidate
        return current

    def realpath(self, path: str) -> str:
        """The machine's own canonical path of a POSIX ``path``: symlinks inside the modelled root are followed
        as the machine would (an absolute link target restarts from the machine's /), at most 40 hops."""
        if self.live or self.root in ("/", ""):
            return os.path.realpath(path)
        parts = [p for p in path.split("/") if p]
        resolved: List[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == ".":
                continue
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            host = self.host_path("/" + "/".join(resolved + [part]))
            if os.path.islink(host) and hops < 40:
                hops += 1
                target = os.readlink(host)
                if target.startswith("/"):
                    resolved = []
                parts = [p for p in target.split("/") if p] + parts
                continue
            resolved.append(part)
        return "/" + "/".join(resolved)

    # -- files --------------------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        return os.path.exists(self.host_path(path))

    def is_file(self, path: str) -> bool:
        return os.path.isfile(self.host_path(path))

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(self.host_path(path))

    def listdir(self, path: str) -> List[str]:
        try:
            return os.listdir(self.host_path(path))
        except OSError:
            return []

    def scandir(self, path: str) -> Iterator[os.DirEntry]:
        try:
            with os.scandir(self.host_path(path)) as it:
                yield from it
        except OSError:
            return

    def read_bytes(self, path: str, limit: Optional[int] = None) -> bytes:
        """The bytes of a regular file (at most ``limit``). Anything else is an OSError: a FIFO or a
        device put where a file is expected (``x.pth`` on sys.path) must never make a reader wait."""
        import stat

        fd = os.open(self.host_path(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                import errno

                raise OSError(errno.EINVAL, "not a regular file", path)
        except BaseException:
            os.close(fd)
            raise
        with os.fdopen(fd, "rb") as fh:
            if limit is None:
                return fh.read()
            # read(limit) would allocate the whole limit up front; most files are far smaller.
            size = os.fstat(fh.fileno()).st_size
            return fh.read(min(size, limit) if size else limit)

    def read_text(self, path: str, limit: Optional[int] = None) -> str:
        return self.read_bytes(path, limit).decode("utf-8", "replace")

    def stat(self, path: str) -> os.stat_result:
        return os.stat(self.host_path(path))

    def join(self, *parts: str) -> str:
        return self.pathmod.join(*parts)

    # -- process ------------------------------------------------------------------------------------
    def loaded_libraries(self) -> Tuple[str, ...]:
        if self.loaded is not None:
            return self.loaded
        if self._loaded_reader is not None:
            return self._loaded_reader()
        return ()

    def getenv(self, name: str, default: Optional[str] = None) -> Optional[str]:
        if self.platform == "windows":
            for key, value in self.environ.items():
                if key.upper() == name.upper():
                    return value
            return default
        return self.environ.get(name, default)
