"""The wrong Python: installed in another environment, the wrong kernel, a local file that shadows the
package, a kernel that must restart, a user site of another Python, PEP 668, duplicate distributions.

Each rule proves its cause from files (site-packages listings, kernel.json, conda-meta, the notebook's
metadata, RECORD, the loaded module's version against the one on disk) and outranks the generic
``not-installed`` finding only when it has that proof.

Cause ids (stable; the report schema lists them):

* ``installed-in-other-environment`` — the module is installed in another environment on this machine.
* ``wrong-kernel`` — the notebook's kernelspec runs another interpreter than the one it is named after
  (or than this kernel), and that other environment has the module.
* ``shadowed-by-local-file`` — a file or folder outside site-packages (the notebook's folder, PYTHONPATH)
  has the package's name and is imported instead of it.
* ``restart-needed`` — the files on disk changed after the kernel imported or looked for the module.
* ``foreign-user-site`` — the module sits in (or sys.path holds) the user site-packages of another Python
  version.
* ``duplicate-distributions`` — two installed distributions provide the same top-level name.
* ``externally-managed`` — the kernel runs a PEP 668 system Python where pip refuses to install.
* ``mixed-installers`` — in a conda environment, pip installed over conda's copy of the package (or conda
  over pip's): conda-meta records against the .dist-info's INSTALLER and RECORD.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from .. import fixes
from ..facts import environments as envs
from ..facts import syspath
from ..facts.distributions import normalize
from ..model import Evidence, Finding, Fix
from . import Context, docs_for, rule

__all__ = ["CAUSES", "environment_facts"]

CAUSES = {
    "installed-in-other-environment": "the module is installed in another Python environment on this machine",
    "wrong-kernel": "the notebook's kernelspec runs another interpreter than the environment it is named after "
                    "(or than this kernel)",
    "shadowed-by-local-file": "a local file or folder with the package's name is imported instead of it",
    "restart-needed": "files changed on disk after the kernel imported or looked for the module",
    "foreign-user-site": "the module is in the user site-packages of another Python version",
    "duplicate-distributions": "two installed distributions provide the same top-level module",
    "externally-managed": "the kernel's Python is managed by the OS (PEP 668); pip will not install into it",
    "mixed-installers": "pip installed over conda's copy of the package, or conda over pip's, in a conda "
                        "environment",
}

_GENERIC_NAMES = {"python", "python3", "py", "venv", ".venv", "env", ".env", "base", "root", "ipykernel",
                  "kernel", "default", "3"}


# ------------------------------------------------------------------------------------------------ facts
@dataclass
class EnvironmentFacts:
    """The facts these rules share, gathered once per report (kept in ``ctx.cache``)."""

    ctx: Context
    _discovery: Optional[envs.Discovery] = None
    _entries: Optional[List[syspath.PathEntry]] = None
    _expectation: Optional[envs.NotebookExpectation] = None
    _candidates: Dict[str, List[syspath.Candidate]] = field(default_factory=dict)

    @property
    def notebook_dir(self) -> Optional[str]:
        exp = self.expectation_light()
        pm = self.ctx.system.pathmod
        if exp.get("notebook"):
            return pm.dirname(exp["notebook"])
        if self.ctx.cwd is None and self.ctx.system.live:
            import os

            return os.getcwd()  # the CLI: venvs in and above the folder the user runs it from
        return self.ctx.cwd

    def expectation_light(self) -> Dict[str, Any]:
        user_ns = _ctx_extra(self.ctx, "user_ns")
        path, _, _ = envs._notebook_path(self.ctx.system, user_ns, self.ctx.cwd)
        return {"notebook": path}

    @property
    def discovery(self) -> envs.Discovery:
        if self._discovery is None:
            self._discovery = envs.discover(self.ctx.system, self.ctx.interpreter, notebook_dir=self.notebook_dir)
        return self._discovery

    @property
    def entries(self) -> List[syspath.PathEntry]:
        if self._entries is None:
            self._entries = syspath.classify(self.ctx.system, self.ctx.interpreter, self.ctx.sys_path,
                                             cwd=self.ctx.cwd)
        return self._entries

    def candidates(self, top: str) -> List[syspath.Candidate]:
        if top not in self._candidates:
            self._candidates[top] = syspath.candidates(self.ctx.system, self.entries, top)
        return self._candidates[top]

    @property
    def expectation(self) -> envs.NotebookExpectation:
        if self._expectation is None:
            self._expectation = envs.notebook_expectation(
                self.ctx.system, self.ctx.interpreter, user_ns=_ctx_extra(self.ctx, "user_ns"),
                history=_ctx_extra(self.ctx, "history"), cwd=self.ctx.cwd,
                names=(self.ctx.top_level, _dist_name(self.ctx)), discovery=self.discovery)
        return self._expectation


def _ctx_extra(ctx: Context, name: str) -> Any:
    value = getattr(ctx, name, None)
    return value if value is not None else ctx.cache.get(name)


def environment_facts(ctx: Context) -> EnvironmentFacts:
    facts = ctx.cache.get("environment-facts")
    if facts is None:
        facts = ctx.cache["environment-facts"] = EnvironmentFacts(ctx)
    return facts


def _dist_name(ctx: Context) -> str:
    try:
        from .not_found import distribution_for

        return distribution_for(ctx, ctx.module)[0]
    except Exception:
        return ctx.top_level


def _kernel_line(ctx: Context) -> Evidence:
    it = ctx.interpreter
    return Evidence("kernel interpreter", f"{it.executable} (Python {it.version}, {it.environment_kind}, "
                                          f"prefix {it.prefix})", "sys.executable" if it.source == "sys" else it.source)


def _minor(version: Optional[str]) -> str:
    return ".".join((version or "?").split(".")[:2])


def _is_top_missing(ctx: Context) -> bool:
    """The failure says the top-level name itself is missing (not a submodule of an installed package)."""
    failure = ctx.failure
    if failure is None or failure.kind != "module-not-found":
        return False
    return (failure.module or ctx.target).split(".")[0] == ctx.top_level and (
        "." not in (failure.module or "") or not environment_facts(ctx).candidates(ctx.top_level))


# ------------------------------------------------------------------------------------------------ fixes
def install_fixes(ctx: Context, dist: str, *, validated: bool) -> List[Fix]:
    """Install ``dist`` into this kernel with the installer that owns its environment."""
    it = ctx.interpreter
    facts = environment_facts(ctx)
    current = facts.discovery.current
    out: List[Fix] = []
    try:
        fixes.validate_requirement(dist)
    except fixes.UnsafeName:
        return out
    kind = it.environment_kind
    conda_managed = kind in ("conda", "mamba", "micromamba") or bool(current and current.conda and kind != "pixi")
    if kind == "pixi":
        out.append(fixes.instruction(f"Add {dist} to the pixi project",
                                     f"This kernel runs a pixi environment ({it.prefix}); pixi.toml decides what "
                                     f"it holds. In the project folder run:  pixi add {dist}  (or pixi add --pypi "
                                     f"{dist}), then restart the kernel."))
    elif conda_managed:
        frontend = "micromamba" if kind == "micromamba" else ("mamba" if kind == "mamba" else "conda")
        exe = ctx.system.getenv("MAMBA_EXE") if frontend != "conda" else ctx.system.getenv("CONDA_EXE")
        out.append(fixes.conda_install(it, [_conda_name(ctx, dist)], frontend=frontend, executable=exe,
                                       channel="conda-forge"))
    has_pip = current.has_pip if current is not None else True
    # uv venvs have no pip: %pip would fail there. A plain venv made --without-pip gets uv only when uv is
    # on PATH; otherwise %pip stays (after 'python -m ensurepip').
    uv_on_path = envs._which(ctx.system, "uv") is not None
    if kind == "uv" or (not has_pip and uv_on_path and kind in ("venv", "virtualenv", "poetry", "hatch", "pipenv")):
        out.append(fixes.uv_pip_install(it, [dist], validated=validated))
    if has_pip or kind != "uv":
        out.append(fixes.pip_install(it, [dist], validated=validated))
    return out


def _conda_name(ctx: Context, dist: str) -> str:
    # conda-forge names are PyPI names lower-cased with '_' as '-' for nearly every pure-Python package.
    return normalize(dist)


def _display(env: envs.Environment) -> str:
    text = re.sub(r"[^A-Za-z0-9 ._()\[\]:+/-]", "-", env.name)[:60] or "env"
    return f"Python {_minor(env.version)} ({text})"


def _kernel_name(env: envs.Environment) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", env.name.lower()).strip("-._")[:60] or "python-env"


def switch_and_register(ctx: Context, env: envs.Environment, *, name: Optional[str] = None,
                        display: Optional[str] = None) -> List[Fix]:
    """Switch to a kernelspec that runs ``env``; register it as a kernel when none does (or when asked)."""
    facts = environment_facts(ctx)
    out: List[Fix] = []
    for spec in facts.discovery.kernelspecs_for(env):
        try:
            out.append(fixes.kernel_switch(spec.name, spec.display_name))
        except fixes.UnsafeName:
            continue
    if env.python and (name or not out):
        try:
            out.append(fixes.register_kernel(env.python, name or _kernel_name(env), display or _display(env),
                                             env.has_ipykernel))
        except fixes.UnsafeName:
            pass
    return out


# ------------------------------------------------------------------------------------------------ shadowing
@rule("module-not-found", "cannot-import-name")
def shadowed_by_local_file(ctx: Context) -> Iterable[Finding]:
    """A file or folder outside site-packages that has the package's name is imported first."""
    if ctx.interpreter is None:
        return
    facts = environment_facts(ctx)
    top = ctx.top_level
    cands = facts.candidates(top)
    failure = ctx.failure
    loaded = _live_file(ctx, top)
    first: Optional[syspath.Candidate] = None
    if loaded:
        first = next((c for c in cands if _same_file(ctx, c.path, loaded)), None)
    if first is None and failure is not None and failure.from_path:
        first = next((c for c in cands if _same_file(ctx, c.path, failure.from_path)), None)
    if first is None and cands:
        first = cands[0]
    if first is None or _is_installed(ctx, first, top):
        return
    hidden = [c for c in cands if c is not first and _is_installed(ctx, c, top)]
    not_a_package = failure is not None and "is not a package" in (failure.message or "")
    from_local = failure is not None and failure.from_path and _same_file(ctx, first.path, failure.from_path)
    installed = [d for d in (ctx.distributions.providing(top) or ctx.distributions.by_name(_dist_name(ctx)))
                 if d.location != first.entry.resolved]
    if not (hidden or installed or not_a_package or from_local):
        return
    ev = [_kernel_line(ctx),
          Evidence(f"'{top}' is imported from", first.path, f"sys.path[{first.entry.index}]: {first.entry.source}")]
    if hidden:
        ev.append(Evidence("the installed package it hides", hidden[0].path,
                           f"sys.path[{hidden[0].entry.index}]: {hidden[0].entry.source}"))
    elif installed:
        ev.append(Evidence("the installed distribution it hides", f"{installed[0].name} {installed[0].version}",
                           installed[0].path))
    if failure is not None:
        ev.append(Evidence("error", (failure.message or "").splitlines()[0][:300] if failure.message else "",
                           failure.exc_type))
    pm = ctx.system.pathmod
    new_path = _renamed(pm, first.path)
    base = pm.basename(first.path)
    fix_list = [fixes.rename(first.path, new_path, f"Rename {base} so it no longer hides '{top}'")]
    pyc = pm.join(pm.dirname(first.path), "__pycache__")
    if first.form == "module" and ctx.system.is_dir(pyc):
        ev.append(Evidence("compiled copies beside it", pyc, "also named after the module; delete them too"))
    fix_list.append(fixes.restart_kernel(f"so the real '{top}' is imported"))
    where = "the notebook's folder" if first.entry.kind == "cwd" else (
        "a PYTHONPATH folder" if first.entry.kind == "pythonpath" else "a folder on sys.path")
    hides = f", which hides the installed package at {hidden[0].path}" if hidden else (
        f", which hides the installed {installed[0].name} {installed[0].version}" if installed else "")
    yield Finding(
        kind=failure.kind if failure else "module-not-found", cause="shadowed-by-local-file", confidence=0.96,
        summary=f"'{top}' is imported from {first.path} in {where}{hides}: rename the local "
                f"{'file' if first.form != 'package' and first.form != 'namespace' else 'folder'}.",
        evidence=tuple(ev), fixes=tuple(fix_list), docs=docs_for(failure.kind if failure else "module-not-found",
                                                                 "shadowed-by-local-file"))


