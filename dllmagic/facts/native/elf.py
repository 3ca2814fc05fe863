"""A small ELF reader: the facts ld.so uses, read the way ld.so reads them.

Only what the loader needs: the file header, the program headers (PT_INTERP, PT_DYNAMIC, PT_LOAD,
PT_GNU_STACK), the dynamic section (DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_SONAME, DT_FLAGS, DT_FLAGS_1)
and, through it, the version tables (DT_VERNEED, DT_VERDEF, DT_VERSYM) and the dynamic symbol table.
Like ld.so, and unlike a section-based reader, it finds everything through the program headers and the
virtual addresses in the dynamic section, so a stripped section table does not hide anything the loader
sees. The section table is consulted only as a fallback to size the symbol table.

The input is hostile: every offset and count is checked against the file; a problem becomes a note
(the part is skipped) or the ``error`` (the loader would refuse the file). Nothing raises.

Tested against pyelftools, ``readelf`` and ``objdump`` on every fixture and on real wheels
(tests/native/test_elf_reader.py).
"""
from __future__ import annotations

import struct
from itertools import compress
from operator import mul as _mul
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import Any, Dict, List, Optional, Tuple

from .binary import Needed, Symbol, VersionNeed

__all__ = ["parse", "parse_symbols", "MACHINES"]

# e_machine -> the name used across dllmagic (uname -m spelling where there is one).
MACHINES = {
    3: "i386", 8: "mips", 20: "ppc", 21: "ppc64", 22: "s390x", 40: "arm", 50: "ia64",
    62: "x86_64", 183: "aarch64", 243: "riscv", 258: "loongarch", 2: "sparc", 43: "sparcv9",
}
E_TYPES = {1: "relocatable", 2: "executable", 3: "shared", 4: "core"}

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
PT_GNU_STACK = 0x6474E551
PF_X = 1

DT_NULL, DT_NEEDED, DT_HASH, DT_STRTAB, DT_SYMTAB = 0, 1, 4, 5, 6
DT_STRSZ, DT_SYMENT, DT_SONAME, DT_RPATH = 10, 11, 14, 15
DT_FLAGS, DT_RUNPATH = 30, 29
DT_GNU_HASH = 0x6FFFFEF5
DT_VERSYM, DT_VERDEF, DT_VERDEFNUM = 0x6FFFFFF0, 0x6FFFFFFC, 0x6FFFFFFD
DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFFFE, 0x6FFFFFFF
DT_FLAGS_1 = 0x6FFFFFFB

DF_NAMES = {0x1: "origin", 0x2: "symbolic", 0x4: "textrel", 0x8: "bind_now", 0x10: "static_tls"}
DF_1_NAMES = {
    0x1: "now", 0x2: "global", 0x4: "group", 0x8: "nodelete", 0x10: "loadfltr", 0x20: "initfirst",
    0x40: "noopen", 0x80: "origin", 0x100: "direct", 0x400: "interpose", 0x800: "nodeflib",
    0x1000: "nodump", 0x8000000: "pie",
}

VER_FLG_BASE, VER_FLG_WEAK = 0x1, 0x2
SHT_DYNSYM = 11
STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE = 1, 2, 10
STT_SECTION, STT_FILE = 3, 4
STV_DEFAULT, STV_PROTECTED = 0, 3

#: Safety valves against loops and absurd counts in hostile files.
MAX_DYN = 1 << 16
MAX_CHAIN = 1 << 16
MAX_SYMBOLS = 1 << 22
#: Reading budgets per file, scaled to its size: a real file holds each version record (8 bytes or more)
#: once and each name once, so a file whose chains share records or whose names overlap is cut off here
#: (a note says so) instead of being read a million times over.
BUDGET_NOTE = "{what} exceed this file's reading budget ({size} bytes): the rest was not read"


def entry_budget(size: int) -> int:
    return size // 8 + 256


def name_budget(size: int) -> int:
    return 2 * size + (1 << 20)


