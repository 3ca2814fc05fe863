"""failure.py over real raised exceptions, real chains, real native extensions, and the knowledge tables.

Every exception here is raised for real: missing modules are imported, circular packages are written
to a temporary folder and imported, extension modules are compiled with the system C compiler and
loaded (POSIX), and ctypes loads a library that is not there.
"""
from __future__ import annotations

import ctypes
import importlib
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import time
from pathlib import Path

import pytest

from dllmagic import failure as F
from dllmagic import knowledge
from dllmagic.model import KINDS, Failure

KNOWLEDGE = Path(knowledge.__file__).resolve().parent


def raised(fn):
    """The exception ``fn()`` raises (the test fails when it raises none)."""
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - we want whatever it raises
        return exc
    pytest.fail(f"{fn} raised nothing")


@pytest.fixture
def tmp_sys_path(tmp_path, monkeypatch):
    """A temporary folder on sys.path; modules imported from it are forgotten afterwards."""
    before = set(sys.modules)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


# -- Python-level failures ---------------------------------------------------------------------------
def test_missing_module_is_module_not_found():
    exc = raised(lambda: importlib.import_module("dllmagic_no_such_module_xyz"))
    assert F.is_import_failure(exc)
    f = F.failure_from_exception(exc)
    assert f.kind == "module-not-found"
    assert f.module == "dllmagic_no_such_module_xyz"
    assert f.exc_type == "ModuleNotFoundError"
    assert f.signature == "py-no-module-named"


def test_missing_submodule_keeps_the_dotted_name():
    exc = raised(lambda: importlib.import_module("json.dllmagic_nope"))
    f = F.failure_from_exception(exc)
    assert (f.kind, f.module) == ("module-not-found", "json.dllmagic_nope")


def test_cannot_import_name_fills_module_name_and_path():
    def go():
        from json import dllmagic_missing_name  # noqa: F401

    f = F.failure_from_exception(raised(go))
    assert f.kind == "cannot-import-name"
    assert f.module == "json"
    assert f.name == "dllmagic_missing_name"
    assert f.from_path and Path(f.from_path).name == "__init__.py"
    assert F.key_facts(f)["found_path"] == f.from_path


def test_circular_import_is_cannot_import_name(tmp_sys_path):
    (tmp_sys_path / "dm_circ_a.py").write_text("from dm_circ_b import x\ny = 1\n")
    (tmp_sys_path / "dm_circ_b.py").write_text("from dm_circ_a import y\nx = 1\n")
    exc = raised(lambda: importlib.import_module("dm_circ_a"))
    assert F.is_import_failure(exc)
    f = F.failure_from_exception(exc)
    assert f.kind == "cannot-import-name"
    assert f.signature == "py-cannot-import-name-partially-initialized"
    assert f.module == "dm_circ_a" and f.name == "y"
    assert f.from_path and f.from_path.endswith("dm_circ_a.py")


def test_partially_initialized_attribute_error(tmp_sys_path):
    # A script named like the module it imports: the classic shadowing mistake.
    (tmp_sys_path / "dm_shadow.py").write_text("import dm_shadow\ndm_shadow.compute()\n")
    exc = raised(lambda: importlib.import_module("dm_shadow"))
    assert isinstance(exc, AttributeError)
    assert F.is_import_failure(exc)
    f = F.failure_from_exception(exc)
    assert (f.kind, f.module, f.name) == ("cannot-import-name", "dm_shadow", "compute")
    assert f.from_path and f.from_path.endswith("dm_shadow.py")


def test_optional_dependency_error_raised_by_library_code(tmp_sys_path):
    # pandas-style: the import statement succeeded, a function raised ImportError later.
    (tmp_sys_path / "dm_lib.py").write_text(textwrap.dedent("""
        def read():
            try:
                import dm_openpyxl_missing  # noqa: F401
            except ImportError:
                raise ImportError("Missing optional dependency 'dm_openpyxl_missing'.  Use pip or conda.") from None
    """))
    mod = importlib.import_module("dm_lib")
    f = F.failure_from_exception(raised(mod.read))
    assert (f.kind, f.module) == ("module-not-found", "dm_openpyxl_missing")


