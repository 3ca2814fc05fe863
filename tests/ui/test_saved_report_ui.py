"""The report people keep (issue 19), in a real browser: a saved notebook reopened after its kernel stopped
shows the report drawn from its JSON with Copy and Insert working (JupyterLab and Notebook 7); "learn more"
opens the docs page; the Run log follows its tail; the dark theme keeps the status text readable (WCAG AA,
computed from the page's styles).
"""
from __future__ import annotations

import pytest

from test_report_ui import APP, PANEL, REPO, open_notebook, ours, run_all_and_wait_for_report, shot, sources

pytestmark = pytest.mark.timeout(240)

FIX = '%pip install --force-reinstall --no-deps "dmdemo_ok==1.0"'


def save(page) -> None:
    page.evaluate(f"() => {APP}.commands.execute('docmanager:save')")
    page.wait_for_function(f"() => !{PANEL}.context.model.dirty", timeout=15_000)


def reopen_with_the_kernel_stopped(page, url: str):
    """Shut the kernel down, load the page again: the widget models are gone with the kernel."""
    page.evaluate(f"async () => {{ await {PANEL}.sessionContext.shutdown(); }}")
    page.goto(url)
    page.wait_for_function(f"() => {APP} && {PANEL} && {PANEL}.content.widgets.length > 2", timeout=90_000)
    saved = page.locator(".dllmagic-report.dllmagic-static").first
    saved.wait_for(state="visible", timeout=60_000)
    return saved


def check_saved_report(page, saved) -> None:
    assert "is recorded as installed" in saved.locator(".dm-head").inner_text()
    assert page.get_by_text("Error displaying widget").count() == 0 or not page.get_by_text(
        "Error displaying widget").first.is_visible()
    assert "kernel that made it is not running" in saved.locator(".dm-saved-note").inner_text()
    run = saved.locator(".dm-fix-1 button.dm-btn-run")
    assert run.count() == 1 and run.is_disabled()
    assert FIX in saved.locator(".dm-fix-1 pre.dm-code").inner_text()
    # Copy: the fix's cell on the clipboard, and it says so.
    saved.locator(".dm-fix-1 button.dm-btn-copy").click()
    saved.locator(".dm-fix-1 .dm-status.dm-ok").wait_for(timeout=10_000)
    assert page.evaluate("() => navigator.clipboard.readText()") == FIX
    # Insert: a new cell right below the report's cell, with the fix's source.
    before = sources(page)
    saved.locator(".dm-fix-1 button.dm-btn-insert-cell-below").click()
    page.wait_for_function(f"() => {PANEL}.content.model.cells.length === {len(before) + 1}", timeout=30_000)
    after = sources(page)
    assert after[2] == FIX and after[:2] == before[:2] and after[3:] == before[2:], after


def make_saved(server, page, name: str, url_of):
    server.broken_install("dmdemo-ok", "dmdemo_ok")
    nb = server.notebook(name, ["%load_ext dllmagic", "import dmdemo_ok", "y = 2"])
    open_notebook(page, url_of(nb))
    run_all_and_wait_for_report(page)
    save(page)
    return nb


def test_lab_saved_notebook_reopened_with_the_kernel_stopped_keeps_the_report(server, page):
    nb = make_saved(server, page, "saved-lab.ipynb", server.lab_url)
    saved = reopen_with_the_kernel_stopped(page, server.lab_url(nb))
    check_saved_report(page, saved)
    shot(page, "lab-saved-report.png", page.locator(".jp-Notebook .jp-Cell").nth(1))
    assert not ours(page.errors), page.errors


def test_notebook7_saved_notebook_reopened_with_the_kernel_stopped_keeps_the_report(server, page):
    nb = make_saved(server, page, "saved-nb7.ipynb", server.notebook7_url)
    saved = reopen_with_the_kernel_stopped(page, server.notebook7_url(nb))
    check_saved_report(page, saved)
    assert not ours(page.errors), page.errors


