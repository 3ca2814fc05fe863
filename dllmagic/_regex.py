"""Regular expressions compiled on first use.

A module's patterns are constants, but compiling one costs 0.1 to 1 ms, and most texts need few of a
module's patterns: the first failure of a kernel session paid for hundreds it never ran. A
:class:`LazyRegex` stands for ``re.compile(pattern, flags)`` and compiles on its first search.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, List, Optional

__all__ = ["LazyRegex"]


class LazyRegex:
    """``re.compile(pattern, flags)``, done the first time a method needs it."""

    __slots__ = ("pattern", "_flags", "_compiled")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self._flags = flags
        self._compiled: Optional["re.Pattern[str]"] = None

    @property
    def regex(self) -> "re.Pattern[str]":
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self.pattern, self._flags)
        return compiled

    def search(self, *args: Any, **kwargs: Any) -> Optional["re.Match[str]"]:
        return self.regex.search(*args, **kwargs)

    def match(self, *args: Any, **kwargs: Any) -> Optional["re.Match[str]"]:
        return self.regex.match(*args, **kwargs)

    def fullmatch(self, *args: Any, **kwargs: Any) -> Optional["re.Match[str]"]:
        return self.regex.fullmatch(*args, **kwargs)

    def finditer(self, *args: Any, **kwargs: Any) -> Iterator["re.Match[str]"]:
        return self.regex.finditer(*args, **kwargs)

    def findall(self, *args: Any, **kwargs: Any) -> List[Any]:
        return self.regex.findall(*args, **kwargs)

    def sub(self, *args: Any, **kwargs: Any) -> str:
        return self.regex.sub(*args, **kwargs)

    def subn(self, *args: Any, **kwargs: Any) -> Any:
        return self.regex.subn(*args, **kwargs)

    def split(self, *args: Any, **kwargs: Any) -> List[str]:
        return self.regex.split(*args, **kwargs)

    def __repr__(self) -> str:
        return f"LazyRegex({self.pattern!r}, {self._flags!r})"
