"""The interactive report: an ipywidgets view over a :class:`~dllmagic.model.Report`.

ipywidgets is imported when the first view is built, never by ``%load_ext dllmagic``. Each display is a
mimebundle (:func:`display_bundle`) carrying the widget beside the full text/plain and text/html reports,
so nbconvert, GitHub and a closed widget manager still show everything.

How the buttons act:

* **Run** is a two-step handshake the kernel issues itself: a click on Run makes the kernel record a one-time
  confirmation (:func:`dllmagic._runner.request_confirmation`), show the exact argv and create a fresh
  "Run it" button for that confirmation alone; only a click on that button calls
  :func:`dllmagic._runner.start` with the report this kernel made, the fix's id and the nonce, which the
  runner consumes (once). A "Run it" click the kernel never asked for, or a second one, runs nothing. The
  browser never sends a command.
* Views are closed (widgets, layouts, styles and the bridge comm) when a new report of the same cell
  supersedes them, beyond the newest ``_MAX_VIEWS``, and on ``%unload_ext dllmagic`` (:func:`close_all`).
* **Insert cell below**, **Restart kernel**, **Switch kernel** and the clipboard need the front end. Each view
  opens a comm to the ``dllmagic.bridge`` target that our JupyterLab 4 / Notebook 7 extension registers
  (``frontend/``); the bridge answers ``ready`` and then inserts the cell below the cell whose output holds
  this view's model id, through the notebook model. Until ``ready`` arrives (VS Code, Colab, classic
  Notebook: never) those buttons stay hidden and Copy shows the source to select, with the
  ``%dlldoctor NAME --fix N`` line that places the fix in the next cell.

Protocol on the comm (JSON): kernel → bridge ``{"op": "hello", "protocol": 1, "model_id"}`` on open, then
``{"op": "insert" | "copy" | "restart" | "switch-kernel", "request": n, ...}``; bridge → kernel
``{"op": "ready", "protocol": 1, "app"}`` and ``{"op": "result", "request": n, "ok", "message"}``.
"""
from __future__ import annotations

import html
import re
import shlex
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .._escape import escape_controls
from ..model import Evidence, Finding, Fix, Report

__all__ = ["ReportView", "display_bundle", "fix_cell", "numbered_fixes", "severity", "WIDGET_MIME",
           "BRIDGE_TARGET"]


def __dir__() -> List[str]:
    return list(__all__)


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
BRIDGE_TARGET = "dllmagic.bridge"
PROTOCOL = 1
#: Output kept on screen while a fix runs (the whole output stays on the Run object).
LOG_TAIL_CHARS = 20_000
#: How often the live log and the elapsed time are pushed to the browser.
REFRESH_S = 0.25

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_MISSING = re.compile(r"not found|missing|no such|✗|cannot|unresolved", re.I)

# Evidence is a flat list of facts; the view groups it by what the fact talks about.
_SECTIONS: Tuple[Tuple[str, "re.Pattern[str]"], ...] = (
    ("How the module resolved", re.compile(
        r"sys\.path|found at|folders? searched|resolv|shadow|import name|module|spec|origin|file", re.I)),
    ("Dependency tree", re.compile(
        r"librar|needed|depend|rpath|runpath|loader|search|symbol|\.so|dll|dylib|tree", re.I)),
    ("Distributions and versions", re.compile(
        r"distribution|version|requires|installed|metadata|record|wheel|conflict", re.I)),
)


def _e(text: Any) -> str:
    """Escape anything for HTML text and attribute values (module names, paths, error text)."""
    return html.escape(escape_controls("" if text is None else str(text)), quote=True)


# -- pure helpers ---------------------------------------------------------------------------------------
def numbered_fixes(report: Report) -> List[Tuple[int, Finding, Fix]]:
    """Every fix of the report, numbered from 1 in report order (the N of ``%dlldoctor NAME --fix N``)."""
    out: List[Tuple[int, Finding, Fix]] = []
    for finding in report.findings:
        for fix in finding.fixes:
            out.append((len(out) + 1, finding, fix))
    return out


def fix_cell(report: Report, n: int) -> str:
    """The cell source of fix number ``n`` (1-based), for ``%dlldoctor NAME --fix N``.

    Raises :class:`ValueError` with a full sentence when there is no such fix or it has no cell.
    """
    fixes = numbered_fixes(report)
    if not fixes:
        raise ValueError("This report offers no fixes.")
    if not isinstance(n, int) or not 1 <= n <= len(fixes):
        raise ValueError(f"There is no fix {n}; this report has fixes 1 to {len(fixes)}.")
    fix = fixes[n - 1][2]
    if not fix.cell:
        raise ValueError(f"Fix {n} ({fix.title}) has no cell to insert; it is an instruction.")
    return fix.cell


