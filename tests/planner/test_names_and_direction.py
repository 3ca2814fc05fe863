"""Names (only known distributions are installed, the standard library is never pinned, one fix per
action) and direction from names a later release introduced; a real venv, wheels written here."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "diagnosis"))
from diagkit import write_wheel  # noqa: E402
from harness import create_venv  # noqa: E402

from dllmagic import fixes  # noqa: E402
from dllmagic.api import check, explain  # noqa: E402
from dllmagic.planner.plan import action_key, dedupe_fixes  # noqa: E402


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    root = tmp_path_factory.mktemp("names")
    wheels = root / "wheels"
    write_wheel(wheels, "torch", "2.3.0+cpu", modules={"torch": "VALUE = 1\n"})
    # Two distributions sharing the namespace package 'google' as google-auth and protobuf do.
    write_wheel(wheels, "nsauth", "1.0", modules={"google/auth": "VALUE = 1\n"})
    write_wheel(wheels, "nsproto", "1.0", modules={"google/protobuf": "VALUE = 1\n"})
    env = create_venv(root / "venv", with_pip=True)
    subprocess.run([str(env.python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--find-links",
                    str(wheels), "torch==2.3.0+cpu", "nsauth", "nsproto"], check=True)
    return env


def test_an_unknown_name_is_never_sent_to_the_index(venv):
    report = check("mylocalext_abc", python=str(venv.python))
    fix = report.top.fixes[0]
    assert fix.kind == "instruction" and "pip install" not in fix.cell.split("\n")[0].lstrip("# ")[:11]
    assert "not a distribution dllmagic knows" in fix.cell and not fix.runnable


def test_a_known_name_is_installed_with_its_distribution_name(venv):
    report = check("yaml", python=str(venv.python))
    installs = [f for finding in report.findings for f in finding.fixes if f.cell.lower() == "%pip install pyyaml"]
    assert installs and installs[0].runnable, [f.cell for x in report.findings for f in x.fixes]


def test_a_local_label_reinstall_names_pytorchs_index(venv):
    """torch 2.3.0+cpu whose files are gone: the reinstall must come from PyTorch's index, not PyPI."""
    import shutil

    shutil.rmtree(venv.site_packages / "torch")
    report = check("torch", python=str(venv.python))
    cells = [f.cell for f in report.top.fixes]
    assert any("--index-url https://download.pytorch.org/whl/cpu" in c and "torch==2.3.0+cpu" in c for c in cells), cells


def test_the_standard_library_is_never_pinned(venv):
    from dllmagic.diagnosis import Context
    from dllmagic.facts.system import System
    from dllmagic.planner import Intent, install_fix

    interp = check("json", python=str(venv.python)).interpreter
    ctx = Context(target="json", failure=None, system=System.current(), interpreter=interp,
                  sys_path=(str(venv.site_packages),))
    fix = install_fix(ctx, Intent(("json<2",), "pin json"))
    assert fix.kind == "instruction" and "standard library" in fix.title and not fix.runnable


def test_one_fix_per_action_with_normalised_names():
    from dllmagic.model import Finding

    a = fixes.pip_install(None, ["opencv_python"], validated=True)
    b = fixes.pip_install(None, ["opencv-python"], validated=True)
    c = fixes.pip_install(None, ["tabulate"], validated=True)
    assert action_key(a) == action_key(b) != action_key(c)
    one = Finding(kind="module-not-found", cause="x", summary="", confidence=0.9, fixes=(a, c))
    two = Finding(kind="module-not-found", cause="y", summary="", confidence=0.5, fixes=(b, c))
    out = dedupe_fixes([one, two])
    assert out[0].fixes == (a, c) and out[1].fixes == ()


