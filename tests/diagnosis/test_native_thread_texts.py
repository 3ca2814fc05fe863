"""Native-loader, GPU, OpenMP and CPU wordings from real thread texts (tests/data/corpus/threads.jsonl,
tuned split), fed to explain: the kind, the facts the text carries and the cause.

Each test names the corpus case whose text it uses; no fix made from a pasted text has a command.
"""
import json
from pathlib import Path

import pytest

from dllmagic.api import explain
from dllmagic.failure import failure_from_text, key_facts
from dllmagic.model import report_to_dict

THREADS = Path(__file__).resolve().parents[1] / "data" / "corpus" / "threads.jsonl"
CASES = {case["id"]: case for case in map(json.loads, THREADS.read_text(encoding="utf-8").splitlines()) if case}


def text(case_id: str) -> str:
    return CASES[case_id]["error"]


def top_of(case_id: str, validate_report):
    report = explain(text(case_id))
    validate_report(report_to_dict(report))
    top = report.top
    assert top.kind == CASES[case_id]["category"]
    assert not any(fix.runnable for fix in top.fixes)
    return report


def assert_case(case_id: str, kind: str, facts: dict, cause, validate_report) -> None:
    """The case's top finding has the kind, the key facts and (when given) the cause expected."""
    report = top_of(case_id, validate_report)
    assert report.top.kind == kind
    got = key_facts(report.failure)
    assert {name: got.get(name) for name in facts} == facts
    if cause:
        assert report.top.cause == cause


@pytest.mark.parametrize("case_id, library, other", [
    ("t490", "libiomp5.dylib", "libomp.dylib"),     # "#15" made a link by the web page: "pytorch/vision#15"
    ("t483", "libiomp5.dylib", "libiomp5.dylib"),   # pasted without "OMP: "
    ("t482", "libomp.dylib", "libiomp5.dylib"),     # cut at the start: "P: Error #15"
])
def test_openmp_error_15_in_every_pasted_shape(case_id, library, other, validate_report):
    report = top_of(case_id, validate_report)
    assert report.top.cause == "duplicate-openmp"
    assert report.failure.library == library
    assert dict(report.failure.details)["other_library"] == other


def test_openmp_hint_alone_names_no_runtime_and_renders_no_empty_name(validate_report):
    report = top_of("t492", validate_report)   # only OpenMP's hint was pasted
    top = report.top
    assert top.cause == "duplicate-openmp"
    assert report.failure.library is None
    assert all(e.value for e in top.evidence)
    assert "does not name" in top.summary


@pytest.mark.parametrize("case_id, loaded, built", [("t573", "7.2.1", "7.0.4"), ("t574", "7.3.1", "7.0.3")])
def test_cudnn_integer_versions_of_tensorflow_1_and_their_direction(case_id, loaded, built, validate_report):
    report = top_of(case_id, validate_report)
    assert report.top.cause == "cuda-mismatch"
    assert report.failure.version == built
    assert dict(report.failure.details)["found_version"] == loaded
    # The loaded cuDNN is newer than the build's: never told to "upgrade" to an older release.
    assert "newer release" in report.top.summary
    assert f"({'.'.join(built.split('.')[:2])}.x)" in report.top.fixes[-1].title


def test_cudnn_older_than_built_keeps_the_upgrade_story():
    text_ = "Loaded runtime CuDNN library: 8.0.5 but source was compiled with: 8.1.0."
    top = explain(text_).top
    assert top.kind == "gpu-runtime" and "older than" in top.summary


def test_torch_capability_warning_names_the_gpu_and_the_built_architectures(validate_report):
    report = top_of("t579", validate_report)
    top = report.top
    assert top.cause == "cuda-mismatch"
    assert "sm_86" in top.summary and "sm_70" in top.summary
    assert dict(report.failure.details)["device"] == "NVIDIA RTX A6000"


def test_executable_stack_line_cut_after_shared_object(validate_report):
    report = top_of("t498", validate_report)
    assert report.top.cause == "executable-stack-refused"
    assert report.failure.module == "_mnncengine"


def test_undefined_symbol_without_a_space_after_the_file_name():
    failure = failure_from_text(text("t195"))
    assert failure.kind == "missing-symbol"
    assert key_facts(failure)["found_path"].endswith("/mmcv/_ext.cpython-37m-x86_64-linux-gnu.so")
    assert failure.symbol == "_ZN3c106Symbol14fromQualStringERKSs"


def test_python2_windowserror_code_is_the_windows_code(validate_report):
    report = top_of("t251", validate_report)   # WindowsError: [Error 193] %1 is not a valid Win32 application
    assert report.top.cause == "wrong-architecture"
    assert dict(report.failure.details)["windows_code"] == "193"


@pytest.mark.parametrize("case_id, signature", [
    ("t271", "cffi-find-library-did-not-locate"),          # cffi < 1.15: find_library() did not manage to locate
    ("t269", "ctypes-find-library-library-not-found"),     # soundfile: "sndfile library not found"
    ("t265", "linux-cannot-open-shared-object"),           # the unversioned development name libsndfile.so
])
def test_a_find_library_name_is_the_system_library_of_that_stem(case_id, signature, validate_report):
    report = top_of(case_id, validate_report)
    assert report.failure.signature == signature
    assert report.top.cause == "missing-system-library"
    assert "libsndfile1" in " ".join(fix.title for fix in report.top.fixes)
    assert "''" not in report.top.summary


