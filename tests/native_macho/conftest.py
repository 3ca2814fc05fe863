"""pytest fixtures of the Mach-O suite; the helpers live in macho_kit.py."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from macho_kit import mac, mac_wheels, macho_built  # noqa: E402,F401
