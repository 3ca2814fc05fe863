"""/etc/ld.so.cache, read from the file itself (not from ld.so.conf: the two can differ).

Two formats exist (glibc ``sysdeps/generic/dl-cache.h``):

- old, ``ld.so-1.7.0``: a count, 12-byte entries (flags, key, value), string offsets counted from the
  end of the entry array. glibc >= 2.32 no longer writes it, but a new-format cache may sit behind it.
- new, ``glibc-ld.so.cache1.1``: a 48-byte header (nlibs, len_strings, flags, extension offset), 24-byte
  entries (flags, key, value, osversion, hwcap), string offsets counted from the start of the new header.
  A ``glibc-hwcaps`` extension names the subdirectory an entry was found in (x86-64-v3 ...): entries
  whose hwcap word has bit 62 set refer to it by index.

:func:`parse_ld_cache` is pure (bytes in, records out); :func:`load_ld_cache` reads through a System.
"""
from __future__ import annotations

import struct
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import Dict, List, Optional, Sequence, Tuple

from ...._record import Record

__all__ = ["CacheEntry", "LdCache", "parse_ld_cache", "load_ld_cache", "cache_flags_for"]

OLD_MAGIC = b"ld.so-1.7.0"
NEW_MAGIC = b"glibc-ld.so.cache"
NEW_VERSION = b"1.1"
HWCAP_EXTENSION = 1 << 62
EXT_MAGIC = 0xEAA42174
EXT_TAG_HWCAPS = 1

FLAG_ELF_LIBC6 = 0x0003
FLAG_TYPE_MASK = 0x00FF
FLAG_REQUIRED_MASK = 0xFF00
#: The entry flags ld.so accepts, by machine (glibc ``_dl_cache_check_flags`` per sysdeps).
_ARCH_FLAGS = {
    ("x86_64", 64): 0x0303, ("i386", 32): 0x0003, ("aarch64", 64): 0x0A03, ("ppc64", 64): 0x0503,
    ("ppc64le", 64): 0x0503, ("s390x", 64): 0x0403, ("arm", 32): 0x0903, ("riscv", 64): 0x1003,
    ("loongarch", 64): 0x1203, ("x86_64", 32): 0x0803,
}


def cache_flags_for(machine: Optional[str], bits: Optional[int]) -> Optional[int]:
    """The cache flags a process of this machine/class accepts, or None when we do not know."""
    return _ARCH_FLAGS.get((machine or "", bits or 0))


class CacheEntry(Record):
    name: str
    path: str
    flags: int
    hwcaps: Optional[str] = None   # glibc-hwcaps subdirectory name, e.g. "x86-64-v3"


class LdCache(Record):
    entries: Tuple[CacheEntry, ...]
    format: str                    # "new", "old", "old+new", "none"
    notes: Tuple[str, ...] = ()

    def lookup(self, name: str, *, flags: Optional[int] = None,
               hwcaps: Sequence[str] = ()) -> Optional[CacheEntry]:
        """The entry ld.so would take for ``name``: a supported glibc-hwcaps entry in priority order,
        else the first plain entry whose flags suit the process."""
        best: Optional[CacheEntry] = None
        best_rank = None
        for entry in self._by_name().get(name, ()):
            if flags is not None and not _flags_ok(entry.flags, flags):
                continue
            if entry.hwcaps is not None:
                if entry.hwcaps not in hwcaps:
                    continue
                rank = hwcaps.index(entry.hwcaps)
            else:
                rank = len(hwcaps)
            if best_rank is None or rank < best_rank:
                best, best_rank = entry, rank
        return best

    def _by_name(self) -> Dict[str, List[CacheEntry]]:
        table = self.__dict__.get("_table")
        if table is None:
            table = {}
            for entry in self.entries:
                table.setdefault(entry.name, []).append(entry)
            object.__setattr__(self, "_table", table)
        return table


def _flags_ok(entry_flags: int, wanted: int) -> bool:
    if entry_flags & FLAG_TYPE_MASK != FLAG_ELF_LIBC6 & FLAG_TYPE_MASK:
        return (entry_flags & FLAG_TYPE_MASK) == (wanted & FLAG_TYPE_MASK)
    return (entry_flags & FLAG_REQUIRED_MASK) == (wanted & FLAG_REQUIRED_MASK)


def _cstr(data: bytes, off: int) -> Optional[str]:
    if off < 0 or off >= len(data):
        return None
    end = data.find(b"\0", off)
    if end < 0:
        return None
    return data[off:end].decode("utf-8", "surrogateescape")


