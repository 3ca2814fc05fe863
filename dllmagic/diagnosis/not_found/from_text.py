"""What a pasted text alone shows about a missing module: the traceback's files, pip's own lines."""
from __future__ import annotations

import re
import sys
from typing import List, Optional, Tuple

from ... import fixes
from ...knowledge import tables as knowledge_tables
from ...model import Evidence, Finding
from .. import Context, docs_for
from .lookup import distribution_for


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


def _source_tree_package(ctx: Context, top: str) -> Optional[str]:
    """The ``__init__.py`` of package ``top`` that the traceback ran from a project's source tree: not an
    installed copy, in a checkout laid out as ``…/<top>/<top>/`` or ``…/src/<top>/``. Built files (compiled
    extensions, generated modules) exist only where the project was built or installed, not there."""
    for path in reversed(_frame_files(ctx)):
        parts = [p for p in re.split(r"[\\/]+", path) if p]
        if len(parts) < 3 or parts[-1] != "__init__.py" or parts[-2] != top or _looks_installed(path):
            continue
        if parts[-3] in (top, "src"):
            return path
    return None


def _source_tree_shadows(ctx: Context, module: str, init: str) -> Finding:
    top = module.split(".")[0]
    folder = re.sub(r"[\\/]__init__\.py$", "", init)
    checkout = re.sub(r"[\\/][^\\/]+$", "", folder)
    return Finding(
        kind="module-not-found", cause="shadowed-by-local-file", confidence=0.75,
        summary=f"'{top}' was imported from the source folder {folder}, not from an installed build: the checkout "
                f"on the path hides the installed package, and lacks '{module}', which building or installing "
                f"the project makes (a compiled extension or a generated module).",
        evidence=(Evidence("message", f"No module named '{module}'", "the exception"),
                  Evidence(f"'{top}' ran from", init, "the traceback")),
        fixes=(fixes.instruction(
            f"Use an installed (built) {top}, not its source folder",
            f"Run the code from a folder outside {checkout}, so the installed {top} is imported; or build the "
            f"checkout in place (pip install -e {checkout}, which compiles its extensions) and restart."),),
        docs=docs_for("module-not-found", "shadowed-by-local-file"))


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
    return pip_says_installed_as(ctx, [top, dist] if validated else [top])


def pip_says_installed_as(ctx: Context, names: List[str]) -> Optional[Tuple[str, str]]:
    """(distribution, folder) when pip, in the pasted text, says one of ``names`` is already installed."""
    text = ctx.cache.get("text")
    if not isinstance(text, str) or "Requirement already satisfied" not in text:
        return None
    wanted = {_normal(name) for name in names}
    for m in _ALREADY_SATISFIED.finditer(text):
        if _normal(m.group("name")) in wanted:
            return m.group("name"), m.group("path")
    return None


#: A user's own site-packages (pip install --user): only that user's Python processes see it.
_USER_SITE = re.compile(r"[/\\]\.local[/\\]lib[/\\]python\d|[/\\]AppData[/\\]Roaming[/\\]Python[/\\]", re.IGNORECASE)


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
                f"terminal's pip and the notebook's kernel, two conda environments …)" + (
                    ", or the code runs as another user (a service, sudo, root), who does not see this user's "
                    "site-packages" if _USER_SITE.search(folder) else "") + ".",
        evidence=tuple(evidence),
        fixes=(fixes.instruction(
            f"Install {dist} with the importing Python's own pip",
            f"In the notebook run %pip install {dist} (it uses the kernel's own Python); in a terminal run "
            f"<the python that runs the code> -m pip install {dist}. Or run the code with the environment that "
            f"holds {folder} (switch the notebook's kernel to it)."),),
        docs=docs_for("module-not-found", "installed-in-other-environment"))


#: The module a Jupyter kernel's kernel.json runs with ``python -m`` and nothing else does (``python -m ipykernel``
#: is also how a user registers a kernel in a terminal: not counted).
KERNEL_LAUNCHERS = frozenset({"ipykernel_launcher"})


def _kernel_python_lacks_ipykernel(ctx: Context, module: str, python: str) -> Finding:
    """``/usr/bin/python: No module named ipykernel_launcher``: the interpreter printed its own path, as ``python -m``
    does; the module is what a kernel's kernel.json starts, so a kernel points at a Python without ipykernel."""
    return Finding(
        kind="module-not-found", cause="wrong-kernel", confidence=0.75,
        summary=f"A Jupyter kernel could not start: its kernel.json runs {python} -m {module}, and that Python has "
                f"no ipykernel. The kernel was registered from another Python (or ipykernel was removed from this "
                f"one), so the notebook starts an interpreter other than the environment it is named after.",
        evidence=(Evidence("message", f"{python}: No module named {module}", "the interpreter (python -m)"),
                  Evidence("the kernel's interpreter", python, "the message"),
                  Evidence(f"{module} is provided by", "ipykernel", "ipykernel's launcher module")),
        fixes=(fixes.instruction(
            "Register the kernel again from the environment it should run",
            "In a terminal, activate the environment the notebook should use and run: python -m pip install "
            "ipykernel, then python -m ipykernel install --user --name <a kernel name>. Or install ipykernel into "
            "the Python the message names. 'jupyter kernelspec list' shows which kernel.json runs which Python."),),
        docs=docs_for("module-not-found", "wrong-kernel"))