def test_library_provider_by_stem_only_when_unambiguous():
    from dllmagic.knowledge import tables

    assert tables.library_provider("sndfile", "linux")["id"] == "libsndfile1"
    assert tables.library_provider("libsndfile.so", "linux")["id"] == "libsndfile1"
    assert tables.library_provider("libsndfile.so", "macos") is None     # a .so is no macOS file
    assert tables.library_provider("libfoo.so.1", "linux") is None        # a versioned name: its version decides


@pytest.mark.parametrize("case_id, module", [
    ("t171", "pycuda._driver"),   # > py -3.8 -c"import pycuda._driver"
    ("t274", "pyzed.sl"),         # docker run … python3 -c "import pyzed.sl"
    ("t141", "win32api"),         # "import win32api" typed at the margin, then the ImportError
    ("t229", "_ctypes"),          # "from _ctypes import …" at the margin, the ImportError indented below
    ("t598", "tensorflow"),       # an indented ">>> import tensorflow" (a quoted block), then the crash
    ("t505", "hnswlib"),          # docker compose's "service-1  | " before every line
    ("t235", "torch._C"),         # torch/lib/libtorch_python.so needs GLIBCXX; the import was torch._C
    ("t237", "torch._C"),
])
def test_the_failing_module_from_the_way_the_text_was_pasted(case_id, module):
    assert failure_from_text(text(case_id)).module == module


def test_a_log_prefix_on_a_minority_of_lines_stays():
    from dllmagic.failure.intake import normalise

    pasted = "a | b\nTraceback (most recent call last):\n  File \"x.py\", line 1\nImportError: c"
    assert normalise(pasted) == pasted


@pytest.mark.parametrize("case_id, formula", [("t187", "openssl"), ("t190", "openssl@1.1")])
def test_a_library_in_a_homebrew_formula_folder_is_that_formula(case_id, formula, validate_report):
    report = top_of(case_id, validate_report)
    top = report.top
    assert top.cause == "missing-system-library"
    assert f"Homebrew's {formula}" in top.summary
    assert not report.failure.details or "`" not in dict(report.failure.details).get("found_path", "")
    assert all(fix.argv is None for fix in top.fixes)   # upgrading the formula may not bring the file back


def test_mac_symbol_not_found_names_the_file_whose_reference_is_unresolved():
    facts = key_facts(failure_from_text(text("t164")))   # dlopen(libstempo.so): referenced from libstdc++
    assert facts["found_path"] == "/usr/local/opt/gcc/lib/gcc/7/libstdc++.6.dylib"
    assert facts["missing_library"] == "libSystem.B.dylib"
    assert facts["failing_module"] == "libstempo.libstempo"


def test_tensorflow_list_of_missing_dlls_is_the_vc_runtime(validate_report):
    report = top_of("t174", validate_report)   # 'msvcp140.dll or msvcp140_1.dll': both missing
    assert report.failure.library == "msvcp140_1.dll"
    assert dict(report.failure.details)["also_missing"] == "msvcp140.dll"
    assert report.top.cause == "vc-runtime-missing"


def test_system_libstdcxx_loaded_for_a_conda_environments_extension(validate_report):
    report = top_of("t236", validate_report)
    top = report.top
    assert top.cause == "older-copy-found-first" and top.confidence < 0.9
    assert "/home/timothee/.conda/envs/tmp1" in top.summary
    assert "LD_LIBRARY_PATH=/home/timothee/.conda/envs/tmp1/lib" in " ".join(c.cell or "" for c in top.fixes)
    # The text does not show the environment's own copy: said, with the other way out (t1271: it was too old).
    assert "Not checked" in top.summary and "older too" in top.summary
    other = top_of("t1271", validate_report).top
    assert other.cause == "older-copy-found-first" and "Not checked" in other.summary
    assert any("libstdcxx-ng" in (c.cell or "") for c in other.fixes)


def test_an_undefined_symbol_from_a_text_names_the_older_copy_found_first_as_unchecked(validate_report):
    # t2022: torch's libcaffe2.so lacks a c10 symbol; the thread found an older libc10.so in /usr/local/lib.
    top = top_of("t2022", validate_report).top
    assert top.cause == "symbol-missing" and top.confidence < 0.9
    assert "Not checked" in top.summary and "LD_LIBRARY_PATH" in top.summary and "/usr/local/lib" in top.summary


def test_an_illegal_instruction_naming_nothing_is_the_cpu_said_without_a_set(validate_report):
    report = top_of("t610", validate_report)   # "illegal instruction (core dumped)" and nothing else
    top = report.top
    assert top.cause == "no-avx" and top.confidence < 0.9
    assert "does not say" in top.summary and "lacks AVX" not in top.summary


