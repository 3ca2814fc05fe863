"""Browser tests of the interactive report: a real JupyterLab 4 / Notebook 7 server, a real kernel, Chromium.

Set-up (``tests/ui/setup.sh`` installs what is needed): Debian's /usr/bin/chromium driven by the PyPI
``playwright`` client (never a downloaded browser), JupyterLab and Notebook from PyPI, and the built
front-end extension in ``dllmagic/labextension``.

One Jupyter server serves both /lab and /notebooks. It runs on 127.0.0.1 with a random token, with its
own JUPYTER_CONFIG_DIR / DATA_DIR / RUNTIME_DIR and IPYTHONDIR, so nothing of the machine's Jupyter set-up
leaks in or is changed. The kernel runs in a fresh venv (``--system-site-packages``, so ipykernel and
dllmagic come from the test environment) into which the tests install tiny local wheels; pip is pointed
at a local wheel folder (PIP_NO_INDEX, PIP_FIND_LINKS), so nothing reaches a registry.

Without chromium or playwright the tests skip, unless CI=true or DLLMAGIC_UI_REQUIRED=1 makes that a failure.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, List

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCREENSHOTS = HERE / "screenshots"
CHROMIUM = os.environ.get("DLLMAGIC_CHROMIUM", "/usr/bin/chromium")
OTHER_KERNEL = "dllmagic-ui-other"
KERNEL_NAME = "dllmagic-ui"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]

sys.path.insert(0, str(HERE))
from wheels import make_wheel  # noqa: E402


def _missing(reason: str) -> None:
    # In CI (CI=true) a missing piece is a failure: a suite that skips its browser tests everywhere proves nothing.
    if os.environ.get("DLLMAGIC_UI_REQUIRED") == "1" or os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run: {reason} (run tests/ui/setup.sh)", pytrace=False)
    pytest.skip(f"{reason} (run tests/ui/setup.sh)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HangingIndex:
    """A package index on loopback that accepts connections and never answers (a stalled download)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: List[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    def close(self) -> None:
        self._stop.set()
        for conn in self.conns:
            conn.close()
        self.sock.close()


class Server:
    """The running Jupyter server and the folders it uses."""

    def __init__(self, root: Path, port: int, token: str, proc: subprocess.Popen, venv_python: Path,
                 wheels: Path, hang: HangingIndex) -> None:
        self.root, self.port, self.token, self.proc = root, port, token, proc
        self.venv_python, self.wheels, self.hang = venv_python, wheels, hang
        self.base = f"http://127.0.0.1:{port}"

    def notebook(self, name: str, cells: List[str]) -> str:
        """Write a notebook with these code cells, using the test kernel; return its file name."""
        nb = {
            "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": KERNEL_NAME, "display_name": "dllmagic UI test",
                                        "language": "python"}},
            "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None,
                       "outputs": [], "source": src} for i, src in enumerate(cells)],
        }
        (self.root / "notebooks" / name).write_text(json.dumps(nb))
        return name

    def lab_url(self, name: str) -> str:
        ws = "w" + secrets.token_hex(4)   # a fresh workspace: no tabs restored from an earlier test
        return f"{self.base}/lab/workspaces/{ws}/tree/{name}?reset&token={self.token}"

    def notebook7_url(self, name: str) -> str:
        return f"{self.base}/notebooks/{name}?token={self.token}"

    def broken_install(self, dist: str, module: str) -> None:
        """Install ``dist`` 1.0 into the kernel's venv, then delete its module: a half-removed install."""
        subprocess.run([str(self.venv_python), "-m", "pip", "install", "-q", "--no-index", "--find-links",
                        str(self.wheels), "--force-reinstall", f"{dist}==1.0"], check=True)
        site = subprocess.run([str(self.venv_python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                              check=True, capture_output=True, text=True).stdout.strip()
        shutil.rmtree(Path(site) / module)


def _wait_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("jupyter server did not answer in time")


def _see_test_site(venv: Path) -> None:
    """When the tests run from a venv, --system-site-packages shows the base Python's site, not the test
    environment's: a .pth file adds the test environment's site-packages (ipykernel, pip, dllmagic's deps)."""
    import site

    if sys.prefix == sys.base_prefix:
        return
    purelib = subprocess.run([str(venv / "bin" / "python"), "-c",
                              "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "_dllmagic_test_site.pth").write_text("\n".join(site.getsitepackages()) + "\n")


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Any:
    if not (REPO / "dllmagic" / "labextension" / "package.json").is_file():
        _missing("the front-end extension is not built (dllmagic/labextension)")
    try:
        import jupyterlab  # noqa: F401
        import notebook  # noqa: F401
    except ImportError:
        _missing("jupyterlab and notebook are not installed")

    root = tmp_path_factory.mktemp("jupyter")
    config, data, runtime, ipython = (root / "config", root / "data", root / "runtime", root / "ipython")
    for folder in (config, data, runtime, ipython, root / "notebooks", root / "wheels"):
        folder.mkdir()
    # The built extension, as a wheel install would place it (share/jupyter/labextensions/dllmagic).
    shutil.copytree(REPO / "dllmagic" / "labextension", data / "labextensions" / "dllmagic")
    (config / "jupyter_server_config.json").write_text(json.dumps({
        "LabApp": {"expose_app_in_browser": True},
        "JupyterNotebookApp": {"expose_app_in_browser": True},
        "ServerApp": {"disable_check_xsrf": False},
    }))
    (config / "labconfig").mkdir()
    (config / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {
        "@jupyterlab/apputils-extension:announcements": True}}))

    wheels = root / "wheels"
    make_wheel(wheels, "dmdemo-ok", "1.0", "dmdemo_ok", "VALUE = 'reinstalled'\n")
    make_wheel(wheels, "dmdemo-slow", "1.0", "dmdemo_slow")
    venv = root / "venv"
    # No pip of its own: `python -m pip` finds the test environment's pip through the system site-packages
    # and installs into the venv (sys.prefix), which also saves the ensurepip step.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True)
    venv_python = venv / "bin" / "python"
    _see_test_site(venv)
    kernel_dir = data / "kernels" / KERNEL_NAME
    kernel_dir.mkdir(parents=True)
    (kernel_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(venv_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "dllmagic UI test", "language": "python",
        "env": {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_CONFIG_FILE": os.devnull,
                "PYTHONPATH": str(REPO)},
    }))

    # A second environment with its own kernelspec: the only place dmdemo_other is installed (for the
    # kernel-switch fix).
    make_wheel(wheels, "dmdemo-other", "1.0", "dmdemo_other")
    other = root / "other-venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(other)],
                   check=True)
    _see_test_site(other)
    subprocess.run([str(other / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--find-links",
                    str(wheels), "dmdemo-other==1.0"], check=True)
    other_dir = data / "kernels" / OTHER_KERNEL
    other_dir.mkdir(parents=True)
    (other_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(other / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "dllmagic UI other env", "language": "python", "env": {"PYTHONPATH": str(REPO)}}))

    hang = HangingIndex()
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config), JUPYTER_DATA_DIR=str(data),
               JUPYTER_RUNTIME_DIR=str(runtime), IPYTHONDIR=str(ipython), JUPYTER_PLATFORM_DIRS="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONPATH=str(REPO))
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_CONFIG_PATH", None)
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--port-retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root / 'notebooks'}",
         "--ServerApp.open_browser=False", "--ServerApp.allow_root=True", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    srv = Server(root, port, token, proc, venv_python, wheels, hang)
    try:
        _wait_http(f"{srv.base}/api/status?token={token}", proc, 60)
        yield srv
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)     # the server and the kernels it started
                proc.wait(15)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        hang.close()
        log.close()
        if os.environ.get("DLLMAGIC_UI_LOG"):
            print((root / "server.log").read_text(errors="replace")[-20000:])


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        _missing(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright client is not installed")
    with sync_playwright() as pw:
        # Playwright gives each launch a fresh, empty --user-data-dir of its own.
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    errors: List[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    SCREENSHOTS.mkdir(exist_ok=True)
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        pg.screenshot(path=str(SCREENSHOTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
