"""pytest fixtures of the machine-diagnosis suite: the PE and Mach-O suites' builders, reused (their
helpers live in pe_kit.py / macho_kit.py, imported by module name from their folders)."""
import os
import sys

HERE = os.path.dirname(__file__)
for sub in ("native_pe", "native_macho"):
    folder = os.path.join(HERE, os.pardir, sub)
    if folder not in sys.path:
        sys.path.insert(0, os.path.abspath(folder))

from pe_kit import pe_built, standins, win, win_wheels  # noqa: E402,F401
from macho_kit import mac, mac_wheels, macho_built  # noqa: E402,F401
