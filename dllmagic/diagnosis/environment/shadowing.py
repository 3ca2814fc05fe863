"""A local file or folder imported instead of the package (cause ``shadowed-by-local-file``)."""
from __future__ import annotations

import re
from typing import Any, Iterable, List, Optional

from ... import fixes
from ..._record import Record
from ...facts import syspath
from ...model import Evidence, Finding, Fix, module_attribute
from .. import Context, docs_for, rule
from ._facts import environment_facts, _dist_name, _kernel_line


# ------------------------------------------------------------------------------------------------ shadowing
#: Module names in a failure's message: "module 'numpy' has no attribute", "from 'email' (/x/email.py)",
#: "partially initialized module 'random'", "No module named 'email.parser'; 'email' is not a package".
_NAMED = re.compile(r"(?:module|from|named) '(?P<name>[A-Za-z_][\w.]*)'|'(?P<pkg>[A-Za-z_][\w.]*)' is not a package")


class Shadow(Record):
    """A module imported from a place no installer put it, that hides the real one."""

    top: str
    first: syspath.Candidate                 # what Python imports (or imported)
    hidden: Optional[syspath.Candidate]      # the installed copy (site-packages, stdlib) it hides
    hidden_dist: Optional[Any]               # or the installed distribution, when no candidate is seen
    stdlib: bool                             # the hidden module is part of the standard library


def suspect_names(ctx: Context) -> List[str]:
    """Top-level names a failure points at: the target, the failing module, and modules its message names."""
    names = [ctx.target.split(".")[0], ctx.top_level] if ctx.target else []
    failure = ctx.failure
    if failure is not None:
        for name in (failure.module, dict(failure.details).get("dependency")):
            if name:
                names.append(name.split(".")[0])
        for m in _NAMED.finditer(failure.message or ""):
            names.append((m.group("name") or m.group("pkg")).split(".")[0])
        if failure.from_path:
            stem = ctx.system.pathmod.basename(failure.from_path.rstrip("/\\"))
            if stem.startswith("__init__."):
                stem = ctx.system.pathmod.basename(ctx.system.pathmod.dirname(failure.from_path))
            names.append(stem.split(".")[0])
    out: List[str] = []
    for name in names:
        if name.isidentifier() and name not in out:
            out.append(name)
    return out


def find_shadow(ctx: Context, top: str) -> Optional[Shadow]:
    """Proof that ``import top`` gets a local copy that hides an installed one, or None (cached)."""
    cache = ctx.cache.setdefault("shadows", {})
    if top not in cache:
        cache[top] = _find_shadow(ctx, top) if ctx.interpreter is not None else None
    return cache[top]


def _find_shadow(ctx: Context, top: str) -> Optional[Shadow]:
    facts = environment_facts(ctx)
    cands = facts.candidates(top)
    failure = ctx.failure
    result = ctx.import_result or {}
    first: Optional[syspath.Candidate] = None
    # What was really imported wins over what the listing would pick: the kernel's module, the child's file.
    seen = [_live_file(ctx, top)]
    if result.get("ok") and top == ctx.top_level:
        seen.append(_dir_of_init(ctx, result.get("top_file") or result.get("file")))
    if failure is not None and failure.from_path:
        seen.append(failure.from_path)
    for path in filter(None, seen):
        first = next((c for c in cands if _same_file(ctx, c.path, path)), None)
        if first is not None:
            break
    if first is None and cands:
        first = cands[0]
    if first is None:
        return None
    stdlib = top in ctx.stdlib_names
    if _is_installed(ctx, first, top) and not _unclaimed_pth_folder(ctx, first, top):
        # An installed copy can still hide another: the user site (pip install --user) before site-packages.
        if first.entry.kind != "user-site":
            return None
        hidden = next((c for c in cands if c is not first and c.entry.kind in ("site", "stdlib")), None)
        return Shadow(top, first, hidden, None, stdlib) if hidden is not None else None
    hidden = next((c for c in cands if c is not first and _is_installed(ctx, c, top)
                   and not _same_file(ctx, c.path, first.path)), None)
    installed = [d for d in (ctx.distributions.providing(top) or ctx.distributions.by_name(
        _dist_name(ctx) if top == ctx.top_level else top)) if d.location != first.entry.resolved
        and not _editable_hides_nothing(ctx, d, first.path)]
    if hidden is None and not installed and not stdlib:
        not_a_package = failure is not None and f"'{top}' is not a package" in (failure.message or "")
        from_local = failure is not None and failure.from_path and _same_file(ctx, first.path, failure.from_path)
        if not (not_a_package or from_local) or top != ctx.top_level:
            return None
        # Nothing installed or standard has this name, and no known distribution is imported by it: a package
        # folder is the user's own project (an extension not built yet, its own submodule), not a shadow, and
        # renaming it would break it.
        from ...knowledge import tables as knowledge_tables

        if first.form in ("package", "namespace") and top not in knowledge_tables.import_names():
            return None
        if first.form == "module" and top not in knowledge_tables.import_names():
            # The same for a module file of the user's (from mymodule import thing): no installed or known
            # package has its name, so it hides nothing; what it lacks is the user's to see, not to rename.
            return None
    return Shadow(top, first, hidden, installed[0] if installed and hidden is None else None, stdlib)


