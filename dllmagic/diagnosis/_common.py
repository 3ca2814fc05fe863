"""Helpers shared by the native, Windows, NumPy, GPU, CPU, installer and pre-flight rule families.

Small and fact-only: which platform a failure is about (from the machine, or from the text when a
traceback was pasted), which installed distribution a file path belongs to, the kernel's package
manager. Rules build their sentences; fixes come from :mod:`dllmagic.fixes`.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from .. import fixes
from ..facts.distributions import normalize
from ..knowledge import tables as knowledge_tables
from ..model import Evidence, Fix
from . import Context

_SITE = re.compile(r"[\\/](?:site|dist)-packages[\\/]([^\\/\s'\"]+)")
_WINDOWS_HINT = re.compile(r"\.(?:dll|pyd)\b|\[WinError|[A-Za-z]:\\|DLL load failed", re.I)
_MAC_HINT = re.compile(r"\.dylib\b|Library not loaded|darwin\.so|\bdyld\b|/Users/|\.framework/")


def platform_of(ctx: Context) -> str:
    """The platform the failure happened on: the machine's when live, else what the text shows."""
    if ctx.interpreter is not None:
        return ctx.system.platform
    failure = ctx.failure
    text = " ".join(filter(None, [failure.message if failure else "", failure.library if failure else "",
                                  failure.extension if failure else "", detail(ctx, "found_path")]))
    if _WINDOWS_HINT.search(text):
        return "windows"
    if _MAC_HINT.search(text):
        return "macos"
    return "linux"


def detail(ctx: Context, name: str) -> Optional[str]:
    """A named group of the failure's signature (Failure.details), or None."""
    if ctx.failure is None:
        return None
    for key, value in ctx.failure.details:
        if key == name:
            return value
    return None


def basename(path: Optional[str]) -> str:
    return (path or "").replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def site_folder_of(path: Optional[str]) -> Optional[str]:
    """The top folder inside site-packages a path lies in (``cv2``, ``scikit_learn.libs``), or None."""
    match = _SITE.search(path or "")
    return match.group(1) if match else None


def paths_in_text(ctx: Context) -> List[str]:
    """File paths in the failure (extension, required_by, found path) and in its traceback lines."""
    failure = ctx.failure
    out: List[str] = []
    if failure is None:
        return out
    for value in (failure.extension, failure.required_by, detail(ctx, "found_path"), failure.from_path):
        if value and value not in out:
            out.append(value)
    # A live exception's frames (the kernel hook's path), read from its traceback.
    out.extend(f for f in ctx.cache.get("frame_files") or () if f not in out)
    texts = [failure.message or ""]
    # A child-process import (check) keeps each exception's traceback text in its records.
    for record in (ctx.import_result or {}).get("records") or ():
        if isinstance(record, dict):
            texts.append(str(record.get("traceback") or ""))
    texts.append(str(ctx.cache.get("text") or ""))
    for text in texts:
        for match in re.finditer(r'File "([^"\n]+)"', text):
            if match.group(1) not in out:
                out.append(match.group(1))
    return out


def distribution_for_folder(ctx: Context, folder: str) -> Tuple[str, bool, str]:
    """(distribution, validated?, source) owning a site-packages folder: ``cv2`` → opencv-python,
    ``scikit_learn.libs`` → scikit-learn, ``numpy-1.26.4.dist-info`` → numpy."""
    folder = folder.split(".libs")[0].lstrip(".").replace(".dylibs", "")
    folder = re.sub(r"-[\d.]+\.(dist|egg)-info$", "", folder)
    top = folder.split(".")[0] if not folder.endswith(".py") else folder[:-3]
    if ctx.interpreter is not None:
        for dist in ctx.distributions.providing(top):
            return dist.name, True, dist.path
        dist = ctx.distributions.get(folder)
        if dist is not None:
            return dist.name, True, dist.path
    entry = knowledge_tables.import_names().get(top)
    if entry:
        return entry["dist"], True, f"knowledge/import_names.json#{entry['id']}"
    if not top[:1].isalnum():
        # A private module's name ("_imaging") is no distribution's: nothing is assumed.
        return top, False, "no distribution known for this name"
    return top.replace("_", "-"), False, "assumed from the folder name"


