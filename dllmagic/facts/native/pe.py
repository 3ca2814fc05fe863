"""PE (Windows .dll / .pyd / .exe) files as a neutral :class:`~dllmagic.facts.native.binary.Binary`.

What the Windows loader model needs from a PE file is small: the COFF machine, whether it is a DLL, the
names in its import and delay-import tables, the functions it imports (by name or ordinal) and the
functions it exports (with forwarders), the load-config ``DependentLoadFlags``, the linker version and,
for the VC++ runtime DLLs, the file version in the version resource.

Why not pefile for everything: pefile reads and decodes far more than the loader looks at. Measured on
the 198 DLLs and .pyd files of the numpy, scipy, Pillow, pyarrow, opencv and msvc-runtime wheels for
win_amd64, ``pefile.PE(fast_load=True)`` alone took 0.77 s and the import directories 5.6 s, where the
whole ``deps`` of that tree has to stay under one second. So the headers and the import, delay-import
and export tables are read here with :mod:`struct` over a memory map (the tests check every table
against pefile and ``x86_64-w64-mingw32-objdump -p``), and pefile is used, lazily, for the two rich
structures where its decoding is worth the time and only a few files are asked: the version resource
(:func:`version_info`) and, as a cross-check, the load config.

Layout sources: Microsoft "PE Format"
https://learn.microsoft.com/en-us/windows/win32/debug/pe-format (COFF header, optional header, data
directories, the .idata, .edata and delay-load tables, the load configuration structure).

Nothing here raises on a hostile file: an unusable header becomes :attr:`Binary.error` ("not a PE
file", "truncated PE header" ...), an unreadable table becomes a line in :attr:`Binary.notes`.
"""
from __future__ import annotations

import bisect
import functools
import struct
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, List, NamedTuple, Optional, Tuple

from .binary import Binary, Needed, Symbol
from ..._record import field as record_field

__all__ = [
    "PEBinary", "PEImport", "PEExports", "PEInvalid", "MACHINES", "parse", "parse_tables",
    "parse_imports", "parse_exports",
    "version_info", "read_pe",
]

#: COFF ``Machine`` values, named as the ELF reader names machines.
MACHINES = {
    0x014C: "i386",
    0x8664: "x86_64",
    0xAA64: "aarch64",
    0x01C4: "arm",        # ARMNT (Thumb-2)
    0x01C0: "arm",
    0x0200: "ia64",
    0xA641: "arm64ec",    # ARM64X/EC hybrid images carry AMD64 in the header; this value is rare
}
IMAGE_FILE_DLL = 0x2000
IMAGE_FILE_EXECUTABLE_IMAGE = 0x0002
# Data directory indexes (PE Format, "Optional Header Data Directories").
DIR_EXPORT, DIR_IMPORT, DIR_RESOURCE, DIR_LOAD_CONFIG, DIR_DELAY_IMPORT = 0, 1, 2, 10, 13
#: Limits against hostile files: no real image comes near them.
MAX_SECTIONS = 96
MAX_DESCRIPTORS = 4096
MAX_THUNKS = 1 << 17
MAX_EXPORTS = 1 << 18
MAX_NAME = 4096
#: Reading budgets per file, scaled to its size: a real image holds each import entry (4 or 8 bytes)
#: once and each name once, so descriptors that share one table, or names that overlap, are cut off
#: here with a note instead of being read thousands of times over.
BUDGET_NOTE = "{what} exceed this file's reading budget ({size} bytes): the rest was not read"


class PEInvalid(ValueError):
    """The bytes are not a PE image the loader would map."""


class PEImport(NamedTuple):
    """One imported function: by ``name`` (with its ``hint``) or by ``ordinal``."""

    dll: str
    name: Optional[str]
    ordinal: Optional[int]
    delay: bool = False
    hint: Optional[int] = None

    @property
    def label(self) -> str:
        return self.name if self.name is not None else f"#{self.ordinal}"


@dataclass(frozen=True)
class PEExports:
    """The export table: the DLL's own name, names and ordinals, and forwarders (``name -> DLL.func``)."""

    dll_name: Optional[str] = None
    base: int = 1
    names: Dict[str, int] = field(default_factory=dict)          # name -> ordinal
    ordinals: FrozenSet[int] = frozenset()                       # every ordinal with a function
    forwarders: Dict[int, str] = field(default_factory=dict)     # ordinal -> "OTHER.func" / "OTHER.#12"

    def has(self, name: Optional[str], ordinal: Optional[int] = None) -> bool:
        if name is not None:
            return name in self.names
        return ordinal in self.ordinals

    def forwarder_of(self, name: Optional[str], ordinal: Optional[int] = None) -> Optional[str]:
        if name is not None:
            ordinal = self.names.get(name)
        return self.forwarders.get(ordinal) if ordinal is not None else None


