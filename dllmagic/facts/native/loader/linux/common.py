"""Constants and the small mutable records of one Linux resolution (objects and draft nodes)."""
from __future__ import annotations

import re
from collections import deque
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import Dict, List, Optional, Set, Tuple

from ...binary import Binary
from .platform import KERNEL_PLATFORM
from ..tree import Candidate, MissingSymbol, MissingVersion, Node, freeze_tree, make_node

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
#: The kernel's AT_PLATFORM by machine (the live value comes from the loader, see platform.py).
PLATFORM_STRING = KERNEL_PLATFORM
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



class _LoadedObj(_Obj):
    """An object already in the process before the load (``system.loaded_libraries()``), known by its path,
    SONAME and file identity: glibc matches a request against those. Its file is read whole (``binary``) only
    when something asks more of it (a version or symbol check of a library that needs it)."""

    __slots__ = ("_binary", "_read")

    def __init__(self, path: str, read) -> None:
        self._binary = None
        self._read = read
        super().__init__(path, None, None, 0, preloaded=True)

    @property
    def binary(self) -> Binary:
        b = self._binary
        if b is None:
            b = self._binary = self._read(self.path)
        return b

    @binary.setter
    def binary(self, value) -> None:
        self._binary = value

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
        return freeze_tree(self)

    def freeze_one(self, children: tuple) -> Node:
        b = self.obj.binary if self.obj is not None else None
        soname = b.soname if b is not None else None
        system = _is_system_name(self.name) or _is_system_name(soname)
        notes = self.notes
        if b is not None and not self.repeat:
            if b.notes:
                notes = notes + list(b.notes)
            # problems met reading the symbol tables, once the symbol check read them
            read = b.__dict__.get("_imports")
            if read is not None and read[-1]:
                notes = notes + list(read[-1])
        return make_node(
            self.name, self.path, self.rule, self.depth, self.requested_by, self.via,
            tuple(self.candidates), children,
            self.repeat, system, soname, self.error,
            tuple(self.missing_versions) if self.missing_versions else (),
            tuple(self.missing_symbols) if self.missing_symbols else (),
            tuple(dict.fromkeys(notes)) if notes else (),
        )



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


def file_key(binary):
    """What identifies a file for the symbol memos: its (device, inode), else (a modelled file) its path."""
    fid = binary.file_id
    return fid if fid is not None else binary.path


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
