"""Pre-flight: "will tensorflow work here?" before it is installed, or after it imports fine.

This machine has no GPU: the real checks here say so ("none found"), and the GPU facts are modelled
with files under a System.model root (/proc/driver/nvidia/version, a GPU's information file, the
libraries a pip wheel of cuDNN installs, TensorFlow's build_info.py), the same files a GPU machine has.
"""
import json
import os

import pytest

from diagkit import evidence_text, model_context, write_dist_info, write_wheel
from dllmagic.api import check
from dllmagic.diagnosis import run_rules
from dllmagic.failure import failure_from_text
from dllmagic.model import report_to_dict
from harness import run_cli

SITE = "/env/lib/python3.11/site-packages"
NO_AVX_CPUINFO = ("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Celeron(R) CPU N3050\n"
                  "flags\t\t: fpu vme de pse tsc msr pae mce cx8 sse sse2 ssse3 sse4_1 sse4_2\n")
AVX_CPUINFO = NO_AVX_CPUINFO.replace("Celeron(R) CPU N3050", "Xeon(R) Gold 6248").replace("sse4_2", "sse4_2 avx avx2")


def _machine(tmp_path, *, cpuinfo=AVX_CPUINFO, driver=None, gpu=None):
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "cpuinfo").write_text(cpuinfo)
    if driver:
        nv = root / "proc" / "driver" / "nvidia"
        nv.mkdir(parents=True)
        (nv / "version").write_text(f"NVRM version: NVIDIA UNIX x86_64 Kernel Module  {driver}  Thu Oct 28 UTC 2021\n"
                                    "GCC version:  gcc version 9.3.0\n")
        if gpu:
            info = nv / "gpus" / "0000:00:04.0"
            info.mkdir(parents=True)
            (info / "information").write_text(f"Model: \t\t {gpu}\nIRQ:   \t\t 35\n")
    site = root / SITE.lstrip("/")
    site.mkdir(parents=True)
    return root, site


def _tensorflow(site, version="2.16.1", cuda="12.3", cudnn="8"):
    write_dist_info(site, "tensorflow", version, requires=["numpy<2.0.0,>=1.23.5"])
    platform = site / "tensorflow" / "python" / "platform"
    platform.mkdir(parents=True)
    (platform / "build_info.py").write_text(
        "build_info = {'cpu_compiler': '/usr/lib/llvm-17/bin/clang', 'cuda_compute_capabilities': ['sm_50'], "
        f"'cuda_version': '{cuda}', 'cudnn_version': '{cudnn}', 'is_cuda_build': True, 'is_rocm_build': False}}\n")


def test_absent_tensorflow_on_this_machine(make_venv, validate_report):
    venv = make_venv("empty")
    report = check("tensorflow", python=str(venv.python))
    validate_report(report_to_dict(report))
    causes = {f.cause: f for f in report.findings}
    assert report.top.cause == "not-installed"
    summary = causes["release-available"]
    text = evidence_text(summary)
    assert "tensorflow release that fits: 2.20" in text
    # No GPU here: the report says so rather than guessing.
    assert "NVIDIA driver: none found" in text
    has_avx = " avx " in open("/proc/cpuinfo").read().replace("\n", " ") + " "
    if has_avx:
        assert "AVX present" in text and "no-avx" not in causes
    else:
        assert causes["no-avx"].kind == "unsupported-cpu"


def test_gpu_machine_with_an_old_driver_and_a_cpu_without_avx(tmp_path):
    root, site = _machine(tmp_path, cpuinfo=NO_AVX_CPUINFO, driver="470.82.01", gpu="Tesla T4")
    _tensorflow(site)
    cudnn = site / "nvidia" / "cudnn" / "lib"
    cudnn.mkdir(parents=True)
    (cudnn / "libcudnn.so.8").write_bytes(b"\x7fELF")
    ctx = model_context(root, "tensorflow", site=SITE, import_ok=True)
    findings = {f.cause: f for f in run_rules(ctx)}
    assert findings["healthy"].confidence == 1.0
    assert findings["no-avx"].kind == "unsupported-cpu" and "Celeron" in evidence_text(findings["no-avx"])
    mismatch = findings["cuda-mismatch"]
    assert "470.82.01" in mismatch.summary and "525.60.13" in mismatch.summary
    text = evidence_text(findings["release-available"])
    assert "CUDA 12.3, cuDNN 8" in text and "build_info.py" in text        # read from its files, not imported
    assert "GPUs: Tesla T4" in text
    assert "cuDNN 8.x (pip package nvidia-cudnn)" in text


def test_a_recent_driver_passes(tmp_path):
    root, site = _machine(tmp_path, driver="550.54.14", gpu="NVIDIA A100-SXM4-40GB")
    _tensorflow(site)
    findings = {f.cause for f in run_rules(model_context(root, "tensorflow", site=SITE, import_ok=True))}
    assert "cuda-mismatch" not in findings and "no-avx" not in findings


