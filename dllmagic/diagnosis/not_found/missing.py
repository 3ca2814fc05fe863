"""``No module named X``: the rules, and what they say when the name is nowhere to be found."""
from __future__ import annotations

import re
import sys
from typing import Iterable, List, Optional

from ... import fixes
from ...knowledge import tables as knowledge_tables
from ...model import Evidence, Finding
from .. import Context, docs_for, rule
from .._common import detail
from .extensions import _built_for_other_python, _foreign_extensions
from .from_text import (KERNEL_LAUNCHERS, _installed_elsewhere_from_text, _kernel_lacks_it_from_text,
    _kernel_python_lacks_ipykernel, _native_files_missing_from_text, _private_module_missing_from_text,
    _python2_lacks_it_from_text, pip_says_installed_as, private_module_importer, python2_wording, ran_in_a_notebook,
    _names_a_missing_submodule, _not_a_package_from_text, _pip_says_installed, _source_tree_package, _source_tree_shadows, _submodule_missing_from_text)
from .install import _install_or_explain
from .installed import _DISTRIBUTION_SIGNATURES, _broken_install, _distribution_not_found, _submodule_missing
from .lookup import _env_line, _is_environment_path, _stdlib_entry, distribution_for, locate, orphan_bytecode_of
from .stdlib import (_newer_than_this_python, _python_in_text, _removed_from_stdlib, _split_by_the_distribution,
                     _stdlib_part_missing, debian_split_kept)


#: pip's own PEP 668 refusal; the marker's text, which pip prints between its lines, names the manager.
_PEP668_MANAGER = re.compile(r"try (?P<manager>apt|brew|dnf|pacman|apk|zypper) install")


@rule("module-not-found")
def externally_managed_refusal(ctx: Context) -> Iterable[Finding]:
    """pip's ``error: externally-managed-environment`` in the text: the install was refused because the Python
    belongs to the operating system (PEP 668); a virtual environment is the way, not --break-system-packages."""
    failure = ctx.failure
    if failure is None or failure.signature != "pip-externally-managed":
        return
    text = ctx.cache.get("text") or failure.message or ""
    manager = _PEP668_MANAGER.search(text)
    evidence = [Evidence("installer's refusal", "error: externally-managed-environment (PEP 668)", "pip")]
    if manager:
        evidence.append(Evidence("the system's package manager", manager.group("manager"),
                                 "the EXTERNALLY-MANAGED marker's text"))
    yield Finding(
        kind="module-not-found", cause="externally-managed", confidence=0.9,
        summary="pip refused to install: this Python belongs to the operating system and is marked externally "
                "managed (PEP 668). Install into a virtual environment (and use it as the kernel), or install "
                "the system package; --break-system-packages risks breaking the system's own tools.",
        evidence=tuple(evidence),
        fixes=(fixes.new_venv("Create a virtual environment, install there, and use it as this notebook's kernel"),),
        docs=docs_for("module-not-found", "externally-managed"))


#: The file a relative import ran in: the innermost frame's file.
_FRAME_FILE = re.compile(r'^[ \t]*File "(?P<file>[^"\n]+\.py)", line \d+', re.M)


@rule("module-not-found")
def relative_import_in_a_script(ctx: Context) -> Iterable[Finding]:
    """``attempted relative import with no known parent package`` (and ``'__main__' is not a package``): a module
    of a package was run as a script (``python path/to/module.py``, an IDE's Run button), so it has no package
    for ``from . import x`` to be relative to. Nothing is missing; running it as a module is the way."""
    failure = ctx.failure
    if failure is None or failure.signature != "python-relative-import-no-parent":
        return
    text = str(ctx.cache.get("text") or failure.message or "")
    files = [m.group("file") for m in _FRAME_FILE.finditer(text) if not m.group("file").startswith("<")]
    evidence = [Evidence("message", (failure.message or "").splitlines()[0][:300] if failure.message else
                         "attempted relative import with no known parent package", failure.exc_type or "ImportError")]
    if files:
        evidence.append(Evidence("the file run as a script", files[-1], "the traceback"))
    yield Finding(
        kind="module-not-found", cause="relative-import-in-script", confidence=0.9,
        summary="A module that belongs to a package was run as a script (python path/to/file.py, or an IDE's Run "
                "button), so its relative imports ('from . import x') have no package to start from. Nothing needs "
                "installing: run it as a module of its package from the folder above the package.",
        evidence=tuple(evidence),
        fixes=(fixes.instruction(
            "Run the file as a module: python -m package.module",
            "From the folder that holds the package (its top folder with __init__.py), run "
            "'python -m <package>.<module>' (the file's path with dots, without .py) instead of "
            "'python <path>/<module>.py'; in a notebook, import it ('from package import module') instead of "
            "running the file with %run."),),
        docs=docs_for("module-not-found", "relative-import-in-script"))


