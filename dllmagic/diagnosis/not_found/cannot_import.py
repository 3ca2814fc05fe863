"""``cannot import name X from Y``: shadowing files, names of another release, circular imports."""
from __future__ import annotations

import re
import sys
from typing import Iterable, List, Optional

from ... import fixes
from ...knowledge import tables as knowledge_tables
from ...model import Evidence, Finding
from .. import Context, docs_for, rule
from ..environment.shadowing import _rename_fix
from .extensions import _EXTENSION_SOURCES, _built_for_other_python, _foreign_extensions
from .from_text import _FRAME_FILE, _file_of_module, _frame_files, _looks_installed
from .lookup import _env_line, _is_environment_path, code_free_namespace, locate, orphan_bytecode_of
from .stdlib import _DEBIAN_SPLIT


# -- cannot import name ------------------------------------------------------------------------------
def _shadow_name(path: str, module_top: str) -> bool:
    base = path.replace("\\", "/").rstrip("/").split("/")
    last = base[-1]
    if last == "__init__.py" and len(base) > 1:
        last = base[-2]
    return last.split(".")[0] == module_top


@rule("cannot-import-name")
def cannot_import_name(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    module = failure.module or ctx.target
    top = module.split(".")[0]
    path = failure.from_path
    if ctx.interpreter is not None and code_free_namespace(ctx, top):
        return   # an empty namespace package made from a data folder: healthy.namespace_only says so
    # Python says so itself: "partially initialized module …" (3.7+), "cannot access submodule … (most likely
    # due to a circular import)" (3.13+).
    partially = "partially initialized" in failure.message or "due to a circular import" in failure.message
    evidence = [Evidence("message", failure.message.splitlines()[0][:300], failure.exc_type)]
    if ctx.interpreter is not None:
        evidence.insert(0, _env_line(ctx))

    if partially and path and not _well_known_module(ctx, top):
        cycle = _cycle_through(ctx, path)
        if cycle is not None:
            # The module's file started an import that another file of the user's brought back to it: the
            # frames show a cycle among the user's own modules, not a file imported in a package's place.
            yield _circular(module, failure.name, evidence + [Evidence("module file", path, "the message"),
                                                              Evidence("imported back from", cycle, "the traceback")],
                            0.8)
            return

    own = _shadow_source(path) if path else ""
    hidden = [p for p in (locate(ctx, top) if ctx.interpreter is not None else []) if p not in (path, own)
              and not p.startswith(own.rstrip("/\\") + "/")] if path else []
    # A local package folder that hides nothing installed and has no well-known name is the user's own
    # project (its extension not built, its own submodule): renaming it would break it; it is no shadow.
    # A module file of the user's (mymodule.py) is the same: no installed or known module of that name.
    own_project = bool(path) and (ctx.interpreter is not None and not hidden
                   and (own != path or (path.endswith(".py") and module == top))
                   and not _is_environment_path(ctx, path) and not _well_known_module(ctx, top))
    if path and _shadow_name(path, top) and not _is_environment_path(ctx, path) and not own_project:
        evidence.append(Evidence(f"'{module}' was loaded from", path, "ImportError.path / the message"))
        if hidden:
            evidence.append(Evidence("the package it hides", hidden[-1], "sys.path"))
        shadow = _shadow_source(path)
        summary = f"Your file {path} has the same name as the module '{top}', so Python imported it instead of the real '{top}'."
        unchecked = ctx.interpreter is None and not _well_known_module(ctx, top)
        if unchecked:
            # From a text alone, a name no table knows: that a package of that name exists is not shown.
            summary += (f" Not checked (the text came without the machine, and no table here knows a package "
                        f"'{top}'): if no installed package has that name, the file is imported by itself or by a "
                        f"module it imports, a circular import of your own files.")
        yield Finding(
            kind="cannot-import-name", cause="shadowed-by-local-file", confidence=0.8 if unchecked else 0.9,
            summary=summary,
            evidence=tuple(evidence),
            fixes=(_rename_fix(ctx, shadow, top), fixes.restart_kernel("so the real module is imported")),
            docs=docs_for("cannot-import-name", "shadowed-by-local-file"))
        return

    if ctx.interpreter is not None and failure.name and failure.name.isidentifier():
        # 'from . import _ext' where _ext exists only as another Python's build: the name is a submodule
        # CPython cannot see.
        submodule = f"{module}.{failure.name}"
        foreign = _foreign_extensions(ctx, submodule, top, locate(ctx, top))
        if foreign:
            yield _built_for_other_python(ctx, submodule, foreign, evidence)
            return

    moved_to = dict(failure.details).get("moved_to")
    if moved_to and failure.name and top:
        # The package's own message says where the name went: that outranks any guess from the files.
        yield _name_moved_to_a_distribution(ctx, module, failure.name, top, f"the installed '{top}'", moved_to,
                                            evidence + ([Evidence(f"'{module}' loaded from", path, "the message")]
                                                        if path else []))
        return

    if own_project and failure.name and failure.name.isidentifier():
        found = _own_submodule(ctx, own, failure.name) if own != path else None
        if found is not None:
            yield found
            return
        if own == path and not partially:
            yield from _own_module_lacks(ctx, module, top, failure.name, path, evidence)
            return

    if partially and _well_known_module(ctx, top):
        # A standard-library or well-known package does not import itself in a cycle: a file of the
        # user's with that name is being imported instead.
        yield Finding(
            kind="cannot-import-name", cause="shadowed-by-local-file", confidence=0.8,
            summary=f"'{top}' is a well-known module, and it was found only partially initialised: a file "
                    f"{top}.py (or a folder {top}) of yours, in the working folder or on sys.path, is most likely "
                    f"imported instead of the real one.",
            evidence=tuple(evidence + [Evidence("well-known module", top,
                                                "sys.stdlib_module_names / knowledge/import_names.json")]),
            fixes=(fixes.instruction(f"Rename your {top}.py (or {top} folder)",
                                     f"Look in the notebook's folder for {top}.py or a folder named {top}; "
                                     f"rename it (and delete __pycache__ beside it), then restart the kernel."),),
            docs=docs_for("cannot-import-name", "shadowed-by-local-file"))
        return

    if partially and not path and top:
        found = list(_partial_without_path(ctx, module, top, evidence))
        if found:
            yield from found
            return

    if partially:
        yield Finding(
            kind="cannot-import-name", cause="circular-import", confidence=0.7,
            summary=f"'{module}' was imported again while it was still being initialised (a circular "
                    f"import), so '{failure.name}' did not exist yet.",
            evidence=tuple(evidence + ([Evidence("module file", path, "the message")] if path else [])),
            fixes=(fixes.instruction("Break the import cycle",
                                     f"Move the import of '{failure.name}' into the function that uses it, or "
                                     f"import the module ('import {module}') instead of the name."),),
            docs=docs_for("cannot-import-name", "circular-import"))
        return

    if top:
        yield from _name_not_in_version(ctx, module, top, path, evidence)
    elif failure.name and failure.name.isidentifier():
        yield _name_without_its_module(failure.name, evidence)


def _name_without_its_module(name: str, evidence: List[Evidence]) -> Finding:
    """``cannot import name 'X'`` as Python 2 and Python 3 before 3.7 print it: no module named, no traceback
    line that shows it. In the threads that verified a fix for this shape, the installed release of the module
    not defining the name was the cause most often; the others are said."""
    return Finding(
        kind="cannot-import-name", cause="name-not-in-installed-version", confidence=0.5,
        summary=f"'{name}' cannot be imported, and the message does not say from which module. Most often the "
                f"installed release of that module does not define it (the name was removed, renamed or moved, or "
                f"is newer than that release). Other causes: a file of yours with the module's name is imported "
                f"instead of it, or a circular import. Not checked: the text does not name the module.",
        evidence=tuple(evidence),
        fixes=(fixes.instruction(
            "Find the import and match the releases",
            f"The traceback's last 'from … import {name}' line names the module. Check which release of its "
            f"package defines '{name}' (its changelog), then install that release or upgrade the package whose "
            f"code imports it. If a file of yours has the module's name, rename it."),),
        docs=docs_for("cannot-import-name", "name-not-in-installed-version"))


_ARROW_LINE = re.compile(r"^\s*-+>\s*\d+\s(?P<code>.*)$")


def _executed_line_before(ctx: Context, marker: str) -> Optional[str]:
    """The last code line the traceback shows as executed before ``marker`` (the error line): the line after
    a ``File "…", line N`` header, or IPython's ``---->`` line."""
    text = ctx.cache.get("text")
    if not isinstance(text, str) or marker not in text:
        return None
    lines = text[max(0, text.index(marker) - 20_000): text.index(marker)].split("\n")
    executed = None
    after_header = False
    for line in lines:
        arrow = _ARROW_LINE.match(line)
        if arrow:
            executed, after_header = arrow.group("code").strip(), False
        elif _FRAME_FILE.match(line):
            after_header = True
        elif after_header and line.strip():
            executed, after_header = line.strip(), False
    return executed


def _partial_without_path(ctx: Context, module: str, top: str, evidence: List[Evidence]) -> Iterable[Finding]:
    """'partially initialized module' without the path Python prints after it (cut when pasted, or never
    printed: the AttributeError): decide from the traceback before it whether the module's own package
    cycles or a file of the user's is imported in its place."""
    stem = module.split(".")[-1]
    frames = _frame_files(ctx, before="partially initialized")
    last = frames[-1] if frames else None
    executed = _executed_line_before(ctx, "partially initialized")
    ran = [Evidence("the import that found it half-initialised", executed, "the traceback")] if executed else []
    if last is not None and _file_of_module(last, stem):
        if not _looks_installed(last):
            # The module's own file, outside site-packages, imports the module: it imports itself.
            yield _partial_shadow(module, top, evidence + [Evidence(
                f"a file named '{stem}' imports it", last, "the traceback")] + ran, 0.85, where=last)
        else:
            yield _circular(module, ctx.failure.name, evidence + [Evidence("the module's file", last, "the traceback")]
                            + ran, 0.75)
        return
    if last is not None and any(_file_of_module(p, stem) for p in frames):
        # The module's file started an import that came back to it from another file: a cycle.
        yield _circular(module, ctx.failure.name, evidence + [Evidence("imported back from", last, "the traceback")]
                        + ran, 0.75)
        return
    if executed and re.match(r"from\s+\.", executed):
        yield _circular(module, ctx.failure.name, evidence + ran, 0.75)   # a relative import inside the package
        return
    if "." not in module and ctx.failure.signature == "py-cannot-import-name-partially-initialized":
        # ImportError prints the module's path, and it was cut: a top-level module seen half-initialised with
        # no sign of a cycle is most often a script named like the package it imports (rockstar.py doing
        # 'from rockstar import …').
        yield _partial_shadow(module, top, evidence + [Evidence(
            "reasoning", f"'{module}' is a top-level module and the traceback shows no import cycle inside a "
                         f"package; a script named {top}.py imports itself in place of the package",
            "the message")], 0.65)
        yield _circular(module, ctx.failure.name, evidence, 0.5)


def _cycle_through(ctx: Context, path: str) -> Optional[str]:
    """The file that imported the half-initialised module back, when the traceback shows the module's own file
    ``path`` earlier and another file (not an installed one) last; else None."""
    def norm(p: str) -> str:
        return p.replace("\\", "/").rstrip("/")

    frames = [norm(p) for p in _frame_files(ctx, before="partially initialized")]
    target = norm(path)
    if len(frames) < 2 or frames[-1] == target or target not in frames[:-1]:
        return None
    last = frames[-1]
    if _looks_installed(last) or last.startswith("<") or not last.endswith(".py"):
        return None
    return last


def _partial_shadow(module: str, top: str, evidence: List[Evidence], confidence: float,
                    where: Optional[str] = None) -> Finding:
    place = where or f"{top}.py (or a folder {top}) in the script's or notebook's folder or on sys.path"
    return Finding(
        kind="cannot-import-name", cause="shadowed-by-local-file", confidence=confidence,
        summary=f"'{module}' was found only partially initialised: your file {place} is most likely imported "
                f"instead of the real '{top}' (it imports '{top}' and so imports itself).",
        evidence=tuple(evidence),
        fixes=(fixes.instruction(f"Rename your {top}.py (or {top} folder)",
                                 f"Rename {place} to a name no package has (and delete __pycache__ beside it), "
                                 f"then restart the kernel."),),
        docs=docs_for("cannot-import-name", "shadowed-by-local-file"))


def _circular(module: str, name: Optional[str], evidence: List[Evidence], confidence: float) -> Finding:
    return Finding(
        kind="cannot-import-name", cause="circular-import", confidence=confidence,
        summary=f"'{module}' was imported again while it was still being initialised (a circular import), so "
                f"'{name or '?'}' did not exist yet.",
        evidence=tuple(evidence),
        fixes=(fixes.instruction("Break the import cycle",
                                 f"Move the import of '{name or '?'}' into the function that uses it, or import the "
                                 f"module ('import {module}') instead of the name; if the cycle is inside an "
                                 f"installed package, use the release before or after the one that has it."),),
        docs=docs_for("cannot-import-name", "circular-import"))


def _well_known_module(ctx: Context, top: str) -> bool:
    import sys

    stdlib = ctx.stdlib_names or frozenset(getattr(sys, "stdlib_module_names", ()))
    return top in stdlib or top in knowledge_tables.import_names() or top in knowledge_tables.extension_packages()


def _own_module_lacks(ctx: Context, module: str, top: str, name: str, path: str,
                      evidence: List[Evidence]) -> Iterable[Finding]:
    """'from mymodule import name' (or 'from myproj.sub import name') where the module is the user's own file
    (no installed or known package has the name ``top``) and does not define ``name``: nothing to install, pin
    or rename. Nothing said when the file on disk defines it now (restart_needed: edited after the import)."""
    from ..environment.restart import _defined_on_disk_only

    if _defined_on_disk_only(ctx) is not None:
        return
    yield Finding(
        kind="cannot-import-name", cause="unexplained", confidence=0.6,
        summary=f"Your own module '{module}' ({path}) defines no '{name}': the code importing it was written for "
                f"another version of that file, or the name was renamed or removed there. No installed package "
                f"has the name '{top}'; nothing is to install, pin or rename.",
        evidence=tuple(evidence + [Evidence(f"'{module}' is your own file", path,
                                            "no installed distribution provides it")]),
        fixes=(fixes.instruction(f"Find where {name} went in {module}",
                                 f"Search {path} for '{name}' (and git log -S {name}); import it from where it is "
                                 f"defined now, or restore it."),),
        docs=docs_for("cannot-import-name", "unexplained"))


def _own_submodule(ctx: Context, folder: str, name: str, imported: bool = False) -> Optional[Finding]:
    """'from myproj import _speedups' (or, ``imported``, 'import myproj._speedups') where myproj is the user's
    own folder and has no module '_speedups' at all (only its source, its orphaned bytecode, or nothing): not
    a distribution to install, not a release to pin, not a cycle to break."""
    system, pm = ctx.system, ctx.system.pathmod
    try:
        entries = system.listdir(folder)
    except (OSError, AttributeError):
        return None
    if name in entries or any(e.split(".")[0] == name and e.endswith((".py", ".pyc", ".so", ".pyd"))
                              for e in entries):
        return None    # the module is there: a real cycle, or another rule's case
    sources = sorted(e for e in entries if e.split(".")[0] == name and e.endswith(_EXTENSION_SOURCES))
    package = pm.basename(folder.rstrip("/\\"))
    evidence = [_env_line(ctx),
                Evidence(f"'{package}' is your own folder", folder, "no installed distribution provides it"),
                Evidence(f"module '{name}' in it", "none: " + (", ".join(sources) + " only (source, not built)"
                                                                if sources else "no file or folder of that name"),
                         folder)]
    project = pm.dirname(folder.rstrip("/\\"))
    leftovers = orphan_bytecode_of(ctx, folder, name)
    if leftovers and not sources:
        evidence.append(Evidence("its compiled cache, left without its source", ", ".join(leftovers),
                                 "Python imports a __pycache__ file only beside its .py (PEP 3147)"))
        summary = (f"Your own package '{package}' ({folder}) no longer has its submodule '{name}': {name}.py "
                   f"was deleted, moved or renamed, and only its compiled cache ({leftovers[0]}) is left, which "
                   f"Python never imports without the source. It is not a package to install.")
        fix = fixes.instruction(f"Restore {package}/{name}.py",
                                f"Bring back {pm.join(folder, name + '.py')} (git status / git checkout -- shows "
                                f"and restores a deleted file), or change the import to where the code is now; "
                                f"then restart the kernel.", restart=True)
    elif sources:
        summary = (f"'{package}.{name}' is an extension of your own project that has not been built for this "
                   f"interpreter: {folder} holds its source ({', '.join(sources)}) but no compiled module. "
                   f"It is not a package to install from the index.")
        fix = fixes.instruction(
            f"Build {package}'s extensions for this interpreter",
            f"From the project's folder ({project}), with this kernel's Python: python -m pip install -e . "
            f"(or python setup.py build_ext --inplace), then restart the kernel.", restart=True)
    elif not imported and not name[:1].islower() and not name.startswith("_"):
        # 'from myproj import Thing': a class or constant by its name's look, not a module file; what is known
        # is only that the package defines no such name (and has no such file).
        return Finding(
            kind="cannot-import-name", cause="unexplained", confidence=0.6,
            summary=f"Your own package '{package}' ({folder}) defines no '{name}' and holds no module of that "
                    f"name: the code importing it was written for another version of your project, or the name "
                    f"was renamed or removed there. It is not a package to install.",
            evidence=tuple(evidence),
            fixes=(fixes.instruction(f"Find where {name} went in {package}",
                                     f"Search {folder} for '{name}' (and git log -S {name}); import it from "
                                     f"where it is defined now, or restore it."),),
            docs=docs_for("cannot-import-name", "unexplained"))
    else:
        summary = (f"Your own package '{package}' ({folder}) has no submodule '{name}': the code expects a file "
                   f"{name}.py (or a built extension) that is not there. It is not a package to install.")
        fix = fixes.instruction(f"Add or restore {package}/{name}",
                                f"Check {folder} for {name}.py or its built extension (git status shows a file "
                                f"removed or never committed); rebuild the project if {name} is compiled.")
    return Finding(kind="module-not-found", cause="submodule-not-found", confidence=0.8, summary=summary,
                   evidence=tuple(evidence), fixes=(fix,), docs=docs_for("module-not-found", "submodule-not-found"))


def _shadow_source(path: str) -> str:
    """What to rename: the file, or the package folder when the shadow is its __init__.py."""
    sep = "\\" if "\\" in path else "/"
    head, _, last = path.rpartition(sep)
    return head if last == "__init__.py" and head else path


#: The AttributeError form ("module 'x' has no attribute 'y'"): code using a module, not an import statement.
_ATTRIBUTE_SIGNATURE = "module-attribute-of-a-shadow"


def _name_not_in_version(ctx: Context, module: str, top: str, path: Optional[str],
                         evidence: List[Evidence]) -> Iterable[Finding]:
    if top in ctx.stdlib_names or top in sys.stdlib_module_names:
        removed = knowledge_tables.stdlib_removed_name(module, ctx.failure.name or "")
        running = ctx.interpreter.version if ctx.interpreter is not None else _python_of_path(path)
        if removed is not None and not (running and knowledge_tables.version_key(running)
                                        < knowledge_tables.version_key(removed["removed_in"])):
            yield _name_removed_from_stdlib(ctx, module, removed, path, evidence)
        elif removed is None and (ctx.failure.name or "") in _DEBIAN_SPLIT_SUBMODULES.get(module, ()) and \
                _debian_system_path(ctx, path):
            yield _debian_split_stdlib(ctx, module, top, _debian_system_path(ctx, path), evidence)
        elif removed is None:
            added = knowledge_tables.stdlib_added_name(module, ctx.failure.name or "")
            if added is not None and not (running and knowledge_tables.version_key(running)
                                          >= knowledge_tables.version_key(added["added_in"])):
                yield _name_added_to_stdlib_later(ctx, module, added, running, path, evidence)
        return  # otherwise: the standard library has no versions to pin; a file of the user's hides it
    name = ctx.failure.name or "?"
    dist = None
    requirers: List[str] = []
    if ctx.interpreter is not None:
        providers = ctx.distributions.providing(top)
        dist = providers[0] if providers else None
        if dist is not None:
            evidence.append(Evidence(f"installed {dist.name}", dist.version, dist.path))
            requirers = _requirers(ctx, dist)
            evidence.extend(Evidence("requirement on it", r, "Requires-Dist") for r in requirers[:6])
    if dist is None and path and ctx.interpreter is not None and not _is_environment_path(ctx, path) \
            and not _well_known_module(ctx, top) and ctx.failure.signature != _ATTRIBUTE_SIGNATURE:
        # A module of the user's own project (myproj/sub.py): no installed release to pin.
        yield from _own_module_lacks(ctx, module, top, name, path, evidence)
        return
    if path:
        evidence.append(Evidence(f"'{module}' loaded from", path, "the message"))
    if dist is not None and path and dist.changed_file(path):
        yield _changed_since_install(ctx, module, name, dist, path, evidence)
        return
    what = f"{dist.name} {dist.version}" if dist else f"the installed '{top}'"
    introduced = knowledge_tables.introduced_name(module, name)
    if introduced is not None:
        yield _name_from_a_later_release(ctx, module, name, dist, introduced, evidence)
        return
    fix_list = [fixes.instruction(
        f"Match the versions of {top} and the package that imports it",
        f"'{name}' is not defined by {what}. It was removed or renamed in that release, or it is newer than "
        f"it: upgrade the importing package (%pip install --upgrade <it>), or pin {top} to the release it was "
        f"written for.")]
    summary = (f"'{name}' cannot be imported from '{module}': {what} does not define it (version skew "
               f"between {top} and the code importing it).")
    confidence = 0.6
    plans: list = []
    declared = _declared_by_importer(ctx, dist) if dist is not None else None
    if declared is not None:
        # The importing package itself declares a requirement the installed release does not meet: what it
        # declares is the fix, planned against every other installed requirement.
        from ...planner import Intent, fixes_for

        planned, plans = fixes_for(ctx, [Intent(
            (declared.requirement,), f"Install {declared.requirement}, what {declared.name} {declared.version} "
                                     f"declares", allow_major=True,
            because=(Evidence(f"{declared.name} {declared.version} declares", declared.requirement,
                              declared.where),))])
        fix_list = planned + fix_list
        blocked = [p for p in plans if not p.ok]
        summary = (f"'{name}' cannot be imported from '{module}': {what} does not define it, and {declared.name} "
                   f"{declared.version}, whose code imports it, declares {declared.requirement}, which {what} does "
                   f"not satisfy. " + (f"Installing it is not offered: {blocked[0].reasons[0]}." if blocked and
                                       blocked[0].reasons else "Install what it declares."))
        confidence = 0.8
    kind, cause = "cannot-import-name", "name-not-in-installed-version"
    if ctx.failure.signature == _ATTRIBUTE_SIGNATURE:
        # "module 'x' has no attribute 'y'" from code that uses x (no shadow found): the installed x is of another
        # release than that code was written for — a dependency's version, not an import statement's name.
        kind, cause = "dependency-conflict", "version-pin-conflict"
        summary = summary.replace(f"'{name}' cannot be imported from '{module}'",
                                  f"The code uses '{module}.{name}', which is not there")
    finding = Finding(
        kind=kind, cause=cause, confidence=confidence,
        summary=summary, evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for(kind, cause))
    if plans:
        from ...planner.plan import with_evidence

        finding = with_evidence(finding, plans)
    yield finding


def _changed_since_install(ctx: Context, module: str, name: str, dist, path: str,
                           evidence: List[Evidence]) -> Finding:
    """The module's file is not the one its distribution installed (RECORD's sha256 differs): another release's
    files copied over it, a half-done upgrade, an edit. Its version says nothing about that code: reinstall it."""
    from ...planner import Intent, fixes_for
    from ...planner.plan import with_evidence

    evidence.append(Evidence(f"{path} differs from what {dist.name} {dist.version} installed", "sha256 differs",
                             dist.path + "/RECORD"))
    fix_list, plans = fixes_for(ctx, [Intent((f"{dist.name}=={dist.version}",), reinstall=True, allow_major=True,
                                             title=f"Reinstall {dist.name} {dist.version}, its files as released")])
    finding = Finding(
        kind="cannot-import-name", cause="broken-install", confidence=0.85,
        summary=f"'{name}' cannot be imported from '{module}': the file Python loaded ({path}) is not the one "
                f"{dist.name} {dist.version} installed (its RECORD's sha256 differs), so the installed version "
                f"says nothing about the code that runs. Files were copied over it or changed after the install; "
                f"reinstall {dist.name} {dist.version}.",
        evidence=tuple(evidence), fixes=tuple(fix_list) + (fixes.restart_kernel("so the reinstalled files load"),),
        docs=docs_for("cannot-import-name", "broken-install"))
    return with_evidence(finding, plans)


def _declared_by_importer(ctx: Context, dist):
    """The unmet requirement on ``dist`` that the package importing it declares (the target of ``check``, or a
    package whose files are the traceback's frames), or None."""
    from ...facts.distributions import normalize
    from ...planner import envfacts
    from .._common import distribution_for_folder, paths_in_text, site_folder_of

    importers = set()
    if ctx.target:
        importers.update(normalize(d.name) for d in ctx.distributions.providing(ctx.target.split(".")[0]))
    for path in paths_in_text(ctx):
        folder = site_folder_of(path)
        if folder and folder != dist.key:
            importers.update(normalize(d.name) for d in ctx.distributions.providing(folder))
            owner, validated, _source = distribution_for_folder(ctx, folder)
            if validated:
                importers.add(normalize(owner))
    importers.discard(dist.key)
    for broken in envfacts.broken_requirements(ctx, (dist.name,)):
        if normalize(broken.name) in importers:
            return broken
    return None


def _name_moved_to_a_distribution(ctx: Context, module: str, name: str, top: str, what: str, moved_to: str,
                                  evidence: List[Evidence]) -> Finding:
    """The package's own message says where the name went ("`BaseSettings` has been moved to the
    `pydantic-settings` package"): install that distribution and import the name from it, or pin the package to
    the major release the code was written for. The name comes from a message, so the install is offered to
    insert, never to run at one click (a message can name any project)."""
    from .._common import pip

    evidence.append(Evidence("moved to", moved_to, "the message"))
    fix_list = []
    install = pip(ctx, [moved_to], validated=False, title=f"Install {moved_to}, where '{name}' lives now")
    if install is not None:
        fix_list.append(install)
    fix_list.append(fixes.instruction(
        f"Import {name} from {moved_to}",
        f"'{name}' is no longer part of {what}: the message says it moved to the {moved_to} distribution. After "
        f"installing it, change the import to the module that distribution provides (for {moved_to} that is "
        f"usually '{moved_to.replace('-', '_')}'), or pin {top} to the release the code was written for."))
    return Finding(
        kind="cannot-import-name", cause="name-not-in-installed-version", confidence=0.85,
        summary=f"'{name}' cannot be imported from '{module}': {what} no longer has it; it moved to the "
                f"{moved_to} distribution.",
        evidence=tuple(evidence), fixes=tuple(fix_list),
        docs=docs_for("cannot-import-name", "name-not-in-installed-version"))


#: The submodules the split package holds (the minimal Python keeps only the package's __init__ and version).
_DEBIAN_SPLIT_SUBMODULES = {"distutils": frozenset({
    "archive_util", "ccompiler", "cmd", "command", "config", "core", "cygwinccompiler", "debug", "dep_util",
    "dir_util", "dist", "errors", "extension", "fancy_getopt", "file_util", "filelist", "log", "msvccompiler",
    "spawn", "sysconfig", "text_file", "unixccompiler", "util"})}
#: The system Python's own standard library on Debian and Ubuntu (deadsnakes' Pythons too), and the folder of
#: the packages Debian installs for its system Python 3 (no other Python uses /usr/lib/python3/dist-packages).
_DEBIAN_STDLIB = re.compile(r"^/usr/lib/python(3\.\d{1,2})/|^/usr/lib/python3/dist-packages/")


def _debian_system_path(ctx: Context, path: Optional[str]) -> Optional[str]:
    """The message's path when it is the Debian system Python's; from a text alone, else the last traceback frame
    in the system Python's packages (/usr/lib/python3/dist-packages), the code that ran the import."""
    if path:
        return path if _DEBIAN_STDLIB.match(path.replace("\\", "/")) else None
    if ctx.interpreter is not None:
        return None
    from .from_text import _frame_files

    return next((f for f in reversed(_frame_files(ctx)) if f.startswith("/usr/lib/python3/dist-packages/")), None)


def _debian_split_stdlib(ctx: Context, module: str, top: str, path: str, evidence: List[Evidence]) -> Finding:
    """``cannot import name 'sysconfig' from 'distutils' (/usr/lib/python3.9/distutils/__init__.py)``: Debian's
    python3.X-minimal ships only the package's __init__; the rest is the separate distutils package."""
    version = _DEBIAN_STDLIB.match(path.replace("\\", "/")).group(1)
    package = _DEBIAN_SPLIT[top]
    versioned = package.replace("python3-", f"python{version or '3.X'}-")
    if version:
        said = f"'{module}' of the system Python {version} ({path}) is only the stub"
        where = [Evidence(f"'{module}' loaded from", path, "the message"), Evidence("system Python", version, "the path")]
    else:
        # The message names no file of the module; the code that imports it runs Debian's system Python.
        said = f"The code runs Debian's or Ubuntu's system Python ({path}), whose '{module}' is only the stub"
        where = [Evidence("the system Python's packages", path, "the traceback")]
    return Finding(
        kind="cannot-import-name", cause="stdlib-module-missing", confidence=0.8 if version else 0.7,
        summary=f"{said} Debian and Ubuntu ship in the minimal Python: the rest of {top} is the separate package "
                f"{package} ({versioned} for a Python from the deadsnakes PPA), which is not installed.",
        evidence=tuple(evidence + where),
        fixes=(fixes.instruction(f"Install {package} (or {versioned})",
                                 f"sudo apt install {package}   — for Python {version or '3.X'} from the deadsnakes PPA: "
                                 f"sudo apt install {versioned}. Or use a virtual environment made with a full Python."),),
        docs=docs_for("cannot-import-name", "stdlib-module-missing"))


def _name_removed_from_stdlib(ctx: Context, module: str, entry: dict, path: Optional[str],
                              evidence: List[Evidence]) -> Finding:
    """``from collections import Mapping`` on Python 3.10+: the name left the standard library; the code that
    imports it (most often an old release of a package) was written for an older Python."""
    name = ctx.failure.name
    running = ctx.interpreter.version if ctx.interpreter is not None else _python_of_path(path)
    ev = _stdlib_evidence(ctx, module, path, running, evidence)
    ev.append(Evidence(f"{module}.{name} removed in", f"Python {entry['removed_in']}",
                       f"knowledge/stdlib_removed_names.json#{entry['id']}"))
    return Finding(
        kind="cannot-import-name", cause="name-not-in-installed-version", confidence=0.85,
        summary=f"'{name}' cannot be imported from '{module}': Python {entry['removed_in']} removed it "
                f"(use {entry['replacement']}). The code importing it — often an old release of a package in "
                f"the traceback — was written for an older Python: upgrade that package.",
        evidence=tuple(ev),
        fixes=(fixes.instruction(
            "Upgrade the package whose code imports it",
            f"Find the package in the traceback that runs 'from {module} import {name}' and upgrade it "
            f"(%pip install --upgrade <it>); its newer releases import {entry['replacement']} instead. "
            f"Otherwise run the code with a Python older than {entry['removed_in']}."),),
        docs=docs_for("cannot-import-name", "name-not-in-installed-version"))


def _name_added_to_stdlib_later(ctx: Context, module: str, entry: dict, running: Optional[str],
                                path: Optional[str], evidence: List[Evidence]) -> Finding:
    """A standard-library name newer than the Python that runs: the code needs a newer Python (typing's names
    also come from the typing_extensions backport)."""
    name = ctx.failure.name
    ev = _stdlib_evidence(ctx, module, path, running, evidence)
    ev.append(Evidence(f"{module}.{name} added in", f"Python {entry['added_in']}",
                       f"knowledge/stdlib_added_names.json#{entry['id']}"))
    python = f"Python {running}" if running else "the Python that runs it"
    older = f"{python} is older" if running else f"{python} must be older"
    steps = [fixes.instruction(
        f"Run it with Python {entry['added_in']} or newer",
        f"Use an environment (a kernel) of Python {entry['added_in']} or newer; or install a release of the package "
        f"that imports '{name}' which still supports {python} (its older releases).")]
    if entry.get("backport"):
        steps.append(fixes.instruction(
            f"In your own code: import it from {entry['backport']}",
            f"{entry['use'].replace('NAME', name)}   (after %pip install {entry['backport']})"))
    return Finding(
        kind="cannot-import-name", cause="name-not-in-installed-version", confidence=0.85 if running else 0.75,
        summary=f"'{name}' cannot be imported from '{module}': Python {entry['added_in']} added it, and {older}. "
                f"The code importing it was written for a newer Python.",
        evidence=tuple(ev), fixes=tuple(steps),
        docs=docs_for("cannot-import-name", "name-not-in-installed-version"))


def _stdlib_evidence(ctx: Context, module: str, path: Optional[str], running: Optional[str],
                     evidence: List[Evidence]) -> List[Evidence]:
    """The evidence of a standard-library name's finding: where the module was loaded from, which Python runs."""
    ev = list(evidence)
    if path:
        ev.append(Evidence(f"'{module}' loaded from", path, "the message"))
    if running:
        ev.append(Evidence("Python", running, "sys.version_info" if ctx.interpreter is not None else "the path"))
    return ev


def _python_of_path(path: Optional[str]) -> Optional[str]:
    match = re.search(r"[\\/]python(\d\.\d{1,2})[\\/]", path or "")
    return match.group(1) if match else None


def _name_from_a_later_release(ctx: Context, module: str, name: str, dist, entry: dict,
                               evidence: List[Evidence]) -> Finding:
    """The name came with a later release (the table row says which): move the package forward, planned
    against every installed pin (an old dependent that caps it moves too, where the environment says how)."""
    from ...planner import Intent, fixes_for, repair_intents
    from ...planner.plan import with_evidence

    from ..numpy_abi import _version_lt

    evidence.append(Evidence(f"{module}.{name} introduced in", f"{entry['dist']} {entry['introduced']}",
                             f"knowledge/introduced_names.json#{entry['id']}"))
    older = dist is not None and _version_lt(dist.version, entry["introduced"])
    requirement = f"{entry['dist']}>={entry['introduced']}"
    intents = [Intent((requirement,), f"Install {requirement}, the first release with {module}.{name}",
                      because=(Evidence("note", entry["note"], entry["source"]),))]
    intents += repair_intents(ctx, [entry["dist"]])
    fix_list, plans = fixes_for(ctx, intents)
    have = f"{dist.name} {dist.version}" if dist else f"the installed {entry['dist']}"
    summary = (f"'{name}' cannot be imported from '{module}': it first appeared in {entry['dist']} "
               f"{entry['introduced']}" + (f", and {have} is older" if older else (f"; {have} is installed" if dist else "")) +
               f". The code importing it was made for {entry['dist']} {entry['introduced']} or later: move "
               f"{entry['dist']} forward, not back.")
    summary += "".join(f" Not offered: {p.reasons[0]}." for p in plans if not p.ok)
    finding = Finding(kind="cannot-import-name", cause="name-not-in-installed-version", confidence=0.85 if older else 0.7,
                      summary=summary, evidence=tuple(evidence), fixes=tuple(fix_list),
                      docs=docs_for("cannot-import-name", "name-not-in-installed-version"))
    return with_evidence(finding, plans)


def _requirers(ctx: Context, dist) -> List[str]:
    """'pkg 1.0 requires dist<2' lines of installed distributions that depend on ``dist``."""
    from ...facts.distributions import normalize

    out = []
    for other in ctx.distributions.all():
        for req in other.requirements():
            if normalize(req.name) == dist.key:
                ok = req.specifier.contains(dist.version, prereleases=True) if req.specifier else True
                out.append(f"{other.name} {other.version} requires {req}"
                           + ("" if ok else f" (installed {dist.version} does NOT satisfy it)"))
    out.sort(key=lambda line: "NOT" not in line)
    return out
