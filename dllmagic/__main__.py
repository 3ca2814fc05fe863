"""``python -m dllmagic`` / ``dlldoctor``: the same engine in a terminal."""
import os
import sys

if __name__ == "__main__":
    # 'python -m' puts the current folder first on sys.path: a json.py or random.py of the user's there must
    # not replace the modules dllmagic itself imports (the folder is what the child import is asked about).
    _here = os.getcwd()
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != _here]

from .cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
