"""Windows DLL failures: the Visual C++ runtime, a DLL not found, a procedure not found, a DLL whose
initialisation failed — from the error code when only the text is at hand, from the machine when it is.

Cause ids: ``vc-runtime-missing``, ``dll-not-found``, ``procedure-not-found``, ``dll-init-failed``,
``dll-on-path-not-searched`` and, when the machine shows it, ``older-copy-found-first``,
``wrong-architecture``, ``built-for-other-python``.

When the failure's machine is at hand (a modelled one: ``explain --machine``; or a live Windows kernel)
the failing .pyd is resolved by the Windows loader model (:mod:`dllmagic.facts.native.loader.windows`)
and the finding says which DLL lacks which function or is missing, which copy the loader picks and by
which rule, every place searched, the other copies on the machine, and the fix. Without a machine the
rules work from the error code, as before; when the message names no DLL, the failing package's own known
cause (``knowledge/windows_package_dlls.json``) and Python's own extension modules come before the VC++ runtime,
and error 127 is said to be an older copy found first, the cause threads verified most often, as not checked.
Windows prints these messages in the user's language; the failure parser has already turned them into
the error code (``windows_code`` in the failure's details: 126, 127, 193, 1114), which is what the rules
read. TensorFlow's DLL-initialisation failure and SIGILL are the CPU family's (cpu.py).
"""
from __future__ import annotations

import re
import sys
from typing import Iterable, List, Optional

from .. import fixes
from ..knowledge import tables as knowledge_tables
from ..model import Evidence, Finding, Fix
from . import Context, docs_for, rule
from ._common import basename, conda_fix, detail, distribution_for_folder, installed, is_conda, kernel_evidence, \
    path_owner, pip, platform_of, reinstall_owner, site_folder_of
from .native import loader_source, machine_load

__all__ = ["CAUSES"]

CAUSES = ("vc-runtime-missing", "dll-not-found", "procedure-not-found", "dll-init-failed", "dll-on-path-not-searched")

_VC_DLLS = ("msvcp140.dll", "vcruntime140.dll", "vcruntime140_1.dll", "msvcp140_1.dll")

#: ERROR_DLL_INIT_FAILED and STATUS_DLL_INIT_FAILED: a DllMain that returned failure. The other codes of
#: native-init-failed (a full paging file, a policy that blocked the file, a fault in DllMain) have other
#: remedies than the ones _init_failed gives; the fallback reports them as they are.
_INIT_FAILED_CODES = frozenset({1114, -1073741502})


def _code(ctx: Context) -> Optional[int]:
    value = detail(ctx, "windows_code")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _system32(ctx: Context) -> Optional[str]:
    if ctx.interpreter is None or ctx.system.platform != "windows":
        return None
    root = ctx.system.getenv("SystemRoot") or "C:\\Windows"
    return ctx.system.join(root, "System32")


def vc_runtime_check(ctx: Context) -> Optional[List[str]]:
    """The Visual C++ 2015-2022 runtime DLLs missing from System32 (checked on the machine), or None when
    the machine is not at hand."""
    folder = _system32(ctx)
    if folder is None:
        return None
    return [name for name in _VC_DLLS if not ctx.system.is_file(ctx.system.join(folder, name))]


def vc_fix(entry: Optional[dict] = None) -> Fix:
    redist = (entry or knowledge_tables.library_provider("VCRUNTIME140.dll", "windows"))["windows_redist"]
    return fixes.download(f"Install the {redist['name']}", redist["url"],
                          "Then restart the kernel. 32-bit Python needs the x86 installer: " + redist.get("url_x86", ""))


def _module_text(ctx: Context) -> str:
    failure = ctx.failure
    return failure.module or ctx.target or "the extension"


@rule("missing-shared-library", "missing-symbol", "native-init-failed", "architecture-mismatch")
def windows_dll(ctx: Context) -> Iterable[Finding]:
    if platform_of(ctx) != "windows":
        return
    failure = ctx.failure
    if failure.kind == "architecture-mismatch" and machine_load(ctx) is None:
        return  # native.py's wrong_architecture speaks from the text
    code = _code(ctx)
    library = failure.library or basename(detail(ctx, "found_path")) or ""
    provider = knowledge_tables.library_provider(library, "windows") if library else None
    evidence = kernel_evidence(ctx)
    if code is not None:
        evidence.append(Evidence("Windows error", f"{code} {detail(ctx, 'windows_error') or ''}".strip(),
                                 "the error code" + (f" (message in {detail(ctx, 'message_language')})"
                                                     if detail(ctx, "message_language") else "")))
    if library:
        evidence.append(Evidence("DLL named in the error", detail(ctx, "found_path") or library, "the error message"))
    if knowledge_tables.cuda_library(library) is not None:
        return  # gpu.py
    load = machine_load(ctx)
    if load is not None:
        found = list(_from_machine(ctx, load, code, evidence))
        if found:
            yield from found
            return
        # The machine loads it as described: what it had loaded before is not in the description.
        evidence = ctx.cache.get("windows-machine-evidence", evidence)
    missing_vc = vc_runtime_check(ctx) if load is None else []
    if missing_vc is not None:
        evidence.append(Evidence("Visual C++ runtime DLLs in System32",
                                 "all present" if not missing_vc else "missing: " + ", ".join(missing_vc),
                                 _system32(ctx) or "System32"))
    if provider is not None and provider.get("windows_redist"):
        yield Finding(
            kind=failure.kind, cause="vc-runtime-missing", confidence=0.93,
            summary=f"{library} is part of the {provider['windows_redist']['name']}, which is missing or too old "
                    f"on this machine; {_module_text(ctx)} needs it.",
            evidence=tuple(evidence + [Evidence("what it is", provider["what"], provider["source"])]),
            fixes=(vc_fix(provider),), docs=docs_for(failure.kind, "vc-runtime-missing"))
        return
    if missing_vc:
        yield Finding(
            kind=failure.kind, cause="vc-runtime-missing", confidence=0.9,
            summary=f"The Visual C++ 2015-2022 runtime is not fully installed ({', '.join(missing_vc)} missing "
                    f"from System32); most binary wheels for Windows need it.",
            evidence=tuple(evidence), fixes=(vc_fix(),), docs=docs_for(failure.kind, "vc-runtime-missing"))
        return
    known = _known_package_cause(ctx, code, library) if load is None and missing_vc is None else None
    if known is not None:
        yield _package_cause(ctx, known, code, evidence)
        return
    if code == 127 or failure.symbol:
        yield _procedure_not_found(ctx, library, evidence, text_only=load is None and missing_vc is None)
    elif code in _INIT_FAILED_CODES or code is None and failure.kind == "native-init-failed":
        yield _init_failed(ctx, library, evidence, missing_vc)
    elif code == 126 or failure.kind == "missing-shared-library":
        yield _dll_not_found(ctx, library, evidence, missing_vc)


