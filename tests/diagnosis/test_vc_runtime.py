"""windows.py's vc_runtime_check on a modelled Windows machine, with and without MSVCP140.dll in System32.

The machine is a folder plus a description file (dllmagic.facts.native.machine); its System32 holds the
real Visual C++ 2015-2022 runtime DLLs from the msvc-runtime win_amd64 wheel (the wheel the PE suite
already downloads). The pasted text is TensorFlow's "DLL load failed" from that machine, whose extension
file is not in the description, so the rule can only look at System32 — what vc_runtime_check does.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "native_pe"))

from pe_kit import standins, win, win_wheels  # noqa: E402,F401,F811  (fixtures)
from dllmagic import api  # noqa: E402
from dllmagic.model import report_to_dict  # noqa: E402

SITE = "C:\\Python311\\Lib\\site-packages"
VC_DLLS = ("msvcp140.dll", "msvcp140_1.dll", "vcruntime140.dll", "vcruntime140_1.dll")
TEXT = ("Traceback (most recent call last):\n"
        f'  File "{SITE}\\tensorflow\\python\\pywrap_tensorflow.py", line 73, in <module>\n'
        "    from tensorflow.python._pywrap_tensorflow_internal import *\n"
        "ImportError: DLL load failed while importing _pywrap_tensorflow_internal: The specified module could "
        "not be found.\n")
GERMAN = ("Traceback (most recent call last):\n"
          f'  File "{SITE}\\tensorflow\\python\\pywrap_tensorflow.py", line 73, in <module>\n'
          "    from tensorflow.python._pywrap_tensorflow_internal import *\n"
          "ImportError: DLL load failed while importing _pywrap_tensorflow_internal: Das angegebene Modul wurde "
          "nicht gefunden.\n")


def _machine(win, win_wheels, names):
    data = next(win_wheels["msvc-runtime"].glob("*.data/data"))
    for name in names:
        source = next(p for p in data.rglob("*.dll") if p.name.lower() == name)
        win.put(f"C:\\Windows\\System32\\{name}", source)
    return win.load()


def _evidence(finding):
    return {e.fact: e.value for e in finding.evidence}


def test_the_real_runtime_dlls_are_what_the_machine_holds(win, win_wheels):
    machine = _machine(win, win_wheels, VC_DLLS)
    from dllmagic.facts.native.binary import read_binary

    for name in VC_DLLS:
        host = win.host(f"C:\\Windows\\System32\\{name}")
        assert read_binary(str(host)).format == "pe"            # real PE files, not placeholders
        assert machine.system.is_file(f"C:\\Windows\\System32\\{name}")


def test_msvcp140_missing_from_system32_is_vc_runtime_missing(win, win_wheels, validate_report):
    machine = _machine(win, win_wheels, [n for n in VC_DLLS if n != "msvcp140.dll"])
    report = api.explain(TEXT, machine=machine)
    validate_report(report_to_dict(report))
    top = report.top
    assert (top.kind, top.cause) == ("missing-shared-library", "vc-runtime-missing"), top.summary
    assert "msvcp140.dll missing from System32" in top.summary
    assert _evidence(top)["Visual C++ runtime DLLs in System32"] == "missing: msvcp140.dll"
    fix = top.fixes[0]
    assert fix.title.startswith("Install the Microsoft Visual C++") and "aka.ms/vs/17/release/vc_redist.x64.exe" in fix.cell

    # The same failure in the user's language (German Windows): the same check, the same answer.
    german = api.explain(GERMAN, machine=machine).top
    assert german.cause == "vc-runtime-missing"
    assert _evidence(german)["Visual C++ runtime DLLs in System32"] == "missing: msvcp140.dll"


def test_with_the_whole_runtime_in_system32_the_check_clears_it(win, win_wheels, validate_report):
    machine = _machine(win, win_wheels, VC_DLLS)
    report = api.explain(TEXT, machine=machine)
    validate_report(report_to_dict(report))
    assert all(f.cause != "vc-runtime-missing" for f in report.findings), [f.summary for f in report.findings]
    top = report.top
    assert top.kind == "missing-shared-library"
    assert _evidence(top)["Visual C++ runtime DLLs in System32"] == "all present"


def test_vc_runtime_check_itself(win, win_wheels, tmp_path):
    from dllmagic.diagnosis import Context
    from dllmagic.diagnosis.windows import vc_runtime_check
    from dllmagic.facts.native.machine import machine_interpreter
    from dllmagic.facts.system import System
    from dllmagic.failure import failure_from_text

    failure = failure_from_text(TEXT)
    machine = _machine(win, win_wheels, ["vcruntime140.dll", "msvcp140_1.dll"])
    ctx = Context(target="tensorflow", failure=failure, system=machine.system,
                  interpreter=machine_interpreter(machine), sys_path=())
    assert vc_runtime_check(ctx) == ["msvcp140.dll", "vcruntime140_1.dll"]
    # Not a Windows machine, or a text with no machine: nothing to check (None, not "all missing").
    linux = Context(target="tensorflow", failure=failure, system=System.model("linux", str(tmp_path)),
                    interpreter=ctx.interpreter, sys_path=())
    assert vc_runtime_check(linux) is None
    assert vc_runtime_check(Context(target="tensorflow", failure=failure, system=machine.system,
                                    interpreter=None, sys_path=())) is None


def test_a_dll_missing_from_a_frozen_app_is_the_bundles_not_the_machines():
    # PyInstaller's importer frames, and Nuitka's LoadLibraryEx: the bundler did not collect a DLL; no
    # Visual C++ download is put first from the text alone.
    from dllmagic.api import explain

    pyinstaller = ("Traceback (most recent call last):\n  File \"app.py\", line 1, in <module>\n"
                   "  File \"PyInstaller\\loader\\pyimod03_importers.py\", line 546, in exec_module\n"
                   "  File \"fiona\\__init__.py\", line 116, in <module>\n"
                   "ImportError: DLL load failed while importing _env: The specified module could not be found.\n"
                   "[22544] Failed to execute script 'app' due to unhandled exception!\n")
    nuitka = "ImportError: LoadLibraryEx 'D:\\app\\main.dist\\PyQt5\\QtCore.pyd' failed"
    for text, bundler in ((pyinstaller, "PyInstaller"), (nuitka, "Nuitka")):
        top = explain(text).findings[0]
        assert (top.kind, top.cause) == ("missing-shared-library", "dll-not-found")
        assert bundler in top.summary and "did not collect" in top.summary
        assert top.fixes[0].kind == "instruction" and "Rebuild" in top.fixes[0].title
    # The same error outside a bundle keeps the machine's likely cause.
    plain = pyinstaller.replace("  File \"PyInstaller\\loader\\pyimod03_importers.py\", line 546, in exec_module\n",
                                "").replace("[22544] Failed to execute script 'app' due to unhandled exception!\n", "")
    assert explain(plain).findings[0].cause == "vc-runtime-missing"
    # The bootloader failing on the bundle's own Python DLL is not called a DLL the bundler missed.
    python_dll = ("Failed to load Python DLL\n'C:\\Users\\ana\\AppData\\Local\\Temp\\_MEI193002\\python312.dll'\n"
                  "LoadLibrary: The specified module could not be found")
    assert "did not collect" not in explain(python_dll).findings[0].summary
