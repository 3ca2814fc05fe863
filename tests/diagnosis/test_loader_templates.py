"""Every loader message template, filled in realistically, gives the right kind and facts.

These texts are constructed from the message templates of the programs that print them (not copied from
reports): glibc's ld.so (elf/dl-load.c, dl-lookup.c, dl-version.c), musl's ldso/dynlink.c, Apple's dyld 2,
3 and 4, CPython's Windows loader (Python/dynload_win.c) and ctypes, the Windows loader's dialogs and
system error texts, cffi, and the CUDA/cuDNN/PyTorch/TensorFlow/JAX loaders. Each template is filled with
names of the forms met in practice: bare sonames, absolute paths, paths with spaces, Windows paths,
versioned names, C++ and macOS-underscored symbols.
"""
from __future__ import annotations

import pytest

from dllmagic.api import explain
from dllmagic.failure import failure_from_text, key_facts

SITE = "/home/ana/venv/lib/python3.11/site-packages"
EXT = f"{SITE}/pkg/_core.cpython-311-x86_64-linux-gnu.so"
MAC_SITE = "/Users/ana/env/lib/python3.11/site-packages"
MAC_EXT = f"{MAC_SITE}/pkg/_core.cpython-311-darwin.so"
WIN_SITE = r"C:\Users\Ana Lopez\venv\Lib\site-packages"

