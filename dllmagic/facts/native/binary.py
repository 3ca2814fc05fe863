"""One neutral record for a native binary, whatever its format (ELF now; PE and Mach-O next).

A reader (``elf.py``; later ``pe.py``, ``macho.py``) turns a file into a :class:`Binary`. The loaders
(``loader/``) only ever look at :class:`Binary`, never at format structures, so adding a format means
adding a reader, not touching the loaders' callers.

Reading is cheap and lazy: the header, the dynamic section and the version tables are read at once;
the symbol tables (which can hold 100 000 entries in a big library) are read on first use of
:attr:`Binary.imported_symbols` / :attr:`Binary.exported_symbols`. Records are cached per file
(device, inode, size, mtime, ctime), whatever path reaches it, so a tree that meets ``libc.so.6`` forty
times reads it once, and every record of one file shares its lazily read symbol tables.

Nothing here raises on a hostile file: what could not be read becomes :attr:`Binary.error` (the file
cannot be loaded at all: empty, not an ELF, truncated header) or a line in :attr:`Binary.notes` (a part
was unreadable: a count past the end, a string offset outside the table ...).
"""
from __future__ import annotations

import functools
import mmap
import os
import stat
import _thread
from collections import namedtuple

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple

from ..._record import Record, field
from . import answers, factstore

__all__ = [
    "Binary",
    "Needed",
    "Symbol",
    "VersionNeed",
    "read_binary",
    "clear_cache",
]


# Small immutable tuples, made with collections.namedtuple (typing is not imported at run time).

Needed = namedtuple("Needed", "name weak delay", defaults=(False, False))
Needed.__doc__ = """A library the binary asks for (ELF DT_NEEDED, PE import, Mach-O LC_LOAD_DYLIB).

``weak``: may be absent without failing the load (Mach-O LC_LOAD_WEAK_DYLIB); ``delay``: loaded only on
first call (PE delay-load imports)."""

Symbol = namedtuple("Symbol", "name version library weak hidden", defaults=(None, None, False, False))
Symbol.__doc__ = """An imported (undefined) or exported (defined) dynamic symbol.

``version``: the symbol version (ELF ``GLIBC_2.34``), or None when unversioned; ``library``: the library
expected to provide it, where the format says (ELF: the verneed file; PE: the DLL); ``weak``: weak
reference (may stay unresolved) or weak definition; ``hidden``: a non-default version (``sym@V`` rather
than ``sym@@V``): only a reference naming V binds to it."""

VersionNeed = namedtuple("VersionNeed", "library version weak", defaults=(False,))
VersionNeed.__doc__ = """One symbol version the binary needs from one library (ELF DT_VERNEED).

``weak``: VER_FLG_WEAK, a missing version is not an error."""


