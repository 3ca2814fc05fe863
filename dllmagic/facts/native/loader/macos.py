"""dyld, emulated over a System: which file each LC_LOAD_DYLIB of an extension resolves to, and why.

Follows dyld(1), Apple's "Run-Path Dependent Libraries" and delocate's documented order:

1. an image already loaded under that install name or path is reused;
2. ``DYLD_LIBRARY_PATH``: the leaf name in each folder, before anything else (unless the environment
   was purged: SIP-protected programs, or a kernel started through /bin/sh or /usr/bin/env);
3. the install name itself, after expanding ``@executable_path`` (the python binary's folder),
   ``@loader_path`` (the folder of the image holding the load command) and ``@rpath`` (each LC_RPATH
   of the run-path stack: the requesting image's, then its loader's, up to the main executable; an
   rpath entry is itself expanded relative to the image that declares it);
4. the dyld shared cache: on macOS 11+ system libraries (/usr/lib, /System/Library) are not on disk;
   such a path is present when it is in the cache (modelled: every path under those prefixes);
5. ``DYLD_FALLBACK_LIBRARY_PATH`` (leaf name), by default /usr/local/lib and /usr/lib.

Each candidate is checked as dyld does and the reason kept in its words: "no such file", "not a
mach-o file", "mach-o file, but is an incompatible architecture (have 'x86_64', need 'arm64')" (a fat
file is searched for the slice of the process's architecture, which is the python binary's: an
x86_64-only python on Apple silicon runs under Rosetta as x86_64), a minimum macOS newer than the
machine's. The compatibility version recorded in the load command is checked against the found
dylib's, and every two-level-namespace import against the exports of the library it names (and of
what that library re-exports). Python's C API comes by flat lookup (``-undefined dynamic_lookup``):
not an error. A missing weak dylib is not an error either.
"""
from __future__ import annotations

import posixpath
from collections import deque
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple

from ..binary import Binary, read_binary
from .tree import Candidate, DepTree, MissingSymbol, Node, freeze_draft, freeze_tree, walk

__all__ = ["MacLoader", "MacFacts", "dyld_error_text", "SHARED_CACHE_PREFIXES"]

#: Paths under these prefixes live in the dyld shared cache on macOS 11+ (Big Sur release notes
#: 62986286): absent on disk, present to dyld.
SHARED_CACHE_PREFIXES = ("/usr/lib/", "/System/Library/", "/System/iOSSupport/")
DEFAULT_FALLBACK = ("/usr/local/lib", "/usr/lib")
MAX_IMAGES = 4000


@dataclass(frozen=True)
class MacFacts:
    """What dyld knows beyond files and variables: the macOS version, the process architecture (None:
    the python binary's slice for the CPU), the shared-cache prefixes, whether DYLD_* was purged."""

    version: Tuple[int, ...] = (14, 0)
    arch: Optional[str] = None
    shared_cache: Optional[Tuple[str, ...]] = None
    env_purged: bool = False
    fallback_default: bool = True


def _mac_version(v: Tuple[int, ...]) -> str:
    return ".".join(str(x) for x in (tuple(v) + (0,))[:2])


@dataclass
class _Img:
    path: str
    binary: Binary           # the slice in use
    loader: Optional["_Img"]
    preloaded: bool = False
    node: Optional["_N"] = None
    deps: Dict[str, "_Img"] = field(default_factory=dict)


@dataclass
class _N:
    name: str
    depth: int
    requested_by: Optional[str]
    path: Optional[str] = None
    rule: Optional[str] = None
    via: Optional[str] = None
    candidates: List[Candidate] = field(default_factory=list)
    children: List["_N"] = field(default_factory=list)
    repeat: bool = False
    system: bool = False
    error: Optional[str] = None
    img: Optional[_Img] = None
    missing_symbols: List[MissingSymbol] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def freeze(self) -> Node:
        return freeze_tree(self)

    def freeze_one(self, children: tuple) -> Node:
        b = self.img.binary if self.img is not None else None
        # problems met reading the symbol tables, once the symbol check read them
        read = b.__dict__.get("_imports") if b is not None else None
        return freeze_draft(self, b, tuple(read[-1]) if read else (), children)