#: Wordings the loaders and libraries print, as posted in public threads and READMEs (the texts of each
#: program's own message; no case of the tuned split has them yet): kind, signature and the fact it gives.
WORDINGS = [
    ("Failed to initialize NVML: Driver/library version mismatch",
     "gpu-runtime", "nvml-driver-library-mismatch", {}),
    ("/usr/local/lib/python3.12/dist-packages/torch/cuda/__init__.py:262: UserWarning:\n"
     "    Found GPU1 Tesla V100-PCIE-32GB which is of cuda capability 7.0.\n"
     "    PyTorch no longer supports this GPU because it is too old.\n"
     "    The minimum cuda capability supported by this library is 7.5.\n",
     "gpu-runtime", "torch-gpu-too-old", {}),
    ("Unable to load any of {libcudnn_ops.so.9.1.0, libcudnn_ops.so.9.1, libcudnn_ops.so.9, libcudnn_ops.so}\n"
     "Invalid handle. Cannot load symbol cudnnCreateTensorDescriptor\nAborted (core dumped)",
     "missing-shared-library", "unable-to-load-any-of", {"missing_library": "libcudnn_ops.so.9.1.0"}),
    ("Intel MKL FATAL ERROR: Cannot load libmkl_avx2.so or libmkl_def.so.",
     "missing-shared-library", "mkl-cannot-load", {"missing_library": "libmkl_avx2.so"}),
    ("RuntimeError: This version of jaxlib was built using AVX instructions, which your CPU and/or operating "
     "system do not support. You may be able work around this issue by building jaxlib from source.",
     "unsupported-cpu", "jaxlib-built-with-avx", {}),
    ("ImportError: dlopen(/x/site-packages/foo/_foo.cpython-311-darwin.so, 0x0002): tried: "
     "'/x/site-packages/foo/_foo.cpython-311-darwin.so' (not a mach-o file)",
     "architecture-mismatch", "mac-not-a-mach-o-file", {"failing_module": "foo._foo"}),
    ("ImportError: /tmp/x/_foo.cpython-310-x86_64-linux-gnu.so: failed to map segment from shared object",
     "native-init-failed", "linux-cannot-map-segment", {"failing_module": "_foo"}),
    ("AttributeError: function 'foo_init' not found",
     "missing-symbol", "ctypes-function-not-found", {"missing_symbol": "foo_init"}),
    ("OSError: dlopen() failed to load a library: cairo / cairo-2 / cairo-gobject-2 / cairo.so.2",
     "missing-shared-library", "cairocffi-dlopen-failed", {"missing_library": "cairo"}),
    ("OSError: Could not find lib geos_c or load any of its variants ['libgeos_c.so.1', 'libgeos_c.so'].",
     "missing-shared-library", "could-not-find-lib-or-variants", {"missing_library": "libgeos_c.so.1"}),
    ("OSError: Could not find lib geos_c or load any of its variants.",
     "missing-shared-library", "could-not-find-lib-or-variants", {"missing_library": "geos_c"}),
    ("ImportError: Unable to find zbar shared library",
     "missing-shared-library", "unable-to-find-shared-library", {"missing_library": "zbar"}),
    ("The program can't start because VCRUNTIME140.dll is missing from your computer. Try reinstalling the "
     "program to fix this problem.",
     "missing-shared-library", "win-program-cant-start-dll-missing", {"missing_library": "VCRUNTIME140.dll"}),
    ("RuntimeError: Unexpected error from cudaGetDeviceCount(). Did you run some cuda functions before calling "
     "NumCudaDevices() that might have already set an error? Error 803: system has unsupported display driver / "
     "cuda driver combination",
     "gpu-runtime", "cuda-system-driver-mismatch", {}),
    ("ImportError: failed to find libmagic.  Check your installation",
     "missing-shared-library", "failed-to-find-lib", {"missing_library": "libmagic"}),
    ("OSError: Could not load shared object file: libllvmlite.so",
     "missing-shared-library", "failed-to-find-lib", {"missing_library": "libllvmlite.so"}),
    ("ImportError: no pq wrapper available.\nAttempts made:\n"
     "- couldn't import psycopg 'c' implementation: No module named 'psycopg_c'\n"
     "- couldn't import psycopg 'binary' implementation: No module named 'psycopg_binary'\n"
     "- couldn't import psycopg 'python' implementation: libpq library not found",
     "missing-shared-library", "ctypes-find-library-library-not-found", {"missing_library": "libpq"}),
    ("OSError: /x/lib/libfoo.so: cannot dynamically load position-independent executable",
     "architecture-mismatch", "linux-invalid-elf-header", {"found_path": "/x/lib/libfoo.so"}),
]


@pytest.mark.parametrize("pasted, kind, signature, facts", WORDINGS, ids=[w[2] for w in WORDINGS])
def test_loader_and_library_wordings(pasted, kind, signature, facts, validate_report):
    report = explain(pasted)
    validate_report(report_to_dict(report))
    assert report.failure.signature == signature
    assert report.top.kind == kind
    got = key_facts(report.failure)
    assert {k: got.get(k) for k in facts} == facts
    assert not any(fix.runnable for fix in report.top.fixes)


@pytest.mark.parametrize("pasted", [
    "Your CPU supports instructions that this TensorFlow binary was not compiled to use: AVX2 FMA",
    "ld: library not found for -lssl\nclang: error: linker command failed with exit code 1",
])
def test_informational_and_build_messages_are_no_load_failure(pasted):
    assert failure_from_text(pasted) is None


def test_nvml_mismatch_and_a_gpu_too_old_are_told_as_such():
    assert "without a reboot" in explain(WORDINGS[0][0]).top.summary
    assert "(the oldest is 7.5)" in explain(WORDINGS[1][0]).top.summary


@pytest.mark.parametrize("pasted, package", [
    ("ImportError: failed to find libmagic.  Check your installation", "libmagic1"),
    ("OSError: Could not find lib geos_c or load any of its variants ['libgeos_c.so.1', 'libgeos_c.so'].",
     "libgeos-c1v5"),
    ("OSError: dlopen() failed to load a library: cairo / cairo-2 / cairo-gobject-2 / cairo.so.2", "libcairo2"),
    ("ImportError: Unable to find zbar shared library", "libzbar0"),
])
def test_find_library_names_of_known_system_libraries_name_the_package(pasted, package):
    top = explain(pasted).top
    assert top.cause == "missing-system-library"
    assert package in " ".join(fix.title for fix in top.fixes)


