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
