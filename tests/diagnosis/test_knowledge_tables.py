"""Every knowledge table loads, has its shape, and passes the semantic checks; the accessors answer."""
import copy
import json
import subprocess
import sys

import pytest

from diagkit import REPO
from dllmagic import knowledge
from dllmagic.knowledge import tables


@pytest.mark.parametrize("name", knowledge.available())
def test_every_table_loads_with_source_and_date(name):
    data = knowledge.load(name)
    assert data["entries"], name
    for entry in data["entries"]:
        assert entry["source"].startswith("https://") and len(entry["checked"]) == 10


def test_semantic_checks_pass():
    assert tables._check_diagnosis_tables() == []


def test_check_script_passes_and_compares_a_real_libstdcxx():
    host = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"
    args = [sys.executable, str(REPO / "scripts" / "check_knowledge.py")]
    import os

    if os.path.exists(host):
        args += ["--libstdcxx", host]
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 problem(s)" in proc.stdout


def test_a_broken_entry_is_refused_when_loaded(tmp_path, monkeypatch):
    data = copy.deepcopy(knowledge.load("library_providers"))
    data["entries"][0]["source"] = "http://not-https.example"
    with pytest.raises(knowledge.KnowledgeError, match="public https URL"):
        knowledge.check_shape("library_providers", data)
    data["entries"][0]["source"] = "https://x"
    del data["entries"][0]["apt"]
    with pytest.raises(knowledge.KnowledgeError, match="lacks apt"):
        knowledge.check_shape("library_providers", data)


def test_library_providers():
    gl = tables.library_provider("libGL.so.1")
    assert gl["apt"] == ["libgl1"] and gl["pip_alternative"]["dist"] == "opencv-python-headless"
    assert tables.library_provider("/usr/lib/x86_64-linux-gnu/libgomp.so.1.0.0")["id"] == "libgomp1"
    vc = tables.library_provider("vcruntime140_1.DLL", "windows")
    assert "2015-2022" in vc["windows_redist"]["name"] and vc["windows_redist"]["url"].startswith("https://aka.ms/")
    assert tables.library_provider("libomp.dylib", "macos")["brew"] == ["libomp"]
    assert tables.library_provider("libnothing.so.3") is None


def test_cuda_names_map_to_versions_and_pip_packages():
    assert tables.cuda_library("cudart64_110.dll")["version"] == "11.x"
    assert tables.cuda_library("cudart64_101.dll")["version"] == "10.1"
    assert tables.cuda_library("libcudart.so.12")["pip"] == ["nvidia-cuda-runtime-cu12"]
    assert tables.cuda_library("libcudnn.so.8")["component"] == "cuDNN"
    assert tables.cuda_library("cudnn_cnn_infer64_8.dll")["version"] == "8.x"
    assert tables.cuda_library("libcublasLt.so.11")["pip"] == ["nvidia-cublas-cu11"]
    assert tables.cuda_library("libcuda.so.1")["driver"] is True
    assert tables.cuda_library("libGL.so.1") is None
    assert tables.driver_needed("12.4")["linux"] == "525.60.13"      # minor-version compatibility floor


def test_cuda_prefix_filter_never_changes_an_answer():
    """cuda_library compiles a pattern only for names that start with its literal prefix: for every name
    the table's own patterns can produce, and variants of them, the answer is the full scan's."""
    import re

    def scan(name):
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        for e in knowledge.load("cuda_libraries")["entries"]:
            if re.fullmatch(e["pattern"], base, re.IGNORECASE if e["platform"] == "windows" else 0):
                return e["id"]
        return None

    names = {"nvcuda.dll", "NVCUDA.DLL", "Cudart64_110.dll", "libcudnn_ops.so.9.1.0", "cufftw64_11.dll",
             "libnvinfer.so.10", "libcudart.so.10.2", "libcuda.so.1.1", "libGL.so.1", "libcudart.so", "",
             "LIBCUDART.SO.12", "ſlibcudart.so.12", "/usr/lib/libcudart.so.12.4.127", "C:\\x\\cublasLt64_12.dll"}
    for e in knowledge.load("cuda_libraries")["entries"]:
        # a name built from the pattern: its literal text with each optional or repeated part left out
        stem = re.sub(r"\(\?P<\w+>[^)]*\)|\([^)]*\)[?*]|\\w\*|\[[^]]*\]|\\d\{[^}]*\}", "", e["pattern"])
        names |= {stem.replace("\\", ""), stem.replace("\\", "").upper(), stem.replace("\\", "") + ".7"}
    for name in sorted(names):
        assert (tables.cuda_library(name) or {}).get("id") == scan(name), name
    assert tables.literal_prefix(r"libcudnn(_\w+)?\.so\.9(\.\d+)*") == "libcudnn"
    assert tables.literal_prefix(r"cufft(w)?64_11\.dll") == "cufft"
    assert tables.literal_prefix(r"cufftw?64_11\.dll") == "cufft"
    assert tables.literal_prefix(r"libcuda\.so(\.1)?") == "libcuda.so"
    assert tables.literal_prefix(r"libfoo\.so|libbar\.so") == ""
    assert tables.literal_prefix(r"(?i)nvcuda\.dll") == ""


def test_libstdcxx_glibc_and_distributions():
    assert tables.libstdcxx_versions()["GLIBCXX_3.4.30"]["gcc"] == "12.1.0"
    assert tables.libstdcxx_versions()["CXXABI_1.3.9"]["gcc"] == "5.1.0"
    ids = [d["id"] for d in tables.distributions_providing("GLIBCXX_3.4.30")]
    assert "ubuntu-22.04" in ids and "ubuntu-20.04" not in ids
    ids = [d["id"] for d in tables.distributions_providing("GLIBC_2.28")]
    assert "rhel-8" in ids and "centos-7" not in ids and "ubuntu-18.04" not in ids


