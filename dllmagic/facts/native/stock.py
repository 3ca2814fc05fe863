"""Stock machines: a clean machine of a wheel's platform tag, modelled from the knowledge tables.

A stock machine is a :class:`~dllmagic.facts.system.System` whose root folder holds the files of the
wheel being checked (unpacked where the interpreter would install them), and whose *system* files -
the libraries a manylinux/musllinux policy allows, the DLLs of a fresh Windows install, the libraries
of a macOS release, the interpreter itself - are facts from the tables (``stock_binary``), not files.
:func:`~dllmagic.facts.native.binary.read_binary` asks ``stock_binary`` first, so the loader models
resolve a wheel against a machine that exists nowhere but in the tables:

- ``linux_wheel_policies.json``: per policy the allowed libraries and, per CPU, the symbol versions
  (GLIBC_, GLIBCXX_, CXXABI_, GCC_ ...) each family reaches: a stock libc.so.6 defines exactly those;
- ``windows_stock_dlls.json`` (+ KnownDLLs and API sets): System32 of a fresh Windows 10/11, with or
  without the Visual C++ 2015-2022 Redistributable, and python.org's ``pythonXY.dll`` beside python.exe;
- ``macos_stock_libraries.json``: the system libraries of the macOS release in the tag.

A stock library has no symbol table: the loaders check names and versions against it, never symbols.
"""
from __future__ import annotations

import ntpath
import posixpath
import re
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

from ..._record import field
from ..system import System
from .binary import Binary, Needed

__all__ = ["StockSpec", "stock_machine", "linux_policy", "linux_policies", "windows_stock",
           "macos_stock", "python_dll_name"]


def _knowledge(name: str) -> list:
    from ...knowledge import load

    return load(name)["entries"]


def _vkey(text: str) -> Tuple[int, ...]:
    out = []
    for part in text.split("."):
        if not part.isdigit():
            break
        out.append(int(part))
    return tuple(out)


# -- the description of one stock machine ----------------------------------------------------------

class StockSpec:
    """Which stock machine: platform, CPU (the names the file readers use), bits, and the baseline.

    ``baseline``: the policy name (Linux), "windows-10" (Windows), the macOS version "10.9" (macOS).
    ``extras``: "vc-redist" adds the Visual C++ Redistributable to a Windows machine.
    """

    def __init__(self, platform: str, machine: str, bits: int, baseline: str, *, python: Tuple[int, int],
                 tag: str, glibc_limit: Optional[Tuple[int, ...]] = None, extras: FrozenSet[str] = frozenset(),
                 policy_arch: Optional[str] = None) -> None:
        self.platform, self.machine, self.bits, self.baseline = platform, machine, bits, baseline
        self.python, self.tag, self.glibc_limit, self.extras = python, tag, glibc_limit, frozenset(extras)
        self.policy_arch = policy_arch or machine

    def with_extras(self, *extras: str) -> "StockSpec":
        return StockSpec(self.platform, self.machine, self.bits, self.baseline, python=self.python, tag=self.tag,
                         glibc_limit=self.glibc_limit, extras=self.extras | set(extras),
                         policy_arch=self.policy_arch)

    def describe(self) -> str:
        xy = f"{self.python[0]}.{self.python[1]}"
        if self.platform == "linux":
            if "minimal" in self.extras:
                return (f"a minimal {self.baseline} {self.policy_arch} machine (its policy's base libraries, without "
                        f"the X11, OpenGL and GLib ones), Python {xy}")
            return f"a stock {self.baseline} {self.policy_arch} machine (the libraries and symbol versions its policy allows), Python {xy}"
        if self.platform == "windows":
            redist = "with" if "vc-redist" in self.extras else "without"
            return (f"a clean Windows 10/11 {self.machine} install {redist} the Visual C++ 2015-2022 "
                    f"Redistributable, python.org Python {xy}")
        return f"a stock macOS {self.baseline} {self.machine} machine, python.org Python {xy}"


# -- a System whose system files are facts ---------------------------------------------------------

