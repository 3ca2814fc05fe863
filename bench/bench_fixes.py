"""Share of top fixes that fix, over the real broken environments of tests/planner/test_real_envs.py, and
the time ``--prove`` adds.

For each case: build the environment (real wheels from the package index), ``check`` the import, prove the
top fix in an overlay (timed: that is what --prove adds), apply it for real, then import in a fresh
process and run ``pip check``. Usage: ``python bench/bench_fixes.py [--json]``. Needs the index.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "planner"), str(REPO / "tests" / "diagnosis")]

from dllmagic.api import check  # noqa: E402
from dllmagic.planner.prove import prove_fix  # noqa: E402


def run_case(name, build) -> dict:
    import test_real_envs as cases

    row = {"case": name}
    with tempfile.TemporaryDirectory(prefix="bench-fixes-") as tmp:
        t0 = time.monotonic()
        venv, module = build(Path(tmp))
        row["build_s"] = round(time.monotonic() - t0, 1)
        t0 = time.monotonic()
        report = check(module, python=str(venv.python))
        row["check_s"] = round(time.monotonic() - t0, 2)
        top = report.top
        fix = next((f for f in (top.fixes if top else ()) if f.runnable), None)
        row["top_fix"] = fix.cell if fix else None
        if fix is None:
            row.update(fixed=False, why="no runnable fix")
            return row
        t0 = time.monotonic()
        proof = prove_fix(report, fix.id)
        row["prove_s"] = round(time.monotonic() - t0, 1)
        row["proof"] = proof.status
        done = subprocess.run(list(fix.argv), capture_output=True, text=True)
        imported = venv.run("-c", f"import {module}")
        if fix.kind == "uv":
            checked = subprocess.run([fix.argv[0], "pip", "check", "--python", str(venv.python)],
                                     capture_output=True, text=True)
        else:
            checked = cases._pip(venv, "check")
        row["fixed"] = done.returncode == 0 and imported.returncode == 0 and checked.returncode == 0
        if not row["fixed"]:
            row["why"] = (imported.stderr or checked.stdout or done.stderr)[-300:]
    return row


def main() -> int:
    import test_real_envs as cases

    rows = [run_case(name, build) for name, build in cases.CASES.items()]
    fixed = sum(1 for r in rows if r.get("fixed"))
    summary = {"cases": len(rows), "top_fix_fixes": fixed, "share": round(fixed / len(rows), 3) if rows else 0,
               "prove_s_mean": round(sum(r.get("prove_s", 0) for r in rows) / max(1, len(rows)), 1), "rows": rows}
    if "--json" in sys.argv:
        print(json.dumps(summary, indent=1))
    else:
        for r in rows:
            print(f"{r['case']:32} fixed={r.get('fixed')} proof={r.get('proof')} prove={r.get('prove_s')}s "
                  f"check={r.get('check_s')}s build={r.get('build_s')}s  {r.get('top_fix')}")
        print(f"top fixes that fix: {fixed}/{len(rows)}; --prove adds {summary['prove_s_mean']} s per fix (mean)")
    return 0 if fixed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
