"""Rules working from the text alone: real error texts users posted (tests/data/corpus), fed to explain.

Each case asserts the cause, the key evidence and the fixes a user needs; no fix made from a pasted text
has a command (there is no interpreter to run it with).
"""
import pytest

from diagkit import cells, corpus, evidence_text
from dllmagic.api import explain
from dllmagic.model import report_to_dict

CASES = corpus()

#: corpus id → (kind, cause) of the top finding.
EXPECTED = {
    "c001": ("missing-shared-library", "missing-system-library"),
    "c005": ("missing-shared-library", "missing-system-library"),
    "c016": ("missing-shared-library", "missing-system-library"),
    "x082": ("missing-shared-library", "missing-system-library"),
    "x014": ("missing-shared-library", "cuda-library-missing"),
    "x036": ("missing-shared-library", "cuda-library-missing"),
    "x056": ("missing-shared-library", "cuda-library-missing"),
    "c038": ("symbol-version", "symbol-version-too-old"),
    "c039": ("symbol-version", "symbol-version-too-old"),
    "x015": ("symbol-version", "older-copy-found-first"),  # a conda env's extension, the system's libstdc++
    "c040": ("symbol-version", "symbol-version-too-old"),
    "c023": ("missing-symbol", "symbol-missing"),
    "c053": ("python-abi-mismatch", "built-for-other-python"),
    "x017": ("python-abi-mismatch", "built-for-other-python"),
    "c059": ("python-abi-mismatch", "built-for-other-python"),
    "c042": ("architecture-mismatch", "wrong-architecture"),
    "c066": ("numpy-abi-mismatch", "numpy-2-abi"),
    "c067": ("numpy-abi-mismatch", "numpy-2-abi"),
    "x029": ("numpy-abi-mismatch", "numpy-2-abi"),
    "c088": ("dependency-conflict", "protobuf-too-new"),
    "c090": ("dependency-conflict", "numpy-alias-removed"),
    "x032": ("dependency-conflict", "numpy-alias-removed"),
    "c093": ("openmp-conflict", "duplicate-openmp"),
    "x033": ("openmp-conflict", "duplicate-openmp"),
    "c096": ("gpu-runtime", "cuda-mismatch"),
    "x034": ("gpu-runtime", "cuda-mismatch"),
    "x035": ("gpu-runtime", "cuda-mismatch"),
    # Error 127 from the text alone: an older copy found first, the cause threads verified most often.
    "c086": ("missing-symbol", "older-copy-found-first"),
    "x053": ("missing-symbol", "older-copy-found-first"),
    "c082": ("missing-shared-library", "dll-not-found"),
    "x012": ("missing-symbol", "vc-runtime-missing"),  # ucrtbase entry point missing: the UCRT is too old
    "c071": ("native-init-failed", "dll-init-failed"),
    "x037": ("unsupported-cpu", "no-avx"),
    "x038": ("unsupported-cpu", "no-avx"),
    "x021": ("native-init-failed", "executable-stack-refused"),
    "x022": ("native-init-failed", "static-tls-exhausted"),
    "x042": ("no-compatible-release", "no-release-for-platform"),
    "x045": ("no-compatible-release", "no-release-for-platform"),
    "x075": ("no-compatible-release", "no-release-for-platform"),
    "x077": ("no-compatible-release", "no-release-for-platform"),
    "x043": ("resolution-conflict", "resolution-conflict"),
}


@pytest.mark.parametrize("case_id", sorted(EXPECTED))
def test_top_cause(case_id, validate_report):
    report = explain(CASES[case_id]["error"])
    validate_report(report_to_dict(report))
    top = report.top
    assert (top.kind, top.cause) == EXPECTED[case_id], top.summary
    assert top.kind == CASES[case_id]["category"]          # the rule never changes the failure's kind
    assert top.evidence and top.fixes
    assert not any(fix.runnable for fix in top.fixes)
    assert all(fix.argv is None for fix in top.fixes if fix.kind == "pip")


def test_every_corpus_text_gives_a_valid_report(validate_report):
    for case in CASES.values():
        report = explain(case["error"])
        validate_report(report_to_dict(report))
        assert report.top.kind == case["category"], case["id"]


def test_libgl_for_opencv_offers_the_headless_wheel_and_the_system_packages():
    top = explain(CASES["c001"]["error"]).top
    joined = "\n".join(cells(top))
    assert "%pip uninstall -y opencv-python" in joined and "%pip install opencv-python-headless" in joined
    assert "!sudo apt-get install -y libgl1" in joined and "!sudo dnf install -y mesa-libGL" in joined
    assert [f.kind for f in top.fixes][:2] == ["pip", "system-package"]


def test_libomp_on_macos_is_a_homebrew_package():
    top = explain(CASES["c005"]["error"]).top
    assert "!brew install libomp" in cells(top)


