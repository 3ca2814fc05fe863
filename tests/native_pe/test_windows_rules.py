"""One test per Windows loader rule, on a modelled machine built from mingw DLLs (and real wheels).

Each test states its machine once (WinMachine: files at their Windows paths + a description file read
back by load_machine), resolves a module as CPython >= 3.8 would import it, and checks the answer and
its reasons: where each DLL was found and by which rule, every place tried, the places skipped and
why, and the function a DLL lacks.
"""
from __future__ import annotations

import json

import pytest

from pe_kit import build_standin, imports_of
from dllmagic.facts.native.loader import format_tree, problems, tree_to_dict, walk

SITE = "C:\\Python311\\Lib\\site-packages"


def module(win, built, name, pkg="pkg"):
    """Place ``<name>.pyd`` in a package of site-packages; returns its Windows path."""
    win.write(f"{SITE}\\{pkg}\\__init__.py", "")
    return win.put(f"{SITE}\\{pkg}\\{name}.pyd", built / f"{name}.pyd")


def resolve(machine, path):
    tree = machine.loader().resolve(path, mode="as-imported")
    text = format_tree(tree, verbose=True)
    json.dumps(tree_to_dict(tree))  # the machine view always serialises
    return tree, text


def node(tree, name):
    for n in walk(tree.root):
        if n.name.lower() == name.lower() and not n.repeat:
            return n
    raise AssertionError(f"{name} not in the tree")


def base(win, built):
    win.python(built)


def test_a_missing_dll_lists_every_place_tried_and_says_path_is_not_searched(win, pe_built):
    base(win, pe_built)
    pyd = module(win, pe_built, "ext_missing")
    win.put("C:\\Tools\\libmissing.dll", pe_built / "libmissing.dll")
    win.system32()
    machine = win.load(environ={"PATH": "C:\\Windows\\System32;C:\\Tools"})
    tree, text = resolve(machine, pyd)
    n = node(tree, "libmissing.dll")
    assert n.path is None and "could not be found" in n.error, text
    assert [(c.rule, c.outcome) for c in n.candidates] == [
        ("dll-load-dir", "missing"), ("app-dir", "missing"), ("system32", "missing"), ("path", "not-searched")]
    assert n.candidates[0].path == f"{SITE}\\pkg\\libmissing.dll"
    assert n.candidates[-1].path == "C:\\Tools\\libmissing.dll"
    assert "do not search PATH" in n.candidates[-1].reason
    assert [(p.kind, p.name) for p in problems(tree)] == [("missing-library", "libmissing.dll")]
    assert tree.loader == "windows (default-dirs)"
    # python.exe's own imports are in the process already: python311.dll is reused, not searched.
    assert node(tree, "python311.dll").rule == "already-loaded"
    # So is KERNEL32 (python.exe took it from System32 as a KnownDLL).
    k = node(tree, "KERNEL32.dll")
    assert (k.rule, k.path) == ("already-loaded", "C:\\Windows\\System32\\kernel32.dll")


def test_python_before_3_8_searches_path(win, pe_built):
    base(win, pe_built)
    pyd = module(win, pe_built, "ext_missing")
    win.put("C:\\Tools\\libmissing.dll", pe_built / "libmissing.dll")
    win.system32()
    machine = win.load(environ={"PATH": "C:\\Tools"}, python={"version": "3.7"})
    tree, text = resolve(machine, pyd)
    n = node(tree, "libmissing.dll")
    assert n.rule == "path" and n.path == "C:\\Tools\\libmissing.dll", text
    assert [c.rule for c in n.candidates] == ["dll-load-dir", "system32", "system-16", "windows-dir", "path"]
    assert tree.loader == "windows (legacy)" and not problems(tree)


