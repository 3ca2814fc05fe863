"""The shared test harness as pytest fixtures (the plain helpers live in ``harness.py``).

Later issues reuse these fixtures: ``make_venv`` builds a real virtual environment, ``kernel_venv`` is the
interpreter of test kernels, ``start_kernel`` starts a real Jupyter kernel from a kernelspec written into a
temporary JUPYTER_PATH, and ``validate_report`` checks JSON output against the shipped schema.
Internal errors are loud here: DLLMAGIC_STRICT=1 makes them raise instead of becoming notes.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

from harness import REPO, Kernel, Venv, create_venv, start_kernels

os.environ["DLLMAGIC_STRICT"] = "1"
os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
# The facts `deps` keeps between runs go to a folder of this test session, not the user's cache; it is
# removed when the session ends.
if "DLLMAGIC_CACHE_DIR" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["DLLMAGIC_CACHE_DIR"] = tempfile.mkdtemp(prefix="dllmagic-test-cache-")
    atexit.register(shutil.rmtree, os.environ["DLLMAGIC_CACHE_DIR"], True)

#: Tables and logs a test writes for people to read (git-ignored): tests/reports/, or $DLLMAGIC_TEST_REPORTS.
REPORTS = Path(os.environ.get("DLLMAGIC_TEST_REPORTS") or REPO / "tests" / "reports")
_reports: Dict[str, Dict[str, tuple]] = {}


@pytest.fixture(scope="session")
def report_file():
    """report_file(file, key, text, summary): puts ``text`` into REPORTS/file (one section per key, in the order
    written) and ``summary`` into that file's one line at the end of the run, instead of printing among the
    progress dots."""

    def write(file: str, key: str, text: str, summary: str) -> Path:
        sections = _reports.setdefault(file, {})
        sections[key] = (text, summary)
        REPORTS.mkdir(parents=True, exist_ok=True)
        path = REPORTS / file
        path.write_text("\n\n".join(text.rstrip() for text, _ in sections.values()) + "\n")
        return path

    return write


def pytest_terminal_summary(terminalreporter):
    for file, sections in _reports.items():
        path = REPORTS / file
        try:
            shown = os.path.relpath(path)
        except ValueError:
            shown = str(path)
        terminalreporter.write_line(f"{file.rsplit('.', 1)[0]}: " + "; ".join(s for _, s in sections.values())
                                    + f" (tables: {shown})")


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
@pytest.fixture
def make_venv(tmp_path_factory):
    """make_venv(name, *requirements, with_pip=False) -> Venv: a real, fresh virtual environment."""

    def make(name: str = "venv", *requirements: str, with_pip: bool = False, system_site: bool = False) -> Venv:
        venv = create_venv(tmp_path_factory.mktemp(name) / name, with_pip=with_pip, system_site=system_site)
        if requirements:
            venv.install(*requirements)
        return venv

    return make


@pytest.fixture(scope="session")
def kernel_venv(tmp_path_factory) -> Venv:
    """A venv with pip, ipykernel and this checkout of dllmagic (editable): the interpreter of test kernels
    (with pip, as most users' are, so fixes are %pip cells; uv venvs without pip have tests of their own)."""
    venv = create_venv(tmp_path_factory.mktemp("kernelenv") / "kernelenv", with_pip=True)
    venv.install("ipykernel", "ipywidgets", "-e", str(REPO))
    return venv


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
    starter = start_kernels(jupyter_dirs["data"])
    start_in = next(starter)

    def start(name: str = "dllmagic-test", python: Optional[str] = None, cwd: Optional[Path] = None,
              env: Optional[Dict[str, str]] = None) -> Kernel:
        workdir = cwd or (tmp_path / "notebooks")
        workdir.mkdir(parents=True, exist_ok=True)
        return start_in(name, str(python or kernel_venv.python), workdir, env)

    yield start
    next(starter, None)


@pytest.fixture(autouse=True)
def _close_report_views():
    """Views made in this process are closed after each test, as %unload_ext closes them in a kernel; left
    open, ipywidgets closes them at interpreter exit, after the comm manager is gone (a KeyError each)."""
    yield
    widget = sys.modules.get("dllmagic.report.widget")
    if widget is not None:
        widget.close_all()
