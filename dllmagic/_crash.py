"""Remember imports that kill the kernel, so the next run can say what happened.

A crash (SIGILL on a CPU without AVX, a segfault in native code) ends the process before any hook runs.
On load we point faulthandler at a small per-kernel file in the Jupyter runtime folder, and an import
tracker at the front of ``sys.meta_path`` writes the name of each module being imported into a shared
memory page of a second file: a memory write, no system call, and it survives the process's death.
A second page of that file lists, in order, each top-level package first imported since the recorder
was armed: a crash that needs two packages (two OpenMP runtimes) can then be re-run in a child with the
packages imported before it. After a restart the same kernel (same connection file, same key) finds both
files and reports.
"""
from __future__ import annotations

import faulthandler
import hashlib
import mmap
import os
import re
import sys
import tempfile
from dataclasses import dataclass, replace
from typing import Optional, Sequence, Tuple

_PAGE = 4096

#: faulthandler's wording of each fatal signal.
_SIGNALS = {
    "Illegal instruction": "SIGILL",
    "Segmentation fault": "SIGSEGV",
    "Aborted": "SIGABRT",
    "Bus error": "SIGBUS",
    "Floating-point exception": "SIGFPE",
    "Floating point exception": "SIGFPE",
}


@dataclass(frozen=True)
class PreviousCrash:
    signal: str            # SIGSEGV ... or "fatal error"
    importing: Optional[str]  # the module being imported when it died, if the stack shows an import
    last_import: Optional[str]
    stack: str
    path: str
    imported_before: Tuple[str, ...] = ()  # top-level packages first imported earlier in that run, in order


def runtime_dir() -> str:
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        path = jupyter_runtime_dir()
    except Exception:
        path = os.path.join(tempfile.gettempdir(), "dllmagic-runtime")
    os.makedirs(path, exist_ok=True)
    return path


def kernel_key(shell) -> str:
    """Stable across restarts of one kernel: its connection file; else interpreter + folder."""
    try:
        # Read from the loaded modules: a kernel has ipykernel loaded already; terminal IPython must not pay
        # for importing it (zmq, tornado, jupyter_client ...) just to learn it is not a kernel.
        kernelapp = sys.modules.get("ipykernel.kernelapp")
        app = getattr(getattr(kernelapp, "IPKernelApp", None), "_instance", None)
        if kernelapp is not None and isinstance(app, kernelapp.IPKernelApp):
            conn = app.connection_file
            if conn:
                return os.path.splitext(os.path.basename(conn))[0]
    except Exception:
        pass
    seed = f"{sys.executable}\0{os.getcwd()}".encode("utf-8", "surrogateescape")
    return "ipython-" + hashlib.sha1(seed).hexdigest()[:12]


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]*)", line (?P<line>\d+) in (?P<func>\S+)', re.M)


def _module_name(path: str, sys_path: Sequence[str]) -> Optional[str]:
    """The dotted module name of a source file, from the longest sys.path entry that holds it."""
    best = None
    for entry in sys_path:
        root = os.path.abspath(entry or ".")
        if path.startswith(root.rstrip(os.sep) + os.sep) and (best is None or len(root) > len(best)):
            best = root
    if best is None:
        return None
    rel = os.path.splitext(os.path.relpath(path, best))[0].split(os.sep)
    if rel[-1] == "__init__":
        rel = rel[:-1]
    return ".".join(rel) if rel and all(p.isidentifier() for p in rel) else None


def parse_fault_text(text: str, last_import: Optional[str], path: str = "",
                     sys_path: Sequence[str] = ()) -> Optional[PreviousCrash]:
    """Pure: faulthandler's output (and the last module looked up) → what killed the process.

    faulthandler lists the innermost frame first. If it is importlib's own, the process died loading
    the module last looked up (an extension's dlopen or init); if it is the body of a module that was
    being imported, the module is named after that file.
    """
    match = re.search(r"Fatal Python error: ([^\n]+)", text)
    if not match:
        return None
    reason = match.group(1).strip()
    signal = next((sig for words, sig in _SIGNALS.items() if reason.startswith(words)), "fatal error")
    frames = [(m.group("file"), m.group("func")) for m in _FRAME.finditer(text)]
    in_import = any("importlib._bootstrap" in f for f, _ in frames)
    importing = None
    if in_import and frames:
        if "importlib._bootstrap" in frames[0][0]:
            importing = last_import
        else:
            modules = [f for f, func in frames if func == "<module>" and "importlib" not in f]
            # The innermost module body below an importlib frame is the module being imported.
            for file, _ in frames:
                if "importlib._bootstrap" in file:
                    break
                if file in modules:
                    importing = _module_name(file, sys_path) or os.path.splitext(os.path.basename(file))[0]
                    break
            importing = importing or last_import
    return PreviousCrash(signal=signal, importing=importing, last_import=last_import,
                         stack=text.strip()[-6000:], path=path)


