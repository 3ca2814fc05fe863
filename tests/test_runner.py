"""The safe Run (dllmagic._runner): what it refuses, and a real subprocess that streams, verifies and cancels.

The command that runs is the real ``python -m pip install NAME`` argv a fix carries; ``pip`` resolves to a
stand-in package put first on PYTHONPATH (``fake_pip``), so no test touches the network or the environment,
and its behaviour (succeed, fail, hang with a grandchild) is chosen by an environment variable.
"""
from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dllmagic import _runner
from dllmagic.model import Failure, Finding, Fix, Interpreter, Report

FAKE_PIP = textwrap.dedent("""
    import os, subprocess, sys, time
    mode = os.environ.get("FAKE_PIP_MODE", "ok")
    print("Collecting", *sys.argv[2:], flush=True)
    if mode == "hang":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with open(os.environ["FAKE_PIP_PIDS"], "w") as f:
            f.write(f"{os.getpid()} {child.pid}")
        for i in range(600):
            print("downloading", i, flush=True)
            time.sleep(0.1)
    if mode == "fail":
        print("ERROR: No matching distribution found", flush=True)
        sys.exit(1)
    print("\x1b[33mWARNING: a coloured line\x1b[0m", flush=True)
    print("Successfully installed", *sys.argv[2:], flush=True)
""")


@pytest.fixture
def fake_pip(tmp_path, monkeypatch):
    """A ``pip`` package first on PYTHONPATH, and an importable module ``dm_fixed_mod`` for verification."""
    root = tmp_path / "fakepip"
    (root / "pip").mkdir(parents=True)
    (root / "pip" / "__init__.py").write_text("")
    (root / "pip" / "__main__.py").write_text(FAKE_PIP)
    (root / "dm_fixed_mod.py").write_text("VALUE = 1\n")
    monkeypatch.setenv("PYTHONPATH", str(root))
    monkeypatch.setenv("FAKE_PIP_PIDS", str(tmp_path / "pids"))
    return root


def make_report(*fixes: Fix, module: str = "dm_fixed_mod", kind: str = "venv",
                executable: str = sys.executable) -> Report:
    interp = Interpreter(executable=executable, real_executable=executable, version="3.11.7",
                         implementation="CPython", architecture="x86_64", bits=64, platform="linux",
                         prefix=sys.prefix, base_prefix=sys.base_prefix, environment_kind=kind)
    finding = Finding(kind="module-not-found", cause="not-installed", summary=f"No module named '{module}'.",
                      confidence=0.9, fixes=tuple(fixes))
    return Report(target=module, ok=False, interpreter=interp, findings=(finding,),
                  failure=Failure(kind="module-not-found", exc_type="ModuleNotFoundError",
                                  message=f"No module named '{module}'", module=module))


def pip_fix(*args: str, runnable: bool = True, fid: str = "pip-1", python: str = sys.executable) -> Fix:
    argv = (python, "-m", "pip", "install", *(args or ("dm-fixed-mod",)))
    return Fix(id=fid, kind="pip", title="Install", cell="%pip install " + " ".join(argv[4:]), argv=argv,
               restart=True, runnable=runnable)


def start(report, fix_id, **kwargs):
    """Start a run the way the view does: the kernel issues a confirmation, then the run uses it."""
    try:
        nonce = _runner.request_confirmation(report, fix_id)
    except _runner.RunRefused:
        nonce = None
    return _runner.start(report, fix_id, confirmation=nonce, **kwargs)


@pytest.fixture(autouse=True)
def no_leftover_run():
    yield
    run = _runner.current()
    if run is not None:
        run.cancel()
        run.wait(10)


