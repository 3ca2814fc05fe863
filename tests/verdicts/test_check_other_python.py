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
