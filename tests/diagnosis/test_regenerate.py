"""scripts/regenerate_knowledge.py against this machine's real NumPy and libstdc++.

The first test is the one that keeps the committed tables honest: it fails as soon as the installed NumPy
records a removed name the table lacks, or a libstdc++ here defines a GLIBCXX/CXXABI version the table
does not know (run the script with --write, or add the GCC release by hand).
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

from diagkit import REPO, compile_shared, have_compiler

SCRIPT = REPO / "scripts" / "regenerate_knowledge.py"
HOST_LIBSTDCXX = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"


def _numpy_2():
    np = pytest.importorskip("numpy")
    if int(np.__version__.split(".")[0]) < 2:
        pytest.skip(f"NumPy {np.__version__} keeps no records of expired attributes (NumPy 2 does)")
    return np


def _libstdcxx() -> str:
    for path in (HOST_LIBSTDCXX, "/usr/lib64/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6"):
        if os.path.exists(path):
            return path
    pytest.skip("no libstdc++.so.6 on this host")


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          timeout=300)


def script_module():
    spec = importlib.util.spec_from_file_location("regenerate_knowledge", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("regenerate_knowledge", module)   # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_committed_tables_are_up_to_date_with_this_machines_numpy_and_libstdcxx():
    _numpy_2()
    lib = _libstdcxx()
    proc = run("--libstdcxx", lib, "--json")
    results = {r["table"]: r for r in json.loads(proc.stdout)}
    assert results["numpy_removed_names"]["differences"] == [], "run: python scripts/regenerate_knowledge.py --write"
    assert results["libstdcxx_versions"]["differences"] == [], "add the new GCC release to libstdcxx_versions.json"
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert any("NumPy 2." in n for n in results["numpy_removed_names"]["notes"])
    assert any("newest GLIBCXX version GLIBCXX_3.4." in n for n in results["libstdcxx_versions"]["notes"])


def test_every_name_numpy_records_as_removed_is_in_the_table_with_numpys_release():
    np = _numpy_2()
    from dllmagic.knowledge import tables

    known = tables.numpy_removed_names()
    expired = importlib.import_module("numpy._expired_attrs_2_0").__expired_attributes__
    for name in expired:
        assert known[name]["removed_in"] == "2.0.0", name
        with pytest.raises(AttributeError):
            getattr(np, name)
    for name in np.__former_attrs__:
        assert known[name]["removed_in"] == "1.24.0", name


def test_write_adds_a_missing_row_corrects_a_release_and_leaves_the_rest_alone(tmp_path):
    _numpy_2()
    copy = tmp_path / "knowledge"
    shutil.copytree(REPO / "dllmagic" / "knowledge", copy)
    path = copy / "numpy_removed_names.json"
    data = json.loads(path.read_text())
    original = {e["id"]: dict(e) for e in data["entries"]}
    data["entries"] = [e for e in data["entries"] if e["name"] not in ("cfloat", "geterrobj")]
    for entry in data["entries"]:
        if entry["name"] == "float_":
            entry["removed_in"] = "1.0.0"
    path.write_text(json.dumps(data, indent=1) + "\n")

    check = run("--tables", str(copy), "--libstdcxx", _libstdcxx())
    assert check.returncode == 1
    assert "np.cfloat: removed in 2.0.0 (NumPy's record) but not in the table" in check.stdout
    assert "np.float_: the table says removed in 1.0.0, NumPy's record says 2.0.0" in check.stdout
    assert json.loads(path.read_text()) == data                     # without --write nothing changes

    written = run("--tables", str(copy), "--libstdcxx", _libstdcxx(), "--write", "--today", "2031-02-03")
    assert written.returncode == 0, written.stdout + written.stderr
    after = {e["id"]: e for e in json.loads(path.read_text())["entries"]}
    assert after["cfloat"] == {"id": "cfloat", "name": "cfloat", "removed_in": "2.0.0", "replacement": "np.complex128",
                               "source": after["cfloat"]["source"], "checked": "2031-02-03"}
    assert after["cfloat"]["source"].startswith("https://github.com/numpy/numpy/blob/v2.")
    assert after["geterrobj"]["replacement"] == "the np.errstate context manager"
    assert after["float_"]["removed_in"] == "2.0.0" and after["float_"]["checked"] == "2031-02-03"
    for ident, entry in original.items():                          # ids, sources and dates of the rest: as they were
        if ident not in ("cfloat", "geterrobj", "float_"):
            assert after[ident] == entry
    assert run("--tables", str(copy), "--libstdcxx", _libstdcxx()).returncode == 0


def test_a_table_row_numpy_still_defines_is_reported(tmp_path):
    _numpy_2()
    copy = tmp_path / "knowledge"
    shutil.copytree(REPO / "dllmagic" / "knowledge", copy)
    path = copy / "numpy_removed_names.json"
    data = json.loads(path.read_text())
    data["entries"].append({"id": "float64", "name": "float64", "removed_in": "1.0.0", "replacement": "x",
                            "source": "https://example.org/", "checked": "2020-01-01"})
    for entry in data["entries"]:
        if entry["name"] == "bool":
            del entry["restored_in"]
    path.write_text(json.dumps(data, indent=1) + "\n")
    proc = run("--tables", str(copy), "--libstdcxx", _libstdcxx(), "--write")
    assert proc.returncode == 1
    assert "np.float64: NumPy 2." in proc.stdout and "np.bool: NumPy 2." in proc.stdout
    assert "np.long:" not in proc.stdout                            # restored_in 2.0.0 in the table


@pytest.mark.skipif(not have_compiler(), reason="needs a C compiler")
def test_libstdcxx_versions_missing_from_the_table_or_from_the_library_are_reported(tmp_path):
    # A real ELF shared object with GLIBCXX version definitions 3.4.19 and 3.4.21 (no 3.4.20), CXXABI 1.3.7.
    script = ("GLIBCXX_3.4.19 { global: a; local: *; };\nGLIBCXX_3.4.21 { global: b; } GLIBCXX_3.4.19;\n"
              "CXXABI_1.3.7 { global: c; };\n")
    lib = compile_shared(tmp_path / "lib", "libstdc++.so.6", "int a(void){return 0;} int b(void){return 1;} "
                         "int c(void){return 2;}\n", soname="libstdc++.so.6", version_script=script)
    copy = tmp_path / "knowledge"
    shutil.copytree(REPO / "dllmagic" / "knowledge", copy)
    path = copy / "libstdcxx_versions.json"
    data = json.loads(path.read_text())
    data["entries"] = [e for e in data["entries"] if e["version"] != "GLIBCXX_3.4.21"]
    path.write_text(json.dumps(data, indent=1) + "\n")
    proc = run("--tables", str(copy), "--no-numpy", "--libstdcxx", str(lib), "--write")
    assert proc.returncode == 1
    assert f"{lib} defines GLIBCXX_3.4.21, which the table lacks" in proc.stdout
    assert f"the table's GLIBCXX_3.4.20 (GCC 4.9.0) is not defined by {lib}" in proc.stdout
    assert "GLIBCXX_3.4.22" not in proc.stdout.replace("note", "")   # newer GCC than this library: not a difference
    assert json.loads(path.read_text()) == data                        # never rewritten


def test_replacements_come_from_numpys_migration_notes():
    module = script_module()
    assert module.replacement_from_note("float_", "Use `np.float64` instead.") == "np.float64"
    assert module.replacement_from_note("add_newdoc", "It's still available as `np.lib.add_newdoc`.") == \
        "np.lib.add_newdoc"
    assert module.replacement_from_note("tracemalloc_domain", "It's now available from `np.lib`.") == \
        "np.lib.tracemalloc_domain"
    assert module.replacement_from_note("get_array_wrap", "") == "(no direct replacement)"
    assert module.replacement_from_note("who", "Use an IDE variable explorer or `locals()` instead.") == \
        "an IDE variable explorer or locals()"