def _editable_hides_nothing(ctx: Context, dist: Any, path: str) -> bool:
    """``dist`` is an editable install whose code is ``path`` itself (the notebook sits in the project it was
    installed from: its finder maps the name to that folder, or its ``.pth`` puts the folder holding it on
    sys.path), or whose every mapped place is gone (the project moved: the installed copy imports from
    nowhere). Either way the local copy hides no other code, and renaming it would break the project."""
    places = syspath.editable_paths(ctx.system, dist.location or "", dist.record()) if dist.location else []
    if not places:
        return False
    pm = ctx.system.pathmod
    for place, named_by in places:
        if _same_file(ctx, place, path) or (named_by.endswith(".pth")
                                            and _same_file(ctx, place, pm.dirname(path.rstrip("/\\")))):
            return True
    return not any(ctx.system.exists(place) for place, _ in places)


def _dir_of_init(ctx: Context, path: Optional[str]) -> Optional[str]:
    if not path:
        return None
    pm = ctx.system.pathmod
    return pm.dirname(path) if pm.basename(path).startswith("__init__.") else path


def shadows(ctx: Context) -> List[Shadow]:
    """Every shadow behind this failure (or behind an import that worked), the target's own first."""
    return [s for s in (find_shadow(ctx, name) for name in suspect_names(ctx)) if s is not None]


@rule("healthy", "module-not-found", "cannot-import-name", "dependency-conflict", "unknown")
def shadowed_by_local_file(ctx: Context) -> Iterable[Finding]:
    """A file or folder outside site-packages (the notebook's folder, PYTHONPATH), or a user-site copy, has
    the module's name and is imported first: named with both locations and the rename / unset fix."""
    if ctx.interpreter is None:
        return
    if ctx.failure is None and not (ctx.import_result or {}).get("ok"):
        return
    for shadow in shadows(ctx)[:1]:
        yield _finding(ctx, shadow)