def severity(report: Report) -> str:
    """``error`` when the import fails, ``warning`` when it works but something was found, else ``ok``."""
    if not report.ok:
        return "error"
    return "warning" if any((f.kind, f.cause) != ("healthy", "healthy") for f in report.findings) else "ok"


def kernel_name(fix: Fix) -> Optional[str]:
    """The kernelspec a kernel-switch fix switches to: the fix's own ``kernel`` field, validated.

    Never searched for in the cell text or the title: those show a display name, which may hold anything.
    """
    if fix.kind != "kernel-switch":
        return None
    name = getattr(fix, "kernel", "") or ""
    return name if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name) else None


def is_comment_only(cell: str) -> bool:
    """True when a cell holds nothing to run (only blank and ``#`` lines): it is not worth inserting."""
    return all(not ln.strip() or ln.lstrip().startswith("#") for ln in (cell or "").splitlines())


def _module_of(report: Report) -> Optional[str]:
    failed = report.failure.module if report.failure is not None else None
    name = failed or report.target
    return name if name and _DOTTED.fullmatch(name) else None


def _render_fallbacks(report: Report) -> Dict[str, str]:
    from .html import render_html
    from .text import render_text

    return {"text/plain": render_text(report), "text/html": render_html(report)}


# -- static HTML pieces of the view (all text escaped) --------------------------------------------------
def _css() -> str:
    """The report's style sheet (report.css, shared with the lab extension's saved-report renderer)."""
    global _CSS_CACHE
    if _CSS_CACHE is None:
        from pathlib import Path

        _CSS_CACHE = "<style>" + Path(__file__).with_name("report.css").read_text(encoding="utf-8") + "</style>"
    return _CSS_CACHE


_CSS_CACHE: Optional[str] = None


def _value_html(value: str) -> str:
    """The value escaped, with only the words that say something is missing marked (never the whole text)."""
    out, pos, text = [], 0, str(value)
    for m in _MISSING.finditer(text):
        out += [_e(text[pos:m.start()]), f'<span class="dm-missing">{_e(m.group(0))}</span>']
        pos = m.end()
    out.append(_e(text[pos:]))
    return "".join(out)


def _evidence_table(rows: Sequence[Evidence]) -> str:
    body = "".join(
        f'<tr><td class="dm-k">{_e(ev.fact)}</td><td>{_value_html(ev.value)}'
        + (f' <span class="dm-src">({_e(ev.source)})</span>' if ev.source else "")
        + "</td></tr>"
        for ev in rows)
    return f'<table class="dm-ev">{body}</table>'


def _environment_html(report: Report) -> str:
    it = report.interpreter
    rows: List[Evidence] = []
    if it is not None:
        rows += [Evidence("kernel interpreter", it.executable, it.source),
                 Evidence("Python", f"{it.version} ({it.implementation}, {it.architecture}, {it.bits}-bit)"),
                 Evidence("environment", f"{it.environment_kind} at {it.prefix}")]
    exp = report.expected_environment
    if exp is not None:
        rows.append(Evidence("expected environment", exp.description))
        if exp.interpreter:
            rows.append(Evidence("expected interpreter", exp.interpreter))
        if exp.kernelspec:
            rows.append(Evidence("notebook kernelspec", exp.kernelspec))
        rows += list(exp.evidence)
    return _evidence_table(rows) if rows else '<div class="dm-note">No interpreter facts (text only).</div>'


def _sections(report: Report) -> List[Tuple[str, str]]:
    """(title, html) of the collapsible evidence sections, empty ones left out."""
    out = [("Kernel interpreter and expected environment", _environment_html(report))]
    grouped: Dict[str, List[Evidence]] = {title: [] for title, _ in _SECTIONS}
    other: List[Evidence] = []
    for finding in report.findings:
        for ev in finding.evidence:
            if ev.fact == "kernel interpreter":
                continue           # shown in the environment section
            for title, pattern in _SECTIONS:
                if pattern.search(ev.fact):
                    grouped[title].append(ev)
                    break
            else:
                other.append(ev)
    for title, _ in _SECTIONS:
        if grouped[title]:
            out.append((title, _evidence_table(grouped[title])))
    if other:
        out.append(("Other evidence", _evidence_table(other)))
    if report.notes:
        out.append(("Notes", "<ul>" + "".join(f"<li>{_e(n)}</li>" for n in report.notes) + "</ul>"))
    return out


