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
_DEPENDS = re.compile(r"^\s*(?P<who>[A-Za-z0-9][\w.\-]*) (?P<version>\d[\w.+!*\-]*) depends on (?P<req>[^\n]+?)\s*$", re.M)
_REQUESTED = re.compile(r"^\s*The user requested (?P<req>[^\n]+?)\s*$", re.M)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")

#: A 32-bit CPython in a pasted text: its version banner, its default Windows folder, Program Files (x86).
_PYTHON_32 = re.compile(r"\[MSC v\.\d{3,5} 32 bit \((?:Intel|ARM)\)\]|\bPython3\d{0,2}-32\\|Program Files \(x86\)\\Python")
#: uv's hint under "doesn't have a source distribution or wheel for the current platform".
_UV_PLATFORM_HINT = re.compile(
    r"You're on (?P<os>[A-Za-z][\w ]{0,20}) \(`?(?P<tag>[\w.\-]{1,80})`?\), but `?(?P<name>[A-Za-z0-9][\w.\-]{0,100})`? "
    r"\(v(?P<version>[^)\s]{1,60})\) only has wheels for(?: the following platforms?)?:\s*(?P<tags>[^\n;]{1,2000})")
#: pip: "Ignored the following versions that require a different python version: 1.25.0 Requires-Python >=3.9; …".
_IGNORED_LINE = re.compile(r"Ignored the following versions that require a different python version: (?P<list>[^\n]{1,20000})")
_IGNORED_ITEM = re.compile(r"(?P<version>[\w.+!]{1,60}) Requires-Python (?P<spec>[^;\n]{1,200})")
#: Poetry's verbose installer: a wheel of the release that this environment does not accept.
_SKIPPED_WHEEL = re.compile(r"Skipping wheel (?P<wheel>[A-Za-z0-9][\w.\-+!]{0,200}\.whl) as this is not supported")
#: Poetry: "- 24 candidate(s) were identified for the package" / "- 24 wheel(s) were skipped as your project's
#: environment does not support the identified abi tags".
_POETRY_SKIPPED = re.compile(r"(?P<found>\d{1,5}) candidate\(s\) were identified for the package[^\n]{0,20}\n[^\n]{0,40}?"
                             r"(?P<count>\d{1,5}) wheel\(s\) were skipped as your project's environment does not "
                             r"support the identified (?P<tags>[\w ]{1,40}?) tags")
#: conda: "Your python: python=3.8" and "  - dlib -> python[version='2.7.*|3.5.*']".
_CONDA_YOUR_PYTHON = re.compile(r"Your python: python=(?P<python>\d+\.\d+)")
_CONDA_NEEDS_PYTHON = re.compile(r"^\s*-\s*(?P<package>[A-Za-z0-9][\w.\-]{0,100}) -> python\[version='(?P<spec>[^'\n]{1,200})'\]",
                                 re.M)
#: conda / mamba list entries that pin a build string: "zstd==1.5.2=hbc0c0cd_6", "zstd ==1.5.2 h12be248_6".
_PINNED_BUILD = re.compile(r"^\s*-\s*(?:nothing provides requested )?(?P<name>[A-Za-z0-9_][\w.\-]{0,100}) ?==?"
                           r"(?P<version>[^\s=*]{1,60})(?:=| )(?P<build>[A-Za-z0-9_][\w.]{0,60})\s*$", re.M)
#: mamba: a package of the list needs a virtual package of another operating system.
_NEEDS_OTHER_OS = re.compile(r"nothing provides (?P<virtual>__(?:win|linux|osx|unix|glibc))\b[^\n]{0,80}? needed by "
                             r"(?P<by>[A-Za-z0-9][\w.\-]{0,200})")
_CONDA_PLATFORM = re.compile(r"^\s*Platform: (?P<platform>[a-z0-9]+-[a-z0-9_]+)\s*$", re.M)


def _text(ctx: Context) -> str:
    """The installer output as the signatures read it (normalised once per report)."""
    cached = ctx.cache.get("installer_text")
    if cached is None:
        from ..failure.intake import normalise

        raw = str(ctx.cache.get("text") or "") or (ctx.failure.message if ctx.failure else "") or ""
        cached = ctx.cache["installer_text"] = normalise(raw)
    return cached


