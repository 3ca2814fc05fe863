"""A distribution whose dist-info says 2.0 while the file Python loads is another release's (copied over it; its
__version__ says 1.0): 'toydep 2.0 does not define newthing' would be untrue, and pinning or upgrading toydep
changes nothing (2.0 is what pip thinks is there). RECORD's sha256 shows the file is not the one installed; the
fix is a reinstall of that release, applied here for real. An untouched install is not called changed."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "diagnosis"))
from diagkit import write_wheel  # noqa: E402

from dllmagic.api import check  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")


def test_a_file_changed_after_install_is_a_broken_install_reinstalled(tmp_path):
    from verdictkit import venv_with

    wheels = tmp_path / "wheels"
    write_wheel(wheels, "toyfrom", "1.0", requires=["toydep>=2.0"], modules={"toyfrom": "from toydep import newthing\n"})
    write_wheel(wheels, "toydep", "2.0", modules={"toydep": "__version__ = '2.0'\ndef newthing():\n    return 2\n"})
    python = venv_with(tmp_path / "venv", pip=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheels),
                    "--no-deps", "toyfrom", "toydep==2.0"], check=True, capture_output=True)
    assert check("toyfrom", python=str(python), cwd=str(tmp_path)).ok   # untouched: it imports
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    (site / "toydep" / "__init__.py").write_text("__version__ = '1.0'\nOLD = 1\n")
    report = check("toyfrom", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert (top.kind, top.cause) == ("cannot-import-name", "broken-install"), top.summary
    assert "is not the one toydep 2.0 installed" in top.summary and "does not define" not in top.summary
    fix = top.fixes[0]
    assert fix.runnable and "--force-reinstall" in fix.argv and fix.argv[-1] == "toydep==2.0", fix.argv
    done = subprocess.run(list(fix.argv) + ["--no-index", "--find-links", str(wheels)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-600:]
    assert subprocess.run([str(python), "-c", "import toyfrom"], cwd=tmp_path).returncode == 0