def _owner_fix(ctx: Context, title: str) -> List[Fix]:
    path = detail(ctx, "found_path") or ctx.failure.extension or ""
    folder = site_folder_of(path) or (ctx.failure.module or "").split(".")[0] or None
    if not folder:
        return []
    dist_name, validated, _ = distribution_for_folder(ctx, folder)
    if not validated:
        return []   # a name guessed from a module or folder: maybe no distribution at all ("importing ext")
    dist = installed(ctx, dist_name)
    requirement = f"{dist.name}=={dist.version}" if dist is not None else dist_name
    fix = pip(ctx, [requirement], validated=validated, reinstall=True, title=title.format(dist=requirement))
    return [fix] if fix else []


def _deps_fix(ctx: Context) -> Fix:
    target = ctx.failure.extension or detail(ctx, "found_path") or "<the .pyd file in the traceback>"
    return fixes.instruction("See which DLL fails, and where Windows looks for it",
                             f"Run in a terminal:  dlldoctor deps \"{target}\"  (it lists every DLL the file "
                             f"needs, where each was found or every folder searched).")


def _known_package_cause(ctx: Context, code: Optional[int], library: str) -> Optional[dict]:
    """From the text alone, a DLL load failure that names no DLL: the failing package's own well-known cause
    (knowledge/windows_package_dlls.json), or None."""
    failure = ctx.failure
    if library:
        return None
    if code == 127 or failure.symbol:
        effective = 127
    elif code == 126:
        effective = 126
    elif code is None and failure.kind == "missing-shared-library" and _reads_not_found(ctx):
        effective = 126   # a wording the message table lacks ("Not Found。"), or none at all
    else:
        return None       # another error (an invalid path, access denied): not what the entries speak for
    return knowledge_tables.windows_package_dll(failure.module or "", effective)


_NOT_FOUND_WORDS = re.compile(r"not\s+(?:be\s+)?found|cannot\s+find|could\s+not\s+find", re.IGNORECASE)


def _reads_not_found(ctx: Context) -> bool:
    message = detail(ctx, "windows_message") or ""
    return not message.strip() or _NOT_FOUND_WORDS.search(message) is not None


def _package_cause(ctx: Context, known: dict, code: Optional[int], evidence: List[Evidence]) -> Finding:
    kind = ctx.failure.kind
    missing_function = code == 127 or bool(ctx.failure.symbol)
    fix_list: List[Fix] = [fixes.instruction(known["fix_title"], known["fix"])]
    if known["cause"] != "vc-runtime-missing" and not missing_function:
        fix_list.append(vc_fix())      # the other DLL wheels expect from the machine, when that is not it
    fix_list.append(_deps_fix(ctx))
    return Finding(
        kind=kind, cause=known["cause"], confidence=0.65,
        summary=f"Windows could not load {_module_text(ctx)}"
                + (": a function one of its DLLs imports is missing" if missing_function else
                   ": a DLL it needs was not found") + f", and the message does not say which. For "
                f"{_module_text(ctx)} the known, most common cause is that {known['why']} Not checked: this text "
                f"came without the machine; `dlldoctor deps` on that machine names the DLL.",
        evidence=tuple(evidence + [Evidence(f"known cause for {_module_text(ctx)}", known["why"], known["source"])]),
        fixes=tuple(fix_list), docs=docs_for(kind, known["cause"]))


