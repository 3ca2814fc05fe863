"""What the planner reads about an environment, offline: who depends on what (Requires-Dist of every
installed distribution), which tool owns the environment (pip, uv, conda/mamba, PEP 668), where each
distribution came from (direct_url.json, local version labels) and the interpreter's tags."""
from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, List, Optional, Tuple

from .._record import Record
from ..facts.distributions import normalize
from ..knowledge import load as load_table
from ..model import Evidence

if TYPE_CHECKING:
    from ..diagnosis import Context


class Dependent(Record):
    """``name`` ``version`` declares ``requirement`` (its Requires-Dist line, as ``dep<spec>``)."""

    name: str
    version: str
    dependency: str
    spec: str
    where: str

    @property
    def requirement(self) -> str:
        return f"{self.dependency}{self.spec}"


class Owner(Record):
    """The tool that installs into this environment."""

    tool: str            # pip | uv | conda | mamba | micromamba | externally-managed | none
    has_pip: bool
    why: str
    #: pip's metadata folder when pip's code is gone from beside it (''python -m pip'': 'No module named pip',
    #: and ensurepip answers 'Requirement already satisfied' and adds nothing); "" otherwise
    damaged_pip: str = ""


#: Interpreter.platform → the values of PEP 508's sys_platform, platform_system and os_name there.
_PLATFORM_MARKERS = {"linux": ("linux", "Linux", "posix"), "windows": ("win32", "Windows", "nt"),
                     "macos": ("darwin", "Darwin", "posix")}


def marker_environment(ctx: "Context") -> dict:
    """PEP 508 marker values of the *target* interpreter (its version, platform, machine, implementation),
    which may differ from dllmagic's own Python; values the probe does not report keep packaging's default
    (this process's), as no marker of those is decided by the target here."""
    it = ctx.interpreter
    if it is None:
        return {"extra": ""}
    env = {"extra": ""}
    parts = (it.version or "").split(".")
    if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
        env["python_version"] = f"{parts[0]}.{parts[1]}"
        env["python_full_version"] = it.version
    impl = (it.implementation or "").lower()
    if impl in ("cpython", "cp"):
        env.update(implementation_name="cpython", platform_python_implementation="CPython")
        if "python_full_version" in env:
            env["implementation_version"] = it.version
    elif impl in ("pypy", "pp"):
        env.update(implementation_name="pypy", platform_python_implementation="PyPy")
    if it.platform in _PLATFORM_MARKERS:
        env["sys_platform"], env["platform_system"], env["os_name"] = _PLATFORM_MARKERS[it.platform]
    if it.architecture:
        env["platform_machine"] = it.architecture
    return env


def target_requirements(dist, environment: dict) -> list:
    """Requires-Dist of ``dist`` that apply in ``environment`` (markers evaluated for the target, no extras)."""
    return dist.requirements(environment)


def _requirements(ctx: "Context"):
    """[(distribution, its requirements for the target interpreter)] for the first distribution of each name
    on sys.path (the one imported), and {normalised name: distribution}; read once per report."""
    cached = ctx.cache.get("planner_requirements")
    if cached is None:
        rows, first = [], {}
        environment = marker_environment(ctx)
        for dist in ctx.distributions.all():
            if dist.key in first:
                continue
            first[dist.key] = dist
            try:
                rows.append((dist, target_requirements(dist, environment)))
            except Exception:  # unreadable metadata: that distribution constrains nothing we can read
                rows.append((dist, []))
        cached = ctx.cache["planner_requirements"] = (rows, first)
    return cached


def dependents(ctx: "Context", name: str, *, exclude: Tuple[str, ...] = ()) -> List[Dependent]:
    """Installed distributions whose Requires-Dist names ``name`` with a version specifier."""
    out: List[Dependent] = []
    if ctx.interpreter is None:
        return out
    key = normalize(name)
    skip = {normalize(n) for n in exclude}
    for dist, reqs in _requirements(ctx)[0]:
        if dist.key in skip or dist.key == key:
            continue
        for req in reqs:
            if normalize(req.name) == key and str(req.specifier):
                out.append(Dependent(dist.name, dist.version, key, str(req.specifier), dist.path + "/METADATA"))
    return out