def _is_installed(ctx: Context, cand: syspath.Candidate, top: str) -> bool:
    """Put there by an installer: a site folder, or any folder whose own metadata provides it (--target)."""
    if not cand.local:
        return True
    return any(d.location == cand.entry.resolved for d in ctx.distributions.providing(top))


def _renamed(pm: Any, path: str) -> str:
    head, last = pm.split(path.rstrip("/\\"))
    return pm.join(head, f"my_{last}")


def _live_file(ctx: Context, top: str) -> Optional[str]:
    if ctx.live_modules is None:
        return None
    module = ctx.live_modules.get(top)
    path = getattr(module, "__file__", None) if module is not None else None
    if isinstance(path, str) and path:
        pm = ctx.system.pathmod
        if pm.basename(path).startswith("__init__."):
            return pm.dirname(path)
        return path
    return None


def _same_file(ctx: Context, a: str, b: str) -> bool:
    pm = ctx.system.pathmod
    na, nb = pm.normcase(pm.normpath(a)), pm.normcase(pm.normpath(b))
    if pm.basename(nb).startswith("__init__."):
        nb = pm.dirname(nb)
    if pm.basename(na).startswith("__init__."):
        na = pm.dirname(na)
    return na == nb


# ------------------------------------------------------------------------------------------------ restart
@rule("module-not-found", "cannot-import-name")
def restart_needed(ctx: Context) -> Iterable[Finding]:
    """Proven from evidence: the running kernel's view of the files is older than the files."""
    if ctx.interpreter is None or ctx.live_modules is None:
        return
    facts = environment_facts(ctx)
    top = ctx.top_level
    start = _start_time(ctx)
    ev: List[Evidence] = [_kernel_line(ctx)]
    if start is not None:
        ev.append(Evidence("kernel started", _when(start), "/proc/self/stat"))
    module = ctx.live_modules.get(top)
    if module is not None:
        yield from _loaded_is_stale(ctx, module, top, start, ev)
        return
    if not _is_top_missing(ctx):
        return
    cands = [c for c in facts.candidates(top) if _is_installed(ctx, c, top)]
    if cands:
        where = cands[0]
        ev.append(Evidence(f"'{top}' is on disk now", where.path, f"sys.path[{where.entry.index}]"))
        newer = _mtime(ctx, where.path)
        confidence = 0.9
        dists = ctx.distributions.providing(top)
        if dists:
            ev.append(Evidence("installed distribution", f"{dists[0].name} {dists[0].version}", dists[0].path))
            newer = max(newer or 0, _mtime(ctx, dists[0].path) or 0) or newer
        if newer is not None and start is not None and newer > start + _CLOCK_SLACK:
            ev.append(Evidence("installed after the kernel started", _when(newer), where.path))
            confidence = 0.97
        yield Finding(
            kind="module-not-found", cause="restart-needed", confidence=confidence,
            summary=f"'{top}' is installed at {where.path} now, but the running kernel looked for it before "
                    f"the files were there and Python's import caches still say it is absent: clear the "
                    f"caches (or restart the kernel) and import again.",
            evidence=tuple(ev),
            fixes=(fixes.invalidate_import_caches(), fixes.restart_kernel(f"so '{top}' is found")),
            docs=docs_for("module-not-found", "restart-needed"))
        return
    pm = ctx.system.pathmod
    for folder, why in syspath.new_since_start(ctx.system, ctx.interpreter, ctx.sys_path, start):
        names = envs.site_listing(ctx.system, folder)
        if envs._finds(names, top) is None:
            continue
        ev.append(Evidence(f"'{top}' is on disk in", pm.join(folder, envs._finds(names, top) or top), why))
        yield Finding(
            kind="module-not-found", cause="restart-needed", confidence=0.96,
            summary=f"'{top}' is installed in {folder}, which is not on this kernel's sys.path because {why}: "
                    f"restart the kernel.",
            evidence=tuple(ev), fixes=(fixes.restart_kernel(f"so {folder} is added to sys.path"),),
            docs=docs_for("module-not-found", "restart-needed"))
        return


