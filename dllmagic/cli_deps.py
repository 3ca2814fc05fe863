"""``dlldoctor deps PATH...``: each binary's dependency tree, with where and why each library was found.

Wired into ``python -m dllmagic`` by :func:`add_parser` and :func:`run`; heavy imports happen in
:func:`run` only. Exit status: 0 nothing missing, 1 something missing, 2 usage.
"""
from __future__ import annotations

import argparse
from typing import Iterator, List, Optional, Tuple

__all__ = ["add_parser", "run", "iter_binaries", "deps_schema", "DEPS_SCHEMA_VERSION"]

#: The version of ``deps --json`` output; its JSON Schema is dllmagic/facts/native/deps.schema.json.
DEPS_SCHEMA_VERSION = "1"


def deps_schema() -> dict:
    """The JSON Schema (draft 2020-12) of ``deps --json`` output, shipped in the package."""
    import json
    from importlib import resources

    return json.loads(resources.files("dllmagic.facts.native").joinpath("deps.schema.json").read_text("utf-8"))

#: Names that are worth a look when a folder is walked (the reader still checks the magic).
_SUFFIXES = (".so", ".pyd", ".dll", ".dylib")
#: ELF, PE (MZ) and Mach-O (thin and fat) magic numbers.
_MAGICS = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "deps", help="dependency tree of native binaries, with the reason for every library",
        description="Resolve each binary (and every binary under each folder) the way the loader would.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="a binary, or a folder to walk")
    p.add_argument("--root", metavar="DIR", help="the modelled machine's files live under DIR")
    p.add_argument("--platform", choices=("linux", "windows", "macos"), default=None,
                   help="the modelled machine's platform (with --root; default linux)")
    p.add_argument("--machine", metavar="DESCRIPTION",
                   help="a machine description file (JSON: platform, root, python, environ ...)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--as-imported", dest="mode", action="store_const", const="as-imported",
                       help="as the target Python imports it (default for extension modules)")
    group.add_argument("--standalone", dest="mode", action="store_const", const="standalone",
                       help="as ldd would, the file being the main program (default for other files)")
    p.add_argument("--python", metavar="EXE", help="the Python that would import (default: this one)")
    p.add_argument("--no-symbols", dest="symbols", action="store_false", default=None,
                   help="skip the check that every undefined symbol is defined somewhere")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-v", "--verbose", action="store_true", help="show system libraries and every place tried")
    p.set_defaults(func=run, mode=None)
    return p


def _looks_like_binary(name: str) -> bool:
    return name.endswith(_SUFFIXES) or ".so." in name


def iter_binaries(system, path: str) -> Iterator[str]:
    """``path`` itself if a file; else every ELF-looking file under it (symlinks not followed).

    Files come in name order within each folder. Only names that look like libraries are opened (to
    read their magic); everything else costs one name test, so a site-packages with 30 000 headers and
    Python files is walked in a few hundredths of a second.
    """
    import os

    if not system.is_dir(path):
        yield path
        return
    sep = "\\" if system.platform == "windows" else "/"
    stack = [path]
    seen = set()
    while stack:
        folder = stack.pop()
        files, dirs = [], []
        try:
            with os.scandir(system.host_path(folder)) as it:
                for entry in it:
                    name = entry.name
                    # d_type answers both tests without a system call; symlinks are neither.
                    try:
                        if (name.endswith(_SUFFIXES) or ".so." in name) and entry.is_file(follow_symlinks=False):
                            files.append((name, entry.path))
                        elif entry.is_dir(follow_symlinks=False):
                            dirs.append((name, entry.inode()))
                    except OSError:
                        continue
        except OSError:
            continue
        prefix = folder.rstrip(sep) + sep
        for name, host in sorted(files):
            try:
                with open(host, "rb") as fh:
                    head = fh.read(4)
            except OSError:
                continue
            if head in _MAGICS or head[:2] == b"MZ":
                yield prefix + name
        for name, key in sorted(dirs):
            if key not in seen:
                seen.add(key)
                stack.append(prefix + name)


