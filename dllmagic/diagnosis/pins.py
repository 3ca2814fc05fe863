""""X requires Y>=N, but you have Y M": one installed package's requirement that the installed version of
another does not satisfy.

Cause id ``version-pin-conflict``. The texts come from pip (the resolver's warning after an install,
``pip check``), from ``pkg_resources`` (``ContextualVersionConflict``) and from packages that check their
dependencies when imported (transformers' ``require_version``, pandas, matplotlib, numba, SciPy); their
signatures are in ``knowledge/signatures.json``. The rule names who requires what, the installed version
(from the kernel's environment when there is one, else from the text), whether that version satisfies the
requirement (``packaging.specifiers``), and offers ``%pip install "Y>=N"`` (runnable only when Y is
installed or in the knowledge tables) or keeping Y and letting pip choose a release of X that accepts it.
protobuf and NumPy's removed aliases have rules of their own (protobuf.py, numpy_abi.py).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, List, Optional, Tuple

from .. import fixes
from .._record import Record
from .._regex import LazyRegex
from ..facts.distributions import normalize
from ..knowledge import load as load_table
from ..knowledge import tables as knowledge_tables
from ..model import Evidence, Finding, Fix
from . import Context, docs_for, rule
from ._common import detail, error_evidence, kernel_evidence, paths_in_text, pip, site_folder_of

__all__ = ["Pin", "pin_from_failure"]

_OWN_RULES = ("protobuf-descriptors-created-directly", "numpy-removed-attribute")
_NAME = r"[A-Za-z0-9][\w.\-]*"
#: pkg_resources: (dist version (location), Requirement.parse('spec'), {'who', ...})
_PKG_RESOURCES = LazyRegex(
    r"(?:VersionConflict: |^)\((?P<dep>" + _NAME + r") (?P<version>[\w.+!]+) \([^)]*\), Requirement\.parse\("
    r"['\"](?P<spec>[^'\"]+)['\"]\)(?:, \{(?P<who>[^}]*)\})?\)")
#: the lines of pip's warning / pip check, all of them (a text may hold several).
_PIP_LINE = LazyRegex(
    r"^[ \t]{0,40}(?P<who>" + _NAME + r") (?P<who_version>[\w.+!]+) (?:requires|has requirement) (?P<spec>[^\n]+?), "
    r"but you(?:'ll)? have (?P<dep>" + _NAME + r") (?P<version>[\w.+!]+?)(?: which is incompatible)?\.?[ \t]*$", re.M)
_TRY_PIP = LazyRegex(r"Try: `?pip install (?P<who>" + _NAME + r") -U\b")
_SPEC_SPLIT = LazyRegex(r"^\s*(?P<name>[A-Za-z0-9][\w.\-]*)\s*(?:\[[^\]]*\])?\s*(?P<spec>.*)$")


class Pin(Record):
    """``who`` (at ``who_version``) requires ``dependency`` ``spec``; ``found`` is what the text says is there."""

    dependency: str
    spec: str
    who: Optional[str] = None
    who_version: Optional[str] = None
    found: Optional[str] = None
    source: str = "the error message"

    @property
    def requirement(self) -> str:
        return f"{self.dependency}{self.spec}"


def _split(spec_text: str) -> Tuple[str, str]:
    match = _SPEC_SPLIT.match(spec_text or "")
    if not match:
        return "", ""
    return match.group("name"), re.sub(r"\s+", "", match.group("spec")).rstrip(".;")


def _or_less(version: str) -> str:
    """numba's "NumPy 2.0 or less" compares major.minor: 2.0.x is fine, 2.1 is not → ``<2.1``."""
    parts = version.split(".")
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return f"<{parts[0]}.{int(parts[1]) + 1}"
    return f"<={version}"


_PYTHON_MINOR = LazyRegex(r"[Pp]ython3(?:\.(\d{1,2})[\\/]|(\d{1,2})[\\/])")


