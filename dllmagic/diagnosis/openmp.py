"""OpenMP: two runtimes in one process (``OMP: Error #15``).

Cause id ``duplicate-openmp``. From the text: the two library names (or, for mkl-service's refusal, the
threading layer MKL was asked for and the runtime already loaded). In a live kernel: every OpenMP runtime
mapped into the process (/proc/self/maps) and the package each belongs to.
"""
from __future__ import annotations

from typing import Iterable, List

from .. import fixes
from ..facts.process import openmp_runtimes_loaded, owner_of
from ..knowledge import tables as knowledge_tables
from ..model import Evidence, Finding, Fix
from . import Context, docs_for, rule
from ._common import detail, is_conda, kernel_evidence


@rule("openmp-conflict")
def duplicate_openmp(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    if detail(ctx, "mkl_threading_layer"):
        yield _mkl_threading_layer(ctx)
        return
    first = failure.library or ""
    other = detail(ctx, "other_library") or first
    evidence = kernel_evidence(ctx)
    if first:
        evidence += [Evidence("initialising", first, "the error message"),
                     Evidence("already initialised", other, "the error message")]
    else:   # only the runtime's hint was pasted: it names no library
        evidence.append(Evidence("the text says", "multiple copies of the OpenMP runtime have been linked into the "
                                 "program", "the error message (OpenMP's hint)"))
    entry = knowledge_tables.openmp_runtime(first)
    if entry:
        evidence.append(Evidence("runtime", entry["runtime"], entry["source"]))
        evidence.append(Evidence("commonly brought in by", "; ".join(entry["shipped_by"]), entry["source"]))
    # The maps describe the process at hand: this kernel (live_modules is set when diagnosing it) or a
    # modelled one; never the parent of a child-process check, whose maps say nothing of the child.
    this_process = ctx.live_modules is not None or not ctx.system.live
    loaded = openmp_runtimes_loaded(ctx.system) if ctx.interpreter is not None and this_process else []
    owners: List[str] = []
    for runtime in loaded:
        evidence.append(Evidence(f"loaded: {runtime.runtime}", f"{runtime.path} (from {runtime.owner})", runtime.source))
        owners.append(runtime.owner)
    if not loaded:
        for name in {first, other}:
            owner = owner_of(name)
            if owner != "unknown":
                owners.append(owner)
    fix_list: List[Fix] = [fixes.instruction(
        "Install the packages that bring OpenMP from one source",
        "Two copies of the runtime come from packages built by different vendors (for example conda's MKL "
        "numpy with pip's torch). Install them all with conda, or all with pip, in a fresh environment"
        + (" (this is a conda environment: prefer conda packages, e.g. conda install -c conda-forge pytorch)"
           if is_conda(ctx) else "") + ".")]
    fix_list.append(fixes.env_var("KMP_DUPLICATE_LIB_OK", "TRUE",
                                  "Last resort: let Intel's runtime tolerate the second copy (may crash or give wrong "
                                  "results)"))
    from_text = f" ({' and '.join(sorted(set(owners)))})" if owners else ""
    same = first.lower() == other.lower()
    previous = (f"The previous run of this kernel died{' importing ' + failure.module if failure.module else ''}: "
                if failure.signature == "previous-run" else "")
    yield Finding(
        kind="openmp-conflict", cause="duplicate-openmp", confidence=0.92,
        summary=previous + ("More than one copy of an OpenMP runtime was loaded into one process (the text does not name "
                 "them)" if not first else
                 f"Two copies of {first} were loaded into one process{from_text}" if same else
                 f"Two OpenMP runtimes, {first} and {other}, were loaded into one process{from_text}")
                + ": each package brought its own. Only one may be initialised.",
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("openmp-conflict", "duplicate-openmp"))


def _mkl_threading_layer(ctx: Context) -> Finding:
    """mkl-service: "MKL_THREADING_LAYER=INTEL is incompatible with libgomp.so.1 library" — MKL would start
    Intel's OpenMP runtime in a process where GNU's is already loaded (by a package imported first)."""
    failure = ctx.failure
    layer = detail(ctx, "mkl_threading_layer") or ""
    loaded = failure.library or "another OpenMP runtime"
    evidence = kernel_evidence(ctx) + [
        Evidence("MKL threading layer asked for", layer, "the error message"),
        Evidence("OpenMP runtime already loaded", loaded, "the error message")]
    fix_list: List[Fix] = []
    if "gomp" in loaded.lower():
        fix_list.append(fixes.env_var("MKL_THREADING_LAYER", "GNU",
                                      "Make MKL use the GNU OpenMP runtime that is already loaded"))
    fix_list.append(fixes.instruction(
        "Import numpy before the package that loads the other runtime",
        f"mkl-service chooses MKL's threading layer when numpy is first imported; {loaded} was loaded before that. "
        "Importing numpy first (or installing the packages from one source) lets one runtime serve both."))
    return Finding(
        kind="openmp-conflict", cause="duplicate-openmp", confidence=0.85,
        summary=f"MKL was to start with its {layer} threading layer (Intel's OpenMP runtime) while {loaded} was "
                f"already loaded into the process; mkl-service refuses to run two OpenMP runtimes side by side.",
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("openmp-conflict", "duplicate-openmp"))
