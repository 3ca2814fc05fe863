"""Corrupt, truncated and hostile Mach-O files never raise out of the reader or the dyld model."""
from __future__ import annotations

import json
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dllmagic.facts.native.binary import clear_cache, read_binary
from dllmagic.facts.native.loader import format_tree, problems, tree_to_dict
from dllmagic.facts.native.macho import MachOInvalid, parse
from dllmagic.facts.system import System

SITE = "/opt/py/lib/python3.11/site-packages"


def exercise(mac, data: bytes, name: str = "bad.so"):
    host = mac.root / SITE.lstrip("/") / "pkg" / name
    host.parent.mkdir(parents=True, exist_ok=True)
    host.write_bytes(data)
    b = read_binary(str(host), System.model("linux", "/"))
    _ = (b.imported_symbols, b.exported_symbols, b.symbol_notes)
    tree = mac.load().loader().resolve(f"{SITE}/pkg/{name}")
    format_tree(tree, verbose=True)
    json.dumps(tree_to_dict(tree))
    problems(tree)
    return b, tree


@pytest.mark.parametrize("content, error", [
    (b"\xcf\xfa\xed\xfe", "file too short"),
    (b"\xca\xfe\xba\xbe\x00\x00\x00\x37" + b"\0" * 64, "not a mach-o file (fat header claims 55 slices)"),
    (b"\xca\xfe\xba\xbe\x00\x00\x00\x01" + struct.pack(">iiIII", 7, 3, 4096, 100, 12),
     "fat file without a readable slice (slice 0 lies outside the file)"),
])
def test_bad_headers_become_errors(mac, macho_built, content, error):
    mac.put("/opt/py/bin/python3.11", macho_built / "arm64" / "bin" / "python3.11")
    b, tree = exercise(mac, content)
    assert b.error == error
    assert tree.root.error


def test_truncations_of_real_files_never_raise(mac, macho_built):
    mac.put("/opt/py/bin/python3.11", macho_built / "arm64" / "bin" / "python3.11")
    for src in ("arm64/ext.so", "fat/lib/libfoo.dylib", "fat/ext.so"):
        data = (macho_built / src).read_bytes()
        cuts = sorted({0, 3, 4, 27, 28, 33, 100, 300} | set(range(0, len(data), max(1, len(data) // 25))))
        for i, cut in enumerate(cuts):
            exercise(mac, data[:cut], f"cut{i}.so")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_damage_never_raises(macho_built, tmp_path_factory, data):
    clear_cache()
    src = bytearray((macho_built / "fat" / "ext.so").read_bytes())
    for _ in range(data.draw(st.integers(1, 12))):
        at = data.draw(st.integers(0, 1023))
        src[at] = data.draw(st.integers(0, 255))
    try:
        fields = parse(bytes(src))
    except MachOInvalid:
        return
    assert fields["format"] == "macho"
    p = tmp_path_factory.mktemp("m") / "x.so"
    p.write_bytes(bytes(src))
    b = read_binary(str(p), System.model("linux", "/"))
    _ = (b.imported_symbols, b.exported_symbols, [s.exported_symbols for s in getattr(b, "slices", ())])


def hostile_macho_names(count=20000, name_len=64 * 1024) -> bytes:
    """An arm64 bundle whose ``count`` undefined symbols all name one ``name_len``-byte string
    (1.3 GB of names if each were decoded): LC_SYMTAB only."""
    header = struct.pack("<IiiIIIII", 0xFEEDFACF, 0x0100000C, 0, 8, 1, 24, 0, 0)
    symoff = 4096
    stroff = symoff + 16 * count
    strtab = b"\0" + b"s" * name_len + b"\0"
    cmd = struct.pack("<IIIIII", 0x2, 24, symoff, count, stroff, len(strtab))
    data = bytearray(stroff + len(strtab))
    data[:len(header) + len(cmd)] = header + cmd
    entry = struct.pack("<IBBHQ", 1, 0x01, 0, 0xFE00, 0)    # N_UNDF|N_EXT, dynamic_lookup
    data[symoff:stroff] = entry * count
    data[stroff:] = strtab
    return bytes(data)


def test_symbol_names_that_overlap_stay_within_memory_and_time(tmp_path):
    """Resolved by ``dlldoctor deps`` in a child process: peak memory < 200 MB, under 30 s, and the
    node says the reading budget was reached (issue #13 item 5)."""
    import subprocess
    import sys

    data = hostile_macho_names()
    assert len(data) < 700 * 1024
    target = tmp_path / "opt" / "evil.cpython-311-darwin.so"
    target.parent.mkdir(parents=True)
    target.write_bytes(data)
    probe = ("import resource, subprocess, sys, time, json\n"
             "t = time.time(); p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "print(json.dumps([p.returncode, p.stdout, p.stderr, time.time() - t,"
             " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))")
    argv = [sys.executable, "-m", "dllmagic", "deps", "--no-cache", "--root", str(tmp_path), "--platform",
            "macos", "--as-imported", "--json", "/opt/evil.cpython-311-darwin.so"]
    out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=300)
    rc, stdout, stderr, seconds, kb = json.loads(out.stdout)
    assert rc in (0, 1), stderr[-2000:]
    assert kb / 1024 < 200 and seconds < 30, (kb, seconds)
    assert "exceed this file's reading budget" in stdout, stdout[-2000:]