class Binary(Record):
    """What a loader needs to know about one native file, in format-neutral terms."""

    path: str
    format: str                                   # "elf" | "pe" | "macho" | "unknown"
    bits: Optional[int] = None                    # 32 | 64
    machine: Optional[str] = None                 # x86_64, i386, aarch64, arm, ppc64le ...
    endian: Optional[str] = None                  # "little" | "big"
    kind: Optional[str] = None                    # executable | shared | pie | relocatable | core
    interp: Optional[str] = None                  # ELF PT_INTERP (the program loader it asks for)
    soname: Optional[str] = None                  # ELF DT_SONAME / Mach-O install name / PE export name
    needed: Tuple[Needed, ...] = ()
    rpath: Tuple[str, ...] = ()                   # raw entries, DSTs ($ORIGIN ...) not expanded
    runpath: Tuple[str, ...] = ()
    flags: FrozenSet[str] = frozenset()           # "nodeflib", "now", "origin", "pie" ...
    versions_needed: Tuple[VersionNeed, ...] = ()
    versions_defined: Tuple[str, ...] = ()        # the first (base) entry is the file's own name
    #: ELF PT_GNU_STACK: True when it asks for an executable stack, None when the header is absent.
    exec_stack: Optional[bool] = None
    #: Why the loader would refuse the file outright ("invalid ELF header", "file too short" ...).
    error: Optional[str] = None
    notes: Tuple[str, ...] = ()
    #: (st_dev, st_ino) of the file as read, so two paths to one file are recognised as one object.
    file_id: Optional[Tuple[int, int]] = field(default=None, compare=False)
    #: The format reader's lazy half: ``_symbol_reader(kind)`` with kind "imports" (imported symbols
    #: and notes), "all" (imported, exported, notes) or "index" (an object with ``lookup(name)``,
    #: or None). Not part of the record's value.
    _symbol_reader: Optional[Callable[[str], Any]] = field(default=None, repr=False, compare=False)

    # -- lazily read symbol tables ------------------------------------------------------------------
    def _read_symbols(self, kind: str, empty):
        if self._symbol_reader is None:
            return empty
        try:
            return self._symbol_reader(kind)
        except Exception as exc:  # hostile input never escapes: it becomes a note
            if kind == "index":
                return None
            return empty[:-1] + ((f"symbol table unreadable: {exc}",),)

    @functools.cached_property
    def _all_symbols(self) -> Tuple[Tuple[Symbol, ...], Tuple[Symbol, ...], Tuple[str, ...]]:
        return self._read_symbols("all", ((), (), ()))

    @functools.cached_property
    def _imports(self) -> Tuple[Tuple[Symbol, ...], Tuple[str, ...]]:
        if "_all_symbols" in self.__dict__:
            return self._all_symbols[0], self._all_symbols[2]
        return self._read_symbols("imports", ((), ()))

    @functools.cached_property
    def _index(self):
        return self._read_symbols("index", None)

    def bulk_export_sets(self):
        """(any, visible, by_version) of an ELF file's exports read in bulk (``elf.export_sets``), or
        None where that reader declines (the caller then builds them from :attr:`exports_by_name`)."""
        if self.format != "elf" or self._symbol_reader is None:
            return None
        try:
            sets = self._symbol_reader("sets")
        except Exception:  # hostile input never escapes: the careful reader answers instead
            return None
        return sets if isinstance(sets, tuple) and len(sets) == 3 and isinstance(sets[2], dict) else None

    def bulk_import_groups(self):
        """The undefined non-weak symbols of an ELF file as ((version, library, names), ...), read in
        bulk (``elf.import_groups``), or None where that reader declines (the caller then groups
        :attr:`imported_symbols`)."""
        if self.format != "elf" or self._symbol_reader is None or "_all_symbols" in self.__dict__:
            return None
        try:
            groups = self._symbol_reader("groups")
        except Exception:  # hostile input never escapes: the careful reader answers instead
            return None
        return groups if isinstance(groups, tuple) and all(
            isinstance(g, tuple) and len(g) == 3 and isinstance(g[2], frozenset) for g in groups) else None

    def stamp(self):
        """(device, inode, size, modification and change times in ns) of an ELF file as it was read,
        or None (another format, a modelled file)."""
        if self.format != "elf" or self._symbol_reader is None:
            return None
        try:
            stamp = self._symbol_reader("stamp")
        except Exception:
            return None
        return stamp if isinstance(stamp, tuple) else None

    def file_size(self) -> int:
        """The size of an ELF file in bytes (0 when unknown): a cheap guess at its symbol count."""
        if self.format != "elf" or self._symbol_reader is None:
            return 0
        try:
            size = self._symbol_reader("size")
        except Exception:
            return 0
        return size if isinstance(size, int) else 0

    @property
    def imported_symbols(self) -> Tuple[Symbol, ...]:
        """Undefined dynamic symbols (what the binary expects others to provide)."""
        return self._imports[0]

    @property
    def exported_symbols(self) -> Tuple[Symbol, ...]:
        """Defined, visible dynamic symbols (what the binary offers to others)."""
        return self._all_symbols[1]

    @property
    def symbol_notes(self) -> Tuple[str, ...]:
        """Problems met while reading the symbol tables (read lazily, so apart from :attr:`notes`)."""
        return self._all_symbols[2]

    @functools.cached_property
    def exports_by_name(self) -> Dict[str, Tuple[Tuple[Optional[str], bool], ...]]:
        """name -> ((version, hidden), ...) for every exported symbol."""
        table: Dict[str, List[Tuple[Optional[str], bool]]] = {}
        for sym in self.exported_symbols:
            table.setdefault(sym.name, []).append((sym.version, sym.hidden))
        return {name: tuple(v) for name, v in table.items()}

    def lookup_export(self, name: str) -> Tuple[Tuple[Optional[str], bool], ...]:
        """((version, hidden), ...) for each visible definition of ``name``; () when none.

        Uses the file's own hash table where it has one (no full read of a 100 000-symbol table),
        else the whole export table.
        """
        index = self._index
        if index is not None:
            try:
                return index.lookup(name)
            except Exception:  # a hostile hash table: fall back to the plain table
                pass
        return self.exports_by_name.get(name, ())

    @property
    def ok(self) -> bool:
        return self.error is None

    def versions_needed_from(self, library: str) -> Tuple[VersionNeed, ...]:
        return tuple(v for v in self.versions_needed if v.library == library)