def broken_requirements(ctx: "Context", names: Optional[Tuple[str, ...]] = None) -> List[Dependent]:
    """What ``pip check`` would list, read from disk: requirements an installed version does not satisfy
    (only those on ``names`` when given)."""
    from .versions import satisfies

    out: List[Dependent] = []
    if ctx.interpreter is None:
        return out
    wanted = {normalize(n) for n in names} if names else None
    rows, first = _requirements(ctx)
    for dist, reqs in rows:
        for req in reqs:
            key = normalize(req.name)
            if wanted is not None and key not in wanted:
                continue
            target = first.get(key)
            if target is None or not str(req.specifier):
                continue
            if satisfies(str(req.specifier), target.version) is False:
                out.append(Dependent(dist.name, dist.version, key, str(req.specifier), dist.path + "/METADATA"))
    return out


def _pyvenv_cfg(ctx: "Context") -> str:
    it = ctx.interpreter
    try:
        return ctx.system.read_text(ctx.system.join(it.prefix, "pyvenv.cfg"), limit=16384)
    except (OSError, AttributeError, TypeError):
        return ""


def owner(ctx: "Context") -> Owner:
    it = ctx.interpreter
    if it is None:
        return Owner("none", False, "a pasted text: the interpreter is unknown")
    pip = ctx.distributions.get("pip")
    damaged = pip.path if pip is not None and _code_gone(ctx, pip, "pip") else ""
    has_pip = pip is not None and not damaged
    kind = it.environment_kind
    if kind == "system-externally-managed":
        return Owner("externally-managed", has_pip, "EXTERNALLY-MANAGED (PEP 668) next to the standard library")
    if kind in ("conda", "mamba", "micromamba") or ctx.system.is_dir(ctx.system.join(it.prefix, "conda-meta")):
        frontend = kind if kind in ("mamba", "micromamba") else "conda"
        return Owner(frontend, has_pip, f"{it.prefix}/conda-meta")
    cfg = _pyvenv_cfg(ctx)
    made_by_uv = kind == "uv" or bool(re.search(r"^\s*uv\s*=", cfg, re.M))
    if made_by_uv and not has_pip and uv_missing(ctx):
        # A '!uv pip install' cell (and its argv) would end in 'uv: command not found' here.
        return Owner("pip", False, "pyvenv.cfg names uv, but no uv is on this PATH, and the environment has no "
                                   "pip (python -m ensurepip adds it)")
    if made_by_uv and not has_pip:
        return Owner("uv", False, "pyvenv.cfg names uv and the environment has no pip")
    if not has_pip and kind in ("venv", "virtualenv") and _which(ctx, "uv"):
        return Owner("uv", False, "the environment has no pip; uv is on PATH")
    if damaged:
        return Owner("pip", False, f"pip's metadata {damaged} is there, but its code (pip/__init__.py) is gone",
                     damaged_pip=damaged)
    return Owner("pip", has_pip, "pip is installed in the environment" if has_pip else
                 "no pip in the environment (python -m ensurepip adds it)")


def _code_gone(ctx: "Context", dist, package: str) -> bool:
    """``dist`` (on this machine, a regular package ``package``) has no ``package``/__init__.py beside its
    metadata (one stat; no RECORD is read while a kernel waits)."""
    if not getattr(ctx.system, "live", False) or not dist.location or dist.location.lower().endswith((".egg", ".zip")):
        return False
    return not ctx.system.is_file(ctx.system.join(dist.location, package, "__init__.py"))


def has_ensurepip(ctx: "Context") -> bool:
    """The interpreter's standard library holds ensurepip (``python -m ensurepip`` can add pip)."""
    for entry in ctx.sys_path:
        if entry and ctx.system.is_file(ctx.system.join(entry, "ensurepip", "__init__.py")):
            return True
    return False


def writable(ctx: "Context", folder: str) -> Optional[bool]:
    """Can this user write into ``folder`` (an install, a rename)? None on a modelled machine (not known)."""
    import os

    if not getattr(ctx.system, "live", False) or not ctx.system.is_dir(folder):
        return None   # (a folder named by a pasted text need not exist here)
    return os.access(ctx.system.host_path(folder), os.W_OK)


