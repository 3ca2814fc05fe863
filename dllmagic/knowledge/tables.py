"""Typed accessors over the knowledge tables (each loaded once, on first use)."""
from __future__ import annotations

from functools import lru_cache

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import Any, Dict, List, Optional, Tuple

from . import load


def _by(table: str, key: str) -> Dict[str, dict]:
    return {entry[key]: entry for entry in load(table)["entries"]}


@lru_cache(maxsize=None)
def import_names() -> Dict[str, dict]:
    """Import name (dotted where it matters: google.protobuf) → entry with 'dist' and 'alternatives'."""
    return _by("import_names", "import")


@lru_cache(maxsize=None)
def stdlib_changes() -> Dict[str, dict]:
    """Module removed from the standard library → entry with 'removed_in' and 'replacement_dist'."""
    return _by("stdlib_changes", "module")


@lru_cache(maxsize=None)
def optional_builtins() -> Dict[str, dict]:
    """Standard-library module that needs an optional library at build time → entry; also the modules that
    import it and fail with it ('ssl' → the '_ssl' entry)."""
    table = _by("optional_builtins", "module")
    for entry in list(table.values()):
        for public in entry.get("imported_as", ()):
            table.setdefault(public, entry)
    return table


@lru_cache(maxsize=None)
def frozen_apps() -> Tuple[dict, ...]:
    """Bundlers of Python applications (PyInstaller, cx_Freeze, Nuitka) with the marks their output carries."""
    return tuple(load("frozen_apps")["entries"])


def frozen_app_in(text: str) -> Optional[dict]:
    """The bundler whose marks ``text`` carries, or None."""
    for entry in frozen_apps():
        if any(mark in text for mark in entry["marks"]):
            return entry
    return None


@lru_cache(maxsize=None)
def namespace_packages() -> Dict[str, dict]:
    """Import name shared by several distributions (google, azure, nvidia, airflow.providers) → entry."""
    return _by("namespace_packages", "import")


def namespace_parent(module: str) -> Optional[str]:
    """The longest proper dotted prefix of ``module`` that is a shared namespace package, or None."""
    table = namespace_packages()
    parts = module.split(".")
    for i in range(len(parts) - 1, 0, -1):
        if ".".join(parts[:i]) in table:
            return ".".join(parts[:i])
    return None


@lru_cache(maxsize=None)
def _stdlib_removed_names() -> Dict[Tuple[str, str], dict]:
    return {(entry["module"], name): entry for entry in load("stdlib_removed_names")["entries"]
            for name in entry["names"]}


def stdlib_removed_name(module: str, name: str) -> Optional[dict]:
    """The entry saying from which Python on the standard-library ``module`` no longer defines ``name``."""
    return _stdlib_removed_names().get((module, name))


@lru_cache(maxsize=None)
def _native_submodules() -> Dict[str, frozenset]:
    return {entry["package"]: frozenset(entry["modules"]) for entry in load("native_submodules")["entries"]}


@lru_cache(maxsize=None)
def extension_packages() -> frozenset:
    """Top-level import names of packages whose wheels hold extension modules."""
    return frozenset(entry["import"] for entry in load("extension_packages")["entries"])


def is_native_submodule(package: str, name: str) -> bool:
    """Whether ``from package import name`` imports a module of ``package`` that loads native code."""
    return name in _native_submodules().get(package, ())


@lru_cache(maxsize=None)
def _stdlib_added_names() -> Dict[Tuple[str, str], dict]:
    return {(entry["module"], name): entry for entry in load("stdlib_added_names")["entries"]
            for name in entry["names"]}


def stdlib_added_name(module: str, name: str) -> Optional[dict]:
    """The entry saying from which Python on the standard-library ``module`` defines ``name``."""
    return _stdlib_added_names().get((module, name))


# -- diagnosis tables (issue 7, sections 2-4): appended ----------------------------------------------
import re as _re


