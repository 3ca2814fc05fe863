"""Which cell a report belongs to (issue 19): re-running the failed cell keeps its report (a fresh one, the old
widgets closed), the same failure in another cell gets a reminder that names the cell holding the report,
and ``--auto compact`` makes the widget compact too. Real kernel; cells carry JupyterLab's ``cellId``."""
from __future__ import annotations

import queue
import time

import pytest

pytestmark = pytest.mark.kernel

MIME = "application/vnd.dllmagic.report+json"
WIDGET = "application/vnd.jupyter.widget-view+json"


def run(kernel, code: str, cell_id: str, timeout: float = 120.0) -> list:
    """Execute as JupyterLab does (metadata.cellId); return the display_data bundles of that cell (a report's
    update of its own display applied, as the front end applies it)."""
    client = kernel.client
    msg = client.session.msg("execute_request", {"code": code, "silent": False, "store_history": True,
                                                 "user_expressions": {}, "allow_stdin": False,
                                                 "stop_on_error": True}, metadata={"cellId": cell_id})
    client.shell_channel.send(msg)
    out, ids, deadline = [], {}, time.monotonic() + timeout
    while True:
        try:
            m = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(code)
        if m["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        display_id = (m["content"].get("transient") or {}).get("display_id")
        if m["msg_type"] == "display_data":
            out.append(m["content"]["data"])
            if display_id:
                ids[display_id] = len(out) - 1
        elif m["msg_type"] == "update_display_data" and display_id in ids:
            out[ids[display_id]] = m["content"]["data"]
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            return out


def test_rerunning_the_failed_cell_keeps_its_report_and_a_reminder_names_the_right_cell(start_kernel):
    kernel = start_kernel()
    run(kernel, "%load_ext dllmagic", "load")
    run(kernel, "x = 1", "other-1")
    first = run(kernel, "import no_such_mod_cells", "cell-a")           # execution count 3
    assert [MIME in d for d in first] == [True]
    # The same cell again: its outputs were cleared by the front end, so the report comes again.
    again = run(kernel, "import no_such_mod_cells", "cell-a")           # execution count 4
    assert [MIME in d for d in again] == [True] and WIDGET in again[0]
    # Another cell: a reminder naming the cell that holds the report now ([4]), not this one.
    elsewhere = run(kernel, "import no_such_mod_cells", "cell-b")       # execution count 5
    assert len(elsewhere) == 1 and MIME not in elsewhere[0]
    text = elsewhere[0]["text/plain"]
    assert "in cell [4]" in text and "[5]" not in text, text
    # One live report for cell-a: the first one's widgets were closed when it was superseded.
    live = kernel.execute("from dllmagic.report import widget as _w\n"
                          "print(sum(v.alive for v in _w._VIEWS), len(_w._VIEWS))").stdout.split()
    assert live == ["1", "1"], live


def test_auto_compact_changes_the_widget_too(start_kernel):
    kernel = start_kernel()
    run(kernel, "%load_ext dllmagic\n%dlldoctor --auto compact", "load")
    run(kernel, "import no_such_mod_compact", "cell-c")
    state = kernel.execute("from dllmagic.report import widget as _w\nv = _w._VIEWS[-1]\n"
                           "print(v.compact, type(v.root.children[1]).__name__, len(_w._VIEWS))").stdout.split()
    assert state == ["True", "HTML", "1"], state


def test_the_first_report_is_shown_before_the_widget_then_updated_in_place(start_kernel):
    """A kernel's first report: its text and HTML views at once (no report JSON, which the lab extension would
    draw as a stopped kernel's saved report), then the full bundle under the same display id; a later report
    (ipywidgets imported by now) is one display with everything."""
    kernel = start_kernel()
    kernel.execute("%load_ext dllmagic")
    res = kernel.execute("import no_such_mod_first_view")
    shown = [o["content"] for o in res.outputs if o["msg_type"] in ("display_data", "update_display_data")]
    kinds = [o["msg_type"] for o in res.outputs if o["msg_type"] in ("display_data", "update_display_data")]
    assert kinds == ["display_data", "update_display_data"], kinds
    first, full = shown
    display_id = first["transient"]["display_id"]
    assert display_id.startswith("dllmagic-report-") and full["transient"]["display_id"] == display_id
    assert list(first["data"]) == ["text/plain", "text/html"]
    assert list(full["data"]) == ["text/plain", "text/html", MIME, WIDGET]
    assert first["data"]["text/plain"] == full["data"]["text/plain"]
    assert first["data"]["text/html"] == full["data"]["text/html"]
    assert full["data"][MIME]["target"] == "no_such_mod_first_view"
    timings = kernel.execute("from dllmagic._kernel import extension_for as _e\n"
                             "t = _e(get_ipython()).hook_timings\nprint(t['shown'] < t['diagnose'] + t['display'])")
    assert timings.stdout.split() == ["True"]
    later = kernel.execute("import no_such_mod_second_view")
    kinds = [o["msg_type"] for o in later.outputs if o["msg_type"] in ("display_data", "update_display_data")]
    assert kinds == ["display_data"], kinds
    (report,) = later.reports()
    assert report["target"] == "no_such_mod_second_view" and WIDGET in later.displays[0]