# -- refusals ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fix, words", [
    (pip_fix(runnable=False), "not offered as a one-click run"),
    (pip_fix("--index-url", "https://evil.example/simple", "numpy"), "never run from a button"),
    (pip_fix("--break-system-packages", "numpy"), "never run from a button"),
    (pip_fix("--no-cache-dir", "numpy"), "option --no-cache-dir is not run"),
    (pip_fix("numpy; rm -rf /"), "not a plain requirement"),
    (pip_fix("https://evil.example/x.whl"), "not a plain requirement"),
    (pip_fix("--upgrade"), "installs nothing"),
    (pip_fix(python="/usr/bin/some-other-python3"), "not use this kernel's interpreter"),
    (Fix(id="pip-1", kind="pip", title="x", cell="", argv=(sys.executable, "-m", "pip", "uninstall", "-y",
                                                           "numpy"), runnable=True), "uninstall"),
    (Fix(id="pip-1", kind="pip", title="x", cell="", argv=("sudo", sys.executable, "-m", "pip", "install",
                                                           "numpy"), runnable=True), "sudo"),
    (Fix(id="pip-1", kind="pip", title="x", cell="", argv=(sys.executable, "-c", "import os"),
         runnable=True), "-c"),
    (Fix(id="pip-1", kind="pip", title="x", cell="", argv=(sys.executable, "-m", "http.server", "install",
                                                           "x"), runnable=True), "Only 'python -m pip"),
    (Fix(id="pip-1", kind="instruction", title="x", cell="# read this", argv=None, runnable=True),
     "not offered"),
])
def test_refusals(fix, words):
    reason = _runner.refusal(make_report(fix), "pip-1")
    assert reason is not None and words in reason, reason
    with pytest.raises(_runner.RunRefused):
        start(make_report(fix), "pip-1")


def test_archive_and_path_names_are_refused_whatever_made_the_fix():
    # fixes.py never makes such a command; the runner refuses it all the same (pip would build ./setup.zip).
    for name in ("setup.zip", "pkg-1.0-py3-none-any.whl", "x.tar.gz"):
        reason = _runner.refusal(make_report(pip_fix(name)), "pip-1")
        assert reason and "not run from a button" in reason, (name, reason)


def test_unknown_fix_id_is_refused():
    assert "no fix with that id" in _runner.refusal(make_report(pip_fix()), "pip-2")
    assert "no fix with that id" in _runner.refusal(make_report(pip_fix()), {"argv": ["sh"]})


def test_plain_validated_install_is_allowed():
    assert _runner.refusal(make_report(pip_fix("numpy==1.26.4", "--upgrade")), "pip-1") is None


def test_report_about_another_interpreter_is_refused():
    report = make_report(pip_fix(), executable="/opt/other/bin/python")
    assert "another interpreter" in _runner.refusal(report, "pip-1")


def test_pep668_environment_is_refused(tmp_path):
    stdlib = tmp_path / "lib" / "python3.11"
    stdlib.mkdir(parents=True)
    (stdlib / "EXTERNALLY-MANAGED").write_text("[externally-managed]\nError=use apt\n")
    reason = _runner.refusal(make_report(pip_fix()), "pip-1", prefix=str(tmp_path), base_prefix=str(tmp_path),
                             stdlib=str(stdlib))
    assert "PEP 668" in reason
    # The same interpreter seen from inside a venv is fine: a venv is never externally managed.
    venv = tmp_path / "venv"
    venv.mkdir()
    assert not _runner.is_externally_managed(str(venv), str(tmp_path), str(stdlib))
    assert "PEP 668" in _runner.refusal(make_report(pip_fix(), kind="system-externally-managed"), "pip-1")


def test_conda_base_is_refused_but_a_named_env_is_not(tmp_path):
    base = tmp_path / "miniconda3"
    (base / "conda-meta").mkdir(parents=True)
    (base / "condabin").mkdir()
    named = base / "envs" / "work"
    (named / "conda-meta").mkdir(parents=True)
    assert _runner.is_conda_base(str(base))
    assert not _runner.is_conda_base(str(named))
    assert not _runner.is_conda_base(str(tmp_path))
    assert "conda base" in _runner.refusal(make_report(pip_fix()), "pip-1", prefix=str(base),
                                           base_prefix=str(base), stdlib=str(tmp_path))
    assert _runner.refusal(make_report(pip_fix()), "pip-1", prefix=str(named), base_prefix=str(base),
                           stdlib=str(tmp_path)) is None


# -- running -----------------------------------------------------------------------------------------------
def test_run_streams_output_and_verifies_the_import(fake_pip):
    lines, states = [], []
    run = start(make_report(pip_fix()), "pip-1", on_output=lines.append,
                        on_state=lambda r: states.append(r.state))
    assert run.wait(60)
    assert run.state == "succeeded", run.lines
    assert run.returncode == 0
    assert lines[0].startswith("Collecting dm-fixed-mod")
    assert lines[-1] == "Successfully installed dm-fixed-mod"
    assert "WARNING: a coloured line" in lines          # terminal colour codes stripped
    assert states == ["running", "verifying", "succeeded"]
    assert run.verification.ok and run.verification.detail.endswith("dm_fixed_mod.py")
    assert _runner.current() is None


