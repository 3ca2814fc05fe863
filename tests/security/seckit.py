"""Helpers of the security tests (imported as ``seckit``; the fixtures are in conftest.py): each test replays one attack with real files, venvs, pip and kernels.

``ipython_statements`` splits a cell the way IPython does (its own input transformer: ``str.splitlines``,
``!`` and ``%`` lines turned into calls) and returns the statements that would run; ``run_in_ipython`` runs a
cell's text through a real ``InteractiveShell`` in a child process.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

_RUN_CELL = (
    "import sys\n"
    "from IPython.core.interactiveshell import InteractiveShell\n"
    "shell = InteractiveShell.instance()\n"
    "shell.run_cell(open(sys.argv[1], encoding='utf-8').read())\n"
)


def ipython_statements(cell: str) -> List[ast.stmt]:
    """The Python statements IPython would run for ``cell`` (comments and blank lines give none)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return ast.parse(TransformerManager().transform_cell(cell)).body


def run_in_ipython(cell: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``cell`` in a real IPython shell (a child process started in ``cwd``)."""
    path = cwd / f"cell-{abs(hash(cell))}.ipy.txt"
    path.write_text(cell, encoding="utf-8")
    try:
        return subprocess.run([sys.executable, "-c", _RUN_CELL, str(path)], cwd=cwd, capture_output=True,
                              text=True, timeout=120, env=dict(os.environ, IPYTHONDIR=str(cwd / ".ipython")))
    finally:
        path.unlink()


def make_venv(path: Path) -> Path:
    """A real venv (without pip: fast); returns its site-packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True,
                   capture_output=True)
    return path / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def add_module(site: Path, module: str, dist: Optional[str] = None, version: str = "1.0") -> None:
    """A package folder ``module`` in ``site``, with a .dist-info named ``dist`` that says it provides it."""
    (site / module).mkdir(parents=True, exist_ok=True)
    (site / module / "__init__.py").write_text("")
    if dist:
        info = site / f"{dist}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "top_level.txt").write_text(module + "\n")
        (info / "RECORD").write_text(f"{module}/__init__.py,,\n{info.name}/METADATA,,\n")
        (info / "INSTALLER").write_text("pip\n")


def live_system(environ: Dict[str, str]):
    from dllmagic.facts.system import System

    return System.current().replace(environ=environ)


def all_fixes(report) -> list:
    return [fix for finding in report.findings for fix in finding.fixes]


def give_ipykernel(site: Path) -> None:
    """ipykernel's metadata in ``site``: the environment of a kernelspec that can start (one certainly without
    ipykernel is never a switch target)."""
    dist = site / "ipykernel-6.29.5.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ipykernel\nVersion: 6.29.5\n")
