"""Whole answers of ``deps`` kept between runs (dllmagic/facts/native/answers.py): used only while every
file, folder and setting they were made from is as it was, and then the same as a fresh run's."""
from __future__ import annotations

import json
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
    """(exit status, output, 'KEPT' or 'ENGINE +argparse +json') of ``dlldoctor deps ARGV`` with the
    store in ``store``."""
    proc = subprocess.run([sys.executable, "-c", LAUNCH, "deps", *argv], capture_output=True, text=True,
                          env=dict(env or CLEAN_ENV, PYTHONPATH=os.getcwd(), DLLMAGIC_CACHE_DIR=str(store)))
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, proc.stdout, proc.stderr.strip().splitlines()[-1]


ENGINE = "ENGINE +argparse +json"


def _settled(root):
    """Wait until nothing under ``root`` (itself included) changed within the settle time."""
    paths = [root, *root.rglob("*")]
    newest = max(max(os.stat(p).st_mtime_ns, os.stat(p).st_ctime_ns) for p in paths)
    wait = (newest + answers.SETTLE_NS - time.time_ns()) / 1e9
    if wait > 0:
        time.sleep(wait + 0.05)


def _kept(store):
    folder = store / answers.FOLDER
    return sorted(folder.iterdir()) if folder.exists() else []


def _roots(run):
    return [t["root"]["path"] for t in json.loads(run[1])["trees"]]


def _libdep(run):
    """(libdep.so is a tree of its own, libtop.so finds it)."""
    trees = json.loads(run[1])["trees"]
    (top,) = [t for t in trees if t["root"]["path"].endswith("/libtop.so")]
    found = [n for n in top["root"]["children"][0]["children"] if n["name"] == "libdep.so"]
    return any(t["root"]["path"].endswith("/x/libdep.so") for t in trees), found[0]["error"] is None


def test_a_kept_answer_is_used_only_while_nothing_it_was_made_from_changed(built, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(built / "rpath_is_inherited_from_the_loader_chain" / "top", lib)
    store = tmp_path / "store"
    _settled(lib)
    for mode in (["--standalone"], ["--standalone", "--json"], ["-v"]):
        argv = [str(lib), *mode]
        before = _kept(store)
        fresh = _deps(store, *argv, "--no-cache")
        assert _kept(store) == before                       # --no-cache keeps nothing
        first = _deps(store, *argv)
        assert first[:2] == fresh[:2] and first[2] == ENGINE
        second = _deps(store, *argv)
        assert second == (*fresh[:2], "KEPT")               # the same bytes, nothing resolved
    assert len(_kept(store)) == 3                           # one answer per command line
    argv = [str(lib), "--standalone", "--json"]
    ok = _deps(store, *argv)
    assert _libdep(ok) == (True, True)

    # A library taken away: its folder and the file itself changed.
    dep = lib / "x" / "libdep.so"
    saved = dep.read_bytes()
    dep.unlink()
    gone = _deps(store, *argv)
    assert gone[2] == ENGINE and _libdep(gone) == (False, False)
    assert gone[:2] == _deps(store, *argv, "--no-cache")[:2]
    # Put back (a new file where the old one was): the first answer again, from the engine.
    dep.write_bytes(saved)
    assert _deps(store, *argv) == (*ok[:2], ENGINE)
    # A file's times alone: read again (a stamp that differs is never trusted).
    os.utime(lib / "libtop.so", ns=(time.time_ns(), time.time_ns() - 10**10))
    assert _deps(store, *argv) == (*ok[:2], ENGINE)
    # Another environment is another key.
    env = dict(CLEAN_ENV, LD_LIBRARY_PATH=str(tmp_path))
    assert _deps(store, *argv, env=env)[2] == ENGINE
    # A new binary in a walked folder is found.
    shutil.copy(lib / "x" / "libmid.so", lib / "x" / "libnew.so")
    more = _deps(store, *argv)
    assert more[2] == ENGINE and str(lib / "x" / "libnew.so") in _roots(more)
    # Once all that has settled, that answer is kept, and used.
    _settled(lib)
    assert _deps(store, *argv)[2] == ENGINE
    assert _deps(store, *argv) == (*more[:2], "KEPT")


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
