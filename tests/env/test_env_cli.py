"""`dlldoctor kernels [--json]` and `dlldoctor check` on the machine, as a user runs them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from envkit import site_of, write_kernelspec

REPO = Path(__file__).resolve().parents[2]
# Registers this rules in the child even before the registry's builtin list names them.
LAUNCH = ("import sys, dllmagic.diagnosis.environment; from dllmagic.cli import main; "
          "sys.exit(main(sys.argv[1:]))")


def _cli(machine, tmp_path, *args, path_first=None):
    data = tmp_path / "jupyter-data"
    data.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "CONDA", "VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(HOME=str(machine.home), JUPYTER_DATA_DIR=str(data), DLLMAGIC_STRICT="1",
               PYTHONPATH=str(REPO))
    if path_first:
        env["PATH"] = f"{path_first / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run([sys.executable, "-c", LAUNCH, *args], capture_output=True, text=True, env=env,
                          cwd=str(machine.notebooks), timeout=120)


def test_kernels_json(machine, tmp_path):
    write_kernelspec(tmp_path / "jupyter-data", "env-b", machine.python(machine.b), "Python (env-b)")
    proc = _cli(machine, tmp_path, "kernels", "--json", "--python", str(machine.python(machine.a)))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["schema_version"] == "1.0"
    assert data["interpreter"]["prefix"] == str(machine.a)
    spec = next(k for k in data["kernelspecs"] if k["name"] == "env-b")
    assert spec["python"] == str(machine.python(machine.b)) and spec["environment"] == str(machine.b)
    assert spec["current"] is False and spec["python_exists"] is True
    envs = {e["prefix"]: e for e in data["environments"]}
    assert envs[str(machine.a)]["current"] is True
    assert envs[str(machine.b)]["kernelspecs"] == ["env-b"]
    assert envs[str(machine.u)]["kind"] == "uv" and envs[str(machine.condaenv)]["kind"] == "conda"
    assert any(e["kind"] == "user-site" for e in data["environments"])


def test_kernels_text(machine, tmp_path):
    write_kernelspec(tmp_path / "jupyter-data", "env-b", machine.python(machine.b), "Python (env-b)")
    proc = _cli(machine, tmp_path, "kernels")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Kernelspecs (" in out and "env-b" in out and str(machine.python(machine.b)) in out
    assert "Python environments (" in out and str(machine.condaenv) in out
    assert "* = the current interpreter" in out


def test_check_cli_installed_in_other_environment(machine, tmp_path):
    proc = _cli(machine, tmp_path, "check", "tabulate", "--python", str(machine.python(machine.a)), "--json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    top = report["findings"][0]
    assert top["kind"] == "module-not-found" and top["cause"] == "installed-in-other-environment"
    assert any(str(site_of(machine.b)) in (e["value"] + e["source"]) for e in top["evidence"])
    text = _cli(machine, tmp_path, "check", "tabulate", "--python", str(machine.python(machine.a)))
    assert "installed in another environment" in text.stdout and str(machine.b) in text.stdout
