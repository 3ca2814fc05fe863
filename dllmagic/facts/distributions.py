"""Installed distributions, read from ``*.dist-info`` / ``*.egg-info`` folders without importing anything.

Works for any list of site folders on any ``System`` (this process's, another interpreter's, a modelled
machine's). Folder names give name and version cheaply; METADATA, top_level.txt and RECORD are read only
when a question needs them, and cached per (path, mtime).
"""
from __future__ import annotations

import re
from email.parser import HeaderParser
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Tuple

from .._record import Record, field
from .system import System

if TYPE_CHECKING:  # packaging loads only when a rule needs requirements
    from packaging.requirements import Requirement

_NORMALIZE = re.compile(r"[-_.]+")
_DIST_DIR = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+?)(?:-py[\d.]+)?(?:-[^-]+)?\.(?P<ext>dist-info|egg-info)$")


def normalize(name: str) -> str:
    """PEP 503 normalised project name."""
    return _NORMALIZE.sub("-", name).lower()


class Distribution(Record):
    name: str
    version: str
    path: str          # the .dist-info / .egg-info folder
    location: str      # the site folder it sits in
    system: System = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        return normalize(self.name)

    def _read(self, filename: str) -> Optional[str]:
        path = self.system.join(self.path, filename)
        try:
            return self.system.read_text(path, limit=4 << 20)
        except OSError:
            return None

    def metadata(self) -> Dict[str, List[str]]:
        """Header fields of METADATA / PKG-INFO (each a list, since many repeat)."""
        text = self._read("METADATA") or self._read("PKG-INFO") or ""
        headers = HeaderParser().parsestr(text, headersonly=True)
        fields: Dict[str, List[str]] = {}
        for key, value in headers.items():
            fields.setdefault(key.lower(), []).append(str(value))
        return fields

    @property
    def installer(self) -> Optional[str]:
        text = self._read("INSTALLER")
        return text.strip() if text else None

    def requires_dist(self) -> List[str]:
        return self.metadata().get("requires-dist", [])

    def requirements(self, environment: Optional[dict] = None) -> List["Requirement"]:
        """Requires-Dist parsed (packaging), keeping those that apply without extras in ``environment`` (marker
        values; None: this Python's own); bad lines and markers naming unknown variables skipped."""
        from packaging.requirements import InvalidRequirement, Requirement

        out = []
        for text in self.requires_dist():
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if req.marker is not None:
                try:
                    if not req.marker.evaluate(dict(environment or {}, extra="")):
                        continue
                except Exception:  # a marker naming an unknown variable: not for this environment
                    continue
            out.append(req)
        return out

    def requires_python(self) -> Optional[str]:
        values = self.metadata().get("requires-python")
        return values[0] if values else None

    def record(self) -> List[str]:
        """The file paths RECORD (or egg-info's installed-files.txt) lists, relative to the site folder."""
        text = self._read("RECORD")
        if text is not None:
            return self._record_entries(text)
        text = self._read("installed-files.txt")
        if text is not None:
            base = self.system.pathmod.basename(self.path)
            return [self.system.pathmod.normpath(base + "/" + line.strip()) for line in text.splitlines() if line.strip()]
        return []

    @staticmethod
    def _record_entries(text: str) -> List[str]:
        """The paths of a RECORD, read as the CSV it is: a quoted path may hold a comma or a newline."""
        if '"' not in text:  # the common case, without the csv module's cost
            return [line.split(",", 1)[0] for line in text.splitlines() if line.strip()]
        import csv
        import io

        try:
            return [row[0] for row in csv.reader(io.StringIO(text, newline="")) if row and row[0].strip()]
        except csv.Error:
            return [line.split(",", 1)[0].strip('"') for line in text.splitlines() if line.strip()]

    def top_level(self) -> Tuple[str, ...]:
        """Top-level import names this distribution provides."""
        return self._top_level_of(self._read("top_level.txt"))

    def provides(self, top: str) -> bool:
        """Whether ``top`` is one of :meth:`top_level`. Each name is a part of the file it is read from, so
        a file without the text ``top`` is not parsed at all."""
        text = self._read("top_level.txt")
        if text is None:
            text = self._read("RECORD")
            if text is None:
                return top in self.top_level()
            if top not in text:
                return False
            return top in self._top_level_of(None, text)
        return top in text and top in self._top_level_of(text)

    def _top_level_of(self, top_level_txt: Optional[str], record_text: Optional[str] = None) -> Tuple[str, ...]:
        if top_level_txt is not None:
            names = [line.strip().replace("/", ".").split(".")[0] for line in top_level_txt.splitlines()
                     if line.strip()]
            return tuple(dict.fromkeys(n for n in names if n))
        names: List[str] = []
        for entry in (self.record() if record_text is None else self._record_entries(record_text)):
            first = entry.replace("\\", "/").split("/", 1)[0]
            if not first or first.startswith("..") or first.endswith((".dist-info", ".egg-info", ".data")):
                continue
            if first == "__pycache__" or first.endswith(".pth"):
                continue
            if "/" in entry.replace("\\", "/"):
                names.append(first)
            elif first.endswith(".py"):
                names.append(first[:-3])
            elif "." in first and first.split(".")[-1] in ("so", "pyd", "dylib"):
                names.append(first.split(".")[0])
        return tuple(dict.fromkeys(names))

    def changed_file(self, path: str) -> Optional[bool]:
        """Whether the file at ``path`` differs from what RECORD says this distribution installed there (its
        sha256), or None when RECORD does not list it with a hash or the file cannot be read."""
        import base64
        import csv
        import hashlib
        import io

        text = self._read("RECORD")
        folder = (self.location or "").replace("\\", "/").rstrip("/")
        wanted = path.replace("\\", "/")
        if text is None or not folder or not wanted.startswith(folder + "/"):
            return None
        relative = wanted[len(folder) + 1:]
        try:
            rows = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error:
            return None
        for row in rows:
            if len(row) >= 2 and row[0].replace("\\", "/") == relative and row[1].startswith("sha256="):
                limit = 64 * 1024 * 1024
                try:
                    data = self.system.read_bytes(self.system.join(self.location, row[0]), limit=limit)
                except OSError:
                    return None
                if len(data) >= limit:
                    return None   # too big to hash here: not known
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                return digest != row[1][len("sha256="):]
        return None

    def missing_files(self, limit: int = 20) -> List[str]:
        """Files RECORD lists that are not on disk (a broken or half-removed install)."""
        missing = []
        for entry in self.record():
            if entry.startswith("..") or "__pycache__" in entry or entry.endswith(".pyc"):
                continue
            if not self.system.exists(self.system.join(self.location, entry)):
                missing.append(entry)
                if len(missing) >= limit:
                    break
        return missing