# -- chains ------------------------------------------------------------------------------------------
def test_explicit_cause_is_followed():
    def go():
        try:
            importlib.import_module("dllmagic_missing_dep")
        except ImportError as exc:
            raise RuntimeError("could not start the plotting backend") from exc

    exc = raised(go)
    assert F.is_import_failure(exc)
    f = F.failure_from_exception(exc)
    assert (f.kind, f.module, f.exc_type) == ("module-not-found", "dllmagic_missing_dep", "ModuleNotFoundError")


def test_implicit_context_is_followed():
    def go():
        try:
            importlib.import_module("dllmagic_missing_ctx")
        except ImportError:
            raise ValueError("backend unavailable")

    f = F.failure_from_exception(raised(go))
    assert (f.kind, f.module) == ("module-not-found", "dllmagic_missing_ctx")


def test_cyclic_chain_terminates():
    a = ValueError("a")
    b = ImportError("No module named 'dm_cycle'", name="dm_cycle")
    a.__context__ = b
    b.__context__ = a
    f = F.failure_from_exception(a)
    assert (f.kind, f.module) == ("module-not-found", "dm_cycle")
    assert F.is_import_failure(a)


def test_most_specific_failure_in_the_chain_wins():
    # Inner: the real DLL error with name/path set by the import system; outer: TensorFlow's wrapper whose
    # message embeds the inner traceback.
    ext = r"C:\Users\me\venv\Lib\site-packages\tensorflow\python\_pywrap_tensorflow_internal.pyd"
    inner_msg = ("DLL load failed while importing _pywrap_tensorflow_internal: "
                 "A dynamic link library (DLL) initialization routine failed.")

    def go():
        try:
            raise ImportError(inner_msg, name="tensorflow.python._pywrap_tensorflow_internal", path=ext)
        except ImportError:
            raise ImportError("Traceback (most recent call last):\n"
                              f"ImportError: {inner_msg}\n\n\nFailed to load the native TensorFlow runtime.\n")

    f = F.failure_from_exception(raised(go))
    assert f.kind == "native-init-failed"
    assert f.module == "tensorflow.python._pywrap_tensorflow_internal"
    assert f.extension == ext
    assert dict(f.details)["windows_code"] == "1114"


def test_wrapper_alone_takes_the_kind_of_the_embedded_error():
    text = textwrap.dedent("""\
        Traceback (most recent call last):
          File "C:\\Python38\\lib\\site-packages\\tensorflow\\python\\pywrap_tensorflow.py", line 64, in <module>
            from tensorflow.python._pywrap_tensorflow_internal import *
        ImportError: DLL load failed while importing _pywrap_tensorflow_internal: Das angegebene Modul wurde nicht gefunden.


        Failed to load the native TensorFlow runtime.
    """)
    f = F.failure_from_exception(raised(lambda: (_ for _ in ()).throw(ImportError(text))))
    assert f.kind == "missing-shared-library"
    assert f.module == "tensorflow.python._pywrap_tensorflow_internal"
    assert dict(f.details)["message_language"] == "de"


def test_exception_group_members_are_examined():
    if sys.version_info < (3, 11):
        pytest.skip("ExceptionGroup is Python 3.11+")
    group = ExceptionGroup("several", [KeyError("k"), ModuleNotFoundError("No module named 'dm_g'", name="dm_g")])  # noqa: F821
    assert F.is_import_failure(group)
    assert F.failure_from_exception(group).module == "dm_g"


# -- text-matched exceptions (not ImportError) -----------------------------------------------------
@pytest.mark.parametrize("exc, kind", [
    (TypeError("Descriptors cannot be created directly.\nIf this call came from a _pb2.py file ..."), "dependency-conflict"),
    (AttributeError("module 'numpy' has no attribute 'float'.\n`np.float` was a deprecated alias"), "dependency-conflict"),
    (AttributeError("_ARRAY_API not found"), "numpy-abi-mismatch"),
    (ValueError("numpy.dtype size changed, may indicate binary incompatibility. Expected 96 from C header, "
                "got 88 from PyObject"), "numpy-abi-mismatch"),
    (OSError("[WinError 126] The specified module could not be found. Error loading "
             "\"C:\\venv\\Lib\\site-packages\\torch\\lib\\c10.dll\" or one of its dependencies."), "missing-shared-library"),
    (OSError("libGL.so.1: cannot open shared object file: No such file or directory"), "missing-shared-library"),
    (RuntimeError("CUDA driver version is insufficient for CUDA runtime version"), "gpu-runtime"),
    (SystemError("/x/_ext.so: undefined symbol: _PyThreadState_UncheckedGet"), "python-abi-mismatch"),
])
def test_text_signatures_on_other_exception_types(exc, kind):
    assert F.is_import_failure(exc)
    assert F.failure_from_exception(exc).kind == kind