def _native_files_missing_from_text(ctx: Context, module: str) -> Finding:
    """A package's own loader of its extension files lists every file it looked for, none there (PyCryptodome's
    "Cannot load native module 'Crypto.Cipher._raw_ecb': Not found …"): the package's Python code ran, so it is
    installed, and its native files are gone or were not collected (a frozen application)."""
    from .._common import pip

    dist, validated, source = distribution_for(ctx, module)
    evidence = [Evidence("message", (ctx.failure.message or "")[:300], "the exception"),
                Evidence("import name → distribution", f"{module} → {dist}", source)]
    text = ctx.cache.get("text")
    bundler = knowledge_tables.frozen_app_in(text) if isinstance(text, str) else None
    if bundler is not None:
        evidence.append(Evidence("bundled by", bundler["name"], "the traceback's frames and messages"))
        return Finding(
            kind="module-not-found", cause="broken-install", confidence=0.8,
            summary=f"This is a {bundler['name']} application: {dist}'s Python code is in its bundle, but the native "
                    f"file of '{module}' is not ({bundler['name']} did not collect it when the application was built).",
            evidence=tuple(evidence),
            fixes=(fixes.instruction("Rebuild the application with the package's native files collected",
                                     bundler["collect"]),),
            docs=docs_for("module-not-found", "broken-install"))
    fix_list = []
    reinstall = pip(ctx, [dist], validated=validated, reinstall=True,
                    title=f"Reinstall {dist} (its native files are missing)") if validated else None
    if reinstall is not None:
        fix_list.append(reinstall)
    fix_list.append(fixes.instruction(
        "Check for a copy made for another Python",
        f"The file names it looked for carry the Python version and platform of the running interpreter; a copy of "
        f"{dist} taken from another Python or machine has files with other names. Reinstall it with this Python's "
        f"own pip."))
    return Finding(
        kind="module-not-found", cause="broken-install", confidence=0.75,
        summary=f"{dist} is there (its Python code ran and looked for its own native files) but the native file of "
                f"'{module}' is not: a damaged or partial install, or a copy made for another Python.",
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("module-not-found", "broken-install"))


#: What IPython and Jupyter print around a cell's traceback (the cell's pseudo-file names of IPython 7 and 8, the
#: prompt, the cell file of ipykernel 6, nbconvert's error): the import ran in a notebook's kernel.
_NOTEBOOK_CELL = re.compile(r"<ipython-input-\d+-[0-9a-f]+>|^\s*Cell In\s?\[\d*\]|^In \[\d+\]:|"
                            r"[/\\]ipykernel_\d+[/\\]\d+\.py|CellExecutionError", re.MULTILINE)


def ran_in_a_notebook(ctx: Context) -> bool:
    """Whether the pasted text shows the failing import run in a notebook cell."""
    text = ctx.cache.get("text")
    return isinstance(text, str) and _NOTEBOOK_CELL.search(text) is not None


def _kernel_lacks_it_from_text(ctx: Context, module: str, dist: str, validated: bool, fix) -> Finding:
    """``No module named X`` in a notebook cell for a known package, from the text alone: in the threads that
    verified a fix for this shape, the package was installed, but for another Python than the kernel's (a
    terminal's pip, another environment's kernel), more often than it was not installed at all."""
    return Finding(
        kind="module-not-found", cause="installed-in-other-environment", confidence=0.6,
        summary=f"The notebook's kernel finds no module '{module}'. Most often {dist} was installed, but for "
                f"another Python than the one this kernel runs: a terminal's pip or conda belonged to another "
                f"environment, or the notebook runs another environment's kernel. %pip install {dist} in the "
                f"notebook installs it for the kernel's own Python (then restart the kernel); if the package was "
                f"installed after the kernel started, a restart alone is enough. Not checked: the text came "
                f"without the machine.",
        evidence=(Evidence("message", f"No module named '{module}'", "the exception"),
                  Evidence("where it ran", "a notebook cell", "the traceback's cell markers"),
                  Evidence("import name → distribution", f"{module} → {dist}",
                           "knowledge/import_names.json" if validated else "knowledge/extension_packages.json")),
        fixes=(fix, fixes.instruction(
            "Check which Python the kernel runs",
            "Run `import sys; print(sys.executable)` in the notebook and `python -c \"import sys; "
            "print(sys.executable)\"` where you installed the package: if they differ, install with %pip in the "
            "notebook, or switch the notebook's kernel to the environment that has it.")),
        docs=docs_for("module-not-found", "installed-in-other-environment"))


