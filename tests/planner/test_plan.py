"""The planner's arithmetic and tables, and one real environment planned offline (no index needed)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "diagnosis"))
from diagkit import write_wheel  # noqa: E402
from harness import create_venv  # noqa: E402

from dllmagic import fixes  # noqa: E402
from dllmagic.planner import envfacts  # noqa: E402
from dllmagic.planner.versions import intersect, next_major_bound, overlap  # noqa: E402


def test_overlap_and_intersection():
    assert overlap("<2", ">=1.23.5,<2.0.0") is True
    assert overlap(">=0.4.0", "~=0.3.1") is False                      # TF 2.15 vs ml-dtypes 0.4
    assert overlap("<3.20,>=3.9.2", ">=3.20.3,<5.0.0dev,!=4.21.0") is False   # tensorboard 2.10 vs TF 2.13
    assert intersect("<2", "<2.0.0,>=1.23.5") == ">=1.23.5,<2.0.0"


def test_upgrades_stay_inside_their_major_release():
    assert next_major_bound(">=2.2.2") == ">=2.2.2,<3"
    assert next_major_bound(">=0.4.0") == ">=0.4.0,<1"
    assert next_major_bound(">=1.0,<1.5") == ">=1.0,<1.5"


def test_a_local_label_names_pytorchs_index():
    url, row = envfacts.index_for("torch", "2.3.0+cpu")
    assert url == "https://download.pytorch.org/whl/cpu" and row["id"] == "pytorch"
    assert envfacts.index_for("torch", "2.3.0") is None
    assert envfacts.index_for("numpy", "1.0+cpu") is None
    fix = fixes.pip_install(None, ["torch==2.3.0+cpu"], validated=True, reinstall=True, index_url=url)
    assert fix.cell == '%pip install --force-reinstall --no-deps --index-url https://download.pytorch.org/whl/cpu "torch==2.3.0+cpu"'


def test_a_change_that_breaks_an_installed_dependent_is_not_offered(tmp_path):
    """A real venv with a wheel declaring TF 2.15's pins; a missing module's check plans against it offline."""
    from dllmagic.api import check
    from dllmagic.diagnosis import Context
    from dllmagic.planner import Intent, fixes_for

    wheels = tmp_path / "wheels"
    write_wheel(wheels, "tfpins", "2.15.0", requires=["numpy<2.0.0,>=1.23.5", "ml-dtypes~=0.3.1"])
    venv = create_venv(tmp_path / "venv", with_pip=True)
    import subprocess

    subprocess.run([str(venv.python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--find-links",
                    str(wheels), "tfpins"], check=True)
    report = check("tfpins", python=str(venv.python))
    assert report.ok
    from dllmagic.facts.system import System

    ctx = Context(target="x", failure=None, system=System.current(), interpreter=report.interpreter,
                  sys_path=(str(venv.site_packages),))
    got, plans = fixes_for(ctx, [Intent(("ml-dtypes>=0.4.0",), "Upgrade ml-dtypes"),
                                 Intent(("numpy<2",), "Keep NumPy 1.x")])
    assert got[0].cell == '%pip install "numpy<2.0.0,>=1.23.5"' and got[0].runnable
    assert got[1].title.startswith("Not offered") and "tfpins 2.15.0, which declares ml-dtypes~=0.3.1" in got[1].title
    assert not got[1].runnable and plans[1].status == "inconsistent"
    # The tool that owns the environment: pip is installed here.
    assert envfacts.owner(ctx).tool == "pip"


def test_requires_dist_markers_are_evaluated_for_the_target_interpreter(tmp_path):
    """A real venv of Python 3.12 (dllmagic runs on another Python): a distribution declares different pins
    per Python version and platform; the planner reads the ones that apply to the target, as the target's
    own pip check does, not the ones that would apply to dllmagic's Python."""
    import subprocess

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_real_envs import other_python

    from dllmagic.api import check
    from dllmagic.diagnosis import Context
    from dllmagic.facts.system import System
    from dllmagic.planner import Intent, fixes_for
    from dllmagic.planner.prove import environment_conflicts, target_markers

    py312 = other_python("3.12")
    wheels = tmp_path / "wheels"
    write_wheel(wheels, "markerbase", "1.0")
    write_wheel(wheels, "markerpin", "1.0", requires=[
        'markerbase<2; python_version < "3.12"', 'markerbase>=2; python_version >= "3.12"',
        'markerbase!=1.0; sys_platform == "win32"', 'markerbase>=9; platform_python_implementation == "PyPy"'])
    from harness import Venv

    subprocess.run([py312, "-m", "venv", str(tmp_path / "venv")], check=True)
    venv = Venv(tmp_path / "venv")
    subprocess.run([str(venv.python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--find-links",
                    str(wheels), "markerbase==1.0", "markerpin"], check=True)
    # Ground truth: the target's own pip check.
    truth = subprocess.run([str(venv.python), "-m", "pip", "check"], capture_output=True, text=True)
    assert "markerpin 1.0 has requirement markerbase>=2" in truth.stdout, truth.stdout
    report = check("markerpin", python=str(venv.python))
    assert report.interpreter.version.startswith("3.12.") and not sys.version.startswith("3.12.")
    ctx = Context(target="markerpin", failure=None, system=System.current(), interpreter=report.interpreter,
                  sys_path=(str(venv.site_packages),))
    assert envfacts.marker_environment(ctx)["python_version"] == "3.12"
    broken = envfacts.broken_requirements(ctx)
    assert [(b.name, b.requirement) for b in broken] == [("markerpin", "markerbase>=2")]
    assert [d.spec for d in envfacts.dependents(ctx, "markerbase")] == [">=2"]
    # The repair is what applies to 3.12; keeping markerbase<2 (the pin for dllmagic's own Python) would
    # break markerpin there: not offered.
    got, plans = fixes_for(ctx, [Intent(("markerbase<2",), "Keep markerbase 1.x"),
                                 *envfacts_repairs(ctx, "markerbase")])
    assert got[0].cell == '%pip install "markerbase>=2"' and got[0].runnable, [f.cell for f in got]
    assert got[-1].title.startswith("Not offered") and "markerbase>=2" in got[-1].title
    # The overlay's conflict check reads the target's markers too (computed by the target itself).
    markers = target_markers(str(venv.python))
    assert markers["python_version"] == "3.12" and markers["sys_platform"] == sys.platform
    assert environment_conflicts([str(venv.site_packages)], markers) == [
        "markerpin 1.0 requires markerbase>=2, but has 1.0"]


def envfacts_repairs(ctx, name):
    from dllmagic.planner import repair_intents

    return repair_intents(ctx, [name])


def test_a_pin_no_release_of_which_has_wheels_for_this_python_is_not_offered(tmp_path):
    """numpy<2 planned for a real Python 3.13 venv: NumPy's first release with wheels for 3.13 is 2.1.0
    (knowledge/python_wheels.json), so no release that numpy<2 admits installs there; the plan says so and the
    fix is a statement. The same intent for this interpreter (3.12 or older) stays a command."""
    import subprocess

    import pytest

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "packaging"))
    from test_versions import find_python

    from dllmagic.api import check
    from dllmagic.diagnosis import Context
    from dllmagic.facts.system import System
    from dllmagic.planner import Intent, fixes_for

    python313 = find_python("3.13")
    if python313 is None:
        pytest.skip("no Python 3.13 on this machine")
    venv = tmp_path / "venv313"
    subprocess.run([python313, "-m", "venv", str(venv)], check=True)
    report = check("json", python=str(venv / "bin" / "python"))
    assert report.interpreter.version.startswith("3.13.")
    site = next(venv.glob("lib/python3.13/site-packages"))
    ctx = Context(target="x", failure=None, system=System.current(), interpreter=report.interpreter,
                  sys_path=(str(site),))
    got, plans = fixes_for(ctx, [Intent(("numpy<2",), "Keep NumPy 1.x")])
    assert plans[0].status == "inconsistent" and not got[0].runnable, got[0]
    assert "wheels for Python 3.13" in got[0].title and "2.1.0" in got[0].title, got[0].title
    assert any(e.value == "2.1.0" and e.source.startswith("https://pypi.org/project/numpy/")
               for e in plans[0].evidence)
    if sys.version_info[:2] <= (3, 12):
        here = check("json")
        ctx = Context(target="x", failure=None, system=System.current(), interpreter=here.interpreter,
                      sys_path=())
        got, plans = fixes_for(ctx, [Intent(("numpy<2",), "Keep NumPy 1.x")])
        assert plans[0].ok, plans[0].reasons