def installed(ctx: Context, name: str):
    """The installed distribution ``name`` in the kernel's environment, or None (always None from text)."""
    if ctx.interpreter is None:
        return None
    return ctx.distributions.get(name)


def is_conda(ctx: Context) -> bool:
    it = ctx.interpreter
    if it is None:
        return False
    return it.environment_kind in ("conda", "mamba", "micromamba") or ctx.system.is_dir(
        ctx.system.join(it.prefix, "conda-meta"))


def conda_fix(ctx: Context, packages: List[str], title: Optional[str] = None) -> Optional[Fix]:
    """``%conda install -c conda-forge ...`` into the kernel's conda environment, or None elsewhere."""
    if not is_conda(ctx):
        return None
    try:
        return fixes.conda_install(ctx.interpreter, packages, channel="conda-forge",
                                   executable=ctx.system.getenv("CONDA_EXE"), title=title)
    except fixes.UnsafeName:
        return None


def os_release(ctx: Context) -> Optional[Tuple[str, str, str]]:
    """(ID, ID_LIKE, PRETTY_NAME) of a live or modelled Linux machine's /etc/os-release."""
    if ctx.interpreter is None or ctx.system.platform != "linux":
        return None
    try:
        text = ctx.system.read_text("/etc/os-release", limit=16384)
    except OSError:
        return None
    fields = dict(re.findall(r'^([A-Z_]+)="?([^"\n]*)"?$', text, re.MULTILINE))
    return fields.get("ID", ""), fields.get("ID_LIKE", ""), fields.get("PRETTY_NAME", "")


def package_managers(ctx: Context) -> List[str]:
    """apt and/or dnf, in the order this machine makes likely (both when explaining a text)."""
    release = os_release(ctx)
    if release is None:
        return ["apt", "dnf"]
    ident = f"{release[0]} {release[1]}"
    if re.search(r"debian|ubuntu", ident):
        return ["apt"]
    if re.search(r"fedora|rhel|centos|rocky|alma|amzn", ident):
        return ["dnf"]
    return ["apt", "dnf"]


def kernel_evidence(ctx: Context) -> List[Evidence]:
    it = ctx.interpreter
    if it is None:
        return []
    return [Evidence("kernel interpreter", f"{it.executable} (Python {it.version}, {it.bits}-bit, "
                                           f"{it.environment_kind})",
                     "sys.executable" if it.source == "sys" else it.source)]


def pip(ctx: Context, requirements: List[str], *, validated: bool, title: Optional[str] = None,
        reinstall: bool = False, upgrade: bool = False, allow_major: bool = False) -> Optional[Fix]:
    """Install ``requirements``, planned against the environment (:mod:`dllmagic.planner`): intersected
    with every installed pin, made with the tool that owns the environment, or a statement of why not."""
    from ..planner import Intent, install_fix

    try:
        reqs = tuple(fixes.validate_requirement(r) for r in requirements)
    except fixes.UnsafeName:
        return None
    title = title or f"Install {', '.join(reqs)} into this kernel's environment"
    return install_fix(ctx, Intent(reqs, title, validated=validated, reinstall=reinstall, upgrade=upgrade,
                                   allow_major=allow_major))


def same_name(a: str, b: str) -> bool:
    return normalize(a) == normalize(b)


def error_evidence(ctx: Context) -> Evidence:
    """The failure's own message (first line) as evidence."""
    failure = ctx.failure
    line = (failure.message or "").strip().splitlines()[0][:300] if failure and failure.message else ""
    return Evidence("error", f"{failure.exc_type}: {line}" if failure and failure.exc_type else line,
                    "the exception" if ctx.interpreter is not None else "the pasted text")


def path_owner(ctx: Context, path: Optional[str]):
    """(distribution name, validated, requirement) owning a site-packages path, or None."""
    folder = site_folder_of(path)
    if not folder:
        return None
    dist_name, validated, _ = distribution_for_folder(ctx, folder)
    dist = installed(ctx, dist_name)
    return dist_name, validated, (f"{dist.name}=={dist.version}" if dist is not None else dist_name)


def reinstall_owner(ctx: Context, path: str, title: str) -> List[Fix]:
    owner = path_owner(ctx, path)
    if owner is None:
        return []
    fix = pip(ctx, [owner[2]], validated=owner[1], reinstall=True, title=title.format(dist=owner[2]))
    return [fix] if fix else []
