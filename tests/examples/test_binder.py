"""binder/: repo2docker cannot run here, so this runs binder/postBuild itself, as repo2docker would after
installing binder/requirements.txt: in a fresh virtual environment, with HOME and JUPYTER_DATA_DIR pointed at a
temporary folder. Then every example's kernel must be registered there, run an interpreter that exists, and
start (jupyter_client) with dllmagic importable.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from examplekit import NAMES, REPO, TIMINGS

pytestmark = [pytest.mark.slow, pytest.mark.kernel]
CACHE = Path(os.environ.get("DLLMAGIC_TEST_CACHE", Path.home() / ".cache" / "dllmagic-tests"))


def test_binder_files_are_complete():
    binder = REPO / "binder"
    assert os.access(binder / "postBuild", os.X_OK)
    reqs = (binder / "requirements.txt").read_text()
    for name in ("ipykernel", "ipywidgets", "uv", "jupyterlab"):
        assert name in reqs
    apt = [line for line in (binder / "apt.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert "build-essential" in apt and "gcc-mingw-w64-x86-64" in apt
    built = sorted(p.parent.name for p in (REPO / "examples").glob("*/build.py"))
    assert built == sorted(NAMES), "every example has a build.py, and the CI knows every example"


def test_postbuild_registers_kernels_that_start(tmp_path):
    home = tmp_path / "home"
    data = home / ".local" / "share" / "jupyter"
    home.mkdir()
    venv = tmp_path / "binder-env"
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = dict(os.environ, HOME=str(home), JUPYTER_DATA_DIR=str(data), JUPYTER_PATH=str(data),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), IPYTHONDIR=str(tmp_path / "ipython"),
               PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}", VIRTUAL_ENV=str(venv),
               DLLMAGIC_TEST_CACHE=str(CACHE), UV_CACHE_DIR=str(CACHE / "uv"), PIP_CACHE_DIR=str(CACHE / "pip"))
    env.pop("PYTHONPATH", None)
    env.pop("JUPYTER_CONFIG_DIR", None)
    uv = shutil.which("uv")
    install = ([uv, "pip", "install", "--quiet", "--python", str(python)] if uv else
               [str(python), "-m", "pip", "install", "--quiet"])
    subprocess.run([*install, "-r", str(REPO / "binder" / "requirements.txt")], check=True, env=env)
    proc = subprocess.run(["bash", str(REPO / "binder" / "postBuild")], env=env, capture_output=True, text=True,
                          timeout=1500)
    TIMINGS.setdefault("binder postBuild", {})["build"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-6000:]
    for name in NAMES:
        assert f"{name} " in proc.stdout and "FAILED" not in proc.stdout, proc.stdout

    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    ksm = KernelSpecManager(kernel_dirs=[str(data / "kernels")])
    specs = ksm.find_kernel_specs()
    expected = {f"dllmagic-{name}" for name in NAMES}
    assert expected <= set(specs), sorted(specs)
    for name in sorted(expected):
        spec = json.loads((Path(specs[name]) / "kernel.json").read_text())
        assert Path(spec["argv"][0]).is_file(), spec
        assert Path(spec["argv"][0]).resolve().is_relative_to(home.resolve()) or \
            str(home) in spec["argv"][0], spec
    start = time.monotonic()
    for name in sorted(expected):
        km = KernelManager(kernel_name=name, kernel_spec_manager=ksm)
        km.start_kernel(cwd=str(REPO / "examples" / name[len("dllmagic-"):]), env=env)
        client = km.client()
        try:
            client.start_channels()
            client.wait_for_ready(timeout=120)
            reply = client.execute_interactive("import dllmagic, sys; print(dllmagic.__version__, sys.executable)",
                                               timeout=120, output_hook=lambda msg: None)
            assert reply["content"]["status"] == "ok", (name, reply["content"])
        finally:
            client.stop_channels()
            km.shutdown_kernel(now=True)
    TIMINGS.setdefault("binder postBuild", {})["notebook"] = round(time.monotonic() - start, 1)
