"""Distributions that are (or are looked up as) installed but do not provide the module."""
from __future__ import annotations

from typing import List

from ... import fixes
from ...model import Evidence, Finding
from .. import Context, docs_for
from .install import _install_or_explain, _pip_or_plain
from .lookup import _env_line


#: Signatures whose name is a distribution's (metadata looked up by name), not an import name.
_DISTRIBUTION_SIGNATURES = ("pkg-resources-distribution-not-found", "importlib-metadata-package-not-found",
                            "importlib-metadata-package-not-found-bare")


def _distribution_not_found(ctx: Context, name: str) -> Finding:
    """pkg_resources' DistributionNotFound and importlib.metadata's PackageNotFoundError: code asked for the
    metadata of a distribution by its name, and none of that name is installed."""
    failure = ctx.failure
    details = dict(failure.details)
    requirement = name + details.get("specifier", "").strip()
    asked_by = failure.required_by
    evidence = [Evidence("distribution asked for", requirement, "the exception")]
    if asked_by:
        evidence.append(Evidence("required by", asked_by, "the exception"))
    if ctx.interpreter is not None:
        evidence.insert(0, _env_line(ctx))
    try:
        fixes.validate_requirement(requirement)
        safe = True
    except fixes.UnsafeName:
        safe = False
    fix = _install_or_explain(ctx, name, requirement if safe else name, validated=safe)
    return Finding(
        kind="module-not-found", cause="not-installed", confidence=0.8,
        summary=f"The distribution {requirement} is not installed in that environment"
                + (f": {asked_by} requires it" if asked_by else "")
                + " (the code looked up its installed metadata by name and found none).",
        evidence=tuple(evidence), fixes=(fix,), docs=docs_for("module-not-found", "not-installed"))


def _submodule_missing(ctx: Context, module: str, top: str, places: List[str],
                       evidence: List[Evidence]) -> Finding:
    dists = ctx.distributions.providing(top)
    version = f"{dists[0].name} {dists[0].version}" if dists else "an unknown version"
    ev = evidence + [Evidence(f"'{top}' found at", places[0], "sys.path")]
    sharing = sorted({d.name for d in dists})
    namespace = ctx.system.is_dir(places[0]) and not any(
        ctx.system.is_file(ctx.system.join(places[0], init)) for init in ("__init__.py", "__init__.pyc"))
    if len(sharing) > 1 or (namespace and dists):
        # A namespace package (google.*, azure.*): each distribution adds its own part; the missing part
        # belongs to another distribution, and none of these is to be pinned or removed.
        ev.append(Evidence(f"'{top}' is a namespace package provided by", ", ".join(sharing), places[0]))
        return Finding(
            kind="module-not-found", cause="submodule-not-found", confidence=0.8,
            summary=f"'{top}' is a namespace package shared by {', '.join(sharing)}; none of them provides "
                    f"'{module}': it belongs to another distribution, which is not installed here.",
            evidence=tuple(ev),
            fixes=(fixes.instruction(
                f"Install the distribution that provides {module}",
                f"Its documentation names the package to install (it is not '{top}'); {', '.join(sharing)} "
                f"need no change."),),
            docs=docs_for("module-not-found", "submodule-not-found"))
    if dists:
        lost = _files_of_module_gone(ctx, dists[0], module)
        if lost:
            # The installed release lists the submodule's files, and they are gone: no other release to pin,
            # the same one to reinstall.
            return _broken_install(ctx, module, dists[0], evidence, lost=lost)
        ev.append(Evidence("installed distribution", version, dists[0].path))
    else:
        from .cannot_import import _own_submodule, _well_known_module
        from .lookup import _is_environment_path

        parent = ctx.system.join(places[0], *module.split(".")[1:-1])
        if not _is_environment_path(ctx, places[0]) and not _well_known_module(ctx, top) \
                and ctx.system.is_dir(parent):
            # No installed distribution provides 'top' and its folder is the user's own: there is no version to
            # pin and nothing to install.
            own = _own_submodule(ctx, parent, module.split(".")[-1], imported=True)
            if own is not None:
                return own
    return Finding(
        kind="module-not-found", cause="submodule-not-found", confidence=0.8,
        summary=f"The package '{top}' is installed ({version}) but has no submodule "
                f"'{module[len(top) + 1:]}': the code that imports it expects another version of {top}, "
                f"or the installation is incomplete.",
        evidence=tuple(ev),
        fixes=(fixes.instruction(
            f"Install the version of {top} that the importing code was written for",
            f"Check which release of {top} still provides '{module}' (its changelog), then pin it, e.g. "
            f"%pip install \"{dists[0].name if dists else top}<{dists[0].version if dists else 'X'}\"."),),
        docs=docs_for("module-not-found", "submodule-not-found"))


def _files_of_module_gone(ctx: Context, dist, module: str) -> List[str]:
    """The files ``dist``'s RECORD lists for the (sub)module ``module`` (``pkg/sub.py``, ``pkg/sub/…``,
    ``pkg/sub.<tag>.so``) that are not on disk."""
    stem = module.replace(".", "/")
    out = []
    for entry in dist.record():
        name = entry.replace("\\", "/")
        if "__pycache__" in name or name.endswith(".pyc"):
            continue
        if name == stem + ".py" or name.startswith(stem + "/") or (
                name.startswith(stem + ".") and name.endswith((".so", ".pyd"))):
            if not ctx.system.exists(ctx.system.join(dist.location, entry)):
                out.append(entry)
                if len(out) >= 5:
                    break
    return out