def _also_found_html(report: Report) -> str:
    """The other findings, in view under the headline (a pre-flight's useful facts: a release that fits this
    Python, no GPU driver so CPU only ...), never folded away."""
    if len(report.findings) < 2:
        return ""
    items = "".join(f'<li>{_e(f.summary)} <span class="dm-src">({_e(f.kind)} · {_e(f.cause)}, '
                    f"confidence {f.confidence:.0%})</span></li>" for f in report.findings[1:])
    return f'<div class="dm-also"><span class="dm-fixtitle">Also found</span><ul>{items}</ul></div>'


def _learn_more(finding: Finding) -> str:
    """A link to the finding's docs: a URL as it is; a page shipped in the package by its doc id, which the
    bridge opens in a tab (rendered) and a terminal prints with ``dlldoctor docs ID``."""
    from ..model import doc_id

    if not finding.docs:
        return ""
    if re.match(r"https?://", finding.docs):
        return (f'<a href="{_e(finding.docs)}" target="_blank" rel="noopener noreferrer">'
                f"learn more about {_e(finding.kind)}</a>")
    did = doc_id(finding.docs)
    if not did:
        return f'<span class="dm-note">learn more: {_e(finding.docs)}</span>'
    return (f'<span class="dm-doc-link" role="link" tabindex="0" data-dllmagic-doc="{_e(did)}" '
            f'title="Opens the page in a tab; in a terminal: dlldoctor docs {_e(did)}">learn more</span>'
            f'<span class="dm-doc-cli"> (<code>dlldoctor docs {_e(did)}</code>)</span>')


def _headline_html(report: Report) -> str:
    sev = severity(report)
    top = report.top
    if top is not None:
        text = top.summary or top.cause
        extra = f" · confidence {top.confidence:.0%}"
    else:
        text = f"{report.target} imports fine." if report.ok else f"{report.target}: no diagnosis."
        extra = ""
    it = report.interpreter
    where = f" · Python {it.version} ({it.environment_kind})" if it is not None else ""
    learn = _learn_more(top) if top is not None else ""
    return (f'<div class="dm-head"><span class="dm-badge {sev}">{sev}</span>{_e(text)}</div>'
            f'<div class="dm-sub">import {_e(report.target)}{_e(where)}{_e(extra)}'
            + (f" · {learn}" if learn else "") + "</div>")