def _version_tuple(text: str) -> Tuple[int, ...]:
    """'2.3.0' -> (2, 3, 0); 'GLIBCXX_3.4.30' -> (3, 4, 30); non-numeric parts end the tuple."""
    numbers = []
    for part in _re.split(r"[._]", _re.sub(r"^[A-Za-z]+_?", "", text or "")):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers)


def version_key(text: str) -> Tuple[int, ...]:
    """A sortable key for dotted versions and symbol versions (GLIBC_2.28, GLIBCXX_3.4.30)."""
    return _version_tuple(text)


@lru_cache(maxsize=None)
def _providers_by_name() -> Dict[Tuple[str, str], dict]:
    out: Dict[Tuple[str, str], dict] = {}
    for entry in load("library_providers")["entries"]:
        out[(entry["platform"], entry["library"].lower())] = entry
    return out


def _soname_stem(name: str) -> str:
    # libGL.so.1.7.0 -> libGL.so.1 ; libfoo.so -> libfoo.so ; keeps the major version the loader asks for.
    match = _re.match(r"^(.+?\.so(?:\.\d+)?)(?:\.\d+)*$", name)
    return match.group(1) if match else name


def library_provider(name: str, platform: Optional[str] = None) -> Optional[dict]:
    """The provider entry of a native library file name (``libGL.so.1``, ``MSVCP140.dll``), or None.

    Windows names match case-insensitively (as Windows does); Linux versioned names fall back to their
    soname stem (``libGL.so.1.7.0`` → ``libGL.so.1``).
    """
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    table = _providers_by_name()
    platforms = [platform] if platform else ["linux", "windows", "macos"]
    for plat in platforms:
        for candidate in (base, _soname_stem(base)):
            entry = table.get((plat, candidate.lower()))
            if entry is not None:
                return entry
    # names given as a family (the api-ms-win-crt-* API sets of the Universal CRT)
    for pattern, entry in _provider_patterns():
        if entry["platform"] in platforms and pattern.match(base.lower()):
            return entry
    # A name without a version: the development link (libsndfile.so, libfoo.dylib) or the name that
    # ctypes.util.find_library / cffi take ("sndfile"). It is the library of that stem, when only one is known.
    stem = _unversioned_stem(base)
    if stem:
        suffix_platform = {".so": "linux", ".dylib": "macos"}.get(_re.sub(r"^[^.]*", "", base.lower()))
        for plat in platforms:
            if suffix_platform and plat != suffix_platform:
                continue
            entries = _providers_by_stem().get((plat, stem), ())
            if len({e["id"] for e in entries}) == 1:
                return entries[0]
    return None


def _unversioned_stem(name: str) -> Optional[str]:
    """``libsndfile`` for ``libsndfile.so``, ``libsndfile.dylib``, ``sndfile`` or ``libsndfile``; None for a
    versioned name (its version decides) or anything else."""
    low = name.lower()
    match = _re.fullmatch(r"(lib)?([a-z][\w+\-]*?)(\.so|\.dylib)?", low)
    if not match or (not match.group(1) and match.group(3)):
        return None
    return "lib" + match.group(2)


@lru_cache(maxsize=None)
def _providers_by_stem() -> Dict[Tuple[str, str], Tuple[dict, ...]]:
    out: Dict[Tuple[str, str], List[dict]] = {}
    for entry in load("library_providers")["entries"]:
        stem = _re.match(r"^(lib[\w+\-]+?)(?:[.\-]\d[\w.]*)?\.(?:so|dylib)\b", entry["library"].lower())
        if stem:
            out.setdefault((entry["platform"], stem.group(1)), []).append(entry)
    return {key: tuple(value) for key, value in out.items()}


@lru_cache(maxsize=None)
def _provider_patterns() -> Tuple[Tuple[Any, dict], ...]:
    return tuple((_re.compile(e["library_pattern"]), e) for e in load("library_providers")["entries"]
                 if e.get("library_pattern"))


