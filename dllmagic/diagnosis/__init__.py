"""Rules: small functions that turn a failure plus facts into ranked findings.

A rule has the signature documented by :func:`rule_prototype` and is registered with :func:`register`
(or the ``@rule`` decorator) for the failure kinds it understands. Rules never print, never import the
failing module and never raise out of :func:`run_rules`: a rule that fails becomes a one-line note
(and, under the test suite, a loud error).
"""
from __future__ import annotations

import itertools
import os
import traceback
from functools import cached_property
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from .._record import MutableRecord, Record, field
from ..facts.distributions import DistributionIndex
from ..facts.system import System
from ..model import Failure, Finding, Interpreter

__all__ = ["Context", "register", "unregister", "rule", "run_rules", "rule_prototype", "strict_mode", "docs_for"]

#: Where the documentation pages live; a finding's ``docs`` is this plus ``kinds/<kind>.md#<cause>``.
DOCS_BASE = os.environ.get("DLLMAGIC_DOCS_BASE", "docs/")


def docs_for(kind: str, cause: str = "") -> str:
    return f"{DOCS_BASE}kinds/{kind}.md" + (f"#{cause}" if cause else "")


def strict_mode() -> bool:
    """Internal errors are loud under the test suite (DLLMAGIC_STRICT=1), quiet one-line notes otherwise."""
    return os.environ.get("DLLMAGIC_STRICT") == "1"


class Context(MutableRecord):
    """Everything a rule may look at. Facts are gathered lazily, once per report."""

    target: str
    failure: Optional[Failure]
    system: System
    interpreter: Optional[Interpreter]   # None when explaining a pasted text from another machine
    sys_path: Tuple[str, ...]
    stdlib_names: frozenset = frozenset()
    cwd: Optional[str] = None
    #: For a child-process import attempt: the probe's result ({"ok": bool, "file": ..., ...}).
    import_result: Optional[Dict[str, Any]] = None
    #: Modules loaded in the live process (name -> module), when diagnosing a live kernel.
    live_modules: Optional[Dict[str, Any]] = None
    #: The kernel's user namespace (__session__, __vsc_ipynb_file__) and input history, when live.
    user_ns: Optional[Dict[str, Any]] = None
    history: Optional[Sequence[str]] = None
    notes: List[str] = field(default_factory=list)
    cache: Dict[str, Any] = field(default_factory=dict)
    #: Evidence a rule offers in support of whatever finding ranks first (e.g. the loader's own trace),
    #: when it is not a finding of its own.
    supporting: List[Any] = field(default_factory=list)

    @cached_property
    def distributions(self) -> DistributionIndex:
        return DistributionIndex.for_paths(self.site_folders, self.system)

    @cached_property
    def site_folders(self) -> Tuple[str, ...]:
        """sys.path entries that are folders (site-packages, PYTHONPATH, the notebook folder ...)."""
        folders: List[str] = []
        pm = self.system.pathmod
        for entry in self.sys_path:
            path = entry or (self.cwd or "")
            if path and self.cwd and not pm.isabs(path):
                path = pm.join(self.cwd, path)   # relative entries are relative to the working folder
            path = pm.normpath(path) if path else path
            # One folder spelled twice ('' and the working folder, '.' and its full path) is searched once: a
            # module found there is one file, never one hiding another.
            if path and path not in folders and self.interpreter is not None and self.system.is_dir(path):
                folders.append(path)
        return tuple(folders)

    @property
    def module(self) -> str:
        """The dotted import name in question."""
        if self.failure and self.failure.module:
            return self.failure.module
        return self.target

    @property
    def top_level(self) -> str:
        return self.module.split(".")[0]


RuleFunc = Callable[[Context], Iterable[Finding]]


def rule_prototype(ctx: Context) -> Iterable[Finding]:
    """The signature of a rule.

    ``ctx.failure`` is the parsed failure (None for a pre-flight check of a healthy or absent package).
    Yield zero or more :class:`~dllmagic.model.Finding`; make fixes only through :mod:`dllmagic.fixes`.
    Yielding nothing means "not mine". Confidence is 0..1; the report ranks findings by it.
    """
    return ()


