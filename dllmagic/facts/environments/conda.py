"""conda-meta records of a prefix, and who owns each distribution of it (conda against pip, uv ...)."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..._record import Record
from ..distributions import normalize
from ..system import System
from .paths import read_json, site_listing

_CONDA_RECORD = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+)-(?P<build>[^-]+)\.json$")


def conda_records(system: System, prefix: str) -> Dict[str, str]:
    """conda-meta records of a prefix: normalised package name → record file (names from file names)."""
    meta = system.join(prefix, "conda-meta")
    out: Dict[str, str] = {}
    for name in site_listing(system, meta):
        match = _CONDA_RECORD.match(name)
        if match:
            out.setdefault(normalize(match.group("name")), system.join(meta, name))
    return out


def conda_record_data(system: System, record: str) -> Dict[str, Any]:
    """A conda-meta record's JSON (name, version, build, channel, files ...); {} when unreadable."""
    data, _ = read_json(system, record, 64 << 20)
    return data if isinstance(data, dict) else {}


def _conda_files(data: Mapping[str, Any]) -> List[str]:
    files = data.get("files")
    if not isinstance(files, list):
        paths = data.get("paths_data", {}).get("paths") if isinstance(data.get("paths_data"), dict) else None
        files = [p.get("_path") for p in paths if isinstance(p, dict)] if isinstance(paths, list) else []
    return [f for f in files if isinstance(f, str)]


class InstallerConflict(Record):
    """conda-meta and a non-conda installer (pip, uv ...) both claim one distribution of a conda prefix.

    ``relation`` is ``pip-over-conda`` (pip replaced conda's copy: conda-meta still records the package, but
    the only metadata on disk is pip's) or ``conda-over-pip`` (conda installed its copy over a pip install:
    conda's metadata sits beside pip's, and pip's RECORD lists files that conda's record owns now).
    """

    name: str                       # normalised project name
    relation: str                   # pip-over-conda, conda-over-pip
    installer: str                  # the other installer, as its INSTALLER file says (pip, uv ...)
    dist_path: str                  # that installer's .dist-info folder
    version: str                    # the version in that .dist-info
    conda_record: str               # conda-meta/<name>-<version>-<build>.json
    conda_version: Optional[str]
    conda_channel: Optional[str]
    conda_dist_path: Optional[str]  # conda's own .dist-info, when it is on disk
    conflicts: Tuple[str, ...]      # files (prefix-relative) that both RECORD and conda-meta claim, first few
    conflict_count: int = 0

    @property
    def sentence(self) -> str:
        conda = f"conda's {self.name} {self.conda_version or ''}".strip()
        if self.relation == "pip-over-conda":
            return (f"{self.installer} installed {self.name} {self.version} over {conda}: conda-meta still "
                    f"records conda's copy, but the files on disk are {self.installer}'s")
        return (f"conda installed {conda} over {self.installer}'s {self.name} {self.version}: {self.installer}'s "
                f"metadata is still there and lists files conda's record owns now")


def _rel_files(system: System, prefix: str, d: Any) -> List[str]:
    pm = system.pathmod
    site_rel = pm.relpath(d.location, prefix) if prefix else d.location
    out = []
    for entry in d.record():
        if "__pycache__" in entry or entry.endswith(".pyc"):
            continue
        rel = pm.normpath(pm.join(site_rel, entry)).replace("\\", "/")
        if rel.startswith("../"):
            continue
        out.append(rel.lower() if system.platform == "windows" else rel)
    return out


def installer_conflicts(system: System, prefix: str, distributions: Sequence[Any]) -> List[InstallerConflict]:
    """Which installer owns each of ``distributions`` (the .dist-info folders of one conda prefix, as a
    :class:`~dllmagic.facts.distributions.DistributionIndex` lists them), where conda-meta and another
    installer's INSTALLER disagree. Read from files only: conda-meta records, INSTALLER and RECORD."""
    records = conda_records(system, prefix)
    if not records:
        return []
    pm = system.pathmod
    groups: Dict[str, List[Any]] = {}
    for d in distributions:
        groups.setdefault(d.key, [])
        if all(d.path != o.path for o in groups[d.key]):
            groups[d.key].append(d)
    out: List[InstallerConflict] = []
    for key, dists in groups.items():
        record = records.get(key)
        if record is None:
            continue
        installers = {d.path: (d.installer or "").strip().lower() for d in dists}
        others = [d for d in dists if installers[d.path] not in ("", "conda")]
        if not others:
            continue
        data = conda_record_data(system, record)
        files = _conda_files(data)
        owned = {(f.lower() if system.platform == "windows" else f).replace("\\", "/") for f in files}
        conda_dist = None
        for d in dists:
            rel = pm.relpath(d.path, prefix).replace("\\", "/")
            rel = rel.lower() if system.platform == "windows" else rel
            if installers[d.path] == "conda" or any(f.startswith(rel + "/") for f in owned):
                if d not in others:
                    conda_dist = d
                    break
        channel = data.get("channel") if isinstance(data.get("channel"), str) else None
        match = _CONDA_RECORD.match(pm.basename(record))
        conda_version = str(data.get("version") or (match.group("version") if match else "")) or None
        for d in others:
            mine = _rel_files(system, prefix, d) if owned else []
            clash = [f for f in mine if f in owned]
            relation = "conda-over-pip" if conda_dist is not None and (clash or not owned) else "pip-over-conda"
            out.append(InstallerConflict(
                name=key, relation=relation, installer=d.installer or "pip", dist_path=d.path, version=d.version,
                conda_record=record, conda_version=conda_version, conda_channel=channel,
                conda_dist_path=conda_dist.path if conda_dist is not None else None,
                conflicts=tuple(clash[:5]), conflict_count=len(clash)))
    return out
