"""The ipywidgets view, driven through the same ``click()`` the browser's click message reaches.

Widgets are made outside a kernel (ipywidgets then uses comm's dummy comm); the bridge comm is a recorder
passed in as ``comm_factory``. Runs go through the real runner with the stand-in pip of test_runner.
"""
from __future__ import annotations

import html
import os
import subprocess
import sys
import time

import pytest

pytest.importorskip("ipywidgets")

from dllmagic import _runner  # noqa: E402
from dllmagic.model import Evidence, Failure, Finding, Fix, Interpreter, Report  # noqa: E402
from dllmagic.report import widget  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_runner import fake_pip  # noqa: E402,F401 - the fixture

XSS = '<img src=x onerror="window.__pwned=1">'


class RecorderComm:
    def __init__(self, **kwargs):
        self.opened = kwargs
        self.sent = []
        self.handler = None
        self.closed = False

    def on_msg(self, handler):
        self.handler = handler

    def send(self, data):
        self.sent.append(data)

    def close(self):
        self.closed = True

    def reply(self, data):
        self.handler({"content": {"comm_id": "x", "data": data}})


def interp():
    return Interpreter(executable=sys.executable, real_executable=sys.executable, version="3.11.7",
                       implementation="CPython", architecture="x86_64", bits=64, platform="linux",
                       prefix=sys.prefix, base_prefix=sys.base_prefix, environment_kind="venv")


def report(module="dm_fixed_mod", *, runnable=True, extra=()):
    pip = Fix(id="pip-1", kind="pip", title=f"Install {module}", cell=f"%pip install {module}",
              argv=(sys.executable, "-m", "pip", "install", "dm-fixed-mod"), restart=True, runnable=runnable)
    note = Fix(id="instr-1", kind="instruction", title="Read the docs", cell="# see the docs", argv=None)
    finding = Finding(kind="module-not-found", cause="not-installed",
                      summary=f"No module named '{module}': not installed.", confidence=0.9,
                      evidence=(Evidence("kernel interpreter", sys.executable, "sys.executable"),
                                Evidence("folders searched (sys.path)", f"1: /x/{module}", "sys.path"),
                                Evidence("needed library", "libfoo.so.1: not found", "/x/_ext.so"),
                                Evidence("installed distribution", f"{module} 1.0", "/x/dist-info")),
                      fixes=(pip, note, *extra), docs="https://example.org/kinds/module-not-found.md")
    return Report(target=module, ok=False, interpreter=interp(), findings=(finding,),
                  failure=Failure(kind="module-not-found", exc_type="ModuleNotFoundError",
                                  message=f"No module named '{module}'", module=module))


def make_view(rep=None):
    comms = []

    def factory(**kwargs):
        comms.append(RecorderComm(**kwargs))
        return comms[-1]

    view = widget.ReportView(rep or report(), comm_factory=factory)
    return view, comms[0]


def visible(w):
    return w.layout.display != "none"


def all_html(view):
    """The HTML of every HTML widget (a Textarea's value is plain text, never parsed as HTML)."""
    import ipywidgets

    out = []

    def walk(w):
        if isinstance(w, ipywidgets.HTML):
            out.append(w.value)
        for child in getattr(w, "children", ()):
            walk(child)
    walk(view.root)
    return "\n".join(out)


# -- pure helpers ---------------------------------------------------------------------------------------------
def test_fix_cell_numbers_fixes_across_findings():
    rep = report()
    assert widget.fix_cell(rep, 1) == "%pip install dm_fixed_mod"
    assert widget.fix_cell(rep, 2) == "# see the docs"
    with pytest.raises(ValueError, match="fixes 1 to 2"):
        widget.fix_cell(rep, 3)
    with pytest.raises(ValueError, match="no fixes"):
        widget.fix_cell(Report(target="x", ok=True, interpreter=None), 1)


def test_kernel_name_of_a_switch_fix_comes_from_its_data_never_its_text():
    fix = Fix(id="k", kind="kernel-switch", title="Use the py311 kernel", cell="# kernel: evil", kernel="py311-ml")
    assert widget.kernel_name(fix) == "py311-ml"
    assert widget.kernel_name(Fix(id="k", kind="kernel-switch", title="t", cell="# kernel: a")) is None
    assert widget.kernel_name(Fix(id="k", kind="kernel-switch", title="t", cell="", kernel="a;b")) is None
    assert widget.kernel_name(Fix(id="k", kind="pip", title="t", cell="", kernel="py311")) is None


