"""Through a real kernel: %load_ext dllmagic, a failing import, the report's top finding (JSON and text).

The kernel runs the harness's kernel venv (ipykernel + this checkout) with HOME set to the test machine's,
started in the machine's notebooks folder, so env-b (tabulate) sits above it.
"""
from __future__ import annotations

import pytest

from envkit import site_of

pytestmark = pytest.mark.kernel
MIME = "application/vnd.dllmagic.report+json"


def _report(kernel, code):
    res = kernel.execute(code)
    reports = res.reports()
    assert reports, (res.outputs, res.reply)
    return reports[-1], res


def _start(start_kernel, machine, cwd):
    kernel = start_kernel(cwd=cwd, env={"HOME": str(machine.home)})
    # The registry's builtin list may not name this rules yet: importing registers them.
    assert kernel.execute("import dllmagic.diagnosis.environment").status == "ok"
    assert kernel.execute("%load_ext dllmagic").status == "ok"
    return kernel


def test_kernel_installed_in_other_environment(start_kernel, machine, validate_report):
    kernel = _start(start_kernel, machine, machine.notebooks)
    report, res = _report(kernel, "import tabulate")
    validate_report(report)
    top = report["findings"][0]
    assert (top["kind"], top["cause"]) == ("module-not-found", "installed-in-other-environment")
    assert any(str(site_of(machine.b)) in e["value"] + e["source"] for e in top["evidence"])
    text = res.displays[-1]["text/plain"]
    assert "installed-in-other-environment" in text and str(machine.b) in text


def test_kernel_shadowed_by_local_file(start_kernel, machine, tmp_path, validate_report):
    folder = tmp_path / "shadow"
    folder.mkdir()
    (folder / "tabulate.py").write_text("VERSION = 'mine'\n")
    kernel = _start(start_kernel, machine, folder)
    report, res = _report(kernel, "from tabulate import tabulate")
    validate_report(report)
    top = report["findings"][0]
    assert (top["kind"], top["cause"]) == ("cannot-import-name", "shadowed-by-local-file")
    assert any(e["value"].endswith("tabulate.py") for e in top["evidence"])
    assert top["fixes"][0]["kind"] == "rename"
    assert "shadowed-by-local-file" in res.displays[-1]["text/plain"]
