"""Distributions installed from a folder, not from an index (PEP 610 direct_url.json), read as a user would.

An editable install whose project was moved, or whose package folder was deleted, is not "read only at
start-up": a restart reads the same .pth. And the release of that name on the package index is not the user's
code (it may be another project): no fix reinstalls it from there. Real projects, built and installed with
pip (setuptools from the configured index), then broken on disk."""
from __future__ import annotations

import shutil
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
version = "0.3.0"
[tool.setuptools]
{packages}
"""


def _project(root: Path, name: str, src_layout: bool) -> Path:
    package = (root / "src" / name) if src_layout else (root / name)
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("VALUE = 1\n")
    packages = 'package-dir = {"" = "src"}\npackages = ["%s"]' % name if src_layout else f'packages = ["{name}"]'
    (root / "pyproject.toml").write_text(_PYPROJECT.format(name=name, packages=packages))
    return root


def _venv_with(tmp_path: Path, *pip_args: str) -> Path:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *pip_args], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"could not build the project: {done.stderr[-300:]}")
    return python


def _no_index_reinstall(report, name: str) -> None:
    for finding in report.findings:
        for fix in finding.fixes:
            assert not fix.runnable or name not in " ".join(fix.argv or ()), (fix.title, fix.argv)
            assert f"{name}==" not in fix.cell.replace("#", "") or fix.kind == "instruction", fix.cell
            assert fix.kind != "restart", fix.title


def test_an_editable_install_whose_project_was_moved(tmp_path, monkeypatch):
    project = _project(tmp_path / "proj", "rtmovedlib", src_layout=True)
    python = _venv_with(tmp_path, "-e", str(project))
    assert subprocess.run([str(python), "-c", "import rtmovedlib"], cwd=tmp_path).returncode == 0
    shutil.move(str(project), str(tmp_path / "proj-elsewhere"))
    monkeypatch.chdir(tmp_path)
    report = check("rtmovedlib", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "broken-install", top
    assert str(project / "src") in top.summary and "moved or deleted" in top.summary, top.summary
    assert "read only at start-up" not in top.summary
    _no_index_reinstall(report, "rtmovedlib")
    assert "editable install of" in top.fixes[0].title, top.fixes[0]


def test_an_editable_finder_install_whose_package_folder_was_deleted(tmp_path, monkeypatch):
    """A flat layout: setuptools installs a finder module whose MAPPING names the package folder."""
    project = _project(tmp_path / "proj", "rtflatlib", src_layout=False)
    python = _venv_with(tmp_path, "-e", str(project))
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    assert list(site.glob("__editable__*finder.py")), sorted(p.name for p in site.iterdir())
    shutil.rmtree(project / "rtflatlib")
    monkeypatch.chdir(tmp_path)
    report = check("rtflatlib", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "broken-install" and str(project / "rtflatlib") in top.summary, top.summary
    _no_index_reinstall(report, "rtflatlib")


def test_a_package_installed_from_a_local_folder_is_never_reinstalled_from_the_index(tmp_path, monkeypatch):
    """pip install ./proj (not editable), then the package's files removed from site-packages: broken, and
    the fix names the folder it came from instead of the index's release of that name."""
    project = _project(tmp_path / "proj", "rtlocalfolder", src_layout=False)
    python = _venv_with(tmp_path, str(project))
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    shutil.rmtree(site / "rtlocalfolder")
    monkeypatch.chdir(tmp_path)
    report = check("rtlocalfolder", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "broken-install", top
    _no_index_reinstall(report, "rtlocalfolder")
    assert str(project) in top.fixes[0].title + top.fixes[0].cell, top.fixes[0]


def test_a_folder_a_pth_files_code_puts_first_is_named_with_that_pth(tmp_path, monkeypatch):
    """'import sys; sys.path.insert(0, FOLDER)' in a .pth: a copy of the module there hides the installed
    one; the report says which .pth put the folder on sys.path (else the user cannot find why)."""
    from verdictkit import venv_with

    python = venv_with(tmp_path / "venv", "tabulate")
    front = tmp_path / "front"
    front.mkdir()
    (front / "tabulate.py").write_text("VALUE = 1\n")
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    pth = site / "000front.pth"
    pth.write_text(f"import sys; sys.path.insert(0, {str(front)!r})\n")
    monkeypatch.chdir(tmp_path)
    report = check("tabulate", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "shadowed-by-local-file" and not report.ok, top
    assert str(pth) in top.summary, top.summary


def test_a_stray_pth_folder_before_the_installed_package_is_a_shadow_not_healthy(tmp_path, monkeypatch):
    """A venv that sees its base's site-packages (--system-site-packages): a .pth in the venv (a leftover of a
    develop install, conda develop, one written by hand) puts a folder on sys.path before the base's
    site-packages; a pip.py there hides the base's pip. No distribution claims that .pth or that folder, so
    the import is the stray file: a shadow, with the .pth named and a fix that removes the line."""
    base = Path(getattr(sys, "_base_executable", sys.executable))
    found = subprocess.run([str(base), "-s", "-c", "import pip; print(pip.__file__)"], capture_output=True, text=True)
    if found.returncode != 0 or "site-packages" not in found.stdout:
        pytest.skip("the base interpreter has no pip in its site-packages")
    venv = tmp_path / "venv"
    subprocess.run([str(base), "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    stray = tmp_path / "oldproj"
    stray.mkdir()
    (stray / "pip.py").write_text("VALUE = 1\n")
    site = next(venv.glob("lib/python*/site-packages"))
    pth = site / "old_develop.pth"
    pth.write_text(f"{stray}\n")
    python = venv / "bin" / "python"
    imported = subprocess.run([str(python), "-c", "import pip; print(pip.__file__)"], capture_output=True,
                              text=True, cwd=tmp_path)
    assert imported.stdout.strip() == str(stray / "pip.py"), imported.stdout + imported.stderr
    monkeypatch.chdir(tmp_path)
    report = check("pip", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert not report.ok and top.cause == "shadowed-by-local-file", top
    assert str(pth) in top.summary and str(stray / "pip.py") in top.summary, top.summary
    assert any(f.kind == "instruction" and str(pth) in f.cell for f in top.fixes), [f.title for f in top.fixes]


def test_a_folder_a_pth_line_puts_on_sys_path_twice_is_listed_once(tmp_path, monkeypatch):
    """Python itself may run a .pth's code line twice (a venv's site-packages is processed twice): the folder is
    on sys.path twice. The "sys.path used" evidence lists it once, at its first place, and says how often."""
    from verdictkit import venv_with

    python = venv_with(tmp_path / "venv", "tabulate")
    front = tmp_path / "front"
    front.mkdir()
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    (site / "000front.pth").write_text(f"import sys; sys.path.insert(0, {str(front)!r})\n")
    real = subprocess.run([str(python), "-c", "import sys; print(sys.path.count(%r))" % str(front)],
                          capture_output=True, text=True, check=True).stdout.strip()
    monkeypatch.chdir(tmp_path)
    report = check("tabulate", python=str(python), cwd=str(tmp_path))
    used = next(e for e in report.findings[0].evidence if e.fact == "sys.path used")
    folders = used.value.split("; ")
    assert sum(f.split(" (on sys.path")[0] == str(front) for f in folders) == 1, used.value
    if int(real) > 1:
        assert f"{front} (on sys.path {real} times)" in folders, used.value