class _Layout:
    """Precompiled struct formats for one (byte order, class): built once per process, not per file."""

    def __init__(self, e: str, is64: bool) -> None:
        self.hdr = struct.Struct(e + ("HHIQQQIHHHHHH" if is64 else "HHIIIIIHHHHHH"))
        self.phdr = struct.Struct(e + ("IIQQQQQQ" if is64 else "IIIIIIII"))
        self.dyn = struct.Struct(e + ("qQ" if is64 else "iI"))
        self.sym = struct.Struct(e + ("IBBHQQ" if is64 else "IIIBBH"))
        self.shdr = struct.Struct(e + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII"))
        self.verneed = struct.Struct(e + "HHIII")
        self.vernaux = struct.Struct(e + "IHHII")
        self.verdef = struct.Struct(e + "HHHHIII")
        self.u32 = struct.Struct(e + "I")


_LAYOUTS = {(e, b): _Layout(e, b) for e in "<>" for b in (False, True)}


class _Elf:
    """The parts of one file needed to follow addresses; built once per parse."""

    def __init__(self, data) -> None:
        self.data = data
        self.size = len(data)
        self.notes: List[str] = []
        self.error: Optional[str] = None
        self.entries_left = entry_budget(self.size)
        self.name_bytes_left = name_budget(self.size)
        ident = bytes(data[:16])
        if len(ident) < 16:
            self.error = "file too short"
            return
        self.bits = {1: 32, 2: 64}.get(ident[4])
        self.endian = {1: "little", 2: "big"}.get(ident[5])
        if self.bits is None:
            self.error = f"invalid ELF class {ident[4]}"
            return
        if self.endian is None:
            self.error = f"invalid ELF data encoding {ident[5]}"
            return
        self.e = "<" if self.endian == "little" else ">"
        is64 = self.bits == 64
        self.lay = lay = _LAYOUTS[(self.e, is64)]
        if self.size < 16 + lay.hdr.size:
            self.error = "file too short"
            return
        (self.e_type, self.e_machine, self.e_version, _entry, self.e_phoff, self.e_shoff, _flags,
         _ehsize, self.e_phentsize, self.e_phnum, self.e_shentsize, self.e_shnum,
         _shstrndx) = lay.hdr.unpack_from(data, 16)
        self.addr = "Q" if is64 else "I"
        self.phdr_fmt = lay.phdr.format
        self.dyn_fmt = lay.dyn.format
        self.sym_fmt = lay.sym.format
        self.shdr_fmt = lay.shdr.format
        self.phdrs = self._read_phdrs()
        self.loads = [(p[1], p[2], p[3]) for p in self.phdrs if p[0] == PT_LOAD]  # (vaddr, off, filesz)

    # -- structure ---------------------------------------------------------------------------------
    def _read_phdrs(self) -> List[Tuple[int, int, int, int, int]]:
        """(type, vaddr, offset, filesz, flags) for each program header that lies inside the file."""
        count = self.e_phnum
        if count == 0xFFFF:  # PN_XNUM: the real count is in section 0's sh_info
            sh0 = self._section(0)
            count = sh0[7] if sh0 else 0
        st = self.lay.phdr
        size = st.size
        if count and self.e_phentsize != size:
            self.notes.append(f"program header size {self.e_phentsize}, expected {size}")
            if self.e_phentsize < size:
                return []
        out = []
        unpack = st.unpack_from
        for i in range(min(count, MAX_DYN)):
            off = self.e_phoff + i * self.e_phentsize
            if off < 0 or off + size > self.size:
                self.error = "cannot read file data: the program headers lie past the end of the file"  # as ld.so
                break
            f = unpack(self.data, off)
            if self.bits == 64:
                p_type, p_flags, p_offset, p_vaddr, _pa, p_filesz = f[:6]
            else:
                p_type, p_offset, p_vaddr, _pa, p_filesz, _memsz, p_flags = f[:7]
            out.append((p_type, p_vaddr, p_offset, p_filesz, p_flags))
        return out

    def _section(self, index: int):
        size = struct.calcsize(self.shdr_fmt)
        off = self.e_shoff + index * self.e_shentsize
        if not self.e_shoff or self.e_shentsize < size or off + size > self.size:
            return None
        return struct.unpack_from(self.shdr_fmt, self.data, off)

    def sections(self):
        if not self.e_shoff:
            return
        for i in range(min(self.e_shnum, MAX_DYN)):
            sh = self._section(i)
            if sh is None:
                return
            yield sh

    def offset(self, vaddr: int, length: int = 1) -> Optional[int]:
        """File offset of a virtual address, through the PT_LOAD segments (as the loader maps it)."""
        for p_vaddr, p_offset, p_filesz in self.loads:
            if p_vaddr <= vaddr and vaddr + length <= p_vaddr + p_filesz:
                off = vaddr - p_vaddr + p_offset
                if 0 <= off and off + length <= self.size:
                    return off
                return None
        if not self.loads and 0 <= vaddr < self.size:  # no PT_LOAD (relocatable/odd): treat as offsets
            return vaddr
        return None

    def cstr(self, base: int, index: int, limit: int) -> Optional[str]:
        """NUL-terminated string at ``index`` of the string table at file offset ``base``."""
        if index < 0 or index >= limit:
            return None
        start = base + index
        end = self.data.find(b"\0", start, min(base + limit, self.size))
        if end < 0:
            return None
        self.name_bytes_left -= end - start
        if self.name_bytes_left < 0:
            self.over_budget("names")
            return None
        return bytes(self.data[start:end]).decode("utf-8", "surrogateescape")

    def over_budget(self, what: str) -> None:
        note = BUDGET_NOTE.format(what=what, size=self.size)
        if note not in self.notes:
            self.notes.append(note)

    def spend_entry(self) -> bool:
        """Count one version record read; False (and a note) once the file's budget is spent."""
        self.entries_left -= 1
        if self.entries_left < 0:
            self.over_budget("version records")
            return False
        return True


def parse(data) -> Dict[str, Any]:
    """Read the load-relevant facts of an ELF file as keyword arguments for :class:`Binary`."""
    f = _Elf(data)
    out: Dict[str, Any] = {"format": "elf"}
    if f.error:
        out["error"] = f.error
        return out
    out.update(bits=f.bits, endian=f.endian, machine=MACHINES.get(f.e_machine, f"em_{f.e_machine}"))
    kind = E_TYPES.get(f.e_type, f"type_{f.e_type}")
    for p_type, _v, p_offset, p_filesz, p_flags in f.phdrs:
        if p_type == PT_INTERP:
            if p_offset + p_filesz <= f.size:
                out["interp"] = bytes(data[p_offset:p_offset + p_filesz]).split(b"\0")[0].decode(
                    "utf-8", "surrogateescape")
            else:
                f.notes.append("PT_INTERP lies past the end of the file")
        elif p_type == PT_GNU_STACK:
            out["exec_stack"] = bool(p_flags & PF_X)
    if any(off + filesz > f.size for _va, off, filesz in f.loads):  # ld.so maps it, then dies of SIGBUS
        out["error"] = "file too short: a loadable segment ends past the end of the file (truncated)"
    if f.e_type not in (2, 3):
        out["error"] = "only ET_DYN and ET_EXEC can be loaded"
    dyn = _dynamic(f)
    flags = set()
    if dyn is not None:
        tags = dyn
        strtab = _strtab(f, tags)
        needed, rpath, runpath = [], [], []
        for tag, val in tags["_list"]:
            if tag in (DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_SONAME):
                if strtab is None:
                    continue
                s = f.cstr(strtab[0], val, strtab[1])
                if s is None:
                    f.notes.append(f"dynamic tag {tag}: string offset {val} outside the string table")
                    continue
                if tag == DT_NEEDED:
                    needed.append(Needed(s))
                elif tag == DT_SONAME:
                    out.setdefault("soname", s)
                elif tag == DT_RPATH:
                    rpath.extend(s.split(":"))
                else:
                    runpath.extend(s.split(":"))
            elif tag == DT_FLAGS:
                flags.update(n for bit, n in DF_NAMES.items() if val & bit)
            elif tag == DT_FLAGS_1:
                flags.update(n for bit, n in DF_1_NAMES.items() if val & bit)
        if "pie" in flags and kind == "shared":
            kind = "pie"
        out.update(needed=tuple(needed), rpath=tuple(rpath), runpath=tuple(runpath))
        if strtab is not None:
            out["versions_needed"] = tuple(_verneed(f, tags, strtab))
            out["versions_defined"] = tuple(name for name, _ndx, _flags in _verdef(f, tags, strtab))
    elif f.e_type == 3:
        pass  # a shared object without PT_DYNAMIC: nothing to load, nothing needed
    out["kind"] = kind
    out["flags"] = frozenset(flags)
    if f.notes:
        out["notes"] = tuple(dict.fromkeys(f.notes))
    return out



def loaded_soname(data) -> Optional[Tuple[Optional[str]]]:
    """``(soname,)`` of a file that :func:`parse` reads without an error, as :func:`parse` gives it; None when
    :func:`parse` would give an error (or might: anything unexpected). Only the header, the program headers and
    the dynamic section's names up to DT_SONAME are read: what glibc compares an already-loaded object by, when
    the rest of the file (its needs, its version tables) is not asked for."""
    try:
        f = _Elf(data)
        if f.error or f.e_type not in (2, 3) or any(off + filesz > f.size for _va, off, filesz in f.loads):
            return None
        dyn = _dynamic(f)
        strtab = _strtab(f, dyn) if dyn is not None else None
        if strtab is None:
            return (None,)
        # the strings before DT_SONAME are read too, as parse reads them: they spend the same name budget
        for tag, val in dyn["_list"]:
            if tag in (DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_SONAME):
                s = f.cstr(strtab[0], val, strtab[1])
                if s is not None and tag == DT_SONAME:
                    return (s,)
        return (None,)
    except Exception:  # parse's caller makes any exception an error: so does this one's
        return None

def _dynamic(f: _Elf) -> Optional[Dict[Any, Any]]:
    """The dynamic section as {tag: first value, "_list": [(tag, value), ...]}, or None."""
    dyns = [p for p in f.phdrs if p[0] == PT_DYNAMIC]
    if not dyns:
        return None
    _t, _v, off, filesz, _fl = dyns[0]
    entsize = f.lay.dyn.size
    if off >= f.size:
        f.notes.append("PT_DYNAMIC lies past the end of the file")
        return None
    end = min(off + filesz, f.size)
    if off + filesz > f.size:
        f.notes.append("PT_DYNAMIC is cut short by the end of the file")
    tags: Dict[Any, Any] = {}
    items = []
    count = min((end - off) // entsize, MAX_DYN) if end > off else 0
    raw = bytes(f.data[off:off + count * entsize])
    for tag, val in f.lay.dyn.iter_unpack(raw):
        if tag == DT_NULL:
            break
        items.append((tag, val))
        if tag not in tags:
            tags[tag] = val
    tags["_list"] = items
    return tags


def _strtab(f: _Elf, tags) -> Optional[Tuple[int, int]]:
    if DT_STRTAB not in tags:
        if any(t in tags for t in (DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH)):
            f.notes.append("dynamic section has names but no DT_STRTAB")
        return None
    size = tags.get(DT_STRSZ, 0)
    base = f.offset(tags[DT_STRTAB], 1)
    if base is None:
        f.notes.append("DT_STRTAB points outside the file")
        return None
    if base + size > f.size:
        f.notes.append("DT_STRSZ runs past the end of the file")
        size = f.size - base
    return base, size


def _verneed(f: _Elf, tags, strtab) -> List[VersionNeed]:
    """DT_VERNEED: (library, version, weak) for each needed version, in file order."""
    out: List[VersionNeed] = []
    for lib, name, _other, flags in _verneed_entries(f, tags, strtab):
        out.append(VersionNeed(lib, name, bool(flags & VER_FLG_WEAK)))
    return out


def _verneed_entries(f: _Elf, tags, strtab):
    if DT_VERNEED not in tags:
        return
    off = f.offset(tags[DT_VERNEED], 16)
    if off is None:
        f.notes.append("DT_VERNEED points outside the file")
        return
    count = tags.get(DT_VERNEEDNUM, MAX_CHAIN)
    seen = set()
    for _ in range(min(count, MAX_CHAIN)):
        if off in seen or off + 16 > f.size:
            f.notes.append("DT_VERNEED chain runs past the end of the file or loops")
            return
        seen.add(off)
        if not f.spend_entry():
            return
        _ver, cnt, file_, aux, nxt = f.lay.verneed.unpack_from(f.data, off)
        lib = f.cstr(strtab[0], file_, strtab[1])
        if lib is None:
            f.notes.append("DT_VERNEED names a file outside the string table")
            lib = "?"
        a = off + aux
        aseen = set()
        for _ in range(min(cnt, MAX_CHAIN)):
            if a in aseen or a + 16 > f.size or a < 0:
                f.notes.append("DT_VERNEED aux chain runs past the end of the file or loops")
                break
            aseen.add(a)
            if not f.spend_entry():
                return
            _hash, flags, other, name, anext = f.lay.vernaux.unpack_from(f.data, a)
            s = f.cstr(strtab[0], name, strtab[1])
            if s is None:
                f.notes.append("DT_VERNEED names a version outside the string table")
            else:
                yield lib, s, other, flags
            if not anext:
                break
            a += anext
        if not nxt:
            return
        off += nxt


def _verdef(f: _Elf, tags, strtab):
    """DT_VERDEF: (name, index, flags) of each defined version, base (file name) first."""
    out = []
    if DT_VERDEF not in tags:
        return out
    off = f.offset(tags[DT_VERDEF], 20)
    if off is None:
        f.notes.append("DT_VERDEF points outside the file")
        return out
    count = tags.get(DT_VERDEFNUM, MAX_CHAIN)
    seen = set()
    for _ in range(min(count, MAX_CHAIN)):
        if off in seen or off + 20 > f.size:
            f.notes.append("DT_VERDEF chain runs past the end of the file or loops")
            break
        seen.add(off)
        if not f.spend_entry():
            break
        _ver, flags, ndx, cnt, _hash, aux, nxt = f.lay.verdef.unpack_from(f.data, off)
        if cnt and off + aux + 8 <= f.size:
            (name,) = f.lay.u32.unpack_from(f.data, off + aux)
            s = f.cstr(strtab[0], name, strtab[1])
            if s is None:
                f.notes.append("DT_VERDEF names a version outside the string table")
            else:
                out.append((s, ndx, flags))
        if not nxt:
            break
        off += nxt
    return out


# -- symbols (read lazily, on first use) -----------------------------------------------------------

def _symbol_count(f: _Elf, tags, symtab_off: int, entsize: int) -> Optional[int]:
    """How many entries DT_SYMTAB has: from DT_HASH, else DT_GNU_HASH, else the section table."""
    if DT_HASH in tags:
        off = f.offset(tags[DT_HASH], 8)
        if off is not None:
            return struct.unpack_from(f.e + "II", f.data, off)[1]
    if DT_GNU_HASH in tags:
        off = f.offset(tags[DT_GNU_HASH], 16)
        if off is not None:
            nbuckets, symoffset, bloom_size, _shift = struct.unpack_from(f.e + "IIII", f.data, off)
            word = f.bits // 8
            buckets = off + 16 + bloom_size * word
            if buckets + 4 * nbuckets <= f.size and nbuckets < MAX_SYMBOLS:
                top = max(struct.unpack_from(f"{f.e}{nbuckets}I", f.data, buckets), default=0)
                if top < symoffset:
                    return symoffset
                chains = buckets + 4 * nbuckets
                i = top
                while i - symoffset < MAX_SYMBOLS:
                    pos = chains + 4 * (i - symoffset)
                    if pos + 4 > f.size:
                        f.notes.append("DT_GNU_HASH chain runs past the end of the file")
                        return i
                    (h,) = struct.unpack_from(f.e + "I", f.data, pos)
                    i += 1
                    if h & 1:
                        return i
                return i
    for sh in f.sections():
        if sh[1] == SHT_DYNSYM and sh[9]:
            return sh[5] // sh[9]
    if DT_STRTAB in tags:  # last resort: the string table usually follows the symbol table
        str_off = f.offset(tags[DT_STRTAB])
        if str_off is not None and str_off > symtab_off:
            return (str_off - symtab_off) // entsize
    return None


def parse_symbols(data, *, imports_only: bool = False
                  ) -> Tuple[Tuple[Symbol, ...], Tuple[Symbol, ...], Tuple[str, ...]]:
    """(imported, exported, notes) from the dynamic symbol table, with versions resolved.

    ``imports_only``: name only the undefined symbols, so a library with 100 000 exports costs little
    more than its few hundred imports. (Undefined symbols are not all below DT_GNU_HASH's symoffset:
    an executable's PLT-address symbols such as __cxa_finalize are hashed too, so every entry is
    still looked at.)
    """
    f = _Elf(data)
    if f.error:
        return (), (), ()
    tags = _dynamic(f)
    if tags is None or DT_SYMTAB not in tags:
        return (), (), tuple(f.notes)
    strtab = _strtab(f, tags)
    if strtab is None:
        return (), (), tuple(f.notes)
    entsize = struct.calcsize(f.sym_fmt)
    sym_off = f.offset(tags[DT_SYMTAB], entsize)
    if sym_off is None:
        f.notes.append("DT_SYMTAB points outside the file")
        return (), (), tuple(f.notes)
    count = _symbol_count(f, tags, sym_off, entsize) or 0
    if count > MAX_SYMBOLS:
        f.notes.append(f"symbol count {count} is absurd; reading none")
        count = 0
    avail = (f.size - sym_off) // entsize
    if count > avail:
        f.notes.append("DT_SYMTAB runs past the end of the file")
        count = avail
    # version index -> (name, library); from DT_VERNEED (vna_other) and DT_VERDEF (vd_ndx)
    vnames: Dict[int, Tuple[str, Optional[str]]] = {}
    for lib, name, other, _flags in _verneed_entries(f, tags, strtab):
        vnames[other & 0x7FFF] = (name, lib)
    for name, ndx, flags in _verdef(f, tags, strtab):
        if not flags & VER_FLG_BASE:
            vnames[ndx & 0x7FFF] = (name, None)
    versym = None
    if DT_VERSYM in tags and count:
        v_off = f.offset(tags[DT_VERSYM], 2 * count)
        if v_off is None:
            f.notes.append("DT_VERSYM points outside the file")
        else:
            versym = struct.unpack_from(f"{f.e}{count}H", f.data, v_off)
    imported: List[Symbol] = []
    exported: List[Symbol] = []
    base, limit = strtab
    data = f.data
    end_limit = min(base + limit, f.size)
    is64 = f.bits == 64
    bad_names = 0
    budget = f.name_bytes_left
    raw = bytes(data[sym_off:sym_off + count * entsize])
    if imports_only:
        # The common call (every new object's imports, for the symbol check): a lean loop.
        make = tuple.__new__
        find = data.find
        name_at = 0 if is64 else 0
        info_at = 1 if is64 else 3
        for i, fields in _undefined_entries(f, raw, entsize):
            st_name = fields[name_at]
            if not st_name:
                continue
            bind = fields[info_at] >> 4
            if bind != STB_GLOBAL and bind != STB_WEAK and bind != STB_GNU_UNIQUE:
                continue
            if st_name >= limit:
                bad_names += 1
                continue
            start = base + st_name
            stop = find(b"\0", start, end_limit)
            if stop < 0:
                bad_names += 1
                continue
            budget -= stop - start
            if budget < 0:
                f.over_budget("symbol names")
                break
            name = data[start:stop].decode("utf-8", "surrogateescape")
            version = library = None
            if versym is not None:
                idx = versym[i] & 0x7FFF
                if idx >= 2:
                    got = vnames.get(idx)
                    if got is not None:
                        version, library = got
            imported.append(make(Symbol, (name, version, library, bind == STB_WEAK, False)))
        if bad_names:
            f.notes.append(f"{bad_names} symbol names lie outside the string table")
        return tuple(imported), (), tuple(dict.fromkeys(f.notes))
    for i, fields in enumerate(struct.iter_unpack(f.sym_fmt, raw)):
        if is64:
            st_name, st_info, st_other, st_shndx = fields[0], fields[1], fields[2], fields[3]
        else:
            st_name, st_info, st_other, st_shndx = fields[0], fields[3], fields[4], fields[5]
        if not st_name:
            continue
        bind = st_info >> 4
        if bind not in (STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE):
            continue
        if imports_only and st_shndx != 0:
            continue
        start = base + st_name
        if st_name >= limit:
            bad_names += 1
            continue
        stop = data.find(b"\0", start, end_limit)
        if stop < 0:
            bad_names += 1
            continue
        budget -= stop - start
        if budget < 0:
            f.over_budget("symbol names")
            break
        name = bytes(data[start:stop]).decode("utf-8", "surrogateescape")
        version = library = None
        hidden = False
        if versym is not None:
            vs = versym[i]
            hidden = bool(vs & 0x8000)
            idx = vs & 0x7FFF
            if idx >= 2:
                got = vnames.get(idx)
                if got is not None:
                    version, library = got
        weak = bind == STB_WEAK
        if st_shndx == 0:
            imported.append(Symbol(name, version, library, weak, False))
        else:
            if (st_info & 0xF) in (STT_SECTION, STT_FILE) or (st_other & 3) not in (STV_DEFAULT, STV_PROTECTED):
                continue
            exported.append(Symbol(name, version, None, weak, hidden))
    if bad_names:
        f.notes.append(f"{bad_names} symbol names lie outside the string table")
    return tuple(imported), tuple(exported), tuple(dict.fromkeys(f.notes))


def _undefined_entries(f: _Elf, raw: bytes, entsize: int):
    """(index, fields) of the symbol entries with st_shndx == SHN_UNDEF, found at C speed.

    A big C++ library has 100 000 symbols and a few thousand undefined ones: the two bytes of every
    st_shndx are sliced out of the table in one step each, and only entries whose low byte is zero
    (all undefined ones, and the rare section index that is a multiple of 256) are unpacked.
    """
    at = 6 if f.bits == 64 else 14
    lo = raw[at::entsize]
    hi = raw[at + 1::entsize]
    unpack = f.lay.sym.unpack_from
    pos = lo.find(0)
    while pos >= 0:
        if not hi[pos]:
            yield pos, unpack(raw, pos * entsize)
        pos = lo.find(0, pos + 1)


#: GNU hash of each name looked up so far: a name is hashed once for every library it is looked up in.
_GNU_HASHES: Dict[bytes, int] = {}


def _gnu_hash(name: bytes) -> int:
    h = _GNU_HASHES.get(name)
    if h is not None:
        return h
    h = _gnu_hash_raw(name)
    if len(_GNU_HASHES) > 500_000:
        _GNU_HASHES.clear()
    _GNU_HASHES[name] = h
    return h


#: 33**k mod 2**32: the GNU hash h = h * 33 + c unrolled, 5381 * 33**n + sum(c_i * 33**(n-1-i)).
_POW33 = [pow(33, k, 1 << 32) for k in range(1024)]


def _gnu_hash_raw(name: bytes) -> int:
    n = len(name)
    if 0 < n < len(_POW33):  # the sum of products runs in C (a third faster than the loop)
        return (5381 * _POW33[n] + sum(map(_mul, name, _POW33[n - 1::-1]))) & 0xFFFFFFFF
    h = 5381
    for c in name:
        h = (h * 33 + c) & 0xFFFFFFFF
    return h


def _sysv_hash(name: bytes) -> int:
    h = 0
    for c in name:
        h = ((h << 4) + c) & 0xFFFFFFFF
        g = h & 0xF0000000
        if g:
            h ^= g >> 24
        h &= ~g & 0xFFFFFFFF
    return h


class SymbolIndex:
    """Exported-symbol lookup through the file's own hash table, as ld.so looks symbols up.

    Answers one name without reading the whole table: for a 100 000-symbol library that is the
    difference between microseconds and a second. Built by :func:`symbol_index`; None there when the
    file has no usable hash table (the caller then reads the whole table).
    """

    def __init__(self, f: _Elf, tags, strtab, sym_off: int, count: int) -> None:
        self.f = f
        self.strtab = strtab
        self.sym_off = sym_off
        self.count = count
        self.entsize = struct.calcsize(f.sym_fmt)
        self.vnames: Dict[int, str] = {}
        for name, ndx, flags in _verdef(f, tags, strtab):
            if not flags & VER_FLG_BASE:
                self.vnames[ndx & 0x7FFF] = name
        self.versym = f.offset(tags[DT_VERSYM], 2 * count) if DT_VERSYM in tags and count else None
        self.gnu = None
        self.sysv = None
        self.bloom = None
        if DT_GNU_HASH in tags:
            off = f.offset(tags[DT_GNU_HASH], 16)
            if off is not None:
                nbuckets, symoffset, bloom_size, shift = struct.unpack_from(f.e + "IIII", f.data, off)
                buckets = off + 16 + bloom_size * (f.bits // 8)
                if nbuckets and buckets + 4 * nbuckets <= f.size:
                    self.gnu = (nbuckets, symoffset, buckets, buckets + 4 * nbuckets)
                    # The Bloom filter answers most misses without touching the chains (as ld.so does:
                    # the word index is masked with bloom_size - 1, bloom_size being a power of two).
                    if bloom_size and not bloom_size & (bloom_size - 1):
                        self.bloom = (off + 16, bloom_size - 1, shift, f.bits,
                                      struct.Struct(f.e + ("Q" if f.bits == 64 else "I")))
        if self.gnu is None and DT_HASH in tags:
            off = f.offset(tags[DT_HASH], 8)
            if off is not None:
                nbucket, nchain = struct.unpack_from(f.e + "II", f.data, off)
                if nbucket and off + 8 + 4 * (nbucket + nchain) <= f.size:
                    self.sysv = (nbucket, off + 8, off + 8 + 4 * nbucket)

        self._fast = None

    @property
    def usable(self) -> bool:
        return self.gnu is not None or self.sysv is not None

    def _fast_tables(self):
        """The GNU hash table's arrays and the symbol fields as host-order views (built on the first
        look-up), or False when the file's byte order is not the host's or a part lies past the end."""
        import sys

        f = self.f
        if self.gnu is None or self.bloom is None or f.endian != sys.byteorder:
            return False
        nbuckets, symoffset, buckets, chains = self.gnu
        boff, mask, shift, wbits, _st = self.bloom
        nchains = max(0, self.count - symoffset)
        if chains + 4 * nchains > f.size or self.sym_off + self.count * self.entsize > f.size \
                or boff + (mask + 1) * (wbits >> 3) > f.size:
            return False
        data = f.data
        raw = bytes(data[self.sym_off:self.sym_off + self.count * self.entsize])
        is64 = f.bits == 64
        info_at = 4 if is64 else 12
        return (memoryview(bytes(data[boff:boff + (mask + 1) * (wbits >> 3)])).cast("Q" if is64 else "I"),
                memoryview(bytes(data[buckets:buckets + 4 * nbuckets])).cast("I"),
                memoryview(bytes(data[chains:chains + 4 * nchains])).cast("I"),
                memoryview(raw).cast("I")[0::self.entsize // 4],
                raw[info_at::self.entsize], raw[info_at + 1::self.entsize],
                memoryview(raw).cast("H")[(3 if is64 else 7)::self.entsize // 2])

    def lookup_fast(self, name: str):
        """:meth:`lookup` through host-order views of the tables (None: use :meth:`lookup`)."""
        fast = self._fast
        if fast is None:
            fast = self._fast = self._fast_tables()
        if not fast:
            return None
        bloom, buckets, chains, names, infos, others, shndx = fast
        nbuckets, symoffset, _b, _c = self.gnu
        _boff, mask, shift, wbits, _st = self.bloom
        raw = name.encode("utf-8", "surrogateescape")
        h = _gnu_hash(raw)
        word = bloom[(h // wbits) & mask]
        if not (word >> (h % wbits)) & (word >> ((h >> shift) % wbits)) & 1:
            return ()
        i = buckets[h % nbuckets]
        if i < symoffset:
            return ()
        out = []
        target = raw + b"\0"
        size = len(target)
        base, limit = self.strtab
        data = self.f.data
        hh = h | 1
        count = min(self.count, symoffset + len(chains))
        while i < count:
            ch = chains[i - symoffset]
            if (ch | 1) == hh:
                st_name = names[i]
                info = infos[i]
                if (shndx[i] and _INFO_OK[info] and _OTHER_OK[others[i]] and st_name < limit
                        and data[base + st_name:base + st_name + size] == target):
                    version, hidden = None, False
                    if self.versym is not None:
                        (vs,) = struct.unpack_from(self.f.e + "H", data, self.versym + 2 * i)
                        hidden = bool(vs & 0x8000)
                        if vs & 0x7FFF >= 2:
                            version = self.vnames.get(vs & 0x7FFF)
                    out.append((version, hidden))
            if ch & 1:
                break
            i += 1
        return tuple(out)

    def _match(self, i: int, name: bytes):
        """(version, hidden) if symbol ``i`` is a visible definition of ``name``, else None."""
        f = self.f
        if i >= self.count:
            return None
        pos = self.sym_off + i * self.entsize
        fields = struct.unpack_from(f.sym_fmt, f.data, pos)
        if f.bits == 64:
            st_name, st_info, st_other, st_shndx = fields[0], fields[1], fields[2], fields[3]
        else:
            st_name, st_info, st_other, st_shndx = fields[0], fields[3], fields[4], fields[5]
        if st_shndx == 0 or (st_info >> 4) not in (STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE):
            return None
        if (st_info & 0xF) in (STT_SECTION, STT_FILE) or (st_other & 3) not in (STV_DEFAULT, STV_PROTECTED):
            return None
        base, limit = self.strtab
        start = base + st_name
        if st_name >= limit or bytes(f.data[start:start + len(name) + 1]) != name + b"\0":
            return None
        version, hidden = None, False
        if self.versym is not None:
            (vs,) = struct.unpack_from(f.e + "H", f.data, self.versym + 2 * i)
            hidden = bool(vs & 0x8000)
            if vs & 0x7FFF >= 2:
                version = self.vnames.get(vs & 0x7FFF)
        return version, hidden

    def lookup(self, name: str) -> Tuple[Tuple[Optional[str], bool], ...]:
        """Every visible definition of ``name``: ((version, hidden), ...)."""
        fast = self.lookup_fast(name)
        if fast is not None:
            return fast
        raw = name.encode("utf-8", "surrogateescape")
        f = self.f
        out = []
        if self.gnu is not None:
            nbuckets, symoffset, buckets, chains = self.gnu
            h = _gnu_hash(raw)
            if self.bloom is not None:
                boff, mask, shift, wbits, word_st = self.bloom
                (word,) = word_st.unpack_from(f.data, boff + (wbits >> 3) * ((h // wbits) & mask))
                if not (word >> (h % wbits)) & (word >> ((h >> shift) % wbits)) & 1:
                    return ()
            (i,) = struct.unpack_from(f.e + "I", f.data, buckets + 4 * (h % nbuckets))
            if i < symoffset:
                return ()
            steps = 0
            while steps < MAX_SYMBOLS:
                pos = chains + 4 * (i - symoffset)
                if pos + 4 > f.size:
                    break
                (ch,) = struct.unpack_from(f.e + "I", f.data, pos)
                if (ch | 1) == (h | 1):
                    hit = self._match(i, raw)
                    if hit is not None:
                        out.append(hit)
                if ch & 1:
                    break
                i += 1
                steps += 1
            return tuple(out)
        if self.sysv is not None:
            nbucket, buckets, chains = self.sysv
            (i,) = struct.unpack_from(f.e + "I", f.data, buckets + 4 * (_sysv_hash(raw) % nbucket))
            seen = set()
            while i and i not in seen and len(seen) < MAX_SYMBOLS:
                seen.add(i)
                hit = self._match(i, raw)
                if hit is not None:
                    out.append(hit)
                if chains + 4 * (i + 1) > f.size:
                    break
                (i,) = struct.unpack_from(f.e + "I", f.data, chains + 4 * i)
        return tuple(out)


def symbol_index(data) -> Optional[SymbolIndex]:
    """A hash-table lookup over the file's exports, or None when it has no usable hash table."""
    f = _Elf(data)
    if f.error:
        return None
    tags = _dynamic(f)
    if tags is None or DT_SYMTAB not in tags:
        return None
    strtab = _strtab(f, tags)
    if strtab is None:
        return None
    entsize = struct.calcsize(f.sym_fmt)
    sym_off = f.offset(tags[DT_SYMTAB], entsize)
    if sym_off is None:
        return None
    count = min(_symbol_count(f, tags, sym_off, entsize) or 0, (f.size - sym_off) // entsize)
    index = SymbolIndex(f, tags, strtab, sym_off, count)
    return index if index.usable else None


# -- exports in bulk, for the symbol check ---------------------------------------------------------

#: st_info bytes of a definition worth keeping (bind GLOBAL, WEAK or GNU_UNIQUE; type not SECTION or
#: FILE), and st_other bytes of a visible one (DEFAULT or PROTECTED): 1, else 0, for bytes.translate.
_INFO_OK = bytes(1 if (i >> 4) in (STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE) and (i & 0xF) not in (STT_SECTION, STT_FILE)
                 else 0 for i in range(256))
_OTHER_OK = bytes(1 if (i & 3) in (STV_DEFAULT, STV_PROTECTED) else 0 for i in range(256))
_ZERO = bytes([1] + [0] * 255)  # translate: 1 where a byte is 0
_BIND_OK = bytes(1 if (i >> 4) in (STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE) else 0 for i in range(256))


class SymTable:
    """What the bulk readers (:func:`export_sets`, :func:`import_groups`) need of a file's dynamic
    symbol table, read once per file: they share it. Built by :func:`sym_table`."""

    __slots__ = ("f", "tags", "strtab", "sym_off", "count", "entsize", "vneed", "vdef", "verdefs", "text")

    def __init__(self, f: _Elf, tags, strtab, sym_off: int, count: int, entsize: int, vneed, vdef,
                 verdefs) -> None:
        self.f, self.tags, self.strtab, self.sym_off, self.count = f, tags, strtab, sym_off, count
        self.entsize, self.vneed, self.vdef, self.verdefs = entsize, vneed, vdef, verdefs
        self.text = None

    def string_table(self) -> Optional[str]:
        """The whole string table as text (None when it is not ASCII: the careful reader answers)."""
        if self.text is None:
            base, limit = self.strtab
            table = bytes(self.f.data[base:min(base + limit, self.f.size)])
            self.text = table.decode("ascii") if table.isascii() else False
        return self.text or None


def sym_table(data) -> Optional[SymTable]:
    """The symbol table's place, size and version names, or None where the bulk readers must decline:
    a byte order not the host's, or anything the careful reader would make a note of."""
    import sys

    f = _Elf(data)
    if f.error or f.endian != sys.byteorder:
        return None
    tags = _dynamic(f)
    if tags is None or f.notes:
        return None
    if DT_SYMTAB not in tags:
        return SymTable(f, tags, (0, 0), 0, 0, 0, {}, {}, [])
    strtab = _strtab(f, tags)
    if strtab is None:
        return None
    entsize = 24 if f.bits == 64 else 16
    sym_off = f.offset(tags[DT_SYMTAB], entsize)
    if sym_off is None:
        return None
    count = _symbol_count(f, tags, sym_off, entsize) or 0
    if count > MAX_SYMBOLS or count > (f.size - sym_off) // entsize or f.notes:
        return None
    # version index -> (name, library) as parse_symbols makes it: DT_VERNEED, then DT_VERDEF over it
    vneed: Dict[int, Tuple[str, Optional[str]]] = {}
    for lib, name, other, _flags in _verneed_entries(f, tags, strtab):
        vneed[other & 0x7FFF] = (name, lib)
    verdefs = _verdef(f, tags, strtab)
    if f.notes:
        return None
    vdef = {k: v[0] for k, v in vneed.items()}
    for name, ndx, flags in verdefs:
        if not flags & VER_FLG_BASE:
            vneed[ndx & 0x7FFF] = (name, None)
            vdef[ndx & 0x7FFF] = name
    return SymTable(f, tags, strtab, sym_off, count, entsize, vneed, vdef, verdefs)


def _name_ends(text: str, offs, budget: int):
    """Where each name of a string table that starts at ``offs`` ends (its NUL), or None when one has no NUL or
    the names together exceed ``budget`` characters (the careful reader's limit)."""
    find = text.find
    ends = [find("\0", o) for o in offs]
    if -1 in ends or sum(ends) - sum(offs) > budget:
        return None
    return ends


def export_sets(data, table: Optional[SymTable] = None):
    """The file's visible definitions as three name sets, read in bulk; None to use :func:`parse_symbols`.

    (any, visible, by_version): ``any`` the names a reference of any version binds to (every
    definition of a file without DT_VERDEF; else the unversioned, non-hidden ones), ``visible`` the
    names with a non-hidden definition (what an unversioned reference binds to), ``by_version``
    version -> names defined with it (hidden or not: a reference naming the version binds to either).
    The same definitions :func:`parse_symbols` lists as exported, with the same versions, found with
    slices and set operations instead of one Python step per symbol: a 75 000-symbol C++ library is
    read in tens of milliseconds. Anything unusual (a byte order not the host's, a note the careful
    reader would make, names that are not ASCII, a budget that would run out) gives None, and the
    caller takes the careful reader's answer.
    """
    t = table if table is not None else sym_table(data)
    if t is None:
        return None
    if not t.count:
        return frozenset(), frozenset(), {}
    f, tags, strtab, sym_off, count, entsize = t.f, t.tags, t.strtab, t.sym_off, t.count, t.entsize
    is64 = f.bits == 64
    vnames, verdefs = t.vdef, t.verdefs
    limit = strtab[1]
    raw = bytes(f.data[sym_off:sym_off + count * entsize])
    words = memoryview(raw).cast("I")
    halves = memoryview(raw).cast("H")
    step32, step16 = entsize // 4, entsize // 2
    name_offs = words[0::step32]
    info_at, shndx_at = (4, 3) if is64 else (12, 7)
    infos = raw[info_at::entsize]

    def both(a: bytes, b: bytes) -> bytes:  # bytewise AND of two 0/1 masks
        return (int.from_bytes(a, "little") & int.from_bytes(b, "little")).to_bytes(count, "little")

    # The entries the careful reader names (bound GLOBAL/WEAK/UNIQUE, with a name): imports too, as
    # its name budget counts them all; and of those the visible definitions.
    named = both(infos.translate(_BIND_OK), bytes(map(bool, name_offs)))
    visible_def = both(both(infos.translate(_INFO_OK), raw[info_at + 1::entsize].translate(_OTHER_OK)),
                       bytes(map(bool, halves[shndx_at::step16])))
    defined = both(named, visible_def)
    offs = list(compress(name_offs, named))
    if not offs:
        return frozenset(), frozenset(), {}
    if max(offs) >= limit:
        return None  # the careful reader notes a name outside the string table
    text = t.string_table()
    if text is None:
        return None
    ends = _name_ends(text, offs, f.name_bytes_left)
    if ends is None:
        return None  # a name without its NUL, or the careful reader's budget would run out
    keep = list(compress(defined, named))
    names = [text[o:e] for o, e in compress(zip(offs, ends), keep)]
    if not verdefs:  # no versions of its own: every definition serves every reference
        every = frozenset(names)
        return every, every, {}
    versym = None
    if DT_VERSYM in tags and count:
        v_off = f.offset(tags[DT_VERSYM], 2 * count)
        if v_off is None:
            return None
        versym = memoryview(bytes(f.data[v_off:v_off + 2 * count])).cast("H")
    def_names = names
    stamps = list(compress(versym, defined)) if versym is not None else [0] * len(def_names)
    anyv, visible, by_version = set(), set(), {}
    for vs in set(stamps):  # a handful of distinct versym values: one C-speed pass each
        group = list(compress(def_names, map(vs.__eq__, stamps)))
        idx = vs & 0x7FFF
        version = vnames.get(idx) if idx >= 2 else None
        if version is not None:
            by_version.setdefault(version, set()).update(group)
        if not vs & 0x8000:
            visible.update(group)
            if version is None:
                anyv.update(group)
    return frozenset(anyv), frozenset(visible), {v: frozenset(n) for v, n in by_version.items()}


def import_groups(data, table: Optional[SymTable] = None):
    """The undefined non-weak symbols as ((version, library, names), ...), read in bulk; None to use
    :func:`parse_symbols` (``imports_only``) instead.

    The same symbols and versions as the careful reader's non-weak imports, grouped by the version
    (and its library) asked for, one frozenset of names each; found with slices and set operations,
    never one :class:`Symbol` per entry. Declines (None) as :func:`export_sets` does.
    """
    t = table if table is not None else sym_table(data)
    if t is None:
        return None
    if not t.count:
        return ()
    f, tags, strtab, sym_off, count, entsize = t.f, t.tags, t.strtab, t.sym_off, t.count, t.entsize
    is64 = f.bits == 64
    vnames = t.vneed
    raw = bytes(f.data[sym_off:sym_off + count * entsize])
    info_at, shndx_at = (4, 3) if is64 else (12, 7)
    # undefined (st_shndx 0), named, bound GLOBAL/WEAK/UNIQUE: the careful reader's imports
    undefined = bytes(map(bool, memoryview(raw).cast("H")[shndx_at::entsize // 2])).translate(_ZERO)
    name_offs = memoryview(raw).cast("I")[0::entsize // 4]
    infos = raw[info_at::entsize]
    picked = [i for i in compress(range(count), undefined) if name_offs[i] and _BIND_OK[infos[i]]]
    if not picked:
        return ()
    base, limit = strtab
    offs = [name_offs[i] for i in picked]
    if max(offs) >= limit:
        return None
    if limit > 64 * len(picked):  # a big table, few imports (a C++ library): name by name
        data, end = f.data, min(base + limit, f.size)
        ends = [data.find(b"\0", base + o, end) for o in offs]
        if -1 in ends:
            return None
        names = [bytes(data[base + o:e]).decode("utf-8", "surrogateescape") for o, e in zip(offs, ends)]
        if sum(ends) - sum(offs) - base * len(offs) > f.name_bytes_left:
            return None
    else:
        text = t.string_table()
        if text is None:
            return None
        ends = _name_ends(text, offs, f.name_bytes_left)
        if ends is None:
            return None
        names = [text[o:e] for o, e in zip(offs, ends)]
    versym = None
    if DT_VERSYM in tags and count:
        v_off = f.offset(tags[DT_VERSYM], 2 * count)
        if v_off is None:
            return None
        versym = memoryview(bytes(f.data[v_off:v_off + 2 * count])).cast("H")
    groups: Dict[Tuple[Optional[str], Optional[str]], set] = {}
    for i, name in zip(picked, names):
        if infos[i] >> 4 == STB_WEAK:
            continue
        key = (None, None)
        if versym is not None:
            idx = versym[i] & 0x7FFF
            if idx >= 2:
                key = vnames.get(idx, key)
        groups.setdefault(key, set()).add(name)
    return tuple((v, lib, frozenset(names)) for (v, lib), names in groups.items())
