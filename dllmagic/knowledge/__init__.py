"""Knowledge tables: JSON data shipped in this package, loaded lazily and checked when loaded.

Every table is one JSON object in ``<name>.json`` next to this file::

    {
      "description": "what the table is",
      "entry_keys": ["id", "kind", ...],     # keys every entry must have (optional)
      "entries": [ {"id": "...", "source": "https://...", "checked": "YYYY-MM-DD", ...}, ... ]
    }

Each entry has a unique ``id``, the public ``source`` it was taken from and the date it was last
``checked``.  :func:`load` refuses a table that breaks this shape (:class:`KnowledgeError`), so a typo in
the data fails the first test that touches it instead of silently changing a diagnosis.  Finer checks
for one table (its regexes compile, its kinds exist …) belong to the module that reads the table, or to
a validator registered with :func:`register_validator`.
"""
from __future__ import annotations

import json
import os
import re
from _thread import allocate_lock

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import Any, Callable, Dict

# (os.path and _thread, not pathlib and threading: ``deps`` reads one table and its start-up counts)

__all__ = ["KnowledgeError", "load", "register_validator", "available", "clear_cache"]

_HERE = os.path.dirname(os.path.realpath(__file__))
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAME = re.compile(r"^[a-z0-9_]+$")

_cache: Dict[str, Any] = {}
_validators: Dict[str, Callable[[Any], None]] = {}
_lock = allocate_lock()


class KnowledgeError(ValueError):
    """A knowledge table is missing or does not have the shape every table must have."""


def available() -> list:
    """Names of the tables shipped in this package (without ``.json``)."""
    return sorted(name[:-5] for name in os.listdir(_HERE) if name.endswith(".json"))


def register_validator(name: str, validator: Callable[[Any], None]) -> None:
    """Run ``validator(data)`` (which raises on bad data) whenever table ``name`` is loaded."""
    _validators[name] = validator
    _cache.pop(name, None)


def clear_cache() -> None:
    """Forget loaded tables (tests that edit a table, or a long-lived process after an upgrade)."""
    with _lock:
        _cache.clear()


def load(name: str) -> Any:
    """The parsed table ``name`` (``dllmagic/knowledge/<name>.json``), checked, cached per process.

    The returned object is shared: treat it as read-only.
    """
    try:
        return _cache[name]
    except KeyError:
        pass
    if not _NAME.match(name):
        raise KnowledgeError(f"not a knowledge table name: {name!r}")
    path = os.path.join(_HERE, f"{name}.json")
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise KnowledgeError(f"knowledge table {name!r} cannot be read: {exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise KnowledgeError(f"knowledge table {name!r} is not valid JSON: {exc}") from exc
    check_shape(name, data)
    validator = _validators.get(name)
    if validator is not None:
        validator(data)
    with _lock:
        _cache[name] = data
    return data


def check_shape(name: str, data: Any) -> None:
    """Raise :class:`KnowledgeError` unless ``data`` has the shape shared by every table."""

    def fail(msg: str) -> None:
        raise KnowledgeError(f"knowledge table {name!r}: {msg}")

    if not isinstance(data, dict):
        fail("the top level must be an object")
    entries = data.get("entries")
    if not isinstance(entries, list):
        fail("'entries' must be a list")
    required = data.get("entry_keys", [])
    if not isinstance(required, list) or not all(isinstance(k, str) for k in required):
        fail("'entry_keys' must be a list of strings")
    seen = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            fail(f"entry {index} is not an object")
        ident = entry.get("id")
        if not isinstance(ident, str) or not ident:
            fail(f"entry {index} has no string 'id'")
        if ident in seen:
            fail(f"duplicate id {ident!r}")
        seen.add(ident)
        source = entry.get("source")
        if not isinstance(source, str) or not source.startswith("https://"):
            fail(f"entry {ident!r}: 'source' must be a public https URL")
        checked = entry.get("checked")
        if not isinstance(checked, str) or not _DATE.match(checked):
            fail(f"entry {ident!r}: 'checked' must be a date YYYY-MM-DD")
        missing = [key for key in required if key not in entry]
        if missing:
            fail(f"entry {ident!r} lacks {', '.join(missing)}")