class StockSystem(System):
    """A modelled machine: the wheel's files on disk under ``root``, the stock files from the tables."""

    #: machine path (case-folded on Windows) -> Binary; folder -> names in it.
    stock_files: Dict[str, Binary] = field(default=None, compare=False, repr=False)
    stock_dirs: Dict[str, Tuple[str, ...]] = field(default=None, compare=False, repr=False)
    #: Install names present without a file (macOS shared cache): read as "no such file".
    stock_spec: object = field(default=None, compare=False, repr=False)

    def _key(self, path: str) -> str:
        if self.platform == "windows":
            return path.replace("/", "\\").rstrip("\\").lower()
        return posixpath.normpath(path) if path else path

    def stock_binary(self, path: str) -> Optional[Binary]:
        hit = self.stock_files.get(self._key(path))
        if hit is not None and hit.path != path:
            hit = hit.replace(path=path)
        return hit

    def exists(self, path: str) -> bool:
        key = self._key(path)
        return key in self.stock_files or key in self.stock_dirs or super().exists(path)

    def is_file(self, path: str) -> bool:
        return self._key(path) in self.stock_files or super().is_file(path)

    def is_dir(self, path: str) -> bool:
        return self._key(path) in self.stock_dirs or super().is_dir(path)

    def listdir(self, path: str) -> List[str]:
        names = list(self.stock_dirs.get(self._key(path), ()))
        return names + [n for n in super().listdir(path) if n not in names]

    def realpath(self, path: str) -> str:
        if self._key(path) in self.stock_files:
            return path
        return super().realpath(path)


def _add(files: Dict[str, Binary], dirs: Dict[str, list], system_platform: str, path: str, binary: Binary) -> None:
    pm = ntpath if system_platform == "windows" else posixpath
    key = path.lower() if system_platform == "windows" else path
    files[key] = binary
    folder, name = pm.split(path)
    fkey = folder.lower() if system_platform == "windows" else folder
    dirs.setdefault(fkey, [])
    if name not in dirs[fkey]:
        dirs[fkey].append(name)
    # every folder above exists too
    while True:
        parent, leaf = pm.split(folder)
        if not leaf or parent == folder:
            break
        pkey = parent.lower() if system_platform == "windows" else parent
        dirs.setdefault(pkey, [])
        if leaf not in dirs[pkey]:
            dirs[pkey].append(leaf)
        folder = parent


# -- Linux ---------------------------------------------------------------------------------------------

#: Wheel-tag CPU -> (policy table CPU, ELF machine name, bits, musl loader arch).
LINUX_ARCHES = {
    "x86_64": ("x86_64", "x86_64", 64, "x86_64"),
    "i686": ("i686", "i386", 32, "i386"),
    "aarch64": ("aarch64", "aarch64", 64, "aarch64"),
    "armv7l": ("armv7l", "arm", 32, "armhf"),
    "ppc64le": ("ppc64le", "ppc64", 64, "powerpc64le"),
    "s390x": ("s390x", "s390x", 64, "s390x"),
    "riscv64": ("riscv64", "riscv", 64, "riscv64"),
}
#: The version family of each policy library's own symbol versions (GLIBC_2.17, GLIBCXX_3.4.19 ...).
_FAMILIES = {"libstdc++.so.6": ("GLIBCXX", "CXXABI"), "libgcc_s.so.1": ("GCC",), "libz.so.1": ("ZLIB",),
             "libatomic.so.1": ("LIBATOMIC",)}
_GLIBC_LIBS = re.compile(r"^(libc|libm|libmvec|libpthread|libdl|librt|libutil|libresolv|libanl|libnsl)\.so\.\d+$")
_GLIBC_INTERP = {("x86_64", 64): "/lib64/ld-linux-x86-64.so.2", ("i386", 32): "/lib/ld-linux.so.2",
                 ("aarch64", 64): "/lib/ld-linux-aarch64.so.1", ("arm", 32): "/lib/ld-linux-armhf.so.3",
                 ("ppc64", 64): "/lib64/ld64.so.2", ("s390x", 64): "/lib/ld64.so.1",
                 ("riscv", 64): "/lib/ld-linux-riscv64-lp64d.so.1"}


