"""The PE reader against two oracles: x86_64-w64-mingw32-objdump -p and pefile.

Run on the mingw-built fixtures and on every .pyd/.dll of real win_amd64 wheels: the imported DLL
names (in order), every imported function (name or ordinal), the exported names and forwarders must be
what objdump lists; delay-load imports and the load config, which binutils does not print, are checked
against pefile.
"""
from __future__ import annotations

from pathlib import Path

import pefile
import pytest

from pe_kit import objdump_imports
from dllmagic.facts.native.binary import read_binary
from dllmagic.facts.native.pe import PEBinary
from dllmagic.facts.system import System

HOST = System.model("linux", "/")


def pe_files(folder: Path):
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".dll", ".pyd", ".exe") and p.is_file())


def check_against_objdump(path: Path) -> PEBinary:
    b = read_binary(str(path), HOST)
    assert isinstance(b, PEBinary) and b.ok, (path, b.error)
    want = objdump_imports(path)
    static = [n.name for n in b.needed if not n.delay]
    assert static == want["dlls"], path
    mine = [(i.dll, i.label) for i in b.imports if not i.delay]
    assert mine == want["imports"], path
    assert sorted(b.exports.names) == sorted(want["exports"]), path
    fwd = {str(o): t for o, t in b.exports.forwarders.items()}
    assert fwd == want["forwarders"], path
    assert not b.notes and not b.table_notes, (path, b.notes, b.table_notes)
    return b


def check_against_pefile(path: Path) -> None:
    b = read_binary(str(path), HOST)
    pe = pefile.PE(str(path), fast_load=True)
    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY[k] for k in (
        "IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT", "IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG")])
    delay = [(e.dll.decode(), i.name.decode() if i.name else f"#{i.ordinal}")
             for e in getattr(pe, "DIRECTORY_ENTRY_DELAY_IMPORT", []) for i in e.imports]
    assert [(i.dll, i.label) for i in b.imports if i.delay] == delay, path
    assert [n.name for n in b.needed if n.delay] == list(dict.fromkeys(d for d, _ in delay)), path
    lc = getattr(pe, "DIRECTORY_ENTRY_LOAD_CONFIG", None)
    flags = getattr(lc.struct, "DependentLoadFlags", 0) if lc is not None else 0
    assert b.dependent_load_flags == flags, path
    assert b.machine == {0x8664: "x86_64", 0x14C: "i386", 0xAA64: "aarch64"}[pe.FILE_HEADER.Machine]
    assert b.linker_version == (pe.OPTIONAL_HEADER.MajorLinkerVersion, pe.OPTIONAL_HEADER.MinorLinkerVersion)
    assert (b.kind == "shared") == pe.is_dll()


def test_fixtures_match_objdump_and_pefile(pe_built):
    files = pe_files(pe_built)
    assert len(files) >= 20
    for path in files:
        check_against_objdump(path)
        check_against_pefile(path)


def test_fixture_tables_say_what_the_fixtures_are_built_to_say(pe_built):
    fwd = read_binary(str(pe_built / "libfwd.dll"), HOST)
    assert fwd.exports.forwarder_of("fwd_fn") == "libreal.real_fn"
    assert fwd.exports.forwarder_of("fwd_own") is None
    assert {s.name: s.library for s in fwd.exported_symbols}["fwd_fn"] == "libreal.real_fn"
    ext = read_binary(str(pe_built / "ext_delay.pyd"), HOST)
    assert [n for n in ext.needed if n.delay] and ext.needed[-1].name == "libdelay.dll"
    assert [s for s in ext.imported_symbols if s.library == "libdelay.dll"][0].weak  # delay: never fails the load
    ordinal = read_binary(str(pe_built / "ext_ord.pyd"), HOST)
    assert [i.ordinal for i in ordinal.imports if i.dll == "libord.dll"] == [2]
    lib = read_binary(str(pe_built / "libord.dll"), HOST)
    assert lib.exports.has(None, 2) and not lib.exports.has("ord_b") and lib.exports.has("ord_a")
    b32 = read_binary(str(pe_built / "bar32" / "libbar.dll"), HOST)
    assert (b32.bits, b32.machine) == (32, "i386")
    exe = read_binary(str(pe_built / "python.exe"), HOST)
    assert exe.kind == "executable" and [n.name for n in exe.needed][-1] == "python311.dll"


def test_real_wheels_match_objdump(win_wheels):
    files = [p for folder in win_wheels.values() for p in pe_files(folder)]
    assert len(files) >= 30
    for path in files:
        b = check_against_objdump(path)
        check_against_pefile(path)
        assert b.machine == "x86_64" and b.bits == 64


def test_version_resource_of_the_real_vc_runtime(win_wheels):
    data = next(win_wheels["msvc-runtime"].glob("*.data/data"))
    b = read_binary(str(data / "msvcp140.dll"), HOST)
    assert b.file_version[:2] == (14, 44)
    assert b.version_info["ProductName"].startswith("Microsoft")
    pe = pefile.PE(str(data / "msvcp140.dll"))
    ffi = pe.VS_FIXEDFILEINFO[0]
    assert b.file_version == (ffi.FileVersionMS >> 16, ffi.FileVersionMS & 0xFFFF,
                              ffi.FileVersionLS >> 16, ffi.FileVersionLS & 0xFFFF)
    pyd = read_binary(str(next(win_wheels["numpy"].rglob("_multiarray_umath*.pyd"))), HOST)
    assert pyd.linker_version[0] == 14 and pyd.version_info == {} or pyd.version_info
