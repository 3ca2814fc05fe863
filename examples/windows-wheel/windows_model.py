"""Diagnose a failure as it happens on a modelled Windows machine (used by windows-wheel.ipynb).

The notebook's kernel runs on Linux; the machine is a folder of real Windows files plus machine.json
(see build.py). :func:`report_on` runs dllmagic's rules with that machine as the System: the failure comes
from the exact text CPython 3.8+ prints on Windows, the facts (System32, the DLLs, their exports) from the
machine's files. :func:`show` displays the report the way the kernel extension does.
"""
from __future__ import annotations

import os

from dllmagic import __version__
from dllmagic.diagnosis import Context, run_rules
from dllmagic.facts.native.machine import load_machine
from dllmagic.failure import failure_from_text
from dllmagic.model import Interpreter, Report

EXAMPLE_DIR = os.environ.get("DLLMAGIC_EXAMPLE_DIR", os.path.expanduser("~/.dllmagic-examples/windows-wheel"))
SITE = "C:\\Python311\\Lib\\site-packages"


def machine_file(name: str) -> str:
    return os.path.join(EXAMPLE_DIR, name, "machine.json")


def error_text(module: str, message: str) -> str:
    """What CPython >= 3.8 prints on Windows for a failed extension import (it does not name the DLL)."""
    return (f"Traceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\n"
            f"ImportError: DLL load failed while importing {module}: {message}")


def report_on(name: str, module: str, message: str) -> Report:
    machine = load_machine(machine_file(name))
    system = machine.system
    interpreter = Interpreter(
        executable="C:\\Python311\\python.exe", real_executable="C:\\Python311\\python.exe", version="3.11.9",
        implementation="CPython", architecture="AMD64", bits=64, platform="windows", prefix="C:\\Python311",
        base_prefix="C:\\Python311", environment_kind="system", source=f"the modelled machine {machine_file(name)}")
    failure = failure_from_text(error_text(module, message))
    ctx = Context(target=module, failure=failure, system=system, interpreter=interpreter,
                  sys_path=("C:\\Python311\\python311.zip", "C:\\Python311\\DLLs", "C:\\Python311\\Lib",
                            "C:\\Python311", SITE))
    findings = run_rules(ctx)
    return Report(target=module, ok=False, interpreter=interpreter, findings=tuple(findings),
                  notes=tuple(ctx.notes), tool_version=__version__, failure=failure)


def show(report: Report) -> None:
    from IPython.display import display

    from dllmagic.report.html import render_html
    from dllmagic.report.jsonview import MIME_TYPE, render_dict
    from dllmagic.report.text import render_text

    display({"text/plain": render_text(report), "text/html": render_html(report), MIME_TYPE: render_dict(report)},
            raw=True)
