"""Pre-flight: "will tensorflow work here?", asked before installing it or after it imports fine.

Runs for a check of a package that is absent (``module-not-found`` of the name asked for) or healthy, on
the kernel's own machine (never for a pasted text). It answers, each from a stated source:

* is there a release for this Python, operating system and architecture (``knowledge/framework_builds.json``;
  with ``online`` the package index, through ``pip install --dry-run --report -`` run by the TARGET
  interpreter, which also shows what would change);
* which CUDA / cuDNN that release expects and what the machine offers (driver, GPUs, CUDA libraries);
* whether the CPU has the features the build uses (AVX);
* which installed packages' Requires-Dist the install would break.

Cause ids: ``release-available`` (the summary), ``no-release-for-platform``, ``no-avx``, ``cuda-mismatch``
and ``would-conflict``.
"""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Dict, Iterable, List, Optional, Tuple

from .. import fixes
from ..facts import hardware
from ..facts.distributions import normalize
from ..knowledge import tables as knowledge_tables
from ..model import Evidence, Finding
from . import Context, docs_for, rule
from ._common import installed, kernel_evidence
from .gpu import framework_build, gpu_evidence
from .installer import releases_for

__all__ = ["platform_key", "pip_report", "installed_conflicts"]

PIP_REPORT_TIMEOUT = 180.0


def platform_key(ctx: Context) -> str:
    """'linux-x86_64', 'macos-arm64', 'windows-x86_64' ... for the kernel's interpreter."""
    it = ctx.interpreter
    arch = (it.architecture or ctx.system.machine or "").lower()
    arch = {"amd64": "x86_64", "x64": "x86_64", "arm64": "arm64", "aarch64": "aarch64"}.get(arch, arch)
    if ctx.system.platform == "macos" and arch == "aarch64":
        arch = "arm64"
    if ctx.system.platform == "linux" and arch == "arm64":
        arch = "aarch64"
    return f"{ctx.system.platform}-{arch}"


def _applies(ctx: Context) -> bool:
    if ctx.interpreter is None:
        return False
    failure = ctx.failure
    if failure is None:
        return bool(ctx.import_result and ctx.import_result.get("ok"))
    return failure.kind == "module-not-found" and (failure.module or "").split(".")[0] == ctx.target.split(".")[0]


def _dist_name(ctx: Context) -> Tuple[str, bool]:
    from .not_found import distribution_for

    name, validated, _ = distribution_for(ctx, ctx.target)
    return name, validated


