"""The kernel's view of the files is older than the files (cause ``restart-needed``)."""
from __future__ import annotations

import time
from typing import Any, Iterable, List, Optional

from ... import fixes
from ...facts import environments as envs
from ...facts import syspath
from ...model import Evidence, Finding, module_attribute
from .. import Context, docs_for, rule
from ._facts import environment_facts, _kernel_line, _is_top_missing
from .shadowing import _is_installed, _same_file


# ------------------------------------------------------------------------------------------------ restart
@rule("module-not-found", "cannot-import-name", "healthy")
def restart_needed(ctx: Context) -> Iterable[Finding]:
    """Proven from evidence: the running kernel's view of the files is older than the files.

    Also for an import that works (``%dlldoctor NAME`` of a module already in ``sys.modules``): the loaded
    module against what is on disk now, so a stale module is never called healthy."""
    if ctx.interpreter is None or ctx.live_modules is None:
        return
    if ctx.failure is None and ctx.live_modules.get(ctx.top_level) is None:
        return
    facts = environment_facts(ctx)
    top = ctx.top_level
    start = _start_time(ctx)
    ev: List[Evidence] = [_kernel_line(ctx)]
    if start is not None:
        ev.append(Evidence("kernel started", _when(start), "/proc/self/stat"))
    module = ctx.live_modules.get(top)
    if module is not None:
        yield from _loaded_is_stale(ctx, module, top, start, ev)
        return
    if not _is_top_missing(ctx):
        return
    cands = [c for c in facts.candidates(top) if _is_installed(ctx, c, top)]
    if cands:
        where = cands[0]
        ev.append(Evidence(f"'{top}' is on disk now", where.path, f"sys.path[{where.entry.index}]"))
        newer = _mtime(ctx, where.path)
        confidence = 0.9
        dists = ctx.distributions.providing(top)
        if dists:
            ev.append(Evidence("installed distribution", f"{dists[0].name} {dists[0].version}", dists[0].path))
            newer = max(newer or 0, _mtime(ctx, dists[0].path) or 0) or newer
        if newer is not None and start is not None and newer > start + _CLOCK_SLACK:
            ev.append(Evidence("installed after the kernel started", _when(newer), where.path))
            confidence = 0.97
        yield Finding(
            kind="module-not-found", cause="restart-needed", confidence=confidence,
            summary=f"'{top}' is installed at {where.path} now, but the running kernel looked for it before "
                    f"the files were there and Python's import caches still say it is absent: clear the "
                    f"caches (or restart the kernel) and import again.",
            evidence=tuple(ev),
            fixes=(fixes.invalidate_import_caches(), fixes.restart_kernel(f"so '{top}' is found")),
            docs=docs_for("module-not-found", "restart-needed"))
        return
    pm = ctx.system.pathmod
    for folder, why in syspath.new_since_start(ctx.system, ctx.interpreter, ctx.sys_path, start):
        names = envs.site_listing(ctx.system, folder)
        if envs._finds(names, top) is None:
            continue
        ev.append(Evidence(f"'{top}' is on disk in", pm.join(folder, envs._finds(names, top) or top), why))
        yield Finding(
            kind="module-not-found", cause="restart-needed", confidence=0.96,
            summary=f"'{top}' is installed in {folder}, which is not on this kernel's sys.path because {why}: "
                    f"restart the kernel.",
            evidence=tuple(ev), fixes=(fixes.restart_kernel(f"so {folder} is added to sys.path"),),
            docs=docs_for("module-not-found", "restart-needed"))
        return


