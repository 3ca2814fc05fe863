"""A real demo diagnosis: build a small environment with a real mismatch and show dllmagic's report.

It creates, under a temporary folder (or --dir):
  - analysis-env/   a virtual environment where the user installed 'tabulate';
  - kernel-env/     the virtual environment the notebook's kernel actually runs (no 'tabulate');
  - a kernelspec 'demo-analysis' whose display name promises the analysis environment but whose argv runs
    kernel-env's python: the classic "I installed it, but the notebook can't find it".
Then it runs `dlldoctor check tabulate --python kernel-env/bin/python` from the notebook folder and prints the
report (add --json for the machine-readable form).

Usage: python examples/demo.py [--dir DIR] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    root = Path(args.dir or tempfile.mkdtemp(prefix="dllmagic-demo-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    notebooks = root / "project"
    notebooks.mkdir(exist_ok=True)
    print(f"building the demo under {root} ...", file=sys.stderr)
    analysis = venv(notebooks / ".venv")             # where the user ran 'pip install tabulate'
    subprocess.run([str(analysis), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "tabulate"], check=True)
    kernel_python = venv(root / "kernel-env")         # what the notebook's kernel really runs
    data = root / "jupyter"
    spec = data / "kernels" / "demo-analysis"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(kernel_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (project .venv)", "language": "python"}))
    (notebooks / "analysis.ipynb").write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
                   "source": ["import tabulate"]}],
        "metadata": {"kernelspec": {"name": "demo-analysis", "display_name": "Python (project .venv)",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))
    env = dict(os.environ, JUPYTER_PATH=str(data), JUPYTER_DATA_DIR=str(data),
               JPY_SESSION_NAME=str(notebooks / "analysis.ipynb"))
    cmd = [sys.executable, "-m", "dllmagic", "check", "tabulate", "--python", str(kernel_python)]
    if args.json:
        cmd.append("--json")
    print(f"$ dlldoctor check tabulate --python {kernel_python}\n", file=sys.stderr)
    proc = subprocess.run(cmd, cwd=notebooks, env=env)
    if not args.dir:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if proc.returncode in (0, 1) else proc.returncode


if __name__ == "__main__":
    sys.exit(main())
