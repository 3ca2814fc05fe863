"""The facts read from ELF files, kept on disk between ``deps`` runs.

A second run over the same environment then reads only the files that changed. An entry is used only
when the file's device, inode, size, modification and change times are all as they were when it was
read (the same test the in-process cache makes, plus the change time); anything else is read again.
An entry kept under another path with the very same stamp serves too: it is the same file, unchanged
(a hard link, as uv fills a second environment from its cache). A file changed in the last two seconds is not kept (its stamp could repeat within one clock tick).
Symbol tables are not stored with them (they are read lazily from the file itself), with an
exception kept in a file of its own (``native-imports.json``, read only by a run that checks symbols):
each file's undefined symbols, grouped by the version they ask for, under the same stamp; and a second
(``native-symbols-found.json``, likewise): for a file all of whose undefined symbols were found, the
stamps of the files that defined them (see :class:`FoundStore`). Two more small files keep what a walk
of a folder lists (``native-folders.json``, :class:`FolderStore`) and what the live program interpreter
says about itself (``native-loader.json``, :class:`LoaderStore`), each under the stamps it depends on.

Above these facts, whole answers of ``deps`` commands are kept beside the store, in files of their
own (see answers.py).

The store is one file (``native-facts.json``) in the user's cache folder: ``$DLLMAGIC_CACHE_DIR``,
else ``$XDG_CACHE_HOME/dllmagic``, else ``~/.cache/dllmagic`` (``%LOCALAPPDATA%\\dllmagic`` on
Windows, ``~/Library/Caches/dllmagic`` on macOS). It is written whole to a temporary file and renamed
into place, so a reader never sees half of it.

The store is read as untrusted data (another process, a full disk or a flipped bit may have changed it):
its first line names the format, the dllmagic version, the payload's length and its CRC-32; the payload
is JSON, parsed only when length and checksum match. Every field of an entry is checked for its type
(and every tuple for its length) before it is used; an entry that fails is not used (the file is read
again), a store that fails is ignored and replaced by the next save. Nothing here raises: a store that
cannot be read or written just makes the run read every file.
"""
from __future__ import annotations

import os
import sys
import time
import zlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

__all__ = ["FactStore", "default_folder", "active", "activate", "deactivate"]

#: Bumped whenever the stored fields or the reader's answers change: an older store is then ignored.
FORMAT = 2
FILENAME = "native-facts.json"
#: The undefined symbols of each file (see :class:`ImportStore`): read only when symbols are checked.
IMPORTS_FILENAME = "native-imports.json"
#: The files that defined every undefined symbol of a file (see :class:`FoundStore`).
FOUND_FILENAME = "native-symbols-found.json"
#: The listings of the folders walked (see :class:`FolderStore`).
FOLDERS_FILENAME = "native-folders.json"
#: What the live program interpreter says about itself (see :class:`LoaderStore`).
LOADER_FILENAME = "native-loader.json"
#: A file whose symbols came from more files than this is not kept in the :class:`FoundStore`.
MAX_PROVIDERS = 512
#: The store of format 1 (marshal data, which can crash the reader when damaged): removed on save.
OLD_FILENAMES = ("native-facts.marshal",)
MAGIC = b"dllmagic-native-facts"
#: A store larger than this is not read (50 000 entries take about 25 MB).
MAX_BYTES = 256 << 20
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


def _stamp(st) -> list:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


# -- an entry's layout and its check ----------------------------------------------------------------
# An entry is one flat JSON list: the five numbers of the stat stamp, then the fields below in this
# order. Each field has a kind: "str?" a string or null, "int?" a number or null, "bool?" true, false
# or null, "strs" a list of strings, "needed" [[name, weak, delay] ...], "vneed" [[library, version,
# weak] ...]. A field list that differs from the reader's (a newer dllmagic, a changed Binary) is not
# stored at all: an entry must never lack a field the reader would have filled.

