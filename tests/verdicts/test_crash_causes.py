"""Crashes get their real cause: the child's stderr read by the live signatures (issue 17, item 5).

Real binaries: extensions built here with gcc that print what a native runtime prints and call abort(),
and a library loaded with LD_PRELOAD."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from harness import run_cli

pytestmark = pytest.mark.skipif(os.name == "nt" or not shutil.which("gcc"), reason="needs gcc on POSIX")

OMP_MESSAGE = ("OMP: Error #15: Initializing libiomp5.so, but found libomp.so already initialized.\\n"
               "OMP: Hint This means that multiple copies of the OpenMP runtime have been linked into the "
               "program.\\n")
GLIBC_MESSAGE = ("python3: malloc.c:2617: sysmalloc: Assertion `(old_top == initial_top (av) && old_size == 0)' "
                 "failed.\\n")


def build_extension(folder: Path, name: str, message: str) -> None:
    """An extension module whose init prints ``message`` on stderr and aborts, as the real runtimes do."""
    src = folder / f"{name}.c"
    src.write_text(f"""
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>
PyMODINIT_FUNC PyInit_{name}(void) {{
    fputs("{message}", stderr);
    fflush(stderr);
    abort();
    return NULL;
}}
""")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    subprocess.run(["gcc", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}", str(src),
                    "-o", str(folder / f"{name}{suffix}")], check=True)


def build_preload(folder: Path) -> Path:
    src = folder / "preloaded.c"
    src.write_text("int dllmagic_test_preloaded(void) { return 1; }\n")
    lib = folder / "libpreloaded.so"
    subprocess.run(["gcc", "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
    return lib


def check_json(name: str, cwd: Path, env=None) -> dict:
    proc = run_cli("check", name, "--json", cwd=cwd, env=env)
    assert proc.stdout.strip(), proc.stderr
    return json.loads(proc.stdout)


def test_omp_error_15_in_the_child_is_an_openmp_conflict_with_ld_preload(tmp_path, validate_report):
    build_extension(tmp_path, "ompcrash", OMP_MESSAGE)
    lib = build_preload(tmp_path)
    report = validate_report(check_json("ompcrash", tmp_path, env={"LD_PRELOAD": str(lib)}))
    top = report["findings"][0]
    assert top["kind"] == "openmp-conflict" and top["cause"] == "duplicate-openmp", top
    assert "libiomp5.so" in top["summary"] and "libomp.so" in top["summary"]
    ev = {e["fact"]: e["value"] for e in top["evidence"]}
    assert ev.get("LD_PRELOAD") == str(lib)
    assert any(f["title"].startswith("Install the packages that bring OpenMP") for f in top["fixes"])


def test_glibc_abort_names_the_assertion_and_shows_ld_library_path(tmp_path):
    build_extension(tmp_path, "glibcabort", GLIBC_MESSAGE)
    report = check_json("glibcabort", tmp_path, env={"LD_LIBRARY_PATH": str(tmp_path)})
    top = report["findings"][0]
    assert top["kind"] == "import-crashed" and "SIGABRT" in json.dumps(top["evidence"])
    assert "sysmalloc: Assertion" in top["summary"]
    ev = {e["fact"]: e["value"] for e in top["evidence"]}
    assert ev.get("LD_LIBRARY_PATH") == str(tmp_path)
    assert "frame" in json.dumps(top["evidence"])  # the crashing thread's innermost Python frame


def test_previous_run_crash_file_is_read_by_the_same_signatures(tmp_path):
    """The crash recorder's file after a restart: an illegal instruction keeps its kind and the CPU flags."""
    from dllmagic._crash import parse_fault_text
    from dllmagic.api import diagnose_crash

    text = ("Fatal Python error: Illegal instruction\n\n"
            "Thread 0x00007f0000000001 (most recent call first):\n"
            '  File "/srv/worker.py", line 9 in run\n\n'
            "Current thread 0x00007f0000000002 (most recent call first):\n"
            '  File "<frozen importlib._bootstrap>", line 241 in _call_with_frames_removed\n'
            '  File "/srv/nb.py", line 3 in <module>\n')
    previous = parse_fault_text(text, "fastmath._core", str(tmp_path / "x.fault"))
    report = diagnose_crash(previous)
    top = report.findings[0]
    assert top.kind == "unsupported-cpu" and top.cause == "previous-run-crashed"
    values = " ".join(e.value for e in top.evidence)
    assert "worker.py" not in values  # a worker thread's frame is not the crash
    if os.path.exists("/proc/cpuinfo"):
        assert any(e.fact == "CPU features" for e in top.evidence)


