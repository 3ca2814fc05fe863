"""Accuracy of failure parsing over the error corpus, as Markdown (quoted in the README).

    python bench/corpus_accuracy.py                      # public sample + our extra cases
    python bench/corpus_accuracy.py --corpus FILE.jsonl  # any corpus in the same format
    python bench/corpus_accuracy.py --json               # the figures as JSON
    python bench/corpus_accuracy.py --splits             # tuned and held-out splits of the whole corpus
    python bench/corpus_accuracy.py --perturb            # stability of the tuned cases under paste forms

Perturbations (bench/perturbations.py): every tuned case is pasted again as people paste it (wrapped by a
terminal, quoted, fenced, with CRLF, prose around it, as IPython prints it, as a web page renders it, …);
for each transformation the report gives the share of cases whose kind, key facts and root cause stay
what the original text gives (not what the label says: the check is about stability).

Splits: every case belongs to the *held-out* split when the SHA-256 of its id, read as a number, is
divisible by 3 (one third), else to the *tuned* split.  The rule was fixed before any result was looked
at and depends on nothing else; signatures and rules are never adjusted to held-out cases.

Root cause: a case labelled with ``cause`` (the finding cause id that names what the thread's verified
fix addressed, e.g. ``missing-system-library``) counts as right when the report's top finding has that
cause.  Cases without the label are not counted for it.

For each case, ``dlldoctor explain`` (``dllmagic.api.explain``) must give the labelled kind as its top finding's kind, and
:func:`dllmagic.failure.key_facts` must give each labelled fact exactly (failing_module,
missing_library, missing_symbol, required_version, found_path; only the facts a case has are counted).
The tests (tests/test_corpus_accuracy.py) use :func:`evaluate` and hold the figures to at least 95 % on the
kind and 90 % on the facts.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Optional

REPO = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO / "tests" / "data" / "corpus"
DEFAULT_CORPORA = (CORPUS_DIR / "public.jsonl", CORPUS_DIR / "extra.jsonl", CORPUS_DIR / "threads.jsonl")
FACTS = ("failing_module", "missing_library", "missing_symbol", "required_version", "found_path")

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def read_corpus(path: Path) -> List[dict]:
    cases = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                case = json.loads(line)
                case.setdefault("_source", f"{path.name}:{number}")
                cases.append(case)
    return cases


def split_of(case_id: str) -> str:
    """'held-out' for one third of the ids (by SHA-256), 'tuned' for the rest; fixed before any result."""
    import hashlib

    return "held-out" if int(hashlib.sha256(case_id.encode("utf-8")).hexdigest(), 16) % 3 == 0 else "tuned"


def evaluate(cases: Iterable[dict]) -> dict:
    """Run the parser over ``cases``; return per-case results and the totals."""
    from dllmagic.api import explain
    from dllmagic.failure import key_facts

    results = []
    for case in cases:
        # The whole `dlldoctor explain` pipeline: the report's top finding gives the kind.
        report = explain(case["error"])
        failure = report.failure
        got_kind = report.findings[0].kind if report.findings else (failure.kind if failure else "none")
        got = key_facts(failure)
        facts = {}
        for name in FACTS:
            if name in case.get("facts", {}):
                expected = case["facts"][name]
                facts[name] = {"expected": expected, "got": got.get(name), "ok": got.get(name) == expected}
        expected_cause = case.get("cause")
        got_cause = report.findings[0].cause if report.findings else None
        results.append({
            "id": case["id"],
            "split": split_of(case["id"]),
            "expected_cause": expected_cause,
            "cause": got_cause,
            "cause_ok": (got_cause == expected_cause) if expected_cause else None,
            "platform": case.get("platform"),
            "expected_kind": case["category"],
            "kind": got_kind,
            "kind_ok": got_kind == case["category"],
            "signature": failure.signature if failure is not None else None,
            "facts": facts,
        })
    n = len(results)
    causes = [r["cause_ok"] for r in results if r["cause_ok"] is not None]
    facts_total = sum(len(r["facts"]) for r in results)
    facts_ok = sum(f["ok"] for r in results for f in r["facts"].values())
    return {
        "cases": n,
        "kind_ok": sum(r["kind_ok"] for r in results),
        "kind_accuracy": (sum(r["kind_ok"] for r in results) / n) if n else 0.0,
        "facts_total": facts_total,
        "facts_ok": facts_ok,
        "facts_accuracy": (facts_ok / facts_total) if facts_total else 1.0,
        "cause_total": len(causes),
        "cause_ok": sum(causes),
        "cause_accuracy": (sum(causes) / len(causes)) if causes else 1.0,
        "results": results,
    }


def outcome(text: str) -> dict:
    """What ``dlldoctor explain`` makes of ``text``: the top finding's kind and cause, the key facts."""
    from dllmagic.api import explain
    from dllmagic.failure import key_facts

    report = explain(text)
    failure = report.failure
    kind = report.findings[0].kind if report.findings else (failure.kind if failure else "none")
    got = key_facts(failure)
    return {"kind": kind, "cause": report.findings[0].cause if report.findings else None,
            "facts": {name: got.get(name) for name in FACTS if got.get(name) is not None}}