def read_only_site(ctx: "Context") -> Optional[str]:
    """The environment's own site-packages folder when this user cannot write into it (a venv or conda
    environment another user owns, a read-only mount), so installs there fail with 'Permission denied'; None
    when it is writable or not known."""
    it = ctx.interpreter
    if it is None or not getattr(ctx.system, "live", False) or not it.prefix:
        return None
    pm = ctx.system.pathmod
    prefix = pm.normcase(pm.normpath(it.prefix))
    sites = [entry for entry in ctx.sys_path if entry and pm.basename(pm.normpath(entry)) in
             ("site-packages", "dist-packages") and pm.normcase(pm.normpath(entry)).startswith(prefix + pm.sep)
             and ctx.system.is_dir(entry)]
    if not sites or any(writable(ctx, site) for site in sites):
        return None
    return sites[0]


def pip_falls_back_to_user_site(ctx: "Context") -> bool:
    """pip installs into the user site by itself where site-packages is not writable: outside a virtual
    environment, with the user site enabled ('Defaulting to user installation because normal site-packages is
    not writeable')."""
    it = ctx.interpreter
    pm = ctx.system.pathmod
    in_venv = bool(_pyvenv_cfg(ctx)) or pm.normcase(pm.normpath(it.base_prefix or it.prefix)) != \
        pm.normcase(pm.normpath(it.prefix))
    return not in_venv and it.user_site_enabled


def conda_program(ctx: "Context", frontend: str) -> Optional[str]:
    """The conda (mamba, micromamba) that ``%conda install`` would run in this kernel, found as IPython finds it:
    $CONDA_EXE ($MAMBA_EXE), the program beside the kernel's Python, the one conda-meta/history's '# cmd:'
    lines ran, the one on PATH. None when none of them is there (a conda-pack'ed environment, an image whose
    conda was removed): the cell would fail. Only asked on this machine."""
    it = ctx.interpreter
    system = ctx.system
    candidates = [system.getenv("MAMBA_EXE" if "mamba" in frontend else "CONDA_EXE") or ""]
    if it is not None and it.executable:
        candidates.append(system.join(system.pathmod.dirname(it.executable), frontend))
        try:
            history = system.read_text(system.join(it.prefix, "conda-meta", "history"), limit=1 << 20)
        except (OSError, TypeError):
            history = ""
        for match in re.finditer(r"^#\s*cmd:\s*(\S*%s)\s+(?:create|install)" % re.escape(frontend), history or "",
                                 re.M):
            candidates.append(match.group(1))
    for candidate in candidates:
        if not candidate:
            continue
        if "/" in candidate or "\\" in candidate:
            if system.is_file(candidate):
                return candidate
        elif _which(ctx, candidate):
            return _which(ctx, candidate)
    return _which(ctx, frontend)


def uv_missing(ctx: "Context") -> bool:
    """On this machine no ``uv`` is on PATH, so a fix that runs ``uv`` cannot run (unknown on a modelled one)."""
    return bool(getattr(ctx.system, "live", False)) and _which(ctx, "uv") is None


def _which(ctx: "Context", program: str) -> Optional[str]:
    import shutil

    if not getattr(ctx.system, "live", False):
        return None
    return shutil.which(program)


def conda_owns(ctx: "Context", name: str) -> bool:
    """The distribution was installed by conda (its INSTALLER file says so)."""
    dist = ctx.distributions.get(name) if ctx.interpreter is not None else None
    return bool(dist is not None and (dist.installer or "").lower() in ("conda", "mamba", "micromamba"))


def direct_url(ctx: "Context", name: str) -> Optional[dict]:
    """direct_url.json (PEP 610) of an installed distribution: a local folder, an archive, a VCS checkout."""
    dist = ctx.distributions.get(name) if ctx.interpreter is not None else None
    if dist is None:
        return None
    text = dist._read("direct_url.json")
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def installed_from(ctx: "Context", name: str) -> Optional[str]:
    """Where an installed distribution came from when it was not a package index (PEP 610's direct_url.json):
    "an editable install of PATH", "the local folder PATH", "the local file PATH" (a wheel or sdist on this
    machine), "git URL@COMMIT"; None for an index install or an archive downloaded by URL. The index's
    release of that name may be another project or another build, and is not the code installed here."""
    return source_of(direct_url(ctx, name))


