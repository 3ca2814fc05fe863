"""The default folders compiled into ld.so, found by scanning only around each "/\\0/": the same answer as the
pattern run over the whole file."""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from dllmagic.facts.native.loader.linux.machine import LinuxLoader


def whole_file_scan(data: bytes):
    """The first run of NUL-ended folder names that names a lib folder, the pattern run over every byte."""
    for m in re.finditer(rb"(?:/[\w.+-]+(?:/[\w.+-]+)*/\x00){2,}", data):
        dirs = [d.decode() for d in m.group().split(b"\0") if d]
        if any(d.rstrip("/").endswith(("lib", "lib64", "lib32", "libx32")) or "-linux-" in d for d in dirs):
            return tuple(d.rstrip("/") or "/" for d in dirs)
    return ()


def test_random_bytes_give_the_whole_file_answer():
    rnd = random.Random(15)
    alphabet = b"/\x00ab_lib64-x86.+\x01 \xff"
    for _ in range(20000):
        data = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(0, 80)))
        assert LinuxLoader._scan_system_dirs(data) == whole_file_scan(data), data


@pytest.mark.parametrize("data", [
    b"", b"/\x00/", b"/lib/\x00/usr/lib/\x00", b"x\x00/lib/\x00/usr/lib/\x00\x00",
    b"/a/\x00/b/\x00" + b"\x00" * 5000 + b"/opt/lib/\x00/usr/lib64/\x00",
    b"/" + b"a" * 10000 + b"/\x00/lib/\x00",
    b"/tmp/\x00/var/\x00junk/x86_64-linux-gnu/\x00/lib32/\x00",
])
def test_edge_cases_give_the_whole_file_answer(data):
    assert LinuxLoader._scan_system_dirs(data) == whole_file_scan(data)


def test_this_machines_loaders_give_the_whole_file_answer():
    loaders = [p for p in ("/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1", "/lib/ld-linux.so.2")
               if Path(p).is_file()]
    if not loaders:
        pytest.skip("no glibc program interpreter here")
    for path in loaders:
        data = Path(path).read_bytes()[: 8 << 20]
        found = LinuxLoader._scan_system_dirs(data)
        assert found and found == whole_file_scan(data)
