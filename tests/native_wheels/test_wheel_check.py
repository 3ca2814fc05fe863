"""`dlldoctor deps FILE.whl`: real wheels (compiled here, zipped as auditwheel/delvewheel/delocate lay them
out) checked against the stock machine of their platform tag."""
from __future__ import annotations

import json
import zipfile

import pytest

from wheel_kit import dlldoctor, download_wheel, elf_library, macho_library, make_wheel, pe_library

from dllmagic.facts.native.wheel import WheelError, check_wheel

TAG = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"


@pytest.fixture(scope="module")
def linux_parts(tmp_path_factory):
    out = tmp_path_factory.mktemp("linux-parts")
    foo = elf_library(out, "libfoo-ab12cd34.so.1", "int foo(void){return 1;}\n", soname="libfoo-ab12cd34.so.1",
                      rpath="$ORIGIN")
    core = elf_library(out, "_core.cpython-311-x86_64-linux-gnu.so",
                       "int foo(void); int PyInit__core(void){return foo();}\n",
                       libs=[f"-L{out}", "-l:libfoo-ab12cd34.so.1"], rpath="$ORIGIN/../demo.libs")
    omp = elf_library(out, "_omp.cpython-311-x86_64-linux-gnu.so",
                      "#include <omp.h>\nint PyInit__omp(void){return omp_get_max_threads();}\n", flags=["-fopenmp"])
    # pthread_create@GLIBC_2.34 when linked against glibc 2.34 or later (this machine's)
    threads = elf_library(out, "_threads.cpython-311-x86_64-linux-gnu.so",
                          "#include <pthread.h>\nstatic void *f(void *a){return a;}\n"
                          "int PyInit__threads(void){pthread_t t; return pthread_create(&t, 0, f, 0);}\n",
                          flags=["-pthread"])
    return {"foo": foo, "core": core, "omp": omp, "threads": threads}


def test_bundled_library_through_origin_rpath_loads(linux_parts, tmp_path):
    wheel = make_wheel(tmp_path, f"demo-1.0-{TAG}.whl", {
        "demo/__init__.py": "", "demo/_core.cpython-311-x86_64-linux-gnu.so": linux_parts["core"],
        "demo.libs/libfoo-ab12cd34.so.1": linux_parts["foo"]})
    check = check_wheel(str(wheel))
    assert check.ok, check.to_dict()
    (machine,) = check.machines
    assert machine["baseline"] == "manylinux_2_17" and machine["machine"] == "x86_64"
    assert check.libraries == ["demo.libs/libfoo-ab12cd34.so.1"]
    proc = dlldoctor("deps", str(wheel))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "loads on a stock manylinux_2_17 x86_64 machine" in proc.stdout


def test_same_extension_without_its_bundled_library_fails(linux_parts, tmp_path):
    wheel = make_wheel(tmp_path, f"demo-1.0-{TAG}.whl", {
        "demo/_core.cpython-311-x86_64-linux-gnu.so": linux_parts["core"]})
    check = check_wheel(str(wheel))
    assert not check.ok
    (need,) = check.machines[0]["needs"]
    assert need["name"] == "libfoo-ab12cd34.so.1" and need["kind"] == "missing-library"


