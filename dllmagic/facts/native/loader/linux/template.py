"""Shared standalone trees (templates) and the remembered process state before an import."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import Dict, Optional, Set
    from .common import _Obj
    from .resolution import _Resolution

from ...binary import Binary
from ..tree import Candidate, DepTree, make_node, walk
from .checks import version_check
from .common import _bfs, _is_system_name

_new = object.__new__


class _Template:
    """A standalone tree made for one program, reused for another with the same template key.

    The tree below the program depends on the program's folder ($ORIGIN) and what its file says, not
    on its path; the path itself shows only where the program is named as the requester of its
    needs, as the file whose RPATH gave a folder (``via``) and as the file whose version needs are
    checked. Those nodes (and the nodes above them) are made anew with the other program's path; the
    rest is shared as it is (frozen nodes). A tree that names the program anywhere else (a note, a
    reason) is not reused (see :func:`_renamed`). The other program's own version needs are checked
    anew against the objects of the tree (they show only on its node and on the nodes it asks for).
    """

    __slots__ = ("tree", "path", "names", "root_notes", "renamed", "loader", "kind", "by_name", "child_of",
                 "clean", "_res")

    def __init__(self, res: "_Resolution", tree: DepTree, root_notes: tuple) -> None:
        self.tree = tree
        self.path = res.path
        #: The notes on the program's node before its version needs were checked (its file's own
        #: notes are added apart).
        self.root_notes = root_notes
        self.loader, self.kind = res.L, res.kind
        #: Made when a second program asks (most keys have one program): see :meth:`_prepare`.
        self.names: Optional[Set[str]] = None
        #: ids of the nodes below the root that name the program, or have such a node below them;
        #: None when the tree names it where it cannot be replaced (no reuse).
        self.renamed: Optional[Set[int]] = None
        #: The loaded objects by name, and the place among the program's children of each object's
        #: first node there: where a version need of the program is checked and shown.
        self.by_name: Optional[Dict[str, _Obj]] = None
        self.child_of: Optional[Dict[int, int]] = None
        #: No node of the tree has a problem (a load error, a missing version or symbol).
        self.clean = False
        self._res: Optional["_Resolution"] = res

    def _prepare(self) -> None:
        res, self._res = self._res, None
        root = res.main
        tree = self.tree
        # Every name asked for below the program, found or not, every file loaded, and every library
        # named by a version need: a program answering to one of them would have been matched there
        # (and changed the tree).
        self.names = {n.name for n in walk(tree.root) if n is not tree.root}
        self.names.update(k for k, o in res.by_name.items() if o is not root)
        for o in res.objects:
            self.names.update(v.library for v in o.binary.versions_needed)
        self.renamed = _renamed(tree, self.path, self.names, root.binary.soname)
        self.clean = not any(n.error or n.missing_versions or n.missing_symbols for n in walk(tree.root))
        self.by_name = res.by_name
        self.child_of = {}
        for i, child in enumerate(root.node.children):
            if child.obj is not None:
                self.child_of.setdefault(id(child.obj), i)

    def fits(self, path: str, target: Binary) -> bool:
        if self._res is not None:
            self._prepare()
        if self.renamed is None or path in self.names or (target.soname is not None and target.soname in self.names):
            return False
        # a version need that names a program (this one or the template's) is checked against it
        mine = self.by_name.get(self.path)
        return not any(v.library in (path, target.soname) or self.by_name.get(v.library) is mine
                       for v in target.versions_needed)

    def clean_for(self, path: str, target: Binary) -> bool:
        """Whether :meth:`apply` would give a tree without a problem (after :meth:`fits`)."""
        if not self.clean:
            return False
        if target.versions_needed and self.kind != "musl":
            return not version_check(self.loader, target, path, self.by_name)[1]
        return True

    def apply(self, path: str, target: Binary) -> DepTree:
        old = self.path
        root = self.tree.root
        renamed = self.renamed

        def candidates(found):
            if not any(c.via == old for c in found):
                return found
            out = []
            for c in found:
                if c.via == old:
                    fields = dict(c.__dict__)
                    fields["via"] = path
                    c = _new(Candidate)
                    c.__dict__.update(fields)
                out.append(c)
            return tuple(out)

        def renew(c, children, missing_versions):
            return make_node(
                c.name, c.path, c.rule, c.depth, path if c.requested_by == old else c.requested_by,
                path if c.via == old else c.via, candidates(c.candidates), children, c.repeat, c.system,
                c.soname, c.error, missing_versions, c.missing_symbols, c.notes)

        # The program's version needs, as _Checks._check_versions finds them: on the first of its
        # children that is the object found, else on its own node.
        notes = list(self.root_notes)
        on_child: Dict[int, list] = {}
        on_root: list = []
        if target.versions_needed and self.kind != "musl":
            weak, missing = version_check(self.loader, target, path, self.by_name)
            notes.extend(weak)
            for dep, version in missing:
                i = self.child_of.get(id(dep))
                (on_root if i is None else on_child.setdefault(i, [])).append(version)
        # Below the program's children, bottom up without recursion (as freeze_tree): only the
        # renamed nodes are made anew.
        done = {}
        stack = [(c, False) for top in root.children for c in top.children if id(c) in renamed]
        while stack:
            node, ready = stack.pop()
            if ready:
                done[id(node)] = renew(node, tuple(done.get(id(c), c) for c in node.children),
                                       node.missing_versions)
            else:
                stack.append((node, True))
                stack.extend((c, False) for c in node.children if id(c) in renamed)
        # Its children (each names it as the requester), with its own version needs first (it is
        # checked first), then those another object's check put there (a need of the child itself
        # whose library is none of its own children's).
        children = tuple(renew(c, tuple(done.get(id(k), k) for k in c.children),
                               tuple(on_child.get(i, ())) + _others(c.missing_versions, old))
                         for i, c in enumerate(root.children))
        notes.extend(target.notes)
        new_root = make_node(
            path, path, root.rule, 0, None, None, root.candidates, children, False,
            _is_system_name(path) or _is_system_name(target.soname), target.soname, root.error,
            tuple(on_root) + _others(root.missing_versions, old), root.missing_symbols,
            tuple(dict.fromkeys(notes)))
        t = self.tree
        return DepTree(root=new_root, mode=t.mode, platform=t.platform, loader=t.loader, executable=path,
                       search_defaults=t.search_defaults, hwcaps=t.hwcaps, preloaded=t.preloaded,
                       symbols_checked=t.symbols_checked, notes=t.notes)


class _ProcessState:
    """The emulated process just before an import: python, its libraries and what is already loaded."""

    __slots__ = ("objects", "by_name", "by_id", "notes", "main", "bits", "machine", "kind", "defaults",
                 "hwcaps", "interp", "preloaded_paths", "global_scope", "platform", "legacy",
                 "platform_source")

    def __init__(self, res: "_Resolution") -> None:
        self.objects = list(res.objects)
        self.by_name = dict(res.by_name)
        self.by_id = dict(res.by_id)
        self.notes = list(res.notes)
        self.preloaded_paths = list(res.preloaded_paths)
        self.main, self.bits, self.machine, self.kind = res.main, res.bits, res.machine, res.kind
        self.defaults, self.hwcaps, self.interp = res.defaults, res.hwcaps, res.interp
        self.platform, self.legacy, self.platform_source = res.platform, res.legacy, res.platform_source
        self.global_scope = _bfs(res.main) if res.main is not None else []

    def restore(self, res: "_Resolution") -> None:
        res.objects = list(self.objects)
        res.by_name = dict(self.by_name)
        res.by_id = dict(self.by_id)
        res.notes = list(self.notes)
        res.preloaded_paths = list(self.preloaded_paths)
        res.main, res.bits, res.machine, res.kind = self.main, self.bits, self.machine, self.kind
        res.defaults, res.hwcaps, res.interp = self.defaults, self.hwcaps, self.interp
        res.platform, res.legacy, res.platform_source = self.platform, self.legacy, self.platform_source
        res.global_scope = self.global_scope


def _others(versions: tuple, program: str) -> tuple:
    """The missing versions of ``versions`` required by another file than ``program``."""
    return tuple(v for v in versions if v.required_by != program) if versions else ()


def _renamed(tree: DepTree, old: str, names: Set[str], soname: Optional[str]) -> Optional[Set[int]]:
    """ids of the nodes of ``tree`` (below its root) that name the program ``old`` as a requester, a
    ``via`` or the file whose version needs are checked, or have such a node below them; None when
    the program is named anywhere else (a note, a reason), or its own names are in ``names``."""
    root = tree.root
    if old in names or (soname is not None and soname in names):
        return None
    if any(old in s for s in (*tree.notes, *root.notes)):
        return None
    renamed: Set[int] = set()
    # children before parents (reversed depth-first order): a parent is renamed with its children
    for node in reversed(list(walk(root))):
        if node is root:
            continue
        mark = node.requested_by == old or node.via == old
        for s in (node.name, node.path, node.rule, node.soname, node.error, *node.notes):
            if s and old in s:
                return None
        for c in node.candidates:
            if old in c.path or old in c.reason:
                return None
            mark = mark or c.via == old
        for v in node.missing_versions:
            if old in v.version or old in v.library or (v.library_path and old in v.library_path):
                return None
            mark = mark or v.required_by == old
        if node.missing_symbols:
            return None  # no symbol check in a template's tree
        if mark or any(id(c) in renamed for c in node.children):
            renamed.add(id(node))
    return renamed
