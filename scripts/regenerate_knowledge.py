#!/usr/bin/env python
"""Rebuild the parts of the knowledge tables that can be derived mechanically, and report differences.

    python scripts/regenerate_knowledge.py                    # compare; exit 1 when a table is out of date
    python scripts/regenerate_knowledge.py --write            # and rewrite what can be rewritten
    python scripts/regenerate_knowledge.py --python /env/bin/python   # another interpreter's numpy
    python scripts/regenerate_knowledge.py --libstdcxx /opt/conda/lib/libstdc++.so.6   # more libraries

What is derived, and from what:

* ``numpy_removed_names`` — from an installed NumPy's own records of what it removed: every
  ``numpy/_expired_attrs_<major>_<minor>.py`` module's ``__expired_attributes__`` (name → migration note;
  NumPy 2.0 ships ``_expired_attrs_2_0``) and ``numpy.__former_attrs__`` (the builtin aliases np.float,
  np.int … that NumPy 1.24 removed). The NumPy is imported in a child process of ``--python`` (default:
  this interpreter). A name in a record but not in the table is added (``--write``) with today's date,
  its replacement taken from the note (```np.float64``` in "Use `np.float64` instead."), and the record's
  file as source; a row whose ``removed_in`` disagrees with the record is corrected. Rows that only the
  release notes know (np.bool, np.product, np.in1d …) are kept. A row whose name the installed NumPy still
  defines although it is at or past ``removed_in`` (and not ``restored_in``) is reported.
  Existing rows keep their id, replacement, source and ``checked`` date unless a field changes.
* ``libstdcxx_versions`` — checked (never rewritten: the GCC release of a new version is not in the file)
  against the ``GLIBCXX_*`` / ``CXXABI_*`` versions that real ``libstdc++.so.6`` files define (read with
  ``dllmagic.facts.native.binary.read_binary``): a version the library defines that the table lacks (a
  newer GCC: add it by hand from https://gcc.gnu.org/onlinedocs/libstdc++/manual/abi.html), and a table
  row at or below the library's newest version that the library does not define (a wrong row).
  Default libraries: those ``ldconfig -p`` lists, else the usual system folders.

Exit status 0 when every table agrees with the sources at hand (after ``--write``, when only what it
cannot rewrite is left), 1 otherwise. tests/diagnosis/test_regenerate.py runs it against this machine's
NumPy and libstdc++, so the committed tables stay in step with them.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dllmagic.knowledge import check_shape  # noqa: E402
from dllmagic.knowledge.tables import version_key  # noqa: E402

TABLES = REPO / "dllmagic" / "knowledge"
FORMER_ATTRS_REMOVED_IN = "1.24.0"   # numpy.__former_attrs__: deprecated in 1.20, removed in 1.24
FORMER_ATTRS_SOURCE = "https://numpy.org/devdocs/release/1.24.0-notes.html#expired-deprecations"
LIBSTDCXX_FLOOR = {"GLIBCXX": "GLIBCXX_3.4.19", "CXXABI": "CXXABI_1.3.7"}   # the table starts at GCC 4.8
LIBSTDCXX_FOLDERS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
                     "/lib/x86_64-linux-gnu", "/lib64")

#: Run by the target interpreter: what its NumPy records about removed names, as JSON on stdout.
_NUMPY_PROBE = r"""
import importlib, json, pkgutil, sys, warnings
import numpy
names = json.loads(sys.argv[1])
out = {"version": numpy.__version__, "file": numpy.__file__, "expired": {}, "former": [], "defined": []}
for info in pkgutil.iter_modules(numpy.__path__):
    if info.name.startswith("_expired_attrs_"):
        module = importlib.import_module("numpy." + info.name)
        out["expired"][info.name] = dict(getattr(module, "__expired_attributes__", {}))
out["former"] = sorted(getattr(numpy, "__former_attrs__", {}))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for name in names:
        try:
            getattr(numpy, name)
        except AttributeError:
            continue
        out["defined"].append(name)
