"""Real broken environments, built here from real wheels of the package index: for each, the top fix that
dllmagic offers is applied for real, then the original import must work in a fresh process and ``pip check``
must be clean. Where the right answer is no package fix (a name that is not a distribution), the test
asserts that no harmful fix is offered.

Downloads are cached under the tests' cache ($DLLMAGIC_TEST_CACHE, else ~/.cache/dllmagic-tests: uv's and
pip's caches), so a CI machine downloads TensorFlow's wheels (about 475 MB and 590 MB with their
dependencies) once; a build from the warm cache takes 15-30 s.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "diagnosis"))
from diagkit import write_wheel  # noqa: E402
from harness import PIP_CACHE, create_venv  # noqa: E402

from dllmagic.api import check  # noqa: E402

pytestmark = pytest.mark.slow


def _pip(venv, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv.python), "-m", "pip", "--disable-pip-version-check", "--cache-dir",
                           str(PIP_CACHE / "pip"), *args], capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL)


def _install(venv, *args: str) -> None:
    """Build a case: with uv when it can be had (several times faster than pip here), else pip."""
    import os

    try:
        uv = uv_binary()
    except BaseException:  # pytest.skip inside: fall back to pip
        uv = None
    if uv:
        done = subprocess.run([uv, "pip", "install", "--quiet", "--python", str(venv.python), *args],
                              capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
                              env=dict(os.environ, UV_CACHE_DIR=str(PIP_CACHE / "uv")))
    else:
        done = _pip(venv, "install", "--quiet", *args)
    if done.returncode != 0:
        tail = done.stderr[-600:]
        if "No matching distribution" in tail or "Could not find a version" in tail:
            pytest.skip(f"the index does not serve {args}: {tail[-200:]}")
        raise AssertionError(tail)


def _top_fix(report):
    top = report.top
    assert top is not None, report.notes
    runnable = [f for f in top.fixes if f.runnable]
    assert runnable, [f.title for f in top.fixes]
    assert top.fixes[0] is runnable[0], f"the first fix is not a command: {top.fixes[0].title}"
    return top, runnable[0]


def _apply_and_verify(venv, fix, module: str) -> None:
    """Run the fix's argv as the Run button does, then import in a fresh process and pip check."""
    done = subprocess.run(list(fix.argv), capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-800:] + done.stderr[-800:]
    imported = venv.run("-c", f"import {module}")
    assert imported.returncode == 0, imported.stderr[-800:]
    checked = _pip(venv, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def build_pandas(tmp_path):
    """pandas 2.0.3 + numexpr 2.8.7 (both built for NumPy 1.x) with NumPy 2 forced in."""
    venv = create_venv(tmp_path / "venv", with_pip=True)
    _install(venv, "pandas==2.0.3", "numexpr==2.8.7")
    _install(venv, "numpy==2.0.2")
    return venv, "pandas"


def build_tf215(tmp_path):
    """Real TensorFlow 2.15.0 with all its dependencies, then NumPy 2 forced in with --no-deps: TF 2.15 declares
    numpy<2.0.0 and ml-dtypes~=0.2.0, and ml-dtypes 0.2.0 (built for NumPy 1.x) is what fails first."""
    venv = create_venv(tmp_path / "venv", with_pip=True)
    _install(venv, "tensorflow==2.15.0")
    _install(venv, "--no-deps", "numpy==2.0.2")
    return venv, "tensorflow"


def build_tf213(tmp_path):
    """Real TensorFlow 2.13.0 with its dependencies, then an old tensorboard (2.10.1, code from a protoc older
    than 3.19, declares protobuf<3.20) and protobuf 4 forced in: 'import tensorflow' imports tensorboard's
    generated summary code, which protobuf 4 refuses ('Descriptors cannot be created directly')."""
    venv = create_venv(tmp_path / "venv", with_pip=True)
    _install(venv, "tensorflow==2.13.0")
    _install(venv, "--no-deps", "tensorboard==2.10.1", "protobuf==4.25.3")
    return venv, "tensorflow"


def uv_binary() -> str:
    """uv, from the index (this machine has none on PATH): pip install --target a cached folder once."""
    import shutil

    found = shutil.which("uv")
    if found:
        return found
    folder = PIP_CACHE / "uv-tool"
    exe = folder / "bin" / "uv"
    if not exe.exists():
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(folder),
                               "--cache-dir", str(PIP_CACHE / "pip"), "uv"], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"uv could not be installed: {done.stderr[-200:]}")
    return str(exe)


def build_uv(tmp_path):
    """A venv made by uv (no pip in it) without tabulate; the user imports tabulate."""
    import os

    from harness import Venv

    uv = uv_binary()
    os.environ["PATH"] = str(Path(uv).parent) + os.pathsep + os.environ.get("PATH", "")
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(tmp_path / "venv")], check=True,
                   env=dict(os.environ, UV_CACHE_DIR=str(PIP_CACHE / "uv")))
    venv = Venv(tmp_path / "venv")
    assert venv.run("-c", "import pip").returncode != 0
    return venv, "tabulate"