def test_glibcxx_names_the_gcc_release_and_the_systems_that_have_it():
    top = explain(CASES["x015"]["error"]).top
    text = evidence_text(top)
    assert "GCC 12.1.0" in text and "Ubuntu 22.04" in text
    assert "/usr/lib/x86_64-linux-gnu/libstdc++.so.6" in top.summary
    assert any("libstdcxx-ng>=12" in c for c in cells(top))


def test_glibcxx_in_a_conda_env_says_the_environments_copy_is_old():
    top = explain(CASES["c038"]["error"]).top
    assert "environment's own libstdc++" in top.summary and "GCC 11.1.0" in top.summary


def test_numpy_abi_names_both_versions_and_the_first_release_for_numpy_2():
    top = explain(CASES["c067"]["error"]).top
    assert "NumPy 2.0.0" in top.summary and "NumPy 1.x" in top.summary
    # numpy<2 first (one package changed); the upgrade stays inside opencv-python's major release.
    assert cells(top)[:2] == ['%pip install "numpy<2"', '%pip install "opencv-python<5,>=4.10.0.84"']


def test_numpy_alias_names_the_release_that_removed_it_and_the_replacement():
    top = explain(CASES["x032"]["error"]).top
    assert "NumPy 1.24.0" in top.summary and "tensorboardX" in top.summary
    assert '%pip install "numpy<1.24"' in cells(top)


def test_protobuf_offers_the_pin_and_the_pure_python_implementation():
    top = explain(CASES["c088"]["error"]).top
    assert cells(top)[:2] == ['%pip install "protobuf<4"', "%env PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python"]


def test_windows_texts_in_other_languages_are_read_by_their_code():
    top = explain(CASES["x001"]["error"]).top        # German "Die angegebene Prozedur wurde nicht gefunden."
    assert top.cause == "older-copy-found-first" and "127" in evidence_text(top)


def test_cuda_library_names_its_version_and_pip_package():
    top = explain(CASES["x056"]["error"]).top
    assert "CUDA runtime 11.x" in top.summary
    assert "%pip install nvidia-cuda-runtime-cu11" in cells(top)


def test_no_release_names_the_python_versions_tensorflow_supports():
    top = explain(CASES["x042"]["error"]).top
    assert "tensorflow 2.12 supports: Python >=3.8,<3.12" in evidence_text(top)


def test_vc_runtime_dll_is_the_redistributable():
    text = ("python.exe - System Error\nThe code execution cannot proceed because MSVCP140.dll was not found. "
            "Reinstalling the program may fix this problem.")
    top = explain(text).top
    assert top.cause == "vc-runtime-missing"
    assert "https://aka.ms/vs/17/release/vc_redist.x64.exe" in top.fixes[0].cell


# ----------------------------------------------------------------------------------------------------
# Wordings current NumPy, pandas, pip and TensorFlow print (issue: recognition that generalises)
# ----------------------------------------------------------------------------------------------------
def top(text):
    report = explain(text)
    assert report.findings, text
    return report.findings[0]


def test_numpy2_removed_name_message():
    # NumPy 2's own wording names "NumPy" capitalised; the alias rule must still read it.
    finding = top("Traceback (most recent call last):\n  File \"/work/fit.py\", line 3, in <module>\n"
                  "    x = np.float_(1)\n"
                  "AttributeError: `np.float_` was removed in the NumPy 2.0 release. Use `np.float64` instead.")
    assert (finding.kind, finding.cause) == ("dependency-conflict", "numpy-alias-removed")
    assert "np.float64" in finding.summary and "2.0" in finding.summary


@pytest.mark.parametrize("text", [
    "ImportError: this version of pandas is incompatible with numpy < 1.20.3\nyour numpy version is 1.19.5.\n"
    "Please upgrade numpy to >= 1.20.3 to use this pandas version",
    "ImportError: Please upgrade numpy to >= 1.26.0 to use this pandas version\n"
    "this version of pandas is incompatible with numpy < 1.26.0\nyour numpy version is 1.24.4.",
    "ImportError: pandas 0.15.0 is incompatible with numpy < 1.7.0, your numpy version is 1.6.1. Please upgrade "
    "numpy to >= 1.7.0 to use pandas version 0.15.0",
])
def test_pandas_numpy_minimum_in_every_wording(text):
    finding = top(text)
    assert (finding.kind, finding.cause) == ("dependency-conflict", "version-pin-conflict")
    assert "pandas requires numpy>=" in finding.summary


def test_pip_from_versions_list_decides_the_story():
    finding = top("ERROR: Could not find a version that satisfies the requirement tensorflow==2.10 (from versions: "
                  "2.16.0rc0, 2.16.1, 2.16.2, 2.17.0, 2.18.0)\n"
                  "ERROR: No matching distribution found for tensorflow==2.10")
    assert finding.cause == "no-release-for-platform"
    assert "2.16.0rc0 … 2.18.0" in finding.summary
    assert any('tensorflow==2.18.0' in fix.cell for fix in finding.fixes)
    assert not any("Create an environment" in fix.cell for fix in finding.fixes)


