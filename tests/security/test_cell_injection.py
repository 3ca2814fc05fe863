"""Issue 13, item 1: code in a cell that looks like a comment.

IPython splits a cell with ``str.splitlines``, which also breaks at \\x0b \\x0c \\x1c \\x1d \\x1e \\x85 \\u2028
\\u2029: a kernelspec display name or a venv folder name holding one of them could end a line of a fix cell
and start one that runs. Every text that enters a cell or an argv passes one validator.
"""
from __future__ import annotations

import json
import unicodedata

import pytest

from seckit import add_module, all_fixes, give_ipykernel, ipython_statements, make_venv, run_in_ipython
from dllmagic import fixes
from dllmagic.model import Interpreter

CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


def test_the_validator_refuses_every_splitlines_break_and_every_control_or_format_character():
    missed = []
    for cp in range(0x110000):
        ch = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            bad = True  # lone surrogates: undecodable file names
        else:
            bad = len(f"a{ch}b".splitlines()) > 1 or unicodedata.category(ch) in CATEGORIES
        if bad != (fixes.unsafe_character(f"x{ch}y") is not None):
            missed.append(hex(cp))
    assert missed == []
    assert fixes.unsafe_character("café 日本語 Python (3.12) ñ") is None


@pytest.mark.parametrize("ch", sorted(fixes.LINE_BREAKS) + ["\x00", "\x1b", "\t", "\u202e", "\u2066", "\u200b",
                                                            "\ufeff", "\ud800"])
def test_no_cell_line_or_argv_element_can_hold_one(ch):
    if ch != "\n":  # a cell's own line breaks are \n; nothing else may break a line
        with pytest.raises(fixes.UnsafeName):
            fixes.make("instruction", "t", cell=f"# comment{ch}x = 1")
    with pytest.raises(fixes.UnsafeName):
        fixes.make("pip", "t", cell="", argv=["python", f"-m{ch}pip"])
    with pytest.raises(fixes.UnsafeName):
        fixes.validate_requirement(f"numpy{ch}")
    with pytest.raises(fixes.UnsafeName):
        fixes.register_kernel(f"/envs/a{ch}b/bin/python", "a", "A", True)
    it = Interpreter(executable=f"/envs/a{ch}/bin/python", real_executable="/usr/bin/python3", version="3.11.7",
                     implementation="CPython", architecture="x86_64", bits=64, platform="linux",
                     prefix=f"/envs/a{ch}", base_prefix="/usr", environment_kind="venv")
    pip = fixes.pip_install(it, ["numpy"], validated=True)
    assert pip.argv is None and not pip.runnable  # the interpreter path is not fit for argv: cell only
    switch = fixes.kernel_switch("evil", f"Py{ch}!touch /tmp/x{ch}#")
    assert ipython_statements(switch.cell) == [] and "Py" not in switch.cell
    note = fixes.instruction("t", f"text{ch}!touch /tmp/x")
    assert all(line.startswith("# ") for line in note.cell.split("\n"))
    assert ipython_statements(note.cell) == []


def _hostile(marker) -> str:
    return f"Py\x85!touch {marker}\x85#"


