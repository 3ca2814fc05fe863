"""What dllmagic costs a kernel, and how fast a report on a missing module comes back.

Measured side by side in one run, reported as ratios:

1. ``%load_ext dllmagic``: modules it adds to the kernel and the time the cell takes, against a cell that
   does nothing, in the same real kernel.
2. A successful cell: the round trip of ``x = 1`` in a kernel with the extension against one without it.
3. A report for ``import <missing>`` in an environment with many distributions (default 2,000, written as
   real ``*.dist-info`` folders), against ``pip check`` and ``pip list`` over the same folders.

Usage: python bench/bench_foundation.py [--dists 2000] [--cells 300] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_site(folder: Path, count: int) -> Path:
    site = folder / "site-packages"
    site.mkdir(parents=True)
    for i in range(count):
        name = f"benchdist{i:05d}"
        info = site / f"{name}-1.{i % 10}.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.{i % 10}.0\n"
                                       f"Requires-Dist: benchdist{(i + 1) % count:05d}>=1\n")
        (info / "top_level.txt").write_text(f"{name}\n")
        (info / "RECORD").write_text(f"{name}/__init__.py,,\n{info.name}/METADATA,,\n")
        (info / "INSTALLER").write_text("pip\n")
        pkg = site / name
        pkg.mkdir()
        (pkg / "__init__.py").write_text("")
    return site


def time_report(site: Path, repeat: int = 5) -> dict:
    code = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(site)!r})\n"
        "t0 = time.perf_counter()\n"
        "from dllmagic.api import diagnose_exception\n"
        "t1 = time.perf_counter()\n"
        "try:\n    import no_such_module_bench\nexcept ImportError as e:\n    exc = e\n"
        "t2 = time.perf_counter()\n"
        "r = diagnose_exception(exc)\n"
        "t3 = time.perf_counter()\n"
        "assert r.findings[0].cause == 'not-installed', r.findings[0]\n"
        "r2 = diagnose_exception(exc)\n"
        "t4 = time.perf_counter()\n"
        "print(t1 - t0, t3 - t2, t4 - t3)\n"
    )
    cold, warm, imports = [], [], []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        imp, first, second = map(float, out.split())
        imports.append(imp)
        cold.append(first)
        warm.append(second)
    return {"import_s": statistics.median(imports), "first_report_s": statistics.median(cold),
            "second_report_s": statistics.median(warm)}


def time_cmd(argv, env=None, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def kernel_costs(cells: int) -> dict:
    from jupyter_client.manager import start_new_kernel

    def roundtrips(client, n):
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            client.execute_interactive("x = 1", store_history=True, timeout=30)
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples)

    def cell(client, code):
        t0 = time.perf_counter()
        client.execute_interactive(code, timeout=60)
        return time.perf_counter() - t0

    results = {}
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        roundtrips(kc, 20)  # warm up
        results["plain_cell_s"] = roundtrips(kc, cells)
        results["noop_cell_s"] = cell(kc, "pass")
        kc.execute_interactive("import sys; _before = set(sys.modules)", timeout=30)
        results["load_ext_cell_s"] = cell(kc, "%load_ext dllmagic")
        out = []
        kc.execute_interactive("print(len(set(sys.modules) - _before))", timeout=30,
                               output_hook=lambda m: out.append(m["content"].get("text", "")))
        results["modules_added_by_load_ext"] = int("".join(out).strip() or -1)
        roundtrips(kc, 20)
        results["extension_cell_s"] = roundtrips(kc, cells)
        def failing(name, label):
            t0 = time.perf_counter()
            kc.execute_interactive(f"import {name}", timeout=60, output_hook=lambda m: None)
            results[f"{label}_cell_s"] = time.perf_counter() - t0
            out = []
            kc.execute_interactive(
                "from dllmagic._kernel import extension_for; import json; e = extension_for(get_ipython());"
                "print(json.dumps(e.hook_timings))",
                timeout=30, output_hook=lambda m: out.append(m["content"].get("text", "")))
            timings = json.loads("".join(out).strip())
            results[f"{label}_hook_diagnose_s"] = timings["diagnose"]
            results[f"{label}_hook_display_s"] = timings["display"]

        failing("no_such_module_bench_kernel", "first_failure")
        failing("another_missing_module_bench", "second_failure")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dists", type=int, default=2000)
    parser.add_argument("--cells", type=int, default=300)
    parser.add_argument("--json")
    args = parser.parse_args()
    out: dict = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    # A user's pip install writes byte code; measure with it (this sandbox sets PYTHONDONTWRITEBYTECODE).
    import compileall

    import dllmagic

    compileall.compile_dir(os.path.dirname(dllmagic.__file__), quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        site = make_site(Path(tmp), args.dists)
        out["dists"] = args.dists
        out.update(time_report(site))
        env = dict(os.environ, PYTHONPATH=str(site))
        out["pip_check_s"] = time_cmd([sys.executable, "-m", "pip", "check"], env=env)
        out["pip_list_s"] = time_cmd([sys.executable, "-m", "pip", "list"], env=env)
    out.update(kernel_costs(args.cells))
    ratios = {
        "report_vs_pip_check": out["first_report_s"] / out["pip_check_s"],
        "report_vs_pip_list": out["first_report_s"] / out["pip_list_s"],
        "cell_with_extension_vs_without": out["extension_cell_s"] / out["plain_cell_s"],
        "load_ext_vs_noop_cell": out["load_ext_cell_s"] / out["noop_cell_s"],
    }
    out["ratios"] = ratios
    print(f"environment: {args.dists} distributions; Python {out['python']}; {out['cpus']} CPUs")
    print(f"report for a missing module: first {out['first_report_s'] * 1000:.1f} ms, "
          f"again {out['second_report_s'] * 1000:.1f} ms (pipeline import {out['import_s'] * 1000:.1f} ms)")
    print(f"pip check {out['pip_check_s'] * 1000:.0f} ms, pip list {out['pip_list_s'] * 1000:.0f} ms "
          f"-> report/pip check = {ratios['report_vs_pip_check']:.3f}, report/pip list = "
          f"{ratios['report_vs_pip_list']:.3f}")
    print(f"successful cell: {out['plain_cell_s'] * 1000:.2f} ms without, {out['extension_cell_s'] * 1000:.2f} ms "
          f"with the extension -> ratio {ratios['cell_with_extension_vs_without']:.3f}")
    print(f"%load_ext dllmagic: {out['load_ext_cell_s'] * 1000:.1f} ms (a no-op cell {out['noop_cell_s'] * 1000:.1f} ms), "
          f"{out['modules_added_by_load_ext']} modules added")
    for label in ("first_failure", "second_failure"):
        print(f"hook, {label.replace('_', ' ')} in the kernel: diagnosis {out[label + '_hook_diagnose_s'] * 1000:.1f} ms"
              f" + display {out[label + '_hook_display_s'] * 1000:.1f} ms; whole failing cell "
              f"{out[label + '_cell_s'] * 1000:.0f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