def _finding(ctx: Context, shadow: Shadow) -> Finding:
    top, first, failure = shadow.top, shadow.first, ctx.failure
    pm = ctx.system.pathmod
    entry = first.entry
    ev = [_kernel_line(ctx),
          Evidence(f"'{top}' is imported from", first.path, _where(entry))]
    if shadow.hidden is not None:
        what = "the standard-library module it hides" if shadow.stdlib and shadow.hidden.entry.kind == "stdlib" \
            else "the installed package it hides"
        ev.append(Evidence(what, shadow.hidden.path, _where(shadow.hidden.entry)))
        hides = f"hides {'the standard library' if shadow.stdlib else 'the installed'} '{top}' at {shadow.hidden.path}"
    elif shadow.hidden_dist is not None:
        dist = shadow.hidden_dist
        ev.append(Evidence("the installed distribution it hides", f"{dist.name} {dist.version}", dist.path))
        hides = f"hides the installed {dist.name} {dist.version}"
    elif shadow.stdlib:
        hides = f"hides the standard-library module '{top}'"
    else:
        hides = f"is not the installed '{top}'"
    if entry.kind == "pythonpath":
        ev.append(Evidence("PYTHONPATH", ctx.system.getenv("PYTHONPATH") or "", "environment variable"))
    asked = (ctx.target or ctx.top_level).split(".")[0]
    if failure is not None and top != asked:
        ev.append(Evidence(f"'{asked}' depends on '{top}'",
                           "the failure names it: " + (failure.message or "").splitlines()[0][:200],
                           failure.exc_type or "the exception"))
    elif failure is not None:
        ev.append(Evidence("error", (failure.message or "").splitlines()[0][:300] if failure.message else "",
                           failure.exc_type))
    if failure is not None and dict(failure.details).get("circular"):
        ev.append(Evidence("'most likely due to a circular import'", f"no: {first.path} is imported as '{top}' "
                           f"and imports itself", "Python's hint, checked against sys.path"))
    noun = "folder" if first.form in ("package", "namespace") else "file"
    if entry.kind == "pythonpath":
        where = f"the PYTHONPATH folder {entry.resolved}"
        fix_list = [_unset_pythonpath(ctx, entry.resolved, top)]
        what_to_do = "take that folder off PYTHONPATH (or unset PYTHONPATH) and restart the kernel"
    elif entry.kind == "user-site":
        where = f"the user site-packages {entry.resolved}"
        fix_list = [fixes.instruction(
            f"Remove the user-site copy of '{top}'",
            f"pip install --user put {first.path} before this environment's site-packages. Remove it with "
            f"this kernel's Python: python -m pip uninstall {top}  (run outside the environment, with "
            f"PYTHONNOUSERSITE unset), or start the kernel with PYTHONNOUSERSITE=1; then restart the kernel.",
            risk="medium")]
        what_to_do = "remove the user-site copy (or set PYTHONNOUSERSITE=1) and restart the kernel"
    else:
        where = "the notebook's folder" if entry.kind == "cwd" else f"the folder {entry.resolved} on sys.path"
        if entry.source.startswith("code in "):
            where += f" (put there by {entry.source})"
        elif entry.kind == "pth":
            where += f" (put there by {entry.source})"
        fix_list = [_rename_fix(ctx, first.path, top)]
        if entry.kind == "pth":
            fix_list.append(fixes.instruction(
                f"Or take {entry.resolved} off sys.path",
                f"{entry.source} adds {entry.resolved} to sys.path at start-up (a leftover of a develop install, "
                f"or written by hand). Remove that line (or the file, when it holds nothing else), then restart "
                f"the kernel.", risk="medium"))
        what_to_do = f"rename the local {noun}"
        pyc = pm.join(pm.dirname(first.path), "__pycache__")
        if first.form == "module" and ctx.system.is_dir(pyc):
            ev.append(Evidence("compiled copies beside it", pyc, "also named after the module; delete them too"))
    fix_list.append(fixes.restart_kernel(f"so the real '{top}' is imported"))
    # An import that works, but not of the module the user means: reported as the module not found.
    kind = failure.kind if failure is not None else "module-not-found"
    via = "" if top == asked else f" ('{asked}' imports '{top}')"
    lead = f"'{asked}' imports, but " if failure is None else ""
    return Finding(
        kind=kind, cause="shadowed-by-local-file", confidence=0.96,
        summary=f"{lead}'{top}' is imported from {first.path} in {where}{via}, which {hides}: {what_to_do}.",
        evidence=tuple(ev), fixes=tuple(fix_list), docs=docs_for(kind, "shadowed-by-local-file"))


def _where(entry: syspath.PathEntry) -> str:
    return entry.source if entry.source.startswith("sys.path[") else f"sys.path[{entry.index}]: {entry.source}"


def _unset_pythonpath(ctx: Context, folder: str, top: str) -> Fix:
    return fixes.unset_pythonpath(folder, ctx.system.getenv("PYTHONPATH") or "", ctx.system.pathsep)


