"""What the failing package's own metadata declares (Requires-Dist), used as the evidence and the fix.

A real venv holds toyuser 1.0 and toyfrom 1.0, both declaring toydep>=2.0, with toydep 1.0 forced in (it lacks
``newthing``, which 2.0 has). ``import toyuser`` raises ``AttributeError: module 'toydep' has no attribute
'newthing'`` and ``import toyfrom`` raises ``cannot import name 'newthing'``. ``dlldoctor check --python`` must name
what the importing package declares and offer it first; applied for real, the import works.
"""
import subprocess

import pytest

from diagkit import write_wheel
from harness import create_venv

from dllmagic.api import check

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def skewed(tmp_path_factory):
    root = tmp_path_factory.mktemp("declared")
    wheels = root / "wheels"
    write_wheel(wheels, "toyuser", "1.0", requires=["toydep>=2.0"],
                modules={"toyuser": "import toydep\nVALUE = toydep.newthing()\n"})
    write_wheel(wheels, "toyfrom", "1.0", requires=["toydep>=2.0"],
                modules={"toyfrom": "from toydep import newthing\n"})
    write_wheel(wheels, "toydep", "1.0", modules={"toydep": "OLD = 1\n"})
    write_wheel(wheels, "toydep", "2.0", modules={"toydep": "def newthing():\n    return 2\n"})
    venv = create_venv(root / "venv", with_pip=True)
    done = subprocess.run([str(venv.python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
                           str(wheels), "--no-deps", "toyuser", "toyfrom", "toydep==1.0"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return venv, wheels


@pytest.mark.parametrize("module, message, kind, cause", [
    # raised by the import check was asked to run: code using a dependency of another release
    ("toyuser", "module 'toydep' has no attribute 'newthing'", "dependency-conflict", "version-pin-conflict"),
    ("toyfrom", "cannot import name 'newthing' from 'toydep'", "cannot-import-name", "name-not-in-installed-version"),
])
def test_what_the_importing_package_declares_comes_first(skewed, module, message, kind, cause, tmp_path):
    venv, wheels = skewed
    failed = venv.run("-c", f"import {module}")
    assert message in failed.stderr, failed.stderr[-300:]
    report = check(module, python=str(venv.python), cwd=str(tmp_path))
    top = report.top
    # An AttributeError raised by the import check runs in the other Python is an import failure there (the
    # live check of a shadow reads this process's modules, not that one's): it was "unknown" before.
    assert (top.kind, top.cause) == (kind, cause)
    assert f"{module} 1.0, whose code imports it, declares toydep>=2.0" in top.summary, top.summary
    fix = top.fixes[0]
    assert fix.runnable and fix.argv[-1] == "toydep>=2.0", fix.argv
    applied = subprocess.run(list(fix.argv) + ["--no-index", "--find-links", str(wheels)], capture_output=True,
                             text=True, timeout=600)
    assert applied.returncode == 0, applied.stderr
    try:
        assert venv.run("-c", f"import {module}").returncode == 0
    finally:   # the module-scoped venv goes back to the broken state for the next case
        subprocess.run([str(venv.python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
                        str(wheels), "--no-deps", "toydep==1.0"], capture_output=True, text=True, timeout=600)