def _calls_metadata_backport(ctx: Context, text: str) -> bool:
    """The EntryPoints the code met is the importlib_metadata backport's: the text calls it by name, or the Python
    (the environment's, else the one its paths show) is before 3.12, whose own importlib.metadata still returns the
    dict (3.8-3.11) or has none (3.7)."""
    if "importlib_metadata" in text:
        return True
    if ctx.interpreter is not None and ctx.interpreter.version:
        parts = ctx.interpreter.version.split(".")
        return len(parts) > 1 and parts[0] == "3" and parts[1].isdigit() and int(parts[1]) < 12
    minors = {int(a or b) for a, b in _PYTHON_MINOR.findall(text)}
    return bool(minors) and max(minors) < 12


def pin_from_failure(ctx: Context) -> Optional[Pin]:
    """The requirement the failure is about, from the signature's groups (or the text), or None."""
    failure = ctx.failure
    if failure is None:
        return None
    message = failure.message or ""
    text = "\n".join(filter(None, [message, str(ctx.cache.get("text") or "")]))
    signature = failure.signature or ""
    found = detail(ctx, "found_version")
    who = detail(ctx, "dependent") or detail(ctx, "requirement")
    who_version = detail(ctx, "requirement_version")
    source = "the installer output" if not failure.exc_type else "the error message"
    dep, spec = _split(detail(ctx, "dependency_spec") or "")
    if detail(ctx, "installed"):                      # pip: "you have urllib3 1.20"
        name, _, version = (detail(ctx, "installed") or "").partition(" ")
        dep = dep or name
        found = version or found
        source = "pip check" if "has requirement" in message else "pip's dependency resolver"
    if detail(ctx, "found") and "==" in (detail(ctx, "found") or ""):   # transformers: found tokenizers==0.20.3
        found = (detail(ctx, "found") or "").split("==", 1)[1].rstrip(".")
    if not dep and signature == "numba-needs-numpy" and detail(ctx, "required_version"):
        # "Numba needs NumPy 1.20 or less": the package's own range check at import.
        dep = "numpy"
        wanted = detail(ctx, "required_version") or ""
        spec = _or_less(wanted) if detail(ctx, "direction") in ("less", "lower", "older") else f">={wanted}"
    if not dep and detail(ctx, "dependency"):
        dep = detail(ctx, "dependency") or ""
        if detail(ctx, "minimum"):                    # pandas: incompatible with numpy < 1.22.4
            spec = f">={detail(ctx, 'minimum')}"
        elif detail(ctx, "dependency_range"):         # SciPy: >=1.22.4 and <2.3.0
            spec = re.sub(r"\s*and\s*", ",", detail(ctx, "dependency_range") or "")
            spec = re.sub(r"(===|[<>]=?|[=!~]=)\s+", r"\1", spec)   # TensorFlow Probability: ">= 2.11"
        elif failure.version and signature == "needs-dependency-version":   # numba: 2.0 or less / or greater
            less = re.search(re.escape(failure.version) + r" or (?:less|lower|older)", message)
            spec = _or_less(failure.version) if less else f">={failure.version}"
        elif failure.version:                         # pandas: requires version '2.8.4' or newer of 'numexpr'
            spec = f">={failure.version}"
            named = re.search(r"\b(\w[\w.\-]*) requires version", message)
            who = who or (named.group(1) if named else None)
    if not spec and signature == "importlib-metadata-entrypoints-get" and _calls_metadata_backport(ctx, text):
        # The code calls the backport (importlib_metadata.entry_points().get): the dict it expects went in 5.0. (The
        # standard library's importlib.metadata lost it in Python 3.12: no pin of the backport helps there.)
        dep, spec = "importlib-metadata", "<5"
        owners = [f for f in (site_folder_of(p) for p in paths_in_text(ctx)) if f and f != "importlib_metadata"]
        who = who or (owners[-1] if owners else None)
    match = _PKG_RESOURCES.search(text) or _PKG_RESOURCES.search(message)
    if match and not dep:
        dep, spec = _split(match.group("spec"))
        found = match.group("version")
        whos = re.findall(r"['\"]([^'\"]+)['\"]", match.group("who") or "")
        who = whos[0] if whos else None
        source = "pkg_resources"
    if detail(ctx, "conflict_dist"):                  # the raised ContextualVersionConflict's own message
        whos = re.findall(r"['\"]([^'\"]+)['\"]", detail(ctx, "required_by_dists") or "")
        who = who or (whos[0] if whos else None)
        source = "pkg_resources"
    if not who:
        tried = _TRY_PIP.search(text)                 # transformers: Try: `pip install transformers -U`
        if tried:
            who = tried.group("who")
        else:
            owners = [f for f in (site_folder_of(p) for p in paths_in_text(ctx)) if f]
            if owners and "required for a normal functioning" in message:
                who = owners[-1]
    if not dep or not spec or normalize(dep) == "python":
        return None
    # pip's names are case-insensitive: "NumPy", "Matplotlib" in a message are numpy, matplotlib to pip.
    return Pin(dependency=normalize(dep), spec=spec, who=normalize(who) if who else None, who_version=who_version,
               found=found.rstrip(".") if found else None, source=source)