@pytest.mark.parametrize("pasted", [
    # musl's loader (Alpine) on a manylinux wheel: glibc's own dynamic loader is "needed"
    "ImportError: Error loading shared library ld-linux-x86-64.so.2: No such file or directory (needed by "
    "/usr/local/lib/python3.9/site-packages/grpc/_cython/cygrpc.cpython-39-x86_64-linux-gnu.so)",
    "ImportError: libc.so.6: cannot open shared object file: No such file or directory",
])
def test_a_missing_file_of_glibc_is_a_build_for_glibc_on_another_c_library(pasted, validate_report):
    report = explain(pasted)
    validate_report(report_to_dict(report))
    top = report.top
    assert (top.kind, top.cause) == ("missing-shared-library", "wrong-architecture")
    assert "glibc" in top.summary and not any(fix.runnable for fix in top.fixes)


def test_a_linux_library_on_windows_is_said_so(validate_report):
    report = top_of("t250", validate_report)   # ctypes.CDLL(... + '/libED.so') -> [WinError 193]
    assert report.failure.library == "libED.so"
    assert "Windows cannot load at all" in report.top.summary
    assert ("binary", "libED.so", "the traceback's code") in [(e.fact, e.value, e.source) for e in report.top.evidence]


#: Seventh session's texts: corpus id → (kind, the key facts it must give, cause or None for any).
SEVENTH = {
    "t2378": ("missing-symbol", {"failing_module": "onnxruntime.capi.onnxruntime_pybind11_state"},
              "older-copy-found-first"),       # 找不到\n指定的程序。 wrapped by the console
    "t2449": ("missing-shared-library", {"missing_library": "mkl_intel_thread.dll"}, None),   # MKL without its prefix
    "t2451": ("missing-shared-library", {"found_path": "C:\\Users\\User1\\AppData\\Local\\Temp\\_MEI24922\\python27.dll"},
              None),                            # PyInstaller 2's "<error code 14001>"
    "t2458": ("missing-symbol", {"missing_symbol": "AddDllDirectory"}, "symbol-missing"),    # Windows 7 without KB2533623
    "t2459": ("missing-shared-library", {}, None),                     # "LoadLibraryEx failed with code 87"
    "t2591": ("cannot-import-name", {"failing_module": "token_savior.memory.observations"}, "circular-import"),
    "t2603": ("native-init-failed", {"failing_module": "_internal"}, None),   # initialization of X failed without …
    "t2604": ("native-init-failed", {"failing_module": "numba.np.ufunc._internal"}, None),
    "t2701": ("native-init-failed", {"failing_module": "psycopg2._psycopg"}, None),  # … raised unreported exception
    "t2799": ("module-not-found", {"failing_module": "_tkinter"}, "stdlib-module-missing"),  # ‘_tkinter unclosed
    "t2845": ("import-crashed", {}, "crashed-in-import"),        # faulthandler's dump without its first line
    "t2898": ("no-compatible-release", {"failing_module": "av"}, "no-release-for-platform"),  # uv, wrapped
    "t2921": ("no-compatible-release", {"failing_module": "python-nvd3"}, None),  # uv: has no usable wheels
    "t2426": ("missing-shared-library", {"failing_module": "llama_cpp.llama_cpp"}, None),  # ctypes in its own module
    "t2498": ("missing-shared-library", {"failing_module": "llama_cpp.llama_cpp"}, None),  # … below ctypes' frame
    "t2430": ("missing-shared-library", {"missing_library": "llama"}, None),   # not the raise line's '{lib_base_name}'
    "t2362": ("missing-shared-library", {"missing_library": "utility.dll"}, None),  # a user's C:\\Users\\{username}
    "t2483": ("missing-shared-library", {"failing_module": "zmq.backend.cython.error"}, None),  # a later name listed
    "t2691": ("python-abi-mismatch", {"missing_symbol": "Py_InitModule3"}, None),  # "(PATH: undefined symbol: X)"
    "t2939": ("missing-shared-library", {"failing_module": "magic"}, None),   # "Unable to find magic library"
    "t2958": ("module-not-found", {"failing_module": "distutils"}, "removed-from-stdlib"),  # "…Error: module named"
    "t2971": ("python-abi-mismatch", {}, "built-for-other-python"),  # one exception line typed in lower case
    "t3046": ("missing-shared-library", {}, None),                    # "DLL Load failed"
    "t3066": ("import-crashed", {}, None),                            # VS Code's "Kernel is dead"
    "t3100": ("no-compatible-release", {}, "no-release-for-platform"),  # uv: "has no wheels are available with"
    "t3111": ("native-init-failed", {"failing_module": "_openmp_helpers"}, None),  # error 8 in Chinese
    "t3130": ("missing-symbol", {"failing_module": "av._core", "found_path": "/lib64/libavcodec.so.57"}, None),
    "t3138": ("architecture-mismatch", {"found_path": "C:\\Oracle\\product\\11.2.0\\client_1\\bin\\oci.dll"},
              "wrong-architecture"),                                  # DPI-1047 "is not the correct architecture"
    "t3159": ("missing-symbol", {"missing_symbol": "crypto_pwhash_alg_argon2id13"}, None),  # FreeBSD's rtld
    "t3161": ("missing-shared-library", {"failing_module": "libnacl"}, "missing-system-library"),
    "t3181": ("missing-shared-library", {}, None),                    # llvmlite: "Could not find/load shared object"
    "t3234": ("gpu-runtime", {}, None),                               # JAX's PJRT plugin of another release
    "t3246": ("dependency-conflict", {}, None),                       # "Numba needs NumPy 1.22 or less"
    "t3291": ("no-compatible-release", {}, None),                     # uv: a path dependency for another platform
    "t3292": ("no-compatible-release", {}, None),                     # uv: "only has wheels for the following …"
    "t3312": ("no-compatible-release", {}, "no-release-for-platform"),  # uv's wrapped "does not satisfy Python>="
    "t3147": ("missing-shared-library", {"failing_module": "kivy.core.window._window_sdl2"}, None),  # _Class: a class
    "t3202": ("missing-symbol", {"failing_module": "PyQt6.QtCore"}, None),   # QtWidgets imports QtCore
    "t3370": ("missing-shared-library", {"missing_library": "libc2pa_c.dylib"}, None),  # "Could not find X in any …"
    "t3373": ("python-abi-mismatch", {"missing_symbol": "__PySlice_AdjustIndices"}, None),  # Markdown hard breaks
    "t3435": ("missing-symbol", {"missing_symbol": "log"}, None),     # Android: cannot locate symbol "log"
    "t3436": ("missing-symbol", {"failing_module": "brotli._brotli", "missing_symbol": "log2"}, None),
    "t3441": ("missing-shared-library", {"missing_library": "libcuda.so"}, None),   # "Failed to dlopen libcuda.so"
    "t3492": ("import-crashed", {"failing_module": "tensorflow"}, None),  # qemu: uncaught target signal 6 (Aborted)
    "t3526": ("no-compatible-release", {}, None),                     # uv: no version of X{marker}==V, X depends on
    "t3649": ("resolution-conflict", {}, None),                       # poetry -vvv: "1: conflict: …"
    "t3696": ("missing-symbol", {"failing_module": "lxml.etree"}, "older-copy-found-first"),   # 127 in Dutch
    "t3699": ("native-init-failed", {}, None),          # "Error Loading Python DLL, a dynamic link library … failed."
    "t3736": ("missing-shared-library", {"missing_library": "libgraphbolt_pytorch_2.3.0.so"}, None),  # "Cannot find"
    "t3750": ("dependency-conflict", {}, None),                       # torchvision's custom C++ ops
    "t3754": ("missing-shared-library", {"missing_library": "libcuda.so"}, None),   # triton: "cannot found!"
    "t3790": ("dependency-conflict", {"required_version": "0.3.14"}, "version-pin-conflict"),  # jaxlib version is …
    "t3793": ("missing-shared-library", {"missing_library": "libcudnn.so"}, None),  # TF 0.x's dso_loader
    "t3822": ("cannot-import-name", {"failing_module": "numpy"}, "shadowed-by-local-file"),  # … circular import)
    "t3833": ("cannot-import-name", {"failing_module": "itsdangerous"}, None),   # "from itsdangerous" unquoted
    "t2792": ("cannot-import-name", {"found_path": "/opt/anaconda3/envs/bertopic/lib/python3.7/site-packages/"
                                                   "langchain/agents/__init__.py"}, None),   # VS Code's Markdown links
}


