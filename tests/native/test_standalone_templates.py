"""Programs with the same needs in one folder share the work below them (standalone templates, see
dllmagic/facts/native/loader/linux/template.py): the tree made for the first, renamed for the second,
must be exactly the tree a fresh resolution of the second gives, and ldd's answer.

Built here with gcc (a folder of its own, beside the rule fixtures):

    top/x/libdep.so, top/x/libmid.so -> libdep.so, libm.so.6   (libmid has no search path)
    top/y/libdep.so, top/x/libmidrun.so -> libdep.so    (libmidrun: RUNPATH $ORIGIN/../y)
    top/p1.so, top/p2.so  -> libmid.so     (RPATH $ORIGIN/x: libdep is found through it, "rpath of 0")
    top/q1.so, top/q2.so  -> libmidrun.so  (RPATH $ORIGIN/x, skipped below by libmidrun's RUNPATH: the
                                            reason names the program, so nothing is shared)
    top/o/p3.so           -> libmid.so     (RPATH $ORIGIN/x, the same words in another folder, whose
                                            x/ holds copies of libmid and libdep: a tree of its own)
    top/r1.so, top/r2.so  -> libver.so     (RPATH $ORIGIN/v: the same needs, other version needs; v/
                                            libver.so defines VER_1 only, r2 was linked against one
                                            with VER_2 too: version `VER_2' not found, on r2 alone)
    top/s1.so, top/s2.so  -> libgone.so    (deleted after they were linked: not found, for both)
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from native_oracles import CLEAN_ENV, compare_with_ldd, run_ldd
from dllmagic.facts.native.loader import format_tree, loader_for, resolve, tree_to_dict, walk
from dllmagic.facts.system import System


def _lib(folder, out, source, *args):
    path = folder / out
    path.parent.mkdir(parents=True, exist_ok=True)
    src = path.with_name(path.name + ".c")
    src.write_text(source + "\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(path), str(src), "-Wl,--no-as-needed", *args],
                   cwd=folder, check=True, capture_output=True)
    src.unlink()
    return path


@pytest.fixture(scope="module")
def top(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build the template fixtures (apt: gcc, libc6-dev)")
    d = tmp_path_factory.mktemp("templates")
    rpath = "-Wl,--disable-new-dtags,-rpath,"
    _lib(d, "top/x/libdep.so", "int dep(void){return 1;}", "-Wl,-soname,libdep.so")
    _lib(d, "top/y/libdep.so", "int dep(void){return 2;}", "-Wl,-soname,libdep.so")
    _lib(d, "top/x/libmid.so", "int dep(void); int mid(void){return dep();}", "-Wl,-soname,libmid.so",
         "-Ltop/x", "-ldep", "-lm")
    _lib(d, "top/x/libmidrun.so", "int dep(void); int midrun(void){return dep();}",
         "-Wl,-soname,libmidrun.so", "-Ltop/y", "-ldep", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../y")
    for name in ("p1", "p2"):
        _lib(d, f"top/{name}.so", f"int mid(void); int {name}(void){{return mid();}}",
             f"-Wl,-soname,lib{name}.so", "-Ltop/x", "-lmid", rpath + "$ORIGIN/x")
    for name in ("q1", "q2"):
        _lib(d, f"top/{name}.so", f"int midrun(void); int {name}(void){{return midrun();}}",
             f"-Wl,-soname,lib{name}.so", "-Ltop/x", "-lmidrun", rpath + "$ORIGIN/x")
    for folder, versions in (("v", "VER_1 { global: ver1; local: *; };"),
                             ("vlink", "VER_1 { global: ver1; local: *; }; VER_2 { global: ver2; } VER_1;")):
        (d / "top" / folder).mkdir(parents=True)
        (d / "top" / folder / "ver.map").write_text(versions + "\n")
        _lib(d, f"top/{folder}/libver.so", "int ver1(void){return 1;} int ver2(void){return 2;}",
             "-Wl,-soname,libver.so", f"-Wl,--version-script,top/{folder}/ver.map")
    for name, call in (("r1", "ver1"), ("r2", "ver2")):
        _lib(d, f"top/{name}.so", f"int {call}(void); int {name}(void){{return {call}();}}",
             f"-Wl,-soname,lib{name}.so", "-Ltop/vlink", "-lver", rpath + "$ORIGIN/v")
    _lib(d, "top/gone/libgone.so", "int gone(void){return 1;}", "-Wl,-soname,libgone.so")
    for name in ("s1", "s2"):
        _lib(d, f"top/{name}.so", f"int gone(void); int {name}(void){{return gone();}}",
             f"-Wl,-soname,lib{name}.so", "-Ltop/gone", "-lgone")
    shutil.rmtree(d / "top/gone")
    (d / "top/o/x").mkdir(parents=True)
    for name in ("libdep.so", "libmid.so"):
        shutil.copy(d / "top/x" / name, d / "top/o/x" / name)
    _lib(d, "top/o/p3.so", "int mid(void); int p3(void){return mid();}", "-Wl,-soname,libp3.so",
         "-Ltop/x", "-lmid", rpath + "$ORIGIN/x")
    return d / "top"


def _system():
    return System.model("linux", "/", environ=CLEAN_ENV)


def _nodes(tree):
    return {id(n) for n in walk(tree.root)}


def _second_as_fresh(shared, first, second):
    """(first's tree, second's tree from the same loader), after checking the second against a fresh
    resolution of its own and against ldd."""
    one = shared.resolve(str(first), mode="standalone")
    two = shared.resolve(str(second), mode="standalone")
    fresh = resolve(str(second), _system(), mode="standalone")
    assert tree_to_dict(two) == tree_to_dict(fresh), format_tree(two, verbose=True)
    assert format_tree(two, verbose=True) == format_tree(fresh, verbose=True)
    assert compare_with_ldd(two, run_ldd(str(second), env=CLEAN_ENV)) == []
    return one, two


def test_a_program_beside_another_with_the_same_rpath_gets_its_tree_renamed(top):
    shared = loader_for(_system())
    one, two = _second_as_fresh(shared, top / "p1.so", top / "p2.so")
    dep = next(n for n in walk(two.root) if n.name == "libdep.so")
    # found through the RPATH of the program (inherited by libmid): the second program is named
    assert (dep.rule, dep.via) == ("rpath-of-0", str(top / "p2.so"))
    assert all(c.via in (None, str(top / "p2.so")) for n in walk(two.root) for c in n.candidates)
    # libm.so.6, asked for by libmid only, is named by the program only where its RPATH was tried
    libm = next(n for n in walk(two.root) if n.name == "libm.so.6")
    assert libm.requested_by != str(top / "p2.so") and libm.via is None
    assert any(c.via == str(top / "p2.so") for c in libm.candidates)
    assert two.root.soname == "libp2.so" and two.executable == str(top / "p2.so")
    # the work below was shared: some of the second tree's nodes are the first tree's own
    assert _nodes(one) & _nodes(two)


def test_a_tree_that_names_its_program_in_a_reason_is_not_shared(top):
    shared = loader_for(_system())
    one, two = _second_as_fresh(shared, top / "q1.so", top / "q2.so")
    dep = next(n for n in walk(two.root) if n.name == "libdep.so")
    skipped = [c for c in dep.candidates if c.outcome == "not-searched" and c.rule == "rpath"]
    assert skipped and str(top / "q2.so") in skipped[0].reason
    assert not _nodes(one) & _nodes(two)


def test_a_program_in_another_folder_has_a_tree_of_its_own(top):
    shared = loader_for(_system())
    one, two = _second_as_fresh(shared, top / "p1.so", top / "o" / "p3.so")
    dep = next(n for n in walk(two.root) if n.name == "libdep.so")
    assert dep.path == str(top / "o" / "x" / "libdep.so")
    assert not _nodes(one) & _nodes(two)


@pytest.mark.parametrize("order", [("r1", "r2"), ("r2", "r1")])
def test_the_version_needs_of_each_program_are_its_own(top, order):
    shared = loader_for(_system())
    one, two = _second_as_fresh(shared, top / f"{order[0]}.so", top / f"{order[1]}.so")
    ver = next(n for n in two.root.children if n.name == "libver.so")
    if order[1] == "r2":
        assert [(v.version, v.required_by) for v in ver.missing_versions] == [("VER_2", str(top / "r2.so"))]
    else:
        assert ver.missing_versions == ()
    assert _nodes(one) & _nodes(two)  # the same tree below, shared


def test_a_folder_says_ok_only_for_programs_whose_shared_tree_has_no_problem(top, capsys, monkeypatch):
    """``deps FOLDER --standalone`` prints one line for a file without problems; a file whose key
    has a tree already is said to be ok without its tree being made, unless its own version needs
    fail (r2, after r1) or the shared tree has a problem."""
    from dllmagic import cli

    for name in ("LD_LIBRARY_PATH", "LD_PRELOAD"):
        monkeypatch.delenv(name, raising=False)
    status = cli.main(["deps", str(top), "--standalone", "--no-cache", "-j", "1"])
    out = capsys.readouterr().out
    ok = " ok (standalone; symbols not checked, --symbols checks them)"
    lines = {line.split(":")[0]: line for line in out.splitlines() if not line.startswith(" ")}
    for name in ("p1", "p2", "q1", "q2", "r1"):
        assert lines[str(top / f"{name}.so")] == str(top / f"{name}.so") + ":" + ok, out
    assert str(top / "r2.so") in lines and not lines[str(top / "r2.so")].endswith(ok)
    assert "version `VER_2' not found" in out and status == 1
    for name in ("s1", "s2"):
        assert not lines[str(top / f"{name}.so")].endswith(ok)
        assert f"{top / name}.so\n    libgone.so  NOT FOUND" in out, out
