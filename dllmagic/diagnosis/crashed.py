"""An import that killed its process (a signal, or faulthandler's record of a dead kernel)."""
from __future__ import annotations

from typing import Iterable

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


@rule("import-crashed", "unsupported-cpu")
def crashed(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    sig = failure.signal or ""
    module = failure.module or ctx.target
    meaning = _MEANING.get(sig, "the process was killed")
    evidence = [Evidence("the process ended with", sig or "a fatal error", failure.required_by or "exit status")]
    frames = [line for line in (failure.message or "").splitlines() if line.strip().startswith("File ")]
    if frames:
        evidence.append(Evidence("innermost Python frame", frames[0].strip(), "faulthandler"))
    kind = "unsupported-cpu" if sig == "SIGILL" else failure.kind
    if failure.signature == "previous-run":
        yield _previous_run(ctx, module if failure.module else None, sig, meaning, evidence, kind)
        return
    if module:
        summary = f"Importing {module} killed the Python process: {meaning}."
        fix = fixes.instruction(
            f"Find the native library behind the crash of {module}",
            f"Run  python -X faulthandler -c \"import {module}\"  in a terminal with this environment to see the "
            f"native stack; then install a build of {module} made for this CPU and these libraries.")
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
