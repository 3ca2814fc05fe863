"""Proof before a fix is offered as proven: the planned change applied to an overlay, the failing import
run again there, the user's environment untouched.

1. ``pip install --dry-run --report`` (the kernel's pip, or this process's pip with ``--python``) says what
   the command would install into the environment as it is;
2. exactly those releases go into a temporary folder (``pip install --target DIR --no-deps``);
3. a child of the kernel's interpreter imports the name the user imported with that folder ahead of
   site-packages (PYTHONPATH), in a neutral temporary working folder;
4. the requirements of every distribution the child would see (the overlay's first) are checked, as
   ``pip check`` does: a conflict the change would add demotes the fix.

:func:`prove_fix` is the entry point for a report's fix (the CLI's ``--prove`` and the widget's Run path
call it); :func:`verify_after_run` is the check after a real run: the import of what the user imported and
``pip check`` of the environment, with the conflicts that are new.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from .._record import replace
from ..facts.interpreter import absolute_python as _absolute   # the children run in a temporary folder
from ..model import Fix, Report

__all__ = ["Proof", "prove_fix", "prove_report", "verify_after_run", "environment_conflicts"]

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_NO_INDEX = re.compile(r"from versions: none|Could not fetch URL|Failed to establish|Network is unreachable|"
                       r"Temporary failure in name resolution|No connection adapters|--no-index", re.I)


@dataclass
class Proof:
    fix_id: str
    status: str                 # proven | failed | not-proven
    detail: str
    seconds: float = 0.0
    installed: List[str] = field(default_factory=list)
    new_conflicts: List[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return {"proven": "Proven", "failed": "Proof failed", "not-proven": "Not proven"}[self.status]


def _run(argv: Sequence[str], *, timeout: float, env: Optional[dict] = None, cwd: Optional[str] = None
         ) -> Tuple[int, str]:
    try:
        done = subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired:
        return 124, f"did not finish within {timeout:.0f} s"
    except OSError as exc:
        return 127, str(exc)
    return done.returncode, done.stdout.decode("utf-8", "replace")


def _command(fix: Fix) -> Optional[Tuple[List[str], List[str], bool]]:
    """(requirements, index flags, reinstall) of a pip or uv install fix's argv, or None."""
    argv = list(fix.argv or ())
    if fix.kind == "pip" and argv[1:4] == ["-m", "pip", "install"]:
        rest = argv[4:]
    elif fix.kind == "uv" and argv[1:3] == ["pip", "install"] and "--python" in argv:
        i = argv.index("--python")
        rest = argv[i + 2:]
    else:
        return None
    reqs, index, reinstall = [], [], False
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg in ("--index-url", "--extra-index-url"):
            index += [arg, rest[i + 1]]
            i += 2
            continue
        if arg in ("--force-reinstall", "--reinstall"):
            reinstall = True
        elif not arg.startswith("-"):
            reqs.append(arg)
        i += 1
    return reqs, index, reinstall


def _pip_prefix(python: str, timeout: float) -> List[str]:
    """A pip that installs for ``python``: its own, else this process's with --python (uv venvs have none)."""
    code, _ = _run([python, "-c", "import pip"], timeout=timeout)
    if code == 0:
        return [python, "-m", "pip"]
    return [sys.executable, "-m", "pip", "--python", python]


def _sys_path(python: str, env: dict, cwd: str, timeout: float) -> List[str]:
    code, out = _run([python, "-c", "import sys, json; print(json.dumps(sys.path))"], timeout=timeout, env=env, cwd=cwd)
    try:
        return [p for p in json.loads(out.strip().splitlines()[-1]) if p and os.path.isdir(p)] if code == 0 else []
    except (ValueError, IndexError):
        return []


#: PEP 508's marker values, computed by the target interpreter itself (plain stdlib, as packaging does).
_MARKERS = ("import json, os, platform, sys\n"
            "i = sys.implementation\n"
            "v = '%d.%d.%d' % i.version[:3]\n"
            "v += '' if i.version.releaselevel == 'final' else i.version.releaselevel[0] + str(i.version.serial)\n"
            "print(json.dumps({'implementation_name': i.name, 'implementation_version': v, 'os_name': os.name,"
            " 'platform_machine': platform.machine(), 'platform_release': platform.release(),"
            " 'platform_system': platform.system(), 'platform_version': platform.version(),"
            " 'python_full_version': platform.python_version(),"
            " 'platform_python_implementation': platform.python_implementation(),"
            " 'python_version': '.'.join(platform.python_version_tuple()[:2]), 'sys_platform': sys.platform}))\n")


