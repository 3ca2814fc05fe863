"""Plain-text view of a report: terminals, terminal IPython, text/plain fallbacks."""
from __future__ import annotations

import textwrap
from typing import List

from ..model import Finding, Report

_MARK = {"healthy": "✓"}


def _wrap(text: str, indent: str, width: int = 100) -> List[str]:
    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent) or [indent]


def render_finding(finding: Finding, index: int, *, compact: bool = False) -> List[str]:
    mark = _MARK.get(finding.kind, "✗")
    lines = [f"{mark} [{index}] {finding.kind} · {finding.cause} (confidence {finding.confidence:.2f})"]
    lines += _wrap(finding.summary, "    ")
    if not compact and finding.evidence:
        lines.append("    Evidence:")
        for ev in finding.evidence:
            src = f"  [{ev.source}]" if ev.source else ""
            lines += _wrap(f"- {ev.fact}: {ev.value}{src}", "      ")
    fixes = finding.fixes[:1] if compact else finding.fixes
    for n, fix in enumerate(fixes, 1):
        lines.append(f"    Fix {index}.{n} ({fix.kind}{', needs a restart' if fix.restart else ''}): {fix.title}")
        for cell_line in fix.cell.splitlines():
            lines.append(f"        {cell_line}")
    if finding.docs and not compact:
        lines.append(f"    Learn more: {finding.docs}")
    return lines


def render_text(report: Report, *, compact: bool = False) -> str:
    """The whole report as text (``compact``: the top finding with its first fix only)."""
    head = f"dllmagic {report.tool_version}: "
    if report.ok:
        head += f"import {report.target} works"
    elif report.failure is not None:
        first = (report.failure.message or "").splitlines()[0] if report.failure.message else ""
        head += (f"{report.failure.exc_type}: {first}" if report.failure.exc_type else first)[:300]
    else:
        head += f"import {report.target or '(nothing recognised)'}"
    lines = [head]
    if report.interpreter is not None and not compact:
        it = report.interpreter
        lines.append(f"  interpreter: {it.executable} (Python {it.version}, {it.implementation}, "
                     f"{it.architecture}{' under Rosetta' if it.translated else ''}, {it.environment_kind})")
    if report.expected_environment is not None and not compact:
        lines += _wrap(f"expected environment: {report.expected_environment.description}", "  ")
    findings = report.findings[:1] if compact else report.findings
    for i, finding in enumerate(findings, 1):
        lines += render_finding(finding, i, compact=compact)
    if compact and len(report.findings) > 1:
        lines.append(f"  (+{len(report.findings) - 1} more; %dlldoctor {report.target} for the full report)")
    for note in report.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