class PEBinary(Binary):
    """A :class:`Binary` read from a PE file, with the PE facts the Windows loader model uses.

    ``imports`` and ``exports`` are read on first use (an export table can hold 20 000 names).
    """

    linker_version: Optional[Tuple[int, int]] = None
    os_version: Optional[Tuple[int, int]] = None
    subsystem: Optional[int] = None
    #: ``/DEPENDENTLOADFLAG``: the LOAD_LIBRARY_SEARCH_* flags for this module's static imports (0: none).
    dependent_load_flags: int = 0
    image_base: int = 0
    _tables_reader: Optional[Callable[[str], Tuple[Any, Tuple[str, ...]]]] = record_field(
        default=None, repr=False, compare=False)
    _bytes_reader: Optional[Callable[[], Any]] = record_field(default=None, repr=False, compare=False)

    @functools.cached_property
    def imports(self) -> Tuple[PEImport, ...]:
        """Every imported function, static imports first, then delay-load imports."""
        return self._read_table("imports", PEImport)

    @functools.cached_property
    def exports(self) -> PEExports:
        return self._read_table("exports", PEExports)

    @functools.cached_property
    def import_groups(self) -> Optional[Tuple[Tuple[str, FrozenSet[str], FrozenSet[int]], ...]]:
        """(DLL, names, ordinals) per static import descriptor, read without a :class:`PEImport` per
        function (the export check of a whole site-packages needs only these sets); None where the
        tables are unusual: read :attr:`imports` then."""
        if self._tables_reader is None:
            return None
        try:
            return self._tables_reader("groups")
        except Exception:
            return None

    @functools.cached_property
    def table_notes(self) -> Tuple[str, ...]:
        """Damage met while reading the import or export tables (read lazily, so apart from notes)."""
        self.imports, self.exports  # noqa: B018  # both readers append here
        return tuple(dict.fromkeys(self.__dict__.get("_table_notes", [])))

    def _read_table(self, which: str, empty):
        notes = self.__dict__.setdefault("_table_notes", [])
        if self._tables_reader is None:
            return () if which == "imports" else PEExports()
        try:
            value, more = self._tables_reader(which)
        except Exception as exc:  # hostile input never escapes: it becomes a note
            notes.append(f"{which} table unreadable: {exc}")
            return () if which == "imports" else PEExports()
        notes.extend(more)
        return value

    @functools.cached_property
    def version_info(self) -> Dict[str, str]:
        """The version resource: ``FileVersion`` (from the fixed block, dotted) and the string table."""
        if self._bytes_reader is None:
            return {}
        try:
            return version_info(self._bytes_reader())
        except Exception:
            return {}

    @property
    def file_version(self) -> Optional[Tuple[int, ...]]:
        text = self.version_info.get("FileVersion")
        if not text:
            return None
        try:
            return tuple(int(p) for p in text.split(".")[:4])
        except ValueError:
            return None


# -- pure parsing over bytes ---------------------------------------------------------------------------

