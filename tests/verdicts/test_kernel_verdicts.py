"""Real kernels: a module loaded before an upgrade is restart-needed; a local file imported by the kernel
is a shadow, never healthy (issue 17, items 2 and 3)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import kernel_python_with

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX venv layout")


def test_upgrade_behind_a_loaded_module_is_restart_needed(kernel_with, tmp_path, validate_report):
    python = kernel_python_with(tmp_path / "kenv", "tabulate==0.8.10")
    work = tmp_path / "nb"
    work.mkdir()
    kernel = kernel_with(python, work)
    assert kernel.execute("%load_ext dllmagic\nimport tabulate\nprint(tabulate.__version__)").stdout.strip() \
        == "0.8.10"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "tabulate==0.9.0"], check=True, capture_output=True, stdin=subprocess.DEVNULL)
    cell = kernel.execute("%dlldoctor tabulate")
    reports = cell.reports()
    assert reports, cell.outputs
    report = validate_report(reports[-1])
    top = report["findings"][0]
    assert top["cause"] == "restart-needed", top
    assert "0.8.10" in top["summary"] and "0.9.0" in top["summary"]
    assert not report["ok"]
    assert all(f["cause"] != "healthy" for f in report["findings"])
    assert any(f["kind"] == "restart" for f in top["fixes"])


def test_local_file_imported_by_the_kernel_is_a_shadow_not_healthy(kernel_with, tmp_path):
    python = kernel_python_with(tmp_path / "kenv2", "tabulate==0.9.0")
    work = tmp_path / "nb2"
    work.mkdir()
    (work / "tabulate.py").write_text("def nothing():\n    pass\n")
    kernel = kernel_with(python, work)
    kernel.execute("%load_ext dllmagic\nimport tabulate")
    cell = kernel.execute("%dlldoctor tabulate")
    report = cell.reports()[-1]
    top = report["findings"][0]
    assert top["cause"] == "shadowed-by-local-file", top
    assert str(work / "tabulate.py") in top["summary"] and "site-packages/tabulate" in top["summary"]
    assert all(f["cause"] != "healthy" for f in report["findings"]) and not report["ok"]
