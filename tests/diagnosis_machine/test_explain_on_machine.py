"""``explain --machine``: a pasted Windows/macOS traceback diagnosed against the machine it came from.

Real binaries only: a .pyd and two helper.dll builds made here with mingw-w64, the stand-ins of the PE
suite (python.exe, python311.dll, System32), the real Pillow win_amd64 wheel and the real Pillow macOS
arm64 wheel, each placed in a modelled machine (a folder + a description file) that the report reads
through the Windows or dyld loader model. Every JSON report is validated against the shipped schema.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "native_pe"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "native_macho"))

from pe_kit import CC64, build_standin, imports_of  # noqa: E402
from dllmagic import api  # noqa: E402
from dllmagic.cli import main as cli_main  # noqa: E402
from dllmagic.model import report_to_dict  # noqa: E402
from dllmagic.report.text import render_text  # noqa: E402

SITE = "C:\\Python311\\Lib\\site-packages"
EXP = "__declspec(dllexport)"
IMP = "__declspec(dllimport)"


def traceback_for(module: str, package_file: str, message: str) -> str:
    return ("Traceback (most recent call last):\n"
            '  File "C:\\Users\\me\\analysis.py", line 3, in <module>\n'
            f"    import {module}\n"
            f'  File "{package_file}", line 1, in <module>\n'
            f"    from . import {module.rsplit('.', 1)[-1]}\n"
            f"ImportError: {message}\n")


@pytest.fixture(scope="session")
def helper_built(pe_built, tmp_path_factory) -> Path:
    """helper.dll old (foo_old only) and new (foo_old + foo_new); _helper.pyd importing both functions."""
    out = tmp_path_factory.mktemp("helper")
    (out / "old").mkdir()
    (out / "new").mkdir()
    (out / "old.c").write_text(f"{EXP} int foo_old(void) {{ return 1; }}\n")
    (out / "new.c").write_text(f"{EXP} int foo_old(void) {{ return 1; }}\n{EXP} int foo_new(void) {{ return 2; }}\n")
    (out / "ext.c").write_text(f"{IMP} void *PyLong_FromLong(long v);\n{IMP} int foo_old(void);\n"
                               f"{IMP} int foo_new(void);\n"
                               f"{EXP} void *PyInit__helper(void) "
                               "{ return PyLong_FromLong(foo_old() + foo_new()); }\n")
    for args in (["-o", "old/helper.dll", "old.c"], ["-o", "new/helper.dll", "new.c"],
                 ["-o", "_helper.cp311-win_amd64.pyd", "ext.c", str(pe_built / "python311.dll"), "new/helper.dll"]):
        subprocess.run([CC64, "-shared", "-O1", *args], cwd=out, check=True, capture_output=True)
    return out


def explain(machine, text, validate_report):
    report = api.explain(text, machine=machine)
    data = validate_report(json.loads(json.dumps(report_to_dict(report))))
    return report, data, render_text(report)


def evidence(finding) -> dict:
    return {e.fact: e.value for e in finding.evidence}


def helper_machine(win, pe_built, helper_built):
    win.python(pe_built)
    win.write(f"{SITE}\\pkg\\__init__.py", "from . import _helper\n")
    win.put(f"{SITE}\\pkg\\_helper.cp311-win_amd64.pyd", helper_built / "_helper.cp311-win_amd64.pyd")
    win.system32()
    return traceback_for("pkg._helper", f"{SITE}\\pkg\\__init__.py",
                         "DLL load failed while importing _helper: The specified procedure could not be found.")


# -- (a) a function missing from an older copy that is picked first -----------------------------------

def test_an_already_loaded_older_helper_dll_is_named_with_its_rule_and_the_good_copy(
        win, pe_built, helper_built, validate_report):
    text = helper_machine(win, pe_built, helper_built)
    win.put(f"{SITE}\\pkg\\helper.dll", helper_built / "new" / "helper.dll")     # the good one, beside the .pyd
    win.put("C:\\Tools\\helper.dll", helper_built / "old" / "helper.dll")        # older, loaded earlier
    machine = win.load(loaded=["C:\\Tools\\helper.dll"])
    report, data, shown = explain(machine, text, validate_report)
    top = report.top
    assert (top.kind, top.cause) == ("missing-symbol", "older-copy-found-first"), shown
    ev = evidence(top)
    assert "helper.dll" in top.summary and "foo_new" in top.summary and "C:\\Tools\\helper.dll" in top.summary
    assert ev["function not found"].startswith("foo_new, imported by " + f"{SITE}\\pkg\\_helper")
    picked = ev["copy of helper.dll the loader picks"]
    assert picked.startswith("C:\\Tools\\helper.dll: a module of that name was already loaded"), picked
    assert "none: a module of that name is already in the process" in ev["places searched for helper.dll"]
    assert f"{SITE}\\pkg\\helper.dll (has foo_new; searched" in ev["other copies of helper.dll on this machine"]
    kinds = [f.kind for f in top.fixes]
    assert kinds[0] == "instruction" and "import pkg._helper before" in top.fixes[0].title
    assert "rename" in kinds  # C:\Tools is outside every package: the stray copy may be renamed
    rename = next(f for f in top.fixes if f.kind == "rename")
    assert "C:\\\\Tools\\\\helper.dll" in rename.cell
    assert report.interpreter.executable == "C:\\Python311\\python.exe" and report.interpreter.platform == "windows"
    assert data["findings"][0]["cause"] == "older-copy-found-first"


def test_an_older_helper_dll_in_the_application_folder_is_picked_before_the_delvewheel_folder(
        win, pe_built, helper_built, validate_report):
    text = helper_machine(win, pe_built, helper_built)
    win.write(f"{SITE}\\pkg\\__init__.py",
              "def _delvewheel_patch_1_11_2():\n    import os\n"
              "    if os.path.isdir(libs_dir := os.path.abspath(os.path.join(os.path.dirname(__file__), "
              "os.pardir, 'pkg.libs'))):\n        os.add_dll_directory(libs_dir)\n\n"
              "_delvewheel_patch_1_11_2()\nfrom . import _helper\n")
    win.put(f"{SITE}\\pkg.libs\\helper.dll", helper_built / "new" / "helper.dll")
    win.put("C:\\Python311\\helper.dll", helper_built / "old" / "helper.dll")
    win.write(f"{SITE}\\pkg-1.2.0.dist-info\\METADATA", "Metadata-Version: 2.1\nName: pkg\nVersion: 1.2.0\n")
    win.write(f"{SITE}\\pkg-1.2.0.dist-info\\top_level.txt", "pkg\n")
    win.write(f"{SITE}\\pkg-1.2.0.dist-info\\RECORD", "pkg/__init__.py,,\n")
    report, data, shown = explain(win.load(), text, validate_report)
    top = report.top
    assert (top.kind, top.cause) == ("missing-symbol", "older-copy-found-first"), shown
    ev = evidence(top)
    picked = ev["copy of helper.dll the loader picks"]
    assert picked.startswith("C:\\Python311\\helper.dll: the application folder"), picked
    places = ev["places searched for helper.dll, in order"]
    assert places.startswith(f"1. {SITE}\\pkg\\helper.dll [dll-load-dir: missing]"), places
    assert "2. C:\\Python311\\helper.dll [app-dir: found]" in places
    assert f"{SITE}\\pkg.libs\\helper.dll (has foo_new; searched" in ev["other copies of helper.dll on this machine"]
    titles = [f.title for f in top.fixes]
    assert titles[0].startswith("Rename the stray helper.dll in C:\\Python311"), titles
    assert any(f.kind == "pip" and "pkg==1.2.0" in f.cell for f in top.fixes), titles
    # The same from the command line, as a user runs it.
    paste = win.base / "traceback.txt"
    paste.write_text(text)
    rc = cli_main(["explain", str(paste), "--machine", str(win.base / "machine.json")])
    assert rc == 1


def test_without_a_machine_the_text_alone_gives_the_text_level_finding(helper_built, validate_report):
    text = traceback_for("pkg._helper", f"{SITE}\\pkg\\__init__.py",
                         "DLL load failed while importing _helper: The specified procedure could not be found.")
    report = api.explain(text)
    validate_report(json.loads(json.dumps(report_to_dict(report))))
    # The text-level finding: the cause threads of error 127 verified most, said as not checked.
    assert (report.top.kind, report.top.cause) == ("missing-symbol", "older-copy-found-first")
    assert "Not checked" in report.top.summary and report.top.confidence < 0.97
    assert report.interpreter is None


# -- (b) a DLL only in a PATH folder ------------------------------------------------------------------

def test_a_dll_present_only_in_a_path_folder_is_reported_as_not_searched(win, pe_built, validate_report, capsys):
    win.python(pe_built)
    win.write(f"{SITE}\\pkg\\__init__.py", "from . import ext_missing\n")
    win.put(f"{SITE}\\pkg\\ext_missing.pyd", pe_built / "ext_missing.pyd")
    win.put("C:\\Tools\\libmissing.dll", pe_built / "libmissing.dll")
    win.system32()
    win.load(environ={"PATH": "C:\\Windows\\System32;C:\\Tools"})
    text = traceback_for("pkg.ext_missing", f"{SITE}\\pkg\\__init__.py",
                         "DLL load failed while importing ext_missing: The specified module could not be found.")
    paste = win.base / "traceback.txt"
    paste.write_text(text)
    rc = cli_main(["explain", str(paste), "--machine", str(win.base / "machine.json"), "--json"])
    data = validate_report(capsys.readouterr().out)
    assert rc == 1
    top = data["findings"][0]
    assert (top["kind"], top["cause"]) == ("missing-shared-library", "dll-on-path-not-searched"), top
    assert "C:\\Tools" in top["summary"] and "do not search PATH" in top["summary"]
    ev = {e["fact"]: e["value"] for e in top["evidence"]}
    assert ev["DLL not found"] == f"libmissing.dll, needed by {SITE}\\pkg\\ext_missing.pyd"
    places = ev["places searched for libmissing.dll, in order"]
    assert places.startswith(f"1. {SITE}\\pkg\\libmissing.dll [dll-load-dir: missing]")
    assert "C:\\Windows\\System32\\libmissing.dll [system32: missing]" in places
    assert "C:\\Tools\\libmissing.dll [path: not-searched, present in a PATH folder, but Python 3.8" in places
    assert top["fixes"][0]["cell"] == "import os\nos.add_dll_directory('C:\\\\Tools')\nimport pkg.ext_missing"
    # The same text as plain text output.
    rc = cli_main(["explain", str(paste), "--machine", str(win.base / "machine.json")])
    shown = capsys.readouterr().out
    assert rc == 1 and "PATH" in shown and "libmissing.dll" in shown


def test_a_dll_missing_everywhere_lists_every_place_and_the_copy_outside_the_search(win, pe_built, validate_report):
    win.python(pe_built)
    win.write(f"{SITE}\\pkg\\__init__.py", "from . import ext_missing\n")
    win.put(f"{SITE}\\pkg\\ext_missing.pyd", pe_built / "ext_missing.pyd")
    win.put(f"{SITE}\\other\\libmissing.dll", pe_built / "libmissing.dll")
    win.system32()
    text = traceback_for("pkg.ext_missing", f"{SITE}\\pkg\\__init__.py",
                         "DLL load failed while importing ext_missing: Das angegebene Modul wurde nicht gefunden.")
    report, _data, shown = explain(win.load(), text, validate_report)
    top = report.top
    assert (top.kind, top.cause) == ("missing-shared-library", "dll-not-found"), shown
    assert f"{SITE}\\other\\libmissing.dll" in top.summary and "not on the search path" in top.summary
    assert "os.add_dll_directory" in top.fixes[0].cell


# -- (c) the real Pillow wheel without the VC++ runtime ------------------------------------------------

def test_real_pillow_without_the_vc_runtime_is_vc_runtime_missing_with_the_places_searched(
        win, pe_built, win_wheels, standins, validate_report):
    win.put(SITE, win_wheels["pillow"])
    wanted = imports_of(win.placed + [pe_built / "python.exe"])
    win.put("C:\\Python311\\python311.dll", build_standin(standins / "python311-pillow", "python311.dll",
                                                           wanted["python311.dll"]))
    win.put("C:\\Python311\\python.exe", pe_built / "python.exe")
    # System32 as on a machine without the Visual C++ runtime: no msvcp140.dll, no vcruntime140*.dll.
    win.system32(["kernel32.dll", "user32.dll", "gdi32.dll", "ucrtbase.dll"])
    assert not list((win.root / "C" / "Windows" / "System32").glob("vcruntime*"))
    text = ("Traceback (most recent call last):\n"
            '  File "C:\\Users\\me\\nb.py", line 1, in <module>\n    from PIL import Image\n'
            f'  File "{SITE}\\PIL\\Image.py", line 97, in <module>\n    from . import _imaging as core\n'
            "ImportError: DLL load failed while importing _imaging: The specified module could not be found.\n")
    report, data, shown = explain(win.load(), text, validate_report)
    top = report.top
    assert (top.kind, top.cause) == ("missing-shared-library", "vc-runtime-missing"), shown
    assert top.summary.startswith("VCRUNTIME140.dll is part of the Microsoft Visual C++"), top.summary
    ev = evidence(top)
    assert ev["extension module"] == f"{SITE}\\PIL\\_imaging.cp311-win_amd64.pyd"
    assert ev["DLL not found"] == f"VCRUNTIME140.dll, needed by {SITE}\\PIL\\_imaging.cp311-win_amd64.pyd"
    places = ev["places searched for VCRUNTIME140.dll, in order"]
    assert f"{SITE}\\PIL\\VCRUNTIME140.dll [dll-load-dir: missing]" in places
    assert "C:\\Python311\\VCRUNTIME140.dll [app-dir: missing]" in places
    assert "C:\\Windows\\System32\\VCRUNTIME140.dll [system32: missing]" in places
    assert "msvcp140.dll" in ev["Visual C++ runtime DLLs in System32"]
    assert top.fixes[0].title.startswith("Install the Microsoft Visual C++") and "aka.ms" in top.fixes[0].cell
    assert any(f.kind == "pip" and "pillow==13.0.0" in f.cell for f in top.fixes)
    # With msvc-runtime's vcruntime140.dll (14.44) in System32 the DLL is found, but Pillow 13 was built with
    # the 14.51 toolset: the report names the copy and both versions rather than "missing".
    data_dir = next(win_wheels["msvc-runtime"].glob("*.data/data"))
    win.put("C:\\Windows\\System32\\vcruntime140.dll", next(data_dir.rglob("vcruntime140.dll")))
    win.system32(["kernel32.dll", "user32.dll", "gdi32.dll", "ucrtbase.dll"])  # what vcruntime140 imports too
    report, _data, shown = explain(win.load(), text, validate_report)
    assert report.top.cause == "vc-runtime-missing", shown
    picked = evidence(report.top)["VCRUNTIME140.dll the loader picks"]
    assert picked.startswith("C:\\Windows\\System32\\vcruntime140.dll: VCRUNTIME140.dll is version 14.44")
    assert "older than the Visual C++ toolset 14.51" in picked


# -- (d) a real macOS wheel with a .dylibs library deleted ---------------------------------------------

MAC_SITE = "/opt/py/lib/python3.11/site-packages"


def test_real_pillow_macos_wheel_missing_a_bundled_dylib_names_it_with_dyld_tried_list(
        mac, macho_built, mac_wheels, validate_report):
    mac.put(MAC_SITE, mac_wheels["pillow-macosx_11_0_arm64"])
    mac.put("/opt/py/bin/python3.11", macho_built / "arm64" / "bin" / "python3.11")
    (mac.root / MAC_SITE.lstrip("/") / "PIL" / ".dylibs" / "libjpeg.62.4.0.dylib").unlink()
    machine = mac.load()
    so = f"{MAC_SITE}/PIL/_imaging.cpython-311-darwin.so"
    text = ("Traceback (most recent call last):\n"
            f'  File "{MAC_SITE}/PIL/Image.py", line 97, in <module>\n    from . import _imaging as core\n'
            f"ImportError: dlopen({so}, 0x0002): Library not loaded: @loader_path/.dylibs/libjpeg.62.4.0.dylib\n"
            f"  Referenced from: <6A3F> {so}\n"
            f"  Reason: tried: '{MAC_SITE}/PIL/.dylibs/libjpeg.62.4.0.dylib' (no such file)\n")
    report, data, shown = explain(machine, text, validate_report)
    top = report.top
    assert (top.kind, top.cause) == ("missing-shared-library", "missing-vendored-library"), shown
    ev = evidence(top)
    tried = ev["places the loader tried for @loader_path/.dylibs/libjpeg.62.4.0.dylib"]
    assert tried.startswith(f"{MAC_SITE}/PIL/.dylibs/libjpeg.62.4.0.dylib (loader-path: missing, no such file)")
    assert "/usr/local/lib/libjpeg.62.4.0.dylib (fallback-default: missing" in tried
    assert "/usr/lib/libjpeg.62.4.0.dylib (fallback-default: missing, no such file, not in dyld cache)" in tried
    assert ev["referenced from"] == so
    assert ev["dyld's error, as the model predicts it"].startswith(
        f"Library not loaded: @loader_path/.dylibs/libjpeg.62.4.0.dylib Referenced from: {so} Reason: tried: "
        f"'{MAC_SITE}/PIL/.dylibs/libjpeg.62.4.0.dylib' (no such file)")
    assert ev["libjpeg.62.4.0.dylib is also needed by"] == f"{MAC_SITE}/PIL/.dylibs/libtiff.6.dylib"
    assert ev["listed in RECORD but missing on disk"].endswith("PIL/.dylibs/libjpeg.62.4.0.dylib")
    assert top.fixes[0].kind == "pip" and "pillow==13.0.0" in top.fixes[0].cell
    assert report.interpreter.platform == "macos" and report.interpreter.architecture == "arm64"


def test_a_macos_symbol_bound_to_an_older_copy_names_the_copy_and_the_one_that_has_it(
        mac, macho_built, validate_report):
    mac.put("/opt/py/bin/python3.11", macho_built / "arm64" / "bin" / "python3.11")
    so = mac.put(f"{MAC_SITE}/pkg/ext.so", macho_built / "arm64" / "ext.so")
    mac.put(f"{MAC_SITE}/pkg/lib/libfoo.dylib", macho_built / "arm64" / "lib" / "libfoo.dylib")
    mac.put("/opt/override/libfoo.dylib", macho_built / "arm64" / "old2" / "libfoo.dylib")
    machine = mac.load(environ={"DYLD_LIBRARY_PATH": "/opt/override"})
    text = (f"ImportError: dlopen({so}, 0x0002): Symbol not found: _foo_new\n"
            f"  Referenced from: <ABCD> {so}\n  Expected in:     <EF01> /opt/override/libfoo.dylib\n")
    report, _data, shown = explain(machine, text, validate_report)
    top = report.top
    assert (top.kind, top.cause) == ("missing-symbol", "older-copy-found-first"), shown
    ev = evidence(top)
    assert ev["copy of libfoo.dylib dyld binds to"].startswith("/opt/override/libfoo.dylib: DYLD_LIBRARY_PATH")
    assert f"{MAC_SITE}/pkg/lib/libfoo.dylib (has _foo_new)" in ev["other copies of libfoo.dylib on this machine"]
    assert top.fixes[0].title == "Unset DYLD_LIBRARY_PATH for the kernel"


def test_an_arm64_wheel_in_an_x86_64_python_under_rosetta(mac, macho_built, mac_wheels, validate_report):
    mac.put(MAC_SITE, mac_wheels["pillow-macosx_11_0_arm64"])
    mac.put("/opt/py/bin/python3.11", macho_built / "x86_64" / "bin" / "python3.11")
    so = f"{MAC_SITE}/PIL/_imaging.cpython-311-darwin.so"
    text = (f"ImportError: dlopen({so}, 0x0002): tried: '{so}' (mach-o file, but is an incompatible architecture "
            "(have 'arm64', need 'x86_64'))\n")
    report, _data, shown = explain(mac.load(), text, validate_report)
    top = report.top
    assert (top.kind, top.cause) == ("architecture-mismatch", "wrong-architecture"), shown
    assert "Rosetta" in top.summary and "x86_64" in top.summary
    assert any(f.kind == "pip" and "pillow==13.0.0" in f.cell for f in top.fixes)


def test_a_bad_machine_description_is_a_usage_error(tmp_path, capsys):
    paste = tmp_path / "t.txt"
    paste.write_text("ImportError: DLL load failed while importing x: The specified module could not be found.\n")
    rc = cli_main(["explain", str(paste), "--machine", str(tmp_path / "nope.json")])
    assert rc == 2 and "machine description" in capsys.readouterr().err


def test_a_32bit_module_in_a_64bit_python_is_wrong_architecture_from_the_machine(win, pe_built, validate_report):
    win.python(pe_built)
    win.write(f"{SITE}\\pkg\\__init__.py", "from . import ext32\n")
    win.put(f"{SITE}\\pkg\\ext32.pyd", pe_built / "ext32.pyd")
    win.system32()
    text = traceback_for("pkg.ext32", f"{SITE}\\pkg\\__init__.py",
                         "DLL load failed while importing ext32: %1 is not a valid Win32 application.")
    report, _data, shown = explain(win.load(), text, validate_report)
    top = report.top
    assert (top.kind, top.cause) == ("architecture-mismatch", "wrong-architecture"), shown
    assert "i386" in evidence(top)["file Windows refuses"] and "64-bit" in top.summary


def test_when_the_extension_is_not_on_the_machine_the_text_level_finding_stays(win, pe_built, validate_report):
    win.python(pe_built)
    # A System32 with the VC++ runtime (stand-ins by name: the text-level rule checks they exist).
    win.system32(["kernel32.dll", "msvcrt.dll", "msvcp140.dll", "vcruntime140.dll", "vcruntime140_1.dll",
                  "msvcp140_1.dll"])
    text = traceback_for("pkg._helper", f"{SITE}\\pkg\\__init__.py",
                         "DLL load failed while importing _helper: The specified procedure could not be found.")
    report, _data, shown = explain(win.load(), text, validate_report)
    assert (report.top.kind, report.top.cause) == ("missing-symbol", "procedure-not-found"), shown
    assert any("not found on the machine" in n for n in report.notes)


def test_a_dll_initialisation_failure_on_a_machine_is_reported_without_internal_errors(
        win, pe_built, helper_built, validate_report):
    text = helper_machine(win, pe_built, helper_built)
    win.put(f"{SITE}\\pkg\\helper.dll", helper_built / "new" / "helper.dll")
    text = text.replace("The specified procedure could not be found.",
                        "A dynamic link library (DLL) initialization routine failed.")
    report, _data, shown = explain(win.load(), text, validate_report)
    assert report.top.kind == "native-init-failed", shown
    assert any(e.fact == "the loader model's verdict" and "loads" in e.value for e in report.top.evidence), shown
    assert not any("internal error" in n for n in report.notes)
