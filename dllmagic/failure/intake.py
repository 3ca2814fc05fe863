"""One intake for pasted text: what people paste is normalised before any signature runs.

The original stays with the document (``_Doc.original``) for evidence; the signatures read the
normalised copy, in which

* the text is cut to a budget (a head and a tail window: errors are printed at the end of a log);
* line ends are ``\\n`` (CRLF, lone CR);
* terminal escapes are gone: colours (CSI), titles and hyperlinks (OSC), other ESC sequences, and the
  control characters a terminal would not print;
* escaped newlines of a message quoted as a Python repr are real ones;
* REPL prompts (``>>> ``, ``... ``, IPython's ``In [3]: `` and ``...: ``) become indentation: the code
  typed there reads like the code lines of a traceback;
* a line a terminal or a web page wrapped is joined again, above all a file name cut at the wrap;
* blank lines inside one message (a message ending in ``:`` or an exception line cut mid-sentence)
  are dropped.

Every step is one linear pass (``str`` methods, or regexes without nested or overlapping repeats).
"""
from __future__ import annotations

import re
from typing import List

#: Characters of pasted text examined: a quarter from the head, the rest from the tail.
MAX_TEXT = 256_000

_CSI = re.compile(r"\x1b\[[0-9;:?<=>]{0,64}[ -/]{0,4}[@-~]")
_OSC = re.compile(r"\x1b\][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)?")
_ESC_OTHER = re.compile(r"\x1b[@-Z\\-_]?|\x9b[0-9;?]{0,64}[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ESCAPED_NEWLINE = re.compile(r"\\n(?=[ \t]+\S)")
_PROMPT = re.compile(r"^(?:>>> ?|\.\.\. ?|In \[\d{1,6}\]: ?| {2,12}\.{3}: ?)", re.MULTILINE)

#: Line starts that begin something new: never joined to the line before.
_STRUCTURAL = re.compile(
    r"^(?:Traceback \(|File \"|During handling|The above exception|-{5,}|Cell In\[|In \[|Out\[|>>>"
    r"|[A-Za-z_][\w.]{0,200}(?:Error|Exception|Warning|Exit)\b|ERROR:|WARNING:|Note:|note:|hint:|\[notice\])")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]{0,200}(?:Error|Exception)\b:? ")
_CONTINUATION = re.compile(r"^[\w.+\-\\/]{1,512}(?=$|[:'\")\],]|\s)")
_FILE_END = re.compile(r"\.(?:so(?:\.[\w.]{1,32})?|pyd|dll|dylib|py|exe|lib|a|json|pth)$", re.IGNORECASE)
#: A line that is only a parenthesised path or name: "(/usr/lib/python3.9/x/__init__.py)".
_PAREN_LINE = re.compile(r"^\([^()\n]{1,1024}\)[ \t]*$")
#: Widths at which terminals and consoles wrap a line.
_WRAP_WIDTHS = frozenset({79, 80, 99, 100, 119, 120, 132})


def window(text: str, size: int = MAX_TEXT) -> str:
    if len(text) <= size:
        return text
    head = size // 4
    return text[:head] + "\n…\n" + text[len(text) - (size - head):]


def strip_terminal(text: str) -> str:
    """Text without terminal escapes and control characters (tabs and newlines stay)."""
    if "\x1b" in text or "\x9b" in text:
        text = _OSC.sub("", text)
        text = _CSI.sub("", text)
        text = _ESC_OTHER.sub("", text)
    return _CONTROL.sub("", text)


def _last_token(line: str) -> str:
    """The text after the last space, quote or parenthesis of ``line`` (at most 4096 characters)."""
    token = line[-4096:]
    for separator in (" ", "\t", "'", '"', "("):
        token = token.rpartition(separator)[2]
    return token


def _join_wrapped(lines: List[str]) -> List[str]:
    out: List[str] = []
    for line in lines:
        if out and line[:1] == "(" and _PAREN_LINE.match(line) and _EXCEPTION_LINE.match(out[-1]):
            # The path Python prints after a message, "(…/pkg/__init__.py)", moved to a line of its own by a
            # renderer's wrap (rich, a web page): it belongs to the exception line before it.
            out[-1] = out[-1].rstrip() + " " + line.strip()
            continue
        if out and line and not line[0].isspace():
            prev = out[-1]
            if prev and not prev[-1].isspace():
                # Cheap tests first: most lines are neither at a wrap width nor end in a path.
                at_width = len(prev) in _WRAP_WIDTHS and not prev.endswith((".", ":"))
                tail = _last_token(prev) if ("/" in prev or "\\" in prev) else ""
                if (at_width or "/" in tail or "\\" in tail) and not _STRUCTURAL.match(line):
                    # A file name cut at the wrap: the line before ends in a path, this one continues it.
                    cont = _CONTINUATION.match(line) if tail else None
                    if cont and (_FILE_END.search(tail + cont.group()) or "/" in cont.group()
                                 or "\\" in cont.group()):
                        out[-1] = prev + line
                        continue
                    # A terminal's hard wrap: the line before fills the terminal's width exactly.
                    if at_width:
                        out[-1] = prev + line
                        continue
        out.append(line)
    return out


def _drop_inner_blank_lines(lines: List[str]) -> List[str]:
    """Blank lines inside one message: after ``…:`` or an exception line cut mid-sentence."""
    out: List[str] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        out.append(line)
        i += 1
        if not line.strip() or i >= n or lines[i].strip():
            continue
        j = i
        while j < n and not lines[j].strip():
            j += 1
        if j >= n:
            continue
        nxt = lines[j]
        stripped = line.rstrip()
        opens = stripped.endswith(":") and not stripped.endswith("):") and not line[:1].isspace()
        cut = bool(_EXCEPTION_LINE.match(stripped)) and not stripped.endswith((".", "'", '"', ")", "]"))
        if (opens or cut) and not nxt[:1].isspace() and not _STRUCTURAL.match(nxt):
            out[-1] = stripped + " " + nxt.strip()
            i = j + 1
    return out


def normalise(text: str) -> str:
    """The pasted ``text`` as the signatures read it (see the module's docstring)."""
    text = window(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = strip_terminal(text)
    # Messages quoted as a Python repr (xgboost's "Error message(s): ['dlopen(…)\\n  Referenced from…']")
    # carry escaped newlines; unescape those followed by indentation (a Windows "C:\\new" is not).
    text = _ESCAPED_NEWLINE.sub("\n", text)
    if ">>>" in text or "..." in text or "In [" in text:
        # Code typed at a prompt is indented, as a traceback prints the code it ran.
        text = _PROMPT.sub("    ", text)
    lines = text.split("\n")
    lines = _drop_inner_blank_lines(lines)
    lines = _join_wrapped(lines)
    return "\n".join(lines)