def parse_ld_cache(data: bytes) -> LdCache:
    """Parse the bytes of an ld.so.cache file. Never raises; problems become notes."""
    notes: List[str] = []
    entries: List[CacheEntry] = []
    fmt = "none"
    new_at: Optional[int] = None
    if data.startswith(NEW_MAGIC):
        new_at = 0
    elif data.startswith(OLD_MAGIC):
        fmt = "old"
        if len(data) < 16:
            return LdCache((), fmt, ("cache file too short",))
        (nlibs,) = struct.unpack_from("<I", data, 12)
        table_end = 16 + 12 * nlibs
        if table_end > len(data):
            return LdCache((), fmt, ("old cache: entry table runs past the end of the file",))
        # A new-format cache may follow the old entries (aligned); if so ld.so uses the new one.
        aligned = (table_end + 7) & ~7
        for at in (table_end, aligned):
            if data[at:at + len(NEW_MAGIC)] == NEW_MAGIC:
                new_at = at
                fmt = "old+new"
                break
        if new_at is None:
            for i in range(nlibs):
                flags, key, value = struct.unpack_from("<iII", data, 16 + 12 * i)
                name, path = _cstr(data, table_end + key), _cstr(data, table_end + value)
                if name is None or path is None:
                    notes.append(f"old cache entry {i}: string offset outside the file")
                    continue
                entries.append(CacheEntry(name, path, flags))
            return LdCache(tuple(entries), fmt, tuple(notes))
    else:
        return LdCache((), "none", ("not an ld.so.cache file",) if data else ())
    if fmt == "none":
        fmt = "new"
    base = new_at
    if data[base + 17:base + 20] != NEW_VERSION:
        notes.append(f"unknown cache version {data[base + 17:base + 20]!r}")
    if len(data) < base + 48:
        return LdCache((), fmt, tuple(notes + ["cache header cut short"]))
    nlibs, _len_strings, endian_flag, ext_off = struct.unpack_from("<IIB3xI", data, base + 20)
    order = "<"
    if endian_flag == 3:  # cache written big-endian
        order = ">"
        nlibs, _len_strings, _e, ext_off = struct.unpack_from(">IIB3xI", data, base + 20)
    hwcap_names = _hwcaps_extension(data, base, ext_off, order, notes)
    for i in range(nlibs):
        at = base + 48 + 24 * i
        if at + 24 > len(data):
            notes.append("cache entry table runs past the end of the file")
            break
        flags, key, value, _osv, hwcap = struct.unpack_from(order + "iIIIQ", data, at)
        name, path = _cstr(data, base + key), _cstr(data, base + value)
        if name is None or path is None:
            notes.append(f"cache entry {i}: string offset outside the file")
            continue
        sub = None
        if hwcap & HWCAP_EXTENSION:
            index = hwcap & 0xFFFFFFFF
            sub = hwcap_names[index] if index < len(hwcap_names) else f"#{index}"
        elif hwcap:
            sub = f"legacy-hwcap-{hwcap:#x}"  # legacy hwcap bits (removed in glibc 2.37): not modelled
        entries.append(CacheEntry(name, path, flags, sub))
    return LdCache(tuple(entries), fmt, tuple(notes))


def _hwcaps_extension(data: bytes, base: int, ext_off: int, order: str, notes: List[str]) -> List[str]:
    if not ext_off:
        return []
    at = base + ext_off
    if at + 8 > len(data):
        notes.append("cache extension offset outside the file")
        return []
    magic, count = struct.unpack_from(order + "II", data, at)
    if magic != EXT_MAGIC:
        return []
    for i in range(min(count, 64)):
        s = at + 8 + 16 * i
        if s + 16 > len(data):
            break
        tag, _flags, offset, size = struct.unpack_from(order + "IIII", data, s)
        if tag == EXT_TAG_HWCAPS:
            names = []
            for j in range(size // 4):
                if offset + 4 * (j + 1) > len(data):
                    break
                (str_off,) = struct.unpack_from(order + "I", data, offset + 4 * j)
                # Section offsets and the strings they point at count from the start of the file.
                names.append(_cstr(data, base + str_off) or f"#{j}")
            return names
    return []


#: The bytes of the cache files read in this process -> their parsed form (a few; parsing is a pure function).
_PARSED: Dict[bytes, LdCache] = {}


def load_ld_cache(system, path: str = "/etc/ld.so.cache") -> LdCache:
    """The cache of ``system``'s machine (an empty cache, with a note, where there is none). The same bytes
    read again in this process (a kernel reports many failures) are not parsed again."""
    try:
        data = system.read_bytes(path)
    except OSError as exc:
        return LdCache((), "none", (f"{path}: {exc.strerror or exc}",))
    parsed = _PARSED.get(data)
    if parsed is None:
        if len(_PARSED) >= 4:
            _PARSED.clear()
        parsed = _PARSED[data] = parse_ld_cache(data)
    return parsed
