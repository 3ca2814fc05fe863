"""Mach-O files (macOS .so / .dylib / executables, thin or fat) as a neutral Binary.

A small reader of the load commands dyld looks at, checked in the tests against macholib and
``llvm-objdump --macho``: LC_LOAD_DYLIB / LC_LOAD_WEAK_DYLIB / LC_REEXPORT_DYLIB / LC_LAZY_LOAD_DYLIB /
LC_LOAD_UPWARD_DYLIB (with their compatibility versions), LC_ID_DYLIB, LC_RPATH, LC_BUILD_VERSION /
LC_VERSION_MIN_MACOSX (the minimum OS), LC_UUID, and - lazily - the symbol table: undefined
externals with their two-level-namespace library ordinal (imports) and defined externals (exports).

A fat (universal) file becomes a :class:`MachOBinary` whose :attr:`MachOBinary.slices` holds one
thin record per architecture; its own fields are those of the first slice, and the loader model
picks the slice the process would (:func:`pick_slice`). Layouts: ``<mach-o/loader.h>``,
``<mach-o/fat.h>``, ``<mach-o/nlist.h>`` (Apple's cctools / xnu EXTERNAL_HEADERS).

Nothing here raises on a hostile file: an unusable header becomes ``error``, a bad command a note.
"""
from __future__ import annotations

import struct
import threading
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from .binary import Binary, Needed, Symbol

__all__ = ["MachOBinary", "Dylib", "MachOInvalid", "CPU_TYPES", "parse", "parse_symbols", "read_macho",
           "pick_slice", "format_version"]

MH_MAGIC, MH_CIGAM, MH_MAGIC_64, MH_CIGAM_64 = 0xFEEDFACE, 0xCEFAEDFE, 0xFEEDFACF, 0xCFFAEDFE
FAT_MAGIC, FAT_MAGIC_64 = 0xCAFEBABE, 0xCAFEBABF
CPU_ARCH_ABI64 = 0x01000000
#: cputype -> the machine name dyld prints in "have 'x86_64', need 'arm64'".
CPU_TYPES = {7: "i386", 7 | CPU_ARCH_ABI64: "x86_64", 12: "arm", 12 | CPU_ARCH_ABI64: "arm64",
             18: "ppc", 18 | CPU_ARCH_ABI64: "ppc64", 0x0200000C: "arm64_32"}
CPU_SUBTYPE_ARM64E = 2
FILETYPES = {1: "relocatable", 2: "executable", 6: "shared", 7: "dylinker", 8: "bundle", 9: "stub",
             4: "core", 0xB: "kext"}
LC_REQ_DYLD = 0x80000000
LC_SYMTAB, LC_LOAD_DYLIB, LC_ID_DYLIB = 0x2, 0xC, 0xD
LC_LOAD_WEAK_DYLIB, LC_RPATH, LC_REEXPORT_DYLIB = 0x18 | LC_REQ_DYLD, 0x1C | LC_REQ_DYLD, 0x1F | LC_REQ_DYLD
LC_LAZY_LOAD_DYLIB, LC_LOAD_UPWARD_DYLIB = 0x20, 0x23 | LC_REQ_DYLD
LC_UUID, LC_VERSION_MIN_MACOSX, LC_BUILD_VERSION = 0x1B, 0x24, 0x32
LC_DYLD_CHAINED_FIXUPS, LC_DYLD_EXPORTS_TRIE = 0x34 | LC_REQ_DYLD, 0x33 | LC_REQ_DYLD
DYLIB_COMMANDS = {LC_LOAD_DYLIB: "load", LC_LOAD_WEAK_DYLIB: "weak", LC_REEXPORT_DYLIB: "reexport",
                  LC_LAZY_LOAD_DYLIB: "lazy", LC_LOAD_UPWARD_DYLIB: "upward"}
MH_TWOLEVEL = 0x80
N_STAB, N_TYPE, N_EXT, N_UNDF, N_SECT, N_INDR = 0xE0, 0x0E, 0x01, 0x0, 0xE, 0xA
N_WEAK_REF, N_WEAK_DEF = 0x40, 0x80
SELF_LIBRARY_ORDINAL, DYNAMIC_LOOKUP_ORDINAL, EXECUTABLE_ORDINAL = 0x0, 0xFE, 0xFF
MAX_COMMANDS = 4096
MAX_SLICES = 32
MAX_SYMBOLS = 1 << 21


class MachOInvalid(ValueError):
    """The bytes are not a Mach-O image dyld would map."""