def literal_prefix(pattern: str) -> str:
    """The text every match of ``pattern`` starts with, read up to its first special character ("" when
    the pattern has a top-level alternation, or starts with one)."""
    depth, in_class, i = 0, False, 0
    while i < len(pattern):  # a "|" outside groups and classes: the prefix of one branch says nothing
        ch = pattern[i]
        if ch == "\\":
            i += 1
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif ch == "|" and depth == 0:
            return ""
        i += 1
    out: List[str] = []
    i = 0
    while i < len(pattern):
        ch, step = pattern[i], 1
        if ch == "\\":
            ch, step = pattern[i + 1:i + 2], 2
            if not ch or ch.isalnum() or ch == "_":  # a class (\d, \w ...) or an escape with a meaning
                break
        elif ch in ".^$*+?{}[]()|":
            break
        if pattern[i + step:i + step + 1] in ("?", "*", "+", "{"):  # this character is repeated or optional
            break
        out.append(ch)
        i += step
    return "".join(out)


@lru_cache(maxsize=None)
def _cuda_entries() -> Tuple[Tuple[str, bool, dict], ...]:
    """(literal prefix, ignores case, entry) of each GPU-stack library pattern, in table order."""
    out = []
    for e in load("cuda_libraries")["entries"]:
        ignore_case = e["platform"] == "windows"
        prefix = literal_prefix(e["pattern"])
        if not prefix.isascii():  # case-insensitive equivalents of non-ASCII letters include ASCII ones
            prefix = ""
        out.append((prefix.lower() if ignore_case else prefix, ignore_case, e))
    return tuple(out)


@lru_cache(maxsize=None)
def _cuda_regex(pattern: str, ignore_case: bool) -> Any:
    return _re.compile(pattern, _re.IGNORECASE if ignore_case else 0)


def cuda_library(name: str) -> Optional[dict]:
    """The GPU-stack entry for a library file name, with ``{minor}`` filled in, or None."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    # A pattern is compiled only for a name that starts with its literal prefix (most names have none of
    # the ~70 prefixes). Non-ASCII names skip the filter: case-insensitive matching is not lower() there.
    folded = base.lower() if base.isascii() else None
    for prefix, ignore_case, entry in _cuda_entries():
        if folded is not None and not (folded if ignore_case else base).startswith(prefix):
            continue
        match = _cuda_regex(entry["pattern"], ignore_case).fullmatch(base)
        if match:
            groups = {k: v for k, v in match.groupdict().items() if v is not None}
            if not groups:
                return entry
            filled = dict(entry)
            filled["version"] = entry["version"].format(**groups)
            filled["conda"] = [c.format(**groups) for c in entry["conda"]]
            return filled
    return None


@lru_cache(maxsize=None)
def cuda_drivers() -> Tuple[dict, ...]:
    """CUDA toolkit release → oldest driver, oldest CUDA first."""
    return tuple(sorted(load("cuda_drivers")["entries"], key=lambda e: version_key(e["cuda"])))


def driver_needed(cuda: str, platform: str = "linux") -> Optional[dict]:
    """The entry saying which driver runs CUDA ``cuda`` ("12.3", "11.x"): the minor-version-compatibility
    floor of its major version where there is one (what actually gates running it), else the toolkit's."""
    major = cuda.split(".")[0]
    for entry in cuda_drivers():
        if entry["kind"] == "minor-version-compatibility" and entry["cuda"].split(".")[0] == major:
            return entry
    for entry in cuda_drivers():
        if entry["cuda"] == cuda:
            return entry
    return None


@lru_cache(maxsize=None)
def libstdcxx_versions() -> Dict[str, dict]:
    """GLIBCXX_3.4.N / CXXABI_1.3.N → entry with the first GCC release that has it."""
    return _by("libstdcxx_versions", "version")


@lru_cache(maxsize=None)
def linux_distributions() -> Tuple[dict, ...]:
    return tuple(load("linux_distributions")["entries"])


