"""Native libraries on Linux and macOS: a library that is missing, too old, or built for another Python.

Cause ids:

* ``missing-system-library`` — a library the operating system provides (libGL, libgomp ...) is not
  installed; the fix names the apt / dnf / conda / Homebrew package, or a wheel that needs no such
  library (opencv-python-headless).
* ``missing-vendored-library`` — a library the wheel itself ships (``<pkg>.libs``, ``.dylibs``, hashed
  names) is gone: reinstall the distribution.
* ``library-not-found`` — any other library the loader could not find.
* ``symbol-version-too-old`` / ``older-copy-found-first`` — ``version `GLIBCXX_3.4.30' not found``: the
  library found is older than the extension needs, and (when the machine is at hand) whether a newer
  copy exists elsewhere, e.g. in the conda environment.
* ``built-for-other-python`` — an undefined ``Py…`` symbol or a version mismatch: the extension was
  built for another Python.
* ``symbol-missing`` — another undefined symbol: the extension and a library come from releases that do
  not match.
* ``wrong-architecture`` — a binary for another CPU or word size.

When the kernel's machine is at hand the native loader (:mod:`dllmagic.facts.native.loader`) says where
each library was searched for and found; without it (or from a pasted text) the rules work from the text.
"""
from __future__ import annotations

import re
from typing import Iterable, List, Optional, Tuple

from .. import fixes
from .._record import Record
from .._regex import LazyRegex
from ..knowledge import tables as knowledge_tables
from ..model import Evidence, Finding, Fix
from . import Context, docs_for, rule, strict_mode
from ._common import (basename, conda_fix, detail, distribution_for_folder, installed, kernel_evidence,
                      os_release, package_managers, pip, platform_of, site_folder_of)

__all__ = ["CAUSES", "MachineLoad", "machine_at_hand", "failing_extension", "machine_load", "loader_source"]

CAUSES = ("missing-system-library", "missing-vendored-library", "library-not-found", "symbol-version-too-old",
          "older-copy-found-first", "built-for-other-python", "symbol-missing", "wrong-architecture",
          "executable-stack-refused", "static-tls-exhausted")

#: auditwheel / delocate give bundled copies a hash suffix (libgfortran-040039e1.so.5.0.0).
_HASHED = LazyRegex(r"-[0-9a-f]{8}\.(?:so|dylib)")
#: Where a Linux machine keeps its libstdc++ / libc copies, besides the environment's own lib folder.
_SYSTEM_LIB_FOLDERS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                       "/usr/lib64", "/lib64", "/usr/local/lib64", "/usr/local/lib", "/usr/lib")
#: Namespaces of mangled C++ symbols → the distribution whose library defines them.
SYMBOL_OWNERS = {"_ZN3c10": "torch", "_ZN2at": "torch", "_ZN5torch": "torch", "_ZN6caffe2": "torch",
                 "_ZN10tensorflow": "tensorflow", "_ZN4absl": "tensorflow", "_ZN6google8protobuf": "protobuf"}
_CPYTHON_TAG = LazyRegex(r"cpython-(\d)(\d+)|python(\d)\.?(\d+)(?:\.dll|/)|/lib/python(\d)\.(\d+)/")


# -- loader facts ------------------------------------------------------------------------------------
class MachineLoad(Record):
    """The failing extension resolved by the loader model of the failure's own machine."""

    extension: str          # the machine's path of the file whose load failed
    tree: object            # DepTree
    problems: tuple         # problems(tree), in load order: the first is what the OS reports
    loader: object          # the loader model (reusable: other copies, more files)
    source: str             # "the modelled machine (DESCRIPTION)" | "this machine"


MACHINE_LOAD_KEY = "machine-load"
_EXT_SUFFIXES = {"windows": (".pyd", ".dll"), "macos": (".so", ".dylib"), "linux": (".so",)}


def _machine(ctx: Context):
    machine = ctx.cache.get("machine")
    if machine is not None:
        return machine
    return None


def machine_at_hand(ctx: Context) -> bool:
    """A machine the loader model can read: a modelled one (``ctx.cache["machine"]``), or this live
    Windows/macOS machine when the kernel's interpreter is known."""
    if ctx.interpreter is None:
        return False
    if _machine(ctx) is not None:
        return True
    return bool(getattr(ctx.system, "live", False) and ctx.system.platform in ("windows", "macos"))


def failing_extension(ctx: Context) -> Optional[str]:
    """The machine path of the extension (or DLL) whose load failed: the one the text names, else the
    module's file found beside the traceback's frames or in the interpreter's site-packages."""
    failure = ctx.failure
    system = ctx.system
    suffixes = _EXT_SUFFIXES.get(system.platform, (".so",))
    for value in (failure.extension, detail(ctx, "found_path"), failure.required_by):
        if value and value.lower().endswith(suffixes) and system.is_file(value):
            return value
    module = failure.module or ctx.target or ""
    parts = [p for p in module.split(".") if p]
    if not parts:
        return None
    pm = system.pathmod
    bases: List[str] = []
    from ._common import paths_in_text

    for path in paths_in_text(ctx):  # the traceback's frames: PIL\Image.py sits beside PIL\_imaging.pyd
        if "<" in path:
            continue
        folder = pm.dirname(path)
        for _ in range(len(parts)):
            if folder and folder not in bases:
                bases.append(folder)
            folder = pm.dirname(folder)
    bases += [f for f in ctx.site_folders if f not in bases]
    leaf = parts[-1].lower()
    for base in bases:
        for depth in (len(parts) - 1, 0):
            folder = pm.join(base, *parts[:depth]) if depth else base
            for entry in sorted(system.listdir(folder)):
                low = entry.lower()
                if low.endswith(suffixes[:1]) and (low.startswith(leaf + ".")):
                    return pm.join(folder, entry)
    return None