@rule("module-not-found")
def not_installed(ctx: Context) -> Iterable[Finding]:
    module = ctx.module
    top = ctx.top_level
    text_only = ctx.interpreter is None
    if not module:
        return   # no name to speak of (a text without one): nothing true to say here
    if ctx.failure is not None and ctx.failure.signature in _DISTRIBUTION_SIGNATURES:
        yield _distribution_not_found(ctx, module)
        return
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
        running = _python_in_text(ctx) if text_only else None
        if running and knowledge_tables.version_key(running) < knowledge_tables.version_key(removed["removed_in"]):
            # The text's own paths show a Python that still has the module: not the removal.
            yield _stdlib_part_missing(ctx, module, removed, running)
            return
        kept = pip_says_installed_as(ctx, [removed["replacement_dist"]]) \
            if text_only and removed.get("replacement_dist") else None
        if kept is not None:
            # pip in the same text has the copy of the removed module installed: another Python imports.
            yield _installed_elsewhere_from_text(ctx, module, *kept)
            return
        yield _removed_from_stdlib(ctx, removed, evidence)
        return
    added = knowledge_tables.stdlib_added_modules().get(top)
    if added and (text_only or knowledge_tables.version_key(ctx.interpreter.version)
                  < knowledge_tables.version_key(added["added_in"])):
        yield _newer_than_this_python(ctx, module, added, evidence)
        return
    split = debian_split_kept(top)
    if split and (text_only or top in ctx.stdlib_names):
        yield _split_by_the_distribution(ctx, module, split, evidence)
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

    if text_only and top in getattr(sys, "stdlib_module_names", ()) and "Fatal Python error" in (ctx.cache.get("text") or ""):
        # The interpreter stopped while starting: it cannot find its own standard library.
        yield Finding(
            kind="module-not-found", cause="stdlib-not-found", confidence=0.85,
            summary=f"Python stopped while starting because it cannot find '{top}', a module of its own standard "
                    f"library: PYTHONHOME or PYTHONPATH is set for another Python, or the base installation this "
                    f"environment was made from was moved, upgraded or removed.",
            evidence=(Evidence("message", f"No module named '{module}'", "the exception"),
                      Evidence("standard-library module", top, "sys.stdlib_module_names"),
                      Evidence("the interpreter did not start", "Fatal Python error", "the text")),
            fixes=(fixes.instruction(
                "Unset PYTHONHOME and PYTHONPATH, or recreate the environment",
                "Remove PYTHONHOME and PYTHONPATH where they are set (shell profile, system environment variables, "
                "the IDE's run configuration, the kernelspec's env); if the environment's base Python was moved or "
                "uninstalled, create the environment again from an installed Python."),),
            docs=docs_for("module-not-found", "stdlib-not-found"))
        return
    if text_only:
        not_a_package = dict(ctx.failure.details).get("not_a_package") if ctx.failure else None
        if not_a_package and module.startswith(not_a_package + "."):
            yield _not_a_package_from_text(ctx, module, not_a_package)
            return
        python2 = python2_wording(ctx, module)
        if python2 and module != top:
            module = top   # Python 2 names the whole dotted path when the top-level package is missing
        if not python2 and _names_a_missing_submodule(ctx, module):
            source_tree = _source_tree_package(ctx, top)
            yield _source_tree_shadows(ctx, module, source_tree) if source_tree else _submodule_missing_from_text(ctx, module)
            return
        elsewhere = _pip_says_installed(ctx, module)
        if elsewhere is not None:
            yield _installed_elsewhere_from_text(ctx, module, *elsewhere)
            return
        if ctx.failure is not None and ctx.failure.signature == "pycryptodome-native-module-not-found":
            yield _native_files_missing_from_text(ctx, module)
            return
        python = detail(ctx, "found_path")
        if top in KERNEL_LAUNCHERS and python:
            yield _kernel_python_lacks_ipykernel(ctx, module, python)
            return
        private = private_module_importer(ctx, module)
        if private is not None:
            yield _private_module_missing_from_text(ctx, module, *private)
            return
        dist, validated, source = distribution_for(ctx, module)
        fix = _install_or_explain(ctx, module, dist, validated)
        known = validated or top in knowledge_tables.extension_packages()
        if module == top and known and python2:
            yield _python2_lacks_it_from_text(ctx, module, dist, fix)
            return
        if module == top and known and ran_in_a_notebook(ctx):
            yield _kernel_lacks_it_from_text(ctx, module, dist, validated, fix)
            return
        namespace = knowledge_tables.namespace_parent(module)
        if validated:
            provided = f"it is provided by the distribution {dist}."
        elif namespace:
            provided = (f"'{namespace}' is a namespace that several distributions share "
                        f"({knowledge_tables.namespace_packages()[namespace]['example']}), and the one that provides "
                        f"'{module}' is not installed there.")
        else:   # the name is dllmagic's guess, not a fact: said so
            provided = (f"no table dllmagic has names the distribution that provides it ('{dist}', named like the "
                        f"module, is a guess).")
        yield Finding(
            kind="module-not-found", cause="not-installed", confidence=0.7,
            summary=f"No module named '{module}' could be found by that interpreter; {provided} Not checked: the "
                    f"text came without the machine, so it cannot show that no Python there has it: if it was "
                    f"installed, that was for another Python than the one that ran the import (another environment, "
                    f"a script or kernel that starts another interpreter), or the installation is incomplete.",
            evidence=(Evidence("import name → distribution", f"{module} → {dist}", source),),
            fixes=(fix,), docs=docs_for("module-not-found", "not-installed"))
        return

    searched = ", ".join(ctx.site_folders[:8]) + (" …" if len(ctx.site_folders) > 8 else "")
    evidence.append(Evidence("folders searched (sys.path)", f"{len(ctx.site_folders)}: {searched}", "sys.path"))
    archives = [p for p in ctx.sys_path if p and ctx.system.is_file(p)]
    if archives:  # a zip or egg on sys.path is searched too (zipimport)
        evidence.append(Evidence("zip archives searched (sys.path)", f"{len(archives)}: " + ", ".join(archives[:4]),
                                 "sys.path"))

    places = locate(ctx, top)
    foreign = _foreign_extensions(ctx, module, top, places)
    if foreign:
        yield _built_for_other_python(ctx, module, foreign, evidence)
        return
    if module != top and places:
        yield _submodule_missing(ctx, module, top, places, evidence)
        return

    if module == top:
        from ..environment.restart import off_sys_path

        if off_sys_path(ctx, top):
            return   # installed here, in a folder code in the kernel took off sys.path: not "not installed"
    providers = ctx.distributions.providing(top)
    dist, validated, source = distribution_for(ctx, module)
    installed = ctx.distributions.get(dist)
    if not providers and installed is not None and not places and module == top:
        named = _import_names_of(ctx, installed, top)
        if named:
            yield _distribution_name_imported(ctx, module, installed, named, evidence)
            return
    if (providers or installed) and not places:
        dist = (providers or [installed])[0]
        # Broken only if files RECORD lists are gone; a complete install that sys.path cannot reach (an
        # editable install's .pth written after start-up) is the environment rules' restart-needed.
        yield _broken_install(ctx, module, dist, evidence,
                              complete=bool(dist.record()) and not dist.missing_files(limit=1))
        return

    if module == top and not providers and installed is None and not validated:
        # (A known distribution's name: the leftover is of an old shadowing file, not the module meant.)
        orphaned = _source_gone(ctx, module, evidence)
        if orphaned is not None:
            yield orphaned
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
    dangling = _pth_folders_gone(ctx)
    if dangling:
        folder, pth = dangling[0]
        evidence += [Evidence(".pth line naming a folder that does not exist", f"{f} (Python skips it)", p)
                     for f, p in dangling[:3]]
        summary += (f" {pth} puts {folder} on sys.path, but that folder does not exist: if '{module}' lived "
                    f"there, it was moved or deleted.")
    yield Finding(kind="module-not-found", cause="not-installed", confidence=0.9 if validated else 0.75,
                  summary=summary, evidence=tuple(evidence), fixes=(fix,),
                  docs=docs_for("module-not-found", "not-installed"))


