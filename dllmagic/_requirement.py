"""The requirement strings the fixes write most, read without packaging.

A bare project name (``pillow``) or a name pinned to a plain release (``pillow==10.4.0``) is what nearly
every fix installs, and importing packaging's requirement parser costs the first report of a kernel about
10 ms. For these two forms the answers are packaging's own (name as written, no extras, the specifier
text as written, ``str(Requirement(text)) == text``: a test compares them on many strings); any other text
is left to packaging.
"""
from __future__ import annotations

from typing import Optional, Tuple

__all__ = ["plain_requirement", "starts_badly"]

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_CHARS = _ALNUM | frozenset("._-")


def _is_name(text: str) -> bool:
    """PEP 508's project name: ASCII letters and digits, with . _ - inside (not first, not last)."""
    return bool(text) and text[0] in _ALNUM and text[-1] in _ALNUM and all(c in _NAME_CHARS for c in text)


def plain_requirement(text: str) -> Optional[Tuple[str, str]]:
    """(name, specifier) of ``NAME`` or ``NAME==RELEASE`` (the specifier '' for a bare name); None otherwise.

    String tests, not a pattern: compiling one would cost the first report more than the reading."""
    name, pinned, release = text.partition("==")
    if not _is_name(name):
        return None
    if pinned and not all(part.isascii() and part.isdigit() for part in release.split(".")):
        return None
    return name, pinned + release


def starts_badly(text: str) -> bool:
    """True when no PEP 508 requirement can be read from ``text``: after optional spaces a requirement
    starts with its name, whose first character is an ASCII letter or digit (packaging refuses it too)."""
    return not text or (text[0] != " " and text[0] not in _ALNUM)