def test_failed_run_is_not_verified(fake_pip, monkeypatch):
    monkeypatch.setenv("FAKE_PIP_MODE", "fail")
    run = start(make_report(pip_fix()), "pip-1")
    assert run.wait(60)
    assert run.state == "failed" and run.returncode == 1 and run.verification is None
    assert "No matching distribution" in run.lines[-1]


def test_verification_failure_is_reported(fake_pip):
    run = start(make_report(pip_fix(), module="dm_still_missing"), "pip-1")
    assert run.wait(60)
    assert run.state == "succeeded"
    assert not run.verification.ok
    assert "No module named 'dm_still_missing'" in run.verification.detail


def test_verification_imports_what_the_user_imported_not_the_innermost_submodule(fake_pip):
    # 'import dm_still_missing' failed in dm_still_missing._libs.interval: the run verifies the package the
    # user imported (here missing, so the verification must fail although the fix installed something).
    run = start(make_report(pip_fix(), module="dm_still_missing._libs.interval"), "pip-1")
    assert run.wait(60)
    assert run.module == "dm_still_missing"
    assert not run.verification.ok
    assert "No module named 'dm_still_missing'" in run.verification.detail


def test_verify_import_refuses_odd_names():
    assert not _runner.verify_import("os; import this").ok
    assert _runner.verify_import("json").ok


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(os.name == "nt", reason="process groups are POSIX here; Windows uses taskkill /T")
def test_one_run_at_a_time_and_cancel_kills_the_whole_group(fake_pip, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_PIP_MODE", "hang")
    run = start(make_report(pip_fix()), "pip-1")
    deadline = time.monotonic() + 30
    pids_file = tmp_path / "pids"
    while not (pids_file.exists() and pids_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    leader, grandchild = map(int, pids_file.read_text().split())
    assert _alive(grandchild)
    with pytest.raises(_runner.RunRefused, match="Another fix is running"):
        start(make_report(pip_fix()), "pip-1")
    t0 = time.monotonic()
    run.cancel()
    assert run.wait(15)
    assert run.state == "cancelled"
    assert run.returncode == -signal.SIGTERM
    assert time.monotonic() - t0 < 10
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild), "the grandchild outlived the cancel"
    assert not _alive(leader)
    assert any(line.startswith("downloading") for line in run.lines)
    # The slot is free again.
    monkeypatch.setenv("FAKE_PIP_MODE", "ok")
    again = start(make_report(pip_fix()), "pip-1")
    assert again.wait(60) and again.state == "succeeded"


def test_the_argv_is_the_reports_not_the_callers(fake_pip):
    # start() takes only an id: the command comes from the report the kernel made.
    report = make_report(pip_fix("dm-fixed-mod", fid="pip-abc"))
    run = start(report, "pip-abc")
    assert run.wait(60)
    assert run.argv == list(report.fix_by_id("pip-abc").argv)


def test_a_run_that_breaks_what_another_package_declares_is_reported_not_hidden(tmp_path, monkeypatch):
    """After a real Run the import works, but 'pip check' finds a requirement the run left unmet: the
    verification says so and is not ok (a real venv, a real pip, a real wheel)."""
    import importlib.util

    from harness import create_venv

    spec = importlib.util.spec_from_file_location("ui_wheels", Path(__file__).parent / "ui" / "wheels.py")
    wheels = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(wheels)
    found = tmp_path / "wheels"
    found.mkdir()
    wheels.make_wheel(found, "dm-needy", "1.0", "dm_needy", requires=("dm-absent-dep>=1",))
    venv = create_venv(tmp_path / "venv", with_pip=True)
    python = str(venv.python)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(found))
    report = make_report(pip_fix("--no-deps", "dm-needy", python=python), module="dm_needy", executable=python)
    run = start(report, "pip-1", python=python)
    assert run.wait(300)
    assert run.state == "succeeded", run.lines
    assert not run.verification.ok
    assert "pip check" in run.verification.detail and "dm-absent-dep" in run.verification.detail
    assert any("dm-absent-dep" in c for c in run.verification.new_conflicts)