print(json.dumps(out))
"""


@dataclass
class Result:
    table: str
    differences: List[str] = field(default_factory=list)   # the table disagrees with the source
    notes: List[str] = field(default_factory=list)          # informational
    changed: bool = False                                   # --write would change (or changed) the file
    data: Optional[dict] = None


def _read(tables: Path, name: str) -> dict:
    return json.loads((tables / f"{name}.json").read_text(encoding="utf-8"))


def _write(tables: Path, name: str, data: dict) -> None:
    check_shape(name, data)
    (tables / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# -- numpy_removed_names ------------------------------------------------------------------------------
def numpy_records(python: str, names: Sequence[str]) -> dict:
    """What the NumPy of ``python`` records (see _NUMPY_PROBE); raises RuntimeError when it has none."""
    proc = subprocess.run([python, "-c", _NUMPY_PROBE, json.dumps(list(names))], capture_output=True,
                          text=True, timeout=120, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    if proc.returncode != 0:
        raise RuntimeError(f"{python} cannot import numpy: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout)


def _removed_in(module: str) -> str:
    """``_expired_attrs_2_0`` → ``2.0.0``."""
    match = re.fullmatch(r"_expired_attrs_(\d+)_(\d+)", module)
    return f"{match.group(1)}.{match.group(2)}.0" if match else ""


def replacement_from_note(name: str, note: str) -> str:
    """What to write instead of ``np.<name>``, from NumPy's migration note."""
    note = " ".join(note.split())
    code = re.search(r"`([^`]+)`", note)
    if re.search(r"now available from `np\.lib`", note):
        return f"np.lib.{name}"
    if code and re.match(r"^(It's still available as|Now it's available under)", note):
        return code.group(1)
    if note.startswith("Use "):
        # "Use `np.round` instead." -> np.round; "Use the np.errstate context manager instead." -> the words.
        first = re.split(r"(?<=[.)`])\s+(?=[A-Z])", note)[0].rstrip(".")
        return re.sub(r"\s+instead\b", "", first[4:]).replace("`", "").strip()
    return f"(no direct replacement: {note.rstrip('.')})" if note else "(no direct replacement)"


def regenerate_numpy(tables: Path, python: str, today: str) -> Result:
    result = Result("numpy_removed_names")
    data = _read(tables, "numpy_removed_names")
    entries = data["entries"]
    by_name = {e["name"]: e for e in entries}
    try:
        rec = numpy_records(python, sorted(by_name))
    except (RuntimeError, OSError, ValueError) as exc:
        result.differences.append(f"no NumPy records to compare with: {exc}")
        return result
    version = rec["version"]
    result.notes.append(f"NumPy {version} at {rec['file']}")
    derived: Dict[str, dict] = {}
    for module, attrs in sorted(rec["expired"].items()):
        removed = _removed_in(module)
        source = f"https://github.com/numpy/numpy/blob/v{version}/numpy/{module}.py"
        for name, note in attrs.items():
            derived[name] = {"id": name, "name": name, "removed_in": removed,
                             "replacement": replacement_from_note(name, note), "source": source, "checked": today}
    for name in rec["former"]:
        derived.setdefault(name, {"id": name, "name": name, "removed_in": FORMER_ATTRS_REMOVED_IN,
                                  "replacement": name, "source": FORMER_ATTRS_SOURCE, "checked": today})
    if not derived:
        result.differences.append(f"NumPy {version} records no removed names (is it older than 2.0?)")
        return result
    ids = {e["id"] for e in entries}
    for name, row in sorted(derived.items(), key=lambda kv: kv[0].lower()):
        entry = by_name.get(name)
        if entry is None:
            result.differences.append(f"np.{name}: removed in {row['removed_in']} (NumPy's record) but not in "
                                      f"the table")
            if row["id"] in ids:
                row["id"] = f"numpy-{name}"
            entries.append(row)
            ids.add(row["id"])
            result.changed = True
        elif entry["removed_in"] != row["removed_in"]:
            result.differences.append(f"np.{name}: the table says removed in {entry['removed_in']}, NumPy's "
                                      f"record says {row['removed_in']}")
            entry["removed_in"] = row["removed_in"]
            entry["checked"] = today
            result.changed = True
    now = version_key(version)
    for name in rec["defined"]:
        entry = by_name[name]
        restored = entry.get("restored_in")
        if version_key(entry["removed_in"]) <= now and not (restored and version_key(restored) <= now):
            result.differences.append(f"np.{name}: NumPy {version} defines it, but the table says it was removed "
                                      f"in {entry['removed_in']} (add 'restored_in' if NumPy brought it back)")
    kept = sorted(set(by_name) - set(derived))
    if kept:
        result.notes.append(f"{len(kept)} row(s) only the release notes know, kept: {', '.join(kept)}")
    result.data = data
    return result


