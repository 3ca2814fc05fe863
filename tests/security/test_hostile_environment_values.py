"""Hostile text from the environment reaching a report: a PYTHONPATH whose folders hold ``$(…)``, backticks,
``;``, a newline, an RTL override (U+202E), a zero-width space and an ESC sequence, one of them a real folder
with a copy of an installed module. Nothing runs; the fix gives no shell line to copy that a shell would act
on (a plain value is quoted); the text and the static HTML show those characters as escapes, never raw."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "diagnosis"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "verdicts"))
from diagkit import write_wheel  # noqa: E402

from dllmagic.api import check  # noqa: E402
from dllmagic.report.html import render_html  # noqa: E402
from dllmagic.report.text import render_text  # noqa: E402
from dllmagic.report.widget import display_bundle  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout and folder names")

_RAW = ("\x1b", "\u202e", "\u200b")


@pytest.fixture
def shadowed(tmp_path):
    """A venv with rthostile installed, and a PYTHONPATH folder named with shell syntax holding rthostile.py."""
    from verdictkit import venv_with

    wheel = write_wheel(tmp_path / "wheels", "rthostile", "1.0")
    python = venv_with(tmp_path / "venv", str(wheel))
    folder = tmp_path / "sh$(touch pwned)`id`"
    folder.mkdir()
    (folder / "rthostile.py").write_text("VALUE = 2\n")
    return python, folder


def _report(python, cwd, pythonpath, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", pythonpath)
    return check("rthostile", python=str(python), cwd=str(cwd))


def test_a_hostile_pythonpath_runs_nothing_and_gives_no_shell_line(shadowed, tmp_path, monkeypatch):
    python, folder = shadowed
    other = "/opt/a`id`;b\nc:/x/\u202eevil\u200b\x1b[31mred"
    report = _report(python, tmp_path, f"{folder}:{other}", monkeypatch)
    top = report.findings[0]
    assert top.cause == "shadowed-by-local-file" and str(folder) in top.summary, top.summary
    fix = top.fixes[0]
    assert fix.kind == "instruction" and not fix.runnable
    lines = fix.cell.splitlines()
    assert all(line.startswith("# ") for line in lines), lines
    assert not any("export PYTHONPATH" in line for line in lines), lines
    assert not (tmp_path / "pwned").exists() and not os.path.exists("pwned")
    text = render_text(report, width=120)
    page = render_html(report)
    widget = display_bundle(report)["text/html"]
    for raw in _RAW:
        assert raw not in text and raw not in page and raw not in widget, repr(raw)
    assert "\\u202e" in page and "\\x1b" in page and "\\u202e" in text


def test_a_plain_rest_of_pythonpath_is_quoted_for_the_shell(shadowed, tmp_path, monkeypatch):
    python, folder = shadowed
    report = _report(python, tmp_path, f"{folder}:/opt/my libs", monkeypatch)
    lines = report.findings[0].fixes[0].cell.splitlines()
    assert "# export PYTHONPATH='/opt/my libs'" in lines, lines
