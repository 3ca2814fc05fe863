"""Key facts read from the wordings of the programs that print them, in the forms pastes take.

The texts of the first tests are raised for real (ctypes, ``python -m``).  The others are constructed
from the emitters' message templates (glibc, dyld, musl, CPython's Windows loader, ctypes, cffi, cuDNN,
PyInstaller's bootloader and importer, gdb, NumPy) filled in with made-up but realistic names and paths,
then pasted as people paste them (wrapped, quotes lost, blanks doubled); none is copied from the corpus.
"""
from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

from dllmagic import failure as F


def facts(text: str) -> dict:
    return F.key_facts(F.failure_from_text(text))


# -- raised for real ------------------------------------------------------------------------------------
def test_found_path_is_given_as_the_text_writes_it(tmp_path):
    # glibc prints the path dlopen() was given; the rules read it normalised, the facts as written.
    (tmp_path / "lib").mkdir()
    written = f"{tmp_path}/bin/../lib/libdllmagic_absent.so.3"
    try:
        ctypes.CDLL(written)
    except OSError as exc:
        failure = F.failure_from_exception(exc)
    else:
        pytest.fail("CDLL loaded a library that does not exist")
    assert failure.kind == "missing-shared-library"
    assert F.key_facts(failure)["found_path"] == written
    assert dict(failure.details)["found_path"] == f"{tmp_path}/lib/libdllmagic_absent.so.3"
    assert failure.library == "libdllmagic_absent.so.3"


