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

* ``framework_builds`` (release tables) — checked against the releases installed for ``--python`` (or in
  ``--site`` folders): a table whose newest release of a package is older than the installed one is out of
  date. With ``--online`` the newest releases are also read from the package index (PyPI's JSON API, the
  only network access of this script, and only when asked); ``--online --write`` adds a row per newer
  release with what the index states (Requires-Python, the platforms of its wheels) and leaves the CUDA
  and cuDNN versions empty with a note to fill them from the project's tested build configurations.

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


# -- release tables (framework_builds) -----------------------------------------------------------------
#: Tables that list releases of a package: table → (package field, release field).
RELEASE_TABLES = {"framework_builds": ("package", "release")}
INDEX_URL = "https://pypi.org/pypi/{name}/json"

_INSTALLED_PROBE = r"""
import json, sys
from importlib import metadata
out = {}
for name in json.loads(sys.argv[1]):
    try:
        out[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        pass
print(json.dumps(out))
"""


def _major_minor(version: str) -> tuple:
    parts = re.findall(r"\d+", version)[:2]
    return tuple(int(p) for p in parts) + (0,) * (2 - len(parts))


def installed_releases(names: Sequence[str], python: Optional[str] = None,
                       sites: Sequence[str] = ()) -> Dict[str, str]:
    """Installed version of each of ``names``: in ``sites`` folders (read here), else for ``python``."""
    if sites:
        from importlib import metadata

        out: Dict[str, str] = {}
        for dist in metadata.distributions(path=list(sites)):
            name = (dist.metadata["Name"] or "").lower().replace("_", "-")
            if name in names:
                out[name] = dist.version
        return out
    proc = subprocess.run([python or sys.executable, "-c", _INSTALLED_PROBE, json.dumps(list(names))],
                          capture_output=True, text=True, timeout=120)
    return json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else {}


def check_release_tables(tables: Path, installed: Dict[str, str]) -> List[Result]:
    """A release table is out of date when a package is installed in a newer release than its newest row."""
    results = []
    for table, (package_field, release_field) in RELEASE_TABLES.items():
        result = Result(table)
        rows = _read(tables, table)["entries"]
        for package in sorted({r[package_field] for r in rows}):
            newest = max((r[release_field] for r in rows if r[package_field] == package), key=_major_minor)
            version = installed.get(package)
            if version is None:
                result.notes.append(f"{package} is not installed here; newest row {newest}")
            elif _major_minor(version) > _major_minor(newest):
                result.differences.append(f"{package} {version} is installed, but the table's newest release is "
                                          f"{newest}: add {'.'.join(map(str, _major_minor(version)))} "
                                          f"(python scripts/regenerate_knowledge.py --online --write)")
            else:
                result.notes.append(f"{package} {version} installed; newest row {newest}")
        results.append(result)
    return results


def _platform_of_wheel(filename: str) -> Optional[str]:
    tag = filename[:-4].split("-")[-1].lower() if filename.endswith(".whl") else ""
    arch = ("x86_64" if ("x86_64" in tag or "amd64" in tag) else "aarch64" if "aarch64" in tag
            else "arm64" if "arm64" in tag else None)
    if arch is None:
        return None
    if tag.startswith(("manylinux", "linux", "musllinux")):
        return f"linux-{arch}"
    if tag.startswith("win"):
        return f"windows-{arch}"
    if tag.startswith("macosx"):
        return f"macos-{arch}"
    return None


def online_releases(names: Sequence[str], timeout: float = 20.0) -> Dict[str, dict]:
    """Per package: {release major.minor: {"python": Requires-Python, "platforms": [...]}} from the index."""
    import urllib.request

    out: Dict[str, dict] = {}
    for name in names:
        with urllib.request.urlopen(INDEX_URL.format(name=name), timeout=timeout) as response:  # noqa: S310
            data = json.load(response)
        releases: Dict[str, dict] = {}
        for version, files in data.get("releases", {}).items():
            if not re.fullmatch(r"\d+\.\d+(?:\.\d+)*", version) or not files:
                continue   # pre-releases and yanked-only entries are not tested configurations
            key = ".".join(map(str, _major_minor(version)))
            entry = releases.setdefault(key, {"python": "", "platforms": set()})
            for f in files:
                if f.get("yanked"):
                    continue
                entry["python"] = f.get("requires_python") or entry["python"]
                platform = _platform_of_wheel(f.get("filename", ""))
                if platform:
                    entry["platforms"].add(platform)
        out[name] = {k: {"python": v["python"], "platforms": sorted(v["platforms"])} for k, v in releases.items()}
    return out


def refresh_release_tables(tables: Path, releases: Dict[str, dict], today: str) -> List[Result]:
    results = []
    for table, (package_field, release_field) in RELEASE_TABLES.items():
        data = _read(tables, table)
        result = Result(table, data=data)
        rows = data["entries"]
        for package, found in releases.items():
            known = [r[release_field] for r in rows if r[package_field] == package]
            if not known:
                continue
            newest = max(known, key=_major_minor)
            for release in sorted(found, key=_major_minor):
                if _major_minor(release) <= _major_minor(newest) or not found[release]["platforms"]:
                    continue
                result.differences.append(f"{package} {release} is on the index but not in the table")
                template = next(r for r in rows if r[package_field] == package and r[release_field] == newest)
                row = dict(template)
                row.update({"id": f"{package}-{release}", release_field: release,
                            "python": found[release]["python"] or template["python"],
                            "platforms": found[release]["platforms"], "cuda": [], "cudnn": [],
                            "gpu_platforms": [], "source": INDEX_URL.format(name=package), "checked": today})
                rows.insert(rows.index(template), row)
                result.changed = True
        results.append(result)
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the tables that can be rewritten")
    parser.add_argument("--python", default=sys.executable, help="interpreter whose NumPy to read")
    parser.add_argument("--libstdcxx", action="append", default=None, help="a libstdc++.so.6 to compare")
    parser.add_argument("--no-numpy", action="store_true", help="skip numpy_removed_names")
    parser.add_argument("--tables", default=str(TABLES), help=argparse.SUPPRESS)   # the tests' copy
    parser.add_argument("--today", default=_dt.date.today().isoformat(), help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--site", action="append", default=[], help="a site folder whose installed releases "
                        "the release tables are checked against (default: those of --python)")
    parser.add_argument("--online", action="store_true", help="also read the newest releases from the index")
    args = parser.parse_args(argv)
    tables = Path(args.tables)
    results: List[Result] = []
    if not args.no_numpy:
        results.append(regenerate_numpy(tables, args.python, args.today))
    results.append(check_libstdcxx(tables, args.libstdcxx if args.libstdcxx is not None else default_libstdcxx()))
    packages = sorted({r[f] for t, (f, _) in RELEASE_TABLES.items() for r in _read(tables, t)["entries"]})
    results += check_release_tables(tables, installed_releases(packages, args.python, args.site))
    if args.online:
        results += refresh_release_tables(tables, online_releases(packages), args.today)
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
