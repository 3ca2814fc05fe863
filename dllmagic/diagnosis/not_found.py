"""Module not found, and names that cannot be imported from a module that was found."""
from __future__ import annotations

import re
import sys
from typing import Iterable, List, Optional, Tuple

from .. import fixes
from ..knowledge import tables as knowledge_tables
from ..model import Evidence, Finding, Fix, Interpreter
from . import Context, docs_for, rule
from .environment.shadowing import _rename_fix


def distribution_for(ctx: Context, module: str) -> Tuple[str, bool, str]:
    """(distribution name, validated?, where the answer came from) for an import name."""
    table = knowledge_tables.import_names()
    parts = module.split(".")
    # The longest dotted prefix that the table knows (google.protobuf before google).
    for i in range(len(parts), 0, -1):
        entry = table.get(".".join(parts[:i]))
        if entry:
            return entry["dist"], True, f"knowledge/import_names.json#{entry['id']}"
    if ctx.interpreter is not None:
        for dist in ctx.distributions.providing(module):
            return dist.name, True, dist.path
    return parts[0], False, "assumed: the distribution is named like the module"


def _env_line(ctx: Context) -> Evidence:
    it = ctx.interpreter
    return Evidence("kernel interpreter", f"{it.executable} (Python {it.version}, {it.environment_kind})",
                    "sys.executable" if it.source == "sys" else it.source)


def locate(ctx: Context, top: str) -> List[str]:
    """Every file or folder on sys.path that could be imported as ``top``, in search order."""
    found = []
    suffixes = (".py", ".pyc", ".so", ".pyd")
    for folder in ctx.site_folders:
        for entry in ctx.system.scandir(folder):
            name = entry.name
            if name == top:
                if entry.is_dir():
                    found.append(entry.path)
            elif name.startswith(top + ".") and name.endswith(suffixes):
                found.append(entry.path)
    return found


def _stdlib_entry(module: str) -> Optional[dict]:
    return knowledge_tables.stdlib_changes().get(module)


@rule("module-not-found")
def not_installed(ctx: Context) -> Iterable[Finding]:
    module = ctx.module
    top = ctx.top_level
    text_only = ctx.interpreter is None
    if not module:
        return   # no name to speak of (a text without one): nothing true to say here
    if not all(part.isidentifier() for part in module.split(".")):
        yield Finding(
            kind="module-not-found", cause="not-installed", confidence=0.6,
            summary=f"No module named {module!r} can exist: that is not a valid Python module name, so no "
                    f"distribution can provide it. Check the name passed to import / __import__ / import_module.",
            evidence=(Evidence("module name", module, "the exception"),),
            docs=docs_for("module-not-found", "not-installed"))
        return
    evidence: List[Evidence] = []
    if not text_only:
        evidence.append(_env_line(ctx))

    removed = _stdlib_entry(top)
    if removed:
        yield _removed_from_stdlib(ctx, removed, evidence)
        return
    optional = knowledge_tables.optional_builtins().get(top)
    if optional and (text_only or top in ctx.stdlib_names):
        yield Finding(
            kind="module-not-found", cause="stdlib-module-missing", confidence=0.9,
            summary=f"{top} is part of Python's standard library, but this interpreter was built without "
                    f"{optional['feature']} support.",
            evidence=tuple(evidence + [Evidence("standard-library module", top, "sys.stdlib_module_names")]),
            fixes=(fixes.instruction(
                f"Install {optional['feature']} support for this Python",
                f"{optional['note']}. On Debian/Ubuntu install {optional['debian']} and rebuild or reinstall "
                f"this Python (pyenv: 'pyenv install --force {ctx.interpreter.version if ctx.interpreter else '<version>'}').",
            ),),
            docs=docs_for("module-not-found", "stdlib-module-missing"))
        return

    if text_only:
        dist, validated, source = distribution_for(ctx, module)
        fix = _install_or_explain(ctx, module, dist, validated)
        yield Finding(
            kind="module-not-found", cause="not-installed", confidence=0.7,
            summary=f"No module named '{module}' could be found by that interpreter; it is provided by the "
                    f"distribution {dist}.",
            evidence=(Evidence("import name → distribution", f"{module} → {dist}", source),),
            fixes=(fix,), docs=docs_for("module-not-found", "not-installed"))
        return

    searched = ", ".join(ctx.site_folders[:8]) + (" …" if len(ctx.site_folders) > 8 else "")
    evidence.append(Evidence("folders searched (sys.path)", f"{len(ctx.site_folders)}: {searched}", "sys.path"))

    places = locate(ctx, top)
    foreign = _foreign_extensions(ctx, module, top, places)
    if foreign:
        yield _built_for_other_python(ctx, module, foreign, evidence)
        return
    if module != top and places:
        yield _submodule_missing(ctx, module, top, places, evidence)
        return

    providers = ctx.distributions.providing(top)
    dist, validated, source = distribution_for(ctx, module)
    installed = ctx.distributions.get(dist)
    if (providers or installed) and not places:
        dist = (providers or [installed])[0]
        # Broken only if files RECORD lists are gone; a complete install that sys.path cannot reach (an
        # editable install's .pth written after start-up) is the environment rules' restart-needed.
        yield _broken_install(ctx, module, dist, evidence,
                              complete=bool(dist.record()) and not dist.missing_files(limit=1))
        return

    evidence.append(Evidence("installed distributions scanned", str(len(ctx.distributions.all())),
                             "*.dist-info and *.egg-info on sys.path"))
    evidence.append(Evidence("distribution providing it", "none installed", "top_level.txt / RECORD"))
    evidence.append(Evidence("import name → distribution", f"{module} → {dist}", source))
    fix = _install_or_explain(ctx, module, dist, validated)
    summary = (f"No module named '{module}': the distribution {dist} is not installed in this kernel's "
               f"environment ({ctx.interpreter.prefix}).")
    if dist.lower() != top.lower():
        summary += f" Note that the import name '{top}' differs from the name to install, '{dist}'."
    yield Finding(kind="module-not-found", cause="not-installed", confidence=0.9 if validated else 0.75,
                  summary=summary, evidence=tuple(evidence), fixes=(fix,),
                  docs=docs_for("module-not-found", "not-installed"))


