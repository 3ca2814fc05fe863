"""glibc ld.so (and musl), emulated over a System: which file each DT_NEEDED resolves to, and why.

The search order follows glibc ``elf/dl-load.c`` ``_dl_map_object`` and ld.so(8):

1. a name already loaded (matched against each loaded object's path, the names it was asked for and
   its DT_SONAME) is reused, whatever its path;
2. a name with a ``/`` is opened as it is, after DST expansion;
3. otherwise: DT_RPATH of the requester, then of its loader, up the chain, then of the main program -
   all of it only if the requester has no DT_RUNPATH; LD_LIBRARY_PATH; the requester's DT_RUNPATH
   (never inherited); /etc/ld.so.cache; the default folders - the last two not for entries in system
   folders when the requester has DF_1_NODEFLIB.

In every folder the glibc-hwcaps subfolders the CPU supports come first. A file of the wrong ELF class
or machine is passed over and the search goes on; a file that is not an ELF object stops the load.

An extension module is dlopen()ed by CPython with its absolute path and RTLD_NOW: its own loader chain
is empty (glibc sets ``l_loader`` to NULL for a dlopen), so its dependencies see its RPATH and then the
python executable's - never the RPATH of whichever module called dlopen.
"""
from __future__ import annotations

import posixpath
import re
from collections import deque
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import Dict, List, Optional, Sequence, Set, Tuple

from ..binary import Binary, read_binary
from .ldcache import LdCache, cache_flags_for, load_ld_cache
from .tree import Candidate, DepTree, MissingSymbol, MissingVersion, Node, make_node, walk

__all__ = ["LinuxLoader", "resolve_linux"]

#: Default program interpreters, by (machine, bits): ld.so is in every process, asked for or not.
DEFAULT_INTERP = {
    ("x86_64", 64): "/lib64/ld-linux-x86-64.so.2",
    ("i386", 32): "/lib/ld-linux.so.2",
    ("aarch64", 64): "/lib/ld-linux-aarch64.so.1",
    ("arm", 32): "/lib/ld-linux-armhf.so.3",
    ("ppc64", 64): "/lib64/ld64.so.2",
    ("s390x", 64): "/lib/ld64.so.1",
    ("riscv", 64): "/lib/ld-linux-riscv64-lp64d.so.1",
}
MULTIARCH = {
    ("x86_64", 64): "x86_64-linux-gnu", ("i386", 32): "i386-linux-gnu",
    ("aarch64", 64): "aarch64-linux-gnu", ("arm", 32): "arm-linux-gnueabihf",
    ("ppc64", 64): "powerpc64le-linux-gnu", ("s390x", 64): "s390x-linux-gnu",
    ("riscv", 64): "riscv64-linux-gnu",
}
PLATFORM_STRING = {"x86_64": "x86_64", "i386": "i686", "aarch64": "aarch64", "arm": "v7l",
                   "ppc64": "power9", "s390x": "z13", "riscv": "riscv64"}
#: x86-64 micro-architecture levels (glibc sysdeps/x86/get-isa-level.h), as /proc/cpuinfo names them.
X86_LEVELS = (
    ("x86-64-v4", {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}),
    ("x86-64-v3", {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}),
    ("x86-64-v2", {"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"}),
)
#: Libraries that are part of glibc: always there, folded in text output.
_GLIBC_NAMES = re.compile(
    r"^(libc|libm|libmvec|libpthread|libdl|librt|libutil|libresolv|libanl|libnsl|libBrokenLocale|"
    r"libnss_\w+|libthread_db|libc_malloc_debug|libmemusage|libpcprofile)\.so(\.\d+)*$|"
    r"^ld-linux[\w.-]*\.so\.\d+$|^ld64\.so\.\d+$|^linux-vdso\.so\.1$|^linux-gate\.so\.1$")
#: musl serves these names from the loader itself (musl ldso/dynlink.c ``reserved``).
_MUSL_BUILTIN = re.compile(r"^lib(c|pthread|rt|m|dl|util|xnet|crypt)\.so(\.\d+)*$")

MAX_OBJECTS = 4000
#: (machine, bits) -> ELF e_ident class name, for "wrong ELF class" reasons.
_CLASS = {32: "ELFCLASS32", 64: "ELFCLASS64"}


class _Obj:
    """A loaded object (a glibc ``link_map``) during one resolution."""

    __slots__ = ("path", "binary", "loader", "depth", "preloaded", "names", "origin", "node", "deps",
                 "_ctx")

    def __init__(self, path: str, binary: Binary, loader: Optional["_Obj"], depth: int,
                 preloaded: bool = False, names: Optional[Set[str]] = None, origin: Optional[str] = None,
                 node: Optional["_N"] = None) -> None:
        self.path = path
        self.binary = binary
        self.loader = loader
        self.depth = depth
        self.preloaded = preloaded
        self.names = names if names is not None else set()
        self.origin = origin
        self.node = node
        self.deps: List["_Obj"] = []
        #: The search context of this object as a requester (see _Resolution._search_key).
        self._ctx = None


#: Whether a name is one of glibc's own libraries, remembered per name (a few dozen distinct names).
_SYSTEM_NAME: Dict[str, bool] = {}


def _is_system_name(name: Optional[str]) -> bool:
    if not name:
        return False
    hit = _SYSTEM_NAME.get(name)
    if hit is None:
        hit = _SYSTEM_NAME[name] = bool(_GLIBC_NAMES.match(name))
    return hit


class _N:
    """A mutable node while the tree is built; frozen into a :class:`Node` at the end."""

    __slots__ = ("name", "depth", "requested_by", "path", "rule", "via", "candidates", "children",
                 "repeat", "error", "obj", "missing_versions", "missing_symbols", "notes")

    def __init__(self, name: str, depth: int, requested_by: Optional[str]) -> None:
        self.name = name
        self.depth = depth
        self.requested_by = requested_by
        self.path: Optional[str] = None
        self.rule: Optional[str] = None
        self.via: Optional[str] = None
        self.candidates: List[Candidate] = []
        self.children: List["_N"] = []
        self.repeat = False
        self.error: Optional[str] = None
        self.obj: Optional[_Obj] = None
        self.missing_versions: List[MissingVersion] = []
        self.missing_symbols: List[MissingSymbol] = []
        self.notes: List[str] = []

    def freeze(self) -> Node:
        b = self.obj.binary if self.obj is not None else None
        soname = b.soname if b is not None else None
        system = _is_system_name(self.name) or _is_system_name(soname)
        notes = self.notes
        if b is not None and not self.repeat and b.notes:
            notes = notes + list(b.notes)
        return make_node(
            self.name, self.path, self.rule, self.depth, self.requested_by, self.via,
            tuple(self.candidates), tuple([c.freeze() for c in self.children]) if self.children else (),
            self.repeat, system, soname, self.error,
            tuple(self.missing_versions) if self.missing_versions else (),
            tuple(self.missing_symbols) if self.missing_symbols else (),
            tuple(dict.fromkeys(notes)) if notes else (),
        )


