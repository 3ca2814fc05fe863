"""Development set-up: link this checkout's built JupyterLab extension where Jupyter finds prebuilt ones.

``pip install -e .`` installs the package but not the wheel's data files, so JupyterLab and Notebook 7 do not
see the extension (``dllmagic/labextension``, built from ``frontend/``). Run this with the environment's
Python after the editable install::

    python scripts/dev_labextension.py            # link (a copy where links are not allowed)
    python scripts/dev_labextension.py --remove   # undo

It writes only ``<sys.prefix>/share/jupyter/labextensions/dllmagic``, the place a wheel install uses, and
refuses the machine's own Python (outside a virtual or conda environment). A rebuilt front end
(``cd frontend && npm run build``) is live after a browser reload, since the link points at the build folder.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

BUILT = Path(__file__).resolve().parents[1] / "dllmagic" / "labextension"


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    in_env = sys.prefix != sys.base_prefix or (Path(sys.prefix) / "conda-meta").is_dir()
    if not in_env:
        print(f"dev_labextension: {sys.executable} is not in a virtual or conda environment; activate one first",
              file=sys.stderr)
        return 2
    target = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "dllmagic"
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    if args == ["--remove"]:
        print(f"removed {target}")
        return 0
    if args:
        print("usage: python scripts/dev_labextension.py [--remove]", file=sys.stderr)
        return 2
    if not (BUILT / "package.json").is_file():
        print(f"dev_labextension: no built extension in {BUILT} (cd frontend && npm ci && npm run build)",
              file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(BUILT, target, target_is_directory=True)
        print(f"linked {target} -> {BUILT}")
    except OSError:                      # Windows without the right to make links: a copy, redo after a rebuild
        shutil.copytree(BUILT, target)
        print(f"copied {BUILT} to {target} (run again after rebuilding the front end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
