"""The IPython glue: the post_run_cell hook, the %dlldoctor magic, the display of reports.

This is the only module that imports IPython. Loading it imports nothing heavy: the report pipeline,
parsers and widgets load when the first report is made. A cell that succeeds costs two attribute checks;
an installer command (%pip, !pip ...) has its printed output copied, for a failure to be read.
"""
from __future__ import annotations

import atexit
import os
import shlex
import sys
import time
from typing import Any, Dict, Optional

LEVELS = ("off", "compact", "full")
_EXTENSIONS: Dict[int, "Extension"] = {}


def _strict() -> bool:
    return os.environ.get("DLLMAGIC_STRICT") == "1"


def _file_stamp(path: Optional[str]) -> Optional[tuple]:
    """(mtime, size) of the file a failure names, None without one: a repeated failure is a new one once the
    file changed."""
    if not path:
        return None
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_mtime_ns, st.st_size


def _search_path_stamp(limit: int = 64) -> tuple:
    """The import search path and each folder's mtime: an install, an uninstall or a sys.path change since a
    failure's report makes its repetition a new failure (the report above may no longer be true). The working
    folder's mtime is left out: Jupyter's saves of the notebook beside it change it all the time."""
    out = []
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    for entry in sys.path[:limit]:
        if not isinstance(entry, str):
            continue
        if entry in ("", ".", cwd):
            out.append((entry, None))
            continue
        try:
            out.append((entry, os.stat(entry).st_mtime_ns))
        except (OSError, ValueError):
            out.append((entry, None))
    return tuple(out)


