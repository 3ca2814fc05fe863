"""Shared helpers of the example build scripts (``examples/<name>/build.py``).

Each build script makes one broken environment for real, under ``--dir`` (default
``~/.dllmagic-examples/<name>``), and registers the Jupyter kernel its notebook runs on, under
``--jupyter-data`` (default ``$JUPYTER_DATA_DIR``, else Jupyter's user data folder). It then writes
``<dir>/example.json``: the kernel's name and interpreter plus what the build chose (paths, library
names), which the CI test (``tests/examples``) compares with the report the notebook shows.

Environments are made with uv when it is installed (fast, cached under ``~/.cache/dllmagic-tests``),
else with ``python -m venv`` and pip. Every kernel environment gets ipykernel and this checkout of
dllmagic (editable), so ``%load_ext dllmagic`` works in the notebook.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = Path(os.environ.get("DLLMAGIC_TEST_CACHE", Path.home() / ".cache" / "dllmagic-tests"))
#: What every kernel environment needs besides the example's own packages.
KERNEL_PACKAGES = ("ipykernel", "ipywidgets")


def log(text: str) -> None:
    print(f"[build] {text}", file=sys.stderr, flush=True)


def default_jupyter_data() -> Path:
    if os.environ.get("JUPYTER_DATA_DIR"):
        return Path(os.environ["JUPYTER_DATA_DIR"])
    try:
        from jupyter_core.paths import jupyter_data_dir

        return Path(jupyter_data_dir())
    except ImportError:
        return Path.home() / ".local" / "share" / "jupyter"


class Build:
    """One example's build: its folder, its kernelspec folder, and the facts it records."""

    def __init__(self, name: str, description: str) -> None:
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument("--dir", help=f"where to build (default ~/.dllmagic-examples/{name})")
        parser.add_argument("--jupyter-data", help="Jupyter data folder to register the kernel in "
                                                   "(default $JUPYTER_DATA_DIR or Jupyter's user data folder)")
        parser.add_argument("--python", default=sys.executable, help="the Python the environments are made from")
        args = parser.parse_args()
        self.name = name
        self.kernel_name = f"dllmagic-{name}"
        self.dir = Path(args.dir or Path.home() / ".dllmagic-examples" / name).resolve()
        self.jupyter_data = Path(args.jupyter_data).resolve() if args.jupyter_data else default_jupyter_data()
        self.base_python = args.python
        self.facts: Dict[str, object] = {"example": name, "kernel": self.kernel_name}
        self.started = time.monotonic()
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        log(f"{name}: building in {self.dir}")

    # -- environments ---------------------------------------------------------------------------
    def venv(self, path: Path, *requirements: str, pip: bool = False) -> Path:
        """A fresh virtual environment at ``path`` with ``requirements``; returns its python."""
        uv = _uv()
        if uv and not pip:
            _run([*uv, "venv", "--quiet", "--python", self.base_python, str(path)])
        else:
            _run([self.base_python, "-m", "venv", str(path)])
        python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        if requirements:
            self.install(python, *requirements)
        return python

    def kernel_venv(self, path: Path, *requirements: str, pip: bool = False) -> Path:
        """A virtual environment that can run a kernel: ipykernel, dllmagic (editable) and ``requirements``."""
        return self.venv(path, *KERNEL_PACKAGES, "-e", str(REPO), *requirements, pip=pip)

    def install(self, python: Path, *requirements: str, extra: Sequence[str] = ()) -> None:
        uv = _uv()
        if uv:
            _run([*uv, "pip", "install", "--quiet", "--python", str(python), *_uv_sources(), *extra,
                  *requirements])
        else:
            _run([str(python), "-m", "pip", "install", "--quiet", "--cache-dir", str(CACHE / "pip"), *extra,
                  *requirements])

    def download(self, requirements: Iterable[str], dest: Path, *, platform: Optional[str] = None,
                 python_version: Optional[str] = None) -> List[Path]:
        """Wheels (no dependencies) from PyPI into ``dest``, kept in the cache between builds."""
        cache = CACHE / "wheels" / (platform or "host")
        cache.mkdir(parents=True, exist_ok=True)
        dest.mkdir(parents=True, exist_ok=True)
        out = []
        for req in requirements:
            name = req.split("=")[0].split("<")[0].split(">")[0].lower().replace("-", "_")
            pin = req.split("==")[1] if "==" in req else None
            hits = sorted(w for w in cache.glob("*.whl") if w.name.lower().startswith(name + "-")
                          and (pin is None or f"-{pin}-" in w.name))
            if not hits:
                cmd = [self.base_python, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                       "-d", str(cache), req]
                if platform:
                    cmd += ["--platform", platform]
                if python_version:
                    cmd += ["--python-version", python_version]
                _run(cmd)
                hits = sorted(w for w in cache.glob("*.whl") if w.name.lower().startswith(name + "-")
                              and (pin is None or f"-{pin}-" in w.name))
            wheel = hits[-1]
            shutil.copyfile(wheel, dest / wheel.name)
            out.append(dest / wheel.name)
        return out

    @staticmethod
    def site_packages(python: Path) -> Path:
        out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
        return Path(out)

    # -- kernels --------------------------------------------------------------------------------
    def register_kernel(self, python: Path, display_name: str, env: Optional[Dict[str, str]] = None,
                        name: Optional[str] = None) -> Path:
        """Write ``<jupyter-data>/kernels/<name>/kernel.json`` running ``python`` (what
        ``python -m ipykernel install --prefix`` writes, plus the environment variables given)."""
        name = name or self.kernel_name
        folder = self.jupyter_data / "kernels" / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        spec = {"argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": display_name, "language": "python",
                "env": {"DLLMAGIC_EXAMPLE_DIR": str(self.dir), **(env or {})},
                "metadata": {"debugger": False, "dllmagic-example": self.name}}
        (folder / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
        if name == self.kernel_name:
            self.facts.update(kernel_python=str(python), kernelspec=str(folder / "kernel.json"),
                              kernel_env=spec["env"])
        log(f"kernel '{name}' ({display_name}) -> {python}")
        return folder

    def done(self, **facts: object) -> None:
        self.facts.update(facts)
        self.facts["seconds"] = round(time.monotonic() - self.started, 1)
        (self.dir / "example.json").write_text(json.dumps(self.facts, indent=1, default=str) + "\n")
        log(f"{self.name}: done in {self.facts['seconds']} s")


# -- native helpers ---------------------------------------------------------------------------------
def cc(*args: str, cwd: Optional[Path] = None) -> None:
    """gcc (or $CC), failing loudly with its output."""
    compiler = os.environ.get("CC", "gcc")
    if shutil.which(compiler) is None:
        raise SystemExit(f"this example needs a C compiler ({compiler}); install gcc (apt: build-essential)")
    _run([compiler, *args], cwd=cwd)


def python_include(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def ext_suffix(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"],
                          capture_output=True, text=True, check=True).stdout.strip()


def ld_cache() -> str:
    try:
        return subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
    except OSError:
        return ""


# -- processes --------------------------------------------------------------------------------------
def _uv() -> Optional[List[str]]:
    found = shutil.which("uv")
    if found:
        return [found]
    try:
        import uv  # the PyPI package 'uv' ships the binary

        return [uv.find_uv_bin()]
    except Exception:
        return None


def _uv_sources() -> List[str]:
    """pip's offline wheel folders (PIP_FIND_LINKS), which uv does not read by itself."""
    out: List[str] = []
    for folder in (os.environ.get("PIP_FIND_LINKS") or "").split():
        if folder and os.path.isdir(folder):
            out += ["--find-links", folder]
    return out


def _run(cmd: Sequence[str], cwd: Optional[Path] = None) -> None:
    env = dict(os.environ, UV_CACHE_DIR=os.environ.get("UV_CACHE_DIR", str(CACHE / "uv")),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n"
                         f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