#: Python 2's wording: ``ImportError: No module named a.b``, the name unquoted (Python 3 quotes it, and raises
#: ModuleNotFoundError from 3.6). Python 2 names the whole dotted path when the top-level package is missing.
_PYTHON2_NO_MODULE = re.compile(r"^ImportError: No module named (?P<name>[A-Za-z_][\w.]{0,200})[ \t]*$", re.MULTILINE)


def python2_wording(ctx: Context, module: str) -> bool:
    """Whether the text's message for ``module`` is Python 2's (unquoted, raised as ImportError)."""
    text = ctx.cache.get("text")
    return isinstance(text, str) and any(m.group("name") == module for m in _PYTHON2_NO_MODULE.finditer(text))


def _python2_lacks_it_from_text(ctx: Context, module: str, dist: str, fix) -> Finding:
    """A known package missing under Python 2, from the text alone: in the threads of that shape the package was
    most often installed for a Python 3 (``pip3``, another interpreter the editor or the script's shebang did not
    run), not missing from every Python."""
    top = module.split(".")[0]
    return Finding(
        kind="module-not-found", cause="installed-in-other-environment", confidence=0.6,
        summary=f"The message is Python 2's ('No module named {module}' unquoted, which also means the package "
                f"'{top}' itself is missing): the code ran with a Python 2 interpreter. Most often {dist} is installed, "
                f"but for another Python (pip3's, the one you meant to run); run the code with that Python "
                f"(python3 …, or the interpreter selected in the editor), or install {dist} for this one with its own "
                f"pip (python -m pip install {dist}). Not checked: the text came without the machine.",
        evidence=(Evidence("message", f"No module named {module}", "the exception (Python 2's wording, unquoted)"),
                  Evidence("import name → distribution", f"{top} → {dist}", "knowledge tables")),
        fixes=(fixes.instruction(
            "Run the code with the Python that has the package",
            f"Compare `python -c \"import sys; print(sys.executable)\"` (or the interpreter your editor or the "
            f"script's first line runs) with the one whose pip installed {dist}, e.g. `python3 -m pip show {dist}`; "
            f"run the code with that one, or install {dist} with the running Python's own pip."), fix),
        docs=docs_for("module-not-found", "installed-in-other-environment"))


def private_module_importer(ctx: Context, module: str) -> Optional[Tuple[str, str]]:
    """(package, file) when the missing module is a private one (``_name``, which no table knows and the standard
    library lacks) and the traceback's last frame, the code importing it, is an installed package's own file."""
    top = module.split(".")[0]
    if not top.startswith("_") or top.startswith("__") or top in getattr(sys, "stdlib_module_names", ()):
        return None
    if top in knowledge_tables.import_names() or top in knowledge_tables.extension_packages():
        return None
    frames = _frame_files(ctx)
    if not frames:
        return None
    match = re.search(r"[\\/](?:site|dist)-packages[\\/](?P<package>[A-Za-z]\w{0,100})[\\/]", frames[-1])
    if match is None or match.group("package") == top:
        return None
    return match.group("package"), frames[-1]


def _private_module_missing_from_text(ctx: Context, module: str, package: str, frame: str) -> Finding:
    """``No module named '_x'`` raised in an installed package's own file: a private module is part of the package
    that imports it (or of a build step of it), not a distribution of its own."""
    dist, validated, source = distribution_for(ctx, package)
    return Finding(
        kind="module-not-found", cause="broken-install", confidence=0.6,
        summary=f"'{module}' is a private module (its name starts with '_'), imported by {dist}'s own code "
                f"({frame}): it belongs with {dist}, whose installation lacks it or whose release was published "
                f"without it; it is no distribution to install by that name. Not checked (the text came without "
                f"the machine): it may instead come from a dependency of {dist} that is not installed.",
        evidence=(Evidence("message", f"No module named '{module}'", "the exception"),
                  Evidence("imported by", frame, "the traceback's last frame"),
                  Evidence("the importing package", f"{package} → {dist}", source)),
        fixes=(fixes.instruction(
            f"Reinstall {dist}, or install another release of it",
            f"python -m pip install --force-reinstall {dist}   (with the Python that ran the code). If the same release "
            f"lacks '{module}' again, the release is incomplete: install the one before or after it (its changelog or "
            f"issue tracker names the fixed release)."),),
        docs=docs_for("module-not-found", "broken-install"))
