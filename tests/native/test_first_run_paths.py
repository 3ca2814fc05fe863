"""The shortcuts of a first ``deps`` run give exactly what the plain way gives: the JSON writer of the
nodes (against json.dumps), and the search for ld.so's default folders (against the plain pattern)."""
from __future__ import annotations

import json
import os
import random
import sys

import pytest

from native_oracles import CLEAN_ENV, elf_files
from dllmagic.facts.native.loader import loader_for, tree as tree_mod, tree_to_dict, tree_to_json
from dllmagic.facts.native.loader.linux import machine as linux_machine
from dllmagic.facts.native.loader.tree import Candidate, DepTree, MissingSymbol, MissingVersion, Node
from dllmagic.facts.system import System


def plain_json(tree) -> str:
    return json.dumps(tree_to_dict(tree), separators=(",", ":"))


def test_every_tree_of_real_files_is_written_as_json_dumps_writes_it(wheel_env, built):
    files = [str(p) for p in elf_files(built, wheel_env["site"])]
    system = System.model("linux", "/", environ=CLEAN_ENV, executable=str(wheel_env["python"]))
    loader = loader_for(system)
    count = 0
    for mode in ("standalone", "as-imported"):
        for path in files:
            tree = loader.resolve(path, mode=mode)
            text = tree_to_json(tree)
            assert text == plain_json(tree), (mode, path)
            assert tree_to_json(tree) == text  # the second time from the nodes' kept texts
            count += 1
    assert count > 80


def _node(name, children=(), **fields):
    values = dict(name=name, path=fields.pop("path", "/x/" + name), rule="rpath", children=tuple(children))
    values.update(fields)
    return Node(**values)


def _tree(root):
    return DepTree(root=root, mode="standalone", platform="linux", loader="glibc", executable=root.path,
                   search_defaults=("/lib",), notes=("a note",))


ODD = ["caf\u00e9", "\u202eevil", "tab\there", "quote\"back\\slash", "line\nbreak", "\x1b[31m",
       "lone \udcff surrogate", "\U0001f600", "", "ctrl \x00 nul", "/ok/path"]


def test_odd_strings_numbers_and_empty_fields_are_written_as_json_dumps_writes_them():
    rnd = random.Random(7)
    for i in range(200):
        kids = []
        for j in range(rnd.randint(0, 4)):
            kids.append(_node(
                rnd.choice(ODD), depth=rnd.choice([0, 1, 7, 10 ** 12]), path=rnd.choice(ODD + [None]),
                rule=rnd.choice([None, "default-dir", ODD[1]]), requested_by=rnd.choice(ODD + [None]),
                via=rnd.choice([None, ODD[0]]), soname=rnd.choice([None, ODD[6]]),
                repeat=rnd.choice([True, False]), system=rnd.choice([True, False]),
                error=rnd.choice([None, "not found", ODD[4]]),
                candidates=tuple(Candidate(rnd.choice(ODD), "rpath", "missing", rnd.choice(ODD),
                                           rnd.choice([None, ODD[3]])) for _ in range(rnd.randint(0, 3))),
                missing_versions=tuple(MissingVersion("V_" + rnd.choice(ODD), "lib", rnd.choice([None, "/l"]),
                                                      ODD[2]) for _ in range(rnd.randint(0, 2))),
                missing_symbols=tuple(MissingSymbol(rnd.choice(ODD), rnd.choice([None, "V1"]), None, "/r")
                                      for _ in range(rnd.randint(0, 2))),
                notes=tuple(rnd.sample(ODD, rnd.randint(0, 3)))))
        tree = _tree(_node("root" + rnd.choice(ODD), kids, depth=0))
        assert tree_to_json(tree) == plain_json(tree)


def test_a_node_shared_by_trees_is_written_once_and_the_kept_texts_are_bounded(monkeypatch):
    shared = _node("libshared.so", [_node("libc.so.6", system=True)])
    first = _tree(_node("/a/prog", [_node("libx.so", [shared])]))
    second = _tree(_node("/b/prog", [_node("liby.so", [shared])]))
    assert tree_to_json(first) == plain_json(first)
    assert id(shared) in tree_mod._WRITTEN
    assert tree_to_json(second) == plain_json(second)
    monkeypatch.setattr(tree_mod, "_WRITTEN_MAX", 3)
    for i in range(20):
        t = _tree(_node(f"/c/prog{i}", [_node(f"lib{i}.so", [shared])]))
        assert tree_to_json(t) == plain_json(t)
        assert len(tree_mod._WRITTEN) <= 3 + 4  # cleared when full, then this tree's nodes


def test_a_chain_too_deep_for_json_dumps_is_written_whole():
    node = _node("libend.so")
    for i in range(3000):
        node = _node(f"lib{i}.so", [node], depth=3000 - i)
    tree = _tree(node)
    with pytest.raises(RecursionError):
        plain_json(tree)
    text = tree_to_json(tree)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20000)  # (json's reader recurses too: raised for the check alone)
    try:
        data = json.loads(text)
    finally:
        sys.setrecursionlimit(limit)
    depth = 0
    cur = data["root"]
    while cur["children"]:
        cur = cur["children"][0]
        depth += 1
    assert depth == 3000 and cur["name"] == "libend.so"


# -- ld.so's default folders ------------------------------------------------------------------------

def _compare(data: bytes) -> int:
    plain = [(m.start(), m.end()) for m in linux_machine._SYSTEM_DIRS_STRING.finditer(data)]
    assert [(m.start(), m.end()) for m in linux_machine._system_dirs_strings(data)] == plain, data[:120]
    return len(plain)


def test_the_search_for_the_default_folders_finds_what_the_plain_pattern_finds():
    found = 0
    for path in ("/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1", "/lib/x86_64-linux-gnu/libc.so.6"):
        if os.path.exists(path):
            with open(path, "rb") as fh:
                found += _compare(fh.read(8 << 20))
    if not found:
        pytest.fail("no ld.so with a SYSTEM_DIRS string on this machine")
    rnd = random.Random(11)
    pieces = [b"/", b"\0", b"a", b"lib", b"-", b".", b"+", b"_", b"\xff", b" ", b"/\0/", b"x86_64-linux-gnu/\0",
              b"\0" * 300]
    for _ in range(5000):
        found += _compare(b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 40))))
    # matches far from any other byte (long runs of NULs), two in one run, one at each end
    found += _compare(b"\0" * 5000 + b"/lib/\0/usr/lib/\0" + b"\0" * 3000 + b"\xff/a/\0/b/\0")
    found += _compare(b"/x/\0/y/\0" + b"z" * 1000 + b"/p/\0/q/\0")
    assert found > 100
