"""Standard-library modules a Python lacks: removed, added later, split out by the distribution."""
from __future__ import annotations

import re
from typing import List, Optional

from ... import fixes
from ...model import Evidence, Finding
from .. import Context, docs_for
from .from_text import _frame_files


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
#: Standard-library modules Debian and Ubuntu ship as packages of their own, still part of every Python: the
#: package per Python version is python3.X-venv (the unversioned name installs the default Python's).
_DEBIAN_SPLIT_KEPT = {"ensurepip": ("python3-venv", "python3.{minor}-venv")}


def debian_split_kept(top: str) -> Optional[tuple]:
    return _DEBIAN_SPLIT_KEPT.get(top)


def _split_by_the_distribution(ctx: Context, module: str, packages: tuple, evidence: List[Evidence]) -> Finding:
    """``No module named 'ensurepip'`` (or venv's "ensurepip is not available"): a module every Python has,
    which Debian and Ubuntu move to a package of its own (python3-venv)."""
    top = module.split(".")[0]
    version = (ctx.interpreter.version if ctx.interpreter is not None else None) or _python_in_text(ctx)
    minor = ".".join(version.split(".")[:2]) if version else None
    package = packages[1].format(minor=minor) if minor else packages[0]
    if ctx.interpreter is not None:
        prefix = ctx.interpreter.base_prefix or ctx.interpreter.prefix or ""
        system: Optional[bool] = prefix.rstrip("/") in ("/usr", "/usr/local")
    else:
        # From the text: a system Python's paths, or the Debian-specific advice venv's own message carries.
        text = str(ctx.cache.get("text") or "")
        prefix = ""
        system = True if ("/usr/" in text or "Debian/Ubuntu" in text or "apt install" in text) else None
    if system:
        summary = (f"'{top}' is part of Python's standard library, but Debian and Ubuntu ship it as a package of "
                   f"its own ({package}), which is not installed: 'python -m venv' (and anything that runs "
                   f"ensurepip) fails without it.")
        fix = fixes.instruction(f"Install {package}", f"sudo apt install {package}   (then create the virtual "
                                                      f"environment again)")
    else:
        where = f" ({prefix})" if prefix else ""
        summary = (f"'{top}' is part of Python's standard library, but this Python{where} lacks it: on Debian and "
                   f"Ubuntu it is the package {package}; any other installation of it is incomplete.")
        fix = fixes.instruction("Install the missing part, or use a complete Python",
                                f"On Debian/Ubuntu: sudo apt install {package}. Elsewhere reinstall this Python, or "
                                f"use a full build (python.org, conda, 'uv python install') that includes ensurepip.")
    return Finding(
        kind="module-not-found", cause="stdlib-module-missing", confidence=0.85, summary=summary,
        evidence=tuple(evidence + [Evidence("standard-library module", top, "sys.stdlib_module_names"),
                                   Evidence("shipped apart by Debian/Ubuntu as", package,
                                            "https://packages.debian.org/search?keywords=python3-venv")]),
        fixes=(fix,), docs=docs_for("module-not-found", "stdlib-module-missing"))
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
