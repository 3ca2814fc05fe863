"""One intake for pasted text: what people paste is normalised before any signature runs.

The original stays with the document (``_Doc.original``) for evidence; the signatures read the
normalised copy, in which

* the text is cut to a budget (a head and a tail window: errors are printed at the end of a log);
* line ends are ``\\n`` (CRLF, lone CR);
* terminal escapes are gone: colours (CSI), titles and hyperlinks (OSC), other ESC sequences, and the
  control characters a terminal would not print;
* a Markdown link is its text (VS Code links every path it prints);
* HTML entities of a page's source (``&lt;``, ``&#39;``) are characters, typographic quotes (‘ ’ “ ”)
  the ASCII quotes;
* escaped newlines of a message quoted as a Python repr are real ones, and so are its escaped quotes; a web page's non-breaking
  spaces are spaces;
* REPL prompts (``>>> ``, ``... ``, IPython's ``In [3]: `` and ``...: ``), also indented as a quoted block,
  become indentation: the code typed there reads like the code lines of a traceback;
* a traceback whose line ends were lost (all on one line) is laid out again;
* padding after a line (two or more spaces, a tab) is dropped, and a log viewer's line numbers;
* a double-spaced paste (a blank line after every line) is single-spaced;
* what wraps every line is dropped: an exception group's bars (``  | ``) and edges, a log collector's prefix (docker compose's ``service-1  | ``, a CI
  log's timestamps, BuildKit's ``#8 12.34 ``), a Markdown quote's ``> ``, a code block's shared
  indentation; and pytest's ``E   `` / ``>`` markers;
* an import statement and the exception it raised, run into one line, are two lines again;
* a line a terminal or a web page wrapped is joined again, above all a file name cut at the wrap;
* blank lines inside one message (a message ending in ``:`` or an exception line cut mid-sentence)
  are dropped;
* a line that leaves a parenthesis open goes on in the next line that closes it (a message a page or a
  terminal wrapped: dyld's ``(no`` / ``such file)``);
* every line wrapped in Markdown's inline-code backticks (`` `  File "…", line 1` ``) is unwrapped;
* Markdown's hard line breaks (a backslash ending nearly every line) go;
* a line continued with a backslash after a space (a log's or a shell's `` \\``) goes on in the next;
* a line copied from a URL (``undefined%20symbol:%20x``) is decoded;
* a text typed in lower case (``importerror: dll load failed …``), or one exception line so typed, gets the case of the words the
  signatures read back (exception names, the loaders' fixed phrases).

Every step is one linear pass (``str`` methods, or regexes without nested or overlapping repeats).
"""
from __future__ import annotations

import html
import re
from typing import List, Optional

from .._regex import LazyRegex

#: Characters of pasted text examined: a quarter from the head, the rest from the tail.
MAX_TEXT = 256_000