def _procedure_not_found(ctx: Context, library: str, evidence: List[Evidence], text_only: bool = False) -> Finding:
    symbol = ctx.failure.symbol
    if symbol:
        evidence.append(Evidence("function not found", symbol, "the error message"))
    where = f" {library}" if library else " a DLL"
    fix_list: List[Fix] = []
    if library.lower().startswith("api-ms-win-crt") or "ucrtbase" in (symbol or "").lower():
        fix_list.append(vc_fix())
        fix_list.append(fixes.instruction("Update Windows", "The Universal C Runtime (ucrtbase.dll) comes with "
                                          "Windows Update; an outdated Windows 7/8.1 lacks newer functions."))
    conda = is_conda(ctx) or "conda" in (detail(ctx, "found_path") or "").lower()
    fix_list += _owner_fix(ctx, "Reinstall {dist} so its DLLs match")
    fix_list.append(fixes.instruction(
        "Install the package and its DLL dependencies with one package manager",
        "An older copy of the DLL is loaded first: mixing pip and conda in one environment puts two builds of "
        "the same library (libpng, zlib, GDAL, Qt ...) in site-packages and in Library\\bin. Reinstall the "
        "package with the manager that installed its dependencies" + (" (conda here)" if conda else "")
        + ", or remove the stray copy (an application folder on PATH, System32)."))
    fix_list.append(_deps_fix(ctx))
    summary = (f"{_module_text(ctx)} found{where} but it lacks a function the extension imports"
               + (f" ({symbol})" if symbol else "") + ": an older or different build of that DLL is loaded first.")
    cause = "procedure-not-found"
    if text_only:
        # From the text alone the copies on the machine are not known; in the threads that verified a fix for
        # error 127, an older copy of the DLL found first (System32, an application folder on PATH, conda's
        # Library\bin, a DLL another package had already loaded) was the cause more often than anything else.
        cause = "older-copy-found-first"
        summary += (" Most often another copy with that function exists and the older one comes first in the "
                    "search order. Other causes: the extension was built against another release of a library it "
                    "links (rebuild or reinstall matching releases), or the Windows version is older than the one "
                    "the wheel was built for. Not checked: this text came without the machine.")
    return Finding(
        kind="missing-symbol", cause=cause, confidence=0.72 if text_only else 0.8,
        summary=summary, evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("missing-symbol", cause))


_CTYPES_NOT_FOUND = "Could not find module '"


def _dll_not_found(ctx: Context, library: str, evidence: List[Evidence], missing_vc) -> Finding:
    text = ctx.cache.get("text")
    # The bootloader failing to load the bundle's own Python DLL is another story (that DLL is bundled; what it
    # needs, the Visual C++ runtime or a newer Windows, is the machine's).
    bundler = (knowledge_tables.frozen_app_in(text) if missing_vc is None and isinstance(text, str)
               and ctx.failure.signature != "pyinstaller-error-loading-python-dll" else None)
    if bundler is not None:
        return _not_bundled(ctx, library, evidence, bundler)
    if missing_vc is None and _CTYPES_NOT_FOUND in ctx.failure.message:
        return _ctypes_not_found(ctx, library, evidence)
    if missing_vc is None and not library and _standard_library_extension(ctx):
        return _stdlib_dll_not_found(ctx, evidence)
    if missing_vc is None and not library:
        return _unnamed_dll_likely_vc(ctx, evidence)
    fix_list: List[Fix] = []
    if missing_vc is None:  # from the text alone: the VC++ runtime is the most common missing dependency
        fix_list.append(vc_fix())
    fix_list += _owner_fix(ctx, "Reinstall {dist} (one of its DLLs or their dependencies is missing)")
    fix_list.append(_deps_fix(ctx))
    what = f"{library} or one of the DLLs it depends on" if library else "a DLL the extension depends on"
    return Finding(
        kind="missing-shared-library", cause="dll-not-found", confidence=0.72,
        summary=f"Windows could not find {what} while importing {_module_text(ctx)}. Since Python 3.8, PATH is not "
                f"searched for an extension's DLLs: they must sit beside it, in System32, or in a folder added with "
                f"os.add_dll_directory.",
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("missing-shared-library", "dll-not-found"))


def _not_bundled(ctx: Context, library: str, evidence: List[Evidence], bundler: dict) -> Finding:
    """A frozen application (PyInstaller, cx_Freeze, Nuitka) whose bundle lacks a DLL an extension needs: the
    bundler did not collect it. From the text alone; the fix is the bundle's build, not the machine's."""
    what = f"{library} (or a DLL it depends on)" if library else "a DLL"
    importing = f" while importing {ctx.failure.module}" if ctx.failure.module else ""
    return Finding(
        kind="missing-shared-library", cause="dll-not-found", confidence=0.75,
        summary=f"This is a {bundler['name']} application, and {what} could not be loaded from its bundle"
                f"{importing}: {bundler['name']} did not collect a DLL that is needed when the application was "
                f"built.",
        evidence=tuple(evidence + [Evidence("bundled by", bundler["name"], "the traceback's frames and messages")]),
        fixes=(fixes.instruction("Rebuild the application with the missing DLL collected", bundler["collect"]),
               _deps_fix(ctx)),
        docs=docs_for("missing-shared-library", "dll-not-found"))


def _standard_library_extension(ctx: Context) -> bool:
    """The failing module is one of Python's own extension modules (_tkinter, _ssl, _sqlite3, pyexpat …)."""
    module = ctx.failure.module or ""
    return bool(module) and "." not in module and module in getattr(sys, "stdlib_module_names", ())


def _stdlib_dll_not_found(ctx: Context, evidence: List[Evidence]) -> Finding:
    """A standard-library extension whose DLL is not found: python.exe itself runs on the Visual C++ runtime (the
    installer puts vcruntime140.dll beside it), so what is missing is a DLL of Python's own installation that the
    extension loads from the DLLs folder (tcl86t.dll, libssl-*.dll, sqlite3.dll, libffi-*.dll)."""
    module = ctx.failure.module
    return Finding(
        kind="missing-shared-library", cause="dll-not-found", confidence=0.7,
        summary=f"Windows could not find a DLL that {module}, one of Python's own extension modules, needs. The "
                f"Visual C++ runtime is not it (python.exe itself runs on it); a DLL that comes with Python beside "
                f"{module}.pyd (its DLLs folder: tcl86t.dll and tk86t.dll for _tkinter, libssl and libcrypto for "
                f"_ssl, sqlite3.dll for _sqlite3, libffi for _ctypes) is missing or an older copy is found first: "
                f"a damaged install, or an application bundle that copied {module}.pyd without it.",
        evidence=tuple(evidence + [Evidence("standard-library module", module, "sys.stdlib_module_names")]),
        fixes=(fixes.instruction("Repair the Python installation",
                                 "Run the Python installer again and choose Repair (or reinstall that Python); in a "
                                 "bundled application, copy the DLLs from Python's DLLs folder next to "
                                 f"{module}.pyd when building it."), _deps_fix(ctx)),
        docs=docs_for("missing-shared-library", "dll-not-found"))