def _pip_or_plain(ctx: Context, requirements, *, reinstall: bool, title: str):
    from ._common import pip

    return pip(ctx, list(requirements), validated=True, reinstall=reinstall, title=title) or fixes.pip_install(
        ctx.interpreter, requirements, validated=True, reinstall=reinstall, title=title)


def _install_or_explain(ctx: Context, module: str, dist: str, validated: bool):
    """``pip install DIST`` only for a name known to be a distribution (installed metadata, the import-name
    table); an unknown name is not sent to the index, where it may be an unrelated project."""
    try:
        fixes.validate_requirement(dist)
    except fixes.UnsafeName:
        # ``café``: a valid Python identifier, but PEP 508 names are ASCII letters, digits and . _ -.
        return fixes.instruction(
            f"Find the distribution that provides '{dist}'",
            f"'{dist}' is a valid import name but not a valid package (distribution) name, so there is no "
            f"'pip install' to offer for it.\nFind the project that provides this module and install it by "
            f"its distribution name.")
    if validated:
        from ._common import pip

        fix = pip(ctx, [dist], validated=True)
        if fix is not None:
            return fix
    top = module.split(".")[0]
    return fixes.instruction(
        f"Find out what provides '{top}' before installing anything",
        f"'{top}' is not a distribution dllmagic knows, so no install is offered: a package index may hold an "
        f"unrelated project of that name.\nIf it is your own compiled extension or a local package, build it for "
        f"this interpreter (pip install -e <its folder>) or add its folder to sys.path; if it is a vendor's binary, "
        f"get the vendor's build for this Python; if it is a submodule of a package, install that package.\n"
        f"'dlldoctor check {top} --online' asks the index what it holds under that name.")


_ABI_TAG = re.compile(r"\.(cpython-(\d)(\d+)[^.]*|cp(\d)(\d+)-[^.]+)\.(so|pyd)$")


#: Sources of an extension module that a build makes into NAME.cpython-*.so / NAME.*.pyd.
_EXTENSION_SOURCES = (".c", ".cpp", ".cc", ".pyx", ".rs", ".f90")


def _foreign_extensions(ctx: Context, module: str, top: str, places: List[str]) -> List[Tuple[str, str]]:
    """Extension files for ``module`` that carry another Python's ABI tag ((path, 'Python X.Y')), when no
    file for this Python is there: CPython ignores them, so the import says 'No module named'."""
    parts = module.split(".")
    if module == top:
        folders = list(ctx.site_folders)
    else:
        bases = [p for p in places if ctx.system.is_dir(p)]
        folders = [ctx.system.join(b, *parts[1:-1]) if len(parts) > 2 else b for b in bases]
    stem = parts[-1]
    mine = f"{ctx.interpreter.version.split('.')[0]}{ctx.interpreter.version.split('.')[1]}"
    found: List[Tuple[str, str]] = []
    for folder in folders:
        for entry in ctx.system.scandir(folder):
            if not entry.name.startswith(stem + ".") or entry.name.endswith(_EXTENSION_SOURCES + (".h", ".pxd")):
                continue    # a project's source beside its builds is no loadable module
            match = _ABI_TAG.search(entry.name)
            if not match:
                return []  # an untagged or abi3 file is loadable: not this case
            major, minor = (match.group(2), match.group(3)) if match.group(2) else (match.group(4), match.group(5))
            if major + minor == mine:
                return []
            found.append((entry.path, f"Python {major}.{minor}"))
    return found


