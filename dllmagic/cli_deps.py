"""``dlldoctor deps PATH...``: each binary's dependency tree, with where and why each library was found.

Wired into ``python -m dllmagic`` by :func:`add_parser` and :func:`run`; heavy imports happen in
:func:`run` only. Exit status: 0 nothing missing, 1 something missing, 2 usage.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    import argparse
    from typing import Iterator, List, Optional, Tuple

__all__ = ["add_parser", "quick_args", "run", "replay", "run_wheels", "iter_binaries", "deps_schema", "DEPS_SCHEMA_VERSION"]

#: The version of ``deps --json`` output; its JSON Schema is dllmagic/facts/native/deps.schema.json.
DEPS_SCHEMA_VERSION = "1"


#: Why a file resolved on its own (a library no extension module here loads) has no symbol check.
SYMBOLS_NOT_CHECKED = (
    "symbols not checked: resolved on its own, as ldd without -r; what its undefined symbols bind to "
    "depends on what loads it (python, an extension module, a library loaded with RTLD_GLOBAL). "
    "--symbols checks them as ldd -r would; --as-imported as python's ctypes would dlopen it")


def deps_schema() -> dict:
    """The JSON Schema (draft 2020-12) of ``deps --json`` output, shipped in the package."""
    import json
    from importlib import resources

    return json.loads(resources.files("dllmagic.facts.native").joinpath("deps.schema.json").read_text("utf-8"))

#: Names that are worth a look when a folder is walked (the reader still checks the magic).
_SUFFIXES = (".so", ".pyd", ".dll", ".dylib")
#: Folders that never hold a loadable binary: byte-code caches and installer metadata (a third of
#: the folders of a typical site-packages).
_NOT_CODE = ("__pycache__", ".dist-info", ".egg-info")
#: ELF, PE (MZ) and Mach-O (thin and fat) magic numbers.
_MAGICS = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "deps", help="dependency tree of native binaries, with the reason for every library",
        description="Resolve each binary (and every binary under each folder) the way the loader would.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a binary, a folder to walk, or a wheel (FILE.whl: checked against a clean machine of its tag)")
    p.add_argument("--tag", metavar="PLATFORM_TAG",
                   help="with FILE.whl: the stock machine to check against (manylinux_2_28_x86_64, win_amd64, "
                        "macosx_11_0_arm64 ...) instead of the wheel's own platform tags")
    p.add_argument("--minimal", action="store_true",
                   help="with a Linux FILE.whl: a minimal install (a container image), without the X11, OpenGL and "
                        "GLib libraries the manylinux policies allow")
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
    p.add_argument("--symbols", dest="symbols", action="store_true", default=None,
                   help="check undefined symbols also for files resolved on their own (as ldd -r)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--no-cache", dest="cache", action="store_false",
                   help="read every file, and keep no facts or answers between runs (see "
                        "dllmagic/facts/native/factstore.py and answers.py)")
    p.add_argument("-j", "--jobs", type=int, metavar="N",
                   help="processes for a folder walk (default: one per CPU, up to 8; 1: this one only)")
    p.add_argument("-v", "--verbose", action="store_true", help="show system libraries and every place tried")
    p.set_defaults(func=run, mode=None)
    return p


#: What a ``deps`` command line holds when no option is given: the values argparse gives (see
#: :func:`add_parser`; the test of :func:`quick_args` compares both).
_DEFAULTS = {"tag": None, "minimal": False, "root": None, "platform": None, "machine": None, "mode": None,
             "python": None, "symbols": None, "json": False, "cache": True, "jobs": None, "verbose": False}
#: The options without a value: option -> (destination, the value it stores).
_FLAGS = {"--minimal": ("minimal", True), "--as-imported": ("mode", "as-imported"),
          "--standalone": ("mode", "standalone"), "--no-symbols": ("symbols", False),
          "--symbols": ("symbols", True), "--json": ("json", True), "--no-cache": ("cache", False),
          "-v": ("verbose", True), "--verbose": ("verbose", True)}
#: The options followed by a value: option -> destination.
_VALUED = {"--tag": "tag", "--root": "root", "--platform": "platform", "--machine": "machine",
           "--python": "python", "-j": "jobs", "--jobs": "jobs"}
_PLATFORMS = ("linux", "windows", "macos")


class Args:
    """A parsed ``deps`` command line (what argparse's Namespace holds: the attributes only)."""

    def __init__(self, **values) -> None:
        self.__dict__.update(values)


def quick_args(argv: List[str]) -> Optional[Args]:
    """``argv`` (``["deps", ...]``) parsed without argparse (whose import and parser cost a first run
    about 0.02 s), or None for anything but the plain forms: every option spelled out and given once,
    each value as the next word (not starting with '-'), the paths one after the other. Anything else
    (help, an abbreviation, ``--opt=value``, ``-j4``, ``--``, a word starting with '-', an error) is
    left to argparse, so a command line means what argparse makes of it."""
    values = dict(_DEFAULTS)
    paths: List[str] = []
    given = set()
    last_path = i = 1
    while i < len(argv):
        word = argv[i]
        if not word.startswith("-"):
            if paths and last_path != i - 1:
                return None  # paths on both sides of an option
            paths.append(word)
            last_path = i
        elif word in given:
            return None
        elif word in _FLAGS:
            dest, value = _FLAGS[word]
            if values[dest] != _DEFAULTS[dest]:
                return None  # two options of one destination (--standalone --as-imported ...)
            values[dest] = value
            given.add(word)
        elif word in _VALUED:
            dest = _VALUED[word]
            if i + 1 >= len(argv) or argv[i + 1].startswith("-") or values[dest] != _DEFAULTS[dest]:
                return None
            value = argv[i + 1]
            if dest == "jobs":
                try:
                    value = int(value)
                except ValueError:
                    return None
            elif dest == "platform" and value not in _PLATFORMS:
                return None
            values[dest] = value
            given.add(word)
            i += 1
        else:
            return None
        i += 1
    if not paths:
        return None
    return Args(verb="deps", paths=paths, func=run, **values)


def iter_binaries(system, path: str) -> Iterator[str]:
    """``path`` itself if a file; else every binary-looking file under it (symlinks not followed;
    ``__pycache__`` and ``*.dist-info`` folders skipped).

    Files come in name order within each folder, a folder's files before its subfolders. Only names
    that look like libraries are opened (to read their magic); everything else costs one name test, so
    a site-packages with 30 000 headers and Python files is walked in a few hundredths of a second.
    """
    if not system.is_dir(path):
        yield path
        return
    yield from _walk(system, [path], set())


def _walk(system, stack: List[str], seen: set) -> Iterator[str]:
    """Depth first from the folders on ``stack`` (the last one first)."""
    scan = _Scanner(system, seen).scan
    while stack:
        files, dirs = scan(stack.pop())
        yield from files
        stack.extend(dirs)


class _Scanner:
    """The reading of folders for one walk: what every folder needs, looked up once (a site-packages
    has a thousand folders or more)."""

    def __init__(self, system, seen: set) -> None:
        import os

        from .facts.native import factstore
        from .facts.native.answers import note

        self.seen = seen
        self.sep = "\\" if system.platform == "windows" else "/"
        self.host_path = system.host_path
        store = factstore.active()
        self.kept = store.folders() if store is not None else None
        #: The facts store, which tells an ELF file it keeps facts for by its stamp (see scan).
        self.facts = store
        self.note = note
        self.stat, self.scandir, self.join = os.stat, os.scandir, os.path.join
        self.open, self.read, self.close = os.open, os.read, os.close
        self.flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)

    def scan(self, folder: str) -> Tuple[List[str], List[str]]:
        """(binaries in ``folder``, its subfolders), each in name order; folders already in ``seen``
        (by inode) are left out and the others added.

        With the facts store on, the folder's listing (the names that look like binaries, the
        subfolders and their inodes) is kept under the folder's stamp, which changes with any name
        added, removed or renamed in it (see factstore.FolderStore). The magic of each file is read,
        unless the facts store keeps an ELF file's facts under the file's stamp (one stat, and the
        file's pages are not touched: those facts are what its tree is made of anyway)."""
        host_folder = self.host_path(folder)
        kept, note = self.kept, self.note
        listing = st = None
        if kept is not None:
            try:
                st = self.stat(host_folder)  # before the folder is read: a change while it is read is seen
            except OSError:
                st = None
            listing = kept.get(host_folder, st) if st is not None else None
        note(host_folder, st)  # its stamp changes with any name added, removed or renamed in it
        if listing is None:
            names, dirs = [], []
            try:
                with self.scandir(host_folder) as it:
                    for entry in it:
                        name = entry.name
                        # d_type answers both tests without a system call; symlinks are neither.
                        try:
                            if (name.endswith(_SUFFIXES) or ".so." in name) and entry.is_file(follow_symlinks=False):
                                names.append(name)
                            elif entry.is_dir(follow_symlinks=False) and not name.endswith(_NOT_CODE):
                                dirs.append((name, entry.inode()))
                        except OSError:
                            continue
            except OSError:
                return [], []
            names.sort()
            dirs.sort()
            if st is not None:
                kept.put(host_folder, st, names, dirs)
        else:
            names, dirs = listing
        prefix = folder.rstrip(self.sep) + self.sep
        found = []
        join, flags, facts, stat = self.join, self.flags, self.facts, self.stat
        for name in names:
            host = join(host_folder, name)
            if facts is not None:
                try:
                    st = stat(host)
                except OSError:
                    note(host)
                    continue
                note(host, st)
                if facts.holds_elf(host, st):
                    found.append(prefix + name)
                    continue
            else:
                note(host)
            try:
                fd = self.open(host, flags)
                try:
                    head = self.read(fd, 4)
                finally:
                    self.close(fd)
            except OSError:
                continue
            if head in _MAGICS or head[:2] == b"MZ":
                found.append(prefix + name)
        subfolders = []
        seen = self.seen
        for name, key in dirs:
            if key not in seen:
                seen.add(key)
                subfolders.append(prefix + name)
        return found, subfolders


