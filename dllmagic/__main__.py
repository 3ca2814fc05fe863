"""``python -m dllmagic`` / ``dlldoctor``: the same engine in a terminal."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
