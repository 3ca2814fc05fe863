"""A package installed with 'pip install --target FOLDER', FOLDER on PYTHONPATH: it is imported from there,
before site-packages. A fix that installs into site-packages would leave the broken copy first on sys.path (or
its metadata); the fix goes to FOLDER (--target, --upgrade), and is applied here for real."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from dllmagic.api import check

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")


def test_a_broken_package_in_a_target_folder_is_reinstalled_there(tmp_path, monkeypatch):
    from verdictkit import venv_with

    python = venv_with(tmp_path / "venv", pip=True)
    folder = tmp_path / "vendored libs"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--target", str(folder), "tabulate==0.9.0"],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    shutil.rmtree(folder / "tabulate")
    monkeypatch.setenv("PYTHONPATH", str(folder))
    monkeypatch.chdir(tmp_path)
    report = check("tabulate", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "broken-install", top
    fix = top.fixes[0]
    assert fix.runnable and fix.argv[fix.argv.index("--target") + 1] == str(folder), fix.argv
    assert f'--target "{folder}"' in fix.cell, fix.cell
    assert any(e.value == str(folder) and "no site-packages" in e.fact for e in top.evidence), top.evidence
    done = subprocess.run(list(fix.argv), capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-600:]
    imported = subprocess.run([str(python), "-c", "import tabulate; print(tabulate.__file__)"], cwd=tmp_path,
                              capture_output=True, text=True, env=dict(os.environ))
    assert imported.stdout.strip() == str(folder / "tabulate" / "__init__.py"), imported.stdout + imported.stderr
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    assert not list(site.glob("tabulate*")), "the fix installed into site-packages too"