class Dylib(NamedTuple):
    """One LC_*_DYLIB command: the install name asked for, how, and the versions recorded."""

    name: str
    kind: str                 # load | weak | reexport | lazy | upward
    current_version: int = 0
    compatibility_version: int = 0


def format_version(v: int) -> str:
    """dyld's packed X.Y.Z (16.8.8 bits)."""
    return f"{v >> 16}.{(v >> 8) & 0xFF}.{v & 0xFF}"


class MachOBinary(Binary):
    """A :class:`Binary` read from a Mach-O file (one slice, or a fat file with :attr:`slices`)."""

    dylibs: Tuple[Dylib, ...] = ()
    #: LC_ID_DYLIB (current, compatibility) versions of a dylib.
    id_versions: Optional[Tuple[int, int]] = None
    cpusubtype: int = 0
    min_os: Optional[Tuple[int, ...]] = None
    platform_id: Optional[int] = None
    uuid: Optional[str] = None
    two_level: bool = True
    chained_fixups: bool = False
    #: The architectures of a fat file, each a thin MachOBinary; () for a thin file.
    slices: Tuple["MachOBinary", ...] = ()
    #: Offset of this slice in the file (0 for a thin file).
    offset: int = 0

    @property
    def archs(self) -> Tuple[str, ...]:
        if self.slices:
            return tuple(s.arch for s in self.slices)
        return (self.arch,) if self.machine else ()

    @property
    def arch(self) -> str:
        """The name dyld uses: arm64e for an arm64 slice of subtype 2."""
        if self.machine == "arm64" and (self.cpusubtype & 0xFF) == CPU_SUBTYPE_ARM64E:
            return "arm64e"
        return self.machine or "?"


def pick_slice(binary: MachOBinary, arch: str) -> Optional[MachOBinary]:
    """The slice a process of ``arch`` loads (arm64e processes also take arm64 slices); None if none."""
    if not binary.slices:
        return binary if _compatible(binary.arch, arch) else None
    exact = [s for s in binary.slices if s.arch == arch]
    if exact:
        return exact[0]
    for s in binary.slices:
        if _compatible(s.arch, arch):
            return s
    return None


def _compatible(have: str, need: str) -> bool:
    return have == need or (need == "arm64e" and have == "arm64")


# -- parsing ------------------------------------------------------------------------------------------

def _cstr(data, start: int, end: int) -> Optional[str]:
    if start < 0 or start >= end:
        return None
    stop = data.find(b"\0", start, end)
    raw = bytes(data[start:end if stop < 0 else stop])
    return raw.decode("utf-8", "replace")


def parse(data) -> Dict[str, Any]:
    """The eager fields of a :class:`MachOBinary`. Raises :class:`MachOInvalid` when not Mach-O."""
    size = len(data)
    if size < 4:
        raise MachOInvalid("file too short")
    (magic,) = struct.unpack_from(">I", data, 0)
    if magic in (FAT_MAGIC, FAT_MAGIC_64):
        if size < 8:
            raise MachOInvalid("truncated fat header")
        (nfat,) = struct.unpack_from(">I", data, 4)
        if nfat > MAX_SLICES:
            # 0xCAFEBABE is also a Java class file; a Mach-O fat file never has this many slices.
            raise MachOInvalid(f"not a mach-o file (fat header claims {nfat} slices)")
        slices = []
        notes = []
        width = 32 if magic == FAT_MAGIC_64 else 20
        for i in range(nfat):
            at = 8 + width * i
            if at + width > size:
                notes.append("fat header truncated")
                break
            if magic == FAT_MAGIC_64:
                _ct, _cs, off, sz, _al = struct.unpack_from(">iiQQI", data, at)
            else:
                _ct, _cs, off, sz, _al = struct.unpack_from(">iiIII", data, at)
            if off >= size or off + sz > size:
                notes.append(f"slice {i} lies outside the file")
                continue
            try:
                fields = _parse_thin(memoryview(data)[off:off + sz])
            except MachOInvalid as exc:
                notes.append(f"slice {i}: {exc}")
                continue
            fields["offset"] = off
            slices.append(fields)
        if not slices:
            raise MachOInvalid("fat file without a readable slice" + (f" ({notes[0]})" if notes else ""))
        first = dict(slices[0])
        first["notes"] = tuple(notes) + tuple(first.get("notes", ()))
        first["_slices"] = slices
        return first
    return _parse_thin(data)


