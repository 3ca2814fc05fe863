"""The Python surface: a failure, a name or a pasted text in, a :class:`~dllmagic.model.Report` out.

This is the single pipeline behind the kernel hook, ``%dlldoctor`` and the CLI:
failure/target → facts → rules → report. It never raises for a problem in the environment it inspects:
such problems become notes (under the test suite, ``DLLMAGIC_STRICT=1``, they raise instead).
"""
from __future__ import annotations

import os
import sys
import traceback
from typing import Any, Dict, List, Optional, Sequence

from . import __version__
from .diagnosis import VERDICT_BREAKERS, Context, run_rules, strict_mode
from .facts.interpreter import ProbeError, interpreter_from_facts, live_facts, run_probe
from .facts.system import System
from .model import Failure, Finding, Report

__all__ = ["diagnose", "diagnose_exception", "check", "explain"]


def _internal_note(where: str, exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:]
    at = f" ({os.path.basename(last[0].filename)}:{last[0].lineno})" if last else ""
    return f"internal error while {where}: {type(exc).__name__}: {exc}{at}"


def _expected_environment(system: System, interpreter, user_ns, history):
    """The environment issue's detector, when it has landed; never fails the report."""
    try:
        from .facts.environments import expected_environment
    except ImportError:
        return None
    expected = expected_environment(system, interpreter, user_ns=user_ns, history=history)
    if expected is not None and expected.kernelspec:
        # The kernelspec has a field of its own: one row for it, not a second one among the evidence.
        expected = expected.replace(evidence=tuple(
            e for e in expected.evidence if not (e.fact == "notebook kernelspec" and e.value == expected.kernelspec)))
    return expected


def _report(ctx: Context, *, ok: bool, expected=None) -> Report:
    findings: List[Finding] = []
    try:
        findings = run_rules(ctx)
    except Exception as exc:
        if strict_mode():
            raise
        ctx.notes.append(_internal_note("running the rules", exc))
    notes = list(ctx.notes)
    try:
        notes.extend(n for n in ctx.distributions.notes if n not in notes)
    except Exception:
        pass
    if ok and findings and findings[0].cause in VERDICT_BREAKERS:
        ok = False  # it imports, but not the module the user means (or not the one on disk now)
    elif ok and findings and findings[0].cause == "broken-install" and not (ctx.import_result or {}).get("file"):
        ok = False  # it imports as an empty namespace left of a damaged install (healthy.imports_fine stays out)
    return Report(target=ctx.target, ok=ok, interpreter=ctx.interpreter, findings=tuple(findings),
                  notes=tuple(notes), expected_environment=expected, tool_version=__version__,
                  failure=ctx.failure)


def _stdlib_names(facts: Dict[str, Any]) -> frozenset:
    return frozenset(facts.get("stdlib_module_names") or ()) | frozenset(facts.get("builtin_module_names") or ())


def diagnose_exception(exc: BaseException, *, system: Optional[System] = None,
                       user_ns: Optional[Dict[str, Any]] = None, history: Optional[Sequence[str]] = None,
                       failure: Optional[Failure] = None) -> Report:
    """Report for an exception raised in this process (the kernel hook's path)."""
    from .failure import failure_from_exception

    system = system or System.current()
    notes: List[str] = []
    try:
        failure = failure or failure_from_exception(exc)
    except Exception as err:
        if strict_mode():
            raise
        notes.append(_internal_note("parsing the exception", err))
    facts = live_facts()
    interpreter = interpreter_from_facts(facts)
    target = (failure.module if failure and failure.module else None) or type(exc).__name__
    ctx = Context(target=target, failure=failure, system=system, interpreter=interpreter,
                  sys_path=tuple(sys.path), stdlib_names=_stdlib_names(facts), cwd=os.getcwd(),
                  live_modules=dict(sys.modules), user_ns=user_ns, history=history, notes=notes)
    ctx.cache["facts"] = facts
    ctx.cache["frame_files"] = _safe(lambda: _frame_files(exc), ctx) or ()
    expected = _safe(lambda: _expected_environment(system, interpreter, user_ns, history), ctx)
    return _report(ctx, ok=False, expected=expected)