def test_a_name_a_later_protobuf_introduced_moves_protobuf_forward():
    text = ('Traceback (most recent call last):\n'
            '  File "/x/site-packages/tensorboard/compat/proto/summary_pb2.py", line 5, in <module>\n'
            '    from google.protobuf.internal import builder as _builder\n'
            "ImportError: cannot import name 'builder' from 'google.protobuf.internal' "
            "(/x/site-packages/google/protobuf/internal/__init__.py)\n")
    top = explain(text).top
    assert "forward, not back" in top.summary
    assert top.fixes[0].cell == '%pip install "protobuf<4,>=3.20.0"'
    assert any(e.source == "knowledge/introduced_names.json#protobuf-builder" for e in top.evidence)


def test_a_namespace_shared_by_two_distributions_is_not_a_duplicate(venv):
    assert venv.run("-c", "import google.auth, google.protobuf").returncode == 0
    report = check("google.missing", python=str(venv.python))
    assert report.findings and all(f.cause != "duplicate-distributions" for f in report.findings)
    uninstalls = [f for x in report.findings for f in x.fixes if "uninstall" in f.cell]
    assert not uninstalls


def test_a_c_api_symbol_of_a_later_python_says_which_way(venv):
    """An extension compiled here that calls PyLong_AsInt (added in 3.13) fails on this Python 3.11."""
    from diagkit import compile_shared, have_compiler

    if not have_compiler() or sys.version_info >= (3, 13):
        pytest.skip("needs cc and Python.h of a Python older than 3.13")
    source = ("#include <Python.h>\nextern int PyLong_AsInt(PyObject *);\n"
              "static PyObject *f(PyObject *s, PyObject *a) { return PyLong_FromLong(PyLong_AsInt(a)); }\n"
              "static PyMethodDef m[] = {{\"f\", f, METH_O, 0}, {0}};\n"
              "static struct PyModuleDef d = {PyModuleDef_HEAD_INIT, \"capiext\", 0, -1, m};\n"
              "PyMODINIT_FUNC PyInit_capiext(void) { return PyModule_Create(&d); }\n")
    import sysconfig

    compile_shared(venv.site_packages, "capiext" + sysconfig.get_config_var("EXT_SUFFIX"), source, python=True)
    failed = venv.run("-c", "import capiext")
    assert "PyLong_AsInt" in failed.stderr, failed.stderr[-300:]
    top = check("capiext", python=str(venv.python)).top
    assert top.kind == "python-abi-mismatch"
    assert any(e.source == "knowledge/python_capi_symbols.json#pylong_asint" for e in top.evidence)
    assert any("Python 3.13 or later" in f.title for f in top.fixes)


def test_without_an_index_the_fix_says_not_proven(venv, monkeypatch):
    from dllmagic.planner.prove import prove_report

    report = check("yaml", python=str(venv.python))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    proved, proofs = prove_report(report)
    assert proofs and all(p.status == "not-proven" and "no index" in p.detail for p in proofs), proofs
    titles = [f.title for x in proved.findings for f in x.fixes if f.id == proofs[0].fix_id]
    assert titles[0].startswith("[Not proven: no index")
    # The environment is untouched.
    assert venv.run("-c", "import yaml").returncode != 0


def test_after_a_run_the_import_and_pip_check_are_verified(venv, tmp_path):
    """verify_after_run imports what the user imported and reports a conflict the run added."""
    from dllmagic.planner.prove import current_conflicts, verify_after_run

    before = current_conflicts(str(venv.python))
    write_wheel(tmp_path / "w", "needsnew", "1.0", requires=["nsauth>=2"], modules={"needsnew": "VALUE = 1\n"})
    subprocess.run([str(venv.python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--find-links",
                    str(tmp_path / "w"), "needsnew"], check=True)
    after = verify_after_run(str(venv.python), "needsnew", before=before)
    assert after.import_detail == "import ok"
    assert not after.ok and any("needsnew" in c and "nsauth" in c for c in after.new_conflicts), after
    assert verify_after_run(str(venv.python), "not_a_module_xyz", before=after.conflicts).ok is False
