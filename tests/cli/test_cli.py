"""The CLI as a user runs it: verbs, --json, --python, exit codes, hostile input."""
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from harness import run_cli


def test_check_healthy_module_exits_0(validate_report):
    proc = run_cli("check", "json", "--json")
    assert proc.returncode == 0, proc.stderr
    data = validate_report(proc.stdout)
    assert data["ok"] and data["findings"][0]["kind"] == "healthy"


def test_bare_name_is_shorthand_for_check():
    proc = run_cli("no_such_module_cli_test")
    assert proc.returncode == 1
    assert "module-not-found · not-installed" in proc.stdout


def test_usage_errors_exit_2():
    assert run_cli("check").returncode == 2
    assert run_cli("check", "bad;name").returncode == 2
    assert run_cli("explain", "/no/such/file").returncode == 2
    assert run_cli("check", "json", "--python", "/no/such/python").returncode == 2


def test_python_flag_diagnoses_another_interpreter_without_dllmagic(make_venv, validate_report, tmp_path):
    venv = make_venv("other")
    proc = run_cli("check", "PIL", "--python", str(venv.python), "--json", env=_uv_on_path())
    assert proc.returncode == 1, proc.stderr
    data = validate_report(proc.stdout)
    assert data["interpreter"]["executable"] == str(venv.python)
    assert data["interpreter"]["prefix"] == str(venv.path)
    fix = data["findings"][0]["fixes"][0]
    if _has_pip(venv):
        assert fix["cell"] == "%pip install Pillow"
        assert fix["argv"] == [str(venv.python), "-m", "pip", "install", "Pillow"]
    else:  # a venv made by uv has no pip: the fix is uv's, aimed at that interpreter
        assert fix["kind"] == "uv" and fix["argv"][1:] == ["pip", "install", "--python", str(venv.python), "Pillow"]
    # dllmagic itself is not importable there: the probe is standard library only.
    assert venv.run("-c", "import dllmagic", cwd=tmp_path).returncode != 0


def test_python_flag_with_an_older_python():
    old = sorted(Path.home().glob(".pyenv/versions/3.[6-9]*/bin/python3"))
    if not old:
        pytest.skip("no Python older than 3.10 on this machine")
    proc = run_cli("check", "sqlite3", "--python", str(old[0]), "--json")
    data = json.loads(proc.stdout)
    assert data["interpreter"]["version"].startswith(old[0].parts[-3][:3])