def perturb(cases: Iterable[dict], names: Optional[List[str]] = None) -> dict:
    """For each transformation, the share of ``cases`` whose kind, facts and cause stay the same (of the
    cases whose text it changes)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("perturbations", Path(__file__).with_name("perturbations.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cases = list(cases)
    base = {case["id"]: outcome(case["error"]) for case in cases}
    report = {}
    for name, transform in module.TRANSFORMATIONS.items():
        if names and name not in names:
            continue
        counts = Counter()
        misses = []
        changed = 0
        for case in cases:
            text = transform(case["error"])
            if text == case["error"]:
                continue     # nothing to transform in this case (no indentation, no traceback)
            changed += 1
            was, now = base[case["id"]], outcome(text)
            same = {"kind": now["kind"] == was["kind"], "facts": now["facts"] == was["facts"],
                    "cause": now["cause"] == was["cause"]}
            same["all"] = all(same.values())
            counts.update(k for k, v in same.items() if v)
            if not same["all"]:
                misses.append({"id": case["id"], **{k: (was[k], now[k]) for k in ("kind", "facts", "cause")
                                                    if not same[k]}})
        n = changed or 1
        report[name] = {"cases": changed, "lossy": name in module.LOSSY,
                        **{k: counts[k] / n for k in ("kind", "facts", "cause", "all")}, "misses": misses}
    return report


def perturb_markdown(report: dict, show_misses: bool = True) -> str:
    lines = ["### Stability under paste forms (tuned split)", "",
             "| transformation | cases changed | kind same | facts same | cause same | all same |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, r in report.items():
        mark = " (lossy)" if r["lossy"] else ""
        lines.append(f"| `{name}`{mark} | {r['cases']} | {100 * r['kind']:.1f} % | {100 * r['facts']:.1f} % | "
                     f"{100 * r['cause']:.1f} % | {100 * r['all']:.1f} % |")
    if show_misses:
        for name, r in report.items():
            if r["misses"]:
                lines += ["", f"Changed by `{name}`:", ""]
                lines += [f"- `{m['id']}`: " + "; ".join(f"{k} {v[0]!r} -> {v[1]!r}" for k, v in m.items() if k != "id")
                          for m in r["misses"]]
    lines.append("")
    return "\n".join(lines)


def confusion(results: List[dict]) -> Dict[str, Counter]:
    table: Dict[str, Counter] = defaultdict(Counter)
    for r in results:
        table[r["expected_kind"]][r["kind"]] += 1
    return table


def markdown(name: str, report: dict) -> str:
    results = report["results"]
    lines = [f"### {name}", "",
             f"- cases: {report['cases']}",
             f"- kind: {report['kind_ok']}/{report['cases']} = {100 * report['kind_accuracy']:.1f} %",
             f"- key facts: {report['facts_ok']}/{report['facts_total']} = {100 * report['facts_accuracy']:.1f} %",
             f"- root cause: {report['cause_ok']}/{report['cause_total']} = {100 * report['cause_accuracy']:.1f} %",
             ""]
    # Per kind.
    per_kind: Dict[str, List[dict]] = defaultdict(list)
    for r in results:
        per_kind[r["expected_kind"]].append(r)
    lines += ["| kind | cases | kind right | facts right |", "|---|---:|---:|---:|"]
    for kind in sorted(per_kind):
        rs = per_kind[kind]
        ft = sum(len(r["facts"]) for r in rs)
        fo = sum(f["ok"] for r in rs for f in r["facts"].values())
        lines.append(f"| `{kind}` | {len(rs)} | {sum(r['kind_ok'] for r in rs)} | {fo}/{ft} |")
    lines.append("")
    # Confusion matrix: rows expected, columns predicted (only kinds that occur).
    table = confusion(results)
    predicted = sorted({k for row in table.values() for k in row})
    expected = sorted(table)
    index = {k: i + 1 for i, k in enumerate(sorted(set(predicted) | set(expected)))}
    lines += ["Confusion (rows: labelled kind; columns: parsed kind, numbered as in the rows' key):", ""]
    lines.append("| labelled \\ parsed | " + " | ".join(str(index[p]) for p in predicted) + " |")
    lines.append("|---|" + "---:|" * len(predicted))
    for kind in expected:
        cells = []
        for p in predicted:
            count = table[kind].get(p, 0)
            cells.append(f"**{count}**" if p == kind and count else (str(count) if count else "·"))
        lines.append(f"| {index[kind]} `{kind}` | " + " | ".join(cells) + " |")
    extra = [k for k in predicted if k not in expected]
    if extra:
        lines.append("")
        lines.append("Parsed kinds with no labelled case: " + ", ".join(f"{index[k]} `{k}`" for k in extra))
    misses = [r for r in results if not r["kind_ok"] or r["cause_ok"] is False
              or not all(f["ok"] for f in r["facts"].values())]
    if misses:
        lines += ["", "Misses:", ""]
        for r in misses:
            what = []
            if not r["kind_ok"]:
                what.append(f"kind {r['kind']} (labelled {r['expected_kind']})")
            if r["cause_ok"] is False:
                what.append(f"cause {r['cause']} (labelled {r['expected_cause']})")
            for fact, f in r["facts"].items():
                if not f["ok"]:
                    what.append(f"{fact} {f['got']!r} (labelled {f['expected']!r})")
            lines.append(f"- `{r['id']}`: " + "; ".join(what))
    lines.append("")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", type=Path, help="a .jsonl corpus (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--splits", action="store_true", help="report the tuned and held-out splits")
    parser.add_argument("--tuned-only", action="store_true",
                        help="the tuned split alone, with its misses (what rules may be tuned to)")
    parser.add_argument("--perturb", nargs="?", const="", metavar="NAMES",
                        help="stability of the tuned cases under paste transformations (optionally a "
                             "comma-separated subset)")
    args = parser.parse_args(argv)
    if args.perturb is not None:
        cases = [c for path in (args.corpus or [p for p in DEFAULT_CORPORA if p.exists()])
                 for c in read_corpus(path) if split_of(c["id"]) == "tuned"]
        report = perturb(cases, [n for n in args.perturb.split(",") if n] or None)
        if args.json:
            print(json.dumps({k: {x: v[x] for x in v if x != "misses"} for k, v in report.items()}, indent=2))
        else:
            print(perturb_markdown(report))
        return 0
    corpora = args.corpus or [p for p in DEFAULT_CORPORA if p.exists()]
    reports = {}
    all_cases: List[dict] = []
    for path in corpora:
        cases = read_corpus(path)
        all_cases += cases
        reports[path.name] = evaluate(cases)
    if len(corpora) > 1:
        reports["all"] = evaluate(all_cases)
    if args.splits or args.tuned_only:
        reports = {}
        for split in ("tuned",) if args.tuned_only else ("tuned", "held-out"):
            reports[split] = evaluate([c for c in all_cases if split_of(c["id"]) == split])
    if args.json:
        print(json.dumps({k: {x: v[x] for x in v if x != "results"} for k, v in reports.items()}, indent=2))
        return 0
    print("## Accuracy of `dlldoctor explain` failure parsing over the error corpus\n")
    for name, report in reports.items():
        print(markdown(name, report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