def test_a_dll_lacking_an_imported_function_names_it_and_the_copy_that_has_it(win, pe_built):
    base(win, pe_built)
    pyd = module(win, pe_built, "ext_foo")
    win.put("C:\\Python311\\libfoo.dll", pe_built / "foo1" / "libfoo.dll")   # older, earlier: app dir
    win.put("C:\\Libs\\libfoo.dll", pe_built / "foo2" / "libfoo.dll")        # newer, later
    win.system32()
    machine = win.load(dll_directories=[{"path": "C:\\Libs", "source": "added by the notebook"}])
    tree, text = resolve(machine, pyd)
    n = node(tree, "libfoo.dll")
    assert (n.rule, n.path) == ("app-dir", "C:\\Python311\\libfoo.dll"), text
    assert [m.name for m in n.missing_symbols] == ["foo_new"]
    assert any("C:\\Libs\\libfoo.dll" in note and "foo_new" in note for note in n.notes), text
    assert any("The specified procedure could not be found" in note for note in n.notes)
    (p,) = problems(tree)
    assert (p.kind, p.name, p.library, p.required_by) == ("missing-symbol", "foo_new", "libfoo.dll", pyd)


def test_an_already_loaded_older_copy_wins_over_the_one_next_to_the_module(win, pe_built):
    base(win, pe_built)
    pyd = module(win, pe_built, "ext_foo")
    win.put(f"{SITE}\\pkg\\libfoo.dll", pe_built / "foo2" / "libfoo.dll")
    win.put("C:\\Other\\libfoo.dll", pe_built / "foo1" / "libfoo.dll")
    win.system32()
    machine = win.load(loaded=["C:\\Other\\libfoo.dll"])
    tree, text = resolve(machine, pyd)
    n = node(tree, "libfoo.dll")
    assert (n.rule, n.path) == ("already-loaded", "C:\\Other\\libfoo.dll"), text
    assert [m.name for m in n.missing_symbols] == ["foo_new"]
    assert any(f"{SITE}\\pkg\\libfoo.dll" in note for note in n.notes), text
    assert "C:\\Other\\libfoo.dll" in tree.preloaded


def test_a_32bit_dll_earlier_in_the_search_is_skipped_and_reported(win, pe_built):
    base(win, pe_built)
    pyd = module(win, pe_built, "ext_bar")
    win.put(f"{SITE}\\pkg\\libbar.dll", pe_built / "bar32" / "libbar.dll")
    win.put("C:\\Libs\\libbar.dll", pe_built / "bar64" / "libbar.dll")
    win.system32()
    machine = win.load(dll_directories=["C:\\Libs"])
    tree, text = resolve(machine, pyd)
    n = node(tree, "libbar.dll")
    assert (n.rule, n.path) == ("add-dll-directory", "C:\\Libs\\libbar.dll"), text
    assert n.candidates[0].outcome == "skipped" and "i386" in n.candidates[0].reason
    assert not problems(tree)
    # Without the 64-bit copy the search ends with nothing loadable.
    machine = win.load(dll_directories=[])
    tree, text = resolve(machine, pyd)
    assert "another machine" in node(tree, "libbar.dll").error, text


def test_a_32bit_module_is_not_a_valid_win32_application(win, pe_built):
    base(win, pe_built)
    pyd = module(win, pe_built, "ext32")
    win.system32()
    tree, text = resolve(win.load(), pyd)
    assert tree.root.error.startswith("%1 is not a valid Win32 application"), text
    assert "i386" in tree.root.error and problems(tree)[0].kind == "unloadable-library"


def test_forwarders_are_followed_to_the_dll_that_implements_them(win, pe_built):
    base(win, pe_built)
    pyd = module(win, pe_built, "ext_fwd")
    win.put(f"{SITE}\\pkg\\libfwd.dll", pe_built / "libfwd.dll")
    win.put(f"{SITE}\\pkg\\libreal.dll", pe_built / "libreal.dll")
    win.system32()
    tree, text = resolve(win.load(), pyd)
    assert not problems(tree), text
    assert tree.symbols_checked
    # An older libreal.dll without real_fn: the forwarded import fails.
    win.put(f"{SITE}\\pkg\\libreal.dll", pe_built / "real_old" / "libreal.dll")
    tree, text = resolve(win.load(), pyd)
    n = node(tree, "libfwd.dll")
    assert [m.name for m in n.missing_symbols] == ["fwd_fn"], text
    assert any("forwarded to libreal.real_fn" in note for note in n.notes)