def test_display_bundle_carries_fallbacks_and_the_widget():
    bundle = widget.display_bundle(report())
    assert set(bundle) >= {"text/plain", "text/html", widget.WIDGET_MIME}
    assert "dm_fixed_mod" in bundle["text/plain"]
    model_id = bundle[widget.WIDGET_MIME]["model_id"]
    view = widget._VIEWS[-1]
    assert view.root.model_id == model_id
    assert f"dllmagic-m-{model_id}" in view.root._dom_classes


def test_importing_the_widget_module_does_not_import_ipywidgets():
    code = "import sys, dllmagic, dllmagic.report.widget; assert 'ipywidgets' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the view ---------------------------------------------------------------------------------------------------
def test_headline_sections_and_buttons():
    view, comm = make_view()
    text = all_html(view)
    assert "No module named &#x27;dm_fixed_mod&#x27;: not installed." in text
    assert ">error</span>" in text
    assert 'href="https://example.org/kinds/module-not-found.md"' in text
    titles = view.root.children[1].titles
    assert titles[0] == "Kernel interpreter and expected environment"
    assert "How the module resolved" in titles and "Dependency tree" in titles
    assert "Distributions and versions" in titles
    # Only the words that say "missing" are marked, never the whole value.
    assert 'libfoo.so.1: <span class="dm-missing">not found</span>' in text
    assert comm.opened["target_name"] == "dllmagic.bridge"
    assert comm.opened["data"] == {"op": "hello", "protocol": 1, "model_id": view.root.model_id}
    pip_row, note_row = view.rows
    assert visible(pip_row.run_btn) and not visible(note_row.run_btn)
    # Before the bridge answers, nothing that needs it shows.
    assert not visible(pip_row.insert) and visible(pip_row.copy)


def test_no_run_button_for_unvalidated_names():
    view, _ = make_view(report(runnable=False))
    assert not visible(view.rows[0].run_btn)


def test_no_run_button_when_the_environment_refuses(monkeypatch):
    monkeypatch.setattr(_runner, "is_externally_managed", lambda *a, **k: True)
    view, _ = make_view()
    assert not visible(view.rows[0].run_btn)
    assert "PEP 668" in all_html(view)


def test_everything_is_escaped():
    rep = report(module=XSS)
    view, _ = make_view(rep)
    text = all_html(view)
    assert "<img" not in text
    assert html.escape(XSS, quote=True) in text
    assert "javascript:" not in text
    # A link that is not http(s) is shown as text, not as a link.
    evil = Finding(kind="unknown", cause="x", summary="s", confidence=0.1, docs="javascript:alert(1)")
    view2, _ = make_view(Report(target="x", ok=False, interpreter=None, findings=(evil,)))
    assert "href" not in all_html(view2)


def test_bridge_ready_then_insert_sends_only_the_fix_cell():
    view, comm = make_view()
    row = view.rows[0]
    row.insert.click()              # no bridge yet: nothing is sent
    assert comm.sent == []
    comm.reply({"op": "ready", "protocol": 1, "app": "JupyterLab"})
    assert view.bridge and visible(row.insert)
    row.insert.click()
    assert comm.sent == [{"op": "insert", "request": 1, "fix": "pip-1", "source": "%pip install dm_fixed_mod"}]
    comm.reply({"op": "result", "request": 1, "action": "insert", "ok": True, "message": "Inserted below"})
    assert "Inserted below" in row.status.value
    comm.reply({"op": "result", "request": 99, "ok": True})      # unknown request: ignored


def test_a_reloaded_page_pings_and_the_report_says_hello_again():
    view, comm = make_view()
    comm.reply({"op": "ping", "protocol": 1})
    assert comm.sent == [{"op": "hello", "protocol": 1, "model_id": view.root.model_id}]


def test_copy_without_bridge_shows_the_source_and_the_magic():
    view, comm = make_view()
    row = view.rows[0]
    row.copy.click()
    assert comm.sent == []
    assert visible(row.copy_area) and row.copy_area.value == "%pip install dm_fixed_mod"
    assert "%dlldoctor dm_fixed_mod --fix 1" in row.status.value