class MacLoader:
    """The dyld state of one macOS machine (reusable for many files)."""

    def __init__(self, system, facts: Optional[MacFacts] = None) -> None:
        self.system = system
        if facts is None:
            facts = MacFacts()
            if system.live and system.platform == "macos":  # pragma: no cover - needs a live macOS
                import platform

                ver = platform.mac_ver()[0]
                if ver:
                    facts = MacFacts(version=tuple(int(p) for p in ver.split(".")))
        self.facts = facts
        self.cache_prefixes = facts.shared_cache if facts.shared_cache is not None else SHARED_CACHE_PREFIXES

    def in_shared_cache(self, path: str) -> bool:
        return self.facts.version >= (11,) and path.startswith(tuple(self.cache_prefixes))

    def realpath(self, path: str) -> str:
        return self.system.realpath(path)

    def resolve(self, path: str, *, mode: str = "as-imported", python_executable: Optional[str] = None,
                symbols: Optional[bool] = None) -> DepTree:
        return _Resolution(self, path, mode, python_executable, symbols).run()


def _slice(binary: Binary, arch: str):
    from ..macho import pick_slice

    return pick_slice(binary, arch) if hasattr(binary, "slices") else None


def _have(binary: Binary) -> str:
    archs = getattr(binary, "archs", ()) or ((binary.machine,) if binary.machine else ())
    return ",".join(archs) or "?"


def _need(arch: str) -> str:
    return "'arm64e' or 'arm64'" if arch == "arm64e" else f"'{arch}'"