#: The interactive shell's own frames, above the user's cell, in a live exception's traceback.
_SHELL_PACKAGES = ("IPython", "ipykernel")


def _frame_files(exc: BaseException) -> tuple:
    """The files of a live exception's traceback frames, its causes' first (what a printed traceback shows as
    'File "…"' lines, which a child-process check reads from its text), less the shell's own leading frames."""
    import itertools
    import traceback

    chain, seen = [], set()
    while exc is not None and id(exc) not in seen and len(chain) < 8:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    files: List[str] = []
    for one in reversed(chain):
        # walk_tb reads no source lines (extract_tb would open every file): the kernel waits on this.
        walked = itertools.islice(traceback.walk_tb(one.__traceback__), 200)
        frames = [frame.f_code.co_filename for frame, _line in walked]
        while frames and any(f"{os.sep}{name}{os.sep}" in frames[0] for name in _SHELL_PACKAGES):
            frames.pop(0)
        files.extend(f for f in frames if f not in files)
    return tuple(files)


def _safe(func, ctx: Context):
    try:
        return func()
    except Exception as exc:
        if strict_mode():
            raise
        ctx.notes.append(_internal_note("reading the environment", exc))
        return None


def check(name: str, *, python: Optional[str] = None, system: Optional[System] = None,
          live: bool = False, user_ns: Optional[Dict[str, Any]] = None,
          history: Optional[Sequence[str]] = None, timeout: float = 300.0, online: bool = False,
          cwd: Optional[str] = None, notebook: Optional[str] = None) -> Report:
    """Will ``import name`` work? Tried in a child process of the target interpreter, never in this one.

    ``python`` is another interpreter (which need not have dllmagic); by default this one. ``live`` says
    this process is the user's kernel: the child then gets the kernel's sys.path and working folder, and a
    module already imported here is compared with what is on disk now. Otherwise the child gets the
    sys.path ``python -c`` gets in ``cwd`` (by default the current folder; with ``notebook``, the
    notebook's folder): that folder first, then PYTHONPATH, the standard library, the user site and
    site-packages. With ``notebook`` and no ``python``, the interpreter is the one the notebook's kernelspec
    starts (this user's kernel.json, with its PYTHONPATH), as Jupyter would start it. ``online`` lets the pre-flight rules ask the package index (``pip install --dry-run
    --report -`` run by the target interpreter); offline by default.
    """
    from .failure import failure_from_records

    system = system or System.current()
    notes: List[str] = []
    target_python = python or sys.executable
    # Python reads identifiers in source as their NFKC form ('import ｓix' imports six): so does the check.
    import unicodedata

    normal = unicodedata.normalize("NFKC", name) if isinstance(name, str) else name
    if normal != name:
        notes.append(f"'{name}' is read as '{normal}' (Python normalises the names in an import statement, NFKC)")
        name = normal
    if live and python is None:
        module = sys.modules.get(name)
        if module is not None:
            facts = live_facts()
            result = {"ok": True, "file": getattr(module, "__file__", None),
                      "version": getattr(module, "__version__", None)
                      if isinstance(getattr(module, "__version__", None), str) else None,
                      "how": "already imported in this kernel (sys.modules)"}
            ctx = Context(target=name, failure=None, system=system, interpreter=interpreter_from_facts(facts),
                          sys_path=tuple(sys.path), stdlib_names=_stdlib_names(facts), cwd=os.getcwd(),
                          import_result=result, live_modules=dict(sys.modules), user_ns=user_ns,
                          history=history, notes=notes)
            ctx.cache["online"] = online
            ctx.cache["on_demand"] = True
            ctx.supporting.append(_sys_path_used(ctx, kernel=True))
            expected = _safe(lambda: _expected_environment(system, ctx.interpreter, user_ns, history), ctx)
            return _report(ctx, ok=True, expected=expected)
    kernel_path = live and python is None
    folder = os.getcwd() if live else _folder_for(cwd, notebook)
    probe_env = None
    if notebook and not live:
        user_ns, history = _notebook_context(notebook, user_ns, history)
        if python is None:
            # The notebook's own kernel, as Jupyter would start it: its kernel.json's Python and PYTHONPATH.
            found = _safe_kernel(lambda: _notebook_kernel(system, user_ns, folder), notes)
            if found is not None:
                target_python, probe_env, note = found
                notes.append(note)
    try:
        probe = run_probe(target_python, import_name=name, sys_path=list(sys.path) if kernel_path else None,
                          cwd=folder, timeout=timeout, as_python_c=not kernel_path, env=probe_env)
    except ProbeError as exc:
        return Report(target=name, ok=False, interpreter=None, notes=(str(exc),), tool_version=__version__)
    facts = probe.facts
    result = probe.import_result
    failure: Optional[Failure] = None
    if probe.crashed:
        failure = crash_failure(probe.stderr, module=name, signal=probe.signal,
                                where=f"exit status {probe.returncode}")
    elif result is None:
        notes.append(f"the child import of {name} ended without a result (exit status {probe.returncode})")
    elif not result.get("ok"):
        try:
            failure = failure_from_records(result.get("records") or [])
        except Exception as err:
            if strict_mode():
                raise
            notes.append(_internal_note("parsing the child's exception", err))
        if failure is None:
            first = (result.get("records") or [{}])[0]
            failure = Failure(kind="unknown", exc_type=first.get("type", "?"), message=first.get("message", ""),
                              module=name)
    ok = bool(result and result.get("ok"))
    if result and result.get("ok"):
        result = dict(result, how=f"a fresh child process of {probe.interpreter.executable}")
    ctx = Context(target=name, failure=failure, system=system, interpreter=probe.interpreter,
                  sys_path=tuple(facts.get("sys_path") or ()), stdlib_names=_stdlib_names(facts),
                  cwd=folder, import_result=result,
                  live_modules=dict(sys.modules) if kernel_path else None,
                  user_ns=user_ns if live or notebook else None, history=history if live or notebook else None,
                  notes=notes)
    ctx.cache["facts"] = facts
    ctx.cache["crash-stderr"] = probe.stderr if probe.crashed else None
    if probe_env is not None:
        ctx.cache["pythonpath"] = probe_env.get("PYTHONPATH")
    ctx.supporting.append(_sys_path_used(ctx, kernel=kernel_path))
    ctx.cache["online"] = online
    ctx.cache["on_demand"] = True  # slower facts (traced child imports) are allowed here, never in the hook
    # The question is an interpreter's import (not a kernel's, nor a notebook's): fixes target that interpreter.
    ctx.cache["asked_about_interpreter"] = not kernel_path and not notebook
    expected = None
    if kernel_path or notebook:
        expected = _safe(lambda: _expected_environment(system, probe.interpreter, ctx.user_ns, ctx.history), ctx)
    return _report(ctx, ok=ok, expected=expected)


