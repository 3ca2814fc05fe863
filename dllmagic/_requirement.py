"""The requirement strings the fixes write most, read without packaging.

A bare project name (``pillow``) or a name pinned to a plain release (``pillow==10.4.0``) is what nearly
every fix installs, and importing packaging's requirement parser costs the first report of a kernel about
10 ms. For these two forms the answers are packaging's own (name as written, no extras, the specifier
text as written, ``str(Requirement(text)) == text``: a test compares them on many strings); any other text
is left to packaging.
"""
from __future__ import annotations

from typing import Optional, Tuple

from ._regex import LazyRegex

__all__ = ["plain_requirement", "starts_badly"]

#: PEP 508's project name (ASCII letters and digits, with . _ - inside), then an optional ``==RELEASE``.
_PLAIN = LazyRegex(r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(==[0-9]+(?:\.[0-9]+)*)?")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def plain_requirement(text: str) -> Optional[Tuple[str, str]]:
    """(name, specifier) of ``NAME`` or ``NAME==RELEASE`` (the specifier '' for a bare name); None otherwise."""
    match = _PLAIN.fullmatch(text)
    return (match.group(1), match.group(2) or "") if match else None


def starts_badly(text: str) -> bool:
    """True when no PEP 508 requirement can be read from ``text``: after optional spaces a requirement
    starts with its name, whose first character is an ASCII letter or digit (packaging refuses it too)."""
    return not text or (text[0] != " " and text[0] not in _NAME_START)