def test_hidden_parts_of_a_fix_are_built_when_first_needed_in_their_place():
    view, _comm = make_view()
    row = view.rows[0]
    shown = list(row.box.children)
    assert shown == [row.head, row.buttons]     # no confirmation, restart question, log, status or copy box yet
    assert list(row.buttons.children) == [row.copy, row.run_btn]    # the bridge's buttons wait for the bridge
    before = len(widget._widget_tree(view.root))
    row.copy.click()                                        # no bridge: the copy box below the status
    assert list(row.box.children) == shown + [row.status, row.copy_area] and visible(row.copy_area)
    row.run_btn.click()                                     # the confirmation right under the buttons
    assert list(row.box.children) == [row.head, row.buttons, row.confirm, row.status, row.copy_area]
    assert not visible(row.insert)                          # asked for: built in its place, still hidden
    assert list(row.buttons.children) == [row.insert, row.copy, row.run_btn]
    assert visible(row.confirm) and len(widget._widget_tree(view.root)) > before
    row.confirm_no.click()
    assert not visible(row.confirm)
    # the fixed HTML pieces (headline, sections, fix titles) share one layout and one style
    head = view.root.children[0]
    assert row.head.layout is head.layout and row.head.style is head.style
    assert row.status.layout is not head.layout                # a part whose look changes has its own


def test_copy_with_bridge_falls_back_when_the_clipboard_fails():
    view, comm = make_view()
    row = view.rows[0]
    comm.reply({"op": "ready", "protocol": 1})
    row.copy.click()
    assert comm.sent[-1]["op"] == "copy" and comm.sent[-1]["text"] == "%pip install dm_fixed_mod"
    comm.reply({"op": "result", "request": 1, "action": "copy", "ok": False, "message": "denied"})
    assert visible(row.copy_area)


def test_switch_and_restart_buttons_go_through_the_bridge():
    switch = Fix(id="ks-1", kind="kernel-switch", title="Use the ml kernel", cell="# kernel: other",
                 kernel="ml-py311", restart=True)
    restart = Fix(id="rs-1", kind="restart", title="Restart the kernel", cell="")
    view, comm = make_view(report(extra=(switch, restart)))
    srow, rrow = view.rows[2], view.rows[3]
    assert not visible(srow.switch) and not visible(rrow.restart)
    comm.reply({"op": "ready", "protocol": 1})
    assert visible(srow.switch) and visible(rrow.restart)
    assert not visible(rrow.insert)            # nothing to insert for a restart
    assert not visible(srow.insert)            # a comment-only cell is not worth inserting
    assert not visible(rrow.copy)              # nothing to copy
    assert "needs a kernel restart" not in srow.head.value
    srow.switch.click()
    rrow.restart.click()                       # asks first, as JupyterLab does
    assert [m["op"] for m in comm.sent] == ["switch-kernel"]
    assert visible(rrow.restart_confirm) and "All variables will be lost" in rrow.restart_text.value
    rrow.restart_no.click()
    assert not visible(rrow.restart_confirm) and len(comm.sent) == 1
    rrow.restart.click()
    rrow.restart_yes.click()
    assert [m["op"] for m in comm.sent] == ["switch-kernel", "restart"]
    assert comm.sent[0]["kernel"] == "ml-py311"


def wait_done(row, timeout=60):
    deadline = time.monotonic() + timeout
    while (row.run is None or not row.run.done or visible(row.cancel)) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)


def test_run_asks_first_then_streams_succeeds_verifies_and_offers_restart(fake_pip):
    view, comm = make_view()
    comm.reply({"op": "ready", "protocol": 1})
    row = view.rows[0]
    row.run_btn.click()
    assert visible(row.confirm) and row.run is None
    assert f"{sys.executable} -m pip install dm-fixed-mod" in row.confirm_text.value
    yes = row.confirm_yes
    yes.click()
    assert not visible(row.confirm) and visible(row.run_box)
    wait_done(row)
    assert row.run.state == "succeeded"
    assert "Successfully installed dm-fixed-mod" in row.log.value
    assert "dm-run-succeeded" in row.progress.value
    assert "dm-verified" in row.status.value and "import dm_fixed_mod works" in row.status.value
    assert visible(row.restart) and not visible(row.cancel)
    # The same "Run it" again runs nothing: its confirmation was used.
    first = row.run
    yes.click()
    assert row.run is first


def test_a_run_it_click_the_kernel_never_asked_for_runs_nothing(fake_pip):
    view, _ = make_view()
    row = view.rows[0]
    assert row.confirm_yes is None             # no "Run it" exists before Run
    row.on_confirm("0" * 32)                   # a forged confirmation
    assert row.run is None and "Not confirmed" in row.status.value
    row.run_btn.click()
    stale = row.confirm_yes
    row.confirm_no.click()                     # withdrawn: the button is closed, its nonce forgotten
    assert row.confirm_yes is None and stale.comm is None
    row.on_confirm(None, stale)
    assert row.run is None


def test_dont_run_closes_the_confirmation():
    view, _ = make_view()
    row = view.rows[0]
    row.run_btn.click()
    row.confirm_no.click()
    assert not visible(row.confirm) and row.run is None


