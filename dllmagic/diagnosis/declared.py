"""A dependency conflict the failing package's own metadata shows: a requirement it declares (Requires-Dist) that
the installed version of the dependency does not satisfy.

Cause id ``version-pin-conflict``. Many such failures raise no message that names a version: torchvision built
for another torch ("operator torchvision::nms does not exist", "Couldn't load custom C++ ops"), a plugin built for
another release of its host. The metadata on disk is the evidence: "torchvision 0.29.1 declares torch>=2.14.0;
torch 2.13.0 is installed". The fixes are the planner's: what the package declares, else a release of the package
that accepts the installed dependency. From a text alone, only what the message itself says.
"""
from __future__ import annotations

import re
from typing import Iterable, List

from .. import fixes
from ..facts.distributions import normalize
from ..model import Evidence, Finding
from . import Context, docs_for, rule
from ._common import detail, error_evidence, kernel_evidence

__all__ = ["declared_requirement_unmet", "torchvision_ops_unloadable", "torchvision_ops_from_text",
           "pickle_of_another_release"]

#: Signatures whose own rules read the versions (pins, protobuf, NumPy's removed names).
_OWN_RULES = ("protobuf-descriptors-created-directly", "numpy-removed-attribute")
#: torchvision's compiled operators did not register with the torch that is loaded.
_TORCHVISION_OPS = ("torchvision-custom-ops", "torchvision-operator-missing", "torchvision-built-for-other-cuda")


def _failing_distributions(ctx: Context) -> List:
    module = (ctx.failure.module if ctx.failure else None) or ctx.target or ""
    top = module.split(".")[0]
    if not top:
        return []
    found = list(ctx.distributions.providing(top))
    if not found and ctx.failure is not None and ctx.failure.signature in _TORCHVISION_OPS:
        dist = ctx.distributions.get("torchvision")
        found = [dist] if dist is not None else []
    return found


def _failure_shows(ctx: Context, dependency: str) -> bool:
    """Whether the failure's message or one of its traceback's files names ``dependency`` (its import name)."""
    from ._common import paths_in_text

    names = {normalize(dependency), normalize(dependency).replace("-", "_")}
    message = (ctx.failure.message or "").lower() if ctx.failure else ""
    if any(re.search(rf"(?<![\w.-]){re.escape(n)}(?![\w-])", message) for n in names):
        return True
    for path in paths_in_text(ctx):
        parts = {p.lower() for p in re.split(r"[\\/]", path)}
        if parts & names:
            return True
    return False


@rule("dependency-conflict", "unknown")
def declared_requirement_unmet(ctx: Context) -> Iterable[Finding]:
    """Also for a failure no signature knows (a package's own RuntimeError on import) whose message or frames
    show the dependency it declares and does not have: the metadata is the evidence an unexplained report lacks."""
    failure = ctx.failure
    if failure is None or ctx.interpreter is None or failure.signature in _OWN_RULES:
        return
    from ..planner import Intent, fixes_for
    from ..planner import envfacts
    from ..planner.plan import with_evidence

    owners = _failing_distributions(ctx)
    if not owners:
        return
    names = {normalize(d.name) for d in owners}
    broken = [b for b in envfacts.broken_requirements(ctx) if normalize(b.name) in names]
    if not broken:
        return
    # The requirement whose dependency the failure itself shows (its message, or a frame in the dependency's
    # files: torchvision's registration failing inside torch/library.py) comes first; one it does not show is
    # a real defect of the environment but may not be this failure's cause.
    shown = [b for b in broken if _failure_shows(ctx, b.dependency)]
    if not shown and failure.kind != "dependency-conflict":
        return   # an unexplained failure that does not show the dependency: the defect may be unrelated
    broken = shown + [b for b in broken if b not in shown]
    first = broken[0]
    dep = ctx.distributions.get(first.dependency)
    have = dep.version if dep is not None else None
    evidence = kernel_evidence(ctx)
    evidence.append(error_evidence(ctx))
    for b in broken[:4]:
        evidence.append(Evidence(f"{b.name} {b.version} declares", b.requirement, b.where))
        installed = ctx.distributions.get(b.dependency)
        if installed is not None:
            evidence.append(Evidence(f"installed {installed.name}", installed.version, installed.path))
    intents = [Intent((b.requirement,), f"Install {b.requirement}, what {b.name} {b.version} declares",
                      allow_major=True,
                      because=(Evidence(f"{b.name} {b.version} declares", b.requirement, b.where),))
               for b in broken[:4]]
    if have:
        # The other way round: keep the installed dependency, and let the installer choose a release of the
        # failing package that accepts it.
        intents.append(Intent((first.name, f"{first.dependency}=={have}"),
                              f"Or keep {first.dependency} {have} and install a release of {first.name} that "
                              f"accepts it", allow_major=True))
    fix_list, plans = fixes_for(ctx, intents)
    unmet = "; ".join(f"{b.name} {b.version} declares {b.requirement}, "
                      + (f"but {ctx.distributions.get(b.dependency).version} is installed"
                         if ctx.distributions.get(b.dependency) is not None else "which is not installed")
                      for b in broken[:3])
    blocked = [p for p in plans if not p.ok and p.reasons and p.intent is intents[0]]
    if shown:
        summary = (f"The package that failed does not have what it declares it needs: {unmet}. A package built "
                   f"against another release of its dependency fails in ways whose message names no version (its "
                   f"compiled parts do not register, a name it calls is missing); "
                   + (f"installing what it declares is not offered: {blocked[0].reasons[0]}." if blocked else
                      "install the pair it declares."))
    else:
        summary = (f"The package that failed does not have what it declares it needs: {unmet}. The failure does not "
                   f"show that dependency, so this may not be its cause; it is a defect of the environment "
                   f"either way (pip check lists it).")
    finding = Finding(kind="dependency-conflict", cause="version-pin-conflict", confidence=0.78 if shown else 0.5,
                      summary=summary,
                      evidence=tuple(evidence), fixes=tuple(fix_list),
                      docs=docs_for("dependency-conflict", "version-pin-conflict"))
    yield with_evidence(finding, plans)


