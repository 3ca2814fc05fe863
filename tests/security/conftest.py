"""Fixtures of the security tests; the helpers live in seckit.py."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["DLLMAGIC_STRICT"] = "1"


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    """HOME, Jupyter's folders and PATH of this test only (the CLI, check() and child kernels read them)."""
    home = tmp_path / "home"
    data = tmp_path / "jupyter-data"
    home.mkdir()
    (data / "kernels").mkdir(parents=True)
    env = {"HOME": str(home), "JUPYTER_DATA_DIR": str(data), "JUPYTER_PATH": str(data),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"])}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH", "JPY_SESSION_NAME"):
        monkeypatch.delenv(key, raising=False)
    return {"home": home, "data": data, "environ": env}
