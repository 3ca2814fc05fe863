"""Real kernels: a module loaded before an upgrade is restart-needed; a local file imported by the kernel
is a shadow, never healthy (issue 17, items 2 and 3)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from verdictkit import kernel_python_with

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX venv layout")


def test_upgrade_behind_a_loaded_module_is_restart_needed(kernel_with, tmp_path, validate_report):
    python = kernel_python_with(tmp_path / "kenv", "tabulate==0.8.10")
    work = tmp_path / "nb"
    work.mkdir()
    kernel = kernel_with(python, work)
    assert kernel.execute("%load_ext dllmagic\nimport tabulate\nprint(tabulate.__version__)").stdout.strip() \
        == "0.8.10"
    before = kernel.execute("%dlldoctor tabulate").reports()[-1]  # nothing changed yet: short and healthy
    assert [f["cause"] for f in before["findings"]] == ["healthy"] and before["ok"]
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


@pytest.fixture(scope="module")
def pandas_kernel_python(tmp_path_factory):
    return kernel_python_with(tmp_path_factory.mktemp("pdenv") / "venv", "tabulate==0.9.0", "pandas")


def _hook_report(cell):
    reports = cell.reports()
    assert cell.error is not None, cell.outputs  # the user's traceback is there, untouched
    assert reports, cell.outputs
    return reports[-1]


def test_local_numpy_folder_breaks_pandas_named_in_the_live_hook(kernel_with, pandas_kernel_python, tmp_path):
    work = tmp_path / "nb"
    (work / "numpy").mkdir(parents=True)
    (work / "numpy" / "__init__.py").write_text("")
    kernel = kernel_with(pandas_kernel_python, work)
    cell = kernel.execute("%load_ext dllmagic\nimport pandas")
    assert "has no attribute '__version__'" in cell.error["content"]["evalue"]
    top = _hook_report(cell)["findings"][0]
    assert top["cause"] == "shadowed-by-local-file", top
    assert str(work / "numpy") in top["summary"] and "site-packages/numpy" in top["summary"]
    assert top["fixes"][0]["kind"] == "rename" and "my_numpy" in top["fixes"][0]["cell"]


def test_statistics_py_beside_the_notebook_is_healthy_where_the_kernel_reads_the_stdlib_first(
        kernel_with, pandas_kernel_python, tmp_path):
    """ipykernel puts the notebook's folder after the standard library (unlike 'python -c'): a local
    statistics.py does not hide the stdlib there, and the verdict follows the kernel's own sys.path."""
    work = tmp_path / "nb"
    work.mkdir()
    (work / "statistics.py").write_text("def my_summary(rows):\n    return len(rows)\n")
    kernel = kernel_with(pandas_kernel_python, work)
    kernel.execute("%load_ext dllmagic")
    where = kernel.execute("import statistics; print(statistics.__file__)").stdout.strip()
    report = kernel.execute("%dlldoctor statistics").reports()[-1]
    top = report["findings"][0]
    if where == str(work / "statistics.py"):  # an IPython that puts '' first
        assert top["cause"] == "shadowed-by-local-file"
    else:
        assert top["cause"] == "healthy" and where in top["summary"]


def test_pythonpath_copy_in_the_kernel_is_named_with_the_unset_fix(kernel_with, pandas_kernel_python, tmp_path):
    old = tmp_path / "old-copies"
    old.mkdir()
    (old / "tabulate.py").write_text("__version__ = '0.0.1'\n")
    work = tmp_path / "nb"
    work.mkdir()
    kernel = kernel_with(pandas_kernel_python, work, env={"PYTHONPATH": str(old)})
    cell = kernel.execute("%load_ext dllmagic\nfrom tabulate import tabulate")
    top = _hook_report(cell)["findings"][0]
    assert top["cause"] == "shadowed-by-local-file", top
    assert "PYTHONPATH" in top["summary"] and str(old / "tabulate.py") in top["summary"]
    assert "site-packages/tabulate" in top["summary"]
    assert top["fixes"][0]["title"] == f"Take {old} off PYTHONPATH"
    assert not any(f["kind"] == "pip" for f in top["fixes"])


