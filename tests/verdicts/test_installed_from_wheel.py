"""A distribution installed from a local wheel file (PEP 610: direct_url.json's ``archive_info`` with a
``file://`` URL), then broken on disk. The package index may not hold that build at all (or holds another
project of that name): the fix reinstalls from the same file when it is still there and still the same build
(the wheel's RECORD against the installed one), and is applied here for real; a wheel that is gone or was
rebuilt gets no one-click fix, only what is known. Real venvs, real pip and uv installs."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "diagnosis"))
from diagkit import write_wheel  # noqa: E402

from dllmagic.api import check  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")


def _broken_from_wheel(tmp_path: Path, name: str, *, pip: bool = True) -> tuple:
    """A venv with ``name`` installed from a local wheel in a folder whose name holds a space and a quote,
    then its package folder deleted. (python, wheel)."""
    wheel = write_wheel(tmp_path / "my builds 'v2'", name, "0.3.0")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", *([] if pip else ["--without-pip"]), str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(wheel)],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    site = next(venv.glob("lib/python*/site-packages"))
    assert "file://" in next(site.glob(f"{name}-*.dist-info/direct_url.json")).read_text()
    shutil.rmtree(site / name)
    return python, wheel


def _no_index_reinstall(report, name: str) -> None:
    for finding in report.findings:
        for fix in finding.fixes:
            assert not fix.runnable or any(a.endswith(".whl") for a in fix.argv), (fix.title, fix.argv)
            assert f"{name}==" not in " ".join(fix.argv or ()), fix.argv


def test_the_fix_reinstalls_from_the_same_wheel_and_works(tmp_path, monkeypatch):
    python, wheel = _broken_from_wheel(tmp_path, "rtwheelsame")
    monkeypatch.chdir(tmp_path)
    report = check("rtwheelsame", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "broken-install", top
    _no_index_reinstall(report, "rtwheelsame")
    fix = top.fixes[0]
    assert fix.runnable and fix.argv[-1] == str(wheel) and fix.argv[0] == str(python), fix
    assert any(e.fact == "that file now" and "same build" in e.value for e in top.evidence), top.evidence
    # The cell never holds the path unquoted: a quote in it makes the cell Python code with a string literal.
    assert repr(str(wheel)) in fix.cell, fix.cell
    done = subprocess.run(list(fix.argv), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-600:]
    assert subprocess.run([str(python), "-c", "import rtwheelsame"], cwd=tmp_path).returncode == 0


def test_a_wheel_that_is_gone_or_rebuilt_gets_no_one_click_fix(tmp_path, monkeypatch):
    python, wheel = _broken_from_wheel(tmp_path, "rtwheelgone")
    monkeypatch.chdir(tmp_path)
    # Rebuilt since: same name, other code.
    wheel.unlink()
    write_wheel(wheel.parent, "rtwheelgone", "0.3.0", modules={"rtwheelgone": "VALUE = 2\n"})
    report = check("rtwheelgone", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "broken-install", top
    _no_index_reinstall(report, "rtwheelgone")
    assert not top.fixes[0].runnable and "has changed since" in top.fixes[0].title, top.fixes[0]
    assert any(e.fact == "that file now" and "another build" in e.value for e in top.evidence), top.evidence
    # Gone.
    wheel.unlink()
    report = check("rtwheelgone", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    _no_index_reinstall(report, "rtwheelgone")
    assert not top.fixes[0].runnable and "is gone" in top.fixes[0].title, top.fixes[0]
    assert str(wheel) in top.fixes[0].cell


def test_a_venv_without_pip_reinstalls_the_wheel_with_ensurepip_first(tmp_path, monkeypatch):
    python, wheel = _broken_from_wheel(tmp_path, "rtwheelnopip", pip=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no uv on PATH
    report = check("rtwheelnopip", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "broken-install" and not any("internal error" in n for n in report.notes), report.notes
    _no_index_reinstall(report, "rtwheelnopip")
    fix = top.fixes[0]
    # The wheel's folder holds a quote: no '!' line may hold it, so the fix is a statement, never a %pip that
    # ends in 'No module named pip'.
    assert "%pip" not in fix.cell and not fix.runnable, fix


def test_an_externally_managed_python_gets_no_pip_reinstall_of_its_wheel(tmp_path, monkeypatch):
    """PEP 668: even from the same wheel, pip into the system's Python is not the one-click fix."""
    from verdictkit import base_python_copy

    python = base_python_copy(tmp_path / "system", externally_managed=True)
    wheel = write_wheel(tmp_path / "builds", "rtwheelsys", "0.3.0")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--break-system-packages", str(wheel)], check=True, capture_output=True, stdin=subprocess.DEVNULL)
    shutil.rmtree(next((tmp_path / "system").glob("lib/python*/site-packages")) / "rtwheelsys")
    monkeypatch.chdir(tmp_path)
    report = check("rtwheelsys", python=str(python), cwd=str(tmp_path))
    assert report.interpreter.environment_kind == "system-externally-managed", report.interpreter
    top = report.findings[0]
    assert top.cause == "broken-install", top
    assert not any(f.runnable and f.kind in ("pip", "uv") for finding in report.findings for f in finding.fixes)
    assert "externally managed" in top.fixes[0].title and "--break-system-packages" not in top.fixes[0].cell.replace(
        "no --break-system-packages", ""), top.fixes[0]