class _Resolution:
    def __init__(self, loader: MacLoader, path: str, mode: str, python_executable: Optional[str],
                 symbols: Optional[bool]) -> None:
        if mode not in ("as-imported", "standalone"):
            raise ValueError(f"mode must be 'as-imported' or 'standalone', not {mode!r}")
        self.L = loader
        self.system = loader.system
        self.facts = loader.facts
        self.path = path
        self.mode = mode
        self.symbols = True if symbols is None else symbols
        self.python = python_executable if python_executable is not None else (self.system.executable or None)
        self.arch = self.facts.arch or _host_arch(self.system.machine)
        self.by_name: Dict[str, _Img] = {}
        self.notes: List[str] = []
        self.main: Optional[_Img] = None
        self.preloaded_paths: List[str] = []
        env = {} if self.facts.env_purged else dict(self.system.environ)
        if self.facts.env_purged and any(k.startswith("DYLD_") for k in self.system.environ):
            self.notes.append("DYLD_* variables are set but purged (SIP-protected program, or a kernel started "
                              "through /bin/sh or /usr/bin/env): dyld ignores them")
        self.dyld_library_path = [p for p in env.get("DYLD_LIBRARY_PATH", "").split(":") if p]
        fb = env.get("DYLD_FALLBACK_LIBRARY_PATH")
        self.fallback = [p for p in fb.split(":") if p] if fb is not None else (
            list(DEFAULT_FALLBACK) if self.facts.fallback_default else [])
        self.fallback_rule = "fallback-path" if fb is not None else "fallback-default"

    # -- set-up ------------------------------------------------------------------------------------
    def _setup_python(self) -> None:
        if not self.python:
            self.notes.append("python executable unknown: @executable_path and its LC_RPATHs are not modelled")
            return
        real = self.L.realpath(self.python)
        prog = read_binary(real, self.system)
        if prog.error:
            self.notes.append(f"python executable {self.python}: {prog.error}")
            return
        if self.facts.arch is None and getattr(prog, "archs", ()):
            host = _host_arch(self.system.machine)
            chosen = _slice(prog, host)
            if chosen is None and host in ("arm64", "arm64e") and _slice(prog, "x86_64") is not None:
                self.arch = "x86_64"
                self.notes.append(f"{self.python} has no arm64 slice: it runs under Rosetta 2 as x86_64, and so "
                                  "must every library it loads")
            elif chosen is not None:
                self.arch = "arm64" if chosen.arch == "arm64e" and host == "arm64" else chosen.arch
        sl = _slice(prog, self.arch)
        if sl is None:
            self.notes.append(f"python executable {self.python} has no {self.arch} slice")
            return
        self.main = _Img(real, sl, None, preloaded=True)
        self.by_name[real] = self.main
        self.by_name[self.python] = self.main
        self.main.node = _N(self.python, 0, None, path=real, rule="direct-path", img=self.main)
        self._load_tree(self.main, preloaded=True)
        for p in self.system.loaded_libraries():
            if p in self.by_name:
                continue
            b = read_binary(p, self.system)
            sl = _slice(b, self.arch) if b.ok else None
            if sl is not None:
                img = _Img(p, sl, None, preloaded=True)
                self.by_name[p] = img
                if sl.soname:
                    self.by_name.setdefault(sl.soname, img)
                self.preloaded_paths.append(p)

    # -- the run -----------------------------------------------------------------------------------
    def run(self) -> DepTree:
        root_n = _N(self.path, 0, None)
        if self.mode == "as-imported":
            self._setup_python()
        target = read_binary(self.path, self.system)
        if self.mode == "standalone" and self.facts.arch is None and getattr(target, "archs", ()):
            chosen = _slice(target, _host_arch(self.system.machine))
            self.arch = chosen.arch if chosen is not None else target.archs[0]
        if target.error or target.format != "macho":
            root_n.error = target.error if target.error == "no such file" else "not a mach-o file"
            if root_n.error != "no such file":
                root_n.path = self.path
            return self._finish(root_n, None)
        sl = _slice(target, self.arch)
        if sl is None:
            root_n.path = self.path
            root_n.error = (f"mach-o file, but is an incompatible architecture (have '{_have(target)}', "
                            f"need {_need(self.arch)})")
            return self._finish(root_n, None)
        too_new = self._too_new(sl)
        if too_new:
            root_n.path, root_n.error = self.path, too_new
            return self._finish(root_n, None)
        root = _Img(self.path, sl, self.main if self.mode == "standalone" else None)
        if self.mode == "standalone":
            self.main = root
        root.node = root_n
        root_n.path, root_n.rule, root_n.img = self.path, "direct-path", root
        self.by_name[self.path] = root
        self._load_tree(root, preloaded=False)
        return self._finish(root_n, root)

    def _too_new(self, b: Binary) -> Optional[str]:
        min_os = getattr(b, "min_os", None)
        if min_os and getattr(b, "platform_id", 1) in (1, None) and tuple(min_os[:2]) > tuple(self.facts.version[:2]):
            return (f"built for macOS {_mac_version(min_os)} which is newer than running OS "
                    f"{_mac_version(self.facts.version)}")
        return None

    def _load_tree(self, root: _Img, *, preloaded: bool) -> None:
        queue = deque([root])
        count = 0
        while queue:
            img = queue.popleft()
            for dylib in getattr(img.binary, "dylibs", ()):
                count += 1
                if count > MAX_IMAGES:
                    img.node.notes.append("too many images: resolution stopped")
                    return
                child = _N(dylib.name, img.node.depth + 1, img.path)
                img.node.children.append(child)
                found = self._request(dylib, img, child)
                if found is None:
                    if dylib.kind == "weak" and child.error:
                        child.notes.append(f"weak dylib not found ({child.error}): the load goes on")
                        child.error = None
                    continue
                img.deps[dylib.name] = found
                child.img = found
                if found.node is None:
                    found.node = child
                    found.preloaded = found.preloaded or preloaded
                    if preloaded:
                        self.preloaded_paths.append(found.path)
                    if not child.system:
                        queue.append(found)
                elif child.rule != "already-loaded":
                    child.repeat = True

    # -- one load command ----------------------------------------------------------------------------
    def _request(self, dylib, requester: _Img, node: _N) -> Optional[_Img]:
        name = dylib.name
        hit = self.by_name.get(name)
        if hit is not None:
            node.path = hit.path
            if hit.preloaded and hit.node is not None and hit.node is not node and self.mode == "as-imported" \
                    and not requester.preloaded:
                node.rule = "already-loaded"
                node.candidates.append(Candidate(hit.path, "already-loaded", "found"))
            else:
                node.rule = hit.node.rule if hit.node is not None else "already-loaded"
                node.system = hit.node.system if hit.node is not None else False
            return self._check_compat(hit, dylib, requester, node)
        leaf = posixpath.basename(name)
        for path, rule, via in self._candidates(name, requester, node):
            result = self._try(path, rule, via, node)
            if result is None:
                continue
            if isinstance(result, str):  # shared cache: present, no file to read
                node.path, node.rule, node.system, node.via = path, "shared-cache", True, via
                return None
            real = path
            existing = self.by_name.get(real)
            node.path, node.rule, node.via = real, rule, via
            node.system = path.startswith(tuple(self.L.cache_prefixes))
            if existing is not None:
                return self._check_compat(existing, dylib, requester, node)
            img = _Img(real, result, requester)
            self.by_name[real] = img
            self.by_name.setdefault(name, img)
            if result.soname:
                self.by_name.setdefault(result.soname, img)
            return self._check_compat(img, dylib, requester, node)
        node.error = "Library not loaded: " + name
        del leaf
        return None

    def _check_compat(self, img: _Img, dylib, requester: _Img, node: _N) -> Optional[_Img]:
        ids = getattr(img.binary, "id_versions", None)
        if ids and dylib.compatibility_version and ids[1] < dylib.compatibility_version:
            from ..macho import format_version

            node.error = (f"Incompatible library version: {posixpath.basename(requester.path)} requires version "
                          f"{format_version(dylib.compatibility_version)} or later, but "
                          f"{posixpath.basename(img.path)} provides version {format_version(ids[1])}")
        return img

    def _candidates(self, name: str, requester: _Img, node: _N) -> Iterator[Tuple[str, str, Optional[str]]]:
        leaf = posixpath.basename(name)
        for d in self.dyld_library_path:
            yield posixpath.join(d, leaf), "dyld-library-path", "DYLD_LIBRARY_PATH"
        if name.startswith("@rpath/"):
            rest = name[len("@rpath/"):]
            any_rpath = False
            for img in self._chain(requester):
                for entry in img.binary.rpath:
                    expanded = self._expand(entry, img)
                    if expanded is None:
                        node.notes.append(f"LC_RPATH {entry} of {img.path} cannot be expanded")
                        continue
                    any_rpath = True
                    rule = "rpath" if img is requester else (
                        "executable-rpath" if img is self.main else "rpath-of-loader")
                    # dyld keeps the expanded text as it is ("bin/../lib"): so do its "tried:" lists.
                    yield posixpath.join(expanded, rest), rule, f"LC_RPATH {entry} of {img.path}"
            if not any_rpath:
                node.candidates.append(Candidate("", "rpath", "not-searched",
                                                 "no LC_RPATH in the run-path stack (this image, its loaders, "
                                                 "the executable)"))
        elif name.startswith(("@loader_path/", "@executable_path/")):
            expanded = self._expand(name, requester)
            if expanded is None:
                node.notes.append("@executable_path unknown (python executable not modelled)")
            else:
                rule = "loader-path" if name.startswith("@loader_path/") else "executable-path"
                yield expanded, rule, None
        else:
            yield name, "install-name", None
        for d in self.fallback:
            yield posixpath.join(d, leaf), self.fallback_rule, None

    def _expand(self, entry: str, img: _Img) -> Optional[str]:
        if entry.startswith("@loader_path"):
            return posixpath.dirname(img.path) + entry[len("@loader_path"):]
        if entry.startswith("@executable_path"):
            if self.main is None:
                return None
            return posixpath.dirname(self.main.path) + entry[len("@executable_path"):]
        return entry

    def _chain(self, img: Optional[_Img]):
        seen = set()
        out = []
        while img is not None and id(img) not in seen:
            seen.add(id(img))
            out.append(img)
            img = img.loader
        if self.main is not None and id(self.main) not in seen:
            out.append(self.main)
        return out

    def _try(self, path: str, rule: str, via: Optional[str], node: _N):
        b = read_binary(path, self.system)
        if b.error == "no such file":
            # Only an install name linked as such (/usr/lib/libSystem.B.dylib) is taken from the cache;
            # a leaf name tried in a fallback folder (/usr/lib/libavif.dylib) must be a file.
            if rule == "install-name" and self.L.in_shared_cache(path):
                node.candidates.append(Candidate(path, "shared-cache", "found", "in the dyld shared cache", via))
                return "cache"
            why = "no such file" + (", not in dyld cache" if path.startswith(tuple(self.L.cache_prefixes)) else "")
            node.candidates.append(Candidate(path, rule, "missing", why, via))
            return None
        if b.error or b.format != "macho":
            node.candidates.append(Candidate(path, rule, "skipped", "not a mach-o file", via))
            return None
        sl = _slice(b, self.arch)
        if sl is None:
            node.candidates.append(Candidate(path, rule, "skipped",
                                             f"mach-o file, but is an incompatible architecture (have '{_have(b)}', "
                                             f"need {_need(self.arch)})", via))
            return None
        too_new = self._too_new(sl)
        if too_new:
            node.candidates.append(Candidate(path, rule, "skipped", too_new, via))
            return None
        node.candidates.append(Candidate(path, rule, "found", "", via))
        return sl

    # -- after loading --------------------------------------------------------------------------------
    def _finish(self, root_n: _N, root: Optional[_Img]) -> DepTree:
        checked = False
        if root is not None and self.symbols:
            if any(n.error for n in walk(root_n)):
                self.notes.append("symbols not checked: the load already fails before binding")
            else:
                self._check_symbols(root_n)
                checked = True
        return DepTree(root=root_n.freeze(), mode=self.mode, platform="macos", loader=f"dyld ({self.arch})",
                       executable=self.main.path if self.main is not None else None,
                       search_defaults=tuple(self.fallback),
                       preloaded=tuple(dict.fromkeys(self.preloaded_paths)), symbols_checked=checked,
                       notes=tuple(dict.fromkeys(self.notes)))

    def _exports_of(self, img: _Img) -> Optional[set]:
        """Names exported by ``img`` and the libraries it re-exports, followed with a stack (a chain of
        re-exports may be hundreds deep); None if one is unreadable."""
        names: set = set()
        seen = set()
        stack = [img]
        while stack:
            cur = stack.pop()
            if id(cur) in seen:
                continue
            seen.add(id(cur))
            names.update(s.name for s in cur.binary.exported_symbols)
            for d in getattr(cur.binary, "dylibs", ()):
                if d.kind == "reexport":
                    sub = cur.deps.get(d.name)
                    if sub is None:
                        return None  # re-exported from the shared cache or unresolved: cannot tell
                    stack.append(sub)
        return names

    def _check_symbols(self, root_n: _N) -> None:
        flat = 0
        for n in walk(root_n):
            img = n.img
            if img is None or n.repeat or n.rule == "already-loaded" or (img.preloaded and n is not root_n):
                continue
            by_child = {c.name: c for c in n.children}
            for sym in img.binary.imported_symbols:
                if sym.library == "flat":
                    flat += 1
                    continue
                if sym.weak or not sym.library or sym.library == "@executable":
                    continue
                dep = img.deps.get(sym.library)
                child = by_child.get(sym.library)
                if dep is None or child is None:
                    continue  # in the shared cache, or a missing weak dylib: nothing to read
                names = self._exports_of(dep)
                if names is None or sym.name in names:
                    continue
                child.missing_symbols.append(MissingSymbol(sym.name, None, sym.library, img.path))
        if flat:
            self.notes.append(f"{flat} symbols are looked up in the whole process (flat namespace, "
                              "-undefined dynamic_lookup: Python's C API); not checked")


def _host_arch(machine: str) -> str:
    m = (machine or "").lower()
    if m in ("arm64", "aarch64", "arm64e"):
        return "arm64"
    if m in ("x86_64", "amd64", "x64"):
        return "x86_64"
    return m or "arm64"



def dyld_error_text(tree: DepTree) -> Optional[str]:
    """The message dyld would print for the first failure, as CPython surfaces it (or None)."""
    for n in walk(tree.root):
        if n.error and n.error.startswith("Library not loaded"):
            tried = ", ".join(f"'{c.path}' ({c.reason or c.outcome})" for c in n.candidates
                              if c.path and c.outcome != "found")
            return (f"dlopen({tree.root.name}, 0x0002): {n.error}\n  Referenced from: {n.requested_by}\n"
                    f"  Reason: tried: {tried}")
    return None
