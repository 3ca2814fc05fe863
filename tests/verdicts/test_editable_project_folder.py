"""A notebook in the project it was installed from (``pip install -e .``, for real, with setuptools' finder for a
flat layout and its ``.pth`` for a src layout): the package in the working folder is the editable install's own
code, not a file hiding the installed one, and it must never be renamed. When the project was moved after the
install, the import still works from the project's new folder (healthy here, and true), and the report says that
the install points nowhere, so that the import fails from any other folder."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dllmagic.api import check

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")

_PYPROJECT = """[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"
[project]
name = "{name}"
version = "0.3"
"""


def _project(root: Path, name: str, src: bool) -> Path:
    package = root / ("src" if src else "") / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("VALUE = 3\n")
    (root / "pyproject.toml").write_text(_PYPROJECT.format(name=name)
                                         + ("" if src else f'[tool.setuptools]\npackages = ["{name}"]\n'))
    return root


@pytest.fixture(scope="module")
def editable_env(tmp_path_factory):
    """A venv with two editable installs: rtedflat (finder) and rtedsrc (.pth to src/)."""
    from verdictkit import venv_with

    root = tmp_path_factory.mktemp("editable")
    python = venv_with(root / "venv", pip=True)
    flat, src = _project(root / "flat", "rtedflat", False), _project(root / "srcproj", "rtedsrc", True)
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-e", str(flat), "-e", str(src)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"no setuptools for an editable install: {done.stderr[-300:]}")
    site = next((root / "venv").glob("lib/python*/site-packages"))
    assert list(site.glob("__editable___rtedflat_*finder.py")) and list(site.glob("__editable__.rtedsrc*.pth"))
    return python, flat, src


@pytest.mark.parametrize("name,folder", [("rtedflat", "."), ("rtedsrc", "src")])
def test_the_project_folder_of_an_editable_install_is_no_shadow(editable_env, name, folder):
    python, flat, src = editable_env
    cwd = (flat if name == "rtedflat" else src) / folder
    report = check(name, python=str(python), cwd=str(cwd))
    assert report.ok, [(f.cause, f.summary) for f in report.findings]
    assert [f.cause for f in report.findings] == ["healthy"], [(f.cause, f.summary) for f in report.findings]
    assert not any(fix.kind == "rename" for f in report.findings for fix in f.fixes)


def test_a_moved_editable_project_imports_from_its_folder_and_the_install_is_said_broken(editable_env, tmp_path):
    python, flat, _src = editable_env
    moved = tmp_path / "moved"
    flat.rename(moved)
    try:
        report = check("rtedflat", python=str(python), cwd=str(moved))
        causes = [f.cause for f in report.findings]
        assert report.ok and causes[0] == "healthy", [(f.cause, f.summary) for f in report.findings]
        assert "shadowed-by-local-file" not in causes
        assert not any(fix.kind == "rename" for f in report.findings for fix in f.fixes)
        broken = next(f for f in report.findings if f.cause == "broken-install")
        assert str(flat / "rtedflat") in broken.summary and "does not exist" in broken.summary, broken.summary
        assert all(not fix.runnable for fix in broken.fixes)
        # From anywhere else it does not import, and that report says why.
        elsewhere = check("rtedflat", python=str(python), cwd=str(tmp_path))
        assert not elsewhere.ok and elsewhere.findings[0].cause == "broken-install", elsewhere.findings[0]
    finally:
        moved.rename(flat)