def test_cancel_button_stops_a_hanging_run(fake_pip, monkeypatch):
    monkeypatch.setenv("FAKE_PIP_MODE", "hang")
    view, _ = make_view()
    row = view.rows[0]
    row.run_btn.click()
    row.confirm_yes.click()
    deadline = time.monotonic() + 30
    while "downloading" not in row.log.value and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "downloading" in row.log.value and visible(row.cancel)
    row.cancel.click()
    wait_done(row, 20)
    assert row.run.state == "cancelled"
    assert "dm-run-cancelled" in row.progress.value
    assert not visible(row.restart)


def test_closed_view_runs_nothing(fake_pip):
    view, comm = make_view()
    row = view.rows[0]
    row.run_btn.click()
    yes = row.confirm_yes
    view.close()
    assert comm.closed
    row.on_confirm(row._nonce, yes)
    assert row.run is None
    row.run_btn.click()
    assert row.run is None and "closed" in row.status.value


def test_other_findings_are_in_view_and_compact_is_compact():
    extra = Finding(kind="no-compatible-release", cause="release-available",
                    summary="dm_fixed_mod 2.0 has a wheel for this Python.", confidence=0.6)
    base = report()
    rep = Report(target=base.target, ok=False, interpreter=base.interpreter,
                 findings=(*base.findings, extra), failure=base.failure)
    view, _ = make_view(rep)
    head = view.root.children[0].value
    assert "Also found" in head and "has a wheel for this Python" in head
    assert "Other findings" not in view.root.children[1].titles
    compact = widget.ReportView(rep, comm_factory=lambda **k: RecorderComm(**k), compact=True)
    assert "Compact report" in compact.root.children[1].value
    assert [row.fix.id for row in compact.rows] == ["pip-1", "instr-1"]


def test_static_html_numbers_fixes_like_the_widget_and_aligns_tables_left():
    from dllmagic.report.html import render_html

    second = Finding(kind="unknown", cause="x", summary="s", confidence=0.2,
                     fixes=(Fix(id="instr-2", kind="instruction", title="Another", cell="# x"),))
    base = report()
    rep = Report(target=base.target, ok=False, interpreter=base.interpreter,
                 findings=(*base.findings, second), failure=base.failure)
    out = render_html(rep)
    assert [n for n, *_ in widget.numbered_fixes(rep)] == [1, 2, 3]
    assert "Fix 1 (pip)" in out and "Fix 2 (instruction)" in out and "Fix 3 (instruction)" in out
    assert "Fix 1.1" not in out and "Fix 2.1" not in out
    assert "text-align:left" in out
    assert "var(--jp-error-color1" in out


def test_text_view_numbers_fixes_like_the_widget():
    from dllmagic.report.text import render_text

    second = Finding(kind="unknown", cause="x", summary="s", confidence=0.2,
                     fixes=(Fix(id="instr-2", kind="instruction", title="Another", cell="# x"),))
    base = report()
    rep = Report(target=base.target, ok=False, interpreter=base.interpreter,
                 findings=(*base.findings, second), failure=base.failure)
    out = render_text(rep)
    numbers = [int(line.split()[1]) for line in out.splitlines() if line.strip().startswith("Fix ")]
    assert numbers == [n for n, *_ in widget.numbered_fixes(rep)] == [1, 2, 3]
    assert "Fix 1.1" not in out and "Fix 2.1" not in out


def test_terminal_view_prints_every_shell_line_of_a_fix_and_python_m_pip_for_a_magic():
    from dllmagic.report.text import render_text

    two_step = Fix(id="reg-1", kind="register-kernel", title="Register", restart=False, runnable=False,
                   cell='!"/p/python" -m pip install ipykernel\n!"/p/python" -m ipykernel install --user --name x',
                   argv=("/p/python", "-m", "ipykernel", "install", "--user", "--name", "x"))
    magic = Fix(id="pip-9", kind="pip", title="Install", cell="%pip install tabulate", argv=None, restart=True)
    base = report()
    rep = Report(target=base.target, ok=False, interpreter=base.interpreter, failure=base.failure,
                 findings=(Finding(kind="module-not-found", cause="wrong-kernel", summary="s", confidence=0.9,
                                   fixes=(two_step, magic)),))
    lines = [line.strip() for line in render_text(rep, shell=True).splitlines()]
    assert '$ "/p/python" -m pip install ipykernel' in lines          # the step argv alone would miss
    assert '$ "/p/python" -m ipykernel install --user --name x' in lines
    assert "$ python -m pip install tabulate" in lines and not any(line.startswith("%") for line in lines)
