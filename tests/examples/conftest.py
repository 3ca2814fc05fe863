"""Fixtures of the examples CI: one Jupyter data folder and one build folder for the whole session."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from examplekit import TIMINGS  # noqa: E402


@pytest.fixture(scope="module")
def examples_home(tmp_path_factory):
    """(build root, jupyter data folder); Jupyter and IPython are pointed at temporary folders for the
    examples' module only (a session-wide patch let later tests see the examples' kernelspecs)."""
    root = tmp_path_factory.mktemp("examples")
    data = root / "jupyter-data"
    runtime = root / "jupyter-runtime"
    ipython = root / "ipython"
    for folder in (data, runtime, ipython):
        folder.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_DATA_DIR", str(data))
        mp.setenv("JUPYTER_PATH", str(data))
        mp.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
        mp.setenv("IPYTHONDIR", str(ipython))
        mp.setenv("DLLMAGIC_RUNTIME_DIR", str(runtime))
        yield root / "built", data


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.write_sep("-", "examples: seconds to build / to run the notebook")
        for name, t in TIMINGS.items():
            terminalreporter.write_line(f"{name:28s} build {t.get('build', '-'):>6}   notebook {t.get('notebook', '-'):>6}")