def _parse_thin(data) -> Dict[str, Any]:
    size = len(data)
    if size < 28:
        raise MachOInvalid("file too short")
    (magic,) = struct.unpack_from("<I", data, 0)
    if magic in (MH_MAGIC, MH_MAGIC_64):
        e = "<"
    elif magic in (MH_CIGAM, MH_CIGAM_64):
        e = ">"
    else:
        raise MachOInvalid("not a mach-o file")
    is64 = magic in (MH_MAGIC_64, MH_CIGAM_64)
    cputype, cpusubtype, filetype, ncmds, sizeofcmds, flags = struct.unpack_from(e + "iIIIII", data, 4)
    at = 32 if is64 else 28
    size_all = size
    # Only the header and load commands are read (a slice may be a view into a mapped fat file).
    data = bytes(data[:min(size, at + sizeofcmds)])
    size = len(data)
    notes: List[str] = []
    if ncmds > MAX_COMMANDS:
        notes.append(f"{ncmds} load commands: only {MAX_COMMANDS} read")
        ncmds = MAX_COMMANDS
    end_cmds = min(size, at + sizeofcmds)
    if at + sizeofcmds > size_all:
        notes.append("load commands run past the end of the file")
    dylibs: List[Dylib] = []
    rpaths: List[str] = []
    install_name = None
    id_versions = None
    min_os = None
    platform_id = None
    uuid = None
    symtab = None
    chained = False
    for _ in range(ncmds):
        if at + 8 > end_cmds:
            notes.append("load commands truncated")
            break
        cmd, cmdsize = struct.unpack_from(e + "II", data, at)
        if cmdsize < 8 or at + cmdsize > end_cmds:
            notes.append(f"load command {cmd:#x} with a bad size {cmdsize}")
            break
        if cmd in DYLIB_COMMANDS or cmd == LC_ID_DYLIB:
            if cmdsize >= 24:
                off, _ts, cur, compat = struct.unpack_from(e + "IIII", data, at + 8)
                name = _cstr(data, at + off, at + cmdsize)
                if name is None:
                    notes.append(f"dylib command with a bad name offset {off}")
                elif cmd == LC_ID_DYLIB:
                    install_name, id_versions = name, (cur, compat)
                else:
                    dylibs.append(Dylib(name, DYLIB_COMMANDS[cmd], cur, compat))
        elif cmd == LC_RPATH and cmdsize >= 12:
            (off,) = struct.unpack_from(e + "I", data, at + 8)
            path = _cstr(data, at + off, at + cmdsize)
            if path is None:
                notes.append(f"LC_RPATH with a bad offset {off}")
            else:
                rpaths.append(path)
        elif cmd == LC_BUILD_VERSION and cmdsize >= 24:
            platform_id, minos = struct.unpack_from(e + "II", data, at + 8)
            min_os = (minos >> 16, (minos >> 8) & 0xFF, minos & 0xFF)
        elif cmd == LC_VERSION_MIN_MACOSX and cmdsize >= 16:
            (minos,) = struct.unpack_from(e + "I", data, at + 8)
            min_os, platform_id = (minos >> 16, (minos >> 8) & 0xFF, minos & 0xFF), 1
        elif cmd == LC_UUID and cmdsize >= 24:
            uuid = bytes(data[at + 8:at + 24]).hex().upper()
        elif cmd == LC_SYMTAB and cmdsize >= 24:
            symtab = struct.unpack_from(e + "IIII", data, at + 8)
        elif cmd == LC_DYLD_CHAINED_FIXUPS:
            chained = True
        at += cmdsize
    machine = CPU_TYPES.get(cputype, f"cputype {cputype:#x}")
    needed = tuple(Needed(d.name, weak=d.kind == "weak") for d in dylibs)
    return {
        "format": "macho", "bits": 64 if is64 else 32, "machine": machine,
        "endian": "little" if e == "<" else "big", "kind": FILETYPES.get(filetype, f"filetype {filetype}"),
        "soname": install_name, "needed": needed, "rpath": tuple(rpaths), "notes": tuple(notes),
        "flags": frozenset({"two-level"} if flags & MH_TWOLEVEL else ()),
        "dylibs": tuple(dylibs), "id_versions": id_versions, "cpusubtype": cpusubtype, "min_os": min_os,
        "platform_id": platform_id, "uuid": uuid, "two_level": bool(flags & MH_TWOLEVEL),
        "chained_fixups": chained, "_symtab": symtab, "_endian": e, "_is64": is64,
    }


