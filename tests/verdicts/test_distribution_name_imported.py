"""'import ipython' or 'import pyzmq': the name of an installed distribution, not of its module. Nothing is
broken and nothing needs installing: the report names the module to import, never a restart or a reinstall."""
from __future__ import annotations

import subprocess
import sys

import pytest

sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__), "..", "diagnosis"))
from diagkit import write_wheel  # noqa: E402

from dllmagic.api import check  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")


@pytest.mark.parametrize("dist,provided,asked", [("RtCaseDist", "RtCaseDist", "rtcasedist"),
                                                 ("rtpyfoo", "rtfoo", "rtpyfoo")], ids=["case", "other-name"])
def test_importing_the_distribution_name_says_which_module_to_import(tmp_path, dist, provided, asked):
    """A module whose name differs only in case (as ipython's IPython), and one with another name (as pyzmq's
    zmq), each asked by the distribution's name."""
    from verdictkit import venv_with

    wheel = write_wheel(tmp_path / "wheels", dist, "1.0", modules={provided: "VALUE = 1\n"})
    python = venv_with(tmp_path / "venv", str(wheel))
    assert subprocess.run([str(python), "-c", f"import {asked}"], capture_output=True).returncode != 0
    assert subprocess.run([str(python), "-c", f"import {provided}"], capture_output=True).returncode == 0
    report = check(asked, python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "not-installed" and "Nothing needs installing" in top.summary, top
    assert f"import {provided}" in top.fixes[0].cell, top.fixes[0]
    kinds = {f.kind for finding in report.findings for f in finding.fixes}
    assert not kinds & {"pip", "uv", "restart", "conda"}, kinds
