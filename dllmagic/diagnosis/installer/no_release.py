"""No release fits: pip's "no matching distribution", uv's and conda's equivalents, and why (Python, platform, build)."""
from __future__ import annotations

import re
from typing import Iterable, List, Optional

from ... import fixes
from ..._regex import LazyRegex
from ...knowledge import tables as knowledge_tables
from ...model import Evidence, Finding, Fix
from .. import Context, docs_for, rule
from .._common import detail, kernel_evidence, pip
from .common import (_CONDA_NEEDS_PYTHON, _CONDA_PLATFORM, _CONDA_YOUR_PYTHON, _IGNORED_ITEM, _IGNORED_LINE,
    _NAME, _POETRY_SKIPPED, _PYTHON_32, _SKIPPED_WHEEL, _UV_PLATFORM_HINT, _exported_builds, _final,
    _python_of, _python_range, _requirement_name, _text, _versions_seen, releases_for)


#: The source release an installer fetched: "Using cached tensorflow-gpu-2.12.0.tar.gz (2.6 kB)".
_SDIST = LazyRegex(r"(?:Using cached|Downloading|Collecting) (?:\S{0,300}/)?(?P<name>[A-Za-z0-9][\w.\-]{0,100}?)-"
                    r"(?P<version>\d[\w.!+]{0,60}?)\.(?:tar\.gz|zip|tar\.bz2)\b")


def _build_failed(ctx: Context, name: str, evidence: List[Evidence]) -> Iterable[Finding]:
    """The installer built a source release because no wheel fits, and the build failed."""
    from ...knowledge import load

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


def _distribution_of_import_name(name: str) -> Optional[tuple]:
    """(the module as the tables spell it, the distribution that installs it) when the tables know ``name`` as a
    module that a distribution of another name installs (dateutil → python-dateutil, pil → PIL, Pillow), else
    None."""
    names = knowledge_tables.import_names()
    key = name if name in names else next((k for k in names if k.lower() == name.lower()), None)
    dist = names[key].get("dist") if key else None
    if not dist or dist.lower().replace("_", "-") == name.lower().replace("_", "-"):
        return None
    return key, dist


def _known_names() -> List[str]:
    """Names of packages the knowledge tables know (distributions and import names), and Python itself."""
    from ...knowledge import load

    names = {"python", "pip", "conda", "numpy", "scipy", "pandas", "pytorch", "tensorflow", "cudatoolkit"}
    names.update(e["dist"].lower() for e in load("import_names")["entries"])
    names.update(e["dist"].lower() for e in load("extension_packages")["entries"])
    names.update(e["dist"].lower() for e in load("numpy2_support")["entries"])
    return sorted(names)


