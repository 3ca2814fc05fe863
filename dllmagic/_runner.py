"""The safe Run behind the report's "Run" button.

The front end never sends a command: it sends a click on a button that stands for one fix id, and the kernel
looks that id up in the report it made itself (:func:`start` takes the report and the id, nothing else).
A run needs a confirmation the kernel itself issued: :func:`request_confirmation` records a one-time
nonce for (report, fix, argv) when the user presses Run and the argv is shown; :func:`start` runs only
with that nonce, once, within :data:`CONFIRM_TTL` seconds. A "Run it" click the kernel never asked for
runs nothing. Before anything runs, :func:`refusal` checks the fix and the environment; the command then
runs with the kernel's own interpreter in a subprocess in its own session, read on a background thread,
one run at a time per kernel. Cancelling ends the whole process tree: the process group, every
descendant found in /proc (also those that called ``setsid``) and every process carrying the run's
marker in its environment (also those that double-forked away); the per-kernel slot is freed even when
such a process still holds the output pipe. After a successful run the fix is verified by importing the module in a fresh child
of the kernel's interpreter, never in the kernel itself (a half-imported extension module stays broken
in the process that tried it).

Nothing here imports IPython or ipywidgets; the widget passes callbacks in.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import weakref
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from ._record import Record
from .model import Fix, Report

__all__ = [
    "RunRefused", "Verification", "Run", "refusal", "start", "current", "verify_import",
    "is_conda_base", "is_externally_managed", "request_confirmation", "withdraw_confirmation",
    "descendants",
]

#: Modules a runnable fix may call as ``python -m MODULE install ...``.
INSTALLERS = ("pip", "uv", "conda", "mamba")
#: Options a runnable install may carry; anything else (an index URL, a target folder, -r FILE ...) is refused.
ALLOWED_OPTIONS = frozenset({
    "--upgrade", "-U", "--force-reinstall", "--no-deps", "--pre", "--only-binary=:all:", "--prefer-binary",
    "--upgrade-strategy=only-if-needed", "-y", "--yes",
})
#: Words that make a command something we never run from a button, wherever they stand in argv.
FORBIDDEN_WORDS = frozenset({
    "sudo", "doas", "su", "runas", "pkexec", "uninstall", "remove", "rm", "--break-system-packages",
    "--user", "--target", "-t", "--prefix", "--root", "--index-url", "-i", "--extra-index-url",
    "--trusted-host", "-r", "--requirement", "-e", "--editable", "-c", "--constraint",
})
#: Terminal colour and cursor sequences; output is shown as text, not in a terminal.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_REQUIREMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?([<>=!~]=?[A-Za-z0-9.*+!_-]+"
                          r"(,[<>=!~]=?[A-Za-z0-9.*+!_-]+)*)?")

#: Kept output per run; older lines are dropped (a verbose build log can be megabytes).
MAX_LINES = 2000
#: How long the verification import may take.
VERIFY_TIMEOUT = 120.0
#: Grace between SIGTERM and SIGKILL when cancelling.
KILL_GRACE = 3.0

#: How long a confirmation issued by :func:`request_confirmation` stays valid.
CONFIRM_TTL = 600.0
#: Environment variable every process of a run inherits; cancel finds strays by it.
RUN_MARKER = "DLLMAGIC_RUN_ID"

_lock = threading.Lock()
_current: Optional["Run"] = None
#: nonce -> (id of the report object, fix id, argv, monotonic time issued): confirmations not used yet.
_pending: dict = {}


class RunRefused(Exception):
    """The fix may not run from a button; the message is a full sentence saying why."""


class Verification(Record):
    """The result of importing the module in a fresh child process."""

    module: str
    ok: bool
    detail: str          # the module's file on success, the last line of the error otherwise
    new_conflicts: Tuple[str, ...] = ()   # 'pip check' lines the run added (then ok is False)


# -- environment checks ---------------------------------------------------------------------------------
def is_conda_base(prefix: str) -> bool:
    """True for a conda installation's root ("base") environment.

    A conda environment has ``conda-meta/``; only the base one also holds the ``envs/`` folder and the
    package cache, and its ``conda-meta/history`` is the installation's own. Named environments live
    under ``<base>/envs/<name>``.
    """
    if not os.path.isdir(os.path.join(prefix, "conda-meta")):
        return False
    parent = os.path.basename(os.path.dirname(os.path.normpath(prefix)))
    if parent == "envs":
        return False
    return any(os.path.exists(os.path.join(prefix, marker)) for marker in ("condabin", "envs", "pkgs"))


def is_externally_managed(prefix: Optional[str] = None, base_prefix: Optional[str] = None,
                          stdlib: Optional[str] = None) -> bool:
    """PEP 668: the interpreter's stdlib folder holds EXTERNALLY-MANAGED and we are not in a venv."""
    prefix = sys.prefix if prefix is None else prefix
    base_prefix = sys.base_prefix if base_prefix is None else base_prefix
    if os.path.normcase(os.path.realpath(prefix)) != os.path.normcase(os.path.realpath(base_prefix)):
        return False        # a virtual environment is never externally managed
    stdlib = sysconfig.get_path("stdlib") if stdlib is None else stdlib
    return bool(stdlib) and os.path.isfile(os.path.join(stdlib, "EXTERNALLY-MANAGED"))


