"""The facts these rules share and the fixes they build (install into this kernel, switch kernel)."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from ... import fixes
from ..._record import MutableRecord, field
from ...facts import environments as envs
from ...facts import syspath
from ...facts.distributions import normalize
from ...model import Evidence, Fix
from .. import Context


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
class EnvironmentFacts(MutableRecord):
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
            # Unreadable or malformed kernel.json, environments.txt ...: notes on the report, never errors.
            self.ctx.notes.extend(n for n in self._discovery.notes if n not in self.ctx.notes)
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
            self.ctx.notes.extend(n for n in self._expectation.notes if n not in self.ctx.notes)
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
        from ..not_found import distribution_for

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
                                       channel="conda-forge", validated=validated))
    has_pip = current.has_pip if current is not None else True
    # uv venvs have no pip: %pip would fail there. uv only where uv is on PATH (a uv venv whose kernel's PATH
    # has no uv, and a plain venv made --without-pip, get %pip after 'python -m ensurepip': fit_installer).
    uv_on_path = envs._which(ctx.system, "uv") is not None
    uv_venv = kind == "uv" and (uv_on_path or not ctx.system.live)
    if uv_venv or (not has_pip and uv_on_path and kind in ("venv", "virtualenv", "poetry", "hatch", "pipenv")):
        out.append(fixes.uv_pip_install(it, [dist], validated=validated))
    if has_pip or not uv_venv:
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


#: Modules a kernelspec's argv runs with ``-m`` that need ipykernel importable in its environment.
_IPYKERNEL_MODULES = ("ipykernel_launcher", "ipykernel")


def kernelspec_starts(ctx: Context, spec: envs.Kernelspec, env: envs.Environment) -> bool:
    """Whether switching to ``spec`` (which runs ``env``) could start a kernel: the interpreter its argv runs is
    on disk (a bare name such as 'python' is looked up on PATH when the kernel starts: not judged here), and
    an argv that runs ipykernel does not run it in an environment certainly without it."""
    python = spec.python or (spec.argv[0] if spec.argv else "")
    if not python or (ctx.system.pathmod.isabs(python) and not ctx.system.exists(python)):
        return False
    argv = list(spec.argv)
    runs_ipykernel = any(arg == "-m" and i + 1 < len(argv) and argv[i + 1] in _IPYKERNEL_MODULES
                         for i, arg in enumerate(argv))
    return not (runs_ipykernel and env.lacks_ipykernel)


def _python_on_disk(ctx: Context, env: envs.Environment) -> bool:
    """An environment whose interpreter was deleted can neither register nor run a kernel."""
    return bool(env.python) and ctx.system.exists(env.python)


def switch_and_register(ctx: Context, env: envs.Environment, *, name: Optional[str] = None,
                        display: Optional[str] = None) -> List[Fix]:
    """Switch to a kernelspec that runs ``env`` and would start; register ``env`` as a kernel when none does
    (or when asked)."""
    facts = environment_facts(ctx)
    if not env.trusted:
        return [_evidence_only(env.untrusted or "", env.prefix)]
    out: List[Fix] = []
    for spec in facts.discovery.kernelspecs_for(env):
        if spec.untrusted or not kernelspec_starts(ctx, spec, env):
            continue
        try:
            out.append(fixes.kernel_switch(spec.name, spec.display_name))
        except fixes.UnsafeName:
            continue
    if _python_on_disk(ctx, env) and (name or not out):
        try:
            out.append(fixes.register_kernel(env.python, name or _kernel_name(env), display or _display(env),
                                             env.has_ipykernel, **_installer_of(ctx, env)))
        except fixes.UnsafeName:
            pass
    return out


def _installer_of(ctx: Context, env: envs.Environment) -> dict:
    """How ipykernel gets into another environment: its own pip, else uv (it made the environment, or is on
    PATH), else pip added with ensurepip (fixes.register_kernel)."""
    return {"has_pip": env.has_pip or env.conda,
            "uv": not env.has_pip and envs._which(ctx.system, "uv") is not None
            or (env.kind == "uv" and not ctx.system.live)}


def _evidence_only(why: str, where: str) -> Fix:
    """The one fix offered for another user's environment or kernel.json: a comment that says why nothing
    from it is offered (its interpreter never enters a cell, its names never become installs)."""
    return fixes.instruction(
        "Nothing is offered from that environment: it is not yours",
        f"{why}.\nIts kernel, interpreter and package names are shown as evidence only, never run from here.\n"
        f"If you trust {where}, register or install it yourself; otherwise install the package into this "
        f"kernel's environment.", risk="medium")