def _exported_builds(ctx: Context, evidence: List[Evidence]) -> Optional[Fix]:
    """An environment list exported with exact build strings (or for another OS): the builds exist only on
    the platform it was exported on. Adds the evidence; returns the fix, or None when the text shows neither."""
    text = _text(ctx)
    pinned = [m for m in _PINNED_BUILD.finditer(text)][:200]
    other_os = _NEEDS_OTHER_OS.search(text)
    if len(pinned) < 2 and not other_os:
        return None
    if pinned:
        shown = ", ".join(f"{m.group('name')}={m.group('version')}={m.group('build')}" for m in pinned[:3])
        evidence.append(Evidence("requested with exact build strings", f"{len(pinned)} packages ({shown} …)"
                                 if len(pinned) > 3 else shown, "the installer output"))
    if other_os:
        evidence.append(Evidence(f"needs the virtual package {other_os.group('virtual')}", other_os.group("by"),
                                 "the solver's report"))
    platform = _CONDA_PLATFORM.search(text)
    if platform:
        evidence.append(Evidence("platform solved for", platform.group("platform"), "conda"))
    return fixes.instruction(
        "Recreate the list without build strings",
        "Build strings (and packages of one OS) exist only on the platform the list was exported on. On the "
        "original machine: conda env export --from-history > environment.yml (or --no-builds); otherwise "
        "remove the '=build' parts and the OS-only packages, then create the environment again.")


def _requirement_name(text: str) -> str:
    if text.strip().endswith(".whl"):           # name-version(-build)-python-abi-platform.whl
        text = text.strip().split("-")[0]
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


#: The source release an installer fetched: "Using cached tensorflow-gpu-2.12.0.tar.gz (2.6 kB)".
_SDIST = re.compile(r"(?:Using cached|Downloading|Collecting) (?:\S{0,300}/)?(?P<name>[A-Za-z0-9][\w.\-]{0,100}?)-"
                    r"(?P<version>\d[\w.!+]{0,60}?)\.(?:tar\.gz|zip|tar\.bz2)\b")


def _build_failed(ctx: Context, name: str, evidence: List[Evidence]) -> Iterable[Finding]:
    """The installer built a source release because no wheel fits, and the build failed."""
    from ..knowledge import load

    sdist = _SDIST.search(_text(ctx))
    if sdist:
        name = name or _requirement_name(sdist.group("name"))
        evidence.append(Evidence("source release it built", f"{sdist.group('name')} {sdist.group('version')}",
                                 "the installer output"))
    retired = next((e for e in load("retired_packages")["entries"]
                    if name and e["name"] == name.lower().replace("_", "-")), None)
    if retired and sdist and not _at_least(sdist.group("version"), retired["retired_from"]):
        retired = None          # a release from before the name was retired: a real build that failed
    if retired:
        replacement = retired["replacement"]
        evidence.append(Evidence("retired name; the package to install", replacement, retired["source"]))
        yield Finding(kind="no-compatible-release", cause="package-removed", confidence=0.8,
                      summary=f"{name} is a retired name: its releases only fail on purpose, and its maintainers name "
                              f"{replacement} instead. Install {replacement}.",
                      evidence=tuple(evidence),
                      fixes=(fixes.instruction(f"Install {replacement} instead of {name}",
                                               f"%pip install {replacement}   (and replace {name} in requirements)"),),
                      docs=docs_for("no-compatible-release", "package-removed"))
        return
    what = name or "the package"
    yield Finding(kind="no-compatible-release", cause="no-release-for-platform", confidence=0.5,
                  summary=(f"The installer found no wheel of {what} that fits this Python and platform (or {what} "
                           f"publishes only its source), built it from source, and the build failed."),
                  evidence=tuple(evidence),
                  fixes=(fixes.instruction(
                      "Use a release with a wheel for this Python, or give the build what it needs",
                      f"The lines above the error say why the build failed (a compiler, a header, a library). A "
                      f"Python version {what} publishes wheels for (see its files on PyPI) installs without "
                      f"building; otherwise install the build requirements the error names."),),
                  docs=docs_for("no-compatible-release", "no-release-for-platform"))


def _at_least(version: str, floor: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version) >= Version(floor)
    except InvalidVersion:
        return True


