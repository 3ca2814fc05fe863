"""Windows DLL failures read from the text alone, when the message names no DLL: the failing package's own
well-known cause (knowledge/windows_package_dlls.json), Python's own extension modules, and error 127.

The texts have the shapes users paste (Windows' own wordings, with and without a traceback); the package
names are the only thing that differs between a text that gets a package's cause and one that does not.
"""
import pytest

from dllmagic.api import explain
from dllmagic.knowledge import tables
from dllmagic.model import report_to_dict

SITE = "C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python311\\Lib\\site-packages"


def not_found(module: str, frames: str = "") -> str:
    return ("Traceback (most recent call last):\n" + frames +
            f"ImportError: DLL load failed while importing {module}: The specified module could not be found.\n")


def procedure(module: str, frames: str = "") -> str:
    return ("Traceback (most recent call last):\n" + frames +
            f"ImportError: DLL load failed while importing {module}: The specified procedure could not be found.\n")


def frame(path: str, code: str) -> str:
    return f'  File "{path}", line 3, in <module>\n    {code}\n'


def top(text: str, validate_report):
    report = explain(text)
    validate_report(report_to_dict(report))
    return report.top


def fix_text(finding) -> str:
    return "\n".join(f"{f.title}\n{f.cell}" for f in finding.fixes)


@pytest.mark.parametrize("module", ["win32api", "win32file", "pythoncom", "win32com"])
def test_pywin32_modules_point_at_its_dll_folder_off_the_search_path(module, validate_report):
    finding = top(not_found(module), validate_report)
    assert (finding.kind, finding.cause) == ("missing-shared-library", "dll-on-path-not-searched")
    assert "pywin32_system32" in finding.summary and "Not checked" in finding.summary
    assert "pywin32_postinstall.py -install" in fix_text(finding)
    assert not any(f.runnable for f in finding.fixes)


def test_ibm_db_needs_its_cli_driver_folder_added(validate_report):
    text = not_found("ibm_db", frame(f"{SITE}\\ibm_db_dbi.py", "import ibm_db"))
    finding = top(text, validate_report)
    assert finding.cause == "dll-on-path-not-searched"
    assert "os.add_dll_directory" in fix_text(finding) and "clidriver" in fix_text(finding)


def test_opencv_names_the_media_feature_pack_and_the_vc_runtime(validate_report):
    text = not_found("cv2", frame(f"{SITE}\\cv2\\__init__.py", "from .cv2 import *"))
    finding = top(text, validate_report)
    assert (finding.kind, finding.cause) == ("missing-shared-library", "dll-not-found")
    assert "Media Feature Pack" in fix_text(finding)
    assert "Visual C++" in fix_text(finding)          # the other DLL the wheel expects from the machine


def test_an_unknown_package_still_gets_the_vc_runtime(validate_report):
    # The same text with a module no table knows: the VC++ runtime, the DLL most often missing.
    finding = top(not_found("_speedups", frame(f"{SITE}\\fastthing\\__init__.py", "from . import _speedups")),
                  validate_report)
    assert finding.cause == "vc-runtime-missing"


def test_a_standard_library_extension_is_not_the_vc_runtime(validate_report):
    text = not_found("_tkinter", frame("C:\\Program Files\\MyApp\\pkgs\\tkinter\\__init__.py", "import _tkinter"))
    finding = top(text, validate_report)
    assert (finding.kind, finding.cause) == ("missing-shared-library", "dll-not-found")
    assert "tcl86t.dll" in finding.summary and "python.exe itself runs on it" in finding.summary


def test_error_127_from_the_text_is_an_older_copy_found_first_with_the_alternatives(validate_report):
    text = procedure("_greet", frame(f"{SITE}\\greet\\__init__.py", "from . import _greet"))
    finding = top(text, validate_report)
    assert (finding.kind, finding.cause) == ("missing-symbol", "older-copy-found-first")
    assert "built against another release" in finding.summary and "Not checked" in finding.summary


def test_error_127_of_a_torch_extension_is_a_build_for_another_torch(validate_report):
    text = procedure("_C", frame(f"{SITE}\\detectron2\\layers\\deform_conv.py", "from detectron2 import _C"))
    finding = top(text, validate_report)
    assert (finding.kind, finding.cause) == ("missing-symbol", "symbol-missing")
    assert "torch" in finding.summary and "another torch release" in finding.summary


def test_error_127_of_torch_itself_is_not_a_torch_extension(validate_report):
    text = procedure("_C", frame(f"{SITE}\\torch\\__init__.py", "from torch._C import *"))
    assert top(text, validate_report).cause == "older-copy-found-first"


def test_package_table_matches_full_module_names_only():
    assert tables.windows_package_dll("win32api", 126)["id"] == "pywin32"
    assert tables.windows_package_dll("win32api", 127) is None       # 127 is not what the entry speaks for
    assert tables.windows_package_dll("mywin32api_helper", 126) is None
    assert tables.windows_package_dll("torchvision._C", 127)["id"] == "torch-cpp-extension"
    assert tables.windows_package_dll("torch._C", 127) is None
    assert tables.windows_package_dll("_C", 127) is None          # no package named: most often torch's own
    assert tables.windows_package_dll("cv2", 126)["cause"] == "dll-not-found"


def test_dlib_built_with_cuda_needs_the_cuda_and_cudnn_dlls(validate_report):
    text = not_found("_dlib_pybind11", frame(f"{SITE}\\dlib\\__init__.py", "from _dlib_pybind11 import *"))
    finding = top(text, validate_report)
    assert (finding.kind, finding.cause) == ("missing-shared-library", "cuda-library-missing")
    assert "cuDNN" in finding.summary and "DLIB_USE_CUDA=0" in fix_text(finding)


@pytest.mark.parametrize("package", ["PyQt5", "PySide6"])
def test_qt_bindings_miss_a_dll_of_their_qt_wheel(package, validate_report):
    text = not_found(f"{package}.QtCore", frame("C:\\work\\app\\main.py", f"from {package}.QtCore import Qt"))
    finding = top(text, validate_report)
    assert (finding.kind, finding.cause) == ("missing-shared-library", "dll-not-found")
    assert "python3.dll" in finding.summary and "Reinstall the bindings" in fix_text(finding)


def test_a_bare_qt_module_name_is_the_qt_bindings(validate_report):
    # Python 3.8+ names only the extension ("while importing QtCore"): still the bindings' Qt DLLs.
    finding = top(not_found("QtCore"), validate_report)
    assert finding.cause == "dll-not-found" and "python3.dll" in finding.summary


def test_kivy_window_provider_needs_the_kivy_deps_packages(validate_report):
    text = not_found("kivy.core.window._window_sdl2",
                     frame(f"{SITE}\\kivy\\core\\window\\window_sdl2.py",
                           "from kivy.core.window._window_sdl2 import _WindowSDL2Storage"))
    finding = top(text, validate_report)
    assert finding.cause == "dll-not-found" and "kivy_deps.sdl2" in finding.summary
