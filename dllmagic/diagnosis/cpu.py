"""A CPU without the instructions a build uses, and TensorFlow's "DLL initialization routine failed".

Cause ids: ``no-avx`` (the CPU lacks AVX/AVX2 and the build needs it), ``python-32-bit`` (a 32-bit
Python, for which TensorFlow and most binary packages publish nothing) and, for TensorFlow on Windows,
``vc-runtime-missing``. Each is checked on the machine when it is at hand (/proc/cpuinfo flags, the
interpreter's word size, System32's Visual C++ DLLs) and said to be checked; from a pasted text a cause is
offered only where the text itself shows it, with a lower confidence.
"""
from __future__ import annotations

import re
from typing import Iterable, List

from .. import fixes
from ..facts import hardware
from ..knowledge import tables as knowledge_tables
from ..model import Evidence, Finding
from . import Context, docs_for, rule
from ._common import detail, kernel_evidence, platform_of
from .windows import vc_fix, vc_runtime_check

_NEEDS_AVX = ("tensorflow", "tensorflow_intel", "tensorflow_cpu", "jaxlib")


def _top(ctx: Context) -> str:
    top = ((ctx.failure.module if ctx.failure else None) or ctx.target or "").split(".")[0]
    if not top and ctx.failure is not None:
        # A shell's crash line often still shows the command: "... python -c 'import tensorflow'".
        match = re.search(r"\bimport ([A-Za-z_]\w*)", ctx.failure.message or "")
        top = match.group(1) if match else ""
    return top


def _required_features(ctx: Context) -> List[str]:
    feature = detail(ctx, "feature")
    if feature:
        return [f.lower().replace(".", "_") for f in feature.split()]
    top = _top(ctx)
    builds = knowledge_tables.framework_builds(top) if top in knowledge_tables.framework_packages() else ()
    if builds and builds[0]["cpu_features"]:
        return list(builds[0]["cpu_features"])
    return ["avx"] if top in _NEEDS_AVX else []


def _thirty_two_bit_from_text(ctx: Context) -> bool:
    text = " ".join(filter(None, [ctx.failure.message, detail(ctx, "found_path"), ctx.failure.extension]))
    return bool(re.search(r"Python3\d*-32|Program Files \(x86\)|win32\\|\\x86\\", text))