def _loaded_is_stale(ctx: Context, module: Any, top: str, start: Optional[float],
                     ev: List[Evidence]) -> Iterable[Finding]:
    pm = ctx.system.pathmod
    loaded_file = getattr(module, "__file__", None)
    loaded_version = getattr(module, "__version__", None)
    reasons: List[str] = []
    dists = ctx.distributions.providing(top)
    disk = dists[0] if dists else None
    installed_copy = isinstance(loaded_file, str) and bool(loaded_file) and _installed_file(ctx, loaded_file, top)
    if isinstance(loaded_version, str) and disk is not None and installed_copy \
            and _vnorm(loaded_version) != _vnorm(disk.version):
        ev.append(Evidence(f"version of '{top}' loaded in this kernel", loaded_version, f"{top}.__version__"))
        ev.append(Evidence(f"version of {disk.name} on disk now", disk.version, disk.path))
        reasons.append(f"the kernel runs {top} {loaded_version} but {disk.version} is installed now")
    if isinstance(loaded_file, str) and loaded_file:
        if not ctx.system.exists(loaded_file):
            ev.append(Evidence("loaded file no longer on disk", loaded_file, f"{top}.__file__"))
            reasons.append(f"the file it was loaded from ({loaded_file}) was removed or replaced")
        elif start is not None and (_mtime(ctx, loaded_file) or 0) > start + _CLOCK_SLACK and _installed_file(
                ctx, loaded_file, top):
            ev.append(Evidence("loaded file changed after the kernel started", _when(_mtime(ctx, loaded_file) or 0),
                               loaded_file))
            reasons.append("its files were rewritten after the kernel started")
        folder = pm.dirname(loaded_file)
        for lib in ctx.system.loaded_libraries():
            if lib.endswith(" (deleted)") and lib.startswith(folder.rstrip("/\\")):
                ev.append(Evidence("native library mapped but deleted on disk", lib, "/proc/self/maps"))
                reasons.append("a native library it loaded was deleted or replaced on disk")
                break
    if not reasons:
        return
    fix_list = [fixes.restart_kernel(f"to load the installed {top}")]
    if ctx.system.platform == "windows":
        ev.append(Evidence("Windows", "a loaded .pyd cannot be replaced while the kernel runs",
                           "restart before upgrading"))
    kind = ctx.failure.kind if ctx.failure else "module-not-found"
    yield Finding(kind=kind, cause="restart-needed", confidence=0.97,
                  summary=f"'{top}' changed on disk after this kernel imported it: {'; '.join(reasons)}. "
                          f"Restart the kernel.",
                  evidence=tuple(ev), fixes=tuple(fix_list), docs=docs_for(kind, "restart-needed"))


