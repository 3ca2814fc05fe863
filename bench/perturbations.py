"""Realistic ways people paste an error: each a small pure function ``str -> str``.

``bench/corpus_accuracy.py --perturb`` runs every tuned case through each of them and reports the share
whose kind, key facts and root cause stay what the original text gives.  None of them adds or removes
information a reader needs, except ``last_line``, which keeps only a traceback's last line (as people
paste when they drop the traceback): the failing module read from the frames may go with it.
A transformation that leaves a case's text as it is (no traceback to cut, no indentation to turn into
tabs) does not count for that case.
"""
from __future__ import annotations

import re
from typing import Callable, Dict, List

_FRAME = re.compile(r'^[ \t]*File "(?P<file>[^"\n]+)", line (?P<line>\d+), in (?P<func>.+)$')
_EXCEPTION = re.compile(r"^(?P<name>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Warning))(?=:|$)")

_RED, _GREEN, _CYAN, _RESET = "\x1b[0;31m", "\x1b[0;32m", "\x1b[0;36m", "\x1b[0m"


def wrap(text: str, width: int) -> str:
    """A terminal's hard wrap: every line longer than ``width`` cut into ``width``-long pieces, wherever the
    cut falls (inside a path or a word)."""
    out: List[str] = []
    for line in text.split("\n"):
        while len(line) > width:
            out.append(line[:width])
            line = line[width:]
        out.append(line)
    return "\n".join(out)


def wrap80(text: str) -> str:
    return wrap(text, 80)


def wrap100(text: str) -> str:
    return wrap(text, 100)


def wrap120(text: str) -> str:
    return wrap(text, 120)


def quote(text: str) -> str:
    """A Markdown quote: "> " before every line (">" alone before a blank one)."""
    return "\n".join("> " + line if line.strip() else ">" for line in text.split("\n"))


def fence(text: str) -> str:
    """A Markdown code fence around the text."""
    return "```\n" + text.strip("\n") + "\n```"


def crlf(text: str) -> str:
    """Windows line ends."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def prose(text: str) -> str:
    """A sentence before the error and a question after it, as in a forum post."""
    return "I get this error when I import it:\n\n" + text.strip("\n") + "\n\nAny help? Thanks in advance."


def no_header(text: str) -> str:
    """The traceback's header line ("Traceback (most recent call last):") dropped."""
    return "\n".join(line for line in text.split("\n") if not line.startswith("Traceback (most recent call last)"))


def last_line(text: str) -> str:
    """A traceback pasted as its last line alone: from the last exception line on (a message may go on
    over a few lines).  Text that is no Python traceback is left as it is."""
    if "Traceback (most recent call last)" not in text:
        return text
    lines = text.rstrip("\n").split("\n")
    for i in range(len(lines) - 1, -1, -1):
        if _EXCEPTION.match(lines[i]):
            return "\n".join(lines[i:])
    return text


def ipython(text: str) -> str:
    """IPython 8 / Jupyter's coloured traceback: a rule, "ImportError   Traceback (most recent call last)",
    "Cell In[3], line 1" for the cell's frame, "File path:N, in f" for the others, "----> N code"."""
    lines = text.split("\n")
    name = "Exception"
    for line in reversed(lines):
        m = _EXCEPTION.match(line)
        if m:
            name = m.group("name")
            break
    out: List[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("Traceback (most recent call last)"):
            out.append(_RED + "-" * 75 + _RESET)
            out.append(f"{_RED}{name}{_RESET}" + " " * max(1, 42 - len(name)) + "Traceback (most recent call last)")
            i += 1
            continue
        m = _FRAME.match(line)
        if m:
            number = m.group("line")
            where = m.group("file")
            if where.startswith("<"):
                out.append(f"{_CYAN}Cell In[3], line {number}{_RESET}")
            else:
                out.append(f"File {_GREEN}{where}:{number}{_RESET}, in {_CYAN}{m.group('func')}{_RESET}")
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if nxt.startswith((" ", "\t")) and not _FRAME.match(nxt) and nxt.strip():
                out.append(f"{_GREEN}----> {number}{_RESET} {nxt.strip()}")
                i += 1
            out.append("")
            i += 1
            continue
        m = _EXCEPTION.match(line)
        out.append(f"{_RED}{m.group('name')}{_RESET}{line[m.end():]}" if m else line)
        i += 1
    return "\n".join(out)


def smart_quotes(text: str) -> str:
    """A rendered page's typographic quotes: ' as ‘ or ’, " as “ and ” in turn."""
    out: List[str] = []
    double_open = True
    for i, ch in enumerate(text):
        if ch == "'":
            before = text[i - 1] if i else " "
            out.append("’" if before.isalnum() or before in ".)]_`" else "‘")
        elif ch == '"':
            out.append("“" if double_open else "”")
            double_open = not double_open
        else:
            out.append(ch)
    return "".join(out)


def html_entities(text: str) -> str:
    """Text copied from a page's source: & < > ' " as entities."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&#39;").replace('"', "&quot;"))


def log_prefix(text: str) -> str:
    """Python logging's default-like prefix before every line."""
    return "\n".join(f"2026-12-07 05:40:{i % 60:02d},123 ERROR " + line for i, line in enumerate(text.split("\n")))


def tabs(text: str) -> str:
    """Indentation as tabs: each four leading spaces (and a rest of one to three) one tab."""
    out = []
    for line in text.split("\n"):
        body = line.lstrip(" ")
        indent = len(line) - len(body)
        out.append("\t" * ((indent + 3) // 4) + body)
    return "\n".join(out)


def nbsp(text: str) -> str:
    """A web page's non-breaking spaces: the indentation and every run of two spaces."""
    out = []
    for line in text.split("\n"):
        body = line.lstrip(" ")
        out.append("\u00a0" * (len(line) - len(body)) + body.replace("  ", "\u00a0 "))
    return "\n".join(out)


#: The transformations by name, in the report's order.
TRANSFORMATIONS: Dict[str, Callable[[str], str]] = {
    "wrap80": wrap80, "wrap100": wrap100, "wrap120": wrap120, "quote": quote, "fence": fence,
    "crlf": crlf, "prose": prose, "no_header": no_header, "last_line": last_line, "ipython": ipython,
    "smart_quotes": smart_quotes, "html_entities": html_entities, "log_prefix": log_prefix,
    "tabs": tabs, "nbsp": nbsp,
}

#: Transformations that drop what a reader may need (the frames): the facts may change.
LOSSY = frozenset({"last_line"})