def test_a_local_build_from_a_find_links_folder_is_not_reinstalled_from_the_index(tmp_path, monkeypatch):
    """'0.3.0+mybuild' installed with --find-links (pip records no direct_url.json then): PyPI never holds a
    local version, and no table names its index, so the reinstall by name is not offered as a command."""
    wheel = write_wheel(tmp_path / "wheelhouse", "rtlocalbuild", "0.3.0+mybuild")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index",
                    "--find-links", str(wheel.parent), "rtlocalbuild"], check=True, capture_output=True,
                   stdin=subprocess.DEVNULL)
    site = next(venv.glob("lib/python*/site-packages"))
    assert not list(site.glob("rtlocalbuild-*.dist-info/direct_url.json"))
    shutil.rmtree(site / "rtlocalbuild")
    monkeypatch.chdir(tmp_path)
    report = check("rtlocalbuild", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "broken-install", top
    assert not any(f.runnable for finding in report.findings for f in finding.fixes), [f.title for f in top.fixes]
    assert "local build" in top.fixes[0].title and "+mybuild" in top.fixes[0].cell, top.fixes[0]


def test_another_release_of_a_package_from_a_local_wheel_is_planned_from_the_index(tmp_path):
    """Only a reinstall of that build must come from the file: an upgrade to another release is the index's
    (the plan stays consistent, a command); the reinstall of the same build names the file."""
    from dllmagic.diagnosis import Context
    from dllmagic.facts.system import System
    from dllmagic.planner import Intent, plan

    wheel = write_wheel(tmp_path / "builds", "rtwheelup", "0.3.0")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(wheel)],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    report = check("rtwheelup", python=str(python), cwd=str(tmp_path))
    site = next(venv.glob("lib/python*/site-packages"))
    ctx = Context(target="rtwheelup", failure=None, system=System.current(), interpreter=report.interpreter,
                  sys_path=(str(site),))
    upgrade = plan(ctx, Intent(("rtwheelup>=0.4",), "Upgrade", upgrade=True))
    assert upgrade.ok and upgrade.requirements == ["rtwheelup>=0.4,<1"], (upgrade.status, upgrade.reasons)
    same = plan(ctx, Intent(("rtwheelup==0.3.0",), "Reinstall", reinstall=True))
    assert not same.ok and same.archive is not None and same.archive.path == str(wheel) and same.archive.same
