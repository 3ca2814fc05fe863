"""Typed accessors over the knowledge tables (each loaded once, on first use)."""
from __future__ import annotations

from functools import lru_cache
from typing import Dict

from . import load


def _by(table: str, key: str) -> Dict[str, dict]:
    return {entry[key]: entry for entry in load(table)["entries"]}


@lru_cache(maxsize=None)
def import_names() -> Dict[str, dict]:
    """Import name (dotted where it matters: google.protobuf) → entry with 'dist' and 'alternatives'."""
    return _by("import_names", "import")


@lru_cache(maxsize=None)
def stdlib_changes() -> Dict[str, dict]:
    """Module removed from the standard library → entry with 'removed_in' and 'replacement_dist'."""
    return _by("stdlib_changes", "module")


@lru_cache(maxsize=None)
def optional_builtins() -> Dict[str, dict]:
    """Standard-library module that needs an optional library at build time → entry."""
    return _by("optional_builtins", "module")