def linux_policies() -> Dict[str, dict]:
    """Policy name and alias (manylinux2014) -> table entry."""
    out: Dict[str, dict] = {}
    for entry in _knowledge("linux_wheel_policies"):
        out[entry["policy"]] = entry
        for alias in entry["aliases"]:
            out[alias] = entry
    return out


def linux_policy(name: str) -> Tuple[Optional[dict], Optional[Tuple[int, ...]], Optional[str]]:
    """(entry, glibc limit, note) for a policy as a tag names it. A manylinux_2_N that the table does not
    list (manylinux_2_30) is the newest listed policy below it, its GLIBC versions taken up to 2.N."""
    table = linux_policies()
    if name in table:
        entry = table[name]
        m = re.match(r"^manylinux_(\d+)_(\d+)$", entry["policy"])
        return entry, (int(m.group(1)), int(m.group(2))) if m else None, None
    m = re.match(r"^manylinux_(\d+)_(\d+)$", name)
    if not m:
        return None, None, None
    want = (int(m.group(1)), int(m.group(2)))
    below = [(tuple(map(int, e["policy"].split("_")[1:3])), e) for e in _knowledge("linux_wheel_policies")
             if e["policy"].startswith("manylinux_")]
    lower = [b for b in below if b[0] <= want]
    if not lower:
        return None, None, None
    _v, entry = max(lower, key=lambda b: b[0])
    return entry, want, (f"no published policy for {name}: the libraries of {entry['policy']}, the GLIBC versions "
                         f"up to {want[0]}.{want[1]}")


def _glibc_versions(policy: dict, arch: str, limit: Optional[Tuple[int, ...]]) -> List[str]:
    """The GLIBC versions of the stock machine: the policy's, plus newer ones of later policies up to ``limit``."""
    versions = list(policy["symbol_versions"].get(arch, {}).get("GLIBC", []))
    if limit is not None:
        for entry in _knowledge("linux_wheel_policies"):
            for v in entry["symbol_versions"].get(arch, {}).get("GLIBC", []):
                if v not in versions and _vkey(v) and _vkey(v) <= limit:
                    versions.append(v)
    return versions


def _linux_files(spec: StockSpec, policy: dict, files, dirs) -> Tuple[str, Tuple[str, ...], str]:
    """Adds the stock libraries; returns (program interpreter, default folders, loader kind)."""
    arch, machine, bits, musl_arch = LINUX_ARCHES[spec.policy_arch]
    versions = policy["symbol_versions"].get(arch, {})
    musl = policy["libc"] == "musl"
    if musl:
        interp = f"/lib/ld-musl-{musl_arch}.so.1"
        defaults: Tuple[str, ...] = ("/lib", "/usr/local/lib", "/usr/lib")
    else:
        interp = _GLIBC_INTERP.get((machine, bits), "/lib/ld-linux.so.2")
        defaults = ("/lib64", "/usr/lib64") if bits == 64 else ("/lib", "/usr/lib")

    def lib(path: str, soname: str, defined: Iterable[str]) -> Binary:
        return Binary(path=path, format="elf", bits=bits, machine=machine, endian="little", kind="shared",
                      soname=soname, versions_defined=tuple(defined),
                      notes=(f"part of {spec.baseline} ({policy['source']})",))

    glibc = _glibc_versions(policy, arch, spec.glibc_limit)
    _add(files, dirs, "linux", interp, lib(interp, posixpath.basename(interp),
                                           () if musl else [posixpath.basename(interp)] + [f"GLIBC_{v}" for v in glibc]))
    if musl:
        # Alpine's libc: the loader itself, also under its own name.
        libc = f"/lib/libc.musl-{musl_arch}.so.1"
        _add(files, dirs, "linux", libc, lib(libc, posixpath.basename(interp), ()))
    for name in policy["libraries"]:
        if "minimal" in spec.extras and name in policy.get("optional_libraries", ()):
            continue  # a minimal install (a container image) lacks what the policy allows beyond the base
        if musl and name == "libc.so":
            continue  # musl serves libc.so from its loader
        path = posixpath.join(defaults[0], name)
        if _GLIBC_LIBS.match(name):
            defined = [name] + [f"GLIBC_{v}" for v in glibc]
        elif name in _FAMILIES:
            defined = [name] + [f"{fam}_{v}" for fam in _FAMILIES[name] for v in versions.get(fam, [])]
        else:
            defined = []  # a library whose versions the policy does not fix: any version passes
        _add(files, dirs, "linux", path, lib(path, name, defined))
    for d in defaults:
        dirs.setdefault(d, [])
    return interp, defaults, "musl" if musl else "glibc"