def _pth_folders_gone(ctx: Context) -> List[tuple]:
    """(folder, .pth file) for each folder line of a ``.pth`` file in a site-packages folder on sys.path that
    names a folder which does not exist (Python skips such a line at start-up, silently). A ``.pth`` an
    installed distribution's RECORD lists (an editable install of another project) is that project's."""
    from ...facts import syspath

    pm = ctx.system.pathmod
    sites = [f for f in ctx.site_folders if pm.basename(f) in ("site-packages", "dist-packages")]
    gone = [(folder, pth) for folder, pth in syspath.pth_entries(ctx.system, sites).items()
            if not ctx.system.exists(folder)]
    if not gone:
        return []
    claimed = {entry for d in ctx.distributions.all() for entry in d.record() if entry.endswith(".pth")}
    return [(folder, pth) for folder, pth in gone if pm.basename(pth) not in claimed]


def _source_gone(ctx: Context, module: str, evidence: List[Evidence]) -> Optional[Finding]:
    """``__pycache__/module.<tag>.pyc`` in a folder of the user's on sys.path (the working folder, PYTHONPATH)
    with no ``module.py`` beside it: the module was deleted, moved or renamed, and its compiled cache, which
    Python never imports alone (PEP 3147), is all that is left. Nothing to install."""
    for folder in ctx.site_folders:
        if _is_environment_path(ctx, ctx.system.join(folder, module + ".py")):
            continue
        leftovers = orphan_bytecode_of(ctx, folder, module)
        if not leftovers:
            continue
        path = ctx.system.join(folder, module + ".py")
        ev = evidence + [Evidence("its compiled cache, left without its source", ", ".join(leftovers),
                                  "Python imports a __pycache__ file only beside its .py (PEP 3147)"),
                         Evidence("distribution providing it", "none installed", "top_level.txt / RECORD")]
        return Finding(
            kind="module-not-found", cause="not-installed", confidence=0.85,
            summary=f"No module named '{module}': {path} was deleted, moved or renamed, and only its compiled "
                    f"cache ({leftovers[0]}) is left, which Python never imports without the source. No "
                    f"installed distribution provides '{module}'; nothing is offered to install.",
            evidence=tuple(ev),
            fixes=(fixes.instruction(f"Restore {module}.py",
                                     f"Bring back {path} (git status / git checkout -- shows and restores a "
                                     f"deleted file), or change the import to the module's new name; then "
                                     f"restart the kernel.", restart=True),),
            docs=docs_for("module-not-found", "not-installed"))
    return None