# -- reading ----------------------------------------------------------------------------------------

_CACHE: Dict[Tuple[int, int, int, int, int], Binary] = {}
_CACHE_LOCK = _thread.allocate_lock()
_CACHE_MAX = 4096


#: What :func:`loaded_names` read of a file, by the same key: the process is modelled again for a later
#: failure when it has loaded something since, and the same files are asked again.
_NAMES: Dict[Tuple[int, int, int, int, int], Tuple[Optional[str]]] = {}


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
        _NAMES.clear()


def _map_file(host: str):
    """The file's bytes: an mmap (so only the pages parsed are read) or b"" for an empty file."""
    fd = os.open(host, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except ValueError:  # empty file: mmap refuses length 0
        return b""
    finally:
        os.close(fd)  # the map keeps its own reference to the file


def read_binary(path: str, system=None) -> Binary:
    """Read the binary at the machine path ``path`` of ``system`` (default: the live machine).

    Never raises for a bad file: an unreadable or hostile file comes back with :attr:`Binary.error`.
    """
    if system is None:
        from ..system import System

        system = System.current()
    stock = getattr(system, "stock_binary", None)
    if stock is not None:  # a modelled stock machine: its system libraries are facts, not files
        known = stock(path)
        if known is not None:
            return known
    host = system.host_path(path)
    try:
        st = os.stat(host)
    except OSError as exc:
        answers.note(host)
        return Binary(path=path, format="unknown", error=_os_error_text(exc))
    answers.note(host, st)
    if not stat.S_ISREG(st.st_mode):
        return Binary(path=path, format="unknown", error="not a regular file")
    # The file's identity, not its spelling: ``a/../lib/x.so`` and ``lib/x.so`` are one record.
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        if hit.path != path:  # same file reached by another name: same facts, its own path
            hit = hit.replace(path=path)
        return hit
    store = factstore.active()
    binary = _from_store(store, path, host, st) if store is not None else None
    if binary is None:
        binary = _read_uncached(path, host, (st.st_dev, st.st_ino), st)
        if store is not None and binary.format == "elf":
            store.put(host, st, _stored_fields(binary))
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[key] = binary
    return binary



def loaded_names(path: str, system) -> Optional[Tuple[Optional[str], Tuple[int, int]]]:
    """(SONAME, file identity) of the ELF file at ``path`` when :func:`read_binary` would read it without an
    error, from its header and dynamic section alone; None when that cannot be told so cheaply (read it
    with :func:`read_binary`, which gives the same facts and the rest). For the objects already loaded in a
    process: glibc matches a request against their names and identities, and reads nothing more of them."""
    if getattr(system, "stock_binary", None) is not None or factstore.active() is not None:
        return None
    host = system.host_path(path)
    try:
        st = os.stat(host)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        names = _NAMES.get(key)
    if hit is not None:
        return None  # read already: the whole record is as cheap
    if names is None:
        try:
            data = _map_file(host)
        except OSError:
            return None
        if bytes(data[:4]) != b"\x7fELF":
            return None
        from . import elf

        names = elf.loaded_soname(data)
        if names is None:
            return None
        with _CACHE_LOCK:
            if len(_NAMES) >= _CACHE_MAX:
                _NAMES.clear()
            _NAMES[key] = names
    answers.note(host, st)
    return names[0], (st.st_dev, st.st_ino)

#: The Binary fields an ELF file's stored facts hold (all but its path, identity and lazy half).
_STORED: Tuple[str, ...] = ()


def _stored_fields(binary: Binary) -> dict:
    """The facts of ``binary`` as plain data for the fact store (marshal takes no named tuples)."""
    global _STORED
    if not _STORED:
        _STORED = tuple(name for name in Binary._fields if name not in ("path", "file_id", "_symbol_reader"))
    out = {name: getattr(binary, name) for name in _STORED}
    out["needed"] = tuple(tuple(n) for n in binary.needed)
    out["versions_needed"] = tuple(tuple(v) for v in binary.versions_needed)
    return out


def _from_store(store, path: str, host: str, st) -> Optional[Binary]:
    fields = store.get(host, st)
    if fields is None:
        return None
    try:
        fields = dict(fields, needed=tuple(Needed(*n) for n in fields["needed"]),
                      versions_needed=tuple(VersionNeed(*v) for v in fields["versions_needed"]))
        return Binary(path=path, file_id=(st.st_dev, st.st_ino), _symbol_reader=_elf_symbol_reader(host, st),
                      **fields)
    except (TypeError, KeyError, ValueError):  # a foreign or damaged entry: read the file instead
        return None


def _elf_symbol_reader(host: str, st=None):
    """The lazy half of an ELF Binary: its symbol tables, read from the file when first asked."""

    # Each kind is read once: every Binary record of this file (one per path it is reached by)
    # shares this reader, so a library met under a dozen spellings is not read a dozen times.
    memo: dict = {}

    def symbols(kind: str):
        hit = memo.get(kind, memo)
        if hit is memo:
            hit = memo[kind] = read(kind)
        return hit

    def read(kind: str):
        from . import elf

        if kind == "groups" and st is not None:
            # kept between runs, under the file's stamp, in the store beside the header facts
            store = factstore.active()
            if store is not None:
                kept = store.imports()
                groups = kept.get(host, st)
                if groups is None:
                    groups = read("groups-from-file")
                    if groups is not None:
                        kept.put(host, st, groups)
                return groups
        if kind == "groups-from-file":
            kind = "groups"
        if kind == "stamp":
            return None if st is None else (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if kind == "size":  # what reading the whole table would cost, roughly
            if st is not None:
                return st.st_size
            try:
                return os.stat(host).st_size
            except OSError:
                return 0
        try:
            buf = _map_file(host)
        except OSError as exc:
            if kind in ("index", "sets", "groups"):
                return None
            note = (f"symbol table unreadable: {_os_error_text(exc)}",)
            return ((), note) if kind == "imports" else ((), (), note)
        if kind == "index":
            return elf.symbol_index(buf)
        if kind in ("sets", "groups"):
            # the two bulk readers share one look at the file's symbol table
            table = memo.get("table", memo)
            if table is memo:
                table = memo["table"] = elf.sym_table(buf)
            if table is None:
                return None
            return elf.export_sets(buf, table) if kind == "sets" else elf.import_groups(buf, table)
        if kind == "imports":
            imported, _exported, notes = elf.parse_symbols(buf, imports_only=True)
            return imported, notes
        return elf.parse_symbols(buf)

    return symbols


def _os_error_text(exc: OSError) -> str:
    import errno

    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links"
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno == errno.EACCES:
        return "permission denied"
    return exc.strerror or str(exc)


def _read_uncached(path: str, host: str, file_id: Tuple[int, int], st=None) -> Binary:
    try:
        data = _map_file(host)
    except OSError as exc:
        return Binary(path=path, format="unknown", error=_os_error_text(exc), file_id=file_id)
    head = bytes(data[:4])
    if head == b"\x7fELF":
        from . import elf

        try:
            fields = elf.parse(data)
        except Exception as exc:  # the reader is defensive; this is the last net
            fields = {"format": "elf", "error": f"unreadable ELF file: {exc!r}"}
        return Binary(path=path, file_id=file_id, _symbol_reader=_elf_symbol_reader(host, st), **fields)
    if len(data) == 0:
        return Binary(path=path, format="unknown", error="file too short", file_id=file_id)
    fmt = "unknown"
    if head[:2] == b"MZ":
        fmt = "pe"
    elif head in (b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe",
                  b"\xca\xfe\xba\xbe", b"\xbe\xba\xfe\xca"):
        fmt = "macho"
    if fmt == "pe":  # the PE reader (pe.py) owns everything past the magic
        from . import pe

        return pe.read_pe(path, data, file_id, lambda host=host: _map_file(host))
    if fmt == "macho":  # the Mach-O reader (macho.py), thin and fat files
        from . import macho

        return macho.read_macho(path, data, file_id, lambda host=host: _map_file(host))
    if fmt != "unknown":
        return Binary(path=path, format=fmt, error=f"no {fmt} reader yet", file_id=file_id)
    # ld.so reads a whole ELF header (64 bytes for a 64-bit process) before it looks at the magic.
    what = "invalid ELF header" if len(data) >= 64 else "file too short"
    sniff = bytes(data[:64])
    if sniff.startswith(b"version https://git-lfs"):
        what += " (a Git LFS pointer, not the library)"
    elif sniff.lstrip().lower().startswith((b"<!doctype", b"<html")):
        what += " (an HTML page, not the library)"
    return Binary(path=path, format="unknown", error=what, file_id=file_id)
