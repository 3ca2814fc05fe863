"""%load_ext dllmagic in real kernels: reports under untouched tracebacks, noise control, unload, crashes."""
import json
import re

import pytest

pytestmark = pytest.mark.kernel

MIME = "application/vnd.dllmagic.report+json"


def _load(kernel):
    res = kernel.execute("%load_ext dllmagic")
    assert res.status == "ok", (res.outputs, res.reply)
    return res


def test_failed_import_gets_a_report_under_the_untouched_traceback(start_kernel, validate_report):
    kernel = start_kernel()
    plain = kernel.execute("import no_such_module_dllmagic_test")
    _load(kernel)
    res = kernel.execute("import no_such_module_dllmagic_test")
    # The traceback is exactly what IPython printed without the extension, and it comes first.
    def same(tb):  # only the cell number may differ
        return [re.sub(r"In\[\d+\]", "In[N]", line) for line in tb]

    assert same(res.error["content"]["traceback"]) == same(plain.error["content"]["traceback"])
    assert res.order.index("error") < res.order.index("display_data")
    (report,) = res.reports()
    validate_report(report)
    top = report["findings"][0]
    assert (top["kind"], top["cause"]) == ("module-not-found", "not-installed")
    # A name no metadata or table knows is never sent to the index (it may be an unrelated project there).
    assert top["fixes"][0]["kind"] == "instruction" and not top["fixes"][0]["runnable"]
    assert "%pip install" not in top["fixes"][0]["cell"]
    bundle = res.displays[-1]
    assert "module-not-found · not-installed" in bundle["text/plain"]
    assert 'data-cause="not-installed"' in bundle["text/html"]


def test_import_name_maps_to_its_distribution(start_kernel):
    kernel = start_kernel()
    _load(kernel)
    (report,) = kernel.execute("import cv2").reports()
    fix = report["findings"][0]["fixes"][0]
    assert fix["cell"] == "%pip install opencv-python"
    assert fix["argv"][1:] == ["-m", "pip", "install", "opencv-python"]
    assert fix["argv"][0] == report["interpreter"]["executable"]
    assert fix["runnable"] and fix["restart"]


def test_same_failure_again_is_a_one_line_reminder_and_auto_levels(start_kernel):
    kernel = start_kernel()
    _load(kernel)
    assert len(kernel.execute("import no_such_mod_a").reports()) == 1
    again = kernel.execute("import no_such_mod_a")
    assert again.reports() == []
    assert "same failure" in again.displays[-1]["text/plain"]
    kernel.execute("%dlldoctor --auto off")
    assert kernel.execute("import no_such_mod_b").displays == []
    kernel.execute("%dlldoctor --auto compact")
    compact = kernel.execute("import no_such_mod_c").displays[-1]["text/plain"]
    assert "Evidence" not in compact and "Fix 1 (" in compact


def test_library_code_raising_import_error_after_the_import_succeeded(start_kernel, tmp_path):
    nb = tmp_path / "nb"
    nb.mkdir()
    (nb / "lazylib.py").write_text(
        "def to_markdown():\n"
        "    try:\n        import tabulate_missing_dep\n"
        "    except ImportError as err:\n"
        "        raise ImportError(\"Missing optional dependency 'tabulate_missing_dep'.\") from err\n")
    kernel = start_kernel(cwd=nb)
    _load(kernel)
    res = kernel.execute("import lazylib\nlazylib.to_markdown()")
    (report,) = res.reports()
    assert report["target"] == "tabulate_missing_dep"
    assert report["findings"][0]["kind"] == "module-not-found"


def test_signature_matched_oserror_is_reported_and_other_errors_are_not(start_kernel, validate_report):
    kernel = start_kernel()
    _load(kernel)
    res = kernel.execute(
        "raise OSError(r'[WinError 126] The specified module could not be found. "
        "Error loading \"C:\\\\env\\\\lib\\\\site-packages\\\\torch\\\\lib\\\\c10.dll\" or one of its dependencies.')")
    (report,) = res.reports()
    validate_report(report)
    assert report["findings"][0]["kind"] == "missing-shared-library"
    assert kernel.execute("raise OSError('disk full')").displays == []
    assert kernel.execute("1/0").displays == []
    assert kernel.execute("x = 1").displays == []


def test_hostile_module_name_is_escaped(start_kernel):
    kernel = start_kernel()
    _load(kernel)
    res = kernel.execute("__import__('<img src=x onerror=alert(1)><script>alert(2)</script>')")
    html = res.displays[-1]["text/html"]
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_unload_removes_every_hook_and_double_load_registers_once(start_kernel):
    kernel = start_kernel()
    _load(kernel)
    _load(kernel)
    assert len(kernel.execute("import no_such_mod_d").reports()) == 1
    assert kernel.execute("%unload_ext dllmagic").status == "ok"
    res = kernel.execute("import no_such_mod_e")
    assert res.displays == []
    assert kernel.execute("%dlldoctor json").status == "error"  # the magic is gone too
    res = kernel.execute("import sys; print(sum(type(f).__name__ == '_ImportTracker' for f in sys.meta_path))")
    assert res.stdout.strip() == "0"


