"""The short answer for an import that works."""
from __future__ import annotations

from typing import Iterable, List

from ..model import Evidence, Finding
from . import Context, docs_for, rule
from .not_found.lookup import code_free_namespace


@rule("healthy")
def imports_fine(ctx: Context) -> Iterable[Finding]:
    result = ctx.import_result or {}
    if not result.get("ok"):
        return
    name = ctx.target
    if not result.get("file") and ctx.interpreter is not None and "." not in name and \
            code_free_namespace(ctx, name):
        return   # not healthy: namespace_only says what it is
    where = result.get("file") or "a built-in or namespace package"
    evidence = [Evidence("imported from", where, result.get("how", "a fresh child process of this interpreter"))]
    dists = ctx.distributions.providing(name) if ctx.interpreter is not None else []
    version = result.get("version")
    if dists:
        dist = dists[0]
        evidence.append(Evidence("distribution", f"{dist.name} {dist.version}", dist.path))
        version = version or dist.version
        installer = dist.installer
        if installer:
            evidence.append(Evidence("installed by", installer, dist.path + "/INSTALLER"))
    if ctx.interpreter is not None:
        it = ctx.interpreter
        evidence.append(Evidence("environment", f"{it.prefix} ({it.environment_kind}, Python {it.version})",
                                 "sys.prefix"))
    seconds = result.get("seconds")
    if isinstance(seconds, (int, float)):
        evidence.append(Evidence("import time", f"{seconds * 1000:.0f} ms", "measured in the child process"))
    stale = _source_newer_than_extension(ctx, result.get("file"))
    if stale:
        evidence.append(Evidence("not imported: the source beside it, changed after the extension was built",
                                 stale, "Python imports an extension module before a .py of the same name: "
                                        "rebuild it (pip install -e . / setup.py build_ext --inplace) or delete it"))
    dist_text = f", distribution {dists[0].name}" if dists else ""
    yield Finding(
        kind="healthy", cause="healthy", confidence=1.0,
        summary=f"{name} imports fine here from {where}"
                f"{f' (version {version}{dist_text})' if version else ''}."
                + (f" Note: {stale}, changed after that extension was built, is not what runs." if stale else ""),
        evidence=tuple(evidence), docs=docs_for("healthy"))


@rule("healthy")
def files_missing_beside_a_working_import(ctx: Context) -> Iterable[Finding]:
    """The import works, yet files the distribution's RECORD lists are gone (a clean-up that deleted too much,
    an interrupted upgrade): what was asked imports, other parts of the package will not. Said beside the
    healthy answer (which stays true for this import), with the reinstall."""
    result = ctx.import_result or {}
    if not result.get("ok") or ctx.interpreter is None:
        return
    dists = ctx.distributions.providing(ctx.top_level)
    if not dists:
        return
    dist = dists[0]
    missing = dist.missing_files(limit=5)
    if not missing:
        return
    from .not_found.install import _pip_or_plain

    fix = _pip_or_plain(ctx, [f"{dist.name}=={dist.version}"], reinstall=True,
                        title=f"Reinstall {dist.name} {dist.version}")
    yield Finding(
        kind="module-not-found", cause="broken-install", confidence=0.7,
        summary=f"{ctx.target} imports, but {dist.name} {dist.version} is damaged: files its RECORD lists are "
                f"missing ({', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}), so other parts of it "
                f"will fail to import or run.",
        evidence=(Evidence("distribution metadata present", f"{dist.name} {dist.version}", dist.path),
                  Evidence("files listed in RECORD but missing", ", ".join(missing), dist.path + "/RECORD")),
        fixes=(fix,), docs=docs_for("module-not-found", "broken-install"))


@rule("healthy", "cannot-import-name")
def namespace_only(ctx: Context) -> Iterable[Finding]:
    """``import name`` works only because a folder of that name, with no code in it, is on sys.path: the
    module is an empty namespace package, and everything the user's code takes from it is missing (the
    AttributeError or 'cannot import name ... (unknown location)' that follows)."""
    if ctx.interpreter is None:
        return
    if ctx.failure is None:
        result = ctx.import_result or {}
        if not result.get("ok") or result.get("file") or "." in ctx.target:
            return
    name = ctx.top_level
    folders = code_free_namespace(ctx, name)
    if folders:
        yield _namespace_only(ctx, name, folders)


def _namespace_only(ctx: Context, name: str, folders: List) -> Finding:
    from .not_found.install import _install_or_explain
    from .not_found.lookup import _env_line, distribution_for

    dist, validated, source = distribution_for(ctx, name)
    evidence = [_env_line(ctx)]
    evidence += [Evidence(f"'{name}' is made from the folder", f"{c.path} (no __init__.py, no Python code in it)",
                          c.entry.source) for c in folders[:3]]
    evidence.append(Evidence("distribution providing it", "none installed", "top_level.txt / RECORD"))
    evidence.append(Evidence("import name → distribution", f"{name} → {dist}", source))
    where = folders[0].path
    return Finding(
        kind="module-not-found", cause="not-installed", confidence=0.97,
        summary=f"'import {name}' works, but only as an empty namespace package made from the folder {where}, "
                f"which holds no Python code: {dist} is not installed in this environment "
                f"({ctx.interpreter.prefix}), so everything taken from '{name}' (functions, classes, submodules) "
                f"is missing. An installed {name} is imported instead of that folder, which can stay.",
        evidence=tuple(evidence), fixes=(_install_or_explain(ctx, name, dist, validated),),
        docs=docs_for("module-not-found", "not-installed"))


def _source_newer_than_extension(ctx: Context, path) -> str:
    """``core.py`` beside the imported ``core.cpython-311-x86_64-linux-gnu.so``, edited after the extension was
    built, in a folder no installer manages (the user's own project): what the user edits is not what runs.
    "" when not so."""
    if not isinstance(path, str) or ctx.interpreter is None or not path.endswith((".so", ".pyd")):
        return ""
    pm = ctx.system.pathmod
    folder, name = pm.split(path)
    if any(part in ("site-packages", "dist-packages") for part in path.replace("\\", "/").split("/")):
        return ""
    source = pm.join(folder, name.split(".")[0] + ".py")
    try:
        newer = ctx.system.stat(source).st_mtime - ctx.system.stat(path).st_mtime
    except (OSError, AttributeError):
        return ""
    return source if newer > 2 else ""