def _safe_kernel(func, notes: List[str]):
    try:
        return func()
    except Exception as exc:
        if strict_mode():
            raise
        notes.append(_internal_note("reading the notebook's kernelspec", exc))
        return None


#: What a kernel.json's env may change for the check: where imports are found. Anything else it sets (a
#: preloaded library, a start-up file) is not applied: it would run before the probe does.
_KERNEL_ENV_APPLIED = ("PYTHONPATH",)


def _notebook_kernel(system: System, user_ns, folder: str):
    """(python, environment) of the kernelspec the notebook names, when it is found, trusted (this user's
    kernel.json) and its Python exists; a note says it was used. None otherwise (this Python is checked)."""
    from .facts.environments.expected import notebook_expectation
    from .facts.interpreter import live_interpreter

    exp = notebook_expectation(system, live_interpreter(), user_ns=user_ns, cwd=folder)
    spec = exp.kernelspec
    if spec is None or spec.untrusted or not spec.python or not os.path.isfile(spec.python):
        return None
    env = dict(os.environ)
    applied = []
    for key, value in spec.env:
        if key in _KERNEL_ENV_APPLIED and isinstance(value, str):
            env[key] = value
            applied.append(key)
    note = (f"checked with the notebook's kernel '{spec.name}' ({spec.path or spec.source}): {spec.python}"
            + (f", with its {', '.join(applied)}" if applied else ""))
    return spec.python, env, note