#: The kernel's start time is known to the second (/proc/stat's btime): closer calls prove nothing.
_CLOCK_SLACK = 1.5


def _installed_file(ctx: Context, path: str, top: str) -> bool:
    """The loaded file came from an installed distribution (a local file being edited is another story)."""
    facts = environment_facts(ctx)
    for cand in facts.candidates(top):
        if _same_file(ctx, cand.path, path) or path.startswith(cand.path.rstrip("/\\") + ctx.system.pathmod.sep):
            return _is_installed(ctx, cand, top)
    return False


def _vnorm(version: str) -> str:
    try:
        from packaging.version import Version

        return str(Version(version))
    except Exception:
        return version.strip()


def _start_time(ctx: Context) -> Optional[float]:
    value = ctx.cache.get("process-start-time")
    if value is None:
        value = syspath.process_start_time(ctx.system)
        ctx.cache["process-start-time"] = value
    return value


def _mtime(ctx: Context, path: str) -> Optional[float]:
    try:
        return ctx.system.stat(path).st_mtime
    except OSError:
        return None


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


# ------------------------------------------------------------------------------------------------ elsewhere
def _named_after(spec: envs.Kernelspec, env: envs.Environment, system: Any) -> bool:
    """A kernelspec whose name or display name names ``env`` (by folder, prompt, conda name or project)."""
    pm = system.pathmod
    labels = {env.name, pm.basename(env.prefix.rstrip("/\\"))}
    base = pm.basename(env.prefix.rstrip("/\\")).lower()
    if base in (".venv", "venv", "env", ".env"):
        labels.add(pm.basename(pm.dirname(env.prefix.rstrip("/\\"))))
    words = {_slug(spec.name), _slug(spec.display_name)}
    for label in labels:
        slug = _slug(label.split("/")[0] if "/" in label else label)
        if not slug or slug in _GENERIC_NAMES:
            continue
        for word in words:
            if re.search(r"(^|-)" + re.escape(slug) + r"($|-)", word):
                return True
    return False


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")


