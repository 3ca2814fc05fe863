"""Ground truth beside the model: the loader's own verdict (LD_DEBUG) next to the emulation's.

On a live Linux machine, when an extension module failed to load (a missing library, an undefined
symbol, a missing symbol version), the failing import is run again in a child of the target
interpreter with ``LD_DEBUG=libs,files,versions`` (:func:`dllmagic.facts.native.ldtrace.trace_import`)
and every dlopen() of that child is replayed on the emulation (:func:`~dllmagic.facts.native.ldtrace.compare`).
What ld.so did becomes evidence; a difference between the two is a note in ``ctx.notes``, never hidden.

This module does not make the main finding (that is :mod:`.native`'s). It offers the facts to every
rule through the context cache:

``ctx.cache["native-ground-truth"]`` (the key is :data:`CACHE_KEY`)
    a :class:`NativeGroundTruth`, filled by :func:`native_ground_truth` on first call (call that
    function rather than reading the key: it computes and caches, and returns None where no trace can
    be had - not live, not Linux, no extension file). Its ``evidence`` is a tuple of
    :class:`~dllmagic.model.Evidence` ready to append to a finding's evidence; ``agrees`` is True, False
    (the emulation and ld.so differ: see ``disagreements``) or None (no verdict could be had).

A main rule includes it with::

    from .native_truth import native_ground_truth
    truth = native_ground_truth(ctx)
    evidence += truth.evidence if truth else ()

For reports whose main rule does not (yet) include it, :func:`loader_verdict` adds a supporting
finding of confidence 0.5 that carries the same evidence; the report keeps the more confident finding
of a (kind, cause) pair, so a main finding of the same cause replaces it.
"""
from __future__ import annotations

from typing import Iterable, Optional, Tuple

from .._record import Record
from ..model import Evidence, Finding
from . import Context, docs_for, rule

__all__ = ["CACHE_KEY", "KINDS", "NativeGroundTruth", "applicable", "native_ground_truth", "loader_verdict"]

CACHE_KEY = "native-ground-truth"
KINDS = ("missing-shared-library", "missing-symbol", "symbol-version")
#: The (existing) cause id the supporting finding uses for each kind.
_CAUSE = {"missing-shared-library": "library-not-found", "missing-symbol": "symbol-missing",
          "symbol-version": "symbol-version-too-old"}
SOURCE = "ld.so (LD_DEBUG=libs,files,versions, import re-run in a child process)"


class NativeGroundTruth(Record):
    """The traced import beside the emulation, ready to be evidence."""

    #: The :class:`~dllmagic.facts.native.ldtrace.Comparison`, or None when no trace could be had.
    comparison: Optional[object]
    evidence: Tuple[Evidence, ...]
    #: True: same verdict; False: they differ (see disagreements); None: no verdict.
    agrees: Optional[bool]
    disagreements: Tuple[str, ...] = ()
    #: The error of the import in the child ("ImportError: ..."), None when it succeeded there.
    child_error: Optional[str] = None


def applicable(ctx: Context) -> bool:
    """Live Linux machine, a target interpreter, a failure that names an extension file, and a report asked
    for on demand (``%dlldoctor``, ``dlldoctor check``): the traced child import is too slow for the hook that
    follows every failed cell."""
    failure = ctx.failure
    return bool(
        ctx.cache.get("on_demand") and failure is not None and failure.kind in KINDS and ctx.interpreter is not None
        and getattr(ctx.system, "live", False) and ctx.system.platform == "linux"
        and failure.extension and ctx.system.is_file(failure.extension))


def native_ground_truth(ctx: Context) -> Optional[NativeGroundTruth]:
    """The loader's own verdict for ``ctx``'s failing import, computed once per report (cached)."""
    if CACHE_KEY in ctx.cache:
        return ctx.cache[CACHE_KEY]
    truth = _gather(ctx) if applicable(ctx) else None
    ctx.cache[CACHE_KEY] = truth
    return truth


