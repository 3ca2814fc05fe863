"""The command line: check, explain, deps, kernels.

Exit status: 0 the import works (or nothing is missing), 1 a problem was diagnosed, 2 usage error,
3 internal error; 141 (as for a tool ended by SIGPIPE), quietly, when the reader of the output went
away (``dlldoctor ... | head``). Every verb takes --json.
"""
from __future__ import annotations

import sys
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    import argparse
    from typing import List, Optional

EXIT_OK, EXIT_DIAGNOSED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
#: The reader of the output closed the pipe: the status a shell shows for a tool ended by SIGPIPE.
EXIT_BROKEN_PIPE = 128 + 13

#: Verbs contributed by other modules: each has add_parser(subparsers) and run(args) -> int.
PLUGIN_VERBS = {"deps": "dllmagic.cli_deps", "kernels": "dllmagic.cli_kernels", "docs": "dllmagic.cli_docs"}


def _verb_module(name: str):
    """The module of a verb (dllmagic.cli_deps ...), imported now if it is not yet."""
    module = sys.modules.get(name)
    if module is None:
        import importlib

        module = importlib.import_module(name)
    return module


def _parser_class():
    """argparse's parser whose usage errors exit 2 with one line, as argparse does, but never 3
    (made on first use: argparse is not imported by a ``deps`` run answered from its kept answer)."""
    import argparse

    class _Parser(argparse.ArgumentParser):
        def error(self, message):
            from ._escape import escape_controls

            self.print_usage(sys.stderr)
            self.exit(EXIT_USAGE, f"{self.prog}: error: {escape_controls(message, multiline=False)}\n")

    return _Parser


def build_parser(verb: Optional[str] = None) -> argparse.ArgumentParser:
    """The whole command line, or with ``verb`` only that verb's part (a run needs no other)."""
    from . import __version__

    _Parser = _parser_class()
    parser = _Parser(prog="dlldoctor", description="Diagnose Python import failures: missing modules, "
                     "DLLs and shared libraries, symbols, versions, wrong environments.")
    parser.add_argument("--version", action="version", version=f"dllmagic {__version__}")
    sub = parser.add_subparsers(dest="verb", parser_class=_Parser)

    if verb in PLUGIN_VERBS:
        _verb_module(PLUGIN_VERBS[verb]).add_parser(sub)
        return parser
    check = sub.add_parser("check", help="will 'import NAME' work? (tried in a child process)")
    check.add_argument("name", nargs="?", help="the module to import, e.g. tensorflow or PIL.Image")
    check.add_argument("--wheel", metavar="FILE.whl",
                       help="instead: will this wheel load on a clean machine of its platform tag (as deps FILE.whl)")
    check.add_argument("--python", help="diagnose this interpreter instead (it needs no dllmagic)")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--online", action="store_true",
                       help="also ask the package index (pip install --dry-run --report, run by the target "
                            "interpreter) whether and what it would install; offline by default")
    check.add_argument("--cwd", metavar="DIR", help="import as 'python -c' run in DIR would (default: here)")
    check.add_argument("--notebook", metavar="FILE",
                       help="import as the notebook FILE's kernel would: from its folder, reading its "
                            "kernelspec and its '!pip install' cells")
    check.add_argument("--prove", action="store_true",
                       help="try each package fix first in a temporary overlay (pip install --target, ahead of "
                            "site-packages in a child process) and import NAME there; the environment is untouched")

    explain = sub.add_parser("explain", help="diagnose a pasted traceback or installer output")
    explain.add_argument("file", nargs="?", default="-", help="a file, or - for standard input (default)")
    explain.add_argument("--json", action="store_true", help="print the report as JSON")
    explain.add_argument("--machine", metavar="DESCRIPTION.json",
                         help="the Windows/macOS machine the text came from, modelled: a description file "
                              "whose 'root' folder holds its files (see dllmagic.facts.native.machine)")

    for verb, module in PLUGIN_VERBS.items():
        try:
            _verb_module(module).add_parser(sub)
        except ImportError:
            pass
    return parser