def _unnamed_dll_likely_vc(ctx: Context, evidence: List[Evidence]) -> Finding:
    """From the text alone, "DLL load failed … could not be found" naming no DLL: the extension's own
    dependency is missing, and the one most often missing on a Windows machine is the Visual C++ runtime
    (the only DLL most wheels do not ship). Said as the likely cause, with how to confirm it."""
    fix_list: List[Fix] = [vc_fix()]
    fix_list += _owner_fix(ctx, "If it still fails: reinstall {dist} (one of its DLLs may be missing)")
    fix_list.append(_deps_fix(ctx))
    return Finding(
        kind="missing-shared-library", cause="vc-runtime-missing", confidence=0.6,
        summary=f"Windows could not find a DLL that {_module_text(ctx)} depends on; the message does not say which. "
                f"Most often it is the Visual C++ 2015-2022 runtime (vcruntime140.dll, vcruntime140_1.dll, "
                f"msvcp140.dll), which wheels expect the machine to have. Not checked: this text came without the "
                f"machine; `dlldoctor deps` on that machine names the missing DLL.",
        evidence=tuple(evidence + [Evidence("the runtime wheels do not ship",
                                            "vcruntime140.dll, vcruntime140_1.dll, msvcp140.dll",
                                            knowledge_tables.library_provider("VCRUNTIME140.dll", "windows")["source"])]),
        fixes=tuple(fix_list), docs=docs_for("missing-shared-library", "vc-runtime-missing"))


def _ctypes_not_found(ctx: Context, library: str, evidence: List[Evidence]) -> Finding:
    """ctypes' "Could not find module 'X' (or one of its dependencies). Try using the full path …" — the
    wording of Python 3.8 and later, whose DLL search skips PATH and the working folder."""
    target = detail(ctx, "found_path") or library or "the DLL"
    by_name = not any(sep in target for sep in ("\\", "/", ":"))
    if by_name:
        summary = (f"ctypes could not find {target}: it was given by name alone, and since Python 3.8 a DLL loaded "
                   f"by name is searched only in the application folder, System32 and the folders added with "
                   f"os.add_dll_directory, never in PATH or the working folder.")
        how = (f"Load it by its full path (ctypes.CDLL(r'C:\\...\\{basename(target)}')), or call "
               f"os.add_dll_directory(<its folder>) before loading it.")
    else:
        summary = (f"ctypes found no loadable {basename(target)}: the file or one of the DLLs it depends on is not in "
                   f"the places Python 3.8 and later search (the DLL's own folder, the application folder, System32, "
                   f"os.add_dll_directory folders). A dependency that lies only in a PATH folder is no longer found.")
        how = (f"Find the dependency with `dlldoctor deps \"{target}\"`, then call os.add_dll_directory(<its folder>) "
               f"before the load (or pass winmode=0 to ctypes.CDLL to search as Python 3.7 did).")
    evidence.append(Evidence("Python's DLL search", "PATH and the working folder are not searched (Python 3.8+)",
                             "https://docs.python.org/3/library/os.html#os.add_dll_directory"))
    return Finding(
        kind="missing-shared-library", cause="dll-on-path-not-searched", confidence=0.7,
        summary=summary, evidence=tuple(evidence),
        fixes=(fixes.instruction("Tell Python where the DLL and its dependencies are", how), _deps_fix(ctx)),
        docs=docs_for("missing-shared-library", "dll-on-path-not-searched"))


def _init_failed(ctx: Context, library: str, evidence: List[Evidence], missing_vc) -> Finding:
    known = knowledge_tables.dll_init_failure(library) if missing_vc is None else None
    if known is not None and known["cause"] == "vc-runtime-missing":
        fix_list = [vc_fix()] + _owner_fix(ctx, "If it still fails: reinstall {dist}") + [_deps_fix(ctx)]
        return Finding(
            kind="native-init-failed", cause="vc-runtime-missing", confidence=0.75,
            summary=f"{basename(library)} loaded but its initialisation failed while importing {_module_text(ctx)}: "
                    f"{known['why']}",
            evidence=tuple(evidence + [Evidence(f"known cause for {basename(library)}", known["why"], known["source"])]),
            fixes=tuple(fix_list), docs=docs_for("native-init-failed", "vc-runtime-missing"))
    fix_list: List[Fix] = [vc_fix()] if missing_vc is None else []
    fix_list += _owner_fix(ctx, "Reinstall {dist}")
    fix_list.append(_deps_fix(ctx))
    return Finding(
        kind="native-init-failed", cause="dll-init-failed", confidence=0.6,
        summary=f"{library or 'A DLL'} loaded but its initialisation routine failed while importing "
                f"{_module_text(ctx)}: usually an outdated Visual C++ runtime, a CPU without the instructions the "
                f"build uses, or two incompatible copies of a library in the process.",
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("native-init-failed", "dll-init-failed"))