def parse_symbols(data, symtab, endian: str, is64: bool, dylibs: Tuple[Dylib, ...],
                  imports_only: bool = False) -> Tuple[Tuple[Symbol, ...], Tuple[Symbol, ...], Tuple[str, ...]]:
    """(imported, exported, notes) from LC_SYMTAB of one slice (``data`` is that slice's bytes).

    An import's ``library`` is the install name its two-level ordinal names; "flat" for
    dynamic_lookup (the symbol is looked up in the whole process: Python's C API in an extension)."""
    if symtab is None:
        return (), (), ()
    symoff, nsyms, stroff, strsize = symtab
    size = len(data)
    notes: List[str] = []
    width = 16 if is64 else 12
    if nsyms > MAX_SYMBOLS:
        notes.append(f"{nsyms} symbols: only {MAX_SYMBOLS} read")
        nsyms = MAX_SYMBOLS
    if symoff + width * nsyms > size:
        notes.append("symbol table runs past the end of the file")
        nsyms = max(0, (size - symoff) // width) if symoff < size else 0
    strend = min(size, stroff + strsize)
    strtab = bytes(data[stroff:strend]) if stroff < strend else b""
    fmt = endian + ("IBBHQ" if is64 else "IBBHI")
    imported: List[Symbol] = []
    exported: List[Symbol] = []
    find = strtab.find
    ntab = len(strtab)
    # Reading budget: a real file names each symbol once, so names that overlap (every entry pointing
    # at one long string) are cut off here with a note instead of being decoded thousands of times.
    budget = 2 * size + (1 << 20)
    bad_ordinals = 0
    for strx, ntype, _sect, desc, _value in struct.iter_unpack(fmt, bytes(data[symoff:symoff + width * nsyms])):
        if ntype & N_STAB or not ntype & N_EXT:
            continue
        kind = ntype & N_TYPE
        if strx == 0 or strx >= ntab:
            continue
        stop = find(b"\0", strx)
        end = ntab if stop < 0 else stop
        budget -= end - strx
        if budget < 0:
            notes.append(f"symbol names exceed this file's reading budget ({size} bytes): the rest was not read")
            break
        name = strtab[strx:end].decode("utf-8", "replace")
        if kind == N_UNDF:
            ordinal = (desc >> 8) & 0xFF
            if ordinal == DYNAMIC_LOOKUP_ORDINAL:
                lib = "flat"
            elif ordinal == EXECUTABLE_ORDINAL:
                lib = "@executable"
            elif ordinal == SELF_LIBRARY_ORDINAL:
                lib = None
            elif ordinal - 1 < len(dylibs):
                lib = dylibs[ordinal - 1].name
            else:
                bad_ordinals += 1
                if bad_ordinals <= 20:
                    notes.append(f"{name[:200]}: library ordinal {ordinal} past the {len(dylibs)} dylibs")
                lib = None
            imported.append(Symbol(name, None, lib, weak=bool(desc & N_WEAK_REF)))
        elif not imports_only and kind in (N_SECT, N_INDR):
            exported.append(Symbol(name, None, None, weak=bool(desc & N_WEAK_DEF)))
    if bad_ordinals > 20:
        notes.append(f"... and {bad_ordinals - 20} more symbols with a library ordinal past the dylibs")
    return tuple(imported), tuple(exported), tuple(notes)


# -- the reader binary.read_binary dispatches to -------------------------------------------------------

def read_macho(path: str, data, file_id, mapper: Callable[[], Any]) -> MachOBinary:
    try:
        fields = parse(data)
    except MachOInvalid as exc:
        return MachOBinary(path=path, format="unknown" if "not a mach-o" in str(exc) else "macho",
                           error=str(exc), file_id=file_id)
    except Exception as exc:  # the reader is defensive; this is the last net
        return MachOBinary(path=path, format="macho", error=f"unreadable Mach-O file: {exc!r}", file_id=file_id)
    slices = fields.pop("_slices", None)
    if slices:
        built = tuple(_build(path, f, file_id, mapper) for f in slices)
        top = _build(path, dict(slices[0], notes=fields["notes"]), file_id, mapper)
        return top.replace(slices=built)
    return _build(path, fields, file_id, mapper)


def _build(path: str, fields: Dict[str, Any], file_id, mapper) -> MachOBinary:
    fields = dict(fields)
    symtab = fields.pop("_symtab", None)
    endian = fields.pop("_endian", "<")
    is64 = fields.pop("_is64", True)
    offset = fields.get("offset", 0)
    dylibs = fields["dylibs"]
    memo: Dict[str, Any] = {}
    lock = threading.Lock()

    def symbols(kind: str):
        with lock:
            if "all" not in memo:
                data = mapper()
                view = memoryview(data)[offset:] if offset else data
                memo["all"] = parse_symbols(view, symtab, endian, is64, dylibs)
        imported, exported, notes = memo["all"]
        if kind == "imports":
            return imported, notes
        if kind == "index":
            return None
        return memo["all"]

    return MachOBinary(path=path, file_id=file_id, _symbol_reader=symbols, **fields)
