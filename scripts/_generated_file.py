"""The compare-or-write step the scripts that generate a checked-in file share."""
from __future__ import annotations

from pathlib import Path


def check_or_write(path: Path, text: str, write: bool, how: str) -> int:
    """0 when ``path`` holds ``text`` (or was just written with it, ``write``); 1, saying ``how`` to mend it,
    when it is out of date."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if current == text:
        print(f"{path.name}: up to date")
        return 0
    if write:
        path.write_text(text, encoding="utf-8")
        print(f"{path.name}: written")
        return 0
    print(f"{path.name}: out of date; {how}")
    return 1