# -- from the machine: the loader model's answer ------------------------------------------------------
_RULE_WORDS = {
    "already-loaded": "a module of that name was already loaded in the process; Windows reuses it, whatever its "
                      "folder, before searching anywhere",
    "known-dll": "it is a KnownDLL: always the System32 copy",
    "dll-load-dir": "the extension's own folder, searched first (LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR)",
    "app-dir": "the application folder (the folder of {exe}), searched right after the extension's folder and "
               "before os.add_dll_directory folders and System32",
    "add-dll-directory": "a folder added with os.add_dll_directory ({via})",
    "conda-dll-dir": "one of conda's DLL folders (Library\\bin ...), which conda's patched Python searches after "
                     "the os.add_dll_directory folders",
    "system32": "System32",
    "path": "a PATH folder ({via})",
    "cwd": "the current folder (searched by Python before 3.8)",
    "windows-dir": "the Windows folder (searched by Python before 3.8)",
    "system-16": "the 16-bit System folder (searched by Python before 3.8)",
    "api-set": "an API set, resolved by Windows itself",
    "direct-path": "the path given",
}


def _rule_words(rule: Optional[str], via: Optional[str], tree) -> str:
    text = _RULE_WORDS.get(rule or "", rule or "not found")
    return text.format(exe=tree.executable or "python.exe", via=via or "stated for this machine")


def _node(tree, name: str, requested_by: Optional[str]):
    from ..facts.native.loader import walk

    fallback = None
    for n in walk(tree.root):
        if n is tree.root or n.name.lower() != name.lower() or n.repeat:
            continue
        if n.requested_by == requested_by:
            return n
        fallback = fallback or n
    return fallback


def _label(symbol: str):
    """(name, ordinal) of an import label: ``foo_new`` or ``#2``."""
    if symbol.startswith("#") and symbol[1:].isdigit():
        return None, int(symbol[1:])
    return symbol, None


def _order_text(tree) -> str:
    loader = tree.loader or ""
    if "legacy" in loader:
        return ("Python before 3.8 (LOAD_WITH_ALTERED_SEARCH_PATH): the extension's folder, System32, the Windows "
                "folder, the current folder, then PATH")
    if "conda-path" in loader:
        return ("conda Python with CONDA_DLL_SEARCH_MODIFICATION_ENABLE: the default folders, then PATH, before "
                "System32")
    return ("Python 3.8 and later (LoadLibraryExW with LOAD_LIBRARY_SEARCH_DEFAULT_DIRS | DLL_LOAD_DIR): already "
            "loaded modules, KnownDLLs, the extension's folder, the application folder, os.add_dll_directory "
            "folders, System32 - never PATH")


def _places(node) -> str:
    shown = []
    for i, c in enumerate([c for c in node.candidates if c.path], 1):
        why = f", {c.reason}" if c.reason else ""
        shown.append(f"{i}. {c.path} [{c.rule}: {c.outcome}{why}]")
    return "; ".join(shown[:12]) + (f" ... and {len(shown) - 12} more" if len(shown) > 12 else "")


def _search_folders(ctx: Context, load) -> List[str]:
    """The folders the loader searches for the failing extension's DLLs, in order (what the tree used)."""
    pm = ctx.system.pathmod
    folders = [pm.dirname(load.extension)] + list(load.tree.search_defaults)
    return list(dict.fromkeys(f for f in folders if f))


def _machine_folders(ctx: Context, load) -> List[tuple]:
    """(folder, where) of every place on the machine a copy of a DLL may sit: the search folders, PATH,
    the environment's site-packages and its package folders (``*.libs`` too), conda's Library\\bin, the
    interpreter's folders and System32."""
    system = ctx.system
    pm = system.pathmod
    it = ctx.interpreter
    searched = {f.lower() for f in _search_folders(ctx, load)}
    out: List[tuple] = []
    seen = set()

    def add(folder: Optional[str], where: str) -> None:
        if folder and folder.lower() not in seen and len(out) < 600:
            seen.add(folder.lower())
            out.append((folder, "searched, in the order above" if folder.lower() in searched else where))

    for folder in _search_folders(ctx, load):
        add(folder, "searched")
    path_value = system.getenv("PATH") or ""
    legacy = "legacy" in (load.tree.loader or "") or "conda-path" in (load.tree.loader or "")
    for folder in [p.strip().strip('"') for p in path_value.split(";") if p.strip()]:
        add(folder, "a PATH folder: searched by this Python" if legacy else
            "a PATH folder: not searched by Python 3.8 and later")
    for prefix in dict.fromkeys([it.prefix, it.base_prefix] if it is not None else []):
        for rel in ("Library\\bin", "Library\\mingw-w64\\bin", "Library\\usr\\bin", "DLLs", "bin", "Scripts", ""):
            add(pm.join(prefix, rel) if rel else prefix, "in the Python environment, not on the search path")
    for site in ctx.site_folders:
        add(site, "in site-packages, not on the search path")
        for entry in sorted(system.listdir(site)):
            folder = pm.join(site, entry)
            if "." in entry and not entry.endswith(".libs") or not system.is_dir(folder):
                continue
            add(folder, f"in another package's folder ({entry}), not on the search path")
    root = ctx.system.getenv("SystemRoot") or "C:\\Windows"
    add(pm.join(root, "System32"), "System32")
    return out


def _copies(ctx: Context, load, dll: str, exclude: Optional[str], symbol: Optional[str] = None) -> List[tuple]:
    """(path, where, has symbol or None) for each copy of ``dll`` on the machine, other than ``exclude``."""
    from ..facts.native.binary import read_binary

    lookup = getattr(load.loader, "lookup", None)
    out = []
    for folder, where in _machine_folders(ctx, load):
        if lookup is not None:
            path = lookup(folder, dll)
        else:
            path = ctx.system.join(folder, dll) if ctx.system.is_file(ctx.system.join(folder, dll)) else None
        if path is None or (exclude and path.lower() == exclude.lower()):
            continue
        has = None
        if symbol is not None:
            exports = getattr(read_binary(path, ctx.system), "exports", None)
            has = bool(exports is not None and exports.has(*_label(symbol)))
        out.append((path, where, has))
    return out


