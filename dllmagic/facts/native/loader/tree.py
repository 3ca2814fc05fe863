"""The loader's answer as data: a frozen tree of nodes, each saying where and why.

The resolvers (``linux.py``; ``windows.py`` and ``macos.py`` next) build a :class:`DepTree`; nothing
here knows a search order. :func:`format_tree` and :func:`tree_to_dict` are the only printers;
:func:`problems` flattens the tree into what the diagnosis layer turns into evidence.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import Any, Dict, Iterator, List, Optional, Tuple

from ...._record import Record, field

__all__ = [
    "Candidate", "MissingVersion", "MissingSymbol", "Node", "DepTree", "Problem",
    "walk", "problems", "format_tree", "tree_to_dict", "TREE_SCHEMA_VERSION",
]

TREE_SCHEMA_VERSION = "1"


class Candidate(Record):
    """One place the loader considered for a name, in order.

    ``outcome``: "found", "missing" (no file there), "skipped" (a file the loader passes over and goes
    on: wrong class or machine, unreadable), "refused" (a file that stops the load: invalid ELF header
    ...), or "not-searched" (a whole rule left out: RPATH because RUNPATH is set, the defaults because
    of NODEFLIB, LD_LIBRARY_PATH not set). ``path`` is empty for a rule left out as a whole.
    """

    path: str
    rule: str
    outcome: str
    reason: str = ""
    #: The file whose RPATH/RUNPATH supplied this place, where one did.
    via: Optional[str] = None


class MissingVersion(Record):
    """``version`' not found (required by required_by)``: the library found lacks a needed version."""

    version: str
    library: str                    # the name in the requirer's version needs (libstdc++.so.6)
    library_path: Optional[str]     # the file that was found under that name and lacks the version
    required_by: str


class MissingSymbol(Record):
    """An undefined, non-weak symbol that no library in the requirer's lookup scope defines."""

    name: str
    version: Optional[str]
    library: Optional[str]          # where the version need says it should come from, if it says
    required_by: str


class Node(Record):
    """One request for a library (or the root file) and its answer."""

    name: str                               # as asked for (DT_NEEDED string; the path for the root)
    path: Optional[str]                     # where it was found, as the loader names it; None if not
    rule: Optional[str]                     # how: "rpath", "rpath-of-1", "executable-rpath", ...
    depth: int = 0
    requested_by: Optional[str] = None      # path of the file whose DT_NEEDED asked for it
    via: Optional[str] = None               # the file whose RPATH/RUNPATH gave the folder, if any
    candidates: Tuple[Candidate, ...] = ()
    children: Tuple["Node", ...] = ()
    #: Already expanded earlier in this tree (ld.so maps each object once): no children here.
    repeat: bool = False
    #: An always-present system library (glibc itself): folded in text output unless verbose.
    system: bool = False
    soname: Optional[str] = None
    #: Why this node fails to load although the name was handled: "not found", "invalid ELF header",
    #: "wrong ELF class: ELFCLASS32" ...; None when it loads.
    error: Optional[str] = None
    missing_versions: Tuple[MissingVersion, ...] = ()
    missing_symbols: Tuple[MissingSymbol, ...] = ()
    notes: Tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return self.path is not None and self.error is None


_NODE_FIELDS = ("name", "path", "rule", "depth", "requested_by", "via", "candidates", "children", "repeat",
                "system", "soname", "error", "missing_versions", "missing_symbols", "notes")
_new = object.__new__


def freeze_tree(draft) -> Node:
    """Freeze a resolver's mutable tree bottom up, without recursion (a chain of 500 libraries is 500
    levels deep): each draft's ``freeze_one(children)`` gets its children already frozen."""
    done: Dict[int, Node] = {}
    stack = [(draft, False)]
    while stack:
        d, ready = stack.pop()
        if ready:
            done[id(d)] = d.freeze_one(tuple([done[id(c)] for c in d.children]) if d.children else ())
        elif id(d) not in done:
            stack.append((d, True))
            stack.extend((c, False) for c in d.children)
    return done[id(draft)]


def freeze_draft(draft, binary, extra_notes=(), children=None) -> Node:
    """The :class:`Node` of a resolver's mutable node (the Windows and macOS resolvers' ``_N``): its
    children frozen too (``children``: already frozen, see :func:`freeze_tree`); the file's own notes
    added where it was loaded (not on a repeat)."""
    if children is None:
        return freeze_tree(draft)
    notes = list(draft.notes)
    if binary is not None and not draft.repeat and draft.rule != "already-loaded":
        notes.extend(binary.notes)
        notes.extend(extra_notes)
    return Node(name=draft.name, path=draft.path, rule=draft.rule, depth=draft.depth,
                requested_by=draft.requested_by, via=draft.via, candidates=tuple(draft.candidates),
                children=children, repeat=draft.repeat,
                system=draft.system, soname=binary.soname if binary is not None else None, error=draft.error,
                missing_symbols=tuple(draft.missing_symbols), notes=tuple(dict.fromkeys(notes)))


def make_node(*values) -> Node:
    """A :class:`Node` from all its fields in declaration order, without the record's
    field-by-field ``__init__`` (three times faster; a resolver makes thousands of nodes)."""
    node = _new(Node)
    node.__dict__.update(zip(_NODE_FIELDS, values))
    return node


class DepTree(Record):
    """A resolved dependency tree and the loader state it was resolved against."""

    root: Node
    mode: str                                 # "as-imported" | "standalone"
    platform: str                             # "linux" ...
    loader: str                               # "glibc" | "musl"
    executable: Optional[str] = None          # the main program (python, or the file itself)
    search_defaults: Tuple[str, ...] = ()     # the default folders of that loader
    hwcaps: Tuple[str, ...] = ()              # glibc-hwcaps subfolders searched, in priority order
    preloaded: Tuple[str, ...] = ()           # objects already in the process before this load
    symbols_checked: bool = False
    notes: Tuple[str, ...] = ()


class Problem(Record):
    """One thing that makes the load fail, ready to become evidence."""

    kind: str                       # "missing-library" | "unloadable-library" | "symbol-version"
                                    # | "missing-symbol"
    name: str                       # the library, version or symbol
    required_by: Optional[str]
    library: Optional[str] = None   # for versions and symbols: the library that should provide it
    library_path: Optional[str] = None
    detail: str = ""
    searched: Tuple[Candidate, ...] = field(default=(), compare=False)


def walk(node: Node) -> Iterator[Node]:
    """Every node, depth first, in the tree's order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _breadth_first(node: Node) -> Iterator[Node]:
    queue = [node]
    i = 0
    while i < len(queue):
        current = queue[i]
        i += 1
        yield current
        queue.extend(current.children)


def problems(tree: DepTree) -> Tuple[Problem, ...]:
    """Missing libraries, unloadable files, missing versions and missing symbols, in load order
    (breadth first, as ld.so meets them: the first is the one the real loader reports)."""
    out: List[Problem] = []
    seen = set()
    for node in _breadth_first(tree.root):
        if node.error and not node.repeat:
            kind = "missing-library" if node.path is None else "unloadable-library"
            key = (kind, node.name, node.requested_by)
            if key not in seen:
                seen.add(key)
                out.append(Problem(kind, node.name, node.requested_by, library_path=node.path,
                                   detail=node.error, searched=node.candidates))
        for mv in node.missing_versions:
            key = ("symbol-version", mv.version, mv.library, mv.required_by)
            if key not in seen:
                seen.add(key)
                out.append(Problem("symbol-version", mv.version, mv.required_by, mv.library,
                                   mv.library_path,
                                   f"version `{mv.version}' not found (required by {mv.required_by})"))
        for ms in node.missing_symbols:
            key = ("missing-symbol", ms.name, ms.required_by)
            if key not in seen:
                seen.add(key)
                label = ms.name + (f"@{ms.version}" if ms.version else "")
                out.append(Problem("missing-symbol", label, ms.required_by, ms.library,
                                   detail=f"undefined symbol: {ms.name}"))
    return tuple(out)


