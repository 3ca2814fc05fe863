"""What the kernel hook remembers between failures is keyed by everything the answer depends on.

A kernel reports many failures: the machine-wide facts that cost most to read again (ld.so.cache parsed,
the default folders compiled into ld.so) are kept for the process, per content of the file they come
from, so that a file changed between two failures (ldconfig run, glibc updated) is read afresh.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from dllmagic.facts.native.loader.ldcache import load_ld_cache, parse_ld_cache
from dllmagic.facts.native.loader.linux import LinuxLoader
from dllmagic.facts.system import System

HOST_CACHE = Path("/etc/ld.so.cache")


@pytest.mark.skipif(not HOST_CACHE.is_file(), reason="no /etc/ld.so.cache on this machine")
def test_ld_cache_is_parsed_once_per_content_and_again_when_it_changes(tmp_path):
    (tmp_path / "etc").mkdir()
    cache_file = tmp_path / "etc" / "ld.so.cache"
    real = HOST_CACHE.read_bytes()
    cache_file.write_bytes(real)
    system = System.model("linux", str(tmp_path))
    first = load_ld_cache(system)
    assert first.entries and first == parse_ld_cache(real)
    assert load_ld_cache(system) is first                     # the same bytes: not parsed again
    # the file rewritten in place: same path, size and time stamps, new content (one entry's path changed)
    before = os.stat(cache_file)
    entry = next(e for e in first.entries if e.path.encode() in real)
    changed = real.replace(entry.path.encode(), entry.path.encode()[:-1] + b"X", 1)
    cache_file.write_bytes(changed)
    os.utime(cache_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    again = load_ld_cache(system)
    assert again is not first and again == parse_ld_cache(changed)
    assert entry.path[:-1] + "X" in {e.path for e in again.entries}


def test_default_folders_read_from_ld_so_follow_its_content(tmp_path):
    interp = "/lib64/ld-linux-x86-64.so.2"
    ld_so = tmp_path / interp.lstrip("/")
    ld_so.parent.mkdir(parents=True)
    system = System.model("linux", str(tmp_path))
    # the string glibc compiles in: NUL-separated folders, each with its trailing slash
    ld_so.write_bytes(b"\x7fELF junk\0/opt/one/lib/\0/opt/two/lib64/\0more junk")
    assert LinuxLoader(system).defaults_for(interp, "x86_64", 64) == (("/opt/one/lib", "/opt/two/lib64"), "glibc")
    assert LinuxLoader(system).defaults_for(interp, "x86_64", 64)[0] == ("/opt/one/lib", "/opt/two/lib64")
    ld_so.write_bytes(b"\x7fELF junk\0/srv/new/lib/\0/srv/new/lib32/\0more junk")    # glibc updated
    assert LinuxLoader(system).defaults_for(interp, "x86_64", 64)[0] == ("/srv/new/lib", "/srv/new/lib32")


# -- the signatures' literal runs, computed ahead -------------------------------------------------------------
def test_signature_literals_file_is_in_step_with_the_signatures():
    import subprocess
    import sys

    script = Path(__file__).resolve().parent.parent / "scripts" / "regenerate_signature_literals.py"
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr + "\nrun scripts/regenerate_signature_literals.py --write"


def test_signature_literals_come_from_the_file_and_unknown_patterns_are_parsed(monkeypatch):
    import importlib

    S = importlib.import_module("dllmagic.failure.signatures")
    sigs = S.signatures()
    table = S._precomputed_literals()
    monkeypatch.setattr(S, "_LITERAL_CACHE", {})
    parsed = []
    real = S.required_literals
    monkeypatch.setattr(S, "required_literals", lambda p, f="": parsed.append(p) or real(p, f))
    for sig in sigs:
        assert sig.literals == table[S.literals_key(sig.pattern, sig.flags)] == real(sig.pattern, sig.flags)
    assert parsed == []                                       # nothing parsed: every pattern was in the file
    # a pattern the file does not know (a signature edited since) is parsed, never given another's literals
    edited = S._Signature(id="edited", kind=None, types=None, pattern=r"libfoo\.so: cannot open shared",
                          flags="", priority=1, live=False)
    assert edited.literals == real(edited.pattern) == (("libfoo.so: cannot open shared",),)
    assert parsed == [edited.pattern]