@pytest.mark.parametrize("case_id", sorted(SEVENTH))
def test_seventh_session_wordings(case_id, validate_report):
    assert_case(case_id, *SEVENTH[case_id], validate_report)


#: The eighth session's recognition (tuned split): an extension outside any site folder named from the deepest folder
#: of a package known to ship extension modules (knowledge/extension_packages.json) or from AWS Lambda's roots; the
#: providers of more system libraries (knowledge/library_providers.json); a kernel's Python without ipykernel.
EIGHTH = {
    "t3205": ("symbol-version", {"failing_module": "cryptography.hazmat.bindings._rust"}, "symbol-version-too-old"),
    "t3364": ("architecture-mismatch", {"failing_module": "psycopg2._psycopg"}, "wrong-architecture"),
    "t3426": ("architecture-mismatch", {"failing_module": "Crypto.Cipher._AES"}, None),   # /var/task
    "t3745": ("missing-symbol", {"failing_module": "vllm._C"}, None),   # a checkout: …/vllm/vllm/vllm/_C.abi3.so
    "t3152": ("missing-shared-library", {"missing_library": "libSDL2_ttf-2.0.so.0"}, "missing-system-library"),
    "t3458": ("missing-shared-library", {"missing_library": "libcblas.so.3"}, "missing-system-library"),
    "t771": ("missing-shared-library", {"missing_library": "libintl.8.dylib"}, "missing-system-library"),
    "t3306": ("module-not-found", {"failing_module": "ipykernel_launcher"}, "wrong-kernel"),
    "t2287": ("missing-shared-library", {"failing_module": "numpy"}, None),   # NumPy's "C-extensions failed"
    "t1642": ("missing-shared-library", {"failing_module": "numpy"}, None),   # pandas' "required dependencies"
    "t1145": ("missing-shared-library", {"failing_module": "win32api"}, None),   # pytest's "x.py:17: in " (no <module>)
    "t3097": ("python-abi-mismatch", {"missing_symbol": "PyFPE_jbuf"}, "built-for-other-python"),  # no colon
    "t1831": ("missing-shared-library", {"failing_module": "_ctypes", "missing_library": "libffi.6.dylib"},
              None),   # dyld's "Reason: tried:" without its "Library not loaded" line
    "t2900": ("no-compatible-release", {}, None),   # libmamba: "pyhton =3.10 * does not exist (perhaps a typo …)"
    "t3751": ("dependency-conflict", {}, "version-pin-conflict"),   # "operator torchvision::nms does not exist"
    "t3750": ("dependency-conflict", {}, "version-pin-conflict"),   # torchvision's "Couldn't load custom C++ ops"
    "t3385": ("missing-symbol", {"failing_module": "_ssl", "missing_symbol": "_SSL_get_peer_certificate"},
              "symbol-missing"),   # a 270-wide terminal; the path on the message's own line
}


