"""Real venvs with real tabulate for the verdict tests (pip --python from the test interpreter)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # harness.py
sys.path.insert(0, str(HERE))  # verdictkit.py

from verdictkit import kernel_python_with, venv_with  # noqa: E402,F401


@pytest.fixture(scope="session")
def tabulate_python(tmp_path_factory) -> Path:
    return venv_with(tmp_path_factory.mktemp("tabenv") / "venv", "tabulate==0.9.0")


@pytest.fixture
def kernel_with(jupyter_dirs, tmp_path):
    """kernel_with(python, cwd, env=None) -> a started harness.Kernel running ``python``; shut down after."""
    import os

    from jupyter_client.manager import KernelManager

    from harness import Kernel, write_kernelspec

    started = []

    def start(python: Path, cwd: Path, env=None):
        name = f"verdicts-{len(started)}"
        write_kernelspec(jupyter_dirs["data"], name, str(python))
        manager = KernelManager(kernel_name=name)
        full = dict(os.environ, DLLMAGIC_STRICT="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
        full.pop("PYTHONPATH", None)
        full.update(env or {})
        manager.start_kernel(cwd=str(cwd), env=full)
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=90)
        kernel = Kernel(manager, client)
        started.append(kernel)
        return kernel

    yield start
    for kernel in started:
        try:
            kernel.client.stop_channels()
            kernel.manager.shutdown_kernel(now=True)
        except Exception:
            pass
