""""X requires Y>=N, but you have Y M" (cause version-pin-conflict) from real texts.

A venv built here holds toyneeds 1.0 (Requires-Dist: toydep>=2.0); forcing toydep 1.0 over it makes pip
print its own conflict warning, ``pip check`` its own line, ``pkg_resources`` raise its own
ContextualVersionConflict, and transformers' own ``require_version_core`` raise its ImportError. Each goes
through ``dlldoctor explain`` and ``dlldoctor check --python`` as a user would run them.
"""
import json
import subprocess

import pytest

from diagkit import write_wheel
from harness import create_venv, run_cli


def _pip(venv, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv.python), "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def conflicted(tmp_path_factory):
    """(venv, pip's warning text, pip check's text): toyneeds 1.0 needs toydep>=2.0; toydep 1.0 is installed."""
    root = tmp_path_factory.mktemp("pins")
    wheels = root / "wheels"
    write_wheel(wheels, "toyneeds", "1.0", requires=["toydep>=2.0"],
                modules={"toyneeds": "import pkg_resources\npkg_resources.require('toyneeds')\n"})
    write_wheel(wheels, "toydep", "2.1")
    write_wheel(wheels, "toydep", "1.0")
    venv = create_venv(root / "venv", with_pip=True)
    setup = _pip(venv, "install", "--quiet", "setuptools<81")         # pkg_resources, as old environments have
    if setup.returncode != 0:
        pytest.skip(f"setuptools could not be installed: {setup.stderr[-300:]}")
    first = _pip(venv, "install", "--no-index", "--find-links", str(wheels), "toyneeds")
    assert first.returncode == 0, first.stderr
    forced = _pip(venv, "install", "--no-index", "--find-links", str(wheels), "toydep==1.0")
    assert forced.returncode == 0, forced.stderr
    check = _pip(venv, "check")
    assert check.returncode == 1
    return venv, forced.stdout + forced.stderr, check.stdout, wheels


def _explain(text: str) -> dict:
    proc = run_cli("explain", "--json", input=text)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def _evidence(finding: dict) -> str:
    return "\n".join(f"{e['fact']}: {e['value']} [{e['source']}]" for e in finding["evidence"])


def test_pips_own_conflict_warning_after_an_install(conflicted, validate_report):
    _venv, warning, _check, _wheels = conflicted
    assert "toyneeds 1.0 requires toydep>=2.0, but you have toydep 1.0 which is incompatible" in warning
    report = _explain(warning)
    validate_report(report)
    top = report["findings"][0]
    assert (top["kind"], top["cause"]) == ("dependency-conflict", "version-pin-conflict")
    assert "toyneeds 1.0 requires toydep>=2.0, but toydep 1.0 is installed, which does not satisfy it" in top["summary"]
    text = _evidence(top)
    assert "toyneeds 1.0 requires: toydep>=2.0 [pip's dependency resolver]" in text
    assert "toydep 1.0 satisfies toydep>=2.0: no [packaging.specifiers]" in text
    cells = [f["cell"] for f in top["fixes"]]
    assert cells[:2] == ['%pip install "toydep>=2.0"', '%pip install toyneeds "toydep==1.0"']
    assert all(not f["argv"] for f in top["fixes"])         # a pasted text: no interpreter to run it with
    assert top["docs"].endswith("dependency-conflict.md#version-pin-conflict")


def test_pip_checks_own_line(conflicted):
    _venv, _warning, check, _wheels = conflicted
    assert check.strip() == "toyneeds 1.0 has requirement toydep>=2.0, but you have toydep 1.0."
    top = _explain(check)["findings"][0]
    assert (top["kind"], top["cause"]) == ("dependency-conflict", "version-pin-conflict")
    assert "toyneeds 1.0 requires: toydep>=2.0 [pip check]" in _evidence(top)


def test_a_real_contextual_version_conflict_through_check_python(conflicted, validate_report):
    venv, _warning, _check, _wheels = conflicted
    raised = subprocess.run([str(venv.python), "-c", "import toyneeds"], capture_output=True, text=True)
    assert "pkg_resources.ContextualVersionConflict: (toydep 1.0 (" in raised.stderr
    assert "Requirement.parse('toydep>=2.0'), {'toyneeds'})" in raised.stderr

    pasted = _explain(raised.stderr)["findings"][0]                    # the traceback alone
    assert pasted["cause"] == "version-pin-conflict"
    assert "toyneeds requires toydep>=2.0, but toydep 1.0 is installed" in pasted["summary"]

    proc = run_cli("check", "toyneeds", "--python", str(venv.python), "--json")
    report = json.loads(proc.stdout)
    validate_report(report)
    top = report["findings"][0]
    assert (top["kind"], top["cause"]) == ("dependency-conflict", "version-pin-conflict"), proc.stdout[:2000]
    text = _evidence(top)
    assert "toyneeds 1.0 declares: toydep>=2.0 [" in text and "toyneeds-1.0.dist-info/METADATA]" in text
    assert "installed toydep: 1.0 [" in text and "toydep-1.0.dist-info" in text     # read from the environment
    assert "toydep 1.0 satisfies toydep>=2.0: no" in text
    install = top["fixes"][0]
    assert install["cell"] == '%pip install "toydep>=2.0"'
    assert install["argv"] == [str(venv.python), "-m", "pip", "install", "toydep>=2.0"]
    assert install["runnable"] is True                                # toydep is installed: a validated name


