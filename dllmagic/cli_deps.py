"""``dlldoctor deps PATH...``: each binary's dependency tree, with where and why each library was found.

Wired into ``python -m dllmagic`` by :func:`add_parser` and :func:`run`; heavy imports happen in
:func:`run` only. Exit status: 0 nothing missing, 1 something missing, 2 usage.
"""
from __future__ import annotations

import argparse
from typing import Iterator, List, Optional, Tuple

__all__ = ["add_parser", "run", "iter_binaries"]

#: Names that are worth a look when a folder is walked (the reader still checks the magic).
_SUFFIXES = (".so",)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "deps", help="dependency tree of native binaries, with the reason for every library",
        description="Resolve each binary (and every binary under each folder) the way the loader would.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="a binary, or a folder to walk")
    p.add_argument("--root", metavar="DIR", help="the modelled machine's files live under DIR")
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
    """``path`` itself if a file; else every ELF-looking file under it (symlinks not followed)."""
    if not system.is_dir(path):
        yield path
        return
    stack = [path]
    seen = set()
    while stack:
        folder = stack.pop()
        entries = sorted(system.scandir(folder), key=lambda e: e.name)
        prefix = folder.rstrip("/") + "/"
        for entry in entries:
            sub = prefix + entry.name
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir():
                    key = entry.inode()
                    if key not in seen:
                        seen.add(key)
                        stack.append(sub)
                elif _looks_like_binary(entry.name) and entry.is_file():
                    with open(entry.path, "rb") as fh:
                        if fh.read(4) == b"\x7fELF":
                            yield sub
            except OSError:
                continue


def _is_extension(system, path: str) -> bool:
    name = system.pathmod.basename(path)
    return ".cpython-" in name or ".abi3." in name or ".pypy" in name or (
        name.endswith(".so") and "." not in name[:-3] and not name.startswith("lib"))


def run(args) -> int:
    import json
    import os
    import sys

    from .facts.native.loader import format_tree, loader_for, problems, tree_to_dict
    from .facts.system import System

    if getattr(args, "root", None):
        if not os.path.isdir(args.root):
            print(f"deps: --root {args.root}: not a folder", file=sys.stderr)
            return 2
        system = System.model("linux", args.root, executable=args.python or "")
    else:
        live = System.current()
        # A fresh interpreter, not this CLI process: python's own libraries are modelled from its file.
        system = System(platform=live.platform, machine=live.machine, environ=live.environ, root="/",
                        executable=args.python or live.executable, live=False, loaded=())
    if system.platform != "linux":
        print(f"deps: no loader model for {system.platform} yet", file=sys.stderr)
        return 2
    loader = loader_for(system)
    results: List[Tuple[str, object]] = []
    status = 0
    for given in args.paths:
        path = given if given.startswith("/") or args.root else os.path.abspath(given)
        if not system.exists(path):
            print(f"deps: {given}: no such file or folder", file=sys.stderr)
            return 2
        for file in iter_binaries(system, path):
            mode = args.mode or ("as-imported" if _is_extension(system, file) else "standalone")
            tree = loader.resolve(file, mode=mode, python_executable=args.python or None,
                                  symbols=getattr(args, "symbols", None))
            if problems(tree):
                status = 1
            results.append((file, tree))
    if args.json:
        out = {"schema_version": "1", "ok": status == 0,
               "trees": [tree_to_dict(t) for _f, t in results]}
        # Compact: json's C encoder is used only without indent (ten times faster on big trees).
        print(json.dumps(out, separators=(",", ":")))
    else:
        for i, (_f, tree) in enumerate(results):
            if i:
                print()
            if not args.verbose and len(results) > 1 and not problems(tree):
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