def _not_found_list(text: str) -> List[str]:
    """The specs under conda's "The following packages are not available from current channels:" (or
    ResolvePackageNotFound:), as listed."""
    head = re.search(r"(?:PackagesNotFoundError: The following packages are not available from current channels:"
                     r"|ResolvePackageNotFound:)[ \t]*\n", text)
    if not head:
        return []
    out = []
    for line in text[head.end():head.end() + 20_000].split("\n"):
        item = re.fullmatch(r"\s*-\s*(\S{1,200})\s*", line)
        if item:
            out.append(item.group(1))
        elif line.strip() or out:
            break
    return out[:100]


def _only_prehistoric(package: str, seen: List[str]) -> bool:
    """True when every version pip saw is a 0.x while every tested release of ``package`` is 1.0 or later."""
    builds = knowledge_tables.framework_builds(package)
    majors = {re.match(r"\d+", v).group(0) if re.match(r"\d+", v) else "" for v in seen}
    return bool(builds) and majors == {"0"} and all(not b["release"].startswith("0.") for b in builds)


def _conda_pythons(specs: List[str]) -> str:
    """The newest Python X.Y that conda's python[version=…] specs accept ('2.7.*|3.5.*' → '3.5'), or ''."""
    found = []
    for spec in specs:
        for alternative in spec.split("|"):
            match = re.fullmatch(r"\s*(?:(\d+)\.(\d+)(?:\.\*)?|>=(\d+)\.(\d+)(?:\.\d+)?,<[\w.]+)\s*", alternative)
            if match:
                major, minor = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
                found.append((int(major), int(minor)))
    return "{}.{}".format(*max(found)) if found else ""


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
    if failure.signature == "installer-build-failed":
        yield from _build_failed(ctx, name, evidence)
        return
    # A 32-bit Python: most binary packages publish 64-bit builds only, whatever the pin.
    it = ctx.interpreter
    thirty_two = (it.bits == 32) if it is not None else None
    banner = _PYTHON_32.search(_text(ctx)) if thirty_two is None else None
    if thirty_two or banner:
        evidence.append(Evidence("word size", "32-bit", "struct.calcsize('P')" if thirty_two else
                                 f"the text ({banner.group(0) if banner else ''})"))
        yield Finding(kind="no-compatible-release", cause="python-32-bit", confidence=0.9 if thirty_two else 0.8,
                      summary=f"This Python is 32-bit, and {name or 'the package'} publishes no release for it "
                              f"(most binary packages build for 64-bit Python only).",
                      evidence=tuple(evidence),
                      fixes=(fixes.instruction("Install a 64-bit Python", "Download the 64-bit (x86-64) installer "
                                               "from python.org or use a 64-bit conda, then recreate the "
                                               "environment and install the package there."),),
                      docs=docs_for("no-compatible-release", "python-32-bit"))
        return
    conda_python = _CONDA_YOUR_PYTHON.search(_text(ctx))
    needs = [m for m in _CONDA_NEEDS_PYTHON.finditer(_text(ctx))][:20]
    if needs:
        package = needs[0].group("package")
        specs = sorted({m.group("spec") for m in needs if m.group("package") == package})
        supported = _conda_pythons(specs)
        here = conda_python.group("python") if conda_python else python
        evidence.append(Evidence(f"Python versions {package}'s builds accept", "; ".join(specs), "conda's solver"))
        if here:
            evidence.append(Evidence("the environment's Python", here, "conda's solver"))
        summary = (f"{package} has no build for {'Python ' + here if here else 'this Python'} in the channels "
                   f"searched: its builds need Python {'; '.join(specs)}.")
        if supported and _NAME.fullmatch(package):
            fix_list.append(fixes.instruction(
                f"Create an environment with a Python that {package}'s builds support ({supported})",
                f"conda create -n {package}-env python={supported} {package}   (with the same -c channel), then "
                f"register it as a kernel; or look for a build for Python {here or 'this version'} in another "
                f"channel (conda-forge), or install it with pip from PyPI."))
        yield Finding(kind="no-compatible-release", cause="no-release-for-platform", confidence=0.85,
                      summary=summary, evidence=tuple(evidence), fixes=tuple(fix_list),
                      docs=docs_for("no-compatible-release", "no-release-for-platform"))
        return
    hint = _UV_PLATFORM_HINT.search(_text(ctx))
    if hint:
        tags = [t.strip(" `") for t in hint.group("tags").split(",") if t.strip(" `")]
        tags = [t for t in tags if re.fullmatch(r"[\w.\-]{1,80}", t)]
        release = f"{hint.group('name')} {hint.group('version')}"
        evidence.append(Evidence("this platform", f"{hint.group('os')} ({hint.group('tag')})", "uv"))
        evidence.append(Evidence(f"platforms with a wheel of {release}", ", ".join(tags), "uv"))
        summary = (f"{release} publishes wheels only for {', '.join(tags[:6])}{' …' if len(tags) > 6 else ''} and no "
                   f"source distribution; this machine is {hint.group('tag')}.")
    counted = _POETRY_SKIPPED.search(_text(ctx))
    if counted and not hint:
        release = f"{name} {detail(ctx, 'requirement_version') or ''}".strip()
        evidence.append(Evidence("wheels skipped", f"{counted.group('count')} of {counted.group('found')} "
                                 f"(tags this environment does not support: {counted.group('tags')})", "Poetry"))
        summary = (f"Poetry found {counted.group('found')} files of {release}, and none fits this environment: every "
                   f"wheel has {counted.group('tags')} tags that the project's Python does not support.")
    skipped = [m.group("wheel") for m in _SKIPPED_WHEEL.finditer(_text(ctx))][:500]
    if skipped and not hint:
        pythons = sorted({w[:-4].split("-")[-3] for w in skipped if w.count("-") >= 4})
        platforms = sorted({w[:-4].split("-")[-1] for w in skipped if w.count("-") >= 4})
        evidence.append(Evidence("wheels skipped as not supported here", str(len(skipped)), "Poetry"))
        if platforms:
            evidence.append(Evidence("their platforms", ", ".join(platforms[:12]), "the wheel names"))
        if pythons:
            evidence.append(Evidence("their Python tags", ", ".join(pythons[:12]), "the wheel names"))
        summary = (f"None of the wheels of {name or 'the release'} that Poetry found fits this environment's Python "
                   f"and platform (it skipped {len(skipped)}).")
    conda = "conda" in (failure.signature or "") or "mamba" in (failure.signature or "")
    cuda_on_macos = False
    not_in_registry = failure.signature == "uv-no-versions" and "was not found in the package registry" in _text(ctx)
    build_fix = _exported_builds(ctx, evidence) if "conda" in (failure.signature or "") else None
    platform = _CONDA_PLATFORM.search(_text(ctx)) if "conda" in (failure.signature or "") else None
    listed = _not_found_list(_text(ctx)) if platform else []
    if build_fix is None and platform and listed:
        # conda names the platform it solved for and the specs no channel has a build of for it.
        subdir = platform.group("platform")
        evidence.append(Evidence("platform solved for", subdir, "conda"))
        evidence.append(Evidence("not available for it", ", ".join(listed[:8]), "conda"))
        summary = (f"The channels searched have no build of {', '.join(listed[:4])}{' …' if len(listed) > 4 else ''} "
                   f"for {subdir}.")
        if subdir.startswith("osx") and any(n.lower().startswith(("cuda", "pytorch-cuda", "cudatoolkit", "cudnn"))
                                            for n in listed):
            summary += " CUDA is for NVIDIA GPUs on Linux and Windows: macOS has no CUDA builds."
            cuda_on_macos = True
        elif subdir == "osx-arm64":
            fix_list.append(fixes.instruction(
                "Or use Intel (osx-64) builds under Rosetta",
                "Packages without Apple-silicon builds often have osx-64 ones: CONDA_SUBDIR=osx-64 conda create -n "
                "NAME … creates an environment of Intel builds (run once in it: conda config --env --set subdir "
                "osx-64), which runs under Rosetta."))
    if not_in_registry and name:
        summary = (f"No package named {name} is on the package index uv searched: check the name (a distribution "
                   f"name can differ from its import name, and projects get renamed) and the index.")
    if build_fix is not None:
        summary = ("The environment list pins exact conda builds (build strings) that the channels do not have for "
                   "this platform: such a list only works on the platform it was exported on.")
        fix_list.append(build_fix)
        yield Finding(kind="no-compatible-release", cause="no-release-for-platform", confidence=0.85,
                      summary=summary, evidence=tuple(evidence), fixes=tuple(fix_list),
                      docs=docs_for("no-compatible-release", "no-release-for-platform"))
        return
    if "uv" in (failure.signature or "") and detail(ctx, "requirement") and "no-wheel" in (failure.signature or ""):
        fix_list.append(fixes.instruction(
            "Pin a release that has a wheel for this platform",
            "uv's lock chose a release with no file for this machine. Pin an older or newer release that has one "
            "(see the package's files on PyPI), or add this platform to tool.uv.required-environments in "
            "pyproject.toml so that uv lock picks a release with a wheel for it."))
    ignored_line = _IGNORED_LINE.search(_text(ctx))
    ignored = [(m.group("version"), m.group("spec").strip()) for m in _IGNORED_ITEM.finditer(
        ignored_line.group("list"))][:400] if ignored_line else []
    if ignored and name:
        # pip skipped these releases because their Requires-Python excludes the Python that ran it.
        pinned = re.search(r"===?\s*([\w.+!]+)", requirement)
        wanted = next(((v, spec) for v, spec in ignored if pinned and v == pinned.group(1)), None)
        newest = ignored[-1]
        evidence.append(Evidence("releases pip ignored for this Python", f"{len(ignored)} ({newest[0]}: Requires-Python "
                                 f"{newest[1]})", "pip"))
        if wanted:
            summary = (f"{name} {wanted[0]} requires Python {wanted[1]}, and the Python that ran pip is not in that "
                       f"range (pip ignored that release for it).")
        elif not seen:
            summary = (f"Every release of {name} that pip found requires a different Python (the newest, {newest[0]}, "
                       f"requires Python {newest[1]}).")
        if not seen:
            fix_list.append(fixes.instruction(
                f"Use a Python that {name} {newest[0]} supports ({newest[1]})",
                f"Create an environment with a Python in {newest[1]}, install {name} there and register it as a kernel."))
            yield Finding(kind="no-compatible-release", cause="no-release-for-platform", confidence=0.88,
                          summary=summary, evidence=tuple(evidence), fixes=tuple(fix_list),
                          docs=docs_for("no-compatible-release", "no-release-for-platform"))
            return
    ran_under = detail(ctx, "found_version") if failure.signature == "pip-requires-different-python" else None
    if ran_under and wants and name:
        # pip's own words: the release's Requires-Python and the Python that ran pip.
        summary = (f"{name} requires Python {wants}, but the pip that ran belongs to Python {ran_under}. If a Python "
                   f"in that range is installed too, the command ran the other one's pip.")
        fix_list.append(fixes.instruction(
            "Run the pip of the Python you mean",
            f"python3 -m pip install {name}   (Windows: py -3 -m pip install {name}; in a notebook: %pip install "
            f"{name}, which uses the kernel's Python). Or install a release of {name} that still supports Python "
            f"{ran_under}."))
        yield Finding(kind="no-compatible-release", cause="no-release-for-platform", confidence=0.85,
                      summary=summary, evidence=tuple(evidence), fixes=tuple(fix_list),
                      docs=docs_for("no-compatible-release", "no-release-for-platform"))
        return
    if seen and name in knowledge_tables.framework_packages() and _only_prehistoric(name, seen):
        # torch's 0.1.2 sdists on PyPI: versions older than any release with wheels, which only raise an error. Seeing
        # nothing else means no wheel of any release fits this interpreter (a 32-bit Python, or one outside the
        # Python versions the releases support).
        evidence.append(Evidence("only releases older than any with wheels", ", ".join(seen[:6]), "pip"))
        seen = []
    if seen and name:
        # pip listed what it can install here: the requested release is not among them.
        finals = [v for v in seen if _final(v)] or seen
        said = summary + " " if ignored and "requires Python" in summary else ""
        summary = said + (f"pip can install {name} {seen[0]} … {seen[-1]} here ({len(seen)} releases for this "
                          f"Python and platform), but none satisfies {requirement}.")
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
    if ("+cu" in requirement or "+cpu" in requirement) and failure.signature != "uv-no-wheel-for-current-platform":
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
                f"Run  python -VV  with the Python the installer installs into. Outside {_python_range(name)}: use a "
                f"Python in that range. Inside it: the reason is a 32-bit Python or a platform {name} publishes no "
                f"files for."))
            summary += (f" {name} has releases for Python {_python_range(name)} on 64-bit "
                        f"{', '.join(sorted({p for b in knowledge_tables.framework_builds(name)[:1] for p in b['platforms']}))}.")
        confidence = 0.88
    elif conda:
        fix_list.append(fixes.instruction(
            f"Check which platforms and Python versions {name or 'the package'} has builds for",
            f"conda search -c conda-forge \"{name or '<name>'}\" --platform <platform>  lists the builds a channel has "
            f"(their build strings name the Python, e.g. py312); https://anaconda.org shows which channels carry it. "
            f"Then add that channel, use a Python it has builds for, or an older release."))
    elif not_in_registry:
        fix_list.append(fixes.instruction(
            f"Check the name {name}",
            f"Search the index for the project's real name (https://pypi.org/search/?q={name}) and use that in the "
            f"requirements; an import name (cv2, PIL, sklearn) is often not the name to install."))
    else:
        fix_list.append(fixes.instruction(
            f"Check which Python versions and platforms {name or 'the package'} publishes files for",
            f"Look at the package's files on PyPI (https://pypi.org/project/{name or '<name>'}/#files): wheel tags "
            f"such as cp312-manylinux_x86_64 name the Python and platform; Requires-Python bounds the versions. "
            f"Then use a matching Python, or an older release of the package."))
    if conda and not cuda_on_macos:
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
_NARROWER_PYTHON = re.compile(r"^\s*-\s*(?P<package>[A-Za-z0-9][\w.\-]{0,100}) requires Python (?P<spec>[^\s,]{1,40}(?:,[^\s,]{1,40}){0,6}), so it will not "
                              r"be satisfied for Python (?P<unsatisfied>\S{1,200})$", re.M)