def distributions_providing(version: str) -> List[dict]:
    """Distribution releases whose system glibc (GLIBC_2.N) or libstdc++ (GLIBCXX_3.4.N) has ``version``."""
    want = version_key(version)
    field = "glibcxx" if version.upper().startswith(("GLIBCXX", "CXXABI")) else "glibc"
    if version.upper().startswith("CXXABI"):
        return []  # the table records GLIBCXX levels only
    out = []
    for entry in linux_distributions():
        have = entry.get(field)
        if have and version_key(have) >= want:
            out.append(entry)
    return out


@lru_cache(maxsize=None)
def framework_builds(package: str) -> Tuple[dict, ...]:
    """Tested builds of ``package`` ("tensorflow", "torch"), newest release first."""
    entries = [e for e in load("framework_builds")["entries"] if e["package"] == package]
    return tuple(sorted(entries, key=lambda e: version_key(e["release"]), reverse=True))


def framework_packages() -> Tuple[str, ...]:
    return tuple(sorted({e["package"] for e in load("framework_builds")["entries"]}))


@lru_cache(maxsize=None)
def first_release_for_python() -> Dict[Tuple[str, str], dict]:
    """(distribution name normalised, Python X.Y) → the entry naming the first release with wheels for it."""
    return {(_re.sub(r"[-_.]+", "-", e["dist"]).lower(), e["python"]): e for e in load("python_wheels")["entries"]}


@lru_cache(maxsize=None)
def numpy2_support() -> Dict[str, dict]:
    """Distribution name (normalised) → first release built for NumPy 2."""
    return {_re.sub(r"[-_.]+", "-", e["dist"]).lower(): e for e in load("numpy2_support")["entries"]}


def numpy2_for_import(top: str) -> List[dict]:
    """numpy2_support entries whose distribution provides the import ``top`` (cv2 → three OpenCV wheels)."""
    return [e for e in load("numpy2_support")["entries"] if top in e["imports"]]


@lru_cache(maxsize=None)
def numpy_removed_names() -> Dict[str, dict]:
    return _by("numpy_removed_names", "name")


@lru_cache(maxsize=None)
def numpy_struct_size(struct: str, size: int, bits: int = 64) -> Optional[dict]:
    """The row of numpy_struct_sizes for a struct size ('dtype', 96 → NumPy 1.x), or None."""
    for entry in load("numpy_struct_sizes")["entries"]:
        if entry["struct"] == struct and entry["size"] == size and entry["bits"] == bits:
            return entry
    return None


def introduced_name(module: str, name: str) -> Optional[dict]:
    """The release that introduced ``module.name`` (knowledge/introduced_names.json), or None."""
    for entry in load("introduced_names")["entries"]:
        if entry["module"] == module and entry["name"] == name:
            return entry
    return None


def python_capi_symbol(symbol: str) -> Optional[dict]:
    """The row of python_capi_symbols for a C-API function ('PyLong_AsInt' → added in 3.13), or None."""
    for entry in load("python_capi_symbols")["entries"]:
        if entry["symbol"] == symbol.lstrip("_") or entry["symbol"] == symbol:
            return entry
    return None


def package_indexes() -> Tuple[dict, ...]:
    """Package indexes named by local version labels (knowledge/package_indexes.json)."""
    return tuple(load("package_indexes")["entries"])


def protobuf_generations() -> Tuple[dict, ...]:
    return tuple(load("protobuf_generations")["entries"])


@lru_cache(maxsize=None)
def _openmp_patterns() -> Tuple[Tuple[Any, dict], ...]:
    return tuple((_re.compile(e["pattern"], _re.IGNORECASE), e) for e in load("openmp_runtimes")["entries"])


def openmp_runtime(name: str) -> Optional[dict]:
    """Which OpenMP runtime a library file is (``libiomp5md.dll`` → Intel), or None."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    for pattern, entry in _openmp_patterns():
        if pattern.fullmatch(base):
            return entry
    return None


@lru_cache(maxsize=None)
def _dll_init_failures() -> Dict[str, dict]:
    return {e["dll"].lower(): e for e in load("dll_init_failures")["entries"]}


def dll_init_failure(name: str) -> Optional[dict]:
    """The known cause of a Windows DLL's initialisation failure (``c10.dll`` → the VC++ runtime), or None."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].lower()
    return _dll_init_failures().get(base)


