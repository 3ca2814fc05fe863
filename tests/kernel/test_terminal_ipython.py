"""Terminal IPython: a report under the traceback, once, also for `ipython file.ipy` (whose cells run silently,
so IPython fires no post_run_cell), and no word of a notebook that cannot exist there."""
from __future__ import annotations

import subprocess
import sys

from dllmagic import __version__

HEAD = f"dllmagic {__version__}: ModuleNotFoundError"


def _ipython(*args: str, cwd) -> str:
    proc = subprocess.run([sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=180, stdin=subprocess.DEVNULL)
    return proc.stdout + proc.stderr


def test_ipython_file_ipy_gets_one_report(tmp_path):
    (tmp_path / "t.ipy").write_text("%load_ext dllmagic\nimport dm_not_installed_anywhere_q\n")
    out = _ipython("t.ipy", cwd=tmp_path)
    assert "ModuleNotFoundError: No module named 'dm_not_installed_anywhere_q'" in out
    assert out.count(HEAD) == 1, out
    assert "the same failure as" not in out and "notebook file" not in out


def test_a_visible_cell_gets_one_report_not_a_reminder_too(tmp_path):
    out = _ipython("-c", "%load_ext dllmagic\nimport dm_not_installed_anywhere_q", cwd=tmp_path)
    assert out.count(HEAD) == 1, out
    assert "the same failure as" not in out and "notebook file" not in out