def _local_label(version: str) -> str:
    return version.partition("+")[2]


def _ops_library(ctx: Context, vision) -> str:
    """torchvision's compiled operators (``torchvision/_C.so``, ``_C.pyd``) beside its dist-info, or ""."""
    system = ctx.system
    folder = system.pathmod.join(system.pathmod.dirname(vision.path), "torchvision")
    for entry in sorted(system.listdir(folder)):
        if entry.startswith("_C.") and entry.lower().endswith((".so", ".pyd")):
            return system.pathmod.join(folder, entry)
    return ""


@rule("dependency-conflict")
def torchvision_ops_unloadable(ctx: Context) -> Iterable[Finding]:
    """torchvision's operators missing while its requirement on torch is met: its ``_C`` library cannot load on
    this torch. The native loader says why (a library of another build: ``libc10_cuda.so`` beside a CPU torch)."""
    failure = ctx.failure
    if failure is None or ctx.interpreter is None or failure.signature not in _TORCHVISION_OPS:
        return
    from ..planner import envfacts

    vision, torch = ctx.distributions.get("torchvision"), ctx.distributions.get("torch")
    if vision is None or torch is None or any(normalize(b.name) == "torchvision"
                                              for b in envfacts.broken_requirements(ctx, ("torch",))):
        return   # an unmet declared requirement is declared_requirement_unmet's
    ops = _ops_library(ctx, vision)
    from .native import _loader_problems, _searched, loader_source

    tree, problems = _loader_problems(ctx, ops) if ops else (None, ())
    # torchvision imports torch first: the libraries of torch's own lib folder are loaded by then (found by their
    # soname whatever the search path says). What is missing beyond them is what the loader cannot find.
    system = ctx.system
    torch_lib = system.pathmod.join(system.pathmod.dirname(torch.path), "torch", "lib")
    loaded = set(system.listdir(torch_lib))
    missing = [p for p in problems if p.kind == "missing-library" and p.name not in loaded]
    torch_label, vision_label = _local_label(torch.version), _local_label(vision.version)
    if not missing and torch_label == vision_label:
        return
    first = missing[0] if missing else None
    evidence = kernel_evidence(ctx)
    evidence += [error_evidence(ctx),
                 Evidence("installed torch", torch.version, torch.path),
                 Evidence("installed torchvision", vision.version, vision.path)]
    if first is not None:
        evidence += [Evidence("torchvision's compiled operators", ops, vision.path + "/RECORD"),
                     Evidence("missing library", f"{first.name} (needed by {first.required_by})"
                              if first.required_by else first.name, loader_source(ctx, tree)),
                     Evidence("loaded by 'import torch' before", f"the libraries of {torch_lib}",
                              "torchvision/__init__.py imports torch first")]
        searched = _searched(first, loader_source(ctx, tree))
        if searched is not None:
            evidence.append(searched)
    builds = ""
    fix_list = []
    if torch_label != vision_label:
        builds = (f" torch {torch.version} is {'the +' + torch_label if torch_label else 'a PyPI'} build and "
                  f"torchvision {vision.version} {'the +' + vision_label if vision_label else 'a PyPI'} build: "
                  f"their compiled parts were made for different builds (CPU, a CUDA version).")
        if torch_label:
            from ..planner import Intent, fixes_for

            public = vision.version.partition("+")[0]
            fix_list, _plans = fixes_for(ctx, [Intent(
                (f"torchvision=={public}+{torch_label}",), reinstall=True, allow_major=True,
                title=f"Reinstall torchvision {public} as the +{torch_label} build, the build torch is")])
    fix_list = list(fix_list) + [fixes.instruction(
        "Or install torch and torchvision as a pair from one index",
        "pip show torch torchvision shows both; install both from the same index (PyPI, or "
        "https://download.pytorch.org/whl/<build> for a CPU or CUDA build).")]
    yield Finding(
        kind="dependency-conflict", cause="version-pin-conflict", confidence=0.85 if builds else 0.75,
        summary=(f"torchvision's compiled operators ({ops}) cannot load with the torch that is installed: "
                 f"{first.name}, which it needs, is not found." if first is not None else
                 "torchvision and torch are not builds of one kind.") + builds,
        evidence=tuple(evidence), fixes=tuple(fix_list),
        docs=docs_for("dependency-conflict", "version-pin-conflict"))


