"""Diagnose a failure as it happens on a modelled Windows machine (used by windows-wheel.ipynb).

The notebook's kernel runs on Linux; the machine is a folder of real Windows files plus machine.json
(see build.py). :func:`report_on` is ``dllmagic.explain(text, machine=...)``: the failure comes from the exact
text CPython 3.8+ prints on Windows, the facts (System32, the DLLs, their exports, the loader's search) from the
machine's files. :func:`show` displays the report the way the kernel extension does.
"""
from __future__ import annotations

import os

from dllmagic.api import explain
from dllmagic.model import Report

EXAMPLE_DIR = os.environ.get("DLLMAGIC_EXAMPLE_DIR", os.path.expanduser("~/.dllmagic-examples/windows-wheel"))
SITE = "C:\\Python311\\Lib\\site-packages"


def machine_file(name: str) -> str:
    return os.path.join(EXAMPLE_DIR, name, "machine.json")


def error_text(module: str, message: str) -> str:
    """What CPython >= 3.8 prints on Windows for a failed extension import (it does not name the DLL)."""
    return (f"Traceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\n"
            f"ImportError: DLL load failed while importing {module}: {message}")


def report_on(name: str, module: str, message: str) -> Report:
    """dllmagic's report for that error text on the modelled machine ``name`` (what ``dlldoctor explain
    --machine <name>/machine.json`` prints)."""
    return explain(error_text(module, message), machine=machine_file(name))


def show(report: Report) -> None:
    from IPython.display import display

    from dllmagic.report.html import render_html
    from dllmagic.report.jsonview import MIME_TYPE, render_dict
    from dllmagic.report.text import render_text

    display({"text/plain": render_text(report), "text/html": render_html(report), MIME_TYPE: render_dict(report)},
            raw=True)
