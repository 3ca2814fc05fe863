"""``dlldoctor kernels [--json]``: every kernelspec and Python environment on this machine.

The view a user needs to pick the right kernel: each kernelspec with the interpreter its argv runs, each
environment with its Python version, kind and kernels, and which one is the current interpreter. Nothing
is started; everything is read from files.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List, Optional


__all__ = ["add_parser", "run", "kernels_data", "KERNELS_SCHEMA_VERSION"]

KERNELS_SCHEMA_VERSION = "1.0"


def add_parser(subparsers: Any) -> Any:
    parser = subparsers.add_parser(
        "kernels", help="list every Jupyter kernelspec and Python environment found on this machine")
    parser.add_argument("--json", action="store_true", help="print the listing as JSON")
    parser.add_argument("--python", help="mark this interpreter as the current one (default: this Python)")
    parser.add_argument("--notebook-dir", help="also look for venvs and pixi environments in and above "
                                               "this folder (default: the working folder)")
    parser.add_argument("--machine", metavar="DESCRIPTION.json",
                        help="list the environments of a modelled machine (a description file whose 'root' "
                             "folder holds its files, and whose 'registry' states its PEP 514 keys; see "
                             "dllmagic.facts.native.machine)")
    parser.set_defaults(handler=run)
    return parser


def kernels_data(system: Any = None, interpreter: Any = None, notebook_dir: Optional[str] = None) -> Dict[str, Any]:
    from .facts.environments import discover
    from .facts.interpreter import live_interpreter
    from .facts.system import System
    from .model import to_dict

    system = system or System.current()
    interpreter = interpreter or live_interpreter()
    found = discover(system, interpreter, notebook_dir=notebook_dir)
    current_key = found.current.key if found.current else None
    kernels = []
    for spec in found.kernelspecs:
        entry = to_dict(spec)
        # A kernelspec's env may hold tokens: name the variables, never print their values.
        entry["env"] = sorted(name for name, _ in spec.env)
        entry["argv"] = list(spec.argv)
        env = None
        if spec.prefix:
            from .facts.environments import env_key

            env = found.environment(env_key(system, spec.prefix))
        entry["environment"] = env.prefix if env else None
        entry["version"] = env.version if env else None
        entry["current"] = bool(env and env.key == current_key)
        entry["python_exists"] = bool(spec.python and system.exists(spec.python))
        kernels.append(entry)
    return {
        "schema_version": KERNELS_SCHEMA_VERSION,
        "interpreter": to_dict(interpreter),
        "kernelspecs": kernels,
        "environments": [to_dict(env) for env in found.environments],
        "notes": list(found.notes),
    }


def _interpreter_for(python: Optional[str]):
    if not python:
        return None
    from .facts.interpreter import run_probe

    return run_probe(python).interpreter


def _text(data: Dict[str, Any]) -> str:
    lines: List[str] = []
    it = data["interpreter"]
    lines.append(f"This interpreter: {it['executable']} (Python {it['version']}, {it['environment_kind']}, "
                 f"prefix {it['prefix']})")
    lines.append("")
    lines.append(f"Kernelspecs ({len(data['kernelspecs'])}):")
    if not data["kernelspecs"]:
        lines.append("  none found")
    for spec in data["kernelspecs"]:
        mark = "*" if spec["current"] else " "
        runs = spec["python"] or (spec["argv"][0] if spec["argv"] else "?")
        extra = []
        if spec["version"]:
            extra.append(f"Python {spec['version']}")
        if spec["hidden_by"]:
            extra.append(f"hidden by {spec['hidden_by']}")
        if spec["python"] and not spec["python_exists"]:
            extra.append("its interpreter does not exist")
        lines.append(f" {mark} {spec['name']:<24} {spec['display_name']}")
        lines.append(f"     runs {runs}" + (f"  ({', '.join(extra)})" if extra else ""))
        lines.append(f"     {spec['path'] or spec['source']}")
    lines.append("")
    lines.append(f"Python environments ({len(data['environments'])}):")
    for env in data["environments"]:
        mark = "*" if env["current"] else " "
        kernels = ", ".join(env["kernelspecs"]) or "no kernel"
        pieces = [f"Python {env['version'] or '?'}", env["kind"], f"{env['distributions']} distributions",
                  f"kernels: {kernels}"]
        if env["kind"] != "user-site":
            pieces.append("ipykernel" if env["has_ipykernel"] else "no ipykernel")
        if env["externally_managed"]:
            pieces.append("externally managed (PEP 668)")
        if env.get("architecture"):
            pieces.append(env["architecture"])
        lines.append(f" {mark} {env['name']:<28} {env['prefix']}")
        lines.append(f"     {', '.join(pieces)}")
        shown = list(env["found_by"][:3])
        shown += [how for how in env["found_by"][3:] if how.startswith("PEP 514")]  # always name the registry key
        lines.append(f"     found by: {'; '.join(shown)}")
    lines.append("")
    lines.append("* = the current interpreter")
    for note in data["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _safe_text(data: Dict[str, Any]) -> str:
    """:func:`_text` with every control character escaped, line by line (a kernelspec's display name,
    argv and paths come from files anyone may write)."""
    from .report.text import escape_controls

    def one_line(value: Any) -> Any:
        # Each field on its own first: a newline in a display name or a path must not start a line of its own
        # (which could read as another kernelspec's 'runs' row).
        if isinstance(value, str):
            return escape_controls(value, multiline=False)
        if isinstance(value, dict):
            return {k: one_line(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [one_line(v) for v in value]
        return value

    return "\n".join(escape_controls(line, multiline=False) for line in _text(one_line(data)).split("\n"))


def _say(message: str) -> None:
    from .report.text import escape_controls

    print(f"dlldoctor: {escape_controls(message, multiline=False)}", file=sys.stderr)


def _machine(path: str):
    """(System, Interpreter or None) of a modelled machine description."""
    from .facts.native.machine import load_machine, machine_interpreter

    machine = load_machine(path)
    return machine.system, machine_interpreter(machine)


def run(args: Any) -> int:
    system = None
    if getattr(args, "machine", None):
        from .facts.native.machine import MachineError

        try:
            system, interpreter = _machine(args.machine)
        except MachineError as exc:
            _say(str(exc))
            return 2
        if interpreter is None:
            from .model import Interpreter

            interpreter = Interpreter(executable="(none stated)", real_executable="", version="?",
                                      implementation="", architecture=system.machine, bits=0,
                                      platform=system.platform, prefix="", base_prefix="",
                                      environment_kind="unknown", source="the machine description")
        data = kernels_data(system=system, interpreter=interpreter, notebook_dir=getattr(args, "notebook_dir", None))
        print(json.dumps(data, indent=2, sort_keys=False) if getattr(args, "json", False) else _safe_text(data))
        return 0
    try:
        interpreter = _interpreter_for(getattr(args, "python", None))
    except Exception as exc:  # a --python that cannot be probed is a usage error
        _say(str(exc))
        return 2
    data = kernels_data(interpreter=interpreter, notebook_dir=getattr(args, "notebook_dir", None) or os.getcwd())
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, sort_keys=False))
    else:
        print(_safe_text(data))
    return 0
