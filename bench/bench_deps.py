"""Measure ``deps`` against ldd, auditwheel's lddtree and pyelftools, side by side, in one run.

    python bench/bench_deps.py [SITE_PACKAGES] [--python EXE] [--skip-lddtree] [--repeat N] [--json FILE]
                                 [--tool-venv DIR]

Every ELF file under SITE_PACKAGES is:
  1. run through ``ldd`` once per file (a process each, as a shell loop would), and ``ldd -r`` (which
     also binds every symbol: the counterpart of the symbol check);
  2. resolved by auditwheel's ``lddtree.ldd`` (in process; skipped when auditwheel is not installed);
  3. read by pyelftools (dynamic and version sections only: no resolution);
  4. read by our reader (``read_binary``, cold cache: no resolution);
  5. resolved by ``dlldoctor deps SITE``, pip-installed into a fresh venv (as a user has it), in a new
     process each time (interpreter start, walk, reading, resolution and version checks included):
     ``--standalone`` (as ldd), the default auto mode with ``--no-symbols`` (extension modules as
     imported), and the default with the symbol check; each as text (what a user reads) and as
     ``--json``; with ``--no-cache`` (cold: every file read; by default the facts read are kept
     between runs, see dllmagic/facts/native/factstore.py) and with ``-j 1`` (one process; by default a
     folder is shared among the CPUs). Before measuring, every row runs once untimed, so each timed run
     finds what a user's second run finds: the facts of every file, and the answer of the same
     command (dllmagic/facts/native/answers.py: used after every path it was made from is stat'ed
     and found unchanged). The rows "(new environment)" change one environment variable before each
     run: no answer is kept for it, the facts of the files are (a user's first run after a change).
     The rows "(second environment)" run on a copy of SITE made of hard links (as uv fills a second
     environment from its cache; made before anything is measured, since a new link changes the
     files' change time), each run with a copy of the store as the runs on SITE left it: the first
     run there, with the facts and symbol checks of the same files kept from SITE.
Then a single failing extension (Pillow's _imaging copied away from its libraries) is timed cold.
The standalone answers are compared with ldd's: every DT_NEEDED must resolve to the same path.

The machine is shared, so every row is measured ``--repeat`` times (default 3), the rows interleaved
(row 1..n, then again), and the median is reported beside each run's value. Beside the wall time,
the CPU time (user + system, the process and its children) shows what a row costs on one core.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from dllmagic.cli_deps import iter_binaries  # noqa: E402
from dllmagic.facts.native import binary as binary_mod  # noqa: E402
from dllmagic.facts.native.loader import loader_for, problems  # noqa: E402
from dllmagic.facts.system import System  # noqa: E402

LDD_LINE = re.compile(r"^\s+(\S+) => (?:(not found)|(\S+) \(0x[0-9a-f]+\))\s*$")
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("LD_", "PYTHON"))}
#: The store of facts ``deps`` keeps between runs: a fresh one for the bench, not the user's.
ENV["DLLMAGIC_CACHE_DIR"] = tempfile.mkdtemp(prefix="dllmagic-bench-store-")


def timed(fn):
    """(wall seconds, CPU seconds of this process and its children, result)."""
    before = _cpu()
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, _cpu() - before, result


def _cpu():
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


#: The command that runs the installed ``dlldoctor`` (set by :func:`install_tool`).
TOOL = [sys.executable, "-m", "dllmagic.cli"]


def install_tool(where=None):
    """``dlldoctor`` as a user gets it: ``pip install`` of this checkout into a fresh venv.

    Not the checkout run in place: this machine's interpreter runs a ``.pth`` that imports certifi at
    every start, and an editable install adds an import finder (0.05-0.08 s per process together);
    a venv with a regular install starts in 0.015 s.
    """
    if where is None:
        where = tempfile.mkdtemp(prefix="dlldoctor-bench-")
    venv = Path(where)
    exe = venv / "bin" / "python"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(exe), "-m", "pip", "install", "-q", "--no-deps", str(HERE.parent)], check=True,
                       env=ENV)
        # An answer made from files changed within the last two seconds is not kept (their stamps could
        # repeat): dllmagic's own files just installed would leave the first runs unkept.
        time.sleep(2.5)
    return [str(venv / "bin" / "dlldoctor")]


def run_ldd_all(files, relocs=False):
    out = {}
    for f in files:
        p = subprocess.run(["ldd", "-r", f] if relocs else ["ldd", f], capture_output=True, text=True, env=ENV)
        out[f] = [(m.group(1), None if m.group(2) else m.group(3))
                  for m in map(LDD_LINE.match, p.stdout.splitlines()) if m]
    return out


def run_lddtree_all(files):
    from auditwheel.lddtree import ldd

    for f in files:
        try:
            ldd(Path(f))
        except Exception:  # noqa: BLE001 - a tool's failure on one file is not the bench's
            pass


def run_pyelftools_all(files):
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection

    for f in files:
        with open(f, "rb") as fh:
            e = ELFFile(fh)
            for sec in e.iter_sections():
                if isinstance(sec, DynamicSection):
                    for _tag in sec.iter_tags():
                        pass
                elif isinstance(sec, (GNUVerNeedSection, GNUVerDefSection)):
                    for _v, auxes in sec.iter_versions():
                        for _a in auxes:
                            pass


def run_reader_all(files):
    binary_mod.clear_cache()
    for f in files:
        binary_mod.read_binary(f, System.model("linux", "/", environ=ENV))


#: Runs of the "(new environment)" rows so far: each sets DLLMAGIC_BENCH_RUN to a new number.
_RUNS = [0]


def cli(site, *extra, python=None, as_json=True, new_environment=False, store=None):
    """The output of ``dlldoctor deps``; with ``--json`` still as text (parsed after the timing, as
    a user's program would parse it on its own time; ldd's rows parse a few lines each).
    ``new_environment``: one variable set to a value no run had (no kept answer fits); ``store``: a
    function giving the store folder to use instead of the bench's."""
    argv = [*TOOL, "deps", site, *extra] + (["--json"] if as_json else [])
    if python:
        argv += ["--python", python]
    env = ENV
    if new_environment:
        _RUNS[0] += 1
        env = dict(ENV, DLLMAGIC_BENCH_RUN=f"{os.getpid()}-{_RUNS[0]}")
    if store is not None:
        env = dict(env, DLLMAGIC_CACHE_DIR=store())
    p = subprocess.run(argv, capture_output=True, text=True, cwd=str(HERE.parent), env=env)
    if p.returncode not in (0, 1):
        raise SystemExit(f"deps failed: {p.stderr[-2000:]}")
    return p.stdout