@pytest.mark.parametrize("exc", [
    ValueError("invalid literal for int() with base 10: 'x'"),
    KeyError("numpy"),
    TypeError("unsupported operand type(s) for +: 'int' and 'str'"),
    AttributeError("'NoneType' object has no attribute 'shape'"),
    RuntimeError("Segmentation fault in my own parser"),   # crash texts are not live signatures
    ZeroDivisionError("division by zero"),
])
def test_ordinary_errors_are_not_import_failures(exc):
    assert not F.is_import_failure(exc)
    assert F.failure_from_exception(exc) is None


def test_unmatched_import_error_is_unknown_not_none():
    f = F.failure_from_exception(ImportError("something nobody has seen before"))
    assert f.kind == "unknown" and f.exc_type == "ImportError"


def test_broken_str_never_raises():
    class Nasty(ImportError):
        def __str__(self):
            raise RuntimeError("boom")

    f = F.failure_from_exception(Nasty())
    assert isinstance(f, Failure)
    assert F.is_import_failure(Nasty())


def test_is_import_failure_is_cheap():
    F.is_import_failure(ValueError("warm up"))      # compiles the combined regex once
    typical = ValueError("could not broadcast input array from shape (3,) into shape (4,) " * 20)
    start = time.perf_counter()
    for _ in range(50):
        F.is_import_failure(typical)
    assert (time.perf_counter() - start) / 50 < 0.01
    # A huge message (a dumped array) is cut to its head and tail, and no pattern backtracks badly.
    for text in ("x" * 1_000_000, "ab-" * 300_000, "'a' " * 250_000, "x " * 500_000):
        start = time.perf_counter()
        assert not F.is_import_failure(ValueError(text))
        assert time.perf_counter() - start < 0.5


# -- native failures, for real ---------------------------------------------------------------------
def test_ctypes_missing_library_for_real():
    name = "libdllmagic_absent.so.1" if sys.platform.startswith("linux") else (
        "dllmagic_absent.dll" if sys.platform == "win32" else "/nonexistent/libdllmagic_absent.dylib")
    exc = raised(lambda: ctypes.CDLL(name))
    assert F.is_import_failure(exc)
    f = F.failure_from_exception(exc)
    assert f.kind == "missing-shared-library"
    assert f.library and "dllmagic_absent" in f.library


CC = shutil.which("cc") or shutil.which("gcc")
EXT_SOURCE = """
#include <Python.h>
extern int %(fn)s(void);
static PyObject *call(PyObject *self, PyObject *args) { return PyLong_FromLong(%(fn)s()); }
static PyMethodDef methods[] = {{"call", call, METH_NOARGS, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "%(name)s", NULL, -1, methods};
PyMODINIT_FUNC PyInit_%(name)s(void) { return PyModule_Create(&def); }
"""


def _build_extension(site: Path, package: str, name: str, fn: str, link_lib: str = "") -> Path:
    """Compile ``<site>/<package>/<name><EXT_SUFFIX>`` calling ``fn``, optionally linked to ``link_lib``."""
    pkg = site / package
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    src = site / f"{name}.c"
    src.write_text(EXT_SOURCE % {"fn": fn, "name": name})
    out = pkg / f"{name}{sysconfig.get_config_var('EXT_SUFFIX')}"
    cmd = [CC, "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}", str(src), "-o", str(out)]
    if sys.platform == "darwin":
        cmd[1:1] = ["-undefined", "dynamic_lookup"]
    if link_lib:
        cmd += [f"-L{site}", f"-l{link_lib}", f"-Wl,-rpath,{site}"]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


needs_cc = pytest.mark.skipif(CC is None or sys.platform == "win32", reason="needs a C compiler on a POSIX system")