def _gather(ctx: Context) -> NativeGroundTruth:
    from ..facts.native import ldtrace

    failure = ctx.failure
    module = failure.module or ctx.module
    python = ctx.interpreter.executable
    try:
        trace = ldtrace.trace_import(python, module, sys_path=list(ctx.sys_path) or None,
                                     env=dict(ctx.system.environ), cwd=ctx.cwd)
    except OSError as exc:
        note = f"the loader's own verdict could not be had: cannot run {python}: {exc.strerror or exc}"
        ctx.notes.append(note)
        return NativeGroundTruth(None, (), None)
    comparison = ldtrace.compare(trace, ctx.system, python_executable=python)
    evidence = list(_evidence(trace, comparison, failure.extension))
    diffs = comparison.disagreements
    for note in trace.notes + comparison.notes:
        ctx.notes.append(f"LD_DEBUG trace: {note}")
    if diffs:
        ctx.notes.append("the loader emulation disagrees with ld.so's own trace of this import: "
                         + "; ".join(diffs[:5]) + (f" (and {len(diffs) - 5} more)" if len(diffs) > 5 else ""))
    elif not comparison.dlopens:
        ctx.notes.append("LD_DEBUG trace: the child loaded no extension module; nothing to compare")
    agrees = None if not comparison.dlopens else not diffs
    return NativeGroundTruth(comparison, tuple(evidence), agrees, diffs, trace.error)


def _evidence(trace, comparison, extension: str) -> Iterable[Evidence]:
    target = comparison.for_file(extension)
    if target is None:
        failed = [c for c in comparison.dlopens if c.dlopen.failed]
        target = failed[-1] if failed else None
    verdict = trace.error or "the import succeeded in a fresh process"
    if target is None:
        yield Evidence("the loader's own verdict (LD_DEBUG)",
                       f"{verdict}; ld.so did not dlopen {extension} in the child", SOURCE)
        return
    d = target.dlopen
    searched = []
    for s in d.searches:
        where = s.found or "not found"
        lists = ", ".join(src or "?" for _p, src in s.search_lists)
        searched.append(f"{s.name} => {where}" + (f" (searched: {lists})" if lists else ""))
    missing = [s.name for s in d.searches if s.found is None]
    head = f"{verdict}; dlopen({d.path}) " + ("failed" if d.failed else "succeeded")
    if missing:
        head += f"; not found: {', '.join(missing)}"
    yield Evidence("the loader's own verdict (LD_DEBUG)", head, SOURCE)
    if searched:
        shown = "; ".join(searched[:12]) + (f" … and {len(searched) - 12} more" if len(searched) > 12 else "")
        yield Evidence("libraries ld.so searched for", shown, SOURCE)
    emulated = [f"{p.kind} {p.name}" for p in target.emulated_problems]
    yield Evidence("the emulation's verdict", "; ".join(emulated[:8]) if emulated else "loads",
                   "dllmagic native loader (as imported)")
    if target.disagreements:
        yield Evidence("emulation and ld.so disagree", "; ".join(target.disagreements[:5]),
                       "comparison of the two")
    else:
        yield Evidence("emulation and ld.so agree",
                       f"the same {len(d.searches)} libraries searched for, the same files opened",
                       "comparison of the two")


@rule(*KINDS)
def loader_verdict(ctx: Context) -> Iterable[Finding]:
    """ld.so's own verdict beside the emulation's: evidence for the top finding when it confirms the failure,
    a finding of its own (confidence 0.5) when it disagrees or when the import works in a fresh process."""
    truth = native_ground_truth(ctx)
    if truth is None or not truth.evidence:
        return
    kind = ctx.failure.kind
    cause = _CAUSE[kind]
    if truth.agrees is not False and truth.child_error:
        # The trace confirms the failure the other rules explain: it supports their finding.
        ctx.supporting.extend(truth.evidence)
        return
    if truth.agrees is False:
        summary = ("The loader's own trace (LD_DEBUG) of this import differs from dllmagic's emulation; "
                   "both are shown, trust the trace.")
    elif truth.child_error:
        summary = f"The loader's own trace (LD_DEBUG) of this import confirms the failure: {truth.child_error}"
    else:
        summary = ("The import succeeds in a fresh process under the loader's trace (LD_DEBUG): the failure "
                   "depends on what the kernel had loaded before.")
    yield Finding(kind=kind, cause=cause, confidence=0.5, summary=summary[:600], evidence=truth.evidence,
                  docs=docs_for(kind, cause))
