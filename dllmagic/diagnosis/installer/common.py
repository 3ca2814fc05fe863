"""What the installer rules share: the pasted text, the patterns of pip's and conda's lines, the release tables."""
from __future__ import annotations

import re
from typing import List, Optional

from ... import fixes
from ..._regex import LazyRegex
from ...knowledge import tables as knowledge_tables
from ...model import Evidence, Fix
from .. import Context
from .._common import detail


#: "<name> <version> depends on <requirement>" and "The user requested <requirement>" (pip's resolver).
_DEPENDS = LazyRegex(r"^\s*(?P<who>[A-Za-z0-9][\w.\-]*) (?P<version>\d[\w.+!*\-]*) depends on (?P<req>[^\n]+?)\s*$", re.M)
_REQUESTED = LazyRegex(r"^\s*The user requested (?P<req>[^\n]+?)\s*$", re.M)
_NAME = LazyRegex(r"^[A-Za-z0-9][A-Za-z0-9._-]*")

#: A 32-bit CPython in a pasted text: its version banner, its default Windows folder, Program Files (x86).
_PYTHON_32 = LazyRegex(r"\[MSC v\.\d{3,5} 32 bit \((?:Intel|ARM)\)\]|\bPython3\d{0,2}-32\\|Program Files \(x86\)\\Python")
#: uv's hint under "doesn't have a source distribution or wheel for the current platform".
_UV_PLATFORM_HINT = LazyRegex(
    r"You're on (?P<os>[A-Za-z][\w ]{0,20}) \(`?(?P<tag>[\w.\-]{1,80})`?\), but `?(?P<name>[A-Za-z0-9][\w.\-]{0,100})`? "
    r"\(v(?P<version>[^)\s]{1,60})\) only has wheels for(?: the following platforms?)?:\s*(?P<tags>[^\n;]{1,2000})")
#: pip: "Ignored the following versions that require a different python version: 1.25.0 Requires-Python >=3.9; …".
_IGNORED_LINE = LazyRegex(r"Ignored the following versions that require a different python version: (?P<list>[^\n]{1,20000})")
_IGNORED_ITEM = LazyRegex(r"(?P<version>[\w.+!]{1,60}) Requires-Python (?P<spec>[^;\n]{1,200})")
#: Poetry's verbose installer: a wheel of the release that this environment does not accept.
_SKIPPED_WHEEL = LazyRegex(r"Skipping wheel (?P<wheel>[A-Za-z0-9][\w.\-+!]{0,200}\.whl) as this is not supported")
#: Poetry: "- 24 candidate(s) were identified for the package" / "- 24 wheel(s) were skipped as your project's
#: environment does not support the identified abi tags".
_POETRY_SKIPPED = LazyRegex(r"(?P<found>\d{1,5}) candidate\(s\) were identified for the package[^\n]{0,20}\n[^\n]{0,40}?"
                             r"(?P<count>\d{1,5}) wheel\(s\) were skipped as your project's environment does not "
                             r"support the identified (?P<tags>[\w ]{1,40}?) tags")
#: conda: "Your python: python=3.8" and "  - dlib -> python[version='2.7.*|3.5.*']".
_CONDA_YOUR_PYTHON = LazyRegex(r"Your python: python=(?P<python>\d+\.\d+)")
_CONDA_NEEDS_PYTHON = LazyRegex(r"^\s*-\s*(?P<package>[A-Za-z0-9][\w.\-]{0,100}) -> python\[version='(?P<spec>[^'\n]{1,200})'\]",
                                 re.M)
#: conda / mamba list entries that pin a build string: "zstd==1.5.2=hbc0c0cd_6", "zstd ==1.5.2 h12be248_6".
_PINNED_BUILD = LazyRegex(r"^\s*-\s*(?:nothing provides requested )?(?P<name>[A-Za-z0-9_][\w.\-]{0,100}) ?==?"
                           r"(?P<version>[^\s=*]{1,60})(?:=| )(?P<build>[A-Za-z0-9_][\w.]{0,60})\s*$", re.M)
#: mamba: a package of the list needs a virtual package of another operating system.
_NEEDS_OTHER_OS = LazyRegex(r"nothing provides (?P<virtual>__(?:win|linux|osx|unix|glibc))\b[^\n]{0,80}? needed by "
                             r"(?P<by>[A-Za-z0-9][\w.\-]{0,200})")
_CONDA_PLATFORM = LazyRegex(r"^\s*Platform: (?P<platform>[a-z0-9]+-[a-z0-9_]+)\s*$", re.M)


def _text(ctx: Context) -> str:
    """The installer output as the signatures read it (normalised once per report)."""
    cached = ctx.cache.get("installer_text")
    if cached is None:
        from ...failure.intake import normalise

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