def _copies_evidence(dll: str, copies: List[tuple], symbol: Optional[str], source: str) -> Optional[Evidence]:
    if not copies:
        return None
    parts = []
    for path, where, has in copies[:8]:
        said = "" if has is None else (f"has {symbol}; " if has else f"lacks {symbol} too; ")
        parts.append(f"{path} ({said}{where})")
    more = f" ... and {len(copies) - 8} more" if len(copies) > 8 else ""
    return Evidence(f"other copies of {dll} on this machine", "; ".join(parts) + more, source)




def _deps_machine_fix(path: str) -> Fix:
    return fixes.instruction("See every DLL the extension needs, and where Windows finds each",
                             f"Run in a terminal on that machine:  dlldoctor deps \"{path}\"")


def _is_stray_folder(ctx: Context, path: str) -> bool:
    """A copy outside the environment's packages: an application folder, a tools folder, the user's own."""
    return site_folder_of(path) is None


def _from_machine(ctx: Context, load, code: Optional[int], evidence: List[Evidence]) -> Iterable[Finding]:
    tree = load.tree
    source = loader_source(ctx, tree)
    evidence = list(evidence)
    evidence.append(Evidence("extension module", load.extension, "found on the machine" if not (
        ctx.failure.extension and ctx.failure.extension == load.extension) else "the error message"))
    evidence.append(Evidence("DLL search order", _order_text(tree), source))
    if not load.problems:
        old_vc = [(n, note) for n in _walk(tree) for note in n.notes if "older than the Visual C++ toolset" in note]
        if old_vc:
            yield _vc_too_old(ctx, old_vc, evidence, source)
            return
        evidence.append(Evidence("the loader model's verdict",
                                 f"{load.extension} loads: every DLL it needs is found and has every imported "
                                 f"function", source))
        ctx.cache["windows-machine-evidence"] = evidence
        return
    problem = load.problems[0]
    if len(load.problems) > 1:
        ctx.notes.append("the loader model also finds: " + "; ".join(
            f"{p.kind} {p.name}" + (f" in {p.library}" if p.library else "") for p in load.problems[1:6]))
    if problem.kind == "missing-symbol":
        yield _procedure_from_machine(ctx, load, problem, evidence, source, code)
    elif problem.kind == "missing-library":
        yield _missing_from_machine(ctx, load, problem, evidence, source, code)
    elif problem.kind == "unloadable-library":
        yield _unloadable_from_machine(ctx, load, problem, evidence, source)


def _walk(tree):
    from ..facts.native.loader import walk

    return walk(tree.root)


def _procedure_from_machine(ctx, load, problem, evidence, source, code) -> Finding:
    tree = load.tree
    dll = problem.library or "?"
    function = problem.name
    requirer = problem.required_by or load.extension
    node = _node(tree, dll, requirer)
    chosen = node.path if node is not None else None
    rule_name = node.rule if node is not None else None
    evidence.append(Evidence("function not found", f"{function}, imported by {requirer} from {dll}", source))
    if code is not None and code != 127:
        ctx.notes.append(f"the error code is {code}, but the loader model finds a missing function first")
    if chosen:
        evidence.append(Evidence(f"copy of {dll} the loader picks", f"{chosen}: "
                                 + _rule_words(rule_name, node.via, tree), source))
    if node is not None and rule_name == "already-loaded":
        evidence.append(Evidence(f"places searched for {dll}", "none: a module of that name is already in the "
                                 "process, so Windows does not search; had it not been loaded, the search would "
                                 "have been " + "; ".join(f"{i}. {f}" for i, f in
                                                          enumerate(_search_folders(ctx, load), 1)),
                                 source))
    elif node is not None and node.candidates:
        evidence.append(Evidence(f"places searched for {dll}, in order", _places(node), source))
    copies = _copies(ctx, load, dll, chosen, function)
    good = [c for c in copies if c[2]]
    more = _copies_evidence(dll, copies, function, source)
    if more:
        evidence.append(more)
    ext = basename(requirer)
    if good:
        cause = "older-copy-found-first"
        summary = (f"{ext} imports {function} from {dll}, but the copy Windows picks, {chosen} ("
                   + _short_rule(rule_name, tree) + f"), lacks it; the copy at {good[0][0]} has it.")
    else:
        cause = "procedure-not-found"
        summary = (f"{ext} imports {function} from {dll}, but the copy Windows picks, {chosen} ("
                   + _short_rule(rule_name, tree) + "), lacks it, and no other copy on this machine has it: "
                   "the extension and that DLL come from releases that do not match.")
    fix_list = _procedure_fixes(ctx, load, dll, function, chosen, rule_name, node, good, requirer)
    return Finding(kind="missing-symbol", cause=cause, confidence=0.97, summary=summary,
                   evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("missing-symbol", cause))


def _short_rule(rule_name: Optional[str], tree) -> str:
    return {"already-loaded": "already loaded in the process", "dll-load-dir": "the extension's own folder",
            "app-dir": f"the application folder, {tree.executable or 'python.exe'}'s",
            "add-dll-directory": "a folder added with os.add_dll_directory",
            "conda-dll-dir": "conda's Library\\bin, searched by conda's Python",
            "system32": "System32", "path": "a PATH folder", "known-dll": "KnownDLLs"}.get(rule_name or "",
                                                                                       rule_name or "?")


