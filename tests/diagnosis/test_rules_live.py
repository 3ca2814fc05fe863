"""Rules on the machine at hand: real exceptions raised here, real venvs, real compiled extensions.

A compiled extension whose library is missing gives the loader's real error; a venv with NumPy 2 and an
old Bottleneck wheel (built against NumPy 1.x) gives a real NumPy ABI break; np.float raises for real.
"""
import importlib
import os
import shutil
import sys

import pytest

from diagkit import cells, compile_shared, evidence_text, extension_needing, have_compiler, model_context
from dllmagic.api import check, diagnose_exception
from dllmagic.failure import failure_from_text
from dllmagic.model import report_to_dict

needs_cc = pytest.mark.skipif(not have_compiler(), reason="needs a C compiler and Python.h")


def _import_error(folder, module):
    sys.path.insert(0, str(folder))
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return exc
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(module, None)
    raise AssertionError(f"{module} imported")


def test_numpy_2_with_an_extension_built_for_numpy_1(make_venv, validate_report):
    venv = make_venv("npabi", "numpy>=2", "bottleneck==1.3.7", with_pip=True)
    report = check("bottleneck", python=str(venv.python))
    validate_report(report_to_dict(report))
    top = report.top
    assert (top.kind, top.cause) == ("numpy-abi-mismatch", "numpy-2-abi")
    assert "Bottleneck 1.3.7" in top.summary and "NumPy 2." in top.summary      # both versions named
    # Both ways out, planned against the installed pins: keep NumPy 1.x, or the first Bottleneck release built
    # for NumPy 2 (bounded below its next major release).
    assert cells(top) == ['%pip install "numpy<2"', '%pip install "bottleneck<2,>=1.4.0"']
    upgrade = top.fixes[1]
    assert upgrade.runnable and upgrade.argv == (str(venv.python), "-m", "pip", "install", "bottleneck<2,>=1.4.0")
    assert "numpy-2" in evidence_text(top) and "dist-info" in evidence_text(top)


def test_np_float_raised_here_names_the_release_that_removed_it(validate_report):
    import numpy as np

    try:
        np.float  # noqa: B018 - removed in NumPy 1.24; raising it is the test
    except AttributeError as exc:
        report = diagnose_exception(exc)
    validate_report(report_to_dict(report))
    top = report.top
    assert (top.kind, top.cause) == ("dependency-conflict", "numpy-alias-removed")
    assert f"installed: {np.__version__}" in top.summary and "1.24.0" in top.summary
    assert any("write float instead of np.float" in f.title for f in top.fixes)


def _absent_system_library():
    """(library, module) for a table library this host does not have: cv2's own when possible."""
    import subprocess

    from dllmagic.knowledge import load

    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    entries = [e for e in load("library_providers")["entries"] if e["platform"] == "linux" and e["apt"]
               and not e.get("driver")]
    entries.sort(key=lambda e: "pip_alternative" not in e)
    for entry in entries:
        if f"{entry['library']} " not in cache:
            return entry, ("cv2" if entry.get("pip_alternative") else "toysys")
    pytest.skip("every library of the table is installed on this host")


@needs_cc
def test_a_missing_system_library_of_a_real_extension(tmp_path, validate_report):
    entry, module = _absent_system_library()
    extension_needing(tmp_path, module, entry["library"])
    exc = _import_error(tmp_path, module)
    assert entry["library"] in str(exc)
    report = diagnose_exception(exc)
    validate_report(report_to_dict(report))
    top = report.top
    assert (top.kind, top.cause) == ("missing-shared-library", "missing-system-library")
    if module == "cv2":
        assert top.fixes[0].cell == "%pip uninstall -y opencv-python\n%pip install opencv-python-headless"
    assert entry["apt"][0] in evidence_text(top)
    assert any(f.kind == "system-package" and not f.runnable for f in top.fixes)
    # The native loader says where it looked, when it has landed.
    try:
        import dllmagic.facts.native.loader  # noqa: F401
    except ImportError:
        return
    assert "places the loader tried" in evidence_text(top)