@rule("healthy", "module-not-found")
def preflight(ctx: Context) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    dist_name, validated = _dist_name(ctx)
    key = normalize(dist_name)
    present = installed(ctx, dist_name)
    it = ctx.interpreter
    python = ".".join(it.version.split(".")[:2])
    plat = platform_key(ctx)
    evidence = kernel_evidence(ctx) + [Evidence("platform", f"{plat}, {it.bits}-bit", "the interpreter")]
    known = key in knowledge_tables.framework_packages()
    release: Optional[dict] = None
    online: Optional[Dict] = None
    if ctx.cache.get("online"):
        online = pip_report(ctx, dist_name)
        if online.get("error"):
            evidence.append(Evidence("package index (pip --dry-run)", online["error"], "pip install --dry-run --report -"))
            if online.get("no_release"):
                yield _no_release(ctx, dist_name, python, plat, evidence, source="the package index (pip)")
                return
    if known:
        if present is not None:
            release = next((b for b in knowledge_tables.framework_builds(key)
                            if present.version.startswith(b["release"] + ".")), None)
        else:
            fitting = releases_for(key, python, plat)
            if it.bits != 64:
                fitting = []
            if not fitting and online is None:
                yield _no_release(ctx, dist_name, python, plat, evidence, source=knowledge_tables.framework_builds(key)[0]["source"])
                return
            release = fitting[0] if fitting else None
        if release:
            evidence.append(Evidence(f"{dist_name} release {'installed' if present else 'that fits'}",
                                     f"{present.version if present else release['release']} (Python "
                                     f"{release['python']}, CUDA {', '.join(release['cuda'])}, cuDNN "
                                     f"{', '.join(release['cudnn'])})", release["source"]))
    # CPU features.
    cpu = hardware.cpu_facts(ctx.system)
    needed = list(release["cpu_features"]) if release and plat.endswith("x86_64") else []
    if cpu is not None and needed:
        lacking = [f for f in needed if not cpu.has(f)]
        evidence.append(Evidence("CPU features the build uses", ", ".join(
            f"{f.upper()} {'MISSING' if f in lacking else 'present'}" for f in needed), cpu.source))
        if lacking:
            yield Finding(
                kind="unsupported-cpu", cause="no-avx", confidence=0.95,
                summary=f"This CPU lacks {', '.join(f.upper() for f in lacking)}, which the official {dist_name} "
                        f"builds use: importing it would crash with an illegal instruction.",
                evidence=tuple(evidence + [Evidence("CPU", cpu.model or "unknown", cpu.source)]),
                fixes=(fixes.instruction(f"Use a build of {dist_name} made without {lacking[0].upper()}",
                                         f"conda install -c conda-forge {dist_name}, or build it from source."),),
                docs=docs_for("unsupported-cpu", "no-avx"))
    elif needed:
        evidence.append(Evidence("CPU features", "not stated by this machine", "no /proc/cpuinfo"))
    # GPU stack.
    yield from _gpu(ctx, dist_name, key, release, plat, evidence)
    # Conflicts with what is installed.
    conflicts = installed_conflicts(ctx, dist_name, release["release"] + ".0" if release and not present else None)
    if online is not None and not online.get("error"):
        changes, broken = online_changes(ctx, online)
        for line in changes[:10]:
            evidence.append(Evidence("would change", line, "pip install --dry-run --report -"))
        conflicts += broken
    if conflicts:
        yield Finding(
            kind="dependency-conflict", cause="would-conflict", confidence=0.75,
            summary=f"Installing {dist_name} here would conflict with what installed packages require: "
                    + "; ".join(conflicts[:3]) + ("…" if len(conflicts) > 3 else "") + ".",
            evidence=tuple(evidence + [Evidence("conflict", c, "Requires-Dist") for c in conflicts[:8]]),
            fixes=(fixes.instruction("Install it in a fresh environment, or align the pins first",
                                     "A new virtual environment avoids changing packages other work depends on."),),
            docs=docs_for("dependency-conflict", "would-conflict"))
    if not known and online is None:
        return  # no facts of its own to show (no release table, no package index): no pre-flight finding
    kind = "healthy" if ctx.failure is None else "module-not-found"
    what = (f"{dist_name} {present.version} is installed" if present else
            f"{dist_name} {release['release']} has a release for Python {python} on {plat}" if release else
            f"{dist_name} is not installed")
    yield Finding(kind=kind, cause="release-available", confidence=0.5 if kind == "healthy" else 0.55,
                  summary=f"Pre-flight: {what}; the checks below say what it expects from this machine.",
                  evidence=tuple(evidence), docs=docs_for(kind, "release-available"))


def _no_release(ctx: Context, dist_name: str, python: str, plat: str, evidence: List[Evidence],
                source: str) -> Finding:
    key = normalize(dist_name)
    builds = knowledge_tables.framework_builds(key)
    fix_list = []
    if builds:
        from .installer.common import _python_range

        span = _python_range(key)
        newest = span.split("–")[-1]
        evidence = evidence + [Evidence(f"{dist_name} publishes releases for", f"Python {span} on "
                                        f"{', '.join(builds[0]['platforms'])} (64-bit)", builds[0]["source"])]
        fix_list.append(fixes.instruction(f"Use a Python {dist_name} supports ({span}, 64-bit)",
                                          f"Create an environment with Python {newest} (uv venv --python {newest}), "
                                          f"install {dist_name} there and register it as a kernel."))
    return Finding(
        kind="no-compatible-release", cause="no-release-for-platform", confidence=0.95,
        summary=f"There is no release of {dist_name} for Python {python} on {plat} "
                f"({ctx.interpreter.bits}-bit): pip would answer 'No matching distribution found'.",
        evidence=tuple(evidence + [Evidence("checked against", source, "release data")]), fixes=tuple(fix_list),
        docs=docs_for("no-compatible-release", "no-release-for-platform"))