def _procedure_fixes(ctx, load, dll, function, chosen, rule_name, node, good, requirer) -> List[Fix]:
    out: List[Fix] = []
    pm = ctx.system.pathmod
    module = ctx.failure.module or ctx.target or "the package"
    owner = path_owner(ctx, requirer) or path_owner(ctx, load.extension)
    owner_name = owner[0] if owner else module.split(".")[0]
    chosen_owner = path_owner(ctx, chosen) if chosen else None
    if chosen and rule_name == "already-loaded":
        who = (f"by an earlier import of {chosen_owner[0]} (its copy is {chosen})" if chosen_owner else
               f"({chosen}) by an earlier import or by the program itself")
        # fixes.instruction: names from the error text become comment lines, their control characters escaped.
        out.append(fixes.instruction(f"Restart the kernel and import {module} before other packages",
                                     "\n".join((
                                         f"An older {dll} was loaded first, {who}.",
                                         f"Windows then reuses it for {module}, and it lacks {function}.",
                                         f"Restart the kernel and import {module} first; for good, upgrade "
                                         + (chosen_owner[0] if chosen_owner else "the package that brings that copy")
                                         + f" so both ship a {dll} that has {function}.")),
                                     restart=True, risk="low"))
        if _is_stray_folder(ctx, chosen):
            out.append(_set_aside(ctx, chosen, f"Rename the stray {dll} in {pm.dirname(chosen)} so it is not "
                                               "loaded first"))
    elif chosen and rule_name == "conda-dll-dir":
        conda = conda_fix(ctx, [owner_name], title=f"Install {owner_name} with conda too, so it matches the DLLs "
                                                 "in Library\\bin")
        if conda is not None:
            out.append(conda)
        out.append(fixes.instruction(
            "Install the package and its DLL dependencies with one package manager",
            f"{chosen} belongs to conda; {owner_name} was installed by pip and needs a newer {dll}. Uninstall it "
            f"with pip (pip uninstall {owner_name}) and install it with conda, or use a virtual environment for "
            "pip packages."))
    elif chosen and rule_name == "system32":
        out.append(fixes.instruction(
            f"Do not use the {dll} in System32 for this package",
            f"{chosen} lacks {function}: some installer put an old {dll} into System32. Reinstall or update the "
            "program that installed it rather than deleting system files; the package's own copy must come "
            "first (beside the .pyd).", risk="medium"))
    elif chosen and rule_name in ("app-dir", "path", "cwd", "windows-dir") and _is_stray_folder(ctx, chosen):
        out.append(_set_aside(ctx, chosen, f"Rename the stray {dll} in {pm.dirname(chosen)} (it is searched "
                                           "before the package's own copy)"))
    elif chosen and rule_name == "add-dll-directory" and chosen_owner and chosen_owner[0] != owner_name:
        out.append(fixes.instruction(
            f"Upgrade {chosen_owner[0]}, whose folder holds the older {dll}",
            f"{pm.dirname(chosen)} was added with os.add_dll_directory ({node.via if node else ''}) and is "
            f"searched before the copy {owner_name} needs. Upgrade {chosen_owner[0]} so its {dll} has {function}, "
            f"or import {module} first."))
    out += reinstall_owner(ctx, load.extension, "Reinstall {dist} so its DLLs match")
    if is_conda(ctx) and rule_name != "conda-dll-dir":
        out.append(fixes.instruction(
            "Install the package and its DLL dependencies with one package manager",
            "Mixing pip and conda in one environment puts two builds of the same DLL in site-packages and in "
            "Library\\bin; reinstall the package with the manager that installed its dependencies."))
    out.append(_deps_machine_fix(load.extension))
    return out