@rule("module-not-found")
def installed_elsewhere(ctx: Context) -> Iterable[Finding]:
    """The module is not on this kernel's sys.path but is installed in another environment (or user site)."""
    if ctx.interpreter is None or not _is_top_missing(ctx):
        return
    facts = environment_facts(ctx)
    top = ctx.top_level
    if facts.candidates(top):
        return  # present here: shadowing, restart or broken installs explain it, not another environment
    locations = envs.locate(facts.discovery, top, ctx.system)
    exp = facts.expectation
    it = ctx.interpreter
    system = ctx.system
    dist = next((loc.distribution for loc in locations if loc.distribution), None) or _dist_name(ctx)
    base_ev = [_kernel_line(ctx)]
    history_ev = [Evidence("install in history ran another environment's installer", f"{cmd.line} → {prefix}",
                           cmd.cell)
                  for cmd, prefix in exp.foreign_installs
                  if not cmd.packages or any(normalize(re.split(r"[<>=!~\[]", p)[0]) in
                                             {normalize(top), normalize(dist)} for p in cmd.packages)]
    declared_ev = [Evidence("declared in", line, path) for path, line in exp.declared]

    # 1. wrong kernel: the notebook's kernelspec is named after an environment that has the module but runs
    #    another interpreter; or it runs another interpreter than this kernel's.
    spec = exp.kernelspec
    if spec is not None:
        for loc in locations:
            env = loc.environment
            if env.kind == "user-site":
                continue
            runs_env = spec.prefix is not None and envs.env_key(system, spec.prefix) == env.key
            if runs_env and exp.kernelspec_runs_this is False:
                ev = base_ev + [Evidence("the notebook asks for the kernel", f"{spec.name} ({spec.display_name})",
                                         exp.notebook or ""),
                                Evidence("that kernelspec runs", spec.argv[0] if spec.argv else "",
                                         spec.path or spec.source),
                                _found_ev(loc)] + history_ev + declared_ev
                yield Finding(
                    kind="module-not-found", cause="wrong-kernel", confidence=0.97,
                    summary=f"This notebook asks for the kernel '{spec.display_name}', which runs {env.prefix} "
                            f"where {_what(loc)} is installed, but this kernel runs {it.prefix}.",
                    evidence=tuple(ev), fixes=tuple(switch_and_register(ctx, env) + install_fixes(
                        ctx, dist, validated=True)),
                    docs=docs_for("module-not-found", "wrong-kernel"))
                return
            if not runs_env and _named_after(spec, env, system):
                ev = base_ev + [Evidence("the notebook asks for the kernel", f"{spec.name} ({spec.display_name})",
                                         exp.notebook or ""),
                                Evidence("its name refers to the environment", env.prefix,
                                         ", ".join(env.found_by[:2])),
                                Evidence("but its kernel.json runs", spec.argv[0] if spec.argv else "",
                                         spec.path or spec.source),
                                _found_ev(loc)] + history_ev + declared_ev
                yield Finding(
                    kind="module-not-found", cause="wrong-kernel", confidence=0.97,
                    summary=f"The kernel '{spec.display_name}' is named after {env.name} ({env.prefix}), where "
                            f"{_what(loc)} is installed, but its kernel.json runs {spec.argv[0] if spec.argv else '?'}"
                            f": it was registered from the wrong Python. Register it again from {env.name}'s "
                            f"Python.",
                    evidence=tuple(ev),
                    fixes=tuple(_reregister(ctx, env, spec) + install_fixes(ctx, dist, validated=True)),
                    docs=docs_for("module-not-found", "wrong-kernel"))
                return

    if not locations:
        if history_ev:
            # The history shows an install that went to another Python, even if we cannot see its files.
            yield Finding(
                kind="module-not-found", cause="installed-in-other-environment", confidence=0.9,
                summary=f"'{top}' was installed with a shell command that ran another environment's installer, "
                        f"not this kernel's: install it with %pip (which uses this kernel's Python).",
                evidence=tuple(base_ev + history_ev + declared_ev),
                fixes=tuple(install_fixes(ctx, dist, validated=False)),
                docs=docs_for("module-not-found", "installed-in-other-environment"))
        return

    # 2. other environments / user sites of other Pythons
    minor = _minor(it.version)
    def rank(loc: envs.Location) -> Tuple[int, int, int]:
        env = loc.environment
        return (0 if envs.same_python_minor(env.version, it.version) else 1,
                0 if env.kernelspecs else 1, 0 if env.kind != "user-site" else 1)
    locations.sort(key=rank)
    best = locations[0]
    env = best.environment
    found_ev = []
    for loc in locations[:6]:
        found_ev.append(_found_ev(loc))
        owner = _ownership(loc)
        if owner is not None and loc.environment.conda:
            found_ev.append(owner)
    if env.kind == "user-site" and not envs.same_python_minor(env.version, it.version):
        yield Finding(
            kind="module-not-found", cause="foreign-user-site", confidence=0.93,
            summary=f"{_what(best)} is installed in the user site-packages of Python {env.version} "
                    f"({best.site}), which this kernel's Python {minor} does not read: it was installed with "
                    f"another Python's 'pip install --user'. Install it for this kernel.",
            evidence=tuple(base_ev + found_ev + history_ev + declared_ev),
            fixes=tuple(install_fixes(ctx, dist, validated=True)),
            docs=docs_for("module-not-found", "foreign-user-site"))
        return
    version_note = ""
    if envs.same_python_minor(env.version, it.version) is False:
        version_note = (f" That environment runs Python {env.version}, this kernel {it.version}: its files "
                        f"would not import here even if the folder were added to sys.path.")
    fix_list: List[Fix] = []
    if envs.same_python_minor(env.version, it.version) is not False or env.kernelspecs:
        fix_list += switch_and_register(ctx, env)
    fix_list += install_fixes(ctx, dist, validated=True)
    if envs.same_python_minor(env.version, it.version) is False:
        fix_list += switch_and_register(ctx, env) if not env.kernelspecs else []
    owner = _ownership(best)
    if owner is not None and not env.conda:
        found_ev.append(owner)
    yield Finding(
        kind="module-not-found", cause="installed-in-other-environment", confidence=0.95,
        summary=f"{_what(best)} is installed in another environment, {env.name} ({env.kind}, Python "
                f"{env.version or '?'}, {env.prefix}), not in this kernel's ({it.prefix}).{version_note}",
        evidence=tuple(base_ev + found_ev + history_ev + declared_ev), fixes=tuple(_dedupe_fixes(fix_list)),
        docs=docs_for("module-not-found", "installed-in-other-environment"))


