"""Matching: the signature with the highest priority that matches a document."""
from __future__ import annotations

import re
from itertools import islice
from typing import Dict, Optional, Sequence, Tuple

from .._regex import LazyRegex
from .._record import MutableRecord, field
from .documents import _Doc, _type_at
from .signatures import _Knowledge, _Signature, _windows_code, is_whole_message, windows_code_of_text
#: Matches of one signature examined in one document (a pasted log can repeat a line thousands of times).
_MAX_MATCHES = 200


class _Hit(MutableRecord):
    sig: _Signature
    match: "re.Match[str]"
    doc_index: int
    kind: str
    exc_type: str
    extra: Dict[str, str] = field(default_factory=dict)


def _applies(sig: _Signature, doc: _Doc, exc_type: str) -> bool:
    if sig.types is None:
        return True
    if doc.type_names:
        return bool(sig.types & doc.type_names)
    # Pasted text: filter only when the line names a type; a bare message ("/usr/bin/python: No
    # module named IPython") is accepted.
    return not exc_type or exc_type in sig.types or exc_type in _IMPORT_ERROR_LIKE and "ImportError" in sig.types


#: Names a pasted line gives an ImportError's message under: its subclass, and AWS Lambda's runtime, which
#: reports any ImportError of the handler's import as "Runtime.ImportModuleError: Unable to import module
#: 'handler': <the ImportError's message>".
_IMPORT_ERROR_LIKE = frozenset({"ModuleNotFoundError", "ImportModuleError"})


def _resolve_kind(sig: _Signature, m: "re.Match[str]", kb: _Knowledge) -> Tuple[Optional[str], Dict[str, str]]:
    if sig.kind != "$windows":
        return sig.kind, {}
    groups = _groups(m)
    code_text = groups.get("winerror")
    if code_text:
        code = _windows_code(code_text)
        entry = kb.windows_codes.get(code) if code is not None else None
        if entry:
            extra = {"windows_code": str(entry["code"]), "windows_error": entry["symbol"]}
            if entry.get("signal"):
                extra["signal"] = entry["signal"]
            return entry["kind"], extra
    text = (groups.get("win_text") or "").strip()
    if text:
        found = _windows_code_of_wrapped(text, m)
        if found:
            entry = kb.windows_codes[found[0]]
            return entry["kind"], {"windows_code": str(entry["code"]), "windows_error": entry["symbol"],
                                   "message_language": found[1]}
    if sig.fallback_kind:
        return sig.fallback_kind, {"windows_code": code_text or "unknown"}
    return None, {}


#: A line that cannot continue a wrapped message: a frame, a traceback's start, an exception line, a prompt.
_NOT_CONTINUATION = LazyRegex(r"^\s*$|^\s*(?:File \"|Traceback \(|During handling|The above exception|>>>|In \[)"
                              r"|^[A-Za-z_][\w.]*(?:Error|Exception|Warning)\b")


def _windows_code_of_wrapped(text: str, m: "re.Match[str]") -> Optional[Tuple[int, str]]:
    """The Windows message's code, also when a terminal wrapped the message onto the next line: a text that is
    no whole message alone ("找不到" of "找不到\n指定的程序。") is read with the line after it."""
    whole = m.group("win_text") if "win_text" in m.re.groupindex else None
    after = m.string[m.end(): m.end() + 400].lstrip("\r")
    following = after[1:].split("\n", 1)[0].strip() if after.startswith("\n") else ""
    if whole is not None and following and not _NOT_CONTINUATION.match(following) and not is_whole_message(text):
        found = windows_code_of_text(f"{text} {following}")
        if found:
            return found
    return windows_code_of_text(text)


_PLACEHOLDER = LazyRegex(r"\{[A-Za-z_][\w.]{0,100}(?:\[[^\]\n]{0,100}\])?(?:![rsa])?(?::[^{}\n]{0,40})?\}")


_CODE_BEFORE = LazyRegex(r"\braise\b|\bf[\"']|\.format\(|\bwarn\(|\blog(?:ger)?\.\w{1,20}\(")


def _holds_placeholder(m: "re.Match[str]") -> bool:
    """Whether a name the match captured is a format placeholder ('{lib_base_name}'), as in the source line of a
    traceback that shows the raise statement with its f-string: that is code, not the message."""
    if not any(value and _PLACEHOLDER.search(value) for value in m.groupdict().values()):
        return False
    text, start = m.string, m.start()
    line = text[text.rfind("\n", 0, start) + 1: start]
    return bool(_CODE_BEFORE.search(line))   # a user's "C:\\Users\\{username}\\…" is a message still


def _groups(m: "re.Match[str]") -> Dict[str, str]:
    out: Dict[str, str] = {}
    for key, value in m.groupdict().items():
        if value is None:
            continue
        key = re.sub(r"__\d+$", "", key)
        out.setdefault(key, value.strip())
    return out


def _best_hit(docs: Sequence[_Doc], kb: _Knowledge) -> Optional[_Hit]:
    best: Optional[_Hit] = None
    best_key: Optional[Tuple[int, int, int, int]] = None
    demoters = [s for s in kb.signatures if s.demote_to is not None]
    for index, doc in enumerate(docs):
        # Spans of known noise (warnings a program survives, a build's own output): matches inside count for
        # less (only those of the kinds the span names, when it names some).
        spans = [(m.start(), m.end(), sig.demote_to, sig.demote_kinds) for sig in demoters if doc.may_match(sig)
                 for m in islice(sig.finditer(doc.text, doc.start, doc.intake), _MAX_MATCHES)]
        for sig in kb.signatures:
            if sig.kind is None or (doc.exc_type and not sig.live):
                continue   # a live exception is not a crash report or installer output
            if best_key is not None and sig.priority < best_key[0]:
                break  # sorted by priority: nothing further can win
            if sig.types is not None and doc.type_names and not (sig.types & doc.type_names):
                continue  # the same test _applies makes, before the regex is compiled and run
            if not doc.may_match(sig):
                continue  # a literal every match needs is absent
            for m in islice(sig.finditer(doc.text, doc.start, doc.intake), _MAX_MATCHES):
                exc_type = doc.exc_type or _type_at(doc.text, m.start())
                if not _applies(sig, doc, exc_type):
                    continue
                if "{" in m.group(0) and _holds_placeholder(m):
                    continue   # the program's source line that raises it (f"… '{lib_base_name}' not found")
                if sig.live_if and doc.exc_type and not doc.recorded:   # a live exception here: its check must hold
                    from .conditions import holds

                    if not holds(sig.live_if, m.groupdict()):
                        continue
                kind, extra = _resolve_kind(sig, m, kb)
                if kind is None:
                    continue
                priority = sig.priority
                for start, end, demote_to, demote_kinds in spans:
                    if start <= m.start() < end and (demote_kinds is None or kind in demote_kinds):
                        priority = min(priority, demote_to)
                # Highest priority; among matches demoted alike, the signature's own priority (a wrapper's warning
                # is outranked by the loader's message it quotes); then the innermost exception; then the
                # earliest text.
                key = (priority, sig.priority, index, -m.start())
                if best_key is None or key > best_key:
                    best_key = key
                    best = _Hit(sig, m, index, kind, exc_type, extra)
                break
    return best