def source_of(data: Optional[dict]) -> Optional[str]:
    """:func:`installed_from`'s answer for a direct_url.json already read (any environment's)."""
    if not isinstance(data, dict):
        return None
    url = data.get("url") if isinstance(data.get("url"), str) else ""
    where = _file_url_path(url) or url
    dir_info, vcs_info = data.get("dir_info"), data.get("vcs_info")
    if isinstance(dir_info, dict):
        return f"an editable install of {where}" if dir_info.get("editable") else f"the local folder {where}"
    if isinstance(data.get("archive_info"), dict) and _file_url_path(url):
        return f"the local file {where}"
    if isinstance(vcs_info, dict):
        commit = vcs_info.get("commit_id") if isinstance(vcs_info.get("commit_id"), str) else ""
        return f"{vcs_info.get('vcs') or 'a version-control'} checkout {url}" + (f"@{commit[:12]}" if commit else "")
    return None


def _file_url_path(url: str) -> Optional[str]:
    """The path of a ``file://`` URL (percent-escapes undone; ``/C:/x`` → ``C:/x``), else None."""
    if not url.startswith("file://"):
        return None
    from urllib.parse import unquote

    path = unquote(url[len("file://"):])
    if path.startswith("localhost/"):
        path = path[len("localhost"):]
    return path[1:] if re.match(r"/[A-Za-z]:[/\\]", path) else path or None


class LocalArchive(Record):
    """The archive file an installed distribution was installed from (direct_url.json's ``archive_info``)."""

    path: str
    exists: bool
    #: the same build as the one installed (None: not known)
    same: Optional[bool]
    #: how ``same`` was decided: "RECORD" (the wheel's file hashes against the installed RECORD's), "sha256"
    how: str = ""


#: Files bigger than this are not hashed whole while a kernel waits (a 2 GB wheel takes seconds); on demand
#: (dlldoctor check) the limit is higher. A wheel is compared by its RECORD, which costs no such read.
_HASH_LIMIT = 64 << 20
_HASH_LIMIT_ON_DEMAND = 1 << 30


def local_archive(ctx: "Context", name: str) -> Optional[LocalArchive]:
    """The local wheel or sdist ``name`` was installed from, whether it is still there and still the same
    build; None when it was not installed from a local file. A wheel is the same build when every file its
    RECORD lists has the hash the installed RECORD lists (pip and uv alike; uv records no archive hash);
    any other archive when its sha256 is the one pip recorded."""
    data = direct_url(ctx, name)
    info = data.get("archive_info") if data else None
    path = _file_url_path(data.get("url") or "") if data and isinstance(data.get("url"), str) else None
    if not isinstance(info, dict) or not path:
        return None
    if not ctx.system.is_file(path):
        return LocalArchive(path=path, exists=False, same=None)
    dist = ctx.distributions.get(name)
    if path.lower().endswith(".whl") and dist is not None:
        same = _wheel_matches_record(ctx, path, dist)
        if same is not None:
            return LocalArchive(path=path, exists=True, same=same, how="RECORD")
    recorded = ""
    hashes = info.get("hashes")
    if isinstance(hashes, dict) and isinstance(hashes.get("sha256"), str):
        recorded = "sha256=" + hashes["sha256"]
    elif isinstance(info.get("hash"), str) and info["hash"].startswith("sha256="):
        recorded = info["hash"]
    limit = _HASH_LIMIT_ON_DEMAND if ctx.cache.get("on_demand") else _HASH_LIMIT
    digest = _sha256(ctx, path, limit) if recorded else None
    same = None if digest is None else ("sha256=" + digest).lower() == recorded.lower()
    return LocalArchive(path=path, exists=True, same=same, how="sha256" if same is not None else "")


