"""Signatures and Windows messages: ``knowledge/signatures.json`` and ``windows_messages.json`` compiled."""
from __future__ import annotations

import re
import unicodedata
from functools import cached_property
from typing import Dict, Iterator, List, Optional, Tuple

from .. import knowledge
from .._record import Record
from ..model import KINDS

#: Failure fields a signature's named group may fill directly; other groups go to ``details``.
_FIELDS = ("module", "extension", "library", "symbol", "version", "required_by", "name", "from_path",
           "signal")

# --------------------------------------------------------------------------------------------------
# Compiled knowledge
# --------------------------------------------------------------------------------------------------
_REGEX_CACHE: Dict[str, "re.Pattern[str]"] = {}
_LITERAL_CACHE: Dict[str, Tuple[Tuple[str, ...], ...]] = {}

try:                                   # the regex parser of the standard library (renamed in 3.11)
    from re import _constants as _sre_constants, _parser as _sre_parse   # type: ignore[attr-defined]
except ImportError:                    # pragma: no cover - Python 3.9, 3.10
    import sre_constants as _sre_constants   # type: ignore[no-redef]
    import sre_parse as _sre_parse           # type: ignore[no-redef]


def required_literals(pattern: str, flags: str = "", minimum: int = 4,
                      most: int = 3) -> Tuple[Tuple[str, ...], ...]:
    """Literal runs (ASCII where case is ignored) a match of ``pattern`` must contain, as alternatives: a match is possible only
    when all the runs of at least one alternative are in the text.

    Runs are read from the parsed pattern: literals in sequence, inside groups and inside repeats of at
    least one; optional parts and lookarounds end a run and are not entered.  A pattern that is one
    alternation (``a|b|c``) gives one alternative per branch, when every branch has a run; anything
    else gives one alternative (``((),)`` when no run is known: no filter).
    """
    c = _sre_constants

    def walk(items, runs: List[str]) -> None:
        run: List[str] = []

        def flush() -> None:
            # (A non-ASCII character, a CJK one above all, is rarer in a text than an ASCII one: "段错误" is a run.)
            if sum(1 if ch < "\x80" else 2 for ch in run) >= minimum:
                runs.append("".join(run))
            run.clear()

        for op, av in items:
            # Any character of a case-sensitive pattern; ASCII only where case is ignored (casefold() may change
            # a non-ASCII text's length, and the windows are cut at the folded text's positions).
            if op is c.LITERAL and (av < 128 or not ignore_case):
                run.append(chr(av))
                continue
            flush()
            if op is c.SUBPATTERN:
                walk(av[-1], runs)
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
                walk(av[2], runs)
        flush()

    def chosen(runs: List[str]) -> Tuple[str, ...]:
        best = sorted(set(runs), key=lambda r: (-len(r), r))[:most]   # longest first; ties by text
        return tuple(r.casefold() if ignore_case else r for r in best)

    ignore_case = "i" in flags or "(?i" in pattern
    try:
        items = list(_sre_parse.parse(pattern))
    except Exception:      # an unparsable pattern fails later, where it is compiled
        return ((),)
    while len(items) == 1 and items[0][0] is c.SUBPATTERN:
        items = list(items[0][1][-1])
    if len(items) == 1 and items[0][0] is c.BRANCH:
        alternatives = []
        for branch in items[0][1][1]:
            runs: List[str] = []
            walk(branch, runs)
            if not runs:
                return ((),)
            alternatives.append(chosen(runs))
        return tuple(alternatives)
    runs = []
    walk(items, runs)
    if runs:
        return (chosen(runs),)
    # No run outside alternations (``PATH: (?:invalid ELF header|file too short|...)``): an alternation
    # every match passes through, each of whose branches has a run, gives one alternative per branch.
    def branches_in(seq):
        for op, av in seq:
            if op is c.BRANCH:
                yield av[1]
            elif op is c.SUBPATTERN:
                yield from branches_in(av[-1])

    for branches in branches_in(items):
        alternatives = []
        for branch in branches:
            branch_runs: List[str] = []
            walk(branch, branch_runs)
            if not branch_runs:
                break
            alternatives.append(chosen(branch_runs))
        else:
            return tuple(alternatives)
    return ((),)


#: ``required_literals`` of every signature, computed ahead (parsing ~150 patterns costs a first report
#: ~20 ms): ``scripts/regenerate_signature_literals.py`` writes it, a test keeps it in step. Keyed by the
#: expanded pattern and its flags, so an entry can only ever serve the pattern it was computed from; a
#: pattern it lacks is parsed as before.
LITERALS_FILE = "signature_literals.json"
_PRECOMPUTED: List[Dict[str, Tuple[Tuple[str, ...], ...]]] = []