@needs_cc
def test_extension_needing_a_missing_library(tmp_sys_path):
    site = tmp_sys_path / "site-packages"
    site.mkdir()
    lib = site / ("libdmdep.dylib" if sys.platform == "darwin" else "libdmdep.so")
    (site / "dep.c").write_text("int dm_dep_value(void) { return 42; }\n")
    subprocess.run([CC, "-shared", "-fPIC", str(site / "dep.c"), "-o", str(lib)]
                   + (["-install_name", str(lib)] if sys.platform == "darwin" else []), check=True)
    ext = _build_extension(site, "dmpkg", "_needslib", "dm_dep_value", link_lib="dmdep")
    lib.unlink()
    sys.path.insert(0, str(site))
    try:
        exc = raised(lambda: importlib.import_module("dmpkg._needslib"))
    finally:
        sys.path.remove(str(site))
    f = F.failure_from_exception(exc)
    assert f.kind == "missing-shared-library"
    assert f.module == "dmpkg._needslib"
    assert f.library == lib.name
    assert f.extension == str(ext)


@needs_cc
@pytest.mark.parametrize("fn, kind", [("dm_function_nobody_defines", "missing-symbol"),
                                      ("PyDllmagic_NoSuchCApi", "python-abi-mismatch")])
def test_extension_with_an_undefined_symbol(tmp_sys_path, fn, kind):
    site = tmp_sys_path / "site-packages"
    ext = _build_extension(site, "dmsym", f"_u{kind[:3]}", fn)
    sys.path.insert(0, str(site))
    try:
        exc = raised(lambda: importlib.import_module(f"dmsym._u{kind[:3]}"))
    finally:
        sys.path.remove(str(site))
    f = F.failure_from_exception(exc)
    assert f.kind == kind
    assert f.symbol.lstrip("_") == fn
    assert f.module == f"dmsym._u{kind[:3]}"
    assert F.key_facts(f)["found_path"] == str(ext)


# -- records from a child process ------------------------------------------------------------------
def test_failure_from_records_matches_the_live_chain():
    def go():
        try:
            importlib.import_module("dllmagic_rec_missing")
        except ImportError as exc:
            raise RuntimeError("wrapped") from exc

    exc = raised(go)
    import traceback
    records = []
    for e in (exc, exc.__cause__):
        records.append({"type": type(e).__name__, "module": type(e).__module__, "message": str(e),
                        "name": getattr(e, "name", None), "path": getattr(e, "path", None),
                        "traceback": "".join(traceback.format_tb(e.__traceback__))})
    live = F.failure_from_exception(exc)
    from_records = F.failure_from_records(records)
    assert (from_records.kind, from_records.module) == (live.kind, live.module)
    assert F.failure_from_records([]) is None
    assert F.failure_from_records([{"type": "ValueError", "message": "x"}]) is None


def test_records_carry_extension_path():
    rec = [{"type": "ImportError", "module": "builtins",
            "message": "/srv/venv/lib/python3.12/site-packages/grpc/_cython/cygrpc.cpython-312-x86_64-linux-gnu.so: "
                       "undefined symbol: _ZN4absl12lts_2023080212log_internal10LogMessageD1Ev",
            "name": "grpc._cython.cygrpc",
            "path": "/srv/venv/lib/python3.12/site-packages/grpc/_cython/cygrpc.cpython-312-x86_64-linux-gnu.so",
            "traceback": '  File "/srv/app.py", line 1, in <module>\n    import grpc\n'}]
    f = F.failure_from_records(rec)
    assert (f.kind, f.module) == ("missing-symbol", "grpc._cython.cygrpc")
    assert f.extension.endswith("cygrpc.cpython-312-x86_64-linux-gnu.so")


# -- pasted text -------------------------------------------------------------------------------------
def test_text_none_for_unrelated_or_empty():
    assert F.failure_from_text("") is None
    assert F.failure_from_text("all tests passed\n") is None
    assert F.failure_from_text("Traceback (most recent call last):\nKeyError: 'x'\n") is None


def test_text_unknown_import_error():
    f = F.failure_from_text("ImportError: the frobnicator refused to start (code 7)\n")
    assert f.kind == "unknown" and f.exc_type == "ImportError"
    # A relative import with no package is Python's own module-not-found wording.
    f = F.failure_from_text("ImportError: attempted relative import with no known parent package\n")
    assert f.kind == "module-not-found" and f.signature == "python-relative-import-no-parent"