@pytest.mark.kernel
def test_switch_kernel_cell_from_a_hostile_kernel_json_in_a_real_kernel(start_kernel, jupyter_dirs, tmp_path):
    """kernel.json's display_name is ``Py\\x85!touch MARKER\\x85#``; the notebook asks for that kernel, whose
    environment has the module. The report's fix cells, run in the real kernel, create nothing."""
    marker = tmp_path / "P-switch"
    site = make_venv(tmp_path / "envs" / "bee")
    add_module(site, "zzq_sec_switch")
    give_ipykernel(site)
    spec = jupyter_dirs["data"] / "kernels" / "evil"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(tmp_path / "envs" / "bee" / "bin" / "python"), "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"], "display_name": _hostile(marker), "language": "python"}))
    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    notebook = nbdir / "n.ipynb"
    notebook.write_text(json.dumps({"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "evil", "display_name": _hostile(marker), "language": "python"}}}))
    kernel = start_kernel(cwd=nbdir, env={"JPY_SESSION_NAME": str(notebook), "HOME": str(tmp_path)})
    assert kernel.execute("%load_ext dllmagic").status == "ok"
    reports = kernel.execute("import zzq_sec_switch").reports()
    assert reports
    cells = [fix["cell"] for f in reports[-1]["findings"] for fix in f["fixes"]]
    switch = [fix for f in reports[-1]["findings"] for fix in f["fixes"] if fix["kind"] == "kernel-switch"]
    assert switch and all("evil" in fix["cell"] for fix in switch)
    for cell in cells:
        assert not (set(cell) & (fixes.LINE_BREAKS - {"\n"})), cell
    for fix in switch:
        assert ipython_statements(fix["cell"]) == []
        assert kernel.execute(fix["cell"]).status == "ok"
    assert not marker.exists()
    # The replay is real: IPython splits the display name into lines that run (in a `!` line, as the
    # register-kernel cell had it before).
    assert kernel.execute(f'!echo "{_hostile(marker)}"').status == "ok"
    assert marker.exists()


def test_switch_kernel_cell_from_a_downloaded_notebooks_display_name(tmp_path, isolated_env, monkeypatch):
    """nb_conda_kernels' names have no kernel.json: the display name comes from the notebook itself."""
    from dllmagic import api

    marker = tmp_path / "P-nbmeta"
    prefix = tmp_path / "conda" / "envs" / "foo"
    make_venv(prefix)
    (prefix / "conda-meta").mkdir()
    (isolated_env["home"] / ".conda").mkdir()
    (isolated_env["home"] / ".conda" / "environments.txt").write_text(f"{prefix}\n")
    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    notebook = nbdir / "downloaded.ipynb"
    notebook.write_text(json.dumps({"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "conda-env-foo-py", "display_name": _hostile(marker)}}}))
    monkeypatch.chdir(nbdir)
    report = api.check("zzq_sec_nbmeta", live=True, user_ns={"__session__": str(notebook)})
    switch = [fix for fix in all_fixes(report) if fix.kind == "kernel-switch"]
    assert switch and "conda-env-foo-py" in switch[0].cell
    for fix in all_fixes(report):
        assert not (set(fix.cell) & (fixes.LINE_BREAKS - {"\n"}))
        assert fixes.unsafe_character("".join(fix.argv or ())) is None
    for fix in switch:
        assert ipython_statements(fix.cell) == []
        run_in_ipython(fix.cell, tmp_path)
    assert not marker.exists()


def test_register_kernel_cell_for_a_venv_folder_named_with_nel(tmp_path, isolated_env, monkeypatch):
    """A venv beside the notebook, named ``env\\x85!touch PWNED\\x85#``, holds the module."""
    from dllmagic import api

    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    venv = nbdir / "env\x85!touch PWNED\x85#"
    site = make_venv(venv)
    add_module(site, "zzq_sec_register")
    monkeypatch.chdir(nbdir)
    report = api.check("zzq_sec_register", live=True)
    top = report.findings[0]
    assert top.cause == "installed-in-other-environment" and str(venv) in top.summary
    for fix in all_fixes(report):
        assert "\x85" not in fix.cell and "\x85" not in "".join(fix.argv or ())
        if fix.kind != "pip":   # never run an install from a test: it would reach for the index
            run_in_ipython(fix.cell, tmp_path)
    assert not (tmp_path / "PWNED").exists()
    # The replay is real: the register cell as it was made before runs the name's second line.
    old_cell = f'!"{venv}/bin/python" -m ipykernel install --user --name x --display-name "x"'
    assert len(old_cell.splitlines()) == 3
    run_in_ipython(old_cell, tmp_path)
    assert (tmp_path / "PWNED").exists()
