"""The interactive report in a real browser: JupyterLab 4 and Notebook 7, a real kernel, real clicks.

Each test writes a notebook, opens it, runs ``%load_ext dllmagic`` and a failing import, and acts on the
widget the way a person would. The failing imports are real: a tiny local wheel installed into the
kernel's venv whose module was then deleted (a half-removed install), which dllmagic diagnoses with a
validated, runnable "Reinstall" fix.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCREENSHOTS = HERE / "screenshots"

pytestmark = pytest.mark.timeout(180)

APP = "window.jupyterapp"
PANEL = f"{APP}.shell.currentWidget"
XSS_NAME = "<img src=x onerror=window.__pwned=1>"


# -- helpers -----------------------------------------------------------------------------------------------
def open_notebook(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(
        f"() => {APP} && {PANEL} && {PANEL}.sessionContext && {PANEL}.sessionContext.session"
        f" && {PANEL}.sessionContext.session.kernel && {PANEL}.sessionContext.session.kernel.status === 'idle'"
        f" && {PANEL}.content.widgets.length > 0", timeout=90_000)
    assert page.evaluate(f"() => {APP}.hasPlugin('dllmagic:bridge')"), "the dllmagic bridge is not loaded"


def run_all_and_wait_for_report(page):
    page.evaluate(f"() => {APP}.commands.execute('notebook:run-all-cells')")
    # The live widget (the saved-report renderer beside it stays hidden while the widget draws).
    report = page.locator(".dllmagic-report:visible").first
    report.wait_for(state="visible", timeout=90_000)
    return report


def sources(page) -> list:
    return page.evaluate(
        f"() => {{ const m = {PANEL}.content.model; const out = [];"
        " for (let i = 0; i < m.cells.length; i++) out.push(m.cells.get(i).sharedModel.getSource());"
        " return out; }")


def report_cell_index(page) -> int:
    return page.evaluate(
        f"() => {{ const m = {PANEL}.content.model;"
        " for (let i = 0; i < m.cells.length; i++) { const c = m.cells.get(i); if (c.type !== 'code') continue;"
        "   for (let j = 0; j < c.outputs.length; j++)"
        "     if (c.outputs.get(j).data['application/vnd.jupyter.widget-view+json']) return i; }"
        " return -1; }")


def kernel_exec(page, code: str) -> str:
    """Run code in the notebook's kernel (not in a cell) and return its stdout."""
    return page.evaluate(
        f"async (code) => {{ const k = {PANEL}.sessionContext.session.kernel; let out = '';"
        " const f = k.requestExecute({code, store_history: false});"
        " f.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') out += msg.content.text; };"
        " await f.done; return out; }", code)


def ours(errors: list) -> list:
    """Uncaught page errors from our code (Notebook 7 itself logs a few unrelated ones at start-up)."""
    return [e for e in errors if "dllmagic" in e.lower() or "dm-" in e]


def button(report, fix: int, cls: str):
    return report.locator(f".dm-fix-{fix} button.{cls}")


def shot(page, name: str, locator=None) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    (locator or page).screenshot(path=str(path))
    return path


def check_insert(page, report, screenshot: str) -> None:
    """With the report shown in cell 1 and cell 2 active, Insert puts the fix exactly at cell 2."""
    idx = report_cell_index(page)
    assert idx == 1
    before = sources(page)
    # Another cell is active: the one after the report's cell.
    page.evaluate(f"() => {{ {PANEL}.content.activeCellIndex = 2; }}")
    insert = button(report, 1, "dm-btn-insert-cell-below")
    insert.wait_for(state="visible", timeout=30_000)      # shown once the bridge said "ready"
    expected = '%pip install --force-reinstall --no-deps "dmdemo_ok==1.0"'
    assert expected in report.locator(".dm-fix-1 pre.dm-code").inner_text()
    assert page.evaluate(f"() => {PANEL}.content.activeCellIndex") == 2
    # A click event alone (no mousedown) leaves the active cell where it is, as a click from a toolbar would.
    insert.dispatch_event("click")
    page.wait_for_function(f"() => {PANEL}.content.model.cells.length === {len(before) + 1}", timeout=30_000)
    after = sources(page)
    assert after[idx + 1] == expected, after
    assert after[:idx + 1] == before[:idx + 1] and after[idx + 2:] == before[idx + 1:]
    report.locator(".dm-bridge-ok").wait_for(timeout=30_000)   # the kernel's answer; 30 s as the waits above (a loaded machine)
    shot(page, screenshot)