def test_interpreter_that_printed_no_module_named_is_the_found_path():
    run = subprocess.run([sys.executable, "-m", "dllmagic_no_such_module_xyz"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode != 0
    got = facts(run.stderr)
    assert got["failing_module"] == "dllmagic_no_such_module_xyz"
    assert got["found_path"] == sys.executable
    assert "missing_library" not in got      # the interpreter is not a library that is missing


# -- the name a lookup did not find ---------------------------------------------------------------------
@pytest.mark.parametrize("text, module, name", [
    ("ImportError: cannot import name 'url_quote' from 'werkzeug.urls' (/srv/app/.venv/lib/python3.11/"
     "site-packages/werkzeug/urls.py)", "werkzeug.urls", "url_quote"),
    ("ImportError: cannot import name 'builder' from 'google.protobuf.internal'", "google.protobuf.internal",
     "builder"),
    ("ImportError: cannot import name 'Client' from partially initialized module 'acme' (most likely due to a "
     "circular import) (C:\\Users\\Ann Lee\\work\\acme.py)", "acme", "Client"),
])
def test_from_import_name_is_the_missing_symbol(text, module, name):
    got = facts(text)
    assert (got["failing_module"], got["missing_symbol"]) == (module, name)


@pytest.mark.parametrize("alias", ["bool", "float", "int", "object"])
def test_numpy_removed_alias_names_numpy_without_a_traceback(alias):
    got = facts(f"AttributeError: module 'numpy' has no attribute '{alias}'.\n"
                f"`np.{alias}` was a deprecated alias for the builtin `{alias}`.")
    assert got == {"failing_module": "numpy", "missing_symbol": alias}


def test_numpy_removed_alias_under_a_traceback_names_the_package_that_used_it():
    text = ('Traceback (most recent call last):\n  File "/srv/train.py", line 3, in <module>\n'
            "    import plotkit\n"
            '  File "/srv/.venv/lib/python3.12/site-packages/plotkit/__init__.py", line 9, in <module>\n'
            "    DTYPES = (np.float, np.int)\n"
            "AttributeError: module 'numpy' has no attribute 'float'.")
    assert facts(text)["failing_module"] == "plotkit"


# -- glibc / musl / dyld as pasted ----------------------------------------------------------------------
@pytest.mark.parametrize("sep", [": ", ":", ":  ", ":\n", ": \n  "])
def test_undefined_symbol_however_the_line_was_cut(sep):
    path = "/opt/conda/lib/python3.10/site-packages/fastops/_core.cpython-310-x86_64-linux-gnu.so"
    got = facts(f"ImportError: {path}{sep}undefined symbol:  _ZN3c104cuda9SetDeviceEi")
    assert got["missing_symbol"] == "_ZN3c104cuda9SetDeviceEi"
    assert got["found_path"] == path


def test_dyld4_symbol_in_parentheses():
    text = ("[PYI-4242:ERROR] Failed to load Python shared library '/var/folders/ab/T/_MEIx1/libpython3.11.dylib': "
            "dlopen: dlopen(/var/folders/ab/T/_MEIx1/libpython3.11.dylib, 0x000A): Symbol not found: (_preadv)\n"
            "  Referenced from: '/private/var/folders/ab/T/_MEIx1/libpython3.11.dylib'\n"
            "  Expected in: '/usr/lib/libSystem.B.dylib'")
    failure = F.failure_from_text(text)
    assert failure.kind == "missing-symbol"
    assert failure.symbol == "_preadv"


def test_dyld_referenced_from_and_expected_in_without_the_symbol_line():
    path = "/usr/local/Cellar/python@3.9/3.9.1/lib/python3.9/lib-dynload/_ssl.cpython-39-darwin.so"
    failure = F.failure_from_text(f"  Referenced from: {path}\n  Expected in: flat namespace\n in {path}")
    assert failure.kind == "missing-symbol"
    assert F.key_facts(failure)["found_path"] == path


def test_musl_initial_exec_tls():
    path = "/usr/lib/python3.11/site-packages/rapidparse.abi3.so"
    failure = F.failure_from_text(f"ImportError: Error relocating {path}: (null): initial-exec TLS resolves to "
                                  f"dynamic definition in {path}")
    assert failure.kind == "native-init-failed"
    assert F.key_facts(failure)["found_path"] == path


def test_gdb_frame_names_the_library_a_sigill_stopped_in():
    text = ("Program received signal SIGILL, Illegal instruction.\n"
            "0x00007ffff5a1c0de in avx512_kernel_init () from /srv/.venv/lib/python3.10/site-packages/fastmath.so")
    failure = F.failure_from_text(text)
    assert failure.kind == "unsupported-cpu"
    assert F.key_facts(failure)["found_path"] == "/srv/.venv/lib/python3.10/site-packages/fastmath.so"


# -- Windows: the library a message names, or the code that named it ------------------------------------
@pytest.mark.parametrize("message", ["The specified module could not be found", "找不到指定的模块。",
                                     "Le module spécifié est introuvable"])
def test_winerror_126_library_from_the_loader_call_of_the_traceback(message):
    text = ('Traceback (most recent call last):\n'
            '  File "C:\\Users\\Ann Lee\\geo\\shapes.py", line 154, in <module>\n'
            "    _lib = CDLL(os.path.join(sys.prefix, 'Library', 'bin', 'geom_c.dll'))\n"
            '  File "C:\\Python311\\Lib\\ctypes\\__init__.py", line 376, in __init__\n'
            "    self._handle = _dlopen(self._name, mode)\n"
            f"OSError: [WinError 126] {message}")
    failure = F.failure_from_text(text)
    assert failure.kind == "missing-shared-library"
    assert failure.library == "geom_c.dll"


def test_winerror_193_library_from_a_loader_call_quoted_in_prose():
    got = facts('calling ctypes.CDLL("VendorSDK.dll") fails:  [WinError 193] %1 不是有效的 Win32 应用程序。')
    assert got["missing_library"] == "VendorSDK.dll"


@pytest.mark.parametrize("text", [
    "FileNotFoundError: Could not find module 'C:\\tools\\zb\\libzbar-64.dll' (or one of its dependencies). "
    "Try using the full path with constructor syntax.",
    "Could not find module: C:\\tools\\zb\\libzbar-64.dll' (or one of its dependencies). "
    "Try using the full path with constructor syntax.",
])
def test_ctypes_could_not_find_module_with_its_quotes_lost(text):
    failure = F.failure_from_text(text)
    assert failure.kind == "missing-shared-library"
    assert failure.library == "libzbar-64.dll"


def test_torch_error_loading_with_its_opening_quote_lost():
    got = facts('OSError: [WinError 127] Error loading \\torch\\lib\\c10_cuda.dll" or one of its dependencies.')
    assert got["missing_library"] == "c10_cuda.dll"


@pytest.mark.parametrize("text, library", [
    ("Could not load library cudnn_cnn_infer64_8.dll. Error code 126\n"
     "Please make sure cudnn_cnn_infer64_8.dll is in your library path!", "cudnn_cnn_infer64_8.dll"),
    ("Could not locate cudnn_ops_infer64_8.dll. Please make sure it is in your library path!",
     "cudnn_ops_infer64_8.dll"),
])
def test_cudnn_sub_library_messages(text, library):
    failure = F.failure_from_text(text)
    assert failure.kind == "missing-shared-library"
    assert failure.library == library


@pytest.mark.parametrize("text, kind", [
    ("Error loading Python DLL: C:\\app\\dist\\tool\\python311.dll (error code 126)", "missing-shared-library"),
    ("Error loading Python DLL: C:\\app\\dist\\tool\\python311.dll (error code 193)", "architecture-mismatch"),
    ("Error loading Python DLL 'C:\\Users\\ann\\AppData\\Local\\Temp\\_MEI51234\\python311.dll'.\n"
     "LoadLibrary: The specified module could not be found.", "missing-shared-library"),
    ("[PYI-26060:ERROR] Failed to load Python DLL 'C:\\Users\\ann\\AppData\\Local\\Temp\\_MEI51234\\python311.dll'.\n"
     "[PYI-26060:ERROR] LoadLibrary: Die angegebene Prozedur wurde nicht gefunden.", "missing-symbol"),
])
def test_pyinstaller_bootloader_error_loading_python_dll(text, kind):
    failure = F.failure_from_text(text)
    assert failure.kind == kind
    assert failure.library == "python311.dll"


@pytest.mark.parametrize("first, code, kind", [
    ("", "0x7e", "missing-shared-library"),
    ("cannot load library 'C:\\Program Files\\GTK3 Runtime\\bin\\libcairo-2.dll': error 0x7f\n", "0x7e",
     "missing-symbol"),
    ("cannot load library 'D:\\gtk\\bin\\libcairo-2.dll': error 0xc1\n", "0xc1", "architecture-mismatch"),
])
def test_cffi_candidates_the_dll_line_decides(first, code, kind):
    text = ('OSError: no library called "cairo-2" was found\n' + first
            + "cannot load library 'libcairo.so.2': error 0x7e\n"
            "cannot load library 'libcairo.2.dylib': error 0x7e\n"
            f"cannot load library 'libcairo-2.dll': error {code}")
    failure = F.failure_from_text(text)
    assert failure.kind == kind
    assert failure.library == "libcairo-2.dll"
    if first:
        assert F.key_facts(failure)["found_path"] == first.split("'")[1]


# -- modules --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("importer", ["pyimod02_importers", "pyimod03_importers"])
def test_frozen_app_module_from_the_importer_frames(importer):
    text = ('Traceback (most recent call last):\n  File "app.py", line 14, in <module>\n'
            f'  File "PyInstaller\\loader\\{importer}.py", line 476, in exec_module\n'
            '  File "imgkit\\codecs\\__init__.py", line 5, in <module>\n'
            "ImportError: numpy.core.multiarray failed to import")
    assert facts(text)["failing_module"] == "imgkit.codecs"


@pytest.mark.parametrize("text", [
    "ImportError: numpy.core.multiarray failed to import",
    "module compiled against API version 0x10 but this version of numpy is 0xe Traceback (most recent call "
    'last):   File "<stdin>", line 1, in <module> ImportError: numpy.core.multiarray failed to import',
])
def test_numpy_c_api_module_when_nothing_else_names_one(text):
    failure = F.failure_from_text(text)
    assert failure.kind == "numpy-abi-mismatch"
    assert failure.module == "numpy.core.multiarray"


def test_numpy_c_api_failure_under_an_import_names_the_importing_extension():
    text = ('Traceback (most recent call last):\n  File "run.py", line 1, in <module>\n    import fastimg\n'
            "ImportError: numpy.core.multiarray failed to import")
    assert facts(text)["failing_module"] == "fastimg"


def test_numpy_size_changed_with_widened_blanks():
    failure = F.failure_from_text("RuntimeWarning: numpy.dtype size   changed, may indicate binary "
                                  "incompatibility. Expected 96, got 88")
    assert failure.kind == "numpy-abi-mismatch"


def test_quotes_nested_four_deep_lose_every_level():
    body = ("ImportError: dlopen(/usr/local/lib/python3.9/site-packages/geo/_ext.so, 2): no suitable image found."
            "  Did find:\n    /usr/local/lib/python3.9/site-packages/geo/_ext.so: mach-o, but wrong architecture")
    quoted = "\n".join("> > > > " + line for line in body.split("\n"))
    assert facts(quoted) == facts(body)
    assert facts(body)["found_path"] == "/usr/local/lib/python3.9/site-packages/geo/_ext.so"


# -- pastes: quotes and terminal wraps together -----------------------------------------------------------
def _wrap(text: str, width: int) -> str:
    """A terminal's hard wrap: every line cut into pieces of ``width`` characters."""
    return "\n".join(line[i: i + width] for line in text.split("\n") for i in range(0, max(len(line), 1), width))


@pytest.mark.parametrize("width", [80, 100, 120])
def test_a_quote_wrapped_by_a_terminal_reads_as_the_quote(width):
    # A quoted traceback pasted into a terminal: the pieces of a cut line have no "> "; the cut falls
    # anywhere (inside "Library", inside a path) as the path's length moves it.
    for pad in range(60):
        body = ('Traceback (most recent call last):\n  File "/Users/ann/proj/run.py", line 3, in <module>\n'
                "    from fastio import Reader\n"
                f"ImportError: dlopen(/Users/ann/{'p' * pad}/site-packages/fastio.cpython-311-darwin.so, 2): "
                "Library not loaded: @rpath/libzstd.1.dylib")
        quoted = "\n".join("> " + line for line in body.split("\n"))
        assert facts(_wrap(quoted, width)) == facts(body), pad
        assert facts(body)["missing_library"] == "libzstd.1.dylib"


def test_dyld_lines_after_a_line_that_fills_the_width_stay_lines_of_their_own():
    head = "ImportError: dlopen(/opt/x/_e.so, 2): Library not loaded: "
    path = "/usr/" + "g" * (80 - len(head) - len("/usr//libquad.0.dylib")) + "/libquad.0.dylib"
    line = head + path
    assert len(line) == 80      # a terminal's width: the next line could have been a piece of this one
    failure = F.failure_from_text(line + "\nReferenced from: /opt/x/_e.so\nReason: image not found")
    assert failure.library == "libquad.0.dylib"
    assert dict(failure.details)["found_path"] == path


@pytest.mark.parametrize("text", [
    "The procedure entry point OPENSSL_sk_new_reserve could not be located in the dynamic link library "
    "C:\\Program Files\\Python311\\DLLs\\_ssl.pyd.",
    "无法定位程序输入点 OPENSSL_sk_new_reserve 于动态链接库 C:\\Program Files\\Python311\\DLLs\\_ssl.pyd 上。",
    'Der Prozedureinsprungpunkt "OPENSSL_sk_new_reserve" wurde in der DLL '
    '"C:\\Program Files\\Python311\\DLLs\\_ssl.pyd" nicht gefunden.',
])
def test_windows_entry_point_dialog_in_english_chinese_and_german(text):
    failure = F.failure_from_text(text)
    assert failure.kind == "missing-symbol"
    got = F.key_facts(failure)
    assert got["missing_symbol"] == "OPENSSL_sk_new_reserve"
    assert got["found_path"] == "C:\\Program Files\\Python311\\DLLs\\_ssl.pyd"


def test_a_quote_a_logger_printed_loses_the_prefix_and_the_marks():
    body = ("ImportError: dlopen(/usr/local/lib/python3.9/site-packages/geo/_ext.so, 2): no suitable image found."
            "  Did find:\n    /usr/local/lib/python3.9/site-packages/geo/_ext.so: mach-o, but wrong architecture")
    logged = "\n".join(f"2026-12-07 10:00:0{i},123 ERROR > > {line}" for i, line in enumerate(body.split("\n")))
    assert facts(logged) == facts(body)


def test_a_flattened_traceback_quoted_on_one_line():
    line = ("> from google.protobuf.internal import builder as _builder ImportError: cannot import name 'builder' "
            "from 'google.protobuf.internal' (/srv/.venv/lib/python3.10/site-packages/google/protobuf/internal/"
            "__init__.py)")
    assert facts(line) == facts(line[2:])
    assert facts(line)["failing_module"] == "google.protobuf.internal"


def test_frozen_app_frames_as_ipython_prints_them():
    text = ("File client.py:14, in <module>\n\nFile PyInstaller\\loader\\pyimod03_importers.py:476, in exec_module\n\n"
            "File imgkit\\codecs\\__init__.py:5, in <module>\n\nImportError: numpy.core.multiarray failed to import")
    assert facts(text)["failing_module"] == "imgkit.codecs"
