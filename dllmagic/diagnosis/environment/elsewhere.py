"""Installed in another environment, or the kernel is named after one and runs another."""
from __future__ import annotations

import re
from typing import Any, Iterable, List, Optional, Sequence, Tuple

from ... import fixes
from ...facts import environments as envs
from ...facts.distributions import normalize
from ...model import Evidence, Finding, Fix
from .. import Context, docs_for, rule
from ._facts import (_GENERIC_NAMES, _evidence_only, _installer_of, environment_facts, _dist_name, _kernel_line,
                     _minor, _is_top_missing, _display, _python_on_disk, kernelspec_starts,
                     switch_and_register)
from ._facts import install_fixes as _install_fixes


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
    from .restart import off_sys_path

    if off_sys_path(ctx, top):
        return  # here, in a folder taken off sys.path: sys_path_changed_in_kernel says so
    locations = envs.locate(facts.discovery, top, ctx.system)
    exp = facts.expectation
    it = ctx.interpreter
    system = ctx.system
    # A distribution name read from another user's environment never becomes a runnable install.
    trusted_dist = next((loc.distribution for loc in locations if loc.distribution and loc.environment.trusted),
                        None)
    dist = trusted_dist or _dist_name(ctx)
    name_validated = trusted_dist is not None or all(loc.environment.trusted for loc in locations)
    from_source = _installed_from_source(ctx, locations, dist)

    def install_fixes(ctx: Context, dist: str, *, validated: bool) -> List[Fix]:
        # The copy there came from a folder, a local file or a checkout: the index's project of that name may
        # be another one, so no index install; where it came from is said instead.
        if from_source is None:
            return _install_fixes(ctx, dist, validated=validated)
        where, loc = from_source
        return [fixes.instruction(
            f"Install {dist} from where {loc.environment.name}'s copy came from",
            f"{dist} {loc.version or ''} in {loc.environment.name} was installed from {where} (its "
            f"direct_url.json), not from a package index: the index's '{dist}' may be another project. Install it "
            f"into this kernel's Python from that same source (python -m pip install <that file or folder>)"
            + (f", or use {loc.environment.name}'s kernel." if _python_on_disk(ctx, loc.environment) else "."))]
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
                        ctx, dist, validated=name_validated)),
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
                    fixes=tuple(_reregister(ctx, env, spec) + install_fixes(ctx, dist, validated=name_validated)),
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
    def rank(loc: envs.Location) -> Tuple[int, int, int, int]:
        # An environment whose interpreter was deleted can run nothing: a live one leads.
        env = loc.environment
        return (0 if env.kind == "user-site" or _python_on_disk(ctx, env) else 1,
                0 if envs.same_python_minor(env.version, it.version) else 1,
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
            fixes=tuple(install_fixes(ctx, dist, validated=name_validated)),
            docs=docs_for("module-not-found", "foreign-user-site"))
        return
    version_note = ""
    if envs.same_python_minor(env.version, it.version) is False:
        who = "this interpreter" if ctx.cache.get("asked_about_interpreter") else "this kernel"
        version_note = (f" That environment runs Python {env.version}, {who} {it.version}: its files "
                        f"would not import here even if the folder were added to sys.path.")
    fix_list: List[Fix] = []
    # Asked from a terminal about an interpreter (dlldoctor check NAME --python X, no notebook): the question is
    # that interpreter's import, so the install into it leads; another environment's kernel is an alternative.
    asked_from_terminal = bool(ctx.cache.get("asked_about_interpreter")) and not exp.notebook
    if history_ev or asked_from_terminal:
        # The notebook's own '!pip install' put it there: the user wants it in THIS kernel; %pip does that.
        fix_list += install_fixes(ctx, dist, validated=name_validated)
        if asked_from_terminal and not history_ev:
            fix_list += switch_and_register(ctx, env)
    elif envs.same_python_minor(env.version, it.version) is not False or env.kernelspecs:
        fix_list += switch_and_register(ctx, env)
    if not history_ev and not asked_from_terminal:
        fix_list += install_fixes(ctx, dist, validated=name_validated)
    if (envs.same_python_minor(env.version, it.version) is False or history_ev) and not asked_from_terminal:
        fix_list += switch_and_register(ctx, env) if not env.kernelspecs or history_ev else []
    owner = _ownership(best)
    if owner is not None and not env.conda:
        found_ev.append(owner)
    if history_ev:
        first = history_ev[0]
        lead = (f"{first.source} ran '{first.value.split(' → ')[0]}', which installed {_what(best)} into "
                f"another Python ({env.prefix}), not into this kernel's ({it.prefix}): install it with %pip, "
                f"which uses this kernel's Python.")
    else:
        lead = (f"{_what(best)} is installed in another environment, {env.name} ({env.kind}, Python "
                f"{env.version or '?'}, {env.prefix}), not in "
                f"{'this interpreter' if asked_from_terminal else 'this kernel'}'s ({it.prefix}).")
    yield Finding(
        kind="module-not-found", cause="installed-in-other-environment", confidence=0.95,
        summary=lead + version_note,
        evidence=tuple(base_ev + history_ev + found_ev + declared_ev), fixes=tuple(_dedupe_fixes(fix_list)),
        docs=docs_for("module-not-found", "installed-in-other-environment"))


def _installed_from_source(ctx: Context, locations: Sequence[envs.Location], dist: str
                           ) -> Optional[Tuple[str, envs.Location]]:
    """(where, location) when the copy of ``dist`` found in another environment was installed from a folder, a
    local file or a version-control checkout (PEP 610's direct_url.json beside its metadata), else None."""
    from ...planner.envfacts import source_of

    for loc in locations:
        if not loc.dist_path or normalize(loc.distribution or "") != normalize(dist):
            continue
        try:
            text = ctx.system.read_text(ctx.system.join(loc.dist_path, "direct_url.json"), limit=1 << 16)
        except OSError:
            continue
        try:
            import json

            where = source_of(json.loads(text))
        except ValueError:
            continue
        if where:
            return where, loc
    return None


def _reregister(ctx: Context, env: envs.Environment, spec: envs.Kernelspec) -> List[Fix]:
    """Register ``env`` under the kernelspec's own name (so the notebook's metadata needs no change)."""
    if not env.trusted:
        return [_evidence_only(env.untrusted or "", env.prefix)]
    out: List[Fix] = []
    if _python_on_disk(ctx, env):
        try:
            out.append(fixes.register_kernel(env.python, spec.name, _safe_display(spec.display_name, env),
                                             env.has_ipykernel, **_installer_of(ctx, env)))
        except fixes.UnsafeName:
            pass
    facts = environment_facts(ctx)
    for other in facts.discovery.kernelspecs_for(env):
        if other.name != spec.name and not other.untrusted and kernelspec_starts(ctx, other, env):
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