def _folder_for(cwd: Optional[str], notebook: Optional[str]) -> str:
    """The folder a ``python -c`` of the user would run in: ``cwd``, the notebook's folder, or this one."""
    if cwd:
        return os.path.abspath(cwd)
    if notebook:
        return os.path.dirname(os.path.abspath(notebook))
    return os.getcwd()


def _notebook_context(notebook: str, user_ns, history):
    """A notebook file asked about from outside Jupyter: its path (as the kernel's ``__session__``) and its
    code cells (as the input history, for the ``!pip install`` lines)."""
    import json

    path = os.path.abspath(notebook)
    user_ns = dict(user_ns or {}, __session__=path)
    if history is None:
        try:
            with open(path, "rb") as fh:
                data = json.loads(fh.read(64 << 20).decode("utf-8", "replace"))
            cells = [c for c in data.get("cells", []) if isinstance(c, dict) and c.get("cell_type") == "code"]
            history = []
            for i, cell in enumerate(cells, 1):
                source = cell.get("source", "")
                source = "".join(source) if isinstance(source, list) else str(source)
                count = cell.get("execution_count")
                history.append((f"In[{count if isinstance(count, int) else i}]", source))
        except (OSError, ValueError, AttributeError):
            history = None
    return user_ns, history


def _sys_path_used(ctx: Context, *, kernel: bool):
    """Evidence: which sys.path the child import used, and why it is the one the user's code gets."""
    from .model import Evidence

    # Each folder once, where it first comes (a later copy never changes an import), with how often it is
    # there: a .pth's 'import sys; sys.path.insert(...)' line that site runs twice puts its folder there twice.
    counts: Dict[str, int] = {}
    for p in ctx.sys_path:
        counts[p] = counts.get(p, 0) + 1
    shown = [(p if p else f"'' ({ctx.cwd})") + (f" (on sys.path {counts[p]} times)" if counts[p] > 1 else "")
             for p in counts]
    text = "; ".join(shown[:12]) + (f"; … (+{len(shown) - 12} more)" if len(shown) > 12 else "")
    if kernel:
        return Evidence("sys.path used", text, "this kernel's sys.path, handed to the child process")
    pythonpath = ctx.cache["pythonpath"] if "pythonpath" in ctx.cache else os.environ.get("PYTHONPATH")
    first = "that folder first" if "" in ctx.sys_path else "that folder left out (PYTHONSAFEPATH)"
    why = f"as 'python -c' run in {ctx.cwd}: {first}" + (
        f", then PYTHONPATH={pythonpath}" if pythonpath else ", no PYTHONPATH") + ", then the interpreter's own"
    return Evidence("sys.path used", text, why)


def explain(text: str, *, machine=None) -> Report:
    """Report for a traceback or installer output pasted from anywhere: from the text alone.

    ``machine``: the machine the text came from, modelled (a :class:`~dllmagic.facts.native.machine.Machine`
    or the path of its description file): the rules then read its files, its interpreter and its loader,
    and the paths in the text are that machine's own.
    """
    from .failure import failure_from_text

    notes: List[str] = []
    failure = None
    try:
        failure = failure_from_text(text)
    except Exception as err:
        if strict_mode():
            raise
        notes.append(_internal_note("parsing the text", err))
    if failure is None:
        notes.append("no import failure was recognised in the text")
    system, interpreter, sys_path = System.current(), None, ()
    if machine is not None:
        from .facts.native.machine import load_machine, machine_interpreter, machine_site_packages

        if isinstance(machine, (str, os.PathLike)):
            machine = load_machine(os.fspath(machine))
        system, interpreter = machine.system, machine_interpreter(machine)
        sys_path = machine_site_packages(machine, interpreter)
    ctx = Context(target=(failure.module if failure else None) or "", failure=failure,
                  system=system, interpreter=interpreter, sys_path=tuple(sys_path), notes=notes)
    # Rules may read names the parser did not keep (inner frames, file owners): the text as the parser
    # reads it (normalised: quotes, entities, prefixes and wraps of the paste undone; in its size budget,
    # head and tail windows), so that no rule's pattern runs over megabytes or depends on how it was pasted.
    from .failure.intake import normalise

    ctx.cache["text"] = normalise(text) if isinstance(text, str) else text
    if machine is not None:
        ctx.cache["machine"] = machine
    return _report(ctx, ok=False) if failure else Report(
        target="", ok=False, interpreter=interpreter, notes=tuple(notes), tool_version=__version__)


