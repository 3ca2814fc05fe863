"""Windows DLL failures: the Visual C++ runtime, a DLL not found, a procedure not found, a DLL whose
initialisation failed — from the error code when only the text is at hand, from the machine when it is.

Cause ids: ``vc-runtime-missing``, ``dll-not-found``, ``procedure-not-found``, ``dll-init-failed``.
Windows prints these messages in the user's language; the failure parser has already turned them into
the error code (``windows_code`` in the failure's details: 126, 127, 193, 1114), which is what the rules
read. TensorFlow's DLL-initialisation failure and SIGILL are the CPU family's (cpu.py).
"""
from __future__ import annotations

from typing import Iterable, List, Optional

from .. import fixes
from ..knowledge import tables as knowledge_tables
from ..model import Evidence, Finding, Fix
from . import Context, docs_for, rule
from ._common import basename, detail, distribution_for_folder, installed, is_conda, kernel_evidence, pip, \
    platform_of, site_folder_of

__all__ = ["CAUSES"]

CAUSES = ("vc-runtime-missing", "dll-not-found", "procedure-not-found", "dll-init-failed")

_VC_DLLS = ("msvcp140.dll", "vcruntime140.dll", "vcruntime140_1.dll", "msvcp140_1.dll")


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


@rule("missing-shared-library", "missing-symbol", "native-init-failed")
def windows_dll(ctx: Context) -> Iterable[Finding]:
    if platform_of(ctx) != "windows":
        return
    failure = ctx.failure
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
    missing_vc = vc_runtime_check(ctx)
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
    if code == 127 or failure.symbol:
        yield _procedure_not_found(ctx, library, evidence)
    elif code == 1114 or failure.kind == "native-init-failed":
        yield _init_failed(ctx, library, evidence, missing_vc)
    elif code == 126 or failure.kind == "missing-shared-library":
        yield _dll_not_found(ctx, library, evidence, missing_vc)


def _owner_fix(ctx: Context, title: str) -> List[Fix]:
    path = detail(ctx, "found_path") or ctx.failure.extension or ""
    folder = site_folder_of(path) or (ctx.failure.module or "").split(".")[0] or None
    if not folder:
        return []
    dist_name, validated, _ = distribution_for_folder(ctx, folder)
    dist = installed(ctx, dist_name)
    requirement = f"{dist.name}=={dist.version}" if dist is not None else dist_name
    fix = pip(ctx, [requirement], validated=validated, reinstall=True, title=title.format(dist=requirement))
    return [fix] if fix else []


def _deps_fix(ctx: Context) -> Fix:
    target = ctx.failure.extension or detail(ctx, "found_path") or "<the .pyd file in the traceback>"
    return fixes.instruction("See which DLL fails, and where Windows looks for it",
                             f"Run in a terminal:  dlldoctor deps \"{target}\"  (it lists every DLL the file "
                             f"needs, where each was found or every folder searched).")


def _procedure_not_found(ctx: Context, library: str, evidence: List[Evidence]) -> Finding:
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
    return Finding(
        kind="missing-symbol", cause="procedure-not-found", confidence=0.8,
        summary=f"{_module_text(ctx)} found{where} but it lacks a function the extension imports"
                + (f" ({symbol})" if symbol else "") + ": an older or different build of that DLL is loaded first.",
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("missing-symbol", "procedure-not-found"))


def _dll_not_found(ctx: Context, library: str, evidence: List[Evidence], missing_vc) -> Finding:
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


def _init_failed(ctx: Context, library: str, evidence: List[Evidence], missing_vc) -> Finding:
    fix_list: List[Fix] = [vc_fix()] if missing_vc is None else []
    fix_list += _owner_fix(ctx, "Reinstall {dist}")
    fix_list.append(_deps_fix(ctx))
    return Finding(
        kind="native-init-failed", cause="dll-init-failed", confidence=0.6,
        summary=f"{library or 'A DLL'} loaded but its initialisation routine failed while importing "
                f"{_module_text(ctx)}: usually an outdated Visual C++ runtime, a CPU without the instructions the "
                f"build uses, or two incompatible copies of a library in the process.",
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("native-init-failed", "dll-init-failed"))