def linked_copy(site):
    """A copy of ``site`` made of hard links, beside it (the same file system): a second environment
    as uv makes one. Symbolic links are copied as links."""
    dst = tempfile.mkdtemp(prefix=".bench-linked-", dir=os.path.dirname(site))
    for root, dirs, names in os.walk(site):
        here = os.path.join(dst, os.path.relpath(root, site))
        os.makedirs(here, exist_ok=True)
        for name in list(dirs):
            if os.path.islink(os.path.join(root, name)):
                os.symlink(os.readlink(os.path.join(root, name)), os.path.join(here, name))
                dirs.remove(name)
        for name in names:
            source = os.path.join(root, name)
            if os.path.islink(source):
                os.symlink(os.readlink(source), os.path.join(here, name))
            else:
                os.link(source, os.path.join(here, name))
    return dst


class StoreCopies:
    """Copies of the bench's store, made ahead (untimed), one handed out per run."""

    def __init__(self) -> None:
        self.ready: list = []
        self.made: list = []

    def make(self, count: int) -> None:
        for _ in range(count):
            copy = tempfile.mkdtemp(prefix="dllmagic-bench-store-copy-")
            shutil.copytree(ENV["DLLMAGIC_CACHE_DIR"], copy, dirs_exist_ok=True)
            self.ready.append(copy)
            self.made.append(copy)

    def __call__(self) -> str:
        if not self.ready:
            self.make(1)
        return self.ready.pop()


