"""The command line: check, explain, deps, kernels.

Exit status: 0 the import works (or nothing is missing), 1 a problem was diagnosed, 2 usage error,
3 internal error. Every verb takes --json.
"""
from __future__ import annotations

import argparse
import importlib
import sys
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import List, Optional

EXIT_OK, EXIT_DIAGNOSED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

#: Verbs contributed by other modules: each has add_parser(subparsers) and run(args) -> int.
PLUGIN_VERBS = {"deps": "dllmagic.cli_deps", "kernels": "dllmagic.cli_kernels"}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2 with one line, as argparse does, but never 3
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser(verb: Optional[str] = None) -> argparse.ArgumentParser:
    """The whole command line, or with ``verb`` only that verb's part (a run needs no other)."""
    from . import __version__

    parser = _Parser(prog="dlldoctor", description="Diagnose Python import failures: missing modules, "
                     "DLLs and shared libraries, symbols, versions, wrong environments.")
    parser.add_argument("--version", action="version", version=f"dllmagic {__version__}")
    sub = parser.add_subparsers(dest="verb", parser_class=_Parser)

    if verb in PLUGIN_VERBS:
        importlib.import_module(PLUGIN_VERBS[verb]).add_parser(sub)
        return parser
    check = sub.add_parser("check", help="will 'import NAME' work? (tried in a child process)")
    check.add_argument("name", help="the module to import, e.g. tensorflow or PIL.Image")
    check.add_argument("--python", help="diagnose this interpreter instead (it needs no dllmagic)")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--online", action="store_true",
                       help="also ask the package index (pip install --dry-run --report, run by the target "
                            "interpreter) whether and what it would install; offline by default")
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
            importlib.import_module(module).add_parser(sub)
        except ImportError:
            pass
    return parser


def _print_report(report, as_json: bool) -> None:
    if as_json:
        from .report.jsonview import render_json

        print(render_json(report))
    else:
        from .report.text import render_text

        print(render_text(report))


def _validate_name(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def run_check(args) -> int:
    from .api import check

    if not _validate_name(args.name):
        print(f"dlldoctor: not a module name: {args.name!r}", file=sys.stderr)
        return EXIT_USAGE
    report = check(args.name, python=args.python, online=getattr(args, "online", False))
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
        text = sys.stdin.read()
    else:
        try:
            with open(args.file, "rb") as fh:
                text = fh.read(8 << 20).decode("utf-8", "replace")
        except OSError as exc:
            print(f"dlldoctor: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
    machine = None
    if getattr(args, "machine", None):
        from .facts.native.machine import MachineError, load_machine

        try:
            machine = load_machine(args.machine)
        except MachineError as exc:
            print(f"dlldoctor: {exc}", file=sys.stderr)
            return EXIT_USAGE
    report = explain(text, machine=machine)
    _print_report(report, args.json)
    return EXIT_DIAGNOSED if report.findings else EXIT_OK


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbs = {"check", "explain", *PLUGIN_VERBS}
    # A bare NAME is shorthand for 'check NAME' unless it is a verb.
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and first not in verbs and not any(a in ("-h", "--help", "--version") for a in argv[:1]):
        argv.insert(argv.index(first), "check")
    parser = build_parser(argv[0] if argv and argv[0] in PLUGIN_VERBS else None)
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.verb == "check":
            return run_check(args)
        if args.verb == "explain":
            return run_explain(args)
        return importlib.import_module(PLUGIN_VERBS[args.verb]).run(args)
    except KeyboardInterrupt:
        return EXIT_INTERNAL
    except Exception as exc:
        import os

        if os.environ.get("DLLMAGIC_STRICT") == "1":
            raise
        print(f"dlldoctor: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
