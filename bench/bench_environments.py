"""Finding every environment on a machine with 20 environments and 2,000 distributions.

Builds the machine once under a temporary folder (its own HOME): 8 venvs beside the notebook, 6 conda
environments listed in ``~/.conda/environments.txt`` (with conda-meta records), 4 poetry venvs, 2 pyenv
versions, each with 100 distributions (``*.dist-info`` with METADATA and top_level.txt; RECORD and
INSTALLER on one in ten; the package folder), and 10 kernelspecs. Then it times, in this process and
without starting any interpreter:

* ``discover`` — every kernelspec and environment, with versions, kinds and distribution counts;
* ``discover + locate`` — the same, then where an import name is installed (a name found nowhere: the worst
  case, every site folder is consulted);
* ``kernels`` — the data of ``dlldoctor kernels --json``.

"cold" is the first call (folder listings not cached in this process; the OS file cache holds whatever the
build left there); "warm" is the median of later calls with the process's listing cache in place;
"fresh-cache" clears that cache before each call (OS cache warm), i.e. a new kernel on a machine it has
seen. The target is warm < 300 ms.

    python bench/bench_environments.py [--envs 20] [--dists 100] [--repeat 15] [--json] [--check] [--tmp DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dllmagic.facts import environments as envs  # noqa: E402
from dllmagic.facts.system import System  # noqa: E402
from dllmagic.model import Interpreter  # noqa: E402

MINOR = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _dist(site: Path, name: str, version: str, installer: str) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(f"{name}\n")
    # INSTALLER and RECORD are read only in an environment where the name is found; one in ten has them,
    # which keeps the build quick on slow disks without changing what discovery reads.
    if name.endswith("0"):
        (info / "INSTALLER").write_text(installer + "\n")
        (info / "RECORD").write_text(f"{name}/__init__.py,,\n{name}-{version}.dist-info/METADATA,,\n")
    pkg = site / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")


def _prefix(root: Path, *, dists: int, index: int, conda: bool = False, venv: bool = True) -> Path:
    site = root / "lib" / f"python{MINOR}" / "site-packages"
    site.mkdir(parents=True)
    (root / "bin").mkdir()
    (root / "bin" / "python").symlink_to(os.path.realpath(sys.executable))
    if venv:
        (root / "pyvenv.cfg").write_text(f"home = {Path(sys.executable).parent}\nversion = {MINOR}.0\n")
    if conda:
        meta = root / "conda-meta"
        meta.mkdir()
        (meta / f"python-{MINOR}.0-h0_0.json").write_text("{}")
    for i in range(dists):
        name = f"pkg{index:02d}_{i:03d}"
        _dist(site, name, "1.0.0", "conda" if conda else "pip")
        if conda:
            (root / "conda-meta" / f"{name}-1.0.0-py_0.json").write_text("{}")
    return root


def build(root: Path, n_envs: int, dists: int):
    home = root / "home"
    notebooks = root / "project" / "notebooks"
    notebooks.mkdir(parents=True)
    data = home / ".local" / "share" / "jupyter" / "kernels"
    data.mkdir(parents=True)
    conda_list = []
    prefixes = []
    plan = (["venv"] * 8 + ["conda"] * 6 + ["poetry"] * 4 + ["pyenv"] * 2)
    plan = (plan * (n_envs // len(plan) + 1))[:n_envs]
    for i, kind in enumerate(plan):
        if kind == "venv":
            path = root / "project" / f"venv{i:02d}"
            _prefix(path, dists=dists, index=i)
        elif kind == "conda":
            path = root / "conda" / "envs" / f"env{i:02d}"
            _prefix(path, dists=dists, index=i, conda=True, venv=False)
            conda_list.append(str(path))
        elif kind == "poetry":
            path = home / ".cache" / "pypoetry" / "virtualenvs" / f"proj{i:02d}-AbCdEf12-py{MINOR}"
            _prefix(path, dists=dists, index=i)
        else:
            path = home / ".pyenv" / "versions" / f"{MINOR}.{i}"
            _prefix(path, dists=dists, index=i, venv=False)
        prefixes.append(path)
        if i % 2 == 0:
            spec = data / f"kernel{i:02d}"
            spec.mkdir()
            (spec / "kernel.json").write_text(json.dumps({
                "argv": [str(path / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"Kernel {i}", "language": "python"}))
    (home / ".conda").mkdir()
    (home / ".conda" / "environments.txt").write_text("\n".join(conda_list) + "\n")
    environ = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    system = System.current().replace(environ=environ)
    first = prefixes[0]
    it = Interpreter(executable=str(first / "bin" / "python"), real_executable=os.path.realpath(sys.executable),
                     version=f"{MINOR}.0", implementation="CPython", architecture="x86_64", bits=64,
                     platform="linux", prefix=str(first), base_prefix=sys.base_prefix, environment_kind="venv")
    return system, it, str(notebooks)


def _time(func, repeat: int, clear: bool = False):
    times = []
    for _ in range(repeat):
        if clear:
            envs._LISTINGS.clear()
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=20)
    parser.add_argument("--dists", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tmp", help="folder to build the machine in (default: the system's temp folder; "
                                      "/dev/shm keeps a slow disk out of the build time)")
    parser.add_argument("--check", action="store_true", help="exit 1 when warm discover+locate >= 300 ms")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="dllmagic-bench-envs-", dir=args.tmp))
    try:
        t0 = time.perf_counter()
        system, it, nb = build(root, args.envs, args.dists)
        build_s = time.perf_counter() - t0
        import subprocess

        real_popen = subprocess.Popen
        subprocess.Popen = None  # type: ignore[assignment]  # proves no interpreter is started
        try:
            envs._LISTINGS.clear()
            start = time.perf_counter()
            found = envs.discover(system, it, notebook_dir=nb)
            cold = (time.perf_counter() - start) * 1000
            n_envs = sum(1 for e in found.environments if e.kind != "user-site")
            n_dists = sum(e.distributions for e in found.environments)

            def both():
                d = envs.discover(system, it, notebook_dir=nb)
                envs.locate(d, "no_such_module", system)
                envs.locate(d, "pkg19_050", system)

            def kernels():
                from dllmagic.cli_kernels import kernels_data

                kernels_data(system, it, nb)

            kernels()
            results = {
                "environments": n_envs, "distributions": n_dists, "kernelspecs": len(found.kernelspecs),
                "build_s": round(build_s, 2), "discover_cold_ms": round(cold, 1),
                "discover_warm_ms": round(statistics.median(_time(lambda: envs.discover(system, it, notebook_dir=nb),
                                                                  args.repeat)), 1),
                "discover_locate_warm_ms": round(statistics.median(_time(both, args.repeat)), 1),
                "discover_locate_fresh_cache_ms": round(statistics.median(_time(both, args.repeat, clear=True)), 1),
                "kernels_warm_ms": round(statistics.median(_time(kernels, args.repeat)), 1),
                "interpreters_started": 0,
            }
        finally:
            subprocess.Popen = real_popen
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:34} {value}")
    if args.check and results["discover_locate_warm_ms"] >= 300:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