#: name → builder(tmp_path) -> (venv, the module the user imports); bench/bench_fixes.py runs these too.
CASES = {"pandas-numexpr-numpy2": build_pandas, "tf215-numpy2": build_tf215, "tf213-tensorboard-protobuf4": build_tf213,
         "uv-venv-without-pip": build_uv}


def test_pandas_2_0_with_numexpr_under_numpy_2(tmp_path):
    venv, _ = build_pandas(tmp_path)
    assert venv.run("-c", "import pandas").returncode != 0
    report = check("pandas", python=str(venv.python))
    top, fix = _top_fix(report)
    assert top.kind == "numpy-abi-mismatch"
    # Direction from the numbers: the 96-byte header is NumPy 1.x, the running 88 bytes NumPy 2.
    assert any("numpy_struct_sizes.json#dtype-1x-64bit" in e.source for e in top.evidence)
    cells = [f.cell for f in top.fixes]
    assert cells[0] == '%pip install "numpy<2,>=1.23.2"'
    # The move to NumPy 2 bounds pandas to its major release and takes numexpr along.
    assert '%pip install "pandas<3,>=2.2.2" "numexpr<3,>=2.10.0"' in cells
    # Proof in an overlay before anything is changed; the environment stays as it was.
    from dllmagic.planner.prove import prove_fix

    started = time.monotonic()
    proof = prove_fix(report, fix.id)
    assert proof.status == "proven", proof.detail
    assert "import pandas" in proof.detail and time.monotonic() - started < 300
    assert venv.run("-c", "import pandas").returncode != 0
    _apply_and_verify(venv, fix, "pandas")


def test_real_tensorflow_2_15_with_numpy_2(tmp_path):
    venv, _ = build_tf215(tmp_path)
    failed = venv.run("-c", "import tensorflow")
    assert "ml_dtypes" in failed.stderr and failed.returncode != 0, failed.stderr[-400:]
    report = check("tensorflow", python=str(venv.python))
    top, fix = _top_fix(report)
    assert top.kind == "numpy-abi-mismatch"
    # TF's own pin, read from its installed METADATA, is the fix; ml-dtypes>=0.4.0 alone would break TF's
    # ml-dtypes~=0.2.0 and is offered only together with a TensorFlow built for NumPy 2.
    assert fix.cell == '%pip install "numpy<2.0.0,>=1.23.5"', [f.cell for f in top.fixes]
    assert any(e.fact == "tensorflow 2.15.0 declares" and e.value == "numpy<2.0.0,>=1.23.5" for e in top.evidence)
    for other in top.fixes:
        if other.runnable and "ml-dtypes" in other.cell:
            assert "tensorflow" in other.cell, other.cell
    _apply_and_verify(venv, fix, "tensorflow")


def test_real_tensorflow_2_13_with_old_tensorboard_and_protobuf_4(tmp_path):
    venv, _ = build_tf213(tmp_path)
    failed = venv.run("-c", "import tensorflow")
    assert "Descriptors cannot" in failed.stderr, failed.stderr[-400:]
    report = check("tensorflow", python=str(venv.python))
    top, fix = _top_fix(report)
    assert top.cause == "protobuf-too-new"
    assert fix.cell == '%pip install "tensorboard<2.14,>=2.13"', [f.cell for f in top.fixes]
    # protobuf<3.20 (what tensorboard 2.10 declares) would break TensorFlow: stated, never runnable.
    refused = [f for f in top.fixes if f.title.startswith("Not offered")]
    assert refused and "protobuf" in refused[0].title and "tensorflow 2.13.0" in refused[0].title
    assert not any(f.runnable and "protobuf" in f.cell and "<3.20" in f.cell for f in top.fixes)
    from dllmagic.planner.prove import prove_fix

    proof = prove_fix(report, fix.id)
    assert proof.status == "proven", proof.detail
    assert "import tensorflow" in proof.detail
    _apply_and_verify(venv, fix, "tensorflow")


def test_a_uv_venv_without_pip_gets_uv_commands(tmp_path, monkeypatch):
    import os

    venv, module = build_uv(tmp_path)
    # Asked from the test's own folder: environments and kernelspecs near the repository (the examples'
    # builds) are not this user's notebook's neighbours.
    monkeypatch.chdir(tmp_path)
    report = check(module, python=str(venv.python), cwd=str(tmp_path))
    top, fix = _top_fix(report)
    assert fix.kind == "uv" and fix.argv[1:4] == ("pip", "install", "--python"), fix.argv
    assert not any(f.cell.startswith("%pip") for f in top.fixes), [f.cell for f in top.fixes]
    done = subprocess.run(list(fix.argv), capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, UV_CACHE_DIR=str(PIP_CACHE / "uv")))
    assert done.returncode == 0, done.stderr[-600:]
    assert venv.run("-c", f"import {module}").returncode == 0
    checked = subprocess.run([fix.argv[0], "pip", "check", "--python", str(venv.python)], capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