def machine_load(ctx: Context) -> Optional[MachineLoad]:
    """The failing extension resolved on the failure's machine (cached per report), or None when no
    machine is at hand or the extension file cannot be found there."""
    if MACHINE_LOAD_KEY in ctx.cache:
        return ctx.cache[MACHINE_LOAD_KEY]
    result = None
    if ctx.failure is not None and machine_at_hand(ctx):
        try:
            result = _machine_load(ctx)
        except Exception as exc:  # the engine is another family's: its trouble is a note, not our failure
            if strict_mode():
                raise
            ctx.notes.append(f"native loader could not resolve the failing extension: {type(exc).__name__}: {exc}")
    ctx.cache[MACHINE_LOAD_KEY] = result
    return result


def _machine_load(ctx: Context) -> Optional[MachineLoad]:
    from ..facts.native.loader import loader_for, problems

    path = failing_extension(ctx)
    machine = _machine(ctx)
    if path is None:
        ctx.notes.append("the failing extension's file was not found on the machine: its DLLs were not resolved")
        return None
    loader = machine.loader() if machine is not None else loader_for(ctx.system)
    tree = loader.resolve(path, mode="as-imported", python_executable=ctx.interpreter.executable)
    where = "the modelled machine" if machine is not None else "this machine"
    return MachineLoad(path, tree, problems(tree), loader, where)


def loader_source(ctx: Context, tree=None) -> str:
    """How a loader fact was had, for an evidence's source."""
    platform = getattr(tree, "platform", None) or ctx.system.platform
    rules = {"windows": "Windows search order", "macos": "dyld rules", "linux": "ld.so rules"}.get(platform, "")
    load = ctx.cache.get(MACHINE_LOAD_KEY)
    where = f", {load.source}" if load is not None else ""
    return f"dllmagic native loader ({rules}{where})"


def _loader_problems(ctx: Context, path: Optional[str]):
    """(tree, problems) of the native loader for ``path`` on the kernel's machine, or (None, ())."""
    load = machine_load(ctx)
    if load is not None and (not path or path == load.extension or not ctx.system.is_file(path)):
        return load.tree, load.problems
    if ctx.interpreter is None or not path or not ctx.system.is_file(path):
        return None, ()
    try:
        from ..facts.native.loader import problems, resolve
    except ImportError:
        return None, ()
    try:
        machine = _machine(ctx)
        tree = resolve(path, ctx.system, python_executable=ctx.interpreter.executable,
                       loader=machine.loader() if machine is not None else None)
        return tree, problems(tree)
    except Exception as exc:  # the engine is another family's: its trouble is a note, not our failure
        ctx.notes.append(f"native loader could not resolve {path}: {type(exc).__name__}: {exc}")
        return None, ()


def _searched(problem, source: str = "native loader (ld.so rules)") -> Optional[Evidence]:
    tried = [c for c in problem.searched if c.path]
    if not tried:
        return None
    shown = "; ".join(f"{c.path} ({c.rule}: {c.outcome}{', ' + c.reason if c.reason else ''})" for c in tried[:8])
    more = f" … and {len(tried) - 8} more" if len(tried) > 8 else ""
    return Evidence(f"places the loader tried for {problem.name}", shown + more, source)


