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
from typing import List, Optional, Tuple

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


# ------------------------------------------------------------------------------------------------ more cases
def build_google_namespace(tmp_path):
    """google-auth and protobuf (and googleapis-common-protos) share the namespace package 'google'; protobuf
    3.19.6 forced in under googleapis-common-protos 1.76.0, whose generated code needs protobuf 6."""
    venv = create_venv(tmp_path / "venv", with_pip=True)
    _install(venv, "google-auth>=2,<3", "googleapis-common-protos==1.76.0")
    _install(venv, "--no-deps", "protobuf==3.19.6")
    return venv, "google.rpc.status_pb2"


def local_torch_wheel() -> Path:
    """torch 2.13.0+cpu as a wheel file, downloaded once into the tests' cache (pip's own configuration says
    where: this machine's local wheel folder; a CPU build is not on PyPI). Skips where none is to be had."""
    folder = PIP_CACHE / "wheels" / "torch-cpu"
    found = sorted(folder.glob("torch-2.13.0+cpu-*.whl"))
    if not found:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest",
                               str(folder), "torch==2.13.0+cpu"], capture_output=True, text=True, timeout=900)
        found = sorted(folder.glob("torch-2.13.0+cpu-*.whl"))
        if done.returncode != 0 or not found:
            pytest.skip(f"no torch 2.13.0+cpu wheel here: {done.stderr[-200:]}")
    return found[0]


def build_torch_cpu(tmp_path):
    """torch 2.13.0+cpu (the real local wheel) with one of its bundled libraries gone (torch/lib/libc10.so)."""
    wheel = local_torch_wheel()
    venv = create_venv(tmp_path / "venv", with_pip=True)
    _install(venv, str(wheel))
    (venv.site_packages / "torch" / "lib" / "libc10.so").unlink()
    return venv, "torch"


def build_opencv_broken(tmp_path):
    """opencv-python-headless installed, then its cv2 folder removed (a partial uninstall): the metadata says
    opencv_python_headless, the table says opencv-python-headless; one action, never two."""
    venv = create_venv(tmp_path / "venv", with_pip=True)
    _install(venv, "opencv-python-headless")
    import shutil

    shutil.rmtree(venv.site_packages / "cv2")
    return venv, "cv2"


def other_python(version: str = "3.12") -> str:
    """An interpreter of another Python than the one running the tests (uv's or pyenv's), or skip."""
    import glob
    import shutil

    found = None
    for pattern in (str(Path.home() / f".pyenv/versions/{version}*/bin/python{version}"),
                    str(Path.home() / f".local/share/uv/python/cpython-{version}*/bin/python{version}")):
        found = found or next(iter(sorted(glob.glob(pattern), reverse=True)), None)
    on_path = shutil.which(f"python{version}")
    if not found and on_path and subprocess.run([on_path, "-c", ""], capture_output=True).returncode == 0:
        found = on_path     # (a pyenv shim of a version not selected exits 127)
    if not found:
        try:
            done = subprocess.run([uv_binary(), "python", "find", version], capture_output=True, text=True)
            found = done.stdout.strip() if done.returncode == 0 else None
        except BaseException:
            found = None
    if not found or sys.version.startswith(version + "."):
        pytest.skip(f"no Python {version} other than this one on this machine")
    return found


def build_distutils_312(tmp_path):
    """A venv of Python 3.12 (distutils left the standard library in 3.12); the user imports distutils."""
    from harness import Venv

    subprocess.run([other_python("3.12"), "-m", "venv", str(tmp_path / "venv")], check=True)
    return Venv(tmp_path / "venv"), "distutils"


def build_shadowing_requests(tmp_path):
    """requests installed; the notebook's folder has the user's requests.py (which imports requests: the
    classic) and already a my_requests.py, the first name a rename would pick."""
    venv = create_venv(tmp_path / "venv", with_pip=True)
    _install(venv, "requests")
    nb = tmp_path / "nb"
    nb.mkdir()
    (nb / "requests.py").write_text("import requests\nprint(requests.get)\n")
    (nb / "my_requests.py").write_text("MINE = 'keep me'\n")
    return venv, "requests"


