"""Build every example's environment and register its kernel: ``python examples/build_all.py [NAME...]``.

Each example is built by its own ``examples/<name>/build.py`` into ``--root/<name>`` (default
``~/.dllmagic-examples``); kernels go to ``--jupyter-data`` (default ``$JUPYTER_DATA_DIR`` or Jupyter's user
data folder). binder/postBuild runs this. Exits 1 if any example failed to build (after trying all).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from buildkit import default_jupyter_data  # noqa: E402

EXAMPLES = sorted(p.parent.name for p in HERE.glob("*/build.py"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"examples to build (default: all of {', '.join(EXAMPLES)})")
    parser.add_argument("--root", default=str(Path.home() / ".dllmagic-examples"))
    parser.add_argument("--jupyter-data", default=None)
    args = parser.parse_args()
    data = Path(args.jupyter_data) if args.jupyter_data else default_jupyter_data()
    failed = []
    for name in args.names or EXAMPLES:
        start = time.monotonic()
        proc = subprocess.run([sys.executable, str(HERE / name / "build.py"), "--dir", str(Path(args.root) / name),
                               "--jupyter-data", str(data)])
        status = "ok" if proc.returncode == 0 else f"FAILED ({proc.returncode})"
        print(f"{name:28s} {status:12s} {time.monotonic() - start:6.1f} s", flush=True)
        if proc.returncode:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
