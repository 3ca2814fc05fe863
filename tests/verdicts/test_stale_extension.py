"""A project's extension module built once (gcc, for real), its .py source edited since: Python imports the
extension before a .py of the same name, so what the user edits is not what runs. The import works (healthy,
and true), and the report says the newer source beside it is not imported; an extension built after its
source gets no such note."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time

import pytest

from dllmagic.api import check

pytestmark = pytest.mark.skipif(sys.platform == "win32" or not shutil.which("gcc"), reason="gcc on POSIX")

_C = """#include <Python.h>
static struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "core", NULL, -1};
PyMODINIT_FUNC PyInit_core(void) { return PyModule_Create(&m); }
"""


def test_an_extension_older_than_its_source_beside_it_is_said(tmp_path, monkeypatch):
    package = tmp_path / "fastmath"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (tmp_path / "core.c").write_text(_C)
    ext = package / f"core{sysconfig.get_config_var('EXT_SUFFIX')}"
    subprocess.run(["gcc", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}", str(tmp_path / "core.c"),
                    "-o", str(ext)], check=True)
    source = package / "core.py"
    source.write_text("def f():\n    return 'edited'\n")
    monkeypatch.chdir(tmp_path)
    # Built after the source: nothing to say.
    report = check("fastmath.core", python=sys.executable, cwd=str(tmp_path))
    assert report.ok and report.findings[0].cause == "healthy", report.findings[0]
    assert str(source) not in report.findings[0].summary
    # The source edited after the build (its time moved on, as an editor's save does).
    later = time.time() + 60
    os.utime(source, (later, later))
    report = check("fastmath.core", python=sys.executable, cwd=str(tmp_path))
    top = report.findings[0]
    assert report.ok and top.cause == "healthy", top
    assert top.summary.count(str(ext)) == 1 and f"{source}, changed after" in top.summary, top.summary
    assert any(e.value == str(source) for e in top.evidence), top.evidence


@pytest.mark.parametrize("tag", ["cpython-{v}-darwin", "cpython-{v}-aarch64-linux-gnu"])
def test_an_extension_of_this_python_built_for_another_platform_is_named(tmp_path, tag):
    """fastcore/_core.cpython-311-darwin.so (copied from a Mac) on Linux: CPython ignores it like another
    version's build, so 'No module named fastcore._core' is that file, not a release to pin."""
    if sys.platform != "linux":
        pytest.skip("Linux tags")
    version = "%d%d" % sys.version_info[:2]
    name = tag.format(v=version)
    if sysconfig.get_config_var("EXT_SUFFIX") == f".{name}.so":
        pytest.skip("that is this machine's own tag")
    package = tmp_path / "fastcore"
    package.mkdir()
    (package / "__init__.py").write_text("from ._core import thing\n")
    (tmp_path / "core.c").write_text(_C.replace('"core"', '"_core"').replace("PyInit_core", "PyInit__core"))
    built = package / f"_core.{name}.so"
    subprocess.run(["gcc", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}", str(tmp_path / "core.c"),
                    "-o", str(built)], check=True)
    report = check("fastcore", python=sys.executable, cwd=str(tmp_path))
    top = report.findings[0]
    assert (top.kind, top.cause) == ("python-abi-mismatch", "built-for-other-python"), top.summary
    assert built.name in top.summary and "another platform" in top.summary, top.summary
    assert not any(f.runnable for f in top.fixes) and "pin" not in " ".join(f.cell for f in top.fixes)