#: name → builder(tmp_path) -> (venv, the module the user imported); bench/bench_fixes.py runs these too.
#: Each top fix is applied for real by apply_top_fix, then the import must work and pip check be clean.
CASES = {"pandas-numexpr-numpy2": build_pandas, "tf215-numpy2": build_tf215, "tf213-tensorboard-protobuf4": build_tf213,
         "uv-venv-without-pip": build_uv, "google-namespace-protobuf-too-old": build_google_namespace,
         "torch-cpu-library-missing": build_torch_cpu, "opencv-broken-install": build_opencv_broken,
         "distutils-python-3.12": build_distutils_312, "shadowing-requests-py": build_shadowing_requests}


def cwd_of(venv) -> Optional[Path]:
    """The notebook's folder of a case that has one (the shadowing case), else None."""
    nb = venv.path.parent / "nb"
    return nb if nb.is_dir() else None


def check_case(venv, module):
    cwd = cwd_of(venv)
    return check(module, python=str(venv.python), cwd=str(cwd or venv.path.parent))


def offline_argv(fix) -> List[str]:
    """The fix's argv as it would run here: a PyTorch index URL (not reachable from this machine) replaced
    by the local wheel folder the case was built from, every other argument as dllmagic made it."""
    argv = list(fix.argv or ())
    if "--index-url" in argv and argv[argv.index("--index-url") + 1].startswith("https://download.pytorch.org/"):
        i = argv.index("--index-url")
        argv[i:i + 2] = ["--no-index", "--find-links", str(local_torch_wheel().parent)]
    return argv


def apply_top_fix(venv, module, fix) -> Tuple[bool, str]:
    """Run the fix as the Run button does (argv; a rename's cell in a fresh interpreter), then import the
    module in a fresh process from the case's folder and run pip check (uv's in a venv without pip)."""
    import os

    cwd = cwd_of(venv)
    if fix.kind == "rename":
        done = subprocess.run([str(venv.python), "-c", fix.cell], capture_output=True, text=True, cwd=cwd)
    else:
        done = subprocess.run(offline_argv(fix), capture_output=True, text=True, timeout=900,
                              stdin=subprocess.DEVNULL, env=dict(os.environ, UV_CACHE_DIR=str(PIP_CACHE / "uv")))
    if done.returncode != 0:
        return False, "the fix failed: " + (done.stdout + done.stderr)[-600:]
    imported = venv.run("-c", f"import {module}", cwd=cwd)
    if imported.returncode != 0:
        return False, "the import still fails: " + imported.stderr[-600:]
    if fix.kind == "uv":
        checked = subprocess.run([fix.argv[0], "pip", "check", "--python", str(venv.python)], capture_output=True,
                                 text=True)
    else:
        checked = _pip(venv, "check")
    if checked.returncode != 0:
        return False, "pip check: " + (checked.stdout + checked.stderr)[-600:]
    return True, ""


def _install_names(fix) -> List[str]:
    """Normalised names a package fix would install (none for other fixes)."""
    from packaging.requirements import InvalidRequirement, Requirement

    from dllmagic.facts.distributions import normalize

    names = []
    argv = list(fix.argv or ())
    for arg in argv[argv.index("install") + 1:] if "install" in argv else ():
        if arg.startswith("-") or "/" in arg:
            continue
        try:
            names.append(normalize(Requirement(arg).name))
        except InvalidRequirement:
            continue
    return names if fix.kind in ("pip", "uv", "conda", "mamba") else []


