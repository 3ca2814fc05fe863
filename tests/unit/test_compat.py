"""dllmagic supports Python >= 3.9 and the probe runs on 3.6+: check the syntax of every module."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "dllmagic"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_parses_as_python_3_9(path):
    ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=(3, 9))


def test_probe_parses_as_python_3_6():
    probe = PACKAGE / "facts" / "_probe.py"
    ast.parse(probe.read_text(encoding="utf-8"), str(probe), feature_version=(3, 6))


def _old_pythons():
    return sorted(Path.home().glob(".pyenv/versions/3.9*/bin/python3"))


@pytest.mark.skipif(not _old_pythons(), reason="no Python 3.9 on this machine")
def test_package_imports_and_checks_under_python_3_9(tmp_path):
    python = str(_old_pythons()[0])
    code = ("import sys; sys.path.insert(0, %r); import dllmagic.api, dllmagic._kernel, dllmagic.cli;"
            "from dllmagic.report.text import render_text; r = dllmagic.api.explain('ModuleNotFoundError: No module"
            " named \\'yaml\\''); print(r.findings[0].fixes[0].cell)" % str(PACKAGE.parent))
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    if "No module named 'packaging'" in proc.stderr:
        pytest.skip("packaging is not installed for Python 3.9 here")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "%pip install PyYAML"