def test_framework_builds():
    tf = tables.framework_builds("tensorflow")
    assert tf[0]["release"] == "2.20"           # newest first
    by = {b["release"]: b for b in tf}
    assert by["2.10"]["gpu_platforms"] == ["linux-x86_64", "windows-x86_64"]
    assert by["2.11"]["gpu_platforms"] == ["linux-x86_64"]      # no native Windows GPU after 2.10
    assert by["2.16"]["cuda"] == ["12.3"] and by["2.16"]["cudnn"] == ["8.9"]
    assert all(b["cpu_features"] == ["avx"] for b in tf)
    torch = {b["release"]: b for b in tables.framework_builds("torch")}
    assert "12.1" in torch["2.4"]["cuda"]


def test_numpy2_protobuf_and_removed_names():
    assert tables.numpy2_support()["pandas"]["first_release"] == "2.2.2"
    assert tables.numpy2_support()["opencv-python"]["first_release"] == "4.10.0.84"
    assert {e["dist"] for e in tables.numpy2_for_import("cv2")} >= {"opencv-python", "opencv-python-headless"}
    assert tables.numpy_removed_names()["float"]["removed_in"] == "1.24.0"
    assert tables.numpy_removed_names()["NaN"]["replacement"] == "np.nan"
    assert [g["id"] for g in tables.protobuf_generations()][:2] == ["protobuf-3", "protobuf-4"]
    assert tables.openmp_runtime("libiomp5md.dll")["id"] == "intel"
    assert tables.openmp_runtime("libgomp-a34b3233.so.1")["id"] == "gnu"


def test_tables_are_pretty_printed_json(tmp_path):
    # Hand-edited data: one entry per block, so a review diff shows exactly what changed.
    for name in tables.DIAGNOSIS_TABLES:
        text = (REPO / "dllmagic" / "knowledge" / f"{name}.json").read_text(encoding="utf-8")
        assert json.loads(text) and text.count("\n") > 10


def test_broadened_library_names_resolve_to_their_packages():
    # Names that Qt, GTK, Pillow/OpenCV builds, audio and database wheels fail on most often.
    assert tables.library_provider("libxcb-cursor.so.0")["apt"] == ["libxcb-cursor0"]
    assert tables.library_provider("libgtk-3.so.0")["dnf"] == ["gtk3"]
    assert tables.library_provider("/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6")["apt"] == ["libsqlite3-0"]
    assert tables.library_provider("libgdal.so.32")["conda"] == ["libgdal"]
    assert tables.library_provider("libcrypt.so.1")["dnf"] == ["libxcrypt-compat"]
    # several majors of one library are known: an unversioned name no longer picks one of them
    assert tables.library_provider("libtiff.so.6")["apt"] == ["libtiff6"]
    assert tables.library_provider("libtiff.so") is None


def test_the_system_packages_of_the_table_own_the_files_on_this_host():
    # The primary source for a Debian entry is its package: where dpkg knows the file on this host, it must be
    # owned by the package the table names (cross-architecture and bundled copies aside).
    from pathlib import Path

    info = Path("/var/lib/dpkg/info")
    if not info.is_dir():
        pytest.skip("no dpkg database on this host")
    entries = [e for e in knowledge.load("library_providers")["entries"] if e["platform"] == "linux" and e["apt"]]
    wanted = {e["library"] for e in entries}
    owners = {}
    for listing in info.glob("*.list"):
        package = listing.stem.split(":")[0]
        for line in listing.read_text(errors="replace").splitlines():
            name = line.rsplit("/", 1)[-1]
            if name in wanted and "/lib" in line:
                owners.setdefault(name, set()).add(package)
    checked = 0
    for entry in entries:
        found = {o for o in owners.get(entry["library"], ()) if "-cross" not in o and o != "chromium-common"}
        if found:
            checked += 1
            assert found & set(entry["apt"]), (entry["library"], found, entry["apt"])
    if checked == 0:
        pytest.skip("none of the table's libraries is installed here")


def test_broadened_gpu_names():
    assert tables.cuda_library("libnvinfer.so.7")["version"] == "7.x"
    assert tables.cuda_library("libnvinfer_plugin.so.8.6.1")["component"] == "TensorRT"
    assert tables.cuda_library("libcurand.so.10")["pip"][0] == "nvidia-curand-cu12"
    assert tables.cuda_library("libnvJitLink.so.12")["cuda_major"] == "12"
    assert tables.cuda_library("nvrtc64_120_0.dll")["version"] == "12.x"
    assert tables.cuda_library("nvrtc64_112_0.dll")["cuda_major"] == "11"


def test_import_names_of_installed_distributions_are_right():
    # Every pair whose distribution is installed in the test environment is checked against its file list.
    from importlib import metadata

    names = tables.import_names()
    assert names["OpenSSL"]["dist"] == "pyOpenSSL" and names["win32gui"]["dist"] == "pywin32"
    assert names["bson"]["dist"] == "pymongo" and names["google.cloud.storage"]["dist"] == "google-cloud-storage"
    providers = metadata.packages_distributions()
    for imp, entry in names.items():
        top = imp.split(".")[0]
        dists = {d.lower().replace("_", "-") for d in providers.get(top, ())}
        wanted = {n.lower().replace("_", "-") for n in [entry["dist"], *entry["alternatives"]]}
        if dists and top == imp:
            assert dists & wanted, (imp, dists, wanted)