def test_google_namespace_is_never_a_duplicate_and_protobuf_moves_forward(tmp_path):
    venv, module = build_google_namespace(tmp_path)
    failed = venv.run("-c", f"import {module}")
    assert "runtime_version" in failed.stderr, failed.stderr[-400:]
    assert venv.run("-c", "import google.auth").returncode == 0
    report = check_case(venv, module)
    assert all(f.cause != "duplicate-distributions" for f in report.findings), [f.cause for f in report.findings]
    every = [fix for finding in report.findings for fix in finding.fixes]
    assert not any("uninstall" in fix.cell or "uninstall" in (fix.argv or ()) for fix in every)
    top, fix = _top_fix(report)
    # Forward, to what googleapis-common-protos 1.76.0 itself declares (a table row says runtime_version
    # came with protobuf 5.26; 5.x alone would break the installed googleapis-common-protos: not offered).
    assert fix.cell == '%pip install "protobuf<8.0.0,>=6.33.5"', [f.cell for f in top.fixes]
    ok, why = apply_top_fix(venv, module, fix)
    assert ok, why
    assert venv.run("-c", "import google.auth, google.protobuf").returncode == 0
    # A submodule of the namespace that no installed distribution has: 'google' is never installed by its
    # name, nothing is uninstalled, no duplicates.
    report = check_case(venv, "google.cloud.storage")
    every = [fix for finding in report.findings for fix in finding.fixes]
    assert all(f.cause != "duplicate-distributions" for f in report.findings)
    assert report.top.cause == "submodule-not-found" and "namespace package" in report.top.summary
    assert not [n for fix in every for n in _install_names(fix) if n in ("google", "google-cloud")]
    assert not any("uninstall" in fix.cell or "uninstall" in (fix.argv or ()) for fix in every)


def test_torch_cpu_with_a_library_missing_is_reinstalled_from_the_same_wheel(tmp_path):
    venv, module = build_torch_cpu(tmp_path)
    label = venv.run("-c", "import importlib.metadata as m; print(m.version('torch'))")
    assert label.stdout.strip() == "2.13.0+cpu"
    failed = venv.run("-c", "import torch")
    assert "libc10.so" in failed.stderr, failed.stderr[-400:]
    report = check_case(venv, module)
    top, fix = _top_fix(report)
    assert top.cause == "missing-vendored-library"
    # torch came from a local wheel file that is still there and is the same build (its RECORD matches): the
    # reinstall is from that file, not from an index (PyPI would get another build, PyTorch's may be out of
    # reach); never from PyPI by name.
    assert fix.argv[3:6] == ("install", "--force-reinstall", "--no-deps"), fix.argv
    assert fix.argv[-1] == str(local_torch_wheel()), fix.argv
    assert "--index-url" not in fix.argv
    ok, why = apply_top_fix(venv, module, fix)
    assert ok, why
    assert (venv.site_packages / "torch" / "lib" / "libc10.so").is_file()


def build_torchvision_for(tmp_path, vision: str):
    """torch 2.13.0+cpu (the real local wheel) and a real torchvision wheel of the index that does not belong to
    it, installed without its dependencies as a user's mixed installs leave it."""
    venv = create_venv(tmp_path / "venv", with_pip=True)
    _install(venv, str(local_torch_wheel()), "numpy", "pillow")
    _install(venv, "--no-deps", f"torchvision=={vision}")
    return venv, "torchvision"


def test_torchvision_declaring_a_newer_torch(tmp_path):
    # torchvision 0.29.1 declares torch>=2.14.0; with torch 2.13.0 its operators never register, and the message
    # names no version ("operator torchvision::nms does not exist"): the metadata on disk is the evidence.
    venv, module = build_torchvision_for(tmp_path, "0.29.1")
    failed = venv.run("-c", "import torchvision")
    assert "operator torchvision::nms does not exist" in failed.stderr, failed.stderr[-400:]
    report = check_case(venv, module)
    top, fix = _top_fix(report)
    assert (top.kind, top.cause) == ("dependency-conflict", "version-pin-conflict")
    assert "torchvision 0.29.1 declares torch>=2.14.0" in top.summary and "2.13.0+cpu" in top.summary
    assert fix.argv[-1] == "torch>=2.14.0" and "https://download.pytorch.org/whl/cpu" in fix.argv, fix.argv
    # The other way: keep torch, and let the installer choose a torchvision that accepts it. Applied here
    # (torch from the same local wheel): pip moves torchvision back to 0.28.0, which declares torch==2.13.0.
    keep = [f for f in top.fixes if f.runnable and "torch==2.13.0+cpu" in f.argv]
    assert keep and "torchvision" in keep[0].argv, [f.argv for f in top.fixes]
    argv = list(keep[0].argv)
    requirements = [a for a in argv[argv.index("install") + 1:] if not a.startswith(("-", "https://"))]
    assert requirements == ["torchvision", "torch==2.13.0+cpu"], argv
    # PyTorch's index is not reachable here: torch from the local wheel's folder, torchvision from the index.
    done = _pip(venv, "install", "--quiet", "--find-links", str(local_torch_wheel().parent), *requirements)
    assert done.returncode == 0, done.stderr[-400:]
    assert venv.run("-c", "import importlib.metadata as m; print(m.version('torchvision'))").stdout.strip() == "0.28.0"


