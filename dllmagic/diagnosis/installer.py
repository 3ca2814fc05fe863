"""pip / conda / uv output pasted into ``explain`` (or met in a kernel): no release fits, or the
requirements cannot be satisfied together.

Cause ids: ``no-release-for-platform`` and ``resolution-conflict``. For packages in
``knowledge/framework_builds.json`` (TensorFlow, PyTorch) the rule says which releases support which
Python versions and platforms, and which release fits the Python at hand.
"""
from __future__ import annotations

import re
from typing import Iterable, List, Optional

from .. import fixes
from ..knowledge import tables as knowledge_tables
from ..model import Evidence, Finding, Fix
from . import Context, docs_for, rule
from ._common import detail, kernel_evidence

#: "<name> <version> depends on <requirement>" and "The user requested <requirement>" (pip's resolver).
_DEPENDS = re.compile(r"^\s*(?P<who>[A-Za-z0-9][\w.\-]*) (?P<version>\S+) depends on (?P<req>[^\n]+?)\s*$", re.M)
_REQUESTED = re.compile(r"^\s*The user requested (?P<req>[^\n]+?)\s*$", re.M)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def _requirement_name(text: str) -> str:
    text = re.sub(r"-\d[\w.]*(?:-[\w.]+)?$", "", text.strip())   # conda's name-version-build
    match = _NAME.match(text)
    return match.group(0).lower().replace("_", "-") if match else ""


def _python_of(ctx: Context) -> Optional[str]:
    if ctx.interpreter is not None:
        return ".".join(ctx.interpreter.version.split(".")[:2])
    found = detail(ctx, "found_version") or detail(ctx, "text_python")
    if found and re.match(r"^3\.\d+", found):
        return ".".join(found.split(".")[:2])
    return None


def _versions_seen(ctx: Context) -> List[str]:
    """pip's own "(from versions: …)" list: the releases it could install here ([] for "none")."""
    listed = detail(ctx, "available") or ""
    return [v.strip() for v in listed.split(",") if v.strip() and v.strip().lower() != "none"]


def _final(version: str) -> bool:
    return bool(re.fullmatch(r"\d+(?:\.\d+)*(?:\.post\d+)?", version))


def releases_for(package: str, python: Optional[str], platform: Optional[str] = None) -> List[dict]:
    """Tested releases of ``package`` that support ``python`` (and ``platform`` 'os-arch'), newest first."""
    from packaging.specifiers import SpecifierSet

    out = []
    for entry in knowledge_tables.framework_builds(package):
        if python and not SpecifierSet(entry["python"]).contains(python + ".0", prereleases=True):
            continue
        if platform and platform not in entry["platforms"]:
            continue
        out.append(entry)
    return out


def _python_range(package: str) -> str:
    from packaging.specifiers import SpecifierSet

    versions = [f"3.{minor}" for minor in range(5, 16)]
    builds = knowledge_tables.framework_builds(package)
    ok = [v for v in versions if any(SpecifierSet(b["python"]).contains(v + ".0") for b in builds)]
    return f"{ok[0]}–{ok[-1]}" if ok else "?"