def test_warnings_a_program_survives_do_not_outrank_the_real_error():
    text = ("W dso_loader.cc:64] Could not load dynamic library 'libcudnn.so.8'; dlerror: libcudnn.so.8: cannot open "
            "shared object file: No such file or directory\n"
            "ImportError: cannot import name 'Dense' from 'keras.layers' (/v/site-packages/keras/layers/__init__.py)\n")
    f = F.failure_from_text(text)
    assert (f.kind, f.module, f.name) == ("cannot-import-name", "keras.layers", "Dense")
    # Alone, the warning still names the missing library.
    f = F.failure_from_text(text.splitlines()[0])
    assert (f.kind, f.library) == ("missing-shared-library", "libcudnn.so.8")


def test_macos_tried_paths_keep_each_reason():
    text = ("ImportError: dlopen(/v/site-packages/pkg/_x.cpython-312-darwin.so, 0x0002): Library not loaded: "
            "@rpath/libz.1.dylib\n  Referenced from: <UUID-1> /v/site-packages/pkg/_x.cpython-312-darwin.so\n"
            "  Reason: tried: '/v/lib/libz.1.dylib' (no such file), '/usr/lib/libz.1.dylib' (no such file, not in "
            "dyld cache), '/opt/x/libz.1.dylib' (mach-o file, but is an incompatible architecture (have 'x86_64', "
            "need 'arm64'))\n")
    f = F.failure_from_text(text)
    assert f.kind == "architecture-mismatch"         # a copy was found, for the wrong CPU
    assert f.paths_tried == ("/v/lib/libz.1.dylib", "/usr/lib/libz.1.dylib", "/opt/x/libz.1.dylib")
    details = dict(f.details)
    assert details["tried /usr/lib/libz.1.dylib"] == "no such file, not in dyld cache"
    assert details["have"] == "x86_64" and details["need"] == "arm64"
    assert f.module == "pkg._x"


def test_symbol_version_names_everything():
    f = F.failure_from_text("ImportError: /usr/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not "
                            "found (required by /env/lib/python3.12/site-packages/pkg/_core.cpython-312-x86_64-linux-gnu.so)")
    assert f.kind == "symbol-version"
    assert (f.library, f.version, f.module) == ("libstdc++.so.6", "GLIBCXX_3.4.32", "pkg._core")
    assert f.required_by.endswith("_core.cpython-312-x86_64-linux-gnu.so")


@pytest.mark.parametrize("text, kind, signal", [
    ("Illegal instruction (core dumped)", "unsupported-cpu", "SIGILL"),
    ("Fatal Python error: Segmentation fault\n\nCurrent thread 0x00007f (most recent call first):\n", "import-crashed", "SIGSEGV"),
    ("Fatal Python error: Aborted\n", "import-crashed", "SIGABRT"),
    ("Windows fatal exception: code 0xc000001d\n", "unsupported-cpu", "SIGILL"),
])
def test_crash_texts_name_the_signal(text, kind, signal):
    f = F.failure_from_text(text)
    assert (f.kind, f.signal) == (kind, signal)


def test_failure_from_signal():
    assert F.failure_from_signal("SIGILL", module="tensorflow").kind == "unsupported-cpu"
    f = F.failure_from_signal("SEGV", module="torch")
    assert (f.kind, f.signal, f.module) == ("import-crashed", "SIGSEGV", "torch")
    assert set(F.KIND_OF_SIGNAL.values()) <= set(KINDS)


@pytest.mark.parametrize("text, kind, module", [
    ("ERROR: Could not find a version that satisfies the requirement tensorflow (from versions: none)\n"
     "ERROR: No matching distribution found for tensorflow", "no-compatible-release", "tensorflow"),
    ("Could not solve for environment specs\nThe following packages are incompatible\n"
     "├─ numpy 2.1 is requested and can be installed;\n└─ numba 0.58 is not installable because it requires\n"
     "   └─ numpy >=1.22,<1.27 , which conflicts with any installable versions previously reported.",
     "resolution-conflict", None),
    ("error: package tensorflow-2.10.0-py39 requires python >=3.9,<3.10.0a0, but none of the providers can be "
     "installed", "no-compatible-release", "tensorflow"),
])
def test_installer_output(text, kind, module):
    f = F.failure_from_text(text)
    assert f.kind == kind
    if module:
        assert f.module == module