def test_delay_load_imports_are_shown_apart_and_never_fail_the_import(win, pe_built):
    base(win, pe_built)
    pyd = module(win, pe_built, "ext_delay")
    win.system32()
    tree, text = resolve(win.load(), pyd)
    n = node(tree, "libdelay.dll")
    assert n.error is None and n.path is None, text
    assert any("delay-load" in note for note in n.notes)
    assert not problems(tree)
    win.put("C:\\Python311\\libdelay.dll", pe_built / "libdelay.dll")
    tree, text = resolve(win.load(), pyd)
    assert node(tree, "libdelay.dll").path == "C:\\Python311\\libdelay.dll", text


def test_imports_by_ordinal_are_checked(win, pe_built):
    base(win, pe_built)
    pyd = module(win, pe_built, "ext_ord")
    win.put(f"{SITE}\\pkg\\libord.dll", pe_built / "libord.dll")
    win.system32()
    tree, text = resolve(win.load(), pyd)
    assert not problems(tree), text
    win.put(f"{SITE}\\pkg\\libord.dll", pe_built / "ord1" / "libord.dll")
    tree, text = resolve(win.load(), pyd)
    assert [m.name for m in node(tree, "libord.dll").missing_symbols] == ["#2"], text


def test_a_module_built_for_another_python_is_named(win, pe_built):
    base(win, pe_built)
    pyd = module(win, pe_built, "ext_py310")
    win.system32()
    tree, text = resolve(win.load(), pyd)
    n = node(tree, "python310.dll")
    assert n.path is None and any("Python 3.10" in note for note in n.notes), text
    # With a python310.dll found all the same, CPython refuses the module after loading it.
    win.put(f"{SITE}\\pkg\\python310.dll", pe_built / "python310.dll")
    tree, text = resolve(win.load(), pyd)
    assert tree.root.error == "Module use of python310.dll conflicts with this version of Python.", text


def test_a_venv_searches_the_base_interpreter_folder(win, pe_built):
    base(win, pe_built)
    win.put("C:\\proj\\.venv\\Scripts\\python.exe", pe_built / "python.exe")
    win.write("C:\\proj\\.venv\\pyvenv.cfg", "home = C:\\Python311\nversion_info = 3.11.7\n")
    win.write("C:\\proj\\.venv\\Lib\\site-packages\\pkg\\__init__.py", "")
    pyd = win.put("C:\\proj\\.venv\\Lib\\site-packages\\pkg\\ext_chain.pyd", pe_built / "ext_chain.pyd")
    win.put("C:\\Python311\\liba.dll", pe_built / "liba.dll")
    win.put("C:\\Python311\\libb.dll", pe_built / "libb.dll")
    win.system32()
    machine = win.load(python={"executable": "C:\\proj\\.venv\\Scripts\\python.exe", "version": None})
    tree, text = resolve(machine, pyd)
    assert (node(tree, "liba.dll").rule, node(tree, "libb.dll").rule) == ("app-dir", "app-dir"), text
    assert tree.executable == "C:\\Python311\\python.exe"
    assert any("venv launcher" in note for note in tree.notes)


def test_conda_python_searches_library_bin_after_the_users_folders(win, pe_built):
    win.python(pe_built, "C:\\conda")
    win.write("C:\\conda\\conda-meta\\history", "")
    win.write("C:\\conda\\Lib\\site-packages\\pkg\\__init__.py", "")
    pyd = win.put("C:\\conda\\Lib\\site-packages\\pkg\\ext_missing.pyd", pe_built / "ext_missing.pyd")
    win.put("C:\\conda\\Library\\bin\\libmissing.dll", pe_built / "libmissing.dll")
    win.system32()
    machine = win.load(python={"executable": "C:\\conda\\python.exe"}, dll_directories=["C:\\Mine"])
    tree, text = resolve(machine, pyd)
    n = node(tree, "libmissing.dll")
    assert (n.rule, n.path) == ("conda-dll-dir", "C:\\conda\\Library\\bin\\libmissing.dll"), text
    rules = [c.rule for c in n.candidates]
    assert rules.index("add-dll-directory") < rules.index("conda-dll-dir")


