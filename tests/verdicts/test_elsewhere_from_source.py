"""A module missing here and installed in another environment on this machine, where it came from a local wheel
file (pip install FILE.whl: PEP 610's direct_url.json says so). The index's project of that name may be another
one: no one-click index install is offered for it, only where that copy came from. Installed there from an
index (no direct_url.json), the install stays offered."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "diagnosis"))
from diagkit import write_wheel  # noqa: E402

from dllmagic.api import check  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")


def _index_installs(finding, name):
    return [f for f in finding.fixes if f.argv and f.argv[-1] == name and "install" in f.argv]


def test_a_copy_installed_from_a_local_wheel_elsewhere_gets_no_index_install(tmp_path):
    from verdictkit import venv_with

    wheel = write_wheel(tmp_path / "wheels", "rtfromfile", "2.0")
    venv_with(tmp_path / "other", str(wheel))
    other_site = next((tmp_path / "other").glob("lib/python*/site-packages"))
    assert (next(other_site.glob("rtfromfile-2.0.dist-info")) / "direct_url.json").is_file()
    here = venv_with(tmp_path / "here", pip=True)
    report = check("rtfromfile", python=str(here), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "installed-in-other-environment", top.summary
    assert not any(_index_installs(f, "rtfromfile") for f in report.findings), \
        [(f.cause, [x.argv for x in f.fixes]) for f in report.findings]
    assert any(str(wheel) in fix.cell and not fix.runnable for fix in top.fixes), [x.cell for x in top.fixes]


def test_a_copy_installed_from_an_index_elsewhere_keeps_the_install(tmp_path):
    from verdictkit import venv_with

    write_wheel(tmp_path / "wheels", "rtfromindex", "2.0")
    other = venv_with(tmp_path / "other", pip=True)
    subprocess.run([str(other), "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
                    str(tmp_path / "wheels"), "rtfromindex"], check=True, capture_output=True,
                   stdin=subprocess.DEVNULL)
    here = venv_with(tmp_path / "here", pip=True)
    top = check("rtfromindex", python=str(here), cwd=str(tmp_path)).findings[0]
    assert top.cause == "installed-in-other-environment", top.summary
    assert _index_installs(top, "rtfromindex"), [x.argv for x in top.fixes]
