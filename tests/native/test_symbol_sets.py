"""The symbol check's bulk readers and the store of undefined symbols kept between runs.

The bulk readers (``elf.export_sets``, ``elf.import_groups``) must give exactly what the careful
reader (``elf.parse_symbols``) gives, on every fixture, on this machine's libraries and on a library
built here with hidden and default versions; where they cannot (a byte order not the host's, a note
the careful reader would make), they decline and the careful reader answers. The imports kept
between runs must never outlive a change of the file.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dllmagic.facts.native import elf, factstore
from dllmagic.facts.native.binary import _map_file, clear_cache
from native_oracles import CLEAN_ENV, elf_files, run_ldd

SYSTEM = [Path("/lib/x86_64-linux-gnu") / n for n in ("libc.so.6", "libm.so.6", "libstdc++.so.6", "libz.so.1",
                                                      "libgcc_s.so.1")]


def careful_sets(data):
    """(any, visible, by_version) built from the careful reader's export list."""
    _imp, exported, _notes = elf.parse_symbols(data)
    f = elf._Elf(data)
    tags = elf._dynamic(f)
    strtab = elf._strtab(f, tags) if tags and elf.DT_STRTAB in tags else None
    versioned = bool(strtab and elf._verdef(f, tags, strtab))
    anyv, visible, by_version = set(), set(), {}
    for s in exported:
        if not versioned:
            anyv.add(s.name)
            visible.add(s.name)
            continue
        if not s.hidden:
            visible.add(s.name)
            if s.version is None:
                anyv.add(s.name)
        if s.version is not None:
            by_version.setdefault(s.version, set()).add(s.name)
    return anyv, visible, by_version


def careful_groups(data):
    imported, _exp, _notes = elf.parse_symbols(data, imports_only=True)
    groups = {}
    for s in imported:
        if not s.weak:
            groups.setdefault((s.version, s.library), set()).add(s.name)
    return groups


def check_same(paths):
    """Every file's bulk answers against the careful reader's; how many the bulk readers answered."""
    answered = 0
    for p in paths:
        data = _map_file(str(p))
        sets = elf.export_sets(data)
        groups = elf.import_groups(data)
        if sets is not None:
            answered += 1
            assert (set(sets[0]), set(sets[1]), {k: set(v) for k, v in sets[2].items()}) == careful_sets(data), p
        if groups is not None:
            assert {(v, lib): set(n) for v, lib, n in groups} == careful_groups(data), p
    return answered


def test_bulk_readers_agree_with_the_careful_reader_on_every_fixture_and_system_library(built):
    files = elf_files(built) + [p for p in SYSTEM if p.exists()] + [Path(os.path.realpath(sys.executable))]
    answered = check_same(files)
    # they must really answer (a reader that always declined would pass the comparison above)
    assert answered >= len(files) * 0.9, (answered, len(files))


def test_bulk_readers_agree_on_a_real_wheel():
    numpy = pytest.importorskip("numpy")
    root = Path(numpy.__file__).parent
    files = elf_files(root, root.parent / "numpy.libs")
    assert files
    assert check_same(files) >= len(files) * 0.9


def _cc(out: Path, source: str, *flags: str) -> Path:
    src = out.with_suffix(".c")
    src.write_text(textwrap.dedent(source))
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out), str(src), *flags], check=True, env=CLEAN_ENV)
    return out


def test_hidden_and_default_versions_and_a_symbol_without_version(tmp_path):
    # old_api@V1 (hidden: only a reference naming V1 binds to it), api@@V2 (default), plain (no
    # version node of its own in a versioned file: version None, visible)
    (tmp_path / "v.map").write_text("V1 { global: old_api; local: *; }; V2 { global: api; } V1;\n")
    lib = _cc(tmp_path / "libv.so", """
        int old_api_impl(void) { return 1; }
        int api(void) { return 2; }
        int plain(void) { return 3; }
        __asm__(".symver old_api_impl, old_api@V1");
    """, f"-Wl,--version-script={tmp_path / 'v.map'}", "-Wl,--undefined-version")
    data = _map_file(str(lib))
    sets = elf.export_sets(data)
    assert sets is not None
    anyv, visible, by_version = sets
    assert "old_api" in by_version["V1"] and "old_api" not in visible
    assert "api" in by_version["V2"] and "api" in visible and "api" not in anyv
    assert careful_sets(data) == (set(anyv), set(visible), {k: set(v) for k, v in by_version.items()})


