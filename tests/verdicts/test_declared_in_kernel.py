"""A package's declared requirement that another installed package's pin forbids, in a real kernel. The hook's
report on 'from toydep import newthing' (toyfrom declares toydep>=2.0, toyother toydep<2) states the requirement
and offers no one-click install of it; ``%dlldoctor toyrt`` (its own RuntimeError, which the hook leaves alone)
gives the fix ``dlldoctor check`` gives: keep toydep, move toyrt to a release that accepts it; applied with %pip,
the import works and the package that pinned the dependency still imports."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "diagnosis"))
from diagkit import write_wheel  # noqa: E402

from verdictkit import kernel_python_with  # noqa: E402

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX venv layout")

_RT = "import toydep\nif not hasattr(toydep, 'newthing'):\n    raise RuntimeError('toyrt failed to register with toydep')\n"


def test_conflicting_declared_requirement_in_a_kernel(kernel_with, tmp_path):
    wheels = tmp_path / "wheels"
    write_wheel(wheels, "toyrt", "1.0", requires=["toydep>=2.0"], modules={"toyrt": _RT})
    write_wheel(wheels, "toyrt", "0.9", requires=["toydep<2"], modules={"toyrt": "import toydep\n"})
    write_wheel(wheels, "toyfrom", "1.0", requires=["toydep>=2.0"], modules={"toyfrom": "from toydep import newthing\n"})
    write_wheel(wheels, "toyother", "1.0", requires=["toydep<2"], modules={"toyother": "import toydep\n"})
    write_wheel(wheels, "toydep", "1.0", modules={"toydep": "OLD = 1\n"})
    write_wheel(wheels, "toydep", "2.0", modules={"toydep": "def newthing():\n    return 2\n"})
    python = kernel_python_with(tmp_path / "kenv", pip=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheels),
                    "--no-deps", "toyrt==1.0", "toyfrom", "toyother", "toydep==1.0"], check=True, capture_output=True)
    work = tmp_path / "nb"
    work.mkdir()
    kernel = kernel_with(python, work)
    cell = kernel.execute("%load_ext dllmagic\nimport toyfrom")
    assert "cannot import name 'newthing'" in cell.error["content"]["evalue"]   # the traceback stays
    reports = cell.reports()
    assert reports, cell.outputs
    top = reports[-1]["findings"][0]
    assert "not offered: toydep>=2.0 would break toyother 1.0" in top["summary"], top["summary"]
    assert not any(f["runnable"] and "toydep>=2.0" in f["cell"] for f in top["fixes"]), top["fixes"]
    asked = kernel.execute("%dlldoctor toyrt").reports()[-1]["findings"][0]
    assert (asked["kind"], asked["cause"]) == ("dependency-conflict", "version-pin-conflict"), asked["summary"]
    fix = asked["fixes"][0]
    assert fix["runnable"] and fix["cell"] == '%pip install toyrt "toydep<2,==1.0"', fix
    applied = kernel.execute(f"{fix['cell']} --no-index --find-links {wheels}", timeout=300)
    assert applied.status == "ok", applied.outputs
    after = subprocess.run([str(python), "-c", "import toyrt, toyother"], capture_output=True, text=True, cwd=work)
    assert after.returncode == 0, after.stderr