def _import_names_of(ctx: Context, dist, top: str) -> List[str]:
    """The modules ``dist`` provides when ``top`` is the distribution's name but none of them (``import ipython``
    for IPython, ``import PyYAML`` for yaml). [] when that is not known: an editable install's modules are not
    in its RECORD (a finder or a .pth maps them), so nothing is said about them here."""
    from ...planner import envfacts

    record = dist.record()
    data = envfacts.direct_url(ctx, dist.name) or {}
    if any("__editable__" in entry for entry in record) or (data.get("dir_info") or {}).get("editable"):
        return []
    names = [n for n in dist.top_level() if n.isidentifier() and not n.startswith("_")]
    if not names or top in names or dist.missing_files(limit=1):
        return []
    return names


def _distribution_name_imported(ctx: Context, module: str, dist, names: List[str],
                                evidence: List[Evidence]) -> Finding:
    case = [n for n in names if n.lower() == module.lower()]
    shown = case or names
    said = (f"import names are case-sensitive: the module is '{case[0]}'" if case else
            f"it provides the module{'s' if len(names) > 1 else ''} {', '.join(repr(n) for n in names[:4])}")
    ev = evidence + [Evidence("distribution of that name", f"{dist.name} {dist.version}", dist.path),
                     Evidence(f"modules {dist.name} provides", ", ".join(names[:8]),
                              dist.path + ("/top_level.txt" if dist._read("top_level.txt") is not None else "/RECORD")),
                     Evidence("files listed in RECORD", "all present", dist.path + "/RECORD")]
    return Finding(
        kind="module-not-found", cause="not-installed", confidence=0.95,
        summary=f"No module named '{module}': '{module}' is the name of the distribution {dist.name} "
                f"{dist.version}, which is installed, but no module of that name is: {said}. Nothing needs "
                f"installing; import it by its module name.",
        evidence=tuple(ev),
        fixes=(fixes.instruction(f"Import {shown[0]}, the module {dist.name} provides",
                                 f"import {shown[0]}\n(the name to install, {dist.name}, and the name to import, "
                                 f"{shown[0]}, differ; no install or reinstall is needed)"),),
        docs=docs_for("module-not-found", "not-installed"))
