"""sys.path, entry by entry: what each entry is, and every place a top-level name could be imported from.

:func:`classify` tags each entry (the notebook's folder, stdlib, site-packages, user site, a user site or
site-packages of ANOTHER Python version, PYTHONPATH, a ``.pth`` line, missing). :func:`candidates` lists, in
import order, every file or folder on those entries that ``import NAME`` could load — the first is what Python
takes, the rest are what it hides. :func:`new_since_start` finds places that appeared after the kernel started
(a user site created by ``pip install --user``, a ``.pth`` written by an editable install) and so are not on
the running kernel's sys.path yet.

Reads files through a :class:`~dllmagic.facts.system.System` only.
"""
from __future__ import annotations

import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .._record import Record
from ..model import Interpreter
from .environments import site_listing
from .system import System

__all__ = ["PathEntry", "Candidate", "classify", "candidates", "pth_entries", "pth_code_mentions", "editable_finder_entries", "editable_paths", "path_python_version",
           "new_since_start", "process_start_time", "SITE_KINDS"]

#: Entry kinds whose contents were installed by an installer (everything else is "local").
SITE_KINDS = ("site", "user-site", "foreign-user-site", "foreign-site", "pth", "stdlib")

_EXT = re.compile(r"^(?P<stem>[A-Za-z_][\w]*)(?P<tail>\.[\w.-]*)?\.(?P<ext>py|pyc|so|pyd)$")


class PathEntry(Record):
    index: int
    path: str               # as written in sys.path ('' is the current folder)
    resolved: str           # '' replaced by the working folder
    kind: str               # cwd, stdlib, site, user-site, foreign-user-site, foreign-site, pythonpath, pth, other
    exists: bool
    source: str             # why it is there: "sys.path[0] (working folder)", "PYTHONPATH", "x.pth", "site"
    python_version: Optional[str] = None   # the X.Y the path is made for, when its name says so


class Candidate(Record):
    """A file or folder on sys.path that ``import top`` could load."""

    entry: PathEntry
    path: str
    form: str               # package, module, extension, namespace

    @property
    def local(self) -> bool:
        """Not installed by an installer: the notebook's folder, PYTHONPATH, a stray folder."""
        return self.entry.kind not in SITE_KINDS


def path_python_version(path: str) -> Optional[str]:
    """The Python X.Y a folder is made for, from its name (lib/python3.8, Python38, Library/Python/3.8)."""
    norm = path.replace("\\", "/")
    for pattern in (r"/(?:lib|lib64)/(?:python|pypy)(\d+)\.(\d+)t?(?:/|$)", r"/Python/Python(\d)(\d+)(?:-32)?(?:/|$)",
                    r"/Library/Python/(\d+)\.(\d+)(?:/|$)"):
        match = re.search(pattern, norm, re.I)
        if match:
            return f"{match.group(1)}.{match.group(2)}"
    return None


def _pth_files(system: System, site_folders: Iterable[str]):
    """(site folder, .pth path, its lines) for every readable ``.pth`` file in the site folders."""
    pm = system.pathmod
    for site in site_folders:
        for name in site_listing(system, site):
            if not name.endswith(".pth"):
                continue
            path = pm.join(site, name)
            try:
                lines = system.read_text(path, limit=1 << 16).splitlines()
            except OSError:
                continue
            yield site, path, lines


def pth_code_mentions(system: System, site_folders: Iterable[str], folders: Iterable[str]) -> Dict[str, str]:
    """Folders named literally in an ``import`` line of a ``.pth`` file (``import sys; sys.path.insert(0,
    '/x')``: code Python runs at start-up, which can put a folder anywhere on sys.path): folder → the .pth."""
    wanted = [f for f in folders if f and len(f) > 1]
    out: Dict[str, str] = {}
    if not wanted:
        return out
    for _site, path, lines in _pth_files(system, site_folders):
        for line in lines:
            if not line.lstrip().startswith(("import ", "import\t")):
                continue
            for folder in wanted:
                if folder not in out and (f"'{folder}'" in line or f'"{folder}"' in line):
                    out[folder] = path
    return out


def pth_entries(system: System, site_folders: Iterable[str]) -> Dict[str, str]:
    """Folders added by ``.pth`` files in the given site folders: folder → the .pth file."""
    pm = system.pathmod
    out: Dict[str, str] = {}
    for site, path, lines in _pth_files(system, site_folders):
        for line in lines:
            line = line.strip()
            if not line or line.startswith(("#", "import ", "import\t")):
                continue
            folder = pm.normpath(line if pm.isabs(line) else pm.join(site, line))
            out.setdefault(_norm(system, folder), path)
    return out


_FINDER = re.compile(r"^import\s+(__editable__[\w.]*finder)\b")


