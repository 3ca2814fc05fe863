"""Corrupt, truncated and hostile files never raise out of the engine: they become notes and errors."""
from __future__ import annotations

import itertools
import os
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from native_oracles import CLEAN_ENV
from dllmagic.facts.native.binary import Binary, read_binary
from dllmagic.facts.native.elf import loaded_soname, parse, parse_symbols
from dllmagic.facts.native.loader import format_tree, problems, resolve, tree_to_dict
from dllmagic.facts.native.loader.ldcache import parse_ld_cache
from dllmagic.facts.system import System


def host():
    return System.model("linux", "/", environ=CLEAN_ENV)


def exercise(path: str) -> Binary:
    """Everything a caller may touch: the record, its symbols, a tree of it, and both views."""
    b = read_binary(path, host())
    _ = (b.imported_symbols, b.exported_symbols, b.symbol_notes, b.exports_by_name)
    for mode in ("standalone", "as-imported"):
        tree = resolve(path, host(), mode=mode, python_executable=os.path.realpath(sys.executable))
        format_tree(tree, verbose=True)
        tree_to_dict(tree)
        problems(tree)
    return b


@pytest.mark.parametrize("content, error", [
    (b"", "file too short"),
    (b"\x7fEL", "file too short"),
    (b"\x7fELF", "file too short"),
    (b"<!DOCTYPE html><html>" + b" " * 80, "invalid ELF header (an HTML page, not the library)"),
    (b"\x7fELF\x03\x01\x01" + b"\0" * 100, "invalid ELF class 3"),
    (b"\x7fELF\x02\x05\x01" + b"\0" * 100, "invalid ELF data encoding 5"),
])
def test_bad_files_become_errors(tmp_path, content, error):
    p = tmp_path / "libbad.so"
    p.write_bytes(content)
    b = exercise(str(p))
    assert b.error == error


def test_truncations_of_a_real_library_never_raise(tmp_path, built):
    src = (built / "an_undefined_symbol_is_reported" / "libuser.so").read_bytes()
    for i, cut in enumerate(sorted({0, 1, 16, 52, 63, 64, 65, 100, 200, 500, 1000, 4000}
                                   | set(range(0, len(src), max(1, len(src) // 40))))):
        p = tmp_path / f"cut{i}.so"
        p.write_bytes(src[:cut])
        exercise(str(p))
        assert_loaded_soname_agrees(src[:cut])


def test_other_formats_are_handed_to_their_reader(tmp_path):
    p = tmp_path / "libbad.so"
    p.write_bytes(b"MZ" + b"\0" * 100)
    b = exercise(str(p))
    assert b.format == "pe" and b.error


def test_symlink_loops_and_folders_named_like_libraries(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    os.symlink("libloop.so", d / "libloop.so")       # a link to itself
    (d / "libdir.so").mkdir()                          # a folder where a library should be
    os.symlink("..", d / "up")                         # a folder loop
    b = read_binary(str(d / "libloop.so"), host())
    assert b.error == "too many levels of symbolic links"
    assert read_binary(str(d / "libdir.so"), host()).error == "not a regular file"
    from dllmagic.cli_deps import iter_binaries

    assert list(iter_binaries(host(), str(tmp_path))) == []


def test_dependency_loops_and_rpath_loops(tmp_path, built):
    # A library that needs itself, with an RPATH listing its own folder many times over.
    src = built / "dependency_loops_are_loaded_once"
    dst = tmp_path / "loop"
    shutil.copytree(src, dst)
    tree = resolve(str(dst / "liba.so"), host(), mode="standalone")
    assert not problems(tree)
    names = [n.name for n in tree.root.children]
    assert "libb.so" in names


def test_ld_cache_parser_survives_garbage():
    real = Path("/etc/ld.so.cache").read_bytes() if Path("/etc/ld.so.cache").exists() else b""
    for data in [b"", b"glibc-ld.so.cache", b"glibc-ld.so.cache1.1" + b"\xff" * 40, b"ld.so-1.7.0\0\xff\xff\xff\xff",
                 real[:100], real[:1000], real[: len(real) // 2]]:
        parse_ld_cache(data)
    if real:
        assert parse_ld_cache(real).entries


# -- property-based: mutated real binaries ---------------------------------------------------------

def _samples(built):
    return [
        built / "an_undefined_symbol_is_reported" / "libuser.so",
        built / "a_missing_symbol_version_names_the_version_and_the_requirer" / "libuse.so",
        built / "runpath_cancels_rpath_of_the_requester" / "top" / "x" / "libmid.so",
        Path(os.path.realpath(sys.executable)),
    ]


_counter = itertools.count()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_real_binaries_never_raise(built, tmp_path, data):
    sample = data.draw(st.sampled_from(_samples(built)))
    raw = bytearray(sample.read_bytes())
    # Mutations aimed where the reader looks: the header, program headers, the dynamic section.
    for _ in range(data.draw(st.integers(1, 12))):
        where = data.draw(st.one_of(st.integers(0, 64), st.integers(0, min(len(raw) - 1, 4096)),
                                    st.integers(0, len(raw) - 1)))
        raw[where] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    p = tmp_path / f"mut{next(_counter)}.so"
    p.write_bytes(bytes(raw))
    b = exercise(str(p))
    assert isinstance(b.notes, tuple)
    # The pure parsers directly, on the same bytes.
    parse(bytes(raw))
    parse_symbols(bytes(raw))
    assert_loaded_soname_agrees(bytes(raw))


def assert_loaded_soname_agrees(raw: bytes) -> None:
    """The short read of an already-loaded object (of a file with the ELF magic, as read_binary hands it to
    parse): parse's SONAME when parse gives no error, else None."""
    if raw[:4] != b"\x7fELF":
        return
    whole = parse(raw)
    short = loaded_soname(raw)
    assert short == (None if whole.get("error") else (whole.get("soname"),)), (whole, short)
