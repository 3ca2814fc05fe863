"""Escaping what a terminal would act on, for text that came from files, names and pasted text.

Imports nothing but ``re``: ``deps`` and the CLI escape their output without loading the report views
(:mod:`dllmagic.report.text` re-exports these).
"""
from __future__ import annotations

import re

__all__ = ["escape_controls", "escape_json_text"]

#: Characters a terminal acts on or that change how a line reads: C0 controls but tab and newline, DEL,
#: C1 controls, soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width and direction
#: marks, line/paragraph separators, bidi embeddings/overrides/isolates, word joiner and invisible
#: operators, BOM, interlinear annotation marks, lone surrogates (undecodable bytes) and Unicode tags.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
                     "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f]")
#: The same for a single-line field (newline and tab too).
_UNSAFE_LINE = re.compile("[\t\n" + _UNSAFE.pattern[1:])


def _escape(match: "re.Match[str]") -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape_controls(text: str, *, multiline: bool = True) -> str:
    """``text`` with every character a terminal would act on shown as ``\\x1b``, ``\\u202e`` ...

    ``multiline``: newlines and tabs are kept (a block of text); otherwise they are escaped too.
    """
    if not isinstance(text, str):
        text = str(text)
    return (_UNSAFE if multiline else _UNSAFE_LINE).sub(_escape, text)


def _json_escape(match: "re.Match[str]") -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xd800 + (code >> 10):04x}\\u{0xdc00 + (code & 0x3ff):04x}"


def escape_json_text(text: str) -> str:
    """JSON text (``json.dumps(..., ensure_ascii=False)``) with the characters of :func:`escape_controls`
    written as ``\\uXXXX`` escapes: the same document once parsed, safe to print to a terminal. (They
    can only occur inside strings, where the escape means the same character.)"""
    return _UNSAFE.sub(_json_escape, text)