def test_a_delvewheel_patch_is_read_from_the_package_code(win, pe_built):
    base(win, pe_built)
    win.write(f"{SITE}\\pkg\\__init__.py",
              "def _delvewheel_patch_1_11_2():\n    import os\n"
              "    if os.path.isdir(libs_dir := os.path.abspath(os.path.join(os.path.dirname(__file__), "
              "os.pardir, 'pkg.libs'))):\n        os.add_dll_directory(libs_dir)\n\n"
              "_delvewheel_patch_1_11_2()\n")
    pyd = win.put(f"{SITE}\\pkg\\sub\\ext_missing.pyd", pe_built / "ext_missing.pyd")
    win.write(f"{SITE}\\pkg\\sub\\__init__.py", "")
    win.put(f"{SITE}\\pkg.libs\\libmissing.dll", pe_built / "libmissing.dll")
    win.system32()
    tree, text = resolve(win.load(), pyd)
    n = node(tree, "libmissing.dll")
    assert (n.rule, n.path) == ("add-dll-directory", f"{SITE}\\pkg.libs\\libmissing.dll"), text
    assert n.via == "delvewheel patch in pkg\\__init__.py"


def test_known_dlls_come_from_system32_whatever_sits_next_to_the_module(win, pe_built):
    base(win, pe_built)
    pyd = module(win, pe_built, "ext_chain")
    win.put(f"{SITE}\\pkg\\liba.dll", pe_built / "liba.dll")
    win.put(f"{SITE}\\pkg\\libb.dll", pe_built / "libb.dll")
    win.put(f"{SITE}\\pkg\\KERNEL32.DLL", pe_built / "libb.dll")
    win.system32()
    tree, text = resolve(win.load(), pyd)
    k = node(tree, "KERNEL32.dll")
    assert (k.rule, k.path) == ("already-loaded", "C:\\Windows\\System32\\kernel32.dll"), text
    # The DLL-load folder is fixed for the whole call: libb.dll (needed by liba.dll) is found there too.
    assert node(tree, "libb.dll").rule == "dll-load-dir"
    assert not problems(tree)
    # Without python.exe in the process (standalone), it is the KnownDLL rule that picks System32.
    tree = win.load().loader().resolve(pyd, mode="standalone")
    k = node(tree, "KERNEL32.dll")
    assert (k.rule, k.path) == ("known-dll", "C:\\Windows\\System32\\kernel32.dll"), text


# -- real wheels -------------------------------------------------------------------------------------

def real_machine(win, pe_built, win_wheels, standins):
    """C:\\Python311 with a python311.dll stand-in exporting what the wheels import, the real VC++
    runtime in the application folder (as python.org installs it), numpy and Pillow in site-packages."""
    data = next(win_wheels["msvc-runtime"].glob("*.data/data"))
    for name in ("vcruntime140.dll", "vcruntime140_1.dll"):  # the wheel keeps these under Scripts
        win.put(f"C:\\Python311\\{name}", next(data.rglob(name)))
    for pkg in ("numpy", "pillow"):
        win.put(SITE, win_wheels[pkg])
    win.put(f"{SITE}\\msvc_runtime.cp311-win_amd64.pyd",
            next(win_wheels["msvc-runtime"].glob("msvc_runtime*.pyd")))
    wanted = imports_of(win.placed + [pe_built / "python.exe"])
    dll = build_standin(standins / "python311-real", "python311.dll", wanted["python311.dll"])
    win.put("C:\\Python311\\python311.dll", dll)
    win.put("C:\\Python311\\python.exe", pe_built / "python.exe")
    win.system32(["kernel32.dll", "user32.dll", "gdi32.dll", "advapi32.dll", "ole32.dll", "oleaut32.dll",
                  "shell32.dll", "ucrtbase.dll"])
    return data


