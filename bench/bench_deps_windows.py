"""Measure ``deps`` on a modelled Windows machine: a whole win_amd64 site-packages, and one failing .pyd.

    python bench/bench_deps_windows.py [--wheels DIR] [--json FILE]

The wheels (numpy, scipy, Pillow, pyarrow, opencv-python, msvc-runtime for win_amd64 / CPython 3.11)
are downloaded with pip into DIR (default: the test cache, ~/.cache/dllmagic-tests/wheels/win_amd64)
and unpacked into C:\\Python311\\Lib\\site-packages of a modelled machine, with the real VC++ runtime
in C:\\Python311 and, when mingw-w64 is installed, stand-ins for python311.dll and the System32 DLLs
that export what the wheels import (so the import check runs, as on a real machine). Rows:

  1. pefile: ``PE(fast_load=True)`` + the import directories of every file (what the reader replaces);
  2. our reader, cold cache: headers and imported DLL names of every file;
  3. ``deps`` over the whole site-packages as imported, in process, cold cache (walk, resolution,
     import-by-import export check, views);
  4. the same as a fresh process: ``python -m dllmagic.cli_deps deps --machine M SITE --json``;
  5. one failing .pyd (numpy's _multiarray_umath with numpy.libs removed), cold cache, in process.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests" / "native_pe"))

from dllmagic.cli_deps import iter_binaries  # noqa: E402
from dllmagic.facts.native import binary as binary_mod  # noqa: E402
from dllmagic.facts.native.loader import problems  # noqa: E402
from dllmagic.facts.native.machine import load_machine  # noqa: E402

WHEELS = ("numpy", "scipy", "pillow", "pyarrow", "opencv-python", "msvc-runtime")
SITE = "C:\\Python311\\Lib\\site-packages"


def fetch(folder: Path):
    from pe_kit import download_wheels

    return download_wheels("win_amd64", WHEELS, folder)


def build_machine(base: Path, wheels) -> Path:
    root = base / "files"
    site = root / "C" / "Python311" / "Lib" / "site-packages"
    site.mkdir(parents=True)
    for w in wheels:
        with zipfile.ZipFile(w) as zf:
            zf.extractall(site)
    data = next(site.glob("msvc_runtime-*.data/data"))
    for name in ("vcruntime140.dll", "vcruntime140_1.dll"):
        shutil.copy(next(data.rglob(name)), root / "C" / "Python311" / name)
    sys32 = root / "C" / "Windows" / "System32"
    sys32.mkdir(parents=True)
    shutil.copy(data / "msvcp140.dll", sys32 / "msvcp140.dll")
    notes = []
    if shutil.which("x86_64-w64-mingw32-gcc"):
        from dllmagic.facts.native.loader.windows import default_api_sets
        from pe_kit import build_standin, imports_of

        files = [p for p in site.rglob("*") if p.suffix.lower() in (".pyd", ".dll")]
        wanted = imports_of(files)
        for dll, funcs in list(wanted.items()):
            host = next((h for prefix, h in default_api_sets() if dll.startswith(prefix)), None)
            if host:
                wanted.setdefault(host.lower(), set()).update(funcs)
        standins = base / "standins"
        shutil.copy(build_standin(standins, "python311.dll", wanted.get("python311.dll", ())),
                    root / "C" / "Python311" / "python311.dll")
        shutil.copy(build_standin(standins / "py3", "python3.dll", wanted.get("python3.dll", ())),
                    root / "C" / "Python311" / "python3.dll")
        shutil.copy(data / "vcomp140.dll", sys32 / "vcomp140.dll")
        for name in sorted({n for n in wanted if n.endswith(".dll") and not n.startswith(("api-", "python"))
                            and not n.startswith(("msvcp140", "vcruntime140", "vcomp140", "concrt140"))
                            and not (site / n).exists() and not any(site.rglob(n))} | {"ucrtbase.dll"}):
            shutil.copy(build_standin(standins / name, name, wanted.get(name, ())), sys32 / name)
    else:
        notes.append("mingw-w64 absent: no python311.dll / System32 stand-ins; the import check is skipped "
                     "where python311.dll is missing")
    desc = {"platform": "windows", "root": "files",
            "python": {"executable": "C:\\Python311\\python.exe", "version": "3.11"},
            "loaded": ["C:\\Python311\\vcruntime140.dll", "C:\\Python311\\python311.dll"],
            "environ": {"PATH": "C:\\Windows\\System32"}}
    (base / "machine.json").write_text(json.dumps(desc))
    for n in notes:
        print("note:", n)
    return base / "machine.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheels", type=Path,
                    default=Path.home() / ".cache" / "dllmagic-tests" / "wheels" / "win_amd64")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    wheels = fetch(args.wheels)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        desc = build_machine(Path(tmp), wheels)
        machine = load_machine(str(desc))
        system = machine.system
        files = list(iter_binaries(system, SITE))
        pyds = [f for f in files if f.lower().endswith(".pyd")]
        print(f"{len(files)} PE files ({len(pyds)} extension modules) under {SITE}")

        import pefile

        t = time.perf_counter()
        for f in files:
            pe = pefile.PE(system.host_path(f), fast_load=True)
            pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"]])
        rows["pefile: fast_load + import directory, every file"] = time.perf_counter() - t

        binary_mod.clear_cache()
        t = time.perf_counter()
        for f in files:
            binary_mod.read_binary(f, system)
        rows["dllmagic reader, cold cache (headers + imported DLL names)"] = time.perf_counter() - t

        binary_mod.clear_cache()
        t = time.perf_counter()
        loader = machine.loader()
        failing = 0
        for f in pyds:
            tree = loader.resolve(f)
            failing += bool(problems(tree))
        rows["deps, every .pyd as imported, in process, cold cache (import check on)"] = time.perf_counter() - t
        print(f"  {failing} of {len(pyds)} extension modules with problems")

        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "dllmagic.cli_deps", "deps", "--machine", str(desc), "--json",
                               SITE], capture_output=True, text=True, cwd=str(HERE.parent))
        rows["deps --machine M SITE --json (new process, all PE files)"] = time.perf_counter() - t
        if proc.returncode not in (0, 1):
            print(proc.stderr[-2000:])

        libs = system.host_path(f"{SITE}\\numpy.libs")
        shutil.rmtree(libs)
        binary_mod.clear_cache()
        pyd = f"{SITE}\\numpy\\_core\\_multiarray_umath.cp311-win_amd64.pyd"
        t = time.perf_counter()
        tree = machine.loader().resolve(pyd)
        rows["one failing .pyd (numpy _multiarray_umath without numpy.libs), cold"] = time.perf_counter() - t
        assert problems(tree), "the failing module should fail"
    width = max(len(k) for k in rows)
    print(f"{'measure'.ljust(width)}  ms")
    for k, v in rows.items():
        print(f"{k.ljust(width)}  {v * 1000:8.1f}")
    if args.json:
        args.json.write_text(json.dumps({k: round(v, 4) for k, v in rows.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
