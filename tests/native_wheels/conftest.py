"""pytest fixtures of the wheel-check suite; the helpers live in wheel_kit.py (a unique module name)."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