def test_torchvision_of_another_build_than_torch(tmp_path):
    # torchvision 0.28.0 from PyPI declares torch==2.13.0, which 2.13.0+cpu satisfies, yet its _C.so is the CUDA
    # build's: it needs libc10_cuda.so, which the CPU torch does not have. The native loader finds that out.
    venv, module = build_torchvision_for(tmp_path, "0.28.0")
    failed = venv.run("-c", "import torchvision")
    assert "operator torchvision::nms does not exist" in failed.stderr, failed.stderr[-400:]
    report = check_case(venv, module)
    top, fix = _top_fix(report)
    assert (top.kind, top.cause) == ("dependency-conflict", "version-pin-conflict")
    assert "libc10_cuda.so" in top.summary and "+cpu build" in top.summary, top.summary
    # libc10.so, which torch loaded first, is not called missing.
    assert not any("libc10.so (needed" in e.value for e in top.evidence)
    assert fix.argv[3:] == ("install", "--force-reinstall", "--no-deps", "--index-url",
                            "https://download.pytorch.org/whl/cpu", "torchvision==0.28.0+cpu"), fix.argv

def test_one_action_once_for_a_broken_opencv(tmp_path):
    from dllmagic.planner.plan import action_key

    venv, module = build_opencv_broken(tmp_path)
    report = check_case(venv, module)
    every = [fix for finding in report.findings for fix in finding.fixes]
    keys = [action_key(fix) for fix in every]
    assert len(keys) == len(set(keys)), [f.cell for f in every]
    installs = [name for fix in every for name in _install_names(fix)]
    assert installs.count("opencv-python-headless") == 1, [f.cell for f in every]
    top, fix = _top_fix(report)
    assert top.cause == "broken-install" and _install_names(fix) == ["opencv-python-headless"], fix.cell
    ok, why = apply_top_fix(venv, module, fix)
    assert ok, why


def test_standard_library_names_are_never_pinned_or_installed(tmp_path):
    venv, module = build_distutils_312(tmp_path)
    assert venv.run("-c", "import distutils").returncode != 0
    report = check_case(venv, module)
    stdlib = set(sys.stdlib_module_names) | {"distutils", "imp"}
    every = [fix for finding in report.findings for fix in finding.fixes]
    assert not [n for fix in every for n in _install_names(fix) if n.replace("-", "_") in stdlib]
    top, fix = _top_fix(report)
    assert top.cause == "removed-from-stdlib" and _install_names(fix) == ["setuptools"], fix.cell
    # The proof processes the overlay's .pth files (setuptools' distutils shim is one), as site-packages does.
    from dllmagic.planner.prove import prove_fix

    proof = prove_fix(report, fix.id)
    assert proof.status == "proven", proof.detail
    ok, why = apply_top_fix(venv, module, fix)
    assert ok, why
    # 'imp' left in 3.12 too, and nothing provides it: no package fix at all.
    (tmp_path / "app.py").write_text("import imp\n")
    report = check("app", python=str(venv.python), cwd=str(tmp_path))
    assert report.top is not None and report.top.cause == "removed-from-stdlib"
    every = [fix for finding in report.findings for fix in finding.fixes]
    assert not [fix.cell for fix in every if _install_names(fix)], [fix.cell for fix in every]