def _loaded_is_stale(ctx: Context, module: Any, top: str, start: Optional[float],
                     ev: List[Evidence]) -> Iterable[Finding]:
    pm = ctx.system.pathmod
    loaded_file = module_attribute(module, "__file__")
    loaded_version = module_attribute(module, "__version__")
    reasons: List[str] = []
    dists = ctx.distributions.providing(top)
    disk = dists[0] if dists else None
    installed_copy = isinstance(loaded_file, str) and bool(loaded_file) and (
        _installed_file(ctx, loaded_file, top) or _in_site_folder(ctx, loaded_file))
    if isinstance(loaded_version, str) and disk is not None and installed_copy \
            and _vnorm(loaded_version) != _vnorm(disk.version):
        ev.append(Evidence(f"version of '{top}' loaded in this kernel", loaded_version, f"{top}.__version__"))
        ev.append(Evidence(f"version of {disk.name} on disk now", disk.version, disk.path))
        reasons.append(f"the kernel runs {top} {loaded_version} but {disk.version} is installed now")
    if isinstance(loaded_file, str) and loaded_file:
        if not ctx.system.exists(loaded_file):
            ev.append(Evidence("loaded file no longer on disk", loaded_file, f"{top}.__file__"))
            reasons.append(f"the file it was loaded from ({loaded_file}) was removed or replaced")
        elif start is not None and (_mtime(ctx, loaded_file) or 0) > start + _CLOCK_SLACK and _installed_file(
                ctx, loaded_file, top):
            ev.append(Evidence("loaded file changed after the kernel started", _when(_mtime(ctx, loaded_file) or 0),
                               loaded_file))
            reasons.append("its files were rewritten after the kernel started")
        folder = pm.dirname(loaded_file)
        for lib in ctx.system.loaded_libraries():
            if lib.endswith(" (deleted)") and lib.startswith(folder.rstrip("/\\")):
                ev.append(Evidence("native library mapped but deleted on disk", lib, "/proc/self/maps"))
                reasons.append("a native library it loaded was deleted or replaced on disk")
                break
    for folder, why in syspath.new_since_start(ctx.system, ctx.interpreter, ctx.sys_path, start):
        hit = envs._finds(envs.site_listing(ctx.system, folder), top)
        if hit is not None and "after the kernel started" in why:
            ev.append(Evidence(f"another '{top}' is on disk in", pm.join(folder, hit), why))
            reasons.append(f"{pm.join(folder, hit)} would be imported by a fresh start ({why})")
            break
    if not reasons:
        return
    fix_list = [fixes.restart_kernel(f"to load the installed {top}")]
    if ctx.system.platform == "windows":
        ev.append(Evidence("Windows", "a loaded .pyd cannot be replaced while the kernel runs",
                           "restart before upgrading"))
    kind = ctx.failure.kind if ctx.failure else "module-not-found"
    versions = ""
    if isinstance(loaded_version, str) and disk is not None and _vnorm(loaded_version) != _vnorm(disk.version):
        versions = f"{top} {loaded_version} is loaded, {disk.name} {disk.version} is on disk: "
    yield Finding(kind=kind, cause="restart-needed", confidence=0.97,
                  summary=f"Restart needed: {versions}'{top}' changed on disk after this kernel imported it "
                          f"({'; '.join(reasons)}). Restart the kernel.",
                  evidence=tuple(ev), fixes=tuple(fix_list), docs=docs_for(kind, "restart-needed"))


#: The kernel's start time is known to the second (/proc/stat's btime): closer calls prove nothing.
_CLOCK_SLACK = 1.5


def _in_site_folder(ctx: Context, path: str) -> bool:
    """The file lies in a site-packages (or stdlib) folder on sys.path: an installer put it there."""
    for entry in environment_facts(ctx).entries:
        if entry.kind in syspath.SITE_KINDS and entry.resolved and (
                path.startswith(entry.resolved.rstrip("/\\") + ctx.system.pathmod.sep)):
            return True
    return False


def _installed_file(ctx: Context, path: str, top: str) -> bool:
    """The loaded file came from an installed distribution (a local file being edited is another story)."""
    facts = environment_facts(ctx)
    for cand in facts.candidates(top):
        if _same_file(ctx, cand.path, path) or path.startswith(cand.path.rstrip("/\\") + ctx.system.pathmod.sep):
            return _is_installed(ctx, cand, top)
    return False


def _vnorm(version: str) -> str:
    try:
        from packaging.version import Version

        return str(Version(version))
    except Exception:
        return version.strip()


def _start_time(ctx: Context) -> Optional[float]:
    value = ctx.cache.get("process-start-time")
    if value is None:
        value = syspath.process_start_time(ctx.system)
        ctx.cache["process-start-time"] = value
    return value


def _mtime(ctx: Context, path: str) -> Optional[float]:
    try:
        return ctx.system.stat(path).st_mtime
    except OSError:
        return None


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
