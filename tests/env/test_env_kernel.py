"""Through a real kernel: %load_ext dllmagic, a failing import, the report's top finding (JSON and text).

The kernel runs the harness's kernel venv (ipykernel + this checkout) with HOME set to the test machine's,
started in the machine's notebooks folder, so env-b (tabulate) sits above it.
"""
from __future__ import annotations

import pytest

import json
import os

from envkit import site_of, write_notebook

pytestmark = pytest.mark.kernel
MIME = "application/vnd.dllmagic.report+json"


def _report(kernel, code):
    res = kernel.execute(code)
    reports = res.reports()
    assert reports, (res.outputs, res.reply)
    return reports[-1], res


def _start(start_kernel, machine, cwd, extra=None):
    kernel = start_kernel(cwd=cwd, env={"HOME": str(machine.home), **(extra or {})})
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


def test_kernel_wrong_kernel_from_the_notebook_metadata(start_kernel, machine, tmp_path, jupyter_dirs,
                                                     b_runs_kernels):
    """The notebook asks for kernelspec 'env-b' (which runs env-b, where tabulate is); this kernel runs
    another interpreter. The notebook is found through JPY_SESSION_NAME, as Jupyter Server sets it."""
    from envkit import write_kernelspec as write_spec

    write_spec(jupyter_dirs["data"], "env-b", machine.python(machine.b), display_name="Python (env-b)")
    notebook = write_notebook(machine.notebooks / "analysis.ipynb", "env-b", "Python (env-b)")
    kernel = _start(start_kernel, machine, machine.notebooks, {"JPY_SESSION_NAME": str(notebook)})
    report, res = _report(kernel, "import tabulate")
    causes = [f["cause"] for f in report["findings"]]
    assert causes[0] in ("wrong-kernel", "installed-in-other-environment"), causes
    assert "wrong-kernel" in causes
    assert report["expected_environment"]["kernelspec"] == "env-b"
    fixes = [fix for f in report["findings"] for fix in f["fixes"]]
    assert any(fix["kind"] == "kernel-switch" and "env-b" in fix["cell"] for fix in fixes)


def test_kernel_pip_line_in_history_that_ran_another_pip(start_kernel, machine, tmp_path):
    """'!pip install tabulate' ran env-b's pip (first on PATH), not the kernel's."""
    kernel = _start(start_kernel, machine, machine.notebooks,
                    {"PATH": f"{machine.b / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"})
    res = kernel.execute("!pip --version")
    assert str(machine.b) in res.stdout
    report, _ = _report(kernel, "import tabulate")
    assert report["findings"][0]["cause"] == "installed-in-other-environment"
    assert "!pip --version" in json.dumps(report["findings"][0]["evidence"]) or \
        str(machine.b) in json.dumps(report["findings"][0]["evidence"])


def test_kernel_restart_needed_after_an_editable_install(start_kernel, machine, tmp_path, kernel_venv):
    """A .pth file (what 'pip install -e' writes) appears after the kernel started: only a restart
    makes Python read it."""
    project = tmp_path / "project-src"
    (project / "editable_pkg_demo").mkdir(parents=True)
    (project / "editable_pkg_demo" / "__init__.py").write_text("VALUE = 1\n")
    kernel = _start(start_kernel, machine, machine.notebooks)
    res = kernel.execute("import site; print(site.getsitepackages()[0])")
    site_dir = res.stdout.strip()
    pth = os.path.join(site_dir, "__editable__.editable_pkg_demo.pth")
    with open(pth, "w") as fh:
        fh.write(str(project) + "\n")
    try:
        report, _ = _report(kernel, "import editable_pkg_demo")
    finally:
        os.remove(pth)
    top = report["findings"][0]
    assert top["cause"] == "restart-needed", [f["cause"] for f in report["findings"]]
    assert any(fix["kind"] == "restart" for fix in top["fixes"])
    assert os.path.basename(pth) in json.dumps(top["evidence"])


@pytest.mark.parametrize("content", ["malformed", "huge", "missing", "binary"])
def test_kernel_bad_notebook_and_kernelspec_files_never_break_the_report(start_kernel, machine, tmp_path,
                                                                        jupyter_dirs, validate_report, content):
    notebook = machine.notebooks / f"bad-{content}.ipynb"
    if content == "malformed":
        notebook.write_text('{"metadata": {"kernelspec": ')
    elif content == "huge":
        with open(notebook, "w") as fh:  # 60 MB of valid JSON: read with a limit, never whole
            fh.write('{"cells": [' + ",".join(['{"source": "x"}'] * 4_000_000) + "]}")
    elif content == "binary":
        notebook.write_bytes(b"\xff\xfe\x00garbage\x80" * 1000)
    bad_spec = jupyter_dirs["data"] / "kernels" / "broken-spec"
    bad_spec.mkdir(parents=True)
    (bad_spec / "kernel.json").write_bytes(b'{"argv": ["python", ' + b"\xff" * 10)
    kernel = _start(start_kernel, machine, machine.notebooks, {"JPY_SESSION_NAME": str(notebook)})
    report, res = _report(kernel, "import no_such_module_for_bad_files")
    validate_report(report)
    assert report["findings"][0]["kind"] == "module-not-found"
    assert res.stderr == ""
    expected = report["expected_environment"]
    if content != "missing":
        assert expected is not None
