"""The Mach-O reader against macholib and llvm-objdump --macho, and the dyld model, rule by rule.

Fixtures are built here with clang + ld64.lld (fixtures/build.sh); real Pillow (arm64, x86_64) and
MarkupSafe (universal2) wheels for macOS are resolved in modelled machines described once per test.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from macho_kit import macholib_view, objdump_dylibs
from dllmagic.facts.native.binary import read_binary
from dllmagic.facts.native.loader import format_tree, problems, tree_to_dict, walk
from dllmagic.facts.native.loader.macos import dyld_error_text
from dllmagic.facts.native.macho import CPU_TYPES, MachOBinary, pick_slice
from dllmagic.facts.system import System

HOST = System.model("linux", "/")
SITE = "/opt/py/lib/python3.11/site-packages"


def macho_files(folder: Path):
    return sorted(p for p in folder.rglob("*") if p.is_file() and (p.suffix in (".so", ".dylib") or
                                                                   p.name.startswith("python3")))


def check_against_macholib(path: Path) -> MachOBinary:
    b = read_binary(str(path), HOST)
    assert isinstance(b, MachOBinary) and b.ok, (path, b.error)
    want = macholib_view(path)
    slices = b.slices or (b,)
    assert len(slices) == len(want), path
    for mine, theirs in zip(slices, want):
        assert mine.machine == CPU_TYPES[theirs["cputype"]], path
        assert [(d.name, d.kind, d.compatibility_version) for d in mine.dylibs] == theirs["dylibs"], path
        assert list(mine.rpath) == theirs["rpaths"] and mine.soname == theirs["id"], path
        assert not mine.notes, mine.notes
    return b


def test_fixtures_and_real_wheels_match_macholib_and_objdump(macho_built, mac_wheels):
    files = macho_files(macho_built) + [p for w in mac_wheels.values() for p in macho_files(w)]
    assert len(files) > 40
    for path in files:
        b = check_against_macholib(path)
        if not b.slices:  # objdump lists a dylib's own install name first
            assert ([b.soname] if b.soname else []) + [d.name for d in b.dylibs] == objdump_dylibs(path), path


def test_symbols_carry_their_two_level_library(macho_built):
    ext = read_binary(str(macho_built / "arm64" / "ext.so"), HOST)
    imports = {s.name: s.library for s in ext.imported_symbols}
    assert imports["_foo_new"] == "@rpath/libfoo.dylib"
    assert imports["_PyLong_FromLong"] == "flat"
    lib = read_binary(str(macho_built / "arm64" / "lib" / "libfoo.dylib"), HOST)
    assert {"_foo_old", "_foo_new"} <= {s.name for s in lib.exported_symbols}
    assert lib.id_versions == (0x20100, 0x20000) and lib.min_os == (11, 0, 0)
    fat = read_binary(str(macho_built / "fat" / "lib" / "libfoo.dylib"), HOST)
    assert sorted(fat.archs) == ["arm64", "x86_64"]
    assert pick_slice(fat, "x86_64").machine == "x86_64" and pick_slice(fat, "arm64e").machine == "arm64"
    assert {s.name for s in pick_slice(fat, "x86_64").exported_symbols} >= {"_foo_new"}


def ext_machine(mac, built, arch="arm64", ext="ext.so", lib="lib"):
    mac.put("/opt/py/bin/python3.11", built / arch / "bin" / "python3.11")
    mac.put(f"{SITE}/pkg/{ext}", built / arch / ext)
    if lib:
        mac.put(f"{SITE}/pkg/lib/libfoo.dylib", built / arch / lib / "libfoo.dylib")
    return f"{SITE}/pkg/{ext}"


def resolve(machine, path):
    tree = machine.loader().resolve(path)
    json.dumps(tree_to_dict(tree))
    return tree, format_tree(tree, verbose=True)


def node(tree, name):
    return next(n for n in walk(tree.root) if n.name == name and n is not tree.root)


def test_rpath_of_the_extension_finds_its_library(mac, macho_built):
    path = ext_machine(mac, macho_built)
    tree, text = resolve(mac.load(), path)
    n = node(tree, "@rpath/libfoo.dylib")
    assert (n.rule, n.path) == ("rpath", f"{SITE}/pkg/lib/libfoo.dylib"), text
    assert n.via == f"LC_RPATH @loader_path/lib of {SITE}/pkg/ext.so"
    assert not problems(tree) and tree.symbols_checked
    assert tree.executable == "/opt/py/bin/python3.11" and tree.loader == "dyld (arm64)"


def test_without_its_own_rpath_the_executables_rpath_is_used(mac, macho_built):
    path = ext_machine(mac, macho_built, ext="ext_norpath.so", lib=None)
    mac.put("/opt/py/lib/libfoo.dylib", macho_built / "arm64" / "lib" / "libfoo.dylib")
    machine = mac.load()
    tree, text = resolve(machine, path)
    n = node(tree, "@rpath/libfoo.dylib")
    # The run-path stack ends with python's own LC_RPATH @executable_path/../lib.
    assert (n.rule, n.path) == ("executable-rpath", "/opt/py/bin/../lib/libfoo.dylib"), text
    assert n.via == "LC_RPATH @executable_path/../lib of /opt/py/bin/python3.11"
    tree = machine.loader().resolve(path, python_executable="")
    n = node(tree, "@rpath/libfoo.dylib")
    assert n.error.startswith("Library not loaded: @rpath/libfoo.dylib"), text
    assert any(c.outcome == "not-searched" and "no LC_RPATH" in c.reason for c in n.candidates)


def test_a_missing_library_reads_like_dyld(mac, macho_built):
    path = ext_machine(mac, macho_built, lib=None)
    mac.put("/opt/py/lib/libfoo.dylib", macho_built / "arm64" / "old" / "libfoo.dylib")
    # python unknown: its LC_RPATH (which would reach /opt/py/lib) is not in the run-path stack.
    tree, text = resolve(mac.load(python={"executable": ""}), path)
    msg = dyld_error_text(tree)
    assert msg.startswith(f"dlopen({path}, 0x0002): Library not loaded: @rpath/libfoo.dylib"), text
    assert f"'{SITE}/pkg/lib/libfoo.dylib' (no such file)" in msg
    assert "'/usr/lib/libfoo.dylib' (no such file, not in dyld cache)" in msg
    assert [p.kind for p in problems(tree)] == ["missing-library"]


def test_a_wrong_architecture_candidate_is_skipped_with_dyld_words(mac, macho_built):
    path = ext_machine(mac, macho_built, lib=None)
    mac.put(f"{SITE}/pkg/lib/libfoo.dylib", macho_built / "x86_64" / "lib" / "libfoo.dylib")
    tree, text = resolve(mac.load(environ={"DYLD_FALLBACK_LIBRARY_PATH": "/opt/fallback"}), path)
    n = node(tree, "@rpath/libfoo.dylib")
    assert n.candidates[0].reason == ("mach-o file, but is an incompatible architecture "
                                      "(have 'x86_64', need 'arm64')"), text
    assert n.error and n.candidates[-1].path == "/opt/fallback/libfoo.dylib"
    # A fat library serves both.
    mac.put(f"{SITE}/pkg/lib/libfoo.dylib", macho_built / "fat" / "lib" / "libfoo.dylib")
    tree, text = resolve(mac.load(), path)
    assert not problems(tree), text


def test_an_x86_64_python_runs_under_rosetta_and_needs_x86_64_libraries(mac, macho_built):
    path = ext_machine(mac, macho_built)
    mac.put("/opt/py/bin/python3.11", macho_built / "x86_64" / "bin" / "python3.11")
    tree, text = resolve(mac.load(), path)
    assert tree.loader == "dyld (x86_64)" and any("Rosetta" in n for n in tree.notes), text
    assert tree.root.error == ("mach-o file, but is an incompatible architecture (have 'arm64', need 'x86_64')")
    mac.put(f"{SITE}/pkg/ext.so", macho_built / "fat" / "ext.so")
    mac.put(f"{SITE}/pkg/lib/libfoo.dylib", macho_built / "fat" / "lib" / "libfoo.dylib")
    tree, text = resolve(mac.load(), path)
    assert not problems(tree), text


def test_dyld_library_path_comes_first_unless_purged(mac, macho_built):
    path = ext_machine(mac, macho_built)
    mac.put("/opt/override/libfoo.dylib", macho_built / "arm64" / "old2" / "libfoo.dylib")
    machine = mac.load(environ={"DYLD_LIBRARY_PATH": "/opt/override"})
    tree, text = resolve(machine, path)
    n = node(tree, "@rpath/libfoo.dylib")
    assert (n.rule, n.path) == ("dyld-library-path", "/opt/override/libfoo.dylib"), text
    # That older copy lacks _foo_new: a two-level symbol bound to libfoo.
    assert [m.name for m in n.missing_symbols] == ["_foo_new"]
    assert problems(tree)[0].kind == "missing-symbol"
    tree, text = resolve(mac.load(environ={"DYLD_LIBRARY_PATH": "/opt/override"}, macos={"env_purged": True}), path)
    assert node(tree, "@rpath/libfoo.dylib").rule == "rpath" and any("purged" in n for n in tree.notes), text


def test_an_older_compatibility_version_is_refused(mac, macho_built):
    path = ext_machine(mac, macho_built, lib="old")
    tree, text = resolve(mac.load(), path)
    n = node(tree, "@rpath/libfoo.dylib")
    assert n.error == ("Incompatible library version: ext.so requires version 2.0.0 or later, but "
                       "libfoo.dylib provides version 1.0.0"), text


def test_a_missing_weak_dylib_is_not_an_error(mac, macho_built):
    mac.put("/opt/py/bin/python3.11", macho_built / "arm64" / "bin" / "python3.11")
    mac.put("/opt/py/lib/libfoo.dylib", macho_built / "arm64" / "lib" / "libfoo.dylib")
    path = mac.put(f"{SITE}/pkg/extweak.so", macho_built / "arm64" / "extweak.so")
    tree, text = resolve(mac.load(), path)
    n = node(tree, "@loader_path/libbar.dylib")
    assert n.error is None and any("weak dylib" in x for x in n.notes) and not problems(tree), text


def test_a_library_built_for_a_newer_macos_is_skipped(mac, macho_built):
    path = ext_machine(mac, macho_built)
    tree, text = resolve(mac.load(macos={"version": "10.15"}), path)
    assert tree.root.error == "built for macOS 11.0 which is newer than running OS 10.15", text


def test_real_pillow_wheels_resolve_through_loader_path_into_dylibs(mac, macho_built, mac_wheels):
    for tag, arch in (("macosx_11_0_arm64", "arm64"), ("macosx_10_13_x86_64", "x86_64")):
        mac.put(f"{SITE}-{arch}", mac_wheels[f"pillow-{tag}"])
        mac.put("/opt/py/bin/python3.11", macho_built / arch / "bin" / "python3.11")
        mac.put("/opt/py/lib/libfoo.dylib", macho_built / arch / "lib" / "libfoo.dylib")
        loader = mac.load(machine=arch).loader()
        sos = sorted((mac.root / f"{SITE}-{arch}".lstrip("/") / "PIL").glob("*.so"))
        assert len(sos) > 5
        for so in sos:
            tree = loader.resolve(f"{SITE}-{arch}/PIL/{so.name}")
            assert not problems(tree), format_tree(tree, verbose=True)
        tree = loader.resolve(f"{SITE}-{arch}/PIL/_imaging.cpython-311-darwin.so")
        rules = {n.rule for n in walk(tree.root) if n is not tree.root}
        assert "loader-path" in rules or "rpath" in rules
        assert "shared-cache" in rules   # /usr/lib/libSystem.B.dylib is not on disk
    # An arm64 wheel in an x86_64 (Rosetta) python: the slice check.
    tree = mac.load(machine="x86_64").loader().resolve(f"{SITE}-arm64/PIL/_imaging.cpython-311-darwin.so")
    assert "incompatible architecture (have 'arm64', need 'x86_64')" in tree.root.error


def test_a_universal2_wheel_loads_in_both_architectures(mac, macho_built, mac_wheels):
    mac.put(SITE, mac_wheels["markupsafe-macosx_10_9_universal2"])
    so = next((mac.root / SITE.lstrip("/") / "markupsafe").glob("*.so"))
    for arch in ("arm64", "x86_64"):
        mac.put("/opt/py/bin/python3.11", macho_built / arch / "bin" / "python3.11")
        mac.put("/opt/py/lib/libfoo.dylib", macho_built / arch / "lib" / "libfoo.dylib")
        tree = mac.load(machine=arch).loader().resolve(f"{SITE}/markupsafe/{so.name}")
        assert not problems(tree) and tree.loader == f"dyld ({arch})", format_tree(tree, verbose=True)


def test_deps_cli_with_a_machine_description(mac, macho_built, capsys):
    from dllmagic.cli_deps import main

    path = ext_machine(mac, macho_built, lib=None)
    mac.load()
    rc = main(["deps", "--machine", str(mac.base / "machine.json"), "--json", path])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1 and out["trees"][0]["platform"] == "macos"
    assert out["trees"][0]["problems"][0]["name"] == "@rpath/libfoo.dylib"


def test_a_symbol_re_exported_through_an_umbrella_library(mac, macho_built):
    """LC_REEXPORT_DYLIB: the extension imports foo_new two-level from libumbrella, which re-exports the
    libfoo beside it; with the libfoo lacking foo_new the symbol is reported missing, naming the umbrella."""
    ext = f"{SITE}/pkg/extumb.so"
    mac.put("/opt/py/bin/python3.11", macho_built / "arm64" / "bin" / "python3.11")
    mac.put(ext, macho_built / "rx_new" / "extumb.so")
    mac.put(f"{SITE}/pkg/lib/libumbrella.dylib", macho_built / "rx_new" / "lib" / "libumbrella.dylib")
    mac.put(f"{SITE}/pkg/lib/libfoo.dylib", macho_built / "rx_new" / "lib" / "libfoo.dylib")
    umbrella = read_binary(str(macho_built / "rx_new" / "lib" / "libumbrella.dylib"), HOST)
    assert [(d.name, d.kind) for d in umbrella.dylibs if d.kind == "reexport"] == [("@loader_path/libfoo.dylib", "reexport")]
    tree, text = resolve(mac.load(), ext)
    assert node(tree, "@loader_path/libfoo.dylib").path == f"{SITE}/pkg/lib/libfoo.dylib", text
    assert not problems(tree) and tree.symbols_checked, text
    # The same umbrella over a libfoo without foo_new: the two-level lookup fails.
    mac.put(f"{SITE}/pkg/lib/libfoo.dylib", macho_built / "rx_old" / "lib" / "libfoo.dylib")
    mac.put(f"{SITE}/pkg/lib/libumbrella.dylib", macho_built / "rx_old" / "lib" / "libumbrella.dylib")
    tree, text = resolve(mac.load(), ext)
    found = problems(tree)
    assert any("_foo_new" in (p.name or "") + (p.detail or "") for p in found), (found, text)


def test_an_unstated_mac_takes_its_cpu_from_the_file(macho_built, tmp_path, capsys):
    """``deps --root DIR --platform macos`` on an arm64 bundle: the machine is an arm64 Mac, and the
    output says the CPU came from the file (a default x86_64 machine would refuse the bundle)."""
    import argparse
    import json
    import shutil

    from dllmagic import cli_deps

    root = tmp_path / "mac"
    app = root / "opt" / "app"
    shutil.copytree(macho_built / "arm64", app)
    parser = argparse.ArgumentParser(prog="dlldoctor")
    cli_deps.add_parser(parser.add_subparsers(dest="verb"))
    args = parser.parse_args(["deps", "--no-cache", str(app / "ext.so"), "--root", str(root),
                              "--platform", "macos", "--json", "--as-imported"])
    rc = cli_deps.run(args)
    data = json.loads(capsys.readouterr().out)
    (tree,) = data["trees"]
    assert any(n.startswith("CPU arm64 taken from /opt/app/ext.so (arm64)") for n in tree["notes"]), tree["notes"]
    assert "arm64" in tree["loader"] and tree["root"]["error"] is None
    assert rc == 0, tree
