"""Documents: one per exception of a chain, one per serialised record, or the pasted text."""
from __future__ import annotations

import re
import traceback as _traceback
from typing import List, Optional

from . import intake
from .._record import MutableRecord, field
from .signatures import IntakeText, _Signature

_MAX_TEXT = intake.MAX_TEXT
_MAX_CHAIN = 64          # exceptions examined in one chain
_LIVE_HEAD = 16_000      # characters of a live exception's message read from its start …
_LIVE_TAIL = 16_000      # … and from its end
_LIVE_TRACEBACK = 32_000  # characters of a live traceback read from its end (the innermost frames)
_MAX_TYPE_PREFIX = 400   # characters before a match read for the exception type printed on its line

class _Doc(MutableRecord):
    text: str                       # traceback text + "Type: message" (or the pasted text)
    start: int                      # where the message starts (signatures look only from here)
    exc_type: str                   # "" for pasted text: the type is read per line
    type_names: frozenset = frozenset()
    name: Optional[str] = None      # ImportError.name
    path: Optional[str] = None      # ImportError.path
    is_import_error: bool = False
    message: str = ""
    original: Optional[str] = None  # pasted text as given, before the intake normalised it (evidence)
    #: a child process's exception (``check``): raised by the import it was asked to run, in another process, so a
    #: signature's ``live_if`` check (which reads this process's modules) does not apply
    recorded: bool = False
    _intake: Optional[IntakeText] = field(default=None, repr=False, compare=False)

    @property
    def intake(self) -> IntakeText:
        if self._intake is None:
            self._intake = IntakeText(self.text)
        return self._intake

    def may_match(self, sig: _Signature) -> bool:
        """False when the signature cannot match this document (a literal it needs is absent)."""
        return sig.may_match(self.intake)


_EXC_LINE = re.compile(
    r"(?:^|[\s>:])(?:[A-Za-z_]\w*\.)*(?P<type>[A-Z]\w*(?:Error|Exception|Exit|Warning))(?::|$)", re.MULTILINE)
_IMPORT_ERROR_LINE = re.compile(r"^\W{0,8}(?:[\w ]*?:\s*)?(?:[A-Za-z_]\w*\.)*(ImportError|ModuleNotFoundError)\b:?",
                                re.MULTILINE)


def _type_at(text: str, pos: int) -> str:
    """The exception type printed on the line holding ``pos`` (before it), or ''."""
    line_start = max(text.rfind("\n", 0, pos) + 1, pos - _MAX_TYPE_PREFIX)
    prefix = text[line_start:pos]
    found = ""
    for m in _EXC_LINE.finditer(prefix):
        found = m.group("type")
    return found


def _line_span(text: str, start: int, end: int) -> str:
    a = text.rfind("\n", 0, start) + 1
    b = text.find("\n", end)
    if b < 0:
        b = len(text)
    return text[a:b].strip()


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a broken __str__ must not break the diagnosis
        try:
            return repr(exc)
        except Exception:
            return f"<{type(exc).__name__}>"


def _walk_chain(exc: BaseException) -> List[BaseException]:
    """The chain, outermost first, each exception once (chains can be cyclic)."""
    out: List[BaseException] = []
    seen = set()
    queue = [exc]
    while queue and len(out) < _MAX_CHAIN:
        item = queue.pop(0)
        if item is None or id(item) in seen or not isinstance(item, BaseException):
            continue
        seen.add(id(item))
        out.append(item)
        queue.append(getattr(item, "__cause__", None))
        queue.append(getattr(item, "__context__", None))
        for sub in getattr(item, "exceptions", None) or ():   # ExceptionGroup
            queue.append(sub)
    return out


def _format_tb(exc: BaseException) -> str:
    tb = getattr(exc, "__traceback__", None)
    if tb is None:
        return ""
    try:
        frames = _traceback.extract_tb(tb, limit=-40)
        return "".join(_traceback.format_list(frames))
    except Exception:
        return ""


def _window(text: str, head: int, tail: int) -> str:
    """``text`` cut to its first ``head`` and last ``tail`` characters (errors are printed at the ends)."""
    if len(text) <= head + tail:
        return text
    return text[:head] + "\n…\n" + text[len(text) - tail:]


def _doc_from_exception(exc: BaseException) -> _Doc:
    type_names = frozenset(cls.__name__ for cls in type(exc).__mro__)
    # The kernel hook's budget: a live message is read in a head and a tail window, so that an
    # exception carrying a dumped array or a log costs the kernel no more than a short one.
    message = _window(_safe_str(exc), _LIVE_HEAD, _LIVE_TAIL)
    tb = _window(_format_tb(exc), 0, _LIVE_TRACEBACK)
    head = f"{tb}{type(exc).__name__}: "
    name = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
    path = getattr(exc, "path", None) if isinstance(exc, ImportError) else None
    return _Doc(text=head + message, start=len(head), exc_type=type(exc).__name__, type_names=type_names,
                name=name if isinstance(name, str) else None, path=path if isinstance(path, str) else None,
                is_import_error=isinstance(exc, ImportError), message=message)


def _doc_from_record(record: dict) -> _Doc:
    exc_type = str(record.get("type") or "Exception")
    message = _window(str(record.get("message") or ""), _LIVE_HEAD, _LIVE_TAIL)
    tb = _window(str(record.get("traceback") or ""), 0, _LIVE_TRACEBACK)
    if tb and not tb.endswith("\n"):
        tb += "\n"
    head = f"{tb}{exc_type}: "
    names = {exc_type}
    is_import = exc_type in ("ImportError", "ModuleNotFoundError") or bool(record.get("is_import_error"))
    if is_import:
        names.add("ImportError")
    name = record.get("name")
    path = record.get("path")
    return _Doc(text=head + message, start=len(head), exc_type=exc_type, type_names=frozenset(names),
                name=name if isinstance(name, str) else None, path=path if isinstance(path, str) else None,
                is_import_error=is_import, message=message, recorded=True)


_ANSI = intake._CSI
_ESCAPED_NEWLINE = intake._ESCAPED_NEWLINE


def _doc_from_text(text: str) -> _Doc:
    original = text
    text = intake.normalise(text)    # one intake for what people paste (see intake.py)
    is_import = ("ImportError" in text or "ModuleNotFoundError" in text) and bool(_IMPORT_ERROR_LINE.search(text))
    return _Doc(text=text, start=0, exc_type="", is_import_error=is_import, original=original)
