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


def test_a_broken_user_site_package_is_reinstalled_with_user(tmp_path, monkeypatch):
    """'pip install --user' into a Python that is no venv, then broken: the reinstall goes to the user site
    (--user), not into the interpreter's own site-packages; applied for real."""
    from verdictkit import base_python_copy

    python = base_python_copy(tmp_path / "python")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PYTHONUSERBASE", raising=False)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--user",
                    "tabulate==0.9.0"], check=True, capture_output=True, stdin=subprocess.DEVNULL, env=dict(os.environ))
    user_site = subprocess.run([str(python), "-c", "import site; print(site.getusersitepackages())"],
                               capture_output=True, text=True, check=True).stdout.strip()
    assert user_site.startswith(str(tmp_path / "home")), user_site
    shutil.rmtree(os.path.join(user_site, "tabulate"))
    monkeypatch.chdir(tmp_path)
    report = check("tabulate", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "broken-install", top
    fix = top.fixes[0]
    assert "--user" in fix.argv and fix.argv[0] == str(python), fix.argv
    # pip is not in the copy: the fix runs with this test's pip, pointed at the copy (as its argv would).
    done = subprocess.run([sys.executable, "-m", "pip", "--python", *fix.argv[:1], *fix.argv[3:]],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-600:]
    imported = subprocess.run([str(python), "-c", "import tabulate; print(tabulate.__file__)"], cwd=tmp_path,
                              capture_output=True, text=True, env=dict(os.environ))
    assert imported.stdout.strip() == os.path.join(user_site, "tabulate", "__init__.py"), imported.stdout
    assert not list(next((tmp_path / "python").glob("lib/python*/site-packages")).glob("tabulate*"))
