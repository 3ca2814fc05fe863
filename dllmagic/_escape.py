"""Escaping what a terminal would act on, for text that came from files, names and pasted text.

Imports nothing (``re`` only when a text holds more than plain ASCII): ``deps`` and the CLI escape their
output without loading the report views (:mod:`dllmagic.report.text` re-exports these).
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

__all__ = ["escape_controls", "escape_json_text"]

#: Characters a terminal acts on or that change how a line reads: C0 controls but tab and newline, DEL,
#: C1 controls, soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width and direction
#: marks, line/paragraph separators, bidi embeddings/overrides/isolates, word joiner and invisible
#: operators, BOM, interlinear annotation marks, lone surrogates (undecodable bytes) and Unicode tags.
_UNSAFE_CLASS = ("\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
                 "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f")
#: The patterns, compiled on first use (a few milliseconds; most text is plain ASCII and needs none).
_patterns: dict = {}


def _pattern(multiline: bool) -> "re.Pattern[str]":
    """The characters to escape: those above, with tab and newline too unless ``multiline``."""
    pattern = _patterns.get(multiline)
    if pattern is None:
        import re

        pattern = _patterns[multiline] = re.compile("[" + ("" if multiline else "\t\n") + _UNSAFE_CLASS + "]")
    return pattern


def _plain(text: str, multiline: bool) -> bool:
    """``text`` is ASCII without a control character (tab and newline allowed when ``multiline``):
    nothing in it to escape. (For ASCII, str.isprintable is false exactly for \\x00-\\x1f and \\x7f.)"""
    if not text.isascii():
        return False
    if multiline:
        text = text.replace("\n", "").replace("\t", "")
    return text.isprintable()


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
    if _plain(text, multiline):
        return text
    return _pattern(multiline).sub(_escape, text)


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
    if _plain(text, True):
        return text
    return _pattern(True).sub(_json_escape, text)
