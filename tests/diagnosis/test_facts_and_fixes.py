"""The hardware / process facts (pure parsers and modelled machines) and the fix builders added for the
diagnosis rules (system packages, env settings, downloads, swapping distributions)."""
import pytest

from dllmagic import fixes
from dllmagic.facts import hardware, process
from dllmagic.facts.system import System


def test_parse_cpuinfo_and_driver_version():
    flags, model = hardware.parse_cpuinfo("processor : 0\nmodel name : Xeon\nflags : fpu sse avx avx2\n\n"
                                           "processor : 1\nflags : fpu\n")
    assert "avx2" in flags and model == "Xeon"
    assert hardware.parse_driver_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.54.03  Tue") == "535.54.03"
    assert hardware.parse_driver_version("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  560.35.03  Release") == "560.35.03"
    assert hardware.parse_driver_version("libcuda.so.470.82.01") == "470.82.01"
    assert hardware.driver_version_from_cuda_int(10010) == "10.1"
    assert hardware.driver_version_from_cuda_int(12040) == "12.4"


def test_this_machine_has_no_gpu_and_states_its_cpu():
    live = System.current()
    assert hardware.nvidia_driver(live) is None          # no GPU on the development machines
    assert hardware.gpu_devices(live) == []
    cpu = hardware.cpu_facts(live)
    assert cpu is not None and cpu.source == "/proc/cpuinfo" and "sse2" in cpu.flags


def test_driver_from_the_libcuda_file_name_on_a_modelled_machine(tmp_path):
    lib = tmp_path / "usr" / "lib" / "x86_64-linux-gnu"
    lib.mkdir(parents=True)
    (lib / "libcuda.so.550.54.14").write_bytes(b"")
    (lib / "libcuda.so.1").symlink_to("libcuda.so.550.54.14")
    driver = hardware.nvidia_driver(System.model("linux", str(tmp_path)))
    assert driver.version == "550.54.14" and driver.source.endswith("libcuda.so.550.54.14")


def test_visible_cuda_libraries_from_ld_library_path_and_pip_wheels(tmp_path):
    (tmp_path / "opt" / "cuda11").mkdir(parents=True)
    (tmp_path / "opt" / "cuda11" / "libcudart.so.11.0").write_bytes(b"")
    wheel = tmp_path / "site" / "nvidia" / "cublas" / "lib"
    wheel.mkdir(parents=True)
    (wheel / "libcublas.so.12").write_bytes(b"")
    system = System.model("linux", str(tmp_path), environ={"LD_LIBRARY_PATH": "/opt/cuda11"})
    libs = hardware.visible_cuda_libraries(system, ["/site"])
    assert {(l.component, l.version, l.how) for l in libs} == {
        ("CUDA runtime", "11.x", "LD_LIBRARY_PATH"), ("cuBLAS", "12.x", "pip package nvidia-cublas")}


def test_openmp_runtimes_and_their_owners():
    maps = ("7f00-7f01 r-xp 0 08:01 1 /env/lib/python3.11/site-packages/torch/lib/libgomp-a34b3233.so.1\n"
            "7f02-7f03 r-xp 0 08:01 2 /env/lib/python3.11/site-packages/scikit_learn.libs/libgomp-947d5fa1.so.1.0.0\n"
            "7f04-7f05 r-xp 0 08:01 3 /opt/conda/lib/libiomp5.so\n7f06-7f07 r-xp 0 0:0 0 [heap]\n")
    paths = process.parse_maps(maps)
    found = process.openmp_runtimes_loaded(System.model("linux", "/"), paths)
    assert [(r.runtime_id, r.owner) for r in found] == [
        ("gnu", "torch"), ("gnu", "scikit_learn"), ("intel", "the conda environment's libraries")]


def test_system_package_fixes_are_never_runnable():
    fix = fixes.system_package("apt", ["libgl1"])
    assert fix.kind == "system-package" and fix.cell == "!sudo apt-get install -y libgl1"
    assert fix.argv == ("apt-get", "install", "-y", "libgl1") and not fix.runnable
    assert fixes.system_package("brew", ["libomp"]).cell == "!brew install libomp"


@pytest.mark.parametrize("bad", ["libgl1; rm -rf /", "$(id)", "a b", "", "-y"])
def test_system_package_names_are_validated(bad):
    with pytest.raises(fixes.UnsafeName):
        fixes.system_package("apt", [bad])
    with pytest.raises(fixes.UnsafeName):
        fixes.system_package("yum; id", ["libgl1"])


def test_env_var_download_and_replace():
    assert fixes.env_var("KMP_DUPLICATE_LIB_OK", "TRUE", "t").cell == "%env KMP_DUPLICATE_LIB_OK=TRUE"
    with pytest.raises(fixes.UnsafeName):
        fixes.env_var("X", "a;b", "t")
    assert "https://aka.ms/vs/17/release/vc_redist.x64.exe" in fixes.download("t", "https://aka.ms/vs/17/release/vc_redist.x64.exe").cell
    with pytest.raises(fixes.UnsafeName):
        fixes.download("t", "http://insecure.example/x.exe")
    swap = fixes.pip_replace(None, ["opencv-python"], ["opencv-python-headless"])
    assert swap.cell == "%pip uninstall -y opencv-python\n%pip install opencv-python-headless" and swap.argv is None