def _is_extension(system, path: str) -> bool:
    name = system.pathmod.basename(path)
    return ".cpython-" in name or ".abi3." in name or ".pypy" in name or (
        name.endswith(".so") and "." not in name[:-3] and not name.startswith("lib")) or (
        name.lower().endswith(".pyd"))


def run(args) -> int:
    import json
    import os
    import posixpath
    import sys

    from .facts.native.loader import format_tree, loader_for, problems, tree_to_dict, walk
    from .facts.system import System

    machine = None
    if getattr(args, "machine", None):  # a modelled Windows/macOS machine (facts/native/machine.py)
        from .facts.native.machine import MachineError, load_machine

        try:
            machine = load_machine(args.machine)
        except MachineError as exc:
            print(f"deps: --machine: {exc}", file=sys.stderr)
            return 2
        system = machine.system
        args.root = args.root or system.root
    elif getattr(args, "root", None):
        if not os.path.isdir(args.root):
            print(f"deps: --root {args.root}: not a folder", file=sys.stderr)
            return 2
        system = System.model(getattr(args, "platform", None) or "linux", args.root,
                              executable=args.python or "")
    else:
        live = System.current()
        # A fresh interpreter, not this CLI process: python's own libraries are modelled from its file.
        system = System(platform=live.platform, machine=live.machine, environ=live.environ, root="/",
                        executable=args.python or live.executable, live=False, loaded=())
    loader = machine.loader() if machine is not None else loader_for(system)
    work: List[Tuple[str, bool]] = []          # (file, found by walking a folder)
    for given in args.paths:
        path = given if given.startswith("/") or args.root else os.path.abspath(given)
        if not system.exists(path):
            print(f"deps: {given}: no such file or folder", file=sys.stderr)
            return 2
        walked = system.is_dir(path)
        work.extend((f, walked) for f in iter_binaries(system, path))
    modes = {f: args.mode or ("as-imported" if _is_extension(system, f) else "standalone") for f, _w in work}
    trees = {}
    # Extension modules first: a bundled library (numpy.libs/, pillow.libs/) that one of them reaches
    # is checked there, where its search path really comes from; resolved alone it would be a false
    # alarm (its own RPATH is rarely enough: it relies on the extension's).
    reached = {}
    order = sorted(range(len(work)), key=lambda i: modes[work[i][0]] != "as-imported")
    for i in order:
        file, walked = work[i]
        if walked and args.mode is None and modes[file] == "standalone" and file in reached:
            continue
        tree = loader.resolve(file, mode=modes[file], python_executable=args.python or None,
                              symbols=getattr(args, "symbols", None))
        trees[file] = tree
        if modes[file] == "as-imported":
            for node in walk(tree.root):
                if node.path and node.error is None and node is not tree.root:
                    reached.setdefault(node.path, file)
                    reached.setdefault(posixpath.normpath(node.path), file)
    results = []
    status = 0
    failing = {}
    for file, _walked in work:
        tree = trees.get(file)
        if tree is None:
            results.append((file, None))
            continue
        found = problems(tree)
        if found:
            status = 1
        results.append((file, tree))
        failing[file] = found
    if args.json:
        out = {"schema_version": DEPS_SCHEMA_VERSION, "ok": status == 0,
               "trees": [tree_to_dict(t, failing[f]) for f, t in results if t is not None],
               "checked_as_dependencies": [{"path": f, "of": reached.get(f) or reached.get(posixpath.normpath(f))}
                                           for f, t in results if t is None]}
        # Compact: json's C encoder is used only without indent (ten times faster on big trees).
        print(json.dumps(out, separators=(",", ":")))
    else:
        for i, (file, tree) in enumerate(results):
            if tree is None:
                if args.verbose:
                    print(f"{file}: checked as a dependency of {reached.get(file)}")
                continue
            if not args.verbose and len(results) > 1 and not failing[file]:
                print(f"{tree.root.path or tree.root.name}: ok ({tree.mode})")
                continue
            print(format_tree(tree, verbose=args.verbose))
    return status


def main(argv: Optional[List[str]] = None) -> int:
    """A stand-alone entry point until the CLI proper wires this verb in."""
    parser = argparse.ArgumentParser(prog="dlldoctor")
    sub = parser.add_subparsers(dest="verb", required=True)
    add_parser(sub)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