class LinuxLoader:
    """The loader state of one Linux machine: its cache, default folders and hwcaps.

    Build one per machine and call :meth:`resolve` for many files: the machine-wide facts are read once.
    """

    def __init__(self, system, *, hwcaps: Optional[Sequence[str]] = None) -> None:
        self.system = system
        # A plain copy: os.environ encodes the key on every look-up, and a search reads it often.
        self.env = dict(system.environ)
        self._hwcaps_given = tuple(hwcaps) if hwcaps is not None else None
        self._dir_cache: Dict[str, bool] = {}
        self._cache: Dict[str, LdCache] = {}
        self._defaults: Dict[str, Tuple[Tuple[str, ...], str]] = {}
        self._realpaths: Dict[str, str] = {}
        self._hwcaps: Dict[Tuple[str, int], Tuple[Tuple[str, ...], Optional[str]]] = {}
        self._probes: Dict[Tuple[str, int, str], tuple] = {}
        self._merged: Dict[tuple, Dict[str, List[Tuple[Optional[str], bool, bool]]]] = {}
        # Memos that make a run over a whole environment cheap: each is keyed by everything the
        # answer depends on, so a hit gives exactly what a fresh computation would.
        #: (name, search context) -> (candidates tried, outcome): one search per distinct context.
        self._searches: Dict[tuple, tuple] = {}
        self._reads: Dict[str, Binary] = {}
        self._dir_lists: Dict[tuple, List[str]] = {}
        #: (python, loaded libraries) -> the process state before the import (python and its libraries).
        self._process: Dict[tuple, "_ProcessState"] = {}
        #: path -> {library: ((version, weak), ...)} and path -> frozenset of defined versions.
        self._needs: Dict[str, Dict[str, Tuple[Tuple[str, bool], ...]]] = {}
        self._defined: Dict[str, frozenset] = {}
        #: path -> the undefined, non-weak symbols of that file.
        self._imports: Dict[str, tuple] = {}
        #: (path, symbol name) -> the definitions that file exports under that name.
        self._exports: Dict[Tuple[str, str], tuple] = {}
        #: requirer path -> {(symbol, version): provider path}, and requirer path -> providers of a
        #: file whose every symbol was found (if they are all in scope again, nothing is looked up).
        self._providers: Dict[str, Dict[Tuple[str, Optional[str]], str]] = {}
        self._all_found: Dict[str, frozenset] = {}
        self._global: Dict[tuple, dict] = {}
        #: path -> how many names were looked up in it; path -> its whole export table, once that
        #: became the cheaper way.
        self._lookups: Dict[str, int] = {}
        self._tables: Dict[str, dict] = {}
        #: standalone trees of programs that only name libraries (no RPATH, RUNPATH, slash or
        #: $ORIGIN of their own): what the loader does below them depends only on the key (see
        #: _Resolution._template_key), so one tree serves every program with the same key.
        self._templates: Dict[tuple, "_Template"] = {}

    # -- machine facts -----------------------------------------------------------------------------
    def preload_list(self, kind: str) -> Tuple[Tuple[str, str], ...]:
        """(where, name) of each object preloaded before a program's own libraries, in order:
        LD_PRELOAD (split on spaces and colons), then, for glibc, /etc/ld.so.preload (names
        separated by white space or colons, ``#`` comments to the end of a line)."""
        key = "preload-" + kind
        if key not in self._cache:
            out = [("LD_PRELOAD", n) for n in re.split(r"[ :]", self.env.get("LD_PRELOAD") or "") if n]
            if kind == "glibc":
                try:
                    text = self.system.read_bytes("/etc/ld.so.preload", limit=1 << 20).decode("utf-8", "replace")
                except OSError:
                    text = ""
                text = re.sub(r"#[^\n]*", " ", text)
                out += [("/etc/ld.so.preload", n) for n in re.split(r"[: \t\n]", text) if n]
            self._cache[key] = tuple(out)
        return self._cache[key]

    def ld_cache(self) -> LdCache:
        if "glibc" not in self._cache:
            self._cache["glibc"] = load_ld_cache(self.system)
        return self._cache["glibc"]

    def hwcaps_for(self, machine: str, bits: int) -> Tuple[Tuple[str, ...], Optional[str]]:
        """glibc-hwcaps subfolders searched on this machine, best first (and a note on how we know)."""
        if self._hwcaps_given is not None:
            return self._hwcaps_given, None
        key = (machine, bits)
        if key in self._hwcaps:
            return self._hwcaps[key]
        result: Tuple[Tuple[str, ...], Optional[str]] = ((), None)
        if machine == "x86_64" and bits == 64:
            try:
                text = self.system.read_text("/proc/cpuinfo", 1 << 20)
            except OSError:
                text = ""
            flags: Set[str] = set()
            for line in text.splitlines():
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[-1].split())
                    break
            if flags:
                levels = []
                for name, need in X86_LEVELS:
                    # a level needs its own features and those of every level below it
                    if all(need2 <= flags for n2, need2 in X86_LEVELS if n2 <= name):
                        levels.append(name)
                result = (tuple(levels), None)
            else:
                result = (tuple(n for n, _ in X86_LEVELS),
                          "CPU features unknown: every x86-64 glibc-hwcaps level assumed supported")
        self._hwcaps[key] = result
        return result

    def defaults_for(self, interp: Optional[str], machine: str, bits: int) -> Tuple[Tuple[str, ...], str]:
        """(default folders, loader kind) for a program using ``interp``."""
        key = f"{interp}|{machine}|{bits}"
        if key in self._defaults:
            return self._defaults[key]
        kind = "musl" if interp and "ld-musl" in interp else "glibc"
        dirs: Tuple[str, ...] = ()
        if kind == "musl":
            arch = posixpath.basename(interp or "").replace("ld-musl-", "").split(".")[0]
            try:
                text = self.system.read_text(f"/etc/ld-musl-{arch}.path")
                dirs = tuple(d for d in re.split(r"[:\n]", text) if d.strip())
            except OSError:
                dirs = ("/lib", "/usr/local/lib", "/usr/lib")
        else:
            dirs = self._system_dirs_from_interp(interp) or self._fallback_dirs(machine, bits)
        self._defaults[key] = (dirs, kind)
        return dirs, kind

    def _system_dirs_from_interp(self, interp: Optional[str]) -> Tuple[str, ...]:
        # glibc compiles its default folders into ld.so as one NUL-separated string (SYSTEM_DIRS in
        # elf/dl-load.c): read them from the machine's own ld.so rather than guessing the distribution.
        if not interp:
            return ()
        try:
            data = self.system.read_bytes(interp, 8 << 20)
        except OSError:
            return ()
        for m in re.finditer(rb"(?:/[\w.+-]+(?:/[\w.+-]+)*/\x00){2,}", data):
            dirs = [d.decode() for d in m.group().split(b"\0") if d]
            if any(d.rstrip("/").endswith(("lib", "lib64", "lib32", "libx32")) or "-linux-" in d
                   for d in dirs):
                return tuple(d.rstrip("/") or "/" for d in dirs)
        return ()

    def _fallback_dirs(self, machine: str, bits: int) -> Tuple[str, ...]:
        triplet = MULTIARCH.get((machine, bits))
        if triplet and self.is_dir(f"/usr/lib/{triplet}"):
            return (f"/lib/{triplet}", f"/usr/lib/{triplet}", "/lib", "/usr/lib")
        if bits == 64 and machine in ("x86_64", "ppc64", "s390x", "sparcv9"):
            return ("/lib64", "/usr/lib64")
        return ("/lib", "/usr/lib")

    def is_dir(self, path: str) -> bool:
        hit = self._dir_cache.get(path)
        if hit is None:
            hit = self._dir_cache[path] = self.system.is_dir(path)
        return hit

    def realpath(self, path: str) -> str:
        """The machine path with every symlink resolved inside the machine's root."""
        hit = self._realpaths.get(path)
        if hit is not None:
            return hit
        result = self._realpaths[path] = self.system.realpath(path)
        return result


    def merged_exports(self, binaries: Sequence[Binary]) -> Dict[str, List[Tuple[Optional[str], bool, bool]]]:
        """name -> [(version, hidden, file has versions)] over ``binaries`` (the global scope, the same
        for every extension python imports): built once, then one dict look-up per symbol."""
        key = tuple((b.path, b.file_id) for b in binaries)
        hit = self._merged.get(key)
        if hit is None:
            hit = {}
            for b in binaries:
                versioned = bool(b.versions_defined)
                for name, defs in b.exports_by_name.items():
                    hit.setdefault(name, []).extend((v, h, versioned) for v, h in defs)
            self._merged = {key: hit}
        return hit

    def probe(self, path: str, bits: int, machine: str):
        """(outcome, reason, result) of opening ``path`` for a process of this class and machine.

        result: the Binary when it loads, None to go on searching, an error text that stops the load.
        Remembered for the loader's life: a run over a whole environment opens libc.so.6 once.
        """
        key = (path, bits, machine)
        hit = self._probes.get(key)
        if hit is not None:
            return hit
        b = read_binary(path, self.system)
        if b.error == "no such file":
            reason = "" if self.is_dir(posixpath.dirname(path) or "/") else "no such folder"
            hit = ("missing", reason, None)
        elif b.error == "permission denied":
            hit = ("skipped", "permission denied", None)
        elif b.error == "not a regular file":
            hit = ("refused", "not a regular file", "cannot read file data: Is a directory")
        elif b.error:
            hit = ("refused", b.error, b.error)
        elif b.bits and b.bits != bits:
            hit = ("skipped", f"wrong ELF class: {_CLASS.get(b.bits, b.bits)}", None)
        elif b.machine and b.machine != machine:
            hit = ("skipped", f"wrong machine {b.machine} (the process is {machine})", None)
        else:
            hit = ("found", "", b)
        self._probes[key] = hit
        return hit

    def read(self, path: str) -> Binary:
        """``read_binary`` remembered for the loader's life (like :meth:`probe`, the machine's files are
        taken as they were when first read): the program interpreter and python are read once, not
        once per tree."""
        hit = self._reads.get(path)
        if hit is None:
            hit = self._reads[path] = read_binary(path, self.system)
        return hit

    def global_exports(self, scope: Sequence["_Obj"]) -> Dict[str, Tuple[Tuple[Optional[str], bool, bool, str], ...]]:
        """name -> ((version, hidden, file has versions, path), ...) over the objects of a global scope,
        in scope order; built once per scope (the same python serves every extension)."""
        key = tuple(o.path for o in scope)
        hit = self._global.get(key)
        if hit is None:
            table: Dict[str, List[Tuple[Optional[str], bool, bool, str]]] = {}
            for o in scope:
                versioned = bool(o.binary.versions_defined)
                for name, defs in o.binary.exports_by_name.items():
                    table.setdefault(name, []).extend((v, h, versioned, o.path) for v, h in defs)
            hit = {name: tuple(v) for name, v in table.items()}
            if len(self._global) > 8:
                self._global.clear()
            self._global[key] = hit
        return hit

    def needs_of(self, binary: Binary) -> Dict[str, Tuple[Tuple[str, bool], ...]]:
        """{library: ((version, weak), ...)} from DT_VERNEED, grouped once per file."""
        hit = self._needs.get(binary.path)
        if hit is None:
            grouped: Dict[str, List[Tuple[str, bool]]] = {}
            for need in binary.versions_needed:
                grouped.setdefault(need.library, []).append((need.version, need.weak))
            hit = self._needs[binary.path] = {k: tuple(v) for k, v in grouped.items()}
        return hit

    def defined_of(self, binary: Binary) -> frozenset:
        hit = self._defined.get(binary.path)
        if hit is None:
            hit = self._defined[binary.path] = frozenset(binary.versions_defined)
        return hit

    def imports_of(self, binary: Binary) -> tuple:
        """The undefined non-weak symbols of ``binary`` (read once per file, imports only)."""
        hit = self._imports.get(binary.path)
        if hit is None:
            hit = self._imports[binary.path] = tuple(s for s in binary.imported_symbols if not s.weak)
        return hit

    def defines(self, binary: Binary, name: str, version: Optional[str]) -> bool:
        """Whether ``binary`` has a definition of ``name`` that a reference with ``version`` binds to.

        Through the file's own hash table (``Binary.lookup_export``): a 100 000-symbol library is
        never read whole; each (file, name) pair is looked up once for the loader's life.
        """
        key = (binary.path, name)
        defs = self._exports.get(key)
        if defs is None:
            table = self._tables.get(binary.path)
            if table is not None:
                defs = table.get(name, ())
            else:
                # A library asked about a large share of its exports is cheaper read whole once
                # (a few microseconds a symbol) than looked up name by name (ten or more).
                n = self._lookups[binary.path] = self._lookups.get(binary.path, 0) + 1
                index = binary._index if n > 256 else None
                if index is not None and n > max(256, index.count // 4):
                    table = self._tables[binary.path] = binary.exports_by_name
                    defs = table.get(name, ())
                else:
                    defs = binary.lookup_export(name)
            self._exports[key] = defs
        if not defs:
            return False
        versioned = bool(self.defined_of(binary))
        return any(_version_ok((v, h, versioned), version) for v, h in defs)

    # -- resolution --------------------------------------------------------------------------------
    def resolve(self, path: str, *, mode: str = "as-imported", python_executable: Optional[str] = None,
                symbols: Optional[bool] = None) -> DepTree:
        return _Resolution(self, path, mode, python_executable, symbols).run()


class _Template:
    """A standalone tree made for one program, reused for another with the same template key.

    Only the program's own node and the nodes it asks for directly name the program (as the
    requester); everything deeper is shared as it is (frozen nodes).
    """

    __slots__ = ("tree", "path", "names", "root_notes")

    def __init__(self, res: "_Resolution", tree: DepTree) -> None:
        self.tree = tree
        self.path = res.path
        root = res.main
        #: The notes the checks put on the program's node (its file's own notes are added apart).
        self.root_notes = tuple(root.node.notes)
        # Every name asked for below the program, found or not, and every file loaded: a program
        # answering to one of them would have been matched there (and changed the tree).
        self.names = {n.name for n in walk(tree.root) if n is not tree.root}
        self.names.update(k for k, o in res.by_name.items() if o is not root)

    def fits(self, path: str, target: Binary) -> bool:
        return path not in self.names and (target.soname is None or target.soname not in self.names)

    def apply(self, path: str, target: Binary) -> DepTree:
        old = self.path
        root = self.tree.root

        def mine(versions):
            return tuple(MissingVersion(v.version, v.library, v.library_path,
                                        path if v.required_by == old else v.required_by) for v in versions)

        children = tuple(make_node(
            c.name, c.path, c.rule, c.depth, path if c.requested_by == old else c.requested_by, c.via,
            c.candidates, c.children, c.repeat, c.system, c.soname, c.error,
            mine(c.missing_versions) if c.missing_versions else (), c.missing_symbols, c.notes)
            for c in root.children)
        notes = self.root_notes + tuple(target.notes)
        new_root = make_node(
            path, path, root.rule, 0, None, None, root.candidates, children, False,
            _is_system_name(path) or _is_system_name(target.soname), target.soname, root.error,
            mine(root.missing_versions) if root.missing_versions else (), root.missing_symbols,
            tuple(dict.fromkeys(notes)))
        t = self.tree
        return DepTree(root=new_root, mode=t.mode, platform=t.platform, loader=t.loader, executable=path,
                       search_defaults=t.search_defaults, hwcaps=t.hwcaps, preloaded=t.preloaded,
                       symbols_checked=t.symbols_checked, notes=t.notes)


class _ProcessState:
    """The emulated process just before an import: python, its libraries and what is already loaded."""

    __slots__ = ("objects", "by_name", "by_id", "notes", "main", "bits", "machine", "kind", "defaults",
                 "hwcaps", "interp", "preloaded_paths", "global_scope")

    def __init__(self, res: "_Resolution") -> None:
        self.objects = list(res.objects)
        self.by_name = dict(res.by_name)
        self.by_id = dict(res.by_id)
        self.notes = list(res.notes)
        self.preloaded_paths = list(res.preloaded_paths)
        self.main, self.bits, self.machine, self.kind = res.main, res.bits, res.machine, res.kind
        self.defaults, self.hwcaps, self.interp = res.defaults, res.hwcaps, res.interp
        self.global_scope = _bfs(res.main) if res.main is not None else []

    def restore(self, res: "_Resolution") -> None:
        res.objects = list(self.objects)
        res.by_name = dict(self.by_name)
        res.by_id = dict(self.by_id)
        res.notes = list(self.notes)
        res.preloaded_paths = list(self.preloaded_paths)
        res.main, res.bits, res.machine, res.kind = self.main, self.bits, self.machine, self.kind
        res.defaults, res.hwcaps, res.interp = self.defaults, self.hwcaps, self.interp
        res.global_scope = self.global_scope


class _Resolution:
    """One dlopen (as-imported) or one program start (standalone), emulated."""

    def __init__(self, loader: LinuxLoader, path: str, mode: str, python_executable: Optional[str],
                 symbols: Optional[bool]) -> None:
        if mode not in ("as-imported", "standalone"):
            raise ValueError(f"mode must be 'as-imported' or 'standalone', not {mode!r}")
        self.L = loader
        self.system = loader.system
        self.path = self._absolute(path)
        self.mode = mode
        self.python = python_executable if python_executable is not None else (self.system.executable or None)
        self.symbols = (mode == "as-imported") if symbols is None else symbols
        self.objects: List[_Obj] = []
        self.by_name: Dict[str, _Obj] = {}
        self.by_id: Dict[Tuple[int, int], _Obj] = {}
        self.notes: List[str] = []
        self.main: Optional[_Obj] = None
        self.bits = 64
        self.machine = "x86_64"
        self.kind = "glibc"
        self.defaults: Tuple[str, ...] = ()
        self.hwcaps: Tuple[str, ...] = ()
        self.preloaded_paths: List[str] = []
        self.interp: Optional[str] = None
        #: The main program and its dependencies, breadth first, when known before the load.
        self.global_scope: Optional[List[_Obj]] = None
        #: Standalone: a request below the program was answered by the program itself.
        self.root_matched = False

    def _absolute(self, path: str) -> str:
        if path.startswith("/"):
            return path
        cwd = self.system.environ.get("PWD") or "/"
        return posixpath.join(cwd, path)

    # -- set-up ------------------------------------------------------------------------------------
    def _setup_machine(self, program: Binary) -> None:
        if program.bits:
            self.bits = program.bits
        if program.machine:
            self.machine = program.machine
        interp = program.interp or DEFAULT_INTERP.get((self.machine, self.bits))
        self.interp = interp
        self.defaults, self.kind = self.L.defaults_for(interp, self.machine, self.bits)
        if self.kind == "glibc":
            self.hwcaps, note = self.L.hwcaps_for(self.machine, self.bits)
            if note:
                self.notes.append(note)

    def _add(self, path: str, binary: Binary, loader: Optional[_Obj], depth: int, *, names=(),
             preloaded: bool = False, origin: Optional[str] = None, by_inode: bool = True) -> _Obj:
        obj = _Obj(path=path, binary=binary, loader=loader, depth=depth, preloaded=preloaded)
        obj.origin = origin if origin is not None else _dirname_origin(path)
        obj.names.add(path)
        obj.names.update(n for n in names if n)
        if binary.soname:
            obj.names.add(binary.soname)
        for n in obj.names:
            self.by_name.setdefault(n, obj)
        if binary.file_id is not None and by_inode:
            self.by_id.setdefault(binary.file_id, obj)
        self.objects.append(obj)
        return obj

    def _preload_rtld(self) -> None:
        if not self.interp:
            return
        b = self.L.read(self.interp)
        if b.error:
            self.notes.append(f"program interpreter {self.interp}: {b.error}")
            # The loader is in the process whatever its file says: keep its name matchable.
            self.by_name.setdefault(self.interp, _Obj(self.interp, b, None, 0, True, {self.interp}))
            return
        self._add(self.interp, b, None, 0, preloaded=True, names=(posixpath.basename(self.interp),))
        self.preloaded_paths.append(self.interp)

    def run(self) -> DepTree:
        root_n = _N(name=self.path, depth=0, requested_by=None)
        target = self.L.read(self.path)
        template_key = None
        if self.mode == "standalone":
            self._setup_machine(target)
            self._preload_rtld()
            if target.error:
                root_n.error = target.error
                return self._finish(root_n, None)
            template_key = self._template_key(target)
            template = self.L._templates.get(template_key) if template_key is not None else None
            if template is not None and template.fits(self.path, target):
                return template.apply(self.path, target)
            # ld.so names the main program by the path it was given; $ORIGIN is its folder, unresolved.
            # Its device and inode are not compared: a library that is the same file is loaded again
            # (ldd lists it), only its SONAME answers a request.
            root = self._add(self.path, target, None, 0, by_inode=False)
            self.main = root
            root.node = root_n
        else:
            program = self.L.read(self.python) if self.python else None
            if program is None or program.error:
                self.notes.append("python executable unknown or unreadable: its RPATH and libraries are "
                                  "not modelled" if program is None else
                                  f"python executable {self.python}: {program.error}")
                self._setup_machine(target)
                self._preload_rtld()
            else:
                loaded = tuple(self.system.loaded_libraries())
                key = (self.python, program.file_id, loaded)
                state = self.L._process.get(key)
                if state is None:
                    self._setup_machine(program)
                    self._preload_rtld()
                    # The kernel starts python by its real path (/proc/self/exe): that is its $ORIGIN.
                    real = self.L.realpath(self.python)
                    self.main = self._add(self.python, program, None, 0, preloaded=True,
                                          origin=posixpath.dirname(real))
                    self.main.node = _N(name=self.python, depth=0, requested_by=None)
                    self._load_deps(self.main, preloaded=True, first=self._preload(self.main, True))
                    self._preload_loaded(loaded)
                    # The same python starts the same way for every extension: remembered, and each
                    # later import starts from a copy of this state (the objects are only read).
                    self.L._process[key] = _ProcessState(self)
                else:
                    state.restore(self)
            if program is None or program.error:
                self._preload_loaded(tuple(self.system.loaded_libraries()))
            existing = self.by_name.get(self.path) or (
                self.by_id.get(target.file_id) if target.file_id is not None else None)
            if existing is not None and existing.preloaded:
                root_n.path, root_n.rule = existing.path, "already-loaded"
                root_n.notes.append("this file is already loaded in the process: nothing new is loaded")
                return self._finish(root_n, None)
            if target.error:
                root_n.error = target.error
                return self._finish(root_n, None)
            wrong = self._mismatch(target)
            if wrong:
                root_n.error = wrong
                return self._finish(root_n, None)
            # dlopen(): the new object's loader chain is empty (glibc sets l_loader to NULL).
            root = self._add(self.path, target, None, 0)
        root_n.path, root_n.rule, root_n.obj = self.path, "direct-path", root
        root.node = root_n
        self._load_deps(root, preloaded=False,
                        first=self._preload(root, False) if self.mode == "standalone" else ())
        tree = self._finish(root_n, root)
        if template_key is not None and not self.root_matched:
            self.L._templates[template_key] = _Template(self, tree)
        return tree

    def _template_key(self, target: Binary) -> Optional[tuple]:
        """What a standalone tree below the program depends on, when nothing else about the program
        does (None otherwise): no RPATH/RUNPATH/NODEFLIB, no name with a slash or a $ token, no
        $ORIGIN in LD_LIBRARY_PATH, no symbol check. Besides the key, the program's own path and
        SONAME must not be asked for below it (checked by :meth:`_Template.fits`)."""
        if target.rpath or target.runpath or "nodeflib" in target.flags or self.symbols \
                or "$" in (self.L.env.get("LD_LIBRARY_PATH") or "") or self.L.preload_list(self.kind):
            return None
        if any("/" in n.name or "$" in n.name for n in target.needed):
            return None
        return (self.interp, self.bits, self.machine, target.soname, target.needed, target.versions_needed)

    def _preload_loaded(self, loaded) -> None:
        for p in loaded:
            if p in self.by_name:
                continue
            b = self.L.read(p)
            if b.format != "elf" or b.error:
                continue
            if b.file_id is not None and b.file_id in self.by_id:
                continue
            self._add(p, b, None, 0, preloaded=True)
            self.preloaded_paths.append(p)

    def _preload(self, main: _Obj, preloaded: bool) -> List[_Obj]:
        """Load LD_PRELOAD and /etc/ld.so.preload objects as the main program's requests, before its
        own libraries (glibc rtld.c do_preload). One that cannot be loaded is ignored, with a note
        (ld.so prints "cannot be preloaded ...: ignored"); one already loaded adds nothing."""
        out: List[_Obj] = []
        for where, name in self.L.preload_list(self.kind):
            node = _N(name=name, depth=1, requested_by=main.path)
            found = self._request(name, main, node)
            if found is None:
                self.notes.append(f"{name} from {where} cannot be preloaded ({node.error or 'not found'}): ignored")
                continue
            if node.rule == "already-loaded" or found.node is not None:
                continue
            node.notes.append(f"preloaded from {where}")
            node.obj = found
            found.node = node
            found.preloaded = found.preloaded or preloaded
            main.node.children.append(node)
            main.deps.append(found)
            out.append(found)
        return out

    def _load_deps(self, root: _Obj, *, preloaded: bool, first: Sequence[_Obj] = ()) -> None:
        """Breadth first, as _dl_map_object_deps: every DT_NEEDED of each object in load order
        (``first``: objects already loaded for the program, its preloads, whose needs come after its
        own)."""
        queue = deque([root, *first])
        while queue:
            obj = queue.popleft()
            for needed in obj.binary.needed:
                if len(self.objects) > MAX_OBJECTS:
                    obj.node.notes.append("too many objects: resolution stopped")
                    return
                child = _N(name=needed.name, depth=obj.depth + 1, requested_by=obj.path)
                obj.node.children.append(child)
                found = self._request(needed.name, obj, child)
                if found is None:
                    continue
                obj.deps.append(found)
                child.obj = found
                if child.rule == "already-loaded":
                    continue  # loaded before this load began: its own libraries are not ours to list
                if found.node is None:
                    found.node = child
                    if preloaded:
                        found.preloaded = True
                    queue.append(found)
                else:
                    child.repeat = True

    # -- one request -------------------------------------------------------------------------------
    def _request(self, name: str, requester: _Obj, node: _N) -> Optional[_Obj]:
        hit = self.by_name.get(name)
        if hit is not None:
            return self._reuse(hit, node, name)
        if self.kind == "musl" and _MUSL_BUILTIN.match(name):
            rtld = self.by_name.get(self.interp) if self.interp else None
            if rtld is not None:
                node.notes.append("musl serves this name from its own loader")
                return self._reuse(rtld, node, name)
        if "/" in name:
            path = _expand(name, requester.origin, self)
            if path is None:
                node.error = "cannot expand $ORIGIN"
                return None
            if not path.startswith("/"):
                path = self._absolute(path)
                node.notes.append("relative path: opened from the current folder")
            result = self._try_file(path, "direct-path", None, node)
            if result is None or isinstance(result, str):
                node.error = result or "not found"
                return None
            return self._place(result, name, path, "direct-path", None, requester, node)
        key = (name, self._search_key(requester))
        memo = self.L._searches.get(key)
        if memo is None:
            # The places tried and the outcome depend only on the name and the search context, so
            # one search serves every tree that asks the same name from the same context.
            scratch = _N(name, 0, None)
            outcome = None
            for path, rule, via in self._search(name, requester, scratch):
                result = self._try_file(path, rule, via, scratch)
                if result is not None:
                    outcome = (path, rule, via, result)
                    break
            memo = self.L._searches[key] = (tuple(scratch.candidates), outcome)
        candidates, outcome = memo
        node.candidates.extend(candidates)
        if outcome is not None:
            path, rule, via, result = outcome
            if isinstance(result, str):  # a file that stops the load
                node.error = result
                node.path = path
                return None
            return self._place(result, name, path, rule, via, requester, node)
        if any(c.reason.startswith("wrong ELF class") for c in candidates):
            node.error = "wrong ELF class: " + _CLASS.get(64 if self.bits == 32 else 32, "")
        else:
            node.error = "not found"
        return None

    def _search_key(self, requester: _Obj) -> tuple:
        """Everything :meth:`_search` reads about the requester and its loader chain, as a key.

        Only objects whose RPATH/RUNPATH (or NODEFLIB) can change the search are part of it: the
        many files that have none share one search per name (libc.so.6 is looked up once, not once
        per extension module).
        """
        ctx = requester._ctx
        if ctx is None:
            m = self.main
            b = requester.binary
            own = (requester.path, requester.origin, bool(b.runpath), "nodeflib" in b.flags) \
                if b.rpath or b.runpath or "nodeflib" in b.flags else None
            chain = tuple((o.path, o.origin, o.depth, o is m, o is requester) for o in self._chain(requester)
                          if o.binary.rpath or o.binary.runpath)
            main = (m.path, m.origin, bool(m.binary.runpath)) if m is not None and m.binary.rpath else None
            llp = self.L.env.get("LD_LIBRARY_PATH") or ""
            # $ORIGIN in LD_LIBRARY_PATH is the main program's folder (or the requester's without one).
            llp_origin = (m or requester).origin if "$" in llp else None
            ctx = requester._ctx = (self.interp, self.bits, self.machine, self.mode, main, own, chain,
                                    llp_origin)
        return ctx

    def _reuse(self, hit: _Obj, node: _N, name: str) -> _Obj:
        if hit is self.main and self.mode == "standalone":
            self.root_matched = True
        hit.names.add(name)
        node.path = hit.path
        if hit.preloaded:
            # In the process before this load began (python and its libraries, /proc/self/maps,
            # ld.so itself): glibc matches the name and never searches.
            node.rule = "already-loaded"
            node.candidates.append(Candidate(hit.path, "already-loaded", "found"))
            return hit
        first = hit.node
        node.rule = first.rule if first is not None else "already-loaded"
        node.via = first.via if first is not None else None
        return hit

    def _place(self, binary: Binary, name: str, path: str, rule: str, via: Optional[str],
               requester: _Obj, node: _N) -> _Obj:
        node.path, node.rule, node.via = path, rule, via
        same = self.by_id.get(binary.file_id) if binary.file_id is not None else None
        if same is not None:
            # ld.so compares device and inode: a second path to a loaded file is that same object.
            node.notes.append(f"found as {path} [{rule}], the same file as {same.path}, already loaded")
            same.names.add(name)
            node.path = same.path
            if same.preloaded:
                node.rule = "already-loaded"
            return same
        return self._add(path, binary, requester, requester.depth + 1, names=(name,))

    def _mismatch(self, b: Binary) -> Optional[str]:
        if b.bits and b.bits != self.bits:
            return f"wrong ELF class: {_CLASS.get(b.bits, b.bits)}"
        if b.machine and b.machine != self.machine:
            return f"wrong machine {b.machine} (the process is {self.machine})"
        return None

    def _try_file(self, path: str, rule: str, via: Optional[str], node: _N):
        """Binary if loadable, None to go on searching, or an error text that stops the load."""
        outcome, reason, result = self.L.probe(path, self.bits, self.machine)
        node.candidates.append(Candidate(path, rule, outcome, reason, via))
        return result

    def _dirs(self, entries: Sequence[str], owner: _Obj) -> List[str]:
        """Expanded, de-duplicated folders of one RPATH/RUNPATH/LD_LIBRARY_PATH list (fillin_rpath)."""
        key = (tuple(entries), owner.origin if owner else None, self.machine, self.bits, self.defaults)
        hit = self.L._dir_lists.get(key)
        if hit is None:
            hit = self.L._dir_lists[key] = self._dirs_uncached(entries, owner)
        return hit

    def _dirs_uncached(self, entries: Sequence[str], owner: _Obj) -> List[str]:
        out: List[str] = []
        for entry in entries:
            d = _expand(entry, owner.origin if owner else None, self) if entry else "."
            if d is None:
                continue
            if d == "":
                d = "."
            if len(d) > 1:
                d = d.rstrip("/") or "/"
            if d not in out:
                out.append(d)
        return out

    def _in_dir(self, d: str, name: str, rule: str, via: Optional[str]):
        """The files tried in one folder: its supported glibc-hwcaps subfolders first, then itself."""
        base = d if d.endswith("/") else d + "/"
        if self.kind == "glibc" and self.hwcaps:
            for level in self.hwcaps:
                sub = f"{base}glibc-hwcaps/{level}"
                if self.L.is_dir(sub):
                    yield f"{sub}/{name}", rule, via
        yield base + name, rule, via

    def _search(self, name: str, requester: _Obj, node: _N):
        """The places glibc ld.so (or musl) would try for ``name`` asked for by ``requester``, in order.

        Rules left out as a whole are recorded on ``node`` as "not-searched" candidates."""
        note = node.candidates.append
        b = requester.binary
        if self.kind == "musl":
            yield from self._search_musl(name, requester, node)
            return
        if b.runpath:
            # RUNPATH cancels every RPATH for this request: the requester's, its loaders', python's.
            chain = [o for o in self._chain(requester) if o.binary.rpath and not o.binary.runpath]
            if self.main is not None and self.main.binary.rpath and self.main not in chain \
                    and not self.main.binary.runpath:
                chain.append(self.main)
            for o in chain:
                note(Candidate("", "rpath", "not-searched",
                               f"RPATH of {o.path} skipped because RUNPATH is set in {requester.path}", o.path))
        else:
            did_main = False
            for o in self._chain(requester):
                if o.binary.rpath and o.binary.runpath:
                    note(Candidate("", "rpath", "not-searched",
                                   f"RPATH of {o.path} ignored because that file also has RUNPATH", o.path))
                    continue
                if not o.binary.rpath:
                    continue
                rule = "rpath" if o is requester else (
                    "executable-rpath" if o is self.main and self.mode == "as-imported" else f"rpath-of-{o.depth}")
                did_main |= o is self.main
                for d in self._dirs(o.binary.rpath, o):
                    yield from self._in_dir(d, name, rule, o.path)
            m = self.main
            if not did_main and m is not None and m.binary.rpath and not m.binary.runpath:
                for d in self._dirs(m.binary.rpath, m):
                    yield from self._in_dir(d, name, "executable-rpath", m.path)
        llp = self.L.env.get("LD_LIBRARY_PATH")
        if llp:
            # glibc splits on ':' and ';' and expands $ORIGIN relative to the main program.
            entries = re.split(r"[:;]", llp)
            for d in self._dirs(entries, self.main or requester):
                yield from self._in_dir(d, name, "ld-library-path", None)
        if b.runpath:
            for d in self._dirs(b.runpath, requester):
                yield from self._in_dir(d, name, "runpath", requester.path)
        nodeflib = "nodeflib" in b.flags
        cache = self.L.ld_cache()
        if cache.entries:
            entry = cache.lookup(name, flags=cache_flags_for(self.machine, self.bits), hwcaps=self.hwcaps)
            if entry is not None:
                if nodeflib and any(entry.path.startswith(d.rstrip("/") + "/") for d in self.defaults):
                    note(Candidate(entry.path, "ld.so.cache", "not-searched",
                                   "not searched because of NODEFLIB", requester.path))
                else:
                    yield entry.path, "ld.so.cache", None
            else:
                note(Candidate("/etc/ld.so.cache", "ld.so.cache", "missing", "no entry for this name"))
        else:
            note(Candidate("/etc/ld.so.cache", "ld.so.cache", "not-searched",
                           "; ".join(cache.notes) or "no cache"))
        if nodeflib:
            note(Candidate("", "default-dir", "not-searched", "not searched because of NODEFLIB",
                           requester.path))
            return
        for d in self.defaults:
            yield from self._in_dir(d, name, "default-dir", None)

    def _search_musl(self, name: str, requester: _Obj, node: _N):
        # musl ldso/dynlink.c load_library: LD_LIBRARY_PATH, then the RPATH/RUNPATH of the requester and
        # up its needed_by chain (musl makes no difference between the two), then the path file.
        llp = self.L.env.get("LD_LIBRARY_PATH")
        if llp:
            for d in self._dirs(llp.split(":"), self.main or requester):
                yield from self._in_dir(d, name, "ld-library-path", None)
        for o in self._chain(requester):
            entries = o.binary.runpath or o.binary.rpath
            if not entries:
                continue
            rule = ("runpath" if o.binary.runpath else "rpath") if o is requester else f"rpath-of-{o.depth}"
            for d in self._dirs(entries, o):
                yield from self._in_dir(d, name, rule, o.path)
        for d in self.defaults:
            yield from self._in_dir(d, name, "default-dir", None)

    def _chain(self, obj: _Obj):
        seen = set()
        while obj is not None and id(obj) not in seen:
            seen.add(id(obj))
            yield obj
            obj = obj.loader

    # -- checks after loading ----------------------------------------------------------------------
    def _finish(self, root_n: _N, root: Optional[_Obj]) -> DepTree:
        checked = False
        if root is not None:
            new = [o for o in self.objects if not o.preloaded and o.node is not None]
            self._check_versions(new)
            failed = any(n.error or n.missing_versions for n in _walk_n(root_n))
            if self.symbols and not failed and self.kind == "glibc":
                self._check_symbols(root, new)
                checked = True
            elif self.symbols and failed:
                self.notes.append("symbols not checked: the load already fails before binding")
        return DepTree(
            root=root_n.freeze(), mode=self.mode, platform="linux", loader=self.kind,
            executable=self.main.path if self.main is not None else None,
            search_defaults=self.defaults, hwcaps=self.hwcaps,
            preloaded=tuple(self.preloaded_paths + [o.path for o in self.objects
                                                    if o.preloaded and o.path not in self.preloaded_paths]),
            symbols_checked=checked, notes=tuple(dict.fromkeys(self.notes + list(self.L.ld_cache().notes))),
        )

    def _check_versions(self, objs: List[_Obj]) -> None:
        # glibc _dl_check_map_versions: each DT_VERNEED file is found by name among the loaded objects;
        # each needed version must be in that object's DT_VERDEF (a file without DT_VERDEF passes).
        if self.kind == "musl":
            return
        L = self.L
        for obj in objs:
            if not obj.binary.versions_needed:
                continue
            for library, needs in L.needs_of(obj.binary).items():
                dep = self.by_name.get(library)
                if dep is None:
                    continue  # the library itself is missing: reported on its own node
                defined = L.defined_of(dep.binary)
                if not defined:
                    continue
                target = None
                for version, weak in needs:
                    if version in defined:
                        continue
                    if weak:
                        obj.node.notes.append(f"weak version `{version}' not found in {dep.path}")
                        continue
                    if target is None:
                        target = self._node_for(dep, obj) or obj.node
                    target.missing_versions.append(MissingVersion(version, library, dep.path, obj.path))

    def _node_for(self, dep: _Obj, requester: _Obj) -> Optional[_N]:
        """The node under ``requester`` that names ``dep`` (where a version problem is shown)."""
        if requester.node is None:
            return None
        for child in requester.node.children:
            if child.obj is dep:
                return child
        return None

    def _check_symbols(self, root: _Obj, new: List[_Obj]) -> None:
        # Lookup scope (RTLD_NOW, RTLD_LOCAL): the global scope - the main program and its
        # dependencies, breadth first - then the dlopen()ed object's own dependencies, breadth first.
        # Only whether some object in scope defines each symbol matters (which one wins does not make
        # the load fail), so each symbol is looked up through the providers' own hash tables, best
        # guesses first: the library its version names, the provider it had last time in scope, the
        # provider of the previous symbol.
        global_scope = self.global_scope
        if global_scope is None:
            global_scope = _bfs(self.main) if self.main is not None else []
        seen = {id(o) for o in global_scope}
        scope = list(global_scope) + [o for o in _bfs(root) if id(o) not in seen]
        in_scope = {o.path: o for o in scope}
        L = self.L
        # The global scope is the same for every extension a python imports: its exports are merged
        # into one table once (name -> definitions and the file of each), so the C-API and libc
        # symbols that most extensions import cost one dict look-up.
        merged = L.global_exports(global_scope) if self.global_scope is not None else None
        for obj in new:
            syms = L.imports_of(obj.binary)
            if not syms:
                continue
            done = L._all_found.get(obj.path)
            if done is not None and all(p in in_scope for p in done):
                continue  # every symbol's provider from an earlier check is in this scope too
            memo = L._providers.setdefault(obj.path, {})
            missing = []
            last: Optional[_Obj] = None
            for sym in syms:
                name, version = sym.name, sym.version
                key = (name, version)
                prov = memo.get(key)
                if prov is not None:
                    hit = in_scope.get(prov)
                    if hit is not None:
                        last = hit
                        continue
                if merged is not None:
                    defs = merged.get(name)
                    if defs is not None:
                        prov = next((d[3] for d in defs if _version_ok(d, version)), None)
                        if prov is not None:
                            memo[key] = prov
                            continue
                found = self._provider(name, version, sym.library, last, scope, in_scope,
                                       len(global_scope) if merged is not None else 0)
                if found is None:
                    missing.append(MissingSymbol(name, version, sym.library, obj.path))
                else:
                    memo[key] = found.path
                    last = found
            if missing:
                obj.node.missing_symbols.extend(missing)
            else:
                L._all_found[obj.path] = frozenset(memo[(s.name, s.version)] for s in syms)

    def _provider(self, name: str, version: Optional[str], library: Optional[str], last: Optional[_Obj],
                  scope: List[_Obj], in_scope: Dict[str, _Obj], skip: int = 0) -> Optional[_Obj]:
        """An object in ``scope[skip:]`` that defines ``name`` for a reference with ``version``, or None
        (the first ``skip`` objects were already answered by the merged global table)."""
        defines = self.L.defines
        named = self.by_name.get(library) if library is not None else None
        for o in (named, last):
            if o is not None and in_scope.get(o.path) is o and defines(o.binary, name, version):
                return o
        for i in range(skip, len(scope)):
            o = scope[i]
            if o is named or o is last:
                continue
            if defines(o.binary, name, version):
                return o
        return None


def _bfs(start: _Obj) -> List[_Obj]:
    out, seen, queue = [], set(), deque([start])
    while queue:
        o = queue.popleft()
        if id(o) in seen:
            continue
        seen.add(id(o))
        out.append(o)
        queue.extend(o.deps)
    return out


def _version_ok(definition: Tuple[Optional[str], bool, bool], version: Optional[str]) -> bool:
    """glibc check_match for one definition (version, hidden, file has versions) and a reference."""
    v, hidden, versioned = definition[0], definition[1], definition[2]
    if not versioned:  # no version information in that file: any definition serves
        return True
    if version is None:
        return not hidden
    return v == version or (v is None and not hidden)


def _defines(binary: Binary, name: str, version: Optional[str]) -> bool:
    versioned = bool(binary.versions_defined)
    return any(_version_ok((v, hidden, versioned), version) for v, hidden in binary.lookup_export(name))


def _walk_n(n: _N):
    stack = [n]
    while stack:
        cur = stack.pop()
        yield cur
        stack.extend(cur.children)


def _dirname_origin(path: str) -> str:
    # posixpath.dirname, without its generality: an origin is asked for every object of every tree.
    head = path[:path.rfind("/") + 1]
    if head and head != "/" * len(head):
        head = head.rstrip("/")
    return head or "."


_DST = re.compile(r"\$(\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))")


def _expand(entry: str, origin: Optional[str], res: "_Resolution") -> Optional[str]:
    """Expand $ORIGIN, $LIB and $PLATFORM (and their ${} forms); None when $ORIGIN is unknown."""
    if "$" not in entry:
        return entry
    failed = False

    def sub(m):
        nonlocal failed
        word = m.group(2) or m.group(3)
        if word == "ORIGIN":
            if origin is None:
                failed = True
                return ""
            return origin
        if word == "LIB":
            triplet = MULTIARCH.get((res.machine, res.bits))
            # Debian-style multiarch glibc defines $LIB as lib/<triplet>; upstream uses lib64 / lib.
            if triplet and any(d.endswith(triplet) for d in res.defaults):
                return f"lib/{triplet}"
            return "lib64" if res.bits == 64 and any(d.endswith("lib64") for d in res.defaults) else "lib"
        return PLATFORM_STRING.get(res.machine, res.machine)

    out = _DST.sub(sub, entry)
    return None if failed else out


def resolve_linux(path: str, system, *, mode: str = "as-imported", python_executable: Optional[str] = None,
                  symbols: Optional[bool] = None, loader: Optional[LinuxLoader] = None) -> DepTree:
    """Resolve ``path`` on the Linux machine ``system``; see :func:`dllmagic.facts.native.loader.resolve`."""
    loader = loader or LinuxLoader(system)
    return loader.resolve(path, mode=mode, python_executable=python_executable, symbols=symbols)