def _gpu(ctx: Context, dist_name: str, key: str, release: Optional[dict], plat: str,
         evidence: List[Evidence]) -> Iterable[Finding]:
    if key not in knowledge_tables.framework_packages():
        return
    facts = gpu_evidence(ctx)
    driver, devices, libs = facts["driver"], facts["devices"], facts["libraries"]
    build = framework_build(ctx, key)
    cuda = (build.cuda if build else None) or (release["cuda"][-1] if release else None)
    if build is not None:
        evidence.append(Evidence(f"{dist_name} was built for", f"CUDA {build.cuda or 'none (CPU build)'}"
                                 + (f", cuDNN {build.cudnn}" if build.cudnn else ""), build.source))
    if release and plat not in release["gpu_platforms"]:
        evidence.append(Evidence("GPU support", f"no GPU builds of {dist_name} {release['release']} for {plat}"
                                 + (" (TensorFlow 2.10 was the last with GPU support on native Windows; use WSL2)"
                                    if key == "tensorflow" and plat.startswith("windows") else ""), release["source"]))
        return
    evidence.append(Evidence("NVIDIA driver", driver.version if driver else "none found (this machine has no "
                             "usable NVIDIA GPU: the package will run on the CPU)",
                             driver.source if driver else "/proc/driver/nvidia/version, libcuda.so.1"))
    if devices:
        evidence.append(Evidence("GPUs", ", ".join(d.model for d in devices), devices[0].source))
    if libs:
        evidence.append(Evidence("CUDA libraries visible", "; ".join(f"{l.component} {l.version} ({l.how})"
                                                                     for l in libs[:6]), libs[0].path))
    if driver is None or not cuda or not driver.version[:1].isdigit():
        return
    need = knowledge_tables.driver_needed(cuda, ctx.system.platform)
    if need is None:
        return
    floor = need["windows" if ctx.system.platform == "windows" else "linux"]
    if knowledge_tables.version_key(driver.version) < knowledge_tables.version_key(floor):
        yield Finding(
            kind="gpu-runtime", cause="cuda-mismatch", confidence=0.8,
            summary=f"The NVIDIA driver {driver.version} is older than CUDA {cuda} needs (driver {floor} or newer): "
                    f"{dist_name} would not find a usable GPU.",
            evidence=tuple(evidence + [Evidence(f"driver needed for CUDA {need['cuda']}", floor, need["source"])]),
            fixes=(fixes.instruction("Update the NVIDIA driver",
                                     f"Install driver {floor} or newer, or a build of {dist_name} for an older CUDA."),),
            docs=docs_for("gpu-runtime", "cuda-mismatch"))


# -- conflicts --------------------------------------------------------------------------------------
def _reqs(dist) -> Iterable:
    return dist.requirements()


def installed_conflicts(ctx: Context, dist_name: str, new_version: Optional[str]) -> List[str]:
    """Installed distributions whose Requires-Dist the install of ``dist_name`` (at ``new_version``) breaks,
    and, for a release built for NumPy 1.x, the packages that require NumPy 2."""
    out: List[str] = []
    key = normalize(dist_name)
    if new_version:
        for dist in ctx.distributions.all():
            for req in _reqs(dist):
                if normalize(req.name) == key and req.specifier and not req.specifier.contains(new_version, prereleases=True):
                    out.append(f"{dist.name} {dist.version} requires {req} (the release that fits is {new_version})")
    entry = knowledge_tables.numpy2_support().get(key)
    numpy = installed(ctx, "numpy")
    if entry and new_version and numpy is not None and knowledge_tables.version_key(numpy.version) >= (2,) and \
            knowledge_tables.version_key(new_version) < knowledge_tables.version_key(entry["first_release"]):
        needing = [f"{d.name} {d.version}" for d in ctx.distributions.all()
                   for req in _reqs(d) if normalize(req.name) == "numpy" and req.specifier
                   and not req.specifier.contains("1.26.4", prereleases=True)]
        out.append(f"{dist_name} {new_version} is built for NumPy 1.x, but NumPy {numpy.version} is installed"
                   + (f" and {', '.join(needing[:3])} require NumPy 2" if needing else ""))
    return out