def literals_key(pattern: str, flags: str) -> str:
    return f"{flags}/{pattern}"


def _precomputed_literals() -> Dict[str, Tuple[Tuple[str, ...], ...]]:
    if not _PRECOMPUTED:
        import json
        from pathlib import Path

        try:
            entries = json.loads(Path(__file__).with_name(LITERALS_FILE).read_text(encoding="utf-8"))["entries"]
            table = {key: tuple(tuple(alt) for alt in value) for key, value in entries.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            table = {}             # a missing or damaged file costs speed, never a wrong filter
        _PRECOMPUTED.append(table)
    return _PRECOMPUTED[0]


class IntakeText:
    """A text with its casefolded copy, made once for every signature's literal check."""

    __slots__ = ("text", "_folded")

    def __init__(self, text: str) -> None:
        self.text = text
        self._folded: Optional[str] = None

    @property
    def folded(self) -> str:
        if self._folded is None:
            self._folded = self.text.casefold()
        return self._folded


class _Signature(Record):
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
    demote_kinds: Optional[frozenset] = None   # with demote_to: only matches of these kinds (None: all)
    live_if: Optional[str] = None       # a live exception counts only when this check holds (conditions.py)

    @property
    def regex(self) -> "re.Pattern[str]":
        # Compiled lazily: a live ModuleNotFoundError needs a handful of the ~100 signatures, and compiling
        # them all would cost the kernel hook more than the whole diagnosis.
        compiled = _REGEX_CACHE.get(self.id)
        if compiled is None:
            compiled = _REGEX_CACHE[self.id] = _compile_pattern(self.pattern, self.flags)
        return compiled

    @property
    def literals(self) -> Tuple[Tuple[str, ...], ...]:
        """ASCII runs a match contains, as alternatives (casefolded when the pattern ignores case)."""
        found = _LITERAL_CACHE.get(self.id)
        if found is None:
            found = _precomputed_literals().get(literals_key(self.pattern, self.flags))
            if found is None:
                found = required_literals(self.pattern, self.flags)
            _LITERAL_CACHE[self.id] = found
        return found

    @property
    def ignores_case(self) -> bool:
        return "i" in self.flags or "(?i" in self.pattern

    def may_match(self, text: "IntakeText") -> bool:
        """False when a literal every match needs is absent: the regex need not run at all.

        ``str.find`` is a fast scan; running ~100 regexes over a large text is not, so this keeps a parse
        proportional to the text's size with a small constant."""
        haystack = text.folded if self.ignores_case else text.text
        return any(all(lit in haystack for lit in alternative) for alternative in self.literals)


    def finditer(self, text: str, start: int = 0, intake: Optional["IntakeText"] = None) -> Iterator["re.Match[str]"]:
        """The regex's matches in ``text[start:]``, found only in windows around the literal every match
        needs (its longest), so that a text full of path-like runs costs each signature a bounded scan per
        occurrence of its literal instead of a scan per character. Same matches, same order, as a plain
        ``finditer`` for any match no longer than the window bounds."""
        intake = intake or IntakeText(text)
        haystack = intake.folded if self.ignores_case else text
        anchors = self._anchors(haystack)
        if anchors is None or len(haystack) != len(text):   # no filter, or casefolding moved positions
            yield from self.regex.finditer(text, start)
            return
        hits: List[Tuple[int, int]] = []
        for anchor in anchors:
            at = haystack.find(anchor, start)
            while at >= 0 and len(hits) < _MAX_WINDOWS * len(anchors):
                hits.append((at, at + len(anchor)))
                at = haystack.find(anchor, at + 1)
        windows: List[List[int]] = []
        for at, end in sorted(hits)[:_MAX_WINDOWS]:
            lo, hi = max(start, at - _WINDOW_BEFORE), min(len(text), end + _WINDOW_AFTER)
            if windows and lo <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], hi)
            else:
                windows.append([lo, hi])
        last_end = -1
        for lo, hi in windows:
            for m in self.regex.finditer(text, max(lo, last_end), hi):
                if m.start() >= last_end:
                    last_end = max(m.end(), m.start() + 1)
                    yield m

    def _anchors(self, haystack: str) -> Optional[List[str]]:
        """The longest literal of each alternative present in the text; None when there is no filter."""
        if any(not alternative for alternative in self.literals):
            return None
        return [max(alternative, key=len) for alternative in self.literals
                if all(lit in haystack for lit in alternative)]