def _sha256(ctx: "Context", path: str, limit: int) -> Optional[str]:
    """The sha256 of a regular file of at most ``limit`` bytes, else None (a FIFO never blocks the read)."""
    import hashlib
    import os
    import stat

    try:
        fd = os.open(ctx.system.host_path(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        h = hashlib.sha256()
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
        return h.hexdigest()


def _record_hashes(text: str) -> dict:
    """path → hash of a RECORD's rows that have one (``sha256=…``)."""
    import csv
    import io

    out = {}
    for row in csv.reader(io.StringIO(text)):
        if len(row) >= 2 and row[1]:
            out[row[0]] = row[1]
    return out


def _wheel_matches_record(ctx: "Context", path: str, dist) -> Optional[bool]:
    """Does the wheel at ``path`` hold the files the installed ``dist`` RECORD lists (same hashes)? Only the
    wheel's RECORD is read (no file is extracted); None when either RECORD cannot be read."""
    import os
    import stat
    import zipfile

    installed_text = dist._read("RECORD")
    if not installed_text:
        return None
    installed = _record_hashes(installed_text)
    folder = ctx.system.pathmod.basename(dist.path)
    try:
        fd = os.open(ctx.system.host_path(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            with zipfile.ZipFile(fh) as wheel:
                member = f"{folder}/RECORD"
                if member not in wheel.namelist() or wheel.getinfo(member).file_size > (16 << 20):
                    return None
                in_wheel = _record_hashes(wheel.read(member).decode("utf-8", "replace"))
    except (OSError, ValueError, zipfile.BadZipFile, KeyError, RuntimeError):
        return None
    # The package's own files (not the dist-info, whose INSTALLER and direct_url.json the install writes, nor
    # the .data folders, which are installed elsewhere).
    files = {p: h for p, h in in_wheel.items()
             if not p.startswith(folder + "/") and ".data/" not in p.split("/", 1)[0] + "/"}
    if not files:
        return None
    return all(installed.get(p) == h for p, h in files.items())


def target_folder(ctx: "Context", name: str) -> Optional[str]:
    """The folder an installed distribution lies in when that folder is no site-packages of the interpreter but
    a folder put on sys.path by hand (PYTHONPATH, the working folder, sys.path.insert): where ``pip install
    --target`` puts packages. A reinstall belongs there, not in site-packages. None otherwise."""
    from ..diagnosis.environment._facts import environment_facts
    from ..facts.syspath import SITE_KINDS

    dist = ctx.distributions.get(name) if ctx.interpreter is not None else None
    if dist is None or not dist.location or dist.location.lower().endswith((".egg", ".zip")) \
            or not ctx.system.is_dir(dist.location):
        return None
    pm = ctx.system.pathmod
    where = pm.normcase(pm.normpath(dist.location))
    for entry in environment_facts(ctx).entries:
        if entry.resolved and pm.normcase(pm.normpath(entry.resolved)) == where:
            return dist.location if entry.kind in ("pythonpath", "other") and entry.kind not in SITE_KINDS else None
    return None


def in_user_site(ctx: "Context", name: str) -> bool:
    """The installed distribution lies in this interpreter's user site-packages ('pip install --user'): a
    reinstall goes there too (--user), not into the interpreter's own site-packages."""
    dist = ctx.distributions.get(name) if ctx.interpreter is not None else None
    user_site = ctx.interpreter.user_site if ctx.interpreter is not None else None
    if dist is None or not dist.location or not user_site or not ctx.interpreter.user_site_enabled:
        return False
    pm = ctx.system.pathmod
    return pm.normcase(pm.normpath(dist.location)) == pm.normcase(pm.normpath(user_site))


def local_label(version: Optional[str]) -> Optional[str]:
    if not version or "+" not in version:
        return None
    return version.split("+", 1)[1]


def index_for(name: str, version: Optional[str]) -> Optional[Tuple[str, dict]]:
    """(index URL, table row) for a distribution whose local label names a known index (torch 2.3.0+cpu)."""
    label = local_label(version)
    if not label:
        return None
    for entry in load_table("package_indexes")["entries"]:
        if normalize(name) in {normalize(d) for d in entry["dists"]} and re.match(entry["local_label"], label):
            return entry["index_url"].format(label=label), entry
    return None


def interpreter_evidence(ctx: "Context") -> Optional[Evidence]:
    it = ctx.interpreter
    if it is None:
        return None
    major_minor = "".join(it.version.split(".")[:2])
    tag = ("cp" if it.implementation.lower() in ("cpython", "cp") else "pp") + major_minor
    return Evidence("interpreter tags", f"{tag}, {it.platform} {it.architecture}, {it.bits}-bit",
                    "sys.version_info / platform")
