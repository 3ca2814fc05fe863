"""conda and pip disagree about who owns a package's files (cause ``mixed-installers``)."""
from __future__ import annotations

import re
from typing import Iterable, List, Optional, Tuple

from ... import fixes
from ...facts import environments as envs
from ...facts.distributions import normalize
from ...model import Evidence, Finding, Fix
from .. import Context, docs_for, rule
from ._facts import _kernel_line


# ------------------------------------------------------------------------------------------------ ownership
_CONDA_SUBDIRS = re.compile(r"/(?:noarch|linux-[\w]+|osx-[\w]+|win-[\w]+)/?$")


def _channel_name(channel: Optional[str]) -> Optional[str]:
    """conda-forge from 'https://conda.anaconda.org/conda-forge[/noarch]' or 'conda-forge'; None for defaults."""
    if not channel:
        return None
    text = _CONDA_SUBDIRS.sub("", channel.strip().rstrip("/"))
    match = re.match(r"^https?://conda\.anaconda\.org/([A-Za-z0-9._-]+)$", text)
    name = match.group(1) if match else text
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,100}", name) or name in ("defaults", "main", "pkgs"):
        return None
    return name


def _conda_frontend(ctx: Context) -> Tuple[str, Optional[str]]:
    kind = ctx.interpreter.environment_kind if ctx.interpreter else ""
    frontend = "micromamba" if kind == "micromamba" else ("mamba" if kind == "mamba" else "conda")
    exe = ctx.system.getenv("MAMBA_EXE") if frontend != "conda" else ctx.system.getenv("CONDA_EXE")
    return frontend, exe


def ownership_fixes(ctx: Context, conflict: envs.InstallerConflict) -> List[Fix]:
    """Reinstall with the manager that owns the environment (conda): never a runnable uninstall."""
    it = ctx.interpreter
    out: List[Fix] = []
    try:
        name = fixes.validate_name(conflict.name)
    except fixes.UnsafeName:
        return out
    version = conflict.conda_version if re.fullmatch(r"[A-Za-z0-9._+!]{1,60}", conflict.conda_version or "") else None
    spec = f"{name}=={version}" if version else name
    other = conflict.installer if re.fullmatch(r"[A-Za-z0-9._-]{1,40}", conflict.installer or "") else "pip"
    if it.environment_kind == "pixi":
        out.append(fixes.instruction(
            f"Take {other}'s copy of {name} away and let pixi restore its own",
            f"%pip uninstall -y {name}\nThen, in the project folder:  pixi install  (pixi puts back the conda "
            f"package its lock file names), and restart the kernel."))
        return out
    frontend, exe = _conda_frontend(ctx)
    channel = _channel_name(conflict.conda_channel)
    shown = spec if spec == name else f'"{spec}"'
    reinstall = f"%{frontend} install -y --force-reinstall" + (f" -c {channel}" if channel else "") + f" {shown}"
    if conflict.relation == "pip-over-conda":
        out.append(fixes.instruction(
            f"Replace {other}'s {name} {conflict.version} with conda's {name} {version or ''}".rstrip(),
            f"conda manages this environment; {other} wrote over conda's copy of {name}. Take {other}'s copy "
            f"away, then let {frontend} put its own back:\n%pip uninstall -y {name}\n{reinstall}\n"
            f"To keep {other}'s version instead: conda remove --force {name} (drops conda's record and its "
            f"files), then %pip install --force-reinstall {name}. Restart the kernel afterwards.",
            risk="medium"))
    else:
        out.append(fixes.instruction(
            f"Remove {other}'s leftover metadata of {name}, then let {frontend} restore its files",
            f"conda installed {name} over {other}'s copy; {other}'s metadata folder is still there:\n"
            f"{conflict.dist_path}\nDelete that folder (not with '%pip uninstall', which would delete files "
            f"that conda's {name} owns now), then:\n{reinstall}\nRestart the kernel afterwards.",
            risk="medium"))
    try:
        out.append(fixes.conda_reinstall(it, [spec], frontend=frontend, executable=exe, channel=channel))
    except fixes.UnsafeName:
        pass
    return out


def _under_prefix(ctx: Context, path: str, prefix: str) -> bool:
    pm = ctx.system.pathmod
    p, f = pm.normcase(pm.normpath(path)), pm.normcase(pm.normpath(prefix)).rstrip("/\\")
    return p == f or p.startswith(f + pm.sep)


@rule("healthy", "module-not-found", "cannot-import-name", "missing-shared-library", "missing-symbol",
      "native-init-failed")
def mixed_installers(ctx: Context) -> Iterable[Finding]:
    """In a conda environment, pip (or uv) installed over conda's copy of the package, or conda over pip's:
    conda-meta records against the .dist-info's INSTALLER and RECORD. The ownership is also offered as
    evidence on whatever finding ranks first (``ctx.supporting``)."""
    it = ctx.interpreter
    if it is None or not it.prefix or not ctx.target:
        return
    system = ctx.system
    if not system.is_dir(system.join(it.prefix, "conda-meta")):
        return
    top = ctx.top_level
    index = ctx.distributions
    keys = {d.key for d in index.providing(top)} | {normalize(top)}
    dists = [d for d in index.all() if d.key in keys and _under_prefix(ctx, d.location, it.prefix)]
    if not dists:
        return
    conflicts = envs.installer_conflicts(system, it.prefix, dists)
    if not conflicts:
        return
    conflict = sorted(conflicts, key=lambda c: c.relation != "conda-over-pip")[0]
    pm = system.pathmod
    ev = [_kernel_line(ctx),
          Evidence("conda-meta records", f"{conflict.name} {conflict.conda_version or '?'}" +
                   (f" from {conflict.conda_channel}" if conflict.conda_channel else ""), conflict.conda_record),
          Evidence(f"{pm.basename(conflict.dist_path)} says it was installed by", conflict.installer,
                   pm.join(conflict.dist_path, "INSTALLER"))]
    if conflict.conda_dist_path:
        ev.append(Evidence("conda's own metadata beside it", conflict.conda_dist_path, conflict.conda_record))
    if conflict.conflicts:
        more = conflict.conflict_count - len(conflict.conflicts)
        ev.append(Evidence("files both installers claim", ", ".join(conflict.conflicts) +
                           (f" (+{more} more)" if more > 0 else ""),
                           f"{pm.join(conflict.dist_path, 'RECORD')} and {conflict.conda_record}"))
    ctx.supporting.append(Evidence("installer ownership", conflict.sentence, conflict.conda_record))
    kind = ctx.failure.kind if ctx.failure else "healthy"
    if kind == "healthy":
        summary = (f"'{top}' imports, but {conflict.sentence}. The next conda update or pip install of it may "
                   f"break it: reinstall it with conda, which manages this environment.")
        confidence = 0.5
    else:
        summary = (f"In this conda environment, {conflict.sentence}. The two installers disagree about the files "
                   f"and version of {conflict.name}: reinstall it with conda, which manages this environment.")
        confidence = 0.8 if conflict.relation == "conda-over-pip" and conflict.conflicts else 0.75
    yield Finding(kind=kind, cause="mixed-installers", confidence=confidence, summary=summary,
                  evidence=tuple(ev), fixes=tuple(ownership_fixes(ctx, conflict)), docs=docs_for(kind, "mixed-installers"))