def _reregister(ctx: Context, env: envs.Environment, spec: envs.Kernelspec) -> List[Fix]:
    """Register ``env`` under the kernelspec's own name (so the notebook's metadata needs no change)."""
    out: List[Fix] = []
    if env.python:
        try:
            out.append(fixes.register_kernel(env.python, spec.name, _safe_display(spec.display_name, env),
                                             env.has_ipykernel))
        except fixes.UnsafeName:
            pass
    facts = environment_facts(ctx)
    for other in facts.discovery.kernelspecs_for(env):
        if other.name != spec.name:
            try:
                out.append(fixes.kernel_switch(other.name, other.display_name))
            except fixes.UnsafeName:
                pass
    return out


def _safe_display(text: str, env: envs.Environment) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9 ._()\[\]:+/-]{1,100}", text or "") else _display(env)


def _dedupe_fixes(items: Sequence[Fix]) -> List[Fix]:
    seen, out = set(), []
    for fix in items:
        if fix.id not in seen:
            seen.add(fix.id)
            out.append(fix)
    return out


def _what(loc: envs.Location) -> str:
    if loc.distribution:
        return f"{loc.distribution} {loc.version or ''}".strip()
    return loc.path


def _found_ev(loc: envs.Location) -> Evidence:
    env = loc.environment
    dist = f" ({loc.distribution} {loc.version}" + (f", installed by {loc.installer}" if loc.installer else "") + ")" \
        if loc.distribution else ""
    return Evidence(f"installed in {env.name} (Python {env.version or '?'}, {env.kind})", loc.path + dist,
                    loc.dist_path or loc.site)


def _ownership(loc: envs.Location) -> Optional[Evidence]:
    """conda-meta against pip's INSTALLER: who owns the files of that distribution."""
    if loc.conda_record and (loc.installer or "").lower() not in ("", "conda"):
        return Evidence("installer", f"{loc.installer} over conda: conda-meta also records it, but "
                                     f"{loc.installer} replaced its files", loc.conda_record)
    if loc.conda_record:
        return Evidence("installer", "conda", loc.conda_record)
    if loc.installer:
        return Evidence("installer", loc.installer, (loc.dist_path or "") + "/INSTALLER")
    return None


# ------------------------------------------------------------------------------------------------ kernelspec
@rule("module-not-found", "cannot-import-name")
def notebook_kernel_mismatch(ctx: Context) -> Iterable[Finding]:
    """The notebook's kernelspec runs another interpreter than this kernel, whatever has the module."""
    if ctx.interpreter is None:
        return
    facts = environment_facts(ctx)
    exp = facts.expectation
    spec = exp.kernelspec
    if spec is None or exp.kernelspec_runs_this is not False:
        return
    if ctx.failure is not None and ctx.failure.kind == "module-not-found" and spec.prefix and any(
            loc.environment.key == envs.env_key(ctx.system, spec.prefix)
            for loc in envs.locate(facts.discovery, ctx.top_level, ctx.system)):
        return  # installed_elsewhere names this with the proof that the module is there
    env = facts.discovery.environment(envs.env_key(ctx.system, spec.prefix or "")) if spec.prefix else None
    ev = [_kernel_line(ctx),
          Evidence("the notebook asks for the kernel", f"{spec.name} ({spec.display_name})", exp.notebook or ""),
          Evidence("that kernelspec runs", spec.argv[0] if spec.argv else "", spec.path or spec.source)]
    fix_list: List[Fix] = []
    try:
        fix_list.append(fixes.kernel_switch(spec.name, spec.display_name))
    except fixes.UnsafeName:
        pass
    kind = ctx.failure.kind if ctx.failure else "module-not-found"
    yield Finding(
        kind=kind, cause="wrong-kernel", confidence=0.6,
        summary=f"This notebook was saved with the kernel '{spec.display_name}', which runs "
                f"{env.prefix if env else spec.argv[0]}, but it is running on {ctx.interpreter.prefix}.",
        evidence=tuple(ev), fixes=tuple(fix_list), docs=docs_for(kind, "wrong-kernel"))


# ------------------------------------------------------------------------------------------------ sys.path
@rule("module-not-found", "cannot-import-name", "python-abi-mismatch", "missing-symbol", "native-init-failed")
def foreign_user_site_on_path(ctx: Context) -> Iterable[Finding]:
    """sys.path holds site-packages of another Python version and the failing module comes from there."""
    if ctx.interpreter is None:
        return
    facts = environment_facts(ctx)
    foreign = [e for e in facts.entries if e.kind in ("foreign-user-site", "foreign-site")]
    if not foreign:
        return
    top = ctx.top_level
    failure = ctx.failure
    files = [p for p in (failure.extension if failure else None, failure.from_path if failure else None,
                         _live_file(ctx, top)) if p]
    cands = facts.candidates(top)
    hit = None
    for entry in foreign:
        root = entry.resolved.rstrip("/\\")
        if any(f.startswith(root) for f in files) or (cands and cands[0].entry.index == entry.index):
            hit = entry
            break
    if hit is None:
        return
    kind = failure.kind if failure else "module-not-found"
    ev = [_kernel_line(ctx),
          Evidence(f"sys.path[{hit.index}] belongs to Python {hit.python_version}", hit.resolved, hit.source)]
    if cands and cands[0].entry.index == hit.index:
        ev.append(Evidence(f"'{top}' is imported from there", cands[0].path, f"sys.path[{hit.index}]"))
    fix_list = [fixes.instruction(
        f"Remove {hit.resolved} from sys.path",
        f"It holds packages built for Python {hit.python_version}; this kernel runs {ctx.interpreter.version}. "
        f"Unset PYTHONPATH (or remove the entry) in the kernelspec's env or the shell that starts Jupyter, "
        f"then restart the kernel.")]
    fix_list += install_fixes(ctx, _dist_name(ctx), validated=False)
    yield Finding(
        kind=kind, cause="foreign-user-site", confidence=0.94,
        summary=f"sys.path holds {hit.resolved}, the site-packages of Python {hit.python_version}, and '{top}' "
                f"comes from there, but this kernel runs Python {ctx.interpreter.version}.",
        evidence=tuple(ev), fixes=tuple(fix_list), docs=docs_for(kind, "foreign-user-site"))


