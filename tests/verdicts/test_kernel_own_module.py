"""A module of the user's own beside the notebook (no installed or known package has its name), in a real kernel:
'from mymodule import name' that the file does not define is no shadow to rename; and when the user adds the
name to the file after the kernel imported it, the file on disk defines it while the module in memory does not:
reload it (or restart), never rename it. The same failure after that edit gets a new report, not a reminder of
the first one, which is no longer true."""
from __future__ import annotations

import os

import pytest

from verdictkit import kernel_python_with

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX venv layout")


def test_the_users_own_module_is_not_renamed_and_an_edit_after_import_is_reload(kernel_with, tmp_path):
    python = kernel_python_with(tmp_path / "kenv")
    work = tmp_path / "nb"
    work.mkdir()
    source = work / "rtmymodule.py"
    source.write_text("VALUE = 1\n")
    kernel = kernel_with(python, work)
    kernel.execute("%load_ext dllmagic\nimport rtmymodule")
    cell = kernel.execute("from rtmymodule import helper")
    findings = cell.reports()[-1]["findings"]
    assert findings[0]["cause"] != "shadowed-by-local-file", findings[0]
    assert not any(x["kind"] in ("rename", "pip", "uv", "conda") for f in findings for x in f["fixes"]), findings
    assert str(source) in findings[0]["summary"], findings[0]["summary"]
    # The same import again, unchanged: a reminder of that report.
    again = kernel.execute("from rtmymodule import helper")
    assert not again.reports() and "the same failure" in str(again.displays), again.outputs
    with open(source, "a") as handle:
        handle.write("\ndef helper():\n    return 2\n")
    # The same import after the file changed: a new report (the first one is no longer true), no reminder.
    cell = kernel.execute("from rtmymodule import helper")
    findings = cell.reports()[-1]["findings"]
    top = findings[0]
    assert top["cause"] == "restart-needed" and "'helper'" in top["summary"], findings
    assert not any(x["kind"] == "rename" for f in findings for x in f["fixes"]), findings
    assert "importlib.reload(rtmymodule)" in top["fixes"][0]["cell"], top["fixes"]
    assert not any(f["cause"] == "unexplained" for f in findings), findings
    done = kernel.execute("import importlib\nimportlib.reload(rtmymodule)\nfrom rtmymodule import helper\nprint(helper())")
    assert done.error is None and done.stdout.strip() == "2", done.outputs


def test_a_submodule_of_the_users_own_package_lacking_a_name_is_no_release_to_pin(tmp_path):
    """myproj/__init__.py does 'from .core import run', and myproj/core.py (the user's own) has no 'run'."""
    from dllmagic.api import check

    package = tmp_path / "rtmyproj"
    package.mkdir()
    (package / "__init__.py").write_text("from .core import run\n")
    (package / "core.py").write_text("def start():\n    pass\n")
    report = check("rtmyproj", python=str(kernel_python_with(tmp_path / "venv")), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.kind == "cannot-import-name" and "own module 'rtmyproj.core'" in top.summary, top.summary
    cells = " ".join(f.cell for f in top.fixes)
    assert "pin" not in cells and "install" not in cells and not any(f.runnable for f in top.fixes), top.fixes
