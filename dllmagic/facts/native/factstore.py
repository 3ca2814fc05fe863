"""The facts read from ELF files, kept on disk between ``deps`` runs.

A second run over the same environment then reads only the files that changed. An entry is used only
when the file's device, inode, size, modification and change times are all as they were when it was
read (the same test the in-process cache makes, plus the change time); anything else is read again.
A file changed in the last two seconds is not kept (its stamp could repeat within one clock tick).
Symbol tables are never stored: they are read lazily from the file itself.

The store is one file (``native-facts.marshal``) in the user's cache folder: ``$DLLMAGIC_CACHE_DIR``,
else ``$XDG_CACHE_HOME/dllmagic``, else ``~/.cache/dllmagic`` (``%LOCALAPPDATA%\\dllmagic`` on
Windows, ``~/Library/Caches/dllmagic`` on macOS). It is written whole to a temporary file and renamed
into place, so a reader never sees half of it; an unreadable or foreign store is ignored and replaced.
Nothing here raises: a store that cannot be read or written just makes the run read every file.
"""
from __future__ import annotations

import marshal
import os
import sys
import time

__all__ = ["FactStore", "default_folder", "active", "activate", "deactivate"]

#: Bumped whenever the stored fields or the reader's answers change: an older store is then ignored.
FORMAT = 1
FILENAME = "native-facts.marshal"
#: Files changed less than this long ago are read but not kept (see :meth:`FactStore.put`).
SETTLE_NS = 2_000_000_000
#: Beyond this many entries only those of the current run are kept (a store never grows without end).
MAX_ENTRIES = 50_000

_ACTIVE = None


def default_folder(environ=None) -> str:
    env = os.environ if environ is None else environ
    if env.get("DLLMAGIC_CACHE_DIR"):
        return env["DLLMAGIC_CACHE_DIR"]
    home = os.path.expanduser("~")
    if sys.platform.startswith("win"):
        return os.path.join(env.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local"), "dllmagic")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Caches", "dllmagic")
    return os.path.join(env.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "dllmagic")


def _version() -> str:
    from ... import __version__

    return __version__


def _stamp(st) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class FactStore:
    """host path -> (stat stamp, fields of the Binary as the ELF reader made them)."""

    def __init__(self, folder: str) -> None:
        self.path = os.path.join(folder, FILENAME)
        self.entries: dict = {}
        #: Entries read or confirmed during this run (the ones kept when the store is full).
        self.used: dict = {}
        #: Entries added by this run (what a forked worker hands back to the parent).
        self.added: dict = {}
        self._load()

    def _load(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                data = marshal.loads(fh.read())  # marshal.load(fh) reads in small pieces: 8x slower
        except (OSError, EOFError, ValueError, TypeError):
            return
        if isinstance(data, tuple) and len(data) == 4 and data[:3] == ("dllmagic-native-facts", FORMAT,
                                                                       _version()) \
                and isinstance(data[3], dict):
            self.entries = data[3]

    def get(self, host: str, st):
        """The stored fields of ``host`` if the file is unchanged since, else None."""
        entry = self.entries.get(host)
        if entry is None or not isinstance(entry, tuple) or len(entry) != 2 or entry[0] != _stamp(st):
            return None
        self.used[host] = entry
        return entry[1]

    def put(self, host: str, st, fields: dict) -> None:
        # A file changed in the last moments may change again within the same clock tick, keeping
        # its times and size: its stamp would not tell (git's "racily clean" entries). Not kept.
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < SETTLE_NS:
            return
        entry = (_stamp(st), fields)
        self.entries[host] = self.used[host] = self.added[host] = entry

    def absorb(self, added: dict) -> None:
        """Entries another process of the same run added (see :attr:`added`)."""
        if isinstance(added, dict):
            self.entries.update(added)
            self.used.update(added)
            self.added.update(added)

    def save(self) -> bool:
        """Write the store if this run added to it. False when it could not be written."""
        if not self.added:
            return True
        entries = self.entries if len(self.entries) <= MAX_ENTRIES else self.used
        folder = os.path.dirname(self.path)
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            payload = marshal.dumps(("dllmagic-native-facts", FORMAT, _version(), entries))
            os.makedirs(folder, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(payload)
            os.replace(tmp, self.path)
        except (OSError, ValueError):
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return False
        self.added = {}
        return True


def active():
    """The store in use in this process, or None."""
    return _ACTIVE


def activate(folder: str) -> FactStore:
    global _ACTIVE
    _ACTIVE = FactStore(folder)
    return _ACTIVE


def deactivate() -> None:
    global _ACTIVE
    _ACTIVE = None