def test_kernel_crash_report_after_restart_then_the_child_finds_omp_15(kernel_with, tmp_path,
                                                                     validate_report):
    """A real kernel dies importing the extension; with the re-run at restart turned off
    (DLLMAGIC_CRASH_RECHECK=0) the crash report shows what the record alone knows: SIGABRT, the crashing
    thread's frame and LD_PRELOAD; its fix (%dlldoctor NAME in a child) finds OMP Error #15."""
    from verdictkit import kernel_python_with

    work = tmp_path / "nb"
    work.mkdir()
    build_extension(work, "ompcrash", OMP_MESSAGE)
    lib = build_preload(tmp_path)
    python = kernel_python_with(tmp_path / "kenv")
    kernel = kernel_with(python, work, env={"LD_PRELOAD": str(lib), "DLLMAGIC_CRASH_RECHECK": "0"})
    kernel.execute("%load_ext dllmagic")
    kernel.execute_until_death("import ompcrash")
    kernel.restart()
    res = kernel.execute("%load_ext dllmagic")
    (report,) = res.reports()
    validate_report(report)
    top = report["findings"][0]
    assert top["cause"] == "previous-run-crashed" and "SIGABRT" in top["summary"]
    ev = {e["fact"]: e["value"] for e in top["evidence"]}
    assert ev.get("LD_PRELOAD") == str(lib)
    frame = ev.get("innermost Python frame", "")
    assert frame and "threading.py" not in frame  # the crashing thread, not a worker
    assert top["fixes"][0]["cell"] == "%dlldoctor ompcrash"
    child = kernel.execute("%dlldoctor ompcrash").reports()[-1]
    top = child["findings"][0]
    assert top["kind"] == "openmp-conflict" and top["cause"] == "duplicate-openmp", top
    assert any(e["fact"] == "LD_PRELOAD" for e in top["evidence"])
    assert kernel.execute("print('alive')").stdout.strip() == "alive"


def build_openmp_extension(folder: Path, name: str, *, linked: Path = None, vendored: Path = None) -> None:
    """An extension module whose init starts an OpenMP runtime for real: the one it is ``linked`` against
    (Intel's libiomp5.so, from the intel-openmp wheel), then the copy of it that it ``vendored`` (as a wheel
    that bundles its own runtime does, loaded by path). A second runtime that finds the first initialised
    prints OMP Error #15 and aborts the process."""
    body = "    omp_get_max_threads();\n" if linked else ""
    if vendored:
        body += f"""    void *own = dlopen("{vendored}", RTLD_NOW | RTLD_LOCAL);
    if (!own) {{ PyErr_SetString(PyExc_ImportError, dlerror()); return NULL; }}
    int (*threads)(void) = (int (*)(void))dlsym(own, "omp_get_max_threads");
    if (threads) threads();
"""
    src = folder / f"{name}.c"
    src.write_text(f"""
#include <Python.h>
#include <dlfcn.h>
int omp_get_max_threads(void);
PyMODINIT_FUNC PyInit_{name}(void) {{
{body}    static struct PyModuleDef def = {{PyModuleDef_HEAD_INIT, "{name}", NULL, -1, NULL}};
    return PyModule_Create(&def);
}}
""")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    link = [f"-L{linked.parent}", "-liomp5", f"-Wl,-rpath,{linked.parent}"] if linked else []
    subprocess.run(["gcc", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}", str(src),
                    "-o", str(folder / f"{name}{suffix}"), *link, "-ldl"], check=True)


def vendor_runtime(folder: Path, runtime: Path, name: str) -> Path:
    """A copy of the runtime in the package's own folder, as auditwheel and conda packages bundle one."""
    libs = folder / f"{name}.libs"
    libs.mkdir()
    return Path(shutil.copy(runtime, libs / runtime.name))


@pytest.fixture(scope="module")
def omp_kernel_python(tmp_path_factory):
    """A kernel venv with the intel-openmp wheel: a real lib/libiomp5.so."""
    from verdictkit import kernel_python_with

    root = tmp_path_factory.mktemp("ompenv") / "kenv"
    python = kernel_python_with(root, "intel-openmp")
    runtime = root / "lib" / "libiomp5.so"
    assert runtime.is_file(), "the intel-openmp wheel brings lib/libiomp5.so"
    return python, runtime


