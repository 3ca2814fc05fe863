"""The same import failure again after the environment changed (a package installed between the two cells, or
sys.path changed): the report above may be untrue now, so the hook diagnoses again instead of pointing back
to it. Unchanged, the repetition stays a one-line reminder."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "diagnosis"))
from diagkit import write_wheel  # noqa: E402

pytestmark = [pytest.mark.kernel, pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")]


def _top(res):
    (report,) = res.reports()
    return report["findings"][0]


def test_same_failure_after_an_install_is_diagnosed_again(tmp_path, kernel_with):
    from verdictkit import kernel_python_with

    # The distribution the user installs is named like the import but provides another module.
    wheel = write_wheel(tmp_path / "wheels", "rtrepkg", "1.0", modules={"rtrepkg_core": "X = 1\n"})
    python = kernel_python_with(tmp_path / "kenv")
    kernel = kernel_with(python, tmp_path)
    assert kernel.execute("%load_ext dllmagic").status == "ok"

    first = kernel.execute("import rtrepkg")
    assert "is not installed" in _top(first)["summary"], _top(first)["summary"]
    again = kernel.execute("import rtrepkg")
    assert not again.reports() and "same failure" in again.displays[-1]["text/plain"]

    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index",
                    str(wheel)], check=True, capture_output=True, stdin=subprocess.DEVNULL)
    after = kernel.execute("import rtrepkg")
    assert after.status == "error"
    summary = _top(after)["summary"]
    assert "rtrepkg_core" in summary and "is installed" in summary, summary
    # Nothing changed since: a reminder again.
    assert not kernel.execute("import rtrepkg").reports()


def test_same_failure_after_sys_path_changed_is_diagnosed_again(tmp_path, kernel_with):
    from verdictkit import kernel_python_with

    python = kernel_python_with(tmp_path / "kenv")
    lib = tmp_path / "lib"
    lib.mkdir()
    kernel = kernel_with(python, tmp_path)
    assert kernel.execute("%load_ext dllmagic").status == "ok"
    assert kernel.execute("import rtpathmod").reports()
    res = kernel.execute(f"import sys; sys.path.append({str(lib)!r})\nimport rtpathmod")
    assert res.status == "error" and res.reports()