def _built_for_other_python(ctx: Context, module: str, foreign: List[Tuple[str, str]],
                            evidence: List[Evidence]) -> Finding:
    path, other = foreign[0]
    top = module.split(".")[0]
    dists = ctx.distributions.providing(top)
    ev = evidence + [Evidence("extension module on disk", path, "the file name's ABI tag"),
                     Evidence("built for", other, path),
                     Evidence("this interpreter", f"Python {ctx.interpreter.version}", "sys.version_info")]
    fix_list = []
    if dists:
        ev.append(Evidence("installed distribution", f"{dists[0].name} {dists[0].version}", dists[0].path))
        fix_list.append(_pip_or_plain(ctx, [dists[0].name], reinstall=True,
                                      title=f"Reinstall {dists[0].name} for Python {ctx.interpreter.version}"))
    folder = path.replace("\\", "/").rsplit("/", 1)[0]
    if not dists and not _is_environment_path(ctx, path):
        # The user's own project (no distribution provides it): rebuilt, never installed by its name.
        fix_list.append(fixes.instruction(
            f"Rebuild {top}'s extension for Python {ctx.interpreter.version}",
            f"The file was built for {other} ({folder}). From the project's folder, with this kernel's "
            f"interpreter: python -m pip install -e . (or python setup.py build_ext --inplace); or use {other}.",
            restart=True))
    else:
        fix_list.append(fixes.instruction(
            f"Install {top} with this interpreter's own pip",
            f"The file was built for {other}: it was copied from another environment or installed with another "
            f"Python's pip. Run the install with this kernel's interpreter (%pip install ...), or use {other}."))
    return Finding(
        kind="python-abi-mismatch", cause="built-for-other-python", confidence=0.93,
        summary=f"'{module}' exists only as an extension built for {other} ({path.replace(chr(92), '/').rsplit('/', 1)[-1]}); "
                f"Python {ctx.interpreter.version} ignores it, so the import finds no module.",
        evidence=tuple(ev), fixes=tuple(fix_list), docs=docs_for("python-abi-mismatch", "built-for-other-python"))


def _removed_from_stdlib(ctx: Context, entry: dict, evidence: List[Evidence]) -> Finding:
    version = ctx.interpreter.version if ctx.interpreter else None
    where = f"Python {version}" if version else "newer Pythons"
    summary = (f"'{entry['module']}' was removed from the standard library in Python {entry['removed_in']}, "
               f"so it is missing on {where}; {entry['how']}.")
    fix_list = []
    if entry.get("replacement_dist"):
        fix_list.append(fixes.pip_install(ctx.interpreter, [entry["replacement_dist"]], validated=True))
    fix_list.append(fixes.instruction(
        f"Use a release of the importing package made for Python {entry['removed_in']}+",
        f"or run this notebook with a Python older than {entry['removed_in']}."))
    return Finding(
        kind="module-not-found", cause="removed-from-stdlib", confidence=0.93 if version else 0.8,
        summary=summary,
        evidence=tuple(evidence + [Evidence("removed in", f"Python {entry['removed_in']}", entry["source"])]),
        fixes=tuple(fix_list), docs=docs_for("module-not-found", "removed-from-stdlib"))


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
        ev.append(Evidence("installed distribution", version, dists[0].path))
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


def _broken_install(ctx: Context, module: str, dist, evidence: List[Evidence], complete: bool = False) -> Finding:
    missing = dist.missing_files(limit=5)
    ev = evidence + [Evidence("distribution metadata present", f"{dist.name} {dist.version}", dist.path)]
    if missing:
        ev.append(Evidence("files listed in RECORD but missing", ", ".join(missing), dist.path + "/RECORD"))
    # Planned: the tool that owns the environment, and the index a local label names (torch 2.3.0+cpu).
    fix = _pip_or_plain(ctx, [f"{dist.name}=={dist.version}"], reinstall=True,
                        title=f"Reinstall {dist.name} {dist.version}")
    top = module.split(".")[0]
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


