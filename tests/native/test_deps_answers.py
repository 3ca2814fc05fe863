"""Whole answers of ``deps`` kept between runs (dllmagic/facts/native/answers.py): used only while every
file, folder and setting they were made from is as it was, and then the same as a fresh run's."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from native_oracles import CLEAN_ENV

from dllmagic.facts.native import answers

#: Runs ``dlldoctor`` as its entry point does, then says on stderr whether the loader model was imported
#: (a run answered from its kept answer imports none of it, nor argparse or json).
LAUNCH = ("import sys; from dllmagic.cli import main; rc = main(sys.argv[1:]); "
          "sys.stderr.write('ENGINE' if 'dllmagic.facts.native.loader' in sys.modules else 'KEPT'); "
          "sys.stderr.write(''.join(' +' + m for m in ('argparse', 'json') if m in sys.modules) + '\\n'); "
          "sys.exit(rc)")


def _deps(store, *argv, env=None):
    """(exit status, output, 'KEPT' or 'ENGINE +json') of ``dlldoctor deps ARGV`` with the
    store in ``store``."""
    proc = subprocess.run([sys.executable, "-c", LAUNCH, "deps", *argv], capture_output=True, text=True,
                          env=dict(env or CLEAN_ENV, PYTHONPATH=os.getcwd(), DLLMAGIC_CACHE_DIR=str(store)))
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, proc.stdout, proc.stderr.strip().splitlines()[-1]


ENGINE = "ENGINE +json"


def _settled(*roots):
    """Wait until nothing under ``roots`` (themselves included) changed within the settle time."""
    paths = [p for root in roots for p in (root, *root.rglob("*"))]
    newest = max(max(os.stat(p).st_mtime_ns, os.stat(p).st_ctime_ns) for p in paths)
    wait = (newest + answers.SETTLE_NS - time.time_ns()) / 1e9
    if wait > 0:
        time.sleep(wait + 0.05)


def _kept(store):
    folder = store / answers.FOLDER
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_kept_answer_is_the_fresh_answer_and_imports_nothing(built, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(built / "rpath_is_inherited_from_the_loader_chain" / "top", lib)
    store = tmp_path / "store"
    _settled(lib)
    for mode in (["--standalone"], ["--standalone", "--json"], ["-v"], []):
        argv = [str(lib), *mode]
        before = _kept(store)
        fresh = _deps(store, *argv, "--no-cache")
        assert _kept(store) == before                       # --no-cache keeps nothing
        first = _deps(store, *argv)
        assert first[:2] == fresh[:2] and first[2] == ENGINE
        second = _deps(store, *argv)
        assert second == (*fresh[:2], "KEPT")               # the same bytes, nothing resolved
    assert len(_kept(store)) == 4                           # one answer per command line


def _used_then_changed(store, settle, argv, change, env=None):
    """The answer kept for ``argv`` once everything under ``settle`` has settled; then ``change()``:
    (the kept output, the output after the change), the latter checked to be a fresh run's."""
    _settled(*settle)
    _deps(store, *argv, env=env)
    kept = _deps(store, *argv, env=env)
    assert kept[2] == "KEPT"
    change()
    after = _deps(store, *argv, env=env)
    assert after[2] == ENGINE
    assert after[:2] == _deps(store, *argv, "--no-cache", env=env)[:2]
    return kept[1], after[1]


