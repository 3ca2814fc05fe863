"""A module whose source is gone: a ``.py`` deleted with its ``__pycache__/*.pyc`` left (Python never imports
that file alone), in the working folder and inside the user's own package, and a submodule's files deleted
from an installed distribution whose RECORD lists them. None of these is a release to pin or a name to install
from the index: the first two are the user's files to restore, the last is the same release to reinstall."""
from __future__ import annotations

import os
import py_compile
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "diagnosis"))
from diagkit import write_wheel  # noqa: E402

from dllmagic.api import check  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")


def _orphan(folder, name):
    """``folder/name.py`` compiled into ``folder/__pycache__`` (as an import does), then deleted."""
    source = folder / f"{name}.py"
    source.write_text("VALUE = 1\n")
    py_compile.compile(str(source), doraise=True)
    source.unlink()
    return next((folder / "__pycache__").glob(f"{name}.*.pyc"))


def _no_install(finding):
    cells = " ".join(f.cell or "" for f in finding.fixes) + " ".join(" ".join(f.argv or ()) for f in finding.fixes)
    assert not any(f.runnable for f in finding.fixes) and "install" not in cells.replace("-e .", ""), finding.fixes


def test_a_deleted_module_with_its_bytecode_left_is_said_not_installed_from_the_index(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    pyc = _orphan(work, "rtorphan")
    report = check("rtorphan", python=sys.executable, cwd=str(work))
    top = report.findings[0]
    assert (top.kind, top.cause) == ("module-not-found", "not-installed"), top
    assert str(pyc) in top.summary and str(work / "rtorphan.py") in top.summary, top.summary
    assert "never imports" in top.summary
    _no_install(top)


def test_bytecode_named_like_a_known_distribution_does_not_hide_the_install(tmp_path):
    from verdictkit import venv_with

    python = venv_with(tmp_path / "venv")
    work = tmp_path / "work"
    work.mkdir()
    _orphan(work, "yaml")   # a yaml.py of the user's, deleted: the package meant is PyYAML
    report = check("yaml", python=str(python), cwd=str(work))
    top = report.findings[0]
    assert top.cause in ("not-installed", "installed-in-other-environment"), top.summary
    assert not any("compiled cache" in f.summary or "Restore" in " ".join(x.title for x in f.fixes)
                   for f in report.findings), [f.summary for f in report.findings]


def test_a_submodule_of_the_users_own_package_deleted_is_no_release_to_pin(tmp_path):
    work = tmp_path / "work"
    package = work / "rtownpkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    pyc = _orphan(package, "helpers")
    report = check("rtownpkg.helpers", python=sys.executable, cwd=str(work))
    top = report.findings[0]
    assert (top.kind, top.cause) == ("module-not-found", "submodule-not-found"), top
    assert "own package" in top.summary and str(pyc) in top.summary and "installed" not in top.summary, top.summary
    assert "pin" not in " ".join(f.cell for f in top.fixes) and "<" not in " ".join(f.cell for f in top.fixes)
    _no_install(top)
    # Nothing left at all: still the user's own package, nothing to pin.
    shutil.rmtree(package / "__pycache__")
    top = check("rtownpkg.helpers", python=sys.executable, cwd=str(work)).findings[0]
    assert top.cause == "submodule-not-found" and "own package" in top.summary, top.summary
    _no_install(top)


def test_a_submodule_deleted_from_an_installed_release_is_reinstalled_not_pinned(tmp_path):
    from verdictkit import venv_with

    wheels = tmp_path / "wheels"
    write_wheel(wheels, "rtsubpkg", "1.2", modules={"rtsubpkg": "", "rtsubpkg/sub": "X = 1\n"})
    python = venv_with(tmp_path / "venv", pip=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheels),
                    "rtsubpkg"], check=True, capture_output=True, stdin=subprocess.DEVNULL)
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    shutil.rmtree(site / "rtsubpkg" / "sub")
    report = check("rtsubpkg.sub", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert (top.kind, top.cause) == ("module-not-found", "broken-install"), top.summary
    assert "rtsubpkg/sub/__init__.py" in top.summary, top.summary
    fix = top.fixes[0]
    assert fix.runnable and fix.argv[-1] == "rtsubpkg==1.2" and "--force-reinstall" in fix.argv, fix.argv
    done = subprocess.run([*fix.argv, "--no-index", "--find-links", str(wheels)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-400:]
    assert subprocess.run([str(python), "-c", "import rtsubpkg.sub"], cwd=tmp_path).returncode == 0


def test_a_pth_line_to_a_folder_that_is_gone_is_named(tmp_path):
    from verdictkit import venv_with

    python = venv_with(tmp_path / "venv")
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    libs = tmp_path / "team libs"
    libs.mkdir()
    (libs / "rtteamlib.py").write_text("VALUE = 1\n")
    (site / "team.pth").write_text(f"{libs}\n")
    assert check("rtteamlib", python=str(python), cwd=str(tmp_path)).ok
    libs.rename(tmp_path / "moved libs")
    top = check("rtteamlib", python=str(python), cwd=str(tmp_path)).findings[0]
    assert top.cause == "not-installed", top.summary
    assert f"{site / 'team.pth'} puts {libs} on sys.path, but that folder does not exist" in top.summary, top.summary
    assert any(e.source == str(site / "team.pth") and str(libs) in e.value for e in top.evidence), top.evidence
    assert not any(f.runnable for f in top.fixes), top.fixes
