"""Time the full report of one failing extension module inside a real kernel (jupyter_client).

    python bench/bench_kernel_report.py SITE_PACKAGES [--repeat N] [--json FILE] [--figure FILE.svg]

The failing extension is Pillow's ``_imaging`` with its bundled libraries gone: the ``PIL`` package of
SITE_PACKAGES is copied into a temporary folder without ``pillow.libs``, so ``from PIL import Image``
fails with "cannot open shared object file" as it does for a user whose wheel lost its libraries.

Each repetition starts a fresh kernel (the interpreter running this script, with ipykernel), runs
``%load_ext dllmagic`` and then the failing import, and records:

- ``hook``: the time the post_run_cell hook took, as the hook measures it itself (``hook_timings``:
  diagnosis, from the hook's first line, the failure parser's import and the native engine included,
  then display);
- ``hook_cpu``: the kernel process's CPU time over the same span (``hook_timings["cpu"]``), steadier than
  the wall time when other jobs share the machine, and ``hook_thread_cpu``, the hook's own thread's
  (``hook_timings["thread_cpu"]``: the kernel's other threads, the one that sends messages included, left out);
- ``hook_shown``: from the hook's first line to the report's first display (``hook_timings["shown"]``):
  a kernel's first report is shown as text and HTML before ipywidgets is imported, and its widget then
  replaces it (``update_display_data``); a later report is one display (then it equals ``hook``);
  ``hook_shown_cpu``: the kernel process's CPU time over the same span (``hook_timings["shown_cpu"]``);
- ``error_to_report``: from the kernel's ``error`` message to its report's first display (``display_data``
  with the dllmagic report, or the first view of it under a ``dllmagic-report-`` display id), both stamped
  by the kernel (the message headers' ``date``): what the user waits for once the traceback is shown;
  ``error_to_full_report``: to the message that carries the whole bundle (the widget and the report's JSON);
- ``before_hook``: from the ``error`` message to the hook's first line (the hook's ``started_at``, the
  same wall clock): IPython's own work between the two, which dllmagic does not run (IPython 9 formats
  the traceback a second time, for its history, before post_run_cell);
- ``cell``: the whole failed cell as the client sees it (execute request to idle), the import included.

The kernel is fresh each time, so the first failure's figures are a first (cold) report: the report's
modules not yet imported, no binary read before. Then ``from PIL import _webp`` fails the same way in
the same kernel (another library missing): the ``warm_`` figures, what each later failure costs.

This checkout's dllmagic is byte-compiled first (``compileall``), as ``pip install`` leaves it: a
machine with PYTHONDONTWRITEBYTECODE set would otherwise compile every module at every import.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

MIME = "application/vnd.dllmagic.report+json"


def broken_pillow(site: Path) -> Path:
    """A folder with ``PIL`` from ``site`` but not ``pillow.libs``: _imaging cannot load."""
    src = site / "PIL"
    if not src.is_dir():
        raise SystemExit(f"no PIL package under {site}")
    dest = Path(tempfile.mkdtemp(prefix="dllmagic-bench-kernel-"))
    shutil.copytree(src, dest / "PIL", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def kernelspec(python: str) -> Path:
    """A kernelspec folder (on JUPYTER_PATH) that starts ``python -m ipykernel_launcher``."""
    data = Path(tempfile.mkdtemp(prefix="dllmagic-bench-kspec-"))
    folder = data / "kernels" / "dllmagic-bench"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps({
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "dllmagic bench", "language": "python"}))
    return data


def _date(msg) -> float:
    d = msg["header"]["date"]
    if isinstance(d, str):
        d = datetime.fromisoformat(d.replace("Z", "+00:00"))
    return d.timestamp()


def run_cell(kc, code: str, timeout: float = 120.0):
    """(messages of the cell on iopub, client seconds from request to idle)."""
    t0 = time.perf_counter()
    msg_id = kc.execute(code, store_history=True, allow_stdin=False)
    msgs = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(code)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
        msgs.append(msg)
    return msgs, time.perf_counter() - t0


def failed_cell(kc, code: str) -> dict:
    msgs, cell = run_cell(kc, code)
    error = next((m for m in msgs if m["msg_type"] == "error"), None)
    # The report on screen: its first display. A kernel's first report is shown as text and HTML under a
    # "dllmagic-report-" display id, and its full bundle (the widget, the JSON) comes as an update of it.
    report = next((m for m in msgs if m["msg_type"] == "display_data" and (
        MIME in m["content"]["data"]
        or m["content"].get("transient", {}).get("display_id", "").startswith("dllmagic-report-"))), None)
    full = next((m for m in msgs if m["msg_type"] in ("display_data", "update_display_data")
                 and MIME in m["content"]["data"]), None)
    if error is None or report is None or full is None:
        raise SystemExit(f"expected a failed import and a report, got {[m['msg_type'] for m in msgs]}")
    out, _ = run_cell(kc, "from dllmagic._kernel import extension_for as _e; import json as _j;"
                          "print(_j.dumps(_e(get_ipython()).hook_timings))")
    hook = json.loads("".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream"))
    out = {"hook_s": hook["diagnose"] + hook["display"], "hook_diagnose_s": hook["diagnose"],
           "hook_display_s": hook["display"], "error_to_report_s": _date(report) - _date(error),
           "error_to_full_report_s": _date(full) - _date(error), "cell_s": cell}
    # until the report was shown (its first display), as the hook measures it; the whole hook before
    out["hook_shown_s"] = hook.get("shown", out["hook_s"])
    if "started_at" in hook:  # (a dllmagic older than this script has no start time)
        out["before_hook_s"] = hook["started_at"] - _date(error)
    if "cpu" in hook:  # the kernel process's CPU time over the hook (older versions do not record it)
        out["hook_cpu_s"] = hook["cpu"]
    if "thread_cpu" in hook:  # the CPU time of the hook's own thread
        out["hook_thread_cpu_s"] = hook["thread_cpu"]
    if "shown_cpu" in hook:  # the kernel process's CPU time until the report's first display
        out["hook_shown_cpu_s"] = hook["shown_cpu"]
    return out


def one_report(folder: Path) -> dict:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="dllmagic-bench")
    try:
        run_cell(kc, f"import sys; sys.path.insert(0, {str(folder)!r})")
        run_cell(kc, "%load_ext dllmagic")
        first = failed_cell(kc, "from PIL import Image")
        # a second extension of the same package, missing its own library: the report's modules are
        # imported by now (what every later failure in the session costs)
        second = failed_cell(kc, "from PIL import _webp")
        return dict(first, **{f"warm_{k}": v for k, v in second.items()})
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def figure(runs: list, path: Path, goal: float = 0.050) -> None:
    """A small SVG: each run's hook time (diagnosis + display) and error-to-report time, with the goal."""
    w, h, left, top, bottom = 640, 290, 70, 30, 60
    keys = (("hook_s", "#4a7ab5"), ("error_to_report_s", "#e39b3c"), ("warm_hook_s", "#9cc0e6"),
            ("warm_error_to_report_s", "#f3cf9c"))
    top_ms = max(goal * 1000 * 1.3, max(r[k] for r in runs for k, _c in keys) * 1000 * 1.15)
    plot_h = h - top - bottom
    bar_w = (w - left - 20) / max(1, len(runs)) / 5

    def y(ms):
        return top + plot_h * (1 - ms / top_ms)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
             f'<text x="{left}" y="16" font-size="13">Failing extension: full report in a fresh kernel (ms)</text>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="#333"/>',
             f'<line x1="{left}" y1="{h - bottom}" x2="{w - 10}" y2="{h - bottom}" stroke="#333"/>']
    for tick in range(0, int(top_ms) + 1, max(5, int(top_ms / 5) // 5 * 5 or 5)):
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick}</text>')
        parts.append(f'<line x1="{left}" y1="{y(tick):.1f}" x2="{w - 10}" y2="{y(tick):.1f}" stroke="#eee"/>')
    gy = y(goal * 1000)
    parts.append(f'<line x1="{left}" y1="{gy:.1f}" x2="{w - 10}" y2="{gy:.1f}" stroke="#c00" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{w - 12}" y="{gy - 4:.1f}" text-anchor="end" fill="#c00">goal {goal * 1000:.0f} ms</text>')
    for i, r in enumerate(runs):
        x0 = left + 10 + i * 5 * bar_w
        for j, (key, colour) in enumerate(keys):
            ms = r[key] * 1000
            parts.append(f'<rect x="{x0 + j * bar_w:.1f}" y="{y(ms):.1f}" width="{bar_w * 0.9:.1f}" '
                         f'height="{h - bottom - y(ms):.1f}" fill="{colour}"/>')
        parts.append(f'<text x="{x0 + 2 * bar_w:.1f}" y="{h - bottom + 14}" text-anchor="middle">run {i + 1}</text>')
    legend = (("first failure: hook (diagnosis + display, timed by the hook)", "error message to report message"),
              ("second failure, same kernel: hook", "error message to report message"))
    for row, (a, b) in enumerate(legend):
        yy = h - 34 + row * 16
        parts.append(f'<rect x="{left}" y="{yy}" width="10" height="10" fill="{keys[2 * row][1]}"/>'
                     f'<text x="{left + 14}" y="{yy + 9}">{a}</text>')
        parts.append(f'<rect x="{left + 330}" y="{yy}" width="10" height="10" fill="{keys[2 * row + 1][1]}"/>'
                     f'<text x="{left + 344}" y="{yy + 9}">{b}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("site", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", metavar="FILE", type=Path)
    ap.add_argument("--figure", metavar="FILE", type=Path)
    args = ap.parse_args(argv)
    import compileall

    import dllmagic

    compileall.compile_dir(os.path.dirname(dllmagic.__file__), quiet=1)
    folder = broken_pillow(args.site.resolve())
    os.environ["JUPYTER_PATH"] = str(kernelspec(sys.executable)) + os.pathsep + os.environ.get("JUPYTER_PATH", "")
    runs = []
    for i in range(args.repeat):
        r = one_report(folder)
        runs.append(r)
        for label, p in (("first", ""), ("second", "warm_")):
            before = (f", IPython before the hook {r[p + 'before_hook_s'] * 1000:.1f} ms"
                      if p + "before_hook_s" in r else "")
            cpu = f", hook CPU {r[p + 'hook_cpu_s'] * 1000:.1f} ms" if p + "hook_cpu_s" in r else ""
            if p + "hook_thread_cpu_s" in r:
                cpu += f" (its thread {r[p + 'hook_thread_cpu_s'] * 1000:.1f})"
            if p + "hook_shown_cpu_s" in r:
                cpu += f", CPU until shown {r[p + 'hook_shown_cpu_s'] * 1000:.1f} ms"
            print(f"run {i + 1}, {label} failure: hook {r[p + 'hook_s'] * 1000:.1f} ms (diagnosis "
                  f"{r[p + 'hook_diagnose_s'] * 1000:.1f}, display {r[p + 'hook_display_s'] * 1000:.1f}; report shown at "
                  f"{r[p + 'hook_shown_s'] * 1000:.1f}){cpu}, "
                  f"error to report {r[p + 'error_to_report_s'] * 1000:.1f} ms{before}, "
                  f"cell {r[p + 'cell_s'] * 1000:.0f} ms")
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print("medians: " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in med.items()))
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "medians": med, "load_average": os.getloadavg()}, indent=1))
    if args.figure:
        figure(runs, args.figure)
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