def test_a_projects_own_extension_or_submodule_is_never_installed(tmp_path):
    """The user's own package myproj: its compiled extension needs a vendor library that is missing, was
    built for another Python, or was never built. No pip install of any of those names, no rename of the
    project, nothing runnable: what the name is and what to do."""
    import sysconfig

    from diagkit import compile_shared, have_compiler

    if not have_compiler():
        pytest.skip("needs a C compiler")
    venv = create_venv(tmp_path / "venv", with_pip=True)
    project = tmp_path / "proj"
    pkg = project / "myproj"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from myproj import _speedups\n")
    vendor = tmp_path / "vendor"
    compile_shared(vendor, "libacmevendor.so", "int acme(void) { return 1; }\n", soname="libacmevendor.so")
    source = ("#include <Python.h>\nextern int acme(void);\n"
              "static struct PyModuleDef d = {PyModuleDef_HEAD_INIT, \"_speedups\", 0, -1, 0};\n"
              "PyMODINIT_FUNC PyInit__speedups(void) { acme(); return PyModule_Create(&d); }\n")
    built = compile_shared(pkg, "_speedups" + sysconfig.get_config_var("EXT_SUFFIX"), source, python=True,
                           libs=["libacmevendor.so"], libdirs=[str(vendor)])
    for leftover in pkg.glob("*.c"):
        leftover.unlink()
    (pkg / "_speedups.c").write_text(source)
    other = pkg / built.name.replace(f"cpython-{sys.version_info[0]}{sys.version_info[1]}", "cpython-310")
    names = {"myproj", "_speedups", "speedups", "libacmevendor", "acmevendor", "libacmevendor-so"}

    def assert_no_harm(report, expected_cause):
        every = [fix for finding in report.findings for fix in finding.fixes]
        assert report.top is not None and report.top.cause == expected_cause, [f.cause for f in report.findings]
        assert not [n for fix in every for n in _install_names(fix) if n in names], [f.cell for f in every]
        assert not [fix for fix in every if fix.kind == "rename"], [f.cell for f in every]
        assert not [fix for fix in every if fix.runnable and fix.kind != "restart"], [f.cell for f in every]

    failed = venv.run("-c", "import myproj", cwd=project)
    assert "libacmevendor.so" in failed.stderr, failed.stderr[-300:]
    assert_no_harm(check("myproj", python=str(venv.python), cwd=str(project)), "library-not-found")
    built.rename(other)           # built for another Python: 3.11 does not see a cpython-310 file
    report = check("myproj", python=str(venv.python), cwd=str(project))
    assert_no_harm(report, "built-for-other-python")
    other.unlink()                # never built: only its source is there
    report = check("myproj", python=str(venv.python), cwd=str(project))
    assert_no_harm(report, "submodule-not-found")
    assert "_speedups.c" in report.top.summary and "not been built" in report.top.summary
    assert (pkg / "__init__.py").is_file()


def test_the_rename_of_a_shadowing_file_never_overwrites(tmp_path):
    venv, module = build_shadowing_requests(tmp_path)
    nb = cwd_of(venv)
    assert venv.run("-c", "import requests; requests.get", cwd=nb).returncode != 0
    report = check_case(venv, module)
    top = report.top
    fix = top.fixes[0]
    assert top.cause == "shadowed-by-local-file" and fix.kind == "rename", [f.cell for f in top.fixes]
    assert "my_requests_1.py" in fix.cell and "'" + str(nb / "my_requests.py") + "'" not in fix.cell
    ok, why = apply_top_fix(venv, module, fix)
    assert ok, why
    assert (nb / "my_requests.py").read_text() == "MINE = 'keep me'\n"
    assert (nb / "my_requests_1.py").read_text() == "import requests\nprint(requests.get)\n"
    assert not (nb / "requests.py").exists()
    # The cell checks again when it runs: a file that appeared meanwhile is never overwritten.
    (nb / "requests.py").write_text("SECOND = 1\n")
    again = subprocess.run([str(venv.python), "-c", fix.cell], capture_output=True, text=True, cwd=nb)
    assert again.returncode != 0 and "FileExistsError" in again.stderr
    assert (nb / "requests.py").read_text() == "SECOND = 1\n"
    assert (nb / "my_requests_1.py").read_text() == "import requests\nprint(requests.get)\n"


