"""The loader state of one Linux machine: its cache, default folders, hwcaps and the memos shared by
every resolution on it."""
from __future__ import annotations

import os
import posixpath
import re
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import Dict, List, Optional, Sequence, Tuple
    from .common import _Obj
    from .template import _ProcessState, _Template

from ...binary import Binary, read_binary
from ..ldcache import LdCache, load_ld_cache
from ..tree import DepTree
from .common import DEFAULT_INTERP, MULTIARCH, X86_LEVELS, _CLASS, _version_ok
from .platform import (KERNEL_PLATFORM, LEGACY_UNTIL, PlatformFacts, ask_loader, cpu_of, glibc_rule,
                       glibc_version, legacy_subfolders)

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
        self._platforms: Dict[tuple, PlatformFacts] = {}
        self._interp_bytes: Dict[str, bytes] = {}
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
            _, flags = cpu_of(self.cpuinfo())
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

    def prefetch(self) -> None:
        """Read the machine-wide facts of the usual process kind now (before worker processes fork):
        the cache, and $PLATFORM and hwcaps of the default 64-bit interpreter of this machine's CPU."""
        self.ld_cache()
        machine = self.system.machine if self.system.machine in KERNEL_PLATFORM else _host_machine()
        interp = DEFAULT_INTERP.get((machine, 64))
        if interp:
            self.platform_for(interp, machine, 64)

    def cpuinfo(self) -> str:
        """The machine's /proc/cpuinfo text ("" when it has none)."""
        if "cpuinfo" not in self._cache:
            try:
                self._cache["cpuinfo"] = self.system.read_text("/proc/cpuinfo", 1 << 20)
            except OSError:
                self._cache["cpuinfo"] = ""
        return self._cache["cpuinfo"]

    def interp_bytes(self, interp: str) -> bytes:
        """The first 8 MB of the machine's program interpreter (b"" when unreadable)."""
        hit = self._interp_bytes.get(interp)
        if hit is None:
            try:
                hit = self.system.read_bytes(interp, 8 << 20)
            except OSError:
                hit = b""
            self._interp_bytes[interp] = hit
        return hit

    def platform_for(self, interp: Optional[str], machine: str, bits: int) -> PlatformFacts:
        """$PLATFORM, the glibc-hwcaps levels and the legacy hwcap subfolders of a glibc process that
        runs ``interp`` (see platform.py): the live loader's own answer, else glibc's rule."""
        key = (interp, machine, bits)
        hit = self._platforms.get(key)
        if hit is not None:
            return hit
        live = self.system.live or self.system.root in ("/", "")
        answer = ask_loader(interp) if live and interp and machine == _host_machine() else None
        if answer is not None:
            hit = PlatformFacts(answer["platform"], answer["hwcaps"], answer["legacy"],
                                f"{interp} --list-diagnostics and --help")
        else:
            version = glibc_version(self.interp_bytes(interp)) if interp else None
            vendor, flags = cpu_of(self.cpuinfo())
            note = None
            if version is not None and version >= LEGACY_UNTIL:
                platform, legacy = KERNEL_PLATFORM.get(machine, machine), ()
            else:
                platform, important = glibc_rule(machine, bits, vendor, flags)
                legacy = legacy_subfolders(("tls", platform) + important)
                if version is None:
                    note = "glibc version unknown: the legacy hwcap subfolders (glibc < 2.37) are searched"
            if not vendor and machine == "x86_64":
                note = "CPU unknown: $PLATFORM taken as x86_64"
            hit = PlatformFacts(platform, None, legacy,
                                f"glibc {'.'.join(map(str, version)) if version else '?'}'s rule for "
                                f"{vendor or 'an unknown CPU'}", note)
        self._platforms[key] = hit
        return hit

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
        data = self.interp_bytes(interp)
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



def _host_machine() -> str:
    """This host's CPU in the names Binary.machine uses."""
    m = os.uname().machine
    return {"amd64": "x86_64", "arm64": "aarch64", "i686": "i386", "i586": "i386"}.get(m, m)


from .resolution import _Resolution  # noqa: E402  (it needs nothing from this module at import)