class DistributionIndex:
    """The distributions visible on a list of site folders (a sys.path), first one of a name wins.

    Use :meth:`for_paths` to share one index per unchanged set of folders: installing or removing a
    distribution changes its site folder's mtime, which makes a new index.
    """

    _shared: Dict[Tuple, "DistributionIndex"] = {}

    def __init__(self, paths: Sequence[str], system: Optional[System] = None):
        self.system = system or System.current()
        self.paths = [p for p in paths if p]
        self._all: Optional[List[Distribution]] = None
        self._top: Optional[Dict[str, List[Distribution]]] = None
        self._providers: Dict[str, List[Distribution]] = {}   # per name, until the whole table is made
        self.notes: List[str] = []

    @classmethod
    def for_paths(cls, paths: Sequence[str], system: Optional[System] = None) -> "DistributionIndex":
        system = system or System.current()
        stamps = []
        for folder in paths:
            try:
                stamps.append((folder, system.stat(folder).st_mtime_ns))
            except OSError:
                stamps.append((folder, None))
        key = (id(system) if not system.live else "live", system.root, tuple(stamps))
        index = cls._shared.get(key)
        if index is None:
            if len(cls._shared) > 32:
                cls._shared.clear()
            index = cls._shared[key] = cls(paths, system)
        return index

    def all(self) -> List[Distribution]:
        if self._all is None:
            found: List[Distribution] = []
            for folder in self.paths:
                if not self.system.is_dir(folder):
                    continue
                for entry in self.system.scandir(folder):
                    match = _DIST_DIR.match(entry.name)
                    if not match:
                        continue
                    found.append(Distribution(
                        name=match.group("name"), version=match.group("version"),
                        path=self.system.join(folder, entry.name), location=folder, system=self.system))
            self._all = found
        return self._all

    def by_name(self, name: str) -> List[Distribution]:
        key = normalize(name)
        return [d for d in self.all() if d.key == key]

    def get(self, name: str) -> Optional[Distribution]:
        found = self.by_name(name)
        return found[0] if found else None

    #: Names looked up one by one (each a substring scan of every distribution's top_level.txt or RECORD,
    #: parsing only those that hold the name) before the whole name -> distributions table is made.
    _NAMES_BEFORE_TABLE = 4

    def providing(self, import_name: str) -> List[Distribution]:
        """Distributions whose files provide the top-level import name."""
        top = import_name.split(".")[0]
        if self._top is None and (top in self._providers or len(self._providers) < self._NAMES_BEFORE_TABLE):
            found = self._providers.get(top)
            if found is None:
                found = self._providers[top] = []
                for dist in self.all():
                    try:
                        if dist.provides(top):
                            found.append(dist)
                    except Exception as exc:  # unreadable metadata is a note, not a failure
                        self._note(f"could not read {dist.path}: {exc}")
            return list(found)
        if self._top is None:
            table: Dict[str, List[Distribution]] = {}
            for dist in self.all():
                try:
                    names: Iterable[str] = dist.top_level()
                except Exception as exc:  # unreadable metadata is a note, not a failure
                    self._note(f"could not read {dist.path}: {exc}")
                    continue
                for name in names:
                    table.setdefault(name, []).append(dist)
            self._top = table
        return list(self._top.get(top, []))

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def duplicates(self) -> Dict[str, List[Distribution]]:
        groups: Dict[str, List[Distribution]] = {}
        for dist in self.all():
            groups.setdefault(dist.key, []).append(dist)
        return {k: v for k, v in groups.items() if len(v) > 1}
