"""The ``deps`` verb, and a real broken environment: Pillow with one vendored library deleted."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

import pytest

from native_oracles import CLEAN_ENV
from dllmagic import cli_deps
from dllmagic.facts.native.loader import problems, resolve
from dllmagic.facts.system import System


def run_cli(capsys, *argv):
    parser = argparse.ArgumentParser(prog="dlldoctor")
    sub = parser.add_subparsers(dest="verb")
    cli_deps.add_parser(sub)
    args = parser.parse_args(["deps", *argv])
    rc = cli_deps.run(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_exit_codes_and_text(capsys, built):
    ok = built / "rpath_is_inherited_from_the_loader_chain" / "top" / "libtop.so"
    rc, out, _ = run_cli(capsys, str(ok))
    assert rc == 0 and "libdep.so => " in out and "[rpath of 0]" in out and "libc.so.6" not in out
    rc, out, _ = run_cli(capsys, str(ok), "-v")
    assert rc == 0 and "libc.so.6 => " in out
    missing = built / "a_missing_library_lists_every_place_tried" / "libroot.so"
    rc, out, _ = run_cli(capsys, str(missing))
    assert rc == 1 and "libnothere.so.1  NOT FOUND" in out and "[rpath]" in out
    rc, _out, err = run_cli(capsys, str(built / "no-such-file.so"))
    assert rc == 2 and "no such file" in err


def test_json_and_folders(capsys, built):
    folder = built / "runpath_is_not_inherited_by_dependencies"
    rc, out, _ = run_cli(capsys, str(folder), "--json", "--standalone")
    data = json.loads(out)
    assert rc == 1 and data["ok"] is False
    roots = sorted(os.path.basename(t["root"]["path"]) for t in data["trees"])
    assert roots == ["libdep.so", "libmid.so", "libtop.so"]
    (top,) = [t for t in data["trees"] if t["root"]["path"].endswith("libtop.so")]
    assert top["problems"][0]["name"] == "libdep.so"


def test_root_models_another_machine(capsys, built, tmp_path):
    shutil.copytree(built / "rpath_is_inherited_from_the_loader_chain" / "top", tmp_path / "opt")
    rc, out, _ = run_cli(capsys, "--root", str(tmp_path), "/opt/libtop.so", "--json")
    tree = json.loads(out)["trees"][0]
    assert tree["root"]["path"] == "/opt/libtop.so"
    dep = tree["root"]["children"][0]["children"][0]
    assert (dep["name"], dep["path"], dep["rule"]) == ("libdep.so", "/opt/x/libdep.so", "rpath-of-0")
    assert rc == 1  # the modelled machine has no libc: reported missing, not borrowed from this host


def test_cli_imports_stay_lazy():
    code = "import sys, dllmagic.cli_deps; print(sorted(m for m in sys.modules if m.startswith('dllmagic.facts')))"
    out = subprocess.check_output([sys.executable, "-c", code], text=True, cwd=os.getcwd())
    assert out.strip() == "[]"


@pytest.fixture(scope="module")
def broken_pillow(wheel_env, tmp_path_factory):
    """A copy of the Pillow install with the libjpeg that _imaging needs deleted."""
    site = tmp_path_factory.mktemp("broken-pillow")
    shutil.copytree(wheel_env["site"] / "PIL", site / "PIL")
    shutil.copytree(wheel_env["site"] / "pillow.libs", site / "pillow.libs")
    (victim,) = list((site / "pillow.libs").glob("libjpeg-*.so*"))
    victim.unlink()
    return site, victim


def test_broken_pillow_names_the_deleted_library(capsys, wheel_env, broken_pillow):
    site, victim = broken_pillow
    (imaging,) = list((site / "PIL").glob("_imaging.cpython-*.so"))
    system = System.model("linux", "/", environ=CLEAN_ENV, executable=str(wheel_env["python"]))
    tree = resolve(str(imaging), system, mode="as-imported")
    found = [p for p in problems(tree) if p.kind == "missing-library"]
    assert {p.name for p in found} == {victim.name}
    # _imaging needs it, and so does the vendored libtiff: each requirer is named.
    (p,) = [p for p in found if p.required_by == str(imaging)]
    assert str(site / "PIL" / ".." / "pillow.libs" / victim.name) in [c.path for c in p.searched]
    # The real import fails the same way.
    proc = subprocess.run([str(wheel_env["python"]), "-c", "import PIL._imaging"],
                          env=dict(CLEAN_ENV, PYTHONPATH=str(site)), capture_output=True, text=True)
    assert f"{victim.name}: cannot open shared object file" in proc.stderr
    # And the deps verb over the whole package says so, with exit status 1.
    rc, out, _ = run_cli(capsys, str(site / "PIL"), "--python", str(wheel_env["python"]))
    assert rc == 1 and f"{victim.name}  NOT FOUND" in out


# -- a folder shared among processes ----------------------------------------------------------------

def _deps(*argv):
    proc = subprocess.run([sys.executable, "-m", "dllmagic", "deps", *argv], capture_output=True, text=True,
                          env=dict(CLEAN_ENV, PYTHONPATH=os.getcwd()))
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, proc.stdout


def test_a_folder_walked_by_several_processes_prints_what_one_prints(wheel_env, built):
    site = wheel_env["site"]
    system = System.model("linux", "/")
    # The walk really is cut into enough subtrees to be shared (else -j would run in one process).
    subtrees = [t for t in cli_deps._plan(system, str(site), cli_deps._MIN_SUBTREES * 3) if t[0] == "walk"]
    assert len(subtrees) >= cli_deps._MIN_SUBTREES
    # The same files, in the same order, as the walk in one piece.
    assert [f for t in cli_deps._plan(system, str(site), 1000) for f in
            (t[1] if t[0] == "files" else cli_deps._walk(system, [t[1]], set(t[2])))] \
        == list(cli_deps.iter_binaries(system, str(site)))
    python = str(wheel_env["python"])
    for extra in ([], ["--json"], ["-v"], ["--standalone", "--json"], ["--no-symbols"]):
        one = _deps(str(site), str(built), "--python", python, "-j", "1", *extra)
        three = _deps(str(site), str(built), "--python", python, "-j", "3", *extra)
        assert one == three, extra
        assert len(one[1]) > 5000
    data = json.loads(_deps(str(site), "--python", python, "-j", "3", "--json")[1])
    assert len(data["trees"]) + len(data["checked_as_dependencies"]) == len(
        list(cli_deps.iter_binaries(system, str(site))))


PARALLEL = r"""
import os, sys, time
from dllmagic.cli_deps import _in_parallel
parent = os.getpid()
how = sys.argv[1]