class _ImportTracker:
    """A meta-path finder that only records names; it never finds anything.

    Page 1: the name being looked up now. Page 2: each new top-level name, newline-separated, after a
    4-byte length, until the page is full."""

    def __init__(self, page: mmap.mmap):
        self.page = page
        self.seen: set = set()
        self.used = 0

    def find_spec(self, name, path=None, target=None):
        data = name.encode("utf-8", "replace")[: _PAGE - 4]
        page = self.page
        page[0:4] = len(data).to_bytes(4, "little")
        page[4:4 + len(data)] = data
        # A submodule's package was looked up before it: only top-level names can be new.
        if "." not in name and name not in self.seen:
            self.seen.add(name)
            entry = data + b"\n"
            if self.used + len(entry) <= _PAGE - 4:
                start = _PAGE + 4 + self.used
                page[start:start + len(entry)] = entry
                self.used += len(entry)
                page[_PAGE:_PAGE + 4] = self.used.to_bytes(4, "little")
        return None

    def invalidate_caches(self):
        pass


def _history(raw: bytes) -> Tuple[str, ...]:
    """The top-level names of the second page, in the order they were first imported."""
    if len(raw) < _PAGE + 4:
        return ()
    size = int.from_bytes(raw[_PAGE:_PAGE + 4], "little")
    if not 0 < size <= _PAGE - 4:
        return ()
    names = raw[_PAGE + 4:_PAGE + 4 + size].decode("utf-8", "replace").split("\n")
    return tuple(n for n in names if n.isidentifier())


class CrashRecorder:
    def __init__(self, key: str, folder: Optional[str] = None):
        folder = folder or runtime_dir()
        os.makedirs(folder, exist_ok=True)
        self.fault_path = os.path.join(folder, f"dllmagic-{key}.fault")
        self.import_path = os.path.join(folder, f"dllmagic-{key}.importing")
        self._fault_file = None
        self._page: Optional[mmap.mmap] = None
        self._tracker: Optional[_ImportTracker] = None
        self._was_enabled = False

    def previous(self) -> Optional[PreviousCrash]:
        """What the files of the previous run say (None when it ended normally or never ran)."""
        try:
            with open(self.fault_path, "rb") as fh:
                text = fh.read(1 << 20).decode("utf-8", "replace")
        except OSError:
            return None
        last = None
        history: Tuple[str, ...] = ()
        try:
            with open(self.import_path, "rb") as fh:
                raw = fh.read(2 * _PAGE)
            size = int.from_bytes(raw[0:4], "little")
            if 0 < size <= _PAGE - 4:
                last = raw[4:4 + size].decode("utf-8", "replace")
            history = _history(raw)
        except OSError:
            pass
        crash = parse_fault_text(text, last, self.fault_path, sys.path)
        if crash is None or not history:
            return crash
        top = (crash.importing or "").partition(".")[0]
        # What was imported before the crashed package (its own name, and anything after it, is not).
        before = history[:history.index(top)] if top in history else history
        return replace(crash, imported_before=before)

    def arm(self) -> None:
        self._fault_file = open(self.fault_path, "w+b")  # truncates the previous run's record
        self._was_enabled = faulthandler.is_enabled()
        faulthandler.enable(file=self._fault_file, all_threads=True)
        with open(self.import_path, "w+b") as fh:
            fh.write(b"\0" * (2 * _PAGE))
            fh.flush()
            self._page = mmap.mmap(fh.fileno(), 2 * _PAGE)
        self._tracker = _ImportTracker(self._page)
        sys.meta_path.insert(0, self._tracker)

    def disarm(self) -> None:
        if self._tracker is not None:
            try:
                sys.meta_path.remove(self._tracker)
            except ValueError:
                pass
            self._tracker = None
        if self._fault_file is not None:
            faulthandler.disable()
            if self._was_enabled:
                try:
                    faulthandler.enable(file=sys.__stderr__)
                except Exception:
                    pass
            self._fault_file.close()
            self._fault_file = None
        if self._page is not None:
            self._page.close()
            self._page = None
        for path in (self.fault_path, self.import_path):
            try:
                os.remove(path)
            except OSError:
                pass
