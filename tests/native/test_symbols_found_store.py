"""Symbol checks kept between runs (factstore.FoundStore): a file whose undefined symbols were all found
is not looked at again while it and every file that defined them are unchanged and in scope again.

Each test changes one thing - a provider rewritten in place, a provider replaced, a provider no longer
loaded - and checks that the next run (with the stores warm, but no kept answer: a new environment)
sees it, and answers as ``--no-cache`` does.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from dllmagic.facts.native import factstore
from native_oracles import CLEAN_ENV, run_ldd

_RUNS = iter(range(1 << 30))


def _cc(out: Path, source: str, *flags: str) -> Path:
    src = out.with_suffix(".c")
    src.write_text(textwrap.dedent(source))
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out), str(src), *flags], check=True, env=CLEAN_ENV)
    return out


def _deps(*args, cache: Path, **env):
    """``deps --json --symbols -j 1 ARGS`` with the stores in ``cache``; each run in an environment of its
    own, so no whole answer kept by an earlier run is replayed (the stores of facts are used)."""
    env = dict(CLEAN_ENV, DLLMAGIC_CACHE_DIR=str(cache), DSPEED_TEST_RUN=str(next(_RUNS)), **env)
    proc = subprocess.run([sys.executable, "-m", "dllmagic", "deps", "--json", "--symbols", "-j", "1", *args],
                          capture_output=True, text=True, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


def _missing(out: str):
    return {p["name"] for t in json.loads(out)["trees"] for p in t["problems"] if p["kind"] == "missing-symbol"}


def _settle():
    # nothing changed in the last two seconds is kept (a stamp could repeat within one clock tick)
    time.sleep(factstore.SETTLE_NS / 1e9 + 0.2)


def _stamp(path: Path):
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _build(tmp_path: Path):
    dep = _cc(tmp_path / "libdep.so", "int present(void) { return 1; } int later(void) { return 2; }",
              "-Wl,-soname,libdep.so")
    user = _cc(tmp_path / "libuser.so", "int present(void); int later(void); int f(void) { return present() + later(); }",
               f"-L{tmp_path}", "-ldep", "-Wl,-rpath,$ORIGIN")
    return dep, user


def test_a_provider_rewritten_or_replaced_is_checked_again(tmp_path):
    cache = tmp_path / "cache"
    dep, user = _build(tmp_path)
    _settle()
    first = _deps(str(user), cache=cache)
    assert _missing(first) == set()
    kept = factstore.FoundStore(str(cache)).get(_stamp(user))
    assert kept is not None and _stamp(dep) in kept, "the symbol check of libuser.so was not kept"
    assert _deps(str(user), cache=cache) == first  # answered from the kept check: the same
    # the provider rewritten in place (same inode, new size and times) without one of the symbols
    _cc(tmp_path / "libdep2.so", "int present(void) { return 1; }", "-Wl,-soname,libdep.so")
    with open(dep, "r+b") as fh:
        fh.truncate(0)
        fh.write((tmp_path / "libdep2.so").read_bytes())
    after = _deps(str(user), cache=cache)
    assert _missing(after) == {"later"}
    assert run_ldd(str(user), relocs=True)["undefined"] == {("later", "libuser.so")}
    assert after == _deps(str(user), "--no-cache", cache=cache)
    # put right again, settled and kept; then replaced by a new file (a new inode) without the symbol
    _cc(dep, "int present(void) { return 1; } int later(void) { return 2; }", "-Wl,-soname,libdep.so")
    _settle()
    assert _missing(_deps(str(user), cache=cache)) == set()
    assert _missing(_deps(str(user), cache=cache)) == set()
    os.unlink(dep)
    os.rename(tmp_path / "libdep2.so", dep)
    assert _missing(_deps(str(user), cache=cache)) == {"later"}


def test_a_provider_no_longer_loaded_is_seen(tmp_path):
    # `later` found in a library preloaded by the first run only: the second run must miss it
    cache = tmp_path / "cache"
    _cc(tmp_path / "libdep.so", "int present(void) { return 1; }", "-Wl,-soname,libdep.so")
    extra = _cc(tmp_path / "libextra.so", "int later(void) { return 2; }")
    user = _cc(tmp_path / "libuser.so", "int present(void); int later(void); int f(void) { return present() + later(); }",
               f"-L{tmp_path}", "-ldep", "-Wl,-rpath,$ORIGIN")
    _settle()
    assert _missing(_deps(str(user), cache=cache, LD_PRELOAD=str(extra))) == set()
    kept = factstore.FoundStore(str(cache)).get(_stamp(user))
    assert kept is not None and _stamp(extra) in kept
    assert _missing(_deps(str(user), cache=cache)) == {"later"}
    assert _missing(_deps(str(user), cache=cache, LD_PRELOAD=str(extra))) == set()


def _two_environments(tmp_path: Path):
    """libdep.so and libuser.so built in one/, hard-linked into two/ (as uv fills a second environment
    from its cache), settled: (one's libuser.so, two's)."""
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    dep, user = _build(one)
    for f in (dep, user):
        os.link(f, two / f.name)  # (a new link changes the file's change time: both are made first)
    _settle()
    return user, two / "libuser.so"


def test_a_second_environment_of_hard_links_uses_the_kept_checks(tmp_path):
    cache = tmp_path / "cache"
    user, user2 = _two_environments(tmp_path)
    _deps(str(user), cache=cache)
    found = cache / factstore.FOUND_FILENAME
    before = _stamp(found)
    assert factstore.FoundStore(str(cache)).get(_stamp(user2)) is not None  # one file, one stamp
    out = _deps(str(user2), cache=cache)
    assert _missing(out) == set() and json.loads(out)["ok"]
    # the same files (device, inode, stamp): no new check was made, so the store was not written again
    assert _stamp(found) == before
    assert out == _deps(str(user2), "--no-cache", cache=cache)


def test_a_damaged_entry_is_not_used(tmp_path):
    st = _stamp(Path(sys.executable))
    store = factstore.FoundStore(str(tmp_path))
    key = "%d:%d:%d:%d:%d" % st
    for bad in ("x", [[1, 2, 3]], [[1, 2, 3, 4, "5"]], [[1, 2, 3, 4, True]], [None]):
        store.entries[key] = bad
        assert store.get(st) is None
        assert key not in store.entries
    store.put(st, [st])  # settled long ago: kept
    assert store.get(st) == (st,)
    assert store.save()
    assert factstore.FoundStore(str(tmp_path)).get(st) == (st,)
    # a stamp changed in the last moments is not kept
    fresh = tmp_path / "fresh"
    fresh.write_bytes(b"x")
    store.put(_stamp(fresh), [st])
    assert store.get(_stamp(fresh)) is None


def test_the_facts_of_a_hard_linked_file_are_found_by_its_stamp(tmp_path):
    cache = tmp_path / "cache"
    user, user2 = _two_environments(tmp_path)
    _deps(str(user), cache=cache)
    other = tmp_path / "other.so"
    _cc(other, "int g(void) { return 3; }")
    for store in (factstore.FactStore(str(cache)), factstore.FactStore(str(cache)).imports()):
        assert str(user2) not in store.entries
        got = store.get(str(user2), os.stat(user2))
        assert got is not None and got == store.get(str(user), os.stat(user))
        assert str(user2) in store.added  # kept under the new path for the next run
        assert store.get(str(other), os.stat(other)) is None  # another file: no entry


def test_the_live_loaders_words_are_kept_with_its_stamp_cpu_and_kernel(tmp_path):
    from dllmagic.facts.native.loader.linux.platform import _cpu_and_kernel, _trusted

    cache = tmp_path / "cache"
    _dep, user = _build(tmp_path)
    out = _deps(str(user), cache=cache)
    real = _trusted("/lib64/ld-linux-x86-64.so.2")
    if real is None or subprocess.run([real, "--list-diagnostics"], capture_output=True).returncode != 0:
        return  # a loader that cannot say (glibc < 2.33): nothing to keep
    store = factstore.FactStore(str(cache)).loader_words()
    st = os.stat(real)
    words = store.get(real, st, _cpu_and_kernel())
    fresh = subprocess.run([real, "--help"], capture_output=True, text=True, env={"LC_ALL": "C"}).stdout
    assert words is not None and words[1] == fresh
    assert store.get(real, st, _cpu_and_kernel() + "x") is None  # another CPU or kernel: not used
    assert _deps(str(user), cache=cache) == out == _deps(str(user), "--no-cache", cache=cache)
    row = store.entries[real]
    store.entries[real] = row[:-1] + [7]  # damaged
    assert store.get(real, st, _cpu_and_kernel()) is None and real not in store.entries


def test_damaged_stores_of_checks_loader_words_and_folders_are_never_a_wrong_answer(tmp_path):
    import random

    cache = tmp_path / "cache"
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    _build(site)
    _cc(site / "sub" / "libmiss.so", "int nowhere(void); int g(void) { return nowhere(); }")
    _settle()
    argv = (str(site),)
    cold = _deps(*argv, "--no-cache", cache=cache)
    assert _missing(cold) == {"nowhere"}
    assert _deps(*argv, cache=cache) == cold
    for name in (factstore.FOUND_FILENAME, factstore.LOADER_FILENAME, factstore.FOLDERS_FILENAME):
        good = (cache / name).read_bytes()
        for seed in range(6):
            rng = random.Random(seed)
            data = bytearray(good)
            for _ in range(rng.choice((1, 2, 8))):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            (cache / name).write_bytes(bytes(data[:rng.randrange(len(data))] if seed == 5 else data))
            assert _deps(*argv, cache=cache) == cold, (name, seed)


def _trees(out: str):
    return sorted(t["root"]["path"] for t in json.loads(out)["trees"])


def test_kept_folder_listings_see_every_change(tmp_path):
    cache = tmp_path / "cache"
    site = tmp_path / "site"
    (site / "pkg").mkdir(parents=True)
    dep, _user = _build(site / "pkg")
    (site / "pkg" / "libfake.so").write_bytes(b"not a library")
    _settle()

    def run():
        out = _deps("--standalone", str(site), cache=cache)
        assert out == _deps("--standalone", str(site), "--no-cache", cache=cache)
        return _trees(out)

    first = run()
    assert first == sorted(str(site / "pkg" / n) for n in ("libdep.so", "libuser.so"))
    kept = factstore.FactStore(str(cache)).folders()
    assert kept.get(str(site / "pkg"), os.stat(site / "pkg")) is not None, "the listing was not kept"
    assert run() == first
    # a file that was no binary rewritten in place as one (its folder untouched): its magic is read again
    with open(site / "pkg" / "libfake.so", "r+b") as fh:
        fh.write(dep.read_bytes())
    assert str(site / "pkg" / "libfake.so") in run()
    # a new library in a walked folder, and a new subfolder with one
    (site / "pkg" / "libnew.so").write_bytes(dep.read_bytes())
    (site / "pkg" / "sub").mkdir()
    (site / "pkg" / "sub" / "libdeep.so").write_bytes(dep.read_bytes())
    got = run()
    assert str(site / "pkg" / "libnew.so") in got and str(site / "pkg" / "sub" / "libdeep.so") in got
    _settle()
    run()
    # a library renamed (its folder's stamp changes), a subfolder removed
    os.rename(site / "pkg" / "libnew.so", site / "pkg" / "libnewer.so")
    (site / "pkg" / "sub" / "libdeep.so").unlink()
    (site / "pkg" / "sub").rmdir()
    got = run()
    assert str(site / "pkg" / "libnewer.so") in got and str(site / "pkg" / "libnew.so") not in got
    assert not any("/sub/" in p for p in got)


def test_a_damaged_folder_listing_is_not_used(tmp_path):
    st = os.stat(tmp_path)
    store = factstore.FolderStore(str(tmp_path / "cache"))
    key = str(tmp_path)
    stamp = list(_stamp(tmp_path))
    for bad in ("x", stamp + [["a"]], stamp + [["a"], [["d"]]], stamp + [[1], []], stamp + [[], [["d", "1"]]],
                stamp + [[], [["d", True]]][:-1]):
        store.entries[key] = bad
        assert store.get(key, st) is None
    store.entries[key] = stamp + [["liba.so"], [["d", 5]]]
    assert store.get(key, st) == (["liba.so"], [("d", 5)])


def test_a_library_whose_facts_are_kept_is_listed_by_its_stamp_and_read_again_once_changed(tmp_path, monkeypatch):
    from dllmagic import cli_deps
    from dllmagic.facts.system import System

    cache = tmp_path / "cache"
    site = tmp_path / "site"
    (site / "pkg").mkdir(parents=True)
    dep, user = _build(site / "pkg")
    _settle()

    def run():
        out = _deps("--standalone", str(site), cache=cache)
        assert out == _deps("--standalone", str(site), "--no-cache", cache=cache)
        return _trees(out)

    assert run() == [str(dep), str(user)]
    # the facts of both are kept: the walk lists them without opening them (one stat each)
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda path, *a, **k: opened.append(path) or real_open(path, *a, **k))
    factstore.activate(str(cache))
    try:
        walked = list(cli_deps.iter_binaries(System.model("linux", "/"), str(site)))
    finally:
        factstore.deactivate()
        monkeypatch.undo()
    assert walked == [str(dep), str(user)] and not [p for p in opened if str(site) in str(p)]
    # rewritten in place as no binary, the same size: its stamp changes, its magic is read again
    size = user.stat().st_size
    with open(user, "r+b") as fh:
        fh.write(b"\0\0\0\0")
    assert user.stat().st_size == size
    assert not factstore.FactStore(str(cache)).holds_elf(str(user), os.stat(user))
    assert run() == [str(dep)]


def _python_scope_sets(cache: Path):
    """Whether preparing python's process before the fork made its global scope's export sets."""
    from dllmagic.facts.native.loader import loader_for
    from dllmagic.facts.system import System

    factstore.activate(str(cache))
    try:
        live = System.current()
        system = System(platform=live.platform, machine=live.machine, environ=live.environ, root="/",
                        executable=sys.executable, live=False, loaded=())
        loader = loader_for(system)
        loader.prepare_python(sys.executable, symbols=True)
        return bool(loader._global)
    finally:
        factstore.deactivate()


def test_python_s_export_sets_wait_for_a_check_that_needs_them(tmp_path):
    """Before the fork, python's export sets are made unless a kept check was served by its scope:
    then a new environment's checks need none, and one that does need them makes them itself."""
    cache = tmp_path / "cache"
    site = tmp_path / "site"
    site.mkdir()
    ext = _cc(site / "ext.cpython-311-x86_64-linux-gnu.so",
              "long PyLong_AsLong(void *); long f(void *o) { return PyLong_AsLong(o); }")
    _settle()
    assert _python_scope_sets(cache)  # nothing kept: made before the fork, as before
    out = _deps("--as-imported", "--python", sys.executable, str(ext), cache=cache)
    assert json.loads(out)["ok"] and _missing(out) == set()
    assert not _python_scope_sets(cache)  # the kept check names python's files: not made
    assert _deps("--as-imported", "--python", sys.executable, str(ext), cache=cache) == out
    # a check that is not kept needs the sets: made where it runs, with the same answer as a cold run
    other = _cc(site / "other.cpython-311-x86_64-linux-gnu.so",
                "long PyLong_AsLong(void *); long no_such_symbol_here(void);"
                "long g(void *o) { return PyLong_AsLong(o) + no_such_symbol_here(); }")
    again = _deps("--as-imported", "--python", sys.executable, str(other), cache=cache)
    assert _missing(again) == {"no_such_symbol_here"}
    assert again == _deps("--as-imported", "--python", sys.executable, str(other), "--no-cache", cache=cache)