def work(task):
    if os.getpid() != parent:
        if how == "die":
            os._exit(9)           # a worker killed mid-way: its tasks are done again by the parent
        if how == "raise":
            raise RuntimeError("boom")
    time.sleep(0.002)             # long enough for every process to take some
    return task * task, os.getpid()

out = _in_parallel(work, list(range(200)), 3)
assert [v for v, _pid in out] == [t * t for t in range(200)], out
print(len({pid for _v, pid in out}), sum(pid == parent for _v, pid in out))
"""


@pytest.mark.parametrize("how", ["well", "die", "raise"])
def test_tasks_shared_among_processes_come_back_in_order_even_when_one_fails(how):
    out = subprocess.check_output([sys.executable, "-c", PARALLEL, how], text=True,
                                  env=dict(os.environ, PYTHONPATH=os.getcwd()))
    processes, by_parent = map(int, out.split())
    if how == "well":
        assert processes >= 2 and by_parent < 200   # the children did part of the work
    else:
        assert (processes, by_parent) == (1, 200)   # nothing lost: the parent did it all again


def test_one_loader_for_many_files_answers_as_a_fresh_one(wheel_env, built):
    """The loader's memos (searches shared by files without RPATH ...) never change an answer."""
    from native_oracles import elf_files
    from dllmagic.facts.native.loader import loader_for, tree_to_dict

    files = [str(p) for p in elf_files(built, wheel_env["site"])]
    assert len(files) > 40
    system = System.model("linux", "/", environ=CLEAN_ENV, executable=str(wheel_env["python"]))
    for mode in ("standalone", "as-imported"):
        shared = loader_for(system)
        for path in files + files[::-1]:
            fresh = loader_for(system).resolve(path, mode=mode)
            assert tree_to_dict(shared.resolve(path, mode=mode)) == tree_to_dict(fresh), (mode, path)