def _is_installed(ctx: Context, cand: syspath.Candidate, top: str) -> bool:
    """Put there by an installer: a site folder, or any folder whose own metadata provides it (--target)."""
    if not cand.local:
        return True
    return any(d.location == cand.entry.resolved for d in ctx.distributions.providing(top))


def _unclaimed_pth_folder(ctx: Context, cand: syspath.Candidate, top: str) -> bool:
    """A folder a ``.pth`` line puts on sys.path that no distribution providing ``top`` claims: neither its
    metadata lies in that folder (``setup.py develop``'s egg-info) nor its RECORD lists that ``.pth`` (``pip
    install -e``). A stray ``.pth`` (an old develop install, ``conda develop``, one written by hand) that puts a
    copy of ``top`` before the installed one is a shadow like a file in the notebook's folder."""
    if cand.entry.kind != "pth":
        return False
    providers = ctx.distributions.providing(top)
    if any(d.location == cand.entry.resolved for d in providers):
        return False
    pth = ctx.system.pathmod.basename(cand.entry.source)
    return not any(pth in d.record() for d in providers)


def _rename_fix(ctx: Context, path: str, top: str) -> Fix:
    """Rename the shadowing file to a name nothing has (my_X, my_X_1 ...); never over an existing file."""
    from ...planner.envfacts import writable

    pm = ctx.system.pathmod
    base = pm.basename(path.rstrip("/\\"))
    folder = pm.dirname(path.rstrip("/\\"))
    if writable(ctx, folder) is False:
        # os.rename would fail with 'Permission denied': the folder is another user's or a read-only mount.
        return fixes.instruction(
            f"{base} lies in a folder you cannot change: move your work, or ask the folder's owner",
            f"{folder} is not writable by this user, so {base} cannot be renamed from here.\nAsk the folder's "
            f"owner to rename it, or copy your notebook to a folder of your own (where no {base} hides "
            f"'{top}') and run it from there; then restart the kernel.", risk="medium", restart=True)
    try:
        siblings = ctx.system.listdir(folder)
    except OSError:
        siblings = []

    def taken(candidate: str) -> bool:
        # A name is taken by any module of that name beside it (my_x/, my_x.py, my_x.cpython-311-….so): a
        # package renamed to my_x would hide the user's own my_x.py (a package wins), and the other way round.
        stem = pm.basename(candidate).split(".", 1)[0]
        return ctx.system.exists(candidate) or any(n == stem or n.startswith(stem + ".") for n in siblings)

    new_path = fixes.free_name(path, taken, pm)
    why = (f"my_{base} and the next nine free-name candidates all exist (as files, folders or modules of that "
           f"name)") if new_path is None else ""
    if new_path is not None:
        try:
            return fixes.rename(path, new_path, f"Rename {base} to {pm.basename(new_path)} so it no longer "
                                                f"hides '{top}'")
        except fixes.UnsafeName as exc:
            why = str(exc)
    return fixes.instruction(f"Rename {base} by hand so it no longer hides '{top}'",
                             f"No rename cell is offered: {why}.\nRename {fixes.escape_unsafe(path)} to a name "
                             f"that nothing else has, then restart the kernel.", risk="medium")


def _live_file(ctx: Context, top: str) -> Optional[str]:
    if ctx.live_modules is None:
        return None
    module = ctx.live_modules.get(top)
    path = module_attribute(module, "__file__") if module is not None else None
    if isinstance(path, str) and path:
        pm = ctx.system.pathmod
        if pm.basename(path).startswith("__init__."):
            return pm.dirname(path)
        return path
    return None


def _same_file(ctx: Context, a: str, b: str) -> bool:
    pm = ctx.system.pathmod
    na, nb = pm.normcase(pm.normpath(a)), pm.normcase(pm.normpath(b))
    if pm.basename(nb).startswith("__init__."):
        nb = pm.dirname(nb)
    if pm.basename(na).startswith("__init__."):
        na = pm.dirname(na)
    return na == nb