# -- tests -------------------------------------------------------------------------------------------------
def test_lab_headline_and_insert_cell_below_the_reports_cell(server, page):
    server.broken_install("dmdemo-ok", "dmdemo_ok")
    nb = server.notebook("insert.ipynb", ["%load_ext dllmagic", "import dmdemo_ok", "y = 2"])
    open_notebook(page, server.lab_url(nb))
    report = run_all_and_wait_for_report(page)
    head = report.locator(".dm-head")
    assert "is recorded as installed, but its module 'dmdemo_ok' is not on disk" in head.inner_text()
    assert head.locator(".dm-badge").inner_text().lower() == "error"
    assert button(report, 1, "dm-btn-run").is_visible()
    # The evidence sections are there, collapsed.
    assert report.get_by_text("Kernel interpreter and expected environment").count() == 1
    check_insert(page, report, "lab-insert.png")
    # After a page reload the kernel's report is still live: the bridge finds its comm again (comm_info).
    count = len(sources(page))
    page.evaluate(f"() => {APP}.commands.execute('docmanager:save')")
    page.wait_for_function(f"() => !{PANEL}.context.model.dirty", timeout=15_000)
    page.reload()
    open_notebook(page, page.url)
    report = page.locator(".dllmagic-report:not(.dllmagic-static):visible").first   # the live widget again
    report.wait_for(state="visible", timeout=60_000)
    button(report, 1, "dm-btn-insert-cell-below").click()
    page.wait_for_function(f"() => {PANEL}.content.model.cells.length === {count + 1}", timeout=30_000)
    assert sources(page)[2] == sources(page)[3]
    assert report.locator(".dllmagic-stale").count() == 0
    assert not ours(page.errors), page.errors


def test_lab_run_streams_succeeds_verifies_then_restart_kernel(server, page):
    server.broken_install("dmdemo-ok", "dmdemo_ok")
    nb = server.notebook("run.ipynb", ["%load_ext dllmagic\nmarker = 'before restart'", "import dmdemo_ok"])
    open_notebook(page, server.lab_url(nb))
    report = run_all_and_wait_for_report(page)
    button(report, 1, "dm-btn-run").click()
    confirm = report.locator(".dm-fix-1 .dm-code").nth(1)
    confirm.wait_for()
    assert "-m pip install --force-reinstall --no-deps dmdemo_ok==1.0" in confirm.inner_text()
    assert str(server.venv_python) in confirm.inner_text()
    button(report, 1, "dm-btn-run-it").click()
    report.locator(".dm-run-succeeded").wait_for(timeout=120_000)
    log = report.locator(".dm-fix-1 pre.dm-log").inner_text()
    assert "Successfully installed dmdemo" in log
    verified = report.locator(".dm-verified")
    verified.wait_for()
    assert "import dmdemo_ok works in a fresh Python" in verified.inner_text()
    assert kernel_exec(page, "print(marker)").strip() == "before restart"
    cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    shot(page, "lab-run-succeeded.png")
    docs = REPO / "docs" / "img"
    docs.mkdir(parents=True, exist_ok=True)
    cell.screenshot(path=str(docs / "widget.png"))

    # Restart kernel, through the bridge; it says what it does and the kernel really restarts.
    page.evaluate(f"() => {{ window.__statuses = []; {PANEL}.sessionContext.statusChanged.connect("
                  "(_, s) => window.__statuses.push(s)); }")
    restart = button(report, 1, "dm-btn-restart-kernel")
    restart.wait_for(state="visible")
    restart.click()
    # It asks first, as JupyterLab's own Restart does; "Keep running" keeps the kernel.
    question = report.locator(".dm-fix-1 .dm-restart-question")
    question.wait_for(timeout=10_000)
    assert "All variables will be lost" in question.inner_text()
    button(report, 1, "dm-btn-keep-running").click()
    page.wait_for_timeout(1000)
    assert "restarting" not in page.evaluate("() => window.__statuses")
    assert kernel_exec(page, "print(marker)").strip() == "before restart"
    restart.click()
    button(report, 1, "dm-btn-restart").click()
    page.wait_for_function(f"() => window.__statuses.includes('restarting') && "
                           f"{PANEL}.sessionContext.session.kernel.status === 'idle'", timeout=60_000)
    assert kernel_exec(page, "print('marker' in dir())").strip() == "False"
    shot(page, "lab-restarted.png")

    # The report says it belongs to the kernel before the restart; no "disconnected" icon covers it.
    stale = report.locator(".dllmagic-stale")
    stale.wait_for(timeout=10_000)
    assert "restarted" in stale.inner_text()
    assert page.evaluate("""(r) => Array.from(r.querySelectorAll('*')).concat([r]).every(
        n => getComputedStyle(n, '::before').content === 'none' || !n.classList.contains(
        'jupyter-widgets-disconnected'))""", report.element_handle())
    # The report is now an earlier kernel's: its buttons do nothing and it says so.
    run_btn = button(report, 1, "dm-btn-run")
    if run_btn.count() and run_btn.is_visible():
        run_btn.click()
        page.wait_for_timeout(1000)
        assert not report.locator(".dm-fix-1 .dm-code").nth(1).is_visible()
        shot(page, "lab-stale-report.png")
    assert not ours(page.errors), page.errors