@rule("no-compatible-release")
def no_release(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    requirement = detail(ctx, "requirement") or failure.module or ""
    name = _requirement_name(requirement)
    python = _python_of(ctx)
    wants = failure.version or detail(ctx, "python_spec")
    evidence = kernel_evidence(ctx)
    if requirement:
        evidence.append(Evidence("requested", requirement, "the installer output"))
    if detail(ctx, "available"):
        evidence.append(Evidence("versions the installer could see", detail(ctx, "available") or "", "pip"))
    if wants:
        evidence.append(Evidence("Python the package requires", wants, "the installer output"))
    if python:
        evidence.append(Evidence("this Python", python, "the interpreter" if ctx.interpreter else "the installer output"))
    fix_list: List[Fix] = []
    summary = (f"No release of {name or 'the package'} matches this Python, operating system and architecture"
               + (f" (Python {python})" if python else "") + ".")
    confidence = 0.8
    replacement = detail(ctx, "replacement")
    seen = _versions_seen(ctx)
    if replacement and _NAME.fullmatch(replacement):
        # tensorflow-gpu and other retired names: the release that exists only raises "removed".
        summary = (f"{name} is no longer published: its maintainers removed it and name {replacement} instead "
                   f"(the text says so). Install {replacement}.")
        fix_list.append(fixes.instruction(f"Install {replacement} instead of {name}",
                                          f"%pip install {replacement}   (and remove {name} from requirements)"))
        yield Finding(kind="no-compatible-release", cause="package-removed", confidence=0.92, summary=summary,
                      evidence=tuple(evidence + [Evidence("replacement named by the package", replacement,
                                                          "the installer output")]),
                      fixes=tuple(fix_list), docs=docs_for("no-compatible-release", "package-removed"))
        return
    if seen and name:
        # pip listed what it can install here: the requested release is not among them.
        finals = [v for v in seen if _final(v)] or seen
        summary = (f"pip can install {name} {seen[0]} … {seen[-1]} here ({len(seen)} releases for this Python and "
                   f"platform), but none satisfies {requirement}.")
        fix_list.append(fixes.instruction(f"Install a release of {name} that pip lists",
                                          f'%pip install "{name}=={finals[-1]}"   (or relax the pin in requirements)'))
        confidence = 0.85
        if name in knowledge_tables.framework_packages():
            pinned = re.search(r"==\s*(\d+\.\d+)", requirement)
            entry = next((b for b in knowledge_tables.framework_builds(name)
                          if pinned and b["release"] == pinned.group(1)), None)
            if entry:
                evidence.append(Evidence(f"{name} {entry['release']} supports", f"Python {entry['python']}",
                                         entry["source"]))
                summary += f" {name} {entry['release']} needs Python {entry['python']}."
        yield Finding(kind="no-compatible-release", cause="no-release-for-platform", confidence=confidence,
                      summary=summary, evidence=tuple(evidence), fixes=tuple(fix_list),
                      docs=docs_for("no-compatible-release", "no-release-for-platform"))
        return
    if "+cu" in requirement or "+cpu" in requirement:
        summary = (f"{requirement} is a local-version build that is not on PyPI: PyTorch publishes its CUDA builds "
                   f"on its own package index.")
        fix_list.append(fixes.instruction(
            "Install from PyTorch's package index",
            "Use the command from https://pytorch.org/get-started/previous-versions/ for that release: it adds "
            "--index-url https://download.pytorch.org/whl/<cuda tag> (or -f .../torch_stable.html for old releases)."))
        confidence = 0.85
    elif name in knowledge_tables.framework_packages():
        newest = knowledge_tables.framework_builds(name)[0]
        evidence.append(Evidence(f"Python versions with {name} releases", _python_range(name), newest["source"]))
        pinned = re.search(r"==\s*(\d+\.\d+)", requirement)
        if pinned:
            entry = next((b for b in knowledge_tables.framework_builds(name) if b["release"] == pinned.group(1)), None)
            if entry:
                evidence.append(Evidence(f"{name} {entry['release']} supports", f"Python {entry['python']}",
                                         entry["source"]))
        fitting = releases_for(name, python) if python else []
        if fitting:
            best = fitting[0]
            fix_list.append(fixes.instruction(
                f"Install {name} {best['release']}, which supports Python {python}",
                f'%pip install "{name}=={best["release"]}.*"   (older pins need an older Python; see '
                f"{best['source']})"))
            summary += f" {name} {best['release']} supports Python {python}; the requested release does not."
        elif python:
            newest_ok = re.sub(r"^.*–", "", _python_range(name))
            fix_list.append(fixes.instruction(
                f"Use a Python that {name} supports ({_python_range(name)})",
                f"Create an environment with Python {newest_ok} (e.g. uv venv --python {newest_ok}, or "
                f"conda create -n tf python={newest_ok}), install {name} there and register it as a kernel. A 32-bit "
                f"Python or an unsupported platform also has no {name} release."))
        else:
            # The text does not say which Python ran pip: never tell a user to create the Python they have.
            fix_list.append(fixes.instruction(
                f"Check the Python against the ones {name} supports ({_python_range(name)})",
                f"Run  python -VV  with the Python that ran pip. Outside {_python_range(name)}: use a Python in that "
                f"range. Inside it: the reason is a 32-bit Python or a platform {name} publishes no files for."))
            summary += (f" {name} has releases for Python {_python_range(name)} on 64-bit "
                        f"{', '.join(sorted({p for b in knowledge_tables.framework_builds(name)[:1] for p in b['platforms']}))}.")
        confidence = 0.88
    else:
        fix_list.append(fixes.instruction(
            f"Check which Python versions and platforms {name or 'the package'} publishes files for",
            f"Look at the package's files on PyPI (https://pypi.org/project/{name or '<name>'}/#files): wheel tags "
            f"such as cp312-manylinux_x86_64 name the Python and platform; Requires-Python bounds the versions. "
            f"Then use a matching Python, or an older release of the package."))
    if "conda" in (failure.signature or "") or "mamba" in (failure.signature or ""):
        fix_list.append(fixes.instruction(
            "Or install it with pip inside the conda environment",
            "Channels often lag behind PyPI for new Python versions: python -m pip install <package> in the "
            "activated environment uses PyPI's wheels."))
    yield Finding(kind="no-compatible-release", cause="no-release-for-platform", confidence=confidence,
                  summary=summary, evidence=tuple(evidence), fixes=tuple(fix_list),
                  docs=docs_for("no-compatible-release", "no-release-for-platform"))


@rule("resolution-conflict")
def resolution_conflict(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    text = "\n".join(filter(None, [failure.message, str(ctx.cache.get("text") or "")]))
    evidence = kernel_evidence(ctx)
    for match in _REQUESTED.finditer(text):
        evidence.append(Evidence("you requested", match.group("req"), "pip's resolver"))
    for match in list(_DEPENDS.finditer(text))[:8]:
        evidence.append(Evidence(f"{match.group('who')} {match.group('version')} depends on", match.group("req"),
                                 "pip's resolver"))
    if detail(ctx, "requirement"):
        evidence.append(Evidence("cannot install together", detail(ctx, "requirement") or "", "the installer output"))
    fix_list = [fixes.instruction(
        "Loosen the pins that conflict",
        "Remove the exact pins (==) of the packages named above, or pick versions whose requirements overlap; "
        "let the resolver choose the rest. 'pip install --dry-run --report - ...' shows what it would pick.")]
    yield Finding(kind="resolution-conflict", cause="resolution-conflict", confidence=0.8,
                  summary="The installer could not find versions that satisfy all the requirements together: two "
                          "requirements ask for incompatible versions of the same package.",
                  evidence=tuple(evidence), fixes=tuple(fix_list),
                  docs=docs_for("resolution-conflict", "resolution-conflict"))
