"""A bounded fuzz run over every surface where outside data enters dllmagic, with figures.

    python bench/bench_fuzz.py [--seconds S] [--surface NAME ...] [--findings DIR] [--json FILE]

Surfaces: ``elf``, ``pe``, ``macho`` (mutations of real small binaries built here by gcc, mingw-w64 and
clang + ld64.lld, read and resolved by the loader models), ``explain`` (pasted text: the corpus'
tracebacks, mutated, with control characters, bidi marks and long repetitions), ``kernel_json`` (a
kernelspec's kernel.json, from valid to hostile), ``notebook`` (a notebook's JSON, read for its
metadata) and ``machine`` (``--machine`` descriptions).

Inputs come from hypothesis with a fixed seed (``derandomize``): the same run gives the same inputs.
Each input runs in a forked child with ``DLLMAGIC_STRICT=1`` (every internal error raises instead of
becoming a note, so it is counted) and an address-space limit, and is measured there:

- internal error: an exception escaped (or a guarded part raised under STRICT);
- hang: the child ran past the per-input time bound (killed);
- peak memory: the child's peak resident size above what it started with (``ru_maxrss``);
- injection: a control character (ESC, C1, bidi, NUL ...) in the text a terminal would show, or a fix
  cell / argv item holding a line separator other than ``\\n`` or a control character.

``tests/security/test_fuzz_surfaces.py`` runs the same surfaces for a few seconds each (longer with
``DLLMAGIC_FUZZ_SECONDS``); the figures in bench/README-security.md come from this script.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SURFACES = ("elf", "pe", "macho", "explain", "kernel_json", "notebook", "machine")
#: Per-input time bound (seconds) and the address-space limit of a child beyond what it starts with.
TIME_BOUND = float(os.environ.get("DLLMAGIC_FUZZ_TIME_BOUND", "10"))
MEMORY_LIMIT = 2 << 30
#: The goal for one input's peak memory.
MEMORY_GOAL = 200 << 20
#: An input slower than this is kept as a finding ("slow"), though not counted as a failure.
SLOW = float(os.environ.get("DLLMAGIC_FUZZ_SLOW", "2"))

#: What must never reach a terminal raw (the text views escape it).
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")
#: What must never be inside a cell line or an argv item: every line break str.splitlines knows but
#: "\n" (cells), every control character (argv).
CELL_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00]")
ARGV_BAD = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# -- seeds: real small inputs ---------------------------------------------------------------------------

def _run(argv: List[str], **kw) -> None:
    subprocess.run(argv, check=True, capture_output=True, **kw)


def build_seeds(work: Path) -> Dict[str, List[Any]]:
    """Real inputs per surface (binaries built by the compilers here; texts from the corpus)."""
    work.mkdir(parents=True, exist_ok=True)
    seeds: Dict[str, List[Any]] = {s: [] for s in SURFACES}
    (work / "l.c").write_text("#include <math.h>\nint f(double x){return (int)cos(x);}\n"
                              "int g(void) __attribute__((visibility(\"default\")));\nint g(void){return 2;}\n")
    (work / "m.c").write_text("int f(double); int main(void){return f(1.0);}\n")
    if shutil.which("gcc"):
        _run(["gcc", "-shared", "-fPIC", "-O1", "-Wl,-soname,libfz.so.1", "-o", str(work / "libfz.so"),
              str(work / "l.c"), "-lm"])
        _run(["gcc", "-O1", "-o", str(work / "prog"), str(work / "m.c"), f"-L{work}", "-lfz",
              "-Wl,-rpath,$ORIGIN/lib:/opt/x", "-Wl,--enable-new-dtags"])
        seeds["elf"] = [(work / "libfz.so").read_bytes(), (work / "prog").read_bytes()]
    if shutil.which("x86_64-w64-mingw32-gcc"):
        (work / "d.c").write_text("__declspec(dllimport) int h(void);\n__declspec(dllexport) int f(void){return 1;}\n")
        (work / "h.c").write_text("__declspec(dllexport) int h(void){return 3;}\n")
        _run(["x86_64-w64-mingw32-gcc", "-shared", "-s", "-o", str(work / "h.dll"), str(work / "h.c")])
        (work / "e.c").write_text("__declspec(dllimport) int h(void);\n__declspec(dllexport) int f(void){return h();}\n")
        _run(["x86_64-w64-mingw32-gcc", "-shared", "-s", "-o", str(work / "e.dll"), str(work / "e.c"),
              str(work / "h.dll")])
        seeds["pe"] = [(work / "e.dll").read_bytes(), (work / "h.dll").read_bytes()]
    ld64 = shutil.which("ld64.lld") or next(iter(sorted(Path("/usr/lib").glob("llvm-*/bin/ld64.lld"))), None)
    if shutil.which("clang") and ld64:
        for name, src in (("bar", "int bar(void){return 3;}\n"),
                          ("ext", "extern int bar(void);\nextern void *PyLong_FromLong(long);\n"
                                  "void *PyInit_ext(void){return PyLong_FromLong(bar());}\n")):
            _run(["clang", "-target", "arm64-apple-macos11", "-O1", "-c", "-x", "c", "-", "-o", str(work / f"{name}.o")],
                 input=src.encode())
        base = [str(ld64), "-arch", "arm64", "-platform_version", "macos", "11.0", "11.0"]
        _run(base + ["-dylib", "-o", str(work / "libbar.dylib"), str(work / "bar.o"),
                     "-install_name", "@rpath/libbar.dylib"])
        _run(base + ["-bundle", "-o", str(work / "ext.so"), str(work / "ext.o"), str(work / "libbar.dylib"),
                     "-undefined", "dynamic_lookup", "-rpath", "@loader_path/lib"])
        seeds["macho"] = [(work / "ext.so").read_bytes(), (work / "libbar.dylib").read_bytes()]
    corpus = REPO / "tests" / "data" / "corpus" / "public.jsonl"
    texts = []
    if corpus.is_file():
        for line in corpus.read_text("utf-8").splitlines():
            try:
                texts.append(json.loads(line)["error"])
            except (ValueError, KeyError, TypeError):
                continue
    texts += ["ModuleNotFoundError: No module named 'torch'\n",
              "ImportError: libcudart.so.12: cannot open shared object file: No such file or directory\n",
              "ImportError: DLL load failed while importing _imaging: The specified module could not be found.\n"]
    seeds["explain"] = texts
    seeds["kernel_json"] = [
        {"argv": ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "Python 3 (ipykernel)", "language": "python", "metadata": {"debugger": True},
         "env": {"A": "1"}, "interrupt_mode": "signal"},
        {"argv": ["/opt/conda/envs/x/bin/python", "-m", "ipykernel", "-f", "{connection_file}"],
         "display_name": "x", "language": "python"},
    ]
    seeds["notebook"] = [
        {"cells": [{"cell_type": "code", "source": ["import numpy\n"], "metadata": {}, "outputs": [],
                    "execution_count": 1}],
         "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                      "language_info": {"name": "python", "version": "3.11.4"}},
         "nbformat": 4, "nbformat_minor": 5},
    ]
    seeds["machine"] = [
        {"platform": "windows", "root": ".", "machine": "x86_64", "environ": {"PATH": "C:\\Tools"},
         "python": {"executable": "C:\\Python311\\python.exe", "version": "3.11", "conda": False},
         "loaded": ["C:\\Old\\msvcp140.dll"], "imported": ["numpy"],
         "dll_directories": [{"path": "C:\\Libs", "source": "added by the notebook"}, "C:\\More"],
         "windows": {"version": "10.0.19045", "known_dlls": None, "os_bits": 64, "cwd": "C:\\work"},
         "registry": {"HKCU": {"PythonCore": {"3.11": {"InstallPath": "C:\\Python311",
                                                       "ExecutablePath": "C:\\Python311\\python.exe"}}}}},
        {"platform": "macos", "root": ".", "machine": "arm64",
         "python": {"executable": "/opt/homebrew/bin/python3", "version": "3.12"},
         "macos": {"version": "14.5", "shared_cache": None, "env_purged": False, "arch": "arm64"}},
        {"platform": "linux", "python": {"executable": "/usr/bin/python3", "sys_path": ["/usr/lib/python3"]}},
    ]
    return seeds


# -- strategies -----------------------------------------------------------------------------------------

INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF,
               0x1000, 0x10000, 0x100000)
HOSTILE_TEXT = ("\x1b]52;c;cHduZWQ=\x07", "\x1b]0;t\x07", "\x1b[2J", "\x00", "\x85", "\u2028", "\u202e", "\u2066",
                "\x9b", "\r", "\x0b", "\udcff", "'", "\"", "\\", "%", "{", "}", "$(id)", "`id`", ";", "\n", "café",
                "No module named ", "ImportError: ", "cannot open shared object file", "DLL load failed while importing ",
                ".so.", "GLIBC_2.99", "undefined symbol: ", "/site-packages/", "\\site-packages\\", "(", ")", "[", "]")


def strategies(seeds: Dict[str, List[Any]], max_repeat: int = 50000):
    """Per surface, the hypothesis strategy of one input. ``max_repeat``: the longest repetition of a
    piece of pasted text (50 000: about a megabyte)."""
    from hypothesis import strategies as st

    def binary(surface):
        edit = st.tuples(st.integers(0, 1 << 20), st.sampled_from(("byte", "u16", "u32", "u64", "zero")),
                         st.one_of(st.sampled_from(INTERESTING), st.integers(0, (1 << 64) - 1)))
        return st.tuples(st.integers(0, max(0, len(seeds[surface]) - 1)), st.lists(edit, max_size=24),
                         st.one_of(st.none(), st.integers(0, 1 << 20)))

    json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(1 << 70), 1 << 70),
                          st.floats(allow_nan=False), st.text(max_size=30), st.sampled_from(HOSTILE_TEXT))
    json_value = st.recursive(json_leaf, lambda kids: st.one_of(st.lists(kids, max_size=5),
                                                                st.dictionaries(st.text(max_size=12), kids, max_size=5)),
                              max_leaves=20)

    def document(surface):
        path_edit = st.tuples(st.lists(st.one_of(st.integers(0, 8), st.text(max_size=12),
                                                 st.sampled_from(("argv", "display_name", "env", "metadata",
                                                                  "kernelspec", "name", "language_info",
                                                                  "python", "root", "environ", "registry",
                                                                  "windows", "macos", "dll_directories",
                                                                  "executable", "version", "sys_path", "platform",
                                                                  "known_dlls", "loaded", "HKCU", "PythonCore"))),
                                       max_size=4), json_value)
        return st.one_of(
            st.tuples(st.just("edit"), st.integers(0, max(0, len(seeds[surface]) - 1)), st.lists(path_edit, max_size=6)),
            st.tuples(st.just("raw"), st.integers(0, max(0, len(seeds[surface]) - 1)),
                      st.lists(st.tuples(st.integers(0, 1 << 16), st.binary(max_size=8)), max_size=8)),
            st.tuples(st.just("deep"), st.integers(1, 200000), st.sampled_from(("[", "{\"a\":"))),
            st.tuples(st.just("any"), json_value),
        )

    text_edit = st.tuples(st.integers(0, 1 << 16),
                          st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=40),
                                    st.binary(max_size=16).map(lambda b: b.decode("latin-1"))),
                          st.integers(1, 3) | st.sampled_from(tuple(n for n in (1000, 50000) if n <= max_repeat)))
    return {
        "elf": binary("elf"), "pe": binary("pe"), "macho": binary("macho"),
        "explain": st.tuples(st.integers(0, max(0, len(seeds["explain"]) - 1)), st.lists(text_edit, max_size=8),
                             st.booleans()),
        "kernel_json": document("kernel_json"), "notebook": document("notebook"), "machine": document("machine"),
    }


def mutate_bytes(data: bytes, edits, cut) -> bytes:
    buf = bytearray(data)
    for pos, kind, value in edits:
        if not buf:
            break
        pos %= len(buf)
        if kind == "byte":
            buf[pos] = value & 0xFF
        elif kind == "zero":
            buf[pos:pos + (value % 64)] = bytes(len(buf[pos:pos + (value % 64)]))
        else:
            size = {"u16": 2, "u32": 4, "u64": 8}[kind]
            chunk = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
            buf[pos:pos + size] = chunk[:len(buf) - pos]
    if cut is not None and buf:
        del buf[cut % (len(buf) + 1):]
    return bytes(buf)


def mutate_text(text: str, edits, tail: bool) -> str:
    for pos, piece, times in edits:
        pos %= len(text) + 1
        text = text[:pos] + piece * times + text[pos:]
    if tail:
        text = text[-2000:]
    return text


def build_document(seeds, case) -> bytes:
    """The bytes of a JSON document for a ``document`` case."""
    kind = case[0]
    if kind == "deep":
        depth, opener = case[1], case[2]
        closer = "]" if opener == "[" else "}"
        return (opener * depth + ("1" if opener != "[" else "") + closer * depth).encode()
    if kind == "any":
        return json.dumps(case[1]).encode("utf-8", "surrogatepass")
    doc = json.loads(json.dumps(seeds[case[1]]))
    if kind == "raw":
        raw = bytearray(json.dumps(doc).encode())
        for pos, piece in case[2]:
            pos %= len(raw) + 1
            raw[pos:pos + len(piece)] = piece
        return bytes(raw)
    for path, value in case[2]:
        node = doc
        for step in path[:-1]:
            if isinstance(node, dict) and step in node:
                node = node[step]
            elif isinstance(node, list) and isinstance(step, int) and step < len(node):
                node = node[step]
        last = path[-1] if path else None
        if isinstance(node, dict) and isinstance(last, str):
            node[last] = value
        elif isinstance(node, list) and isinstance(last, int) and last < len(node):
            node[last] = value
        elif not path:
            doc = value
    return json.dumps(doc).encode("utf-8", "surrogatepass")


# -- running one input -----------------------------------------------------------------------------------

def _text_injection(text: str) -> Optional[str]:
    found = RAW.search(text)
    return f"raw {found.group()!r} in text output" if found else None


def _fix_injection(fixes) -> Optional[str]:
    for fix in fixes:
        cell = getattr(fix, "cell", "") or ""
        if CELL_BREAKS.search(cell):
            return f"line separator in a fix cell: {cell[:120]!r}"
        for item in getattr(fix, "argv", None) or ():
            if ARGV_BAD.search(str(item)):
                return f"control character in an argv item: {item!r}"
    return None


class Runner:
    """The per-surface work of one input, run in a forked child (``work`` returns an injection or None)."""

    def __init__(self, seeds: Dict[str, List[Any]], work: Path) -> None:
        self.seeds, self.work = seeds, work
        from dllmagic.facts.interpreter import live_interpreter

        self.interpreter = live_interpreter()

    def materialise(self, surface: str, case) -> bytes:
        """The input itself, as bytes (what a reproducer file holds)."""
        if surface in ("elf", "pe", "macho"):
            index, edits, cut = case
            return mutate_bytes(self.seeds[surface][index], edits, cut)
        if surface == "explain":
            index, edits, tail = case
            return mutate_text(self.seeds["explain"][index], edits, tail).encode("utf-8", "surrogatepass")
        return build_document(self.seeds[surface], case)

    def run(self, surface: str, data: bytes, folder: Path) -> Optional[str]:
        return getattr(self, f"_{surface}")(data, folder)

    # each surface ------------------------------------------------------------------------------------------
    def _tree(self, loader, path: str) -> Optional[str]:
        from dllmagic.facts.native.loader import format_tree, problems, tree_to_dict
        from dllmagic.report.text import escape_controls

        for mode in ("standalone", "as-imported"):
            tree = loader.resolve(path, mode=mode)
            found = problems(tree)
            json.dumps(tree_to_dict(tree, found))
            bad = _text_injection(escape_controls(format_tree(tree, verbose=True)))
            if bad:
                return bad
        return None

    def _binary(self, path: Path) -> None:
        from dllmagic.facts.native.binary import read_binary

        b = read_binary(str(path))
        b.imported_symbols, b.exported_symbols  # the lazy half too

    def _elf(self, data: bytes, folder: Path) -> Optional[str]:
        from dllmagic.facts.native.loader import loader_for
        from dllmagic.facts.system import System

        path = folder / "libfz.so.1"
        (folder / "lib").mkdir(exist_ok=True)
        path.write_bytes(data)
        self._binary(path)
        return self._tree(loader_for(System.current()), str(path))

    def _model(self, platform: str, folder: Path, data: bytes, name: str):
        from dllmagic.facts.native.machine import machine_from_dict

        (folder / "files" / "app").mkdir(parents=True, exist_ok=True)
        (folder / "files" / "app" / name).write_bytes(data)
        machine = machine_from_dict({"platform": platform, "root": "files"}, base=str(folder))
        return machine, folder / "files" / "app" / name

    def _pe(self, data: bytes, folder: Path) -> Optional[str]:
        machine, host = self._model("windows", folder, data, "e.dll")
        self._binary(host)
        return self._tree(machine.loader(), "C:\\app\\e.dll")

    def _macho(self, data: bytes, folder: Path) -> Optional[str]:
        machine, host = self._model("macos", folder, data, "ext.so")
        self._binary(host)
        return self._tree(machine.loader(), "/app/ext.so")

    def _explain(self, data: bytes, folder: Path) -> Optional[str]:
        from dllmagic.api import explain
        from dllmagic.report.jsonview import render_json
        from dllmagic.report.text import escape_json_text, render_text

        report = explain(data.decode("utf-8", "surrogatepass"))
        json.loads(escape_json_text(render_json(report)))
        bad = _text_injection(render_text(report, width=80)) or _text_injection(escape_json_text(render_json(report)))
        return bad or _fix_injection(fix for f in report.findings for fix in f.fixes)

    def _kernel_json(self, data: bytes, folder: Path) -> Optional[str]:
        from dllmagic.cli_kernels import _safe_text, kernels_data
        from dllmagic.facts.system import System

        kdir = folder / "jp" / "kernels" / "fz"
        kdir.mkdir(parents=True, exist_ok=True)
        (kdir / "kernel.json").write_bytes(data)
        system = System.model("linux", str(folder), environ={"JUPYTER_PATH": "/jp", "HOME": "/home/u"})
        out = kernels_data(system=system, interpreter=self.interpreter, notebook_dir="/home/u")
        json.dumps(out)
        return _text_injection(_safe_text(out))

    def _notebook(self, data: bytes, folder: Path) -> Optional[str]:
        from dllmagic.facts.environments import notebook_expectation
        from dllmagic.facts.system import System

        (folder / "home").mkdir(exist_ok=True)
        (folder / "home" / "nb.ipynb").write_bytes(data)
        system = System.model("linux", str(folder), environ={"HOME": "/home"})
        notebook_expectation(system, self.interpreter, user_ns={"__vsc_ipynb_file__": "/home/nb.ipynb"}, cwd="/home")
        return None

    def _machine(self, data: bytes, folder: Path) -> Optional[str]:
        from dllmagic.facts.native.machine import (MachineError, load_machine, machine_interpreter,
                                                   machine_site_packages)

        (folder / "m.json").write_bytes(data)
        try:
            machine = load_machine(str(folder / "m.json"))
        except MachineError:
            return None  # a usage error (exit 2): what should happen
        machine.loader()
        interpreter = machine_interpreter(machine)
        machine_site_packages(machine, interpreter)
        return None


@dataclass
class Outcome:
    status: str                 # ok | internal-error | hang | injection | memory | crash
    detail: str = ""
    peak_bytes: int = 0
    seconds: float = 0.0


def run_isolated(fn: Callable[[], Optional[str]], time_bound: float = TIME_BOUND) -> Outcome:
    """``fn()`` in a forked child with STRICT on and an address-space limit, measured."""
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read_end)
            os.environ["DLLMAGIC_STRICT"] = "1"
            import faulthandler

            faulthandler.disable()  # a crash is counted by the parent, not dumped here
            with open("/proc/self/statm") as fh:
                pages = fh.read().split()
            rss0 = int(pages[1]) * os.sysconf("SC_PAGE_SIZE")
            vm0 = int(pages[0]) * os.sysconf("SC_PAGE_SIZE")
            resource.setrlimit(resource.RLIMIT_AS, (vm0 + MEMORY_LIMIT, vm0 + MEMORY_LIMIT))
            try:
                bad = fn()
                status, detail = ("injection", bad) if bad else ("ok", "")
            except MemoryError:
                status, detail = "memory", "MemoryError (over the child's address-space limit)"
            except RecursionError as exc:
                status, detail = "internal-error", f"RecursionError: {exc}"[:500]
            except BaseException as exc:  # noqa: BLE001 - everything escaping is what we count
                import traceback

                tb = traceback.extract_tb(exc.__traceback__)
                where = f"{tb[-1].filename}:{tb[-1].lineno}" if tb else "?"
                status, detail = "internal-error", f"{type(exc).__name__}: {str(exc)[:300]} at {where}"
            peak = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss0)
            os.write(write_end, json.dumps([status, detail, peak]).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    chunks, deadline, killed = [], start + time_bound, False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            killed = True
            break
        ready, _, _ = select.select([read_end], [], [], left)
        if ready:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    seconds = time.monotonic() - start
    if killed:
        return Outcome("hang", f"still running after {time_bound:.0f} s", 0, seconds)
    try:
        state, detail, peak = json.loads(b"".join(chunks))
    except ValueError:
        sig = -status if status < 0 else (os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0)
        return Outcome("crash", f"child ended without a result (signal {sig})", 0, seconds)
    return Outcome(state, detail, peak, seconds)


@dataclass
class Figures:
    surface: str
    inputs: int = 0
    internal_errors: int = 0
    hangs: int = 0
    crashes: int = 0
    over_memory: int = 0
    injections: int = 0
    slow: int = 0
    peak_bytes_max: int = 0
    peak_bytes_median: int = 0
    seconds_max: float = 0.0
    seconds: float = 0.0
    findings: List[Dict[str, str]] = field(default_factory=list)
    _peaks: List[int] = field(default_factory=list, repr=False)

    def add(self, outcome: Outcome, reproducer: Optional[Path]) -> None:
        self.inputs += 1
        self._peaks.append(outcome.peak_bytes)
        self.peak_bytes_max = max(self.peak_bytes_max, outcome.peak_bytes)
        self.seconds_max = max(self.seconds_max, outcome.seconds)
        bad = outcome.status != "ok" or outcome.peak_bytes > MEMORY_GOAL
        if outcome.status == "internal-error":
            self.internal_errors += 1
        elif outcome.status == "hang":
            self.hangs += 1
        elif outcome.status == "crash":
            self.crashes += 1
        elif outcome.status == "injection":
            self.injections += 1
        if outcome.status == "memory" or outcome.peak_bytes > MEMORY_GOAL:
            self.over_memory += 1
        if not bad and outcome.seconds > SLOW:
            self.slow += 1
        if (bad or outcome.seconds > SLOW) and len(self.findings) < 20:
            self.findings.append({"status": outcome.status if bad else "slow",
                                  "detail": outcome.detail or f"{outcome.seconds:.2f} s",
                                  "peak_mb": f"{outcome.peak_bytes / 2**20:.1f}",
                                  "reproducer": str(reproducer) if reproducer else ""})

    @property
    def failures(self) -> int:
        return self.internal_errors + self.hangs + self.crashes + self.over_memory + self.injections

    def summary(self) -> Dict[str, Any]:
        peaks = sorted(self._peaks) or [0]
        self.peak_bytes_median = peaks[len(peaks) // 2]
        out = asdict(self)
        out.pop("_peaks")
        return out


class _OutOfTime(Exception):
    pass


def fuzz(surface: str, seconds: float, *, seeds=None, work: Optional[Path] = None,
         findings: Optional[Path] = None, runner: Optional[Runner] = None, max_repeat: int = 50000) -> Figures:
    """Inputs for ``surface`` from hypothesis (fixed seed) for about ``seconds``; every one run isolated."""
    from hypothesis import HealthCheck, Phase, given, settings

    work = work or Path(tempfile.mkdtemp(prefix="dllmagic-fuzz-"))
    seeds = seeds or build_seeds(work / "seeds")
    runner = runner or Runner(seeds, work)
    figures = Figures(surface)
    if not seeds[surface]:
        figures.findings.append({"status": "skipped", "detail": f"no seed inputs for {surface} (compiler missing)"})
        return figures
    strategy = strategies(seeds, max_repeat)[surface]
    # The seeds once in this process: the system libraries they reach are read and cached before the
    # children fork, so each input costs its own reading only.
    for i, seed in enumerate(seeds[surface]):
        try:
            data = seed if isinstance(seed, bytes) else (seed.encode() if isinstance(seed, str) else
                                                         json.dumps(seed).encode())
            folder = Path(tempfile.mkdtemp(prefix=f"warm-{surface}-", dir=work))
            runner.run(surface, data, folder)
        except Exception:
            pass
    start = time.monotonic()
    deadline = start + seconds

    @settings(max_examples=100_000, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False, print_blob=False)
    @given(strategy)
    def one(case):
        if time.monotonic() > deadline:
            raise _OutOfTime
        data = runner.materialise(surface, case)
        folder = Path(tempfile.mkdtemp(prefix=f"{surface}-", dir=work))
        outcome = run_isolated(lambda: runner.run(surface, data, folder))
        reproducer = None
        keep = outcome.status != "ok" or outcome.peak_bytes > MEMORY_GOAL or outcome.seconds > SLOW
        if keep and findings is not None:
            findings.mkdir(parents=True, exist_ok=True)
            reproducer = findings / f"{surface}-{figures.inputs:05d}.{ {'elf': 'so', 'pe': 'dll', 'macho': 'so', 'explain': 'txt'}.get(surface, 'json')}"
            reproducer.write_bytes(data)
        figures.add(outcome, reproducer)
        shutil.rmtree(folder, ignore_errors=True)

    try:
        one()
    except _OutOfTime:
        pass
    figures.seconds = round(time.monotonic() - start, 1)
    return figures


def table(results: List[Dict[str, Any]]) -> str:
    lines = ["| surface | inputs | internal errors | hangs | crashes | over 200 MB | injections | "
             "peak memory per input (median / max) | slowest input | inputs over 2 s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['surface']} | {r['inputs']} | {r['internal_errors']} | {r['hangs']} | {r['crashes']} | "
                     f"{r['over_memory']} | {r['injections']} | {r['peak_bytes_median'] / 2**20:.1f} MB / "
                     f"{r['peak_bytes_max'] / 2**20:.1f} MB | {r['seconds_max']:.2f} s | {r['slow']} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time per surface (default 60)")
    parser.add_argument("--surface", action="append", choices=SURFACES, help="only these surfaces")
    parser.add_argument("--findings", type=Path, help="write every failing input here (reproducers)")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    parser.add_argument("--max-repeat", type=int, default=50000,
                        help="longest repetition of a piece of pasted text (default 50000, about 1 MB)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="dllmagic-fuzz-"))
    try:
        seeds = build_seeds(work / "seeds")
        runner = Runner(seeds, work)
        results = []
        for surface in args.surface or SURFACES:
            figures = fuzz(surface, args.seconds, seeds=seeds, work=work, findings=args.findings, runner=runner,
                           max_repeat=args.max_repeat)
            results.append(figures.summary())
            print(f"{surface}: {figures.inputs} inputs, {figures.failures} failures", file=sys.stderr, flush=True)
            for f in figures.findings[:5]:
                print(f"  {f['status']}: {f['detail'][:200]} {f.get('reproducer', '')}", file=sys.stderr)
        print(table(results))
        if args.json:
            args.json.write_text(json.dumps({"seconds_per_surface": args.seconds, "time_bound": TIME_BOUND,
                                             "max_repeat": args.max_repeat,
                                             "python": sys.version.split()[0], "results": results}, indent=2))
        return 0 if all(r["internal_errors"] + r["hangs"] + r["crashes"] + r["over_memory"] + r["injections"] == 0
                        for r in results) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