def _no_such_package(ctx: Context, name: str, evidence: List[Evidence]) -> Finding:
    """libmamba's "X does not exist (perhaps a typo or a missing channel)": no channel searched has that name at
    all. A known name close to it is named as what was most likely meant (never installed for the user)."""
    import difflib

    meant = difflib.get_close_matches(name.lower(), _known_names(), n=1, cutoff=0.8) if name else []
    meant = [m for m in meant if m != name.lower()]
    if meant:
        evidence.append(Evidence("a known package with a close name", meant[0], "the knowledge tables"))
    what = f"'{name}'" if name else "the package"
    summary = (f"No channel searched has a package named {what} (conda says: perhaps a typo or a missing channel)"
               + (f"; did you mean '{meant[0]}'?" if meant else ".")
               + " Nothing about this Python or platform is in question.")
    return Finding(
        kind="no-compatible-release", cause="no-release-for-platform", confidence=0.8, summary=summary,
        evidence=tuple(evidence),
        fixes=(fixes.instruction(
            "Check the package's name and channel",
            (f"The name is most likely {meant[0]}. " if meant else "")
            + f"conda search {name or '<name>'} lists the channels' builds of a name; https://anaconda.org shows "
              f"which channel carries a package (add it with -c CHANNEL), and PyPI names may differ from "
              f"conda's."),),
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


#: A wheel's file name (PEP 427): NAME-VERSION(-BUILD)?-PYTHON-ABI-PLATFORM.whl, the last three its tags.
_WHEEL_FILE = LazyRegex(r"(?:^|[\\/])(?P<name>[A-Za-z0-9][\w.]{0,100})-(?P<version>[\w.!+]{1,60})(?:-\d[\w.]{0,30})?"
                        r"-(?P<python>[\w.]{1,60})-(?P<abi>[\w.]{1,60})-(?P<platform>[\w.]{1,300})\.whl$")
#: Platform tags of a 64-bit build, which a 32-bit Python on the same machine refuses.
_SIXTY_FOUR_BIT = LazyRegex(r"(?:amd64|x86_64|aarch64|arm64|ppc64le|s390x)$")


def _wheel_python(tags: str) -> str:
    """'cp311' -> 'CPython 3.11', 'py3' -> 'any Python 3'; tags joined by '.' each said."""
    said = []
    for tag in tags.split("."):
        match = re.fullmatch(r"(cp|pp|py)(\d)(\d*)", tag)
        if not match:
            said.append(tag)
        elif match.group(1) == "py" and not match.group(3):
            said.append(f"any Python {match.group(2)}")
        else:
            implementation = {"cp": "CPython", "pp": "PyPy", "py": "Python"}[match.group(1)]
            said.append(f"{implementation} {match.group(2)}.{match.group(3)}" if match.group(3)
                        else f"{implementation} {match.group(2)}")
    return " or ".join(said)


def _unsupported_wheel(requirement: str, running: Optional[str], evidence: List[Evidence]) -> Optional[tuple]:
    """pip refused a wheel file: (summary, fix) from what its tags say it needs; ``running``: the Python the text
    names, if any."""
    match = _WHEEL_FILE.search(requirement)
    if match is None:
        return None
    python, platforms = _wheel_python(match.group("python")), match.group("platform").split(".")
    evidence.append(Evidence("the wheel's tags", f"Python {match.group('python')}, ABI {match.group('abi')}, "
                             f"platform {match.group('platform')}", "the wheel's file name (PEP 427)"))
    ways = [f"its version ({python} only)" if match.group("python").startswith(("cp", "pp")) else "its version",
            "its operating system or architecture" + ("" if platforms == ["any"] else f" ({', '.join(platforms[:4])})")]
    if any(_SIXTY_FOUR_BIT.search(p) for p in platforms):
        ways.append("its word size (a 32-bit Python refuses a 64-bit wheel, even on a 64-bit system)")
    summary = (f"pip refused the file {match.group(0).lstrip('/')}: its tags say it is built for {python} on "
               f"{'any platform' if platforms == ['any'] else ', '.join(platforms[:4])}, and the Python that ran pip "
               f"accepts none of them. Not checked which of these differs"
               f"{f' (the text gives its version as {running})' if running else ' (the text names no Python)'}: "
               f"{', '.join(ways[:-1])} or {ways[-1]}.")
    by_name = "" if "+" in match.group("version") else (
        f", or install by name (pip install \"{match.group('name')}=={match.group('version')}\") so that pip picks "
        f"the file itself")
    fix = fixes.instruction(
        "Compare the wheel's tags with the ones this Python accepts",
        f"python -VV shows the Python that runs pip (its version, and '32 bit' or '64 bit'); python -m pip debug "
        f"--verbose lists the tags it accepts. Download the file whose tags are among them{by_name}.")
    return summary, fix


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
    # (pip printed its list, and it was empty: "(from versions: none)")
    meant = (_distribution_of_import_name(name)
             if name and detail(ctx, "available") is not None and not seen else None)
    if meant:
        # "pip install dateutil": the module's name, which no distribution on the index has (from versions: none).
        module, meant = meant
        fix = pip(ctx, [meant], validated=True, title=f"Install {meant} (the distribution of the module {module})")
        yield Finding(
            kind="no-compatible-release", cause="import-name-not-distribution", confidence=0.88,
            summary=f"'{name}' is the name the code imports ({module}), not a distribution: the index has no release "
                    f"of it (pip saw none, for any Python or platform). The module {module} is installed by the "
                    f"distribution {meant}.",
            evidence=tuple(evidence + [Evidence(f"the distribution that installs the module {module}", meant,
                                                "knowledge/import_names.json")]),
            fixes=(fix,) if fix else (fixes.instruction(f"Install {meant}", f"pip install {meant}"),),
            docs=docs_for("no-compatible-release", "import-name-not-distribution"))
        return
    if failure.signature == "installer-build-failed":
        yield from _build_failed(ctx, name, evidence)
        return
    if failure.signature == "libmamba-spec-does-not-exist":
        yield _no_such_package(ctx, name, evidence)
        return
    if failure.signature == "uv-no-python-download":
        build = detail(ctx, "requirement") or " ".join(x for x in (detail(ctx, "libc"), detail(ctx, "arch")) if x)
        yield Finding(
            kind="no-compatible-release", cause="no-release-for-platform", confidence=0.85,
            summary=f"uv has no Python build of its own for this platform ({build}): python-build-standalone does not "
                    f"publish one. Use a Python the system provides (uv finds it on PATH, or pass --python PATH).",
            evidence=tuple(evidence + [Evidence("uv's managed Python asked for", build, "uv")]),
            fixes=(fixes.instruction("Use a Python installed on the system",
                                     "Install Python with the system's package manager (apk add python3, apt install "
                                     "python3), then uv venv --python /usr/bin/python3 (or set UV_PYTHON_PREFERENCE="
                                     "only-system); 'uv python list' shows what uv can use here."),),
            docs=docs_for("no-compatible-release", "no-release-for-platform"))
        return
    if failure.signature == "poetry-python-not-supported-by-project":
        found, accepts = detail(ctx, "found_version") or failure.version or "?", failure.version or "?"
        yield Finding(
            kind="no-compatible-release", cause="no-release-for-platform", confidence=0.85,
            summary=f"The project accepts Python {accepts} (its pyproject.toml), the active Python is {found}, and "
                    f"Poetry found no other installed Python that fits.",
            evidence=tuple(evidence + [Evidence("Python the project accepts", accepts, "Poetry"),
                                       Evidence("the active Python", found, "Poetry")]),
            fixes=(fixes.instruction("Give Poetry a Python the project accepts",
                                     f"Install a Python in {accepts}, then: poetry env use /path/to/that/python (or "
                                     f"widen the project's python requirement if its dependencies allow it)."),),
            docs=docs_for("no-compatible-release", "no-release-for-platform"))
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
    wheel = _unsupported_wheel(requirement, python, evidence) if failure.signature == "pip-not-a-supported-wheel" else None
    if wheel is not None:
        summary = wheel[0]
        fix_list.append(wheel[1])
    if wheel is None and ("+cu" in requirement or "+cpu" in requirement) and \
            failure.signature != "uv-no-wheel-for-current-platform":
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