def test_library_outside_the_policy_is_reported_with_its_provider(linux_parts, tmp_path):
    wheel = make_wheel(tmp_path, f"demo-1.0-{TAG}.whl", {
        "demo/_omp.cpython-311-x86_64-linux-gnu.so": linux_parts["omp"]})
    proc = dlldoctor("deps", str(wheel), "--json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    from dllmagic.cli_deps import deps_schema

    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(data, deps_schema())
    (wheel_out,) = data["wheels"]
    needs = wheel_out["machines"][0]["needs"]
    assert [n["name"] for n in needs] == ["libgomp.so.1"]
    assert "apt libgomp1" in needs[0]["provided_by"] and "auditwheel repair" in needs[0]["provided_by"]
    text = dlldoctor("deps", str(wheel))
    assert text.returncode == 1 and "needs libgomp.so.1" in text.stdout


def test_symbol_versions_beyond_the_policy(linux_parts, tmp_path):
    from dllmagic.facts.native.binary import read_binary

    need = {v.version for v in read_binary(str(linux_parts["threads"])).versions_needed}
    if "GLIBC_2.34" not in need:
        pytest.skip("this machine's glibc is older than 2.34: pthread_create has no GLIBC_2.34 version")
    old = make_wheel(tmp_path / "old", f"demo-1.0-{TAG}.whl",
                     {"demo/_threads.cpython-311-x86_64-linux-gnu.so": linux_parts["threads"]})
    check = check_wheel(str(old))
    assert not check.ok
    kinds = {(n["kind"], n["name"]) for n in check.machines[0]["needs"]}
    assert ("symbol-version", "GLIBC_2.34") in kinds, kinds
    # the same file under the tag that matches what it needs loads
    new = make_wheel(tmp_path / "new", "demo-1.0-cp311-cp311-manylinux_2_34_x86_64.whl",
                     {"demo/_threads.cpython-311-x86_64-linux-gnu.so": linux_parts["threads"]})
    assert check_wheel(str(new)).ok
    # --tag asks about another stock machine
    proc = dlldoctor("deps", str(new), "--tag", "manylinux_2_28_x86_64")
    assert proc.returncode == 1 and "GLIBC_2.34" in proc.stdout


def test_musllinux_wheel(tmp_path):
    ext = elf_library(tmp_path / "b", "_m.cpython-311-x86_64-linux-musl.so",
                      "#include <string.h>\nint PyInit__m(const char *s){return (int)strlen(s);}\n", cc="musl-gcc")
    omp_free = make_wheel(tmp_path, "m-1.0-cp311-cp311-musllinux_1_2_x86_64.whl",
                          {"m/_m.cpython-311-x86_64-linux-musl.so": ext})
    check = check_wheel(str(omp_free))
    assert check.ok, check.to_dict()
    assert check.machines[0]["baseline"] == "musllinux_1_2"


# -- aarch64: built with the real cross compiler and its glibc (tests/native/setup.sh installs them) ----------
A64 = "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64"


@pytest.fixture(scope="module")
def aarch64_parts(tmp_path_factory):
    out = tmp_path_factory.mktemp("aarch64-parts")
    cc = "aarch64-linux-gnu-gcc"
    bar = elf_library(out, "libbar-1a2b3c4d.so.1", "int bar(void){return 2;}\n", cc=cc, soname="libbar-1a2b3c4d.so.1")
    ext = elf_library(out, "_a.cpython-311-aarch64-linux-gnu.so",
                      "#include <math.h>\nint bar(void); int PyInit__a(double x){return (int)sqrt(x) + bar();}\n",
                      cc=cc, libs=[f"-L{out}", "-l:libbar-1a2b3c4d.so.1", "-lm"], rpath="$ORIGIN/../a.libs")
    threads = elf_library(out, "_t.cpython-311-aarch64-linux-gnu.so",
                          "#include <pthread.h>\nstatic void *f(void *a){return a;}\n"
                          "int PyInit__t(void){pthread_t t; return pthread_create(&t, 0, f, 0);}\n",
                          cc=cc, flags=["-pthread"])
    return {"bar": bar, "ext": ext, "threads": threads}


def test_aarch64_wheel_on_its_stock_machine(aarch64_parts, tmp_path):
    from dllmagic.facts.native.binary import read_binary

    assert read_binary(str(aarch64_parts["ext"])).machine == "aarch64"
    files = {"a/_a.cpython-311-aarch64-linux-gnu.so": aarch64_parts["ext"], "a.libs/libbar-1a2b3c4d.so.1": aarch64_parts["bar"]}
    check = check_wheel(str(make_wheel(tmp_path / "ok", f"a-1.0-{A64}.whl", files)))
    assert check.ok, check.to_dict()
    assert (check.machines[0]["baseline"], check.machines[0]["machine"]) == ("manylinux_2_17", "aarch64")
    # without its bundled library: that library, by name
    del files["a.libs/libbar-1a2b3c4d.so.1"]
    check = check_wheel(str(make_wheel(tmp_path / "lib", f"a-1.0-{A64}.whl", files)))
    assert [(n["kind"], n["name"]) for n in check.machines[0]["needs"]] == [("missing-library", "libbar-1a2b3c4d.so.1")]


def test_aarch64_symbol_versions_and_a_file_of_another_cpu(aarch64_parts, tmp_path):
    from dllmagic.facts.native.binary import read_binary

    if "GLIBC_2.34" not in {v.version for v in read_binary(str(aarch64_parts["threads"])).versions_needed}:
        pytest.skip("the aarch64 cross glibc here is older than 2.34")
    check = check_wheel(str(make_wheel(tmp_path / "t", f"a-1.0-{A64}.whl",
                                       {"a/_t.cpython-311-aarch64-linux-gnu.so": aarch64_parts["threads"]})))
    assert ("symbol-version", "GLIBC_2.34") in {(n["kind"], n["name"]) for n in check.machines[0]["needs"]}
    # the aarch64 module in a wheel tagged x86_64: the module itself is refused, and the verdict says why
    wrong = make_wheel(tmp_path / "x", f"a-1.0-{TAG}.whl", {"a/_a.cpython-311-aarch64-linux-gnu.so": aarch64_parts["ext"],
                                                          "a.libs/libbar-1a2b3c4d.so.1": aarch64_parts["bar"]})
    check = check_wheel(str(wrong))
    (need,) = [n for n in check.machines[0]["needs"] if n["name"].startswith("a/_a")]
    assert need["kind"] == "unloadable-library"
    assert "itself does not load (wrong machine aarch64" in check.machines[0]["verdict"]


# -- Windows -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pe_parts(tmp_path_factory):
    out = tmp_path_factory.mktemp("pe-parts")
    vendor = pe_library(out, "vendor.dll", "__declspec(dllexport) int vendor(void){return 3;}\n")
    plain = pe_library(out, "_plain.cp311-win_amd64.pyd",
                       "__declspec(dllimport) int vendor(void);\n"
                       "__declspec(dllexport) int PyInit__plain(void){return vendor();}\n",
                       libs=[str(vendor)])
    # a module importing msvcp140.dll, as MSVC-built C++ extensions do (linked against an import library
    # made here from a .def file: mingw has no MSVC runtime)
    (out / "msvcp140.def").write_text("LIBRARY msvcp140.dll\nEXPORTS\n_Query_perf_frequency\n")
    from wheel_kit import need, run

    run([need("x86_64-w64-mingw32-dlltool"), "-d", str(out / "msvcp140.def"), "-l", str(out / "libmsvcp140.a")])
    cpp = pe_library(out, "_cpp.cp311-win_amd64.pyd",
                     "__declspec(dllimport) long long _Query_perf_frequency(void);\n"
                     "__declspec(dllexport) int PyInit__cpp(void){ return (int)_Query_perf_frequency(); }\n",
                     libs=[str(out / "libmsvcp140.a")])
    return {"vendor": vendor, "plain": plain, "cpp": cpp}


def test_windows_vendor_dll_in_the_wheel(pe_parts, tmp_path):
    wheel = make_wheel(tmp_path, "w-1.0-cp311-cp311-win_amd64.whl", {
        "w/__init__.py": "", "w/_plain.cp311-win_amd64.pyd": pe_parts["plain"], "w/vendor.dll": pe_parts["vendor"]})
    check = check_wheel(str(wheel))
    assert check.ok, check.to_dict()
    missing = make_wheel(tmp_path / "m", "w-1.0-cp311-cp311-win_amd64.whl",
                         {"w/_plain.cp311-win_amd64.pyd": pe_parts["plain"]})
    check = check_wheel(str(missing))
    assert not check.ok
    assert [n["name"] for n in check.machines[0]["needs"]] == ["vendor.dll"]
    assert not check.machines[0].get("needs_vc_redist")


def test_windows_needs_the_vc_redistributable(pe_parts, tmp_path):
    wheel = make_wheel(tmp_path, "w-1.0-cp311-cp311-win_amd64.whl", {"w/_cpp.cp311-win_amd64.pyd": pe_parts["cpp"]})
    check = check_wheel(str(wheel))
    assert not check.ok
    machine = check.machines[0]
    assert machine["needs_vc_redist"] is True and machine["with_vc_redist"]["ok"] is True
    assert "Visual C++ 2015-2022 Redistributable (x64)" in machine["verdict"]
    assert [n["name"].lower() for n in machine["needs"]] == ["msvcp140.dll"]
    proc = dlldoctor("check", "--wheel", str(wheel))
    assert proc.returncode == 1 and "Redistributable" in proc.stdout
    # the same DLL bundled in the wheel (delvewheel style, beside the module) closes the gap
    bundled = make_wheel(tmp_path / "b", "w-1.0-cp311-cp311-win_amd64.whl", {
        "w/_cpp.cp311-win_amd64.pyd": pe_parts["cpp"], "w/msvcp140.dll": pe_parts["vendor"]})
    assert check_wheel(str(bundled)).ok


# -- macOS -------------------------------------------------------------------------------------------

def test_macos_wheel_system_and_bundled_dylibs(tmp_path):
    out = tmp_path / "b"
    dep = macho_library(out, "libdep.dylib", "int dep(void){return 2;}\n", install_name="@loader_path/libdep.dylib")
    ext = macho_library(out, "_ext.cpython-311-darwin.so", "int PyInit__ext(void){return 0;}\n",
                        dylibs=["/usr/lib/libSystem.B.dylib", "@loader_path/../m/.dylibs/libdep.dylib"])
    wheel = make_wheel(tmp_path, "m-1.0-cp311-cp311-macosx_11_0_arm64.whl",
                       {"m/_ext.cpython-311-darwin.so": ext, "m/.dylibs/libdep.dylib": dep})
    check = check_wheel(str(wheel))
    assert check.ok, check.to_dict()
    assert check.machines[0]["machine"] == "arm64" and check.machines[0]["baseline"] == "11.0"
    brew = macho_library(out / "brew", "_b.cpython-311-darwin.so", "int PyInit__b(void){return 0;}\n",
                         dylibs=["/usr/lib/libSystem.B.dylib", "/opt/homebrew/opt/libomp/lib/libomp.dylib"])
    wheel = make_wheel(tmp_path / "w2", "m-1.0-cp311-cp311-macosx_11_0_arm64.whl", {"m/_b.cpython-311-darwin.so": brew})
    check = check_wheel(str(wheel))
    assert not check.ok
    (need,) = check.machines[0]["needs"]
    assert need["name"] == "/opt/homebrew/opt/libomp/lib/libomp.dylib"
    assert need["provided_by"]


def test_macos_tag_older_than_the_build(tmp_path):
    ext = macho_library(tmp_path / "b", "_n.cpython-311-darwin.so", "int PyInit__n(void){return 0;}\n",
                        arch="x86_64", min_os="13.0", dylibs=["/usr/lib/libSystem.B.dylib"])
    wheel = make_wheel(tmp_path, "n-1.0-cp311-cp311-macosx_10_9_x86_64.whl", {"n/_n.cpython-311-darwin.so": ext})
    check = check_wheel(str(wheel))
    assert not check.ok
    assert "newer than running OS 10.9" in json.dumps(check.to_dict())


# -- hostile wheels -------------------------------------------------------------------------------------

def test_zip_bomb_and_unsafe_names_are_left_out(tmp_path, linux_parts):
    bomb = tmp_path / f"bomb-1.0-{TAG}.whl"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb/_big.cpython-311-x86_64-linux-gnu.so", b"\0" * (64 << 20))
        zf.writestr("../escape.so", b"\x7fELF")
        zf.write(linux_parts["omp"], "bomb/_omp.cpython-311-x86_64-linux-gnu.so")
    check = check_wheel(str(bomb))
    assert not check.ok and not check.complete
    text = "\n".join(check.skipped)
    assert "over the reading budget" in text and "would leave the install folder" in text
    assert check.bytes < (1 << 20)
    assert not (tmp_path / "escape.so").exists()


def test_too_many_entries_and_not_a_zip(tmp_path):
    many = tmp_path / f"many-1.0-{TAG}.whl"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(50):
            zf.writestr(f"many/f{i}.py", "")
    with pytest.raises(WheelError, match="more than the 10"):
        check_wheel(str(many), max_entries=10)
    bad = tmp_path / f"bad-1.0-{TAG}.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(WheelError, match="not a readable zip"):
        check_wheel(str(bad))
    proc = dlldoctor("deps", str(bad))
    assert proc.returncode == 2 and "not a readable zip" in proc.stderr


def test_pure_python_wheel_loads_anywhere(tmp_path):
    wheel = make_wheel(tmp_path, "p-1.0-py3-none-any.whl", {"p/__init__.py": "x = 1\n"})
    proc = dlldoctor("deps", str(wheel))
    assert proc.returncode == 0 and "no native code" in proc.stdout


def test_local_linux_tag_names_no_machine(linux_parts, tmp_path):
    wheel = make_wheel(tmp_path, "l-1.0-cp311-cp311-linux_x86_64.whl",
                       {"l/_omp.cpython-311-x86_64-linux-gnu.so": linux_parts["omp"]})
    check = check_wheel(str(wheel))
    assert not check.ok and any("--tag" in n for n in check.notes)
    assert check_wheel(str(wheel), tag="manylinux_2_28_x86_64").machines[0]["needs"][0]["name"] == "libgomp.so.1"
    proc = dlldoctor("deps", str(wheel), "--tag", "linux_\x1b[31mred")
    assert proc.returncode == 2 and "names no stock machine" in proc.stderr and "\x1b" not in proc.stderr


# -- wheels from the package index ------------------------------------------------------------------------

REAL_WHEELS = [("win_amd64", "pillow"), ("win_arm64", "pillow"), ("manylinux2014_x86_64", "pillow"),
               ("musllinux_1_2_x86_64", "pillow"), ("macosx_11_0_arm64", "pillow"), ("manylinux2014_x86_64", "markupsafe")]


@pytest.mark.slow
@pytest.mark.parametrize("platform,name", REAL_WHEELS)
def test_real_wheels_from_the_index(platform, name):
    wheel = download_wheel(platform, name)
    check = check_wheel(str(wheel))
    assert check.extensions, check.to_dict()
    assert check.ok, json.dumps(check.to_dict(), indent=1)[:3000]


@pytest.mark.slow
def test_real_wheel_on_an_older_stock_machine_than_it_was_built_for():
    """Pillow's manylinux2014 wheel (and its pillow.libs) needs glibc 2.17: a manylinux1 machine (2.5) lacks it."""
    wheel = download_wheel("manylinux2014_x86_64", "pillow")
    check = check_wheel(str(wheel), tag="manylinux1_x86_64")
    assert not check.ok
    needs = check.machines[0]["needs"]
    assert needs and all(n["kind"] == "symbol-version" for n in needs)
    assert "GLIBC_2.17" in {n["name"] for n in needs}
    assert any("pillow.libs/" in p["required_by"] for f in check.machines[0]["files"] for p in f["problems"]
               if p["required_by"])


def test_windows_dll_folder_added_by_the_package(pe_parts, tmp_path):
    """delvewheel's layout: the DLLs in <dist>.libs/, added by the package's __init__.py."""
    init = ("import os\n"
            "libs_dir = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, 'w.libs'))\n"
            "os.add_dll_directory(libs_dir)\n")
    wheel = make_wheel(tmp_path, "w-1.0-cp311-cp311-win_amd64.whl", {
        "w/__init__.py": init, "w/_plain.cp311-win_amd64.pyd": pe_parts["plain"], "w.libs/vendor.dll": pe_parts["vendor"]})
    check = check_wheel(str(wheel))
    assert check.ok, json.dumps(check.to_dict(), indent=1)
    without = make_wheel(tmp_path / "n", "w-1.0-cp311-cp311-win_amd64.whl", {
        "w/__init__.py": "", "w/_plain.cp311-win_amd64.pyd": pe_parts["plain"], "w.libs/vendor.dll": pe_parts["vendor"]})
    assert not check_wheel(str(without)).ok


def test_win32_wheel_on_a_64_bit_windows(tmp_path):
    pyd = pe_library(tmp_path / "b", "_x.cp311-win32.pyd", "__declspec(dllexport) int PyInit__x(void){return 0;}\n",
                     cc="i686-w64-mingw32-gcc")
    wheel = make_wheel(tmp_path, "x-1.0-cp311-cp311-win32.whl", {"x/_x.cp311-win32.pyd": pyd})
    check = check_wheel(str(wheel))
    assert check.ok, check.to_dict()
    assert check.machines[0]["machine"] == "i386"
    # a 64-bit module in a win32 wheel does not load in a 32-bit python
    pyd64 = pe_library(tmp_path / "c", "_x.cp311-win32.pyd", "__declspec(dllexport) int PyInit__x(void){return 0;}\n")
    wrong = make_wheel(tmp_path / "w", "x-1.0-cp311-cp311-win32.whl", {"x/_x.cp311-win32.pyd": pyd64})
    assert not check_wheel(str(wrong)).ok


def test_policy_library_absent_from_minimal_installs(tmp_path):
    out = tmp_path / "b"
    gl = elf_library(out, "libGL.so.1", "int glFlush(void){return 0;}\n", soname="libGL.so.1")
    ext = elf_library(out, "_gl.cpython-311-x86_64-linux-gnu.so", "int glFlush(void); int PyInit__gl(void){return glFlush();}\n",
                      libs=[f"-L{out}", "-l:libGL.so.1"])
    wheel = make_wheel(tmp_path, f"g-1.0-{TAG}.whl", {"g/_gl.cpython-311-x86_64-linux-gnu.so": ext})
    check = check_wheel(str(wheel))
    assert check.ok, check.to_dict()
    (minimal,) = check.machines[0]["not_on_minimal_installs"]
    assert minimal["library"] == "libGL.so.1" and "libgl1" in minimal["provided_by"]
    proc = dlldoctor("deps", str(wheel))
    assert proc.returncode == 0 and "absent from minimal installs" in proc.stdout
    # on a minimal install (a container image) it is missing, with its package
    check = check_wheel(str(wheel), minimal=True)
    assert not check.ok and check.machines[0]["needs"][0]["name"] == "libGL.so.1"
    assert "libgl1" in check.machines[0]["needs"][0]["provided_by"]
    assert "allowed by the manylinux_2_17 policy" in check.machines[0]["needs"][0]["provided_by"]
    proc = dlldoctor("deps", str(wheel), "--minimal")
    assert proc.returncode == 1 and "a minimal manylinux_2_17 x86_64 machine" in proc.stdout


def test_universal2_wheel_is_checked_on_both_cpus(tmp_path):
    from wheel_kit import need, run

    out = tmp_path / "b"
    arm = macho_library(out / "arm", "_u.cpython-311-darwin.so", "int PyInit__u(void){return 0;}\n",
                        dylibs=["/usr/lib/libSystem.B.dylib"])
    intel = macho_library(out / "x86", "_u.cpython-311-darwin.so", "int PyInit__u(void){return 0;}\n", arch="x86_64",
                          min_os="10.9", dylibs=["/usr/lib/libSystem.B.dylib"])
    fat = out / "_u.cpython-311-darwin.so"
    run([need("llvm-lipo"), "-create", str(arm), str(intel), "-output", str(fat)])
    wheel = make_wheel(tmp_path, "u-1.0-cp311-cp311-macosx_10_9_universal2.whl", {"u/_u.cpython-311-darwin.so": fat})
    check = check_wheel(str(wheel))
    assert check.ok, check.to_dict()
    assert sorted((m["machine"], m["baseline"]) for m in check.machines) == [("arm64", "11.0"), ("x86_64", "10.9")]
    # an arm64-only file in a universal2 wheel fails on the Intel Mac
    thin = make_wheel(tmp_path / "t", "u-1.0-cp311-cp311-macosx_10_9_universal2.whl", {"u/_u.cpython-311-darwin.so": arm})
    check = check_wheel(str(thin))
    assert [m["ok"] for m in sorted(check.machines, key=lambda m: m["machine"])] == [True, False]


def test_stock_tables_are_consistent():
    from dllmagic.facts.native.stock import check_stock_tables

    assert check_stock_tables() == []


def test_json_of_every_platform_follows_the_schema(pe_parts, linux_parts, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    from dllmagic.cli_deps import deps_schema

    win = make_wheel(tmp_path / "w", "w-1.0-cp311-cp311-win_amd64.whl", {"w/_cpp.cp311-win_amd64.pyd": pe_parts["cpp"]})
    lin = make_wheel(tmp_path / "l", f"demo-1.0-{TAG}.whl", {
        "demo/_core.cpython-311-x86_64-linux-gnu.so": linux_parts["core"],
        "demo.libs/libfoo-ab12cd34.so.1": linux_parts["foo"]})
    proc = dlldoctor("deps", str(win), str(lin), "--json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, deps_schema())
    first, second = data["wheels"]
    assert first["machines"][0]["needs_vc_redist"] and not first["ok"]
    assert second["ok"] and second["libraries"] == ["demo.libs/libfoo-ab12cd34.so.1"]
    assert data["ok"] is False and len(data["trees"]) == 2  # the .pyd on the clean machine, the .so
    assert all(t["symbols_checked"] is False for t in data["trees"])


def test_check_without_name_or_wheel_is_a_usage_error():
    proc = dlldoctor("check")
    assert proc.returncode == 2 and "--wheel" in proc.stderr


def test_stock_machine_of_an_unlisted_policy_and_of_aliases(tmp_path):
    from dllmagic.facts.native.binary import read_binary
    from dllmagic.facts.native.stock import stock_machine
    from dllmagic.facts.native.wheel import stock_specs

    specs, notes = stock_specs(["manylinux_2_30_x86_64"], (3, 11))
    (spec,) = specs
    assert spec.baseline == "manylinux_2_30" and any("manylinux_2_28" in n for n in notes)
    system, _loader, _py, _site, _prefix = stock_machine(spec, str(tmp_path))
    libc = read_binary("/lib64/libc.so.6", system)
    assert {"GLIBC_2.28", "GLIBC_2.29", "GLIBC_2.30"} <= set(libc.versions_defined)
    assert "GLIBC_2.31" not in libc.versions_defined
    # aliases name the same policy; a tag set is checked against its oldest policy
    specs, _ = stock_specs(["manylinux2014_x86_64", "manylinux_2_28_x86_64"], (3, 11))
    assert [s.baseline for s in specs] == ["manylinux_2_17"]
    # libstdc++ of manylinux_2_17 stops at GLIBCXX_3.4.19 and CXXABI_1.3.7
    specs, _ = stock_specs(["manylinux2014_x86_64"], (3, 11))
    system, *_ = stock_machine(specs[0], str(tmp_path))
    cxx = read_binary("/lib64/libstdc++.so.6", system).versions_defined
    assert "GLIBCXX_3.4.19" in cxx and "GLIBCXX_3.4.20" not in cxx and "CXXABI_1.3.7" in cxx
    # nothing of the stock machine is a file on this host
    assert not list(tmp_path.rglob("libc.so.6"))


def test_nothing_is_left_in_the_temporary_folder(linux_parts, tmp_path, monkeypatch):
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    wheel = make_wheel(tmp_path, f"demo-1.0-{TAG}.whl", {"demo/_omp.cpython-311-x86_64-linux-gnu.so": linux_parts["omp"]})
    check_wheel(str(wheel))
    assert list(scratch.iterdir()) == []