# -- missing library ---------------------------------------------------------------------------------
@rule("missing-shared-library")
def missing_library(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    platform = platform_of(ctx)
    library = failure.library or basename(detail(ctx, "found_path")) or None
    if platform == "windows" or not library:
        return  # windows.py speaks for DLLs
    if knowledge_tables.cuda_library(library) is not None:
        return  # gpu.py speaks for the CUDA stack
    found_path = detail(ctx, "found_path") or ""
    requirer = failure.required_by or failure.extension
    evidence: List[Evidence] = kernel_evidence(ctx)
    evidence.append(Evidence("library the loader could not open", library, "the error message"))
    if detail(ctx, "elf_problem") == "file too short":
        evidence.append(Evidence("what stands at that path", f"{found_path or library}: an empty or truncated file "
                                 "(shorter than an ELF header)", "the error message"))
    if requirer:
        evidence.append(Evidence("needed by", requirer, "the error message"))
    tree, problems = _loader_problems(ctx, failure.extension or failure.required_by)
    for problem in problems:
        if problem.kind == "missing-library" and basename(problem.name) == library:
            searched = _searched(problem, loader_source(ctx, tree))
            if searched:
                evidence.append(searched)
            if tree is not None and tree.platform == "macos":
                from .macos import missing_dylib_evidence

                evidence.extend(missing_dylib_evidence(ctx, problem, tree))
            break

    vendored_folder = _vendored_folder(library, found_path, requirer) or _listed_in_record(ctx, library)
    if vendored_folder:
        yield _vendored(ctx, library, vendored_folder, evidence)
        return
    if _GLIBC_SONAME.match(library):
        yield _glibc_build_on_musl(ctx, library, requirer, evidence)
        return
    formula = _homebrew_formula(found_path)
    if formula and knowledge_tables.library_provider(library, "macos") is None:
        yield _homebrew_library(ctx, library, formula, found_path, evidence)
        return
    provider = knowledge_tables.library_provider(library, platform)
    if provider is not None:
        if "." not in library:   # the name find_library / cffi were given ("sndfile"): say which file it is
            library = f"{provider['library']} (looked up as '{library}')"
        yield _system_library(ctx, library, provider, platform, evidence)
        return
    yield _unknown_library(ctx, library, requirer, evidence)


#: Sonames only glibc provides: no glibc-based Linux lacks them, so a build for glibc runs on another C library.
_GLIBC_SONAME = LazyRegex(r"^(?:ld-linux(?:-[\w\-]+)?\.so\.\d|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2"
                           r"|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1|libnsl\.so\.1)$")


def _glibc_build_on_musl(ctx: Context, library: str, requirer: Optional[str], evidence: List[Evidence]) -> Finding:
    """A file of glibc itself is missing: the binary was built for glibc (manylinux), the system has another C
    library (musl: Alpine Linux)."""
    evidence = evidence + [Evidence("part of", "glibc, the GNU C library (every glibc-based Linux has it)",
                                    "https://sourceware.org/glibc/")]
    fix = fixes.instruction(
        "Install a build for this C library, or use a glibc-based system",
        "On Alpine (musl) pip needs a musllinux wheel of the package (or builds it from source); a manylinux wheel "
        "copied from elsewhere, or an old pip that ignores musllinux tags, installs one for glibc. Reinstall the "
        "package with an up-to-date pip, or use a glibc-based image (for example python:3.x-slim).")
    return Finding(
        kind="missing-shared-library", cause="wrong-architecture", confidence=0.85,
        summary=f"{library} belongs to glibc: {basename(requirer) if requirer else 'the extension'} was built for "
                f"glibc-based Linux (a manylinux build), but this system has another C library (musl on Alpine Linux, "
                f"for instance), which cannot run it.",
        evidence=tuple(evidence), fixes=(fix,), docs=docs_for("missing-shared-library", "wrong-architecture"))


#: Homebrew's prefixes (Apple silicon, Intel): a file under PREFIX/opt/FORMULA or PREFIX/Cellar/FORMULA.
_HOMEBREW_PATH = LazyRegex(r"^(?:/opt/homebrew|/usr/local|/home/linuxbrew/\.linuxbrew)/(?:opt|Cellar)/"
                            r"(?P<formula>[a-z0-9][a-z0-9@._+\-]{0,80})/")


def _homebrew_formula(path: str) -> Optional[str]:
    match = _HOMEBREW_PATH.match(path or "")
    return match.group("formula") if match else None


def _homebrew_library(ctx: Context, library: str, formula: str, path: str, evidence: List[Evidence]) -> Finding:
    """A library the binary was linked against in Homebrew's folder for one formula: a system library
    (Homebrew's), whose formula is not installed or was upgraded to a release without this file."""
    evidence = evidence + [Evidence("Homebrew formula the path belongs to", formula, "the path (PREFIX/opt/FORMULA)")]
    fix = fixes.instruction(
        f"Install Homebrew's {formula}, or reinstall what needs it",
        f"brew install {formula}   (or brew reinstall {formula}). If {library} is still missing, the formula has "
        f"moved to a newer release without this file: reinstall or rebuild the package that needs it so that it "
        f"links against the release installed now, or install the older release the file came from.")
    return Finding(
        kind="missing-shared-library", cause="missing-system-library", confidence=0.8,
        summary=f"{library} was linked from Homebrew's {formula} ({path}), which is not installed, or was upgraded "
                f"to a release that no longer has this file.",
        evidence=tuple(evidence), fixes=(fix,), docs=docs_for("missing-shared-library", "missing-system-library"))


def _vendored_folder(library: str, found_path: str, requirer: Optional[str]) -> Optional[str]:
    for path in (found_path, requirer or ""):
        folder = site_folder_of(path)
        if folder and (folder.endswith(".libs") or "/.dylibs/" in path.replace("\\", "/")):
            return folder
    if _HASHED.search(library) and requirer:
        return site_folder_of(requirer)
    return None


def _listed_in_record(ctx: Context, library: str) -> Optional[str]:
    """The import's own distribution lists ``library`` in its RECORD (it ships it): its top folder."""
    top = (ctx.failure.module or ctx.target or "").split(".")[0]
    if not top:
        return None
    if ctx.interpreter is None:
        return top if _HASHED.search(library) else None
    for dist in ctx.distributions.providing(top):
        if any(basename(entry) == library for entry in dist.record()):
            return top
    return None


def _vendored(ctx: Context, library: str, folder: str, evidence: List[Evidence]) -> Finding:
    dist_name, validated, source = distribution_for_folder(ctx, folder)
    evidence = evidence + [Evidence("bundled with the wheel of", dist_name, source)]
    dist = installed(ctx, dist_name)
    requirement = dist_name
    if dist is not None:
        requirement = f"{dist.name}=={dist.version}"
        missing = [m for m in dist.missing_files(limit=50) if basename(m) == library]
        if missing:
            evidence.append(Evidence("listed in RECORD but missing on disk", missing[0], dist.path + "/RECORD"))
    fix = pip(ctx, [requirement], validated=validated, reinstall=True,
              title=f"Reinstall {requirement} so its bundled libraries are complete")
    return Finding(
        kind="missing-shared-library", cause="missing-vendored-library", confidence=0.9,
        summary=f"{library} is a library bundled inside the {dist_name} wheel ({folder}), and it is missing: the "
                f"installation is incomplete or was partly removed. Reinstalling {dist_name} restores it.",
        evidence=tuple(evidence), fixes=tuple(f for f in (fix,) if f),
        docs=docs_for("missing-shared-library", "missing-vendored-library"))


def _system_library(ctx: Context, library: str, provider: dict, platform: str,
                    evidence: List[Evidence]) -> Finding:
    top = (ctx.failure.module or ctx.target or "").split(".")[0]
    fix_list: List[Fix] = []
    alternative = provider.get("pip_alternative")
    summary_alt = ""
    if alternative and top in alternative["imports"]:
        remove = list(alternative["instead_of"])
        if ctx.interpreter is not None:
            remove = [name for name in remove if installed(ctx, name) is not None] or remove[:1]
        fix_list.append(fixes.pip_replace(ctx.interpreter, remove, [alternative["dist"]],
                                          title=f"Use {alternative['dist']} instead ({alternative['why']})"))
        summary_alt = f" Or use {alternative['dist']}: {alternative['why']}."
    packages: List[Tuple[str, str]] = []
    android = ctx.failure.signature == "android-dlopen-library-not-found"
    if android:
        # Android's linker (Termux, Pydroid): Debian's and Fedora's package names and sudo do not apply there.
        stem = re.sub(r"^lib|\.so.*$", "", library)
        fix_list.append(fixes.instruction(
            f"Install the package that provides {library} with the device's package manager",
            f"In Termux: pkg search {stem}, then pkg install the package that provides it (no sudo). Other "
            f"Android Python apps ship their own libraries: use the app's package list, or a build of the package "
            f"made for it."))
    elif platform == "macos":
        packages += [("brew", name) for name in provider["brew"]]
    else:
        for manager in package_managers(ctx):
            packages += [(manager, name) for name in provider[manager]]
    for manager, name in packages:
        try:
            fix_list.append(fixes.system_package(manager, [name]))
        except fixes.UnsafeName:
            continue
    if provider["conda"] and not android:
        conda = conda_fix(ctx, provider["conda"][:1])
        if conda is not None:
            fix_list.insert(0 if not summary_alt else 1, conda)
    if provider.get("driver"):
        fix_list.append(fixes.instruction("Install the NVIDIA driver", provider.get("note", "")))
    release = os_release(ctx)
    if release:
        evidence = evidence + [Evidence("operating system", release[2] or release[0], "/etc/os-release")]
    names = ", ".join(f"{m} {n}" for m, n in packages[:4])
    evidence = evidence + [Evidence("what it is", provider["what"], f"knowledge/library_providers.json#{provider['id']}"),
                           Evidence("provided by", names or ", ".join(provider["conda"]), provider["source"])]
    if provider.get("note"):
        evidence.append(Evidence("note", provider["note"], provider["source"]))
    where = f" (install {names})" if names else ""
    return Finding(
        kind="missing-shared-library", cause="missing-system-library", confidence=0.92,
        summary=f"{library} — {provider['what']} — is not installed on this system{where}; "
                f"{top or 'the extension'} needs it.{summary_alt}",
        evidence=tuple(evidence), fixes=tuple(fix_list),
        docs=docs_for("missing-shared-library", "missing-system-library"))


def _unknown_library(ctx: Context, library: str, requirer: Optional[str], evidence: List[Evidence]) -> Finding:
    top = (ctx.failure.module or "").split(".")[0]
    fix_list: List[Fix] = []
    owner = site_folder_of(requirer) or (top or None)
    if owner:
        dist_name, validated, source = distribution_for_folder(ctx, owner)
        dist = installed(ctx, dist_name)
        requirement = f"{dist.name}=={dist.version}" if dist is not None else dist_name
        evidence = evidence + [Evidence("the extension belongs to", dist_name, source)]
        fix = pip(ctx, [requirement], validated=validated, reinstall=True,
                  title=f"Reinstall {requirement} (its libraries, or those of the package it builds on, are incomplete)")
        if fix:
            fix_list.append(fix)
    fix_list.append(fixes.instruction(
        f"Find out which package provides {library}",
        f"Debian/Ubuntu: apt-file search {library}   Fedora: dnf provides '*/{library}'   conda: "
        f"conda search --file {library}. If the file exists elsewhere, the folder is not on the loader's path "
        f"(LD_LIBRARY_PATH, RPATH, /etc/ld.so.conf)."))
    return Finding(
        kind="missing-shared-library", cause="library-not-found", confidence=0.6,
        summary=f"The loader found no {'usable ' if detail(ctx, 'elf_problem') else ''}{library} in the places it "
                f"searches; it is not a library dllmagic knows a "
                f"system package for, so it most likely belongs to {owner or 'the package'} or to a package it "
                f"builds on, whose installation is incomplete or of another release.",
        evidence=tuple(evidence), fixes=tuple(fix_list),
        docs=docs_for("missing-shared-library", "library-not-found"))


# -- symbol versions ---------------------------------------------------------------------------------
@rule("symbol-version")
def symbol_version(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    version = failure.version or failure.symbol or ""
    if not version:
        return
    found = detail(ctx, "found_path") or failure.library or ""
    library = failure.library or basename(found)
    requirer = failure.required_by or failure.extension or ""
    evidence: List[Evidence] = kernel_evidence(ctx) + [
        Evidence("version needed", version, "the error message"),
        Evidence("library found", found or library, "the error message")]
    if requirer:
        evidence.append(Evidence("needed by", requirer, "the error message"))
    upper = version.upper()
    if upper.startswith(("GLIBCXX_", "CXXABI_")):
        yield from _libstdcxx(ctx, version, found, requirer, evidence)
    elif upper.startswith("GLIBC_"):
        yield _glibc(ctx, version, found, requirer, evidence)
    else:
        yield _vendor_version(ctx, version, found, library, requirer, evidence)


def _vendor_version(ctx: Context, version: str, found: str, library: str, requirer: str,
                    evidence: List[Evidence]) -> Finding:
    """A library's own symbol version (GREET_2.0, OPENSSL_3.0.0 ...): is a copy that has it on the machine,
    for instance in the extension's own RUNPATH, pre-empted by an older one (LD_LIBRARY_PATH, already loaded)?"""
    newer: List[str] = []
    if ctx.interpreter is not None and found:
        why = _why_found(ctx, found, requirer)
        if why:
            evidence.append(why)
        newer = _copies_defining(ctx, version, found, _requirer_folders(ctx, requirer))
        for path in newer[:3]:
            evidence.append(Evidence(f"another copy that has {version}", path, "ELF version definitions"))
    if newer:
        folder = newer[0].rsplit("/", 1)[0]
        lib_path = ctx.system.getenv("LD_LIBRARY_PATH") or ""
        steps = [fixes.instruction(
            f"Let the loader find {newer[0]} first",
            (f"LD_LIBRARY_PATH ({lib_path}) puts the older copy first: remove that folder from LD_LIBRARY_PATH "
             f"where Jupyter is started, or put {folder} before it; then restart the kernel." if lib_path else
             f"Put {folder} first (LD_LIBRARY_PATH={folder}) where Jupyter is started, or remove the older copy "
             f"{found}; then restart the kernel."))]
        return Finding(
            kind="symbol-version", cause="older-copy-found-first", confidence=0.9,
            summary=f"The {library} that the loader picked ({found}) lacks {version}, which "
                    f"{basename(requirer) or 'the extension'} needs, while {newer[0]} has it: the older copy is "
                    f"found first.",
            evidence=tuple(evidence), fixes=tuple(steps), docs=docs_for("symbol-version", "older-copy-found-first"))
    return Finding(
        kind="symbol-version", cause="symbol-version-too-old", confidence=0.7,
        summary=f"{library} on this machine is older than {basename(requirer) or 'the extension'} needs "
                f"(it lacks the symbol version {version}).",
        evidence=tuple(evidence), fixes=(fixes.instruction(
            f"Install a newer {library}, or a release of the package built for the one you have"),),
        docs=docs_for("symbol-version", "symbol-version-too-old"))


def _requirer_folders(ctx: Context, requirer: str) -> List[str]:
    """The requirer's own folder and its RUNPATH/RPATH folders ($ORIGIN expanded)."""
    if not requirer or not ctx.system.is_file(requirer):
        return []
    try:
        from ..facts.native.binary import read_binary

        binary = read_binary(requirer, ctx.system)
    except Exception:
        return []
    origin = requirer.rsplit("/", 1)[0]
    folders = [origin]
    for entry in tuple(binary.runpath) + tuple(binary.rpath):
        for part in entry.split(":"):
            if part:
                folders.append(part.replace("$ORIGIN", origin).replace("${ORIGIN}", origin))
    return folders


def _copies_defining(ctx: Context, version: str, found: str, first: List[str]) -> List[str]:
    it = ctx.interpreter
    name = basename(found)
    folders = list(first) + [ctx.system.join(it.prefix, "lib"), ctx.system.join(it.base_prefix, "lib")]
    folders += list(_SYSTEM_LIB_FOLDERS)
    out: List[str] = []
    seen = {_real(ctx, found)}
    for folder in folders:
        path = ctx.system.join(folder, name)
        real = _real(ctx, path)
        if real in seen or not ctx.system.is_file(path):
            continue
        seen.add(real)
        if version in _versions_in(ctx, path):
            out.append(ctx.system.pathmod.normpath(path))
    return out


def _versions_in(ctx: Context, path: str) -> Tuple[str, ...]:
    """Symbol versions a library file defines (its ELF version definitions), or () when unreadable."""
    if ctx.interpreter is None or not path or not ctx.system.is_file(path):
        return ()
    try:
        from ..facts.native.binary import read_binary
    except ImportError:
        return ()
    try:
        return tuple(read_binary(path, ctx.system).versions_defined)
    except Exception:
        return ()


def _newest(versions: Iterable[str], family: str) -> Optional[str]:
    mine = [v for v in versions if v.startswith(family + "_")]
    return max(mine, key=knowledge_tables.version_key) if mine else None


def _libstdcxx(ctx: Context, version: str, found: str, requirer: str,
               evidence: List[Evidence]) -> Iterable[Finding]:
    family = version.split("_")[0]
    entry = knowledge_tables.libstdcxx_versions().get(version)
    gcc = entry["gcc"] if entry else None
    gcc_major = gcc.split(".")[0] if gcc else None
    if entry:
        evidence.append(Evidence(f"{version} first shipped with", f"GCC {gcc}", entry["source"]))
    distros = knowledge_tables.distributions_providing(version)
    if distros:
        evidence.append(Evidence("systems whose libstdc++ has it",
                                 ", ".join(f"{d['distribution']} {d['release']}" for d in distros[:6]),
                                 "knowledge/linux_distributions.json"))
    norm_found = found.replace("\\", "/")
    in_env = bool(re.search(r"/(?:ana|mini)conda\d?/|/miniforge\d?/|/mambaforge/|/envs/[^/]+/lib/|/opt/conda/lib/",
                            norm_found))
    newer: List[str] = []
    if ctx.interpreter is not None:
        have = _newest(_versions_in(ctx, found), family)
        if have:
            evidence.append(Evidence(f"newest {family} version in the library found", have, found))
        why = _why_found(ctx, found, requirer)
        if why:
            evidence.append(why)
        newer = _newer_copies(ctx, version, found)
        for path in newer[:3]:
            evidence.append(Evidence(f"another copy that has {version}", path, "ELF version definitions"))
    fix_list: List[Fix] = []
    conda_pkg = f"libstdcxx-ng>={gcc_major}" if gcc_major else "libstdcxx-ng"
    if newer:
        best = newer[0]
        folder = best.rsplit("/", 1)[0]
        fix_list.append(fixes.instruction(
            f"Make the loader use {best}",
            f"Start Jupyter (or Python) with LD_LIBRARY_PATH={folder} so this newer copy is found first, or "
            f"put it first with LD_PRELOAD={best}; then restart the kernel."))
        cause, confidence = "older-copy-found-first", 0.93
        summary = (f"The libstdc++ that was loaded ({found}) is older than {basename(requirer) or 'the extension'} "
                   f"needs ({version}, GCC {gcc or '?'} or newer), while a newer copy exists at {best}: the older "
                   f"copy is found first.")
    elif ctx.interpreter is None and not in_env and _conda_prefix_of(requirer):
        # From the text alone: the file that needs the version lives in a conda environment, which ships its
        # own libstdc++ (libstdcxx-ng), yet the system's copy was the one loaded.
        env = _conda_prefix_of(requirer)
        evidence.append(Evidence("the file that needs it is in the conda environment", env, "the paths in the text"))
        fix_list.append(fixes.instruction(
            "Let the loader find the environment's libstdc++ first",
            f"Start Jupyter (or Python) with LD_LIBRARY_PATH={env}/lib, or LD_PRELOAD={env}/lib/libstdc++.so.6, or "
            f"import the package that loads the environment's copy first; then restart the kernel."))
        cause, confidence = "older-copy-found-first", 0.7
        summary = (f"{basename(requirer) or 'The extension'} is in the conda environment {env}, which normally has "
                   f"its own libstdc++, but the system's older copy ({found or 'libstdc++.so.6'}, without {version}) "
                   f"was loaded first: most likely an earlier import loaded it, or the extension does not look in the "
                   f"environment's lib folder. Not checked (the text came without the machine): whether the "
                   f"environment's copy is there and has {version}; if it is missing or older too, updating it "
                   f"({conda_pkg}) is the fix.")
    else:
        cause, confidence = "symbol-version-too-old", 0.88
        where = "the environment's own" if in_env else "the system's"
        summary = (f"{basename(requirer) or 'The extension'} needs {version} (libstdc++ of GCC {gcc or '?'} or "
                   f"newer), but {where} libstdc++ ({found or 'libstdc++.so.6'}) is older.")
    conda = conda_fix(ctx, [conda_pkg], title=f"Update the environment's libstdc++ ({conda_pkg})")
    if conda is not None:
        fix_list.append(conda)
    elif in_env or ctx.interpreter is None:
        fix_list.append(fixes.instruction(
            f"Update the conda environment's libstdc++ ({conda_pkg})",
            f'conda install -c conda-forge "{conda_pkg}"   (in the environment that runs the kernel)'))
    if not in_env:
        fix_list.append(fixes.instruction(
            "Or use a build of the package made for this system's libstdc++",
            f"Install an older release of the package (its wheels for older systems), or run on a system whose "
            f"libstdc++ has {version}" + (f" ({', '.join(d['distribution'] + ' ' + d['release'] for d in distros[:3])})"
                                          if distros else "") + "."))
    yield Finding(kind="symbol-version", cause=cause, confidence=confidence, summary=summary,
                  evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("symbol-version", cause))


_CONDA_PREFIX = LazyRegex(r"^(?P<prefix>(?:/\S*?)?/(?:envs/[^/]+|(?:ana|mini)conda\d?|miniforge\d?|mambaforge|"
                           r"micromamba|opt/conda))/lib/python\d")


def _conda_prefix_of(path: str) -> Optional[str]:
    """The conda environment a site-packages file belongs to, read from its path, or None."""
    match = _CONDA_PREFIX.match((path or "").replace("\\", "/"))
    return match.group("prefix") if match else None


def _why_found(ctx: Context, found: str, requirer: str) -> Optional[Evidence]:
    if not found:
        return None
    if found in ctx.system.loaded_libraries():
        return Evidence("why that copy", "it was already loaded into the process by an earlier import (the "
                        "loader reuses a library of the same soname)", "/proc/self/maps")
    tree, _ = _loader_problems(ctx, requirer)
    if tree is None:
        return None
    try:
        from ..facts.native.loader import walk

        for node in walk(tree.root):
            if node.path and basename(node.path) == basename(found):
                return Evidence("why that copy", f"found by the loader's rule '{node.rule}'"
                                + (f" (folder from {node.via})" if node.via else ""), "native loader")
    except Exception:
        return None
    return None


def _newer_copies(ctx: Context, version: str, found: str) -> List[str]:
    it = ctx.interpreter
    name = basename(found) or "libstdc++.so.6"
    folders = [ctx.system.join(it.prefix, "lib"), ctx.system.join(it.base_prefix, "lib")]
    conda_prefix = ctx.system.getenv("CONDA_PREFIX")
    if conda_prefix:
        folders.append(ctx.system.join(conda_prefix, "lib"))
    folders += list(_SYSTEM_LIB_FOLDERS)
    out: List[str] = []
    seen = set()
    real_found = _real(ctx, found)
    for folder in folders:
        path = ctx.system.join(folder, name)
        real = _real(ctx, path)
        if not ctx.system.is_file(path) or real in seen or real == real_found:
            continue
        seen.add(real)
        if version in _versions_in(ctx, path):
            out.append(path)
    return out


def _real(ctx: Context, path: str) -> str:
    import os

    try:
        return os.path.realpath(ctx.system.host_path(path))
    except Exception:
        return path


def _glibc(ctx: Context, version: str, found: str, requirer: str, evidence: List[Evidence]) -> Finding:
    have = _newest(_versions_in(ctx, found), "GLIBC") if ctx.interpreter is not None else None
    if have:
        evidence.append(Evidence("this system's glibc", have.replace("GLIBC_", ""), found))
    distros = knowledge_tables.distributions_providing(version)
    if distros:
        evidence.append(Evidence(f"systems with glibc {version[6:]} or newer",
                                 ", ".join(f"{d['distribution']} {d['release']}" for d in distros[:6]),
                                 "knowledge/linux_distributions.json"))
    folder = site_folder_of(requirer)
    fix_list: List[Fix] = []
    if folder:
        dist_name, validated, _ = distribution_for_folder(ctx, folder)
        fix_list.append(fixes.instruction(
            f"Install a release of {dist_name} built for this glibc",
            f"The installed {dist_name} was built for glibc {version[6:]} (manylinux_{version[6:].replace('.', '_')} "
            f"or newer). pip picks such a wheel only when the system allows it, so this file came from elsewhere "
            f"(another machine, a conda channel, a copied environment): reinstall {dist_name} with pip on this "
            f"machine, or pin an older release whose wheels are built for older systems."))
    fix_list.append(fixes.instruction(
        "Or run on a newer system", "glibc is part of the operating system and cannot be upgraded with pip or "
        "conda: use a newer distribution or a container image"
        + (f" ({distros[0]['distribution']} {distros[0]['release']} or later)" if distros else "") + "."))
    return Finding(
        kind="symbol-version", cause="symbol-version-too-old", confidence=0.9,
        summary=f"{basename(requirer) or 'The extension'} was built for glibc {version[6:]} or newer, but this "
                f"system's C library{' is ' + have.replace('GLIBC_', 'glibc ') if have else ' is older'}.",
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("symbol-version", "symbol-version-too-old"))


# -- symbols: another Python, or mismatched releases ---------------------------------------------------
def _python_of_path(text: str) -> Optional[str]:
    match = _CPYTHON_TAG.search(text or "")
    if not match:
        return None
    groups = [g for g in match.groups() if g is not None]
    return f"{groups[0]}.{groups[1]}" if len(groups) >= 2 else None


@rule("python-abi-mismatch", "missing-symbol")
def symbol_missing(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    symbol = failure.symbol or ""
    if platform_of(ctx) == "windows" and not symbol and failure.kind == "missing-symbol":
        return  # windows.py: "The specified procedure could not be found"
    if ctx.system.platform == "macos" and not re.match(r"_?Py[A-Z_]", symbol) and failure.kind == "missing-symbol":
        load = machine_load(ctx)
        if load is not None and load.problems and load.problems[0].kind == "missing-symbol":
            return  # macos.py: the machine shows which copy lacks it
    is_python_symbol = bool(re.match(r"_?Py[A-Z_]|PyInit_", symbol)) or failure.kind == "python-abi-mismatch"
    extension = failure.extension or detail(ctx, "found_path") or ""
    evidence = kernel_evidence(ctx)
    if symbol:
        evidence.append(Evidence("symbol", symbol, "the error message"))
    if extension:
        evidence.append(Evidence("extension module", extension, "the error message"))
    folder = site_folder_of(extension) or (failure.module or "").split(".")[0] or None
    if is_python_symbol:
        yield _other_python(ctx, symbol, extension, folder, evidence)
        return
    owner = next((dist for prefix, dist in SYMBOL_OWNERS.items() if symbol.startswith(prefix)), None)
    fix_list: List[Fix] = []
    summary = (f"{basename(extension) or 'The extension'} needs the symbol {symbol}, which the library it was "
               f"linked against does not define here: the two come from releases that do not match.")
    if ctx.interpreter is None:
        # From a text alone: which copy of the library was loaded is not shown.
        where = ("a folder on DYLD_LIBRARY_PATH, a copy another package loaded first" if platform_of(ctx) == "macos"
                 else "a folder on LD_LIBRARY_PATH, a leftover copy in /usr/local/lib")
        summary += (f" Not checked (the text came without the machine): an older copy of that library found first "
                    f"({where}) gives the same message while the right copy is installed.")
    if folder:
        dist_name, validated, _ = distribution_for_folder(ctx, folder)
        if owner and owner != dist_name:
            evidence.append(Evidence("the symbol belongs to", owner, "its C++ namespace"))
            summary = (f"{dist_name} was built against another release of {owner} than the one installed "
                       f"(it needs {symbol}, which this {owner} does not define).")
            own = installed(ctx, owner)
            if own is not None:
                evidence.append(Evidence(f"installed {owner}", own.version, own.path))
            fix_list.append(fixes.instruction(
                f"Install matching releases of {dist_name} and {owner}",
                f"Each {dist_name} release is built for one {owner} release: reinstall both together from one "
                f"source, e.g. %pip install --force-reinstall {owner} {dist_name} (or the pair your project pins)."))
        else:
            fix = pip(ctx, [dist_name], validated=validated, reinstall=True,
                      title=f"Reinstall {dist_name} with the same installer as its dependencies")
            if fix:
                fix_list.append(fix)
    yield Finding(kind="missing-symbol", cause="symbol-missing", confidence=0.7, summary=summary,
                  evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("missing-symbol", "symbol-missing"))


def _other_python(ctx: Context, symbol: str, extension: str, folder: Optional[str],
                  evidence: List[Evidence]) -> Finding:
    failure = ctx.failure
    built_for = _python_of_path(extension) or (failure.version if failure.version and
                                                re.fullmatch(r"\d\.\d+", failure.version or "") else None)
    if built_for is None and failure.version and failure.version.startswith("python"):
        digits = failure.version[6:]
        built_for = f"{digits[0]}.{digits[1:]}" if len(digits) >= 2 else None
    running = ".".join(ctx.interpreter.version.split(".")[:2]) if ctx.interpreter else None
    if built_for:
        evidence.append(Evidence("built for", f"Python {built_for}", "the file name's ABI tag / the message"))
    if running:
        evidence.append(Evidence("running", f"Python {running}", "the kernel interpreter"))
    # Direction from the symbol: a C-API function a later Python added means the build is for that Python.
    added = knowledge_tables.python_capi_symbol(symbol) if symbol else None
    newer = None
    if added is not None:
        evidence.append(Evidence(f"{symbol} added in", f"Python {added['added']}",
                                 f"knowledge/python_capi_symbols.json#{added['id']}"))
        if running and knowledge_tables.version_key(added["added"]) > knowledge_tables.version_key(running):
            newer = added["added"]
            built_for = built_for or f"{newer} or later"
    fix_list: List[Fix] = []
    dist_name = None
    if folder:
        dist_name, validated, _ = distribution_for_folder(ctx, folder)
        dist = installed(ctx, dist_name)
        requirement = f"{dist.name}=={dist.version}" if dist is not None else dist_name
        fix = pip(ctx, [requirement], validated=validated, reinstall=True,
                  title=f"Reinstall {requirement} for this Python")
        if fix:
            fix_list.append(fix)
    if newer:
        fix_list.append(fixes.instruction(
            f"Or run it on Python {newer} or later",
            f"{symbol} exists from Python {newer} on: this build was made for that Python. Either install the build "
            f"for Python {running} (the reinstall above), or use a Python {newer}+ environment as this kernel."))
    fix_list.append(fixes.instruction(
        "Remove builds made for another Python from this environment",
        "Do not copy site-packages between Python versions, and delete stale build folders (build/, *.so next to "
        "the sources) of packages built in place; then reinstall them with this interpreter."))
    versions = f" (built for Python {built_for}" + (f", running {running})" if running else ")") if built_for else ""
    return Finding(
        kind="python-abi-mismatch", cause="built-for-other-python", confidence=0.88,
        summary=f"{basename(extension) or (failure.module and f'The extension module {failure.module}') or dist_name or 'The extension'} was built for another Python than the one "
                f"importing it{versions}" + (f": the C-API symbol {symbol} is missing." if symbol else "."),
        evidence=tuple(evidence), fixes=tuple(fix_list),
        docs=docs_for("python-abi-mismatch", "built-for-other-python"))


# -- architecture ------------------------------------------------------------------------------------
@rule("architecture-mismatch")
def wrong_architecture(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    path = detail(ctx, "found_path") or failure.extension or failure.library or ""
    evidence = kernel_evidence(ctx)
    if path:
        evidence.append(Evidence("binary", path, detail(ctx, "library_from") or "the error message"))
    have, need = detail(ctx, "have"), detail(ctx, "need")
    elf_class = detail(ctx, "elf_class")
    if have and need:
        evidence.append(Evidence("architectures", f"the file is {have}, the process needs {need}", "the error message"))
    if elf_class:
        evidence.append(Evidence("ELF class of the file", elf_class, "the error message"))
    if detail(ctx, "windows_error"):
        evidence.append(Evidence("Windows error", detail(ctx, "windows_error") or "", "the error code"))
    if ctx.interpreter is not None:
        evidence.append(Evidence("this Python", f"{ctx.interpreter.architecture}, {ctx.interpreter.bits}-bit",
                                 "platform.machine()"))
    folder = site_folder_of(path) or (failure.module or "").split(".")[0] or None
    fix_list: List[Fix] = []
    if folder:
        dist_name, validated, _ = distribution_for_folder(ctx, folder)
        fix = pip(ctx, [dist_name], validated=validated, reinstall=True,
                  title=f"Reinstall {dist_name} for this Python's architecture")
        if fix:
            fix_list.append(fix)
    if have and need and "arm64" in (have + need):
        fix_list.append(fixes.instruction(
            "Use one architecture throughout (Apple silicon)",
            "An x86_64 Python (Rosetta) cannot load arm64 libraries and vice versa: use a native arm64 Python "
            "(python.org universal2, Homebrew in /opt/homebrew, Miniforge arm64) and reinstall the packages."))
    return_summary = (f"{basename(path) or 'A binary'} is built for another CPU architecture or word size than this "
                      f"Python process" + (f" (the file is {have}, the process {need})" if have and need else "")
                      + (f" ({elf_class})" if elf_class else "") + ".")
    if detail(ctx, "windows_error") and re.search(r"\.(?:so(?:\.\d+)*|dylib)$", path, re.IGNORECASE):
        # Windows was asked to load a Linux (.so) or macOS (.dylib) library: no Windows build of any word size.
        return_summary = (f"{basename(path)} is a {'Linux' if '.so' in path.lower() else 'macOS'} library, which "
                          f"Windows cannot load at all: a Windows build of it (a .dll) is needed.")
    yield Finding(kind="architecture-mismatch", cause="wrong-architecture", confidence=0.85,
                  summary=return_summary, evidence=tuple(evidence), fixes=tuple(fix_list),
                  docs=docs_for("architecture-mismatch", "wrong-architecture"))


# -- the Linux loader refusing a library it found ------------------------------------------------------
@rule("native-init-failed")
def loader_refused(ctx: Context) -> Iterable[Finding]:
    """``cannot enable executable stack`` and ``cannot allocate memory in static TLS block``."""
    failure = ctx.failure
    path = detail(ctx, "found_path") or failure.extension or failure.library or ""
    signature = failure.signature or ""
    evidence = kernel_evidence(ctx) + [Evidence("library", path or "?", "the error message")]
    folder = site_folder_of(path)
    if signature == "linux-executable-stack":
        fix_list: List[Fix] = []
        if folder:
            dist_name, validated, _ = distribution_for_folder(ctx, folder)
            try:
                fix_list.append(fixes.pip_install(ctx.interpreter, [dist_name], validated=validated, upgrade=True,
                                                  title=f"Upgrade {dist_name} (newer builds no longer ask for an "
                                                        f"executable stack)"))
            except fixes.UnsafeName:
                pass   # a folder name read from the text that is no requirement: no install to offer
        fix_list.append(fixes.instruction(
            "Or clear the flag on the file", f"execstack -c {path or '<the .so file>'}   (or: patchelf "
            f"--clear-execstack); SELinux and glibc 2.41+ refuse libraries that request an executable stack."))
        yield Finding(kind="native-init-failed", cause="executable-stack-refused", confidence=0.9,
                      summary=f"{basename(path) or 'A library'} asks for an executable stack, which this system "
                              f"refuses (glibc 2.41 and later, SELinux): the loader will not map it.",
                      evidence=tuple(evidence), fixes=tuple(fix_list),
                      docs=docs_for("native-init-failed", "executable-stack-refused"))
    elif signature == "linux-static-tls":
        yield Finding(kind="native-init-failed", cause="static-tls-exhausted", confidence=0.88,
                      summary=f"{basename(path) or 'A library'} needs static thread-local storage, and too little "
                              f"was left when it was loaded late (common with libgomp on aarch64): load it first.",
                      evidence=tuple(evidence),
                      fixes=(fixes.instruction("Load the library at program start",
                                               f"Start Jupyter/Python with LD_PRELOAD={path or '<the library>'}, or "
                                               f"import the package that needs it before the others."),),
                      docs=docs_for("native-init-failed", "static-tls-exhausted"))