#: (template id, text, kind, facts that must be exactly these; None: must be absent)
CASES = [
    # ---- glibc ld.so: "%s: cannot open shared object file: %s" (dlopen, and "error while loading
    # shared libraries: " for a program)
    ("glibc-open-soname",
     "ImportError: libGL.so.1: cannot open shared object file: No such file or directory",
     "missing-shared-library", {"missing_library": "libGL.so.1"}),
    ("glibc-open-dependency-of-extension",
     "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n    import pkg._core\n"
     "ImportError: libgfortran.so.5: cannot open shared object file: No such file or directory",
     "missing-shared-library", {"missing_library": "libgfortran.so.5", "failing_module": "pkg._core"}),
    ("glibc-open-program",
     "python3.11: error while loading shared libraries: libpython3.11.so.1.0: cannot open shared object file: "
     "No such file or directory",
     "missing-shared-library", {"missing_library": "libpython3.11.so.1.0"}),
    ("glibc-open-path",
     f"OSError: {SITE}/pkg/libs/libfoo-3a1b2c.so.2: cannot open shared object file: No such file or directory",
     "missing-shared-library", {"missing_library": "libfoo-3a1b2c.so.2",
                                "found_path": f"{SITE}/pkg/libs/libfoo-3a1b2c.so.2"}),
    # ---- glibc dl-lookup.c: "undefined symbol: %s" and "undefined symbol: %s, version %s"
    ("glibc-undefined-symbol",
     f"ImportError: {EXT}: undefined symbol: _ZN3c1010Error4whatEv",
     "missing-symbol", {"missing_symbol": "_ZN3c1010Error4whatEv", "found_path": EXT, "failing_module": "pkg._core"}),
    ("glibc-undefined-symbol-versioned",
     "ImportError: /usr/lib/x86_64-linux-gnu/libQt5Core.so.5: undefined symbol: _ZdlPvm, version Qt_5",
     "missing-symbol", {"missing_symbol": "_ZdlPvm", "required_version": "Qt_5",
                        "found_path": "/usr/lib/x86_64-linux-gnu/libQt5Core.so.5"}),
    ("glibc-symbol-lookup-error-program",
     "python3: symbol lookup error: /usr/lib/x86_64-linux-gnu/libfoo.so.2: undefined symbol: foo_init",
     "missing-symbol", {"missing_symbol": "foo_init", "found_path": "/usr/lib/x86_64-linux-gnu/libfoo.so.2"}),
    ("glibc-undefined-python-c-api",
     f"ImportError: {EXT}: undefined symbol: PyUnicode_AsUTF8AndSize",
     "python-abi-mismatch", {"missing_symbol": "PyUnicode_AsUTF8AndSize", "failing_module": "pkg._core"}),
    # ---- glibc dl-version.c: "version `%s' not found (required by %s)" (newer releases quote '%s')
    ("glibc-version-backtick",
     f"ImportError: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by {EXT})",
     "symbol-version", {"required_version": "GLIBC_2.34", "missing_library": "libc.so.6",
                        "found_path": "/lib/x86_64-linux-gnu/libc.so.6", "failing_module": "pkg._core"}),
    ("glibc-version-quotes",
     f"ImportError: /usr/lib/x86_64-linux-gnu/libstdc++.so.6: version 'GLIBCXX_3.4.32' not found "
     f"(required by {EXT})",
     "symbol-version", {"required_version": "GLIBCXX_3.4.32", "missing_library": "libstdc++.so.6",
                        "found_path": "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "failing_module": "pkg._core"}),
    ("glibc-version-without-required-by",
     "OSError: /lib64/libm.so.6: version `GLIBC_2.29' not found",
     "symbol-version", {"required_version": "GLIBC_2.29", "missing_library": "libm.so.6"}),
    # ---- glibc dl-lookup.c: "symbol %s version %s not defined in file %s with link time reference"
    ("glibc-not-defined-with-link-time-reference",
     f"ImportError: {EXT}: symbol memcpy version GLIBC_2.14 not defined in file libc.so.6 with link time reference",
     # the corpus's key fact is the version the loader did not find (the public sample's convention); the
     # symbol's name stays in the report (Failure.symbol)
     "symbol-version", {"missing_symbol": "GLIBC_2.14", "required_version": "GLIBC_2.14",
                        "missing_library": "libc.so.6", "failing_module": "pkg._core"}),
    ("glibc-not-defined-old-comma",
     "python: relocation error: /opt/lib/libfoo.so: symbol __cxa_thread_atexit_impl, version GLIBC_2.18 not "
     "defined in file libc.so.6 with link time reference",
     "symbol-version", {"missing_symbol": "GLIBC_2.18", "required_version": "GLIBC_2.18",
                        "missing_library": "libc.so.6"}),
    # ---- glibc dl-load.c: the ELF checks of open_verify
    ("glibc-wrong-elf-class",
     f"ImportError: {EXT}: wrong ELF class: ELFCLASS32",
     "architecture-mismatch", {"found_path": EXT, "failing_module": "pkg._core"}),
    *[(f"glibc-elf-{n}", f"OSError: /opt/vendor/lib/libvendor.so: {problem}", "architecture-mismatch",
       {"found_path": "/opt/vendor/lib/libvendor.so", "missing_library": "libvendor.so"})
      for n, problem in enumerate(["invalid ELF header", "ELF file OS ABI invalid",
                                   "ELF file ABI version invalid",
                                   "ELF file version ident does not match current one",
                                   "nonzero padding in e_ident", "ELF file data encoding not little-endian",
                                   "only ET_DYN and ET_EXEC can be loaded",
                                   "cannot dynamically load position-independent executable"])],
    ("glibc-file-too-short",
     "ImportError: /usr/lib/x86_64-linux-gnu/libcuda.so.1: file too short",
     "missing-shared-library", {"found_path": "/usr/lib/x86_64-linux-gnu/libcuda.so.1", "missing_library": "libcuda.so.1"}),
    ("glibc-executable-stack",
     "OSError: /opt/fmod/lib/x86_64/libfmod.so.13: cannot enable executable stack as shared object requires: "
     "Invalid argument",
     "native-init-failed", {"found_path": "/opt/fmod/lib/x86_64/libfmod.so.13", "missing_library": "libfmod.so.13"}),
    ("glibc-static-tls",
     "ImportError: /usr/lib/aarch64-linux-gnu/libgomp.so.1: cannot allocate memory in static TLS block",
     "native-init-failed", {"found_path": "/usr/lib/aarch64-linux-gnu/libgomp.so.1", "missing_library": "libgomp.so.1"}),
    ("glibc-map-segment",
     f"ImportError: {EXT}: failed to map segment from shared object",
     "native-init-failed", {"found_path": EXT}),
    # ---- musl ldso/dynlink.c
    ("musl-loading-needed-by",
     "ImportError: Error loading shared library libstdc++.so.6: No such file or directory (needed by "
     "/usr/local/lib/python3.12/site-packages/pkg/_core.cpython-312-x86_64-linux-musl.so)",
     "missing-shared-library", {"missing_library": "libstdc++.so.6", "failing_module": "pkg._core"}),
    ("musl-loading-dlopen",
     "OSError: Error loading shared library libgomp.so.1: No such file or directory",
     "missing-shared-library", {"missing_library": "libgomp.so.1"}),
    ("musl-exec-format",
     "ImportError: Error loading shared library /usr/local/lib/python3.12/site-packages/pkg/_core.so: "
     "Exec format error",
     "architecture-mismatch", {"found_path": "/usr/local/lib/python3.12/site-packages/pkg/_core.so",
                               "failing_module": "pkg._core"}),
    ("musl-relocating",
     "ImportError: Error relocating /usr/local/lib/python3.12/site-packages/pkg/_core.so: __memcpy_chk: "
     "symbol not found",
     "missing-symbol", {"missing_symbol": "__memcpy_chk", "failing_module": "pkg._core"}),
    # ---- dyld 2 (macOS 10.x, 11): "dlopen(%s, %d): Library not loaded: %s\n  Referenced from: %s\n  Reason: ..."
    ("dyld2-library-not-loaded",
     f"ImportError: dlopen({MAC_SITE}/pkg/_core.so, 2): Library not loaded: /usr/local/opt/libpng/lib/libpng16.16.dylib\n"
     f"  Referenced from: {MAC_SITE}/pkg/_core.so\n  Reason: image not found",
     "missing-shared-library", {"missing_library": "libpng16.16.dylib", "failing_module": "pkg._core",
                                "found_path": "/usr/local/opt/libpng/lib/libpng16.16.dylib"}),
    ("dyld2-symbol-not-found",
     f"ImportError: dlopen({MAC_SITE}/pkg/_core.so, 2): Symbol not found: _iconv\n"
     f"  Referenced from: /usr/local/lib/libarchive.13.dylib\n  Expected in: /usr/lib/libiconv.2.dylib\n"
     f" in /usr/local/lib/libarchive.13.dylib",
     "missing-symbol", {"missing_symbol": "_iconv", "missing_library": "libiconv.2.dylib",
                        "found_path": "/usr/local/lib/libarchive.13.dylib"}),
    ("dyld2-wrong-architecture",
     f"ImportError: dlopen({MAC_SITE}/pkg/_core.so, 2): no suitable image found.  Did find:\n"
     f"\t{MAC_SITE}/pkg/_core.so: mach-o, but wrong architecture",
     "architecture-mismatch", {"found_path": f"{MAC_SITE}/pkg/_core.so", "failing_module": "pkg._core"}),
    ("dyld2-unknown-file-type",
     f"ImportError: dlopen({MAC_SITE}/pkg/_core.so, 2): no suitable image found.  Did find:\n"
     f"\t{MAC_SITE}/pkg/_core.so: unknown file type, first eight bytes: 0x7F 0x45 0x4C 0x46 0x02 0x01 0x01 0x00",
     "architecture-mismatch", {"found_path": f"{MAC_SITE}/pkg/_core.so", "failing_module": "pkg._core"}),
    ("dyld2-image-not-found-ctypes",
     "OSError: dlopen(libusb-1.0.dylib, 6): image not found",
     "missing-shared-library", {"missing_library": "libusb-1.0.dylib"}),
    ("dyld2-incompatible-library-version",
     f"ImportError: dlopen({MAC_SITE}/pkg/_core.so, 2): Library not loaded: /usr/local/opt/zlib/lib/libz.1.dylib\n"
     f"  Referenced from: {MAC_SITE}/pkg/_core.so\n"
     f"  Reason: Incompatible library version: _core.so requires version 1.2.12 or later, but libz.1.dylib "
     f"provides version 1.2.11",
     "symbol-version", {"required_version": "1.2.12", "missing_library": "libz.1.dylib"}),
    # ---- dyld 3/4 (macOS 12+): "Referenced from: <UUID> path", "Reason: tried: 'p' (why), ..."
    ("dyld4-library-not-loaded-rpath",
     f"ImportError: dlopen({MAC_EXT}, 0x0002): Library not loaded: @rpath/libomp.dylib\n"
     f"  Referenced from: <8F3E0C4B-1A2B-3C4D-5E6F-7A8B9C0D1E2F> {MAC_EXT}\n"
     f"  Reason: tried: '/Users/ana/env/lib/libomp.dylib' (no such file), '/usr/local/lib/libomp.dylib' "
     f"(no such file), '/usr/lib/libomp.dylib' (no such file, not in dyld cache)",
     "missing-shared-library", {"missing_library": "libomp.dylib", "failing_module": "pkg._core"}),
    ("dyld4-dlopen-tried",
     "OSError: dlopen(libsndfile.dylib, 0x0006): tried: 'libsndfile.dylib' (no such file), "
     "'/System/Volumes/Preboot/Cryptexes/OSlibsndfile.dylib' (no such file), '/usr/lib/libsndfile.dylib' "
     "(no such file, not in dyld cache), 'libsndfile.dylib' (no such file)",
     "missing-shared-library", {"missing_library": "libsndfile.dylib"}),
    ("dyld4-incompatible-architecture",
     f"ImportError: dlopen({MAC_EXT}, 0x0002): tried: '{MAC_EXT}' (mach-o file, but is an incompatible "
     f"architecture (have 'x86_64', need 'arm64e' or 'arm64')), '/System/Volumes/Preboot/Cryptexes/OS{MAC_EXT}' "
     f"(no such file)",
     "architecture-mismatch", {"found_path": MAC_EXT, "failing_module": "pkg._core"}),
    ("dyld4-dependency-incompatible-architecture",
     f"ImportError: dlopen({MAC_EXT}, 0x0002): Library not loaded: /opt/homebrew/opt/libpng/lib/libpng16.16.dylib\n"
     f"  Referenced from: <8F3E0C4B-1A2B-3C4D-5E6F-7A8B9C0D1E2F> {MAC_EXT}\n"
     f"  Reason: tried: '/opt/homebrew/opt/libpng/lib/libpng16.16.dylib' (mach-o file, but is an incompatible "
     f"architecture (have 'x86_64', need 'arm64'))",
     "architecture-mismatch", {"missing_library": "libpng16.16.dylib",
                               "found_path": "/opt/homebrew/opt/libpng/lib/libpng16.16.dylib"}),
    ("dyld4-not-a-mach-o-file",
     f"ImportError: dlopen({MAC_EXT}, 0x0002): tried: '{MAC_EXT}' (not a mach-o file)",
     "architecture-mismatch", {"found_path": MAC_EXT, "failing_module": "pkg._core"}),
    ("dyld4-flat-namespace-quoted",
     f"ImportError: dlopen({MAC_EXT}, 0x0002): symbol not found in flat namespace '_cblas_sgemm'",
     "missing-symbol", {"missing_symbol": "_cblas_sgemm", "found_path": MAC_EXT, "failing_module": "pkg._core"}),
    ("dyld4-flat-namespace-parenthesised-c-api",
     f"ImportError: dlopen({MAC_EXT}, 0x0002): symbol not found in flat namespace (_PyCMethod_New)",
     "python-abi-mismatch", {"missing_symbol": "_PyCMethod_New", "failing_module": "pkg._core"}),
    ("dyld4-code-signature",
     f"ImportError: dlopen({MAC_EXT}, 0x0002): code signature in <8F3E0C4B-1A2B-3C4D-5E6F-7A8B9C0D1E2F> "
     f"'{MAC_EXT}' not valid for use in process: mapped file has no Team ID and is not a platform binary "
     f"(signed with custom identity or adhoc?)",
     "native-init-failed", {"failing_module": "pkg._core"}),
    ("dyld4-code-signature-invalid-in-tried-list",
     f"ImportError: dlopen({MAC_EXT}, 0x0002): Library not loaded: @rpath/libfoo.dylib\n"
     f"  Referenced from: <8F3E0C4B-1A2B-3C4D-5E6F-7A8B9C0D1E2F> {MAC_EXT}\n"
     f"  Reason: tried: '{MAC_SITE}/pkg/.dylibs/libfoo.dylib' (code signature invalid in "
     f"<1A2B3C4D-1A2B-3C4D-5E6F-7A8B9C0D1E2F> '{MAC_SITE}/pkg/.dylibs/libfoo.dylib' (errno=1) sliceOffset=0x00000000, "
     f"codeBlobOffset=0x0000C110, codeBlobSize=0x00004A30)",
     "native-init-failed", {"found_path": f"{MAC_SITE}/pkg/.dylibs/libfoo.dylib"}),
    # ---- CPython's Windows loader (dynload_win.c): "DLL load failed while importing %s: %s" (3.8+),
    # "DLL load failed: %s" (before), "DLL load failed with error code %u while importing %s"
    ("win-dll-load-failed-126",
     "ImportError: DLL load failed while importing _multiarray_umath: The specified module could not be found.",
     "missing-shared-library", {"failing_module": "_multiarray_umath"}),
    ("win-dll-load-failed-old",
     "ImportError: DLL load failed: The specified procedure could not be found.",
     "missing-symbol", {}),
    ("win-dll-load-failed-193",
     "ImportError: DLL load failed while importing _imaging: %1 is not a valid Win32 application.",
     "architecture-mismatch", {"failing_module": "_imaging"}),
    ("win-dll-load-failed-1114-zh-Hans",
     "ImportError: DLL load failed while importing onnxruntime_pybind11_state: 动态链接库(DLL)初始化例程失败。",
     "native-init-failed", {"failing_module": "onnxruntime_pybind11_state"}),
    ("win-dll-load-failed-998",
     "ImportError: DLL load failed while importing win32api: Invalid access to memory location.",
     "native-init-failed", {"failing_module": "win32api"}),
    ("win-dll-load-failed-4551",
     "ImportError: DLL load failed while importing _cext: An Application Control policy has blocked this file.",
     "native-init-failed", {"failing_module": "_cext"}),
    ("win-dll-load-failed-error-code",
     "ImportError: DLL load failed with error code 3221225501 while importing _pywrap_tensorflow_internal",
     "unsupported-cpu", {"failing_module": "_pywrap_tensorflow_internal"}),
    # ---- ctypes on Windows: "[WinError %d] %s", and 3.8+'s "Could not find module '%s' (or one of its
    # dependencies). Try using the full path with constructor syntax."
    ("win-ctypes-could-not-find-module",
     fr"FileNotFoundError: Could not find module '{WIN_SITE}\pkg\bin\foo.dll' (or one of its dependencies). "
     r"Try using the full path with constructor syntax.",
     "missing-shared-library", {"missing_library": "foo.dll", "found_path": fr"{WIN_SITE}\pkg\bin\foo.dll"}),
    ("win-ctypes-could-not-find-module-3.8",
     "FileNotFoundError: Could not find module 'libzbar-64.dll'. Try using the full path with constructor syntax.",
     "missing-shared-library", {"missing_library": "libzbar-64.dll"}),
    ("win-winerror-126-error-loading",
     fr'OSError: [WinError 126] The specified module could not be found. Error loading "{WIN_SITE}\torch\lib'
     r'\fbgemm.dll" or one of its dependencies.',
     "missing-shared-library", {"missing_library": "fbgemm.dll", "found_path": fr"{WIN_SITE}\torch\lib\fbgemm.dll"}),
    ("win-winerror-1114-error-loading",
     fr'OSError: [WinError 1114] A dynamic link library (DLL) initialization routine failed. Error loading '
     fr'"{WIN_SITE}\torch\lib\c10.dll" or one of its dependencies.',
     "native-init-failed", {"missing_library": "c10.dll", "found_path": fr"{WIN_SITE}\torch\lib\c10.dll"}),
    ("win-winerror-193",
     "OSError: [WinError 193] %1 is not a valid Win32 application",
     "architecture-mismatch", {}),
    ("win-windowserror-python2",
     "WindowsError: [Error 126] The specified module could not be found",
     "missing-shared-library", {}),
    # ---- the Windows loader's dialogs and process exit statuses
    ("win-entry-point-dll",
     "The procedure entry point ucrtbase.terminate could not be located in the dynamic link library "
     "api-ms-win-crt-runtime-l1-1-0.dll.",
     "missing-symbol", {"missing_symbol": "ucrtbase.terminate", "missing_library": "api-ms-win-crt-runtime-l1-1-0.dll"}),
    ("win-entry-point-importing-module",
     r"The procedure entry point ?get@Foo@@QEAAXXZ could not be located in the dynamic link library "
     fr"{WIN_SITE}\pkg\_core.pyd.",
     "missing-symbol", {"missing_symbol": "?get@Foo@@QEAAXXZ", "found_path": fr"{WIN_SITE}\pkg\_core.pyd",
                        "missing_library": None}),
    ("win-ordinal-not-located",
     r"The ordinal 242 could not be located in the dynamic link library C:\Users\ana\anaconda3\Library\bin"
     r"\libssl-1_1-x64.dll.",
     "missing-symbol", {"missing_symbol": "242", "missing_library": "libssl-1_1-x64.dll"}),
    ("win-code-execution-cannot-proceed",
     "The code execution cannot proceed because VCRUNTIME140_1.dll was not found. Reinstalling the program may "
     "fix this problem.",
     "missing-shared-library", {"missing_library": "VCRUNTIME140_1.dll"}),
    ("win-exit-dll-not-found", "Process finished with exit code -1073741515 (0xC0000135)",
     "missing-shared-library", {}),
    ("win-exit-invalid-image-format", "Process finished with exit code -1073741701 (0xC000007B)",
     "architecture-mismatch", {}),
    ("win-exit-heap-corruption", "Process finished with exit code -1073740940 (0xC0000374)",
     "import-crashed", {}),
    ("win-exit-illegal-instruction", "Process finished with exit code -1073741795 (0xC000001D)",
     "unsupported-cpu", {}),
    # ---- cffi: ffi.dlopen
    ("cffi-windows-error-code",
     r"OSError: cannot load library 'C:\GTK\bin\libcairo-2.dll': error 0x7e",
     "missing-shared-library", {"missing_library": "libcairo-2.dll", "found_path": r"C:\GTK\bin\libcairo-2.dll"}),
    ("cffi-windows-error-code-by-name",
     "OSError: cannot load library 'libgobject-2.0-0': error 0x7e.  Additionally, ctypes.util.find_library() did "
     "not manage to locate a library called 'libgobject-2.0-0'",
     "missing-shared-library", {"missing_library": "libgobject-2.0-0"}),
    ("cffi-linux-dlerror",
     "OSError: cannot load library 'libcairo.so.2': libcairo.so.2: cannot open shared object file: No such file "
     "or directory",
     "missing-shared-library", {"missing_library": "libcairo.so.2"}),
    # ---- libraries' own loaders after ctypes/cffi failed
    ("llvmlite-windows", "OSError: Could not load shared object file: llvmlite.dll",
     "missing-shared-library", {"missing_library": "llvmlite.dll"}),
    ("llvmlite-linux", "OSError: Could not load shared object file: libllvmlite.so",
     "missing-shared-library", {"missing_library": "libllvmlite.so"}),
    ("pyglet-library", 'ImportError: Library "GLU" not found.', "missing-shared-library", {"missing_library": "GLU"}),
    ("jpype-no-jvm",
     "jpype._jvmfinder.JVMNotFoundException: No JVM shared library file (libjvm.so) found. Try setting up the "
     "JAVA_HOME environment variable properly.",
     "missing-shared-library", {"missing_library": "libjvm.so"}),
    ("soundfile-find-library", "OSError: sndfile library not found", "missing-shared-library",
     {"missing_library": "sndfile"}),
    ("bash-exec-format", "bash: /opt/tools/bin/protoc: cannot execute binary file: Exec format error",
     "architecture-mismatch", {"found_path": "/opt/tools/bin/protoc"}),
    # ---- CUDA / cuDNN / PyTorch / TensorFlow / JAX
    ("cudnn8-could-not-load-library-windows",
     "Could not load library cudnn_ops_infer64_8.dll. Error code 126\n"
     "Please make sure cudnn_ops_infer64_8.dll is in your library path!",
     "missing-shared-library", {"missing_library": "cudnn_ops_infer64_8.dll"}),
    ("cudnn8-could-not-load-library-linux",
     "Could not load library libcudnn_cnn_infer.so.8. Error: libcudnn_cnn_infer.so.8: cannot open shared object "
     "file: No such file or directory",
     "missing-shared-library", {"missing_library": "libcudnn_cnn_infer.so.8"}),
    ("cudnn8-could-not-locate-zlibwapi",
     "Could not locate zlibwapi.dll. Please make sure it is in your library path!",
     "missing-shared-library", {"missing_library": "zlibwapi.dll"}),
    ("cudnn9-unable-to-load-any-of",
     "RuntimeError: Unable to load any of {libcudnn_ops.so.9.1.0, libcudnn_ops.so.9.1, libcudnn_ops.so.9, "
     "libcudnn_ops.so}",
     "missing-shared-library", {"missing_library": "libcudnn_ops.so.9.1.0"}),
    ("tf-dso-loader-only-warning",
     "2023-01-01 10:00:00.000000: W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could not load "
     "dynamic library 'libcudart.so.11.0'; dlerror: libcudart.so.11.0: cannot open shared object file: No such "
     "file or directory",
     "missing-shared-library", {"missing_library": "libcudart.so.11.0"}),
    ("onnxruntime-depends-on-missing",
     fr'Error loading "{WIN_SITE}\onnxruntime\capi\onnxruntime_providers_cuda.dll" which depends on "cudnn64_9.dll" '
     r'which is missing. (Error 126: "The specified module could not be found.")',
     "missing-shared-library", {"missing_library": "cudnn64_9.dll"}),
    ("onnxruntime-loadlibrary-failed",
     fr'[ONNXRuntimeError] : 1 : FAIL : LoadLibrary failed with error 126 "" when trying to load '
     fr'"{WIN_SITE}\onnxruntime\capi\onnxruntime_providers_cuda.dll"',
     "missing-shared-library", {"missing_library": "onnxruntime_providers_cuda.dll",
                                "found_path": fr"{WIN_SITE}\onnxruntime\capi\onnxruntime_providers_cuda.dll"}),
    ("cupy-enum-insufficient-driver",
     "cupy_backends.cuda.api.runtime.CUDARuntimeError: cudaErrorInsufficientDriver: CUDA driver version is "
     "insufficient for CUDA runtime version",
     "gpu-runtime", {}),
    ("numba-cuinit-no-device",
     "numba.cuda.cudadrv.error.CudaSupportError: Error at driver init: Call to cuInit results in "
     "CUDA_ERROR_NO_DEVICE (100)",
     "gpu-runtime", {}),
    ("old-cuda-runtime-soname", "ImportError: libcudart.so.7.5: cannot open shared object file",
     "missing-shared-library", {"missing_library": "libcudart.so.7.5"}),
    ("cuda-driver-insufficient",
     "RuntimeError: CUDA error: CUDA driver version is insufficient for CUDA runtime version",
     "gpu-runtime", {}),
    ("torch-driver-too-old",
     "RuntimeError: The NVIDIA driver on your system is too old (found version 10010). Please update your GPU "
     "driver by downloading and installing a new version from the URL: http://www.nvidia.com/Download/index.aspx",
     "gpu-runtime", {}),
    ("torch-cudnn-incompatibility",
     "RuntimeError: cuDNN version incompatibility: PyTorch was compiled  against (8, 9, 2) but found runtime "
     "version (8, 5, 0). PyTorch already comes bundled with cuDNN.",
     "gpu-runtime", {"required_version": "(8, 9, 2)"}),
    ("tf-loaded-runtime-cudnn",
     "E tensorflow/stream_executor/cuda/cuda_dnn.cc:361] Loaded runtime CuDNN library: 8.0.4 but source was "
     "compiled with: 8.1.0.  CuDNN library needs to have matching major version and equal or higher minor version.",
     "gpu-runtime", {"required_version": "8.1.0"}),
    ("jax-found-cudnn-older",
     "CUDA backend failed to initialize: Found cuDNN version 8600, but JAX was built against version 8907, which "
     "is newer.",
     "gpu-runtime", {"required_version": "8907"}),
    ("cuda-no-kernel-image",
     "RuntimeError: CUDA error: no kernel image is available for execution on the device",
     "gpu-runtime", {}),
    ("torch-capability",
     "NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch installation.\n"
     "The current PyTorch install supports CUDA capabilities sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90.",
     "gpu-runtime", {}),
    ("nvidia-smi-no-driver",
     "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA "
     "driver is installed and running.",
     "gpu-runtime", {}),
    ("nvml-mismatch", "Failed to initialize NVML: Driver/library version mismatch", "gpu-runtime", {}),
    # ---- CPU features, OpenMP, crashes
    ("tf-avx",
     "The TensorFlow library was compiled to use AVX instructions, but these aren't available on your machine.\n"
     "Aborted (core dumped)",
     "unsupported-cpu", {}),
    ("shell-illegal-instruction",
     "$ python -c 'import tensorflow'\nIllegal instruction (core dumped)",
     "unsupported-cpu", {}),
    ("openmp-error-15",
     "OMP: Error #15: Initializing libiomp5md.dll, but found libiomp5md.dll already initialized.\n"
     "OMP: Hint This means that multiple copies of the OpenMP runtime have been linked into the program.",
     "openmp-conflict", {}),
    ("openmp-error-15-macos",
     "OMP: Error #15: Initializing libiomp5.dylib, but found libomp.dylib already initialized.",
     "openmp-conflict", {"missing_library": "libiomp5.dylib"}),
    ("mkl-threading-layer",
     "Error: mkl-service + Intel(R) MKL: MKL_THREADING_LAYER=INTEL is incompatible with libgomp.so.1 library.\n"
     "\tTry to import numpy first or set the threading layer accordingly. Set MKL_SERVICE_FORCE_INTEL to force it.",
     "openmp-conflict", {"missing_library": "libgomp.so.1"}),
    ("pycharm-sigill", "Process finished with exit code 132 (interrupted by signal 4: SIGILL)", "unsupported-cpu", {}),
    ("zsh-illegal-hardware-instruction", 'zsh: illegal hardware instruction  python -c "import tensorflow"',
     "unsupported-cpu", {}),
    ("polars-cpu-features",
     "RuntimeWarning: Missing required CPU features. The following required CPU features were not detected: avx, "
     "avx2, fma, bmi1, bmi2, lzcnt, movbe",
     "unsupported-cpu", {}),
    ("glibc-abort", "free(): invalid pointer\nAborted (core dumped)", "import-crashed", {}),
    ("zsh-job-segfault", "[1]    12345 segmentation fault  python app.py", "import-crashed", {}),
    ("compose-exited-139", "app-1 exited with code 139", "import-crashed", {}),
    ("container-exited-132", "Container exited with code 132", "unsupported-cpu", {}),
    ("zsh-job-abort", "[1]    4242 abort      python train.py", "import-crashed", {}),
    ("zsh-job-bus-error", "[2]  + 4243 bus error  python train.py", "import-crashed", {}),
    ("bash-aborted-without-core",
     "terminate called after throwing an instance of 'c10::Error'\n  what():  CUDA error\nAborted",
     "import-crashed", {}),
    ("vscode-kernel-crashed",
     "The Kernel crashed while executing code in the current cell or a previous cell. Please review the code in the "
     "cell(s) to identify a possible cause of the failure.",
     "import-crashed", {}),
    ("faulthandler-heap-corruption", "Windows fatal exception: code 0xc0000374", "import-crashed", {}),
    ("shell-segfault",
     "$ python -c 'import pkg'\nSegmentation fault (core dumped)",
     "import-crashed", {}),
]

# ---- the same loader lines inside the reports of the programs that relay them
CASES += [
    ("transformers-lazy-import-wrapper",
     "RuntimeError: Failed to import transformers.models.llama.modeling_llama because of the following error (look "
     "up to see its traceback):\n/usr/local/lib/python3.10/dist-packages/flash_attn_2_cuda.cpython-310-x86_64-linux-"
     "gnu.so: undefined symbol: _ZN3c104cuda9SetDeviceEi",
     "missing-symbol", {"missing_symbol": "_ZN3c104cuda9SetDeviceEi", "failing_module": "flash_attn_2_cuda"}),
    ("pytest-collection",
     "_____________________ ERROR collecting tests/test_x.py _____________________\n"
     "ImportError while importing test module '/srv/tests/test_x.py'.\n"
     "Hint: make sure your test modules/packages have valid Python names.\nTraceback:\n"
     "/usr/lib/python3.10/importlib/__init__.py:126: in import_module\n"
     "    return _bootstrap._gcd_import(name[level:], package, level)\n"
     "tests/test_x.py:1: in <module>\n    import cv2\n"
     "E   ImportError: libGL.so.1: cannot open shared object file: No such file or directory",
     "missing-shared-library", {"missing_library": "libGL.so.1", "failing_module": "cv2"}),
    ("django-database-driver",
     "django.core.exceptions.ImproperlyConfigured: Error loading psycopg2 module: libpq.so.5: cannot open shared "
     "object file: No such file or directory",
     "missing-shared-library", {"missing_library": "libpq.so.5", "failing_module": "psycopg2"}),
    ("buildkit-log",
     "#8 1.234 Traceback (most recent call last):\n#8 1.234   File \"<string>\", line 1, in <module>\n"
     "#8 1.234 ImportError: libGL.so.1: cannot open shared object file: No such file or directory",
     "missing-shared-library", {"missing_library": "libGL.so.1"}),
    ("notebook-json-output",
     '{"ename": "ImportError", "evalue": "libGL.so.1: cannot open shared object file: No such file or directory", '
     '"output_type": "error", "traceback": ["\\u001b[0;31mImportError\\u001b[0m: libGL.so.1: cannot open shared '
     'object file: No such file or directory"]}',
     "missing-shared-library", {"missing_library": "libGL.so.1"}),
]

# ---- the same templates pasted partly: a first line lost, a quote lost, a line broken at a colon
CASES += [
    ("openmp-without-prefix", "Initializing libiomp5md.dll, but found libiomp5md.dll already initialized.",
     "openmp-conflict", {"missing_library": "libiomp5md.dll"}),
    ("ctypes-quote-lost",
     r"FileNotFoundError: Could not find module: C:\tools\zbar\libzbar-64.dll' (or one of its dependencies). "
     r"Try using the full path with constructor syntax.",
     "missing-shared-library", {"missing_library": "libzbar-64.dll"}),
    ("torch-error-loading-quote-lost",
     r'OSError: [WinError 126] Error loading \site-packages\torch\lib\cudnn_ops64_9.dll" or one of its '
     r"dependencies.",
     "missing-shared-library", {"found_path": r"\site-packages\torch\lib\cudnn_ops64_9.dll"}),
    ("dyld4-symbol-parenthesised",
     "[PYI-4242:ERROR] Failed to load Python shared library '/var/folders/x/T/_MEIabc/libpython3.9.dylib': dlopen: "
     "dlopen(/var/folders/x/T/_MEIabc/libpython3.9.dylib, 0x000A): Symbol not found: (_preadv)\n"
     "  Referenced from: '/private/var/folders/x/T/_MEIabc/libpython3.9.dylib'\n"
     "  Expected in: '/usr/lib/libSystem.B.dylib'",
     "missing-symbol", {"missing_symbol": "_preadv"}),
    ("dyld-incompatible-version-flattened",
     f"ImportError: dlopen({MAC_EXT}, 2): Library not loaded: /opt/local/lib/libpng16.16.dylib Referenced from: "
     f"{MAC_EXT} Reason: Incompatible library version: _core.cpython-311-darwin.so requires version 54.0.0 or "
     f"later, but libpng16.16.dylib provides version 45.0.0",
     "symbol-version", {"required_version": "54.0.0", "found_path": "/opt/local/lib/libpng16.16.dylib"}),
    ("dyld-fragment-without-symbol-line",
     f"  Referenced from: {MAC_SITE}/pkg/_core.so\n  Expected in: flat namespace\n in {MAC_SITE}/pkg/_core.so",
     "missing-symbol", {"found_path": f"{MAC_SITE}/pkg/_core.so"}),
    ("glibc-undefined-symbol-line-broken-at-colon",
     f"ImportError: {EXT}:\nundefined symbol: GOMP_parallel",
     "missing-symbol", {"missing_symbol": "GOMP_parallel", "found_path": EXT}),
    ("path-then-winerror",
     "RuntimeError: Failed to load 'ggml' from [.../pkg/lib, .../pkg/bin]\n"
     ".../pkg/lib/ggml.dll: [WinError 127] The specified procedure could not be found.\n"
     ".../pkg/bin/ggml.dll: [WinError 127] The specified procedure could not be found.",
     "missing-symbol", {"found_path": ".../pkg/lib/ggml.dll"}),
    ("cffi-every-platform-name-on-windows",
     "OSError: no library called \"cairo-2\" was found\nno library called \"cairo\" was found\n"
     "cannot load library 'libcairo.so.2': error 0x7e\ncannot load library 'libcairo.2.dylib': error 0x7e\n"
     "cannot load library 'libcairo-2.dll': error 0x7e",
     "missing-shared-library", {"missing_library": "libcairo-2.dll"}),
    ("musl-initial-exec-tls",
     "ImportError: Error relocating /usr/lib/python3.12/site-packages/pkg/_core.abi3.so: (null): initial-exec TLS "
     "resolves to dynamic definition in /usr/lib/python3.12/site-packages/pkg/_core.abi3.so",
     "native-init-failed", {"found_path": "/usr/lib/python3.12/site-packages/pkg/_core.abi3.so"}),
    ("jax-outdated-cudnn",
     "CUDA backend failed to initialize: Unable to use CUDA because of the following issues with CUDA components:\n"
     "Outdated cuDNN installation found.\nVersion JAX was built against: 90300\nMinimum supported: 90100\n"
     "Installed version: 8907\nThe local installation version must be no lower than 90100.",
     "gpu-runtime", {"required_version": "90100"}),
    ("jax-backend-failed",
     "CUDA backend failed to initialize: Unable to load cuSPARSE. Is it installed? (Set TF_CPP_MIN_LOG_LEVEL=0 and "
     "rerun for more info.)",
     "gpu-runtime", {}),
    ("pyinstaller-python-dll",
     r"Error loading Python DLL 'C:\Users\ana\AppData\Local\Temp\_MEI4242\python311.dll'." "\n"
     "LoadLibrary: The specified module could not be found.",
     "missing-shared-library", {"missing_library": "python311.dll"}),
    ("winerror-126-library-in-the-code",
     "Traceback (most recent call last):\n  File \"C:\\app\\geo.py\", line 3, in <module>\n"
     "    _lib = CDLL(os.path.join(sys.prefix, 'Library', 'bin', 'proj_9.dll'))\n"
     "  File \"C:\\Python39\\lib\\ctypes\\__init__.py\", line 374, in __init__\n"
     "    self._handle = _dlopen(self._name, mode)\n"
     "OSError: [WinError 126] The specified module could not be found",
     "missing-shared-library", {"missing_library": "proj_9.dll"}),
    ("sibling-extension-import",
     "Traceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\n"
     f"  File \"{SITE}/geo/__init__.py\", line 6, in <module>\n    from .grid import Grid\n"
     f"  File \"{SITE}/geo/grid.py\", line 12, in <module>\n    from . import core\n"
     "ImportError: libomp.so.5: cannot open shared object file: No such file or directory",
     "missing-shared-library", {"failing_module": "geo.core", "missing_library": "libomp.so.5"}),
    ("gdb-sigill-frame",
     "Program received signal SIGILL, Illegal instruction.\n"
     "0x00007ffff7a5c2b0 in mkl_blas_avx512_sgemm () from /opt/conda/lib/libmkl_avx512.so.2",
     "unsupported-cpu", {"found_path": "/opt/conda/lib/libmkl_avx512.so.2"}),
    # ---- cffi's ffi.dlopen on Linux/macOS: "cannot load library '%s': %s" with dlerror()'s text, which may
    # be one no loader signature knows; find_library's name quoted as repr() or as Markdown code
    ("cffi-cannot-load-library-bare-reason",
     "OSError: cannot load library 'libsndfile.so': libsndfile.so",
     "missing-shared-library", {"missing_library": "libsndfile.so"}),
    ("cffi-cannot-load-library-known-reason",
     f"OSError: cannot load library '{SITE}/pkg/libcairo.so.2': {SITE}/pkg/libcairo.so.2: undefined symbol: "
     "FT_Done_MM_Var",
     "missing-symbol", {"missing_symbol": "FT_Done_MM_Var", "found_path": f"{SITE}/pkg/libcairo.so.2"}),
    ("cffi-find-library-markdown-quotes",
     "OSError: ctypes.util.find_library() did not manage to locate a library called `sndfile`",
     "missing-shared-library", {}),
    # ---- ROCm's HIP runtime: no code object for this GPU (ROCm's "no kernel image")
    ("hip-no-binary-for-gpu",
     '"hipErrorNoBinaryForGpu: Unable to find code object for all current devices!"\nAborted (core dumped)',
     "gpu-runtime", {}),
    # ---- Windows' message for error 193 quoted without a recognisable line before it
    ("win-193-message-alone",
     "Import Error: DLL load failes: %1 is not a valid Win32 application.",
     "architecture-mismatch", {}),
    # ---- dyld: "Referenced from: FILE (which was built for Mac OS X 12.3)"; the file holding the reference is
    # the found path, also for a Python C-API symbol
    ("dyld-referenced-from-built-for",
     f"ImportError: dlopen({MAC_EXT}, 2): Symbol not found: __ZNSt3__14cout\n"
     "  Referenced from: /opt/vendor/lib/libcast.dylib (which was built for Mac OS X 12.3)\n"
     "  Expected in: /usr/lib/libc++.1.dylib",
     "missing-symbol", {"found_path": "/opt/vendor/lib/libcast.dylib", "missing_symbol": "__ZNSt3__14cout"}),
    ("dyld-c-api-symbol-referenced-from-library",
     f"ImportError: dlopen({MAC_EXT}, 2): Symbol not found: _PyCMethod_New\n"
     "  Referenced from: /usr/local/opt/boost-python3/lib/libboost_python39-mt.dylib\n"
     "  Expected in: flat namespace\n in /usr/local/opt/boost-python3/lib/libboost_python39-mt.dylib",
     "python-abi-mismatch", {"found_path": "/usr/local/opt/boost-python3/lib/libboost_python39-mt.dylib",
                             "missing_symbol": "_PyCMethod_New"}),
    # ---- faulthandler on Windows: an exception it prints by its code
    ("faulthandler-windows-code",
     "Windows fatal exception: code 0xc06d007f\n\nCurrent thread 0x00002b94 (most recent call first):\n"
     "  File \"<frozen importlib._bootstrap>\", line 228 in _call_with_frames_removed",
     "import-crashed", {}),
    # ---- ld.so's message inside a log's markup; a log's " \\" line continuations
    ("glibc-undefined-symbol-in-markup",
     f"<msg type=\"ERROR\">Error starting: {EXT}: undefined symbol: PyUnicodeUCS4_DecodeUTF8</msg>",
     "python-abi-mismatch", {"missing_symbol": "PyUnicodeUCS4_DecodeUTF8", "found_path": EXT}),
    ("glibc-undefined-symbol-continued-lines",
     f"Unhandled python exception in importing module: \\\n  ImportError: {EXT}: \\\n"
     "  undefined symbol: PyExc_BaseException",
     "python-abi-mismatch", {"missing_symbol": "PyExc_BaseException", "found_path": EXT}),
    # ---- IPython's frame of a Cython module's initialisation names the extension in full
    ("cython-init-frame",
     "---> 22 from .emd_wrap import emd_c\n\not/lp/emd_wrap.pyx in init ot.lp.emd_wrap()\n\n"
     "ValueError: numpy.ndarray size changed, may indicate binary incompatibility. Expected 88 from C header, "
     "got 80 from PyObject",
     "numpy-abi-mismatch", {"failing_module": "ot.lp.emd_wrap"}),
    # ---- PyInstaller's bootloader repeating the error ("when importing"), and its Python DLL on the next line
    ("pyinstaller-dll-load-failed-when-importing",
     "Failed to execute script 'app' due to unhandled exception: DLL load failed when importing QtCore: "
     "The specified procedure could not be found",
     "missing-symbol", {"failing_module": "QtCore"}),
    ("pyinstaller-python-dll-on-next-line",
     "Failed to load Python DLL\n'C:\\Users\\ana\\AppData\\Local\\Temp\\_MEI193002\\python312.dll'\n"
     "LoadLibrary: The specified module could not be found",
     "missing-shared-library", {"missing_library": "python312.dll"}),
    # ---- a Nuitka-compiled program's loader
    ("nuitka-loadlibraryex",
     "ImportError: LoadLibraryEx 'D:\\app\\main.dist\\PyQt5\\QtCore.pyd' failed",
     "missing-shared-library", {"found_path": "D:\\app\\main.dist\\PyQt5\\QtCore.pyd"}),
    ("nuitka-loadlibraryexw-with-message",
     "ImportError: LoadLibraryExW 'C:\\app\\main.dist\\win32print.pyd' failed: The specified module could not "
     "be found.",
     "missing-shared-library", {"found_path": "C:\\app\\main.dist\\win32print.pyd"}),
    # ---- dyld 2's "Did find:" line alone
    ("dyld-did-find-wrong-architecture-alone",
     "/opt/anaconda3/lib/libzbar.dylib: mach-o, but wrong architecture",
     "architecture-mismatch", {"found_path": "/opt/anaconda3/lib/libzbar.dylib"}),
    # ---- Solaris / illumos ld.so.1
    ("solaris-open-failed",
     "ImportError: ld.so.1: python3.9: fatal: libpq.so.5: open failed: No such file or directory",
     "missing-shared-library", {"missing_library": "libpq.so.5"}),
    ("solaris-relocation-symbol-not-found",
     "ImportError: ld.so.1: python3.9: fatal: relocation error: file /opt/csw/lib/python3.9/site-packages/pkg/"
     "_core.so: symbol timeradd: referenced symbol not found",
     "missing-symbol", {"missing_symbol": "timeradd",
                        "found_path": "/opt/csw/lib/python3.9/site-packages/pkg/_core.so"}),
    # ---- a Python built without an optional library: pip, python-build, zipimport and pandas say so
    ("pip-ssl-module-not-available",
     "WARNING: pip is configured with locations that require TLS/SSL, however the ssl module in Python is not "
     "available.",
     "module-not-found", {"failing_module": "ssl"}),
    ("python-build-extension-not-compiled",
     "ERROR: The Python ssl extension was not compiled. Missing the OpenSSL lib?",
     "module-not-found", {"failing_module": "ssl", "missing_library": None}),
    ("zipimport-zlib-not-available",
     "zipimport.ZipImportError: can't decompress data; zlib not available",
     "module-not-found", {"failing_module": "zlib"}),
    ("pandas-python-incomplete",
     "UserWarning: Could not import the lzma module. Your installed Python is incomplete. Attempting to use lzma "
     "compression will result in a RuntimeError.",
     "module-not-found", {"failing_module": "lzma"}),
    # ---- loaders of packages and frameworks that open a library by name
    ("llama-cpp-base-name-not-found",
     "FileNotFoundError: Shared library with base name 'llama' not found",
     "missing-shared-library", {"missing_library": "llama"}),
    ("paddle-third-party-library",
     "The third-party dynamic library (cudnn64_7.dll) that Paddle depends on is not configured correctly.",
     "missing-shared-library", {"missing_library": "cudnn64_7.dll"}),
    ("cudnn-could-not-locate",
     "Could not locate cudnn_ops_infer64_8.dll. Please make sure it is in your library path!",
     "missing-shared-library", {"missing_library": "cudnn_ops_infer64_8.dll"}),
    ("android-bionic-library-not-found",
     "ImportError: dlopen failed: library \"libpulse.so\" not found: needed by "
     "/data/data/com.termux/files/usr/lib/libportaudio.so in namespace (default)",
     "missing-shared-library", {"missing_library": "libpulse.so"}),
    ("pysdl2-no-library",
     "ImportError: could not find any library for SDL2 (PYSDL2_DLL_PATH: unset)",
     "missing-shared-library", {"missing_library": "SDL2"}),
    ("oracle-dpi-1047",
     "cx_Oracle.DatabaseError: DPI-1047: Cannot locate a 64-bit Oracle Client library: \"libclntsh.so: cannot open "
     "shared object file: No such file or directory\". See https://cx-oracle.readthedocs.io/ for help",
     "missing-shared-library", {"missing_library": "libclntsh.so"}),
    ("xformers-built-for-other-torch",
     "WARNING[XFORMERS]: xFormers can't load C++/CUDA extensions. xFormers was built for:\n"
     "    PyTorch 2.1.2+cu121 with CUDA 1201 (you have 2.0.1+cu118)\n    Python  3.10.11 (you have 3.10.11)",
     "gpu-runtime", {}),
    # ---- TensorFlow's warning quoting the loader: the loader's own reason outranks the wrapper
    ("tf-dso-loader-quoting-a-glibc-version",
     "W tensorflow/stream_executor/platform/default/dso_loader.cc:55] Could not load dynamic library "
     "'libnvinfer.so.6'; dlerror: /lib/x86_64-linux-gnu/libm.so.6: version `GLIBC_2.27' not found (required by "
     "/usr/lib/libnvinfer.so.6); LD_LIBRARY_PATH: /usr/local/nvidia/lib",
     "symbol-version", {"missing_symbol": "GLIBC_2.27", "missing_library": "libm.so.6"}),
    # ---- glibc: "symbol X, version V not defined in file LIB with link time reference", also wrapped by a post
    ("glibc-symbol-version-not-defined-wrapped",
     f"ImportError: {SITE}/wx/_core.cpython-311-x86_64-linux-gnu.so: symbol _ZNK8wxWindow7IsShownEv, \n"
     "version WXU_3.0 not defined in file libwx_gtk2u_core-3.0.so.0 with link time reference",
     "symbol-version", {"missing_symbol": "WXU_3.0", "required_version": "WXU_3.0",
                        "missing_library": "libwx_gtk2u_core-3.0.so.0",
                        "found_path": f"{SITE}/wx/_core.cpython-311-x86_64-linux-gnu.so"}),
    # ---- a post's Markdown bold around ld.so's message
    ("glibc-undefined-symbol-in-bold",
     f"ImportError: {EXT}: **undefined symbol: sqlite3_enable_load_extension**",
     "missing-symbol", {"missing_symbol": "sqlite3_enable_load_extension"}),
    # ---- Shapely 1.x's loader names the variants it tried
    ("shapely-could-not-find-lib-variants",
     "OSError: Could not find lib geos_c or load any of its variants ['libgeos_c.so.1', 'libgeos_c.so'].",
     "missing-shared-library", {"missing_library": "libgeos_c.so.1"}),
    # ---- an ImportError that is only a soname (dlerror cut after the name)
    ("importerror-bare-soname",
     "ImportError: libopenblas.so.0",
     "missing-shared-library", {"missing_library": "libopenblas.so.0"}),
    # ---- GObject Introspection's typelib loader on Windows
    ("gi-typelib-dll",
     "** (process:4242): WARNING **: 10:00:00.000: Failed to load shared library 'gio-2.0-0.dll' referenced by the "
     "typelib: 'gio-2.0-0.dll': The specified module could not be found.",
     "missing-shared-library", {"missing_library": "gio-2.0-0.dll"}),
    # ---- AWS Lambda's wrapper of the import error
    ("lambda-import-module-error",
     "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named "
     "'pydantic_core._pydantic_core'",
     "module-not-found", {"failing_module": "pydantic_core._pydantic_core"}),
    # ---- a relative import outside any site folder: the frames show which folders are packages
    ("relative-import-outside-site",
     "Traceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\n"
     "  File \"/home/ana/build/python/caffe/__init__.py\", line 1, in <module>\n    from .pycaffe import Net\n"
     "  File \"/home/ana/build/python/caffe/pycaffe.py\", line 13, in <module>\n    from ._caffe import Net\n"
     "ImportError: dynamic module does not define module export function (PyInit__caffe)",
     "python-abi-mismatch", {"failing_module": "caffe._caffe"}),
]


@pytest.mark.parametrize("template, text, kind, facts", CASES, ids=[case[0] for case in CASES])
def test_template_gives_kind_and_facts(template, text, kind, facts):
    report = explain(text)
    got_kind = report.findings[0].kind if report.findings else None
    assert got_kind == kind, (template, got_kind, report.failure and report.failure.signature)
    got = key_facts(report.failure)
    for name, expected in facts.items():
        assert got.get(name) == expected, (template, name, got)


@pytest.mark.parametrize("template, text, kind, facts", CASES, ids=[case[0] for case in CASES])
def test_template_survives_being_quoted_in_a_traceback(template, text, kind, facts):
    """The same line as the last line of a Python traceback, after a chained exception and a log prefix."""
    lines = text.split("\n")
    pasted = ("Traceback (most recent call last):\n  File \"/srv/app/main.py\", line 3, in <module>\n"
              "    import app.worker\n" + "\n".join(lines))
    alone, failure = failure_from_text(text), failure_from_text(pasted)
    assert failure is not None and failure.kind == alone.kind, (template, failure and failure.kind, alone.kind)
    got = key_facts(failure)
    for name in ("missing_library", "missing_symbol", "required_version", "found_path"):
        if facts.get(name):
            assert got.get(name) == facts[name], (template, name, got)


def test_mkl_threading_layer_fix_names_the_layer_not_the_intel_override():
    report = explain("Error: mkl-service + Intel(R) MKL: MKL_THREADING_LAYER=INTEL is incompatible with libgomp.so.1 "
                     "library.\n\tTry to import numpy first or set the threading layer accordingly.")
    finding = report.findings[0]
    assert finding.cause == "duplicate-openmp"
    cells = [fix.cell or "" for fix in finding.fixes]
    assert any("MKL_THREADING_LAYER=GNU" in cell for cell in cells)
    assert not any("KMP_DUPLICATE_LIB_OK" in cell for cell in cells)


@pytest.mark.parametrize("width", [79, 80, 99, 100, 119, 120, 132])
def test_dyld_lines_after_a_line_of_a_terminal_width_stay_lines(width):
    """dyld's "Referenced from:", "Expected in:" and dyld 2's closing " in FILE" lines begin new lines even
    when the line before happens to be exactly as long as a terminal's width (pasted without indentation)."""
    head = "ImportError: dlopen(/Users/ana/env/pkg/_core.so, 2): Symbol not found: "
    symbol = "_sym" + "x" * max(0, width - len(head) - 4)
    first = head + symbol
    expected_in = "Expected in: /usr/local/lib/libboost"
    expected_in += "y" * max(0, width - len(expected_in) - len(".dylib")) + ".dylib"
    assert len(first) == width and len(expected_in) == width
    text = "\n".join([first, "Referenced from: /Users/ana/env/lib/python3.9/site-packages/pkg/_core.so",
                      expected_in, " in /Users/ana/env/lib/python3.9/site-packages/pkg/_core.so"])
    got = key_facts(failure_from_text(text))
    assert got["missing_symbol"] == symbol
    assert got["missing_library"] == expected_in.rpartition("/")[2]


#: The code page Windows writes each language's messages in, besides UTF-8.
_ANSI_CODE_PAGE = {"zh-Hans": "gbk", "zh-Hant": "big5", "ja": "cp932", "ko": "cp949", "ru": "cp1251", "pl": "cp1250",
                   "de": "cp1252", "fr": "cp1252", "es": "cp1252", "it": "cp1252", "pt": "cp1252", "nl": "cp1252",
                   "tr": "cp1254"}


def _garbled_messages():
    """Every localised message of windows_messages.json whose bytes a console showed in a Western code page."""
    from dllmagic import knowledge

    for entry in knowledge.load("windows_messages")["entries"]:
        for language, texts in entry["messages"].items():
            for text in texts:
                for encoding in ("utf-8", _ANSI_CODE_PAGE.get(language)):
                    if not encoding:
                        continue
                    raw = text.replace("%1", "x.dll").encode(encoding)
                    for console in ("cp1252", "latin-1"):
                        try:
                            shown = raw.decode(console)
                        except UnicodeDecodeError:
                            continue
                        # C1 control characters are not shown by any console: such a view is not pasted.
                        if shown != text.replace("%1", "x.dll") and not any("\x80" <= ch <= "\x9f" for ch in shown):
                            yield pytest.param(entry["code"], entry["kind"], shown,
                                               id=f"{entry['id']}-{language}-{encoding}-as-{console}")
                        break


@pytest.mark.parametrize("code, kind, shown", list(_garbled_messages()))
def test_windows_message_shown_in_the_wrong_code_page_keeps_its_code(code, kind, shown):
    from dllmagic.failure import windows_code_of_text

    assert windows_code_of_text(shown)[0] == code
    failure = failure_from_text(f"ImportError: DLL load failed while importing _dm: {shown}")
    assert (failure.kind, failure.module) == (kind, "_dm")


def _perturbations():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "perturbations.py"
    spec = importlib.util.spec_from_file_location("perturbations", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: fn for name, fn in module.TRANSFORMATIONS.items() if name not in module.LOSSY}


_PASTE_FORMS = _perturbations()


@pytest.mark.parametrize("template, text, kind, facts", CASES, ids=[case[0] for case in CASES])
def test_template_pasted_in_every_form_gives_the_same_kind_and_facts(template, text, kind, facts):
    """Wrapped by a terminal, quoted, fenced, with prose around it, as IPython prints it, as a web page renders
    it …: the forms of bench/perturbations.py that keep every line."""
    def parse(pasted):
        report = explain(pasted)
        return (report.findings[0].kind if report.findings else None), key_facts(report.failure)

    original = parse(text)
    changed = {name: parse(form(text)) for name, form in _PASTE_FORMS.items()}
    assert {name: got for name, got in changed.items() if got != original} == {}, template


@pytest.mark.parametrize("message", [
    "ImportError: DLL load failed while importing _cext: An Application Control policy has blocked this file.",
    "ImportError: DLL load failed while importing win32api: Invalid access to memory location.",
    r'OSError: [WinError 1455] The paging file is too small for this operation to complete. Error loading '
    r'"C:\venv\Lib\site-packages\torch\lib\caffe2_nvrtc.dll" or one of its dependencies.',
])
def test_dll_refusals_other_than_a_failed_dllmain_get_no_runtime_advice(message):
    """Only a DllMain that failed (1114) is the Visual C++ runtime's usual doing; a blocked file, a full paging
    file or a fault are reported as what they are, without that fix."""
    finding = explain(message).findings[0]
    assert finding.kind == "native-init-failed"
    assert finding.cause != "dll-init-failed"
    assert not any("Visual C++" in fix.title for fix in finding.fixes)


def test_a_failed_dllmain_still_gets_the_runtime_advice():
    finding = explain("ImportError: DLL load failed while importing _core: A dynamic link library (DLL) "
                      "initialization routine failed.").findings[0]
    assert finding.cause == "dll-init-failed"
    assert any("Visual C++" in fix.title for fix in finding.fixes)


def test_found_path_is_quoted_as_printed_and_used_normalised():
    """The fact is the text's own spelling ("…/bin/../lib/…"); the rules get the path it means."""
    text = ("ImportError: /home/ana/miniconda3/envs/work/bin/../lib/libstdc++.so.6: version `GLIBCXX_3.4.30' not "
            f"found (required by {EXT})")
    failure = failure_from_text(text)
    assert key_facts(failure)["found_path"] == "/home/ana/miniconda3/envs/work/bin/../lib/libstdc++.so.6"
    assert dict(failure.details)["found_path"] == "/home/ana/miniconda3/envs/work/lib/libstdc++.so.6"


@pytest.mark.parametrize("text", [
    "ImportError: libcudart.so.7.5: cannot open shared object file: No such file or directory",
    "ImportError: libcublas.so.9.0: cannot open shared object file: No such file or directory",
    "OSError: [WinError 126] The specified module could not be found. Error loading \"C:\\tf\\cudnn64_6.dll\" "
    "or one of its dependencies.",
])
def test_gpu_libraries_of_any_release_are_the_gpu_stack(text):
    assert explain(text).findings[0].cause == "cuda-library-missing"


@pytest.mark.parametrize("name, component", [("libcudnn.so", "cuDNN"), ("libnvrtc.so", "NVRTC"),
                                             ("libcudart.so", "CUDA runtime")])
def test_a_gpu_library_named_without_its_release_is_the_gpu_stack_and_no_package_is_guessed(name, component):
    # Paddle loads libcudnn.so by that name; cuDNN 8 loads libnvrtc.so: the component is known, the release not.
    report = explain(f"Could not load library libcudnn_cnn_infer.so.8. Error: {name}: cannot open shared object "
                     f"file: No such file or directory" if name != "libcudnn.so" else
                     "The third-party dynamic library (libcudnn.so) that Paddle depends on is not configured correctly."
                     "(error code is /usr/local/cuda/lib64/libcudnn.so: cannot open shared object file: No such file "
                     "or directory)")
    top = report.findings[0]
    assert (top.kind, top.cause) == ("missing-shared-library", "cuda-library-missing")
    assert component in top.summary and "carries no release" in top.summary
    assert all(f.kind == "instruction" for f in top.fixes) and top.fixes[0].title.startswith("Install")


def test_android_gets_no_debian_or_fedora_package():
    report = explain("ImportError: dlopen failed: library \"libpulse.so\" not found: needed by "
                     "/data/data/com.termux/files/usr/lib/libportaudio.so in namespace (default)")
    top = report.findings[0]
    assert top.cause == "missing-system-library"
    assert not any(f.kind == "system-package" for f in top.fixes)
    assert "pkg search pulse" in top.fixes[0].cell


def test_the_symbol_of_a_version_not_defined_stays_in_the_report():
    failure = failure_from_text(f"ImportError: {EXT}: symbol memcpy version GLIBC_2.14 not defined in file libc.so.6 "
                                "with link time reference")
    assert (failure.symbol, failure.version) == ("memcpy", "GLIBC_2.14")