def _files_overlap(providers, top: str) -> bool:
    """Two of the distributions list the same file under ``top`` in RECORD (one overwrote the other), or
    their RECORDs cannot tell (then the old answer stands)."""
    seen: dict = {}
    for dist in providers:
        files = {f.replace("\\", "/") for f in dist.record()
                 if f.replace("\\", "/").split("/", 1)[0] in (top, f"{top}.py") and "__pycache__" not in f}
        if not files:
            return True
        me = (dist.key, dist.location)
        for other, other_files in seen.items():
            if other != me and files & other_files:
                return True
        seen[me] = seen.get(me, set()) | files
    return False


@rule("module-not-found", "cannot-import-name")
def duplicate_distributions(ctx: Context) -> Iterable[Finding]:
    """Two installed distributions provide the same top-level name (one uninstall breaks the other)."""
    if ctx.interpreter is None:
        return
    top = ctx.top_level
    providers = ctx.distributions.providing(top)
    distinct = {(d.key, d.location) for d in providers}
    if len(distinct) < 2:
        return
    if not _files_overlap(providers, top):
        # A namespace package (google.* of google-auth and protobuf): each ships its own subpackage, no file
        # is shared, nothing overwrites anything. Never "duplicates".
        return
    kind = ctx.failure.kind if ctx.failure else "module-not-found"
    ev = [_kernel_line(ctx)]
    for dist in providers[:6]:
        installer = dist.installer
        ev.append(Evidence(f"provides '{top}'", f"{dist.name} {dist.version}" +
                           (f" (installed by {installer})" if installer else ""), dist.path))
    names = sorted({d.name for d in providers})
    missing = [(d, d.missing_files(limit=3)) for d in providers]
    missing = [(d, m) for d, m in missing if m]
    for dist, files in missing[:3]:
        ev.append(Evidence(f"files of {dist.name} missing", ", ".join(files), dist.path + "/RECORD"))
    keep = providers[0]
    text = (f"Uninstall all of them and install one: %pip uninstall -y {' '.join(names)} then "
            f"%pip install {keep.name}")
    fix_list = [fixes.instruction(f"Keep only one distribution of '{top}'", text)]
    try:
        fix_list.append(fixes.pip_install(ctx.interpreter, [keep.name], validated=True, reinstall=True,
                                          title=f"Reinstall {keep.name} over the others"))
    except fixes.UnsafeName:
        pass
    yield Finding(
        kind=kind, cause="duplicate-distributions", confidence=0.9 if missing else 0.7,
        summary=f"{len(distinct)} installed distributions provide '{top}' ({', '.join(names)}): they overwrite "
                f"each other's files, and removing one breaks the other.",
        evidence=tuple(ev), fixes=tuple(fix_list), docs=docs_for(kind, "duplicate-distributions"))


@rule("module-not-found")
def externally_managed(ctx: Context) -> Iterable[Finding]:
    """PEP 668: the kernel runs the OS's Python; say so and offer a venv instead of --break-system-packages."""
    it = ctx.interpreter
    if it is None or not _is_top_missing(ctx):
        return
    facts = environment_facts(ctx)
    current = facts.discovery.current
    managed = it.environment_kind == "system-externally-managed" or bool(current and current.externally_managed)
    if not managed or facts.candidates(ctx.top_level):
        return
    marker = ctx.system.join(it.prefix, "lib", f"python{_minor(it.version)}", "EXTERNALLY-MANAGED") \
        if ctx.system.platform != "windows" else ctx.system.join(it.prefix, "Lib", "EXTERNALLY-MANAGED")
    yield Finding(
        kind="module-not-found", cause="externally-managed", confidence=0.9,
        summary=f"This kernel runs the operating system's Python ({it.executable}), marked externally managed "
                f"(PEP 668): pip refuses to install into it. Use a virtual environment registered as a kernel, "
                f"or the OS package manager.",
        evidence=(_kernel_line(ctx), Evidence("PEP 668 marker", marker, "EXTERNALLY-MANAGED")),
        fixes=(fixes.new_venv(f"Create a virtual environment with {_dist_name(ctx)} and use it as this "
                              f"notebook's kernel"),),
        docs=docs_for("module-not-found", "externally-managed"))


# ------------------------------------------------------------------------------------------------ ownership
_CONDA_SUBDIRS = re.compile(r"/(?:noarch|linux-[\w]+|osx-[\w]+|win-[\w]+)/?$")


def _channel_name(channel: Optional[str]) -> Optional[str]:
    """conda-forge from 'https://conda.anaconda.org/conda-forge[/noarch]' or 'conda-forge'; None for defaults."""
    if not channel:
        return None
    text = _CONDA_SUBDIRS.sub("", channel.strip().rstrip("/"))
    match = re.match(r"^https?://conda\.anaconda\.org/([A-Za-z0-9._-]+)$", text)
    name = match.group(1) if match else text
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,100}", name) or name in ("defaults", "main", "pkgs"):
        return None
    return name


def _conda_frontend(ctx: Context) -> Tuple[str, Optional[str]]:
    kind = ctx.interpreter.environment_kind if ctx.interpreter else ""
    frontend = "micromamba" if kind == "micromamba" else ("mamba" if kind == "mamba" else "conda")
    exe = ctx.system.getenv("MAMBA_EXE") if frontend != "conda" else ctx.system.getenv("CONDA_EXE")
    return frontend, exe


