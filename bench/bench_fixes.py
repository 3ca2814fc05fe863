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
        try:
            venv, module = build(Path(tmp))
        except BaseException as exc:  # pytest.skip inside a builder: this machine cannot build the case
            row.update(fixed=None, why=f"not built here: {exc}"[:300])
            return row
        row["build_s"] = round(time.monotonic() - t0, 1)
        t0 = time.monotonic()
        report = cases.check_case(venv, module)
        row["check_s"] = round(time.monotonic() - t0, 2)
        top = report.top
        # The first fix of the top finding that does something: a command, or a rename cell.
        fix = next((f for f in (top.fixes if top else ()) if f.runnable or f.kind == "rename"), None)
        row["top_fix"] = fix.cell.splitlines()[-1] if fix and fix.kind == "rename" else (fix.cell if fix else None)
        if fix is None:
            row.update(fixed=False, why="no runnable fix")
            return row
        t0 = time.monotonic()
        proof = prove_fix(report, fix.id)
        row["prove_s"] = round(time.monotonic() - t0, 1)
        row["proof"] = proof.status
        row["proof_detail"] = proof.detail[:200]
        row["fixed"], why = cases.apply_top_fix(venv, module, fix)
        if why:
            row["why"] = why[-300:]
        if fix.argv and cases.offline_argv(fix) != list(fix.argv):
            row["applied_as"] = "from the local wheel (PyTorch's index is not reachable here)"
    return row


def main() -> int:
    import test_real_envs as cases

    rows = []
    for name, build in cases.CASES.items():
        rows.append(run_case(name, build))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)   # each row as it is done
    built = [r for r in rows if r.get("fixed") is not None]
    fixed = sum(1 for r in built if r.get("fixed"))
    proven = [r["prove_s"] for r in built if r.get("proof") == "proven"]
    summary = {"cases": len(rows), "built": len(built), "top_fix_fixes": fixed,
               "share": round(fixed / len(built), 3) if built else 0,
               "proven": len(proven), "prove_s_mean": round(sum(proven) / max(1, len(proven)), 1), "rows": rows}
    if "--json" in sys.argv:
        print(json.dumps(summary, indent=1))
    else:
        for r in rows:
            print(f"{r['case']:36} fixed={r.get('fixed')} proof={r.get('proof')} prove={r.get('prove_s')}s "
                  f"check={r.get('check_s')}s build={r.get('build_s')}s  {r.get('top_fix')}"
                  + (f"  [{r['applied_as']}]" if r.get("applied_as") else "")
                  + (f"\n    proof: {r['proof_detail']}" if r.get("proof") != "proven" and r.get("proof_detail")
                     else "") + (f"\n    why: {r['why']}" if r.get("why") else ""))
        print(f"top fixes that fix: {fixed}/{len(built)} (of {len(rows)} cases); --prove adds "
              f"{summary['prove_s_mean']} s per proven fix (mean of {len(proven)})")
    return 0 if built and fixed == len(built) else 1


if __name__ == "__main__":
    sys.exit(main())
