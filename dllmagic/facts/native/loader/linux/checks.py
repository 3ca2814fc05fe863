"""Checks after loading: symbol versions (DT_VERNEED) and, for a whole load, every undefined symbol."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import List, Optional

from ..tree import DepTree, MissingSymbol, MissingVersion
from ..providers import provider_note
from .common import _bfs, _N, _Obj, _walk_n, file_key

_EMPTY: frozenset = frozenset()


class _Checks:
    """The checking half of :class:`~.resolution._Resolution` (a mixin: it uses the resolution's state)."""

    # -- checks after loading ----------------------------------------------------------------------
    def _finish(self, root_n: _N, root: Optional[_Obj]):
        """The tree, checked and frozen; with ``self.draft`` (as-imported only), the checked tree
        unfrozen (see :class:`Draft`)."""
        checked = self._complete(root_n, root)
        if self.draft:
            return Draft(self, root_n, checked)
        return self._tree(root_n, checked)

    def _complete(self, root_n: _N, root: Optional[_Obj]) -> bool:
        """The checks after the load, and the notes they add; whether the symbols were checked."""
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
        for n in _walk_n(root_n):
            if n.error == "not found" and n.path is None:
                note = provider_note(n.name, "linux")
                if note:
                    n.notes.append(note)
        # (one search of each file's strings joined: "PLATFORM" holds no NUL, so no match spans two)
        if any("PLATFORM" in "\0".join((*o.binary.rpath, *o.binary.runpath, *[n.name for n in o.binary.needed]))
               for o in self.objects if o.node is not None):
            self.notes.append(f"$PLATFORM is {self.platform} ({self.platform_source})")
        return checked

    def _tree(self, root_n: _N, checked: bool) -> DepTree:
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
        for obj in objs:
            if not obj.binary.versions_needed:
                continue
            weak, missing = version_check(self.L, obj.binary, obj.path, self.by_name)
            obj.node.notes.extend(weak)
            targets = {}
            for dep, version in missing:
                target = targets.get(id(dep))
                if target is None:
                    target = targets[id(dep)] = self._node_for(dep, obj) or obj.node
                target.missing_versions.append(version)

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
        # the load fail), so each file's imports - one set of names per version asked for - meet each
        # provider's export sets in set operations: the global scope's merged once (the same python
        # serves every extension), then the local objects', small libraries first. A big library
        # asked about few names answers name by name through its own hash table instead.
        # A file whose symbols were all found before, by files that are all in scope again (the same
        # files, unchanged: kept between runs by their stamps, see factstore.FoundStore), is not
        # looked at again.
        L = self.L
        if self.global_scope is not None:
            global_scope = self.global_scope
            # (by file: an object met again below the extension is the same file, already in scope)
            seen = {file_key(o.binary) for o in global_scope}
            local = [o for o in _bfs(root) if file_key(o.binary) not in seen]
        else:  # no process around the file: every object is looked at on its own
            global_scope = []
            local = _bfs(self.main) if self.main is not None else []
            seen = {id(o) for o in local}
            local += [o for o in _bfs(root) if id(o) not in seen]
        global_keys = frozenset(file_key(o.binary) for o in global_scope)
        scope_keys = global_keys | {file_key(o.binary) for o in local}
        kept = L.found_store()
        stamps = None  # file key -> stamp, of every file in scope (when something is kept)
        gsets = None
        prepared = False
        for obj in new:
            me = file_key(obj.binary)
            done = L._all_found.get(me)
            if done is not None and done <= scope_keys:
                continue  # every file that defined its symbols in an earlier check is in scope again
            stamp = obj.binary.stamp() if kept is not None else None
            # (a file whose whole table was read carefully here would have its imports read carefully
            # too, with their notes: checked afresh)
            if stamp is not None and "_all_symbols" not in obj.binary.__dict__:
                providers = kept.get(stamp)
                if providers is not None:
                    if stamps is None:
                        stamps = {file_key(o.binary): o.binary.stamp() for o in (*global_scope, *local)}
                    if all(stamps.get(u[:2]) == u for u in providers):
                        L._all_found[me] = frozenset(u[:2] for u in providers)
                        continue
            groups = L.import_groups(obj.binary)
            if not prepared:
                prepared = True
                if self.global_scope is not None:
                    gsets = L.global_sets([o.binary for o in global_scope])
                # small tables first: they are read whole once and shrink what the big ones are asked
                local.sort(key=lambda o: L.lookup_cost(o.binary))
            used = set()
            rest = []
            for version, library, names in groups:
                left = names
                if gsets is not None:
                    anyv, visible, by_version = gsets
                    left = left - anyv
                    if left:
                        left = left - (visible if version is None else by_version.get(version, _EMPTY))
                    if len(left) < len(names):
                        used |= global_keys
                if left:
                    rest.append([version, left])
            for o in local:
                if not rest:
                    break
                for g in rest:
                    left = L.undefined_in(o.binary, g[0], g[1])
                    if len(left) < len(g[1]):
                        used.add(file_key(o.binary))
                        g[1] = left
                rest = [g for g in rest if g[1]]
            if rest:
                # in the file's own symbol order, as its table lists them
                unfound = {(g[0], name) for g in rest for name in g[1]}
                obj.node.missing_symbols.extend(
                    MissingSymbol(s.name, s.version, s.library, obj.path) for s in obj.binary.imported_symbols
                    if not s.weak and (s.version, s.name) in unfound)
                continue
            L._all_found[me] = frozenset(used)
            if stamp is not None:
                if stamps is None:
                    stamps = {file_key(o.binary): o.binary.stamp() for o in (*global_scope, *local)}
                # Kept only when every table here was read in bulk: a careful read of one (an odd
                # table) adds notes to the output, which a later run that skips the check would lack.
                careful = any("_imports" in o.binary.__dict__ or "_all_symbols" in o.binary.__dict__
                              for o in (obj, *global_scope, *local))
                providers = [stamps.get(k) for k in used]
                if not careful and None not in providers:
                    kept.put(stamp, providers)


class Draft:
    """A checked load whose tree is not frozen yet: what a brief line needs (whether it has a
    problem, the files it reached) without the :class:`DepTree` that only a full view shows.
    :meth:`tree` is the tree :meth:`_Checks._finish` gives (made at once, before any other load: a
    frozen node takes its file's notes as they are then)."""

    __slots__ = ("_res", "_root", "_checked", "clean", "root_path", "mode")

    def __init__(self, res: _Checks, root_n: _N, checked: bool) -> None:
        self._res, self._root, self._checked = res, root_n, checked
        self.mode = res.mode
        self.root_path = root_n.path or root_n.name
        #: No node with a problem: what :func:`~..tree.problems` finds in the frozen tree.
        self.clean = not any((n.error and not n.repeat) or n.missing_versions or n.missing_symbols
                             for n in _walk_n(root_n))

    def tree(self) -> DepTree:
        return self._res._tree(self._root, self._checked)

    def reached(self) -> tuple:
        """The paths of the files loaded below the root (each node found without an error), in the
        frozen tree's depth-first order."""
        root = self._root
        out = []
        stack = list(reversed(root.children))
        while stack:
            node = stack.pop()
            if node.path and node.error is None:
                out.append(node.path)
            stack.extend(reversed(node.children))
        return tuple(out)


def version_check(L, binary, path: str, by_name) -> tuple:
    """(notes, [(the object, MissingVersion), ...]) of the version needs of ``binary`` (loaded as
    ``path``) against the objects loaded by name (``by_name``): a weak version not found is a note,
    a version not found is missing from the object that answers to the library's name."""
    notes: List[str] = []
    missing: list = []
    for library, needs in L.needs_of(binary).items():
        dep = by_name.get(library)
        if dep is None:
            continue  # the library itself is missing: reported on its own node
        defined = L.defined_of(dep.binary)
        if not defined:
            continue
        for version, weak in needs:
            if version in defined:
                continue
            if weak:
                notes.append(f"weak version `{version}' not found in {dep.path}")
                continue
            missing.append((dep, MissingVersion(version, library, dep.path, path)))
    return notes, missing