# -- module names from paths ---------------------------------------------------------------------
@pytest.mark.parametrize("path, module", [
    ("/e/lib/python3.6/site-packages/torchvision/_C.cpython-36m-x86_64-linux-gnu.so", "torchvision._C"),
    ("/e/lib/python3.8/site-packages/xgboost/lib/libxgboost.dylib", "xgboost"),
    ("/e/lib/python3.8/site-packages/lightgbm/lib_lightgbm.so", "lightgbm"),
    ("/usr/local/lib/python3.4/dist-packages/pypxlib/pxlib_ctypes/libpx.so", "pypxlib.pxlib_ctypes"),
    (r"C:\venv\Lib\site-packages\torch\lib\c10.dll", "torch"),
    (r"C:\venv\Lib\site-packages\PIL\_imaging.cp311-win_amd64.pyd", "PIL._imaging"),
    ("/e/site-packages/scipy.libs/libopenblasp-r0.so", "scipy"),
    ("/home/u/imp/lib/_IMP_kernel.so", "_IMP_kernel"),
    ("/usr/local/opt/libomp/lib/libomp.dylib", None),
    ("/e/site-packages/foo-1.0-py3.8-linux-x86_64.egg/foo/_bar.cpython-38-x86_64-linux-gnu.so", "foo._bar"),
    ("/e/site-packages/pkg/module.py", None),
    # No site folder: AWS Lambda's function root and layers' folder are sys.path roots.
    ("/var/task/Crypto/Cipher/_AES.so", "Crypto.Cipher._AES"),
    ("/opt/python/nacl/_sodium.abi3.so", "nacl._sodium"),
    # No site folder: the deepest folder named like a package known to ship extension modules is its root
    # (knowledge/extension_packages.json); an unknown package keeps the bare name.
    ("/home/u/.vscode/ext/bin/linux/cryptography/hazmat/bindings/_rust.so", "cryptography.hazmat.bindings._rust"),
    ("/home/pc/data/vllm/vllm/vllm/_C.abi3.so", "vllm._C"),
    ("/home/u/src/myproj/_speedups.cpython-311-x86_64-linux-gnu.so", "_speedups"),
    ("/home/u/torch-build/torch/lib/libtorch_cpu.so", "torch"),   # a library the known package ships
    ("/home/u/build/lib/libfoo.so", None),
])
def test_module_from_path(path, module):
    assert F.module_from_path(path) == module


# -- knowledge tables ------------------------------------------------------------------------------
def test_load_is_cached_and_shaped():
    assert knowledge.load("signatures") is knowledge.load("signatures")
    assert {"signatures", "windows_messages"} <= set(knowledge.available())
    with pytest.raises(knowledge.KnowledgeError):
        knowledge.load("no_such_table")
    with pytest.raises(knowledge.KnowledgeError):
        knowledge.load("../etc/passwd")


@pytest.mark.parametrize("name", knowledge.available())
def test_every_shipped_table_has_the_shared_shape(name):
    knowledge.clear_cache()
    data = knowledge.load(name)
    assert data["entries"], name


@pytest.mark.parametrize("bad", [
    [],
    {"entries": {}},
    {"entries": [{"id": "a", "source": "https://x", "checked": "2026-01-01"},
                 {"id": "a", "source": "https://x", "checked": "2026-01-01"}]},
    {"entries": [{"id": "a", "source": "http://insecure", "checked": "2026-01-01"}]},
    {"entries": [{"id": "a", "source": "https://x", "checked": "yesterday"}]},
    {"entry_keys": ["kind"], "entries": [{"id": "a", "source": "https://x", "checked": "2026-01-01"}]},
])
def test_shape_check_refuses_bad_tables(bad):
    with pytest.raises(knowledge.KnowledgeError):
        knowledge.check_shape("t", bad)