@pytest.mark.parametrize("case_id", sorted(EIGHTH))
def test_eighth_session_wordings(case_id, validate_report):
    assert_case(case_id, *EIGHTH[case_id], validate_report)


#: The ninth corpus round's tuned cases (wordings of Windows drivers and loaders, JAX's version checks).
NINTH = {
    "t3882": ("missing-shared-library", {"missing_library": "geos_c.dll"}, None),   # ctypes' words cut after the name
    "t3888": ("missing-shared-library", {}, None),             # cx_Oracle 6: "DPI-1047: 32 bit … cannot be loaded"
    "t3890": ("missing-symbol", {"missing_symbol": "OCIClientVersion"}, "symbol-missing"),   # DPI-1049
    "t3915": ("missing-shared-library", {"missing_library": "libmpg123-0.dll"}, None),      # SDL's "Failed loading"
    "t3928": ("module-not-found", {"failing_module": "Crypto.Cipher._raw_ecb"}, "broken-install"),   # PyCryptodome
    "t3933": ("missing-symbol", {"missing_symbol": "iconv"}, None),        # the dialog's path on a line of its own
    "t3937": ("missing-shared-library", {}, None),             # PyInstaller: Error loading python DLL "…"
    "t3948": ("architecture-mismatch", {"missing_library": "libzmq.pyd"}, "wrong-architecture"),  # PyPy: Windows Error 193
    "t4045": ("dependency-conflict", {}, None),                # jaxlib newer than and incompatible with jax
    "t4047": ("dependency-conflict", {"required_version": "0.3.7"}, "version-pin-conflict"),  # "is version …, requires >="
    "t3898": ("missing-shared-library", {"failing_module": "ortools.constraint_solver._pywrapcp"}, None),  # Blender modules
    "t3901": ("missing-shared-library", {"failing_module": "pxr.UsdGeom._usdGeom"}, None),
    "t3925": ("native-init-failed", {"failing_module": "redeal.dds"}, None),   # "from . import dds, util"; dds.py: DLL(…)
    "t3934": ("missing-shared-library", {"failing_module": "openslide.lowlevel"}, None),  # lowlevel.py: LoadLibrary
}

