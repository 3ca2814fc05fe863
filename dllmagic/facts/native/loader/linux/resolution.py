"""One dlopen (as-imported) or one program start (standalone), emulated: set-up, preloads and the
breadth-first load of every DT_NEEDED."""
from __future__ import annotations

import posixpath
from collections import deque
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import Dict, List, Optional, Sequence, Tuple
    from .machine import LinuxLoader

from ...binary import Binary, loaded_names
from ..tree import DepTree
from .checks import _Checks
from .common import DEFAULT_INTERP, MAX_OBJECTS, _dirname_origin, _LoadedObj, _N, _Obj
from .platform import KERNEL_PLATFORM
from .search import _Search
from .template import _ProcessState, _Template

class _Resolution(_Search, _Checks):
    """One dlopen (as-imported) or one program start (standalone), emulated."""

    #: As-imported: :meth:`run` gives a :class:`~.checks.Draft` (see LinuxLoader.resolve_draft).
    draft = False

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
        #: $PLATFORM and the legacy hwcap subfolders (glibc < 2.37) of this process.
        self.platform = KERNEL_PLATFORM.get(self.machine, self.machine)
        self.legacy: Tuple[str, ...] = ()
        self.platform_source = "the kernel's AT_PLATFORM for this CPU"
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
            facts = self.L.platform_for(interp, self.machine, self.bits)
            self.platform, self.legacy = facts.platform, facts.legacy
            self.platform_source = facts.source
            if facts.note:
                self.notes.append(facts.note)
            if facts.hwcaps is not None and self.L._hwcaps_given is None:
                self.hwcaps = facts.hwcaps
            else:
                self.hwcaps, note = self.L.hwcaps_for(self.machine, self.bits)
                if note:
                    self.notes.append(note)
        else:
            self.platform, self.legacy = KERNEL_PLATFORM.get(self.machine, self.machine), ()

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

    def _python_process(self, program: Binary) -> "_ProcessState":
        """The process just before the import: python started, its libraries and what is already
        loaded (``system.loaded_libraries()``) in place; made once per loader, then copied."""
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
            state = self.L._process[key] = _ProcessState(self)
            self.global_scope = state.global_scope
        else:
            state.restore(self)
        return state

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
                self._python_process(program)
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
        notes = tuple(root_n.notes)  # (before the version checks add theirs)
        tree = self._finish(root_n, root)
        if template_key is not None and not self.root_matched:
            self.L._templates[template_key] = _Template(self, tree, notes)
        return tree

    def loads_cleanly(self) -> Optional[str]:
        """See LinuxLoader.loads_cleanly: what :meth:`run` would find through a template, without
        renaming its tree."""
        if self.mode != "standalone":
            return None
        target = self.L.read(self.path)
        if target.error:
            return None
        self._setup_machine(target)
        key = self._template_key(target)
        template = self.L._templates.get(key) if key is not None else None
        if template is not None and template.fits(self.path, target) and template.clean_for(self.path, target):
            return self.path
        return None

    def _template_key(self, target: Binary) -> Optional[tuple]:
        """What a standalone tree below the program depends on, when nothing else about the program
        does (None otherwise): its needs, and with an RPATH/RUNPATH (or NODEFLIB) those and its folder
        ($ORIGIN); no name with a slash or a $ token, no $ORIGIN in LD_LIBRARY_PATH, no preload, no
        symbol check. Its version needs are checked anew by :meth:`_Template.apply`. Besides the key,
        the program's own path and SONAME must not be asked for below it (checked by
        :meth:`_Template.fits`), and its path must show only where :meth:`_Template.apply` replaces
        it (see template._renamed)."""
        if self.symbols or "$" in (self.L.env.get("LD_LIBRARY_PATH") or "") or self.L.preload_list(self.kind):
            return None
        if any("/" in n.name or "$" in n.name for n in target.needed):
            return None
        key = (self.interp, self.bits, self.machine, target.needed)
        if target.rpath or target.runpath or "nodeflib" in target.flags:
            key += (_dirname_origin(self.path), target.rpath, target.runpath, "nodeflib" in target.flags)
        return key

    def _preload_loaded(self, loaded) -> None:
        for p in loaded:
            if p in self.by_name:
                continue
            # Most of them are only ever matched by name or identity: their files are read whole on demand.
            known = loaded_names(p, self.system)
            if known is not None:
                soname, file_id = known
                if file_id in self.by_id:
                    continue
                obj = _LoadedObj(p, self.L.read)
                obj.origin = _dirname_origin(p)
                obj.names.add(p)
                if soname:
                    obj.names.add(soname)
                for n in obj.names:
                    self.by_name.setdefault(n, obj)
                self.by_id.setdefault(file_id, obj)
                self.objects.append(obj)
                self.preloaded_paths.append(p)
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