def agreement(site_json, ldd_out):
    """(entries compared, disagreements) between the standalone trees and ldd."""
    compared, bad = 0, []
    for tree in site_json["trees"]:
        root = tree["root"]["path"]
        mine = {}
        queue = [tree["root"]]
        while queue:
            n = queue.pop(0)
            for c in n["children"]:
                if not c["repeat"]:
                    mine.setdefault(c["name"], c["path"] if c["error"] is None else None)
                    queue.append(c)
        for name, path in ldd_out.get(root, []):
            compared += 1
            if mine.get(name, "absent") != path:
                bad.append((root, name, path, mine.get(name, "absent")))
    return compared, bad


def failing_extension(site):
    """Pillow's _imaging, copied away from pillow.libs: a real extension whose libraries are gone."""
    src = sorted(Path(site).glob("PIL/_imaging.cpython-*.so"))
    if not src:
        return None
    tmp = Path(tempfile.mkdtemp())
    (tmp / "PIL").mkdir()
    dst = tmp / "PIL" / src[0].name
    shutil.copy(src[0], dst)
    return str(dst)


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("site", nargs="?", default=sysconfig.get_paths()["purelib"])
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--skip-lddtree", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--tool-venv", metavar="DIR",
                    help="the venv dllmagic is pip-installed into (made when missing; default: a temporary one)")
    args = ap.parse_args(argv)
    global TOOL
    TOOL = install_tool(args.tool_venv)
    site = os.path.abspath(args.site)
    files = list(iter_binaries(System.model("linux", "/"), site))
    load_start = os.getloadavg()
    print(f"{len(files)} ELF files under {site}; each row measured {args.repeat} times, interleaved; medians; "
          f"load average at the start {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")
    try:
        import auditwheel  # noqa: F401
        have_lddtree = not args.skip_lddtree
    except ImportError:
        have_lddtree = False
    py = args.python
    results = {}
    # The second environment first: a new link changes the change time of every file it links, and
    # stamps changed less than two seconds ago are not kept.
    linked = linked_copy(site)
    time.sleep(2.5)
    copies = StoreCopies()
    measures = [
        ("ldd once per file", lambda: run_ldd_all(files)),
        ("ldd -r once per file (binds every symbol)", lambda: run_ldd_all(files, relocs=True)),
    ]
    if have_lddtree:
        measures.append(("auditwheel lddtree (in process)", lambda: run_lddtree_all(files)))
    measures += [
        ("pyelftools bare read (dynamic + versions)", lambda: run_pyelftools_all(files)),
        ("dllmagic reader, cold (no resolution)", lambda: run_reader_all(files)),
        ("deps --standalone, text", lambda: cli(site, "--standalone", as_json=False)),
        ("deps --standalone, text (new environment)",
         lambda: cli(site, "--standalone", as_json=False, new_environment=True)),
        ("deps --standalone, text (second environment)",
         lambda: cli(linked, "--standalone", as_json=False, store=copies)),
        ("deps --standalone --no-cache (cold), text", lambda: cli(site, "--standalone", "--no-cache", as_json=False)),
        ("deps --standalone --no-cache -j 1 (cold, one process), text",
         lambda: cli(site, "--standalone", "--no-cache", "-j", "1", as_json=False)),
        ("deps --standalone --json", lambda: cli(site, "--standalone")),
        ("deps --standalone --json (new environment)", lambda: cli(site, "--standalone", new_environment=True)),
        ("deps --no-symbols (auto: extensions as imported), text",
         lambda: cli(site, "--no-symbols", python=py, as_json=False)),
        ("deps --no-symbols --no-cache (cold), text",
         lambda: cli(site, "--no-symbols", "--no-cache", python=py, as_json=False)),
        ("deps --no-symbols --json", lambda: cli(site, "--no-symbols", python=py)),
        ("deps (auto, + every undefined symbol checked), text", lambda: cli(site, python=py, as_json=False)),
        ("deps (auto, + symbols), text (new environment)",
         lambda: cli(site, python=py, as_json=False, new_environment=True)),
        ("deps (auto, + symbols), text (second environment)",
         lambda: cli(linked, python=py, as_json=False, store=copies)),
        ("deps (auto, + symbols) --json", lambda: cli(site, python=py)),
        ("deps (auto, + symbols) --json (new environment)", lambda: cli(site, python=py, new_environment=True)),
    ]
    # Every row once, untimed: the timed runs without --no-cache find the facts of the site and the
    # answer of their command in the store (kept between runs), as a user's second run does.
    for _name, fn in measures:
        if _name.startswith("deps") and "(second environment)" not in _name:
            fn()
    copies.make(2 * args.repeat)  # the store as the runs on SITE left it
    times = {name: [] for name, _fn in measures}
    cpu = {name: [] for name, _fn in measures}
    for _rep in range(args.repeat):
        for name, fn in measures:
            t, c, out = timed(fn)
            times[name].append(t)
            cpu[name].append(c)
            results[name] = out
    shutil.rmtree(linked, ignore_errors=True)
    for copy in copies.made:
        shutil.rmtree(copy, ignore_errors=True)
    rows = {name: median(v) for name, v in times.items()}
    cpu_rows = {name: median(v) for name, v in cpu.items()}
    ldd_out = results["ldd once per file"]
    standalone = json.loads(results["deps --standalone --json"])
    imported = json.loads(results["deps (auto, + symbols) --json"])
    compared, bad = agreement(standalone, ldd_out)
    fail = failing_extension(site)
    single = {}
    if fail:
        ins, outs, probs = [], [], 0
        for _rep in range(args.repeat):
            binary_mod.clear_cache()
            system = System.model("linux", "/", environ=ENV, executable=py)
            t, _c, tree = timed(lambda: loader_for(system).resolve(fail, mode="as-imported"))
            ins.append(t)
            probs = len(problems(tree))
            t2, _c, _ = timed(lambda: cli(fail, python=py, as_json=False))
            outs.append(t2)
        single = {"file": fail, "seconds_in_process_cold": median(ins), "runs_in_process": ins,
                  "problems": probs, "seconds_cli_process": median(outs), "runs_cli": outs}
    base = rows["ldd once per file"]
    cpu_base = cpu_rows["ldd once per file"]
    print(f"\n{'measure':58} {'median s':>9} {'ldd / this':>11} {'CPU s':>7} {'CPU ratio':>9}   runs (wall s)")
    for name, sec in rows.items():
        runs = " ".join(f"{x:.3f}" for x in times[name])
        print(f"{name:58} {sec:9.3f} {base / sec:11.1f} {cpu_rows[name]:7.3f} {cpu_base / cpu_rows[name]:9.1f}   {runs}")
    ratios = {}
    if have_lddtree:
        lt = rows["auditwheel lddtree (in process)"]
        for name in [r for r in rows if r.startswith("deps")]:
            ratios[f"lddtree / {name}"] = lt / rows[name]
    lr = rows["ldd -r once per file (binds every symbol)"]
    for name in [r for r in rows if r.startswith("deps (auto, +")]:
        ratios[f"ldd -r / {name}"] = lr / rows[name]
    for k, v in ratios.items():
        print(f"{k}: {v:.1f}")
    print(f"\nstandalone vs ldd: {compared} DT_NEEDED answers compared, {len(bad)} disagreements")
    for b in bad[:10]:
        print("  ", b)
    missing = sum(1 for t in imported["trees"] if t["problems"])
    print(f"auto: {len(imported['trees'])} trees ({len(imported['checked_as_dependencies'])} bundled "
          f"libraries checked as dependencies), {missing} with problems")
    if single:
        print(f"single failing extension ({single['problems']} problems): "
              f"{single['seconds_in_process_cold'] * 1000:.1f} ms in process (cold), "
              f"{single['seconds_cli_process'] * 1000:.1f} ms as a CLI process (medians)")
    load_end = os.getloadavg()
    print(f"load average at the end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"files": len(files), "rows": rows, "runs": times, "ratios": ratios,
                                               "cpu_rows": cpu_rows, "cpu_runs": cpu, "tool": TOOL,
                                               "load_average": load_end, "load_average_start": load_start,
                                               "compared": compared, "disagreements": len(bad),
                                               "single": single}, indent=1))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
