"""macOS (dyld) failures read on the failure's own machine: which dylib, which copy, which places.

When the machine is at hand (a modelled one: ``explain --machine``; or a live macOS kernel) the failing
extension is resolved by the dyld model (:mod:`dllmagic.facts.native.loader.macos`):

* ``Library not loaded`` - the missing-library rule of :mod:`.native` keeps the finding (vendored,
  system or unknown library); this module adds dyld's tried list as the model makes it, the run-path
  stack, and the other copies of that dylib on the machine (:func:`missing_dylib_evidence`).
* ``Symbol not found`` - which copy of the library dyld bound the symbol to, by which rule (an
  ``@rpath`` entry, ``DYLD_LIBRARY_PATH``, an image already loaded), and which other copy on the machine
  exports it (cause ``older-copy-found-first``; else ``symbol-missing``).
* ``incompatible architecture`` - the process's architecture (an x86_64 Python under Rosetta), the
  file's slices, and the files dyld skipped (cause ``wrong-architecture``).

Without a machine nothing here speaks: the text-level rules of :mod:`.native` do.
"""
from __future__ import annotations

import posixpath
from typing import Iterable, List, Optional

from .. import fixes
from ..model import Evidence, Finding, Fix
from . import Context, docs_for, rule
from ._common import basename, kernel_evidence, path_owner, pip, reinstall_owner
from .native import loader_source, machine_load

__all__ = ["missing_dylib_evidence"]

#: Where a Mac keeps dylibs besides the environment: Homebrew (Apple silicon, Intel), MacPorts.
_MAC_LIB_FOLDERS = ("/opt/homebrew/lib", "/usr/local/lib", "/opt/local/lib")

_RULE_WORDS = {
    "rpath": "an LC_RPATH entry of the image that asks for it",
    "rpath-of-loader": "an LC_RPATH entry of an image that loaded it (the run-path stack)",
    "executable-rpath": "an LC_RPATH entry of the python executable",
    "loader-path": "@loader_path: the folder of the image that asks for it",
    "executable-path": "@executable_path: the python executable's folder",
    "dyld-library-path": "DYLD_LIBRARY_PATH, searched before everything else",
    "install-name": "the install name itself (an absolute path)",
    "fallback-default": "DYLD_FALLBACK_LIBRARY_PATH's default folders (/usr/local/lib, /usr/lib)",
    "fallback-path": "DYLD_FALLBACK_LIBRARY_PATH",
    "already-loaded": "an image already loaded under that name",
    "shared-cache": "the dyld shared cache",
}


def _node(tree, name: str, requested_by: Optional[str]):
    from ..facts.native.loader import walk

    fallback = None
    for n in walk(tree.root):
        if n is tree.root or n.name != name or n.repeat:
            continue
        if n.requested_by == requested_by:
            return n
        fallback = fallback or n
    return fallback


def _tried(node) -> str:
    shown = [f"{i}. {c.path or '-'} [{c.rule}: {c.outcome}{', ' + c.reason if c.reason else ''}]"
             for i, c in enumerate(node.candidates, 1)]
    return "; ".join(shown[:12]) + (f" ... and {len(shown) - 12} more" if len(shown) > 12 else "")


def _folders(ctx: Context, load) -> List[str]:
    """Every folder on the machine where a copy of a dylib may sit (the environment's packages, their
    ``.dylibs``, the prefix's lib, Homebrew / MacPorts, the DYLD_* variables)."""
    system = ctx.system
    pm = system.pathmod
    it = ctx.interpreter
    out: List[str] = []

    def add(folder: Optional[str]) -> None:
        if folder and folder not in out and len(out) < 800:
            out.append(folder)

    add(pm.dirname(load.extension))
    for var in ("DYLD_LIBRARY_PATH", "DYLD_FALLBACK_LIBRARY_PATH"):
        for folder in (system.getenv(var) or "").split(":"):
            add(folder)
    for prefix in dict.fromkeys([it.prefix, it.base_prefix] if it is not None else []):
        add(pm.join(prefix, "lib"))
    for site in ctx.site_folders:
        for entry in sorted(system.listdir(site)):
            folder = pm.join(site, entry)
            if entry.endswith((".dist-info", ".egg-info")) or not system.is_dir(folder):
                continue
            add(folder)
            for sub in (".dylibs", "lib", "libs"):
                if system.is_dir(pm.join(folder, sub)):
                    add(pm.join(folder, sub))
    for folder in _MAC_LIB_FOLDERS:
        add(folder)
    return out


