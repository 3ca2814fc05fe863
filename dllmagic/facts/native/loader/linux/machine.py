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

from ... import answers, factstore
from ...binary import Binary, read_binary
from ..ldcache import LdCache, load_ld_cache
from ..tree import DepTree
from .common import DEFAULT_INTERP, MULTIARCH, X86_LEVELS, _CLASS, _version_ok, file_key
from .platform import (KERNEL_PLATFORM, LEGACY_UNTIL, PlatformFacts, ask_loader, cpu_of, glibc_rule,
                       glibc_version, legacy_subfolders)

#: A library up to this size has its export sets read whole when first asked (libc: 2 MB, 3000 symbols).
SMALL_FILE = 4 << 20


#: The bytes of the program interpreters read in this process -> the default folders they name (a few).
_SYSTEM_DIRS: Dict[bytes, Tuple[str, ...]] = {}


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
        # Memos that make a run over a whole environment cheap: each is keyed by everything the
        # answer depends on, so a hit gives exactly what a fresh computation would.
        #: (name, search context) -> (candidates tried, outcome): one search per distinct context.
        self._searches: Dict[tuple, tuple] = {}
        self._reads: Dict[str, Binary] = {}
        self._dir_lists: Dict[tuple, List[str]] = {}
        #: (python, loaded libraries) -> the process state before the import (python and its libraries).
        self._process: Dict[tuple, "_ProcessState"] = {}
        # Symbol facts, keyed by file_key (the file's identity): {library: ((version, weak), ...)},
        #: the frozenset of defined versions, the import groups, the export sets.
        self._needs: Dict[str, Dict[str, Tuple[Tuple[str, bool], ...]]] = {}
        self._defined: Dict[str, frozenset] = {}
        self._imports: Dict[object, tuple] = {}
        self._sets: Dict[object, tuple] = {}
        #: (file, symbol name) -> the definitions that file exports under that name.
        self._exports: Dict[tuple, tuple] = {}
        #: requirer -> the files that defined its symbols, once every one was found (if they are all
        #: in scope again, nothing is looked up).
        self._all_found: Dict[object, frozenset] = {}
        self._global: Dict[tuple, tuple] = {}
        #: file -> how many names were looked up in it name by name.
        self._lookups: Dict[object, int] = {}
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
                answers.note(self.system.host_path("/etc/ld.so.preload"))
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
            answers.note(self.system.host_path("/etc/ld.so.cache"))
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

    def prepare_python(self, python_executable: Optional[str] = None, *, symbols: bool = True) -> None:
        """Make the process state of python (and, for the symbol check, its global scope's export
        sets) now, before worker processes fork: each would otherwise make its own copy.

        The export sets (tens of milliseconds: python's own table is large) are left to the first
        check that needs them when the kept symbol checks (factstore.FoundStore) were served by a file
        of python's global scope as it is now: the checks of the files kept there need none."""
        res = _Resolution(self, "/", "as-imported", python_executable, symbols)
        program = self.read(res.python) if res.python else None
        if program is None or program.error:
            return
        state = res._python_process(program)
        if symbols and res.kind == "glibc":
            scope = [o.binary for o in state.global_scope]
            kept = self.found_store()
            if kept is not None and kept.names_any(s for s in (b.stamp() for b in scope) if s is not None):
                return
            self.global_sets(scope)

    def cpuinfo(self) -> str:
        """The machine's /proc/cpuinfo text ("" when it has none)."""
        if "cpuinfo" not in self._cache:
            answers.note_cpu()
            try:
                self._cache["cpuinfo"] = self.system.read_text("/proc/cpuinfo", 1 << 20)
            except OSError:
                self._cache["cpuinfo"] = ""
        return self._cache["cpuinfo"]

    def interp_bytes(self, interp: str) -> bytes:
        """The first 8 MB of the machine's program interpreter (b"" when unreadable)."""
        hit = self._interp_bytes.get(interp)
        if hit is None:
            answers.note(self.system.host_path(interp))
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
            # the live loader's word: it changes with its file (and where its link leads), the CPU
            answers.note(interp)
            answers.note_realpath(interp)
            answers.note_cpu()
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
            answers.note(self.system.host_path(f"/etc/ld-musl-{arch}.path"))
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
        # The scan is remembered for the process, per content of the file (a kernel reports many failures).
        if not interp:
            return ()
        data = self.interp_bytes(interp)
        dirs = _SYSTEM_DIRS.get(data)
        if dirs is None:
            if len(_SYSTEM_DIRS) >= 4:
                _SYSTEM_DIRS.clear()
            dirs = _SYSTEM_DIRS[data] = self._scan_system_dirs(data)
        return dirs

    @staticmethod
    def _scan_system_dirs(data: bytes) -> Tuple[str, ...]:
        for m in _system_dirs_strings(data):
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
            answers.note(self.system.host_path(path))
            hit = self._dir_cache[path] = self.system.is_dir(path)
        return hit

    def realpath(self, path: str) -> str:
        """The machine path with every symlink resolved inside the machine's root."""
        hit = self._realpaths.get(path)
        if hit is not None:
            return hit
        answers.note_realpath(self.system.host_path(path))
        result = self._realpaths[path] = self.system.realpath(path)
        return result


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

    # -- symbol facts, once per file for the loader's life --------------------------------------------
    # Keyed by the file's identity (device, inode), not its path: scipy's extensions reach
    # libscipy_openblas by a dozen spellings (``scipy/linalg/../../scipy.libs/...``), one file.

    def found_store(self):
        """The store of symbol checks that found everything (factstore.FoundStore), when one is active."""
        store = factstore.active()
        return store.found() if store is not None else None

    def import_groups(self, binary: Binary) -> tuple:
        """The undefined non-weak symbols of ``binary`` as ((version, library, names), ...): one
        frozenset of names per version it asks for (read once per file, imports only)."""
        k = file_key(binary)
        hit = self._imports.get(k)
        if hit is None:
            hit = binary.bulk_import_groups()
            if hit is not None:
                self._imports[k] = hit
                return hit
            groups: Dict[Tuple[Optional[str], Optional[str]], set] = {}
            for s in binary.imported_symbols:
                if not s.weak:
                    groups.setdefault((s.version, s.library), set()).add(s.name)
            hit = self._imports[k] = tuple((v, lib, frozenset(names)) for (v, lib), names in groups.items())
        return hit

    def export_sets(self, binary: Binary) -> tuple:
        """(any, visible, by_version) of ``binary``'s whole export table (see ``elf.export_sets``):
        read once per file, in bulk where the file allows, else from the careful reader's table."""
        k = file_key(binary)
        hit = self._sets.get(k)
        if hit is None:
            hit = binary.bulk_export_sets()
            if hit is None:
                hit = _sets_from_table(binary.exports_by_name, bool(binary.versions_defined))
            self._sets[k] = hit
        return hit

    def global_sets(self, binaries: Sequence[Binary]) -> tuple:
        """The export sets of a global scope merged (the same python serves every extension): built
        once per scope, then each extension's imports meet it in a few set operations."""
        key = tuple(file_key(b) for b in binaries)
        hit = self._global.get(key)
        if hit is None:
            anyv: set = set()
            visible: set = set()
            by_version: Dict[str, set] = {}
            for b in binaries:
                a, v, bv = self.export_sets(b)
                anyv |= a
                visible |= v
                for version, names in bv.items():
                    by_version.setdefault(version, set()).update(names)
            hit = (frozenset(anyv), frozenset(visible), {v: frozenset(n) for v, n in by_version.items()})
            if len(self._global) > 8:
                self._global.clear()
            self._global[key] = hit
        return hit

    def lookup_cost(self, binary: Binary) -> int:
        """0 for a file whose export sets are read; else its size (a guess at its symbol count)."""
        return 0 if file_key(binary) in self._sets else binary.file_size()

    def undefined_in(self, binary: Binary, version: Optional[str], names) -> frozenset:
        """Those of ``names`` (references with ``version``) that ``binary`` does not define.

        A library whose export sets are read answers with set operations. Reading them costs about
        3 us a symbol, a look-up through the file's own hash table about 20 us a name: a big library
        asked about few names (libtorch_cpu has 75 000 exports) is asked name by name, until the
        names asked of it come to a seventh of its table.
        """
        k = file_key(binary)
        sets = self._sets.get(k)
        if sets is None:
            if binary.file_size() <= SMALL_FILE:
                sets = self.export_sets(binary)
            else:
                index = binary._index
                asked = self._lookups[k] = self._lookups.get(k, 0) + len(names)
                if index is None or asked * 7 > index.count:
                    sets = self.export_sets(binary)
        if sets is not None:
            anyv, visible, by_version = sets
            left = names - anyv
            if left:
                left = left - (visible if version is None else by_version.get(version, frozenset()))
            return left
        return frozenset(n for n in names if not self.defines(binary, n, version))

    def needs_of(self, binary: Binary) -> Dict[str, Tuple[Tuple[str, bool], ...]]:
        """{library: ((version, weak), ...)} from DT_VERNEED, grouped once per file."""
        k = file_key(binary)
        hit = self._needs.get(k)
        if hit is None:
            grouped: Dict[str, List[Tuple[str, bool]]] = {}
            for need in binary.versions_needed:
                grouped.setdefault(need.library, []).append((need.version, need.weak))
            hit = self._needs[k] = {k2: tuple(v) for k2, v in grouped.items()}
        return hit

    def defined_of(self, binary: Binary) -> frozenset:
        k = file_key(binary)
        hit = self._defined.get(k)
        if hit is None:
            hit = self._defined[k] = frozenset(binary.versions_defined)
        return hit

    def defines(self, binary: Binary, name: str, version: Optional[str]) -> bool:
        """Whether ``binary`` has a definition of ``name`` that a reference with ``version`` binds to,
        through the file's own hash table (``Binary.lookup_export``): each (file, name) pair is
        looked up once for the loader's life."""
        key = (file_key(binary), name)
        defs = self._exports.get(key)
        if defs is None:
            defs = self._exports[key] = binary.lookup_export(name)
        if not defs:
            return False
        versioned = bool(self.defined_of(binary))
        return any(_version_ok((v, h, versioned), version) for v, h in defs)

    # -- resolution --------------------------------------------------------------------------------
    def resolve(self, path: str, *, mode: str = "as-imported", python_executable: Optional[str] = None,
                symbols: Optional[bool] = None) -> DepTree:
        return _Resolution(self, path, mode, python_executable, symbols).run()

    def resolve_draft(self, path: str, *, mode: str = "as-imported", python_executable: Optional[str] = None,
                      symbols: Optional[bool] = None):
        """As-imported: :meth:`resolve`'s load, checked, its tree not frozen yet (a
        :class:`~.checks.Draft`: whether it has a problem, the files it reached; ``tree()`` is the
        tree :meth:`resolve` gives). Other modes: None."""
        if mode != "as-imported":
            return None
        res = _Resolution(self, path, mode, python_executable, symbols)
        res.draft = True
        return res.run()

    def loads_cleanly(self, path: str, *, mode: str = "as-imported", python_executable: Optional[str] = None,
                      symbols: Optional[bool] = None) -> Optional[str]:
        """The root path :meth:`resolve` would give ``path``'s tree, when that tree is known to have no
        problem without making it (standalone, a shared tree of its key without one, its own version
        needs met); else None (not known: resolve it)."""
        return _Resolution(self, path, mode, python_executable, symbols).loads_cleanly()



