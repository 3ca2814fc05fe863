"""The matrix's two ends, each in a fresh venv made from the built wheel: the oldest supported set (Python 3.9,
IPython 8.0, ipykernel 6, ipywidgets 8.0) and the newest (Python 3.13 with the newest IPython 9, ipykernel 7
and ipywidgets 8). Each cell starts a real kernel with that interpreter, loads the extension, gets a report
for a failed import and a healthy check, and runs the ``dlldoctor`` command.

The interpreters are taken from the machine (``python3.X`` on PATH, pyenv's versions, or one uv already
has): uv cannot download interpreters without access to GitHub, and PyPI has no CPython builds. Where one is
missing, its cell is skipped with that reason; Python 3.11, the CI image's own, runs the whole suite.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Optional

import pytest

from harness import PIP_CACHE, create_venv, find_uv

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

CELLS = {
    # name: (Python, requirements beside the wheel, expected (IPython, ipykernel) major versions)
    "oldest": ("3.9", ["ipython==8.0.1", "ipykernel==6.7.0", "ipywidgets==8.0.0", "jupyter_client<8"], ("8", "6")),
    "newest": ("3.13", ["ipython>=9,<10", "ipykernel>=7,<8", "ipywidgets>=8,<9"], ("9", "7")),
}


def find_python(version: str) -> Optional[str]:
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(str(p) for p in pyenv_root.glob(f"versions/{version}.*/bin/python{version}"))
    uv = find_uv()
    if uv:
        found = subprocess.run([uv, "python", "find", "--no-python-downloads", version], capture_output=True,
                               text=True, env=dict(os.environ, UV_PYTHON_DOWNLOADS="never"))
        candidates.append(found.stdout.strip() if found.returncode == 0 else None)
    for c in candidates:
        if c and os.access(c, os.X_OK):
            probe = subprocess.run([c, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                   capture_output=True, text=True)
            if probe.stdout.strip() == version:
                return c
    return None


def _venv_from(python: str, path: Path):
    """create_venv with another interpreter than the one running the tests."""
    uv = find_uv()
    cmd = [uv, "venv", "--quiet", "--python", python, str(path)] if uv else [python, "-m", "venv", str(path)]
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, env=dict(os.environ, UV_CACHE_DIR=str(PIP_CACHE / "uv"),
                                                                       UV_PYTHON_DOWNLOADS="never"))
    from harness import Venv
    return Venv(path)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_matrix_end(cell, dists, start_kernel, validate_report, tmp_path):
    version, requirements, majors = CELLS[cell]
    python = find_python(version)
    if python is None:
        pytest.skip(f"matrix cell '{cell}' needs Python {version}, which this machine does not have (CI's image "
                    "has 3.11 only, and uv cannot download interpreters here); it runs where one is installed")
    venv = _venv_from(python, tmp_path / f"py{version}")
    venv.install(str(dists["wheel"]), *requirements)

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    got = subprocess.run([str(venv.python), "-c", "import sys, IPython, ipykernel, ipywidgets, dllmagic;"
                          "print('%d.%d' % sys.version_info[:2], IPython.__version__, ipykernel.__version__,"
                          " ipywidgets.__version__, dllmagic.__file__)"],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    assert got.returncode == 0, got.stderr
    py, ipy, ipk, ipw, where = got.stdout.split()
    assert py == version and (ipy.split(".")[0], ipk.split(".")[0]) == majors and ipw.startswith("8.")
    assert Path(where).resolve().is_relative_to(venv.path.resolve())     # the wheel's copy, not this checkout

    kernel = start_kernel(f"matrix-{cell}", python=str(venv.python), env={"PYTHONPATH": ""})
    assert kernel.execute("%load_ext dllmagic").status == "ok"
    res = kernel.execute("import yaml_not_installed_here")
    (report,) = res.reports()
    validate_report(report)
    assert report["findings"][0]["kind"] == "module-not-found"
    assert kernel.execute("%dlldoctor json").reports()[0]["ok"] is True

    proc = subprocess.run([str(venv.path / "bin" / "dlldoctor"), "check", "json", "--json"], capture_output=True,
                          text=True, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ok"] is True