# -- the view -------------------------------------------------------------------------------------------
class _FixRow:
    """The widgets of one fix and what its buttons do."""

    def __init__(self, view: "ReportView", n: int, finding: Finding, fix: Fix) -> None:
        import ipywidgets as W

        self.view, self.n, self.fix = view, n, fix
        self.run: Optional[Any] = None
        self._log_lock = threading.Lock()
        self._log_dirty = False
        self._nonce: Optional[str] = None
        meta = [f"risk: {fix.risk}"]
        if fix.restart and fix.kind != "kernel-switch":     # a switch starts a new kernel anyway
            meta.append("needs a kernel restart afterwards")
        head = (f'<div class="dm-fixtitle">Fix {n}: {_e(fix.title)}</div>'
                f'<div class="dm-note">{_e(" · ".join(meta))}</div>'
                + (f'<pre class="dm-code">{_e(fix.cell)}</pre>' if fix.cell else ""))
        self.head = view.fixed_html(head)

        def button(label: str, tip: str, style: str = "", visible: bool = True) -> Any:
            b = W.Button(description=label, tooltip=tip, button_style=style,
                         layout=W.Layout(width="auto", display=None if visible else "none"))
            b.add_class("dm-btn-" + re.sub(r"[^a-z]+", "-", label.lower()).strip("-"))
            return b

        self._button = button
        self.refused: Optional[str] = None
        if fix.runnable:
            from .. import _runner

            self.refused = _runner.refusal(view.report, fix.id)
        # "Run it" is made afresh for each confirmation the kernel issues (see on_run); until then none exists.
        self.confirm_yes: Optional[Any] = None
        # Each widget is a comm the kernel opens, and most reports never show most of a row: the parts hidden
        # at first (buttons only a front-end bridge can serve, the run confirmation, the restart question,
        # the run's progress and log, the copy box, the status line) are built the first time they are
        # asked for, and put in their place in the row.
        self._slots: Dict[str, List[Any]] = {
            "buttons": ["insert", "copy", "run_btn", "switch", "restart"],
            "box": [self.head, "buttons", "confirm", "restart_confirm", "run_box", "status", "copy_area"],
        }
        if fix.runnable and self.refused:
            self._slots["box"].insert(2, view.fixed_html(f'<div class="dm-note">Not offered as a one-click run: '
                                                f"{_e(self.refused)}</div>"))
        self._built: Dict[str, Any] = {}
        if (fix.cell or "").strip():
            self._part("copy")
        if fix.runnable and self.refused is None:
            self._part("run_btn")
        self._part("buttons")
        self.box = W.VBox(self._children("box"))
        self.box.add_class("dm-fix")
        self.box.add_class(f"dm-fix-{n}")

    # parts built on first use ---------------------------------------------------------------------------
    def _children(self, container: str) -> Tuple[Any, ...]:
        return tuple(self._built[w] if isinstance(w, str) else w for w in self._slots[container]
                     if not isinstance(w, str) or w in self._built)

    def _part(self, name: str) -> Any:
        """The part ``name`` (built, and put in its place in the row, the first time it is asked for)."""
        part = self._built.get(name)
        if part is None:
            part = self._built[name] = getattr(self, "_build_" + name)()
            for container, slots in self._slots.items():
                holder = getattr(self, "box", None) if container == "box" else self._built.get(container)
                if name in slots and holder is not None:
                    holder.children = self._children(container)
        return part

    def _build_buttons(self) -> Any:
        import ipywidgets as W

        return W.HBox(self._children("buttons"))

    def _build_insert(self) -> Any:
        b = self._button("Insert cell below", "Put this fix in a new cell below this report's cell", visible=False)
        b.on_click(lambda _b: self.on_insert())
        return b

    def _build_copy(self) -> Any:
        b = self._button("Copy", "Copy the fix's cell source", visible=bool((self.fix.cell or "").strip()))
        b.on_click(lambda _b: self.on_copy())
        return b

    def _build_run_btn(self) -> Any:
        b = self._button("Run", "Run this fix with the kernel's own interpreter", "warning",
                         visible=self.fix.runnable and self.refused is None)
        b.on_click(lambda _b: self.on_run())
        return b

    def _build_switch(self) -> Any:
        b = self._button("Switch kernel", "Ask the front end to switch this notebook's kernel", visible=False)
        b.on_click(lambda _b: self.on_switch())
        return b

    def _build_restart(self) -> Any:
        b = self._button("Restart kernel", "Ask the front end to restart the kernel", visible=False)
        b.on_click(lambda _b: self.on_restart())
        return b

    def _build_status(self) -> Any:
        import ipywidgets as W

        return W.HTML("")

    def _build_confirm(self) -> Any:
        import ipywidgets as W

        self._confirm_text = W.HTML("")
        self._confirm_no = self._button("Don't run", "Close without running")
        self._confirm_no.on_click(lambda _b: self.on_dont_run())
        self._confirm_buttons = W.HBox([self._confirm_no])
        return W.VBox([self._confirm_text, self._confirm_buttons], layout=W.Layout(display="none"))

    def _build_restart_confirm(self) -> Any:
        import ipywidgets as W

        self._restart_text = W.HTML("")
        self._restart_yes = self._button("Restart", "Restart the kernel now", "danger")
        self._restart_no = self._button("Keep running", "Do not restart")
        self._restart_yes.on_click(lambda _b: self.on_restart_confirmed())
        self._restart_no.on_click(lambda _b: self._show(self.restart_confirm, False))
        return W.VBox([self._restart_text, W.HBox([self._restart_yes, self._restart_no])],
                      layout=W.Layout(display="none"))

    def _build_run_box(self) -> Any:
        import ipywidgets as W

        self._progress = W.HTML("")
        self._log = W.HTML("")
        self._cancel = self._button("Cancel", "Kill the running command and everything it started", "danger",
                                    visible=False)
        self._cancel.on_click(lambda _b: self.on_cancel())
        return W.VBox([W.HBox([self._progress, self._cancel]), self._log], layout=W.Layout(display="none"))

    def _build_copy_area(self) -> Any:
        import ipywidgets as W

        return W.Textarea(value=self.fix.cell, layout=W.Layout(width="100%", display="none"))

    insert = property(lambda self: self._part("insert"))
    copy = property(lambda self: self._part("copy"))
    run_btn = property(lambda self: self._part("run_btn"))
    switch = property(lambda self: self._part("switch"))
    restart = property(lambda self: self._part("restart"))
    buttons = property(lambda self: self._part("buttons"))
    status = property(lambda self: self._part("status"))
    confirm = property(lambda self: self._part("confirm"))
    confirm_text = property(lambda self: (self._part("confirm"), self._confirm_text)[1])
    confirm_no = property(lambda self: (self._part("confirm"), self._confirm_no)[1])
    confirm_buttons = property(lambda self: (self._part("confirm"), self._confirm_buttons)[1])
    restart_confirm = property(lambda self: self._part("restart_confirm"))
    restart_text = property(lambda self: (self._part("restart_confirm"), self._restart_text)[1])
    restart_yes = property(lambda self: (self._part("restart_confirm"), self._restart_yes)[1])
    restart_no = property(lambda self: (self._part("restart_confirm"), self._restart_no)[1])
    run_box = property(lambda self: self._part("run_box"))
    progress = property(lambda self: (self._part("run_box"), self._progress)[1])
    log = property(lambda self: (self._part("run_box"), self._log)[1])
    cancel = property(lambda self: (self._part("run_box"), self._cancel)[1])
    copy_area = property(lambda self: self._part("copy_area"))

    # helpers --------------------------------------------------------------------------------------------
    def loose(self) -> List[Any]:
        """Widgets of this row not always in the view's tree (shown or hidden on demand)."""
        loose = [self.confirm_yes] + [self._built.get(name) for name in ("confirm", "restart_confirm")]
        if "confirm" in self._built:
            loose.append(self._confirm_no)
        return [w for w in loose if w is not None]

    @staticmethod
    def _show(widget: Any, visible: bool) -> None:
        widget.layout.display = None if visible else "none"

    def say(self, html_text: str) -> None:
        self.status.value = html_text

    def bridge_ready(self) -> None:
        if self.fix.cell and not is_comment_only(self.fix.cell):
            self._show(self.insert, True)
        if kernel_name(self.fix):
            self._show(self.switch, True)
        if self.fix.kind == "restart":
            self._show(self.restart, True)

    # button actions --------------------------------------------------------------------------------------
    def on_insert(self) -> None:
        if not self.fix.cell:
            return
        self.view.request("insert", self, source=self.fix.cell)
        self.say('<span class="dm-note">Inserting…</span>')

    def on_copy(self) -> None:
        if not (self.fix.cell or "").strip():
            self.say('<span class="dm-note">This fix has no cell to copy.</span>')
            return
        self.copy_area.value = self.fix.cell
        if self.view.bridge:
            self.view.request("copy", self, text=self.fix.cell)
            self.say('<span class="dm-note">Copying…</span>')
            return
        self._copy_fallback()

    def _copy_fallback(self) -> None:
        self._show(self.copy_area, True)
        hint = ""
        module = self.view.report.target
        if module and _DOTTED.fullmatch(module):
            hint = f" Or run <code>%dlldoctor {_e(module)} --fix {self.n}</code> to place it in the next cell."
        self.say(f'<span class="dm-note">Select the text below and copy it (Ctrl+C / ⌘C).{hint}</span>')

    def on_run(self) -> None:
        """First step of the handshake: the kernel records a one-time confirmation for this fix, shows the
        exact argv and a "Run it" button made for this confirmation alone."""
        from .. import _runner

        if self.run is not None and not self.run.done:
            return
        if not self.view.alive:
            self.say('<span class="dm-bad">This report was closed; run the cell again.</span>')
            return
        self._drop_confirmation()
        try:
            nonce = _runner.request_confirmation(self.view.report, self.fix.id)
        except _runner.RunRefused as exc:
            self.say(f'<span class="dm-bad">Not run: {_e(exc)}</span>')
            return
        argv = " ".join(shlex.quote(a) for a in (self.fix.argv or ()))
        self.confirm_text.value = (
            '<div class="dm-note">This runs exactly this command in a subprocess, with the kernel\'s '
            f'interpreter:</div><pre class="dm-code">{_e(argv)}</pre>')
        yes = self._button("Run it", "Run exactly this command", "danger")
        yes.on_click(lambda b, nonce=nonce: self.on_confirm(nonce, b))
        self._nonce, self.confirm_yes = nonce, yes
        self.confirm_buttons.children = (yes, self.confirm_no)
        self._show(self.confirm, True)

    def _drop_confirmation(self) -> None:
        """Withdraw the confirmation not used and close its "Run it" button (a later click reaches nothing)."""
        from .. import _runner

        _runner.withdraw_confirmation(self._nonce)
        self._nonce = None
        if self.confirm_yes is not None:
            self.confirm_buttons.children = (self.confirm_no,)
            self.confirm_yes.close()
            self.confirm_yes = None
        self._show(self.confirm, False)

    def on_dont_run(self) -> None:
        self._drop_confirmation()

    def on_confirm(self, nonce: Optional[str] = None, button: Any = None) -> None:
        """Second step: only the "Run it" button of the confirmation the kernel issued last starts the run,
        once; ``_runner.start`` checks and consumes the nonce itself."""
        from .. import _runner

        if button is not None and button is not self.confirm_yes:
            return                              # an old "Run it" (closed, or replaced by a newer one)
        if nonce is None or nonce != self._nonce:
            nonce = None
        self._nonce = None                      # consumed (or withdrawn) either way
        if self.confirm_yes is not None:
            self.confirm_buttons.children = (self.confirm_no,)
            self.confirm_yes.close()
            self.confirm_yes = None
        self._show(self.confirm, False)
        if not self.view.alive:
            _runner.withdraw_confirmation(nonce)
            self.say('<span class="dm-bad">This report was closed; run the cell again.</span>')
            return
        # What a run shows is built here, on the kernel's thread, before the run's threads can reach it.
        for name in ("run_box", "status") + (("restart",) if self.fix.restart else ()):
            self._part(name)
        try:
            self.run = _runner.start(self.view.report, self.fix.id, confirmation=nonce,
                                     on_output=self._on_output, on_state=self._on_state)
        except _runner.RunRefused as exc:
            self.say(f'<span class="dm-bad">Not run: {_e(exc)}</span>')
            return
        self.log.value = ""
        self._show(self.run_box, True)
        self._show(self.cancel, True)
        self.run_btn.disabled = True
        self.say("")
        threading.Thread(target=self._refresh_loop, name="dllmagic-refresh", daemon=True).start()

    def on_cancel(self) -> None:
        if self.run is not None and not self.run.done:
            self.progress.value = '<span class="dm-note">Cancelling…</span>'
            self.run.cancel()

    def on_switch(self) -> None:
        name = kernel_name(self.fix)
        if name:
            self.view.request("switch-kernel", self, kernel=name)

    def on_restart(self) -> None:
        """Ask first, as JupyterLab's own Restart does."""
        self.restart_text.value = ('<div class="dm-note dm-restart-question">Restart the kernel? All variables '
                                   "will be lost; this report stays as it is, with its buttons off.</div>")
        self._show(self.restart_confirm, True)

    def on_restart_confirmed(self) -> None:
        self._show(self.restart_confirm, False)
        self.view.request("restart", self)

    # run callbacks (background thread) -------------------------------------------------------------------
    def _on_output(self, _line: str) -> None:
        with self._log_lock:
            self._log_dirty = True

    def _on_state(self, run: Any) -> None:
        self._push()

    def _refresh_loop(self) -> None:
        run = self.run
        while run is not None and not run.done:
            time.sleep(REFRESH_S)
            self._push()
        self._push()

    def _push(self) -> None:
        run = self.run
        if run is None:
            return
        with self._log_lock:
            dirty, self._log_dirty = self._log_dirty, False
            if dirty or run.done:
                tail = "\n".join(run.lines)[-LOG_TAIL_CHARS:]
                # column-reverse keeps the newest lines in view while the log grows.
                self.log.value = f'<div class="dm-logwrap"><pre class="dm-log">{_e(tail)}</pre></div>'
            state = run.state
            secs = f"{run.elapsed:.1f} s"
            if state in ("running", "verifying", "pending"):
                spinner = "◐◓◑◒"[int(run.elapsed / REFRESH_S) % 4]
                what = "running" if state != "verifying" else f"verifying: import {run.module} in a fresh Python"
                self.progress.value = (f'<span class="dm-note dm-progress">{spinner} {_e(what)} · {secs} · '
                                       f"{len(run.lines)} lines</span>")
                return
            self._show(self.cancel, False)
            self.run_btn.disabled = False
            if state == "succeeded":
                self.progress.value = f'<span class="dm-ok dm-run-succeeded">✓ Succeeded in {secs}</span>'
                ver = run.verification
                if ver is not None and ver.ok:
                    msg = (f'<span class="dm-ok dm-verified">✓ Verified: import {_e(ver.module)} works in a '
                           f"fresh Python ({_e(ver.detail)}).</span>")
                elif ver is not None:
                    msg = (f'<span class="dm-bad dm-verify-failed">✗ import {_e(ver.module)} still fails in a '
                           f"fresh Python: {_e(ver.detail)}</span>")
                else:
                    msg = ""
                if self.fix.restart:
                    msg += ('<div class="dm-note">Restart the kernel so that this notebook picks up the '
                            "change.</div>")
                    if self.view.bridge:
                        self._show(self.restart, True)
                self.say(msg)
            elif state == "cancelled":
                self.progress.value = f'<span class="dm-bad dm-run-cancelled">■ Cancelled after {secs}</span>'
            else:
                code = f"exit status {run.returncode}" if run.returncode is not None else (run.error or "error")
                self.progress.value = (f'<span class="dm-bad dm-run-failed">✗ Failed ({_e(code)}) after '
                                       f"{secs}</span>")


