"""Restart needed, proven from /proc/self/maps: a native library the loaded package mapped was deleted (an
upgrade replaced it) while the process kept the old copy mapped — "(deleted)" in the maps file."""
import os
import subprocess
import sys

import pytest

from dllmagic.diagnosis import Context, run_rules
from dllmagic.facts.interpreter import live_interpreter
from dllmagic.facts.system import System
from dllmagic.model import Failure


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/maps is Linux's")
def test_deleted_native_library_of_a_loaded_package_means_restart(tmp_path, monkeypatch):
    site = tmp_path / "site"
    pkg = site / "stalepkg"
    pkg.mkdir(parents=True)
    (tmp_path / "native.c").write_text("int stale_answer(void) { return 42; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(pkg / "_native.so"), str(tmp_path / "native.c")],
                   check=True)
    (pkg / "__init__.py").write_text(
        "import ctypes, os\n__version__ = '1.0'\n"
        "_lib = ctypes.CDLL(os.path.join(os.path.dirname(__file__), '_native.so'))\n")
    info = site / "stalepkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: stalepkg\nVersion: 1.0\n")
    (info / "RECORD").write_text("stalepkg/__init__.py,,\nstalepkg/_native.so,,\n")
    (info / "top_level.txt").write_text("stalepkg\n")
    monkeypatch.syspath_prepend(str(site))
    import stalepkg  # noqa: F401  (loaded, its library mapped)

    try:
        os.remove(pkg / "_native.so")  # an upgrade removes the file the process still maps
        maps = open("/proc/self/maps").read()
        assert "_native.so (deleted)" in maps
        failure = Failure(kind="cannot-import-name", exc_type="ImportError",
                          message="cannot import name 'new_api' from 'stalepkg'", module="stalepkg",
                          name="new_api", from_path=str(pkg / "__init__.py"))
        ctx = Context(target="stalepkg", failure=failure, system=System.current(),
                      interpreter=live_interpreter(), sys_path=tuple(sys.path), cwd=str(tmp_path),
                      live_modules=dict(sys.modules))
        findings = run_rules(ctx)
        restart = next(f for f in findings if f.cause == "restart-needed")
        facts = {e.fact: e.value for e in restart.evidence}
        assert facts["native library mapped but deleted on disk"].endswith("_native.so (deleted)")
        assert any(fix.kind == "restart" for fix in restart.fixes)
    finally:
        sys.modules.pop("stalepkg", None)