# -- facts kept between runs ------------------------------------------------------------------------

def _settled(*paths):
    """Wait until the files are older than the store's settle time (fresh files are not kept)."""
    import time

    from dllmagic.facts.native import factstore

    newest = max(max(os.stat(p).st_mtime_ns, os.stat(p).st_ctime_ns) for p in paths)
    wait = (newest + factstore.SETTLE_NS - time.time_ns()) / 1e9
    if wait > 0:
        time.sleep(wait + 0.05)


def _deps_with_store(store, *argv):
    proc = subprocess.run([sys.executable, "-m", "dllmagic", "deps", *argv], capture_output=True, text=True,
                          env=dict(CLEAN_ENV, PYTHONPATH=os.getcwd(), DLLMAGIC_CACHE_DIR=str(store)))
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, proc.stdout


def test_facts_kept_between_runs_give_the_answers_of_a_fresh_read(wheel_env, built, tmp_path):
    from dllmagic.facts.native import answers, factstore

    site, python = str(wheel_env["site"]), str(wheel_env["python"])
    files = list(cli_deps.iter_binaries(System.model("linux", "/"), site))
    _settled(*files)
    store = tmp_path / "store"
    cold = _deps_with_store(store, site, "--python", python, "--json", "--no-cache")
    assert not store.exists()                              # --no-cache keeps nothing
    first = _deps_with_store(store, site, "--python", python, "--json")
    kept = {os.path.normpath(p) for p in factstore.FactStore(str(store)).entries}
    assert set(files) <= kept                               # every file walked, and what they load
    assert _deps_with_store(store, site, "--python", python, "--json") == first == cold
    # A damaged store is ignored, and replaced (the answer kept for this command line taken away:
    # it would be used, unchanged, without the facts).
    (store / factstore.FILENAME).write_bytes(b"\x00garbage" * 100)
    shutil.rmtree(store / answers.FOLDER)
    assert _deps_with_store(store, site, "--python", python, "--json") == cold
    assert set(files) <= {os.path.normpath(p) for p in factstore.FactStore(str(store)).entries}


def test_a_library_replaced_after_a_run_is_read_again(built, tmp_path):
    folder = tmp_path / "lib"
    shutil.copytree(built / "rpath_is_inherited_from_the_loader_chain" / "top", folder)
    target = folder / "libtop.so"
    _settled(*[p for p in folder.rglob("*") if p.is_file()])
    store = tmp_path / "store"
    rc, out = _deps_with_store(store, str(target), "--standalone")
    assert rc == 0 and "libdep.so => " in out
    # Rewritten in place (same path, same inode), by one that needs a library that is nowhere.
    replacement = built / "a_missing_library_lists_every_place_tried" / "libroot.so"
    with open(target, "r+b") as fh:
        fh.write(replacement.read_bytes())
        fh.truncate()
    rc, out = _deps_with_store(store, str(target), "--standalone")
    assert rc == 1 and "libnothere.so.1  NOT FOUND" in out and "libdep.so" not in out