class ReportView:
    """The widget tree for one report. ``root`` is the ipywidgets VBox to display."""

    def __init__(self, report: Report, shell: Any = None,
                 comm_factory: Optional[Callable[..., Any]] = None, *, compact: bool = False) -> None:
        import ipywidgets as W

        self.report = report
        self.compact = compact
        self.cell_key: Optional[str] = None
        self.shell = shell
        self.bridge = False
        self.bridge_app: Optional[str] = None
        self.alive = True
        self._requests: Dict[int, _FixRow] = {}
        self._next_request = 1

        sev = severity(report)
        self._fixed_look: Optional[Tuple[Any, Any]] = None
        head = self.fixed_html(_css() + _headline_html(report) + _also_found_html(report))
        fixes = numbered_fixes(report)
        if compact:
            # --auto compact: the headline and the top finding's fixes; %dlldoctor shows everything.
            top = report.top
            fixes = [item for item in fixes if item[1] is top]
            children: List[Any] = [head, self.fixed_html(
                '<div class="dm-note dm-compact">Compact report (<code>%dlldoctor --auto compact</code>); '
                f"<code>%dlldoctor {_e(_module_of(report) or '')}</code> shows the evidence.</div>")]
        else:
            sections = _sections(report)
            acc = W.Accordion(children=[self.fixed_html(body) for _, body in sections],
                              titles=tuple(title for title, _ in sections), selected_index=None)
            children = [head, acc]
        self.rows = [_FixRow(self, n, finding, fix) for n, finding, fix in fixes]
        if self.rows:
            children.append(self.fixed_html('<div class="dm-fixtitle">Fixes</div>'))
            children += [row.box for row in self.rows]
        self.root = W.VBox(children)
        self.root.add_class("dllmagic-report")
        self.root.add_class(f"dllmagic-sev-{sev}")
        # The bridge finds this report's cell by this id in the notebook's outputs, and a click on a report
        # it does not know (an earlier kernel's) is stopped there with a note.
        self.root.add_class(f"dllmagic-m-{self.root.model_id}")
        self.comm = self._open_comm(comm_factory)

    def fixed_html(self, value: str) -> Any:
        """An HTML widget whose look never changes: the view's fixed pieces share one layout and one style
        (ipywidgets allows it), as each of those is a widget, and so a comm, of its own."""
        import ipywidgets as W

        if self._fixed_look is None:  # the first one's own (its style class is not exported by every 8.x)
            first = W.HTML(value)
            self._fixed_look = (first.layout, first.style)
            return first
        layout, style = self._fixed_look
        return W.HTML(value, layout=layout, style=style)

    # the bridge -------------------------------------------------------------------------------------------
    def _open_comm(self, factory: Optional[Callable[..., Any]]) -> Any:
        if factory is None:
            try:
                from comm import create_comm as factory
            except ImportError:  # pragma: no cover - ipywidgets 8 depends on comm
                return None
        comm = factory(target_name=BRIDGE_TARGET,
                       data={"op": "hello", "protocol": PROTOCOL, "model_id": self.root.model_id})
        comm.on_msg(self._on_comm_msg)
        return comm

    def _on_comm_msg(self, msg: Dict[str, Any]) -> None:
        data = (msg.get("content") or {}).get("data") or {}
        self.on_bridge_message(data)

    def on_bridge_message(self, data: Dict[str, Any]) -> None:
        """Handle one message from the front-end bridge (public for tests)."""
        op = data.get("op")
        if op == "ping":
            # A reloaded page found this comm through comm_info and asks which report it speaks for.
            if self.comm is not None and self.alive:
                self.comm.send({"op": "hello", "protocol": PROTOCOL, "model_id": self.root.model_id})
        elif op == "ready":
            self.bridge = True
            self.bridge_app = str(data.get("app") or "")
            for row in self.rows:
                row.bridge_ready()
        elif op == "result":
            row = self._requests.pop(data.get("request"), None)  # type: ignore[arg-type]
            if row is None:
                return
            ok = bool(data.get("ok"))
            text = _e(data.get("message") or ("done" if ok else "failed"))
            if ok:
                row.say(f'<span class="dm-ok dm-bridge-ok">{text}</span>')
            else:
                row.say(f'<span class="dm-bad dm-bridge-failed">{text}</span>')
                if data.get("action") == "copy":
                    row._copy_fallback()

    def request(self, op: str, row: _FixRow, **payload: Any) -> None:
        """Ask the front end to do ``op`` for ``row`` (insert, copy, restart, switch-kernel)."""
        if not self.bridge or self.comm is None:
            row.say('<span class="dm-bad">This front end has no dllmagic bridge; use Copy.</span>')
            return
        rid = self._next_request
        self._next_request += 1
        self._requests[rid] = row
        self.comm.send({"op": op, "request": rid, "fix": row.fix.id, **payload})

    def close(self) -> None:
        """Close every widget of the view (layouts and styles too) and the comm; later clicks do nothing.

        A run in progress keeps running to its end (its Cancel button is gone with the view; the runner's
        slot frees itself when it ends), but no confirmation the view issued can be used any more.
        """
        from .. import _runner

        if not self.alive:
            return
        self.alive = False
        for row in self.rows:
            _runner.withdraw_confirmation(row._nonce)
            row._nonce = None
        if self.comm is not None:
            try:
                self.comm.close()
            except Exception:  # noqa: BLE001 - closing a dead comm is fine
                pass
        for widget in _widget_tree(self.root, extra=[w for row in self.rows for w in row.loose()]):
            try:
                widget.close()
            except Exception:  # noqa: BLE001
                pass

    # display -----------------------------------------------------------------------------------------------
    def mimebundle(self, fallbacks: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        bundle = dict(_render_fallbacks(self.report) if fallbacks is None else fallbacks)
        bundle[WIDGET_MIME] = {"version_major": 2, "version_minor": 0, "model_id": self.root.model_id}
        return bundle

    def _repr_mimebundle_(self, **_kwargs: Any) -> Dict[str, Any]:
        return self.mimebundle()


def _widget_tree(root: Any, extra: Sequence[Any] = ()) -> List[Any]:
    """Every widget reachable from ``root`` through children, layout and style traits (each once)."""
    import ipywidgets as W

    seen: Dict[int, Any] = {}
    todo = [root, *extra]
    while todo:
        w = todo.pop()
        if not isinstance(w, W.Widget) or id(w) in seen:
            continue
        seen[id(w)] = w
        for name in ("children", "layout", "style"):
            value = getattr(w, name, None)
            if isinstance(value, (list, tuple)):
                todo.extend(value)
            elif value is not None:
                todo.append(value)
    return list(seen.values())


def cell_key(shell: Any) -> Optional[str]:
    """The id of the notebook cell being run (JupyterLab and Notebook 7 send it), or None."""
    try:
        meta = (getattr(shell, "parent_header", None) or {}).get("metadata") or {}
    except Exception:  # noqa: BLE001
        return None
    cid = meta.get("cellId") if isinstance(meta, dict) else None
    return cid if isinstance(cid, str) and cid else None


#: Views made in this kernel, newest last; kept so their callbacks stay alive. A view is closed when a new
#: report of the same cell supersedes it, when more than _MAX_VIEWS are open, and on %unload_ext.
_VIEWS: List[ReportView] = []
_MAX_VIEWS = 20


def display_bundle(report: Report, shell: Any = None, *, compact: bool = False,
                   fallbacks: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Build a view for ``report`` and return the mimebundle to ``display(bundle, raw=True)``.

    The bundle carries text/plain and text/html (the full report) beside the widget; ``fallbacks``, when
    the caller has rendered them already, are used as they are.
    """
    key = cell_key(shell)
    if key is not None:
        for old in [v for v in _VIEWS if v.cell_key == key]:
            old.close()
            _VIEWS.remove(old)
    view = ReportView(report, shell=shell, compact=compact)
    view.cell_key = key
    _VIEWS.append(view)
    while len(_VIEWS) > _MAX_VIEWS:
        _VIEWS.pop(0).close()
    return view.mimebundle(fallbacks)


def close_all() -> None:
    """Close every view this kernel made (``%unload_ext dllmagic``)."""
    while _VIEWS:
        _VIEWS.pop().close()
