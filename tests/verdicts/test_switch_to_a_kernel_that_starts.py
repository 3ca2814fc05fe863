"""A module missing here and installed in two other environments, each with a kernelspec of the same display
name: one whose Python is alive, one whose Python was deleted (its kernel.json and site-packages left behind).
The "switch kernel" fix names only the kernelspec that starts and imports the module (proved by starting it);
the dead environment gets no switch, no register-kernel cell with its missing interpreter, and no "use its
kernel" advice."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "diagnosis"))
from diagkit import write_wheel  # noqa: E402

from dllmagic.api import check  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")

MODULE = "rtswitchpkg"


def _kernelspec(data: Path, name: str, python: Path, display: str) -> None:
    folder = data / "kernels" / name
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display, "language": "python"}))


def _dead_env_with_module(root: Path, wheel: Path) -> Path:
    from verdictkit import venv_with

    python = venv_with(root, str(wheel))
    for exe in (root / "bin").glob("python*"):
        exe.unlink()
    assert next(root.glob(f"lib/python*/site-packages/{MODULE}")).is_dir()
    return python


def _fix_texts(report) -> str:
    return "\n".join(f"{f.summary}\n" + "\n".join(x.title + "\n" + (x.cell or "") for x in f.fixes)
                     for f in report.findings)


def test_switch_names_the_kernelspec_that_starts_never_the_dead_one(tmp_path, jupyter_dirs):
    from jupyter_client.manager import KernelManager
    from verdictkit import kernel_python_with, venv_with

    wheel = write_wheel(tmp_path / "wheels", MODULE, "1.0")
    live = kernel_python_with(tmp_path / "live", str(wheel))
    dead = _dead_env_with_module(tmp_path / "dead", wheel)
    _kernelspec(jupyter_dirs["data"], "rtlive", live, "Python (shared)")
    _kernelspec(jupyter_dirs["data"], "rtdead", dead, "Python (shared)")
    here = venv_with(tmp_path / "here")

    report = check(MODULE, python=str(here), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "installed-in-other-environment", top.summary
    switches = {fix.kernel for f in report.findings for fix in f.fixes if fix.kind == "kernel-switch"}
    assert switches == {"rtlive"}, _fix_texts(report)
    assert str(dead) not in _fix_texts(report)

    # The named kernelspec really starts and imports the module.
    manager = KernelManager(kernel_name="rtlive")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    manager.start_kernel(cwd=str(tmp_path), env=env)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=90)
        reply = client.execute_interactive(f"import {MODULE}", timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_an_environment_whose_python_is_gone_gets_no_kernel_fix(tmp_path, jupyter_dirs):
    from verdictkit import venv_with

    wheel = write_wheel(tmp_path / "wheels", MODULE, "1.0")
    dead = _dead_env_with_module(tmp_path / "dead", wheel)
    _kernelspec(jupyter_dirs["data"], "rtdead", dead, "Python (dead)")
    here = venv_with(tmp_path / "here")

    report = check(MODULE, python=str(here), cwd=str(tmp_path))
    kinds = [fix.kind for f in report.findings for fix in f.fixes]
    assert "kernel-switch" not in kinds and "register-kernel" not in kinds, _fix_texts(report)
    assert str(dead) not in _fix_texts(report)
    assert "dead's kernel" not in _fix_texts(report)


def test_a_kernelspec_whose_venv_has_no_ipykernel_is_not_switched_to(tmp_path, jupyter_dirs):
    import time

    from jupyter_client.manager import KernelManager
    from verdictkit import venv_with

    wheel = write_wheel(tmp_path / "wheels", MODULE, "1.0")
    bare = venv_with(tmp_path / "bare", str(wheel))      # the module, and no ipykernel anywhere it can see
    _kernelspec(jupyter_dirs["data"], "rtbare", bare, "Python (bare)")
    here = venv_with(tmp_path / "here")

    report = check(MODULE, python=str(here), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "installed-in-other-environment", top.summary
    assert not [fix for f in report.findings for fix in f.fixes if fix.kind == "kernel-switch"], _fix_texts(report)
    (register,) = [fix for fix in top.fixes if fix.kind == "register-kernel"]
    assert str(bare) in register.cell and "ipykernel" in register.cell

    # Proof that the switch would have failed: that kernelspec's kernel dies at start.
    manager = KernelManager(kernel_name="rtbare")
    manager.start_kernel(cwd=str(tmp_path))
    try:
        deadline = time.monotonic() + 60
        while manager.is_alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not manager.is_alive()
    finally:
        manager.shutdown_kernel(now=True)