def test_load_ext_imports_no_parser_or_widget(start_kernel):
    kernel = start_kernel()
    kernel.execute("import sys; before = set(sys.modules)")
    _load(kernel)
    res = kernel.execute("print(sorted(set(sys.modules) - before))")
    added = eval(res.stdout.strip())
    heavy = [m for m in added if m.split(".")[0] in ("pefile", "elftools", "macholib", "ipywidgets", "packaging")]
    assert heavy == []
    assert "dllmagic.api" not in added and "dllmagic.failure" not in added
    # A successful cell afterwards loads nothing more of ours.
    res = kernel.execute("x = 1\nprint(sorted(m for m in sys.modules if m.startswith('dllmagic')))")
    assert "dllmagic.api" not in res.stdout


def test_dlldoctor_on_demand_healthy_and_missing(start_kernel, validate_report):
    kernel = start_kernel()
    _load(kernel)
    res = kernel.execute("%dlldoctor json")
    (report,) = res.reports()
    validate_report(report)
    assert report["ok"] and report["findings"][0]["kind"] == "healthy"
    assert "imports fine" in report["findings"][0]["summary"]
    res = kernel.execute("%dlldoctor yaml")  # not installed in the kernel's venv: a pre-flight answer
    (report,) = res.reports()
    assert not report["ok"]
    cells = [fix["cell"] for finding in report["findings"] for fix in finding["fixes"]]
    # (another environment here may have it: then a switch ranks first; names as pip reads them, any case)
    assert "%pip install pyyaml" in [cell.lower() for cell in cells]
    res = kernel.execute("%dlldoctor yaml --json")
    assert json.loads(res.stdout)["target"] == "yaml"
    res = kernel.execute("%dlldoctor 'bad name;'")
    assert "not a module name" in res.stderr


def test_fix_goes_into_the_next_cell(start_kernel):
    kernel = start_kernel()
    _load(kernel)
    kernel.execute("import cv2")
    msg_id = kernel.client.execute("%dlldoctor --fix 1")
    reply = kernel.client.get_shell_msg(timeout=60)
    payload = reply["content"].get("payload", [])
    assert any(p.get("source") == "set_next_input" and p.get("text") == "%pip install opencv-python"
               for p in payload), payload


def test_previous_crash_is_reported_after_restart(start_kernel, tmp_path, validate_report):
    nb = tmp_path / "nb"
    nb.mkdir()
    (nb / "crashy_ext.py").write_text("import ctypes\nctypes.string_at(0)\n")
    kernel = start_kernel(cwd=nb)
    _load(kernel)
    kernel.execute_until_death("import crashy_ext")
    kernel.restart()
    res = _load(kernel)
    report = kernel.updated_report(res)   # the re-run beside the kernel updates the report in place
    validate_report(report)
    top = report["findings"][0]
    assert top["cause"] == "previous-run-crashed"
    assert "died while importing crashy_ext (SIGSEGV" in top["summary"]
    assert top["fixes"][0]["cell"] == "%dlldoctor crashy_ext"
    # The crashed import was re-run in a child at load: it crashed again, printing nothing of its own.
    rerun = {e["fact"]: e["value"] for e in top["evidence"]}["the crashed import, re-run in a child process"]
    assert rerun.startswith("import crashy_ext crashed again (SIGSEGV)"), rerun
    # Confirmation in a child process: the kernel survives, the report names the signal.
    res = kernel.execute("%dlldoctor crashy_ext")
    (report,) = res.reports()
    assert report["findings"][0]["cause"] == "crashed-in-import"
    assert "SIGSEGV" in json.dumps(report["findings"][0]["evidence"])
    assert kernel.execute("print('alive')").stdout.strip() == "alive"
    # A clean restart leaves nothing to report.
    kernel.restart()
    assert _load(kernel).reports() == []


def test_extension_from_ipython_configuration(start_kernel, jupyter_dirs):
    profile = jupyter_dirs["ipython"] / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_kernel_config.py").write_text('c.InteractiveShellApp.extensions = ["dllmagic"]\n')
    kernel = start_kernel(env={"IPYTHONDIR": str(jupyter_dirs["ipython"])})
    assert len(kernel.execute("import no_such_mod_cfg").reports()) == 1


def test_terminal_ipython_shows_the_text_view(kernel_venv, tmp_path):
    import subprocess

    ipython = kernel_venv.path / "bin" / "ipython"
    proc = subprocess.run([str(ipython), "--no-banner", "--colors=NoColor", "--ext=dllmagic", "-c",
                           "import no_such_mod_term"], capture_output=True, text=True, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DLLMAGIC_STRICT": "1"},
                          timeout=120)
    out = proc.stdout + proc.stderr
    assert "ModuleNotFoundError" in out
    assert "module-not-found · not-installed" in out
    assert out.index("ModuleNotFoundError") < out.index("module-not-found · not-installed")


