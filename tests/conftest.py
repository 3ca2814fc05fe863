"""The shared test harness: real venvs, real kernels, the report schema.

Later issues reuse these fixtures: ``make_venv`` builds a real virtual environment (uv when present,
else ``python -m venv``), ``kernel`` starts a real Jupyter kernel from a kernelspec written into a
temporary JUPYTER_PATH, and ``validate_report`` checks JSON output against the shipped schema.
Internal errors are loud here: DLLMAGIC_STRICT=1 makes them raise instead of becoming notes.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ["DLLMAGIC_STRICT"] = "1"
os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
PIP_CACHE = Path(os.environ.get("DLLMAGIC_TEST_CACHE", Path.home() / ".cache" / "dllmagic-tests"))


# -- schema ------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def validate_report():
    import jsonschema

    from dllmagic.report.jsonview import schema

    validator = jsonschema.Draft202012Validator(schema())

    def check(data):
        if isinstance(data, str):
            data = json.loads(data)
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
        return data

    return check


# -- environments ------------------------------------------------------------------------------------
@dataclass
class Venv:
    path: Path

    @property
    def python(self) -> Path:
        return self.path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    @property
    def site_packages(self) -> Path:
        return next(self.path.glob("lib/python*/site-packages"))

    def install(self, *requirements: str) -> None:
        uv = shutil.which("uv")
        if uv:
            cmd = [uv, "pip", "install", "--quiet", "--python", str(self.python), *requirements]
            env = dict(os.environ, UV_CACHE_DIR=str(PIP_CACHE / "uv"))
        else:
            cmd = [str(self.python), "-m", "pip", "install", "--quiet", "--cache-dir", str(PIP_CACHE / "pip"),
                   *requirements]
            env = dict(os.environ)
        subprocess.run(cmd, check=True, env=env, stdin=subprocess.DEVNULL)

    def run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.python), *args], capture_output=True, text=True, **kwargs)


def _create_venv(path: Path, *, with_pip: bool = False, system_site: bool = False) -> Venv:
    uv = shutil.which("uv")
    if uv and not with_pip:
        cmd = [uv, "venv", "--quiet", "--python", sys.executable, str(path)]
        if system_site:
            cmd.append("--system-site-packages")
    else:
        cmd = [sys.executable, "-m", "venv", str(path)] + (["--system-site-packages"] if system_site else [])
        if not with_pip:
            cmd.append("--without-pip")
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, env=dict(os.environ, UV_CACHE_DIR=str(PIP_CACHE / "uv")))
    return Venv(path)


@pytest.fixture
def make_venv(tmp_path_factory):
    """make_venv(name, *requirements, with_pip=False) -> Venv: a real, fresh virtual environment."""

    def make(name: str = "venv", *requirements: str, with_pip: bool = False, system_site: bool = False) -> Venv:
        venv = _create_venv(tmp_path_factory.mktemp(name) / name, with_pip=with_pip, system_site=system_site)
        if requirements:
            venv.install(*requirements)
        return venv

    return make


@pytest.fixture(scope="session")
def kernel_venv(tmp_path_factory) -> Venv:
    """A venv with ipykernel and this checkout of dllmagic (editable): the interpreter of test kernels."""
    venv = _create_venv(tmp_path_factory.mktemp("kernelenv") / "kernelenv")
    venv.install("ipykernel", "ipywidgets", "-e", str(REPO))
    return venv


# -- kernels -----------------------------------------------------------------------------------------
@dataclass
class CellResult:
    outputs: List[dict] = field(default_factory=list)
    status: str = "ok"
    reply: dict = field(default_factory=dict)

    @property
    def error(self) -> Optional[dict]:
        return next((o for o in self.outputs if o["msg_type"] == "error"), None)

    @property
    def displays(self) -> List[dict]:
        return [o["content"]["data"] for o in self.outputs if o["msg_type"] in ("display_data", "execute_result")]

    @property
    def stdout(self) -> str:
        return "".join(o["content"]["text"] for o in self.outputs
                       if o["msg_type"] == "stream" and o["content"]["name"] == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(o["content"]["text"] for o in self.outputs
                       if o["msg_type"] == "stream" and o["content"]["name"] == "stderr")

    def reports(self) -> List[dict]:
        return [d["application/vnd.dllmagic.report+json"] for d in self.displays
                if "application/vnd.dllmagic.report+json" in d]

    @property
    def order(self) -> List[str]:
        return [o["msg_type"] for o in self.outputs]


class Kernel:
    """A real kernel started by jupyter_client from a kernelspec written for the test."""

    def __init__(self, manager, client):
        self.manager = manager
        self.client = client

    def execute(self, code: str, timeout: float = 120.0) -> CellResult:
        msg_id = self.client.execute(code, store_history=True, allow_stdin=False)
        result = CellResult()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"kernel did not finish: {code!r}")
            try:
                msg = self.client.get_iopub_msg(timeout=remaining)
            except queue.Empty:
                if not self.manager.is_alive():
                    result.status = "dead"
                    return result
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                break
            if kind in ("stream", "display_data", "execute_result", "error"):
                result.outputs.append({"msg_type": kind, "content": msg["content"]})
        while True:
            reply = self.client.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        result.status = reply["content"]["status"]
        result.reply = reply["content"]
        return result

    def execute_until_death(self, code: str, timeout: float = 60.0) -> None:
        self.client.execute(code)
        deadline = time.monotonic() + timeout
        while self.manager.is_alive():
            if time.monotonic() > deadline:
                raise TimeoutError("kernel did not die")
            time.sleep(0.1)

    def restart(self) -> None:
        self.client.stop_channels()
        self.manager.restart_kernel(now=True)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)


def write_kernelspec(data_dir: Path, name: str, python: str, env: Optional[Dict[str, str]] = None,
                     display_name: Optional[str] = None) -> Path:
    folder = data_dir / "kernels" / name
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": display_name or name, "language": "python"}
    if env:
        spec["env"] = env
    (folder / "kernel.json").write_text(json.dumps(spec))
    return folder


@pytest.fixture
def jupyter_dirs(tmp_path, monkeypatch):
    """Isolated Jupyter data/runtime/config folders (kernelspecs the test writes, crash files ...)."""
    data = tmp_path / "jupyter-data"
    runtime = tmp_path / "jupyter-runtime"
    config = tmp_path / "jupyter-config"
    ipython = tmp_path / "ipython"
    for d in (data, runtime, config, ipython):
        d.mkdir()
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(data))
    monkeypatch.setenv("JUPYTER_PATH", str(data))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(config))
    monkeypatch.setenv("IPYTHONDIR", str(ipython))
    return {"data": data, "runtime": runtime, "config": config, "ipython": ipython}


@pytest.fixture
def start_kernel(jupyter_dirs, kernel_venv, tmp_path):
    """start_kernel(name="test", python=None, cwd=None, env=None) -> Kernel, shut down after the test."""
    from jupyter_client.manager import KernelManager

    started: List[Kernel] = []

    def start(name: str = "dllmagic-test", python: Optional[str] = None, cwd: Optional[Path] = None,
              env: Optional[Dict[str, str]] = None) -> Kernel:
        write_kernelspec(jupyter_dirs["data"], name, str(python or kernel_venv.python), env=env)
        manager = KernelManager(kernel_name=name)
        workdir = cwd or (tmp_path / "notebooks")
        workdir.mkdir(parents=True, exist_ok=True)
        extra_env = dict(os.environ, DLLMAGIC_STRICT="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
        manager.start_kernel(cwd=str(workdir), env=extra_env)
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


def run_cli(*args: str, python: Optional[str] = None, input: Optional[str] = None,
            cwd: Optional[Path] = None, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """``python -m dllmagic ARGS`` in a child process, as a user would run it."""
    # dllmagic is installed (pip install -e .) where the tests run; no PYTHONPATH of ours leaks into the
    # interpreters under test.
    full_env = dict(os.environ, DLLMAGIC_STRICT="1")
    full_env.pop("PYTHONPATH", None)
    if env:
        full_env.update(env)
    return subprocess.run([python or sys.executable, "-m", "dllmagic", *args], capture_output=True, text=True,
                          input=input, cwd=cwd, env=full_env, timeout=300)
