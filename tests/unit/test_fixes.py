"""Commands are built from validated names only, quoted for the kernel's platform."""
import pytest

from dllmagic import fixes
from dllmagic.model import Interpreter


def _interp(kind="venv", exe="/envs/a b/bin/python"):
    return Interpreter(executable=exe, real_executable=exe, version="3.11.7", implementation="CPython",
                       architecture="x86_64", bits=64, platform="linux", prefix="/envs/a b",
                       base_prefix="/usr", environment_kind=kind)


def test_pip_fix_runs_the_kernels_own_interpreter_with_an_argv_list():
    fix = fixes.pip_install(_interp(), ["numpy<2"], validated=True)
    assert fix.kind == "pip"
    assert fix.argv == ("/envs/a b/bin/python", "-m", "pip", "install", "numpy<2")
    assert fix.cell == '%pip install "numpy<2"'
    assert fix.restart and fix.runnable


def test_plain_names_are_not_quoted():
    assert fixes.pip_install(_interp(), ["opencv-python"], validated=True).cell == "%pip install opencv-python"


@pytest.mark.parametrize("bad", [
    "numpy; rm -rf /", "$(curl x)", "`id`", "numpy\nimport os", "{os.system('x')}", "numpy && echo",
    "pkg @ https://evil.example/x.whl", "numpy; python_version<'3.8'", "", "a" * 300, "numpy|cat",
    "<script>alert(1)</script>", "numpy'", "numpy\"", "!ls", "%pip",
])
def test_unsafe_or_invalid_requirements_are_refused(bad):
    with pytest.raises(fixes.UnsafeName):
        fixes.pip_install(_interp(), [bad], validated=True)


def test_unvalidated_names_are_never_runnable():
    fix = fixes.pip_install(_interp(), ["some-name"], validated=False)
    assert fix.argv is not None and not fix.runnable


def test_externally_managed_python_gets_a_venv_instruction_never_break_system_packages():
    fix = fixes.pip_install(_interp(kind="system-externally-managed"), ["requests"], validated=True)
    assert fix.kind == "instruction" and fix.argv is None and not fix.runnable
    assert "--break-system-packages" not in fix.cell
    assert "venv" in fix.cell


def test_text_only_fix_has_a_cell_but_no_command():
    fix = fixes.pip_install(None, ["Pillow"], validated=True)
    assert fix.cell == "%pip install Pillow" and fix.argv is None and not fix.runnable


def test_rename_cell_is_a_python_literal_for_any_path_and_never_overwrites(tmp_path):
    folder = tmp_path / "it's \"odd\""
    folder.mkdir()
    src, dst = folder / "tabulate.py", folder / "my_tabulate.py"
    src.write_text("x = 1\n")
    fix = fixes.rename(str(src), str(dst), "Rename")
    exec(fix.cell, {})  # the literals evaluate back to the exact paths
    assert dst.read_text() == "x = 1\n" and not src.exists()
    src.write_text("new\n")
    with pytest.raises(FileExistsError):
        exec(fix.cell, {})  # the target exists by the time the cell runs: nothing is overwritten
    assert dst.read_text() == "x = 1\n" and src.read_text() == "new\n"


def test_fix_ids_are_stable_and_distinct():
    a = fixes.pip_install(_interp(), ["numpy<2"], validated=True)
    b = fixes.pip_install(_interp(), ["numpy<2"], validated=True)
    c = fixes.pip_install(_interp(), ["numpy<3"], validated=True)
    assert a.id == b.id != c.id