#: A real python.exe / python311.dll import VCRUNTIME140.dll: in every process before any extension.
PROCESS = ["C:\\Python311\\vcruntime140.dll"]


def test_real_numpy_and_pillow_wheels_resolve_in_a_modelled_windows(win, pe_built, win_wheels, standins):
    real_machine(win, pe_built, win_wheels, standins)
    machine = win.load(loaded=PROCESS)
    loader = machine.loader()
    pyds = sorted(p for p in win.placed if p.suffix == ".pyd" and "msvc_runtime" not in p.name)
    assert len(pyds) > 20
    for host in pyds:
        winpath = "C:\\" + str(host.relative_to(win.root / "C")).replace("/", "\\")
        tree = loader.resolve(winpath)
        assert not problems(tree), format_tree(tree, verbose=True)
        assert tree.symbols_checked
    umath = f"{SITE}\\numpy\\_core\\_multiarray_umath.cp311-win_amd64.pyd"
    tree = loader.resolve(umath)
    blas = [n for n in walk(tree.root) if n.name.startswith("libscipy_openblas")][0]
    assert blas.rule == "add-dll-directory" and blas.via == "delvewheel patch in numpy\\__init__.py"
    assert node(tree, "VCRUNTIME140.dll").rule == "already-loaded"
    assert node(tree, "api-ms-win-crt-runtime-l1-1-0.dll").rule == "api-set"


def test_a_cpp_module_needs_msvcp140_and_a_runtime_as_new_as_its_toolset(win, pe_built, win_wheels, standins):
    data = real_machine(win, pe_built, win_wheels, standins)
    pyd = f"{SITE}\\msvc_runtime.cp311-win_amd64.pyd"
    tree, text = resolve(win.load(loaded=PROCESS), pyd)
    n = node(tree, "MSVCP140.dll")
    assert n.path is None and [c.rule for c in n.candidates][:3] == ["dll-load-dir", "app-dir", "system32"], text
    # The VC++ runtime in System32, but older than the toolset that built the module: said on the node.
    numpy_copy = next(win_wheels["numpy"].glob("numpy.libs/msvcp140-*.dll"))
    win.put("C:\\Windows\\System32\\msvcp140.dll", numpy_copy)
    tree, text = resolve(win.load(loaded=PROCESS), pyd)
    n = node(tree, "MSVCP140.dll")
    assert n.rule == "system32" and not n.system
    assert any("older than the Visual C++ toolset 14.44" in note for note in n.notes), text
    win.put("C:\\Windows\\System32\\msvcp140.dll", data / "msvcp140.dll")
    tree, text = resolve(win.load(loaded=PROCESS), pyd)
    assert not any("older than" in note for note in node(tree, "MSVCP140.dll").notes), text