# ------------------------------------------- a two-step swap (uninstall, install) in a venv without pip
def _without_library(library: str):
    """argv prefix that runs a command on this machine as if ``library`` were not installed: nothing when no
    such library is here; where it is (and this is root with unshare and overlayfs), a private mount
    namespace whose view of the library's folder has it whited out. Skips elsewhere."""
    import ctypes.util
    import glob
    import os
    import shutil

    found = [p for p in glob.glob(f"/usr/lib*/{library}") + glob.glob(f"/usr/lib*/*/{library}") + glob.glob(
        f"/lib*/*/{library}") if os.path.exists(p)]
    if not found and ctypes.util.find_library(library.split(".so")[0][3:]) is None:
        return []
    if not found or os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip(f"{library} is installed here and cannot be hidden (needs root, unshare, overlayfs)")
    folder = os.path.dirname(os.path.realpath(found[0]))
    return folder, {library, os.path.basename(os.path.realpath(found[0]))}


def _hiding(library: str, tmp_path: Path) -> List[str]:
    """argv prefix under which ``library`` is not there (see _without_library); also skips without a compiler
    (the tests that use it build an extension that needs the library)."""
    import os
    import shlex

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "diagnosis"))
    from diagkit import have_compiler

    if not have_compiler():
        pytest.skip("needs a C compiler and Python's headers")
    hide = _without_library(library)
    if not hide:
        return []
    folder, names = hide
    upper, work = tmp_path / "upper", tmp_path / "work"
    upper.mkdir()
    work.mkdir()
    for name in names:
        os.mknod(upper / name, 0o600 | 0o020000, os.makedev(0, 0))   # overlayfs' whiteout
    script = (f"mount -t overlay overlay -o lowerdir={shlex.quote(folder)},upperdir={shlex.quote(str(upper))},"
              f"workdir={shlex.quote(str(work))} {shlex.quote(folder)} || exit 97; exec \"$@\"")
    wrap = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"]
    probe = subprocess.run(wrap + ["true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"no private overlay mount here: {probe.stderr[-200:]}")
    return wrap


def _opencv_needing_libgl(site: Path, build: Path) -> None:
    """opencv-python 4.9.0.80 as installed into ``site`` (dist-info with its RECORD, INSTALLER uv), its cv2 a
    real extension that needs libGL.so.1."""
    import base64
    import hashlib

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "diagnosis"))
    from diagkit import extension_needing

    ext = extension_needing(build, "cv2", "libGL.so.1")
    (site / ext.name).write_bytes(ext.read_bytes())
    info = site / "opencv_python-4.9.0.80.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: opencv-python\nVersion: 4.9.0.80\n")
    (info / "top_level.txt").write_text("cv2\n")
    (info / "INSTALLER").write_text("uv\n")
    rows = []
    for path in (site / ext.name, info / "METADATA", info / "top_level.txt", info / "INSTALLER"):
        digest = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode()
        rows.append(f"{path.relative_to(site)},sha256={digest},{path.stat().st_size}")
    (info / "RECORD").write_text("\n".join(rows + [f"{info.name}/RECORD,,"]) + "\n")