# -- Windows -------------------------------------------------------------------------------------------

#: Wheel-tag CPU -> (PE machine name, bits).
WINDOWS_ARCHES = {"win_amd64": ("x86_64", 64), "win32": ("i386", 32), "win_arm64": ("aarch64", 64)}


def python_dll_name(python: Tuple[int, int]) -> str:
    return f"python{python[0]}{python[1]}.dll"


def windows_stock(extras: FrozenSet[str], machine: str, python: Tuple[int, int]) -> Dict[str, List[str]]:
    """kind -> DLL names of the stock Windows machine: "system32" (with the redistributable when asked)
    and "python" (beside python.exe)."""
    out: Dict[str, List[str]] = {"system32": [], "python": []}
    for entry in _knowledge("windows_stock_dlls"):
        if entry.get("machines") and machine not in entry["machines"]:
            continue
        if entry.get("min_python") and python < tuple(int(p) for p in entry["min_python"].split(".")):
            continue
        kind = entry["kind"]
        if kind == "vc-redist":
            if "vc-redist" in extras:
                out["system32"].append(entry["name"])
        else:
            out[kind].append(entry["name"])
    from .loader.windows.facts import default_api_sets, default_known_dlls

    out["system32"].extend(sorted(default_known_dlls()))
    out["system32"].extend(sorted({host for _prefix, host in default_api_sets() if host}))
    out["system32"] = list(dict.fromkeys(n.lower() for n in out["system32"]))
    return out


def vc_redist_names() -> FrozenSet[str]:
    return frozenset(e["name"].lower() for e in _knowledge("windows_stock_dlls") if e["kind"] == "vc-redist")


# -- macOS ---------------------------------------------------------------------------------------------

def macos_stock(version: Tuple[int, ...]) -> Tuple[str, ...]:
    """Install names and framework folders present on stock macOS ``version``."""
    out = []
    for entry in _knowledge("macos_stock_libraries"):
        if _vkey(entry["min_macos"]) > tuple(version[:2]):
            continue
        if entry.get("max_macos") and _vkey(entry["max_macos"]) < tuple(version[:2]):
            continue
        out.append(entry["path"])
    return tuple(out)


# -- building one -------------------------------------------------------------------------------------