# -- cannot import name ------------------------------------------------------------------------------
def _is_environment_path(ctx: Context, path: str) -> bool:
    norm = path.replace("\\", "/")
    if "/site-packages/" in norm or "/dist-packages/" in norm:
        return True
    if ctx.interpreter is None:
        # From text alone: the standard library folder looks like .../lib/pythonX.Y/...
        import re

        return bool(re.search(r"/lib/python\d+\.\d+/|/Lib/", norm))
    for prefix in {ctx.interpreter.prefix, ctx.interpreter.base_prefix}:
        if prefix and norm.startswith(prefix.replace("\\", "/").rstrip("/") + "/"):
            return True
    return False


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
    partially = "partially initialized" in failure.message
    evidence = [Evidence("message", failure.message.splitlines()[0][:300], failure.exc_type)]
    if ctx.interpreter is not None:
        evidence.insert(0, _env_line(ctx))

    own = _shadow_source(path) if path else ""
    hidden = [p for p in (locate(ctx, top) if ctx.interpreter is not None else []) if p not in (path, own)
              and not p.startswith(own.rstrip("/\\") + "/")] if path else []
    # A local package folder that hides nothing installed and has no well-known name is the user's own
    # project (its extension not built, its own submodule): renaming it would break it; it is no shadow.
    own_project = (ctx.interpreter is not None and own != path and not hidden
                   and not _is_environment_path(ctx, path) and not _well_known_module(ctx, top))
    if path and _shadow_name(path, top) and not _is_environment_path(ctx, path) and not own_project:
        evidence.append(Evidence(f"'{module}' was loaded from", path, "ImportError.path / the message"))
        if hidden:
            evidence.append(Evidence("the package it hides", hidden[-1], "sys.path"))
        shadow = _shadow_source(path)
        yield Finding(
            kind="cannot-import-name", cause="shadowed-by-local-file", confidence=0.9,
            summary=f"Your file {path} has the same name as the module '{top}', so Python imported it "
                    f"instead of the real '{top}'.",
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

    if own_project and failure.name and failure.name.isidentifier():
        found = _own_submodule(ctx, own, failure.name)
        if found is not None:
            yield found
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

    if top:   # without the module's name there is no version to speak of
        yield from _name_not_in_version(ctx, module, top, path, evidence)


def _well_known_module(ctx: Context, top: str) -> bool:
    import sys

    stdlib = ctx.stdlib_names or frozenset(getattr(sys, "stdlib_module_names", ()))
    return top in stdlib or top in knowledge_tables.import_names()


def _own_submodule(ctx: Context, folder: str, name: str) -> Optional[Finding]:
    """'from myproj import _speedups' where myproj is the user's own folder and has no module '_speedups'
    at all (only its source, or nothing): not a distribution to install, not a cycle to break."""
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
    if sources:
        summary = (f"'{package}.{name}' is an extension of your own project that has not been built for this "
                   f"interpreter: {folder} holds its source ({', '.join(sources)}) but no compiled module. "
                   f"It is not a package to install from the index.")
        fix = fixes.instruction(
            f"Build {package}'s extensions for this interpreter",
            f"From the project's folder ({project}), with this kernel's Python: python -m pip install -e . "
            f"(or python setup.py build_ext --inplace), then restart the kernel.", restart=True)
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


def _name_not_in_version(ctx: Context, module: str, top: str, path: Optional[str],
                         evidence: List[Evidence]) -> Iterable[Finding]:
    if top in ctx.stdlib_names or top in sys.stdlib_module_names:
        return  # the standard library has no versions to pin: a file of the user's hides it (shadowing)
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
    if path:
        evidence.append(Evidence(f"'{module}' loaded from", path, "the message"))
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
    yield Finding(
        kind="cannot-import-name", cause="name-not-in-installed-version", confidence=0.6,
        summary=f"'{name}' cannot be imported from '{module}': {what} does not define it (version skew "
                f"between {top} and the code importing it).",
        evidence=tuple(evidence), fixes=tuple(fix_list),
        docs=docs_for("cannot-import-name", "name-not-in-installed-version"))


def _name_from_a_later_release(ctx: Context, module: str, name: str, dist, entry: dict,
                               evidence: List[Evidence]) -> Finding:
    """The name came with a later release (the table row says which): move the package forward, planned
    against every installed pin (an old dependent that caps it moves too, where the environment says how)."""
    from ..planner import Intent, fixes_for, repair_intents
    from ..planner.plan import with_evidence

    from .numpy_abi import _version_lt

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
    from ..facts.distributions import normalize

    out = []
    for other in ctx.distributions.all():
        for req in other.requirements():
            if normalize(req.name) == dist.key:
                ok = req.specifier.contains(dist.version, prereleases=True) if req.specifier else True
                out.append(f"{other.name} {other.version} requires {req}"
                           + ("" if ok else f" (installed {dist.version} does NOT satisfy it)"))
    out.sort(key=lambda line: "NOT" not in line)
    return out