def test_any_change_to_what_an_answer_was_made_from_is_seen(built, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(built / "rpath_is_inherited_from_the_loader_chain" / "top", lib)
    store = tmp_path / "store"
    top, dep, mid = lib / "libtop.so", lib / "x" / "libdep.so", lib / "x" / "libmid.so"
    saved = dep.read_bytes()

    # A library rewritten in place (same inode, its folder untouched), reached only by the search.
    def rewrite():
        with open(dep, "r+b") as fh:
            fh.write(b"not an ELF file")
            fh.truncate()
    before, after = _used_then_changed(store, [lib], [str(top), "--standalone", "--json"], rewrite)
    assert '"ok":true' in before and '"ok":false' in after
    dep.write_bytes(saved)

    # A new binary in a walked folder that no search looks in.
    walked = tmp_path / "walked" / "sub"
    walked.mkdir(parents=True)
    shutil.copy(dep, walked / "libone.so")
    before, after = _used_then_changed(store, [walked.parent], [str(walked.parent), "--standalone", "--json"],
                                       lambda: shutil.copy(dep, walked / "libtwo.so"))
    assert str(walked / "libtwo.so") in after and str(walked / "libtwo.so") not in before

    # A file of a walked folder that was no binary, rewritten in place as one (its folder untouched).
    fake = walked / "libfake.so"
    fake.write_bytes(b"not a library")

    def make_it_one():
        with open(fake, "r+b") as fh:
            fh.write(saved)
    before, after = _used_then_changed(store, [walked.parent], [str(walked.parent), "--standalone", "--json"],
                                       make_it_one)
    assert str(fake) in after and str(fake) not in before

    # A library put where the search had found nothing (LD_LIBRARY_PATH, searched before the defaults).
    extra = tmp_path / "extra"
    extra.mkdir()
    env = dict(CLEAN_ENV, LD_LIBRARY_PATH=str(extra))
    before, after = _used_then_changed(store, [lib, extra], [str(mid), "--standalone"],
                                       lambda: shutil.copy(dep, extra / "libdep.so"), env=env)
    assert "libdep.so  NOT FOUND" in before and f"libdep.so => {extra}/libdep.so" in after

    # A file's times alone.
    before, after = _used_then_changed(store, [lib], [str(top), "--standalone"],
                                       lambda: os.utime(dep, ns=(time.time_ns(), time.time_ns() - 10**10)))
    assert before == after

    # Another environment is another key; so is another folder to run from.
    assert _deps(store, str(top), "--standalone", env=dict(CLEAN_ENV, SOMETHING="else"))[2] == ENGINE


def test_a_damaged_or_foreign_answer_is_not_used(built, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(built / "rpath_is_inherited_from_the_loader_chain" / "top", lib)
    store = tmp_path / "store"
    _settled(lib)
    argv = [str(lib), "--standalone"]
    first = _deps(store, *argv)
    (kept,) = _kept(store)
    data = kept.read_bytes()
    head, _, body = data.partition(b"\n")
    for damaged in (data[:-1] + bytes([data[-1] ^ 1]),                 # one bit of the output
                    head + b"\n" + body.replace(b"libdep", b"libdeq"),  # the output, checksum kept
                    data.replace(b"dllmagic-deps-answer 1 ", b"dllmagic-deps-answer 9 "),
                    b"", b"\0" * 100):
        kept.write_bytes(damaged)
        assert _deps(store, *argv) == (*first[:2], ENGINE)
    # Replaced by that run (the folders had settled): used again.
    assert _deps(store, *argv) == (*first[:2], "KEPT")


def test_a_fresh_folder_keeps_no_answer(built, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(built / "rpath_is_inherited_from_the_loader_chain" / "top", lib)
    store = tmp_path / "store"
    first = _deps(store, str(lib), "--standalone")   # files made a moment ago: their stamps could repeat
    assert _kept(store) == [] and first[2] == ENGINE
    assert _deps(store, str(lib), "--standalone")[2] == ENGINE


def test_workers_note_what_they_look_at(wheel_env, tmp_path):
    """A folder shared among processes: the answer depends on the files every process looked at,
    the same ones as a run in one process."""
    site, python = str(wheel_env["site"]), str(wheel_env["python"])
    _settled(wheel_env["site"])
    store = tmp_path / "store"
    one = _deps(store, site, "--python", python, "--json", "-j", "1")
    three = _deps(store, site, "--python", python, "--json", "-j", "3")
    assert one[:2] == three[:2]

    def noted(path):
        head, _, body = path.read_bytes().partition(b"\n")
        parts = head.split(b" ")
        key_len, meta_len = int(parts[3]), int(parts[4])
        fields = body[key_len:key_len + meta_len].split(b"\0")
        return {(fields[i], fields[i + 1]) for i in range(0, len(fields) - 1, 3)}

    a, b = map(noted, _kept(store))
    assert a == b and len(a) > 100
    assert (b"s", site.encode()) in a