class _Registered(Record):
    func: RuleFunc
    kinds: Optional[Tuple[str, ...]]
    name: str


_RULES: List[_Registered] = []
_LOAD_NOTES: List[str] = []
#: Rule families shipped with dllmagic, imported (and so registered) when a report needs them.
BUILTIN_RULE_MODULES = (".not_found", ".healthy", ".crashed", ".environment", ".native", ".windows", ".numpy_abi", ".protobuf", ".openmp", ".gpu", ".cpu", ".installer", ".preflight", ".native_truth", ".macos", ".pins", ".declared")
_BUILTINS_LOADED = False
#: Every built-in rule, in the order importing all of BUILTIN_RULE_MODULES registers them, with its module and
#: kinds (written by scripts/regenerate_rule_index.py; tests/test_hook_speed.py keeps it in step): a report
#: imports only the families with a rule for its kind, and the rules still run in that order.
RULE_INDEX_FILE = "rule_index.json"
_INDEX: Optional[Dict[str, Any]] = None
_IMPORTED: set = set()
#: When each rule was registered (a counter), and the counter's value when the first report began: a rule
#: of the caller's registered before it runs before the built-in rules, one registered after runs after them.
_REGISTERED_AT: Dict[str, int] = {}
_FIRST_REPORT_AT: List[int] = []
_COUNTER = itertools.count()


def register(func: RuleFunc, *, kinds: Optional[Sequence[str]] = None, name: Optional[str] = None) -> RuleFunc:
    """Add a rule. ``kinds`` limits it to failures of those kinds (None: every failure and pre-flight)."""
    entry = _Registered(func, tuple(kinds) if kinds is not None else None, name or func.__qualname__)
    if all(r.name != entry.name for r in _RULES):
        _RULES.append(entry)
        _REGISTERED_AT[entry.name] = next(_COUNTER)
    return func


def unregister(name: str) -> None:
    _RULES[:] = [r for r in _RULES if r.name != name]
    _REGISTERED_AT.pop(name, None)


def rule(*kinds: str) -> Callable[[RuleFunc], RuleFunc]:
    """Decorator form of :func:`register`: ``@rule("module-not-found")``."""

    def deco(func: RuleFunc) -> RuleFunc:
        return register(func, kinds=kinds or None, name=f"{func.__module__}.{func.__qualname__}")

    return deco


def _rule_index() -> Dict[str, Any]:
    global _INDEX
    if _INDEX is None:
        import json

        try:
            with open(os.path.join(os.path.dirname(__file__), RULE_INDEX_FILE), encoding="utf-8") as f:
                _INDEX = json.load(f)
        except (OSError, ValueError):
            _INDEX = {"rules": []}  # no index: every family is imported
    return _INDEX


def _import_family(name: str) -> None:
    import importlib

    if name in _IMPORTED:
        return
    _IMPORTED.add(name)
    try:
        importlib.import_module(name, __name__)
    except ImportError as exc:  # a rule family that has not landed must not break the others
        if strict_mode():
            raise
        _LOAD_NOTES.append(f"rule module {name} unavailable: {exc}")


def _load_builtin_rules(kind: Optional[str] = None) -> None:
    """Import the rule families a report of ``kind`` needs (all of them when ``kind`` is None, or when the
    index names no rule for it: a rule added since the index was written is never left out)."""
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    if not _FIRST_REPORT_AT:
        _FIRST_REPORT_AT.append(next(_COUNTER))
    rules = _rule_index()["rules"]
    if kind is None or not any(kinds and kind in kinds for _name, _module, kinds in rules):
        _BUILTINS_LOADED = True
        for name in BUILTIN_RULE_MODULES:
            _import_family(name)
        return
    for _name, module, kinds in rules:
        if kinds is None or kind in kinds:
            _import_family(module)