def test_learn_more_opens_the_docs_page_and_the_log_follows_its_tail(server, page):
    server.broken_install("dmdemo-ok", "dmdemo_ok")
    nb = server.notebook("learn.ipynb", ["%load_ext dllmagic", "import dmdemo_ok"])
    open_notebook(page, server.lab_url(nb))
    report = run_all_and_wait_for_report(page)
    link = report.locator(".dm-doc-link").first
    doc_id = link.get_attribute("data-dllmagic-doc")
    kind, _, cause = doc_id.partition("#")
    page.evaluate(f"() => {{ window.__nb = {PANEL}; }}")
    link.click()
    doc = page.locator(".dllmagic-doc").first
    doc.wait_for(state="visible", timeout=20_000)
    first_line = (REPO / "docs" / "kinds" / f"{kind}.md").read_text().splitlines()[0].lstrip("# ").split(" — ")[0]
    assert first_line in doc.locator("h1").first.inner_text()
    if cause:
        assert doc.locator("h2", has_text=cause).count() >= 1
    assert page.evaluate(f"() => {APP}.shell.currentWidget.title.label") == f"dllmagic: {kind}"
    shot(page, "lab-docs-tab.png")

    # The Run log: the kernel replaces it as lines arrive; it stays at its tail unless the user scrolled up.
    page.evaluate(f"() => {APP}.shell.activateById(window.__nb.id)")
    page.wait_for_function("() => window.__nb.isVisible")
    js_replace = """(n) => { const fix = document.querySelector('.dllmagic-report:not(.dllmagic-static) .dm-fix-1');
        let host = fix.querySelector('.dm-test-log');
        if (!host) { host = document.createElement('div'); host.className = 'dm-test-log'; fix.appendChild(host); }
        const lines = Array.from({length: n}, (_, i) => 'line ' + i).join('\\n');
        host.innerHTML = '<div class="dm-logwrap"><pre class="dm-log">' + lines + '</pre></div>'; }"""
    state = "() => { const b = document.querySelector('.dm-test-log .dm-logwrap');" \
            " return [b.scrollTop, b.scrollHeight - b.clientHeight]; }"
    for n in (20, 63, 120):
        page.evaluate(js_replace, n)
        page.wait_for_timeout(100)
        top, bottom = page.evaluate(state)
        assert bottom > 0 and abs(top - bottom) <= 2, (n, top, bottom)   # at the tail
    page.evaluate("() => { const b = document.querySelector('.dm-test-log .dm-logwrap'); b.scrollTop = 40;"
                  " b.dispatchEvent(new Event('scroll')); }")
    page.wait_for_timeout(100)
    page.evaluate(js_replace, 200)
    page.wait_for_timeout(100)
    top, bottom = page.evaluate(state)
    assert abs(top - 40) <= 2 and bottom > 100, (top, bottom)            # left where the user put it
    # Only the log box scrolls: the <pre> inside has no scrollbar of its own.
    assert page.evaluate("() => { const p = document.querySelector('.dm-test-log pre.dm-log');"
                         " return p.scrollHeight <= p.clientHeight + 1; }")
    assert not ours(page.errors), page.errors


CONTRAST = """(root) => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(',').map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (node) => { let layers = [];
    for (let n = node; n; n = n.parentElement) { const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let out = [255, 255, 255];
    for (const c of layers.reverse()) out = out.map((v, i) => c[i] * c[3] + v * (1 - c[3]));
    return out; };
  const sel = '.dm-head, .dm-sub, .dm-note, .dm-badge, .dm-missing, .dm-fixtitle, .dm-ok, .dm-bad, .dm-src,' +
              ' .dllmagic-stale, .dm-saved-note, td';
  return Array.from(root.querySelectorAll(sel)).filter(n => n.offsetParent && n.textContent.trim()).map(n => {
    const fg = parse(getComputedStyle(n).color), bg = background(n);
    const a = lum(fg) + 0.05, b = lum(bg) + 0.05;
    return {cls: n.className, text: n.textContent.trim().slice(0, 40), ratio: Math.max(a, b) / Math.min(a, b)};
  });
}"""


@pytest.mark.parametrize("theme", ["JupyterLab Dark", "JupyterLab Light"])
def test_status_text_contrast_meets_wcag_aa(server, page, theme):
    server.broken_install("dmdemo-ok", "dmdemo_ok")
    nb = server.notebook(f"theme-{theme.split()[-1].lower()}.ipynb",
                         ["%load_ext dllmagic", "%dlldoctor dm_surely_missing_mod", "import dmdemo_ok"])
    open_notebook(page, server.lab_url(nb))
    page.evaluate(f"async (t) => {{ await {APP}.commands.execute('apputils:change-theme', {{theme: t}}); }}", theme)
    page.wait_for_function("(t) => document.body.dataset.jpThemeName === t", arg=theme, timeout=30_000)
    run_all_and_wait_for_report(page)
    reports = page.locator(".dllmagic-report:visible")
    reports.nth(1).wait_for(state="visible", timeout=90_000)
    name = "widget-dark.png" if "Dark" in theme else "widget-light.png"
    docs = REPO / "docs" / "img"
    docs.mkdir(parents=True, exist_ok=True)
    reports.nth(1).screenshot(path=str(docs / name))        # the README's picture of each theme
    for i in range(reports.count()):
        report = reports.nth(i)
        report.get_by_text("Kernel interpreter and expected environment").first.click()   # open one section
        page.wait_for_timeout(300)
        rows = page.evaluate(CONTRAST, report.element_handle())
        assert len(rows) > 5, rows
        low = [r for r in rows if r["ratio"] < 4.5]
        assert not low, (theme, low)
    shot(page, f"lab-theme-{name}")
    assert not ours(page.errors), page.errors