def test_a_store_that_cannot_be_written_costs_nothing_but_time(built, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder would be")
    rc, out = _deps_with_store(blocker / "store", str(built / "rpath_is_inherited_from_the_loader_chain"))
    assert rc == 1 and "libtop.so" in out


def test_more_tasks_than_a_pipe_holds_are_queued_in_groups():
    code = ("import os; from dllmagic.cli_deps import _in_parallel\n"
            "out = _in_parallel(lambda t: t + 1, list(range(50000)), 2)\n"
            "assert out == list(range(1, 50001)); print('ok')")
    out = subprocess.check_output([sys.executable, "-c", code], text=True, timeout=120,
                                  env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert out.strip() == "ok"


def test_a_library_resolved_on_its_own_says_its_symbols_were_not_checked(capsys, built):
    """Folder mode: a library no extension module loads is resolved as ldd would; the output says its
    symbols were not checked and why, and --symbols checks them (the real ldd -r agrees)."""
    folder = built / "an_undefined_symbol_is_reported"
    rc, out, _ = run_cli(capsys, str(folder), "--json")
    data = json.loads(out)
    (user,) = [t for t in data["trees"] if t["root"]["path"].endswith("libuser.so")]
    assert user["symbols_checked"] is False and user["ok"] is True
    assert any(n.startswith("symbols not checked: resolved on its own") for n in user["notes"])
    rc, out, _ = run_cli(capsys, str(folder))
    assert "libuser.so: ok (standalone; symbols not checked, --symbols checks them)" in out
    rc, out, _ = run_cli(capsys, str(folder), "--json", "--symbols")
    data = json.loads(out)
    (user,) = [t for t in data["trees"] if t["root"]["path"].endswith("libuser.so")]
    assert user["symbols_checked"] is True and user["ok"] is False and rc == 1
    assert [p["name"] for p in user["problems"]] == ["foo"]
    ldd = subprocess.run(["ldd", "-r", str(folder / "libuser.so")], capture_output=True, text=True)
    assert "undefined symbol: foo" in ldd.stdout + ldd.stderr


def test_a_linux_root_called_as_lddtree_is_called(capsys, built, tmp_path):
    """A host path under --root is the machine's path below its /; python is inferred from a venv's
    layout (pyvenv.cfg, PREFIX/lib/pythonX.Y/site-packages -> PREFIX/bin/pythonX.Y) and said."""
    import shutil

    root = tmp_path / "machine"
    venv = root / "srv" / "venv"
    site = venv / "lib" / "python3.11" / "site-packages" / "pkg"
    site.mkdir(parents=True)
    ext = site / "_ext.cpython-311-x86_64-linux-gnu.so"
    shutil.copyfile(built / "rpath_is_inherited_from_the_loader_chain" / "top" / "libtop.so", ext)
    shutil.copytree(built / "rpath_is_inherited_from_the_loader_chain" / "top" / "x", site / "x")
    (venv / "bin").mkdir()
    shutil.copyfile(built / "driver", venv / "bin" / "python3.11")
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    rc, out, _ = run_cli(capsys, str(ext), "--root", str(root), "--json")
    data = json.loads(out)
    (tree,) = data["trees"]
    machine_path = "/srv/venv/lib/python3.11/site-packages/pkg/_ext.cpython-311-x86_64-linux-gnu.so"
    assert tree["root"]["path"] == machine_path
    assert f"{ext} is {machine_path} on the modelled machine (--root {root} is its /)" in tree["notes"]
    assert tree["executable"] == "/srv/venv/bin/python3.11"
    assert any(n.startswith("python /srv/venv/bin/python3.11: /srv/venv/lib/python3.11/site-packages "
                            "belongs to a venv (pyvenv.cfg)") for n in tree["notes"]), tree["notes"]


def test_layouts_name_their_interpreter(tmp_path):
    """conda envs, framework builds and Homebrew prefixes (files only, never run)."""
    from dllmagic.facts.native.machine import infer_python

    def touch(*parts):
        p = tmp_path.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")

    touch("C", "Miniconda3", "envs", "ml", "python.exe")
    touch("C", "Miniconda3", "envs", "ml", "conda-meta", "history")
    win = System.model("windows", str(tmp_path))
    exe, why = infer_python(win, "C:\\Miniconda3\\envs\\ml\\Lib\\site-packages\\torch\\_C.pyd")
    assert exe == "C:\\Miniconda3\\envs\\ml\\python.exe" and "conda environment" in why and "Library\\bin" in why
    fw = "Library/Frameworks/Python.framework/Versions/3.12"
    touch(*fw.split("/"), "bin", "python3.12")
    mac = System.model("macos", str(tmp_path))
    exe, why = infer_python(mac, f"/{fw}/lib/python3.12/site-packages/PIL/_imaging.cpython-312-darwin.so")
    assert exe == f"/{fw}/bin/python3.12" and "Python framework" in why
    touch("opt", "homebrew", "bin", "python3.13")
    exe, why = infer_python(mac, "/opt/homebrew/lib/python3.13/site-packages/x/y.so")
    assert exe == "/opt/homebrew/bin/python3.13"
    assert infer_python(mac, "/opt/elsewhere/y.so") is None


# -- brief lines without a frozen tree, and the end of a whole-process run ---------------------------

def test_a_drafted_load_says_what_its_frozen_tree_says(wheel_env, built, broken_pillow):
    """An extension module's brief ok line comes from its load unfrozen (LinuxLoader.resolve_draft):
    clean exactly when the tree has no problem, the same files reached, the same tree when frozen."""
    from native_oracles import elf_files
    from dllmagic.facts.native.loader import loader_for, tree_to_dict, walk

    site, _victim = broken_pillow
    files = [str(p) for p in elf_files(built, wheel_env["site"], site)]
    system = System.model("linux", "/", environ=CLEAN_ENV, executable=str(wheel_env["python"]))
    drafting, resolving = loader_for(system), loader_for(system)
    clean = failing = 0
    for path in files:
        draft = drafting.resolve_draft(path, mode="as-imported")
        tree = resolving.resolve(path, mode="as-imported")
        assert draft.clean == (not problems(tree)), path
        assert draft.root_path == (tree.root.path or tree.root.name) and draft.mode == tree.mode
        assert draft.reached() == tuple(n.path for n in walk(tree.root)
                                        if n.path and n.error is None and n is not tree.root), path
        assert tree_to_dict(draft.tree()) == tree_to_dict(tree), path
        clean += draft.clean
        failing += not draft.clean
    assert clean > 20 and failing >= 3  # both kinds met (the broken Pillow's extensions fail)
    assert drafting.resolve_draft(files[0], mode="standalone") is None


WHOLE_RUN = r"""
import atexit, sys
if sys.argv[1] == "handler":
    atexit.register(lambda: sys.stderr.write("exit handler ran\n"))
sys.argv = ["dlldoctor", *sys.argv[2:]]
from dllmagic.cli import main
status = main()
sys.stderr.write("main returned\n")
sys.exit(status)
"""


def test_a_whole_process_run_ends_at_once_with_its_output_written(wheel_env, broken_pillow):
    """``dlldoctor deps`` (the process's own command line) ends in main(), its output flushed and
    its status given, without the interpreter's exit; with an exit handler registered it returns."""
    site, _victim = broken_pillow
    argv = ["deps", str(site), str(wheel_env["site"]), "--python", str(wheel_env["python"]),
            "--json", "--no-cache"]
    env = dict(CLEAN_ENV, PYTHONPATH=os.getcwd())
    # main(argv): a call, not the process's command line; it returns
    called = subprocess.run([sys.executable, "-c", "import sys; from dllmagic.cli import main; "
                             "sys.exit(main(sys.argv[1:]))", *argv], capture_output=True, text=True, env=env)
    assert called.returncode == 1 and len(called.stdout) > 200_000  # more than a pipe holds
    json.loads(called.stdout)
    ended = subprocess.run([sys.executable, "-c", WHOLE_RUN, "plain", *argv], capture_output=True, text=True,
                           env=env)
    assert (ended.returncode, ended.stdout) == (called.returncode, called.stdout)
    assert "main returned" not in ended.stderr
    handled = subprocess.run([sys.executable, "-c", WHOLE_RUN, "handler", *argv], capture_output=True,
                             text=True, env=env)
    assert (handled.returncode, handled.stdout) == (called.returncode, called.stdout)
    assert "main returned" in handled.stderr and "exit handler ran" in handled.stderr
    # the verbs other than deps return as before
    other = subprocess.run([sys.executable, "-c", WHOLE_RUN, "plain", "explain", "-"], input="nothing here\n",
                           capture_output=True, text=True, env=env)
    assert "main returned" in other.stderr
