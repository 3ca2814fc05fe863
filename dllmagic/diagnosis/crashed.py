"""An import that killed its process (a signal, or faulthandler's record of a dead kernel)."""
from __future__ import annotations

from typing import Iterable, List

from .. import fixes
from ..model import Evidence, Finding
from . import Context, docs_for, rule

_MEANING = {
    "SIGILL": "an illegal instruction: the binary uses CPU instructions (often AVX/AVX2) this processor lacks",
    "SIGSEGV": "a segmentation fault inside native code",
    "SIGABRT": "native code aborted (often two incompatible copies of a library, or a failed assertion)",
    "SIGBUS": "a bus error inside native code (a truncated or replaced library file)",
    "SIGFPE": "a floating-point exception inside native code",
}


#: Variables that change which native libraries a process loads: shown whenever set, for any crash.
LOADER_VARIABLES = ("LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "DYLD_LIBRARY_PATH")


def crashing_frames(text: str) -> List[str]:
    """The Python frames of the thread that crashed (faulthandler's "Current thread" block, innermost
    first), not those of a worker thread listed before it; every frame when no block is marked."""
    lines = (text or "").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Current thread ")), None)
    if start is not None:
        block = []
        for line in lines[start + 1:]:
            if not line.strip() or line.startswith(("Thread ", "Current thread ", "Extension modules:")):
                break
            block.append(line)
        lines = block
    return [line.strip() for line in lines if line.strip().startswith("File ")]


def loader_evidence(ctx: Context) -> List[Evidence]:
    return [Evidence(name, value, "environment variable") for name in LOADER_VARIABLES
            for value in [ctx.system.getenv(name)] if value]


@rule("import-crashed", "unsupported-cpu", "openmp-conflict", "missing-shared-library", "missing-symbol",
      "symbol-version", "native-init-failed", "numpy-abi-mismatch", "architecture-mismatch")
def loader_context(ctx: Context) -> Iterable[Finding]:
    """Whatever explains a crash or a native load failure, LD_PRELOAD and LD_LIBRARY_PATH (when set) go with
    the top finding: they change which libraries the process loads."""
    if ctx.interpreter is not None:  # the machine's own variables; a pasted text from elsewhere has none
        ctx.supporting.extend(e for e in loader_evidence(ctx) if e not in ctx.supporting)
    failure = ctx.failure
    if failure is not None and failure.signature == "previous-run" and failure.kind not in (
            "import-crashed", "unsupported-cpu"):
        # A cause found in a dead kernel's record (the re-run's native words): say it was the previous run.
        where = f"while importing {failure.module}" if failure.module else "outside an import"
        extra = [Evidence("the previous run of this kernel died", f"{failure.signal or 'fatal error'} {where}",
                          failure.required_by or "faulthandler")]
        said = native_words(failure.message or "")
        if said and not any(said[:300] in e.value for e in ctx.supporting):
            extra.append(Evidence("the native library's last words", said[:300], "stderr"))
        ctx.supporting.extend(e for e in extra if e not in ctx.supporting)
    return ()


def native_words(text: str) -> str:
    """The first line native code printed before the fatal signal (what precedes faulthandler's record)."""
    head = (text or "").split("Fatal Python error:", 1)[0]
    return next((line.strip() for line in head.splitlines() if line.strip()), "")


@rule("import-crashed", "unsupported-cpu")
def crashed(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    sig = failure.signal or ""
    module = failure.module or ctx.target
    meaning = _MEANING.get(sig, "the process was killed")
    evidence = [Evidence("the process ended with", sig or "a fatal error", failure.required_by or "exit status")]
    frames = crashing_frames(failure.message or "")
    if frames:
        evidence.append(Evidence("innermost Python frame", frames[0], "faulthandler (the crashing thread)"))
    if sig == "SIGILL":
        from ..facts.hardware import cpu_facts

        cpu = cpu_facts(ctx.system)
        if cpu is not None:
            present = [f.upper() for f in ("sse4_2", "avx", "avx2", "fma", "avx512f") if cpu.has(f)]
            missing = [f.upper() for f in ("sse4_2", "avx", "avx2", "fma", "avx512f") if not cpu.has(f)]
            evidence.append(Evidence("CPU features", f"present: {', '.join(present) or 'none of these'}; "
                                     f"missing: {', '.join(missing) or 'none'}", cpu.source))
            if cpu.model:
                evidence.append(Evidence("CPU", cpu.model, cpu.source))
    abort_line = next((line.strip() for line in (failure.message or "").splitlines()
                       if "Assertion" in line or "double free" in line or "corrupted" in line
                       or line.startswith(("terminate called", "*** "))), None)
    if abort_line:
        evidence.append(Evidence("the native library's last words", abort_line[:300], "stderr"))
        meaning = f"native code aborted: {abort_line[:200]}"
    kind = "unsupported-cpu" if sig == "SIGILL" else failure.kind
    if failure.signature == "previous-run":
        yield _previous_run(ctx, module if failure.module else None, sig, meaning, evidence, kind)
        return
    if module:
        summary = f"Importing {module} killed the Python process: {meaning}."
        fix = fixes.instruction(
            f"Find the native library behind the crash of {module}",
            f"Run  python -X faulthandler -c \"import {module}\"  in a terminal with this environment to see the "
            f"native stack; then install a build of {_distribution(ctx, module)} made for this CPU and these "
            f"libraries.")
    else:   # the text names no module: say what is known, never render an empty name
        summary = f"An import killed the Python process: {meaning}."
        fix = fixes.instruction(
            "Find the import and the native library behind the crash",
            "Run the script again as  python -X faulthandler your_script.py  in a terminal with this environment: "
            "the native stack names the module and the library that crashed.")
    yield Finding(
        kind=kind, cause="crashed-in-import", confidence=0.85, summary=summary,
        evidence=tuple(evidence), fixes=(fix,), docs=docs_for(kind, "crashed-in-import"))


def _previous_run(ctx: Context, module, sig: str, meaning: str, evidence, kind: str) -> Finding:
    where = f"while importing {module}" if module else "outside an import"
    evidence = list(evidence) + [Evidence("fatal stack recorded in", ctx.failure.required_by or "", "faulthandler")]
    fix_list = []
    top = module.split(".")[0] if module else ""
    if top.isidentifier():
        fix_list.append(fixes.make("instruction", f"Re-run the import of {top} in a child process to confirm",
                                   cell=f"%dlldoctor {top}"))
    return Finding(
        kind=kind if module else "import-crashed", cause="previous-run-crashed", confidence=0.9,
        summary=f"The previous run of this kernel died {where} ({sig or 'fatal error'}: {meaning}).",
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for(kind, "previous-run-crashed"))


def _distribution(ctx: Context, module: str) -> str:
    """The distribution to name for ``module`` (cv2 → opencv-python) where it is known, else the module."""
    from .not_found import distribution_for

    dist, validated, _ = distribution_for(ctx, module)
    return dist if validated else module.split(".")[0]