class Extension:
    """dllmagic's state in one IPython shell."""

    def __init__(self, shell):
        self.shell = shell
        self.level = os.environ.get("DLLMAGIC_AUTO", "full")
        if self.level not in LEVELS:
            self.level = "full"
        # failure key -> (execution count, cell id) of the cell that shows its report
        self.seen: Dict[Any, Any] = {}
        self.last_report = None
        self.reports: Dict[str, Any] = {}  # report id -> report, for fix look-ups by id
        self.crash = None
        self.hook_seconds: Optional[float] = None
        self.hook_timings: Dict[str, float] = {}
        self.shown_seconds: Optional[float] = None  # perf_counter of the last display's first, static view
        self.shown_cpu: Optional[float] = None  # process_time then
        self._ipywidgets_installed: Optional[bool] = None  # looked up once, when a view first needs it
        # While a cell with an installer line (%pip, !pip, %conda, !uv ...) runs: the copy of what it prints
        # and the streams to give back (set by pre_run_cell, ended by post_run_cell).
        self._install_watch = None
        # The exception IPython last showed before the running cell (set by pre_run_cell): one it shows during
        # the cell without the cell raising is a caught one (%run script.py).
        self._shown_before = getattr(sys, "last_value", None)

    # -- lifecycle ----------------------------------------------------------------------------------
    def load(self) -> None:
        self.shell.events.register("post_run_cell", self.post_run_cell)
        if type(self.shell).__name__ != "ZMQInteractiveShell":
            # Terminal IPython running a file (`ipython file.ipy`): its cells run silently, so post_run_cell
            # never fires; post_execute does, and the traceback shown is in sys.last_value.
            self._shown = getattr(sys, "last_value", None)
            self.shell.events.register("post_execute", self.post_execute)
        self.shell.register_magic_function(self.dlldoctor_magic, "line", "dlldoctor")
        self._arm_crash_recorder()
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        if hasattr(os, "add_dll_directory"):
            # Windows: the list of os.add_dll_directory folders cannot be read back from a process, so
            # record the calls packages make from now on (the report shows where each folder came from).
            self._guard(self._record_dll_directories, "recording os.add_dll_directory")

    def _record_dll_directories(self) -> None:
        from .facts.native.machine import install_dll_directory_recorder

        install_dll_directory_recorder(os)

    def unload(self) -> None:
        self._end_install_watch()
        wrapped = getattr(getattr(os, "add_dll_directory", None), "__wrapped__", None)
        if wrapped is not None:
            os.add_dll_directory = wrapped
        for event, callback in (("post_run_cell", self.post_run_cell), ("post_execute", self.post_execute),
                                ("pre_run_cell", self.pre_run_cell)):
            try:
                self.shell.events.unregister(event, callback)
            except ValueError:
                pass
        self.shell.magics_manager.magics["line"].pop("dlldoctor", None)
        widget = sys.modules.get("dllmagic.report.widget")
        if widget is not None:
            # Close every report widget (and its comm) this kernel made: nothing stays live after unload.
            self._guard(widget.close_all, "closing the report widgets")
        if self.crash is not None:
            self.crash.disarm()
            try:
                atexit.unregister(self.crash.disarm)
            except Exception:
                pass
            self.crash = None

    def _arm_crash_recorder(self) -> None:
        try:
            from ._crash import CrashRecorder, kernel_key

            self.crash = CrashRecorder(kernel_key(self.shell), os.environ.get("DLLMAGIC_RUNTIME_DIR"))
            previous = self.crash.previous()
            self.crash.arm()
            atexit.register(self.crash.disarm)
        except Exception as exc:  # a read-only runtime folder must not stop the extension
            self._internal("arming the crash recorder", exc)
            return
        if previous is not None:
            self._guard(lambda: self._report_previous_crash(previous), "reporting the previous crash")

    # -- the hook -----------------------------------------------------------------------------------
    def pre_run_cell(self, info=None) -> None:
        self._shown_before = getattr(sys, "last_value", None)
        raw = getattr(info, "raw_cell", None)
        if raw and self.level != "off" and _has_installer_line(raw):  # a few substring checks otherwise
            self._guard(self._start_install_watch, "watching the installer's output")

    def post_run_cell(self, result) -> None:
        if self._install_watch is not None:  # this cell had an installer line (rare)
            self._guard(lambda: self._on_install_cell(result), "diagnosing the failed install")
        exc = getattr(result, "error_in_exec", None)
        if exc is None:
            # %run script.py (and any code that calls IPython's showtraceback) shows the exception it caught
            # and lets the cell succeed: the traceback on screen is in sys.last_value.
            shown = getattr(sys, "last_value", None)
            if shown is not None and shown is not self._shown_before:
                exc = shown
        self._shown = exc if exc is not None else getattr(self, "_shown", None)
        if exc is None or self.level == "off":
            return  # the one cheap check for every successful cell
        self._guard(lambda: self._on_error(exc, result), "diagnosing the failed cell")

    def post_execute(self) -> None:
        """A silent cell's failure (terminal IPython only): the traceback IPython just showed, once."""
        exc = getattr(sys, "last_value", None)
        if exc is None or exc is getattr(self, "_shown", None) or self.level == "off" or not _in_silent_cell():
            return  # a visible cell's failure is post_run_cell's, which comes right after
        self._shown = exc
        self._guard(lambda: self._on_error(exc, None), "diagnosing the failed cell")

    def _on_error(self, exc: BaseException, result) -> None:
        started_at = time.time()  # wall clock, comparable with the dates of the kernel's messages
        start = time.perf_counter()
        cpu_start = time.process_time()  # the kernel process's CPU: steadier than wall time on a busy machine
        thread_start = time.thread_time()  # the hook's own thread (the kernel's other threads left out)
        from .failure import failure_from_exception, is_import_failure

        if not is_import_failure(exc):
            return
        failure = failure_from_exception(exc)
        if failure is None:
            return
        # At post_run_cell the shell's counter already points at the next cell: the result has this one's.
        count = getattr(result, "execution_count", None) or getattr(self.shell, "execution_count", 0)
        cell = self._cell_id()
        key = failure.key()
        stamp = (_file_stamp(failure.from_path), _search_path_stamp())
        if key in self.seen:
            first_count, first_cell, first_stamp = self.seen[key]
            # The file the failure names changed since its report (the user edited it), or a package was
            # installed or removed, or sys.path changed: that report may be untrue now, so a new one instead
            # of a reminder.
            if (cell is None or cell != first_cell) and stamp == first_stamp:
                self._display_reminder(failure, first_count)
                return
            # The cell that showed the report ran again: its outputs were cleared, so show the report again.
        from .api import diagnose_exception

        report = diagnose_exception(exc, failure=failure, user_ns=self.shell.user_ns, history=self._history())
        self.seen[key] = (count, cell, stamp)
        diagnosed = time.perf_counter()
        self.display(report, compact=self.level == "compact")
        end = time.perf_counter()
        self.hook_seconds = end - start
        self.hook_timings = {"diagnose": diagnosed - start, "display": self.hook_seconds - (diagnosed - start),
                             # until the report was on screen: the first display, before the widget came
                             "shown": (self.shown_seconds or end) - start,
                             "shown_cpu": (self.shown_cpu if self.shown_seconds else time.process_time()) - cpu_start,
                             "cpu": time.process_time() - cpu_start, "thread_cpu": time.thread_time() - thread_start,
                             "started_at": started_at}

    # -- installers (%pip, !pip ...) ---------------------------------------------------------------
    # A failing ``%pip install`` raises nothing (IPython stores the exit status in ``_exit_code``), so the
    # hook never sees it. For a cell with an installer line, what the cell prints is copied as it is printed
    # (IPython's pty reader on POSIX and its pipe readers on Windows print a command's output through
    # sys.stdout / sys.stderr, which is where the copy is taken); after the cell, a non-zero exit status has
    # the copy read by the installer signatures. The streams are wrapped, never replaced in what they show;
    # shell.system itself is left alone (its ``{var}`` expansion reads its caller's frame).
    def _start_install_watch(self) -> None:
        self._end_install_watch()
        capture = _Capture()
        out, err = sys.stdout, sys.stderr
        tee_out, tee_err = _Tee(out, capture.add), _Tee(err, capture.add)
        sys.stdout, sys.stderr = tee_out, tee_err
        self._install_watch = (capture, out, err, tee_out, tee_err)

    def _end_install_watch(self):
        """Give the streams back (unless someone replaced ours meanwhile); the copy, or None."""
        watch, self._install_watch = self._install_watch, None
        if watch is None:
            return None
        capture, out, err, tee_out, tee_err = watch
        if sys.stdout is tee_out:
            sys.stdout = out
        if sys.stderr is tee_err:
            sys.stderr = err
        return capture

    def _on_install_cell(self, result) -> None:
        capture = self._end_install_watch()
        exc = getattr(result, "error_in_exec", None)
        # system_raise_on_error: a CalledProcessError carries the status; else IPython's _exit_code
        status = getattr(exc, "returncode", None) if exc is not None else self.shell.user_ns.get("_exit_code")
        if capture is None or not isinstance(status, int) or status == 0:
            return
        text = capture.text()
        if not text.strip():
            return
        from .api import explain

        report = explain(text)  # the installer signatures, as `dlldoctor explain` reads a pasted output
        if report.failure is None or not report.findings:
            return  # nothing recognised: the installer's own message stands alone
        note = f"from what this cell's installer printed (exit status {status})"
        self.display(report.replace(notes=(note,) + tuple(report.notes)),
                     compact=self.level == "compact")

    def _cell_id(self):
        from_shell = getattr(self.shell, "parent_header", None) or {}
        meta = from_shell.get("metadata") if isinstance(from_shell, dict) else None
        cid = meta.get("cellId") if isinstance(meta, dict) else None
        return cid if isinstance(cid, str) and cid else None

    def _history(self):
        try:
            return list(self.shell.history_manager.input_hist_raw)
        except Exception:
            return None

    # -- display ------------------------------------------------------------------------------------
    def display(self, report, *, compact: bool = False, display_id: Optional[str] = None) -> None:
        from IPython.display import display

        self.last_report = report
        if display_id is None and self._widget_needs_import():
            # The kernel's first view: ipywidgets' own import (its package imports every widget) costs more
            # than the whole diagnosis. The report is shown at once as text and HTML, and the full bundle
            # (the widget and the report's JSON) replaces it under the same display id once built. The JSON
            # is left out of the first display on purpose: the front-end extension draws a JSON without a
            # widget as the saved report of a kernel that is not running, which would be false here.
            display_id = f"dllmagic-report-{os.urandom(8).hex()}"
            views = self._text_views(report, compact)
            display(views, raw=True, display_id=display_id)
            self.shown_seconds = time.perf_counter()
            self.shown_cpu = time.process_time()
            bundle = self._static_bundle(report, compact, views)
            self._add_widget(report, compact, bundle)
            from IPython.display import update_display

            update_display(bundle, raw=True, display_id=display_id)
            return
        bundle = self._static_bundle(report, compact)
        self._add_widget(report, compact, bundle)
        self.shown_seconds = None
        if display_id:
            display(bundle, raw=True, display_id=display_id)
        else:
            display(bundle, raw=True)

    def _add_widget(self, report, compact: bool, bundle: Dict[str, Any]) -> None:
        # The widget adds its view; the static fallbacks stay ours (and respect the compact level).
        widget_bundle = self._widget_bundle(report, compact, bundle)
        if widget_bundle:
            bundle.update({k: v for k, v in widget_bundle.items() if k not in bundle})

    @staticmethod
    def _text_views(report, compact: bool) -> Dict[str, Any]:
        from .report.html import render_html
        from .report.text import render_text

        return {"text/plain": render_text(report, compact=compact), "text/html": render_html(report, compact=compact)}

    @classmethod
    def _static_bundle(cls, report, compact: bool, views: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """text/plain, text/html (``views`` when already rendered) and the report's JSON."""
        from .report.jsonview import MIME_TYPE, render_dict

        bundle = dict(views) if views is not None else cls._text_views(report, compact)
        bundle[MIME_TYPE] = render_dict(report)
        return bundle

    def _widget_wanted(self) -> bool:
        # The widget view needs a front end with a widget manager: only in a real kernel, never in a
        # terminal IPython, and never when the user asked for plain output.
        return os.environ.get("DLLMAGIC_WIDGET", "1") != "0" and getattr(self.shell, "kernel", None) is not None

    def _widget_needs_import(self) -> bool:
        """Whether the widget view is wanted, ipywidgets is installed and not imported yet."""
        if "ipywidgets" in sys.modules or not self._widget_wanted():
            return False
        if self._ipywidgets_installed is None:
            from importlib.util import find_spec

            try:
                self._ipywidgets_installed = find_spec("ipywidgets") is not None
            except (ImportError, ValueError):
                self._ipywidgets_installed = False
        return self._ipywidgets_installed

    def _widget_bundle(self, report, compact: bool, fallbacks=None):
        if not self._widget_wanted():
            return None
        try:
            from .report import widget
        except ImportError:
            return None
        try:
            return widget.display_bundle(report, self.shell, compact=compact, fallbacks=fallbacks)
        except Exception as exc:
            if isinstance(exc, ImportError):  # ipywidgets installed but broken: no first view waits for it again
                self._ipywidgets_installed = False
            self._internal("building the widget", exc)
            return None

    def _display_reminder(self, failure, count: int) -> None:
        from html import escape

        from IPython.display import display

        where = f"in cell [{count}], whose report is there" if count else "earlier"
        text = (f"dllmagic: the same failure as {where} ({failure.kind}: {failure.module or failure.exc_type}); "
                f"%dlldoctor {failure.module or ''} shows the full report again.")
        display({"text/plain": text, "text/html": f"<div style='font-size:12px;opacity:.8'>{escape(text)}</div>"},
                raw=True)

    def _report_previous_crash(self, previous) -> None:
        from .api import diagnose_crash

        # The dead kernel's record has no native message: re-run the crashed import in a child process
        # (bounded; DLLMAGIC_CRASH_RECHECK=0 turns it off) so the report names the real cause.
        recheck = os.environ.get("DLLMAGIC_CRASH_RECHECK", "1") != "0"
        try:
            timeout = float(os.environ.get("DLLMAGIC_CRASH_RECHECK_TIMEOUT", "30"))
        except ValueError:
            timeout = 30.0
        publisher = getattr(self.shell, "display_pub", None)
        in_kernel = getattr(self.shell, "kernel", None) is not None and hasattr(publisher, "set_thread_parent")
        if not (recheck and in_kernel and previous.importing):
            # A terminal IPython (no display to update later), or no re-run: the report as it is, now.
            self.display(diagnose_crash(previous, recheck=recheck, timeout=timeout))
            return
        # In a kernel the re-run happens beside it (it may take seconds, and %load_ext may run while the
        # kernel starts): the record's report now, brought up to date in place when the child is done.
        import threading
        import uuid

        first = diagnose_crash(previous, recheck=False)
        note = (f"re-running `import {previous.importing}` in a child process to read what its native code "
                f"printed before the crash; this report is updated in place when that is done")
        display_id = f"dllmagic-crash-{uuid.uuid4().hex}"
        self.display(first.replace(notes=(note,) + tuple(first.notes)), display_id=display_id)
        parent = publisher.parent_header
        self._recheck = threading.Thread(target=self._recheck_crash, name="dllmagic-crash-recheck", daemon=True,
                                         args=(previous, timeout, display_id, parent))
        self._recheck.start()

    def _recheck_crash(self, previous, timeout: float, display_id: str, parent) -> None:
        """The background half of the crash report: the child re-run, then the display updated (its static
        views: the widget of the first display is replaced by the report renderer)."""
        from IPython.display import update_display

        from .api import diagnose_crash

        publisher = self.shell.display_pub
        token = publisher.set_thread_parent(parent)  # this thread's messages belong to the %load_ext cell
        try:
            report = diagnose_crash(previous, recheck=True, timeout=timeout)
            self.last_report = report
            update_display(self._static_bundle(report, compact=False), raw=True, display_id=display_id)
        except Exception as exc:  # never in the kernel's way: one line, under that cell
            self._internal("re-running the crashed import", exc)
        finally:
            publisher.reset_thread_parent(token)

    # -- errors of our own --------------------------------------------------------------------------
    def _guard(self, func, where: str) -> None:
        try:
            func()
        except Exception as exc:
            if _strict():
                raise
            self._internal(where, exc)

    def _internal(self, where: str, exc: BaseException) -> None:
        if _strict():
            raise exc
        # One line, never a traceback: the user's own traceback above stays the important thing.
        print(f"dllmagic: internal error while {where}: {type(exc).__name__}: {exc}", file=sys.stderr)

    # -- %dlldoctor ---------------------------------------------------------------------------------
    def dlldoctor_magic(self, line: str = ""):
        """Diagnose an import on demand.

        %dlldoctor NAME              the report for importing NAME (tried in a child process)
        %dlldoctor                   the full report of the last failure in this kernel
        %dlldoctor NAME --json       the report as JSON
        %dlldoctor NAME --fix N      put fix N of the report into the next cell
        %dlldoctor NAME --online     also ask the package index (pip install --dry-run) what would change
        %dlldoctor --auto off|compact|full   how failed cells are reported in this session
        """
        try:
            args = _parse_magic(line)
        except ValueError as exc:
            print(f"dlldoctor: {exc}\n{self.dlldoctor_magic.__doc__}", file=sys.stderr)
            return None
        if args["auto"] is not None:
            self.level = args["auto"]
            print(f"dllmagic: failed imports are now reported {'not at all' if self.level == 'off' else self.level}.")
            if not args["name"]:
                return None
        report = None
        if args["name"]:
            try:
                from .api import check

                report = check(args["name"], live=True, user_ns=self.shell.user_ns, history=self._history(),
                               online=args["online"])
            except Exception as exc:
                if _strict():
                    raise
                self._internal(f"checking {args['name']}", exc)
                return None
        else:
            report = self.last_report
            if report is None:
                print("dllmagic: no failure in this kernel yet; try %dlldoctor NAME.")
                return None
        if args["fix"] is not None:
            return self._place_fix(report, args["fix"])
        if args["json"]:
            from .report.jsonview import render_json

            print(render_json(report))
            self.last_report = report
            return None
        self.display(report)
        return None

    def _place_fix(self, report, number: str) -> None:
        fixes = [fix for finding in report.findings for fix in finding.fixes]
        labels = {f"{i}.{n}": fix for i, finding in enumerate(report.findings, 1)
                  for n, fix in enumerate(finding.fixes, 1)}
        fix = labels.get(number)
        if fix is None and number.isdigit() and 0 < int(number) <= len(fixes):
            fix = fixes[int(number) - 1]
        if fix is None or not fix.cell:
            print(f"dllmagic: the report has no fix {number} with a cell (it has {len(fixes)} fixes).")
            return None
        self.shell.set_next_input(fix.cell, replace=False)
        self.last_report = report
        return None


def _parse_magic(line: str) -> Dict[str, Any]:
    words = shlex.split(line)
    out: Dict[str, Any] = {"name": None, "auto": None, "json": False, "fix": None, "online": False}
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--json":
            out["json"] = True
        elif word == "--online":
            out["online"] = True
        elif word in ("--auto", "--fix"):
            if i + 1 >= len(words):
                raise ValueError(f"{word} needs a value")
            value = words[i + 1]
            if word == "--auto" and value not in LEVELS:
                raise ValueError(f"--auto takes one of {', '.join(LEVELS)}")
            out[word[2:]] = value
            i += 1
        elif word.startswith("-"):
            raise ValueError(f"unknown option {word}")
        elif out["name"] is None:
            if not all(part.isidentifier() for part in word.split(".")):
                raise ValueError(f"not a module name: {word!r}")
            out["name"] = word
        else:
            raise ValueError(f"unexpected {word!r}")
        i += 1
    return out


#: The installers whose failures have signatures: a command word, then an installing sub-command (IPython
#: hands %pip to system as "<python> -m pip install ...", %conda as "<conda> install ...", !lines as typed).
_INSTALLER_WORDS = frozenset({"pip", "pip3", "uv", "conda", "mamba", "micromamba", "poetry", "pipx"})
_INSTALL_VERBS = frozenset({"install", "add", "sync", "create", "update", "upgrade", "lock", "pip", "env"})
#: What a copied installer output may hold: its head and its tail (pip's error is at the end).
_CAPTURE_HEAD = 32 * 1024
_CAPTURE_LIMIT = 256 * 1024


def _has_installer_line(raw: str) -> bool:
    """Whether a cell has a %pip / !pip / %conda / %uv ... line that installs (a cheap scan, nothing run)."""
    if "pip" not in raw and "uv" not in raw and "conda" not in raw and "mamba" not in raw and "poetry" not in raw:
        return False  # every cell pays this much: five substring searches
    for line in raw.splitlines():
        line = line.strip()
        if line[:1] in ("%", "!") and _is_installer_command(line.lstrip("%!")):
            return True
    return False


def _is_installer_command(cmd: str) -> bool:
    """Whether a shell command line runs an installer (a cheap word scan; nothing is run or expanded)."""
    words = cmd.replace("&&", " ").replace(";", " ").replace("|", " ").split()
    for i, word in enumerate(words[:-1]):
        name = word.strip("'\"").replace("\\", "/").rsplit("/", 1)[-1].lower()
        if name.endswith(".exe"):
            name = name[:-4]
        if name in _INSTALLER_WORDS:
            # the sub-command, after any options (pip -q install x)
            verb = next((w for w in words[i + 1:i + 6] if not w.startswith("-")), "")
            if verb.strip("'\"").lower() in _INSTALL_VERBS:
                return True
    return False


class _Capture:
    """A bounded copy of text: the first 32 KB and the last 224 KB of all that was added."""

    def __init__(self) -> None:
        self.head = ""
        self.chunks: list = []  # the tail, as written (joined only when trimmed or read)
        self.size = 0
        self.dropped = False

    def add(self, text) -> None:
        if not isinstance(text, str):
            text = bytes(text).decode("utf-8", "replace") if isinstance(text, (bytes, bytearray)) else str(text)
        if len(self.head) < _CAPTURE_HEAD:
            room = _CAPTURE_HEAD - len(self.head)
            self.head += text[:room]
            text = text[room:]
        if text:
            self.chunks.append(text)
            self.size += len(text)
            limit = _CAPTURE_LIMIT - _CAPTURE_HEAD
            if self.size > 2 * limit:  # trim now and then, not on every write
                tail = "".join(self.chunks)[-limit:]
                self.chunks, self.size, self.dropped = [tail], len(tail), True

    def text(self) -> str:
        limit = _CAPTURE_LIMIT - _CAPTURE_HEAD
        tail = "".join(self.chunks)
        gap = "\n…\n" if self.dropped or len(tail) > limit else ""
        return self.head + gap + tail[-limit:]


class _Tee:
    """A stream that writes through to the real one, unchanged, and hands a copy of the text to ``sink``."""

    def __init__(self, stream, sink) -> None:
        self._stream = stream
        self._sink = sink

    def write(self, text):
        written = self._stream.write(text)
        try:
            self._sink(text)
        except Exception:
            pass  # the copy is ours; the user's output never depends on it
        return written

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def load(shell) -> None:
    if id(shell) in _EXTENSIONS:
        return  # loading twice registers once
    ext = Extension(shell)
    _EXTENSIONS[id(shell)] = ext
    ext.load()


def unload(shell) -> None:
    ext = _EXTENSIONS.pop(id(shell), None)
    if ext is not None:
        ext.unload()


def extension_for(shell) -> Optional[Extension]:
    return _EXTENSIONS.get(id(shell))


def _in_silent_cell() -> bool:
    """Whether the InteractiveShell.run_cell that triggered this event runs silently (IPython passes no
    such flag to post_execute; its caller's frame has it). False when it cannot be told: no report twice."""
    frame = sys._getframe(1)
    for _ in range(8):
        frame = frame.f_back
        if frame is None:
            return False
        if frame.f_code.co_name == "run_cell" and "silent" in frame.f_locals:
            return bool(frame.f_locals["silent"])
    return False