def _missing_from_machine(ctx, load, problem, evidence, source, code) -> Finding:
    tree = load.tree
    pm = ctx.system.pathmod
    name = problem.name
    requirer = problem.required_by or load.extension
    node = _node(tree, name, requirer)
    candidates = node.candidates if node is not None else problem.searched
    evidence.append(Evidence("DLL not found", f"{name}, needed by {requirer}", source))
    if code is not None and code != 126:
        ctx.notes.append(f"the error code is {code}, but the loader model finds a missing DLL first")
    if node is not None:
        evidence.append(Evidence(f"places searched for {name}, in order", _places(node), source))
    on_path = [c for c in candidates if c.rule == "path" and c.outcome == "not-searched"]
    wrong = [c for c in candidates if c.outcome == "skipped" and c.reason.startswith("wrong machine")]
    tried = {c.path.lower() for c in candidates if c.path}
    copies = [c for c in _copies(ctx, load, name, None) if c[0].lower() not in tried]
    more = _copies_evidence(name, copies, None, source)
    if more:
        evidence.append(more)
    provider = knowledge_tables.library_provider(name, "windows")
    ext = basename(load.extension)
    fix_list: List[Fix] = []
    if name.lower() in _VC_DLLS or (provider is not None and provider.get("windows_redist")):
        missing_vc = vc_runtime_check(ctx)
        if missing_vc is not None:
            evidence.append(Evidence("Visual C++ runtime DLLs in System32",
                                     "all present" if not missing_vc else "missing: " + ", ".join(missing_vc),
                                     _system32(ctx) or "System32"))
        if provider is not None:
            evidence.append(Evidence("what it is", provider["what"], provider["source"]))
        redist = (provider or knowledge_tables.library_provider("VCRUNTIME140.dll", "windows"))["windows_redist"]
        fix_list.append(vc_fix(provider))
        fix_list += reinstall_owner(ctx, load.extension, "Then, if it still fails, reinstall {dist}")
        fix_list.append(_deps_machine_fix(load.extension))
        return Finding(
            kind="missing-shared-library", cause="vc-runtime-missing", confidence=0.97,
            summary=f"{name} is part of the {redist['name']}, and Windows finds it in none of the "
                    f"{len([c for c in candidates if c.outcome != 'not-searched'])} places it searches (not in "
                    f"System32): the runtime is not installed. {ext} needs it"
                    + (f" (through {basename(requirer)})" if requirer != load.extension else "") + ".",
            evidence=tuple(evidence), fixes=tuple(fix_list),
            docs=docs_for("missing-shared-library", "vc-runtime-missing"))
    if on_path:
        folder = pm.dirname(on_path[0].path)
        fix_list.append(fixes.make(
            "instruction", f"Add {folder} to the DLL search before the import",
            cell=f"import os\nos.add_dll_directory({folder!r})\nimport {ctx.failure.module}"
            if ctx.failure.module and all(p.isidentifier() for p in ctx.failure.module.split("."))
            else f"import os\nos.add_dll_directory({folder!r})", risk="low"))
        fix_list.append(fixes.instruction(
            f"Or put {name} beside the extension",
            f"Copy {on_path[0].path} into {pm.dirname(load.extension)} (the extension's folder is searched "
            "first), or install the package that ships it into this environment."))
        fix_list += reinstall_owner(ctx, load.extension, "Or reinstall {dist}, if its wheel should ship the DLL")
        fix_list.append(_deps_machine_fix(load.extension))
        return Finding(
            kind="missing-shared-library", cause="dll-on-path-not-searched", confidence=0.97,
            summary=f"{name}, needed by {basename(requirer)}, is in {folder}, a PATH folder, but Python 3.8 and "
                    f"later do not search PATH for an extension's DLLs; none of the places Windows does search has "
                    f"it.",
            evidence=tuple(evidence), fixes=tuple(fix_list),
            docs=docs_for("missing-shared-library", "dll-on-path-not-searched"))
    if wrong:
        fix_list += reinstall_owner(ctx, load.extension, "Reinstall {dist} for this Python's architecture")
        fix_list.append(fixes.instruction(
            f"Use a {ctx.interpreter.bits}-bit {name}",
            f"{', '.join(c.path for c in wrong[:3])} is built for another CPU; Windows passes over it. Put a "
            f"{ctx.interpreter.bits}-bit build beside the extension or reinstall the package that ships it."))
        return Finding(
            kind="missing-shared-library", cause="wrong-architecture", confidence=0.95,
            summary=f"The only {name} on the search path is built for another machine ({wrong[0].reason[15:]}); "
                    f"Windows skips it, so {basename(requirer)} cannot load.",
            evidence=tuple(evidence), fixes=tuple(fix_list),
            docs=docs_for("missing-shared-library", "wrong-architecture"))
    if copies:
        folder = pm.dirname(copies[0][0])
        fix_list.append(fixes.make(
            "instruction", f"Add {folder} to the DLL search before the import",
            cell=f"import os\nos.add_dll_directory({folder!r})", risk="medium"))
    fix_list += reinstall_owner(ctx, load.extension, "Reinstall {dist} (one of its DLLs or their dependencies is missing)")
    fix_list.append(_deps_machine_fix(load.extension))
    elsewhere = f"; a copy exists at {copies[0][0]}, which is not on the search path" if copies else \
        "; no copy exists anywhere dllmagic looked on this machine"
    return Finding(
        kind="missing-shared-library", cause="dll-not-found", confidence=0.95,
        summary=f"{name}, needed by {basename(requirer)}, is in none of the places Windows searches"
                f"{elsewhere}.",
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("missing-shared-library", "dll-not-found"))


def _unloadable_from_machine(ctx, load, problem, evidence, source) -> Finding:
    detail_text = problem.detail or ""
    path = problem.library_path or problem.name
    evidence.append(Evidence("file Windows refuses", f"{path}: {detail_text}", source))
    fix_list: List[Fix] = []
    if detail_text.startswith("Module use of"):
        fix_list += reinstall_owner(ctx, load.extension, "Reinstall {dist} for this Python")
        return Finding(
            kind="python-abi-mismatch", cause="built-for-other-python", confidence=0.95,
            summary=f"{basename(load.extension)} was built for another Python: {detail_text}",
            evidence=tuple(evidence), fixes=tuple(fix_list),
            docs=docs_for("python-abi-mismatch", "built-for-other-python"))
    fix_list += reinstall_owner(ctx, load.extension, "Reinstall {dist} for this Python's architecture")
    fix_list.append(_deps_machine_fix(load.extension))
    return Finding(
        kind="architecture-mismatch", cause="wrong-architecture", confidence=0.93,
        summary=f"{basename(path)} cannot be loaded into this {ctx.interpreter.bits}-bit Python: {detail_text}.",
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("architecture-mismatch", "wrong-architecture"))


def _vc_too_old(ctx, old_vc, evidence, source) -> Finding:
    node, note = old_vc[0]
    evidence.append(Evidence(f"{node.name} the loader picks", f"{node.path}: {note}", source))
    return Finding(
        kind=ctx.failure.kind, cause="vc-runtime-missing", confidence=0.9,
        summary=f"The Visual C++ runtime at {node.path} is older than the toolset that built the extension; an "
                "older runtime than the toolset is unsupported and fails with error 127 or crashes.",
        evidence=tuple(evidence), fixes=(vc_fix(),), docs=docs_for(ctx.failure.kind, "vc-runtime-missing"))


def _set_aside(ctx: Context, path: str, title: str) -> Fix:
    """Rename a stray DLL to ``NAME.old`` (``NAME.old1`` ... when taken): never over an existing file."""
    for suffix in (".old", *(f".old{i}" for i in range(1, 10))):
        if not ctx.system.exists(path + suffix):
            return fixes.rename(path, path + suffix, title)
    return fixes.instruction(title, f"No rename cell is offered: {path}.old and the next nine names exist.\n"
                                    f"Move {path} out of that folder by hand.", risk="medium")