#: Poetry: "Because example depends on opencv-python (4.5.5.62) which depends on numpy (>=1.21.2)" and "because
#: example depends on numpy (1.19.5)": the package and the requirement in parentheses.
_POETRY_DEPENDS = re.compile(r"(?<![\w.\-])(?:(?P<who>[A-Za-z0-9][\w.\-]{0,100}) \((?P<version>[^()\n]{1,60})\) which |"
                             r"(?P<root>[A-Za-z0-9][\w.\-]{0,100}) )depends on (?P<dep>[A-Za-z0-9][\w.\-\[\]]{0,100}) "
                             r"\((?P<spec>[^()\n]{1,100})\)(?! which)")
#: uv's derivation: "Because magika==0.6.2 depends on numpy>=2.1.0 and you require magika==0.6.2, …".
_UV_DEPENDS = re.compile(r"(?<![\w.\-])(?P<who>[A-Za-z0-9][\w.\-\[\]]{0,100}(?:(?:===|[<>]=?|[=!~]=)[\w.*+!]{1,40}"
                         r"(?:,(?:===|[<>]=?|[=!~]=)[\w.*+!]{1,40}){0,6})?) depends on (?P<req>[A-Za-z0-9][^\s,]{0,200})")
_UV_MISSING_DEPENDENCY = re.compile(
    r"(?:(?<![\w.\-])(?P<missing>[A-Za-z0-9][\w.\-]{0,100}) was not found in the package registry|there is no version of "
    r"(?P<missing_version>[A-Za-z0-9][\w.\-\[\]]{0,100}(?:===?|<=?|>=?)[\w.*+!]{1,60}))\s{1,40}and\s{1,40}"
    r"(?P<who>[A-Za-z0-9][\w.\-\[\]]{0,100}(?:(?:===|[<>]=?|[=!~]=)[\w.*+!]{1,60})?)\s{1,40}depends\s{1,40}on\b")
_UV_REQUIRE = re.compile(r"\byou require (?P<req>[A-Za-z0-9][^\s,]{0,200})")
_UV_PYTHON = re.compile(r"the requested Python version \((?P<requested>[^)\n]{1,100})\) does not satisfy "
                        r"Python(?P<needed>[<>=!~][^\s]{0,100}?)(?=\s|$)")
_UV_PRERELEASE = re.compile(r"was requested with a pre-release marker \(e\.g\., [^)\n]{1,200}\)")
#: mamba: "  - nothing provides requested quarto", "nothing provides openssl >=1.1.1,<1.1.2.0a0 needed by python-2.7.15-h9bab390_2".
_NOTHING_PROVIDES = re.compile(r"nothing provides (?:requested )?(?P<spec>[A-Za-z0-9_][^\n]{0,200}?)"
                               r"(?: needed by (?P<by>[A-Za-z0-9_][\w.\-]{0,200}))?[ \t]*$", re.M)
#: pipenv: "vine==1.3.0,==5.0.0", the specifiers of several requirements joined.
_MERGED_SPECS = re.compile(r"(?P<name>[A-Za-z0-9][\w.\-]{0,100}?)(?P<specs>(?:===|[<>]=?|[=!~]=)[^\s]{1,600})$")


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
