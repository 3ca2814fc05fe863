"""Shared standalone trees (templates) and the remembered process state before an import."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from .resolution import _Resolution

from ...binary import Binary
from ..tree import DepTree, MissingVersion, make_node, walk
from .common import _bfs, _is_system_name

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