@rule("unsupported-cpu", "native-init-failed", "import-crashed")
def cpu_checks(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    top = _top(ctx)
    tensorflow = top.startswith("tensorflow") or "tensorflow" in (failure.message or "").lower()
    relevant = failure.kind == "unsupported-cpu" or tensorflow
    if not relevant:
        return
    evidence = kernel_evidence(ctx)
    checked: List[str] = []
    it = ctx.interpreter
    # 1. 32-bit Python: nothing else matters if the interpreter cannot have such a build at all.
    if it is not None:
        checked.append(f"word size: {it.bits}-bit Python")
        if it.bits == 32:
            yield _thirty_two(ctx, evidence, proven=True)
            return
    elif _thirty_two_bit_from_text(ctx):
        yield _thirty_two(ctx, evidence, proven=False)
    # 2. CPU features.
    needed = _required_features(ctx)
    cpu = hardware.cpu_facts(ctx.system) if it is not None else None
    if needed and cpu is not None:
        lacking = [f for f in needed if not cpu.has(f)]
        checked.append(f"CPU features ({cpu.source}): " + ", ".join(
            f"{f.upper()} {'missing' if f in lacking else 'present'}" for f in needed))
        if lacking:
            yield _no_avx(ctx, evidence + [Evidence("CPU", cpu.model or "unknown model", cpu.source),
                                           Evidence("instructions the build needs but the CPU lacks",
                                                    ", ".join(f.upper() for f in lacking), cpu.source)],
                          lacking, confidence=0.96)
            return
    elif needed and (detail(ctx, "feature") or failure.signal == "SIGILL" or failure.kind == "unsupported-cpu"):
        said = detail(ctx, "feature")
        yield _no_avx(ctx, evidence + [Evidence("the text says", f"the build needs {said}" if said else
                                                "an illegal instruction (SIGILL) killed the import", "the error message")],
                      [f.lower() for f in (said.split() if said else needed)],
                      # A named package that needs AVX and an illegal instruction: more than the bare crash says.
                      confidence=0.9 if said else (0.87 if top else 0.8))
    elif not needed and it is None and failure.kind == "unsupported-cpu" and failure.signal == "SIGILL":
        # A pasted illegal instruction that names no package: the CPU lacks an instruction the binary uses,
        # which set the text does not say (a deliberate trap also raises SIGILL: hence the lower confidence).
        yield _no_avx(ctx, evidence + [Evidence("the text says", "an illegal instruction (SIGILL) killed the "
                                                "process", "the error message")], [], confidence=0.86)
    # 3. Visual C++ runtime, for TensorFlow's DLL-initialisation failure on Windows.
    if tensorflow and failure.kind == "native-init-failed" and platform_of(ctx) == "windows":
        missing = vc_runtime_check(ctx)
        if missing is not None:
            checked.append("Visual C++ runtime: " + ("complete" if not missing else "missing " + ", ".join(missing)))
        if missing or missing is None:
            yield Finding(
                kind="native-init-failed", cause="vc-runtime-missing", confidence=0.9 if missing else 0.55,
                summary="TensorFlow's DLLs need the Visual C++ 2015-2022 runtime (msvcp140_1.dll included)"
                        + (f"; {', '.join(missing)} is missing from System32." if missing else
                           ", which may be missing or too old; its DLL-initialisation failure is also what a CPU "
                           "without AVX produces."),
                evidence=tuple(evidence + [Evidence("checked", "; ".join(checked), "this machine")] if checked
                               else evidence),
                fixes=(vc_fix(),), docs=docs_for("native-init-failed", "vc-runtime-missing"))
    if checked and it is not None:
        ctx.notes.append("checked for " + (top or "the import") + ": " + "; ".join(checked))


def _no_avx(ctx: Context, evidence: List[Evidence], lacking: List[str], confidence: float) -> Finding:
    kind = ctx.failure.kind if ctx.failure.kind in ("unsupported-cpu", "native-init-failed") else "unsupported-cpu"
    if not lacking:   # an illegal instruction, and no knowledge of the set the build needs
        named = _top(ctx)
        return Finding(
            kind=kind, cause="no-avx", confidence=confidence,
            summary="The import hit an illegal instruction: "
                    + (f"a binary of {named}" if named else "a binary it loaded")
                    + " uses an instruction set this CPU lacks (AVX/AVX2 for most such builds; the text does not say"
                    + (" which)." if named else " which, nor which package)."),
            evidence=tuple(evidence), fixes=(fixes.instruction(
                f"Install a build of {named} made for this CPU" if named else
                "Find the package, then install a build of it made for this CPU",
                ("" if named else "Run the script again as  python -X faulthandler your_script.py  to see which "
                 "import dies; then ") + "install it from conda-forge (builds for older CPUs), an older release, or "
                "build it from source. In a virtual machine, pass the host CPU's features through."),),
            docs=docs_for(kind, "no-avx"))
    top = _top(ctx) or "this package"
    names = ", ".join(f.upper() for f in lacking) or "AVX"
    fix_list = [fixes.instruction(
        f"Use a build of {top} made without {names}",
        f"Official {top} binaries use {names} (TensorFlow since 1.6). On this CPU: install it from conda-forge "
        f"(conda install -c conda-forge {top}), build it from source, or run on a machine whose CPU has {names}.")]
    return Finding(
        kind=kind, cause="no-avx", confidence=confidence,
        summary=f"This CPU lacks {names}, which the binaries of {top} are built to use, so the import fails "
                f"({'an illegal instruction' if ctx.failure.kind != 'native-init-failed' else 'the DLL cannot initialise'}).",
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for(kind, "no-avx"))


def _thirty_two(ctx: Context, evidence: List[Evidence], proven: bool) -> Finding:
    top = _top(ctx) or "the package"
    return Finding(
        kind=ctx.failure.kind, cause="python-32-bit", confidence=0.95 if proven else 0.7,
        summary=f"This is a 32-bit Python; {top} publishes 64-bit builds only.",
        evidence=tuple(evidence + [Evidence("word size", "32-bit" if proven else "a 32-bit Python path",
                                            "struct.calcsize('P')" if proven else "the paths in the text")]),
        fixes=(fixes.instruction("Install a 64-bit Python", "Download the 64-bit (x86-64) installer from "
                                 "python.org or use a 64-bit conda, then recreate the environment."),),
        docs=docs_for(ctx.failure.kind, "python-32-bit"))