# -- views -----------------------------------------------------------------------------------------

_RULE_LABELS = {
    "already-loaded": "already loaded",
    "direct-path": "direct path",
    "ld-library-path": "LD_LIBRARY_PATH",
    "default-dir": "default path",
    "executable-rpath": "rpath of the executable",
}


def rule_label(rule: Optional[str]) -> str:
    if rule is None:
        return "not found"
    if rule.startswith("rpath-of-"):
        return "rpath of " + rule[len("rpath-of-"):]
    return _RULE_LABELS.get(rule, rule)


def _folded(node: Node) -> bool:
    return node.system and node.found and not node.missing_versions and not node.missing_symbols


def format_tree(tree: DepTree, verbose: bool = False) -> str:
    """The tree as text: one line per library with its rule; places tried under each failure."""
    lines: List[str] = []
    root = tree.root
    head = root.path or root.name
    if root.error:
        head += f"  ERROR: {root.error}"
    lines.append(head)
    folded = 0

    def emit(child: Node, indent: str) -> None:
        if child.error and child.path is None:
            line = f"{indent}{child.name}  NOT FOUND"
        else:
            label = rule_label(child.rule)
            if child.via and child.rule and child.rule.startswith(("rpath", "runpath", "executable")):
                label += f" {child.via}" if verbose else ""
            line = f"{indent}{child.name} => {child.path} [{label}]"
            if child.repeat:
                line += " (already listed)"
            if child.error:
                line += f"  ERROR: {child.error}"
        lines.append(line)
        if child.error or verbose:
            tried = [c for c in child.candidates if c.outcome != "found"]
            if child.error and child.path is None or verbose:
                for i, cand in enumerate(tried, 1):
                    place = cand.path or "-"
                    why = f" ({cand.reason})" if cand.reason else ""
                    lines.append(f"{indent}    {i}. [{rule_label(cand.rule)}] {place}: "
                                 f"{cand.outcome}{why}")
        for mv in child.missing_versions:
            lines.append(f"{indent}    version `{mv.version}' not found in {mv.library_path or mv.library}"
                         f" (required by {mv.required_by})")
        for ms in child.missing_symbols[:20]:
            v = f"@{ms.version}" if ms.version else ""
            lines.append(f"{indent}    undefined symbol: {ms.name}{v}")
        if len(child.missing_symbols) > 20:
            lines.append(f"{indent}    ... and {len(child.missing_symbols) - 20} more undefined symbols")
        for note in child.notes:
            lines.append(f"{indent}    note: {note}")

    def emit_all(top: Node) -> None:
        # depth first in the tree's order, with an explicit stack (no recursion on deep chains)
        nonlocal folded
        stack = [(c, "    ") for c in reversed(top.children)]
        while stack:
            child, indent = stack.pop()
            if not verbose and _folded(child):
                folded += 1
                continue
            emit(child, indent)
            stack.extend((c, indent + "    ") for c in reversed(child.children))

    for mv in root.missing_versions:
        lines.append(f"    version `{mv.version}' not found in {mv.library_path or mv.library}"
                     f" (required by {mv.required_by})")
    for ms in root.missing_symbols[:20]:
        v = f"@{ms.version}" if ms.version else ""
        lines.append(f"    undefined symbol: {ms.name}{v}")
    for note in root.notes:
        lines.append(f"    note: {note}")
    emit_all(root)
    if folded:
        lines.append(f"    ({folded} system libraries folded; -v shows them)")
    if verbose:
        for note in tree.notes:
            lines.append(f"note: {note}")
    return "\n".join(lines)


