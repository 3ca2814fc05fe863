"""Fixtures for the native engine's tests (the oracles live in native_oracles.py).

- ``rules``: every folder under fixtures/ built by its build.sh into a session tmp folder (gcc).
- ``driver``: a stand-in for python that dlopen()s its arguments (fixtures/driver.c).
- ``ldd`` / ``ld_debug`` parsers: the real loader's verdict, to compare with the emulation.
- ``wheel_env``: a venv with real numpy and Pillow wheels (pip; the pip cache is used when present).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"

from native_oracles import CLEAN_ENV


def rule_names() -> List[str]:
    return sorted(p.name for p in FIXTURES.iterdir() if (p / "build.sh").is_file())


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build the loader fixtures (apt: gcc, libc6-dev, gcc-multilib)")
    out = tmp_path_factory.mktemp("native-rules")
    env = dict(CLEAN_ENV, DRIVER_SRC=str(FIXTURES / "driver.c"))

    def build(name: str) -> Tuple[str, int, str]:
        proc = subprocess.run(["sh", str(FIXTURES / name / "build.sh"), str(out / name)],
                              env=env, capture_output=True, text=True)
        return name, proc.returncode, proc.stdout + proc.stderr

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(build, rule_names()))
    failed = [f"{n}: {log}" for n, rc, log in results if rc]
    assert not failed, "fixture builds failed:\n" + "\n".join(failed)
    subprocess.run(["gcc", "-o", str(out / "driver"), str(FIXTURES / "driver.c"), "-ldl"], check=True)
    return out


@pytest.fixture(scope="session")
def driver(built) -> Path:
    return built / "driver"


# -- a real environment -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def wheel_env(tmp_path_factory) -> Dict[str, Path]:
    """A venv holding real numpy and Pillow wheels."""
    root = tmp_path_factory.mktemp("wheel-env")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.check_output(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--only-binary=:all:", "--target", str(site), "numpy", "Pillow"],
        capture_output=True, text=True)
    if proc.returncode:
        pytest.fail("could not install numpy and Pillow wheels: " + proc.stderr[-2000:])
    return {"python": py, "site": site, "root": root}