def crash_failure(text: str, *, module: Optional[str], signal: Optional[str], where: str,
                  previous_run: bool = False) -> Failure:
    """A process that died: its stderr (or the crash recorder's file) read by the same signatures as a live
    exception, so OMP #15, an illegal instruction or a glibc abort keep their own kind and names."""
    from .failure import failure_from_text

    text = text or ""
    parsed = None
    try:
        parsed = failure_from_text(text)
    except Exception:
        if strict_mode():
            raise
    base = Failure(kind="import-crashed", exc_type="fatal signal" if previous_run else "signal",
                   message=text[-6000:], module=module, signal=signal, required_by=where,
                   signature="previous-run" if previous_run else None)
    if parsed is None or parsed.kind in ("unknown",):
        return base
    kind = parsed.kind if parsed.kind != "import-crashed" or not signal else "import-crashed"
    if signal == "SIGILL":
        kind = "unsupported-cpu" if parsed.kind in ("import-crashed", "unsupported-cpu") else parsed.kind
    details = tuple(parsed.details) + ((("crash_signature", parsed.signature or ""),) if previous_run else ())
    return parsed.replace(
        kind=kind, module=module or parsed.module, signal=signal or parsed.signal,
        message=text[-6000:], exc_type=base.exc_type, required_by=parsed.required_by or where,
        signature="previous-run" if previous_run else parsed.signature, details=details)


def diagnose_crash(previous, *, system: Optional[System] = None, recheck: bool = False,
                   timeout: float = 30.0) -> Report:
    """Report for a kernel that died in its previous run (faulthandler's record, see ``_crash``).

    faulthandler records the signal and the Python frames, never what the native library printed before it
    died (OMP's "Error #15", a glibc assertion): that went to the dead kernel's stderr. With ``recheck``, the
    import that crashed is tried again in a child process (this kernel's sys.path and folder, ``timeout``
    seconds at most, never in this process) and the child's stderr is read by the same signatures."""
    from .model import Evidence

    system = system or System.current()
    facts = live_facts()
    module = previous.importing
    text = previous.stack
    notes: List[str] = []
    supporting: List[Evidence] = []
    if recheck and module and all(part.isidentifier() for part in module.split(".")):
        native, evidence, note = _rerun_crashed_import(module, timeout,
                                                       getattr(previous, "imported_before", ()) or ())
        if native:
            # The child's native words first, then the kernel's own record: its frames are the real ones.
            text = native + "\n" + previous.stack
        supporting.extend(evidence)
        if note:
            notes.append(note)
    failure = crash_failure(text, module=module, signal=previous.signal, where=previous.path,
                            previous_run=True)
    ctx = Context(target=module or "(not an import)", failure=failure, system=system,
                  interpreter=interpreter_from_facts(facts), sys_path=tuple(sys.path),
                  stdlib_names=_stdlib_names(facts), cwd=os.getcwd(), notes=notes)
    ctx.supporting.extend(supporting)
    return _report(ctx, ok=False)


#: Where faulthandler's own record starts in a child's stderr: what comes before it is the native code's.
_FAULT_START = "Fatal Python error:"


#: At most this many earlier packages are imported before the crashed one in the second re-run.
_MAX_BEFORE = 40

#: The second re-run's child: this kernel's sys.path, each earlier package (a failure is ignored, as the
#: kernel's own code may have caught it), then the crashed import. Names arrive as argv, validated.
_RERUN_AFTER = (
    "import importlib, json, sys\n"
    "sys.path[:] = json.loads(sys.argv[1])\n"
    "for name in sys.argv[3:]:\n"
    "    try:\n"
    "        importlib.import_module(name)\n"
    "    except BaseException:\n"
    "        pass\n"
    "importlib.import_module(sys.argv[2])\n")