FIELDS = (
    ("format", "str?"), ("bits", "int?"), ("machine", "str?"), ("endian", "str?"), ("kind", "str?"),
    ("interp", "str?"), ("soname", "str?"), ("needed", "needed"), ("rpath", "strs"), ("runpath", "strs"),
    ("flags", "strs"), ("versions_needed", "vneed"), ("versions_defined", "strs"), ("exec_stack", "bool?"),
    ("error", "str?"), ("notes", "strs"),
)
_NAMES = frozenset(name for name, _ in FIELDS)
_STAMP_LEN = 5
ENTRY_LEN = _STAMP_LEN + len(FIELDS)


_JUST_STR = {str}


def _check(kind: str, v):
    """``v`` as the reader's value for a field of ``kind`` (tuples, frozenset), or raise ValueError."""
    if kind == "str?":
        if v is None or type(v) is str:
            return v
    elif kind == "int?":
        if v is None or type(v) is int:
            return v
    elif kind == "bool?":
        if v is None or type(v) is bool:
            return v
    elif type(v) is list:
        if kind == "strs":
            if not v or set(map(type, v)) == _JUST_STR:
                return tuple(v)
        elif kind == "needed":
            if all(type(n) is list and len(n) == 3 and type(n[0]) is str and type(n[1]) is bool
                   and type(n[2]) is bool for n in v):
                return tuple(tuple(n) for n in v)
        elif kind == "vneed":
            if all(type(n) is list and len(n) == 3 and type(n[0]) is str and type(n[1]) is str
                   and type(n[2]) is bool for n in v):
                return tuple(tuple(n) for n in v)
    raise ValueError(kind)


def encode_entry(st, fields: dict):
    """The flat list stored for ``fields`` (as :func:`binary._stored_fields` makes them), or None
    when they are not exactly the fields this store knows, with the types it expects."""
    if not isinstance(fields, dict) or fields.keys() != _NAMES:
        return None
    row = _stamp(st)
    try:
        for name, kind in FIELDS:
            value = fields[name]
            if kind == "strs":
                value = sorted(value) if name == "flags" else list(value)
            elif kind in ("needed", "vneed"):
                value = [list(item) for item in value]
            _check(kind, value)  # what is written must read back
            row.append(value)
    except (TypeError, ValueError):
        return None
    return row


def decode_entry(row) -> dict:
    """The fields of a stored entry, every one checked; ValueError when any is of the wrong type."""
    if type(row) is not list or len(row) != ENTRY_LEN:
        raise ValueError("entry")
    fields = {name: _check(kind, row[_STAMP_LEN + i]) for i, (name, kind) in enumerate(FIELDS)}
    fields["flags"] = frozenset(fields["flags"])
    return fields


