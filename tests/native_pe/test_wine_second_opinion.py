"""Wine 8 as a second opinion on the Windows search order the loader model follows.

Each test states one machine (pe_kit.WinMachine, the same mingw fixtures as test_windows_rules.py),
resolves a module with ``WindowsLoader`` as CPython >= 3.8 imports it, lays a Wine prefix out like that
machine, and runs ``fixtures/loadlib.c`` under wine64: ``LoadLibraryExW(pyd, NULL,
LOAD_LIBRARY_SEARCH_DEFAULT_DIRS | LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR)`` after ``AddDllDirectory`` for each
``os.add_dll_directory`` folder, from a ``python.exe`` in the application folder. Where Wine follows
Windows the two answers must agree (error code, and the file each DLL came from); where Wine is known
to differ (tests/native_pe/WINE.md) the test pins Wine's answer *and* the model's, so a change on
either side shows.

wine64 comes from tests/native_pe/setup.sh (Debian: apt-get install wine64). Without it the module is
skipped, except under CI=true, where the set-up was meant to install it: there it fails.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from pe_kit import CC64, WinMachine
from wine_kit import (ERROR_BAD_EXE_FORMAT, ERROR_MOD_NOT_FOUND, ERROR_PROC_NOT_FOUND, WinePrefix,
                      find_wine, machine_description)
from dllmagic.facts.native.loader import format_tree, problems, walk

SITE = "C:\\Python311\\Lib\\site-packages"
PKG = f"{SITE}\\pkg"


@pytest.fixture(scope="session")
def wine(tmp_path_factory):
    exe = find_wine()
    if exe is None:
        reason = "wine64 is not installed (tests/native_pe/setup.sh installs Debian's wine64)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; under CI the set-up must have installed it")
        pytest.skip(reason)
    prefix = WinePrefix(exe, tmp_path_factory.mktemp("wine"))
    try:
        prefix.build_harness(CC64)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"cannot build the loadlib.exe harness with {CC64}: {exc}")
    rc, out = prefix.boot()
    # The harness without arguments prints its usage and exits 2: anything else means wine itself failed.
    assert rc == 2 and "usage: loadlib.exe" in out, f"wine64 cannot run the harness (rc {rc}):\n{out}"
    yield prefix
    prefix.stop()


@pytest.fixture
def m(tmp_path, standins, pe_built):
    """A machine with C:\\Python311 (python.exe, python311.dll, python3.dll) and a package folder."""
    win = WinMachine(tmp_path, standins)
    win.python(pe_built)
    win.write(f"{PKG}\\__init__.py", "")
    return win


def both(win, wine, pyd, **overrides):
    """(model tree, Wine's answer) for importing ``pyd`` on the machine ``win`` describes."""
    win.system32()
    tree = win.load(**overrides).loader().resolve(pyd, mode="as-imported")
    wine.mirror(win)
    return tree, wine.load(win, pyd, machine_description(win))


def remove(win, *winpaths):
    for w in winpaths:
        host = win.host(w)
        host.unlink()
        win.placed.remove(host)


def model_code(tree) -> int:
    """The Win32 error the model predicts for LoadLibraryExW: 0, 126, 127 or 193."""
    if tree.root.error:
        return ERROR_BAD_EXE_FORMAT if tree.root.error.startswith("%1") else -1
    for p in problems(tree):
        if p.kind == "missing-symbol":
            return ERROR_PROC_NOT_FOUND
        if p.kind == "unloadable-library" or "%1 is not a valid Win32 application" in (p.detail or ""):
            return ERROR_BAD_EXE_FORMAT
        return ERROR_MOD_NOT_FOUND
    return 0


def found(tree, name):
    for n in walk(tree.root):
        if n.name.lower() == name.lower() and not n.repeat:
            return n.path
    raise AssertionError(f"{name} not in the tree")


def same(a, b) -> bool:
    return (a or "").lower() == (b or "").lower()


def agree(tree, ans, *names):
    """Same error code, and each named DLL loaded from the same file (Windows paths are caseless)."""
    text = format_tree(tree, verbose=True) + "\n--- wine ---\n" + ans.output
    assert model_code(tree) == ans.code, text
    for name in names:
        assert same(found(tree, name), ans.module(name)), text


# -- where Wine agrees ------------------------------------------------------------------------------

def test_a_dll_only_on_path_is_not_found_and_legacy_python_finds_it(m, wine, pe_built):
    pyd = m.put(f"{PKG}\\ext_missing.pyd", pe_built / "ext_missing.pyd")
    m.put("C:\\Tools\\libmissing.dll", pe_built / "libmissing.dll")
    path = {"PATH": "C:\\Windows\\System32;C:\\Tools"}
    tree, ans = both(m, wine, pyd, environ=path)
    assert ans.code == ERROR_MOD_NOT_FOUND
    agree(tree, ans)
    # Python < 3.8 (LOAD_WITH_ALTERED_SEARCH_PATH): PATH is searched, in both.
    tree, ans = both(m, wine, pyd, environ=path, python={"version": "3.7"})
    assert ans.code == 0 and same(ans.module("libmissing.dll"), "C:\\Tools\\libmissing.dll")
    agree(tree, ans, "libmissing.dll")


def test_the_module_folder_then_the_application_folder_then_added_folders(m, wine, pe_built):
    pyd = m.put(f"{PKG}\\ext_foo.pyd", pe_built / "ext_foo.pyd")
    m.put("C:\\Libs\\libfoo.dll", pe_built / "foo2" / "libfoo.dll")
    m.put("C:\\Python311\\libfoo.dll", pe_built / "foo2" / "libfoo.dll")
    tree, ans = both(m, wine, pyd, dll_directories=["C:\\Libs"])
    assert same(ans.module("libfoo.dll"), "C:\\Python311\\libfoo.dll")
    agree(tree, ans, "libfoo.dll")
    m.put(f"{PKG}\\libfoo.dll", pe_built / "foo2" / "libfoo.dll")
    tree, ans = both(m, wine, pyd, dll_directories=["C:\\Libs"])
    assert same(ans.module("libfoo.dll"), f"{PKG}\\libfoo.dll")
    agree(tree, ans, "libfoo.dll")
    remove(m, f"{PKG}\\libfoo.dll", "C:\\Python311\\libfoo.dll")
    tree, ans = both(m, wine, pyd, dll_directories=["C:\\Libs"])
    assert same(ans.module("libfoo.dll"), "C:\\Libs\\libfoo.dll")
    agree(tree, ans, "libfoo.dll")


def test_a_32bit_dll_earlier_in_the_search_is_passed_over(m, wine, pe_built):
    pyd = m.put(f"{PKG}\\ext_bar.pyd", pe_built / "ext_bar.pyd")
    m.put(f"{PKG}\\libbar.dll", pe_built / "bar32" / "libbar.dll")
    m.put("C:\\Libs\\libbar.dll", pe_built / "bar64" / "libbar.dll")
    tree, ans = both(m, wine, pyd, dll_directories=["C:\\Libs"])
    assert ans.code == 0 and same(ans.module("libbar.dll"), "C:\\Libs\\libbar.dll")
    agree(tree, ans, "libbar.dll")


def test_a_32bit_module_is_not_a_valid_win32_application(m, wine, pe_built):
    pyd = m.put(f"{PKG}\\ext32.pyd", pe_built / "ext32.pyd")
    tree, ans = both(m, wine, pyd)
    assert ans.code == ERROR_BAD_EXE_FORMAT
    agree(tree, ans)


def test_an_already_loaded_copy_wins_over_the_one_next_to_the_module(m, wine, pe_built):
    pyd = m.put(f"{PKG}\\ext_foo.pyd", pe_built / "ext_foo.pyd")
    m.put(f"{PKG}\\libfoo.dll", pe_built / "foo2" / "libfoo.dll")
    m.put("C:\\Other\\libfoo.dll", pe_built / "foo2" / "libfoo.dll")
    tree, ans = both(m, wine, pyd, loaded=["C:\\Other\\libfoo.dll"])
    assert same(ans.module("libfoo.dll"), "C:\\Other\\libfoo.dll")
    agree(tree, ans, "libfoo.dll")


def test_the_dll_load_folder_serves_the_whole_chain_and_known_dlls_stay_system(m, wine, pe_built):
    pyd = m.put(f"{PKG}\\ext_chain.pyd", pe_built / "ext_chain.pyd")
    m.put(f"{PKG}\\liba.dll", pe_built / "liba.dll")
    m.put(f"{PKG}\\libb.dll", pe_built / "libb.dll")
    m.put(f"{PKG}\\KERNEL32.DLL", pe_built / "libb.dll")
    tree, ans = both(m, wine, pyd)
    assert ans.code == 0 and ans.module("kernel32.dll").lower() == "c:\\windows\\system32\\kernel32.dll"
    agree(tree, ans, "liba.dll", "libb.dll", "kernel32.dll")


def test_file_names_match_whatever_their_case(m, wine, pe_built):
    pyd = m.put(f"{PKG}\\ext_missing.pyd", pe_built / "ext_missing.pyd")
    m.put(f"{PKG}\\LibMissing.DLL", pe_built / "libmissing.dll")
    tree, ans = both(m, wine, pyd)
    assert ans.code == 0
    agree(tree, ans, "libmissing.dll")


def test_a_missing_delay_load_dll_does_not_fail_the_import(m, wine, pe_built):
    pyd = m.put(f"{PKG}\\ext_delay.pyd", pe_built / "ext_delay.pyd")
    tree, ans = both(m, wine, pyd)
    assert ans.code == 0 and ans.module("libdelay.dll") is None
    agree(tree, ans)


def test_forwarders_and_ordinals_resolve_in_both(m, wine, pe_built):
    m.put(f"{PKG}\\libfwd.dll", pe_built / "libfwd.dll")
    m.put(f"{PKG}\\libreal.dll", pe_built / "libreal.dll")
    m.put(f"{PKG}\\libord.dll", pe_built / "libord.dll")
    pyd = m.put(f"{PKG}\\ext_fwd.pyd", pe_built / "ext_fwd.pyd")
    m.put(f"{PKG}\\ext_ord.pyd", pe_built / "ext_ord.pyd")
    tree, ans = both(m, wine, pyd)
    # The forwarder made the loader load libreal.dll too.
    assert ans.code == 0 and same(ans.module("libreal.dll"), f"{PKG}\\libreal.dll")
    agree(tree, ans, "libfwd.dll")
    tree, ans = both(m, wine, f"{PKG}\\ext_ord.pyd")
    agree(tree, ans, "libord.dll")


# -- where Wine differs (WINE.md) ---------------------------------------------------------------------

def test_difference_a_missing_function_is_a_stub_in_wine_error_127_on_windows(m, wine, pe_built):
    """WINE.md row 1: Windows fails the load with 127; Wine binds a stub and loads (the same file)."""
    pyd = m.put(f"{PKG}\\ext_foo.pyd", pe_built / "ext_foo.pyd")
    m.put("C:\\Python311\\libfoo.dll", pe_built / "foo1" / "libfoo.dll")   # lacks foo_new
    m.put("C:\\Libs\\libfoo.dll", pe_built / "foo2" / "libfoo.dll")
    tree, ans = both(m, wine, pyd, dll_directories=["C:\\Libs"])
    assert model_code(tree) == ERROR_PROC_NOT_FOUND
    assert [p.name for p in problems(tree)] == ["foo_new"]
    assert ans.code == 0                                               # Wine: loaded, foo_new a stub
    assert same(ans.module("libfoo.dll"), found(tree, "libfoo.dll"))   # ... from the file the model names
    # Forwarded and by-ordinal imports the same way.
    m.put(f"{PKG}\\libfwd.dll", pe_built / "libfwd.dll")
    m.put(f"{PKG}\\libreal.dll", pe_built / "real_old" / "libreal.dll")
    pyd = m.put(f"{PKG}\\ext_fwd.pyd", pe_built / "ext_fwd.pyd")
    tree, ans = both(m, wine, pyd)
    assert (model_code(tree), ans.code) == (ERROR_PROC_NOT_FOUND, 0)
    m.put(f"{PKG}\\libord.dll", pe_built / "ord1" / "libord.dll")
    pyd = m.put(f"{PKG}\\ext_ord.pyd", pe_built / "ext_ord.pyd")
    tree, ans = both(m, wine, pyd)
    assert (model_code(tree), ans.code) == (ERROR_PROC_NOT_FOUND, 0)


def test_difference_add_dll_directory_order(m, wine, pe_built):
    """WINE.md row 2: Windows leaves the order unspecified; Wine searches the last added folder first;
    the model lists them in the order added and says the order is unspecified."""
    pyd = m.put(f"{PKG}\\ext_foo.pyd", pe_built / "ext_foo.pyd")
    m.put("C:\\Libs\\libfoo.dll", pe_built / "foo2" / "libfoo.dll")
    m.put("C:\\Libs2\\libfoo.dll", pe_built / "foo2" / "libfoo.dll")
    tree, ans = both(m, wine, pyd, dll_directories=["C:\\Libs", "C:\\Libs2"])
    assert same(found(tree, "libfoo.dll"), "C:\\Libs\\libfoo.dll")
    assert any("order Windows leaves unspecified" in n for n in tree.notes)
    assert same(ans.module("libfoo.dll"), "C:\\Libs2\\libfoo.dll")
    tree, ans = both(m, wine, pyd, dll_directories=["C:\\Libs2", "C:\\Libs"])
    assert same(found(tree, "libfoo.dll"), "C:\\Libs2\\libfoo.dll")
    assert same(ans.module("libfoo.dll"), "C:\\Libs\\libfoo.dll")


def test_difference_only_a_32bit_copy_is_126_in_wine(m, wine, pe_built):
    """WINE.md row 3: with nothing but a wrong-machine copy on the search path, Wine reports 126 (not
    found); the model says 'not found: only images of another machine' and maps it to 193."""
    pyd = m.put(f"{PKG}\\ext_bar.pyd", pe_built / "ext_bar.pyd")
    m.put(f"{PKG}\\libbar.dll", pe_built / "bar32" / "libbar.dll")
    tree, ans = both(m, wine, pyd)
    n = next(n for n in walk(tree.root) if n.name.lower() == "libbar.dll")
    assert n.path is None and "another machine" in n.error and "%1 is not a valid Win32" in n.error
    assert model_code(tree) == ERROR_BAD_EXE_FORMAT
    assert ans.code == ERROR_MOD_NOT_FOUND


def test_difference_wine_ships_its_own_vc_runtime_in_system32(m, wine, pe_built, tmp_path):
    """WINE.md row 4: a module needing msvcp140.dll loads in any Wine prefix (Wine's builtin runtime
    sits in C:\\windows\\system32); on Windows without the VC++ Redistributable it is error 126."""
    src = tmp_path / "ext_vcrt.c"
    src.write_text("__declspec(dllimport) void *__current_exception(void);\n"
                   "__declspec(dllexport) void *PyInit_ext_vcrt(void) { return __current_exception(); }\n")
    (tmp_path / "vcrt.def").write_text("LIBRARY msvcp140.dll\nEXPORTS\n  __current_exception\n")
    subprocess.run(["x86_64-w64-mingw32-dlltool", "--input-def", str(tmp_path / "vcrt.def"), "--dllname",
                    "msvcp140.dll", "--output-lib", str(tmp_path / "vcrt.imp.a")], check=True)
    subprocess.run([CC64, "-shared", "-O1", "-o", str(tmp_path / "ext_vcrt.pyd"), str(src),
                    str(tmp_path / "vcrt.imp.a")], check=True)
    pyd = m.put(f"{PKG}\\ext_vcrt.pyd", tmp_path / "ext_vcrt.pyd")
    tree, ans = both(m, wine, pyd)
    assert model_code(tree) == ERROR_MOD_NOT_FOUND
    assert [(p.kind, p.name) for p in problems(tree)] == [("missing-library", "msvcp140.dll")]
    assert ans.code == 0 and same(ans.module("msvcp140.dll"), "C:\\windows\\system32\\msvcp140.dll")