class _Image:
    """Headers and section map of one PE image; rva -> file offset and bounded reads."""

    def __init__(self, data) -> None:
        self.data = data
        self.size = len(data)
        if self.size < 2 or bytes(data[:2]) != b"MZ":
            raise PEInvalid("not a PE file (no MZ header)")
        if self.size < 0x40:
            raise PEInvalid("truncated DOS header")
        (lfanew,) = struct.unpack_from("<I", data, 0x3C)
        if lfanew + 24 > self.size:
            raise PEInvalid("not a PE file (an MS-DOS program, or a truncated PE header)")
        if bytes(data[lfanew:lfanew + 4]) != b"PE\0\0":
            raise PEInvalid("not a PE file (no PE signature: an MS-DOS or 16-bit program)")
        (self.machine_id, nsect, _ts, _sym, _nsym, opt_size, self.characteristics) = struct.unpack_from(
            "<HHIIIHH", data, lfanew + 4)
        opt = lfanew + 24
        if opt_size < 2 or opt + opt_size > self.size:
            raise PEInvalid("truncated PE optional header")
        (magic,) = struct.unpack_from("<H", data, opt)
        if magic == 0x10B:
            self.bits, dd_count_at, dd_at = 32, 92, 96
            (self.image_base,) = struct.unpack_from("<I", data, opt + 28) if opt_size >= 32 else (0,)
        elif magic == 0x20B:
            self.bits, dd_count_at, dd_at = 64, 108, 112
            (self.image_base,) = struct.unpack_from("<Q", data, opt + 24) if opt_size >= 32 else (0,)
        else:
            raise PEInvalid(f"unknown PE optional header magic {magic:#x}")
        self.linker = (data[opt + 2], data[opt + 3]) if opt_size >= 4 else None
        self.os_version = struct.unpack_from("<HH", data, opt + 40) if opt_size >= 44 else None
        self.size_of_headers = struct.unpack_from("<I", data, opt + 60)[0] if opt_size >= 64 else 0
        self.subsystem = struct.unpack_from("<H", data, opt + 68)[0] if opt_size >= 70 else None
        ndirs = struct.unpack_from("<I", data, opt + dd_count_at)[0] if opt_size >= dd_count_at + 4 else 0
        ndirs = min(ndirs, 16, max(0, (opt_size - dd_at) // 8))
        self.dirs = [struct.unpack_from("<II", data, opt + dd_at + 8 * i) for i in range(ndirs)]
        self.notes: List[str] = []
        self.entries_left = self.size // 4 + 256
        self.name_bytes_left = 2 * self.size + (1 << 20)
        sect_at = opt + opt_size
        if nsect > MAX_SECTIONS:
            self.notes.append(f"{nsect} sections: only the first {MAX_SECTIONS} read")
            nsect = MAX_SECTIONS
        self.sections: List[Tuple[int, int, int, int]] = []  # (va, vsize, raw_ptr, raw_size)
        for i in range(nsect):
            at = sect_at + 40 * i
            if at + 40 > self.size:
                self.notes.append("section table truncated")
                break
            vsize, va, raw_size, raw_ptr = struct.unpack_from("<IIII", data, at + 8)
            self.sections.append((va, vsize, raw_ptr, raw_size))
        self._spans = sorted((va, va + max(vs, rs), rp, rs) for va, vs, rp, rs in self.sections)
        self._starts = [span[0] for span in self._spans]

    def over_budget(self, what: str) -> None:
        note = BUDGET_NOTE.format(what=what, size=self.size)
        if note not in self.notes:
            self.notes.append(note)

    def spend_names(self, n: int) -> bool:
        """Count ``n`` bytes of names read; False (and a note) once the file's budget is spent."""
        self.name_bytes_left -= n
        if self.name_bytes_left < 0:
            self.over_budget("names")
            return False
        return True

    def directory(self, index: int) -> Tuple[int, int]:
        return self.dirs[index] if index < len(self.dirs) else (0, 0)

    def offset(self, rva: int) -> Optional[int]:
        """The file offset of ``rva``, or None where it is outside every section's file data."""
        i = bisect.bisect_right(self._starts, rva) - 1
        if i >= 0:
            va, end, raw_ptr, raw_size = self._spans[i]
            if rva < end:
                delta = rva - va
                if delta >= raw_size:  # in the zero-filled tail: not backed by the file
                    return None
                off = raw_ptr + delta
                return off if off < self.size else None
        # Overlapping or unsorted section tables are legal but odd: fall back to a full scan.
        for va, end, raw_ptr, raw_size in self._spans:
            if va <= rva < end:
                delta = rva - va
                off = raw_ptr + delta
                return off if delta < raw_size and off < self.size else None
        if rva < max(self.size_of_headers, 1) and rva < self.size:
            return rva
        return None

    def cstring(self, rva: int) -> Optional[str]:
        off = self.offset(rva)
        if off is None:
            return None
        end = self.data.find(b"\0", off, min(off + MAX_NAME, self.size))
        if end < 0 or not self.spend_names(end - off):
            return None
        return bytes(self.data[off:end]).decode("latin-1")

    def names_at(self, rvas) -> Optional[List[str]]:
        """The NUL-terminated names at ``rvas`` when all lie in the file data of one section (the usual
        case: one decode of that section, then slicing); None where any is out of it (callers then take
        the careful path, which says what is wrong)."""
        if not rvas:
            return []
        lo, hi = min(rvas), max(rvas)
        i = bisect.bisect_right(self._starts, lo) - 1
        if i < 0 or bisect.bisect_right(self._starts, hi) - 1 != i:
            return None
        va, _end, raw_ptr, raw_size = self._spans[i]
        limit = min(raw_size, self.size - raw_ptr)
        if lo < va or hi - va >= limit:
            return None
        texts = self.__dict__.setdefault("_texts", {})
        text = texts.get(i)
        if text is None:
            text = texts[i] = bytes(self.data[raw_ptr:raw_ptr + limit]).decode("latin-1")
        find = text.find
        out = []
        total = 0
        for r in rvas:
            o = r - va
            e = find("\0", o, o + MAX_NAME)
            if e < 0:
                return None
            total += e - o
            if total > self.name_bytes_left:
                self.spend_names(total)
                return None
            out.append(text[o:e])
        self.spend_names(total)
        return out

    def u32(self, rva: int) -> Optional[int]:
        off = self.offset(rva)
        if off is None or off + 4 > self.size:
            return None
        return struct.unpack_from("<I", self.data, off)[0]


def parse(data) -> Dict[str, Any]:
    """The eager fields of a :class:`PEBinary` (headers, imported DLL names, load config).

    Raises :class:`PEInvalid` when the bytes are not a PE image."""
    img = _Image(data)
    needed: List[Needed] = []
    seen = set()
    for name in _import_dll_names(img):
        if name.lower() not in seen:
            seen.add(name.lower())
            needed.append(Needed(name))
    for name in _delay_dll_names(img):
        if name.lower() not in seen:
            seen.add(name.lower())
            needed.append(Needed(name, delay=True))
    machine = MACHINES.get(img.machine_id)
    notes = list(img.notes)
    if machine is None:
        machine = f"machine {img.machine_id:#06x}"
    is_dll = bool(img.characteristics & IMAGE_FILE_DLL)
    soname = _export_dll_name(img)
    return {
        "format": "pe",
        "bits": img.bits,
        "machine": machine,
        "endian": "little",
        "kind": "shared" if is_dll else "executable",
        "soname": soname,
        "needed": tuple(needed),
        "linker_version": img.linker,
        "os_version": tuple(img.os_version) if img.os_version else None,
        "subsystem": img.subsystem,
        "dependent_load_flags": _dependent_load_flags(img),
        "image_base": img.image_base,
        "notes": tuple(notes),
    }


def _import_descriptors(img: _Image):
    rva, size = img.directory(DIR_IMPORT)
    if not rva:
        return
    off = img.offset(rva)
    if off is None:
        img.notes.append("import directory outside the file")
        return
    for i in range(MAX_DESCRIPTORS):
        at = off + 20 * i
        if at + 20 > img.size:
            img.notes.append("import directory truncated")
            return
        oft, _ts, _fc, name_rva, ft = struct.unpack_from("<IIIII", img.data, at)
        if not (oft or name_rva or ft):
            return
        yield oft, name_rva, ft
    img.notes.append("import directory not terminated")


def _import_dll_names(img: _Image) -> List[str]:
    out = []
    for _oft, name_rva, _ft in _import_descriptors(img):
        name = img.cstring(name_rva)
        if name is None:
            img.notes.append(f"import descriptor with an unreadable name (rva {name_rva:#x})")
            continue
        out.append(name)
    return out


def _delay_descriptors(img: _Image):
    rva, _size = img.directory(DIR_DELAY_IMPORT)
    if not rva:
        return
    off = img.offset(rva)
    if off is None:
        img.notes.append("delay-import directory outside the file")
        return
    for i in range(MAX_DESCRIPTORS):
        at = off + 32 * i
        if at + 32 > img.size:
            img.notes.append("delay-import directory truncated")
            return
        attrs, name, _hmod, iat, int_, _biat, _uiat, _ts = struct.unpack_from("<8I", img.data, at)
        if not (name or iat or int_):
            return
        if not attrs & 1:
            # Visual C++ 6 descriptors hold virtual addresses, not RVAs (dloadsup "rvaBased" bit clear).
            base = img.image_base
            name, int_ = (name - base) & 0xFFFFFFFF, (int_ - base) & 0xFFFFFFFF if int_ else 0
        yield name, int_


def _delay_dll_names(img: _Image) -> List[str]:
    out = []
    for name_rva, _int in _delay_descriptors(img):
        name = img.cstring(name_rva)
        if name is None:
            img.notes.append(f"delay-import descriptor with an unreadable name (rva {name_rva:#x})")
            continue
        out.append(name)
    return out


def _thunk_values(img: _Image, rva: int, dll: str) -> List[int]:
    """The import lookup table at ``rva``, up to its zero entry (notes on damage go to ``img.notes``)."""
    width = 8 if img.bits == 64 else 4
    values: List[int] = []
    off = img.offset(rva)
    if off is None:
        img.notes.append(f"import name table of {dll} outside the file")
        return values
    data, size = img.data, img.size
    cap = min(MAX_THUNKS, img.entries_left)
    if cap <= 0:
        img.over_budget("import tables")
        return values
    # Read the lookup table in blocks (a C++ module imports thousands of names from one DLL).
    block = 256
    done = False
    while not done and len(values) < cap:
        end = min(off + block * width, size - (size - off) % width)
        if end <= off:
            img.notes.append(f"import name table of {dll} truncated")
            break
        chunk = struct.unpack_from(f"<{(end - off) // width}{'Q' if width == 8 else 'I'}", data, off)
        try:
            stop = chunk.index(0)
            values.extend(chunk[:stop])
            done = True
        except ValueError:
            values.extend(chunk)
            if end >= size - width + 1:
                img.notes.append(f"import name table of {dll} truncated")
                break
        off = end
        block *= 4
    if len(values) > cap:
        del values[cap:]
    img.entries_left -= len(values)
    return values


def _thunks(img: _Image, rva: int, dll: str, delay: bool) -> List[PEImport]:
    out: List[PEImport] = []
    if not rva:
        return out
    width = 8 if img.bits == 64 else 4
    flag = 1 << (width * 8 - 1)
    values = _thunk_values(img, rva, dll)
    data, size = img.data, img.size
    # Names usually sit together in one section: remember it rather than look it up every time.
    span = None
    find = data.find
    for value in values:
        if value & flag:
            out.append(PEImport(dll, None, value & 0xFFFF, delay))
            continue
        hint_rva = value & 0x7FFFFFFF
        if span is None or not (span[0] <= hint_rva < span[1]):
            i = bisect.bisect_right(img._starts, hint_rva) - 1
            span = img._spans[i] if i >= 0 and hint_rva < img._spans[i][1] else None
        hoff = None
        if span is not None and hint_rva - span[0] + 2 < span[3]:
            hoff = span[2] + hint_rva - span[0]
        elif span is None:
            hoff = img.offset(hint_rva)
        if hoff is None or hoff + 2 > size:
            img.notes.append(f"import of {dll} with an unreadable name (rva {hint_rva:#x})")
            continue
        nend = find(b"\0", hoff + 2, min(hoff + 2 + MAX_NAME, size))
        if nend < 0:
            img.notes.append(f"import of {dll} with an unreadable name (rva {hint_rva:#x})")
            continue
        if not img.spend_names(nend - hoff):
            break
        hint = data[hoff] | (data[hoff + 1] << 8)
        out.append(PEImport(dll, data[hoff + 2:nend].decode("latin-1"), None, delay, hint))
    return out


def _export_header(img: _Image):
    rva, size = img.directory(DIR_EXPORT)
    if not rva:
        return None
    off = img.offset(rva)
    if off is None or off + 40 > img.size:
        img.notes.append("export directory outside the file")
        return None
    fields = struct.unpack_from("<IIHHIIIIIII", img.data, off)
    return rva, size, fields


def _export_dll_name(img: _Image) -> Optional[str]:
    head = _export_header(img)
    if head is None:
        return None
    return img.cstring(head[2][4])


def _exports(img: _Image) -> PEExports:
    head = _export_header(img)
    if head is None:
        return PEExports()
    dir_rva, dir_size, f = head
    _ch, _ts, _maj, _min, name_rva, base, nfuncs, nnames, funcs_rva, names_rva, ords_rva = f
    dll_name = img.cstring(name_rva)
    if nfuncs > MAX_EXPORTS or nnames > MAX_EXPORTS:
        img.notes.append(f"export table claims {nfuncs} functions and {nnames} names: read capped")
        nfuncs, nnames = min(nfuncs, MAX_EXPORTS), min(nnames, MAX_EXPORTS)
    ordinals = set()
    forwarders: Dict[int, str] = {}
    foff = img.offset(funcs_rva) if nfuncs else None
    if nfuncs and (foff is None or foff + 4 * nfuncs > img.size):
        img.notes.append("export address table outside the file")
        nfuncs = 0
    addrs = struct.unpack_from(f"<{nfuncs}I", img.data, foff) if nfuncs else ()
    for i, addr in enumerate(addrs):
        if not addr:
            continue
        ordinal = base + i
        ordinals.add(ordinal)
        if dir_rva <= addr < dir_rva + dir_size:  # a forwarder string, not code
            target = img.cstring(addr)
            if target is not None:
                forwarders[ordinal] = target
    names: Dict[str, int] = {}
    noff = img.offset(names_rva) if nnames else None
    ooff = img.offset(ords_rva) if nnames else None
    if nnames and (noff is None or ooff is None or noff + 4 * nnames > img.size
                   or ooff + 2 * nnames > img.size):
        img.notes.append("export name table outside the file")
        nnames = 0
    if nnames:
        name_rvas = struct.unpack_from(f"<{nnames}I", img.data, noff)
        idxs = struct.unpack_from(f"<{nnames}H", img.data, ooff)
        fast = img.names_at(name_rvas) if max(idxs) < len(addrs) else None
        if fast is not None:
            names = dict(zip(fast, [base + i for i in idxs]))
            if len(names) != len(fast):  # a name twice: the first one counts
                names = {}
                for name, idx in zip(fast, idxs):
                    names.setdefault(name, base + idx)
            return PEExports(dll_name, base, names, frozenset(ordinals), forwarders)
        for nrva, idx in zip(name_rvas, idxs):
            name = img.cstring(nrva)
            if name is None:
                img.notes.append(f"export name unreadable (rva {nrva:#x})")
                continue
            if idx >= len(addrs):
                img.notes.append(f"export {name} points past the address table")
                continue
            names.setdefault(name, base + idx)
    return PEExports(dll_name, base, names, frozenset(ordinals), forwarders)


def _dependent_load_flags(img: _Image) -> int:
    rva, _size = img.directory(DIR_LOAD_CONFIG)
    if not rva:
        return 0
    off = img.offset(rva)
    if off is None or off + 4 > img.size:
        return 0
    (struct_size,) = struct.unpack_from("<I", img.data, off)
    # IMAGE_LOAD_CONFIG_DIRECTORY{32,64}.DependentLoadFlags: after CSDVersion, at 54 / 78.
    at = 78 if img.bits == 64 else 54
    if struct_size < at + 2 or off + at + 2 > img.size:
        return 0
    return struct.unpack_from("<H", img.data, off + at)[0]


def parse_imports(data) -> Tuple[Tuple[PEImport, ...], Tuple[str, ...]]:
    """Imported functions, static imports first then delay-load imports, with notes on damage."""
    img = _Image(data)
    imports: List[PEImport] = []
    for oft, name_rva, ft in _import_descriptors(img):
        dll = img.cstring(name_rva)
        if dll is None:
            continue
        # The import lookup table; old binders left only the address table (then it is the same).
        imports.extend(_thunks(img, oft or ft, dll, False))
    for name_rva, int_rva in _delay_descriptors(img):
        dll = img.cstring(name_rva)
        if dll is None:
            continue
        imports.extend(_thunks(img, int_rva, dll, True))
    return tuple(imports), tuple(dict.fromkeys(img.notes))


def parse_import_groups(data) -> Optional[Tuple[Tuple[str, FrozenSet[str], FrozenSet[int]], ...]]:
    """(DLL name, imported names, imported ordinals) per static import descriptor, without building a
    :class:`PEImport` per function; None when anything about the tables is unusual (then
    :func:`parse_imports` is the answer, with its notes)."""
    img = _Image(data)
    out = []
    for oft, name_rva, ft in _import_descriptors(img):
        dll = img.cstring(name_rva)
        rva = oft or ft
        if dll is None or not rva:
            return None
        values = _thunk_values(img, rva, dll)
        if img.notes:
            return None
        width = 8 if img.bits == 64 else 4
        flag = 1 << (width * 8 - 1)
        ordinals = frozenset(v & 0xFFFF for v in values if v & flag)
        names = img.names_at([(v & 0x7FFFFFFF) + 2 for v in values if not v & flag])
        if names is None:
            return None
        out.append((dll, frozenset(names), ordinals))
    if img.notes:
        return None
    return tuple(out)


def parse_exports(data) -> Tuple[PEExports, Tuple[str, ...]]:
    """The export table (names, ordinals, forwarders), with notes on damage."""
    img = _Image(data)
    exports = _exports(img)
    return exports, tuple(dict.fromkeys(img.notes))


def parse_tables(data) -> Tuple[Tuple[PEImport, ...], PEExports, Tuple[str, ...]]:
    """Imported functions and the export table together, with notes on damage."""
    imports, n1 = parse_imports(data)
    exports, n2 = parse_exports(data)
    return imports, exports, tuple(dict.fromkeys(n1 + n2))


def version_info(data) -> Dict[str, str]:
    """``FileVersion``/``ProductVersion`` from VS_FIXEDFILEINFO (dotted) plus the StringFileInfo strings.

    pefile decodes the resource tree and the version block; only the resource directory is parsed."""
    import pefile

    pe = pefile.PE(data=bytes(data) if not isinstance(data, (bytes, bytearray)) else data, fast_load=True)
    try:
        pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]])
    except Exception:
        return {}
    out: Dict[str, str] = {}
    fixed = getattr(pe, "VS_FIXEDFILEINFO", None)
    if fixed:
        ffi = fixed[0]
        out["FileVersion"] = "%d.%d.%d.%d" % (ffi.FileVersionMS >> 16, ffi.FileVersionMS & 0xFFFF,
                                              ffi.FileVersionLS >> 16, ffi.FileVersionLS & 0xFFFF)
        out["ProductVersion"] = "%d.%d.%d.%d" % (ffi.ProductVersionMS >> 16, ffi.ProductVersionMS & 0xFFFF,
                                                 ffi.ProductVersionLS >> 16, ffi.ProductVersionLS & 0xFFFF)
    for info in getattr(pe, "FileInfo", None) or []:
        for entry in info:
            for table in getattr(entry, "StringTable", []) or []:
                for key, value in table.entries.items():
                    k = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
                    v = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                    if k == "FileVersion":
                        k = "FileVersionString"
                    out.setdefault(k, v)
    return out