def _other_pip_lines(ctx: Context, pin: Pin) -> List[Pin]:
    text = "\n".join(filter(None, [ctx.failure.message if ctx.failure else "", str(ctx.cache.get("text") or "")]))
    out = []
    for match in _PIP_LINE.finditer(text):
        dep, spec = _split(match.group("spec"))
        other = Pin(dependency=dep, spec=spec, who=match.group("who"), who_version=match.group("who_version"),
                    found=match.group("version"), source="pip")
        if (normalize(other.who or ""), normalize(dep)) != (normalize(pin.who or ""), normalize(pin.dependency)):
            out.append(other)
    return out


@lru_cache(maxsize=None)
def _table_distributions() -> frozenset:
    """Distribution names the knowledge tables know (so a fix naming them may be one click away)."""
    names = set()
    for entry in knowledge_tables.import_names().values():
        names.add(entry["dist"])
        names.update(entry.get("alternatives") or ())
    names.update(knowledge_tables.numpy2_support())
    names.update(knowledge_tables.framework_packages())
    for entry in load_table("library_providers")["entries"]:
        if entry.get("pip_alternative"):
            names.add(entry["pip_alternative"]["dist"])
    for entry in load_table("cuda_libraries")["entries"]:
        names.update(entry["pip"])
    names.update({"numpy", "protobuf"})
    return frozenset(normalize(n) for n in names if isinstance(n, str))


def _known(ctx: Context, name: Optional[str]) -> bool:
    if not name:
        return False
    if ctx.interpreter is not None and ctx.distributions.get(name) is not None:
        return True
    return normalize(name) in _table_distributions()


