"""Corrupt, truncated and hostile PE files never raise out of the reader or the Windows model."""
from __future__ import annotations

import json
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dllmagic.facts.native.binary import clear_cache, read_binary
from dllmagic.facts.native.loader import format_tree, problems, tree_to_dict
from dllmagic.facts.native.pe import PEInvalid, parse_exports, parse_imports
from dllmagic.facts.system import System

SITE = "C:\\Python311\\Lib\\site-packages"


def exercise(win, data: bytes, name: str = "bad.pyd"):
    """Everything a caller may touch: the record, its tables, a tree of it in a modelled Windows."""
    host = win.host(f"{SITE}\\pkg\\{name}")
    host.parent.mkdir(parents=True, exist_ok=True)
    host.write_bytes(data)
    b = read_binary(str(host), System.model("linux", "/"))
    _ = (b.imported_symbols, b.exported_symbols, b.symbol_notes, getattr(b, "imports", ()),
         getattr(b, "exports", None), getattr(b, "version_info", {}), b.lookup_export("x"))
    tree = win.load().loader().resolve(f"{SITE}\\pkg\\{name}")
    format_tree(tree, verbose=True)
    json.dumps(tree_to_dict(tree))
    problems(tree)
    return b, tree


@pytest.mark.parametrize("content, error", [
    (b"MZ", "truncated DOS header"),
    (b"MZ" + b"\0" * 100, "not a PE file (no PE signature: an MS-DOS or 16-bit program)"),
    (b"MZ" + b"\0" * 58 + struct.pack("<I", 1 << 20) + b"\0" * 64,
     "not a PE file (an MS-DOS program, or a truncated PE header)"),
    (b"MZ" + b"\0" * 58 + struct.pack("<I", 64) + b"NE\0\0" + b"\0" * 64,
     "not a PE file (no PE signature: an MS-DOS or 16-bit program)"),
    (b"MZ" + b"\0" * 58 + struct.pack("<I", 64) + b"PE\0\0" + b"\0" * 20 + b"\x99\x99" + b"\0" * 300,
     "truncated PE optional header"),
])
def test_bad_headers_become_errors(win, pe_built, content, error):
    win.python(pe_built)
    b, tree = exercise(win, content)
    assert b.error == error
    assert tree.root.error.startswith("%1 is not a valid Win32 application")


def test_truncations_of_real_modules_never_raise(win, pe_built):
    win.python(pe_built)
    for src in ("ext_fwd.pyd", "ext_delay.pyd", "libfwd.dll"):
        data = (pe_built / src).read_bytes()
        cuts = sorted({0, 1, 2, 63, 64, 65, 200, 400} | set(range(0, len(data), max(1, len(data) // 25))))
        for i, cut in enumerate(cuts):
            exercise(win, data[:cut], f"cut{i}.pyd")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_damage_never_raises(pe_built, tmp_path_factory, data):
    clear_cache()
    src = bytearray((pe_built / "ext_fwd.pyd").read_bytes())
    for _ in range(data.draw(st.integers(1, 12))):
        at = data.draw(st.integers(0, 1023))  # the headers and the first tables
        src[at] = data.draw(st.integers(0, 255))
    try:
        imports, notes = parse_imports(bytes(src))
        exports, more = parse_exports(bytes(src))
        assert isinstance(imports, tuple) and isinstance(notes + more, tuple)
    except PEInvalid:
        pass  # what read_binary turns into Binary.error
    p = tmp_path_factory.mktemp("d") / "x.pyd"
    p.write_bytes(bytes(src))
    b = read_binary(str(p), System.model("linux", "/"))
    _ = (b.imported_symbols, b.exported_symbols, getattr(b, "imports", ()), getattr(b, "version_info", {}))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(min_size=0, max_size=600))
def test_arbitrary_bytes_after_mz_never_raise(tmp_path_factory, blob):
    p = tmp_path_factory.mktemp("h") / "x.dll"
    p.write_bytes(b"MZ" + blob)
    b = read_binary(str(p), System.model("linux", "/"))
    _ = (b.imported_symbols, b.exported_symbols, getattr(b, "imports", ()))
    assert b.format in ("pe", "unknown")


def test_huge_counts_are_capped(win, pe_built):
    """An export directory claiming 2**31 names is read as far as the file goes, with a note."""
    win.python(pe_built)
    data = bytearray((pe_built / "libfwd.dll").read_bytes())
    b = read_binary(str(pe_built / "libfwd.dll"), System.model("linux", "/"))
    assert b.exports.names
    from dllmagic.facts.native.pe import _Image, _export_header

    img = _Image(bytes(data))
    _rva, _size, _f = _export_header(img)
    off = img.offset(img.directory(0)[0])
    struct.pack_into("<II", data, off + 20, 0x7FFFFFFF, 0x7FFFFFFF)
    exports, notes = parse_exports(bytes(data))
    assert notes and not exports.names