def test_bang_pip_into_another_python_top_fix_is_percent_pip(kernel_with, tmp_path):
    other = tmp_path / "other"
    subprocess.run([sys.executable, "-m", "venv", str(other)], check=True)  # with its own pip
    python = kernel_python_with(tmp_path / "kenv3", pip=True)   # a kernel with pip: %pip works there
    work = tmp_path / "nb"
    work.mkdir()
    path = f"{other / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    kernel = kernel_with(python, work, env={"PATH": path})
    kernel.execute("%load_ext dllmagic")
    kernel.execute("!pip install --quiet tabulate==0.9.0", timeout=300)
    assert list((other / "lib").glob("python*/site-packages/tabulate"))  # it landed in the other Python
    cell = kernel.execute("import tabulate")
    top = _hook_report(cell)["findings"][0]
    assert top["cause"] == "installed-in-other-environment", top
    assert "!pip install" in top["summary"] and "%pip" in top["summary"]
    assert top["fixes"][0]["kind"] == "pip" and top["fixes"][0]["cell"].startswith("%pip install")


def test_extension_replaced_on_disk_after_import_is_restart_needed(kernel_with, tmp_path):
    """A gcc-built extension in site-packages, imported, then replaced by a new build: the kernel still maps
    the old file, '(deleted)' in /proc/self/maps."""
    import sysconfig

    if not os.path.exists("/proc/self/maps"):
        pytest.skip("needs /proc")
    python = kernel_python_with(tmp_path / "kenv4")
    site = next((tmp_path / "kenv4").glob("lib/python*/site-packages"))
    src = tmp_path / "swapped.c"
    src.write_text('#include <Python.h>\nstatic struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "swapped", NULL, -1};\n'
                   'PyMODINIT_FUNC PyInit_swapped(void) { return PyModule_Create(&m); }\n')
    target = site / f"swapped{sysconfig.get_config_var('EXT_SUFFIX')}"
    build = ["gcc", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}", str(src), "-o"]
    subprocess.run(build + [str(target)], check=True)
    work = tmp_path / "nb"
    work.mkdir()
    kernel = kernel_with(python, work)
    kernel.execute("%load_ext dllmagic\nimport swapped")
    target.unlink()  # what pip does when it replaces a file: a new inode under the old name
    subprocess.run(build + [str(target)], check=True)
    report = kernel.execute("%dlldoctor swapped").reports()[-1]
    top = report["findings"][0]
    assert top["cause"] == "restart-needed", top
    assert any(e["fact"] == "native library mapped but deleted on disk" and e["value"].endswith("(deleted)")
               for e in top["evidence"])
    assert not report["ok"]


def test_attribute_error_on_a_shadowing_module_gets_a_report_and_a_typo_does_not(kernel_with, tmp_path):
    # 'torch.py' beside the notebook: torch.tensor -> AttributeError. Here tabulate stands in for torch.
    python = kernel_python_with(tmp_path / "kenv3", "tabulate==0.9.0")
    work = tmp_path / "nb3"
    work.mkdir()
    (work / "tabulate.py").write_text("VALUE = 1\n")
    kernel = kernel_with(python, work)
    cell = kernel.execute("%load_ext dllmagic\nimport tabulate\ntabulate.tabulate([[1]])")
    assert "has no attribute 'tabulate'" in cell.error["content"]["evalue"]
    top = _hook_report(cell)["findings"][0]
    assert top["cause"] == "shadowed-by-local-file", top
    assert str(work / "tabulate.py") in top["summary"] and "site-packages/tabulate" in top["summary"]
    assert top["fixes"][0]["kind"] == "rename"
    typo = kernel.execute("import math\nmath.sine(1)")   # a plain typo on a real module: no report
    assert typo.error is not None and not typo.reports(), typo.outputs


