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
