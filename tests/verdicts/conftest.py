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
    from harness import start_kernels

    starter = start_kernels(jupyter_dirs["data"])
    start_in = next(starter)
    count = iter(range(1000))
    yield lambda python, cwd, env=None: start_in(f"verdicts-{next(count)}", str(python), cwd, env)
    next(starter, None)
