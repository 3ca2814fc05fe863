"""Module not found, and names that cannot be imported from a module that was found."""
from __future__ import annotations

import re
import sys
from typing import Iterable, List, Optional, Tuple

from .. import fixes
from ..knowledge import tables as knowledge_tables
from ..model import Evidence, Finding
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
        yield _removed_from_stdlib(ctx, removed, evidence)
        return
    added = knowledge_tables.stdlib_added_modules().get(top)
    if added and (text_only or knowledge_tables.version_key(ctx.interpreter.version)
                  < knowledge_tables.version_key(added["added_in"])):
        yield _newer_than_this_python(ctx, module, added, evidence)
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
        if _names_a_missing_submodule(ctx, module):
            yield _submodule_missing_from_text(ctx, module)
            return
        elsewhere = _pip_says_installed(ctx, module)
        if elsewhere is not None:
            yield _installed_elsewhere_from_text(ctx, module, *elsewhere)
            return
        dist, validated, source = distribution_for(ctx, module)
        fix = _install_or_explain(ctx, module, dist, validated)
        namespace = knowledge_tables.namespace_parent(module)
        provided = (f"it is provided by the distribution {dist}." if validated or not namespace else
                    f"'{namespace}' is a namespace that several distributions share "
                    f"({knowledge_tables.namespace_packages()[namespace]['example']}), and the one that provides "
                    f"'{module}' is not installed there.")
        yield Finding(
            kind="module-not-found", cause="not-installed", confidence=0.7,
            summary=f"No module named '{module}' could be found by that interpreter; {provided}",
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


#: Frame headers of tracebacks: Python's ``File "…", line N``, IPython 8's ``File /x.py:N`` and IPython 7's
#: ``/x.py in <module>()``.  Anchored at line starts, bounded: one linear pass.
_FRAME_FILE = re.compile(r'^[ \t]*File "(?P<a>[^"\n]{1,1024})", line \d|^[ \t]*File (?P<b>[^\s":][^\n:]{0,1023}?\.py):\d'
                         r'|^(?P<c>(?:/|[A-Za-z]:\\)[^\n]{0,1023}?\.py) in ', re.MULTILINE)


def _frame_files(ctx: Context, before: Optional[str] = None) -> List[str]:
    """The files of the traceback frames in the pasted text, in order; with ``before``, only those of the
    traceback that ends at the first line holding that text (the frames leading to that error)."""
    text = ctx.cache.get("text")
    if not isinstance(text, str):
        return []
    if before is not None:
        end = text.find(before)
        if end < 0:
            return []
        start = text.rfind("Traceback (most recent call last)", max(0, end - 50_000), end)
        text = text[max(start, end - 50_000, 0): end]
    return [m.group("a") or m.group("b") or m.group("c") for m in _FRAME_FILE.finditer(text)]


def _file_of_module(path: str, top: str) -> bool:
    """``…/top.py`` (or another module suffix) or ``…/top/__init__.py``."""
    parts = re.split(r"[\\/]", path.rstrip("/\\"))
    if parts[-1].startswith("__init__.") and len(parts) > 1:
        return parts[-2] == top
    return parts[-1].split(".")[0] == top


def _not_a_package_from_text(ctx: Context, module: str, package: str) -> Finding:
    """``No module named 'a.b'; 'a' is not a package``: Python imported a plain module ``a`` where the code
    expects the package ``a``, so a file ``a.py`` (the script itself, or one beside it) hides the package."""
    evidence = [Evidence("message", f"No module named '{module}'; '{package}' is not a package", "the exception")]
    shadow = next((p for p in _frame_files(ctx) if _file_of_module(p, package) and not p.endswith("__init__.py")
                   and not _looks_installed(p)), None)
    if shadow:
        evidence.append(Evidence(f"a file named '{package}' in the traceback", shadow, "the traceback"))
    where = shadow or f"{package}.py (in the script's folder, the notebook's folder or on sys.path)"
    return Finding(
        kind="module-not-found", cause="shadowed-by-local-file", confidence=0.85 if shadow else 0.8,
        summary=f"'{package}' was imported as a plain module, not as the package '{package}' that provides "
                f"'{module}': your file {where} has the package's name and is imported instead.",
        evidence=tuple(evidence),
        fixes=(fixes.instruction(f"Rename your {package}.py",
                                 f"Rename {where} to a name no package has (and delete __pycache__ beside it), "
                                 f"then restart the kernel or run the script again."),),
        docs=docs_for("module-not-found", "shadowed-by-local-file"))


def _looks_installed(path: str) -> bool:
    norm = path.replace("\\", "/")
    return "/site-packages/" in norm or "/dist-packages/" in norm or bool(re.search(r"/lib(?:64)?/python\d+\.\d+/", norm))


def _names_a_missing_submodule(ctx: Context, module: str) -> bool:
    """Python's ``No module named 'a.b.c'`` names the first part of a dotted import that is missing: its
    parent package 'a.b' was imported.  Unless that parent is a namespace shared by several distributions
    (google, azure, nvidia …) or the name is a distribution of its own, the installed package lacks it."""
    failure = ctx.failure
    if failure is None or failure.signature != "py-no-module-named" or "." not in module:
        return False
    parent = module.rsplit(".", 1)[0]
    if parent in knowledge_tables.namespace_packages() or module in knowledge_tables.import_names():
        return False
    return all(part.isidentifier() for part in module.split("."))


def _submodule_missing_from_text(ctx: Context, module: str) -> Finding:
    parent = module.rsplit(".", 1)[0]
    top = module.split(".")[0]
    evidence = (Evidence("message", f"No module named '{module}'", "the exception"),
                Evidence("imported fine", parent, "Python names the first missing part of a dotted import"))
    stdlib = top in getattr(sys, "stdlib_module_names", ())
    dist, validated, _ = (None, False, None) if stdlib else distribution_for(ctx, parent)
    if stdlib:
        title = "Run the code with the Python version it was written for"
        summary = (f"'{parent}' was imported, but this Python's standard library has no module '{module}': the code "
                   f"importing it was written for another Python version.")
        advice = (f"'{module}' is not in this Python's standard library: run the code with the version it needs, or "
                  f"use a release of the code made for this one.")
    elif validated:
        title = f"Install the release of {dist} that the importing code was written for"
        summary = (f"'{parent}' was imported, but the installed {dist} has no module '{module}': the code importing "
                   f"it was written for another release of {dist}, or the installation is incomplete.")
        advice = (f"Check which release of {dist} provides '{module}' (its changelog: the module was added, moved "
                  f"or removed), then install that release, e.g. %pip install \"{dist}==<version>\", or upgrade "
                  f"the package whose code imports it.")
    else:
        # Not a distribution dllmagic knows: perhaps a package of the user's own; no release to name.
        title = f"Find which '{top}' the code expects"
        summary = (f"'{parent}' was imported, but it has no module '{module}': the '{top}' Python found is another "
                   f"version than the code expects, its installation is incomplete, or a folder '{top}' of yours "
                   f"was found first.")
        advice = (f"If '{top}' is an installed package, install the release that provides '{module}' (its changelog "
                  f"says when it was added, moved or removed). If it is your own package, check that "
                  f"{module.replace('.', '/')}.py exists and that no other folder named '{top}' comes first on "
                  f"sys.path.")
    return Finding(
        kind="module-not-found", cause="submodule-not-found", confidence=0.75 if (validated or stdlib) else 0.65,
        summary=summary, evidence=evidence, fixes=(fixes.instruction(title, advice),),
        docs=docs_for("module-not-found", "submodule-not-found"))


#: pip's "Requirement already satisfied: numpy in /usr/lib/python3/dist-packages (1.21.5)".
_ALREADY_SATISFIED = re.compile(r"Requirement already satisfied: (?P<name>[A-Za-z0-9][\w.\-]{0,100})(?:\[[^\]\n]{0,200}\])?"
                                r"(?:[<>=!~][^\s]{0,100})? in (?P<path>[^\s(]{1,1024})")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pip_says_installed(ctx: Context, module: str) -> Optional[Tuple[str, str]]:
    """(distribution, folder) when pip, in the same pasted text, says the distribution that provides the
    missing module is already installed: then the importing Python is not the one that pip belongs to."""
    text = ctx.cache.get("text")
    if not isinstance(text, str) or "Requirement already satisfied" not in text:
        return None
    top = module.split(".")[0]
    dist, validated, _ = distribution_for(ctx, module)
    wanted = {_normal(top), _normal(dist)} if validated else {_normal(top)}
    for m in _ALREADY_SATISFIED.finditer(text):
        if _normal(m.group("name")) in wanted:
            return m.group("name"), m.group("path")
    return None


def _installed_elsewhere_from_text(ctx: Context, module: str, dist: str, folder: str) -> Finding:
    evidence = [Evidence("message", f"No module named '{module}'", "the exception"),
                Evidence(f"pip: {dist} already installed in", folder, "pip's 'Requirement already satisfied'")]
    others = [p for p in _frame_files(ctx) if _looks_installed(p) and not p.startswith(folder.rstrip("/\\"))]
    if others:
        evidence.append(Evidence("the importing Python's files", others[-1], "the traceback"))
    return Finding(
        kind="module-not-found", cause="installed-in-other-environment", confidence=0.8,
        summary=f"pip reports {dist} already installed in {folder}, yet the Python that imports finds no module "
                f"'{module}': that pip belongs to another Python environment than the one running the code (a "
                f"terminal's pip and the notebook's kernel, two conda environments …).",
        evidence=tuple(evidence),
        fixes=(fixes.instruction(
            f"Install {dist} with the importing Python's own pip",
            f"In the notebook run %pip install {dist} (it uses the kernel's own Python); in a terminal run "
            f"<the python that runs the code> -m pip install {dist}. Or run the code with the environment that "
            f"holds {folder} (switch the notebook's kernel to it)."),),
        docs=docs_for("module-not-found", "installed-in-other-environment"))


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
    if not validated and ctx.cache.get("online") and ctx.interpreter is not None:
        # Asked for (--online): the index is the third place that can say the name is a distribution.
        from ..facts.distributions import normalize
        from .preflight import pip_report

        report = pip_report(ctx, dist)
        found = [i.get("metadata") or {} for i in report.get("install") or ()]
        hit = next((m for m in found if normalize(m.get("name") or "") == normalize(dist)), None)
        if hit is not None:
            from ._common import pip

            fix = pip(ctx, [dist], validated=True,
                      title=f"Install {hit['name']} {hit.get('version', '')} from the package index (check that "
                            f"this project is the one that provides '{module.split('.')[0]}')".replace("  ", " "))
            if fix is not None:
                return fix
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


#: Signatures whose name is a distribution's (metadata looked up by name), not an import name.
_DISTRIBUTION_SIGNATURES = ("pkg-resources-distribution-not-found", "importlib-metadata-package-not-found")


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


def _newer_than_this_python(ctx: Context, module: str, entry: dict, evidence: List[Evidence]) -> Finding:
    """``No module named 'tomllib'``: a standard-library module of a later Python than the one running."""
    where = f"Python {ctx.interpreter.version}" if ctx.interpreter is not None else "the Python running this code"
    fix_list = []
    if entry.get("backport"):
        fix_list.append(fixes.pip_install(ctx.interpreter, [entry["backport"]], validated=True,
                                          title=f"Install the backport {entry['backport']}"))
    fix_list.append(fixes.instruction(
        f"{'Or run' if entry.get('backport') else 'Run'} the code with Python {entry['added_in']} or later",
        f"'{entry['module']}' is part of the standard library from Python {entry['added_in']} on"
        + (f"; on older Pythons install {entry['backport']} and use: {entry['use']}." if entry.get("backport") else ".")))
    return Finding(
        kind="module-not-found", cause="not-installed", confidence=0.85,
        summary=f"'{entry['module']}' came into the standard library with Python {entry['added_in']}, and {where} is "
                f"older" + (f": install the backport {entry['backport']}, or use Python {entry['added_in']}+."
                            if entry.get("backport") else f": use Python {entry['added_in']} or later."),
        evidence=tuple(evidence + [Evidence("added to the standard library in", f"Python {entry['added_in']}",
                                            f"knowledge/stdlib_added_modules.json#{entry['id']}")]),
        fixes=tuple(fix_list), docs=docs_for("module-not-found", "not-installed"))


#: Standard-library modules Debian and Ubuntu ship as packages of their own (before Python removed them).
_DEBIAN_SPLIT = {"distutils": "python3-distutils", "lib2to3": "python3-lib2to3"}
_PYTHON_IN_PATH = re.compile(r"[\\/](?:lib(?:64)?[\\/])?python(3\.\d{1,2})[\\/]")


def _python_in_text(ctx: Context) -> Optional[str]:
    """The Python version the pasted traceback's paths show (…/lib/python3.10/…), the innermost frame's."""
    versions = [m.group(1) for p in _frame_files(ctx) for m in [_PYTHON_IN_PATH.search(p)] if m]
    return versions[-1] if versions else None


def _stdlib_part_missing(ctx: Context, module: str, entry: dict, running: str) -> Finding:
    top = module.split(".")[0]
    debian = _DEBIAN_SPLIT.get(top)
    system = any(p.startswith(("/usr/lib/python3", "/usr/local/lib/python3")) for p in _frame_files(ctx))
    evidence = [Evidence("message", f"No module named '{module}'", "the exception"),
                Evidence("Python of the traceback's files", running, "the paths in the traceback"),
                Evidence(f"{top} removed from the standard library in", f"Python {entry['removed_in']}", entry["source"])]
    if debian and system:
        fix = fixes.instruction(f"Install {debian} (Debian/Ubuntu split it from python3)",
                                f"sudo apt install {debian}   (for the system Python {running}); in a virtual "
                                f"environment made from it the same package is needed.")
    else:
        fix = fixes.instruction(f"Use a complete Python {running}",
                                f"Python {running} still includes '{top}': this installation lacks it. Install the "
                                f"distribution's package for it"
                                + (f" ({debian} on Debian/Ubuntu)" if debian else "")
                                + ", or use a full Python build (python.org, conda, uv).")
    return Finding(
        kind="module-not-found", cause="stdlib-module-missing", confidence=0.8,
        summary=f"'{top}' is still part of the standard library in Python {running} (it was removed only in "
                f"{entry['removed_in']}), so this Python's installation lacks it"
                + (f": Debian and Ubuntu ship it separately as {debian}." if debian else "."),
        evidence=tuple(evidence), fixes=(fix,), docs=docs_for("module-not-found", "stdlib-module-missing"))


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

        return bool(re.search(r"/lib(?:64)?/python\d+\.\d+/|/Lib/", norm))
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
    own_project = bool(path) and (ctx.interpreter is not None and own != path and not hidden
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

    if top:   # without the module's name there is no version to speak of
        yield from _name_not_in_version(ctx, module, top, path, evidence)


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
        removed = knowledge_tables.stdlib_removed_name(module, ctx.failure.name or "")
        running = ctx.interpreter.version if ctx.interpreter is not None else _python_of_path(path)
        if removed is not None and not (running and knowledge_tables.version_key(running)
                                        < knowledge_tables.version_key(removed["removed_in"])):
            yield _name_removed_from_stdlib(ctx, module, removed, path, evidence)
        elif removed is None and (ctx.failure.name or "") in _DEBIAN_SPLIT_SUBMODULES.get(module, ()) and path \
                and _DEBIAN_STDLIB.match(path.replace("\\", "/")):
            yield _debian_split_stdlib(ctx, module, top, path, evidence)
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


#: The submodules the split package holds (the minimal Python keeps only the package's __init__ and version).
_DEBIAN_SPLIT_SUBMODULES = {"distutils": frozenset({
    "archive_util", "ccompiler", "cmd", "command", "config", "core", "cygwinccompiler", "debug", "dep_util",
    "dir_util", "dist", "errors", "extension", "fancy_getopt", "file_util", "filelist", "log", "msvccompiler",
    "spawn", "sysconfig", "text_file", "unixccompiler", "util"})}
#: The system Python's own standard library on Debian and Ubuntu (deadsnakes' Pythons too).
_DEBIAN_STDLIB = re.compile(r"^/usr/lib/python(3\.\d{1,2})/")


def _debian_split_stdlib(ctx: Context, module: str, top: str, path: str, evidence: List[Evidence]) -> Finding:
    """``cannot import name 'sysconfig' from 'distutils' (/usr/lib/python3.9/distutils/__init__.py)``: Debian's
    python3.X-minimal ships only the package's __init__; the rest is the separate distutils package."""
    version = _DEBIAN_STDLIB.match(path.replace("\\", "/")).group(1)
    package = _DEBIAN_SPLIT[top]
    versioned = package.replace("python3-", f"python{version}-")
    return Finding(
        kind="cannot-import-name", cause="stdlib-module-missing", confidence=0.8,
        summary=f"'{module}' of the system Python {version} ({path}) is only the stub Debian and Ubuntu ship in "
                f"the minimal Python: the rest of {top} is the separate package {package} ({versioned} for a Python "
                f"from the deadsnakes PPA), which is not installed.",
        evidence=tuple(evidence + [Evidence(f"'{module}' loaded from", path, "the message"),
                                   Evidence("system Python", version, "the path")]),
        fixes=(fixes.instruction(f"Install {package} (or {versioned})",
                                 f"sudo apt install {package}   — for Python {version} from the deadsnakes PPA: "
                                 f"sudo apt install {versioned}. Or use a virtual environment made with a full Python."),),
        docs=docs_for("cannot-import-name", "stdlib-module-missing"))


def _name_removed_from_stdlib(ctx: Context, module: str, entry: dict, path: Optional[str],
                              evidence: List[Evidence]) -> Finding:
    """``from collections import Mapping`` on Python 3.10+: the name left the standard library; the code that
    imports it (most often an old release of a package) was written for an older Python."""
    name = ctx.failure.name
    running = ctx.interpreter.version if ctx.interpreter is not None else _python_of_path(path)
    ev = list(evidence)
    if path:
        ev.append(Evidence(f"'{module}' loaded from", path, "the message"))
    if running:
        ev.append(Evidence("Python", running, "sys.version_info" if ctx.interpreter is not None else "the path"))
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


def _python_of_path(path: Optional[str]) -> Optional[str]:
    match = re.search(r"[\\/]python(\d\.\d{1,2})[\\/]", path or "")
    return match.group(1) if match else None


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


# -- bytecode of another Python ------------------------------------------------------------------------
_BYTES_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})|\\([rnt\\'\"0])|(.)", re.DOTALL)


def _bytes_of_repr(text: str) -> bytes:
    """The bytes a ``b'…'`` repr (its inside) stands for: escapes read by hand, nothing evaluated."""
    out = bytearray()
    simple = {"r": 13, "n": 10, "t": 9, "\\": 92, "'": 39, '"': 34, "0": 0}
    for m in _BYTES_ESCAPE.finditer(text[:64]):
        if m.group(1):
            out.append(int(m.group(1), 16))
        elif m.group(2):
            out.append(simple[m.group(2)])
        elif ord(m.group(3)) < 128:
            out.append(ord(m.group(3)))
    return bytes(out)


@rule("python-abi-mismatch")
def bytecode_of_other_python(ctx: Context) -> Iterable[Finding]:
    """``bad magic number in 'X': b'U\\r\\r\\n'``: X is a .pyc compiled by another Python (without its .py, or
    its .py is not where Python looks); the magic number names that Python."""
    failure = ctx.failure
    if failure is None or failure.signature != "py-bad-magic-number":
        return
    module = failure.module or "the module"
    magic = _bytes_of_repr(dict(failure.details).get("magic", ""))
    entry = knowledge_tables.python_of_pyc_magic(int.from_bytes(magic[:2], "little")) if len(magic) >= 2 else None
    evidence = [Evidence("message", failure.message.splitlines()[0][:300] if failure.message else "", failure.exc_type)]
    built = ""
    if entry is not None:
        built = f" by Python {entry['python']}"
        evidence.append(Evidence("magic number", f"{int.from_bytes(magic[:2], 'little')} = Python {entry['python']}",
                                 f"knowledge/pyc_magic_numbers.json#{entry['id']}"))
    if ctx.interpreter is not None:
        evidence.append(Evidence("running", f"Python {ctx.interpreter.version}", "sys.version_info"))
    yield Finding(
        kind="python-abi-mismatch", cause="built-for-other-python", confidence=0.9,
        summary=f"'{module}' is compiled Python bytecode (.pyc) made{built or ' by another Python'}; each Python "
                f"release reads only its own bytecode, so this one refuses it.",
        evidence=tuple(evidence),
        fixes=(fixes.instruction(
            f"Run it with Python {entry['python']}, or get its source" if entry else "Run it with the Python that "
                                                                                    "compiled it, or get its source",
            "A .pyc without its .py runs only on the Python release that compiled it. Use that Python for this "
            "code, or get the .py source (or a release made for this Python) and delete the stale .pyc files."),),
        docs=docs_for("python-abi-mismatch", "built-for-other-python"))