SIGNATURE_SCHEMA = {
    "type": "object",
    "required": ["description", "entry_keys", "entries"],
    "properties": {
        "macros": {"type": "object", "additionalProperties": {"type": "string"}},
        "refinements": {"type": "array"},
        "entries": {"type": "array", "minItems": 40, "items": {
            "type": "object",
            "required": ["id", "kind", "types", "pattern", "priority", "live", "source", "checked"],
            "properties": {
                "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
                "kind": {"anyOf": [{"enum": list(KINDS) + ["$windows"]}, {"type": "null"}]},
                "types": {"anyOf": [{"const": "any"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
                "pattern": {"type": "string", "minLength": 3},
                "priority": {"type": "integer", "minimum": 0, "maximum": 100},
                "live": {"type": "boolean"},
                "flags": {"type": "string", "pattern": "^i?$"},
                "set": {"type": "object", "additionalProperties": {"type": "string"}},
                "transform": {"type": "object", "additionalProperties": {"type": "string"}},
                "fallback_kind": {"enum": list(KINDS)},
                "demote_to": {"type": "integer", "minimum": 0, "maximum": 100},
                "demote_kinds": {"type": "array", "items": {"enum": list(KINDS)}, "minItems": 1},
                "live_if": {"enum": ["module-shadowed"]},
                "source": {"type": "string", "pattern": "^https://"},
                "checked": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
            },
            "additionalProperties": {"type": "string"},
        }},
    },
}


def test_signatures_validate_against_their_schema():
    jsonschema = pytest.importorskip("jsonschema")
    data = json.loads((KNOWLEDGE / "signatures.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, SIGNATURE_SCHEMA)


def test_every_signature_compiles_and_group_names_are_known():
    sigs = F.signatures()
    assert len(sigs) >= 40
    fields = set(F._FIELDS) | {"found_path"}
    for sig in sigs:
        names = {re.sub(r"__\d+$", "", g) for g in sig.regex.groupindex}
        if sig.kind == "$windows":
            assert {"winerror", "win_text"} & names, sig.id
        # Names the Failure does not have go to details; a typo of a field name would be silent, so
        # check that no group is a near miss of a field.
        for name in names - fields:
            assert name not in {"modules", "lib", "sym", "path"}, (sig.id, name)
    kinds_covered = {s.kind for s in sigs if s.kind not in (None, "$windows")}
    expected = set(KINDS) - {"healthy", "unknown"}
    assert expected <= kinds_covered | {"missing-shared-library", "native-init-failed", "architecture-mismatch",
                                        "missing-symbol"}


def test_windows_table_covers_the_required_codes_and_languages():
    table = knowledge.load("windows_messages")
    by_code = {e["code"]: e for e in table["entries"]}
    for code in (126, 127, 193, 1114, 1455):
        langs = set(by_code[code]["messages"])
        assert {"en", "de", "fr", "es", "zh-Hans", "ja"} <= langs, code
        assert by_code[code]["kind"] in KINDS


def test_every_localised_message_maps_back_to_its_code():
    table = knowledge.load("windows_messages")
    for entry in table["entries"]:
        for language, texts in entry["messages"].items():
            for text in texts:
                code, _ = F.windows_code_of_text(text)
                assert code == entry["code"], (entry["id"], language, text)
                msg = f"DLL load failed while importing _dm: {text.replace('%1', '')}"
                f = F.failure_from_text(f"ImportError: {msg}")
                assert f.kind == entry["kind"], (entry["id"], language)
                assert f.module == "_dm"


def test_windows_code_wins_over_text_and_unknown_text_falls_back():
    f = F.failure_from_text("OSError: [WinError 127] Le texte ne correspond à rien de connu")
    assert f.kind == "missing-symbol"
    f = F.failure_from_text("ImportError: DLL load failed while importing _foo: Ein völlig unbekannter Text.")
    assert (f.kind, f.module) == ("missing-shared-library", "_foo")
    assert dict(f.details)["windows_code"] == "unknown"


def test_windows_text_variations_still_match():
    # Missing final period, extra spaces, typographic vs ASCII apostrophe.
    assert F.windows_code_of_text("The specified procedure could not be found")[0] == 127
    assert F.windows_code_of_text("  %1 n'est pas une application Win32 valide. ")[0] == 193
    assert F.windows_code_of_text("找不到指定的模块") [0] == 126
    assert F.windows_code_of_text("something else entirely") is None
