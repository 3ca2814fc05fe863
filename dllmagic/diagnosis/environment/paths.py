"""The notebook's kernelspec, sys.path entries of another Python, duplicate distributions, PEP 668."""
from __future__ import annotations

from typing import Iterable, List

from ... import fixes
from ...facts import environments as envs
from ...model import Evidence, Finding, Fix
from .. import Context, docs_for, rule
from ._facts import _evidence_only, environment_facts, _dist_name, _kernel_line, _minor, _is_top_missing, install_fixes
from .shadowing import _live_file


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
    if spec.untrusted or (env is not None and not env.trusted):
        fix_list.append(_evidence_only(spec.untrusted or (env.untrusted if env else "") or "", spec.path or spec.name))
    else:
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
    their RECORDs cannot tell (then the old answer stands). RECORD's paths are relative to the folder the
    metadata lies in: the same path in two folders (a --target copy on PYTHONPATH, site-packages) is two files."""
    seen: dict = {}
    for dist in providers:
        folder = (dist.location or "").replace("\\", "/").rstrip("/")
        files = {folder + "/" + f.replace("\\", "/") for f in dist.record()
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
        summary=f"This kernel runs a Python marked externally managed ({it.executable}, PEP 668: the operating "
                f"system, Homebrew or uv manages it): pip refuses to install into it. Use a virtual environment "
                f"registered as a kernel, or the package manager that owns this Python.",
        evidence=(_kernel_line(ctx), Evidence("PEP 668 marker", marker, "EXTERNALLY-MANAGED")),
        fixes=(fixes.new_venv(f"Create a virtual environment with {_dist_name(ctx)} and use it as this "
                              f"notebook's kernel"),),
        docs=docs_for("module-not-found", "externally-managed"))
