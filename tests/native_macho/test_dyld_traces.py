"""The dyld trace parsers on recorded output (traces/), and the model compared with them."""
from __future__ import annotations

from pathlib import Path

from dllmagic.facts.native.loader import walk
from dllmagic.facts.native.loader.macos import dyld_error_text
from dllmagic.facts.native.traces import compare, parse_dyld_error, parse_dyld_searching

TRACES = Path(__file__).parent / "traces"
SITE = "/opt/py/lib/python3.11/site-packages"


def test_dyld_print_searching_is_parsed():
    (foo, system) = parse_dyld_searching((TRACES / "ext_found.dyld.txt").read_text())
    assert foo.name == "@rpath/libfoo.dylib" and foo.found == f"{SITE}/pkg/lib/libfoo.dylib"
    assert foo.tried[0][1].startswith('LC_RPATH="@loader_path/lib"') and foo.status == "dylib-from-disk"
    assert system.found == "/usr/lib/libSystem.B.dylib" and system.status == "dylib-from-cache"
    assert parse_dyld_searching("garbage\ndyld[1]: found: \"x\"\n") == []


def test_the_model_agrees_with_the_recorded_trace(mac, macho_built):
    mac.put("/opt/py/bin/python3.11", macho_built / "arm64" / "bin" / "python3.11")
    mac.put(f"{SITE}/pkg/ext.so", macho_built / "arm64" / "ext.so")
    mac.put(f"{SITE}/pkg/lib/libfoo.dylib", macho_built / "arm64" / "lib" / "libfoo.dylib")
    tree = mac.load().loader().resolve(f"{SITE}/pkg/ext.so")
    searches = parse_dyld_searching((TRACES / "ext_found.dyld.txt").read_text())
    assert compare(tree, searches) == []
    # A trace that found another file is reported.
    searches[0].found = "/elsewhere/libfoo.dylib"
    assert compare(tree, searches) == [
        f"@rpath/libfoo.dylib: the loader found /elsewhere/libfoo.dylib, the model {SITE}/pkg/lib/libfoo.dylib [rpath]"]


def test_the_error_text_is_parsed_and_the_model_tries_the_same_places(mac, macho_built):
    err = parse_dyld_error((TRACES / "ext_missing.error.txt").read_text())
    assert err.library == "@rpath/libfoo.dylib" and err.referenced_from == f"{SITE}/pkg/ext.so"
    assert err.tried[-1] == ("/usr/lib/libfoo.dylib", "no such file, not in dyld cache")
    mac.put("/opt/py/bin/python3.11", macho_built / "arm64" / "bin" / "python3.11")
    mac.put(f"{SITE}/pkg/ext.so", macho_built / "arm64" / "ext.so")
    tree = mac.load().loader().resolve(f"{SITE}/pkg/ext.so")
    model = parse_dyld_error(dyld_error_text(tree))
    assert model.tried == err.tried and model.library == err.library
    assert [n.error for n in walk(tree.root) if n.error][0] == "Library not loaded: @rpath/libfoo.dylib"
    assert parse_dyld_error("ImportError: No module named x") is None
