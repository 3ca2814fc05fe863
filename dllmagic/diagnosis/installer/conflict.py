"""The requirements cannot be satisfied together: pip's, uv's, poetry's, pipenv's and conda's resolver reports."""
from __future__ import annotations

import re
from typing import Iterable, List, Optional

from ... import fixes
from ..._regex import LazyRegex
from ...model import Evidence, Finding
from .. import Context, docs_for, rule
from .._common import detail, kernel_evidence
from .common import _DEPENDS, _NAME, _REQUESTED, _exported_builds, _requirement_name, _text


@rule("resolution-conflict")
def resolution_conflict(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    text = _text(ctx)
    evidence = kernel_evidence(ctx)
    asks: List[tuple] = []          # (who asks, requirement): the resolver's own statements
    for match in list(_REQUESTED.finditer(text))[:8]:
        evidence.append(Evidence("you requested", match.group("req"), "pip's resolver"))
        asks.append(("you", match.group("req")))
    for match in list(_DEPENDS.finditer(text))[:8]:
        evidence.append(Evidence(f"{match.group('who')} {match.group('version')} depends on", match.group("req"),
                                 "pip's resolver"))
        asks.append((f"{match.group('who')} {match.group('version')}", match.group("req")))
    uv = (failure.signature or "").startswith("uv-")
    if uv:
        for match in list(_UV_DEPENDS.finditer(text))[:8]:
            if "conclude that" in text[max(0, match.start() - 20):match.start()]:
                continue   # uv's own inference, not a statement of the metadata
            who = "your project" if match.group("who") == "project" else match.group("who")
            evidence.append(Evidence(f"{who} depends on", match.group("req").rstrip("."), "uv's resolver"))
            asks.append((who, match.group("req").rstrip(".")))
        for match in list(_UV_REQUIRE.finditer(text))[:8]:
            if "conclude that" in text[max(0, match.start() - 20):match.start()]:
                continue   # uv's own inference, not a requirement of yours
            evidence.append(Evidence("you require", match.group("req").rstrip("."), "uv's resolver"))
            asks.append(("you", match.group("req").rstrip(".")))
    if (failure.signature or "").startswith("poetry-"):
        for match in list(_POETRY_DEPENDS.finditer(text))[:8]:
            who = (f"{match.group('who')} {match.group('version')}" if match.group("who")
                   else f"your project ({match.group('root')})")
            requirement = f"{match.group('dep')} {match.group('spec')}"
            evidence.append(Evidence(f"{who} depends on", requirement, "Poetry's resolver"))
            asks.append((who, requirement))
    clash = _clash(asks)
    twice = _asked_twice(asks) if not clash else None
    same = _every_candidate_needs(asks) if not clash and not twice else None
    if detail(ctx, "requirement") and failure.signature != "mamba-nothing-provides":
        evidence.append(Evidence("cannot install together", " ".join((detail(ctx, "requirement") or "").split()),
                                 "the installer output"))
    summary = ("The installer could not find versions that satisfy all the requirements together: two "
               "requirements ask for incompatible versions of the same package.")
    fix_list = [fixes.instruction(
        "Loosen the pins that conflict",
        "Remove the exact pins (==) of the packages named above, or pick versions whose requirements overlap; "
        "let the resolver choose the rest. 'pip install --dry-run --report - ...' shows what it would pick.")]
    narrower = list(_NARROWER_PYTHON.finditer(text))[:8]
    not_provided = list(_NOTHING_PROVIDES.finditer(text))[:6] if failure.signature == "mamba-nothing-provides" else []
    merged = _MERGED_SPECS.match(detail(ctx, "requirement") or "") if failure.signature == "pipenv-no-version-matches-all" \
        else None
    build_fix = _exported_builds(ctx, evidence) if "mamba" in (failure.signature or "") or "conda" in (
        failure.signature or "") else None
    uv_python = _UV_PYTHON.search(text) if uv else None
    if clash and not uv_python:
        (who_a, req_a), (who_b, req_b) = clash
        summary = (f"{who_a} {'require' if who_a == 'you' else 'needs'} {req_a}, but {who_b} "
                   f"{'require' if who_b == 'you' else 'needs'} {req_b}: no single release satisfies both.")
        if summary.startswith("you "):
            summary = "Y" + summary[1:]
    elif twice:
        name, first, second = twice
        summary = (f"The requirements ask for {first} and {second} at once: {name} is pinned twice, to different "
                   f"versions.")
        fix_list.insert(0, fixes.instruction(f"Keep one pin of {name}",
                                             f"Remove one of {first} and {second} from the requirements."))
    elif same:
        who, requirement, count = same
        summary = (f"Every release of {who} the resolver tried ({count}) depends on {requirement}, and no release of "
                   f"{_requirement_name(requirement)} satisfying it can be installed here (none on the index for this "
                   f"Python and platform, or another requirement excludes it).")
    if uv_python:
        # uv resolves for every Python the project allows (requires-python), not only the one at hand.
        requested, needed = uv_python.group("requested"), uv_python.group("needed")
        evidence.append(Evidence("the project's Python range (requires-python)", requested, "uv's resolver"))
        evidence.append(Evidence("a dependency needs Python", needed, "uv's resolver"))
        summary = (f"The project allows Python {requested}, but a dependency needs Python {needed}; uv resolves for "
                   f"every Python the project allows, so the requirements cannot be met.")
        both = _intersect_python(requested, needed)
        fix_list = [fixes.instruction(
            "Narrow the project's requires-python",
            "In pyproject.toml set requires-python to the range the dependencies support"
            + (f': requires-python = "{both}"' if both else "") + ", or pin an older release of the dependency "
            "that still supports the lower Python versions.")]
    elif uv and _UV_MISSING_DEPENDENCY.search(text):
        missing = _UV_MISSING_DEPENDENCY.search(text)
        what, who = missing.group("missing") or missing.group("missing_version"), missing.group("who")
        summary = (f"{who} depends on {what}, which is not on the package index uv searched "
                   + ("(no package of that name: a wrong or renamed name in its requirements, or another index)."
                      if missing.group("missing") else "(no such release there)."))
        fix_list = [fixes.instruction(
            f"Fix or override the requirement on {_requirement_name(what)}",
            f"Check the name and version on the index; if {who} is yours, correct its requirement; otherwise pin a "
            f"release of {_requirement_name(who)} that does not need it, or add the index that has it.")]
    elif uv and _UV_PRERELEASE.search(text):
        evidence.append(Evidence("the requirement names a pre-release", _UV_PRERELEASE.search(text).group(0), "uv"))
        summary = ("Only a pre-release satisfies the requirement, and uv does not consider pre-releases unless told "
                   "to.")
        fix_list = [fixes.instruction("Allow pre-releases, or change the specifier",
                                      "uv pip install --prerelease=allow …  (or [tool.uv] prerelease = \"allow\"), or "
                                      "require a final release instead.")]
    elif narrower:
        # Poetry resolves for the project's whole Python range: a dependency that supports less of it fails.
        project = detail(ctx, "project_python") or ""
        for match in narrower:
            evidence.append(Evidence(f"{match.group('package')} requires Python", match.group("spec"),
                                     "Poetry's resolver"))
        first = narrower[0]
        if project:
            evidence.append(Evidence("the project's Python range", project, "pyproject.toml, as Poetry read it"))
        summary = (f"The project allows Python {project or 'a wider range'}, but {first.group('package')} supports "
                   f"Python {first.group('spec')} only; Poetry needs one version that fits the project's whole range, "
                   f"so it fails for Python {first.group('unsatisfied')}.")
        both = _intersect_python(project, first.group("spec")) if project else ""
        fix_list = [fixes.instruction(
            "Narrow the project's Python range",
            "In pyproject.toml set the project's python requirement to the range the dependencies support"
            + (f": python = \"{both}\"" if both else "") + ", then run poetry lock again.")]
    elif merged:
        name, specs = merged.group("name"), merged.group("specs").split(",")
        evidence.append(Evidence(f"what the requirements ask of {name}", ", ".join(specs), "pipenv's resolver"))
        summary = (f"The requirements ask for {name} {' and '.join(specs)} at once; no release satisfies them all "
                   f"(two packages pin {name} differently).")
        fix_list.insert(0, fixes.instruction(
            f"Find who pins {name}",
            f"pipenv graph --reverse (or pip show -r) lists the packages that require {name}; relax one pin so that "
            f"a single release of {name} satisfies both."))
    elif build_fix is None and not_provided:
        # mamba: nothing in the channels provides a spec asked for, or a dependency of a candidate.
        for match in not_provided:
            evidence.append(Evidence("nothing in the channels provides", " ".join(match.group("spec").split())
                                     + (f" (needed by {match.group('by')})" if match.group("by") else " (requested)"),
                                     "the solver's report"))
        first = not_provided[0]
        name = _requirement_name(first.group("spec"))
        summary = (f"The channels searched have no package that provides {' '.join(first.group('spec').split())}"
                   + (f", which {first.group('by')} needs" if first.group("by") else "")
                   + " for this platform and Python, so the solver cannot build an environment with it.")
        if first.group("by"):
            fix_list = [fixes.instruction(
                "Pin versions whose dependencies the channels have",
                "The report names the dependency the solver tried last, not always the real conflict: pin the "
                "packages you asked for to versions the channels have for this platform (conda search NAME shows "
                "them), or add the channel that has the missing dependency; -vvv shows the solver's search.")]
        elif _NAME.fullmatch(name or ""):
            fix_list = [fixes.instruction(
                f"Find a channel that has {name} for this platform",
                f"conda search -c conda-forge {name}  lists the builds a channel has (add --platform to check another "
                f"platform); add the channel that has one (-c), pick a version it has, or install {name} with pip.")]
    elif build_fix is not None:
        summary = ("The environment list pins exact conda builds (or packages of another operating system) that the "
                   "channels do not have for this platform: such a list only works where it was exported.")
        fix_list = [build_fix]
    yield Finding(kind="resolution-conflict", cause="resolution-conflict", confidence=0.8,
                  summary=summary, evidence=tuple(evidence), fixes=tuple(fix_list),
                  docs=docs_for("resolution-conflict", "resolution-conflict"))


#: Poetry: "  - numpy requires Python <3.13,>=3.9, so it will not be satisfied for Python >=3.13,<4.0".
_NARROWER_PYTHON = LazyRegex(r"^\s*-\s*(?P<package>[A-Za-z0-9][\w.\-]{0,100}) requires Python (?P<spec>[^\s,]{1,40}(?:,[^\s,]{1,40}){0,6}), so it will not "
                              r"be satisfied for Python (?P<unsatisfied>\S{1,200})$", re.M)
#: Poetry: "Because example depends on opencv-python (4.5.5.62) which depends on numpy (>=1.21.2)" and "because
#: example depends on numpy (1.19.5)": the package and the requirement in parentheses.
_POETRY_DEPENDS = LazyRegex(r"(?<![\w.\-])(?:(?P<who>[A-Za-z0-9][\w.\-]{0,100}) \((?P<version>[^()\n]{1,60})\) which |"
                             r"(?P<root>[A-Za-z0-9][\w.\-]{0,100}) )depends on (?P<dep>[A-Za-z0-9][\w.\-\[\]]{0,100}) "
                             r"\((?P<spec>[^()\n]{1,100})\)(?! which)")
#: uv's derivation: "Because magika==0.6.2 depends on numpy>=2.1.0 and you require magika==0.6.2, …".
_UV_DEPENDS = LazyRegex(r"(?<![\w.\-])(?P<who>[A-Za-z0-9][\w.\-\[\]]{0,100}(?:(?:===|[<>]=?|[=!~]=)[\w.*+!]{1,40}"
                         r"(?:,(?:===|[<>]=?|[=!~]=)[\w.*+!]{1,40}){0,6})?) depends on (?P<req>[A-Za-z0-9][^\s,]{0,200})")
_UV_MISSING_DEPENDENCY = LazyRegex(
    r"(?:(?<![\w.\-])(?P<missing>[A-Za-z0-9][\w.\-]{0,100}) was not found in the package registry|there is no version of "
    r"(?P<missing_version>[A-Za-z0-9][\w.\-\[\]]{0,100}(?:===?|<=?|>=?)[\w.*+!]{1,60}))\s{1,40}and\s{1,40}"
    r"(?P<who>[A-Za-z0-9][\w.\-\[\]]{0,100}(?:(?:===|[<>]=?|[=!~]=)[\w.*+!]{1,60})?)\s{1,40}depends\s{1,40}on\b")
_UV_REQUIRE = LazyRegex(r"\byou require (?P<req>[A-Za-z0-9][^\s,]{0,200})")
_UV_PYTHON = LazyRegex(r"the requested Python version \((?P<requested>[^)\n]{1,100})\) does not satisfy "
                        r"Python(?P<needed>[<>=!~][^\s]{0,100}?)(?=\s|$)")
_UV_PRERELEASE = LazyRegex(r"was requested with a pre-release marker \(e\.g\., [^)\n]{1,200}\)")
#: mamba: "  - nothing provides requested quarto", "nothing provides openssl >=1.1.1,<1.1.2.0a0 needed by python-2.7.15-h9bab390_2".
_NOTHING_PROVIDES = LazyRegex(r"nothing provides (?:requested )?(?P<spec>[A-Za-z0-9_][^\n]{0,200}?)"
                               r"(?: needed by (?P<by>[A-Za-z0-9_][\w.\-]{0,200}))?[ \t]*$", re.M)
#: pipenv: "vine==1.3.0,==5.0.0", the specifiers of several requirements joined.
_MERGED_SPECS = LazyRegex(r"(?P<name>[A-Za-z0-9][\w.\-]{0,100}?)(?P<specs>(?:===|[<>]=?|[=!~]=)[^\s]{1,600})$")


def _asked_twice(asks: List[tuple]) -> Optional[tuple]:
    """(name, first, second) when the user's own requirements pin one package twice, differently."""
    mine: dict = {}
    for who, requirement in asks:
        if who != "you":
            continue
        name = _requirement_name(requirement)
        other = mine.get(name)
        if other and other.replace(" ", "") != requirement.replace(" ", ""):
            return name, other, requirement
        mine.setdefault(name, requirement)
    return None


def _every_candidate_needs(asks: List[tuple]) -> Optional[tuple]:
    """(package, requirement, count) when several releases of one package all depend on the same requirement."""
    stated = [(who, req.replace(" ", "")) for who, req in asks if who != "you" and " " in who]
    packages = {_requirement_name(who.split(" ")[0]) for who, _ in stated}
    requirements = {req for _, req in stated}
    if len(stated) >= 2 and len(packages) == 1 and len(requirements) == 1:
        return stated[0][0].split(" ")[0], stated[0][1], len(stated)
    return None


def _clash(asks: List[tuple]) -> Optional[tuple]:
    """Two different requirements on one package from different askers, as the resolver states them, or None."""
    seen: dict = {}
    for who, requirement in asks:
        name = _requirement_name(requirement)
        if not name or name == _requirement_name(who):
            continue
        for other_who, other in seen.get(name, []):
            if other_who != who and other.replace(" ", "") != requirement.replace(" ", ""):
                return (other_who, other), (who, requirement)
        seen.setdefault(name, []).append((who, requirement))
    return None


def _intersect_python(*specs: str) -> str:
    """The overlap of Python ranges as one specifier ('>=3.11,<4.0' and '<3.13,>=3.9' → '>=3.11,<3.13'), or ''."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    lower, upper, other = None, None, []
    try:
        for spec in SpecifierSet(",".join(s for s in specs if s)):
            version = Version(spec.version.replace("*", "0")) if spec.operator in (">=", "<") else None
            if spec.operator == ">=" and version is not None:
                lower = max(lower, version) if lower else version
            elif spec.operator == "<" and version is not None:
                upper = min(upper, version) if upper else version
            else:
                other.append(str(spec))
    except (InvalidSpecifier, ValueError):
        return ""
    if lower and upper and lower >= upper:
        return ""
    parts = ([f">={lower}"] if lower else []) + ([f"<{upper}"] if upper else []) + other
    return ",".join(parts)