def pip_report(ctx: Context, dist_name: str) -> Dict:
    """``pip install --dry-run --report -`` of ``dist_name`` for the TARGET interpreter (an argv list, never
    a shell): {"install": [...]} or {"error": sentence, "no_release": bool}. Asked once per name and report.
    A target without pip of its own (a venv made by uv) is asked through this Python's pip, ``--python``."""
    cache = getattr(ctx, "cache", None)
    if cache is None:
        return _pip_report(ctx, dist_name)
    key = ("pip-report", normalize(dist_name))
    if key not in cache:
        cache[key] = _pip_report(ctx, dist_name)
    return cache[key]


def _pip_report(ctx: Context, dist_name: str) -> Dict:
    try:
        fixes.validate_name(dist_name)
    except fixes.UnsafeName:
        return {"error": f"not a valid distribution name: {dist_name!r}"}
    report = _pip_dry_run(ctx, [ctx.interpreter.executable, "-m", "pip"], dist_name)
    if report.get("no_pip") and ctx.interpreter.executable != sys.executable:
        again = _pip_dry_run(ctx, [sys.executable, "-m", "pip", "--python", ctx.interpreter.executable], dist_name)
        if not again.get("no_pip"):
            return again
    return report


def _pip_dry_run(ctx: Context, pip: List[str], dist_name: str) -> Dict:
    # Wheels only (an sdist's metadata is made by running its setup.py), from a fresh empty folder (a name
    # that is a folder or an archive there would be read as a local project).
    argv = pip + ["install", "--dry-run", "--quiet", "--report", "-", "--disable-pip-version-check",
                  "--only-binary=:all:", dist_name]
    from .._runner import neutral_folder

    try:
        with neutral_folder() as folder:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=PIP_REPORT_TIMEOUT,
                                  cwd=folder)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"could not run pip: {exc}"}
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        from ..failure import failure_from_text

        parsed = failure_from_text(err)
        tail = (err.strip().splitlines() or ["pip failed"])[-1][:300]
        if "No module named pip" in err:
            return {"error": "the target interpreter has no pip (" + tail + ")", "no_pip": True}
        return {"error": tail, "no_release": bool(parsed and parsed.kind == "no-compatible-release")}
    start = out.find("{")
    try:
        return json.loads(out[start:]) if start >= 0 else {"install": []}
    except ValueError:
        return {"error": "pip's report was not JSON"}


def online_changes(ctx: Context, report: Dict) -> Tuple[List[str], List[str]]:
    """(what would change, the installed requirements it would break) from a pip installation report."""
    from packaging.version import InvalidVersion, Version

    changes: List[str] = []
    new: Dict[str, str] = {}
    for item in report.get("install") or ():
        meta = item.get("metadata") or {}
        name, version = meta.get("name"), meta.get("version")
        if not name or not version:
            continue
        new[normalize(name)] = version
        old = installed(ctx, name)
        if old is None:
            changes.append(f"{name} {version} (new)")
        else:
            try:
                direction = "upgrade" if Version(version) > Version(old.version) else "downgrade"
            except InvalidVersion:
                direction = "change"
            changes.append(f"{name} {old.version} → {version} ({direction})")
    broken: List[str] = []
    for dist in ctx.distributions.all():
        if dist.key in new:
            continue
        for req in _reqs(dist):
            version = new.get(normalize(req.name))
            if version and req.specifier and not req.specifier.contains(version, prereleases=True):
                broken.append(f"{dist.name} {dist.version} requires {req}, but {req.name} {version} would be installed")
    return changes, broken