def _plan(system, path: str, want: int) -> List[tuple]:
    """The walk of folder ``path`` cut into tasks, in the walk's own order: ("files", [paths]) for the
    binaries of the folders opened while cutting, ("walk", folder, seen) for a whole subtree.

    Up to two levels are opened, and only while there are fewer than ``want`` subtrees: enough pieces
    for the processes to share (torch alone is half a site-packages) for a few dozen folder reads.
    """
    seen: set = set()
    scan = _Scanner(system, seen).scan
    tasks: List[tuple] = [("walk", path)]
    for _level in range(2):
        if sum(1 for t in tasks if t[0] == "walk") >= want:
            break
        opened: List[tuple] = []
        for task in tasks:
            if task[0] != "walk":
                opened.append(task)
                continue
            files, dirs = scan(task[1])
            if files:
                opened.append(("files", files))
            # depth first takes the last subfolder first
            opened.extend(("walk", d) for d in reversed(dirs))
        tasks = opened
    return [t if t[0] == "files" else ("walk", t[1], seen) for t in tasks]


def _is_extension(system, path: str) -> bool:
    name = system.pathmod.basename(path)
    return ".cpython-" in name or ".abi3." in name or ".pypy" in name or (
        name.endswith(".so") and "." not in name[:-3] and not name.startswith("lib")) or (
        name.lower().endswith(".pyd"))


