"""Static HTML view of a report (nbconvert, GitHub, VS Code): every value escaped, no script.

Fixes are numbered 1, 2, 3 across the whole report, as the widget numbers them (the N of
``%dlldoctor NAME --fix N``). Colours are JupyterLab's theme variables with light fallbacks; tables are
left-aligned whatever the host page's table style.
"""
from __future__ import annotations

from html import escape
from typing import List

from .._escape import escape_controls
from ..model import Finding, Report, doc_id

_STYLE = ("font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;border-left:4px solid {color};"
          "padding:6px 10px;margin:4px 0;background:var(--jp-layout-color1,#fff);"
          "color:var(--jp-ui-font-color1,#222);text-align:left")
_CELL = "text-align:left;vertical-align:top;padding:1px 8px 1px 0;border:none"


def _e(value: object) -> str:
    """HTML-escaped, with the characters that change how a line reads (bidi overrides, zero-width marks, ESC
    and other controls: from file and folder names, environment variables) shown as escapes, as in the text."""
    return escape(escape_controls(str(value)), quote=True)


def _source(source: str) -> str:
    return f' <span style="opacity:.6">[{_e(source)}]</span>' if source else ""


def _finding(finding: Finding, first_fix: int, compact: bool) -> str:
    ok = finding.kind == "healthy"
    parts: List[str] = [
        f'<div class="dllmagic-finding" data-kind="{_e(finding.kind)}" data-cause="{_e(finding.cause)}">',
        f'<div><b>{"✓" if ok else "✗"} {_e(finding.summary)}</b></div>',
        f'<div style="opacity:.7;font-size:11px">{_e(finding.kind)} · {_e(finding.cause)} · confidence '
        f'{finding.confidence:.2f}</div>',
    ]
    if finding.evidence and not compact:
        rows = "".join(
            f"<tr><td style='{_CELL};font-weight:600'>{_e(ev.fact)}</td>"
            f"<td style='{_CELL}'><code>{_e(ev.value)}</code>{_source(ev.source)}</td></tr>"
            for ev in finding.evidence)
        parts.append(f"<details><summary>Evidence ({len(finding.evidence)})</summary>"
                     f"<table style='border-collapse:collapse;margin:0;table-layout:auto'>{rows}</table></details>")
    for n, fix in enumerate(finding.fixes[:1] if compact else finding.fixes, first_fix):
        restart = " — restart the kernel afterwards" if fix.restart and fix.kind != "kernel-switch" else ""
        parts.append(f'<div class="dllmagic-fix" data-fix-id="{_e(fix.id)}">Fix {n} '
                     f'({_e(fix.kind)}): {_e(fix.title)}{_e(restart)}</div>')
        if fix.cell:
            parts.append(f"<pre style='margin:2px 0 6px 16px;padding:4px'>{_e(fix.cell)}</pre>")
    if finding.docs and not compact:
        did = doc_id(finding.docs)
        if did:
            parts.append(f'<div style="font-size:11px">Learn more: <span class="dm-doc-link" role="link" '
                         f'data-dllmagic-doc="{_e(did)}"><code>dlldoctor docs {_e(did)}</code></span></div>')
        else:
            parts.append(f'<div style="font-size:11px">Learn more: <code>{_e(finding.docs)}</code></div>')
    parts.append("</div>")
    return "".join(parts)


def render_html(report: Report, *, compact: bool = False) -> str:
    top = report.top
    color = ("var(--jp-success-color1,#2e7d32)" if report.ok else
             ("var(--jp-error-color1,#c62828)" if top and top.confidence >= 0.6 else "var(--jp-warn-color1,#ef6c00)"))
    out = [f'<div class="dllmagic-report" style="{_STYLE.format(color=color)}">',
           f'<div style="font-size:11px;opacity:.7">dllmagic {_e(report.tool_version)} · '
           f'{_e(report.target)}</div>']
    if report.interpreter is not None and not compact:
        it = report.interpreter
        out.append(f"<div style='font-size:11px'>interpreter: <code>{_e(it.executable)}</code> "
                   f"(Python {_e(it.version)}, {_e(it.environment_kind)})</div>")
    if report.expected_environment is not None and not compact:
        out.append(f"<div style='font-size:11px'>expected environment: "
                   f"{_e(report.expected_environment.description)}</div>")
    findings = report.findings[:1] if compact else report.findings
    first = 1
    for f in findings:
        out.append(_finding(f, first, compact))
        first += len(f.fixes)
    for note in report.notes:
        out.append(f"<div style='font-size:11px;opacity:.7'>note: {_e(note)}</div>")
    out.append("</div>")
    return "".join(out)