def stock_machine(spec: StockSpec, root: str):
    """(system, loader, python executable, site-packages folder, prefix) of the stock machine ``spec`` whose
    files live under the host folder ``root`` (the wheel is unpacked there by the caller)."""
    files: Dict[str, Binary] = {}
    dirs: Dict[str, list] = {}
    xy = f"{spec.python[0]}.{spec.python[1]}"
    if spec.platform == "linux":
        policy, _limit, _note = linux_policy(spec.baseline)
        interp, defaults, kind = _linux_files(spec, policy, files, dirs)
        prefix = "/usr/local"
        python = f"/usr/local/bin/python{xy}"
        site = f"/usr/local/lib/python{xy}/site-packages"
        _arch, machine, bits, musl_arch = LINUX_ARCHES[spec.policy_arch]
        # The interpreter of a stock machine: libpython linked in (PEP 513: extensions must not link it).
        needed = (f"libc.musl-{musl_arch}.so.1",) if kind == "musl" else ("libm.so.6", "libc.so.6")
        _add(files, dirs, "linux", python, Binary(path=python, format="elf", bits=bits, machine=machine,
                                                  endian="little", kind="executable", interp=interp,
                                                  needed=tuple(Needed(n) for n in needed)))
        system = StockSystem(platform="linux", machine=machine, environ={}, root=root, executable=python,
                             live=False, loaded=(), stock_files=files,
                             stock_dirs={k: tuple(v) for k, v in dirs.items()}, stock_spec=spec)
        loader = _StockLinuxLoader(system, defaults=defaults, kind=kind)
        return system, loader, python, site, prefix
    if spec.platform == "windows":
        from .loader.windows import WindowsLoader
        from .loader.windows.facts import WindowsFacts

        machine, bits = spec.machine, spec.bits
        names = windows_stock(spec.extras, machine, spec.python)
        prefix = f"C:\\Python{spec.python[0]}{spec.python[1]}"
        python = prefix + "\\python.exe"
        site = prefix + "\\Lib\\site-packages"

        def dll(path: str, needed=()) -> Binary:
            return Binary(path=path, format="pe", bits=bits, machine=machine, kind="shared",
                          soname=ntpath.basename(path), needed=tuple(Needed(n) for n in needed))

        # System32 of the process's bitness; a 32-bit process on 64-bit Windows is redirected to SysWOW64.
        for folder in ("C:\\Windows\\System32", "C:\\Windows\\SysWOW64"):
            for name in names["system32"]:
                _add(files, dirs, "windows", f"{folder}\\{name}", dll(f"{folder}\\{name}"))
        pydll = python_dll_name(spec.python)
        beside = [n for n in names["python"]]
        _add(files, dirs, "windows", f"{prefix}\\{pydll}", dll(f"{prefix}\\{pydll}", beside))
        _add(files, dirs, "windows", f"{prefix}\\python3.dll", dll(f"{prefix}\\python3.dll", (pydll,)))
        for name in beside:
            _add(files, dirs, "windows", f"{prefix}\\{name}", dll(f"{prefix}\\{name}"))
        _add(files, dirs, "windows", python, Binary(path=python, format="pe", bits=bits, machine=machine,
                                                    kind="executable", needed=(Needed(pydll), Needed("kernel32.dll"))))
        system = StockSystem(platform="windows", machine=machine, environ={"PATH": "C:\\Windows\\System32;C:\\Windows"},
                             root=root, executable=python, live=False, loaded=(), stock_files=files,
                             stock_dirs={k: tuple(v) for k, v in dirs.items()}, stock_spec=spec)
        facts = WindowsFacts(version=(10, 0, 19045), python_version=spec.python, conda=False, os_bits=64)
        return system, WindowsLoader(system, facts), python, site, prefix
    from .loader.macos import MacFacts

    version = tuple(int(p) for p in spec.baseline.split("."))
    prefix = f"/Library/Frameworks/Python.framework/Versions/{xy}"
    python = f"{prefix}/bin/python{xy}"
    site = f"{prefix}/lib/python{xy}/site-packages"
    from .macho import Dylib, MachOBinary

    libsystem = "/usr/lib/libSystem.B.dylib"
    _add(files, dirs, "macos", python, MachOBinary(path=python, format="macho", bits=64, machine=spec.machine,
                                                   kind="executable", needed=(Needed(libsystem),),
                                                   dylibs=(Dylib(libsystem, "load"),)))
    system = StockSystem(platform="macos", machine=spec.machine, environ={}, root=root, executable=python,
                         live=False, loaded=(), stock_files=files, stock_dirs={k: tuple(v) for k, v in dirs.items()},
                         stock_spec=spec)
    facts = MacFacts(version=version, arch=spec.machine, shared_cache=macos_stock(version))
    return system, _StockMacLoader(system, facts), python, site, prefix


# -- loader models with the stock machine's facts -------------------------------------------------------