def target_markers(python: str, timeout: float = 60.0) -> Optional[dict]:
    """The marker environment of ``python`` (its version, platform, implementation), or None."""
    code, out = _run([python, "-I", "-c", _MARKERS], timeout=timeout, env=_clean_env())
    try:
        env = json.loads(out.strip().splitlines()[-1]) if code == 0 else None
    except (ValueError, IndexError):
        return None
    return {str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else None


def environment_conflicts(paths: Sequence[str], markers: Optional[dict] = None) -> List[str]:
    """``pip check`` read from disk over ``paths`` (first of a name wins): 'who requires req, but has v'.
    ``markers``: the target interpreter's marker values (:func:`target_markers`); else this process's."""
    from ..facts.distributions import DistributionIndex, normalize
    from .envfacts import target_requirements
    from .versions import satisfies

    index = DistributionIndex(list(paths))
    first = {}
    for dist in index.all():
        first.setdefault(dist.key, dist)
    environment = dict(markers or {}, extra="")
    out = []
    for dist in first.values():
        for req in target_requirements(dist, environment):
            target = first.get(normalize(req.name))
            if target is None or not str(req.specifier):
                continue
            if satisfies(str(req.specifier), target.version) is False:
                out.append(f"{dist.name} {dist.version} requires {req.name}{req.specifier}, but has {target.version}")
    return sorted(out)


def _clean_env(extra: Optional[dict] = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env.update(extra or {})
    return env


#: The import, in a child. An overlay (argv[2]) is on PYTHONPATH, ahead of site-packages; Python reads .pth
#: files only in site folders, so the overlay's are processed here as they would be once installed
#: (setuptools' distutils shim, editable installs): without them a working fix would look broken.
_IMPORT = ("import importlib, site, sys\n"
           "if len(sys.argv) > 2:\n"
           "    site.addsitedir(sys.argv[2])\n"
           "importlib.import_module(sys.argv[1])\nprint('import ok')\n")




def prove(python: str, module: str, fix: Fix, *, timeout: float = 600.0, offline: bool = False) -> Proof:
    """Apply ``fix`` to an overlay of ``python``'s environment and import ``module`` there."""
    started = time.monotonic()
    python = _absolute(python)

    def done(status: str, detail: str, **kw) -> Proof:
        return Proof(fix.id, status, detail, time.monotonic() - started, **kw)

    if not _DOTTED.fullmatch(module or ""):
        return done("not-proven", "not an importable name")
    command = _command(fix)
    if command is None:
        return done("not-proven", "not a package change that can be tried in an overlay")
    if offline:
        return done("not-proven", "no index (offline): the constraint check ran, the proof did not")
    reqs, index, reinstall = command
    work = tempfile.mkdtemp(prefix="dllmagic-prove-")
    try:
        pip = _pip_prefix(python, timeout)
        report_path = os.path.join(work, "report.json")
        flags = ["--force-reinstall", "--no-deps"] if reinstall else []
        code, out = _run([*pip, "install", "--dry-run", "--quiet", "--report", report_path, *flags, *index, *reqs],
                         timeout=timeout, cwd=work, env=_clean_env())
        if code != 0:
            last = [ln for ln in out.splitlines() if ln.strip()][-3:]
            if _NO_INDEX.search(out):
                return done("not-proven", "no index: " + " ".join(last)[:300])
            return done("failed", "the installer found no consistent set: " + " ".join(last)[:400])
        try:
            with open(report_path, encoding="utf-8") as fh:
                items = json.load(fh).get("install") or []
        except (OSError, ValueError):
            items = []
        pins = [f"{i['metadata']['name']}=={i['metadata']['version']}" for i in items
                if isinstance(i, dict) and "metadata" in i]
        overlay = os.path.join(work, "overlay")
        os.mkdir(overlay)
        if pins:
            code, out = _run([*pip, "install", "--quiet", "--no-deps", "--target", overlay, *index, *pins],
                             timeout=timeout, cwd=work, env=_clean_env())
            if code != 0:
                last = [ln for ln in out.splitlines() if ln.strip()][-2:]
                return done("not-proven", "the overlay could not be built: " + " ".join(last)[:300], installed=pins)
        env = _clean_env({"PYTHONPATH": overlay, "PYTHONNOUSERSITE": "1"})
        markers = target_markers(python)
        before = set(environment_conflicts(_sys_path(python, _clean_env(), work, 60), markers))
        after = environment_conflicts(_sys_path(python, env, work, 60), markers)
        new = [c for c in after if c not in before]
        code, out = _run([python, "-c", _IMPORT, module, overlay], timeout=timeout, env=env, cwd=work)
        what = ", ".join(pins) or "nothing new"
        if code != 0:
            last = [ln for ln in out.splitlines() if ln.strip()][-1:]
            return done("failed", f"with {what}, 'import {module}' still fails: " + " ".join(last)[:300],
                        installed=pins, new_conflicts=new)
        if new:
            return done("failed", f"'import {module}' works with {what}, but it breaks: " + "; ".join(new[:3]),
                        installed=pins, new_conflicts=new)
        return done("proven", f"'import {module}' works with {what} ahead of site-packages; no new conflict",
                    installed=pins)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _module_of(report: Report) -> str:
    # The name the user imported, not the innermost submodule that raised.
    return report.target or (report.failure.module if report.failure else "") or ""


def prove_fix(report: Report, fix_id: str, *, python: Optional[str] = None, timeout: float = 600.0,
              offline: bool = False) -> Proof:
    """Prove one fix of a report (the widget's Run path calls this before the real run)."""
    fix = report.fix_by_id(fix_id)
    if fix is None:
        return Proof(fix_id, "not-proven", "no such fix in this report")
    python = python or (report.interpreter.executable if report.interpreter else sys.executable)
    return prove(python, _module_of(report), fix, timeout=timeout, offline=offline)


def prove_report(report: Report, *, python: Optional[str] = None, limit: int = 3, timeout: float = 600.0,
                 offline: bool = False) -> Tuple[Report, List[Proof]]:
    """The report with its package fixes proven (up to ``limit``): proven ones first in their finding and
    titled so, failed ones last and no longer runnable, each proof in the notes."""
    proofs: List[Proof] = []
    findings = []
    for finding in report.findings:
        kept, demoted = [], []
        for fix in finding.fixes:
            if fix.kind in ("pip", "uv") and fix.argv and len(proofs) < limit:
                proof = prove_fix(report, fix.id, python=python, timeout=timeout, offline=offline)
                proofs.append(proof)
                titled = replace(fix, title=f"[{proof.label}: {proof.detail}] {fix.title}"[:600])
                if proof.status == "failed":
                    demoted.append(replace(titled, runnable=False))
                else:
                    kept.append((0 if proof.status == "proven" else 1, titled))
            else:
                kept.append((1, fix))
        ordered = [f for _, f in sorted(kept, key=lambda t: t[0])] + demoted
        findings.append(replace(finding, fixes=tuple(ordered)))
    notes = tuple(report.notes) + tuple(f"proof of {p.fix_id}: {p.status} ({p.detail}; {p.seconds:.1f} s)"
                                        for p in proofs)
    return replace(report, findings=tuple(findings), notes=notes), proofs


@dataclass
class AfterRun:
    ok: bool
    import_detail: str
    conflicts: List[str]
    new_conflicts: List[str]


def verify_after_run(python: str, module: str, *, before: Optional[Sequence[str]] = None,
                     timeout: float = 300.0) -> AfterRun:
    """After a real run: import ``module`` (what the user imported) in a fresh child and run ``pip check``
    (read from disk when the environment has no pip). ``before``: the conflicts before the run, from
    :func:`current_conflicts`; those not in it are new and must be reported."""
    python = _absolute(python)
    work = tempfile.mkdtemp(prefix="dllmagic-verify-")
    try:
        code, out = _run([python, "-c", _IMPORT, module], timeout=timeout, env=_clean_env(), cwd=work)
        last = ([ln for ln in out.splitlines() if ln.strip()] or [""])[-1]
        conflicts = current_conflicts(python, timeout=timeout)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    new = [c for c in conflicts if c not in set(before or ())] if before is not None else list(conflicts)
    return AfterRun(code == 0 and not new, last, conflicts, new)


def current_conflicts(python: str, *, timeout: float = 120.0) -> List[str]:
    """``pip check`` of ``python``'s environment (its own pip; else read from disk)."""
    code, out = _run([python, "-m", "pip", "check"], timeout=timeout, env=_clean_env())
    if "No module named pip" not in out:
        return sorted(ln.strip() for ln in out.splitlines()
                      if ln.strip() and ("requires" in ln or "has requirement" in ln))
    work = tempfile.mkdtemp(prefix="dllmagic-verify-")
    try:
        return environment_conflicts(_sys_path(python, _clean_env(), work, 60), target_markers(python))
    finally:
        shutil.rmtree(work, ignore_errors=True)