def editable_finder_entries(system: System, site_folders: Iterable[str]) -> Dict[str, str]:
    """Folders that setuptools' editable finders map packages into (a ``.pth`` whose line is
    ``import __editable___<dist>_finder``; the finder module holds ``MAPPING = {name: path}``): folder →
    the .pth file. These folders never appear on sys.path, even when the finder is active."""
    import ast

    pm = system.pathmod
    out: Dict[str, str] = {}
    for site, pth, lines in _pth_files(system, site_folders):
        for line in lines:
            match = _FINDER.match(line.strip())
            if not match:
                continue
            try:
                source = system.read_text(pm.join(site, match.group(1) + ".py"), limit=1 << 20)
                tree = ast.parse(source)
            except (OSError, SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):
                target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
                if getattr(target, "id", None) == "MAPPING" and getattr(node, "value", None) is not None:
                    try:
                        mapping = ast.literal_eval(node.value)
                    except ValueError:
                        continue
                    for path in (mapping.values() if isinstance(mapping, dict) else ()):
                        if isinstance(path, str):
                            out.setdefault(_norm(system, pm.dirname(pm.normpath(path))), pth)
    return out


def editable_paths(system: System, site: str, record: Sequence[str]) -> List[Tuple[str, str]]:
    """(path, the file that names it) for every place an editable install's own files put its code: the
    folder lines of its ``.pth`` files, and the ``MAPPING`` values of its setuptools finder module (RECORD
    lists both). Read only; a path that no longer exists is what tells a moved or deleted project."""
    import ast

    pm = system.pathmod
    out: List[Tuple[str, str]] = []
    for entry in record:
        name = entry.replace("\\", "/")
        if "/" in name:
            continue
        path = pm.join(site, name)
        try:
            text = system.read_text(path, limit=1 << 20) if name.endswith((".pth", "_finder.py")) else None
        except OSError:
            continue
        if text is None:
            continue
        if name.endswith(".pth"):
            for line in text.splitlines():
                line = line.strip()
                if line and not line.startswith(("#", "import ", "import\t")):
                    out.append((pm.normpath(line if pm.isabs(line) else pm.join(site, line)), path))
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
            if getattr(target, "id", None) != "MAPPING" or getattr(node, "value", None) is None:
                continue
            try:
                mapping = ast.literal_eval(node.value)
            except ValueError:
                continue
            for value in (mapping.values() if isinstance(mapping, dict) else ()):
                if isinstance(value, str) and value:
                    out.append((pm.normpath(value), path))
    return out


def _norm(system: System, path: str) -> str:
    path = system.pathmod.normpath(path) if path else path
    return path.lower() if system.platform == "windows" else path


def _under(system: System, path: str, folder: Optional[str]) -> bool:
    if not folder:
        return False
    p, f = _norm(system, path), _norm(system, folder).rstrip("/\\")
    sep = "\\" if system.platform == "windows" else "/"
    return p == f or p.startswith(f + sep)


def classify(system: System, interpreter: Interpreter, sys_path: Sequence[str], *,
             cwd: Optional[str] = None) -> List[PathEntry]:
    """Each sys.path entry with its kind and the reason it is on sys.path."""
    pm = system.pathmod
    minor = ".".join(interpreter.version.split(".")[:2]) if interpreter.version else None
    pythonpath = {_norm(system, p) for p in (system.getenv("PYTHONPATH") or "").split(system.pathsep) if p}
    sites = [p for p in sys_path if p and re.search(r"[/\\](site|dist)-packages$", p)]
    pth = pth_entries(system, sites)
    user_site = interpreter.user_site
    out: List[PathEntry] = []
    for i, raw in enumerate(sys_path):
        resolved = raw or (cwd or "")
        if resolved and not pm.isabs(resolved) and cwd:
            resolved = pm.join(cwd, resolved)
        norm = _norm(system, resolved)
        version = path_python_version(resolved)
        exists = bool(resolved) and system.exists(resolved)
        if raw == "" or (cwd and norm == _norm(system, cwd) and i == 0):
            kind, source = "cwd", "sys.path[0]: the working folder (the notebook's folder in Jupyter)"
        elif user_site and norm == _norm(system, user_site):
            kind, source = "user-site", "site.USER_SITE"
        elif norm in pythonpath:
            kind, source = "pythonpath", "PYTHONPATH"
            if version and minor and version != minor:
                kind = "foreign-user-site" if _looks_user(resolved) else "foreign-site"
                source = "PYTHONPATH"
        elif version and minor and version != minor and re.search(r"[/\\](site|dist)-packages$", resolved):
            kind = "foreign-user-site" if _looks_user(resolved) else "foreign-site"
            source = "sys.path"
        elif norm in pth:
            kind, source = "pth", pth[norm]
        elif re.search(r"[/\\](site|dist)-packages$", resolved):
            kind, source = "site", "site"
        elif (_under(system, resolved, interpreter.base_prefix) or _under(system, resolved, interpreter.prefix)
              or resolved.endswith(".zip")):
            kind, source = "stdlib", "the interpreter's standard library"
        else:
            kind, source = "other", "sys.path"
        out.append(PathEntry(index=i, path=raw, resolved=resolved, kind=kind, exists=exists, source=source,
                             python_version=version))
    unexplained = [e.resolved for e in out if e.kind == "other"]
    if unexplained:
        mentions = pth_code_mentions(system, sites, unexplained)
        out = [e.replace(source=f"code in {mentions[e.resolved]} (run at start-up)") if e.kind == "other" and
               e.resolved in mentions else e for e in out]
    return out