#: Fewer files than this per extra process are resolved in one process (a fork costs a few
#: milliseconds; a tree about half a millisecond).
_FILES_PER_JOB = 24
#: A folder that opens into fewer subtrees than this is walked in one process.
_MIN_SUBTREES = 16
#: Task numbers (4 bytes each) queued at most: well inside a pipe's 64 KiB, so queueing never blocks.
_MAX_QUEUED = 4096


def _default_jobs() -> int:
    import os

    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def _in_parallel(work, tasks: list, jobs: int, *, collect=None, absorb=None) -> list:
    """``[work(t) for t in tasks]``, spread over ``jobs`` processes (fork; the parent is one of them).

    ``collect()``, called in each child at its end, gives what the parent passes to ``absorb`` (the
    file facts a child read, for the store). Results travel as marshal data: strings, numbers, None,
    tuples, lists, dicts and sets (anything else makes the child's tasks run again here).

    The task numbers wait in a pipe and each process takes the next one when it is free, so a slow
    task does not hold the others up. A task whose process fails or dies is done again here, so
    nothing is lost; without fork, or with other threads running (a fork would copy their locks
    mid-use), everything is done here.
    """
    import marshal
    import os
    import sys

    # (threading not imported means no thread was started through it)
    threads = sys.modules.get("threading")
    if jobs <= 1 or len(tasks) < 2 or not hasattr(os, "fork") or (threads and threads.active_count() > 1):
        return [work(t) for t in tasks]
    if len(tasks) > _MAX_QUEUED:  # every number must fit in the pipe before anyone reads it
        size = -(-len(tasks) // _MAX_QUEUED)
        groups = [tasks[i:i + size] for i in range(0, len(tasks), size)]
        return [r for group in _in_parallel(lambda g: [work(t) for t in g], groups, jobs,
                                            collect=collect, absorb=absorb) for r in group]
    queue_out, queue_in = os.pipe()
    os.write(queue_in, b"".join(i.to_bytes(4, "little") for i in range(len(tasks))))
    os.close(queue_in)  # after the last number every reader sees end-of-file

    def take_tasks():
        done = {}
        while True:
            token = os.read(queue_out, 4)  # a pipe read this small is never split between readers
            if len(token) < 4:
                return done
            index = int.from_bytes(token, "little")
            done[index] = work(tasks[index])

    sys.stdout.flush()
    sys.stderr.flush()
    children = []
    for _ in range(min(jobs, len(tasks)) - 1):
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            break
        if pid == 0:  # a child: its results, up the pipe, then out without clean-up
            code = 0
            try:
                os.close(read_end)
                try:
                    results = take_tasks()
                    extra = collect() if collect is not None else None
                    # Plain data (strings, numbers, tuples, dicts): marshal, faster than pickle.
                    data = marshal.dumps(("ok", results, extra))
                except BaseException as exc:  # the parent does the tasks this child took again
                    data = marshal.dumps(("error", f"{type(exc).__name__}: {exc}", None))
                with os.fdopen(write_end, "wb") as fh:
                    fh.write(data)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(write_end)
        children.append((pid, read_end))
    done = take_tasks()
    os.close(queue_out)
    for pid, read_end in children:
        with os.fdopen(read_end, "rb") as fh:
            data = fh.read()
        os.waitpid(pid, 0)
        try:
            status, payload, extra = marshal.loads(data)
        except Exception:
            status, payload, extra = "error", None, None
        if status == "ok":
            done.update(payload)
            if absorb is not None:
                absorb(extra)
    return [done[i] if i in done else work(task) for i, task in enumerate(tasks)]


class _Job:
    """What one process needs to walk and resolve: the loader, the options, how to render."""

    def __init__(self, system, loader, args, brief: bool) -> None:
        self.system, self.loader, self.args, self.brief = system, loader, args, brief
        #: A --root machine with no python stated: the interpreter is read from the layout per file.
        self.infer_python = bool(getattr(args, "root", None)) and not system.executable \
            and not getattr(args, "machine", None)
        self._pythons: dict = {}
        #: Trees resolved by this process (see _COLLECT_EVERY).
        self.resolved = 0

    def python_for(self, file: str):
        """(python, evidence) inferred from the layout around ``file`` (remembered per folder)."""
        from .facts.native.machine import infer_python

        folder = self.system.pathmod.dirname(file)
        if folder not in self._pythons:
            self._pythons[folder] = infer_python(self.system, file)
        return self._pythons[folder]

    def mode(self, file: str) -> str:
        return self.args.mode or ("as-imported" if _is_extension(self.system, file) else "standalone")

    def run_task(self, task: tuple) -> list:
        """[(file, walked, rendered or None, failed, reached)] for the files of one task.

        A file that a later pass may skip (a library under a walked folder, in auto mode: one of the
        extension modules may load it, and it is checked there) is left unrendered (None).
        """
        if task[0] == "given":
            items = [(task[1], False)]
        elif task[0] == "files":
            items = [(f, True) for f in task[1]]
        elif task[0] == "walk":
            items = [(f, True) for f in _walk(self.system, [task[1]], set(task[2]))]
        else:  # "resolve": files left for the second pass
            return [self.resolve(f, walked) for f, walked in task[1]]
        out = []
        for file, walked in items:
            if walked and self.args.mode is None and self.mode(file) == "standalone":
                out.append((file, walked, None, False, ()))
            else:
                out.append(self.resolve(file, walked))
        return out

    def resolve(self, file: str, walked: bool) -> tuple:
        from .facts.native.loader import format_tree, problems, tree_to_json, walk

        self.resolved += 1
        if self.resolved % _COLLECT_EVERY == 0:
            import gc

            gc.collect()
        args = self.args
        mode = self.mode(file)
        python = args.python or None
        said = list(getattr(args, "said", ()))
        if python is None and mode == "as-imported" and self.infer_python:
            got = self.python_for(file)
            if got is not None:
                python = got[0]
                said.append("python " + got[1])
        symbols = getattr(args, "symbols", None)
        if self.brief and not args.verbose and not args.json and not said and mode == "standalone" \
                and hasattr(self.loader, "loads_cleanly"):
            # a line that says ok is all that is shown: when the loader knows the tree has no
            # problem without making it (a tree shared by programs with the same needs), it is not made
            root = self.loader.loads_cleanly(file, mode=mode, python_executable=python, symbols=symbols)
            if root is not None:
                return (file, walked, f"{root}: ok (standalone" + (
                    "; symbols not checked, --symbols checks them)" if symbols is None else ")"), False, ())
        if self.brief and not args.verbose and not args.json and not said and mode == "as-imported" \
                and hasattr(self.loader, "resolve_draft"):
            # an ok line is all that is shown of a load without a problem: its tree is not frozen
            draft = self.loader.resolve_draft(file, mode=mode, python_executable=python, symbols=symbols)
            if draft.clean:
                return (file, walked, f"{draft.root_path}: ok ({draft.mode})", False, draft.reached())
            tree = draft.tree()
        else:
            tree = self.loader.resolve(file, mode=mode, python_executable=python, symbols=symbols)
        if said:
            from ._record import replace

            tree = replace(tree, notes=tuple(said) + tree.notes)
        if not tree.symbols_checked and tree.mode == "standalone" and getattr(args, "symbols", None) is None \
                and tree.root.error is None:
            from ._record import replace

            tree = replace(tree, notes=tree.notes + (SYMBOLS_NOT_CHECKED,))
        found = problems(tree)
        if args.json:
            # Compact: json's C encoder is used only without indent (ten times faster on big trees).
            rendered = tree_to_json(tree, found)
        elif self.brief and not args.verbose and not found:
            rendered = f"{tree.root.path or tree.root.name}: ok ({tree.mode}" + (
                "; symbols not checked, --symbols checks them)" if SYMBOLS_NOT_CHECKED in tree.notes else ")")
        else:
            rendered = format_tree(tree, verbose=args.verbose)
            if not args.verbose and SYMBOLS_NOT_CHECKED in tree.notes:
                rendered += "\n    note: symbols not checked (resolved on its own; --symbols checks them)"
            if not args.verbose:
                rendered += "".join(f"\nnote: {n}" for n in said)
        reached = ()
        if mode == "as-imported":
            reached = tuple(node.path for node in walk(tree.root)
                            if node.path and node.error is None and node is not tree.root)
        return (file, walked, rendered, bool(found), reached)


def _as_lddtree_takes_it(system, args):
    """A --root machine as users call lddtree: a Windows root that is itself drive C: (no C/ folder)."""
    from .facts.native.machine import drive_root_system, windows_root_is_a_drive

    said: List[str] = []
    if system.platform == "windows" and windows_root_is_a_drive(system.root):
        system = drive_root_system(system)
        said.append(f"--root {args.root} is taken as drive C: of the modelled machine (it has no drive folders)")
        return system, said, True
    return system, said, False


def _say(message: str) -> None:
    import sys

    from ._escape import escape_controls

    print(f"deps: {escape_controls(message, multiline=False)}", file=sys.stderr)


def replay(argv: List[str]) -> Optional[int]:
    """``dlldoctor`` + ``argv`` (``["deps", ...]``) answered from the answer a run with the same
    command line, folder and environment kept (see dllmagic/facts/native/answers.py), when every
    file it was made from is as it was: the exit status, after the kept output is written; else None.
    Runs before the command line is parsed, with no import beyond os, sys and zlib."""
    import sys

    from .facts.native import answers, factstore

    got = answers.replay(factstore.default_folder(), argv)
    if got is None:
        return None
    sys.stdout.write(got[0])
    return got[1]


#: With the collector off for a run (see :func:`run`), one pass every this many trees keeps a very
#: big walk's garbage bounded (a tree leaves about 10 KB of objects that refer to each other).
_COLLECT_EVERY = 2000


def run(args) -> int:
    """``deps``: the exit status, after the output is written.

    A run makes and drops a few hundred thousand small objects that refer to each other (loaded
    objects and their nodes); the cyclic collector's passes over them cost a tenth of a first run.
    It is off during the run (the resolver collects every ``_COLLECT_EVERY`` trees), then as it was.
    When the process ends with the command (``dlldoctor deps``), what the run made is left out of
    every later pass (gc.freeze): the first pass after the run, and the one at the interpreter's
    exit, would each look at all of it (~40 ms for a site-packages) to free nothing that matters.
    """
    import gc

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(args)
    finally:
        if getattr(args, "whole_process", False):
            gc.freeze()
        if was_enabled:
            gc.enable()


def _run(args) -> int:
    import os
    import sys
    import time

    began_ns = time.time_ns()

    wheels = [p for p in args.paths if p.lower().endswith(".whl")]
    if wheels:
        if len(wheels) != len(args.paths):
            _say("a wheel is checked on its own: give only FILE.whl paths, or only binaries and folders")
            return 2
        return run_wheels(wheels, json_out=args.json, tag=getattr(args, "tag", None), verbose=args.verbose,
                          minimal=getattr(args, "minimal", False))

    from .facts.system import System

    machine = None
    if getattr(args, "machine", None):  # a modelled Windows/macOS machine (facts/native/machine.py)
        from .facts.native.machine import MachineError, load_machine

        try:
            machine = load_machine(args.machine)
        except MachineError as exc:
            _say(f"--machine: {exc}")
            return 2
        system = machine.system
        args.root = args.root or system.root
    elif getattr(args, "root", None):
        if not os.path.isdir(args.root):
            _say(f"--root {args.root}: not a folder")
            return 2
        system = System.model(getattr(args, "platform", None) or "linux", args.root,
                              executable=args.python or "")
    else:
        live = System.current()
        # A fresh interpreter, not this CLI process: python's own libraries are modelled from its file.
        system = System(platform=live.platform, machine=live.machine, environ=live.environ, root="/",
                        executable=args.python or live.executable, live=False, loaded=())
    jobs = getattr(args, "jobs", None)
    if jobs is not None and jobs < 1:
        print("deps: --jobs must be at least 1", file=sys.stderr)
        return 2
    jobs = jobs or _default_jobs()
    tasks: List[tuple] = []
    given = []
    #: What the output says about the modelled machine: how paths were mapped, what was inferred.
    said: List[str] = []
    modelled = machine is None and bool(getattr(args, "root", None))
    drive_root = False
    if modelled:
        system, said, drive_root = _as_lddtree_takes_it(system, args)
    for name in args.paths:
        if modelled:
            from .facts.native.machine import machine_path_of

            path, how = machine_path_of(system, name, drive_root=drive_root)
            if how:
                said.append(how)
        else:
            path = name if name.startswith("/") or args.root else os.path.abspath(name)
        if not system.exists(path):
            _say(f"{name}: no such file or folder")
            return 2
        given.append(path)
    if modelled and system.platform == "macos" and given:
        from .facts.native.machine import macos_cpu_of

        cpu = macos_cpu_of(system, given[0]) if not system.is_dir(given[0]) else None
        if cpu is not None and cpu[0] != system.machine:
            system = system.replace(machine=cpu[0])
            said.append(cpu[1])
    args.said = tuple(said)
    #: The answer is kept for a later run with the same command line (a live machine only): from here
    #: on, every path looked at is noted (see dllmagic/facts/native/answers.py).
    argv = getattr(args, "argv", None)
    keeping = argv is not None and getattr(args, "cache", True) and machine is None and not modelled \
        and system.platform == "linux"
    if keeping:
        from .facts.native import answers

        answers.start()
        for path in given:
            answers.note(system.host_path(path))
    store = None
    try:
        if getattr(args, "cache", True):
            from .facts.native import factstore

            store = factstore.activate(factstore.default_folder())
        folders = [system.is_dir(p) for p in given]
        for path, is_folder in zip(given, folders):
            tasks.extend(_plan(system, path, _MIN_SUBTREES * jobs) if is_folder else [("given", path)])
        status, text = _resolve(args, system, machine, tasks, given, folders, jobs, store)
        sys.stdout.write(text)
        if keeping:
            answers.keep(store.folder, list(argv), text, status, began_ns)
        return status
    finally:
        if keeping:
            answers.stop()
        if store is not None:
            store.save()
            factstore.deactivate()


def _resolve(args, system, machine, tasks, given, folders, jobs, store) -> Tuple[int, str]:
    """(exit status, the output): every file resolved, rendered."""
    import posixpath

    from .facts.native.loader import loader_for

    loader = machine.loader() if machine is not None else loader_for(system)
    if hasattr(loader, "ld_cache"):
        loader.ld_cache()  # machine facts read once, before any fork shares them
        if hasattr(loader, "prefetch"):
            loader.prefetch()
    symbols = getattr(args, "symbols", None)
    checking = symbols or (symbols is None and getattr(args, "mode", None) != "standalone")
    if store is not None and checking:
        # The kept symbol checks, read once here rather than once per process. The kept undefined
        # symbols (a few MB) are read where a check is not kept: often nowhere.
        store.found()
    job = _Job(system, loader, args, brief=len(given) > 1 or any(folders))
    if jobs > 1 and getattr(args, "mode", None) != "standalone" and not job.infer_python \
            and hasattr(loader, "prepare_python"):
        # python's process, made once here and shared by the processes forked below
        loader.prepare_python(getattr(args, "python", None) or None, symbols=symbols is not False)
    parallel = jobs > 1 and sum(1 for t in tasks if t[0] == "walk") >= _MIN_SUBTREES
    # First pass: every file is found and the extension modules (and every file named, or every file
    # with --standalone/--as-imported) resolved.
    share = {} if store is None else {"collect": lambda: _collect(store), "absorb": lambda c: _absorb(store, c)}
    entries = [e for part in (_in_parallel(job.run_task, tasks, jobs, **share) if parallel
                              else map(job.run_task, tasks)) for e in part]
    reached: dict = {}
    for file, _walked, _rendered, _failed, paths in entries:
        for p in paths:
            if p not in reached:
                reached[p] = file
                if "/." in p or "//" in p:  # pillow.libs reached as PIL/../pillow.libs/...
                    reached.setdefault(posixpath.normpath(p), file)
    # Second pass: a bundled library (numpy.libs/, pillow.libs/) that an extension module reaches
    # was checked there, where its search path really comes from; resolved alone it would be a false
    # alarm (its own RPATH is rarely enough: it relies on the extension's). The others are resolved.
    rest = [(f, w) for f, w, rendered, _x, _p in entries if rendered is None and f not in reached]
    if rest:
        size = max(_FILES_PER_JOB, -(-len(rest) // (jobs * 4)))
        runs = [("resolve", rest[i:i + size]) for i in range(0, len(rest), size)]
        second = _in_parallel(job.run_task, runs, jobs, **share) if len(rest) >= 2 * _FILES_PER_JOB \
            else map(job.run_task, runs)
        later = {e[0]: e for part in second for e in part}
        entries = [later.get(e[0], e) for e in entries]
    status = 1 if any(e[3] for e in entries) else 0
    if args.json:
        import json

        skipped = [{"path": f, "of": reached.get(f) or reached.get(posixpath.normpath(f))}
                   for f, _w, rendered, _x, _p in entries if rendered is None]
        return status, '{"schema_version":%s,"ok":%s,"trees":[%s],"checked_as_dependencies":%s}\n' % (
            json.dumps(DEPS_SCHEMA_VERSION), json.dumps(status == 0),
            ",".join(e[2] for e in entries if e[2] is not None), json.dumps(skipped, separators=(",", ":")))
    # Names, RUNPATH entries and notes come from the files: whatever a terminal would act on in them
    # is shown escaped (\x1b, \u202e); the JSON above keeps the exact strings.
    from ._escape import escape_controls

    lines = []
    for file, _w, rendered, _x, _p in entries:
        if rendered is not None:
            lines.append(escape_controls(rendered))
        elif args.verbose:
            lines.append(escape_controls(f"{file}: checked as a dependency of {reached.get(file)}", multiline=False))
    return status, "".join(line + "\n" for line in lines)


def _collect(store) -> list:
    """What a forked worker hands back: the facts it read, and the paths it looked at."""
    from .facts.native import answers

    return [store.collect(), answers.noted()]


def _absorb(store, collected) -> None:
    from .facts.native import answers

    if isinstance(collected, list) and len(collected) == 2:
        store.absorb_collected(collected[0])
        answers.absorb(collected[1])


def run_wheels(paths: List[str], *, json_out: bool = False, tag: Optional[str] = None,
               verbose: bool = False, minimal: bool = False) -> int:
    """``deps FILE.whl ...``: will each wheel load on a clean machine of its platform tag? 0 yes, 1 no, 2 unusable."""
    import json
    import sys

    from .facts.native.loader import format_tree, tree_to_json
    from .facts.native.wheel import WheelError, check_wheel
    from ._escape import escape_controls

    checks = []
    for path in paths:
        try:
            checks.append(check_wheel(path, tag=tag, minimal=minimal))
        except WheelError as exc:
            _say(str(exc))
            return 2
    ok = all(c.ok for c in checks)
    if json_out:
        trees = [tree_to_json(t) for c in checks for _i, t in c.trees]
        sys.stdout.write('{"schema_version":%s,"ok":%s,"trees":[%s],"checked_as_dependencies":[],"wheels":%s}\n' % (
            json.dumps(DEPS_SCHEMA_VERSION), json.dumps(ok), ",".join(trees),
            json.dumps([c.to_dict() for c in checks], separators=(",", ":"))))
        return 0 if ok else 1
    for c in checks:
        lines = [f"wheel {c.path}"]
        for m in c.machines:
            lines.append(f"  on {m['stock_machine']} ({m['tag']}):")
            for f in m["files"]:
                state = "ok" if f["ok"] else "FAILS: " + "; ".join(
                    f"{p['name']} {p['detail']}" for p in f["problems"][:3])
                lines.append(f"    {f['file']}: {state}")
            for n in m["needs"]:
                lines.append(f"    needs {n['name']}" + (f" from {n['library']}" if n["library"] != n["name"] else "")
                             + (f": {n['provided_by']}" if n["provided_by"] else "")
                             + (f" [{len(n['required_by'])} files]" if len(n["required_by"]) > 1 else ""))
            for n in m.get("not_on_minimal_installs", ()):
                lines.append(f"    note: {n['library']} is allowed by the policy but absent from minimal installs"
                             + (f" ({n['provided_by']})" if n["provided_by"] else ""))
            lines.append(f"  verdict: {m['verdict']}")
            if verbose:
                for i, t in c.trees:
                    if c.machines[i] is m:
                        lines.extend("    " + line for line in format_tree(t, verbose=True).splitlines())
        if not c.extensions and not c.libraries:
            lines.append("  no native code in the wheel: nothing to load")
        for n in c.notes:
            lines.append(f"  note: {n}")
        for s in c.skipped:
            lines.append(f"  left out: {s}")
        if not c.complete:
            lines.append("  not every native file could be read: the answer is incomplete")
        lines.append(f"  {'OK' if c.ok else 'NOT OK'}: {len(c.extensions)} extension module(s), "
                     f"{len(c.libraries)} bundled librar{'y' if len(c.libraries) == 1 else 'ies'}")
        print(escape_controls("\n".join(lines)))
    return 0 if ok else 1


def main(argv: Optional[List[str]] = None) -> int:
    """A stand-alone entry point until the CLI proper wires this verb in."""
    import argparse

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
