"""The short answer for an import that works."""
from __future__ import annotations

from typing import Iterable, List

from .. import fixes
from ..model import Evidence, Finding
from . import Context, docs_for, rule
from .not_found.lookup import code_free_namespace, orphan_bytecode


@rule("healthy")
def imports_fine(ctx: Context) -> Iterable[Finding]:
    result = ctx.import_result or {}
    if not result.get("ok"):
        return
    name = ctx.target
    if not result.get("file") and ctx.interpreter is not None and "." not in name and \
            code_free_namespace(ctx, name):
        return   # not healthy: namespace_only says what it is
    dists = ctx.distributions.providing(name) if ctx.interpreter is not None else []
    if not result.get("file") and "." not in name and _regular_package_lost_its_init(ctx, name, dists):
        return   # an empty namespace where a package was installed: not healthy (broken_install says why)
    where = result.get("file") or "a built-in or namespace package"
    evidence = [Evidence("imported from", where, result.get("how", "a fresh child process of this interpreter"))]
    version = result.get("version")
    if dists:
        # Two metadata folders of one name beside each other: the one whose RECORD matches the files on disk.
        dists = sorted(dists, key=lambda d: not _record_matches_disk(ctx, d, ctx.top_level))
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
    if not dists or len({(d.key, d.location) for d in dists}) < len(dists):
        return   # two metadata folders of one name: leftover_metadata_beside_a_working_import says which
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


@rule("healthy")
def editable_source_gone_beside_a_working_import(ctx: Context) -> Iterable[Finding]:
    """The import works from this folder (the notebook sits in the project), but the editable install of that
    distribution points to a place that is gone (the project was moved or renamed since ``pip install -e``):
    from any other folder, and for every other tool, the import fails. Said beside the healthy answer."""
    result = ctx.import_result or {}
    if not result.get("ok") or ctx.interpreter is None:
        return
    from ..planner import envfacts
    from .not_found.installed import _editable_source_gone

    top = ctx.top_level
    for dist in ctx.distributions.providing(top) or ctx.distributions.by_name(top):
        gone = _editable_source_gone(ctx, dist, top)
        if not gone:
            continue
        source = envfacts.installed_from(ctx, dist.name) or "an editable install"
        where = result.get("file") or "this folder"
        evidence = [Evidence("imported from", where, result.get("how", "a fresh child process of this interpreter")),
                    Evidence("distribution metadata present", f"{dist.name} {dist.version}", dist.path),
                    Evidence(f"{dist.name} {dist.version} was installed from", source, dist.path + "/direct_url.json")]
        evidence += [Evidence(f"where {ctx.system.pathmod.basename(named_by)} points", f"{path} ({why})", named_by)
                     for path, named_by, why in gone[:3]]
        yield Finding(
            kind="module-not-found", cause="broken-install", confidence=0.8,
            summary=f"{ctx.target} imports here only because this folder holds it ({where}): {dist.name} "
                    f"{dist.version} is {source}, but where it points, {gone[0][0]}, {gone[0][2]}. From any "
                    f"other folder the import fails.",
            evidence=tuple(evidence),
            fixes=(fixes.instruction(
                f"Reinstall {dist.name} from where the project is now",
                f"With this kernel's Python, in the project's folder as it is now (the one holding {where}): "
                f"python -m pip install -e .  then restart the kernel.", restart=True),),
            docs=docs_for("module-not-found", "broken-install"))
        return


