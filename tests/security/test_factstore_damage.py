"""The fact cache of ``deps`` is read as untrusted data: a damaged, foreign or hostile store is ignored
(and replaced), never a crash, never a wrong answer.

A real store is filled by ``dlldoctor deps`` over real libraries, then damaged (random bytes flipped,
many seeds; fields of the wrong type under a valid checksum; a FIFO, a folder, deep nesting, the old
marshal format with a code object) and ``deps`` is run again in a child process: never a signal, never
exit 3, and the answer is the cold one (``--no-cache``).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from dllmagic.facts.native import factstore

ENV = dict(os.environ, DLLMAGIC_STRICT="1")
ENV.pop("PYTHONPATH", None)
SEEDS = int(os.environ.get("DLLMAGIC_FACTSTORE_SEEDS", "24"))


def _deps(folder: Path, cache: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dllmagic", "deps", "--json", "-j", "1", *extra, str(folder)],
                          capture_output=True, text=True, timeout=120, env=dict(ENV, DLLMAGIC_CACHE_DIR=str(cache)))


@pytest.fixture(scope="module")
def libs(tmp_path_factory) -> Path:
    """A folder of real shared libraries (copies of this machine's), older than the store's settle time."""
    folder = tmp_path_factory.mktemp("libs")
    import glob

    wanted = ["libc.so.6", "libm.so.6", "libz.so.1", "libssl.so.3", "libcrypto.so.3", "libstdc++.so.6",
              "libgcc_s.so.1", "libexpat.so.1", "libffi.so.8", "libsqlite3.so.0"]
    for name in wanted:
        found = glob.glob(f"/usr/lib/x86_64-linux-gnu/{name}") + glob.glob(f"/lib/x86_64-linux-gnu/{name}")
        if found:
            shutil.copy2(os.path.realpath(found[0]), folder / name)
    assert len(list(folder.iterdir())) >= 4
    time.sleep(factstore.SETTLE_NS / 1e9 + 0.2)  # the copies' ctime is now: let them settle
    return folder


@pytest.fixture(scope="module")
def cold(libs, tmp_path_factory):
    proc = _deps(libs, tmp_path_factory.mktemp("nocache"), "--no-cache")
    assert proc.returncode in (0, 1), proc.stderr
    return proc


@pytest.fixture(scope="module")
def good_store(libs, cold, tmp_path_factory) -> bytes:
    cache = tmp_path_factory.mktemp("cache")
    first = _deps(libs, cache)
    assert (first.returncode, first.stdout) == (cold.returncode, cold.stdout), first.stderr
    data = (cache / factstore.FILENAME).read_bytes()
    store = factstore.FactStore(str(cache))
    assert store.rejected is None and len(store.entries) >= 4
    warm = _deps(libs, cache)
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)
    return data


def _check_run(libs, cold, cache: Path, what: str) -> None:
    proc = _deps(libs, cache)
    assert proc.returncode >= 0, f"{what}: killed by signal {-proc.returncode}"
    assert proc.returncode != 3, f"{what}: internal error\n{proc.stderr}"
    assert proc.stderr == "", f"{what}: {proc.stderr}"
    assert (proc.returncode, proc.stdout) == (cold.returncode, cold.stdout), f"{what}: answer differs from cold"


def test_flipped_bytes_are_never_a_crash_or_a_wrong_answer(libs, cold, good_store, tmp_path):
    for seed in range(SEEDS):
        rng = random.Random(seed)
        data = bytearray(good_store)
        for _ in range(rng.choice((1, 1, 2, 8, 64))):
            pos = rng.randrange(len(data))
            data[pos] ^= 1 << rng.randrange(8) if rng.random() < 0.7 else rng.randrange(1, 256)
        if seed % 5 == 4:  # a truncated store
            data = data[:rng.randrange(len(data))]
        cache = tmp_path / f"s{seed}"
        cache.mkdir()
        (cache / factstore.FILENAME).write_bytes(bytes(data))
        _check_run(libs, cold, cache, f"seed {seed}")
        # The bad store was replaced by a good one.
        assert factstore.FactStore(str(cache)).rejected is None


def _resealed(payload: bytes) -> bytes:
    """A store whose header (length, CRC-32) matches ``payload``: only the type checks stand."""
    from dllmagic import __version__

    return b"%s %d %s %d %08x\n" % (factstore.MAGIC, factstore.FORMAT, __version__.encode(), len(payload),
                                     zlib.crc32(payload)) + payload


def test_wrong_types_under_a_valid_checksum_are_ignored(libs, cold, good_store, tmp_path):
    entries = json.loads(good_store.partition(b"\n")[2])
    host = sorted(entries)[0]
    row = entries[host]
    bad_values = [None, 5, "x", [], [1], {"a": 1}, [[1, 2, 3]], [["a", "b"]], True, 2.5, -1, 10 ** 30]
    variants = []
    for i in range(len(row)):
        for value in bad_values:
            broken = list(row)
            broken[i] = value
            variants.append(broken)
    variants += [row[:-1], row + [1], "row", 7, None, {}]
    rng = random.Random(7)
    rng.shuffle(variants)
    # One store holds many broken entries at once (one per file), several stores in all.
    hosts = sorted(entries)
    for n in range(0, min(len(variants), 8 * len(hosts)), len(hosts)):
        damaged = dict(entries)
        for h, v in zip(hosts, variants[n:n + len(hosts)]):
            damaged[h] = v
        cache = tmp_path / f"t{n}"
        cache.mkdir()
        (cache / factstore.FILENAME).write_bytes(_resealed(json.dumps(damaged).encode()))
        _check_run(libs, cold, cache, f"variants {n}")
    # In process: each variant is either refused (ValueError) or well-typed throughout; nothing else.
    from dllmagic.facts.native.binary import Binary, Needed, VersionNeed

    refused = 0
    for v in variants:
        try:
            fields = factstore.decode_entry(v)
        except ValueError:
            refused += 1
            continue
        Binary(path="/x", needed=tuple(Needed(*n) for n in fields.pop("needed")),
               versions_needed=tuple(VersionNeed(*n) for n in fields.pop("versions_needed")), **fields)
    assert refused > len(variants) // 2


def test_hostile_stores_are_ignored(libs, cold, tmp_path):
    cases = {
        "deep": _resealed(b"[" * 200000 + b"]" * 200000),
        "deep-object": _resealed(b'{"a":' * 100000 + b"1" + b"}" * 100000),
        "huge-int": _resealed(b'{"/x":[' + b"9" * 100000 + b"]}"),
        "not-object": _resealed(b"[1,2,3]"),
        "empty": b"",
        "header-only": _resealed(b"")[:-1],
        "nul": b"\x00" * 4096,
        "other-version": _resealed(b"{}").replace(b" 2 ", b" 99 ", 1),
    }
    for name, data in cases.items():
        cache = tmp_path / name
        cache.mkdir()
        (cache / factstore.FILENAME).write_bytes(data)
        _check_run(libs, cold, cache, name)
    # A folder, and a FIFO, where the store should be: ignored, no hang.
    cache = tmp_path / "folder"
    (cache / factstore.FILENAME).mkdir(parents=True)
    proc = _deps(libs, cache)
    assert proc.returncode == cold.returncode and proc.stdout == cold.stdout
    cache = tmp_path / "fifo"
    cache.mkdir()
    os.mkfifo(cache / factstore.FILENAME)
    _check_run(libs, cold, cache, "fifo")  # (a hang would hit the 120 s timeout)


def test_the_old_marshal_store_is_never_read(libs, cold, tmp_path):
    import marshal

    cache = tmp_path / "old"
    cache.mkdir()
    # A code object: marshal.loads of a damaged one of these is what crashed the reader.
    payload = marshal.dumps(("dllmagic-native-facts", 1, "0", {"x": compile("1", "f", "eval")}))
    (cache / "native-facts.marshal").write_bytes(payload[:len(payload) // 2] + b"\xff" * 64)
    _check_run(libs, cold, cache, "marshal")
    assert not (cache / "native-facts.marshal").exists()  # removed by the save