def test_crash_in_child_is_reported_not_fatal(tmp_path, validate_report):
    (tmp_path / "segv_mod.py").write_text("import ctypes\nctypes.string_at(0)\n")
    proc = run_cli("check", "segv_mod", "--json", cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 1, proc.stderr
    data = validate_report(proc.stdout)
    top = data["findings"][0]
    assert top["cause"] == "crashed-in-import"
    assert data["failure"]["signal"] == "SIGSEGV"


def test_broken_install_when_metadata_remains_but_files_are_gone(make_venv, validate_report):
    venv = make_venv("broken", "six")
    (venv.site_packages / "six.py").unlink()
    data = validate_report(run_cli("check", "six", "--python", str(venv.python), "--json", env=_uv_on_path()).stdout)
    top = data["findings"][0]
    assert top["cause"] == "broken-install"
    assert "six.py" in json.dumps(top["evidence"])
    argv = top["fixes"][0]["argv"]
    assert ("--force-reinstall" if _has_pip(venv) else "--reinstall") in argv and argv[-1].startswith("six")


def _has_pip(venv) -> bool:
    return venv.run("-c", "import pip").returncode == 0


def _uv_on_path() -> dict:
    """The CLI's environment with the uv that made the test venvs on PATH, as a user of a uv venv has it (the
    uv fixes are offered only where uv can be run)."""
    from harness import find_uv

    uv = find_uv()
    return {"PATH": os.pathsep.join([os.path.dirname(uv), os.environ.get("PATH", "")])} if uv else {}


def test_removed_stdlib_module_on_a_newer_python(validate_report):
    if sys.version_info < (3, 12):
        newer = sorted(Path.home().glob(".pyenv/versions/3.1[2-9]*/bin/python3"))
        if not newer:
            pytest.skip("no Python >= 3.12 here")
        python = str(newer[0])
    else:
        python = sys.executable
    data = validate_report(run_cli("check", "distutils", "--python", python, "--json").stdout)
    top = data["findings"][0]
    assert top["cause"] == "removed-from-stdlib"
    assert top["fixes"][0]["cell"] == "%pip install setuptools"


def test_hostile_sys_path_entries_never_break_the_report(tmp_path, validate_report):
    a_file = tmp_path / "not-a-folder.zip"
    a_file.write_bytes(b"garbage")
    broken = tmp_path / "broken-link"
    broken.symlink_to(tmp_path / "nowhere")
    odd = tmp_path / "caf\udce9".encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
    os.makedirs(os.fsencode(str(odd)), exist_ok=True)
    unreadable = tmp_path / "locked"
    unreadable.mkdir()
    unreadable.chmod(0)
    pythonpath = os.pathsep.join([str(a_file), str(broken), str(unreadable),
                                  str(tmp_path / "missing")])
    proc = run_cli("check", "no_such_mod_hostile", "--json", env={"PYTHONPATH": pythonpath})
    unreadable.chmod(0o755)
    assert proc.returncode == 1, proc.stderr
    data = validate_report(proc.stdout)
    assert data["findings"][0]["kind"] == "module-not-found"


def test_explain_module_not_found_from_stdin(validate_report):
    text = textwrap.dedent("""\
        Traceback (most recent call last):
          File "train.py", line 1, in <module>
            import sklearn
        ModuleNotFoundError: No module named 'sklearn'
    """)
    proc = run_cli("explain", "--json", input=text)
    assert proc.returncode == 1
    data = validate_report(proc.stdout)
    top = data["findings"][0]
    assert top["kind"] == "module-not-found"
    assert top["fixes"][0]["cell"] == "%pip install scikit-learn"
    assert top["fixes"][0]["argv"] is None  # no interpreter known from a pasted text


def test_explain_cannot_import_name_from_a_local_file(tmp_path, validate_report):
    text = ("ImportError: cannot import name 'tabulate' from 'tabulate' "
            "(/home/ana/notebooks/tabulate.py)\n")
    file = tmp_path / "tb.txt"
    file.write_text(text)
    data = validate_report(run_cli("explain", str(file), "--json").stdout)
    top = data["findings"][0]
    assert (top["kind"], top["cause"]) == ("cannot-import-name", "shadowed-by-local-file")
    assert "my_tabulate.py" in top["fixes"][0]["cell"]


def test_explain_partially_initialized_module(validate_report):
    shadow = ("AttributeError: partially initialized module 'random' has no attribute 'randint' (most likely "
              "due to a circular import)\nImportError: cannot import name 'randint' from partially initialized "
              "module 'random' (most likely due to a circular import) (/home/ana/work/random.py)\n")
    data = validate_report(run_cli("explain", "--json", input=shadow).stdout)
    assert data["findings"][0]["cause"] == "shadowed-by-local-file"
    circular = ("ImportError: cannot import name 'Model' from partially initialized module 'myapp.models' "
                "(most likely due to a circular import) (/srv/app/myapp/models.py)\n")
    data = validate_report(run_cli("explain", "--json", input=circular).stdout)
    assert data["findings"][0]["cause"] == "circular-import"


def test_explain_version_skew_in_site_packages(validate_report):
    text = ("ImportError: cannot import name 'soft_unicode' from 'markupsafe' "
            "(/opt/conda/lib/python3.9/site-packages/markupsafe/__init__.py)\n")
    data = validate_report(run_cli("explain", "--json", input=text).stdout)
    assert data["findings"][0]["cause"] == "name-not-in-installed-version"


def test_explain_nothing_recognised_exits_0():
    proc = run_cli("explain", input="hello world\n")
    assert proc.returncode == 0
    assert "no import failure was recognised" in proc.stdout


def test_extension_built_for_another_python(make_venv, validate_report):
    """A package whose extension carries another Python's ABI tag (copied from elsewhere): CPython ignores the
    file, so the import says 'No module named'; the report says which Python it was built for."""
    import sysconfig

    venv = make_venv("abi", "six")
    pkg = venv.site_packages / "fastthing"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from . import _speedups\n")
    mine = sysconfig.get_config_var("EXT_SUFFIX")
    other = mine.replace(f"cpython-{sys.version_info[0]}{sys.version_info[1]}", "cpython-310")
    assert other != mine
    (pkg / f"_speedups{other}").write_bytes(b"\x7fELF not really")
    data = validate_report(run_cli("check", "fastthing", "--python", str(venv.python), "--json").stdout)
    top = data["findings"][0]
    assert (top["kind"], top["cause"]) == ("python-abi-mismatch", "built-for-other-python"), data["findings"]
    assert "Python 3.10" in top["summary"] and f"_speedups{other}" in top["summary"]