@rule("healthy")
def leftover_metadata_beside_a_working_import(ctx: Context) -> Iterable[Finding]:
    """Two ``*.dist-info`` of one distribution in one folder (an upgrade that did not remove the old metadata,
    a copy over a site-packages): the import works, but importlib.metadata, pip list and pip uninstall may read
    the leftover. The files on disk tell which is current: RECORD's sha256 of the module's files."""
    result = ctx.import_result or {}
    if not result.get("ok") or ctx.interpreter is None:
        return
    groups: dict = {}
    for dist in ctx.distributions.providing(ctx.top_level):
        groups.setdefault((dist.key, dist.location), []).append(dist)
    for (_key, location), group in groups.items():
        if len(group) < 2:
            continue
        current = [d for d in group if _record_matches_disk(ctx, d, ctx.top_level)]
        evidence = [Evidence(f"metadata of {d.name} {d.version}",
                             "its RECORD matches the files on disk" if d in current else
                             "its RECORD does not match the files on disk", d.path) for d in group]
        if len(current) == 1:
            keep = current[0]
            leftovers = [d for d in group if d is not keep]
            fix = fixes.instruction(
                f"Delete the leftover metadata of {', '.join(d.name + ' ' + d.version for d in leftovers)}",
                "Metadata only: the module's files on disk are " + f"{keep.name} {keep.version}'s. Delete "
                + " and ".join(d.path for d in leftovers) + " (a folder of metadata, no code), then restart "
                "the kernel.", risk="medium")
            said = f"the files on disk are {keep.version}'s, and {', '.join(d.version for d in leftovers)} is left over"
        else:
            fix = fixes.instruction(f"Reinstall {group[0].name} cleanly",
                                    f"Delete every {group[0].name}-*.dist-info folder in {location}, then install "
                                    f"{group[0].name} again with this kernel's Python.", risk="medium")
            said = "their RECORDs cannot tell which one the files on disk belong to"
        yield Finding(
            kind="module-not-found", cause="duplicate-distributions", confidence=0.7,
            summary=f"{ctx.target} imports, but {location} holds {len(group)} metadata folders of {group[0].name} "
                    f"({', '.join(d.version for d in group)}): {said}. importlib.metadata, pip list and pip "
                    f"uninstall may read either.",
            evidence=tuple(evidence), fixes=(fix,), docs=docs_for("module-not-found", "duplicate-distributions"))
        return


def _record_matches_disk(ctx: Context, dist, top: str) -> bool:
    """The first hashed file under ``top`` in ``dist``'s RECORD has that sha256 on disk."""
    import base64
    import hashlib

    text = dist._read("RECORD") or ""
    for line in text.splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) != 3 or not parts[1].startswith("sha256="):
            continue
        path = parts[0].strip('"').replace("\\", "/")
        if path.split("/", 1)[0] not in (top, f"{top}.py") or "__pycache__" in path:
            continue
        try:
            data = ctx.system.read_bytes(ctx.system.join(dist.location, path), limit=64 << 20)
        except OSError:
            return False
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return digest == parts[1][len("sha256="):]
    return False


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
    leftovers = [pyc for c in folders[:3] for pyc in orphan_bytecode(ctx, c.path)]
    if leftovers:
        # Sources deleted, bytecode kept: Python never imports a __pycache__ file without its .py.
        evidence.append(Evidence("compiled leftovers without their .py (never imported)", ", ".join(leftovers[:3]),
                                 "PEP 3147: __pycache__ is read only beside the source"))
    evidence.append(Evidence("distribution providing it", "none installed", "top_level.txt / RECORD"))
    evidence.append(Evidence("import name → distribution", f"{name} → {dist}", source))
    where = folders[0].path
    return Finding(
        kind="module-not-found", cause="not-installed", confidence=0.97,
        summary=f"'import {name}' works, but only as an empty namespace package made from the folder {where}, "
                f"which holds no Python code{' (only compiled leftovers in __pycache__, whose .py files are gone)' if leftovers else ''}: {dist} is not installed in this environment "
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


def _regular_package_lost_its_init(ctx: Context, name: str, dists: List) -> bool:
    """The import made a namespace package of ``name``, but a distribution that provides it installed it as a
    regular package (its RECORD lists name/__init__.py) and that file is gone from its folder: the package
    Python found is an empty shell of the installed one."""
    init = f"{name}/__init__.py"
    for dist in dists:
        if init in dist.record() and dist.location and \
                not ctx.system.is_file(ctx.system.join(dist.location, name, "__init__.py")):
            return True
    return False