def _broken_install(ctx: Context, module: str, dist, evidence: List[Evidence], complete: bool = False,
                    lost: List[str] = ()) -> Finding:
    """``lost``: the files of ``module`` (a submodule) that RECORD lists and that are gone."""
    missing = list(lost) or dist.missing_files(limit=5)
    ev = evidence + [Evidence("distribution metadata present", f"{dist.name} {dist.version}", dist.path)]
    if missing:
        ev.append(Evidence("files listed in RECORD but missing", ", ".join(missing), dist.path + "/RECORD"))
    # Planned: the tool that owns the environment, and the index a local label names (torch 2.3.0+cpu).
    fix = _pip_or_plain(ctx, [f"{dist.name}=={dist.version}"], reinstall=True,
                        title=f"Reinstall {dist.name} {dist.version}")
    from ...planner import plan_of

    planned = plan_of(ctx, fix.id) if fix is not None else None
    if planned is not None and (planned.source or planned.target or planned.user or planned.local_build):  # where it came from (and is), that file
        ev += [e for e in planned.evidence if e not in ev]
    top = module.split(".")[0]
    if lost:
        return Finding(
            kind="module-not-found", cause="broken-install", confidence=0.95,
            summary=f"{dist.name} {dist.version} is installed with '{module}' (its RECORD lists {lost[0]}), but "
                    f"that file is not on disk: the installation is damaged, not of another release. Reinstall "
                    f"{dist.name} {dist.version}.",
            evidence=tuple(ev), fixes=(fix,), docs=docs_for("module-not-found", "broken-install"))
    gone = _editable_source_gone(ctx, dist, top)
    if gone:
        # The .pth (or finder) of an editable install names a folder that is not there: the project was moved
        # or deleted. A restart reads the same .pth; only a reinstall from where the project is now helps.
        from ...planner import envfacts

        source = envfacts.installed_from(ctx, dist.name) or "an editable install"
        ev += [Evidence(f"where {_basename(ctx, named_by)} points", f"{path} ({why})", named_by)
               for path, named_by, why in gone[:3]]
        return Finding(
            kind="module-not-found", cause="broken-install", confidence=0.95,
            summary=f"{dist.name} {dist.version} is {source}, but where it points, {gone[0][0]}, "
                    f"{gone[0][2]}: the project was moved or deleted. Reinstall it from where it is now "
                    f"(pip install -e <the project's folder>).",
            evidence=tuple(ev), fixes=(fix,), docs=docs_for("module-not-found", "broken-install"))
    if complete:
        # Every file RECORD lists is there, yet sys.path cannot reach the module: typically an editable
        # install whose .pth (or finder) Python reads only at start-up. The environment rules prove a
        # restart from the file times; this is the weaker statement when they cannot.
        return Finding(
            kind="module-not-found", cause="broken-install", confidence=0.6,
            summary=f"{dist.name} {dist.version} is installed and its files are on disk, but '{top}' is not on "
                    f"this interpreter's sys.path: an editable install read only at start-up (restart the "
                    f"kernel) or an environment that was moved.",
            evidence=tuple(ev + [Evidence("files listed in RECORD", "all present", dist.path + "/RECORD")]),
            fixes=(fixes.restart_kernel("Python reads .pth files only at start-up"), fix),
            docs=docs_for("module-not-found", "broken-install"))
    return Finding(
        kind="module-not-found", cause="broken-install", confidence=0.97,
        summary=f"{dist.name} {dist.version} is recorded as installed, but its module '{top}' "
                f"is not on disk: the installation is broken or half-removed.",
        evidence=tuple(ev), fixes=(fix,), docs=docs_for("module-not-found", "broken-install"))


def _editable_source_gone(ctx: Context, dist, top: str) -> List[tuple]:
    """(path, the .pth or finder file naming it, what is wrong) for each place an editable install maps its
    code to that is not on disk, or (a .pth folder) holds nothing named ``top``."""
    from ...facts import syspath

    out = []
    paths = syspath.editable_paths(ctx.system, dist.location, dist.record())
    for path, named_by in paths:
        if not ctx.system.exists(path):
            out.append((path, named_by, "does not exist"))
        elif named_by.endswith(".pth") and not _holds(ctx, path, top) and not any(
                p != path and ctx.system.exists(p) and (not n.endswith(".pth") or _holds(ctx, p, top))
                for p, n in paths):
            out.append((path, named_by, f"holds no '{top}'"))
    return out


def _holds(ctx: Context, folder: str, top: str) -> bool:
    try:
        names = ctx.system.listdir(folder)
    except (OSError, AttributeError):
        return True   # cannot tell: never claim it is gone
    return any(n == top or n == top + ".py" or (n.startswith(top + ".") and n.endswith((".so", ".pyd")))
               for n in names)


def _basename(ctx: Context, path: str) -> str:
    return ctx.system.pathmod.basename(path)