def _print_report(report, as_json: bool) -> None:
    if as_json:
        from .report.jsonview import render_json
        from ._escape import escape_json_text

        print(escape_json_text(render_json(report)))
    else:
        from .report.text import output_width, render_text

        print(render_text(report, width=output_width(), shell=True))


def say(message: str) -> None:
    """One line to stderr, every control character in it shown escaped (it may quote a file's name, a
    path or an exception's text)."""
    from ._escape import escape_controls

    print(f"dlldoctor: {escape_controls(message, multiline=False)}", file=sys.stderr)


#: What ``explain`` reads of a file or of standard input: this much of its head and as much of its tail
#: (a log's error is usually at its end); what lies between is left out, with a line saying so.
READ_HALF = 4 << 20
#: A stream (a pipe, a FIFO) is read to its end, but never more than this.
STREAM_MAX = 1 << 30


def read_head_and_tail(fh, half: int = READ_HALF) -> bytes:
    """The first and the last ``half`` bytes of the binary stream ``fh`` (all of it when it is smaller);
    a seekable file is not read in between."""
    import os

    head = fh.read(half)
    if len(head) < half:
        return head
    try:
        size = os.fstat(fh.fileno()).st_size
        import stat

        regular = stat.S_ISREG(os.fstat(fh.fileno()).st_mode)
    except (OSError, AttributeError, ValueError):
        size, regular = 0, False
    if regular and size > 2 * half:
        fh.seek(size - half)
        tail = fh.read(half)
        skipped = size - half - len(head)
    else:  # a stream: keep the last `half` bytes seen
        tail = b""
        total = len(head)
        while total < STREAM_MAX:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            total += len(chunk)
            tail = (tail + chunk)[-half:]
        skipped = total - len(head) - len(tail)
        if skipped <= 0:
            return head + tail
    # Whole lines only on both sides of the gap.
    cut = head.rfind(b"\n")
    head = head[:cut + 1] if cut >= 0 else head
    cut = tail.find(b"\n")
    tail = tail[cut + 1:] if cut >= 0 else tail
    return head + f"\n[dlldoctor: {skipped} bytes in the middle left out]\n".encode() + tail


def decode_text(data: bytes) -> str:
    """Pasted or saved text as str: UTF-16/UTF-32 when it starts with their byte order mark (a Windows
    log), else UTF-8 with every undecodable byte replaced (never an error)."""
    import codecs

    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                      (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
                      (codecs.BOM_UTF8, "utf-8-sig")):
        if data.startswith(bom):
            return data.decode(name, "replace")
    return data.decode("utf-8", "replace")