def _satisfies(spec: str, version: Optional[str]) -> Optional[bool]:
    if not version:
        return None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        return SpecifierSet(spec).contains(Version(version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return None


def _declared(ctx: Context, who: Optional[str], dependency: str) -> Optional[Tuple[str, str, str]]:
    """(who's installed version, its Requires-Dist for ``dependency``, where) in the kernel's environment."""
    if ctx.interpreter is None or not who:
        return None
    dist = ctx.distributions.get(who)
    if dist is None:
        return None
    for req in dist.requirements():
        if normalize(req.name) == normalize(dependency):
            return dist.version, f"{req.name}{req.specifier}", dist.path + "/METADATA"
    return dist.version, "", dist.path + "/METADATA"


def _others_constraining(ctx: Context, dependency: str, who: Optional[str]) -> List[Tuple[str, str, str]]:
    """Other installed distributions that declare a requirement on ``dependency``: (name, spec, where)."""
    out = []
    if ctx.interpreter is None:
        return out
    for dist in ctx.distributions.all():
        if who and normalize(dist.name) == normalize(who):
            continue
        for req in dist.requirements():
            if normalize(req.name) == normalize(dependency) and str(req.specifier):
                out.append((f"{dist.name} {dist.version}", f"{req.name}{req.specifier}", dist.path + "/METADATA"))
    return out


@rule("dependency-conflict")
def version_pin_conflict(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    if failure is None or failure.signature in _OWN_RULES:
        return
    pin = pin_from_failure(ctx)
    if pin is None or pin.dependency.split(".")[0] in ctx.stdlib_names:
        return  # never a pin for a standard-library module
    evidence = kernel_evidence(ctx)
    evidence.append(error_evidence(ctx))
    who = pin.who
    who_version = pin.who_version
    spec = pin.spec
    declared = _declared(ctx, who, pin.dependency)
    if declared:
        who_version = who_version or declared[0]
        if declared[1]:
            evidence.append(Evidence(f"{who} {declared[0]} declares", declared[1], declared[2]))
    who_text = f"{who} {who_version}" if who and who_version else (who or "an installed package")
    evidence.append(Evidence(f"{who_text} requires", pin.requirement, pin.source))

    installed = None
    if ctx.interpreter is not None:
        dist = ctx.distributions.get(pin.dependency)
        if dist is not None:
            installed = dist.version
            evidence.append(Evidence(f"installed {dist.name}", dist.version, dist.path))
        else:
            evidence.append(Evidence(f"installed {pin.dependency}", "none in this environment", "the environment"))
    if pin.found and pin.found != installed:
        evidence.append(Evidence(f"{pin.dependency} version the message reports", pin.found, pin.source))
    version = installed or pin.found
    ok = _satisfies(spec, version)
    if ok is not None:
        evidence.append(Evidence(f"{pin.dependency} {version} satisfies {pin.requirement}", "yes" if ok else "no",
                                 "packaging.specifiers"))
    for other in _other_pip_lines(ctx, pin)[:6]:
        evidence.append(Evidence(f"{other.who} {other.who_version} requires", other.requirement, other.source))
    others = _others_constraining(ctx, pin.dependency, who)
    for name, req, where in others[:4]:
        evidence.append(Evidence(f"{name} also declares", req, where))

    fix_list: List[Fix] = []
    dep_known = _known(ctx, pin.dependency)
    if ok and installed:
        # The environment agrees now: the process still holds the version it imported before.
        fix_list.append(fixes.restart_kernel(f"{pin.dependency} {installed} is installed now and satisfies "
                                             f"{pin.requirement}"))
    else:
        # The spec is what the dependent declares: that is the evidence for its bounds (no added <major).
        fix = pip(ctx, [pin.requirement], validated=dep_known, allow_major=True,
                  title=f"Install {pin.requirement}, what {who or 'the package'} requires")
        if fix:
            fix_list.append(fix)
        if who and version:
            keep = pip(ctx, [who, f"{pin.dependency}=={version}"], validated=dep_known and _known(ctx, who),
                       allow_major=True,
                       title=f"Or keep {pin.dependency} {version} and let pip choose a release of {who} that accepts it")
            if keep:
                fix_list.append(keep)
    if others:
        fix_list.append(fixes.instruction(
            f"Check the other packages that pin {pin.dependency} first",
            f"{', '.join(n for n, _, _ in others[:4])} also declare a requirement on {pin.dependency}; "
            f"'pip install --dry-run \"{pin.requirement}\"' shows whether changing it would break them, and "
            f"'pip check' lists what is broken afterwards."))

    if ok and installed:
        summary = (f"{who_text} requires {pin.requirement}; {pin.dependency} {installed} is installed now and "
                   f"satisfies it, but this process loaded another version before: restart the kernel.")
        confidence = 0.7
    else:
        if version:
            have = f", but {pin.dependency} {version} is installed" + (", which does not satisfy it" if ok is False else "")
        elif ctx.failure is not None and ctx.failure.signature == "pip-requirement-not-installed":
            have = f", but {pin.dependency} is not installed (pip says so)"
        else:
            have = f", and the installed {pin.dependency} does not satisfy it (the message names no version)"
        summary = (f"{who_text} requires {pin.requirement}{have}. "
                   f"Install {pin.requirement}" + (f", or a release of {who} that accepts {pin.dependency} {version}"
                                                    if who and version else "") + ".")
        confidence = 0.88 if ok is False else 0.8
    yield Finding(kind="dependency-conflict", cause="version-pin-conflict", confidence=confidence, summary=summary,
                  evidence=tuple(evidence), fixes=tuple(fix_list),
                  docs=docs_for("dependency-conflict", "version-pin-conflict"))