@pytest.mark.parametrize("version,bits", [("3.14.0", 64), ("3.11.7", 32)])
def test_no_release_for_this_python(tmp_path, version, bits):
    root, _ = _machine(tmp_path)
    failure = failure_from_text("ModuleNotFoundError: No module named 'tensorflow'")
    ctx = model_context(root, "tensorflow", site=SITE, failure=failure, version=version, bits=bits)
    top = run_rules(ctx)[0]
    assert (top.kind, top.cause) == ("no-compatible-release", "no-release-for-platform")
    assert f"Python {version[:4]}" in top.summary and f"{bits}-bit" in top.summary


def test_windows_has_no_tensorflow_gpu_after_2_10(tmp_path):
    root = tmp_path / "root"
    site = root / "C" / "env" / "Lib" / "site-packages"
    site.mkdir(parents=True)
    _tensorflow(site)
    from dllmagic.diagnosis import Context
    from dllmagic.facts.system import System

    from diagkit import model_interpreter

    ctx = Context(target="tensorflow", failure=None, system=System.model("windows", str(root)),
                  interpreter=model_interpreter("C:\\env", platform="windows"), sys_path=("C:\\env\\Lib\\site-packages",),
                  import_result={"ok": True})
    text = evidence_text({f.cause: f for f in run_rules(ctx)}["release-available"])
    assert "last with GPU support on native Windows" in text


def test_installed_packages_that_would_conflict(tmp_path):
    root, site = _machine(tmp_path)
    write_dist_info(site, "keras", "2.15.0", requires=["tensorflow<2.16"], top_level="keras")
    failure = failure_from_text("ModuleNotFoundError: No module named 'tensorflow'")
    ctx = model_context(root, "tensorflow", site=SITE, failure=failure)
    findings = {f.cause: f for f in run_rules(ctx)}
    conflict = findings["would-conflict"]
    assert conflict.kind == "dependency-conflict" and "keras 2.15.0 requires tensorflow<2.16" in conflict.summary


def _online_venv(make_venv, tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    write_wheel(wheels, "dmdep", "1.0")
    write_wheel(wheels, "dmdep", "2.0")
    write_wheel(wheels, "dmuser", "1.0", requires=["dmdep<2"])
    write_wheel(wheels, "dmtoy", "1.0", requires=["dmdep>=2"])
    venv = make_venv("online", with_pip=True)
    venv.install(str(wheels / "dmdep-1.0-py3-none-any.whl"), str(wheels / "dmuser-1.0-py3-none-any.whl"))
    # The target interpreter's pip asks this folder only: no network, the same code path as an index.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    return venv


def test_online_asks_pip_what_would_change_and_what_it_breaks(make_venv, tmp_path, monkeypatch, validate_report):
    venv = _online_venv(make_venv, tmp_path, monkeypatch)
    offline = check("dmtoy", python=str(venv.python))
    assert "would-conflict" not in {f.cause for f in offline.findings}     # offline: nothing asked
    report = check("dmtoy", python=str(venv.python), online=True)
    validate_report(report_to_dict(report))
    causes = {f.cause: f for f in report.findings}
    text = evidence_text(causes["release-available"])
    assert "would change: dmtoy 1.0 (new)" in text and "dmdep 1.0 → 2.0 (upgrade)" in text
    assert "dmuser 1.0 requires dmdep<2" in causes["would-conflict"].summary


def test_cli_online_flag(make_venv, tmp_path, monkeypatch):
    venv = _online_venv(make_venv, tmp_path, monkeypatch)
    proc = run_cli("check", "dmtoy", "--python", str(venv.python), "--online", "--json",
                   env=dict(os.environ))
    data = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert "would-conflict" in [f["cause"] for f in data["findings"]]
    proc = run_cli("check", "--help")
    assert "--online" in proc.stdout


@pytest.mark.parametrize("with_pip", [True, False])
def test_online_lets_the_index_vouch_for_an_unknown_name(make_venv, tmp_path, monkeypatch, with_pip):
    """A name no installed metadata or table knows gets no install offline; with --online, the index (here a
    folder, through the same pip code path) says it holds that project, and the install is offered, named as
    the index's project. A target without pip (a uv venv) is asked through this Python's pip --python."""
    wheels = tmp_path / "wheels"
    write_wheel(wheels, "dmknown", "3.1")
    venv = make_venv("online-name", with_pip=with_pip)
    from harness import find_uv

    if find_uv():   # the uv that made the venv is on PATH, as its user has it (uv fixes need a uv to run)
        monkeypatch.setenv("PATH", os.pathsep.join([os.path.dirname(find_uv()), os.environ.get("PATH", "")]))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    offline = check("dmknown", python=str(venv.python))
    assert all(not f.argv and "install" not in f.cell.lower().split("\n")[0][:20] for f in offline.top.fixes)
    report = check("dmknown", python=str(venv.python), online=True)
    fix = report.top.fixes[0]
    assert "from the package index" in fix.title and "dmknown 3.1" in fix.title, fix
    assert fix.cell.endswith(" dmknown") and ("uv pip install" in fix.cell) is not with_pip, fix.cell
    # A name the index does not hold stays an instruction, online too.
    absent = check("dmabsent", python=str(venv.python), online=True)
    cells = [f.cell for finding in absent.findings for f in finding.fixes]
    assert any("not a distribution dllmagic knows" in c for c in cells), cells
    assert not any(f.argv for finding in absent.findings for f in finding.fixes), cells