def test_lab_cancel_stops_a_long_run(server, page):
    server.broken_install("dmdemo-slow", "dmdemo_slow")
    setup = ("import os\n"
             "for var in ('PIP_NO_INDEX', 'PIP_FIND_LINKS'):\n"
             "    os.environ.pop(var, None)\n"
             "os.environ['PIP_CONFIG_FILE'] = os.devnull  # no machine pip.conf (no-index, mirrors)\n"
             f"os.environ['PIP_INDEX_URL'] = '{server.hang.url}'\n"
             "os.environ['PIP_DEFAULT_TIMEOUT'] = '120'")
    nb = server.notebook("cancel.ipynb", ["%load_ext dllmagic", setup, "import dmdemo_slow"])
    open_notebook(page, server.lab_url(nb))
    report = run_all_and_wait_for_report(page)
    connections = len(server.hang.conns)
    button(report, 1, "dm-btn-run").click()
    button(report, 1, "dm-btn-run-it").click()
    progress = report.locator(".dm-progress")
    progress.wait_for(timeout=30_000)
    deadline = time.monotonic() + 30
    while len(server.hang.conns) == connections and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(server.hang.conns) > connections, "pip never reached the (hanging) index"
    time.sleep(1.0)
    assert "running" in progress.inner_text()
    shot(page, "lab-long-run.png")
    t0 = time.monotonic()
    button(report, 1, "dm-btn-cancel").click()
    report.locator(".dm-run-cancelled").wait_for(timeout=20_000)
    assert time.monotonic() - t0 < 15
    assert not button(report, 1, "dm-btn-cancel").is_visible()
    assert not report.locator(".dm-verified").count()
    shot(page, "lab-cancelled.png")
    assert not ours(page.errors), page.errors


def test_lab_markup_in_a_module_name_is_text_and_runs_nothing(server, page):
    nb = server.notebook("xss.ipynb", ["%load_ext dllmagic",
                                       f"import importlib\nimportlib.import_module({XSS_NAME!r})"])
    open_notebook(page, server.lab_url(nb))
    report = run_all_and_wait_for_report(page)
    page.wait_for_timeout(1000)
    assert page.evaluate("() => window.__pwned") is None
    assert report.locator("img").count() == 0
    assert page.locator(".jp-OutputArea img[src='x']").count() == 0
    # The name as the report shows it (the parser cuts it at the first dot), as literal text.
    assert "<img src=x onerror=window" in report.inner_text()
    assert report.locator("button.dm-btn-run:visible").count() == 0
    shot(page, "lab-markup-as-text.png")
    assert not ours(page.errors), page.errors


def test_notebook7_insert_cell_below_the_reports_cell(server, page):
    server.broken_install("dmdemo-ok", "dmdemo_ok")
    nb = server.notebook("nb7.ipynb", ["%load_ext dllmagic", "import dmdemo_ok", "y = 2"])
    open_notebook(page, server.notebook7_url(nb))
    report = run_all_and_wait_for_report(page)
    assert "is recorded as installed" in report.locator(".dm-head").inner_text()
    check_insert(page, report, "notebook7-insert.png")
    assert not ours(page.errors), page.errors


def test_lab_switch_kernel_to_the_environment_that_has_it_and_copy(server, page):
    """dmdemo_other is installed only in another environment that has a kernelspec: the report offers
    'Switch kernel', and the click really changes the notebook's kernel. Copy puts the cell source on the
    clipboard."""
    nb = server.notebook("switch.ipynb", ["%load_ext dllmagic", "import dmdemo_other"])
    open_notebook(page, server.lab_url(nb))
    report = run_all_and_wait_for_report(page)
    assert "dmdemo_other" in report.locator(".dm-head").inner_text()
    switch = report.locator("button.dm-btn-switch-kernel").first
    switch.wait_for(state="visible", timeout=30_000)
    fix_box = report.locator(".dm-fix").filter(has=page.locator("button.dm-btn-switch-kernel")).first
    copy = fix_box.locator("button.dm-btn-copy")
    copy.click()
    page.wait_for_timeout(500)
    clip = page.evaluate("() => navigator.clipboard.readText()")
    assert "dllmagic-ui-other" in clip, clip
    switch.click()
    page.wait_for_function(
        f"() => {PANEL}.sessionContext.session && {PANEL}.sessionContext.session.kernel"
        f" && {PANEL}.sessionContext.session.kernel.name === 'dllmagic-ui-other'"
        f" && {PANEL}.sessionContext.session.kernel.status === 'idle'", timeout=60_000)
    assert "dmdemo_other" in kernel_exec(page, "import dmdemo_other; print(dmdemo_other.__name__)")
    # "Switching to …" ends: the report says the notebook now runs the other kernel.
    page.wait_for_function("(r) => { const n = r.querySelector('.dllmagic-stale');"
                           " return n && n.textContent.includes('Switched this notebook'); }",
                           arg=report.element_handle(), timeout=20_000)
    assert "Switching to" not in report.inner_text()
    shot(page, "lab-switched-kernel.png")
    assert not ours(page.errors), page.errors