def _started_kernel_then_wait(kernel_with, python, work):
    """A kernel with dllmagic loaded, then a pause: the start time the kernel reads (/proc's btime is whole
    seconds) must be before the files the test writes next."""
    import time

    kernel = kernel_with(python, work)
    assert kernel.execute("%load_ext dllmagic").status == "ok"
    time.sleep(2.5)
    return kernel


def test_pth_file_written_after_the_kernel_started_is_restart_needed(kernel_with, tmp_path, validate_report):
    """A .pth file (what `pip install -e` of a src layout, conda develop and many installers write) is read
    only at start-up: the package it points to cannot be imported until a restart; the report says so."""
    python = kernel_python_with(tmp_path / "kenv")
    work = tmp_path / "nb"
    work.mkdir()
    kernel = _started_kernel_then_wait(kernel_with, python, work)
    extra = tmp_path / "src"
    (extra / "latepkg").mkdir(parents=True)
    (extra / "latepkg" / "__init__.py").write_text("VALUE = 1\n")
    site = next((tmp_path / "kenv").glob("lib/python*/site-packages"))
    (site / "late_paths.pth").write_text(f"{extra}\n")
    res = kernel.execute("import latepkg")
    assert res.error and res.error["content"]["ename"] == "ModuleNotFoundError"
    (report,) = res.reports()
    validate_report(report)
    top = report["findings"][0]
    assert top["kind"] == "module-not-found" and top["cause"] == "restart-needed", top
    assert str(extra) in top["summary"] and "restart the kernel" in top["summary"]
    ev = {e["fact"]: (e["value"], e["source"]) for e in top["evidence"]}
    value, why = ev["'latepkg' is on disk in"]
    assert value == str(extra / "latepkg")
    assert why == "added by late_paths.pth (written after the kernel started), which is read only at start-up"
    assert [f["kind"] for f in top["fixes"]] == ["restart"]
    # The fix is right: after a restart the import works.
    kernel.restart()
    assert kernel.execute("import latepkg; print(latepkg.VALUE)").stdout.strip() == "1"


def test_editable_install_after_the_kernel_started_is_restart_needed(kernel_with, tmp_path, validate_report):
    """A real `pip install -e` of a flat-layout project (setuptools writes an editable finder and the .pth
    that installs it) while the kernel runs: `import` fails in the kernel, the report names the finder,
    and the restart it asks for makes the import work."""
    python = kernel_python_with(tmp_path / "kenv")
    work = tmp_path / "nb"
    work.mkdir()
    project = tmp_path / "flatproj"
    (project / "flatproj").mkdir(parents=True)
    (project / "flatproj" / "__init__.py").write_text("VALUE = 2\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "flatproj"\nversion = "0.1"\n\n[tool.setuptools]\npackages = ["flatproj"]\n')
    kernel = _started_kernel_then_wait(kernel_with, python, work)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "-e", str(project)],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    site = next((tmp_path / "kenv").glob("lib/python*/site-packages"))
    finders = sorted(p.name for p in site.glob("__editable__*flatproj*"))
    assert any(name.endswith("_finder.py") for name in finders), finders  # a real finder, not a path .pth
    res = kernel.execute("import flatproj")
    assert res.error and res.error["content"]["ename"] == "ModuleNotFoundError"
    (report,) = res.reports()
    validate_report(report)
    top = report["findings"][0]
    assert top["kind"] == "module-not-found" and top["cause"] == "restart-needed", top
    ev = {e["fact"]: (e["value"], e["source"]) for e in top["evidence"]}
    value, why = ev["'flatproj' is on disk in"]
    assert value.endswith("flatproj"), value
    assert "editable finder" in why and "written after the kernel started" in why, why
    assert [f["kind"] for f in top["fixes"]] == ["restart"]
    kernel.restart()
    assert kernel.execute("import flatproj; print(flatproj.VALUE)").stdout.strip() == "2"