#: The tenth corpus round's tuned cases (GPU stacks, OpenMP).
NINTH.update({
    "t4192": ("gpu-runtime", {}, "cuda-mismatch"),             # TensorFlow / XLA: "DNN library is not found."
    "t4191": ("missing-shared-library", {}, "cuda-library-missing"),  # Paddle: "Cannot load cudnn shared library."
    "t4206": ("gpu-runtime", {}, "cuda-mismatch"),             # jax-metal: "Mismatched PJRT plugin PJRT API version"
    "t4214": ("dependency-conflict", {}, "version-pin-conflict"),   # torch and torchvision of different CUDA builds
    "t4246": ("openmp-conflict", {}, None),                    # lldb's image list: two libomp.dylib in one process
    # A checkout's module that loads its library with ctypes (the wrapper's line above the traceback matched).
    "t4122": ("missing-shared-library", {"failing_module": "bitsandbytes.cextension"}, None),
    # llama-cpp-python's "Failed to load shared library 'PATH': libcuda.so.1: cannot open …": the path is what it was
    # loading, the bare name what is missing.
    "t4137": ("missing-shared-library", {"failing_module": "llama_cpp.llama_cpp", "missing_library": "libcuda.so.1",
                                         "found_path": "/home/worker/app/.venv/lib/python3.11/site-packages/llama_cpp/"
                                                       "libllama.so"}, None),
    "t4168": ("missing-shared-library", {"failing_module": "llama_cpp.llama_cpp"}, None),
    # Round 11 (tuned): packages' own words for a system library they could not load, Cython's cimport check,
    # uv's and Poetry's Pythons.
    "t4365": ("missing-shared-library", {}, "missing-system-library"),    # python-magic: "Failed to find libmagic"
    "t4378": ("missing-shared-library", {}, "missing-system-library"),    # PyUSB: "No backend available"
    "t4401": ("missing-symbol", {"failing_module": "pyproj._network", "missing_symbol": "PJ_CATEGORY_DATUM_ENSEMBLE"},
              None),                                                     # "… does not export expected C variable"
    "t4404": ("missing-shared-library", {"missing_library": "libjli.dylib"}, None),   # JPype: "JVM DLL not found"
    "t4485": ("no-compatible-release", {}, None),    # uv: "No download found for request: cpython-…-musl"
    "t4486": ("no-compatible-release", {}, None),    # uv: "does not yet provide musl Python distributions"
    "t4501": ("no-compatible-release", {}, None),    # Poetry: "… is not supported by the project (…)"
    # Round 12 (tuned): code using a module of another release; a pickle of another release.
    "t4676": ("dependency-conflict", {}, "version-pin-conflict"),   # AttributeError: module 'x' has no attribute 'y'
    "t4702": ("dependency-conflict", {}, "version-pin-conflict"),   # Can't get attribute '_RemainderColsList' on …
    "t4686": ("dependency-conflict", {}, "version-pin-conflict"),   # "Numba needs NumPy 1.20 or less": numpy<1.21
    # Round 13 (tuned): Lambda's wrapper of an ImportError, localised crash texts, pywin32's error tuple, a
    # package's own "Couldn't locate X dylib", pip's conflict list without its header, an extension file of the
    # wrong architecture (no library), "from X import *" typed above the error, a sentence's full stop after a
    # symbol.
    "t4764": ("cannot-import-name", {"failing_module": "lxml", "found_path": "/var/task/lib/lxml/__init__.py"},
              "name-not-in-installed-version"),      # a package deployed in /var/task is installed, no shadow
    "t4766": ("cannot-import-name", {"failing_module": "werkzeug.urls"}, None),
    "t4913": ("import-crashed", {}, None),                # "段错误 (核心已转储)"
    "t4900": ("missing-shared-library", {}, None),        # pywintypes.error: (126, 'LoadLibraryEx', …)
    "t4849": ("missing-shared-library", {}, None),        # "Couldn't locate OpenSlide dylib"
    "t4798": ("resolution-conflict", {}, None),           # "The conflict is caused by:" first
    "t4878": ("missing-shared-library", {"missing_library": "libtorch_cuda_cu.so"}, None),   # "….so:cannot open"
    "t4801": ("architecture-mismatch", {"failing_module": "grpc._cython.cygrpc", "missing_library": None}, None),
    "t4845": ("missing-shared-library", {"failing_module": "pysam.libchtslib"}, None),
    "t4774": ("python-abi-mismatch", {"missing_symbol": "PyInterpreterState_Get"}, None),
    # Round 14 (tuned): uv's first line wrapped in its box, the Windows dialog's other wordings, NumPy's alias text
    # alone, setuptools' "is installed but … is required by", importlib_metadata 5's EntryPoints, protobuf's older
    # and second-paragraph wordings, another package's library loaded by the import that failed.
    "t5037": ("missing-symbol", {"missing_symbol": "OSSL_STACK_OF_X509_free"}, None),   # "… was not found in the …"
    "t5039": ("missing-symbol", {"missing_symbol": "CRYPTO_atomic_read"}, None),       # "The procedure X could not …"
    "t5081": ("dependency-conflict", {}, "numpy-alias-removed"),
    "t5069": ("dependency-conflict", {}, "version-pin-conflict"),
    "t5097": ("dependency-conflict", {}, "version-pin-conflict"),     # Python 3.7's paths: the backport's EntryPoints
    "t5101": ("dependency-conflict", {}, "version-pin-conflict"),     # importlib_metadata.entry_points().get(…)
    "t5106": ("dependency-conflict", {}, "protobuf-too-new"),
    "t5108": ("dependency-conflict", {}, None),
    "t5012": ("missing-symbol", {"failing_module": "torch._C"}, None),
    # Round 15 (tuned): a CUDA device asked of a build without CUDA, HIP's "invalid device function", ensurepip split
    # out by Debian (venv's message too), a package's module run as a script.
    "t5205": ("gpu-runtime", {}, None),
    "t5217": ("gpu-runtime", {}, None),
    "t5268": ("module-not-found", {"failing_module": "ensurepip"}, "stdlib-module-missing"),
    "t5270": ("module-not-found", {"failing_module": "ensurepip"}, "stdlib-module-missing"),
    "t5252": ("module-not-found", {}, "relative-import-in-script"),
    "t5171": ("unsupported-cpu", {}, "no-avx"),              # exits "with code `-1073741795` (`0xC000001D`, …)"
    "t5178": ("import-crashed", {"failing_module": "symengine"}, None),   # macOS: "Killed: 9"
    # Round 16 (tuned): a version check wrapped across lines, Windows Error Reporting's problem signature, a
    # "from X import (" typed above the error, a package known to ship extensions outside any site folder.
    "t5321": ("dependency-conflict", {"required_version": "0.9.1"}, "version-pin-conflict"),
    "t5450": ("unsupported-cpu", {}, "no-avx"),               # "Exception Code: c000001d"
    "t5433": ("missing-shared-library", {"failing_module": "matplotlib._path"}, None),
    "t5390": ("missing-symbol", {"failing_module": "casacore.fitting._fitting"}, None),
})

@pytest.mark.parametrize("case_id", sorted(NINTH))
def test_ninth_round_wordings(case_id, validate_report):
    assert_case(case_id, *NINTH[case_id], validate_report)


def test_a_package_whose_native_files_are_missing_is_installed():
    # PyCryptodome's own loader ran (so the package is there) and found none of its file names: a damaged install
    # or a frozen application that did not collect them, never "not installed".
    text = ("OSError: Cannot load native module 'Crypto.Cipher._raw_ecb': Not found "
            "'_raw_ecb.cp310-win_amd64.pyd', Not found '_raw_ecb.pyd'")
    top = explain(text).top
    assert top.cause == "broken-install" and "--force-reinstall" in top.fixes[0].cell
    frozen = explain('  File "PyInstaller\\loader\\pyimod02_importers.py", line 352, in exec_module\n' + text)
    assert frozen.top.cause == "broken-install" and not any(f.runnable for f in frozen.top.fixes)
    assert "collect" in frozen.top.fixes[0].title

