"""Plain-text view of a report: terminals, terminal IPython, text/plain fallbacks.

Everything printed here came, in part, from files, names and pasted text, so before it reaches a terminal
every character that a terminal would act on is shown escaped (:func:`escape_controls`): ESC (colours,
window titles, OSC 52 clipboard writes), other C0/C1 controls, NUL, line and paragraph separators, and
the bidirectional overrides that would make text read differently from what it is. The JSON view keeps
the exact strings (JSON escapes what it must).

Lines are wrapped to the terminal's width when the output is a terminal, and never inside a word: a
path stays whole on one line so that it can be copied (a word longer than the width overflows rather
than breaking). The lines of a fix's cell (commands) are never wrapped.
"""
from __future__ import annotations

import textwrap
from typing import List, Optional

from .._escape import escape_controls, escape_json_text  # in a module of their own: the CLI needs no views
from ..model import Finding, Report

_MARK = {"healthy": "✓"}

__all__ = ["escape_controls", "escape_json_text", "render_text"]


def output_width(stream=None) -> Optional[int]:
    """The width to wrap to: the terminal's columns when ``stream`` (default stdout) is a terminal,
    else None (no wrapping: a pipe or a file gets whole lines)."""
    import sys

    stream = sys.stdout if stream is None else stream
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError, OSError):
        return None
    import shutil

    return max(40, shutil.get_terminal_size((100, 24)).columns)


def _wrap(text: str, indent: str, width: Optional[int]) -> List[str]:
    if width is None:
        return [indent + text]
    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_long_words=False, break_on_hyphens=False) or [indent]


def shell_commands(fix, windows: bool = False) -> Optional[List[str]]:
    """The fix as commands for a terminal (not a notebook): the cell's ``!`` lines (already quoted for a
    shell by fixes.py), else its argv quoted for the shell, else a lone %pip/%conda line as the plain
    command; None for comment-only cells and anything else (the cell is shown as it is)."""
    lines = [line for line in fix.cell.split("\n") if line.strip() and not line.lstrip().startswith("#")]
    if lines and all(line.startswith("!") for line in lines):
        return [line[1:] for line in lines]
    if fix.argv:
        if windows:
            import subprocess

            return [subprocess.list2cmdline(list(fix.argv))]
        import shlex

        return [" ".join(shlex.quote(a) for a in fix.argv)]
    if len(lines) == 1 and lines[0].startswith(("%pip ", "%conda ", "%mamba ")):
        magic, _, rest = lines[0][1:].partition(" ")
        return [("python -m pip " if magic == "pip" else f"{magic} ") + rest]
    return None


#: In a terminal the report is about the interpreter asked (``--python``), not a kernel: the wording of
#: summaries and fix titles that name "this kernel" is said of the interpreter instead.
_TERMINAL_WORDS = (
    ("this kernel's environment", "this interpreter's environment"),
    ("this kernel's interpreter", "this interpreter"),
    ("this kernel's Python", "this Python"),
    ("this kernel's python", "this Python"),
    ("into this kernel", "into this interpreter"),
    ("for this kernel", "for this interpreter"),
    ("in this kernel", "in this interpreter"),
    ("kernel interpreter", "interpreter"),
)


def _for_terminal(text: str) -> str:
    for kernel_words, terminal_words in _TERMINAL_WORDS:
        text = text.replace(kernel_words, terminal_words)
    return text


def render_finding(finding: Finding, index: int, *, compact: bool = False, width: Optional[int] = None,
                   first_fix: int = 1, shell: Optional[str] = None) -> List[str]:
    """One finding; its fixes are numbered from ``first_fix`` (fixes are numbered 1, 2, 3 across the whole
    report, as the widget, the HTML and ``%dlldoctor NAME --fix N`` number them). ``shell``: "posix" or
    "windows" to show each fix as the command a terminal runs (the CLI) instead of a notebook cell."""
    mark = _MARK.get(finding.kind, "✗")
    lines = _wrap(f"{mark} [{index}] {finding.kind} · {finding.cause} (confidence {finding.confidence:.2f})", "", width)
    lines += _wrap(_for_terminal(finding.summary) if shell else finding.summary, "    ", width)
    if not compact and finding.evidence:
        lines.append("    Evidence:")
        for ev in finding.evidence:
            src = f"  [{ev.source}]" if ev.source else ""
            line = f"- {ev.fact}: {ev.value}{src}"
            lines += _wrap(_for_terminal(line) if shell else line, "      ", width)
    fixes = finding.fixes[:1] if compact else finding.fixes
    for n, fix in enumerate(fixes, first_fix):
        title = _for_terminal(fix.title) if shell else fix.title
        lines += _wrap(f"Fix {n} ({fix.kind}{', needs a restart' if fix.restart else ''}): {title}", "    ", width)
        commands = shell_commands(fix, shell == "windows") if shell else None
        if commands:
            lines += [f"        {'$' if shell == 'posix' else '>'} {command}" for command in commands]
        else:
            for cell_line in fix.cell.split("\n") if fix.cell else ():   # a restart has no cell
                lines.append(f"        {cell_line}")
    if finding.docs and not compact:
        page = finding.docs
        if shell and page.startswith("docs/kinds/"):   # the pages ship in the package: dlldoctor docs prints one
            page = page[len("docs/kinds/"):].replace(".md#", "#")
            page = "dlldoctor docs " + (page[:-3] if page.endswith(".md") else page)
        lines += _wrap(f"Learn more: {page}", "    ", width)
    return lines


def render_text(report: Report, *, compact: bool = False, width: Optional[int] = None,
                shell: bool = False) -> str:
    """The whole report as text (``compact``: the top finding with its first fix only), every control
    character escaped. ``width``: wrap long lines to this many columns (None: no wrapping). ``shell``: fixes
    as terminal commands (the CLI), not notebook cells."""
    head = f"dllmagic {report.tool_version}: "
    if report.ok:
        head += f"import {report.target} works"
    elif report.failure is not None:
        # the first line that says something: NumPy's ABI message starts with a newline
        first = next((line for line in (report.failure.message or "").splitlines() if line.strip()), "")
        head += (f"{report.failure.exc_type}: {first}" if report.failure.exc_type else first)[:300]
    else:
        head += f"import {report.target or '(nothing recognised)'}"
    lines = _wrap(head, "", width)
    if report.interpreter is not None and not compact:
        it = report.interpreter
        lines += _wrap(f"interpreter: {it.executable} (Python {it.version}, {it.implementation}, "
                       f"{it.architecture}{' under Rosetta' if it.translated else ''}, {it.environment_kind})",
                       "  ", width)
    if report.expected_environment is not None and not compact:
        lines += _wrap(f"expected environment: {report.expected_environment.description}", "  ", width)
    findings = report.findings[:1] if compact else report.findings
    first_fix = 1
    for i, finding in enumerate(findings, 1):
        lines += render_finding(finding, i, compact=compact, width=width, first_fix=first_fix,
                                shell=_shell_of(report) if shell else None)
        first_fix += len(finding.fixes)
    if compact and len(report.findings) > 1:
        lines += _wrap(f"(+{len(report.findings) - 1} more; %dlldoctor {report.target} for the full report)",
                       "  ", width)
    for note in report.notes:
        lines += _wrap(f"note: {note}", "  ", width)
    # Each line is escaped as a whole: a newline inside a field (a summary, a note) shows as \n too.
    return "\n".join(escape_controls(line, multiline=False) for line in lines)


def _shell_of(report: Report) -> str:
    it = report.interpreter
    return "windows" if it is not None and getattr(it, "platform", "") == "windows" else "posix"
