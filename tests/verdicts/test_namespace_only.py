"""A folder in the working folder named like a distribution, with no code in it (data, notes, an empty folder
left by a clone): 'import NAME' works there, as an empty namespace package, yet nothing the user's code takes
from NAME exists. That is not "healthy" when the distribution is not installed; when it is installed, the
installed package wins over the namespace portion and the verdict stays healthy. Real venvs, real folders,
the real CLI (its exit status) and the fix applied for real."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness import run_cli
from verdictkit import venv_with

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")


def _check(python: Path, folder: Path, name: str):
    proc = run_cli("check", name, "--python", str(python), "--cwd", str(folder), "--json", cwd=folder)
    return proc.returncode, json.loads(proc.stdout)


def test_a_data_folder_named_like_a_missing_distribution_is_not_healthy_and_the_install_fixes_it(tmp_path):
    python = venv_with(tmp_path / "venv", pip=True)
    work = tmp_path / "work"
    (work / "tabulate").mkdir(parents=True)
    (work / "tabulate" / "results.csv").write_text("a,b\n1,2\n")
    # What the user's own code gets: the import works, the attribute does not.
    done = subprocess.run([str(python), "-c", "import tabulate; tabulate.tabulate"], cwd=work,
                          capture_output=True, text=True)
    assert "has no attribute 'tabulate'" in done.stderr, done.stderr
    status, report = _check(python, work, "tabulate")
    assert status == 1 and report["ok"] is False, report
    top = report["findings"][0]
    assert (top["kind"], top["cause"]) == ("module-not-found", "not-installed"), top
    assert str(work / "tabulate") in top["summary"] and "no Python code" in top["summary"], top["summary"]
    assert not any(f["kind"] == "healthy" for f in report["findings"])
    fix = top["fixes"][0]
    assert fix["kind"] == "pip" and fix["argv"][-1] == "tabulate" and fix["runnable"], fix
    # Applied for real (its argv, as the Run button does), the installed package is what 'import tabulate'
    # gets, and the folder stays where it is.
    subprocess.run(fix["argv"], check=True, capture_output=True, stdin=subprocess.DEVNULL, cwd=tmp_path)
    status, report = _check(python, work, "tabulate")
    assert status == 0 and report["findings"][0]["cause"] == "healthy", report["findings"][0]
    assert (work / "tabulate" / "results.csv").exists()


def test_a_namespace_folder_with_code_and_an_installed_package_beside_a_data_folder_stay_healthy(tmp_path):
    python = venv_with(tmp_path / "venv", "tabulate")
    work = tmp_path / "work"
    (work / "tabulate").mkdir(parents=True)          # data folder; the installed regular package wins
    (work / "tabulate" / "notes.txt").write_text("x\n")
    (work / "myproject" / "tools").mkdir(parents=True)   # the user's own namespace package, with code
    (work / "myproject" / "tools" / "run.py").write_text("VALUE = 1\n")
    status, report = _check(python, work, "tabulate")
    assert status == 0 and report["findings"][0]["cause"] == "healthy", report["findings"][0]
    status, report = _check(python, work, "myproject")
    assert status == 0 and report["findings"][0]["cause"] == "healthy", report["findings"][0]


def test_in_a_kernel_the_empty_namespace_is_named_on_demand_and_after_the_attribute_error(kernel_with, tmp_path):
    from verdictkit import kernel_python_with

    python = kernel_python_with(tmp_path / "kenv")
    work = tmp_path / "nb"
    (work / "tabulate").mkdir(parents=True)
    (work / "tabulate" / "table.csv").write_text("a\n1\n")
    kernel = kernel_with(python, work)
    cell = kernel.execute("%load_ext dllmagic\nimport tabulate\ntabulate.tabulate([[1]])")
    assert "has no attribute 'tabulate'" in cell.error["content"]["evalue"], cell.outputs
    hooked = cell.reports()
    assert hooked, "the AttributeError on an empty namespace package got no report"
    assert hooked[-1]["findings"][0]["cause"] == "not-installed", hooked[-1]["findings"][0]
    report = kernel.execute("%dlldoctor tabulate").reports()[-1]
    top = report["findings"][0]
    assert not report["ok"] and top["cause"] == "not-installed", top
    assert str(work / "tabulate") in top["summary"]
    cell = kernel.execute("from tabulate import tabulate")    # 'cannot import name ... (unknown location)'
    assert "unknown location" in cell.error["content"]["evalue"], cell.outputs
    causes = [f["cause"] for f in cell.reports()[-1]["findings"]]
    assert causes[0] == "not-installed" and "name-not-in-installed-version" not in causes, causes


def test_a_package_folder_whose_sources_were_deleted_but_not_its_pycache_is_not_healthy(tmp_path):
    """A project's package whose .py files were deleted (a branch switch, a clean that missed __pycache__):
    Python never imports a __pycache__ file without its source, so the folder is an empty namespace package,
    not the code it once was."""
    python = venv_with(tmp_path / "venv")
    work = tmp_path / "work"
    (work / "rtgonesrc").mkdir(parents=True)
    (work / "rtgonesrc" / "__init__.py").write_text("VALUE = 1\n")
    subprocess.run([str(python), "-m", "compileall", "-q", str(work / "rtgonesrc")], check=True)
    (work / "rtgonesrc" / "__init__.py").unlink()
    pyc = next((work / "rtgonesrc" / "__pycache__").glob("__init__.*.pyc"))
    done = subprocess.run([str(python), "-c", "from rtgonesrc import VALUE"], cwd=work, capture_output=True,
                          text=True)
    assert "cannot import name 'VALUE'" in done.stderr, done.stderr
    status, report = _check(python, work, "rtgonesrc")
    assert status == 1 and not report["ok"], report
    top = report["findings"][0]
    assert top["cause"] == "not-installed" and "__pycache__" in top["summary"], top
    assert any(e["value"] == str(pyc) for e in top["evidence"]), top["evidence"]
    assert not any(f["kind"] == "healthy" for f in report["findings"])
