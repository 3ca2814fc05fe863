"""Intents → planned commands.

A rule says what should change and why (an :class:`Intent`: "numpy<2, so that the extensions built for
NumPy 1.x load"); :func:`plan` checks it against the environment, read offline:

* every installed distribution that declares a requirement on a package being changed: its specifier is
  intersected into the command when the two overlap (``numpy<2`` → ``numpy>=1.23.5,<2`` with TensorFlow
  installed), and when they do not overlap the change would break it: the plan is widened with the repair
  the environment itself declares for that dependent (a requirement of a third distribution that the
  dependent's installed version does not satisfy: TensorFlow's ``tensorboard>=2.13,<2.14``), or it is
  marked inconsistent, with the reason;
* an upgrade with only a lower bound stays inside that major release (``pandas>=2.2.2,<3``) unless the
  intent says the evidence allows a new major;
* the tool that owns the environment (pip, uv without pip, conda for conda-installed packages, PEP 668),
  and the index a local version label names (``torch==2.3.0+cpu`` → PyTorch's index).

:func:`fixes_for` turns intents into fixes, consistent plans first (fewest changes first), inconsistent
ones last as plain statements that are never runnable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from .. import fixes
from .._record import Record, replace
from .._requirement import plain_requirement
from ..facts.distributions import normalize
from ..model import Evidence, Fix
from . import envfacts
from .versions import intersect, next_major_bound, overlap, satisfies

if TYPE_CHECKING:
    from ..diagnosis import Context

__all__ = ["Intent", "Plan", "plan", "make_fix", "fixes_for", "install_fix", "plan_of", "repair_intents"]


class Intent(Record):
    """What a rule wants changed: requirements (PEP 508, no markers or URLs) and why."""

    requirements: Tuple[str, ...]
    title: str
    validated: bool = True
    reinstall: bool = False
    upgrade: bool = False
    #: the evidence allows a new major release (else a bare lower bound gets ``<next major``)
    allow_major: bool = False
    #: evidence for the change itself (a table row, a declared requirement) shown with the plan
    because: Tuple[Evidence, ...] = ()


@dataclass
class Plan:
    intent: Intent
    requirements: List[str]
    status: str = "consistent"            # consistent | widened | inconsistent | unchecked
    reasons: List[str] = field(default_factory=list)
    evidence: List[Evidence] = field(default_factory=list)
    index_url: Optional[str] = None
    extra_index_url: Optional[str] = None
    tool: str = "pip"
    #: not from an index: where the installed distribution came from (envfacts.installed_from)
    source: Optional[str] = None
    #: the folder the packages lie in when it is a 'pip install --target' folder on sys.path (PYTHONPATH ...)
    target: Optional[str] = None
    #: a reinstall of a local build ('1.0+mybuild') whose index no table names
    local_build: bool = False
    #: the packages lie in the user site-packages: the change goes there (--user)
    user: bool = False
    #: the local wheel or sdist the installed distribution came from (envfacts.local_archive)
    archive: Optional[envfacts.LocalArchive] = None
    #: no release the requirement allows is built for this Python (knowledge/python_wheels.json)
    unavailable: bool = False

    @property
    def ok(self) -> bool:
        return self.status != "inconsistent"


def _split(requirement: str) -> Tuple[str, str, str]:
    """(name as written, normalised name, specifier text)."""
    plain = plain_requirement(requirement)
    if plain is not None:  # NAME or NAME==RELEASE: packaging's answer, without loading it
        return plain[0], normalize(plain[0]), plain[1]
    from packaging.requirements import Requirement

    req = Requirement(requirement)
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    return req.name + extras, normalize(req.name), str(req.specifier)


def plan(ctx: "Context", intent: Intent) -> Plan:
    result = Plan(intent=intent, requirements=list(intent.requirements))
    try:
        parsed = [_split(r) for r in intent.requirements]
    except Exception:
        result.status = "unchecked"
        return result
    if ctx.interpreter is None:
        result.status = "unchecked"
        result.requirements = [n + (s if intent.allow_major or intent.reinstall else next_major_bound(s))
                               for n, _, s in parsed]
        return result
    changing = tuple(key for _, key, _ in parsed)
    stdlib = set(ctx.stdlib_names or ()) | set(getattr(__import__("sys"), "stdlib_module_names", ()))
    for written, key, _ in parsed:
        if key.replace("-", "_") in stdlib and ctx.distributions.get(key) is None:
            result.status = "inconsistent"
            result.reasons.append(f"{written} is a module of Python's standard library, not a distribution: it is "
                                  f"never installed or pinned with pip")
            return result
    for written, key, _ in parsed:
        source = envfacts.installed_from(ctx, key)
        if source and source.startswith("the local file") and not intent.reinstall:
            # Another release is asked for: a wheel file of one build says nothing against the index's other
            # releases (as before such files were read); only a reinstall of that build must come from it.
            source = None
        if source:
            dist = ctx.distributions.get(key)
            result.status = "inconsistent"
            result.source = source
            result.reasons.append(f"{dist.name} {dist.version} is {source} (direct_url.json), not a release of "
                                  f"a package index: the index's {written} may be another project, and it is "
                                  f"not the code installed here")
            result.evidence.append(Evidence(f"{dist.name} {dist.version} was installed from", source,
                                            dist.path + "/direct_url.json"))
            result.tool = envfacts.owner(ctx).tool
            result.archive = envfacts.local_archive(ctx, key)
            if result.archive is not None:
                result.evidence.append(_archive_evidence(result.archive))
            return result
    # Installed in a folder put on sys.path by hand (pip install --target, on PYTHONPATH): it comes before
    # site-packages, so the change must go there, or it changes nothing that is imported.
    targets = {k: envfacts.target_folder(ctx, k) for _, k, _ in parsed if ctx.distributions.get(k) is not None}
    folders = set(targets.values())
    if folders - {None}:
        if len(folders) > 1:
            result.status = "inconsistent"
            result.reasons.append("these packages lie in different folders (" + ", ".join(
                sorted(f or "site-packages" for f in folders)) + "): no one command changes them where they are")
            return result
        result.target = folders.pop()
        result.evidence.append(Evidence("installed in a folder on sys.path that is no site-packages", result.target,
                                        "sys.path (pip install --target)"))
    users = {envfacts.in_user_site(ctx, k) for k in targets}
    if True in users:
        if len(users) > 1:
            result.status = "inconsistent"
            result.reasons.append("some of these packages lie in the user site-packages, others not: no one "
                                  "command changes them where they are")
            return result
        result.user = True
        result.evidence.append(Evidence("installed in the user site-packages ('pip install --user')",
                                        ctx.interpreter.user_site or "", "site.USER_SITE"))
    for written, key, spec in parsed:
        row = _first_release_for_python(ctx, key)
        if row and spec and not overlap(spec, f">={row['first_release']}"):
            result.status = "inconsistent"
            result.reasons.append(f"no release of {written} that {written}{spec} allows has wheels for Python "
                                  f"{row['python']}: the first that has is {row['first_release']}")
            result.evidence.append(Evidence(f"first {written} release with wheels for Python {row['python']}",
                                            row["first_release"], row["source"]))
            result.unavailable = True
            return result
    out: Dict[str, Tuple[str, str]] = {}
    order: List[str] = []
    pending = list(parsed)
    while pending:
        written, key, spec = pending.pop(0)
        if key not in order:
            order.append(key)
        if not intent.allow_major and not intent.reinstall:
            spec = next_major_bound(spec)
        # A reinstall keeps the installed release: no dependent's pin is read (nor the metadata it is in).
        for dep in () if intent.reinstall else envfacts.dependents(ctx, key, exclude=changing + tuple(order)):
            if overlap(spec, dep.spec):
                if spec != intersect(spec, dep.spec):
                    result.evidence.append(Evidence(f"{dep.name} {dep.version} declares", dep.requirement, dep.where))
                spec = intersect(spec, dep.spec)
                continue
            have = ctx.distributions.get(key)
            if (have is not None and _keeps(spec, have.version) and len(parsed) > 1
                    and satisfies(dep.spec, have.version) is False):
                # The plan pins the installed release (it changes another package around it): a dependent
                # that release leaves unmet now stays as it is, nothing that works breaks (its own defect is
                # another finding's).
                result.evidence.append(Evidence(f"{dep.name} {dep.version} declares (unmet already by "
                                                f"{have.name} {have.version})", dep.requirement, dep.where))
                continue
            repair = [b for b in envfacts.broken_requirements(ctx, (dep.name,))]
            if repair:
                # The dependent is itself out of step with the environment: move it to what is declared for
                # it, which replaces its pin (the proof checks the new release's own requirements).
                fix_req = repair[0]
                result.status = "widened"
                result.reasons.append(
                    f"{dep.name} {dep.version} declares {dep.requirement}, which {written}{spec} would break; "
                    f"{fix_req.name} {fix_req.version} declares {fix_req.requirement}, so {dep.name} moves too")
                result.evidence.append(Evidence(f"{dep.name} {dep.version} declares", dep.requirement, dep.where))
                result.evidence.append(Evidence(f"{fix_req.name} {fix_req.version} declares", fix_req.requirement,
                                                fix_req.where))
                if normalize(dep.name) not in changing and normalize(dep.name) not in order:
                    pending.append((dep.name, normalize(dep.name), fix_req.spec))
                continue
            result.status = "inconsistent"
            result.reasons.append(f"{written}{spec} would break {dep.name} {dep.version}, which declares "
                                  f"{dep.requirement}")
            result.evidence.append(Evidence(f"{dep.name} {dep.version} declares", dep.requirement, dep.where))
        out[key] = (written, spec)
    result.requirements = [out[k][0] + out[k][1] for k in order]
    # Where the installed release came from: a local label names its index.
    for key in order:
        dist = ctx.distributions.get(key)
        version = dist.version if dist is not None else None
        pinned = [r for r in result.requirements if normalize(_split(r)[1]) == key]
        for req in pinned:
            if "==" in req and "+" in req:
                version = req.split("==", 1)[1]
        found = envfacts.index_for(key, version)
        if found:
            url, row = found
            only_index_packages = all(normalize(k) in {normalize(d) for d in row["dists"]} for k in order)
            if only_index_packages:
                result.index_url = url
            else:
                result.extra_index_url = url
            result.evidence.append(Evidence(f"{key} {version} came from", url,
                                            f"knowledge/package_indexes.json#{row['id']}"))
            break
        label = envfacts.local_label(version)
        if label and intent.reinstall and any("==" in r and "+" in r for r in pinned):
            # A local build ('+mybuild'): PyPI refuses local versions, and no table names the index it came from.
            result.status = "inconsistent"
            result.local_build = True
            result.reasons.append(f"{dist.name if dist else key} {version} is a local build (its version's "
                                  f"'+{label}' label): public package indexes such as PyPI never hold such a "
                                  f"version, and where it came from is not recorded")
            result.evidence.append(Evidence(f"{key} {version}", f"a local version label: +{label}",
                                            (dist.path + "/METADATA") if dist else "the requirement"))
            return result
    owner = envfacts.owner(ctx)
    result.tool = owner.tool
    if owner.tool in ("conda", "mamba", "micromamba") and not all(envfacts.conda_owns(ctx, k) for k in order):
        result.tool = "pip"
    return result


def _first_release_for_python(ctx: "Context", key: str) -> Optional[dict]:
    from ..knowledge import tables as knowledge_tables

    minor = ".".join((ctx.interpreter.version or "").split(".")[:2])
    return knowledge_tables.first_release_for_python().get((key, minor))


def _archive_evidence(archive: envfacts.LocalArchive) -> Evidence:
    if not archive.exists:
        state = "gone: no file there now"
    elif archive.same:
        state = ("still there, the same build (each file its RECORD lists has the installed file's hash)"
                 if archive.how == "RECORD" else "still there, the same file (the sha256 recorded at install time)")
    elif archive.same is False:
        state = ("still there, but another build: files its RECORD lists differ from the installed ones"
                 if archive.how == "RECORD" else "still there, but another file: its sha256 is not the recorded one")
    else:
        state = "still there (not compared with what was installed)"
    return Evidence("that file now", state, archive.path)


def _archive_fix(ctx: "Context", p: Plan) -> Optional[Fix]:
    """The reinstall of a distribution installed from a local wheel file: from that same file when it is still
    there and still the same build (its sha256 as recorded); otherwise a statement, no command."""
    archive, intent = p.archive, p.intent
    if archive is None or not intent.reinstall:
        return None
    names = ", ".join(p.requirements)
    managed = ctx.interpreter.environment_kind == "system-externally-managed"
    if archive.exists and archive.same and archive.path.lower().endswith(".whl") and not managed:
        uv = _uv(ctx) if p.tool == "uv" else None
        try:
            # A system Python's packages are the system's too: shown, never one click (as fixes.pip_install).
            return fixes.reinstall_wheel_file(ctx.interpreter, archive.path, uv=uv,
                                              runnable=ctx.interpreter.environment_kind != "system",
                                              title=f"Reinstall {names} from the wheel it was installed from "
                                                    f"({archive.path})")
        except fixes.UnsafeName:
            pass
    if managed and archive.exists and archive.same:
        short = "this Python is externally managed"
        why = (f"{names} was installed from {archive.path}, but this Python's packages belong to the operating "
               f"system (PEP 668): pip refuses to change them, and no --break-system-packages is offered")
    elif not archive.exists:
        short = "the file it was installed from is gone"
        why = (f"{names} was installed from the local file {archive.path}, which is gone; the package index's "
               f"{names} may be another build or another project")
    elif archive.same is False:
        short = "the file it was installed from has changed since"
        why = (f"the file {archive.path} that {names} was installed from has changed since: it is not the "
               f"build that was installed")
    elif not archive.path.lower().endswith(".whl"):
        short = "it was installed from a source archive"
        why = f"{names} was installed from the source archive {archive.path}, which pip builds by running its code"
    else:
        short = "the file it was installed from could not be compared with what was installed"
        why = (f"the file {archive.path} that {names} was installed from could not be compared with what was "
               f"installed")
    then = ("Use a virtual environment for it (python3 -m venv), registered as a kernel." if managed else
            "With a wheel of that build you trust, reinstall it with this environment's Python: python -m pip "
            "install --force-reinstall --no-deps <the wheel file>, then restart the kernel.")
    return fixes.instruction(f"Not offered as one click: reinstall {names} ({short})", f"{why}.\n{then}",
                             risk="high")


def make_fix(ctx: "Context", p: Plan) -> Fix:
    intent = p.intent
    if not p.ok and p.archive is not None:
        made = _archive_fix(ctx, p)
        if made is not None:
            return made
    if not p.ok and p.local_build:
        return fixes.instruction(
            f"Not offered from the package index: {', '.join(p.requirements)} (a local build)",
            "; ".join(p.reasons) + ".\nReinstall it from the wheel or the private index it came from, with this "
            "environment's Python: python -m pip install --force-reinstall --no-deps <that wheel> (or add "
            "--index-url <that index>), then restart the kernel.", risk="high")
    if not p.ok and p.source:
        return fixes.instruction(
            f"Not offered from the package index: {', '.join(p.requirements)} ({p.source})",
            "; ".join(p.reasons) + ".\nReinstall it from that source with this kernel's Python (pip install -e "
            "<the project's folder> for an editable install, wherever the project is now), then restart the "
            "kernel.", risk="high")
    if not p.ok and p.unavailable:
        return fixes.instruction(f"Not offered: {', '.join(p.requirements)} ({p.reasons[0]})",
                                 "; ".join(p.reasons) + ".\nOn this Python the way out is forward: releases of "
                                 "the other packages made for what is installed (or a Python those releases "
                                 "support).", risk="high")
    if not p.ok:
        text = "; ".join(p.reasons) + ". No change of these packages alone satisfies every installed pin."
        return fixes.instruction(f"Not offered: {', '.join(p.requirements)} ({p.reasons[0]})", text, risk="high")
    title = intent.title
    if p.status == "widened":
        title += f" (together with {', '.join(p.requirements[len(intent.requirements):]) or 'its dependents'})"
    it = ctx.interpreter
    if it is not None and p.tool == "uv":
        return fixes.uv_pip_install(it, p.requirements, validated=intent.validated, title=title,
                                    upgrade=intent.upgrade, reinstall=intent.reinstall, uv=_uv(ctx),
                                    index_url=p.index_url, extra_index_url=p.extra_index_url, target=p.target)
    if it is not None and p.tool in ("conda", "mamba", "micromamba") and not (p.index_url or p.extra_index_url) \
            and not p.target:
        return fixes.conda_install(it, p.requirements, frontend=p.tool, title=title, reinstall=intent.reinstall,
                                   executable=ctx.system.getenv("MAMBA_EXE" if p.tool != "conda" else "CONDA_EXE"))
    return fixes.pip_install(it, p.requirements, validated=intent.validated, title=title, upgrade=intent.upgrade,
                             reinstall=intent.reinstall, index_url=p.index_url, extra_index_url=p.extra_index_url,
                             target=p.target, user=p.user)


def _uv(ctx: "Context") -> str:
    return envfacts._which(ctx, "uv") or "uv"


def _remember(ctx: "Context", fix: Fix, p: Plan) -> None:
    ctx.cache.setdefault("plans", {})[fix.id] = p


def plan_of(ctx: "Context", fix_id: str) -> Optional[Plan]:
    return (ctx.cache.get("plans") or {}).get(fix_id)


def install_fix(ctx: "Context", intent: Intent) -> Optional[Fix]:
    """One intent planned and made into a fix (an inconsistent plan becomes a statement of why)."""
    try:
        p = plan(ctx, intent)
        fix = make_fix(ctx, p)
    except fixes.UnsafeName:
        return None
    _remember(ctx, fix, p)
    return fix


def _keeps(spec: str, version: str) -> bool:
    """``spec`` pins exactly ``version`` (``==1.0`` among its clauses) and allows it."""
    pins = [c.strip()[2:].strip() for c in spec.split(",") if c.strip().startswith("==")]
    return version in pins and satisfies(spec, version) is True


def fixes_for(ctx: "Context", intents: Sequence[Intent]) -> Tuple[List[Fix], List[Plan]]:
    """Fixes for the intents, ranked: consistent plans first (fewest packages changed first, then the
    rule's order), then the inconsistent ones as statements. Also the plans, in the same order."""
    planned: List[Tuple[Tuple[int, int, int], Fix, Plan]] = []
    seen = set()
    for i, intent in enumerate(intents):
        try:
            p = plan(ctx, intent)
            fix = make_fix(ctx, p)
        except fixes.UnsafeName:
            continue
        key = action_key(fix)
        if key in seen:
            continue
        seen.add(key)
        _remember(ctx, fix, p)
        planned.append(((0 if p.ok else 1, len(p.requirements), i), fix, p))
    planned.sort(key=lambda t: t[0])
    return [f for _, f, _ in planned], [p for _, _, p in planned]


def repair_intents(ctx: "Context", names: Sequence[str]) -> List[Intent]:
    """Intents that restore what the environment itself declares: for each requirement on one of ``names``
    that the installed version does not satisfy, install what the dependent declares."""
    out: List[Intent] = []
    seen = set()
    for broken in envfacts.broken_requirements(ctx, tuple(names)):
        key = (broken.dependency, broken.spec)
        if key in seen:
            continue
        seen.add(key)
        dist = ctx.distributions.get(broken.dependency)
        have = dist.version if dist is not None else "?"
        out.append(Intent((broken.requirement,), allow_major=True,
                          title=f"Install {broken.requirement}, what {broken.name} {broken.version} declares "
                                f"({dist.name if dist else broken.dependency} {have} is installed)",
                          because=(Evidence(f"{broken.name} {broken.version} declares", broken.requirement,
                                            broken.where),)))
    return out


def with_evidence(finding, plans: Sequence[Plan]):
    """The finding with each plan's constraint evidence added (once)."""
    extra = []
    for p in plans:
        for ev in list(p.intent.because) + p.evidence:
            if ev not in extra and ev not in finding.evidence:
                extra.append(ev)
    return replace(finding, evidence=tuple(finding.evidence) + tuple(extra[:8])) if extra else finding


def action_key(fix: Fix) -> tuple:
    """What a fix does, with names normalised (``opencv_python`` = ``opencv-python``): two fixes with the
    same key are one action."""
    if fix.kind in ("pip", "uv", "conda", "mamba") and fix.argv:
        reqs = []
        argv = list(fix.argv)
        # What follows the 'install' word: the program ('uv', a path) and 'pip install' are no requirements.
        args = argv[argv.index("install") + 1:] if "install" in argv else argv
        for arg in args:
            if arg.startswith("-") or "/" in arg or "\\" in arg:
                continue
            plain = plain_requirement(arg)
            if plain is not None:
                reqs.append((normalize(plain[0]), plain[1]))
                continue
            from packaging.requirements import InvalidRequirement, Requirement

            try:
                req = Requirement(arg)
            except InvalidRequirement:
                continue
            reqs.append((normalize(req.name), str(req.specifier)))
        flags = tuple(a for a in args if a.startswith("--") and a != "--python")
        return ("install", tuple(sorted(set(reqs))), flags)
    if fix.kind == "pip" and fix.cell.startswith("%pip install"):
        words = [w.strip('"') for w in fix.cell.split()[2:]]
        return ("install", tuple(sorted(normalize(w) for w in words if not w.startswith("-"))),
                tuple(w for w in words if w.startswith("-")))
    return (fix.kind, fix.cell.strip(), tuple(fix.argv or ()), fix.title if not fix.cell else "")


def dedupe_fixes(findings: Sequence) -> list:
    """One fix per distinct action across the findings: the first (highest-ranked) keeps it."""
    seen = set()
    out = []
    for finding in findings:
        kept = []
        for fix in finding.fixes:
            key = action_key(fix)
            if key in seen:
                continue
            seen.add(key)
            kept.append(fix)
        out.append(replace(finding, fixes=tuple(kept)) if len(kept) != len(finding.fixes) else finding)
    return out
