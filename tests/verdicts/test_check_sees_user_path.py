"""`dlldoctor check` imports what `python -c` in the same folder imports (issue 17, item 1 and 3)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import run_cli

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX venv layout")


def python_c_file(python: Path, cwd: Path, env=None) -> str:
    full = dict(os.environ)
    full.pop("PYTHONPATH", None)
    full.update(env or {})
    out = subprocess.run([str(python), "-c", "import tabulate; print(tabulate.__file__)"], cwd=cwd, env=full,
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def imported_file(report: dict) -> str:
    """The file the report says 'import tabulate' loads (healthy or shadowed alike)."""
    top = report["findings"][0]
    for ev in top["evidence"]:
        if ev["fact"] in ("imported from", "'tabulate' is imported from"):
            return ev["value"]
    raise AssertionError(f"no imported-from evidence in {top}")


def sys_path_used(report: dict) -> dict:
    return next(ev for ev in report["findings"][0]["evidence"] if ev["fact"] == "sys.path used")


def check(python: Path, *args: str, cwd: Path, env=None) -> dict:
    proc = run_cli("check", "tabulate", "--python", str(python), "--json", *args, cwd=cwd, env=env)
    assert proc.stdout.strip(), proc.stderr
    return json.loads(proc.stdout)


def test_shadowed_by_a_local_file_agrees_with_python_c(tabulate_python, tmp_path, validate_report):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "tabulate.py").write_text("X = 1\n")
    expected = python_c_file(tabulate_python, folder)
    assert expected == str(folder / "tabulate.py")
    report = validate_report(check(tabulate_python, cwd=folder))
    assert imported_file(report) == expected
    top = report["findings"][0]
    assert top["cause"] == "shadowed-by-local-file" and not report["ok"]
    values = [ev["value"] for ev in top["evidence"]]
    assert any(v.endswith("site-packages/tabulate") for v in values)  # both locations
    assert top["fixes"][0]["kind"] == "rename" and "my_tabulate.py" in top["fixes"][0]["cell"]
    assert all(f["cause"] != "healthy" for f in report["findings"])
    assert str(folder) in sys_path_used(report)["source"]


def test_cwd_and_notebook_options_ask_from_another_folder(tabulate_python, tmp_path):
    folder = tmp_path / "nbdir"
    folder.mkdir()
    (folder / "tabulate.py").write_text("X = 1\n")
    nb = folder / "analysis.ipynb"
    nb.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args in (("--cwd", str(folder)), ("--notebook", str(nb))):
        report = check(tabulate_python, *args, cwd=elsewhere)
        assert imported_file(report) == str(folder / "tabulate.py"), args
    # from the neutral folder itself, the installed copy
    report = check(tabulate_python, cwd=elsewhere)
    assert imported_file(report) == python_c_file(tabulate_python, elsewhere)


def test_pythonpath_copy_agrees_with_python_c_and_the_fix_unsets_it(tabulate_python, tmp_path):
    old = tmp_path / "old-copies"
    old.mkdir()
    (old / "tabulate.py").write_text("__version__ = '0.0.1'\n")
    work = tmp_path / "work"
    work.mkdir()
    env = {"PYTHONPATH": str(old)}
    expected = python_c_file(tabulate_python, work, env)
    assert expected == str(old / "tabulate.py")
    report = check(tabulate_python, cwd=work, env=env)
    assert imported_file(report) == expected
    top = report["findings"][0]
    assert top["cause"] == "shadowed-by-local-file" and "PYTHONPATH" in top["summary"]
    assert "unset PYTHONPATH" in top["fixes"][0]["cell"]
    assert f"PYTHONPATH={old}" in sys_path_used(report)["source"]


def test_clean_folder_agrees_with_python_c_and_is_short(tabulate_python, tmp_path, validate_report):
    work = tmp_path / "clean"
    work.mkdir()
    expected = python_c_file(tabulate_python, work)
    assert "site-packages" in expected
    report = validate_report(check(tabulate_python, cwd=work))
    assert report["ok"] and imported_file(report) == expected
    assert [f["cause"] for f in report["findings"]] == ["healthy"]  # one finding, no pre-flight noise


def test_a_local_json_py_hides_the_standard_library(tabulate_python, tmp_path):
    folder = tmp_path / "stdlib"
    folder.mkdir()
    (folder / "json.py").write_text("x = 1\n")
    out = subprocess.run([str(tabulate_python), "-c", "import json; print(json.__file__)"], cwd=folder,
                         capture_output=True, text=True, check=True).stdout.strip()
    proc = run_cli("check", "json", "--python", str(tabulate_python), "--json", cwd=folder)
    report = json.loads(proc.stdout)
    top = report["findings"][0]
    assert out == str(folder / "json.py")
    assert top["cause"] == "shadowed-by-local-file" and str(folder / "json.py") in top["summary"]
    assert "standard library" in top["summary"]
    assert top["fixes"][0]["kind"] == "rename"
    assert not any(f["kind"] in ("pip", "conda", "uv") for finding in report["findings"] for f in finding["fixes"])


def test_random_py_is_checked_against_the_facts_not_called_circular(tabulate_python, tmp_path):
    folder = tmp_path / "rnd"
    folder.mkdir()
    (folder / "random.py").write_text("import random\nprint(random.randint(1, 6))\n")
    report = json.loads(run_cli("check", "random", "--python", str(tabulate_python), "--json",
                                "--cwd", str(folder), cwd=tmp_path).stdout)
    top = report["findings"][0]
    assert top["cause"] == "shadowed-by-local-file" and str(folder / "random.py") in top["summary"]
    assert any("circular import" in e["fact"] and e["value"].startswith("no:") for e in top["evidence"])
    assert not any(f["cause"] == "circular-import" for f in report["findings"][:1])


def test_email_py_hides_the_standard_library_from_a_package_that_needs_it(tabulate_python, tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "email.py").write_text("# my notes about e-mail\n")
    report = json.loads(run_cli("check", "http.client", "--python", str(tabulate_python), "--json",
                                "--cwd", str(folder), cwd=tmp_path).stdout)
    top = report["findings"][0]
    assert top["cause"] == "shadowed-by-local-file", top
    assert str(folder / "email.py") in top["summary"] and "('http' imports 'email')" in top["summary"]
    assert any(e["fact"] == "the standard-library module it hides" and e["value"].endswith("email")
               for e in top["evidence"])
    assert top["fixes"][0]["kind"] == "rename"


def test_notebook_option_reads_its_kernelspec_once_and_its_pip_history(tabulate_python, tmp_path):
    """--notebook: the notebook's kernelspec is one row (not two), and a '!pip install' cell that ran another
    Python's pip leads the report, with pip into the asked interpreter as the first fix (after ensurepip: that
    venv has no pip)."""
    other = tmp_path / "other"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(other)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(other / "bin" / "python"), "install", "--quiet",
                    "pip", "tabulate==0.9.0"], check=True, capture_output=True, stdin=subprocess.DEVNULL)
    empty = tmp_path / "empty"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(empty)], check=True)
    folder = tmp_path / "nbdir"
    folder.mkdir()
    nb = folder / "work.ipynb"
    nb.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
                   "source": ["!pip install tabulate"]},
                  {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
                   "source": ["import tabulate"]}],
        "metadata": {"kernelspec": {"name": "bee", "display_name": "Bee", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))
    env = {"PATH": f"{other / 'bin'}:/usr/bin:/bin"}
    proc = run_cli("check", "tabulate", "--python", str(empty / "bin" / "python"), "--json", "--notebook",
                   str(nb), cwd=tmp_path, env=env)
    report = json.loads(proc.stdout)
    rows = [e for e in report["expected_environment"]["evidence"] if e["fact"] == "notebook kernelspec"]
    assert report["expected_environment"]["kernelspec"] == "bee" and len(rows) == 0
    top = report["findings"][0]
    assert top["cause"] == "installed-in-other-environment", top
    assert "In[1] ran '!pip install tabulate'" in top["summary"] and str(other) in top["summary"]
    # The asked venv was made --without-pip (and no uv is on PATH): pip is added with ensurepip first, never a
    # bare %pip that would end in 'No module named pip'.
    first = top["fixes"][0]
    assert first["kind"] == "pip" and first["cell"].splitlines()[0].endswith("-m ensurepip"), first
    assert first["argv"] == [str(empty / "bin" / "python"), "-m", "pip", "install", "tabulate"], first


def _base_python_with_six():
    base = Path(getattr(sys, "_base_executable", sys.executable))
    site = subprocess.run([str(base), "-s", "-c", "import six; print(six.__file__)"], capture_output=True, text=True)
    return (base, site.stdout.strip()) if site.returncode == 0 and "site-packages" in site.stdout else (None, None)


def test_user_site_copy_before_site_packages_is_named_with_both_locations(tmp_path):
    """A Python that is not a venv reads the user site before its site-packages: an old
    'pip install --user' copy of six hides the installed one (HOME is a folder of this test)."""
    base, installed = _base_python_with_six()
    if base is None:
        pytest.skip("the base interpreter has no six in its site-packages")
    home = tmp_path / "home"
    minor = "%d.%d" % sys.version_info[:2]
    user_site = home / ".local" / "lib" / f"python{minor}" / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(user_site),
                    "six==1.15.0"], check=True, capture_output=True, stdin=subprocess.DEVNULL)
    env = {"HOME": str(home)}
    work = tmp_path / "work"
    work.mkdir()
    full = dict(os.environ, **env)
    full.pop("PYTHONPATH", None)
    expected = subprocess.run([str(base), "-c", "import six; print(six.__file__)"], cwd=work, env=full,
                              capture_output=True, text=True, check=True).stdout.strip()
    assert expected == str(user_site / "six.py")
    proc = run_cli("check", "six", "--python", str(base), "--json", cwd=work, env=env)
    report = json.loads(proc.stdout)
    top = report["findings"][0]
    assert top["cause"] == "shadowed-by-local-file" and "user site-packages" in top["summary"], top
    values = [e["value"] for e in top["evidence"]]
    assert expected in values and installed in values  # both locations
    assert "pip uninstall six" in top["fixes"][0]["cell"]


def test_notebook_option_without_python_checks_the_notebooks_own_kernel(tabulate_python, tmp_path):
    """--notebook alone: the notebook names its kernel, whose kernel.json runs another Python with a PYTHONPATH
    of its own; the import is what that kernel gets (as Jupyter starts it), not dlldoctor's own Python."""
    extra = tmp_path / "kernel libs"
    extra.mkdir()
    (extra / "rtnbkmod.py").write_text("VALUE = 1\n")
    kdir = tmp_path / "jupyter" / "kernels" / "rtnbk"
    kdir.mkdir(parents=True)
    (kdir / "kernel.json").write_text(json.dumps({
        "argv": [str(tabulate_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "RT notebook kernel", "language": "python", "env": {"PYTHONPATH": str(extra)}}))
    folder = tmp_path / "nbdir"
    folder.mkdir()
    nb = folder / "work.ipynb"
    nb.write_text(json.dumps({"cells": [], "metadata": {"kernelspec": {"name": "rtnbk", "language": "python",
                                                                       "display_name": "RT notebook kernel"}},
                              "nbformat": 4, "nbformat_minor": 5}))
    env = {"JUPYTER_PATH": str(tmp_path / "jupyter"), "JUPYTER_DATA_DIR": str(tmp_path / "jupyter")}
    proc = run_cli("check", "rtnbkmod", "--json", "--notebook", str(nb), cwd=tmp_path, env=env)
    report = json.loads(proc.stdout)
    assert report["ok"] and report["findings"][0]["cause"] == "healthy", report["findings"][0]
    assert report["interpreter"]["executable"] == str(tabulate_python), report["interpreter"]
    assert imported_file_of(report) == str(extra / "rtnbkmod.py")
    assert any("notebook's kernel 'rtnbk'" in n for n in report["notes"]), report["notes"]


def imported_file_of(report: dict) -> str:
    return next(ev["value"] for ev in report["findings"][0]["evidence"] if ev["fact"] == "imported from")


def test_pythonsafepath_leaves_the_folder_out_as_python_c_does(tabulate_python, tmp_path):
    folder = tmp_path / "safe"
    folder.mkdir()
    (folder / "tabulate.py").write_text("X = 1\n")
    env = {"PYTHONSAFEPATH": "1"}
    expected = python_c_file(tabulate_python, folder, env)
    assert "site-packages" in expected
    report = check(tabulate_python, cwd=folder, env=env)
    assert imported_file(report) == expected and report["findings"][0]["cause"] == "healthy"
    assert "left out (PYTHONSAFEPATH)" in sys_path_used(report)["source"], sys_path_used(report)