@rule("dependency-conflict")
def torchvision_ops_from_text(ctx: Context) -> Iterable[Finding]:
    """From a text alone: torchvision's operators missing is, most often, a torchvision built for another torch."""
    failure = ctx.failure
    if failure is None or ctx.interpreter is not None or failure.signature not in _TORCHVISION_OPS:
        return
    torch_cuda, vision_cuda = detail(ctx, "torch_cuda"), detail(ctx, "vision_cuda")
    if torch_cuda and vision_cuda:
        label = "cu" + torch_cuda.replace(".", "")
        yield Finding(
            kind="dependency-conflict", cause="version-pin-conflict", confidence=0.85,
            summary=f"torch is a build for CUDA {torch_cuda} and torchvision a build for CUDA {vision_cuda} (the "
                    f"message says so): the two must be builds of one kind. Reinstall torchvision as the {label} "
                    f"build, from the index torch came from.",
            evidence=(error_evidence(ctx), Evidence("torch's CUDA", torch_cuda, "the message"),
                      Evidence("torchvision's CUDA", vision_cuda, "the message")),
            fixes=(fixes.instruction(
                f"Reinstall torchvision as the {label} build",
                f"pip show torch torchvision names both releases; then: pip install --force-reinstall --no-deps "
                f"torchvision==<its release> --index-url https://download.pytorch.org/whl/{label}"),),
            docs=docs_for("dependency-conflict", "version-pin-conflict"))
        return
    yield Finding(
        kind="dependency-conflict", cause="version-pin-conflict", confidence=0.6,
        summary="torchvision's compiled operators (nms, roi_align …) did not register with the torch that is "
                "loaded. Each torchvision release is built for one torch release (and one build: CPU, a CUDA "
                "version); most often the two installed do not belong together. Not checked: this text came "
                "without the machine.",
        evidence=(error_evidence(ctx),),
        fixes=(fixes.instruction(
            "Install torch and torchvision as a pair",
            "Run 'pip show torch torchvision' (or dlldoctor check torchvision on that machine) to see both "
            "versions and what torchvision requires; then install the torchvision release made for your torch, "
            "from the same index as torch (for a CUDA or CPU build: https://download.pytorch.org/whl/<build>)."),),
        docs=docs_for("dependency-conflict", "version-pin-conflict"))


@rule("dependency-conflict")
def pickle_of_another_release(ctx: Context) -> Iterable[Finding]:
    """pickle's "Can't get attribute 'X' on <module 'm'>": the object was pickled with another release of m's
    package, whose m had a class the installed m lacks (a scikit-learn model saved with one release, loaded with
    another)."""
    failure = ctx.failure
    if failure is None or failure.signature != "pickle-cannot-get-attribute":
        return
    module = failure.module or "?"
    name = failure.name or detail(ctx, "name") or "?"
    top = module.split(".")[0]
    evidence = kernel_evidence(ctx) + [error_evidence(ctx)]
    installed = ctx.distributions.providing(top) if ctx.interpreter is not None else []
    have = f"{installed[0].name} {installed[0].version}" if installed else f"the installed {top}"
    if installed:
        evidence.append(Evidence(f"installed {installed[0].name}", installed[0].version, installed[0].path))
    yield Finding(
        kind="dependency-conflict", cause="version-pin-conflict", confidence=0.75,
        summary=f"The pickled object needs '{name}' from {module}, which {have} does not have: it was saved with "
                f"another release of {top}. Load it with the release it was saved with, or make it again with this "
                f"one.",
        evidence=tuple(evidence),
        fixes=(fixes.instruction(
            f"Load it with the release of {top} it was saved with",
            f"The environment that saved it names that release (pip show {top} there, or the project's lock file); "
            f"install the same release here, or save the object again with the installed one. A pickle is code: "
            f"load only files you trust."),),
        docs=docs_for("dependency-conflict", "version-pin-conflict"))
