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


@rule("module-not-found")
def sys_path_changed_in_kernel(ctx: Context) -> Iterable[Finding]:
    """The module is in a folder the kernel had on sys.path at start-up and has no more: code run in the kernel
    took its site-packages off sys.path, or changed the working folder (os.chdir) that sys.path's '' stands
    for. It is installed (or is the user's file) all the same: never "not installed here"."""
    if ctx.interpreter is None or ctx.live_modules is None or not _is_top_missing(ctx):
        return
    top = ctx.top_level
    for folder, hit, why, put_back in off_sys_path(ctx, top):
        ev = [_kernel_line(ctx), Evidence(f"'{top}' is on disk in", ctx.system.join(folder, hit), why),
              Evidence("sys.path now", "; ".join(p or "''" for p in ctx.sys_path[:12]), "sys.path")]
        yield Finding(
            kind="module-not-found", cause="restart-needed", confidence=0.98,
            summary=f"'{top}' is at {ctx.system.join(folder, hit)}, but {folder} is no longer searched: {why}. "
                    f"It is not missing; restart the kernel (or {put_back}).",
            evidence=tuple(ev),
            fixes=(fixes.restart_kernel(f"so sys.path is as at start-up and '{top}' is found"),
                   fixes.instruction(f"Or, without a restart: {put_back}",
                                     f"{put_back}, then import again; and look for the code that changed it.")),
            docs=docs_for("module-not-found", "restart-needed"))
        return


def off_sys_path(ctx: Context, top: str) -> List[tuple]:
    """(folder, the entry found there, why it is off sys.path, how to put it back) for each folder this
    running kernel searched for modules at start-up, no longer searches, and holds ``top``: a site folder of
    the interpreter (``site.getsitepackages()``) removed from sys.path, or the folder the kernel started in
    (IPython's ``_dh[0]``) when the working folder changed and sys.path has only ''. Only for this process."""
    cache = ctx.cache.setdefault("off-sys-path", {})
    if top not in cache:
        cache[top] = _off_sys_path(ctx, top)
    return cache[top]


def _off_sys_path(ctx: Context, top: str) -> List[tuple]:
    import site
    import sys

    it = ctx.interpreter
    if it is None or ctx.live_modules is None or not ctx.system.live or sys.flags.no_site or (
            it.source != "sys" and it.executable != sys.executable):
        return []   # another process: its start-up sys.path is not this one's
    pm = ctx.system.pathmod
    searched = {pm.normcase(pm.normpath(p)) for p in ctx.site_folders}
    out = []
    getsite = getattr(site, "getsitepackages", None)
    for folder in (getsite() if getsite is not None else []):
        if pm.normcase(pm.normpath(folder)) in searched or not ctx.system.is_dir(folder):
            continue
        hit = envs._finds(envs.site_listing(ctx.system, folder), top)
        if hit is not None:
            out.append((folder, hit, "it is a site-packages folder of this interpreter (site.getsitepackages()), "
                                     "on sys.path when the kernel started and taken off it since by code run "
                                     "in the kernel", f"sys.path.append({folder!r})"))
    history = (ctx.user_ns or {}).get("_dh")
    start = history[0] if isinstance(history, list) and history else None   # a str, or a Path (IPython 9)
    start = start if isinstance(start, str) else getattr(start, "__fspath__", lambda: None)()
    start = start if isinstance(start, str) else None
    if start and "" in ctx.sys_path and ctx.cwd and pm.isabs(start) and not _same_file(ctx, start, ctx.cwd) and \
            pm.normcase(pm.normpath(start)) not in searched and ctx.system.is_dir(start):
        hit = envs._finds(envs.site_listing(ctx.system, start), top)
        if hit is not None:
            out.append((start, hit, f"the kernel started in {start}, and its working folder is now {ctx.cwd} "
                                    f"(os.chdir): sys.path's '' is the working folder, wherever it is now",
                        f"os.chdir({start!r})"))
    return out


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
    edited = _defined_on_disk_only(ctx)
    if edited is not None:
        name, path = edited
        ev.append(Evidence(f"'{name}' is defined in the file on disk", path, "its source, read (never run)"))
        ev.append(Evidence(f"'{name}' in the module loaded in this kernel", "absent", "sys.modules"))
        reasons.append(f"{path} defines '{name}' now, but the module in memory was loaded before that "
                       f"(Python does not re-read a module imported once)")
    for folder, why in syspath.new_since_start(ctx.system, ctx.interpreter, ctx.sys_path, start):
        hit = envs._finds(envs.site_listing(ctx.system, folder), top)
        if hit is not None and "after the kernel started" in why:
            ev.append(Evidence(f"another '{top}' is on disk in", pm.join(folder, hit), why))
            reasons.append(f"{pm.join(folder, hit)} would be imported by a fresh start ({why})")
            break
    if not reasons:
        return
    only_edited = edited is not None and len(reasons) == 1
    fix_list = [fixes.restart_kernel(f"to load {top} as it is on disk now" if only_edited else
                                     f"to load the installed {top}")]
    if only_edited and ctx.failure is not None and ctx.failure.module:
        # Only the user's edit: reloading that one module is enough (and keeps the session).
        fix_list.insert(0, fixes.instruction(f"Reload {ctx.failure.module} (or restart the kernel)",
                                             f"import importlib, {ctx.failure.module}\n"
                                             f"importlib.reload({ctx.failure.module})\nthen run the import again."))
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


def _defined_on_disk_only(ctx: Context) -> Optional[tuple]:
    """('name', file) when 'from M import name' failed, the module M loaded in this kernel lacks 'name', and
    M's source file on disk defines it at top level (def, class, assignment, import): the file was changed
    after the kernel imported M. The source is parsed, never run."""
    import ast

    failure = ctx.failure
    if failure is None or failure.kind != "cannot-import-name" or not failure.name or not failure.module:
        return None
    module = (ctx.live_modules or {}).get(failure.module)
    path = module_attribute(module, "__file__") if module is not None else None
    if not isinstance(path, str) or not path.endswith(".py"):
        return None
    try:
        namespace = object.__getattribute__(module, "__dict__")   # never the module's own __getattr__
    except Exception:
        return None
    if not isinstance(namespace, dict) or failure.name in namespace:
        return None
    try:
        tree = ast.parse(ctx.system.read_text(path, limit=4 << 20))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        names = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [(a.asname or a.name).split(".")[0] for a in node.names]
        if failure.name in names:
            return failure.name, path
    return None


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