def _node_fields(node: Node) -> Dict[str, Any]:
    """One node as JSON data, without its children (the last key, added by the callers)."""
    return {
        "name": node.name,
        "path": node.path,
        "rule": node.rule,
        "depth": node.depth,
        "requested_by": node.requested_by,
        "via": node.via,
        "soname": node.soname,
        "repeat": node.repeat,
        "system": node.system,
        "error": node.error,
        "candidates": [
            {"path": c.path, "rule": c.rule, "outcome": c.outcome, "reason": c.reason, "via": c.via}
            for c in node.candidates
        ],
        "missing_versions": [
            {"version": m.version, "library": m.library, "library_path": m.library_path,
             "required_by": m.required_by} for m in node.missing_versions
        ],
        "missing_symbols": [
            {"name": m.name, "version": m.version, "library": m.library, "required_by": m.required_by}
            for m in node.missing_symbols
        ],
        "notes": list(node.notes),
    }


def _node_dict(node: Node) -> Dict[str, Any]:
    """The node and everything below it as JSON data, built without recursion."""
    top = _node_fields(node)
    stack = [(node, top)]
    while stack:
        n, d = stack.pop()
        kids = d["children"] = []
        for c in n.children:
            cd = _node_fields(c)
            kids.append(cd)
            if c.children:
                stack.append((c, cd))
            else:
                cd["children"] = []
    return top


#: Node -> its JSON text (see :func:`_node_json`), kept while the node is: a tree shared by programs
#: (loader/linux/template.py) shares most of its nodes, written once. Holding the node keeps its id.
_WRITTEN: Dict[int, Tuple[Node, str]] = {}
#: Beyond this many nodes the texts kept are dropped (a big walk would otherwise keep every tree).
_WRITTEN_MAX = 50_000
#: A string -> its JSON text (the same paths and names come back in every tree).
_STRINGS: Dict[str, str] = {}
_NODE_HEAD = ('{"name":%s,"path":%s,"rule":%s,"depth":%s,"requested_by":%s,"via":%s,"soname":%s,'
              '"repeat":%s,"system":%s,"error":%s,"candidates":[%s],"missing_versions":[%s],'
              '"missing_symbols":[%s],"notes":[%s],"children":[')