def _same_file(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if os.path.normcase(a) == os.path.normcase(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refusal(report: Report, fix_id: str, *, python: Optional[str] = None,
            prefix: Optional[str] = None, base_prefix: Optional[str] = None,
            stdlib: Optional[str] = None) -> Optional[str]:
    """Why the fix with this id may not run from a button, or None when it may.

    ``python``, ``prefix``, ``base_prefix`` and ``stdlib`` describe the kernel and default to this
    process; tests pass them to model a conda base or a PEP 668 interpreter.
    """
    python = sys.executable if python is None else python
    prefix = sys.prefix if prefix is None else prefix
    fix = report.fix_by_id(fix_id) if isinstance(fix_id, str) else None
    if fix is None:
        return "This report has no fix with that id."
    if not fix.runnable or not fix.argv:
        return ("This fix is not offered as a one-click run: its names were not validated against installed "
                "metadata or the knowledge tables, or it is not a command.")
    argv = list(fix.argv)
    words = {a.lower() for a in argv[1:]} | {os.path.basename(argv[0]).lower()}
    bad = sorted(words & FORBIDDEN_WORDS)
    if bad:
        return f"Commands with {', '.join(bad)} are never run from a button."
    if not _same_file(argv[0], python):
        return f"The command does not use this kernel's interpreter ({python})."
    if report.interpreter is not None and report.interpreter.executable and \
            not _same_file(report.interpreter.executable, python):
        return "This report is about another interpreter than this kernel's; run its fix there."
    if len(argv) < 5 or argv[1] != "-m" or argv[2] not in INSTALLERS or argv[3] != "install":
        return "Only 'python -m pip install ...' style commands are run from a button."
    names = []
    for arg in argv[4:]:
        if arg.startswith("-"):
            if arg not in ALLOWED_OPTIONS:
                return f"The option {arg} is not run from a button."
        elif _REQUIREMENT.fullmatch(arg):
            # A second guard behind fixes.py: a name an installer would read as a local file (setup.zip,
            # x.whl, ./pkg) is never run, whatever made the fix.
            from .fixes import UnsafeName, validate_requirement

            try:
                validate_requirement(arg)
            except UnsafeName as exc:
                return f"{arg!r} is not run from a button: {exc}."
            names.append(arg)
        else:
            return f"{arg!r} is not a plain requirement."
    if not names:
        return "The command installs nothing."
    kind = report.interpreter.environment_kind if report.interpreter is not None else ""
    if kind == "system-externally-managed" or is_externally_managed(prefix, base_prefix, stdlib):
        return ("This Python is managed by the operating system (PEP 668, EXTERNALLY-MANAGED); "
                "install into a virtual environment instead.")
    if is_conda_base(prefix):
        return "This kernel runs in a conda base environment; install into a separate environment instead."
    return None


# -- confirmation ----------------------------------------------------------------------------------------
def request_confirmation(report: Report, fix_id: str) -> str:
    """Record that the user was shown this fix's argv and asked to confirm; return the one-time nonce.

    Raises :class:`RunRefused` when the fix may not run at all (nothing is recorded then).
    """
    reason = refusal(report, fix_id)
    if reason:
        raise RunRefused(reason)
    fix = report.fix_by_id(fix_id)
    assert fix is not None
    nonce = secrets.token_hex(16)
    now = time.monotonic()
    with _lock:
        for old in [k for k, v in _pending.items() if now - v[3] > CONFIRM_TTL]:
            del _pending[old]
        _pending[nonce] = (id(report), fix_id, tuple(fix.argv or ()), now)
    return nonce


def withdraw_confirmation(nonce: Optional[str]) -> None:
    """Forget a confirmation that was not used ("Don't run", the report closed)."""
    if nonce:
        with _lock:
            _pending.pop(nonce, None)


def _take_confirmation(report: Report, fix: Fix, nonce: Optional[str]) -> Optional[str]:
    """Consume ``nonce``; return why it does not confirm this run, or None when it does."""
    if not isinstance(nonce, str) or not nonce:
        return "Not confirmed: press Run and confirm the command shown."
    with _lock:
        entry = _pending.pop(nonce, None)
    if entry is None:
        return "This confirmation was not issued by this kernel, or it was used already; press Run again."
    report_id, fix_id, argv, issued = entry
    if report_id != id(report) or fix_id != fix.id or argv != tuple(fix.argv or ()):
        return "This confirmation was issued for another command; press Run again."
    if time.monotonic() - issued > CONFIRM_TTL:
        return "This confirmation expired; press Run again."
    return None


# -- processes -------------------------------------------------------------------------------------------
def _proc_table() -> dict:
    """pid -> (ppid, environ marker or None) of every process readable in /proc (Linux); {} elsewhere."""
    table = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for entry in entries:
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        marker = None
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read(1 << 20)
            key = RUN_MARKER.encode() + b"="
            for item in env.split(b"\0"):
                if item.startswith(key):
                    marker = item[len(key):].decode("ascii", "replace")
                    break
        except OSError:
            pass
        table[pid] = (ppid, marker)
    return table


def descendants(pid: int, marker: Optional[str] = None) -> List[int]:
    """Every live descendant of ``pid`` found in /proc (whatever its session or group), plus every process
    whose environment carries ``RUN_MARKER=marker``; never this process or its ancestors."""
    table = _proc_table()
    children: dict = {}
    for child, (parent, _m) in table.items():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    if marker:
        found |= {p for p, (_pp, m) in table.items() if m == marker}
    mine, p = {os.getpid()}, os.getpid()
    while p in table and p not in (0, 1):       # never signal ourselves or an ancestor
        p = table[p][0]
        mine.add(p)
    found -= mine
    found.discard(pid)
    return sorted(found)


# -- running ---------------------------------------------------------------------------------------------
def _fresh_folder() -> str:
    """A new, empty folder only this user may enter: where an installer runs. pip reads a name that is a
    folder or an archive in its working folder as a local project to build (``pip install setup.zip`` runs
    ./setup.zip's setup.py), so it never runs in the notebook's folder."""
    return tempfile.mkdtemp(prefix="dllmagic-run-")


@contextlib.contextmanager
def neutral_folder() -> Iterator[str]:
    """A fresh, empty working folder for one installer command, removed afterwards."""
    folder = _fresh_folder()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _popen(argv: Sequence[str], marker: Optional[str] = None, *, neutral_cwd: bool = False,
           **kwargs) -> subprocess.Popen:
    """Start ``argv`` in its own process group; ``neutral_cwd``: in a fresh empty folder (installers)."""
    folder = None
    if neutral_cwd:
        folder = kwargs["cwd"] = _fresh_folder()
    try:
        proc = _popen_group(argv, marker, **kwargs)
    except BaseException:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    if folder:
        weakref.finalize(proc, shutil.rmtree, folder, True)   # removed once the run is done with it
    return proc


def _popen_group(argv: Sequence[str], marker: Optional[str] = None, **kwargs) -> subprocess.Popen:
    env = dict(os.environ)
    if marker:
        env[RUN_MARKER] = marker
    env.update(PYTHONUNBUFFERED="1", PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_PROGRESS_BAR="off", PIP_NO_COLOR="1")
    if os.name == "nt":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    else:
        kwargs["start_new_session"] = True     # its own session and process group: killpg reaches all
    return subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, **kwargs)


def _signal(pids: Sequence[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _kill_group(proc: subprocess.Popen, grace: float = KILL_GRACE, marker: Optional[str] = None) -> None:
    """End ``proc`` and everything it started: its process group, its descendants in /proc (those that
    called ``setsid`` too) and the processes that carry ``marker`` in their environment."""
    if os.name == "nt":
        if proc.poll() is None:
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, check=False)
        return
    # Collect the tree before the leader dies: its children are then re-parented and the chain is lost
    # (the marker still finds them).
    strays = descendants(proc.pid, marker)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        # The leader may have exited while its children (a compiler, a build backend) still run: the group
        # id stays valid as long as one member lives, so signal the group, not only the process.
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        strays = sorted(set(strays) | set(descendants(proc.pid, marker)))
        _signal(strays, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if proc.poll() is not None and not [p for p in strays if _alive(p)]:
                break
            time.sleep(0.05)
        else:
            continue
        if sig == signal.SIGTERM:
            # Everyone is gone or going; make sure no member outlived the leader.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            _signal([p for p in strays if _alive(p)], signal.SIGKILL)
        break
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return stat[stat.rindex(b")") + 2:].split()[0] != b"Z"
    except (OSError, ValueError, IndexError):
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return not os.path.isdir("/proc")


VERIFY_CODE = (
    "import importlib, sys\n"
    "m = importlib.import_module(sys.argv[1])\n"
    "print(getattr(m, '__file__', None) or 'built-in')\n"
)


def verify_import(module: str, *, python: Optional[str] = None, timeout: float = VERIFY_TIMEOUT,
                  _register: Optional[Callable[[subprocess.Popen], None]] = None,
                  marker: Optional[str] = None) -> Verification:
    """Import ``module`` in a fresh child of the kernel's interpreter (never in the kernel itself)."""
    if not _DOTTED.fullmatch(module or ""):
        return Verification(module, False, "not an importable dotted name")
    proc = _popen([python or sys.executable, "-c", VERIFY_CODE, module], marker=marker)
    if _register is not None:
        _register(proc)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc, marker=marker)
        return Verification(module, False, f"the import did not finish within {timeout:.0f} s")
    lines = [ln for ln in out.decode("utf-8", "replace").splitlines() if ln.strip()]
    last = lines[-1].strip() if lines else ""
    if proc.returncode == 0:
        return Verification(module, True, last)
    if proc.returncode < 0:
        return Verification(module, False, f"the import was killed by signal {-proc.returncode}")
    return Verification(module, False, last or f"exit status {proc.returncode}")


class Run:
    """One run of one fix. Use :func:`start`; read ``state``, ``returncode``, ``lines``, ``verification``.

    ``state`` goes ``running`` → ``verifying`` → ``succeeded``, or ends ``failed`` or ``cancelled``.
    ``on_output(line)`` is called for each output line and ``on_state(run)`` at each state change, both
    on the background thread.
    """

    def __init__(self, fix: Fix, module: Optional[str], *, python: Optional[str] = None,
                 on_output: Optional[Callable[[str], None]] = None,
                 on_state: Optional[Callable[["Run"], None]] = None) -> None:
        self.fix = fix
        self.argv: List[str] = list(fix.argv or ())
        self.module = module
        self.python = python or sys.executable
        self.state = "pending"
        self.returncode: Optional[int] = None
        self.verification: Optional[Verification] = None
        self.error: Optional[str] = None
        self.lines: List[str] = []
        self.started = 0.0
        self.ended: Optional[float] = None
        self._on_output = on_output
        self._on_state = on_state
        self._proc: Optional[subprocess.Popen] = None
        self._cancelled = threading.Event()
        self._proc_lock = threading.Lock()
        self._done = threading.Event()
        self.marker = secrets.token_hex(8)
        self._thread = threading.Thread(target=self._main, name=f"dllmagic-run-{fix.id}", daemon=True)

    # public --------------------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def elapsed(self) -> float:
        return ((self.ended or time.monotonic()) - self.started) if self.started else 0.0

    def wait(self, timeout: Optional[float] = None) -> bool:
        return self._done.wait(timeout)

    def cancel(self) -> None:
        """End the command's whole process tree (or the verification import) and free the kernel's slot."""
        global _current
        self._cancelled.set()
        with self._proc_lock:
            proc = self._proc
        if proc is not None:
            _kill_group(proc, marker=self.marker)
        # The reader stops by itself once the pipe is closed or the leader is gone; the slot is free now
        # even if a stray we could not signal still holds the pipe.
        with _lock:
            if _current is self:
                _current = None

    # internals -----------------------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self.state = state
        if self._on_state is not None:
            try:
                self._on_state(self)
            except Exception:  # noqa: BLE001 - a view's error must not kill the run's bookkeeping
                if os.environ.get("DLLMAGIC_STRICT") == "1":
                    raise

    def _emit(self, line: str) -> None:
        line = _ANSI.sub("", line)
        self.lines.append(line)
        if len(self.lines) > MAX_LINES:
            del self.lines[: len(self.lines) - MAX_LINES]
        if self._on_output is not None:
            try:
                self._on_output(line)
            except Exception:  # noqa: BLE001
                if os.environ.get("DLLMAGIC_STRICT") == "1":
                    raise

    def _register(self, proc: subprocess.Popen) -> None:
        with self._proc_lock:
            self._proc = proc
        if self._cancelled.is_set():
            _kill_group(proc, marker=self.marker)

    def _read(self, proc: subprocess.Popen) -> None:
        """Emit the output line by line until EOF, or until the leader is gone and the pipe has been quiet
        for a moment (a detached grandchild may keep it open for ever)."""
        assert proc.stdout is not None
        if os.name == "nt":
            for raw in iter(proc.stdout.readline, b""):
                self._emit(raw.decode("utf-8", "replace").rstrip("\r\n"))
            return
        fd = proc.stdout.fileno()
        buf = b""
        quiet_since: Optional[float] = None
        while True:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                quiet_since = None
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for raw in lines:
                    self._emit(raw.decode("utf-8", "replace").rstrip("\r"))
                continue
            if proc.poll() is not None:
                quiet_since = quiet_since or time.monotonic()
                if self._cancelled.is_set() or time.monotonic() - quiet_since > 2.0:
                    break
        if buf:
            self._emit(buf.decode("utf-8", "replace").rstrip("\r"))

    def _start(self) -> None:
        self.started = time.monotonic()
        self._set_state("running")
        self._thread.start()

    def _main(self) -> None:
        global _current
        try:
            before = self._conflicts() if self.module else None
            try:
                proc = _popen(self.argv, marker=self.marker, neutral_cwd=True)
            except OSError as exc:
                self.error = f"could not start {self.argv[0]}: {exc}"
                self._emit(self.error)
                self._finish("failed")
                return
            self._register(proc)
            self._read(proc)
            assert proc.stdout is not None
            proc.stdout.close()
            self.returncode = proc.wait()
            if self._cancelled.is_set():
                self._finish("cancelled")
                return
            if self.returncode != 0:
                self._finish("failed")
                return
            if self.module:
                self._set_state("verifying")
                self.verification = verify_import(self.module, python=self.python, _register=self._register,
                                                  marker=self.marker)
                if self._cancelled.is_set():
                    self._finish("cancelled")
                    return
                after = self._conflicts() if before is not None and self.verification.ok else None
                new = tuple(c for c in after or () if c not in before)
                if new:   # the import works, but the change broke what another package declares: said, never hidden
                    self.verification = Verification(
                        self.module, False, f"{self.module} imports, but 'pip check' now reports: "
                                            + "; ".join(new[:5]) + (" ..." if len(new) > 5 else ""), new)
            self._finish("succeeded")
        except Exception as exc:  # noqa: BLE001 - a run must always end in a state the view can show
            self.error = f"internal error: {exc!r}"
            self._finish("failed")
            if os.environ.get("DLLMAGIC_STRICT") == "1":
                raise
        finally:
            with _lock:
                if _current is self:
                    _current = None
            self._done.set()

    def _conflicts(self) -> Optional[Tuple[str, ...]]:
        """'pip check' of the environment (read from disk where it has no pip); None when it cannot be had."""
        try:
            from .planner.prove import current_conflicts

            return tuple(current_conflicts(self.python or sys.executable, timeout=120))
        except Exception:  # noqa: BLE001 - a check that cannot run is no reason to fail the fix
            return None

    def _finish(self, state: str) -> None:
        global _current
        self.ended = time.monotonic()
        with _lock:
            if _current is self:
                _current = None
        self._set_state(state)


def current() -> Optional[Run]:
    """The run in progress in this kernel, if any."""
    return _current


def start(report: Report, fix_id: str, *, confirmation: Optional[str],
          on_output: Optional[Callable[[str], None]] = None,
          on_state: Optional[Callable[[Run], None]] = None, python: Optional[str] = None,
          module: Optional[str] = None) -> Run:
    """Start the fix ``fix_id`` of ``report``; raise :class:`RunRefused` if it may not run now.

    ``confirmation`` is the nonce :func:`request_confirmation` issued for this report and fix; it is
    consumed here, so one confirmation starts at most one run. The module to verify defaults to the
    top-level package of the report's failed import (``report.failure.module``, else its target).
    """
    global _current
    python = sys.executable if python is None else python
    reason = refusal(report, fix_id, python=python)
    if reason:
        withdraw_confirmation(confirmation)
        raise RunRefused(reason)
    fix = report.fix_by_id(fix_id)
    assert fix is not None
    reason = _take_confirmation(report, fix, confirmation)
    if reason:
        raise RunRefused(reason)
    if module is None:
        # The name the user imported, not the innermost submodule that raised: 'import pandas' failing in
        # pandas._libs.interval is verified by importing pandas (which also loads numexpr ...).
        failed = report.failure.module if report.failure is not None else None
        candidate = failed or report.target
        module = candidate.split(".")[0] if candidate and _DOTTED.fullmatch(candidate) else None
    run = Run(fix, module, python=python, on_output=on_output, on_state=on_state)
    with _lock:
        if _current is not None and not _current.done:
            raise RunRefused("Another fix is running in this kernel; wait for it or cancel it first.")
        _current = run
    run._start()
    return run
