"""Venv builders of the verdict tests (a unique module name: never ``from conftest import``, which finds
whichever conftest module was imported first)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def venv_with(root: Path, *requirements: str, pip: bool = False) -> Path:
    """A fresh ``python -m venv`` (``--without-pip`` unless ``pip``) with ``requirements`` installed into it;
    its python."""
    subprocess.run([sys.executable, "-m", "venv", *([] if pip else ["--without-pip"]), str(root)], check=True)
    python = root / "bin" / "python"
    if requirements:
        subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                        *requirements], check=True, stdin=subprocess.DEVNULL, capture_output=True)
    return python


def kernel_python_with(root: Path, *requirements: str, pip: bool = False) -> Path:
    """A venv of its own (for the packages a test changes) that also sees this test interpreter's
    site-packages (ipykernel, jupyter_client and the editable dllmagic) through ``site.addsitedir``."""
    import site

    python = venv_with(root, *requirements, pip=pip)
    own = next(root.glob("lib/python*/site-packages"))
    shared = [p for p in site.getsitepackages() if p.endswith("site-packages")][0]
    (own / "zz_test_shared.pth").write_text(f"import site; site.addsitedir({shared!r})\n")
    return python


def base_python_copy(root: Path, *, externally_managed: bool = False) -> Path:
    """A Python that is not a venv, in ``root``: this interpreter's base executable copied, its standard library
    linked entry by entry, a site-packages of its own, and (``externally_managed``) the PEP 668 marker beside
    the standard library. Its python (the test is skipped where such a copy does not run from its own prefix)."""
    import shutil
    import sysconfig

    import pytest

    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    minor = "python%d.%d" % sys.version_info[:2]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    (root / "bin").mkdir(parents=True)
    lib = root / "lib" / minor
    (lib / "site-packages").mkdir(parents=True)
    exe = root / "bin" / minor
    shutil.copy2(base, exe)
    for shared in Path(sysconfig.get_config_var("LIBDIR") or "/nonexistent").glob("libpython3*.so*"):
        (root / "lib" / shared.name).symlink_to(shared)
    for entry in stdlib.iterdir():
        if entry.name not in ("site-packages", "dist-packages", "EXTERNALLY-MANAGED"):
            (lib / entry.name).symlink_to(entry)
    if externally_managed:
        (lib / "EXTERNALLY-MANAGED").write_text("[externally-managed]\nError=use the system package manager\n")
    probe = subprocess.run([str(exe), "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True)
    if probe.returncode != 0 or probe.stdout.strip() != str(root):
        pytest.skip(f"a copy of the base interpreter does not run from its own prefix: {probe.stderr[-200:]}")
    return exe