def ownership_fixes(ctx: Context, conflict: envs.InstallerConflict) -> List[Fix]:
    """Reinstall with the manager that owns the environment (conda): never a runnable uninstall."""
    it = ctx.interpreter
    out: List[Fix] = []
    try:
        name = fixes.validate_name(conflict.name)
    except fixes.UnsafeName:
        return out
    version = conflict.conda_version if re.fullmatch(r"[A-Za-z0-9._+!]{1,60}", conflict.conda_version or "") else None
    spec = f"{name}=={version}" if version else name
    other = conflict.installer if re.fullmatch(r"[A-Za-z0-9._-]{1,40}", conflict.installer or "") else "pip"
    if it.environment_kind == "pixi":
        out.append(fixes.instruction(
            f"Take {other}'s copy of {name} away and let pixi restore its own",
            f"%pip uninstall -y {name}\nThen, in the project folder:  pixi install  (pixi puts back the conda "
            f"package its lock file names), and restart the kernel."))
        return out
    frontend, exe = _conda_frontend(ctx)
    channel = _channel_name(conflict.conda_channel)
    shown = spec if spec == name else f'"{spec}"'
    reinstall = f"%{frontend} install -y --force-reinstall" + (f" -c {channel}" if channel else "") + f" {shown}"
    if conflict.relation == "pip-over-conda":
        out.append(fixes.instruction(
            f"Replace {other}'s {name} {conflict.version} with conda's {name} {version or ''}".rstrip(),
            f"conda manages this environment; {other} wrote over conda's copy of {name}. Take {other}'s copy "
            f"away, then let {frontend} put its own back:\n%pip uninstall -y {name}\n{reinstall}\n"
            f"To keep {other}'s version instead: conda remove --force {name} (drops conda's record and its "
            f"files), then %pip install --force-reinstall {name}. Restart the kernel afterwards.",
            risk="medium"))
    else:
        out.append(fixes.instruction(
            f"Remove {other}'s leftover metadata of {name}, then let {frontend} restore its files",
            f"conda installed {name} over {other}'s copy; {other}'s metadata folder is still there:\n"
            f"{conflict.dist_path}\nDelete that folder (not with '%pip uninstall', which would delete files "
            f"that conda's {name} owns now), then:\n{reinstall}\nRestart the kernel afterwards.",
            risk="medium"))
    try:
        out.append(fixes.conda_reinstall(it, [spec], frontend=frontend, executable=exe, channel=channel))
    except fixes.UnsafeName:
        pass
    return out


def _under_prefix(ctx: Context, path: str, prefix: str) -> bool:
    pm = ctx.system.pathmod
    p, f = pm.normcase(pm.normpath(path)), pm.normcase(pm.normpath(prefix)).rstrip("/\\")
    return p == f or p.startswith(f + pm.sep)


@rule("healthy", "module-not-found", "cannot-import-name", "missing-shared-library", "missing-symbol",
      "native-init-failed")
def mixed_installers(ctx: Context) -> Iterable[Finding]:
    """In a conda environment, pip (or uv) installed over conda's copy of the package, or conda over pip's:
    conda-meta records against the .dist-info's INSTALLER and RECORD. The ownership is also offered as
    evidence on whatever finding ranks first (``ctx.supporting``)."""
    it = ctx.interpreter
    if it is None or not it.prefix or not ctx.target:
        return
    system = ctx.system
    if not system.is_dir(system.join(it.prefix, "conda-meta")):
        return
    top = ctx.top_level
    index = ctx.distributions
    keys = {d.key for d in index.providing(top)} | {normalize(top)}
    dists = [d for d in index.all() if d.key in keys and _under_prefix(ctx, d.location, it.prefix)]
    if not dists:
        return
    conflicts = envs.installer_conflicts(system, it.prefix, dists)
    if not conflicts:
        return
    conflict = sorted(conflicts, key=lambda c: c.relation != "conda-over-pip")[0]
    pm = system.pathmod
    ev = [_kernel_line(ctx),
          Evidence("conda-meta records", f"{conflict.name} {conflict.conda_version or '?'}" +
                   (f" from {conflict.conda_channel}" if conflict.conda_channel else ""), conflict.conda_record),
          Evidence(f"{pm.basename(conflict.dist_path)} says it was installed by", conflict.installer,
                   pm.join(conflict.dist_path, "INSTALLER"))]
    if conflict.conda_dist_path:
        ev.append(Evidence("conda's own metadata beside it", conflict.conda_dist_path, conflict.conda_record))
    if conflict.conflicts:
        more = conflict.conflict_count - len(conflict.conflicts)
        ev.append(Evidence("files both installers claim", ", ".join(conflict.conflicts) +
                           (f" (+{more} more)" if more > 0 else ""),
                           f"{pm.join(conflict.dist_path, 'RECORD')} and {conflict.conda_record}"))
    ctx.supporting.append(Evidence("installer ownership", conflict.sentence, conflict.conda_record))
    kind = ctx.failure.kind if ctx.failure else "healthy"
    if kind == "healthy":
        summary = (f"'{top}' imports, but {conflict.sentence}. The next conda update or pip install of it may "
                   f"break it: reinstall it with conda, which manages this environment.")
        confidence = 0.5
    else:
        summary = (f"In this conda environment, {conflict.sentence}. The two installers disagree about the files "
                   f"and version of {conflict.name}: reinstall it with conda, which manages this environment.")
        confidence = 0.8 if conflict.relation == "conda-over-pip" and conflict.conflicts else 0.75
    yield Finding(kind=kind, cause="mixed-installers", confidence=confidence, summary=summary,
                  evidence=tuple(ev), fixes=tuple(ownership_fixes(ctx, conflict)), docs=docs_for(kind, "mixed-installers"))