_CANDIDATE = '{"path":%s,"rule":%s,"outcome":%s,"reason":%s,"via":%s}'
_MISSING_VERSION = '{"version":%s,"library":%s,"library_path":%s,"required_by":%s}'
_MISSING_SYMBOL = '{"name":%s,"version":%s,"library":%s,"required_by":%s}'


def _value(v) -> str:
    """``v`` as ``json.dumps(v, separators=(",", ":"))`` writes it (strings escaped to ASCII)."""
    if type(v) is str:
        text = _STRINGS.get(v)
        if text is None:
            from json.encoder import encode_basestring_ascii

            if len(_STRINGS) >= _WRITTEN_MAX:
                _STRINGS.clear()
            text = _STRINGS[v] = encode_basestring_ascii(v)
        return text
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if type(v) is int:
        return int.__repr__(v)
    import json

    return json.dumps(v, separators=(",", ":"))


def _node_text(node: Node) -> str:
    """The node's JSON without its children: what ``_node_fields`` holds, as json.dumps writes it,
    up to the opening of its children's list."""
    v = _value
    return _NODE_HEAD % (
        v(node.name), v(node.path), v(node.rule), v(node.depth), v(node.requested_by), v(node.via),
        v(node.soname), v(node.repeat), v(node.system), v(node.error),
        ",".join([_CANDIDATE % (v(c.path), v(c.rule), v(c.outcome), v(c.reason), v(c.via))
                  for c in node.candidates]),
        ",".join([_MISSING_VERSION % (v(m.version), v(m.library), v(m.library_path), v(m.required_by))
                  for m in node.missing_versions]),
        ",".join([_MISSING_SYMBOL % (v(m.name), v(m.version), v(m.library), v(m.required_by))
                  for m in node.missing_symbols]),
        ",".join([v(n) for n in node.notes]))


def _node_json(node: Node) -> str:
    """Compact JSON of the node and everything below it: ``json.dumps(_node_dict(node),
    separators=(",", ":"))``, written bottom up without recursion (json's encoder recurses into
    nested lists and fails on chains a few hundred libraries deep), each node's text kept for the
    next tree that shares it (see :data:`_WRITTEN`)."""
    written = _WRITTEN
    if len(written) >= _WRITTEN_MAX:
        written.clear()
    hit = written.get(id(node))
    if hit is not None:
        return hit[1]
    stack = [(node, False)]
    while stack:
        n, ready = stack.pop()
        if ready:
            written[id(n)] = (n, _node_text(n) + ",".join([written[id(c)][1] for c in n.children]) + "]}")
        elif id(n) not in written:
            stack.append((n, True))
            stack.extend((c, False) for c in n.children if id(c) not in written)
    return written[id(node)][1]


def tree_to_dict(tree: DepTree, found: Optional[Tuple[Problem, ...]] = None) -> Dict[str, Any]:
    """The tree as plain JSON data (schema version :data:`TREE_SCHEMA_VERSION`; the JSON Schema is the
    ``tree`` definition of dllmagic/facts/native/deps.schema.json). ``found``: ``problems(tree)``, when
    the caller has it already."""
    data = _tree_fields(tree, found)
    data["root"] = _node_dict(tree.root)
    return data


def _tree_fields(tree: DepTree, found: Optional[Tuple[Problem, ...]] = None) -> Dict[str, Any]:
    """:func:`tree_to_dict` but its root (the last key)."""
    if found is None:
        found = problems(tree)
    return {
        "schema_version": TREE_SCHEMA_VERSION,
        "mode": tree.mode,
        "platform": tree.platform,
        "loader": tree.loader,
        "executable": tree.executable,
        "search_defaults": list(tree.search_defaults),
        "hwcaps": list(tree.hwcaps),
        "preloaded": list(tree.preloaded),
        "symbols_checked": tree.symbols_checked,
        "notes": list(tree.notes),
        "ok": not found,
        "problems": [
            {"kind": p.kind, "name": p.name, "required_by": p.required_by, "library": p.library,
             "library_path": p.library_path, "detail": p.detail,
             "searched": [c.path for c in p.searched if c.path]}
            for p in found
        ],
    }


def tree_to_json(tree: DepTree, found: Optional[Tuple[Problem, ...]] = None) -> str:
    """``json.dumps(tree_to_dict(tree, found), separators=(",", ":"))``, the nodes written by
    :func:`_node_json` (also for trees too deep for json's recursive encoder)."""
    import json

    head = json.dumps(_tree_fields(tree, found), separators=(",", ":"))
    return head[:-1] + ',"root":' + _node_json(tree.root) + "}"