def test_a_big_endian_file_is_left_to_the_careful_reader(built):
    # the bulk readers use the host's byte order: another one must make them decline, not misread
    sample = next(p for p in elf_files(built) if p.suffix == ".so" or ".so." in p.name)
    data = bytearray(_map_file(str(sample)))
    data[5] = 2  # EI_DATA: big-endian
    assert elf.export_sets(bytes(data)) is None
    assert elf.import_groups(bytes(data)) is None


def _deps(*args, cache: Path):
    env = dict(CLEAN_ENV, DLLMAGIC_CACHE_DIR=str(cache))
    proc = subprocess.run([sys.executable, "-m", "dllmagic", "deps", "--json", "-j", "1", *args],
                          capture_output=True, text=True, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def _missing(result):
    out = set()
    for tree in result["trees"]:
        out |= {p["name"] for p in tree["problems"] if p["kind"] == "missing-symbol"}
    return out


def _settle(*paths):
    # the stores keep nothing changed in the last two seconds (its stamp could repeat in one tick)
    time.sleep(factstore.SETTLE_NS / 1e9 + 0.2)


def test_kept_imports_are_used_only_while_the_file_is_unchanged(tmp_path):
    cache = tmp_path / "cache"
    _cc(tmp_path / "libdep.so", "int present(void) { return 1; }", "-Wl,-soname,libdep.so")
    user = tmp_path / "libuser.so"
    _cc(user, "int present(void); int gone_one(void); int f(void) { return present() + gone_one(); }",
        f"-L{tmp_path}", "-ldep", "-Wl,-rpath,$ORIGIN")
    _settle()
    first = _deps("--symbols", str(user), cache=cache)
    assert _missing(first) == {"gone_one"}
    assert run_ldd(str(user), relocs=True)["undefined"] == {("gone_one", "libuser.so")}
    kept = factstore.ImportStore(str(cache))
    st = os.stat(user)
    assert kept.get(str(user), st) is not None, "the imports of the file were not kept"
    assert _deps("--symbols", str(user), cache=cache) == first  # answered from the store: the same
    # the file changes (a new inode, as a rebuild or an upgrade gives): its kept imports are not used
    os.unlink(user)
    _cc(user, "int present(void); int gone_two(void); int f(void) { return present() + gone_two(); }",
        f"-L{tmp_path}", "-ldep", "-Wl,-rpath,$ORIGIN")
    assert _missing(_deps("--symbols", str(user), cache=cache)) == {"gone_two"}
    _settle()
    assert _missing(_deps("--symbols", str(user), cache=cache)) == {"gone_two"}
    # the same file rewritten in place (same inode, new size and times)
    _cc(tmp_path / "libuser2.so", "int present(void); int gone_three(void); int f(void) { return gone_three(); }",
        f"-L{tmp_path}", "-ldep", "-Wl,-rpath,$ORIGIN")
    with open(user, "r+b") as fh:
        fh.truncate(0)
        fh.write((tmp_path / "libuser2.so").read_bytes())
    assert _missing(_deps("--symbols", str(user), cache=cache)) == {"gone_three"}


def test_a_damaged_imports_entry_is_not_used(tmp_path):
    st = os.stat(sys.executable)
    groups = ((None, None, frozenset({"a", "b"})), ("GLIBC_2.2.5", "libc.so.6", frozenset({"c"})))
    row = factstore.encode_groups(st, groups)
    assert factstore.decode_groups(row) == groups
    for bad in ([*row[:5], ["x"]], [*row[:5], [1, None, "a"]], [*row[:5], [None, None, ""]], row[:3]):
        with pytest.raises(ValueError):
            factstore.decode_groups(bad)
    # a name with a newline cannot be kept (the names are stored newline-separated)
    assert factstore.encode_groups(st, ((None, None, frozenset({"a\nb"})),)) is None
    store = factstore.ImportStore(str(tmp_path))
    store.entries[sys.executable] = [*row[:5], [1, 2, 3]]
    assert store.get(sys.executable, st) is None
    assert sys.executable not in store.entries


def test_one_library_reached_by_two_spellings_is_one_file(tmp_path):
    # pillow.libs reached as PIL/../pillow.libs/...: the symbol facts are the file's, whatever the path
    clear_cache()
    (tmp_path / "a").mkdir()
    lib = _cc(tmp_path / "libone.so", "int one(void) { return 1; }")
    from dllmagic.facts.native.loader import loader_for
    from dllmagic.facts.native.loader.linux.common import file_key
    from dllmagic.facts.system import System

    loader = loader_for(System.model("linux", "/", environ=CLEAN_ENV))
    b1 = loader.read(str(lib))
    b2 = loader.read(str(tmp_path / "a" / ".." / "libone.so"))
    assert b1.path != b2.path and file_key(b1) == file_key(b2)
    assert loader.export_sets(b1) is loader.export_sets(b2)