#: A match reaches at most this far before / after its anchor literal (the PATH macro is bounded at 1024
#: characters; names and tails after a literal are bounded well below the AFTER figure).
_WINDOW_BEFORE = 1536
_WINDOW_AFTER = 8448
_MAX_WINDOWS = 256


class _Refinement(Record):
    id: str
    when_kind: frozenset
    field: str
    regex: "re.Pattern[str]"
    kind: str


class _Knowledge(Record):
    signatures: Tuple[_Signature, ...]
    refinements: Tuple[_Refinement, ...]
    live_pattern: str

    # The Windows system messages, read when a Windows text is first looked at (a Linux failure never is).
    @cached_property
    def windows_codes(self) -> Dict[int, dict]:
        return self._windows[0]

    @cached_property
    def windows_texts(self) -> Tuple[Tuple[str, int, str], ...]:  # (normalised text, code, language)
        return self._windows[1]

    @cached_property
    def _windows(self) -> tuple:
        codes: Dict[int, dict] = {}
        texts: List[Tuple[str, int, str]] = []
        for entry in knowledge.load("windows_messages")["entries"]:
            codes[int(entry["code"])] = entry
            if "unsigned" in entry:
                codes[int(entry["unsigned"])] = entry
            for language, variants in entry["messages"].items():
                for text in variants:
                    texts.append((_normalise_text(text), int(entry["code"]), language))
        return codes, tuple(texts)


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
            demote_kinds=frozenset(entry["demote_kinds"]) if entry.get("demote_kinds") else None,
            live_if=entry.get("live_if"),
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
    _compiled = _Knowledge(
        signatures=tuple(sorted(sigs, key=lambda s: -s.priority)),
        refinements=refinements,
        live_pattern="|".join(live),
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
    found = _exact_or_contained(norm, table)
    if found:
        return found
    # A console that showed the message's bytes in another code page ("ÕÒ²»µ½Ö¸¶¨µÄÄ£¿é¡£" is GBK read as
    # Latin-1): the bytes read as each code page Windows writes these messages in; exact or contained only.
    for redecoded in _redecoded(text):
        found = _exact_or_contained(_normalise_text(redecoded), table)
        if found:
            return found
    from difflib import SequenceMatcher  # (the fuzzy match only: difflib's import is ~1 ms)

    best: Optional[Tuple[float, int, str]] = None
    for known, code, language in table:
        ratio = SequenceMatcher(None, norm[: len(known) + 8], known).ratio()
        if ratio >= 0.75 and (best is None or ratio > best[0]):
            best = (ratio, code, language)
    return (best[1], best[2]) if best else None


def is_whole_message(text: str) -> bool:
    """Whether ``text`` holds a whole Windows message we know (exactly, or with details around it)."""
    norm = _normalise_text(text)
    return any(known == norm or (len(known) >= 6 and known in norm)
               for known, _code, _language in _load_knowledge().windows_texts)


def _exact_or_contained(norm: str, table) -> Optional[Tuple[int, str]]:
    for known, code, language in table:
        if norm == known:
            return code, language
    for known, code, language in table:
        if len(known) >= 6 and (known in norm or (len(norm) >= 8 and norm in known)):
            return code, language
    return None


#: Code pages of Windows' localised messages (and UTF-8), and those a console may have shown their bytes in.
_MESSAGE_CODECS = ("utf-8", "gbk", "big5", "cp932", "cp949", "cp1251", "cp1250")
_CONSOLE_CODECS = ("cp1252", "latin-1")


def _redecoded(text: str) -> List[str]:
    """``text`` read back as the bytes a console showed in a single-byte code page, decoded as each code page
    a Windows message may have been written in; nothing for pure ASCII or text no such console shows."""
    text = text.strip()[:512]
    for console in _CONSOLE_CODECS:
        try:
            raw = text.encode(console)
        except UnicodeEncodeError:
            continue
        if raw.isascii():
            return []
        out = []
        for codec in _MESSAGE_CODECS:
            try:
                out.append(raw.decode(codec))
            except UnicodeDecodeError:
                pass
        return out
    return []


def _windows_code(value: str) -> Optional[int]:
    """A Windows error code as written: decimal, 0x-hex, or an NTSTATUS's bare hex (Windows Error Reporting's
    "Exception Code: c000001d")."""
    try:
        if re.fullmatch(r"[cC]0000[0-9a-fA-F]{3}", value):
            return int(value, 16)
        return int(value, 16) if value.lower().startswith("0x") else int(value)
    except ValueError:
        return None


