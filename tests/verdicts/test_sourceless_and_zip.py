"""Code that is not a plain .py: a bare .pyc beside no .py (Python imports it: healthy, and true) and a zip
archive on sys.path (searched by zipimport: a module missing from it names the archive as searched)."""
from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from dllmagic.api import check

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")


def test_a_bare_pyc_is_imported_and_healthy(tmp_path, monkeypatch):
    from verdictkit import venv_with

    python = venv_with(tmp_path / "venv")
    work = tmp_path / "work"
    work.mkdir()
    (work / "rtbare.py").write_text("VALUE = 1\n")
    subprocess.run([str(python), "-m", "py_compile", str(work / "rtbare.py")], check=True)
    pyc = next((work / "__pycache__").glob("rtbare.*.pyc"))
    pyc.rename(work / "rtbare.pyc")
    (work / "rtbare.py").unlink()
    monkeypatch.chdir(work)
    report = check("rtbare", python=str(python), cwd=str(work))
    assert report.ok and report.findings[0].cause == "healthy", report.findings[0]
    assert str(work / "rtbare.pyc") in report.findings[0].summary


def test_a_zip_on_pythonpath_is_named_among_the_places_searched(tmp_path, monkeypatch):
    from verdictkit import venv_with

    python = venv_with(tmp_path / "venv")
    archive = tmp_path / "libs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("rtzipped/__init__.py", "VALUE = 1\n")
    monkeypatch.setenv("PYTHONPATH", str(archive))
    monkeypatch.chdir(tmp_path)
    report = check("rtzipped", python=str(python), cwd=str(tmp_path))
    assert report.ok and str(archive) in report.findings[0].summary, report.findings[0]
    report = check("rtzipped_missing", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "not-installed", top
    assert any(e.fact == "zip archives searched (sys.path)" and str(archive) in e.value for e in top.evidence), \
        top.evidence