def _stock_linux_loader_class():
    from .loader.ldcache import LdCache
    from .loader.linux import LinuxLoader
    from .loader.linux.platform import KERNEL_PLATFORM, PlatformFacts

    class StockLinuxLoader(LinuxLoader):
        """glibc ld.so / musl on a stock machine: the default folders of the tables, no ld.so.cache,
        no glibc-hwcaps or legacy hwcap subfolders (the stock libraries are in the default folders)."""

        def __init__(self, system, *, defaults, kind) -> None:
            super().__init__(system, hwcaps=())
            self._stock_defaults = (tuple(defaults), kind)
            self._cache["glibc"] = LdCache(entries=(), format="none",
                                           notes=())

        def defaults_for(self, interp, machine, bits):
            return self._stock_defaults

        def platform_for(self, interp, machine, bits):
            return PlatformFacts(KERNEL_PLATFORM.get(machine, machine), (), (), "the stock machine's CPU")

        def cpuinfo(self) -> str:
            return ""

    return StockLinuxLoader


def _StockLinuxLoader(system, *, defaults, kind):
    cls = _CLASSES.get("linux")
    if cls is None:
        cls = _CLASSES["linux"] = _stock_linux_loader_class()
    return cls(system, defaults=defaults, kind=kind)


def _StockMacLoader(system, facts):
    cls = _CLASSES.get("macos")
    if cls is None:
        from .loader.macos import MacLoader

        class StockMacLoader(MacLoader):
            """dyld on a stock macOS: the system libraries of the table are present (in the shared cache
            from macOS 11 on, as files before), whatever the version."""

            def in_shared_cache(self, path: str) -> bool:
                return path.startswith(tuple(self.cache_prefixes))

        cls = _CLASSES["macos"] = StockMacLoader
    return cls(system, facts)


_CLASSES: Dict[str, type] = {}


def check_stock_tables() -> List[str]:
    """Problems in the three stock-machine tables beyond the shape every table has; empty when all is well."""
    problems: List[str] = []
    version = re.compile(r"^[0-9]+(\.[0-9]+)*$|^[A-Z0-9_]+(\.[0-9]+)*$")
    for e in _knowledge("linux_wheel_policies"):
        where = f"linux_wheel_policies/{e['id']}"
        if e["libc"] not in ("glibc", "musl"):
            problems.append(f"{where}: libc must be glibc or musl")
        if not set(e["optional_libraries"]) <= set(e["libraries"]):
            problems.append(f"{where}: an optional library the policy does not allow")
        if not re.match(r"^(manylinux|musllinux)_\d+_\d+$", e["policy"]):
            problems.append(f"{where}: not a PEP 600/656 policy name")
        for arch, families in e["symbol_versions"].items():
            if arch not in {a[0] for a in LINUX_ARCHES.values()} | {"ppc64", "loongarch64"}:
                problems.append(f"{where}: unknown CPU {arch}")
            for fam, versions in families.items():
                bad = [v for v in versions if not version.match(v)]
                if bad:
                    problems.append(f"{where}: {arch} {fam} versions {bad[:3]} are not versions")
    kinds = {"system32", "vc-redist", "python"}
    for e in _knowledge("windows_stock_dlls"):
        if e["kind"] not in kinds:
            problems.append(f"windows_stock_dlls/{e['id']}: kind must be one of {sorted(kinds)}")
        if not re.match(r"^[a-z0-9_.-]+\.(dll|drv)$", e["name"]):
            problems.append(f"windows_stock_dlls/{e['id']}: not a lower-case DLL name")
    for e in _knowledge("macos_stock_libraries"):
        if not e["path"].startswith(("/usr/lib/", "/System/Library/")):
            problems.append(f"macos_stock_libraries/{e['id']}: not a system path")
        for key in ("min_macos", "max_macos"):
            if key in e and not re.match(r"^\d+\.\d+$", e[key]):
                problems.append(f"macos_stock_libraries/{e['id']}: {key} must be X.Y")
    return problems
