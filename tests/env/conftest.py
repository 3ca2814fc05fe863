"""Fixtures of the environment tests; the builders live in envkit.py (importable by the bench too)."""
from __future__ import annotations

import os

import pytest

from envkit import Machine, build_machine

os.environ["DLLMAGIC_STRICT"] = "1"


@pytest.fixture(scope="session")
def machine(tmp_path_factory) -> Machine:
    """Real venvs (plain, uv), a conda-shaped prefix and another Python's user site, built once."""
    if os.name == "nt":  # pragma: no cover - the environments here are POSIX-shaped; Windows is modelled
        pytest.skip("POSIX venv layout")
    return build_machine(tmp_path_factory.mktemp("machine"))