@pytest.mark.parametrize("cc, arch", [("x86_64-w64-mingw32-gcc", "x64"), ("i686-w64-mingw32-gcc", "x86")])
def test_a_missing_system_dll_names_what_it_belongs_to(win, pe_built, tmp_path, cc, arch):
    """msvcp140.dll / vcruntime140.dll -> the VC++ 2015-2022 Redistributable of the module's own machine;
    api-ms-win-crt-* -> the Universal CRT (from library_providers.json), on the missing node itself."""
    import subprocess

    out = tmp_path / arch
    out.mkdir()
    dlls = []
    for name in ("MSVCP140.dll", "VCRUNTIME140.dll", "api-ms-win-crt-runtime-l1-1-0.dll"):
        stem = name.split(".")[0].replace("-", "_")
        (out / f"{stem}.c").write_text(f"__declspec(dllexport) int {stem}_f(void) {{ return 1; }}\n")
        subprocess.run([cc, "-shared", "-o", str(out / name), str(out / f"{stem}.c")], check=True)
        dlls.append(out / name)
    calls = " + ".join(f"{n.name.split('.')[0].replace('-', '_')}_f()" for n in dlls)
    decls = "".join(f"int {n.name.split('.')[0].replace('-', '_')}_f(void);\n" for n in dlls)
    (out / "ext.c").write_text(decls + f"__declspec(dllexport) int PyInit_ext(void) {{ return {calls}; }}\n")
    subprocess.run([cc, "-shared", "-o", str(out / "ext.pyd"), str(out / "ext.c"), *map(str, dlls)], check=True)
    assert {"msvcp140.dll", "vcruntime140.dll", "api-ms-win-crt-runtime-l1-1-0.dll"} <= set(imports_of([out / "ext.pyd"]))
    base(win, pe_built)
    pyd = win.put(f"{SITE}\\pkg\\ext.pyd", out / "ext.pyd")
    win.write(f"{SITE}\\pkg\\__init__.py", "")
    win.system32(("kernel32.dll", "msvcrt.dll"))
    machine = win.load(machine="x86_64" if arch == "x64" else "i386")
    # (the python stand-ins are x64: the x86 module is resolved on its own)
    tree = machine.loader().resolve(pyd, mode="as-imported" if arch == "x64" else "standalone")
    text = format_tree(tree, verbose=True)
    for name in ("MSVCP140.dll", "VCRUNTIME140.dll"):
        n = node(tree, name)
        assert n.path is None
        assert any(f"Microsoft Visual C++ 2015-2022 Redistributable ({arch})" in note
                   and f"vc_redist.{arch}.exe" in note for note in n.notes), text
    crt = node(tree, "api-ms-win-crt-runtime-l1-1-0.dll")
    if crt.path is None:   # (a modelled Windows 10 serves the API set from ucrtbase.dll when present)
        assert any("Universal C Runtime" in note for note in crt.notes), text


def _cli(*argv):
    import argparse
    import contextlib
    import io

    from dllmagic import cli_deps

    parser = argparse.ArgumentParser(prog="dlldoctor")
    cli_deps.add_parser(parser.add_subparsers(dest="verb"))
    args = parser.parse_args(["deps", "--no-cache", *argv])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli_deps.run(args)
    return rc, out.getvalue()


@pytest.mark.parametrize("drive_root", [True, False])
def test_a_windows_tree_called_as_lddtree_is_called(win, pe_built, drive_root):
    """``deps DIR/Python311/Lib/site-packages/pkg/x.pyd --root DIR --platform windows``: a host path, a root
    that is drive C: itself (or holds C/), no --python: the path is mapped, python.exe and python311.dll
    are inferred from the layout, and the output says both."""
    base(win, pe_built)
    pyd = module(win, pe_built, "ext_missing")
    win.put(f"{SITE}\\pkg\\libmissing.dll", pe_built / "libmissing.dll")
    win.system32()
    root = win.root / "C" if drive_root else win.root
    host = win.host(pyd)
    rc, out = _cli(str(host), "--root", str(root), "--platform", "windows", "--json")
    data = json.loads(out)
    (tree,) = data["trees"]
    assert rc == 0 and tree["ok"], out
    assert tree["root"]["path"] == pyd
    notes = tree["notes"]
    assert f"{host} is {pyd} on the modelled machine" in " ".join(notes)
    assert any(n.startswith("python C:\\Python311\\python.exe (python3.dll, python311.dll beside it)")
               for n in notes), notes
    assert tree["executable"].lower() == "c:\\python311\\python.exe"
    py = [c for c in tree["root"]["children"] if c["name"].lower() == "python311.dll"]
    assert py and py[0]["rule"] == "already-loaded"
    # the machine path is still taken as it is
    rc, out = _cli(pyd, "--root", str(root), "--platform", "windows")
    assert rc == 0 and "python C:\\Python311\\python.exe" in out
