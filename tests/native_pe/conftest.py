"""pytest fixtures of the PE suite; the helpers live in pe_kit.py (a unique module name, so the test
modules of every suite can import their own helpers whatever conftest pytest imported last)."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from pe_kit import pe_built, standins, win, win_wheels  # noqa: E402,F401