def _exports(path: str, ctx: Context, arch: str) -> Optional[set]:
    from ..facts.native.binary import read_binary
    from ..facts.native.macho import pick_slice

    b = read_binary(path, ctx.system)
    if not b.ok or b.format != "macho":
        return None
    sl = pick_slice(b, arch) if hasattr(b, "slices") else b
    if sl is None:
        return None
    return {s.name for s in sl.exported_symbols}


def _arch(tree) -> str:
    loader = tree.loader or ""
    return loader[loader.find("(") + 1:loader.rfind(")")] if "(" in loader else "arm64"


def _copies(ctx: Context, load, leaf: str, exclude: Optional[str], symbol: Optional[str] = None) -> List[tuple]:
    """(path, has symbol or None) of every copy of ``leaf`` on the machine but ``exclude``."""
    pm = ctx.system.pathmod
    out = []
    arch = _arch(load.tree)
    for folder in _folders(ctx, load):
        path = pm.join(folder, leaf)
        if path == exclude or not ctx.system.is_file(path):
            continue
        has = None
        if symbol is not None:
            names = _exports(path, ctx, arch)
            has = bool(names and symbol in names)
        out.append((path, has))
    return out


def missing_dylib_evidence(ctx: Context, problem, tree) -> List[Evidence]:
    """Evidence for a dylib dyld could not find, from the model: who asked for it, the run-path stack,
    the other copies of it on the machine, and dyld's message as the model writes it."""
    load = machine_load(ctx)
    source = loader_source(ctx, tree)
    out: List[Evidence] = []
    node = _node(tree, problem.name, problem.required_by)
    if problem.required_by:
        out.append(Evidence("referenced from", problem.required_by, source))
    if node is not None:
        stack = [c.via for c in node.candidates if c.via and c.via.startswith("LC_RPATH")]
        if stack:
            out.append(Evidence("run-path stack (LC_RPATH entries, in order)", "; ".join(dict.fromkeys(stack)), source))
        if any(c.outcome == "not-searched" for c in node.candidates):
            out.append(Evidence("not searched", "; ".join(c.reason for c in node.candidates
                                                          if c.outcome == "not-searched"), source))
    if load is not None:
        tried = {c.path for c in (node.candidates if node is not None else ())}
        copies = [p for p, _ in _copies(ctx, load, posixpath.basename(problem.name), None) if p not in tried]
        out.append(Evidence(f"other copies of {posixpath.basename(problem.name)} on this machine",
                            "; ".join(copies[:8]) + (" (not on dyld's search path for this image)" if copies else "")
                            if copies else "none found (the environment's packages, their .dylibs, lib folders, "
                                           "Homebrew, MacPorts)", source))
        if node is not None:
            tried = ", ".join(f"'{c.path}' ({c.reason or c.outcome})" for c in node.candidates
                              if c.path and c.outcome != "found")
            out.append(Evidence("dyld's error, as the model predicts it",
                                f"Library not loaded: {problem.name} Referenced from: {problem.required_by} "
                                f"Reason: tried: {tried}"[:900], source))
        from ..facts.native.loader import walk

        others = sorted({n.requested_by for n in walk(tree.root) if n.name.endswith(posixpath.basename(problem.name))
                         and n.error and n.requested_by and n.requested_by != problem.required_by})
        if others:
            out.append(Evidence(f"{posixpath.basename(problem.name)} is also needed by", "; ".join(others[:8]), source))
    return out




@rule("missing-symbol", "architecture-mismatch")
def dyld_on_the_machine(ctx: Context) -> Iterable[Finding]:
    if ctx.interpreter is None or ctx.system.platform != "macos":
        return
    load = machine_load(ctx)
    if load is None:
        return
    tree = load.tree
    source = loader_source(ctx, tree)
    evidence = kernel_evidence(ctx) + [Evidence("extension module", load.extension, "the error message"
                                                if load.extension == ctx.failure.extension else "found on the machine"),
                                       Evidence("process architecture", f"{_arch(tree)} ({tree.executable or 'python'})"
                                                + ("; " + "; ".join(n for n in tree.notes if "Rosetta" in n)
                                                   if any("Rosetta" in n for n in tree.notes) else ""), source)]
    if not load.problems:
        return
    problem = load.problems[0]
    if problem.kind == "missing-symbol":
        yield _symbol(ctx, load, problem, evidence, source)
    elif problem.kind == "unloadable-library" or "incompatible architecture" in (problem.detail or ""):
        yield _architecture(ctx, load, problem, evidence, source)
    elif problem.kind == "missing-library" and ctx.failure.kind == "architecture-mismatch":
        node = _node(tree, problem.name, problem.required_by)
        if node is not None and any("incompatible architecture" in c.reason for c in node.candidates):
            yield _architecture(ctx, load, problem, evidence, source, node)


