"""One package installed twice on sys.path: toydep 1.0 with its dist-info in a 'pip install --target' folder on
PYTHONPATH, toydep 2.0 in site-packages. 'from toydep import newthing' (toyfrom declares toydep>=2.0) gets the
old copy. It is an installed copy, not a file of the user's to rename; the two RECORDs list the same relative
paths in two folders, which overwrite nothing (no "duplicate distributions", no reinstall into site-packages that
would change nothing imported). The fix goes to the folder that is imported first, and works. With the copies the
other way round (the .pth folder after site-packages) the copy imported is site-packages', and so is the fix."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "diagnosis"))
from diagkit import write_wheel  # noqa: E402

from dllmagic.api import check  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")


def _pip(python, *args):
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index", *args],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
    assert done.returncode == 0, done.stderr[-600:]


@pytest.fixture
def wheels(tmp_path):
    folder = tmp_path / "wheels"
    write_wheel(folder, "toyfrom", "1.0", requires=["toydep>=2.0"], modules={"toyfrom": "from toydep import newthing\n"})
    write_wheel(folder, "toydep", "1.0", modules={"toydep": "OLD = 1\n"})
    write_wheel(folder, "toydep", "2.0", modules={"toydep": "def newthing():\n    return 2\n"})
    return folder


def test_an_old_copy_in_a_target_folder_first_on_sys_path_is_upgraded_there(tmp_path, wheels, monkeypatch):
    from verdictkit import venv_with

    python = venv_with(tmp_path / "venv", pip=True)
    old = tmp_path / "old libs"
    _pip(python, "--find-links", str(wheels), "--no-deps", "toyfrom", "toydep==2.0")
    _pip(python, "--find-links", str(wheels), "--no-deps", "--target", str(old), "toydep==1.0")
    monkeypatch.setenv("PYTHONPATH", str(old))
    report = check("toyfrom", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert (top.kind, top.cause) == ("cannot-import-name", "name-not-in-installed-version"), top.summary
    assert all(f.cause not in ("shadowed-by-local-file", "duplicate-distributions") for f in report.findings), \
        [(f.cause, f.summary) for f in report.findings]
    fix = top.fixes[0]
    assert fix.runnable and fix.argv[fix.argv.index("--target") + 1] == str(old), fix.argv
    _pip(python, *fix.argv[fix.argv.index("install") + 1:], "--find-links", str(wheels))
    assert subprocess.run([str(python), "-c", "import toyfrom"], cwd=tmp_path, capture_output=True,
                          env=dict(os.environ)).returncode == 0


def test_a_newer_copy_after_site_packages_through_a_pth_is_not_what_is_imported(tmp_path, wheels, monkeypatch):
    from verdictkit import venv_with

    python = venv_with(tmp_path / "venv", pip=True)
    new = tmp_path / "new libs"
    _pip(python, "--find-links", str(wheels), "--no-deps", "toyfrom", "toydep==1.0")
    _pip(python, "--find-links", str(wheels), "--no-deps", "--target", str(new), "toydep==2.0")
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    (site / "zz_new_libs.pth").write_text(f"{new}\n")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    report = check("toyfrom", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert (top.kind, top.cause) == ("cannot-import-name", "name-not-in-installed-version"), top.summary
    assert "toydep 1.0 does not define it" in top.summary, top.summary
    fix = top.fixes[0]
    assert fix.runnable and "--target" not in fix.argv and fix.argv[-1] == "toydep>=2.0", fix.argv