def test_hostile_sys_path_in_the_kernel(start_kernel, tmp_path, validate_report):
    odd = tmp_path.as_posix().encode() + b"/caf\xe9"
    import os

    os.makedirs(odd)
    (tmp_path / "file-entry").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    kernel = start_kernel()
    _load(kernel)
    kernel.execute(
        "import sys, os\n"
        f"sys.path[:0] = [{str(tmp_path / 'file-entry')!r}, {str(tmp_path / 'dangling')!r}, {str(locked)!r},"
        f" os.fsdecode({odd!r}), '/no/such/folder']")
    res = kernel.execute("import no_such_mod_hostile_path")
    locked.chmod(0o755)
    (report,) = res.reports()
    validate_report(report)
    assert report["findings"][0]["cause"] == "not-installed"
    assert res.stderr == ""


MISSING = "dllmagic-no-such-package-xyz"


def test_failing_pip_in_a_cell_gets_a_report_and_its_output_unchanged(start_kernel, validate_report):
    """%pip and !pip raise nothing when the install fails (IPython sets _exit_code): the output the installer
    printed is read by the installer signatures (as `dlldoctor explain` would) and the report appears under
    it; the output itself is byte for byte what the same cell printed before the extension was loaded."""
    kernel = start_kernel()
    failing = f"%pip install --no-index {MISSING}"
    before = kernel.execute(failing)
    assert before.reports() == [] and "No matching distribution" in before.stdout
    _load(kernel)
    res = kernel.execute(failing)
    assert res.status == "ok" and res.error is None
    assert res.stdout == before.stdout and res.stderr == before.stderr
    (report,) = res.reports()
    validate_report(report)
    top = report["findings"][0]
    assert top["kind"] == "no-compatible-release", top
    assert MISSING in top["summary"]
    assert "from what this cell's installer printed (exit status 1)" in report["notes"], report["notes"]
    assert kernel.execute("print(_exit_code)").stdout.strip() == "1"  # IPython's own record, untouched
    # !python -m pip inside a function: IPython expands {pkg} from the function's frame as ever (the shell's
    # system is not wrapped), and the report comes the same way.
    res = kernel.execute("import sys\ndef install():\n    pkg = %r\n"
                         "    !{sys.executable} -m pip install --no-index {pkg}\ninstall()" % MISSING)
    assert f"No matching distribution found for {MISSING}" in res.stdout
    assert [r["findings"][0]["kind"] for r in res.reports()] == ["no-compatible-release"]
    # With reports turned off, nothing.
    kernel.execute("%dlldoctor --auto off")
    assert kernel.execute(failing).reports() == []
    kernel.execute("%dlldoctor --auto full")
    # Unloaded: no more reports.
    kernel.execute("%unload_ext dllmagic")
    assert kernel.execute(failing).reports() == []


def test_successful_pip_and_other_commands_get_no_report(start_kernel):
    kernel = start_kernel()
    _load(kernel)
    res = kernel.execute("%pip install --no-index pip")  # already satisfied: exit status 0
    assert "already satisfied" in res.stdout and res.reports() == [] and res.displays == []
    res = kernel.execute("!ls /nonexistent-dllmagic-folder")  # fails, but is no installer
    assert res.reports() == []
    out = kernel.execute("import sys; print(type(sys.stdout).__name__, type(sys.stderr).__name__)")
    assert out.stdout.split() == ["OutStream", "OutStream"]  # the streams are the kernel's own again
    assert kernel.execute("print('system' in get_ipython().__dict__)").stdout.strip() == "False"


def test_installer_commands_are_told_apart_and_their_copy_is_bounded():
    from dllmagic._kernel import _CAPTURE_LIMIT, _Capture, _has_installer_line, _is_installer_command

    assert _has_installer_line("import sys\n!{sys.executable} -m pip install x")
    assert _has_installer_line("if True:\n    %pip install x")
    assert not _has_installer_line("# pip install x\nprint('pip install x')")
    assert not _has_installer_line("x = 1")

    for cmd in ("/env/bin/python -m pip install x", "pip -q install x", "uv pip install x",
                "/opt/conda/bin/conda install -y x", "cd a && pip3 install -r r.txt", '"C:\\Py\\python.exe" -m pip install x',
                "conda env create -f environment.yml"):
        assert _is_installer_command(cmd), cmd
    for cmd in ("ls -la", "pip list", "python -m pip --version", "pip", "echo hello"):
        assert not _is_installer_command(cmd), cmd
    capture = _Capture()
    lines = [f"line {i}\n" for i in range(200000)]
    for line in lines:
        capture.add(line)
    text = capture.text()
    assert len(text) <= _CAPTURE_LIMIT + 3
    assert text.startswith("line 0\n") and text.endswith(lines[-1])  # the head and the tail (the error) kept