def test_after_the_fix_the_environment_agrees(conflicted, tmp_path):
    venv, _warning, _check, wheels = conflicted
    fixed = create_venv(tmp_path / "fixed", with_pip=True)
    assert _pip(fixed, "install", "--quiet", "setuptools<81").returncode == 0
    assert _pip(fixed, "install", "--no-index", "--find-links", str(wheels), "toyneeds").returncode == 0
    proc = run_cli("check", "toyneeds", "--python", str(fixed.python), "--json")
    report = json.loads(proc.stdout)
    assert all(f["cause"] != "version-pin-conflict" for f in report["findings"])
    assert report["findings"][0]["kind"] == "healthy"


def test_transformers_own_version_check(conflicted, tmp_path):
    """transformers' require_version_core, run from the real wheel (installed without its heavy deps)."""
    venv, _warning, _check, _wheels = conflicted
    got = _pip(venv, "install", "--quiet", "--no-deps", "--target", str(tmp_path / "tf"), "transformers", "packaging")
    if got.returncode != 0:
        pytest.skip(f"transformers could not be downloaded: {got.stderr[-300:]}")
    versions = tmp_path / "tf" / "transformers" / "utils" / "versions.py"
    code = (f"import importlib.util, sys; sys.path.insert(0, {str(tmp_path / 'tf')!r})\n"
            f"spec = importlib.util.spec_from_file_location('transformers_versions', {str(versions)!r})\n"
            "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
            "mod.require_version_core('toydep>=2.0')\n")
    raised = subprocess.run([str(venv.python), "-c", code], capture_output=True, text=True)
    assert "toydep>=2.0 is required for a normal functioning of this module, but found toydep==1.0" in raised.stderr
    top = _explain(raised.stderr)["findings"][0]
    assert (top["kind"], top["cause"]) == ("dependency-conflict", "version-pin-conflict")
    assert top["summary"].startswith("transformers requires toydep>=2.0, but toydep 1.0 is installed")
    assert [f["cell"] for f in top["fixes"]][:2] == ['%pip install "toydep>=2.0"',
                                                     '%pip install transformers "toydep==1.0"']


@pytest.mark.parametrize("text,who,requirement,found,ok", [
    # pip's wording keeps specifiers with commas (requests' real Requires-Dist on urllib3).
    ("requests 2.32.3 requires urllib3<3,>=1.21.1, but you have urllib3 1.20 which is incompatible.",
     "requests 2.32.3", "urllib3<3,>=1.21.1", "1.20", "no"),
    # matplotlib's _check_versions, pandas' compat.numpy, numba's and SciPy's import-time checks.
    ("ImportError: Matplotlib requires numpy>=1.23; you have 1.21.6", "matplotlib", "numpy>=1.23", "1.21.6", "no"),
    ("ImportError: this version of pandas is incompatible with numpy < 1.22.4\nyour numpy version is 1.21.0.\n"
     "Please upgrade numpy to >= 1.22.4 to use this pandas version", "pandas", "numpy>=1.22.4", "1.21.0", "no"),
    ("RuntimeError: Numba needs NumPy 2.0 or less. Got NumPy 2.1.", "numba", "numpy<2.1", "2.1", "no"),
    ("ImportError: Pandas requires version '2.8.4' or newer of 'numexpr' (version '2.7.3' currently installed).",
     "pandas", "numexpr>=2.8.4", "2.7.3", "no"),
])
def test_the_wordings_of_import_time_checks(text, who, requirement, found, ok):
    top = _explain(text)["findings"][0]
    assert (top["kind"], top["cause"]) == ("dependency-conflict", "version-pin-conflict")
    evidence = _evidence(top)
    assert f"{who} requires: {requirement}" in evidence
    assert f"satisfies {requirement}: {ok}" in evidence and found in evidence
    assert top["fixes"][0]["cell"].startswith("%pip install ")


def test_requires_python_stays_with_the_installer_rule():
    top = _explain("package foo-1.0 requires python >=3.12,<3.13.0a0, but none of the providers can be installed\n")[
        "findings"][0]
    assert top["kind"] != "dependency-conflict"