# -- the reader binary.read_binary dispatches to ---------------------------------------------------

def read_pe(path: str, data, file_id, mapper: Callable[[], Any]) -> PEBinary:
    """A :class:`PEBinary` for ``path`` from its mapped bytes; ``mapper`` maps the file again later."""
    try:
        fields = parse(data)
    except PEInvalid as exc:
        return PEBinary(path=path, format="pe" if bytes(data[:2]) == b"MZ" else "unknown",
                        error=str(exc), file_id=file_id)
    except Exception as exc:  # the reader is defensive; this is the last net
        return PEBinary(path=path, format="pe", error=f"unreadable PE file: {exc!r}", file_id=file_id)

    memo: Dict[str, Any] = {}
    lock = threading.Lock()

    def tables(which: str):
        # One parse per table, shared by PEBinary.imports/.exports and the neutral symbol views.
        with lock:
            if which not in memo:
                memo[which] = {"imports": parse_imports, "exports": parse_exports,
                               "groups": parse_import_groups}[which](mapper())
            return memo[which]

    def symbols(kind: str):
        imports, n1 = tables("imports")
        imported = tuple(Symbol(i.label, None, i.dll, weak=i.delay) for i in imports)
        if kind == "imports":
            return imported, n1
        exports, n2 = tables("exports")
        if kind == "index":
            return _ExportIndex(exports)
        return imported, _exported_symbols(exports), tuple(dict.fromkeys(n1 + n2))

    return PEBinary(path=path, file_id=file_id, _tables_reader=tables, _bytes_reader=mapper,
                    _symbol_reader=symbols, **fields)


def _exported_symbols(exports: PEExports) -> Tuple[Symbol, ...]:
    """The export table as neutral symbols: ordinal-only exports as ``#N``, forwarders as ``library``."""
    by_ordinal = {o: n for n, o in exports.names.items()}
    return tuple(Symbol(by_ordinal.get(o, f"#{o}"), None, exports.forwarders.get(o))
                 for o in sorted(exports.ordinals))


class _ExportIndex:
    """``lookup(name)`` over a PE export table, as :meth:`Binary.lookup_export` expects."""

    def __init__(self, exports: PEExports) -> None:
        self.exports = exports

    def lookup(self, name: str):
        if name.startswith("#") and name[1:].isdigit():
            return ((None, False),) if int(name[1:]) in self.exports.ordinals else ()
        return ((None, False),) if name in self.exports.names else ()