def _looks_user(path: str) -> bool:
    norm = path.replace("\\", "/")
    return "/.local/lib/" in norm or "/AppData/Roaming/Python/" in norm or "/Library/Python/" in norm \
        or bool(re.search(r"/Python/Python\d+", norm))


def _match(names: Tuple[str, ...], top: str) -> List[Tuple[str, str]]:
    """(entry name, form) in a folder listing that ``import top`` could load."""
    out = []
    if top in names:
        out.append((top, "package"))   # package or namespace portion: decided by the caller
    for name in names:
        if not name.startswith(top + "."):
            continue
        match = _EXT.match(name)
        if match and match.group("stem") == top:
            ext = match.group("ext")
            if ext in ("so", "pyd"):
                out.append((name, "extension"))
            elif ext == "py" or (ext == "pyc" and not match.group("tail")):
                out.append((name, "module"))
    return out


def candidates(system: System, entries: Sequence[PathEntry], top: str) -> List[Candidate]:
    """Every place on sys.path ``import top`` could load, in the order Python's path finder tries them.

    Regular packages, modules and extensions are taken at the first entry that has one; folders without
    ``__init__.py`` are namespace portions, used only when no entry has a regular one, so they sort last.
    """
    pm = system.pathmod
    regular: List[Candidate] = []
    namespace: List[Candidate] = []
    for entry in entries:
        if not entry.resolved or not entry.exists or entry.resolved.endswith(".zip"):
            continue
        names = site_listing(system, entry.resolved)
        for name, form in _match(names, top):
            path = pm.join(entry.resolved, name)
            if form == "package":
                if not system.is_dir(path):
                    continue
                if not (system.is_file(pm.join(path, "__init__.py")) or system.is_file(pm.join(path, "__init__.pyc"))
                        or any(n.startswith("__init__.") for n in site_listing(system, path))):
                    namespace.append(Candidate(entry, path, "namespace"))
                    continue
            regular.append(Candidate(entry, path, form))
    return regular + namespace


def new_since_start(system: System, interpreter: Interpreter, sys_path: Sequence[str],
                    start_time: Optional[float]) -> List[Tuple[str, str]]:
    """Folders the running kernel would have on sys.path if it started now: (folder, why).

    The user site-packages folder is added by ``site`` at start-up only if it exists then; ``pip install
    --user`` creates it later. ``.pth`` files are read only at start-up, so an editable install made after
    start is invisible until a restart.
    """
    pm = system.pathmod
    have = {_norm(system, p) for p in sys_path if p}
    out: List[Tuple[str, str]] = []
    us = interpreter.user_site
    if us and interpreter.user_site_enabled and _norm(system, us) not in have and system.is_dir(us):
        out.append((us, "the user site-packages folder exists now but was not on sys.path when the kernel "
                        "started"))
    sites = [p for p in sys_path if p and re.search(r"[/\\](site|dist)-packages$", p)]
    if us and system.is_dir(us):
        sites.append(us)
    for folder, pth in pth_entries(system, sites).items():
        if folder in have or not system.is_dir(folder):
            continue
        newer = ""
        if start_time is not None:
            try:
                if system.stat(pth).st_mtime > start_time:
                    newer = " (written after the kernel started)"
            except OSError:
                pass
        out.append((folder, f"added by {pm.basename(pth)}{newer}, which is read only at start-up"))
    # An editable finder's folders are never on sys.path, so only a finder written after start-up counts.
    for folder, pth in editable_finder_entries(system, sites).items():
        try:
            if start_time is None or system.stat(pth).st_mtime <= start_time or not system.is_dir(folder):
                continue
        except OSError:
            continue
        out.append((folder, f"mapped by the editable finder of {pm.basename(pth)} (written after the kernel "
                            f"started), which is installed only at start-up"))
    return out


def process_start_time(system: System) -> Optional[float]:
    """When the live process started (seconds since the epoch), or None where this cannot be told."""
    if not system.live:
        return None
    try:
        import os

        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/self/stat", "rb") as fh:
            stat = fh.read().decode()
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        with open("/proc/stat", "rb") as fh:
            for line in fh.read().decode().splitlines():
                if line.startswith("btime "):
                    return int(line.split()[1]) + start_ticks / ticks
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil  # optional; gives the same answer on Windows and macOS

        return float(psutil.Process().create_time())
    except Exception:
        return None
