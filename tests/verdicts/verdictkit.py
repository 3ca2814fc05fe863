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