@needs_cc
def test_a_vendored_library_gone_from_the_wheel_folder(tmp_path, validate_report):
    site = tmp_path / "lib" / "site-packages"
    libs = site / "toyvend.libs"
    lib = compile_shared(libs, "libtoy-0123abcd.so.1", "int toy(void) { return 1; }\n", soname="libtoy-0123abcd.so.1")
    ext = "_core" + __import__("sysconfig").get_config_var("EXT_SUFFIX")
    pkg = site / "toyvend"
    src = ('#include <Python.h>\nint toy(void);\nstatic struct PyModuleDef d = {PyModuleDef_HEAD_INIT, "_core", '
           'NULL, -1, NULL};\nPyMODINIT_FUNC PyInit__core(void) { toy(); return PyModule_Create(&d); }\n')
    compile_shared(pkg, ext, src, libs=[lib.name], libdirs=[str(libs)], python=True)
    (pkg / "__init__.py").write_text("from . import _core\n")
    info = site / "toyvend-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toyvend\nVersion: 1.0\n")
    (info / "top_level.txt").write_text("toyvend\n")
    (info / "RECORD").write_text(f"toyvend/__init__.py,,\ntoyvend/{ext},,\ntoyvend.libs/{lib.name},,\n")
    # auditwheel-style RPATH ($ORIGIN/../toyvend.libs) is what real wheels use; here the file is simply gone.
    lib.unlink()
    exc = _import_error(site, "toyvend")
    sys.path.insert(0, str(site))
    try:
        report = diagnose_exception(exc)
    finally:
        sys.path.remove(str(site))
    validate_report(report_to_dict(report))
    top = report.top
    assert top.cause == "missing-vendored-library", (report.failure.module, report.failure.extension, report.target)
    assert any("toyvend==1.0" in c for c in cells(top))
    assert "toyvend.libs/libtoy-0123abcd.so.1" in evidence_text(top)      # RECORD lists it, the disk lacks it


@needs_cc
def test_an_undefined_python_c_api_symbol_means_another_python(tmp_path):
    ext = "oldpy" + __import__("sysconfig").get_config_var("EXT_SUFFIX")
    src = ('#include <Python.h>\nextern void PyFoo_RemovedInThisPython(void);\nstatic struct PyModuleDef d = '
           '{PyModuleDef_HEAD_INIT, "oldpy", NULL, -1, NULL};\nPyMODINIT_FUNC PyInit_oldpy(void) '
           '{ PyFoo_RemovedInThisPython(); return PyModule_Create(&d); }\n')
    compile_shared(tmp_path, ext, src, python=True)
    exc = _import_error(tmp_path, "oldpy")
    top = diagnose_exception(exc).top
    assert (top.kind, top.cause) == ("python-abi-mismatch", "built-for-other-python")
    assert "PyFoo_RemovedInThisPython" in top.summary