def test_kernel_killed_by_a_real_omp_15_is_named_after_the_restart(kernel_with, tmp_path, validate_report,
                                                                  omp_kernel_python):
    """Two real OpenMP runtimes abort a real kernel (LD_PRELOAD set, as users do to pick Intel's runtime).
    After the restart the report names OMP Error #15, both runtimes and LD_PRELOAD, not just SIGABRT: the
    crashed import was re-run in a child process and its stderr read by the same signatures."""
    python, runtime = omp_kernel_python
    work = tmp_path / "nb"
    work.mkdir()
    build_openmp_extension(work, "twomp", linked=runtime, vendored=vendor_runtime(work, runtime, "twomp"))
    kernel = kernel_with(python, work, env={"LD_PRELOAD": str(runtime)})
    kernel.execute("%load_ext dllmagic")
    kernel.execute_until_death("import twomp")
    kernel.restart()
    res = kernel.execute("%load_ext dllmagic")
    # At once: the record's report (SIGABRT), saying that the re-run is under way beside the kernel.
    (first,) = res.reports()
    assert first["findings"][0]["cause"] == "previous-run-crashed"
    assert any("re-running `import twomp` in a child process" in n for n in first["notes"]), first["notes"]
    assert kernel.execute("print('kernel free meanwhile')").stdout.strip() == "kernel free meanwhile"
    # Then the same display, brought up to date in place.
    report = kernel.updated_report(res)
    validate_report(report)
    top = report["findings"][0]
    assert top["kind"] == "openmp-conflict" and top["cause"] == "duplicate-openmp", top
    assert top["summary"].startswith("The previous run of this kernel died importing twomp")
    assert "Two copies of libiomp5.so" in top["summary"]
    ev = {e["fact"]: e["value"] for e in top["evidence"]}
    assert ev["initialising"] == ev["already initialised"] == "libiomp5.so"
    assert "OMP: Error #15: Initializing libiomp5.so, but found libiomp5.so already initialized" in \
        ev["the crashed import, re-run in a child process"]
    assert ev["the previous run of this kernel died"] == "SIGABRT while importing twomp"
    assert ev.get("LD_PRELOAD") == str(runtime)
    assert kernel.execute("print('alive')").stdout.strip() == "alive"
    # The record is read once: loading again in the same run shows no second report.
    kernel.execute("%unload_ext dllmagic")
    assert kernel.execute("%load_ext dllmagic").reports() == []


def test_a_crash_the_child_does_not_repeat_says_so(tmp_path):
    """Recorded SIGSEGV in an import that works in a fresh process: the report says the re-run imported it,
    so the crash needs what the kernel had loaded before, and keeps the recorded signal."""
    from dllmagic._crash import parse_fault_text
    from dllmagic.api import diagnose_crash

    (tmp_path / "harmless.py").write_text("VALUE = 1\n")
    text = ("Fatal Python error: Segmentation fault\n\nCurrent thread 0x00007f0000000002 (most recent call first):\n"
            '  File "<frozen importlib._bootstrap>", line 241 in _call_with_frames_removed\n'
            '  File "/srv/nb.py", line 3 in <module>\n')
    previous = parse_fault_text(text, "harmless", str(tmp_path / "x.fault"))
    sys.path.insert(0, str(tmp_path))
    try:
        report = diagnose_crash(previous, recheck=True, timeout=60)
    finally:
        sys.path.remove(str(tmp_path))
    top = report.findings[0]
    assert top.cause == "previous-run-crashed" and "SIGSEGV" in top.summary
    rerun = {e.fact: e.value for e in top.evidence}["the crashed import, re-run in a child process"]
    assert rerun.startswith("import harmless works alone in a fresh process: the crash needs"), rerun
    # With the packages the kernel had imported before it (the standard library left out).
    (tmp_path / "earlier.py").write_text("VALUE = 2\n")
    previous = dataclasses.replace(previous, imported_before=("json", "earlier", "harmless"))
    sys.path.insert(0, str(tmp_path))
    try:
        report = diagnose_crash(previous, recheck=True, timeout=60)
    finally:
        sys.path.remove(str(tmp_path))
    rerun = {e.fact: e.value for e in report.findings[0].evidence}["the crashed import, re-run in a child process"]
    assert rerun.startswith("import harmless works alone in a fresh process, and also after earlier:"), rerun


def test_a_crash_that_needs_an_earlier_import_is_found_by_the_second_re_run(kernel_with, tmp_path,
                                                                            validate_report, omp_kernel_python):
    """The classic OMP #15: each package imports fine alone; the kernel dies importing the second one (its
    own runtime finds the first package's initialised). The recorder lists what was imported before the
    crash, so the re-run after the restart imports that first and finds Error #15; no LD_PRELOAD here."""
    python, runtime = omp_kernel_python
    work = tmp_path / "nb"
    work.mkdir()
    build_openmp_extension(work, "ompfirst", linked=runtime)
    build_openmp_extension(work, "ompsecond", vendored=vendor_runtime(work, runtime, "ompsecond"))
    alone = subprocess.run([str(python), "-c", "import ompsecond"], cwd=work, capture_output=True)
    assert alone.returncode == 0, alone.stderr  # each one alone is fine
    kernel = kernel_with(python, work)
    kernel.execute("%load_ext dllmagic")
    assert kernel.execute("import ompfirst").status == "ok"
    kernel.execute_until_death("import ompsecond")
    kernel.restart()
    report = kernel.updated_report(kernel.execute("%load_ext dllmagic"))
    validate_report(report)
    top = report["findings"][0]
    assert top["kind"] == "openmp-conflict" and top["cause"] == "duplicate-openmp", top
    assert top["summary"].startswith("The previous run of this kernel died importing ompsecond")
    ev = {e["fact"]: e["value"] for e in top["evidence"]}
    rerun = ev["the crashed import, re-run in a child process"]
    assert rerun.startswith("import ompsecond works alone in a fresh process, but crashed again (SIGABRT) "
                            "after importing what the kernel had imported before it (ompfirst)"), rerun
    assert "OMP: Error #15: Initializing libiomp5.so, but found libiomp5.so already initialized" in rerun
    assert "LD_PRELOAD" not in ev