def test_pip_none_available_without_a_python_never_names_one_to_create():
    finding = top("ERROR: Could not find a version that satisfies the requirement tensorflow (from versions: none)\n"
                  "ERROR: No matching distribution found for tensorflow")
    assert not any("Create an environment with Python" in fix.cell for fix in finding.fixes)
    # With the Python the text names (a path of the pip that ran), outside TensorFlow's range: create one.
    finding = top("Requirement already satisfied: pip in /home/a/.venv/lib/python3.99/site-packages (24.0)\n"
                  "ERROR: Could not find a version that satisfies the requirement tensorflow (from versions: none)\n"
                  "ERROR: No matching distribution found for tensorflow")
    assert "Python 3.99" in finding.summary


def test_tensorflow_gpu_removed():
    finding = top("  Preparing metadata (setup.py) ... error\n  error: subprocess-exited-with-error\n"
                  "      Exception:\n\n      =========================================================\n"
                  "      The \"tensorflow-gpu\" package has been removed!\n\n"
                  "      Please install \"tensorflow\" instead.\n\n"
                  "  note: This error originates from a subprocess, and is likely not a problem with pip.\n"
                  "error: metadata-generation-failed\n")
    assert (finding.kind, finding.cause) == ("no-compatible-release", "package-removed")
    assert any("%pip install tensorflow" in fix.cell for fix in finding.fixes)


def test_tensorflow_build_info_as_ordered_dict():
    from dllmagic.diagnosis.gpu import parse_build_file
    text = ("import collections\n\nbuild_info = collections.OrderedDict([('cpu_compiler', '/dt9/usr/bin/gcc'), "
            "('cuda_compute_capabilities', ['sm_35', 'sm_50']), ('cuda_version', '11.2'), ('cudnn_version', '8'), "
            "('is_cuda_build', True), ('is_rocm_build', False)])\n")
    build = parse_build_file("tensorflow", text, "build_info.py")
    assert (build.cuda, build.cudnn) == ("11.2", "8")
    old = "build_info = {'cuda_version': '10.1', 'cudnn_version': '7'}\n"
    assert parse_build_file("tensorflow", old, "build_info.py").cuda == "10.1"


# -- Windows texts that name no DLL, ctypes' Python 3.8 wording, a DLL with a known init failure ---------------
def test_dll_load_failed_naming_no_dll_leads_with_the_vc_runtime_said_as_likely_not_checked():
    report = explain("Traceback (most recent call last):\n  File \"C:\\work\\run.py\", line 1, in <module>\n"
                     "    import matid\nImportError: DLL load failed while importing ext: "
                     "The specified module could not be found.")
    top = report.findings[0]
    assert (top.kind, top.cause) == ("missing-shared-library", "vc-runtime-missing")
    assert top.confidence < 0.7 and "Not checked" in top.summary and "does not say which" in top.summary
    assert "Visual C++" in top.fixes[0].title and "Download and install: https://" in top.fixes[0].cell
    assert all(f.kind == "instruction" and not f.argv and not f.runnable for f in top.fixes)


def test_a_named_dll_that_is_not_found_stays_dll_not_found():
    report = explain('OSError: [WinError 126] The specified module could not be found. Error loading '
                     '"C:\\Python312\\Lib\\site-packages\\torch\\lib\\fbgemm.dll" or one of its dependencies.')
    assert report.findings[0].cause == "dll-not-found"


@pytest.mark.parametrize("text, by_name", [
    ("FileNotFoundError: Could not find module 'node.dll'. Try using the full path with constructor syntax.", True),
    ("FileNotFoundError: Could not find module 'C:\\tools\\meta\\MetaSWAP.dll' (or one of its dependencies). "
     "Try using the full path with constructor syntax.", False),
])
def test_ctypes_could_not_find_module_is_the_python_3_8_search_change(text, by_name):
    top = explain(text).findings[0]
    assert (top.kind, top.cause) == ("missing-shared-library", "dll-on-path-not-searched")
    assert ("given by name alone" in top.summary) is by_name
    assert "os.add_dll_directory" in top.fixes[0].cell
    # the names came from a pasted text: comment lines only, nothing runnable
    assert all(f.kind == "instruction" and not f.argv and not f.runnable for f in top.fixes)
    assert all(line.startswith("# ") for f in top.fixes for line in f.cell.splitlines())


def test_c10_dll_init_failure_names_the_vc_runtime_from_the_table_with_its_source():
    report = explain('OSError: [WinError 1114] A dynamic link library (DLL) initialization routine failed. Error '
                     'loading "C:\\venv\\Lib\\site-packages\\torch\\lib\\c10.dll" or one of its dependencies.')
    top = report.findings[0]
    assert (top.kind, top.cause) == ("native-init-failed", "vc-runtime-missing")
    assert any(e.source.startswith("https://github.com/") for e in top.evidence)
    other = explain('OSError: [WinError 1114] A dynamic link library (DLL) initialization routine failed. Error '
                    'loading "C:\\app\\vendor.dll" or one of its dependencies.')
    assert other.findings[0].cause == "dll-init-failed"