#: Two or more folders, each ending in "/" and NUL: glibc's SYSTEM_DIRS string in ld.so.
_SYSTEM_DIRS_STRING = re.compile(rb"(?:/[\w.+-]+(?:/[\w.+-]+)*/\x00){2,}")
#: A byte no such string holds.
_NOT_IN_DIRS_STRING = re.compile(rb"[^\w.+/\x00-]")


def _system_dirs_strings(data: bytes):
    """``_SYSTEM_DIRS_STRING.finditer(data)``, without trying the pattern at every "/" of a binary
    (a quarter of a million bytes of ld.so: ~7 ms): a match holds "/\\0/" (the end of one folder and
    the start of the next) and only bytes of the pattern, so it lies in a run of such bytes around
    one of those; each run is searched whole, in order, as finditer would."""
    start = 0
    find = data.find
    while True:
        at = find(b"/\0/", start)
        if at < 0:
            return
        # the run of the pattern's bytes around it: back to the last other byte, on to the next
        left = at
        while True:
            low = max(start, left - 256)
            others = [m.end() for m in _NOT_IN_DIRS_STRING.finditer(data, low, left)]
            if others:
                left = others[-1]
                break
            left = low
            if low == start:
                break
        right = _NOT_IN_DIRS_STRING.search(data, at)
        end = right.start() if right is not None else len(data)
        yield from _SYSTEM_DIRS_STRING.finditer(data, left, end)
        start = end


def _sets_from_table(table: dict, versioned: bool) -> tuple:
    """(any, visible, by_version), as ``elf.export_sets`` gives, from name -> ((version, hidden), ...)."""
    if not versioned:
        every = frozenset(table)
        return every, every, {}
    anyv, visible, by_version = set(), set(), {}
    for name, defs in table.items():
        for version, hidden in defs:
            if not hidden:
                visible.add(name)
                if version is None:
                    anyv.add(name)
            if version is not None:
                by_version.setdefault(version, set()).add(name)
    return frozenset(anyv), frozenset(visible), {v: frozenset(n) for v, n in by_version.items()}


def _host_machine() -> str:
    """This host's CPU in the names Binary.machine uses."""
    m = os.uname().machine
    return {"amd64": "x86_64", "arm64": "aarch64", "i686": "i386", "i586": "i386"}.get(m, m)


from .resolution import _Resolution  # noqa: E402  (it needs nothing from this module at import)