def test_a_uv_venv_gets_the_opencv_swap_with_uv_not_with_a_pip_it_lacks(tmp_path):
    """cv2 from opencv-python needs libGL.so.1, which this machine lacks (or is made to lack): the swap to the
    -headless build is two steps, so it is a cell; in a uv venv (no pip) '%pip uninstall' and '%pip install'
    end in 'No module named pip'. The cell is uv's own, and run for real it makes 'import cv2' work."""
    import os
    import shlex

    wrap = _hiding("libGL.so.1", tmp_path)
    uv = uv_binary()
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(tmp_path / "venv")], check=True,
                   env=dict(os.environ, UV_CACHE_DIR=str(PIP_CACHE / "uv")))
    python = tmp_path / "venv" / "bin" / "python"
    _opencv_needing_libgl(next((tmp_path / "venv").glob("lib/python*/site-packages")), tmp_path / "build")
    failed = subprocess.run(wrap + [str(python), "-c", "import cv2"], capture_output=True, text=True)
    assert "libGL.so.1: cannot open shared object file" in failed.stderr, failed.stderr[-400:]
    env = dict(os.environ, PATH=os.pathsep.join([os.path.dirname(uv), os.environ.get("PATH", "")]),
               UV_CACHE_DIR=str(PIP_CACHE / "uv"))
    env.pop("PYTHONPATH", None)
    top, every = _check_cv2(wrap, python, tmp_path, env)
    assert not [f for f in every if "%pip" in f["cell"]], [f["cell"] for f in every]
    swap = top["fixes"][0]
    lines = swap["cell"].split("\n")
    assert swap["kind"] == "uv" and lines[0].startswith("!uv pip uninstall --python") and \
        lines[1].startswith("!uv pip install --python") and "opencv-python-headless" in lines[1], swap["cell"]
    for line in lines:
        ran = subprocess.run(shlex.split(line[1:]), capture_output=True, text=True, timeout=900, env=env,
                             stdin=subprocess.DEVNULL)
        if ran.returncode != 0 and "No matching distribution" in ran.stderr + ran.stdout:
            pytest.skip("the index does not serve opencv-python-headless")
        assert ran.returncode == 0, ran.stdout[-600:] + ran.stderr[-600:]
    works = subprocess.run(wrap + [str(python), "-c", "import cv2; cv2.imread"], capture_output=True, text=True)
    assert works.returncode == 0, works.stderr[-600:]


def _check_cv2(wrap, python, tmp_path, env):
    """``dlldoctor check cv2 --json`` against ``python`` (libGL hidden by ``wrap``): the top finding, which must be
    the missing system library, and every fix of the report."""
    import json

    done = subprocess.run(wrap + [sys.executable, "-m", "dllmagic", "check", "cv2", "--python", str(python),
                                  "--cwd", str(tmp_path), "--json"], capture_output=True, text=True, env=env,
                          timeout=300)
    report = json.loads(done.stdout)
    top = report["findings"][0]
    assert top["cause"] == "missing-system-library", top
    return top, [f for finding in report["findings"] for f in finding["fixes"]]


def test_an_externally_managed_python_gets_no_opencv_swap_cell_pip_refuses(tmp_path):
    """The same cv2 in an externally managed Python (PEP 668): pip refuses both lines of the swap there, so the
    cell is never offered; the statement says how (a virtual environment), never --break-system-packages."""
    import os

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "verdicts"))
    from verdictkit import base_python_copy

    wrap = _hiding("libGL.so.1", tmp_path)
    python = base_python_copy(tmp_path / "system", externally_managed=True)
    _opencv_needing_libgl(tmp_path / "system" / "lib" / ("python%d.%d" % sys.version_info[:2]) / "site-packages",
                          tmp_path / "build")
    failed = subprocess.run(wrap + [str(python), "-c", "import cv2"], capture_output=True, text=True)
    assert "libGL.so.1: cannot open shared object file" in failed.stderr, failed.stderr[-400:]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    top, every = _check_cv2(wrap, python, tmp_path, env)
    assert not [f for f in every if "\n%pip" in "\n" + f["cell"]], [f["cell"] for f in every]
    assert not any("--break-system-packages" in f["cell"] for f in every)
    said = top["fixes"][0]
    assert said["kind"] == "instruction" and "-m venv" in said["cell"] and "opencv-python-headless" in said["cell"], \
        said["cell"]
