"""`dlldoctor check NAME --python X` from a terminal: the question is X's import, so the first fix installs into
X's environment with X's own installer, never into another environment's Python (the one that has the package,
or the one running dlldoctor); registering the environment that has it as a kernel is an alternative after."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from harness import run_cli

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX venv layout")


@pytest.mark.parametrize("with_pip", [True, False], ids=["pip", "no-pip"])
def test_the_first_fix_targets_the_asked_interpreter(tabulate_python, tmp_path, with_pip):
    asked = tmp_path / "asked"
    subprocess.run([sys.executable, "-m", "venv", *([] if with_pip else ["--without-pip"]), str(asked)], check=True)
    python = asked / "bin" / "python"
    # The environment that has tabulate is found on PATH (as a user's activated venv is).
    env = {"PATH": f"{tabulate_python.parent}:/usr/bin:/bin"}
    proc = run_cli("check", "tabulate", "--python", str(python), "--json", cwd=tmp_path, env=env)
    report = json.loads(proc.stdout)
    top = report["findings"][0]
    assert top["cause"] == "installed-in-other-environment", top
    assert str(tabulate_python.parent.parent) in top["summary"]
    first = top["fixes"][0]
    assert first["kind"] == "pip" and first["argv"][:4] == [str(python), "-m", "pip", "install"], first
    assert first["argv"][-1] == "tabulate"
    if not with_pip:
        assert first["cell"].splitlines()[0].endswith("-m ensurepip"), first
    kinds = [f["kind"] for f in top["fixes"]]
    assert "register-kernel" not in kinds[:1] and "kernel-switch" not in kinds[:1], kinds


def test_a_venv_whose_base_python_is_gone_says_so(tmp_path):
    """The Python a venv was made from was removed (pyenv uninstall, a Homebrew upgrade): the venv's python is
    a link to nothing. The note names the link, the pyvenv.cfg home that is gone, and the way out."""
    base = tmp_path / "base-python" / "bin"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # The disk as the removal leaves it: the links and pyvenv.cfg name a base folder that no longer exists.
    for link in (venv / "bin").glob("python*"):
        link.unlink()
        link.symlink_to(base / "python3")
    cfg = venv / "pyvenv.cfg"
    cfg.write_text("".join(f"home = {base}\n" if line.startswith("home") else line
                           for line in cfg.read_text().splitlines(keepends=True)))
    proc = run_cli("check", "json", "--python", str(venv / "bin" / "python"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    text = proc.stdout + proc.stderr
    assert f"python is a link to {base / 'python3'}, which does not exist" in text, text
    assert f"{base} (pyvenv.cfg), which does not exist" in text and f"venv --clear {venv}" in text, text
