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


@pytest.fixture
def b_runs_kernels(machine):
    """env-b as a kernelspec's environment has it: with ipykernel (its metadata; a kernelspec that runs an
    environment certainly without ipykernel is never a switch target), removed after the test."""
    import shutil

    from envkit import site_of

    dist = site_of(machine.b) / "ipykernel-6.29.5.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ipykernel\nVersion: 6.29.5\n")
    yield machine
    shutil.rmtree(dist)
