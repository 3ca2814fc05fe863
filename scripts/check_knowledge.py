#!/usr/bin/env python
"""Validate every knowledge table, and compare what can be compared with real files on this machine.

    python scripts/check_knowledge.py                 # shape + semantic checks of every table
    python scripts/check_knowledge.py --libstdcxx /usr/lib/x86_64-linux-gnu/libstdc++.so.6
                                                      # every GLIBCXX/CXXABI version the file defines is in
                                                      # knowledge/libstdcxx_versions.json (from GCC 4.8 on)
    python scripts/check_knowledge.py --stale-days 365  # list entries not checked for that long

Exit status 0 when all is well, 1 with one line per problem otherwise. The tables are hand-made from the
public sources each entry names (``source``); this script is what keeps them honest: it is run by
tests/diagnosis/test_knowledge_tables.py.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dllmagic import knowledge  # noqa: E402
from dllmagic.knowledge import tables  # noqa: E402


def check_tables() -> list:
    problems = []
    knowledge.clear_cache()
    for name in knowledge.available():
        try:
            data = knowledge.load(name)
        except knowledge.KnowledgeError as exc:
            problems.append(str(exc))
            continue
        if not isinstance(data.get("description"), str) or not data["description"].strip():
            problems.append(f"{name}: no description")
    problems += tables._check_diagnosis_tables()
    from dllmagic.facts.native.stock import check_stock_tables

    problems += check_stock_tables()
    return problems


def check_libstdcxx(path: str) -> list:
    """Versions a real libstdc++.so.6 defines that the table does not know (GCC 4.8 and later)."""
    from dllmagic.facts.native.binary import read_binary

    binary = read_binary(path)
    known = tables.libstdcxx_versions()
    floor = {"GLIBCXX": tables.version_key("GLIBCXX_3.4.19"), "CXXABI": tables.version_key("CXXABI_1.3.7")}
    missing = []
    for version in binary.versions_defined:
        family = version.split("_")[0]
        if family in floor and tables.version_key(version) >= floor[family] and version not in known:
            missing.append(f"{path}: {version} is not in knowledge/libstdcxx_versions.json")
    if not any(v.startswith("GLIBCXX_") for v in binary.versions_defined):
        missing.append(f"{path}: defines no GLIBCXX version (not a libstdc++?)")
    return missing


def stale(days: int) -> list:
    today = _dt.date.today()
    out = []
    for name in knowledge.available():
        for entry in knowledge.load(name)["entries"]:
            checked = _dt.date.fromisoformat(entry["checked"])
            if (today - checked).days > days:
                out.append(f"{name}/{entry['id']}: last checked {entry['checked']} ({entry['source']})")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--libstdcxx", action="append", default=[], help="a libstdc++.so.6 to compare")
    parser.add_argument("--stale-days", type=int, help="list entries older than this many days")
    args = parser.parse_args(argv)
    problems = check_tables()
    for path in args.libstdcxx:
        problems += check_libstdcxx(path)
    if args.stale_days is not None:
        for line in stale(args.stale_days):
            print("stale:", line)
    for line in problems:
        print(line)
    counts = ", ".join(f"{n} {len(knowledge.load(n)['entries'])}" for n in knowledge.available())
    print(f"{len(knowledge.available())} tables ({counts}); {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
