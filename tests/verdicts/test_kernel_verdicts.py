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
