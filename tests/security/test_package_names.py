"""Issue 13, item 3 (and issue 16's safe file actions): archives and paths as package names.

A dist-info named ``setup.zip-6.6.6.dist-info`` beside the notebook once led, after one confirmed Run, to
``pip install setup.zip``, which built ./setup.zip and ran its setup.py. Names are PEP 508 project names only;
installers run from a fresh empty folder; ``--online``'s dry run takes wheels only. Real pip throughout.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from types import SimpleNamespace

import pytest

from seckit import add_module, all_fixes
from dllmagic import _runner, fixes
from dllmagic.model import Failure, Finding, Interpreter, Report

BAD_NAMES = ["setup.zip", "x.whl", "pkg.tar.gz", "pkg.tgz", "pkg.tar.bz2", "old.egg", "SETUP.ZIP", "pkg.conda",
             "pkg.tar.xz", "./pkg", "../pkg", "pkg/sub", "C:\\pkg", "-e", "--index-url=https://x", "a..b",
             ".hidden"]


def _interp():
    return Interpreter(executable=sys.executable, real_executable=sys.executable, version="3.11.7",
                       implementation="CPython", architecture="x86_64", bits=64, platform="linux",
                       prefix=sys.prefix, base_prefix=sys.base_prefix, environment_kind="venv")


@pytest.mark.parametrize("name", BAD_NAMES)
def test_paths_and_archives_are_never_package_names(name):
    with pytest.raises(fixes.UnsafeName):
        fixes.validate_requirement(name)
    with pytest.raises(fixes.UnsafeName):
        fixes.validate_name(name)
    for fix in (fixes.pip_install(_interp(), [name], validated=True) if _well_formed(name) else None,
                fixes.conda_install(_interp(), [name]) if _well_formed(name) else None,
                fixes.uv_pip_install(_interp(), [name], validated=True) if _well_formed(name) else None):
        if fix is not None:  # a well-formed name that is a file: an instruction that says why, no command
            assert fix.kind == "instruction" and fix.argv is None and not fix.runnable
            assert "not offered as a package name" in fix.cell


def _well_formed(name):
    try:
        fixes.validate_requirement(name)
    except fixes.NotAProjectName:
        return True
    except fixes.UnsafeName:
        return False
    return True


def _trap(folder, marker):
    """./setup.zip: a project whose setup.py writes ``marker`` when pip builds it."""
    setup = f"open({str(marker)!r}, 'w').write('built')\nfrom setuptools import setup\nsetup(name='trap', version='1')\n"
    with zipfile.ZipFile(folder / "setup.zip", "w") as zf:
        zf.writestr("trap/setup.py", setup)
    (folder / "setup.py").write_text(setup)


def test_a_dist_info_named_like_an_archive_never_becomes_an_install(tmp_path, isolated_env, monkeypatch):
    from dllmagic import api

    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    marker = tmp_path / "built-by-setup.py"
    _trap(nbdir, marker)
    add_module(nbdir, "zzq_arch", dist="setup.zip", version="6.6.6")
    (nbdir / "zzq_arch" / "__init__.py").unlink()   # RECORD lists a file that is gone: a "broken install"
    (nbdir / "zzq_arch").rmdir()
    monkeypatch.chdir(nbdir)
    monkeypatch.syspath_prepend(str(nbdir))
    report = api.check("zzq_arch", live=True)
    assert report.findings, report.notes
    for fix in all_fixes(report):
        assert "setup.zip" not in (fix.argv or ()) and not any("setup.zip" in a for a in fix.argv or ())
        assert "install setup.zip" not in fix.cell and '"setup.zip' not in fix.cell
    refused = [fix for fix in all_fixes(report) if "setup.zip" in fix.cell]
    assert refused and all(fix.kind == "instruction" and not fix.runnable for fix in refused)
    assert not marker.exists()


def _report_with(fix):
    finding = Finding(kind="module-not-found", cause="not-installed", summary="x", confidence=0.9, fixes=(fix,))
    return Report(target="zzq", ok=False, interpreter=_interp(), findings=(finding,),
                  failure=Failure(kind="module-not-found", exc_type="ModuleNotFoundError",
                                  message="No module named 'zzq'", module="zzq"))


def test_run_starts_installers_in_a_fresh_empty_folder(tmp_path, monkeypatch):
    """Even a name that slipped past every check cannot reach a file in the notebook's folder."""
    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    marker = tmp_path / "built-by-setup.py"
    _trap(nbdir, marker)
    argv = [sys.executable, "-m", "pip", "install", "--no-deps", "setup.zip"]
    fix = fixes.make("pip", "t", cell="", argv=argv, runnable=True)
    report = _report_with(fix)
    monkeypatch.chdir(nbdir)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_NO_BUILD_ISOLATION", "0")   # pip reads 0 as "off": the build would run at once
    # First guard: the runner itself refuses a name an installer would read as a file, whatever made the fix.
    with pytest.raises(_runner.RunRefused, match="not run from a button"):
        _runner.request_confirmation(report, fix.id)
    # Second guard, behind it: an installer the runner starts runs in a fresh empty folder, where
    # ./setup.zip does not exist.
    proc = _runner._popen(argv, neutral_cwd=True)
    out = proc.communicate(timeout=300)[0].decode("utf-8", "replace")
    assert proc.returncode != 0 and not marker.exists(), out
    assert "does not exist" in out or "No such file" in out, out
    # The replay is real: the same command from the notebook's folder builds ./setup.zip.
    proc = subprocess.run(argv, cwd=nbdir, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0"))
    assert marker.exists(), proc.stdout + proc.stderr


def _sdist(folder, marker):
    """zzqtrap-1.0.tar.gz: an sdist whose setup.py writes ``marker`` when pip prepares its metadata."""
    setup = f"open({str(marker)!r}, 'w').write('ran')\nfrom setuptools import setup\nsetup(name='zzqtrap', version='1.0')\n"
    path = folder / "zzqtrap-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for name, text in (("zzqtrap-1.0/setup.py", setup),
                           ("zzqtrap-1.0/PKG-INFO", "Metadata-Version: 2.1\nName: zzqtrap\nVersion: 1.0\n")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), int(time.time())
            tf.addfile(info, io.BytesIO(data))
    return path


def test_online_dry_run_takes_wheels_only_from_a_neutral_folder(tmp_path, monkeypatch):
    from dllmagic.diagnosis import preflight

    links = tmp_path / "links"
    links.mkdir()
    marker = tmp_path / "setup-py-ran"
    _sdist(links, marker)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.setenv("PIP_NO_BUILD_ISOLATION", "0")
    monkeypatch.chdir(tmp_path)
    ctx = SimpleNamespace(interpreter=SimpleNamespace(executable=sys.executable))
    result = preflight.pip_report(ctx, "zzqtrap")
    assert "error" in result and not marker.exists(), result
    assert "error" in preflight.pip_report(ctx, "setup.zip")
    # The replay is real: without --only-binary=:all: pip runs the sdist's setup.py to read its metadata.
    subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-", "zzqtrap"],
                   capture_output=True, timeout=300)
    assert marker.exists()