@lru_cache(maxsize=None)
def _windows_package_dlls() -> Tuple[Tuple[Any, dict], ...]:
    return tuple((_re.compile(e["module"]), e) for e in load("windows_package_dlls")["entries"])


def windows_package_dll(module: str, code: int) -> Optional[dict]:
    """The known, most common cause of a Windows DLL load failure (error ``code``, no DLL named) of the
    package ``module`` belongs to (``win32api`` 126 → pywin32's DLL folder off the search path), or None."""
    for pattern, entry in _windows_package_dlls():
        if code in entry["codes"] and pattern.match(module or ""):
            return entry
    return None


# -- semantic checks of the tables above (scripts/check_knowledge.py and the tests run them) ----------
def _check_diagnosis_tables() -> List[str]:
    """Problems in the diagnosis tables beyond the shape :func:`load` checks; empty when all is well."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    problems: List[str] = []
    name_re = _re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
    sys_re = _re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._@-]*$")
    for entry in load("library_providers")["entries"]:
        for key in ("apt", "dnf", "brew"):
            for pkg in entry[key]:
                if not sys_re.match(pkg):
                    problems.append(f"library_providers/{entry['id']}: bad {key} package {pkg!r}")
        alt = entry.get("pip_alternative")
        if alt and not name_re.match(alt["dist"]):
            problems.append(f"library_providers/{entry['id']}: bad pip alternative {alt['dist']!r}")
        redist = entry.get("windows_redist")
        if redist and not redist["url"].startswith("https://"):
            problems.append(f"library_providers/{entry['id']}: redistributable URL must be https")
        if entry["platform"] not in ("linux", "windows", "macos"):
            problems.append(f"library_providers/{entry['id']}: unknown platform")
    for entry in load("cuda_libraries")["entries"]:
        try:
            _re.compile(entry["pattern"])
        except _re.error as exc:
            problems.append(f"cuda_libraries/{entry['id']}: pattern does not compile: {exc}")
        for pkg in entry["pip"]:
            if not _re.match(r"^nvidia-[a-z-]+-cu1[1-3]$", pkg):
                problems.append(f"cuda_libraries/{entry['id']}: unexpected pip package {pkg!r}")
    for entry in load("cuda_drivers")["entries"]:
        for key in ("linux", "windows"):
            if not _re.match(r"^\d+\.\d+(\.\d+)?$", entry[key]):
                problems.append(f"cuda_drivers/{entry['id']}: bad {key} driver version")
    previous: Tuple[int, ...] = ()
    for entry in load("libstdcxx_versions")["entries"]:
        if not _re.match(r"^(GLIBCXX_3\.4|CXXABI_1\.3)\.\d+$", entry["version"]):
            problems.append(f"libstdcxx_versions/{entry['id']}: bad version {entry['version']!r}")
        if entry["version"].startswith("GLIBCXX"):
            gcc = version_key(entry["gcc"])
            if gcc < previous:
                problems.append(f"libstdcxx_versions/{entry['id']}: GCC releases must not go backwards")
            previous = gcc
    for entry in load("framework_builds")["entries"]:
        try:
            SpecifierSet(entry["python"])
        except InvalidSpecifier:
            problems.append(f"framework_builds/{entry['id']}: bad python specifier {entry['python']!r}")
        for plat in entry["platforms"] + entry["gpu_platforms"]:
            if not _re.match(r"^(linux|windows|macos)-(x86_64|aarch64|arm64)$", plat):
                problems.append(f"framework_builds/{entry['id']}: bad platform {plat!r}")
        if not set(entry["gpu_platforms"]) <= set(entry["platforms"]):
            problems.append(f"framework_builds/{entry['id']}: a GPU platform without a release on it")
    for entry in load("numpy2_support")["entries"]:
        if not name_re.match(entry["dist"]) or not version_key(entry["first_release"]):
            problems.append(f"numpy2_support/{entry['id']}: bad name or version")
    for entry in load("protobuf_generations")["entries"]:
        try:
            SpecifierSet(entry["runtime"])
        except InvalidSpecifier:
            problems.append(f"protobuf_generations/{entry['id']}: bad runtime specifier")
    for entry in load("numpy_struct_sizes")["entries"]:
        if entry["numpy"] not in ("1.x", "2.x") or not isinstance(entry["size"], int):
            problems.append(f"numpy_struct_sizes/{entry['id']}: bad series or size")
    for entry in load("python_capi_symbols")["entries"]:
        if not _re.match(r"^3\.\d+$", entry["added"]) or not _re.match(r"^_?Py", entry["symbol"]):
            problems.append(f"python_capi_symbols/{entry['id']}: bad symbol or release")
    for entry in load("native_submodules")["entries"]:
        if not all(part.isidentifier() for part in entry["package"].split(".")) or \
                not all(name.isidentifier() for name in entry["modules"]):
            problems.append(f"native_submodules/{entry['id']}: bad package or module name")
    for entry in load("extension_packages")["entries"]:
        if not entry["import"].isidentifier() or not name_re.match(entry["dist"]):
            problems.append(f"extension_packages/{entry['id']}: bad import or distribution name")
    for entry in load("stdlib_added_names")["entries"]:
        if not _re.match(r"^3\.\d+$", entry["added_in"]) or not all(n.isidentifier() for n in entry["names"]):
            problems.append(f"stdlib_added_names/{entry['id']}: bad name or release")
    for entry in load("introduced_names")["entries"]:
        if not name_re.match(entry["dist"]) or not version_key(entry["introduced"]):
            problems.append(f"introduced_names/{entry['id']}: bad name or version")
    for entry in load("package_indexes")["entries"]:
        try:
            _re.compile(entry["local_label"])
        except _re.error as exc:
            problems.append(f"package_indexes/{entry['id']}: pattern does not compile: {exc}")
        if not entry["index_url"].startswith("https://") or "{label}" not in entry["index_url"]:
            problems.append(f"package_indexes/{entry['id']}: index_url must be https and hold {{label}}")
    for entry in load("openmp_runtimes")["entries"]:
        try:
            _re.compile(entry["pattern"])
        except _re.error as exc:
            problems.append(f"openmp_runtimes/{entry['id']}: pattern does not compile: {exc}")
    for entry in load("windows_package_dlls")["entries"]:
        try:
            _re.compile(entry["module"])
        except _re.error as exc:
            problems.append(f"windows_package_dlls/{entry['id']}: module pattern does not compile: {exc}")
        if not set(entry["codes"]) <= {126, 127}:
            problems.append(f"windows_package_dlls/{entry['id']}: codes must be 126 and/or 127")
    return problems


DIAGNOSIS_TABLES = ("library_providers", "cuda_libraries", "cuda_drivers", "libstdcxx_versions",
                    "linux_distributions", "framework_builds", "numpy2_support", "numpy_removed_names",
                    "protobuf_generations", "openmp_runtimes", "numpy_struct_sizes", "package_indexes",
                    "introduced_names", "python_capi_symbols",
                    # import-system tables (recognition of pasted texts)
                    "namespace_packages", "stdlib_removed_names", "stdlib_added_names", "native_submodules", "stdlib_added_modules",
                    "extension_packages",
                    "pyc_magic_numbers", "windows_package_dlls")


# -- import-system tables (recognition of pasted texts) ----------------------------------------------
def python_of_pyc_magic(number: int) -> Optional[dict]:
    """The entry of the Python release whose .pyc files start with magic ``number``, or None."""
    for entry in load("pyc_magic_numbers")["entries"]:
        if entry["first"] <= number <= entry["last"]:
            return entry
    return None


@lru_cache(maxsize=None)
def stdlib_added_modules() -> Dict[str, dict]:
    """Standard-library module → the Python release that added it (and its backport distribution)."""
    return _by("stdlib_added_modules", "module")