# -- libstdcxx_versions -------------------------------------------------------------------------------
def default_libstdcxx() -> List[str]:
    found: List[str] = []
    try:
        cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=30).stdout
        found = re.findall(r"^\s*libstdc\+\+\.so\.6 \([^)]*\) => (\S+)$", cache, re.M)
    except (OSError, subprocess.SubprocessError):
        pass
    if not found:
        found = [f"{d}/libstdc++.so.6" for d in LIBSTDCXX_FOLDERS if os.path.exists(f"{d}/libstdc++.so.6")]
    out: List[str] = []
    for path in found:
        real = os.path.realpath(path)
        if real not in {os.path.realpath(p) for p in out}:
            out.append(path)
    return out


def check_libstdcxx(tables: Path, paths: Sequence[str]) -> Result:
    from dllmagic.facts.native.binary import read_binary

    result = Result("libstdcxx_versions")
    table = {e["version"]: e for e in _read(tables, "libstdcxx_versions")["entries"]}
    if not paths:
        result.notes.append("no libstdc++.so.6 found to compare with")
    for path in paths:
        try:
            defined = set(read_binary(path).versions_defined)
        except Exception as exc:  # noqa: BLE001 - report any unreadable file
            result.differences.append(f"{path}: cannot be read ({type(exc).__name__}: {exc})")
            continue
        for family, floor in LIBSTDCXX_FLOOR.items():
            mine = sorted((v for v in defined if v.startswith(family + "_")), key=version_key)
            if not mine:
                result.differences.append(f"{path}: defines no {family} version (not a libstdc++?)")
                continue
            newest = mine[-1]
            result.notes.append(f"{path}: newest {family} version {newest}")
            for version in mine:
                if version_key(version) >= version_key(floor) and version not in table:
                    result.differences.append(f"{path} defines {version}, which the table lacks (a newer GCC: "
                                              f"add the release that introduced it)")
            for version in sorted((v for v in table if v.startswith(family + "_")), key=version_key):
                if version_key(version) <= version_key(newest) and version not in defined:
                    result.differences.append(f"the table's {version} (GCC {table[version]['gcc']}) is not "
                                              f"defined by {path}, whose newest is {newest}")
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the tables that can be rewritten")
    parser.add_argument("--python", default=sys.executable, help="interpreter whose NumPy to read")
    parser.add_argument("--libstdcxx", action="append", default=None, help="a libstdc++.so.6 to compare")
    parser.add_argument("--no-numpy", action="store_true", help="skip numpy_removed_names")
    parser.add_argument("--tables", default=str(TABLES), help=argparse.SUPPRESS)   # the tests' copy
    parser.add_argument("--today", default=_dt.date.today().isoformat(), help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    tables = Path(args.tables)
    results: List[Result] = []
    if not args.no_numpy:
        results.append(regenerate_numpy(tables, args.python, args.today))
    results.append(check_libstdcxx(tables, args.libstdcxx if args.libstdcxx is not None else default_libstdcxx()))
    left = 0
    for result in results:
        if args.write and result.changed and result.data is not None:
            _write(tables, result.table, result.data)
        unresolved = [d for d in result.differences if not (args.write and result.changed and
                                                            ("not in the table" in d or "NumPy's record says" in d))]
        left += len(unresolved)
        if not args.json:
            for note in result.notes:
                print(f"{result.table}: note: {note}")
            for line in result.differences:
                mark = "fixed" if line not in unresolved else "differs"
                print(f"{result.table}: {mark}: {line}")
    if args.json:
        print(json.dumps([{"table": r.table, "differences": r.differences, "notes": r.notes,
                           "changed": r.changed, "written": bool(args.write and r.changed)} for r in results],
                         indent=1))
    else:
        total = sum(len(r.differences) for r in results)
        print(f"{total} difference(s)" + (f", {total - left} rewritten" if args.write else "") + f"; {left} left")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
