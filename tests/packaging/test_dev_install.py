"""The development set-up of CONTRIBUTING.md: an editable install plus ``scripts/dev_labextension.py`` gives a
JupyterLab that sees the extension built in this checkout (``pip install -e .`` alone leaves it out)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from harness import create_venv

pytestmark = pytest.mark.slow


def _lab_list(venv) -> str:
    jupyterlab = pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (tests/ui/setup.sh installs it)")
    assert jupyterlab
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JUPYTER_PATH")}
    proc = subprocess.run([sys.executable, "-m", "jupyterlab.labextensions", "list"], capture_output=True, text=True,
                          env=dict(env, JUPYTER_PATH=str(venv.path / "share" / "jupyter"), JUPYTER_PLATFORM_DIRS="1"))
    return re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)   # without colours


def test_editable_install_and_the_link_step_give_jupyterlab_the_extension(source_copy, tmp_path):
    venv = create_venv(tmp_path / "dev")
    venv.install("-e", str(source_copy))
    target = venv.path / "share" / "jupyter" / "labextensions" / "dllmagic"
    script = source_copy / "scripts" / "dev_labextension.py"

    proc = subprocess.run([str(venv.python), str(script)], capture_output=True, text=True, cwd=source_copy)
    assert proc.returncode == 0, proc.stderr
    assert target.is_symlink() and target.resolve() == (source_copy / "dllmagic" / "labextension").resolve()
    assert re.search(r"dllmagic v\S+ enabled\s+\S*OK", _lab_list(venv))
    # The editable package is this copy's, so a change to the sources shows without reinstalling.
    where = subprocess.run([str(venv.python), "-c", "import dllmagic; print(dllmagic.__file__)"], capture_output=True,
                           text=True, cwd=tmp_path).stdout.strip()
    assert where == str(source_copy / "dllmagic" / "__init__.py")

    # Running it again replaces the link; --remove takes it away; the machine's own Python is refused.
    assert subprocess.run([str(venv.python), str(script)], capture_output=True).returncode == 0
    assert subprocess.run([str(venv.python), str(script), "--remove"], capture_output=True).returncode == 0
    assert not target.exists() and not target.is_symlink()
    assert "dllmagic" not in _lab_list(venv)
    base = subprocess.run([str(venv.python), "-c", "import sys; print(sys._base_executable)"], capture_output=True,
                          text=True).stdout.strip()
    refused = subprocess.run([base, "-I", str(script)], capture_output=True, text=True)
    assert refused.returncode == 2 and "not in a virtual or conda environment" in refused.stderr
