"""Where an import name comes from: its distribution, the files on sys.path that could be it."""
from __future__ import annotations

from typing import List, Optional, Tuple

from ...knowledge import tables as knowledge_tables
from ...model import Evidence
from .. import Context


def distribution_for(ctx: Context, module: str) -> Tuple[str, bool, str]:
    """(distribution name, validated?, where the answer came from) for an import name."""
    table = knowledge_tables.import_names()
    parts = module.split(".")
    # The longest dotted prefix that the table knows (google.protobuf before google).
    for i in range(len(parts), 0, -1):
        entry = table.get(".".join(parts[:i]))
        if entry:
            return entry["dist"], True, f"knowledge/import_names.json#{entry['id']}"
    if ctx.interpreter is not None:
        for dist in ctx.distributions.providing(module):
            return dist.name, True, dist.path
    return parts[0], False, "assumed: the distribution is named like the module"


#: Files that make a folder a package of code; a namespace folder with none of them in reach is only data.
_CODE_SUFFIXES = (".py", ".pyc", ".so", ".pyd")
_WALK_LIMIT = 2000


def code_free_namespace(ctx: Context, top: str) -> List:
    """The folders that ``import top`` made into a namespace package, when every one of them is local (the
    working folder, PYTHONPATH: no installer put it there), no installed distribution provides ``top``, and
    none holds any Python code: an empty or data-only folder that happens to have the name. [] otherwise."""
    cache = ctx.cache.setdefault("code-free-namespaces", {})
    if top not in cache:
        cache[top] = _code_free_namespace(ctx, top)
    return cache[top]


def _code_free_namespace(ctx: Context, top: str) -> List:
    from ..environment._facts import environment_facts

    if ctx.distributions.providing(top):
        return []
    cands = environment_facts(ctx).candidates(top)
    if not cands or any(c.form != "namespace" or not c.local for c in cands):
        return []
    return cands if not any(_holds_code(ctx, c.path) for c in cands) else []


def _holds_code(ctx: Context, folder: str) -> bool:
    """Any Python source, bytecode or extension under ``folder`` (bounded; a folder too big to read counts).
    Bytecode in a ``__pycache__`` folder is not code there: Python reads it only beside its ``.py`` (PEP 3147),
    so a folder whose sources were deleted and whose ``__pycache__`` stayed imports as an empty namespace."""
    pending, seen = [folder], 0
    while pending:
        try:
            entries = list(ctx.system.scandir(pending.pop()))
        except OSError:
            return True
        for entry in entries:
            seen += 1
            if seen > _WALK_LIMIT:
                return True
            if entry.name.endswith(_CODE_SUFFIXES):
                return True
            if entry.is_dir() and entry.name != "__pycache__":
                pending.append(entry.path)
    return False


def orphan_bytecode(ctx: Context, folder: str, limit: int = 3) -> List[str]:
    """``__pycache__/*.pyc`` files directly under ``folder`` (bytecode whose ``.py`` is gone: never imported)."""
    cache = ctx.system.join(folder, "__pycache__")
    try:
        names = sorted(e.name for e in ctx.system.scandir(cache) if e.name.endswith(".pyc"))
    except OSError:
        return []
    return [ctx.system.join(cache, n) for n in names[:limit]]


def orphan_bytecode_of(ctx: Context, folder: str, name: str) -> List[str]:
    """``folder/__pycache__/name.<tag>.pyc`` files: the compiled cache of a module ``name.py`` that is no
    longer beside it. Python never imports such a file (PEP 3147), so the module is gone although its cache
    is not."""
    cache = ctx.system.join(folder, "__pycache__")
    try:
        names = sorted(e.name for e in ctx.system.scandir(cache)
                       if e.name.startswith(name + ".") and e.name.endswith(".pyc") and e.name.count(".") == 2)
    except OSError:
        return []
    return [ctx.system.join(cache, n) for n in names[:3]]


def _env_line(ctx: Context) -> Evidence:
    it = ctx.interpreter
    return Evidence("kernel interpreter", f"{it.executable} (Python {it.version}, {it.environment_kind})",
                    "sys.executable" if it.source == "sys" else it.source)


def locate(ctx: Context, top: str) -> List[str]:
    """Every file or folder on sys.path that could be imported as ``top``, in search order."""
    found = []
    suffixes = (".py", ".pyc", ".so", ".pyd")
    for folder in ctx.site_folders:
        for entry in ctx.system.scandir(folder):
            name = entry.name
            if name == top:
                if entry.is_dir():
                    found.append(entry.path)
            elif name.startswith(top + ".") and name.endswith(suffixes):
                found.append(entry.path)
    return found


def _stdlib_entry(module: str) -> Optional[dict]:
    return knowledge_tables.stdlib_changes().get(module)


def _is_environment_path(ctx: Context, path: str) -> bool:
    norm = path.replace("\\", "/")
    if "/site-packages/" in norm or "/dist-packages/" in norm:
        return True
    if ctx.interpreter is None:
        # From text alone: the standard library folder looks like .../lib/pythonX.Y/..., or on Windows
        # <install>\Lib\..., which Python may print in lower case (C:\...\Python310\lib\collections\...,
        # ...\anaconda3\lib\...).
        import re

        from ...failure.modules import in_app_root_package

        return bool(re.search(r"/lib(?:64)?/python\d+\.\d+/|/Lib/", norm)) or in_app_root_package(norm) or bool(
            ("\\" in path or re.match(r"[A-Za-z]:", path))
            and re.search(r"/(?:python\d{0,3}[\w.\-]{0,20}|(?:ana|mini)conda\d?|miniforge\d?|mambaforge"
                          r"|envs/[^/]{1,200})/lib/", norm, re.IGNORECASE))
    for prefix in {ctx.interpreter.prefix, ctx.interpreter.base_prefix}:
        if prefix and norm.startswith(prefix.replace("\\", "/").rstrip("/") + "/"):
            return True
    return _installed_in_own_folder(ctx, norm)


def _installed_in_own_folder(ctx: Context, norm: str) -> bool:
    """The file lies in a folder on sys.path whose own metadata provides it (``pip install --target DIR``, a
    folder on PYTHONPATH with its dist-info): put there by an installer, not a file of the user's. An egg-info
    beside the code ('setup.py develop' in the user's project) does not count: that folder is the user's."""
    for dist in ctx.distributions.all():
        if not (dist.path or "").endswith(".dist-info"):
            continue
        folder = (dist.location or "").replace("\\", "/").rstrip("/")
        if folder and norm.startswith(folder + "/"):
            top = norm[len(folder) + 1:].split("/", 1)[0]
            top = top[:-3] if top.endswith(".py") else top
            if any(d.location == dist.location for d in ctx.distributions.providing(top)):
                return True
    return False
