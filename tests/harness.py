"""Test helpers shared by every folder of the suite (import as ``from harness import ...``).

Real parts only: ``create_venv`` builds a real virtual environment (uv when present, else
``python -m venv``), ``Kernel`` drives a real Jupyter kernel, ``run_cli`` runs ``python -m dllmagic``.
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

REPO = Path(__file__).resolve().parents[1]
PIP_CACHE = Path(os.environ.get("DLLMAGIC_TEST_CACHE", Path.home() / ".cache" / "dllmagic-tests"))


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
        uv = find_uv()
        if uv:
            cmd = [uv, "pip", "install", "--quiet", "--python", str(self.python), *requirements]
            env = dict(os.environ, UV_CACHE_DIR=str(PIP_CACHE / "uv"))
        else:
            # A venv made without pip (no uv here) is filled by this interpreter's pip (pip >= 22.3 --python).
            has_pip = subprocess.run([str(self.python), "-c", "import pip"], capture_output=True).returncode == 0
            pip = [str(self.python), "-m", "pip"] if has_pip else [sys.executable, "-m", "pip", "--python",
                                                                   str(self.python)]
            cmd = [*pip, "install", "--quiet", "--cache-dir", str(PIP_CACHE / "pip"), *requirements]
            env = dict(os.environ)
        subprocess.run(cmd, check=True, env=env, stdin=subprocess.DEVNULL)

    def run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.python), *args], capture_output=True, text=True, **kwargs)


def find_uv() -> Optional[str]:
    """uv on PATH, or beside the interpreter running the tests (a venv used without activating it)."""
    return shutil.which("uv") or shutil.which("uv", path=os.path.dirname(sys.executable))


def create_venv(path: Path, *, with_pip: bool = False, system_site: bool = False) -> Venv:
    uv = find_uv()
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
        """The cell's displayed bundles, with a report's own update applied as a front end applies it: a
        kernel's first report is shown as text and HTML, then updated (display id ``dllmagic-report-...``)
        with its widget and JSON. The crash report's update, made beside the kernel in its own time, is
        left to :meth:`Kernel.updated_report`."""
        out: List[dict] = []
        by_id: Dict[str, List[int]] = {}
        for o in self.outputs:
            kind, content = o["msg_type"], o["content"]
            display_id = (content.get("transient") or {}).get("display_id")
            if kind in ("display_data", "execute_result"):
                out.append(content["data"])
                if display_id:
                    by_id.setdefault(display_id, []).append(len(out) - 1)
            elif kind == "update_display_data" and (display_id or "").startswith("dllmagic-report-"):
                for i in by_id.get(display_id, ()):
                    out[i] = content["data"]
        return out

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
            if kind in ("stream", "display_data", "execute_result", "error", "update_display_data"):
                result.outputs.append({"msg_type": kind, "content": msg["content"]})
        while True:
            reply = self.client.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        result.status = reply["content"]["status"]
        result.reply = reply["content"]
        return result

    def updated_report(self, result: CellResult, timeout: float = 120.0) -> dict:
        """The one dllmagic report a cell displayed with a display id, as its update_display_data left it:
        from the cell's own outputs when it came before the cell went idle, else from the next messages."""
        (display,) = [o["content"] for o in result.outputs if o["msg_type"] == "display_data"
                      and "application/vnd.dllmagic.report+json" in o["content"]["data"]]
        display_id = display.get("transient", {}).get("display_id")
        assert display_id, "the report was displayed without a display id"

        def report_of(content):
            if content.get("transient", {}).get("display_id") == display_id:
                return content["data"].get("application/vnd.dllmagic.report+json")
            return None

        for out in result.outputs:
            if out["msg_type"] == "update_display_data" and report_of(out["content"]):
                return report_of(out["content"])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                continue
            if msg["msg_type"] == "update_display_data" and report_of(msg["content"]):
                return report_of(msg["content"])
        raise TimeoutError(f"no update of display {display_id}")

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


def start_kernels(data_dir: Path):
    """A generator for fixtures: yields ``start(name, python, cwd, env=None) -> Kernel`` and shuts every
    kernel it started down afterwards. The kernel runs in strict mode, without the tests' PYTHONPATH."""
    from jupyter_client.manager import KernelManager

    started: List[Kernel] = []

    def start(name: str, python: str, cwd: Path, env: Optional[Dict[str, str]] = None) -> Kernel:
        write_kernelspec(data_dir, name, str(python))
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