def _validate_name(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def run_check(args) -> int:
    from .api import check

    if getattr(args, "wheel", None):  # the wheel check is deps FILE.whl's
        from .cli_deps import run_wheels

        return run_wheels([args.wheel], json_out=args.json)
    if not args.name:
        say("check needs a module NAME (or --wheel FILE.whl)")
        return EXIT_USAGE
    if not _validate_name(args.name):
        say(f"not a module name: {args.name!r}")
        return EXIT_USAGE
    report = check(args.name, python=args.python, online=getattr(args, "online", False),
                   cwd=getattr(args, "cwd", None), notebook=getattr(args, "notebook", None))
    if getattr(args, "prove", False) and not report.ok and report.interpreter is not None:
        from .planner.prove import prove_report

        report, _proofs = prove_report(report, python=args.python)
    _print_report(report, args.json)
    if report.interpreter is None and not report.findings:
        return EXIT_INTERNAL if not args.python else EXIT_USAGE
    return EXIT_OK if report.ok else EXIT_DIAGNOSED


def run_explain(args) -> int:
    from .api import explain

    if args.file == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        text = decode_text(read_head_and_tail(stdin)) if stdin is not None else sys.stdin.read()
    else:
        try:
            with open(args.file, "rb") as fh:
                text = decode_text(read_head_and_tail(fh))
        except OSError as exc:
            say(f"cannot read {args.file}: {exc.strerror or exc}")
            return EXIT_USAGE
    machine = None
    if getattr(args, "machine", None):
        from .facts.native.machine import MachineError, load_machine

        try:
            machine = load_machine(args.machine)
        except MachineError as exc:
            say(str(exc))
            return EXIT_USAGE
    report = explain(text, machine=machine)
    _print_report(report, args.json)
    return EXIT_DIAGNOSED if report.findings else EXIT_OK


def _robust_streams() -> None:
    """Output that the terminal's encoding cannot show (a cp1252 console, PYTHONIOENCODING=ascii) is
    written as \\u escapes instead of failing; input bytes that are not text are replaced."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
    try:
        sys.stdin.reconfigure(errors="replace")
    except (AttributeError, ValueError, OSError):
        pass


def _quiet_after_broken_pipe() -> int:
    """The reader of our output went away (``dlldoctor ... | head``): stop quietly, as Unix tools do.
    Whatever is still buffered goes to /dev/null so that the interpreter's last flush cannot complain."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


def main(argv: Optional[List[str]] = None) -> int:
    try:
        status = _main(argv)
        sys.stdout.flush()  # inside the guard: a reader gone before the last flush is no error either
    except BrokenPipeError:
        return _quiet_after_broken_pipe()
    if _ENDING[0]:
        _end_process(status)
    return status


#: Set by a ``deps`` run that is the whole process (``dlldoctor deps ...``): see :func:`_end_process`.
_ENDING = [False]


def _end_process(status: int) -> None:
    """End the process now, with ``status``, its output written: what the interpreter's own exit
    would do after a ``deps`` run is to free, one by one, every object the run made (its trees,
    loaded objects and facts: ~30 ms of a first run's ~200 ms), which nothing needs. Only when no
    exit handler is registered (atexit), no other thread runs and nothing watches the interpreter (a
    profiler, a tracer, ``python -i``); else the interpreter exits as usual."""
    import atexit
    import os

    count = getattr(atexit, "_ncallbacks", None)
    threads = sys.modules.get("threading")
    if count is None or count() or (threads is not None and threads.active_count() > 1) \
            or sys.getprofile() is not None or sys.gettrace() is not None or sys.flags.inspect \
            or not isinstance(status, int) or not 0 <= status <= 255:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # the interpreter's exit reports it as it would have
    os._exit(status)


def _main(argv: Optional[List[str]] = None) -> int:
    _robust_streams()
    #: The process's own command line: the process ends with this command (see cli_deps.run).
    whole_process = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    verbs = {"check", "explain", *PLUGIN_VERBS}
    # A bare NAME is shorthand for 'check NAME' unless it is a verb.
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and first not in verbs and not any(a in ("-h", "--help", "--version") for a in argv[:1]):
        argv.insert(argv.index(first), "check")
    args = None
    if argv[:1] == ["deps"]:
        _ENDING[0] = whole_process
        # Answered from the kept answer when nothing it was made from changed (cli_deps.replay).
        from .cli_deps import quick_args, replay

        status = replay(argv)
        if status is not None:
            return status
        args = quick_args(argv)  # a plain command line without argparse; None: argparse parses it
    if args is None:
        parser = build_parser(argv[0] if argv and argv[0] in PLUGIN_VERBS else None)
        args = parser.parse_args(argv)
    args.argv = tuple(argv)
    args.whole_process = whole_process
    if args.verb is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.verb == "check":
            return run_check(args)
        if args.verb == "explain":
            return run_explain(args)
        return _verb_module(PLUGIN_VERBS[args.verb]).run(args)
    except KeyboardInterrupt:
        return EXIT_INTERNAL
    except BrokenPipeError:
        raise
    except Exception as exc:
        import os

        if os.environ.get("DLLMAGIC_STRICT") == "1":
            raise
        say(f"internal error: {type(exc).__name__}: {exc}")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