@needs_cc
def test_an_old_libstdcxx_found_first_while_a_newer_copy_exists(tmp_path):
    """A modelled machine whose conda env holds an old libstdc++ (a stub defining GLIBCXX_3.4.20 only) and
    whose system folder holds this host's real one (which has GLIBCXX_3.4.30)."""
    host = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"
    if not os.path.exists(host):
        pytest.skip("no x86-64 Debian-style libstdc++ on this host")
    root = tmp_path / "root"
    compile_shared(root / "env" / "lib", "libstdc++.so.6", "int old_stdcxx(void) { return 0; }\n",
                   soname="libstdc++.so.6", version_script="GLIBCXX_3.4.20 { global: old_stdcxx; local: *; };\n")
    system_lib = root / "usr" / "lib" / "x86_64-linux-gnu"
    system_lib.mkdir(parents=True)
    shutil.copy(host, system_lib / "libstdc++.so.6")
    (root / "env" / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    failure = failure_from_text(
        "ImportError: /env/lib/libstdc++.so.6: version `GLIBCXX_3.4.30' not found (required by "
        "/env/lib/python3.11/site-packages/scipy/_lib/_uarray/_uarray.cpython-311-x86_64-linux-gnu.so)")
    ctx = model_context(root, "scipy", failure=failure, kind="conda")
    from dllmagic.diagnosis import run_rules

    top = run_rules(ctx)[0]
    assert (top.kind, top.cause) == ("symbol-version", "older-copy-found-first")
    text = evidence_text(top)
    assert "GLIBCXX_3.4.20" in text                          # what the found copy has, read from its ELF
    assert "/usr/lib/x86_64-linux-gnu/libstdc++.so.6" in text  # the newer copy, found on the machine
    assert "GCC 12.1.0" in text
    assert any("LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu" in c for c in cells(top))
    assert any('libstdcxx-ng>=12' in c for c in cells(top))


def test_openmp_runtimes_loaded_in_this_process_are_read_from_proc_maps():
    import ctypes

    from dllmagic.facts.process import openmp_runtimes_loaded
    from dllmagic.facts.system import System

    try:
        ctypes.CDLL("libgomp.so.1")
    except OSError:
        pytest.skip("no libgomp on this host")
    found = openmp_runtimes_loaded(System.current())
    assert any(r.runtime_id == "gnu" and r.source == "/proc/self/maps" for r in found)


def test_duplicate_openmp_names_both_packages_on_a_modelled_process(tmp_path):
    from dllmagic.diagnosis import Context, run_rules
    from dllmagic.facts.system import System

    from diagkit import model_interpreter

    loaded = ("/env/Lib/site-packages/torch/lib/libiomp5md.dll", "/env/Library/bin/libiomp5md.dll")
    system = System.model("windows", str(tmp_path), loaded=loaded)
    failure = failure_from_text("OMP: Error #15: Initializing libiomp5md.dll, but found libiomp5md.dll already "
                                "initialized.")
    ctx = Context(target="torch", failure=failure, system=system, interpreter=model_interpreter("C:\\env", platform="windows"),
                  sys_path=())
    top = run_rules(ctx)[0]
    assert top.cause == "duplicate-openmp"
    assert "torch" in top.summary and "conda environment" in top.summary
    assert "%env KMP_DUPLICATE_LIB_OK=TRUE" in cells(top)


def test_cannot_import_name_without_a_path_in_a_live_process(monkeypatch):
    # An AttributeError on a module and an ImportError raised without .path reach the cannot-import-name
    # rule with no file: the own-project check must not read a path that is not there (strict mode raises).
    from dllmagic.api import diagnose_exception

    monkeypatch.setenv("DLLMAGIC_STRICT", "1")
    for exc in (ImportError("cannot import name 'nothing_here' from 'json' (unknown location)", name="json"),
                ImportError("cannot import name 'x' from partially initialized module 'nosuchpkg_abc' "
                            "(most likely due to a circular import)", name="nosuchpkg_abc")):
        try:
            raise exc
        except ImportError as raised:
            report = diagnose_exception(raised)
        assert report.findings and report.findings[0].kind == "cannot-import-name", report


def test_a_name_a_package_says_moved_to_another_distribution(tmp_path, validate_report):
    # A package raising pydantic 2's own wording from its module __getattr__, as pydantic's migration shim
    # does: the finding names the distribution, offers its install to insert (never one click: a message can
    # name any project) and says where to import it from.
    pkg = tmp_path / "shimpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "class ShimImportError(ImportError):\n    pass\n\n"
        "def __getattr__(name):\n"
        "    raise ShimImportError(f'`{name}` has been moved to the `shimpkg-settings` package. See '\n"
        "                          'https://example.invalid/migration for more details.')\n")
    (tmp_path / "app.py").write_text("from shimpkg import BaseSettings\n")
    exc = _import_error(tmp_path, "app")
    report = diagnose_exception(exc)
    validate_report(report_to_dict(report))
    top = report.findings[0]
    assert (top.kind, top.cause) == ("cannot-import-name", "name-not-in-installed-version")
    assert "shimpkg-settings" in top.summary
    installs = [f for f in top.fixes if "shimpkg-settings" in (f.cell or "")]
    assert installs and not any(f.runnable for f in installs)
    # A hostile "distribution" in the message never reaches a cell.
    hostile = ImportError("`X` has been moved to the `evil; rm -rf ~` package.")
    try:
        raise hostile
    except ImportError as raised:
        report = diagnose_exception(raised)
    assert all("rm -rf" not in (f.cell or "") for finding in report.findings for f in finding.fixes)


def test_the_working_folder_on_sys_path_twice_is_no_shadow(tmp_path, monkeypatch):
    # A kernel's sys.path holds the working folder as '' (or '.') and often by its full path too: the user's own
    # package found there is one folder, not a file hiding "the real" package of the same name.
    (tmp_path / "mylocal").mkdir()
    (tmp_path / "mylocal" / "__init__.py").write_text("x = 1\n")
    (tmp_path / "app_uses_mylocal.py").write_text("from mylocal import Thing\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(".")
    try:
        importlib.import_module("app_uses_mylocal")
    except ImportError as exc:
        report = diagnose_exception(exc)
    finally:
        sys.modules.pop("app_uses_mylocal", None)
        sys.modules.pop("mylocal", None)
    top = report.findings[0]
    assert (top.kind, top.cause) == ("cannot-import-name", "unexplained"), top.summary
    assert "defines no 'Thing'" in top.summary
    assert all(f.cause != "shadowed-by-local-file" for f in report.findings)