def test_a_kernels_python_without_ipykernel(validate_report):
    # `python -m ipykernel_launcher` is what kernel.json runs: the kernel points at a Python without ipykernel. The
    # module is ipykernel's (it was "provided by the distribution ipykernel_launcher"), and the path is only named.
    report = explain("/opt/py/bin/python3: No module named ipykernel_launcher")
    validate_report(report_to_dict(report))
    assert report.top.cause == "wrong-kernel"
    assert "/opt/py/bin/python3" in report.top.summary
    assert all(fix.kind == "instruction" for fix in report.top.fixes)
    plain = explain("ModuleNotFoundError: No module named 'ipykernel_launcher'")
    assert plain.top.cause == "not-installed" and "ipykernel_launcher" not in plain.top.fixes[0].title
    # `python -m ipykernel install` in a terminal is no kernel's start.
    assert explain("/usr/bin/python3: No module named ipykernel").top.cause != "wrong-kernel"

def test_a_name_no_channel_has(validate_report):
    # libmamba says the name exists in no channel: a typo, not this Python or platform; a close known name is
    # named, never installed.
    report = explain("error    libmamba Could not solve for environment specs\n"
                     "    The following package could not be installed\n"
                     "    └─ pyhton =3.10 * does not exist (perhaps a typo or a missing channel).\n")
    validate_report(report_to_dict(report))
    assert report.top.kind == "no-compatible-release"
    assert "No channel searched has a package named 'pyhton'" in report.top.summary
    assert "did you mean 'python'" in report.top.summary
    assert not any(fix.runnable for fix in report.top.fixes)
    odd = explain("The following package could not be installed\n"
                  "  └─ zzqqxx-toolkit * does not exist (perhaps a typo or a missing channel).")
    assert "did you mean" not in odd.top.summary


def test_a_private_modules_name_is_no_distributions(validate_report):
    # "_imaging" alone: no distribution is assumed from it ("-imaging" was shown before), and none reinstalled.
    report = explain('Traceback (most recent call last):\n  File "/srv/app.py", line 1, in <module>\n'
                     '    import _imaging\nImportError: libfoobar.so.3: cannot open shared object file: '
                     'No such file or directory')
    validate_report(report_to_dict(report))
    owners = [e for e in report.top.evidence if e.fact == "the extension belongs to"]
    assert [(e.value, e.source) for e in owners] == [("_imaging", "no distribution known for this name")]
    assert not any("imaging" in fix.cell and "install" in fix.cell for fix in report.top.fixes)


def test_entry_points_get_is_pinned_only_where_the_backport_is_what_failed(validate_report):
    # importlib_metadata 5 dropped EntryPoints.get; Python 3.12's own importlib.metadata did too, where no pin of the
    # backport can help: there no "importlib-metadata<5" is offered.
    frames = ('Traceback (most recent call last):\n  File "/srv/venv/lib/python{v}/site-packages/gym/envs/registration.py",'
              ' line 250, in load_env_plugins\n    for plugin in metadata.entry_points().get(entry_point, []):\n'
              "AttributeError: 'EntryPoints' object has no attribute 'get'\n")
    old = explain(frames.format(v="3.9"))
    validate_report(report_to_dict(old))
    assert old.top.kind == "dependency-conflict" and old.top.cause == "version-pin-conflict"
    assert any("importlib-metadata<5" in fix.cell for fix in old.top.fixes)
    new = explain(frames.format(v="3.12"))
    validate_report(report_to_dict(new))
    assert new.top.kind == "dependency-conflict"
    assert not any("importlib-metadata" in fix.cell for fix in new.top.fixes)


def test_uvs_first_line_wrapped_inside_its_box_is_read():
    text = ("  × No solution found when resolving\n  │ dependencies:\n  ╰─▶ Because only fastled<=1.2.10 is\n"
            "      available and ci==0.1.0 depends on\n      fastled>=1.2.11, we can conclude that\n")
    assert explain(text).failure.signature == "uv-no-solution"


def test_gpu_findings_say_what_the_message_says(validate_report):
    # A build without CUDA and a ROCm build without code for the GPU are no "versions disagree" story.
    cpu = explain("AssertionError: Torch not compiled with CUDA enabled")
    validate_report(report_to_dict(cpu))
    assert "build without CUDA" in cpu.top.summary and "do not agree" not in cpu.top.summary
    hip = explain("RuntimeError: HIP error: invalid device function")
    assert "no GPU code for this GPU's architecture" in hip.top.summary


def test_the_modules_name_given_to_pip_names_its_distribution(validate_report):
    text = ("ERROR: Could not find a version that satisfies the requirement {0} (from versions: none)\n"
            "ERROR: No matching distribution found for {0}\n")
    report = explain(text.format("dateutil"))
    validate_report(report_to_dict(report))
    assert report.top.cause == "import-name-not-distribution"
    assert [fix.cell for fix in report.top.fixes] == ["%pip install python-dateutil"]
    assert "this Python, operating system and architecture" not in report.top.summary
    # A distribution's own name with no release here stays a platform question.
    assert explain(text.format("tensorflow")).top.cause == "no-release-for-platform"


def test_ensurepip_outside_debian_is_not_said_to_be_debians(validate_report):
    report = explain("C:\\Python311\\python.exe: No module named ensurepip")
    validate_report(report_to_dict(report))
    assert report.top.cause == "stdlib-module-missing"
    assert "ship it as a package of its own" not in report.top.summary
    assert "provided by the distribution ensurepip" not in report.top.summary
