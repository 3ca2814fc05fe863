"""Checks after loading: symbol versions (DT_VERNEED) and, for a whole load, every undefined symbol."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import Dict, List, Optional

from ..tree import DepTree, MissingSymbol, MissingVersion
from ..providers import provider_note
from .common import _bfs, _N, _Obj, _version_ok, _walk_n


class _Checks:
    """The checking half of :class:`~.resolution._Resolution` (a mixin: it uses the resolution's state)."""

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
        for n in _walk_n(root_n):
            if n.error == "not found" and n.path is None:
                note = provider_note(n.name, "linux")
                if note:
                    n.notes.append(note)
        if any("PLATFORM" in e for o in self.objects if o.node is not None
               for e in (*o.binary.rpath, *o.binary.runpath, *(n.name for n in o.binary.needed))):
            self.notes.append(f"$PLATFORM is {self.platform} ({self.platform_source})")
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
