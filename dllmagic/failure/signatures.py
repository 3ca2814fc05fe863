"""Signatures and Windows messages: ``knowledge/signatures.json`` and ``windows_messages.json`` compiled."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Dict, List, Optional, Tuple

from .. import knowledge
from ..model import KINDS

#: Failure fields a signature's named group may fill directly; other groups go to ``details``.
_FIELDS = ("module", "extension", "library", "symbol", "version", "required_by", "name", "from_path",
           "signal")

# --------------------------------------------------------------------------------------------------
# Compiled knowledge
# --------------------------------------------------------------------------------------------------
_REGEX_CACHE: Dict[str, "re.Pattern[str]"] = {}


@dataclass(frozen=True)
class _Signature:
    id: str
    kind: Optional[str]
    types: Optional[frozenset]          # None: any exception type
    pattern: str                        # macros expanded; compiled on first use (see ``regex``)
    flags: str
    priority: int
    live: bool
    set: Tuple[Tuple[str, str], ...] = ()
    transform: Tuple[Tuple[str, str], ...] = ()
    fallback_kind: Optional[str] = None
    demote_to: Optional[int] = None

    @property
    def regex(self) -> "re.Pattern[str]":
        # Compiled lazily: a live ModuleNotFoundError needs a handful of the ~100 signatures, and compiling
        # them all would cost the kernel hook more than the whole diagnosis.
        compiled = _REGEX_CACHE.get(self.id)
        if compiled is None:
            compiled = _REGEX_CACHE[self.id] = _compile_pattern(self.pattern, self.flags)
        return compiled


@dataclass(frozen=True)
class _Refinement:
    id: str
    when_kind: frozenset
    field: str
    regex: "re.Pattern[str]"
    kind: str


@dataclass(frozen=True)
class _Knowledge:
    signatures: Tuple[_Signature, ...]
    refinements: Tuple[_Refinement, ...]
    live_pattern: str
    windows_codes: Dict[int, dict]
    windows_texts: Tuple[Tuple[str, int, str], ...]   # (normalised text, code, language)


_compiled: Optional[_Knowledge] = None

_GROUP = re.compile(r"\(\?P<\w+>")


def _expand(pattern: str, macros: Dict[str, str]) -> str:
    for name, value in macros.items():
        pattern = pattern.replace(f"%{name}%", value)
    return pattern


def _compile_pattern(pattern: str, flags: str) -> "re.Pattern[str]":
    if "i" in flags:
        pattern = f"(?i:{pattern})"
    return re.compile(pattern, re.MULTILINE)


def _load_knowledge() -> _Knowledge:
    global _compiled
    if _compiled is not None:
        return _compiled
    table = knowledge.load("signatures")
    macros = table.get("macros", {})
    sigs: List[_Signature] = []
    live: List[str] = []
    for entry in table["entries"]:
        kind = entry["kind"]
        if kind is not None and kind != "$windows" and kind not in KINDS:
            raise knowledge.KnowledgeError(f"signature {entry['id']!r}: unknown kind {kind!r}")
        pattern = _expand(entry["pattern"], macros)
        types = entry["types"]
        sigs.append(_Signature(
            id=entry["id"],
            kind=kind,
            types=None if types == "any" else frozenset(types),
            pattern=pattern,
            flags=entry.get("flags", ""),
            priority=int(entry["priority"]),
            live=bool(entry["live"]) and kind is not None,
            set=tuple(sorted(entry.get("set", {}).items())),
            transform=tuple(sorted(entry.get("transform", {}).items())),
            fallback_kind=entry.get("fallback_kind"),
            demote_to=entry.get("demote_to"),
        ))
        if entry["live"] and kind is not None:
            bare = _GROUP.sub("(?:", pattern)
            if "i" in entry.get("flags", ""):
                bare = f"(?i:{bare})"
            live.append(f"(?:{bare})")
    refinements = tuple(
        _Refinement(r["id"], frozenset(r["when_kind"]), r["field"], re.compile(r["pattern"]), r["kind"])
        for r in table.get("refinements", ())
    )
    codes: Dict[int, dict] = {}
    texts: List[Tuple[str, int, str]] = []
    for entry in knowledge.load("windows_messages")["entries"]:
        codes[int(entry["code"])] = entry
        if "unsigned" in entry:
            codes[int(entry["unsigned"])] = entry
        for language, variants in entry["messages"].items():
            for text in variants:
                texts.append((_normalise_text(text), int(entry["code"]), language))
    _compiled = _Knowledge(
        signatures=tuple(sorted(sigs, key=lambda s: -s.priority)),
        refinements=refinements,
        live_pattern="|".join(live),
        windows_codes=codes,
        windows_texts=tuple(texts),
    )
    return _compiled


_LIVE: List["re.Pattern[str]"] = []


def _live_regex() -> "re.Pattern[str]":
    """All live signatures in one pattern (for the cheap per-cell check), compiled on first use."""
    if not _LIVE:
        _LIVE.append(re.compile(_load_knowledge().live_pattern, re.MULTILINE))
    return _LIVE[0]


def signatures() -> Tuple[_Signature, ...]:
    """The compiled signatures, highest priority first (for tests and ``dlldoctor`` debugging)."""
    return _load_knowledge().signatures


# --------------------------------------------------------------------------------------------------
# Windows messages
# --------------------------------------------------------------------------------------------------
def _normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("%1", " ")
    # Letters and digits of every script survive; punctuation, spaces and quotes do not.
    return "".join(ch for ch in text if ch.isalnum())


def windows_code_of_text(text: str) -> Optional[Tuple[int, str]]:
    """(code, language) of a Windows system message in any language we hold, or None.

    Exact after normalisation first, then containment (Windows appends or prefixes details),
    then a fuzzy match, so small differences between Windows releases do not matter.
    """
    norm = _normalise_text(text)
    if len(norm) < 4:
        return None
    table = _load_knowledge().windows_texts
    for known, code, language in table:
        if norm == known:
            return code, language
    for known, code, language in table:
        if len(known) >= 6 and (known in norm or (len(norm) >= 8 and norm in known)):
            return code, language
    best: Optional[Tuple[float, int, str]] = None
    for known, code, language in table:
        ratio = SequenceMatcher(None, norm[: len(known) + 8], known).ratio()
        if ratio >= 0.75 and (best is None or ratio > best[0]):
            best = (ratio, code, language)
    return (best[1], best[2]) if best else None


def _windows_code(value: str) -> Optional[int]:
    try:
        return int(value, 16) if value.lower().startswith("0x") else int(value)
    except ValueError:
        return None


