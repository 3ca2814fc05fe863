"""What a package declares, when it conflicts with what another installed package declares (real venvs, real pip).

toyfrom 1.0 and toyrt 1.0 declare toydep>=2.0; toyother 1.0 declares toydep<2; toydep 1.0 is installed. Installing
toydep>=2.0 would break toyother: it must be stated, never offered at one click, and the summary must say so. toyrt
raises its own RuntimeError naming toydep (no signature knows it): the metadata explains it, and keeping toydep 1.0
with a toyrt release that accepts it (0.9) is a real fix, even though toyfrom is already out of step with toydep.
Requires-Dist lines whose markers or extras do not apply here are not unmet; a dependency written under another
spelling of its name (Toy.Dep2 for toy_dep2) is the same distribution.
"""
import subprocess

import pytest

from diagkit import write_wheel
from harness import create_venv

from dllmagic.api import check

pytestmark = pytest.mark.slow

_RT = "import toydep\nif not hasattr(toydep, 'newthing'):\n    raise RuntimeError('toyrt failed to register with toydep')\n"


@pytest.fixture(scope="module")
def conflicted(tmp_path_factory):
    root = tmp_path_factory.mktemp("declared_conflicts")
    wheels = root / "wheels"
    write_wheel(wheels, "toyfrom", "1.0", requires=["toydep>=2.0"], modules={"toyfrom": "from toydep import newthing\n"})
    write_wheel(wheels, "toyrt", "1.0", requires=["toydep>=2.0"], modules={"toyrt": _RT})
    write_wheel(wheels, "toyrt", "0.9", requires=["toydep<2"], modules={"toyrt": "import toydep\n"})
    write_wheel(wheels, "toyother", "1.0", requires=["toydep<2"], modules={"toyother": "import toydep\n"})
    write_wheel(wheels, "toydep", "1.0", modules={"toydep": "OLD = 1\n"})
    write_wheel(wheels, "toydep", "2.0", modules={"toydep": "def newthing():\n    return 2\n"})
    write_wheel(wheels, "toymark", "1.0", modules={"toymark": "from toydep import newthing\n"},
                requires=["toydep>=2.0; python_version < '3.0'", "toydep>=2.0; extra == 'fancy'", "toydep>=0.5"])
    write_wheel(wheels, "toy_dep2", "1.0", modules={"toy_dep2": "OLD = 1\n"})
    write_wheel(wheels, "toy_dep2", "2.0", modules={"toy_dep2": "def newthing():\n    return 2\n"})
    write_wheel(wheels, "toyus", "1.0", requires=["Toy.Dep2>=2.0"], modules={"toyus": "from toy_dep2 import newthing\n"})
    venv = create_venv(root / "venv", with_pip=True)
    done = subprocess.run([str(venv.python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
                           str(wheels), "--no-deps", "toyfrom", "toyrt==1.0", "toyother", "toydep==1.0", "toymark",
                           "toy_dep2==1.0", "toyus"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return venv, wheels


def test_a_requirement_that_breaks_another_package_is_stated_not_offered(conflicted, tmp_path):
    venv, _wheels = conflicted
    top = check("toyfrom", python=str(venv.python), cwd=str(tmp_path)).top
    assert (top.kind, top.cause) == ("cannot-import-name", "name-not-in-installed-version")
    assert "Install what it declares" not in top.summary, top.summary
    assert "not offered: toydep>=2.0 would break toyother 1.0" in top.summary, top.summary
    assert not any(f.runnable and "toydep>=2.0" in (f.argv or ()) for f in top.fixes), top.fixes


def test_an_unknown_error_showing_an_unmet_declared_dependency_is_explained_and_fixed(conflicted, tmp_path):
    venv, wheels = conflicted
    assert "toyrt failed to register with toydep" in venv.run("-c", "import toyrt").stderr
    top = check("toyrt", python=str(venv.python), cwd=str(tmp_path)).top
    assert (top.kind, top.cause) == ("dependency-conflict", "version-pin-conflict"), top.summary
    assert "toyrt 1.0 declares toydep>=2.0, but 1.0 is installed" in top.summary
    assert "not offered: toydep>=2.0 would break toyother 1.0" in top.summary, top.summary
    fix = top.fixes[0]
    # toyfrom is out of step with toydep 1.0 already: keeping toydep 1.0 breaks nothing that works now.
    assert fix.runnable and "toyrt" in fix.argv and not any("toydep>=2" in a for a in fix.argv), fix.argv
    applied = subprocess.run(list(fix.argv) + ["--no-index", "--find-links", str(wheels)], capture_output=True,
                             text=True, timeout=600)
    assert applied.returncode == 0, applied.stderr
    try:
        assert venv.run("-c", "import toyrt, toyother").returncode == 0
    finally:
        subprocess.run([str(venv.python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
                        str(wheels), "--no-deps", "toyrt==1.0"], capture_output=True, text=True, timeout=600)


def test_requirements_whose_markers_or_extras_do_not_apply_are_not_unmet(conflicted, tmp_path):
    venv, _wheels = conflicted
    top = check("toymark", python=str(venv.python), cwd=str(tmp_path)).top
    assert top.kind == "cannot-import-name"
    assert "declares" not in top.summary, top.summary
    assert not any(f.runnable and any("toydep>=2" in a for a in f.argv) for f in top.fixes), top.fixes


def test_a_dependency_under_another_spelling_of_its_name_is_the_same(conflicted, tmp_path):
    venv, _wheels = conflicted
    top = check("toyus", python=str(venv.python), cwd=str(tmp_path)).top
    assert "toyus 1.0, whose code imports it, declares toy-dep2>=2.0" in top.summary, top.summary
    assert top.fixes[0].runnable and top.fixes[0].argv[-1] == "toy-dep2>=2.0", top.fixes[0].argv


def test_the_fix_is_proven_with_the_interpreter_named_relative_to_the_folder(conflicted, monkeypatch):
    """'dlldoctor check toyrt --python venv/bin/python --prove': the proof runs in a temporary folder, where a
    relative path names nothing; it must still try the fix with that interpreter."""
    from dllmagic.planner.prove import prove

    venv, wheels = conflicted
    monkeypatch.chdir(venv.path.parent)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    relative = str(venv.python.relative_to(venv.path.parent))
    report = check("toyrt", python=relative)
    fix = report.top.fixes[0]
    assert fix.runnable and "toyrt" in fix.argv, fix.argv
    proof = prove(relative, "toyrt", fix, timeout=300)
    assert proof.status == "proven", proof.detail