class FactStore:
    """host path -> [stat stamp..., fields of the Binary as the ELF reader made them]."""

    filename = FILENAME

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.path = os.path.join(folder, self.filename)
        #: The stores kept beside this one (see :meth:`_beside`), by class, once read.
        self._beside_stores: dict = {}
        #: stamp -> entry, made when a path is first not found (see :meth:`_row`).
        self._by_stamp = None
        self.entries: dict = {}
        #: Entries read or confirmed during this run (the ones kept when the store is full).
        self.used: dict = {}
        #: Entries added by this run (what a forked worker hands back to the parent).
        self.added: dict = {}
        #: Why the store on disk was not used (None: it was, or there was none).
        self.rejected = None
        self._load()

    def _load(self) -> None:
        try:
            # Regular files only, never waiting on a FIFO put in the store's place.
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        except OSError:
            return
        try:
            import stat

            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
                self.rejected = "not a regular file, or too large"
                return
            with os.fdopen(fd, "rb") as fh:
                fd = None
                data = fh.read(MAX_BYTES + 1)
        except OSError:
            self.rejected = "unreadable"
            return
        finally:
            if fd is not None:
                os.close(fd)
        self.entries = self._parse(data)

    def _parse(self, data: bytes) -> dict:
        """The entries of a store's bytes, or {} (with :attr:`rejected` set) when any check fails."""
        head, sep, payload = data.partition(b"\n")
        parts = head.split(b" ")
        want = (MAGIC, str(FORMAT).encode(), _version().encode("utf-8", "replace"))
        if not sep or len(parts) != 5 or tuple(parts[:3]) != want:
            self.rejected = "another format or version"
            return {}
        try:
            length, crc = int(parts[3]), int(parts[4], 16)
        except ValueError:
            self.rejected = "damaged header"
            return {}
        if length != len(payload) or crc != zlib.crc32(payload):
            self.rejected = "checksum mismatch"
            return {}
        import json

        try:
            entries = json.loads(payload)
        except (ValueError, RecursionError):
            self.rejected = "not JSON"
            return {}
        if type(entries) is not dict:
            self.rejected = "not an object"
            return {}
        return entries

    def _row(self, host: str, st):
        """(the entry kept for ``host``'s file as ``st`` finds it, or None; whether it was kept under
        another path). An entry of another path with the same stamp is the same file (a hard link: a
        second environment that uv filled from its own cache), unchanged since."""
        stamp = _stamp(st)
        row = self.entries.get(host)
        if row is not None and type(row) is list and row[:_STAMP_LEN] == stamp:
            return row, False
        if self._by_stamp is None:
            self._by_stamp = {}
            for r in self.entries.values():
                if type(r) is list and len(r) > _STAMP_LEN:
                    try:
                        self._by_stamp.setdefault(tuple(r[:_STAMP_LEN]), r)
                    except TypeError:  # an unhashable part: a damaged entry, never matched
                        pass
        return self._by_stamp.get(tuple(stamp)), True

    def holds_elf(self, host: str, st) -> bool:
        """Whether the facts of an ELF file are kept for ``host``'s file as ``st`` finds it (here or
        under a hard link's other path): the walk need not open the file to read its magic."""
        row, _elsewhere = self._row(host, st)
        return row is not None and len(row) == ENTRY_LEN and row[_STAMP_LEN] == "elf"

    def _use(self, host: str, row, elsewhere: bool) -> None:
        self.used[host] = row
        if elsewhere:  # kept under this path too, for the next run here
            self.entries[host] = self.added[host] = row

    def _keep(self, host: str, row) -> None:
        self.entries[host] = self.used[host] = self.added[host] = row
        if self._by_stamp is not None:
            self._by_stamp[tuple(row[:_STAMP_LEN])] = row

    def get(self, host: str, st):
        """The stored fields of ``host`` if the file is unchanged since (and the entry well-typed), else None."""
        row, elsewhere = self._row(host, st)
        if row is None or len(row) != ENTRY_LEN:
            return None
        try:
            fields = decode_entry(row)
        except ValueError:  # a damaged or foreign entry: read the file instead, and forget the entry
            if not elsewhere:
                self.entries.pop(host, None)
            return None
        self._use(host, row, elsewhere)
        return fields

    def put(self, host: str, st, fields: dict) -> None:
        # A file changed in the last moments may change again within the same clock tick, keeping
        # its times and size: its stamp would not tell (git's "racily clean" entries). Not kept.
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < SETTLE_NS:
            return
        row = encode_entry(st, fields)
        if row is not None:
            self._keep(host, row)

    def absorb(self, added: dict) -> None:
        """Entries another process of the same run added (see :attr:`added`)."""
        if isinstance(added, dict):
            self.entries.update(added)
            self.used.update(added)
            self.added.update(added)

    def _beside(self, cls) -> "FactStore":
        """The store of class ``cls`` in the same folder, read on first use (only the facts store
        has stores beside it)."""
        if type(self) is not FactStore:
            raise TypeError(f"{type(self).__name__} has no stores beside it")
        store = self._beside_stores.get(cls)
        if store is None:
            store = self._beside_stores[cls] = cls(self.folder)
        return store

    def imports(self) -> "ImportStore":
        """The store of undefined symbols beside this one."""
        return self._beside(ImportStore)

    def found(self) -> "FoundStore":
        """The store of symbol checks that found everything, beside this one."""
        return self._beside(FoundStore)

    def loader_words(self) -> "LoaderStore":
        """The store of what the live program interpreter said, beside this one."""
        return self._beside(LoaderStore)

    def folders(self) -> "FolderStore":
        """The store of folder listings, beside this one."""
        return self._beside(FolderStore)

    def collect(self):
        """What a forked worker hands back: the entries it added here and to each store beside this one."""
        return [self.added] + [self._beside_stores[cls].added if cls in self._beside_stores else {}
                               for cls in _BESIDE]

    def absorb_collected(self, collected) -> None:
        """The other half of :meth:`collect`, in the parent."""
        if isinstance(collected, list) and len(collected) == 1 + len(_BESIDE):
            self.absorb(collected[0])
            for cls, added in zip(_BESIDE, collected[1:]):
                if added:
                    self._beside(cls).absorb(added)

    def save(self) -> bool:
        """Write the store if this run added to it (or the one on disk was bad), and the stores beside
        it. False when one could not be written."""
        ok = all([store.save() for store in self._beside_stores.values()])
        return self._save() and ok

    def _save(self) -> bool:
        if not self.added and self.rejected is None:
            return True
        entries = self.entries if len(self.entries) <= MAX_ENTRIES else self.used
        folder = os.path.dirname(self.path)
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            import json

            # ASCII: a path's undecodable bytes (lone surrogates) travel as \\udcXX escapes and read back.
            payload = json.dumps(entries, separators=(",", ":")).encode("ascii")
            head = b" ".join((MAGIC, str(FORMAT).encode(), _version().encode("utf-8", "replace"),
                              str(len(payload)).encode(), b"%08x" % zlib.crc32(payload)))
            os.makedirs(folder, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(head + b"\n" + payload)
            os.replace(tmp, self.path)
        except (OSError, ValueError, TypeError):
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return False
        for old in OLD_FILENAMES:  # format 1: never read again
            try:
                os.unlink(os.path.join(folder, old))
            except OSError:
                pass
        self.added = {}
        self.rejected = None
        return True


def encode_groups(st, groups) -> Optional[list]:
    """The flat list stored for a file's import groups ((version, library, names), ...): the stamp,
    then [version, library, "name\\nname..."] per group; None when a name holds a newline."""
    row: list = _stamp(st)
    for group in groups:
        if not (isinstance(group, tuple) and len(group) == 3):
            return None
        version, library, names = group
        if not ((version is None or type(version) is str) and (library is None or type(library) is str)):
            return None
        names = sorted(names)
        if any("\n" in n or not n or type(n) is not str for n in names):
            return None
        row.append([version, library, "\n".join(names)])
    return row


def decode_groups(row) -> tuple:
    """The import groups of a stored entry, every part checked; ValueError when any is wrong."""
    if type(row) is not list or len(row) < _STAMP_LEN:
        raise ValueError("entry")
    out = []
    for group in row[_STAMP_LEN:]:
        if type(group) is not list or len(group) != 3:
            raise ValueError("group")
        version, library, names = group
        if not ((version is None or type(version) is str) and (library is None or type(library) is str)
                and type(names) is str and names):
            raise ValueError("group")
        out.append((version, library, frozenset(names.split("\n"))))
    return tuple(out)


class ImportStore(FactStore):
    """host path -> [stat stamp..., import groups]: each ELF file's undefined non-weak symbols, one
    group per version asked for, as the bulk reader (``elf.import_groups``) gives them. Used under
    the same rule as the facts: only while the file's stamp is unchanged."""

    filename = IMPORTS_FILENAME

    def get(self, host: str, st):
        row, elsewhere = self._row(host, st)
        if row is None:
            return None
        try:
            groups = decode_groups(row)
        except ValueError:
            if not elsewhere:
                self.entries.pop(host, None)
            return None
        self._use(host, row, elsewhere)
        return groups

    def put(self, host: str, st, groups) -> None:
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < SETTLE_NS:
            return
        row = encode_groups(st, groups)
        if row is not None:
            self._keep(host, row)


def _is_stamp(v) -> bool:
    return type(v) is list and len(v) == _STAMP_LEN and all(type(x) is int for x in v)


class FoundStore(FactStore):
    """The symbol checks that found every undefined symbol of a file, kept between runs.

    Keyed by the file's own stamp (device, inode, size, modification and change times: not its path,
    so a second environment whose files are hard links of the first's uses them too); each entry lists
    the stamps of the files whose definitions served. Every non-weak undefined symbol of a file with
    that stamp is defined by the files with those stamps, whatever else is loaded with them: a later
    check whose scope holds every one of those files, each with the same stamp, needs no look-up. A
    file that changed gets a new stamp, so an entry naming it no longer applies.
    """

    filename = FOUND_FILENAME

    def get(self, stamp):
        """The providers' stamps (a tuple of 5-tuples) kept for the file with ``stamp``, or None."""
        key = "%d:%d:%d:%d:%d" % tuple(stamp)
        row = self.entries.get(key)
        if row is None:
            return None
        if type(row) is not list or len(row) > MAX_PROVIDERS or not all(map(_is_stamp, row)):
            self.entries.pop(key, None)  # damaged or foreign: check the file instead
            return None
        self.used[key] = row
        return tuple(tuple(u) for u in row)

    def names_any(self, stamps) -> bool:
        """Whether some kept check was served by one of the files with ``stamps`` (5-tuples)."""
        wanted = {tuple(u) for u in stamps}
        return any(type(row) is list and any(type(u) is list and tuple(u) in wanted for u in row)
                   for row in self.entries.values())

    def put(self, stamp, providers) -> None:
        """Keep that every undefined symbol of the file with ``stamp`` was defined by the files with
        the stamps ``providers``. Not kept when any of them changed in the last moments."""
        stamps = [list(stamp)] + [list(u) for u in providers]
        if len(stamps) > MAX_PROVIDERS + 1 or not all(map(_is_stamp, stamps)):
            return
        if time.time_ns() - max(max(u[3], u[4]) for u in stamps) < SETTLE_NS:
            return
        key = "%d:%d:%d:%d:%d" % tuple(stamp)
        self.entries[key] = self.used[key] = self.added[key] = sorted(stamps[1:])


class LoaderStore(FactStore):
    """real path of the live program interpreter -> [its stat stamp..., the CPU and kernel it ran on,
    its ``--list-diagnostics`` text, its ``--help`` text]: used only while the file's stamp and the CPU
    and kernel text are as they were."""

    filename = LOADER_FILENAME

    def get(self, real: str, st, setting: str):
        row = self.entries.get(real)
        if type(row) is not list or len(row) != _STAMP_LEN + 3 or row[:_STAMP_LEN] != _stamp(st) \
                or row[_STAMP_LEN] != setting:
            return None
        diag, helptext = row[_STAMP_LEN + 1:]
        if type(diag) is not str or type(helptext) is not str:
            self.entries.pop(real, None)
            return None
        self.used[real] = row
        return diag, helptext

    def put(self, real: str, st, setting: str, words) -> None:
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < SETTLE_NS:
            return
        row = _stamp(st) + [setting, *words]
        self.entries[real] = self.used[real] = self.added[real] = row


class FolderStore(FactStore):
    """host path of a folder -> [its stat stamp..., the names in it that look like binaries, [[name,
    inode] of each subfolder]], in name order, as the walk of ``deps`` lists it. A folder's stamp
    changes with any name added, removed or renamed in it, so the listing is used only while the stamp
    is as it was; what the files hold (their magic) is read by the walk every time."""

    filename = FOLDERS_FILENAME

    def get(self, host: str, st):
        """(names, [(subfolder, inode), ...]) kept for the folder ``host`` as ``st`` finds it, or None."""
        row = self.entries.get(host)
        if type(row) is not list or len(row) != _STAMP_LEN + 2 or row[:_STAMP_LEN] != _stamp(st):
            return None
        names, dirs = row[_STAMP_LEN:]
        if not (type(names) is list and all(type(n) is str for n in names) and type(dirs) is list
                and all(type(d) is list and len(d) == 2 and type(d[0]) is str and type(d[1]) is int
                        for d in dirs)):
            self.entries.pop(host, None)
            return None
        self.used[host] = row
        return names, [tuple(d) for d in dirs]

    def put(self, host: str, st, names, dirs) -> None:
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < SETTLE_NS:
            return
        row = _stamp(st) + [list(names), [list(d) for d in dirs]]
        self.entries[host] = self.used[host] = self.added[host] = row


#: The stores kept beside the facts store, in the order :meth:`FactStore.collect` hands them back.
_BESIDE = (ImportStore, FoundStore, LoaderStore, FolderStore)


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