def _rerun_crashed_import(module: str, timeout: float, before: Sequence[str] = ()):
    """``import module`` again in a child of this interpreter, ``timeout`` seconds for all: (what its native
    code printed before it died, evidence of the re-run, a note when it could not be run). When it does not
    crash alone, once more after the packages the dead kernel had imported before it (``before``, in their
    order): a crash that needs two packages (two OpenMP runtimes, two copies of a C++ runtime) shows up only
    then."""
    import time

    from .model import Evidence

    where = f"a child process of {sys.executable}"
    fact = "the crashed import, re-run in a child process"
    deadline = time.monotonic() + timeout  # for both re-runs together
    try:
        probe = run_probe(sys.executable, import_name=module, sys_path=list(sys.path), cwd=os.getcwd(),
                          timeout=timeout)
    except ProbeError as exc:
        return "", [], f"the crashed import of {module} could not be re-run in a child process: {exc}"
    if probe.crashed:
        native, value = _native_and_value(probe.stderr, f"import {module} crashed again ({probe.signal})")
        return native, [Evidence(fact, value, where)], None
    result = probe.import_result or {}
    if not result.get("ok"):
        first = (result.get("records") or [{}])[0]
        value = (f"import {module} fails without crashing now: {first.get('type', '?')}: "
                 f"{str(first.get('message', ''))[:300]}" if first else
                 f"import {module} ended without a result (exit status {probe.returncode})")
        return "", [Evidence(fact, value, where)], None
    # The kernel's own packages were imported before the recorder was armed, so they are not in ``before``
    # (the tracker sees only modules not yet loaded); the standard library is left out as no part of it.
    skip = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)
    top = module.partition(".")[0]
    earlier = [n for n in before if n.isidentifier() and n not in skip and n != top][-_MAX_BEFORE:]
    alone = f"import {module} works alone in a fresh process"
    if earlier:
        crashed, stderr, signal = _rerun_after(module, earlier, max(1.0, deadline - time.monotonic()))
        listed = ", ".join(earlier)
        if crashed:
            native, value = _native_and_value(
                stderr, f"{alone}, but crashed again ({signal}) after importing what the kernel had imported "
                        f"before it ({listed})")
            return native, [Evidence(fact, value, where)], None
        if crashed is None:
            return "", [Evidence(fact, f"{alone}; the re-run after {listed} did not finish within the "
                                       f"{timeout:.0f} s allowed", where)], None
        return "", [Evidence(fact, f"{alone}, and also after {listed}: the crash needs something else the "
                                   f"kernel had done before it (threads, environment changes, data)", where)], None
    value = (f"{alone}: the crash needs something the kernel had loaded or done before it (another "
             f"package's native libraries, threads, environment changes)")
    return "", [Evidence(fact, value, where)], None


def _rerun_after(module: str, earlier: Sequence[str], timeout: float):
    """(crashed: True/False, None on timeout; stderr; signal name) of the second re-run."""
    import json
    import subprocess

    from .facts.interpreter import signal_name

    argv = [sys.executable, "-X", "faulthandler", "-c", _RERUN_AFTER, json.dumps(list(sys.path)), module,
            *earlier]
    env = dict(os.environ)
    env.pop("PYTHONSTARTUP", None)
    env["PYTHONIOENCODING"] = "utf-8"
    try:
        proc = subprocess.run(argv, cwd=os.getcwd(), env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", None
    except OSError:
        return False, "", None
    signal = signal_name(proc.returncode) if proc.returncode < 0 else None
    return signal is not None, proc.stderr.decode("utf-8", "replace")[-(1 << 20):], signal


def _native_and_value(stderr: str, head: str):
    """What the child's native code printed before faulthandler's record, and the evidence line."""
    native = stderr.split(_FAULT_START, 1)[0].strip()[-6000:]
    said = next((line.strip() for line in native.splitlines() if line.strip()), "")
    return native, head + (f"; it printed: {said[:300]}" if said else "; it printed nothing before dying")


def diagnose(target, **kwargs) -> Report:
    """``diagnose(exc)`` for an exception, ``diagnose("name")`` for a pre-flight check of an import."""
    if isinstance(target, BaseException):
        return diagnose_exception(target, **kwargs)
    return check(str(target), **kwargs)