def _in_order(rules: Sequence[_Registered]) -> List[_Registered]:
    """The rules in the order a full import registers them: the caller's rules registered before the first
    report, the built-in ones in the index's order, then the caller's rules registered since."""
    position = {entry[0]: i for i, entry in enumerate(_rule_index()["rules"])}
    first = _FIRST_REPORT_AT[0] if _FIRST_REPORT_AT else 0

    def key(entry: _Registered) -> Tuple[int, int]:
        if entry.name in position:
            return (1, position[entry.name])
        at = _REGISTERED_AT.get(entry.name, 0)
        return (0 if at < first else 2, at)

    return sorted(rules, key=key)


def run_rules(ctx: Context) -> List[Finding]:
    kind = ctx.failure.kind if ctx.failure else "healthy"
    _load_builtin_rules(kind)
    ctx.notes.extend(n for n in _LOAD_NOTES if n not in ctx.notes)
    findings: List[Finding] = []
    for entry in _in_order(_RULES):
        if entry.kinds is not None and kind not in entry.kinds:
            continue
        try:
            findings.extend(entry.func(ctx) or ())
        except Exception as exc:
            if strict_mode():
                raise
            last = traceback.extract_tb(exc.__traceback__)[-1:]
            where = f" at {os.path.basename(last[0].filename)}:{last[0].lineno}" if last else ""
            ctx.notes.append(f"internal error in rule {entry.name}{where}: {type(exc).__name__}: {exc}")
    # Highest confidence first; a stable sort keeps registration order among equals.
    findings.sort(key=lambda f: -f.confidence)
    findings = _dedupe(findings)
    try:  # one fix per distinct action (normalised names), so every view numbers the same list
        from ..planner.installer import fit_installer
        from ..planner.plan import dedupe_fixes

        findings = dedupe_fixes(fit_installer(ctx, findings))
    except Exception as exc:
        if strict_mode():
            raise
        ctx.notes.append(f"internal error in the fix planner: {type(exc).__name__}: {exc}")
    findings = _honest_healthy(findings)
    if not findings and ctx.failure is not None:
        findings = [_fallback(ctx)]
    if findings and ctx.supporting:
        top = findings[0]
        extra = tuple(e for e in ctx.supporting if e not in top.evidence)
        findings[0] = top.replace(evidence=tuple(top.evidence) + extra)
    return findings


#: Causes that say an import which works is not what the user's code gets (or no longer what is on disk, or
#: only an empty namespace package made from a folder of that name: the distribution is not installed).
VERDICT_BREAKERS = ("shadowed-by-local-file", "restart-needed", "not-installed")


def _honest_healthy(findings: List[Finding]) -> List[Finding]:
    """Never "healthy" beside a finding that says the working import is the wrong module or a stale one."""
    if any(f.cause in VERDICT_BREAKERS for f in findings):
        return [f for f in findings if not (f.kind == "healthy" and f.cause == "healthy")]
    return findings


def _fallback(ctx: Context) -> Finding:
    """What the failure itself says, when no rule could say more."""
    from ..model import Evidence

    failure = ctx.failure
    evidence = [Evidence("error", f"{failure.exc_type}: {failure.message.splitlines()[0][:400] if failure.message else ''}",
                         "the exception")]
    for label, value in (("module", failure.module), ("extension module", failure.extension),
                         ("library", failure.library), ("symbol", failure.symbol), ("version", failure.version),
                         ("required by", failure.required_by)):
        if value:
            evidence.append(Evidence(label, value, "the error message"))
    what = failure.kind.replace("-", " ")
    return Finding(kind=failure.kind if failure.kind else "unknown", cause="unexplained", confidence=0.3,
                   summary=f"The import failed ({what}); dllmagic has no rule yet that explains this case further.",
                   evidence=tuple(evidence), docs=docs_for(failure.kind or "unknown"))


def _dedupe(findings: List[Finding]) -> List[Finding]:
    # One finding per (kind, cause): the most confident one (the list is already sorted).
    seen = set()
    out = []
    for finding in findings:
        key = (finding.kind, finding.cause)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out
