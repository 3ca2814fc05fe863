"""Real kernels whose sys.path was changed by the user's own code before the import: the environment's
site-packages taken off sys.path, and the working folder changed with os.chdir (sys.path's '' follows it).
The module is installed (or is the user's file) all the same: never "not installed here", never an install or
an ensurepip; the report names the folder no longer searched, and a restart brings it back."""
from __future__ import annotations

import os

import pytest

from verdictkit import kernel_python_with

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX venv layout")


def _assert_said(report, path, folder):
    causes = [f["cause"] for f in report["findings"]]
    top = report["findings"][0]
    assert top["cause"] == "restart-needed", [(f["cause"], f["summary"]) for f in report["findings"]]
    assert path in top["summary"] and folder in top["summary"], top["summary"]
    assert "not-installed" not in causes and "installed-in-other-environment" not in causes, causes
    assert not any(x["kind"] in ("pip", "uv", "conda") for f in report["findings"] for x in f["fixes"])
    assert any(x["kind"] == "restart" for x in top["fixes"])


def test_site_packages_taken_off_sys_path_is_not_a_missing_package(kernel_with, tmp_path):
    python = kernel_python_with(tmp_path / "kenv", "tabulate==0.9.0")
    site = str(next((tmp_path / "kenv").glob("lib/python*/site-packages")))
    work = tmp_path / "nb"
    work.mkdir()
    kernel = kernel_with(python, work)
    kernel.execute(f"%load_ext dllmagic\nimport sys\nsys.path.remove({site!r})")
    cell = kernel.execute("import tabulate")
    assert cell.error is not None and cell.reports(), cell.outputs
    _assert_said(cell.reports()[-1], os.path.join(site, "tabulate"), site)
    _assert_said(kernel.execute("%dlldoctor tabulate").reports()[-1], os.path.join(site, "tabulate"), site)


def test_a_changed_working_folder_is_named_for_a_module_of_the_notebooks_folder(kernel_with, tmp_path):
    python = kernel_python_with(tmp_path / "kenv")
    work, elsewhere = tmp_path / "nb", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    (work / "rtmyhelpers.py").write_text("VALUE = 1\n")
    kernel = kernel_with(python, work)
    kernel.execute(f"%load_ext dllmagic\nimport os\nos.chdir({str(elsewhere)!r})")
    cell = kernel.execute("import rtmyhelpers")
    assert cell.error is not None and cell.reports(), cell.outputs
    _assert_said(cell.reports()[-1], str(work / "rtmyhelpers.py"), str(elsewhere))
    # Back in the notebook's folder it imports: the rule says nothing then.
    cell = kernel.execute(f"os.chdir({str(work)!r})\nimport rtmyhelpers\nprint(rtmyhelpers.VALUE)")
    assert cell.error is None and cell.stdout.strip() == "1", cell.outputs