_CSI = LazyRegex(r"\x1b\[[0-9;:?<=>]{0,64}[ -/]{0,4}[@-~]")
_OSC = LazyRegex(r"\x1b\][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)?")
_ESC_OTHER = LazyRegex(r"\x1b[@-Z\\-_]?|\x9b[0-9;?]{0,64}[@-~]")
_ENTITY = LazyRegex(r"&(?:lt|gt|amp|quot|apos|nbsp|#\d{1,7}|#x[0-9a-fA-F]{1,6});")
_SMART_QUOTES = LazyRegex("[\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u2032]")
_SMART_QUOTE_MAP = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                                  "\u201c": '"', "\u201d": '"', "\u201e": '"'})
_CONTROL = LazyRegex(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ESCAPED_NEWLINE = LazyRegex(r"\\n(?=[ \t]+\S)")
#: An escaped newline left at a line's end by a repr copied with its real line ends ("…libomp.dylib\n" then the
#: next line): the real newline follows, the escape is none of the name before it.
_ESCAPED_NEWLINE_AT_END = LazyRegex(r"(?<=[\w.)'\"])\\n$", re.MULTILINE)
#: A Markdown link whose text is what was printed (VS Code's notebook output links every path to its file:
#: ``[/opt/env/lib/x.py](https://file+.vscode-resource.vscode-cdn.net/opt/env/lib/x.py)``): the text stays.
_MARKDOWN_LINK = LazyRegex(r"\[([^\[\]\n]{1,1024})\]\((?:https?|file|vscode[\w+.-]{0,40}):[^()\s]{0,2048}\)")
#: A quoted name inside a message quoted as a Python repr (``ImportError('… No module named \\'x\\'')``).
_ESCAPED_QUOTES = LazyRegex(r"\\'([^'\\\n]{1,500})\\'")
#: An import statement with the exception it raised run into the same line ("from lxml import etree ImportError:
#: DLL load failed …"), as a post's sentence or a fence keeps it: the exception goes to a line of its own.
_STATEMENT_RUN_ON = LazyRegex(r"^([ \t]{0,8}(?:from[ \t]+[\w.]{1,200}[ \t]+import|import)[ \t][^\n]{1,500}?)[ \t]+"
                              r"(?=(?:[A-Za-z_]\w{0,100}\.){0,8}[A-Za-z_]\w{0,100}(?:Error|Exception): )", re.MULTILINE)
#: dyld's lines after "Symbol not found" / "Library not loaded" run into one line (a copy that lost them).
_DYLD_LINES = r"Referenced from: |Expected in: |Reason: "
_DYLD_RUN_ON = LazyRegex(r"(?<=\S)[ \t]{1,64}(?=" + _DYLD_LINES + ")")
#: REPL prompts; a continuation prompt "... " is followed by a space or nothing ("…/lib/x.so" is a redacted path).
_PROMPT = LazyRegex(r"^(?:[ \t]{0,12}>>> ?|\.\.\.(?: |$)|In \[\d{1,6}\]: ?| {2,12}\.{3}: ?)", re.MULTILINE)
#: A log collector's prefix on every line: docker compose's "service-1  | ", a pod's "name | ", the
#: timestamp of a CI log ("2024-05-01T10:00:00.1234567Z ") or of Python's logging ("2024-05-01 10:00:00,123
#: ERROR "; a level with a colon, pip's "ERROR: ", is the message's own), BuildKit's step and time ("#8 12.34 ").
#: Group 1 is what must be the same on the lines (the service's name); the rest of the match goes too.
_LOG_PREFIX = LazyRegex(r"^(?:([\w.\-]{1,100})[ \t]{0,40}\| ?"
                         r"|\[?()\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?Z?\]?"
                         r"(?:[ \t]{1,4}(?:-[ \t]{1,4})?\[?(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|TRACE)\]?)?"
                         r"(?: |$)"
                         r"|(#\d{1,5}) \d{1,6}\.\d{1,3}(?: |$)"
                         r"|[ \t]{0,8}()\d{1,6}\.\d{1,3}(?:[ \t]+|$))")   # BuildKit's seconds, the step cut off
#: pytest's report of a failed test: "E   " before the error's lines, ">" at the line that raised.
_PYTEST_ERROR = LazyRegex(r"^E(?=   )", re.MULTILINE)
_PYTEST_MARK = LazyRegex(r"^>(?=   )", re.MULTILINE)

#: Line starts that begin something new: never joined to the line before.
_STRUCTURAL = LazyRegex(
    r"^(?:Traceback \(|File \"|During handling|The above exception|-{5,}|-{1,4}> ?\d|Cell In\[|In \[|Out\[|>>>"
    r"|[A-Za-z_][\w.]{0,200}(?:Error|Exception|Warning|Exit)\b|ERROR:|WARNING:|Note:|note:|hint:|\[notice\]"
    # dyld's lines under "Library not loaded" / "Symbol not found" (pasted without their indentation; dyld 2
    # ends with " in FILE"), and OpenMP's
    r"|Referenced from:|Expected in:|Reason:|Did find:|OMP: | in /)")
_EXCEPTION_LINE = LazyRegex(r"^[A-Za-z_][\w.]{0,200}(?:Error|Exception)\b:? ")
#: A Markdown quote's marks before a line ("> ", "> > "); a REPL's ">>> " is none.
_QUOTE_MARKS = LazyRegex(r"^(?:>[ \t])+")
_CONTINUATION = LazyRegex(r"^[\w.+\-\\/]{1,512}(?=$|[:'\")\],]|\s)")
_FILE_END = LazyRegex(r"\.(?:so(?:\.[\w.]{1,32})?|pyd|dll|dylib|py|exe|lib|a|json|pth)$", re.IGNORECASE)
#: What follows a message's blank line but is no part of it: a new sentence, a statement or command typed.
_SENTENCE_START = LazyRegex(r"^[A-Z][a-z]{0,20}(?: [a-z]{1,20}){0,3}[ ?!.,]")
_CODE_START = LazyRegex(r"^(?:import [\w.]|from [\w.]{1,200} import |\$ |pip3? |python3? |conda )")
#: A line that is only a parenthesised path or name: "(/usr/lib/python3.9/x/__init__.py)".
_PAREN_LINE = LazyRegex(r"^\([^()\n]{1,1024}\)[ \t]*$")
#: A word of a text typed in lower case (not part of a name, a path or a file's suffix), to be looked up in
#: the table of words with their case.
_WORD = LazyRegex(r"(?<![\w.\\/\-])[a-z][a-z0-9_]{1,60}(?![\w\-])")
#: Widths at which terminals and consoles wrap a line.
# A line typed in lower case that holds an exception ("importerror: dll load failed …"), also after a
# lower-case lead-in on the same line ("from . import _imaging as core importerror: …").
_LOWER_EXCEPTION_LINE = LazyRegex(r"^[^A-Z\n]{0,300}?(?<![\w.])[a-z][a-z_.]{0,60}(?:error|exception):[^A-Z\n]{0,2000}$",
                                  re.MULTILINE)
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


def _inferred_width(lines: List[str]) -> Optional[int]:
    """The width of a terminal that is none of the usual ones, read from the text: two or more different lines
    are exactly the longest length (at least 60), and each is followed by a shorter piece (a wide terminal that
    wrapped every long line at its width)."""
    longest = max((len(line) for line in lines), default=0)
    if longest < 60 or longest in _WRAP_WIDTHS:
        return None
    at = [i for i, line in enumerate(lines) if len(line) == longest]
    if len(at) < 2 or len({lines[i] for i in at}) < len(at):
        return None
    if all(i + 1 < len(lines) and 0 < len(lines[i + 1]) < longest for i in at):
        return longest
    return None


def _join_wrapped(lines: List[str]) -> List[str]:
    out: List[str] = []
    inferred = _inferred_width(lines)
    widths = _WRAP_WIDTHS | {inferred} if inferred else _WRAP_WIDTHS
    last_len = 0   # the length of the last physical line in out[-1]: a line wrapped twice is three pieces
    for line in lines:
        if out and line[:1] == "(" and _PAREN_LINE.match(line) and _EXCEPTION_LINE.match(out[-1]):
            # The path Python prints after a message, "(…/pkg/__init__.py)", moved to a line of its own by a
            # renderer's wrap (rich, a web page): it belongs to the exception line before it.
            out[-1] = out[-1].rstrip() + " " + line.strip()
            continue
        # A terminal cuts at its width wherever it is, after a space ("… version `GLIBCXX_3.4.30' " / "not
        # found (…") or before one ("… incompatible architecture" / " (have …"); an indented line is a
        # new line unless it is such a piece (one space, then text).
        ends = out[-1].rstrip()[-1:] if out else ""
        # A full stop ends a sentence unless the next piece goes on inside the word ("huggingface_hub." /
        # "errors'", "(required by .." / "../lib"); a colon ends a line unless the cut fell at a space.
        at_width = (bool(out) and last_len in widths
                    and (ends != "." or line[:1].islower() or line[:1] in "._/\\" or line[:1].isdigit())
                    and (ends != ":" or line[:1] == " " or out[-1][-1:] == " "))
        if out and line and (not line[0].isspace()
                             or at_width and line[0] == " " and line[1:2] not in (" ", "\t", "")):
            prev = out[-1]
            # Cheap tests first: most lines are neither at a wrap width nor end in a path.
            if prev and (at_width or not prev[-1].isspace()):
                # A closing bracket ends a list or a call ("from [.../lib, .../bin]"), never half a file name.
                tail = (_last_token(prev) if ("/" in prev or "\\" in prev) and not prev[-1].isspace()
                        and prev[-1] not in ")]}" else "")
                if (at_width or "/" in tail or "\\" in tail) and not _STRUCTURAL.match(line):
                    # A file name cut at the wrap: the line before ends in a path, this one continues it.
                    cont = _CONTINUATION.match(line) if tail else None
                    if cont and (_FILE_END.search(tail + cont.group()) or "/" in cont.group()
                                 or "\\" in cont.group()):
                        out[-1] = prev + line
                        last_len = len(line)
                        continue
                    # A terminal's hard wrap: the line before fills the terminal's width exactly.
                    if at_width:
                        out[-1] = prev + line
                        last_len = len(line)
                        continue
        out.append(line)
        last_len = len(line)
    return out


def _unwrap_inline_code(lines: List[str]) -> List[str]:
    """Every text line wrapped in one pair of backticks (Markdown inline code, a line at a time): unwrapped.
    A line a terminal wrapped inside the pair keeps the opening mark on its first piece and the closing one on
    its last."""
    filled = [line for line in lines if line.strip()]
    whole = sum(1 for line in filled if len(line) >= 2 and line[0] == "`" and line[-1] == "`")
    if (whole < 3 or any(line.startswith("```") for line in filled)
            or not all(line[0] == "`" or line[-1] == "`" for line in filled)):
        return lines
    return [line[1 if line[:1] == "`" else 0: -1 if line[-1:] == "`" else None] if line.strip() else line
            for line in lines]


def _closes_earlier(line: str) -> bool:
    """Whether ``line`` closes a parenthesis it did not open (its running depth goes below zero)."""
    depth = 0
    for char in line:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return True
    return False


def _join_open_parentheses(lines: List[str]) -> List[str]:
    """A line that leaves a parenthesis open, followed (after one blank line at most) by an unindented line that
    closes it: one line a page or a terminal wrapped ("… (no" / "such file)", dyld's "(mach-o file, but is an
    incompatible" / "architecture (have 'x86_64', need 'arm64'))")."""
    out: List[str] = []
    open_in_last = 0     # parentheses out[-1] leaves open (kept as lines join: each line is counted once)
    blank = False        # one blank line seen after a line that leaves a parenthesis open
    for line in lines:
        if open_in_last > 0 and not blank and not line.strip():
            blank = True
            continue
        if (open_in_last > 0 and line and ")" in line and not line[0].isspace() and not out[-1][:1].isspace()
                and not _STRUCTURAL.match(line) and _closes_earlier(line)):
            out[-1] = out[-1].rstrip() + " " + line
            open_in_last += line.count("(") - line.count(")")
        else:
            if blank:
                out.append("")
            out.append(line)
            open_in_last = line.count("(") - line.count(")")
        blank = False
    if blank:
        out.append("")
    return out


def _strip_hard_breaks(lines: List[str]) -> List[str]:
    """Markdown's hard line breaks: a backslash ending (nearly) every line of a post ("…_ctypes.so\\") is no
    part of the line."""
    filled = broken = 0
    for line in lines:
        if line.strip():
            filled += 1
            broken += _hard_break(line)
    if broken < 3 or broken < 0.6 * filled:
        return lines
    return [line[:-1] if _hard_break(line) else line for line in lines]


def _hard_break(line: str) -> bool:
    # " \\" continues a shell line (joined below); "\\\\" is an escaped backslash
    return line.endswith("\\") and not line.endswith(("\\\\", " \\", "\t\\"))


def _join_continued(lines: List[str]) -> List[str]:
    """Lines ended by " \\" (a log's or a shell's line continuation) joined to the line after them."""
    out: List[str] = []
    continued = False
    for line in lines:
        if continued:
            out[-1] = out[-1] + " " + line.lstrip()
        else:
            out.append(line)
        continued = out[-1].endswith(" \\")
        if continued:
            out[-1] = out[-1][:-2].rstrip()
    return out


def _percent_decoded(lines: List[str]) -> List[str]:
    """Lines copied from a URL, their spaces and punctuation percent-encoded ("undefined%20symbol:%20x")."""
    from urllib.parse import unquote

    # Decoded only when the line holds "%20" twice: a single "%1" or "%20" may be the text's own.
    return [unquote(line) if line.count("%20") >= 2 else line for line in lines]


def _recased(text: str) -> str:
    """A text with no capital letter at all (typed in lower case) with the case of what the signatures read
    verbatim: Python's exception names, and the signatures' literal phrases that hold a capital letter
    ("DLL load fail", "Library not loaded")."""
    names, phrases = _cased_words()
    text = _WORD.sub(lambda m: names.get(m.group(), m.group()), text)
    for phrase in phrases:
        if phrase.lower() in text:    # at a word's start only ("foo.dll load" is a file name's suffix)
            text = re.sub(r"(?<![\w.\\/\-])" + re.escape(phrase.lower()), lambda m, p=phrase: p, text)
    return text


_CASED: list = []


def _cased_words():
    """(lower-case exception name -> name, the signatures' literal phrases with a capital, longest first)."""
    if not _CASED:
        import builtins

        from .signatures import signatures

        names = {name.lower(): name for name in dir(builtins)
                 if isinstance(getattr(builtins, name), type) and issubclass(getattr(builtins, name), BaseException)}
        phrases = {literal for sig in signatures() if not sig.ignores_case
                   for alternative in sig.literals for literal in alternative
                   if literal != literal.lower() and len(literal) >= 6 and " " in literal}
        _CASED.extend([names, sorted(phrases, key=len, reverse=True)])
    return _CASED[0], _CASED[1]


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
        # Cut mid-sentence: no closing mark, not a file name (a message may end in one), and the next
        # paragraph no new sentence ("Any help?") nor a statement typed ("import x").
        cut = (bool(_EXCEPTION_LINE.match(stripped)) and not stripped.endswith((".", "'", '"', ")", "]"))
               and not _FILE_END.search(stripped) and not _SENTENCE_START.match(nxt))
        if (opens or cut) and not nxt[:1].isspace() and not _STRUCTURAL.match(nxt) and not _CODE_START.match(nxt):
            out[-1] = stripped + " " + nxt.strip()
            i = j + 1
    return out


def _prefix_key(m: "re.Match[str]") -> str:
    return next((g for g in m.groups() if g is not None), "")


def _strip_log_prefix(lines: List[str]) -> List[str]:
    """Lines that (nearly) all begin with the same collector prefix ("web-1  | ", a timestamp) lose it.

    A terminal wraps the prefixed line as a whole: a line without the prefix right after one that fills
    the terminal's width is the rest of that line, and is joined to it."""
    counts: dict = {}
    filled = 0
    stamped = 0    # lines that begin with a date and time: one such line is a prefix already
    previous = 0   # the length of the line before
    for line in lines:
        length, wrapped = len(line), previous in _WRAP_WIDTHS
        previous = length
        if line.strip():
            m = _LOG_PREFIX.match(line)
            if m and not line[m.end():].strip():
                continue   # the prefix alone (a log's empty line; a bare number): neither for nor against
            if not m and wrapped:
                continue   # the rest of a wrapped line
            filled += 1
            if m:
                key = _prefix_key(m)
                counts[key] = counts.get(key, 0) + 1
                stamped += m.group(2) is not None
    if not counts:
        return lines
    name, count = max(counts.items(), key=lambda item: item[1])
    if (count < 2 and not stamped == filled == 1) or count < 0.6 * filled:
        return lines
    out: List[str] = []
    previous = 0
    for line in lines:
        m = _LOG_PREFIX.match(line)
        if m and _prefix_key(m) == name:
            out.append(line[m.end():])
        elif out and previous in _WRAP_WIDTHS and not m and line:
            out[-1] += line
        else:
            out.append(line)
        previous = len(line)
    return out


# Runs of blanks are matched from their first character only (the lookbehind), so a long run costs one scan.
_FLAT_FRAME = LazyRegex(r'(?<![ \t])[ \t]{0,64}\bFile "(?P<file>[^"\n]{1,1024})", line (?P<line>\d{1,7}), in '
                         r'(?P<func>[\w<>.]{1,200})')
_FLAT_BREAK = LazyRegex(r"(?<![ \t])[ \t]{1,64}(?=Traceback \(most recent call last\)|During handling of the above exception"
                         r"|The above exception was the direct cause|[A-Za-z_][\w.]{0,200}(?:Error|Exception|Warning): "
                         r"|" + _DYLD_LINES + ")")   # dyld's lines


#: dyld's last line, " in /path", after "Expected in: flat namespace" or a library's path.
_FLAT_DYLD_IN = LazyRegex(r"(?:(?<=namespace)|(?<=\.dylib)|(?<=\.so))[ \t]{1,64}(?=in /)")


def _unflatten(text: str) -> str:
    """A traceback whose line ends were lost (one line, as a title or some web pages keep it) is laid out
    again: a frame per line, the code line it ran indented below it, the exception on its own line."""
    text = _FLAT_BREAK.sub("\n", text)
    if "in /" in text:
        text = _FLAT_DYLD_IN.sub("\n ", text)
    return _FLAT_FRAME.sub(lambda m: f'\n  File "{m.group("file")}", line {m.group("line")}, in {m.group("func")}\n    ',
                           text)


_LINE_NUMBER = LazyRegex(r"^[ \t]{0,8}(\d{1,7})(?:[ \t]{1,4}|: |\| ?|$)")


def _strip_line_numbers(lines: List[str]) -> List[str]:
    """A log viewer's (or ``cat -n``'s) line numbers: (nearly) every line numbered, the numbers rising by one."""
    filled = numbered = 0
    previous = None
    for line in lines:
        if not line.strip():
            continue
        filled += 1
        m = _LINE_NUMBER.match(line)
        if m:
            number = int(m.group(1))
            if previous is not None and number != previous + 1:
                return lines
            previous = number
            numbered += 1
    if numbered < 3 or numbered < 0.9 * filled:
        return lines
    return [line[_LINE_NUMBER.match(line).end():] if _LINE_NUMBER.match(line) else line for line in lines]


def _undouble(lines: List[str]) -> List[str]:
    """A double-spaced paste (a blank line after every line, as some web pages copy) is single-spaced.

    Only when no two text lines touch anywhere: a traceback's own blank lines then stay as runs of two."""
    filled = 0
    for i, line in enumerate(lines):
        if line.strip():
            filled += 1
            if i + 1 < len(lines) and lines[i + 1].strip():
                return lines
    if filled < 4:
        return lines
    out: List[str] = []
    i = 0
    while i < len(lines):
        out.append(lines[i])
        if (lines[i].strip() and not lines[i].rstrip().endswith(":") and i + 2 < len(lines)
                and not lines[i + 1].strip() and lines[i + 2].strip()
                and not lines[i + 2].startswith(("During handling", "The above exception"))):
            # The one blank line after a text line; after "…: " it stays, for the message it opens (below),
            # and before the sentence that joins two tracebacks of a chain.
            i += 2
            continue
        i += 1
    return out


def _is_quoted(line: str) -> bool:
    return line.startswith(">") and not line.startswith(">>>") and line[1:2] in ("", " ")


_GROUP_BAR = LazyRegex(r"^[ \t]{0,16}\| ?")
_GROUP_EDGE = LazyRegex(r"^[ \t]{0,16}\+(?:[-+]{1,200}(?: \d{1,4} -{1,200}| \.\.\. -{1,200})?[ \t]*$| (?=Exception Group))")


def _strip_group_bars(lines: List[str]) -> List[str]:
    """An exception group's traceback (Python 3.11+: "  | " before each line of a sub-exception, "  +-+---- 1
    ----" between them) reads like the tracebacks it holds: the bars and edges go when (nearly) every line
    has one. So do the bars a log viewer puts before every line of a traceback."""
    filled = barred = edges = rows = 0
    for line in lines:
        if line.strip():
            filled += 1
            edge = bool(_GROUP_EDGE.match(line))
            edges += edge
            bar = not edge and bool(_GROUP_BAR.match(line))
            barred += edge or bar
            rows += bar and line.rstrip().endswith("|")
    if barred < 2 or barred < 0.6 * filled or rows or not edges and barred < 3:
        return lines    # a Markdown table's rows end in a bar too; without a group's edge, three lines at least
    out = []
    for line in lines:
        edge = _GROUP_EDGE.match(line)
        if edge:
            out.append(line[edge.end():])
            continue
        bar = _GROUP_BAR.match(line)
        out.append(line[bar.end():] if bar else line)
    return out


def _strip_quotes(lines: List[str], text: str) -> List[str]:
    """Quotes inside quotes (a reply to a reply) lose every level, up to six."""
    for _ in range(6 if ">" in text else 0):
        stripped = _dedent(_strip_quote(lines))
        if stripped == lines:
            break
        lines = stripped
    return lines


def _strip_quote(lines: List[str]) -> List[str]:
    """A Markdown / e-mail quote ("> " before (nearly) every line) loses one level; a REPL's ">>>" is no quote.

    A quoted line a terminal wrapped (each piece fills the width) goes on in the next lines, which have no
    mark: those pieces belong to the quoted line."""
    filled = quoted = 0
    wrapped = False     # the line before is a quoted line, or a piece of one, cut at a terminal's width
    pieces = set()
    for index, line in enumerate(lines):
        if line.strip():
            filled += 1
            if _is_quoted(line):
                quoted += 1
            elif wrapped and not _STRUCTURAL.match(line):
                quoted += 1
                pieces.add(index)
        wrapped = (_is_quoted(line) or index in pieces) and len(line) in _WRAP_WIDTHS
    if (quoted < 2 and not quoted == filled == 1) or quoted < 0.6 * filled:
        return lines
    out: List[str] = []
    for index, line in enumerate(lines):
        if index in pieces and out:
            out[-1] += line
            continue
        out.append(line[2:] if line.startswith("> ") and not line.startswith(">>>") else
                   "" if line.rstrip() == ">" else line)
    return out


def _dedent(lines: List[str]) -> List[str]:
    """Lines that all share a leading indentation (a Markdown code block, a quoted log) lose it.

    A terminal wraps an indented line as a whole: after a line that fills the terminal's width, a piece
    indented less than the others (" python-dateutil 2.7.2 …") is the rest of that line and is joined."""
    common: "str | None" = None
    previous = 0
    for line in lines:
        wrapped, previous = previous in _WRAP_WIDTHS, len(line)
        if not line.strip():
            continue
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if wrapped and common and not indent.startswith(common) and not _STRUCTURAL.match(line.lstrip()):
            continue   # judged below, once the shared indentation is known
        if not indent:
            return lines
        if common is None or not indent.startswith(common):
            # the longest shared start of the two indentations
            n = 0
            ref = common if common is not None else indent
            while n < min(len(ref), len(indent)) and ref[n] == indent[n]:
                n += 1
            common = ref[:n]
            if not common:
                return lines
    if not common:
        return lines
    cut = len(common)
    out: List[str] = []
    previous = 0
    for line in lines:
        if (out and previous in _WRAP_WIDTHS and line.strip() and not line.startswith(common)
                and not _STRUCTURAL.match(line.lstrip())):
            out[-1] += line
        else:
            out.append(line[cut:] if line.strip() else "")
        previous = len(line)
    return out


def normalise(text: str) -> str:
    """The pasted ``text`` as the signatures read it (see the module's docstring)."""
    text = window(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = strip_terminal(text)
    if "rror" in text and text == text.lower():
        text = _recased(text)
    elif "rror:" in text and _LOWER_EXCEPTION_LINE.search(text):
        # One exception line typed in lower case among others ("importerror: module use of python24.dll …").
        text = _LOWER_EXCEPTION_LINE.sub(lambda m: _recased(m.group()), text)
    if "&" in text and _ENTITY.search(text):
        # Text copied from a page's source: "&lt;module&gt;", "&#39;", "&quot;" are the characters.
        text = html.unescape(text)
        if "&" in text and _ENTITY.search(text):
            text = html.unescape(text)    # escaped twice ("&amp;lt;"), as a page's source may quote a page
    if "](" in text:
        text = _MARKDOWN_LINK.sub(r"\1", text)
    if _SMART_QUOTES.search(text):
        # A rendered page's typographic quotes are the ASCII quotes the program printed.
        text = text.translate(_SMART_QUOTE_MAP)
    if "\u00a0" in text or "\u202f" in text:
        # A web page's non-breaking spaces (indentation copied from HTML) are spaces.
        text = text.replace("\u00a0", " ").replace("\u202f", " ")
    # Messages quoted as a Python repr (xgboost's "Error message(s): ['dlopen(…)\\n  Referenced from…']")
    # carry escaped newlines; unescape those followed by indentation (a Windows "C:\\new" is not).
    text = _ESCAPED_NEWLINE.sub("\n", text)
    if "\\n\n" in text:
        text = _ESCAPED_NEWLINE_AT_END.sub("", text)
    if "\\'" in text:
        text = _ESCAPED_QUOTES.sub(r"'\1'", text)

    # What wraps every line (a collector's prefix, a Markdown quote, a code block's indentation) goes
    # before anything reads the lines' own starts.
    if "\n" not in text.strip():
        # One line: a quote's marks go first (they stand before the first of the lines it holds).
        text = _unflatten(_QUOTE_MARKS.sub("", text.strip(), count=1) if ">" in text else text)
    lines = text.split("\n")
    if "  \n" in text or "\t\n" in text or text.endswith(("  ", "\t")):
        # Padding after a line (a Windows console pads every line to its width, web pages add spaces) is
        # none of the line; one trailing space stays: a terminal's wrap may have cut right after it.
        lines = [line.rstrip(" \t") if line.endswith(("  ", "\t")) else line for line in lines]
    lines = _dedent(_undouble(lines))
    if lines and lines[0].lstrip()[:1].isdigit():
        lines = _strip_line_numbers(lines)
    lines = _strip_quotes(lines, text)
    if "|" in text:
        lines = _dedent(_strip_group_bars(lines))
    if "|" in text or "#" in text or "T" in text or "." in text or ":" in text:
        for _ in range(2):    # a logger's prefix on a collector's: up to two levels
            stripped = _dedent(_strip_log_prefix(lines))   # what the prefix stood before may be indented alike
            if stripped == lines:
                break
            lines = stripped
        lines = _strip_quotes(lines, text)     # a quote a logger printed: its prefix stood before the marks
    if "`" in text:
        lines = _unwrap_inline_code(lines)
    text = "\n".join(lines)
    if "import" in text and ("Error: " in text or "Exception: " in text):
        text = _STATEMENT_RUN_ON.sub(r"\1\n", text)
    if ">>>" in text or "..." in text or "In [" in text:
        # Code typed at a prompt is indented, as a traceback prints the code it ran.
        text = _PROMPT.sub("    ", text)
    if "\nE   " in text:
        # pytest: the error's lines lose their "E", the line that raised reads as a traceback's code line.
        text = _PYTEST_MARK.sub(" ", _PYTEST_ERROR.sub("", text))
    lines = text.split("\n")
    if "%20" in text:
        lines = _percent_decoded(lines)
    lines = _drop_inner_blank_lines(lines)
    lines = _join_wrapped(lines)
    if "\\\n" in text:
        lines = _strip_hard_breaks(lines)
    if " \\\n" in text:
        lines = _join_continued(lines)
    if "(" in text:
        lines = _join_open_parentheses(lines)
    text = "\n".join(lines)
    if "Referenced from: " in text or "Expected in: " in text:
        # dyld's lines run into the one before them (a copy that lost those line ends), once wraps are joined.
        text = _DYLD_RUN_ON.sub("\n  ", text)
        if "in /" in text:
            text = _FLAT_DYLD_IN.sub("\n ", text)
    return text
