"""Real venvs with real tabulate for the verdict tests (pip --python from the test interpreter)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # harness.py


def venv_with(root: Path, *requirements: str) -> Path:
    """A fresh ``python -m venv --without-pip`` with ``requirements`` installed into it; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    if requirements:
        subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                        *requirements], check=True, stdin=subprocess.DEVNULL, capture_output=True)
    return python


@pytest.fixture(scope="session")
def tabulate_python(tmp_path_factory) -> Path:
    return venv_with(tmp_path_factory.mktemp("tabenv") / "venv", "tabulate==0.9.0")