def _symbol(ctx: Context, load, problem, evidence: List[Evidence], source: str) -> Finding:
    tree = load.tree
    library = problem.library or "?"
    node = _node(tree, library, problem.required_by)
    chosen = node.path if node is not None else None
    symbol = problem.name
    evidence.append(Evidence("symbol not found", f"{symbol}, imported by {problem.required_by} from {library} "
                             "(two-level namespace)", source))
    if node is not None and chosen:
        words = _RULE_WORDS.get(node.rule or "", node.rule or "?")
        evidence.append(Evidence(f"copy of {posixpath.basename(library)} dyld binds to",
                                 f"{chosen}: {words}" + (f" ({node.via})" if node.via else ""), source))
        if node.candidates:
            evidence.append(Evidence(f"places dyld tried for {library}, in order", _tried(node), source))
    copies = _copies(ctx, load, posixpath.basename(chosen or library), chosen, symbol)
    good = [p for p, has in copies if has]
    if copies:
        evidence.append(Evidence(f"other copies of {posixpath.basename(chosen or library)} on this machine",
                                 "; ".join(f"{p} ({'has' if has else 'lacks'} {symbol})" for p, has in copies[:8]),
                                 source))
    ext = basename(problem.required_by or load.extension)
    fix_list: List[Fix] = []
    if node is not None and node.rule == "dyld-library-path":
        fix_list.append(fixes.instruction(
            "Unset DYLD_LIBRARY_PATH for the kernel",
            f"DYLD_LIBRARY_PATH puts {posixpath.dirname(chosen or '')} before every other place, so its older "
            f"{posixpath.basename(chosen or library)} wins. Remove it from the kernelspec's env or the shell that "
            "starts Jupyter, then restart the kernel."))
    owner = path_owner(ctx, chosen)
    if owner is not None and owner[0] != (path_owner(ctx, load.extension) or ("",))[0]:
        fix = pip(ctx, [owner[0]], validated=owner[1], upgrade=True,
                  title=f"Upgrade {owner[0]}, whose {posixpath.basename(chosen or '')} lacks {symbol}")
        if fix:
            fix_list.append(fix)
    fix_list += reinstall_owner(ctx, load.extension, "Reinstall {dist} so its libraries match")
    if good:
        cause = "older-copy-found-first"
        summary = (f"{ext} needs {symbol} from {library}, but dyld binds it to {chosen}, which lacks it; the copy "
                   f"at {good[0]} has it.")
    else:
        cause = "symbol-missing"
        summary = (f"{ext} needs {symbol} from {library}, but the copy dyld loads, {chosen or 'the library'}, "
                   f"lacks it, and no other copy on this machine has it: the two come from releases that do not "
                   "match.")
    return Finding(kind="missing-symbol", cause=cause, confidence=0.96, summary=summary, evidence=tuple(evidence),
                   fixes=tuple(fix_list), docs=docs_for("missing-symbol", cause))


def _architecture(ctx: Context, load, problem, evidence: List[Evidence], source: str, node=None) -> Finding:
    tree = load.tree
    path = problem.library_path or problem.name
    if node is not None:
        evidence.append(Evidence(f"places dyld tried for {problem.name}, in order", _tried(node), source))
        why = next(c.reason for c in node.candidates if "incompatible architecture" in c.reason)
    else:
        why = problem.detail
        evidence.append(Evidence("file dyld refuses", f"{path}: {why}", source))
    translated = any("Rosetta" in n for n in tree.notes)
    fix_list: List[Fix] = reinstall_owner(ctx, load.extension, "Reinstall {dist} for this Python's architecture ("
                                     + _arch(tree) + ")")
    fix_list.append(fixes.instruction(
        "Use one architecture throughout (Apple silicon)",
        "An x86_64 Python (Rosetta) cannot load arm64 libraries and vice versa: use a native arm64 Python "
        "(python.org universal2, Homebrew in /opt/homebrew, Miniforge arm64) and reinstall the packages."
        if translated or "arm64" in why else
        "Reinstall the package with this interpreter's pip, so pip picks the wheel built for its architecture."))
    return Finding(
        kind="architecture-mismatch", cause="wrong-architecture", confidence=0.95,
        summary=f"{posixpath.basename(path)} has no slice for this {_arch(tree)} process ({why})"
                + (": the python binary runs under Rosetta 2 as x86_64." if translated else "."),
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("architecture-mismatch", "wrong-architecture"))
