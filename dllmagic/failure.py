"""Exception chain or pasted text → :class:`~dllmagic.model.Failure`, through signatures kept as data.

The error texts of every loader and installer we know are regexes in
``dllmagic/knowledge/signatures.json``; the localised texts of the Windows error codes are in
``windows_messages.json``.  This module only runs them:

1. every exception of the chain (``__cause__``, ``__context__``, exception groups; cycle-safe) becomes
   a *document*: its traceback text followed by ``Type: message``.  Pasted text is one document;
2. every signature that applies to the document's exception type is searched in the message; the
   match with the highest priority decides the kind (ties: the innermost exception, then the
   earliest text, which in a printed chain is the root cause);
3. the winning match's named groups fill the Failure, extractor signatures (no kind) fill the names it
   left empty, and a few generic steps complete it: the module from ``ImportError.name``, a
   ``while importing X`` or the innermost import statement of the traceback; the extension module
   from ``ImportError.path`` or a path in the text; the paths a macOS ``tried:`` list names.

Nothing here imports the failing module or inspects the machine (a live traceback's source lines
come from ``linecache``, as Python's own traceback printing does); nothing raises to the caller
(internal trouble yields a Failure of kind ``unknown``, or None; under the test suite,
``DLLMAGIC_STRICT=1``, it raises).
"""
from __future__ import annotations

import ntpath
import posixpath
import re
import traceback as _traceback
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from . import knowledge
from .model import KINDS, Failure

__all__ = [
    "KIND_OF_SIGNAL",
    "failure_from_exception",
    "failure_from_records",
    "failure_from_text",
    "failure_from_signal",
    "is_import_failure",
    "key_facts",
    "module_from_path",
    "windows_code_of_text",
    "signatures",
]


def __dir__() -> List[str]:
    return list(__all__)


#: The kind of an import that killed the process with this signal (faulthandler, exit status).
KIND_OF_SIGNAL: Dict[str, str] = {
    "SIGILL": "unsupported-cpu",
    "SIGSEGV": "import-crashed",
    "SIGABRT": "import-crashed",
    "SIGBUS": "import-crashed",
    "SIGFPE": "import-crashed",
}

#: Failure fields a signature's named group may fill directly; other groups go to ``details``.
_FIELDS = ("module", "extension", "library", "symbol", "version", "required_by", "name", "from_path",
           "signal")

#: Exception types whose text the hook's cheap check looks at (besides every ImportError).
_TEXT_CHECKED = (OSError, RuntimeError, TypeError, AttributeError, SystemError, ValueError)

_MAX_TEXT = 400_000      # characters of pasted text examined (head and tail kept)
_MAX_CHAIN = 64          # exceptions examined in one chain


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


# --------------------------------------------------------------------------------------------------
# Documents: one per exception, or the pasted text
# --------------------------------------------------------------------------------------------------
@dataclass
class _Doc:
    text: str                       # traceback text + "Type: message" (or the pasted text)
    start: int                      # where the message starts (signatures look only from here)
    exc_type: str                   # "" for pasted text: the type is read per line
    type_names: frozenset = frozenset()
    name: Optional[str] = None      # ImportError.name
    path: Optional[str] = None      # ImportError.path
    is_import_error: bool = False
    message: str = ""


_EXC_LINE = re.compile(
    r"(?:^|[\s>:])(?:[A-Za-z_]\w*\.)*(?P<type>[A-Z]\w*(?:Error|Exception|Exit|Warning))(?::|$)", re.MULTILINE)
_IMPORT_ERROR_LINE = re.compile(r"^\W{0,8}(?:[\w ]*?:\s*)?(?:[A-Za-z_]\w*\.)*(ImportError|ModuleNotFoundError)\b:?",
                                re.MULTILINE)


def _type_at(text: str, pos: int) -> str:
    """The exception type printed on the line holding ``pos`` (before it), or ''."""
    line_start = text.rfind("\n", 0, pos) + 1
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


def _doc_from_exception(exc: BaseException) -> _Doc:
    type_names = frozenset(cls.__name__ for cls in type(exc).__mro__)
    message = _safe_str(exc)
    tb = _format_tb(exc)
    head = f"{tb}{type(exc).__name__}: "
    name = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
    path = getattr(exc, "path", None) if isinstance(exc, ImportError) else None
    return _Doc(text=head + message, start=len(head), exc_type=type(exc).__name__, type_names=type_names,
                name=name if isinstance(name, str) else None, path=path if isinstance(path, str) else None,
                is_import_error=isinstance(exc, ImportError), message=message)


def _doc_from_record(record: dict) -> _Doc:
    exc_type = str(record.get("type") or "Exception")
    message = str(record.get("message") or "")
    tb = str(record.get("traceback") or "")
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
                is_import_error=is_import, message=message)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_ESCAPED_NEWLINE = re.compile(r"\\n(?=[ \t]+\S)")


def _doc_from_text(text: str) -> _Doc:
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT // 4] + "\n…\n" + text[-(_MAX_TEXT * 3 // 4):]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Messages quoted as a Python repr (xgboost's "Error message(s): ['dlopen(…)\\n  Referenced from…']")
    # carry escaped newlines; unescape those followed by indentation (a Windows "C:\\new" is not).
    text = _ESCAPED_NEWLINE.sub("\n", text)
    text = _ANSI.sub("", text)        # colours of a terminal or a notebook's saved output
    return _Doc(text=text, start=0, exc_type="", is_import_error=bool(_IMPORT_ERROR_LINE.search(text)))


# --------------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------------
@dataclass
class _Hit:
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
    return not exc_type or exc_type in sig.types or exc_type == "ModuleNotFoundError" and "ImportError" in sig.types


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
        found = windows_code_of_text(text)
        if found:
            entry = kb.windows_codes[found[0]]
            return entry["kind"], {"windows_code": str(entry["code"]), "windows_error": entry["symbol"],
                                   "message_language": found[1]}
    if sig.fallback_kind:
        return sig.fallback_kind, {"windows_code": code_text or "unknown"}
    return None, {}


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
    best_key: Optional[Tuple[int, int, int]] = None
    demoters = [s for s in kb.signatures if s.demote_to is not None]
    for index, doc in enumerate(docs):
        # Spans of known noise (warnings a program survives): matches inside count for less.
        spans = [(m.start(), m.end(), sig.demote_to) for sig in demoters
                 for m in sig.regex.finditer(doc.text, doc.start)]
        for sig in kb.signatures:
            if sig.kind is None or (doc.exc_type and not sig.live):
                continue   # a live exception is not a crash report or installer output
            if best_key is not None and sig.priority < best_key[0]:
                break  # sorted by priority: nothing further can win
            if sig.types is not None and doc.type_names and not (sig.types & doc.type_names):
                continue  # the same test _applies makes, before the regex is compiled and run
            for m in sig.regex.finditer(doc.text, doc.start):
                exc_type = doc.exc_type or _type_at(doc.text, m.start())
                if not _applies(sig, doc, exc_type):
                    continue
                kind, extra = _resolve_kind(sig, m, kb)
                if kind is None:
                    continue
                priority = sig.priority
                for start, end, demote_to in spans:
                    if start <= m.start() < end:
                        priority = min(priority, demote_to)
                # Highest priority; then the innermost exception; then the earliest text.
                key = (priority, index, -m.start())
                if best_key is None or key > best_key:
                    best_key = key
                    best = _Hit(sig, m, index, kind, exc_type, extra)
                break
    return best


# --------------------------------------------------------------------------------------------------
# Names: modules from paths and tracebacks
# --------------------------------------------------------------------------------------------------
_SITE_DIRS = {"site-packages", "dist-packages"}
_LIB_DIRS = {"lib", "lib64", "libs", ".libs", ".dylibs", "bin", "dlls", "_libs", "binaries"}
_IDENT = re.compile(r"^[A-Za-z_]\w*$")
_EXT_SUFFIX = re.compile(r"\.(?:cpython-\d+\w*|abi3|pypy\d*\w*|cp\d+\w*)(?:-[\w-]+)?\.(?:so|pyd)$|\.pyd$", re.I)


def _split_path(path: str) -> List[str]:
    return [p for p in re.split(r"[\\/]+", path) if p]


def _is_extension_file(filename: str) -> bool:
    """An extension module (``.pyd``, tagged ``.so``, or an untagged ``.so`` not named ``lib*``)."""
    low = filename.lower()
    if _EXT_SUFFIX.search(low):
        return True
    return low.endswith(".so") and not low.startswith("lib")


def _is_native_file(filename: str) -> bool:
    low = filename.lower()
    return bool(re.search(r"\.(?:so(?:\.[\w.]+)?|pyd|dll|dylib)$", low))


def module_from_path(path: str) -> Optional[str]:
    """The dotted module an extension (or a library bundled inside a package) belongs to.

    ``…/site-packages/torchvision/_C.cpython-36m-x86_64-linux-gnu.so`` → ``torchvision._C``;
    ``…/site-packages/xgboost/lib/libxgboost.dylib`` → ``xgboost`` (a plain library is attributed to the
    package that bundles it, skipping folders such as ``lib``/``.libs``); outside a site folder only an
    extension module's own name is known (``…/_IMP_kernel.so`` → ``_IMP_kernel``).
    """
    parts = _split_path(path)
    if not parts:
        return None
    filename = parts[-1]
    if not _is_native_file(filename):
        return None
    is_ext = _is_extension_file(filename)
    stem = filename.split(".")[0]
    site = None
    for i, part in enumerate(parts[:-1]):
        if part.lower() in _SITE_DIRS:
            site = i
    if site is None:
        return stem if is_ext and _IDENT.match(stem) else None
    dirs = parts[site + 1: -1]
    if not is_ext:
        while dirs and (dirs[-1].lower() in _LIB_DIRS or dirs[-1].lower().endswith(".libs")):
            if dirs[-1].lower().endswith(".libs") and len(dirs) == 1:
                dirs = [dirs[-1][: -len(".libs")]]   # auditwheel's "<pkg>.libs" next to "<pkg>"
                break
            dirs = dirs[:-1]
    names = dirs + ([stem] if is_ext else [])
    # Keep the trailing run of identifiers (skips "foo-1.0-py3.8.egg" and the like).
    run: List[str] = []
    for name in reversed(names):
        if not _IDENT.match(name):
            break
        run.insert(0, name)
    return ".".join(run) or None


_FRAME_HEADER = re.compile(r"""^\s*(?:File "(?P<file>[^"\n]+)", line \d+|File (?P<file2>[^\n:]+?\.py):\d+)""")
_IMPORT_STMT = re.compile(
    r"""^(?:\s*-+>\s*\d+\s+|\s+|\s*\d+\s+(?=\S))?\s*(?:"""
    r"""from\s+(?P<from>\.*[\w.]*)\s+import\s+\(?\s*(?P<names>[A-Za-z_]\w*)?"""
    r"""|import\s+(?P<imp>[A-Za-z_][\w.]*)"""
    r"""|.*?\b(?:import_module|__import__|load_module|load_dynamic|_load_library|load_library)\(\s*["'](?P<call>\.?[\w.]+)["']"""
    r""")""")


def _package_of_file(path: str) -> Optional[str]:
    parts = _split_path(path)
    site = None
    for i, part in enumerate(parts[:-1]):
        if part.lower() in _SITE_DIRS:
            site = i
    if site is None or not parts[-1].endswith(".py"):
        return None
    dirs = parts[site + 1: -1]
    return ".".join(dirs) if dirs and all(_IDENT.match(d) for d in dirs) else None


def _imports_in(text: str) -> List[Tuple[str, str]]:
    """(module, first name imported from it) of the executed import lines of tracebacks in ``text``."""
    found: List[Tuple[str, str]] = []
    current_file: Optional[str] = None
    previous_was_header = False
    for line in text.split("\n"):
        header = _FRAME_HEADER.match(line)
        if header:
            current_file = header.group("file") or header.group("file2")
            previous_was_header = True
            continue
        arrow = re.match(r"^\s*-+>\s*\d+", line)
        indented = line.startswith("  ") or line.startswith("\t")
        ipython_context = re.match(r"^\s+\d+\s", line) and not arrow
        if ipython_context or not (arrow or indented or previous_was_header):
            previous_was_header = False
            continue
        previous_was_header = False
        m = _IMPORT_STMT.match(line)
        if not m:
            continue
        name = m.group("from") or m.group("imp") or m.group("call")
        if not name:
            continue
        imported = m.group("names") or ""
        if name.startswith("."):
            # A relative import: resolve it against the package of the frame's file.
            base = _package_of_file(current_file) if current_file else None
            dots = len(name) - len(name.lstrip("."))
            rest = name.lstrip(".")
            if not base:
                if rest:
                    found.append((rest, imported))
                continue
            pkg = base.split(".")
            if dots > 1:
                pkg = pkg[: len(pkg) - (dots - 1)]
            name = ".".join(pkg + ([rest] if rest else []))
            if not name:
                continue
        found.append((name, imported))
    return found


_NEXT_EXCEPTION = re.compile(r"^\S.*?(?:Error|Exception)\b.*?:", re.MULTILINE)


def _traceback_imports(text: str, pos: int, end: int) -> List[Tuple[str, str]]:
    """The imports executed before ``pos``; failing that, those of the traceback after the match."""
    before = _imports_in(text[:pos])
    if before:
        return before
    after_text = text[end:]
    nxt = _NEXT_EXCEPTION.search(after_text, 1)
    return _imports_in(after_text[: nxt.start()] if nxt else after_text)


# --------------------------------------------------------------------------------------------------
# Building the Failure
# --------------------------------------------------------------------------------------------------
_TRIED_ITEM = re.compile(r"""'(?P<path>[^'\n]+)'(?:\s*\((?P<reason>(?:[^()\n]|\((?:[^()\n]|\([^()\n]*\))*\))*)\)?)?""")


def _tried_list(text: str, around: int) -> List[Tuple[str, str]]:
    m = None
    for cand in re.finditer(r"tried:\s*", text):
        if m is None or abs(cand.start() - around) < abs(m.start() - around):
            m = cand
    if m is None:
        return []
    line_end = text.find("\n", m.end())
    segment = text[m.end(): line_end if line_end >= 0 else len(text)]
    out = []
    for item in _TRIED_ITEM.finditer(segment):
        out.append((item.group("path"), (item.group("reason") or "").strip()))
    return out


def _normalise_path(path: str) -> str:
    path = path.strip().strip("'\"")
    if re.search(r"(^|[\\/])\.\.?([\\/]|$)", path):
        if "\\" in path and "/" not in path:
            return ntpath.normpath(path)
        if path.startswith("/") or path.startswith("./") or path.startswith("../") or "/" in path:
            return posixpath.normpath(path)
    return path


def _basename(path: str) -> str:
    parts = _split_path(path)
    return parts[-1] if parts else path


def _python_dll_version(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return f"{digits[0]}.{digits[1:]}" if len(digits) >= 2 else value


_TRANSFORMS = {"python_dll_version": _python_dll_version}
_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


def _top_level(module: str) -> str:
    return module.split(".")[0]


def _closest(doc: _Doc, sig: _Signature, pos: int) -> Optional["re.Match[str]"]:
    best = None
    for m in sig.regex.finditer(doc.text, doc.start):
        if best is None or abs(m.start() - pos) < abs(best.start() - pos):
            best = m
    return best


def _build(docs: Sequence[_Doc], hit: _Hit, kb: _Knowledge) -> Failure:
    doc = docs[hit.doc_index]
    m = hit.match
    values: Dict[str, str] = {}
    for key, value in _groups(m).items():
        values[key] = value
    for key, value in hit.sig.transform:
        if key in values and value in _TRANSFORMS:
            values[key] = _TRANSFORMS[value](values[key])
    for key, value in hit.sig.set:
        values.setdefault(key, value)
    for key, value in hit.extra.items():
        values.setdefault(key, value)
    extractors_used = []
    for sig in kb.signatures:
        if sig.kind is not None:
            continue
        near = _closest(doc, sig, m.start())
        if near is None:
            continue
        extractors_used.append(sig.id)
        for key, value in _groups(near).items():
            values.setdefault(key, value)

    kind = hit.kind
    # Refinements: e.g. a missing Py... C-API symbol is a Python ABI mismatch.
    for ref in kb.refinements:
        if kind in ref.when_kind and values.get(ref.field) and ref.regex.search(values[ref.field]):
            kind = ref.kind
            values.setdefault("refinement", ref.id)

    # Paths.
    for key in ("found_path", "extension", "required_by"):
        if key in values:
            values[key] = _normalise_path(values[key])
    if values.get("from_path") in ("unknown location", ""):
        values.pop("from_path")
    if "expected_in" in values and not values.get("library"):
        if values["expected_in"] != "flat namespace":
            values["library"] = _basename(values["expected_in"])
    if doc.path:
        if kind == "cannot-import-name":
            values.setdefault("from_path", doc.path)
        elif _is_native_file(_basename(doc.path)):
            values.setdefault("extension", doc.path)
    found_path = values.get("found_path")
    if found_path:
        is_path = bool(re.search(r"[\\/]", found_path))
        if not values.get("library") and kind != "cannot-import-name":
            values["library"] = _basename(found_path)
        if not is_path:
            values.pop("found_path")
        elif kind == "architecture-mismatch" and not values.get("extension"):
            values["extension"] = found_path
    if kind == "symbol-version":
        if values.get("required_by"):
            values.setdefault("extension", values["required_by"])
        if values.get("version"):
            values.setdefault("symbol", values["version"])
    if kind in ("missing-symbol", "python-abi-mismatch") and not values.get("extension") and values.get("required_by"):
        values["extension"] = values["required_by"]
    tried = _tried_list(doc.text, m.start()) if "tried:" in doc.text else []

    # The module that failed to import.
    module = _module(doc, docs, hit, kind, values)
    if module:
        values["module"] = module
    else:
        values.pop("module", None)

    # The cannot-import-name file, when the message was cut off: the frame of that module's file.
    if kind == "cannot-import-name" and not values.get("from_path") and values.get("module"):
        leaf = values["module"].split(".")[-1]
        for fm in re.finditer(r"""File "(?P<file>[^"\n]+)", line \d+""", doc.text):
            parts = _split_path(fm.group("file"))
            if parts and (parts[-1] == f"{leaf}.py" or parts[-1] == "__init__.py" and len(parts) > 1
                          and parts[-2] == leaf):
                values["from_path"] = fm.group("file")
    if not values.get("found_path"):
        if kind == "cannot-import-name" and values.get("from_path"):
            values["found_path"] = values["from_path"]
        elif kind in ("missing-symbol", "python-abi-mismatch", "architecture-mismatch") and values.get("extension"):
            if re.search(r"[\\/]", values["extension"]):
                values["found_path"] = values["extension"]
    if kind == "no-compatible-release" or kind == "resolution-conflict":
        req = values.get("requirement")
        if req and not values.get("module"):
            rm = _REQUIREMENT.match(req)
            if rm:
                # conda's "name-version-build" and a wheel's "name-version-tags.whl" carry the version
                # after the first "-<digit>"; pip's "name==1.0" stops at the regex already.
                values["module"] = re.sub(r"-\d.*$", "", rm.group("name"))
    fields = {key: values.pop(key) for key in list(values) if key in _FIELDS}
    for key in ("library", "extension", "required_by"):
        if key in fields:
            fields[key] = fields[key].strip().strip("'\"")
    details: List[Tuple[str, str]] = sorted((k, v) for k, v in values.items() if k not in ("win_text",))
    if values.get("win_text"):
        details.append(("windows_message", values["win_text"]))
    for path, reason in tried:
        details.append((f"tried {path}", reason))
    if extractors_used:
        details.append(("extractors", ",".join(extractors_used)))

    if doc.exc_type:
        message = doc.message
        exc_type = doc.exc_type
    else:
        message = _line_span(doc.text, m.start(), m.end())
        exc_type = hit.exc_type
        if exc_type:
            cut = message.find(exc_type + ":")
            if cut >= 0:
                message = message[cut + len(exc_type) + 1:].strip()
    return Failure(
        kind=kind,
        exc_type=exc_type,
        message=message,
        paths_tried=tuple(path for path, _ in tried),
        signature=hit.sig.id,
        details=tuple(details),
        **fields,
    )


def _module(doc: _Doc, docs: Sequence[_Doc], hit: _Hit, kind: str, values: Dict[str, str]) -> Optional[str]:
    if kind in ("no-compatible-release", "resolution-conflict"):
        return None
    named = values.get("module")
    if doc.name and kind != "dependency-conflict":
        # ImportError.name: the full dotted name for most failures, but only the last part when the
        # loader itself failed (CPython's dynload passes the short name); refined below like "while
        # importing X".
        named = doc.name
    candidates: List[str] = []
    from_path_module = None
    for key in ("extension", "found_path", "required_by"):
        if values.get(key):
            from_path_module = module_from_path(values[key])
            if from_path_module:
                break
    tb_imports = _traceback_imports(doc.text, hit.match.start(), hit.match.end())
    if doc.exc_type and not tb_imports:
        # An exception's own frames can be importlib's; the chain's other tracebacks may say more.
        for other in docs:
            if other is not doc:
                tb_imports = _traceback_imports(other.text, len(other.text), len(other.text))
                if tb_imports:
                    break
    tb_module = tb_imports[-1][0] if tb_imports else None
    if tb_imports and kind in _NATIVE_KINDS and tb_imports[-1][1].startswith("_"):
        # "from torchvision import _C" while loading a native library: the private name is the
        # extension module (the convention of _C, _imaging, _psycopg ...), not a function.
        tb_module = f"{tb_imports[-1][0]}.{tb_imports[-1][1]}"
    if named:
        # "while importing _base": the dotted name from the traceback or the path, when it ends so.
        if "." not in named:
            candidates = [from_path_module or ""]
            for module, imported in reversed(tb_imports):
                candidates.append(module)
                if imported:
                    candidates.append(f"{module}.{imported}")   # from PIL import _imaging
            for cand in candidates:
                if cand and (cand == named or cand.endswith("." + named)):
                    return cand
        return named
    if kind == "dependency-conflict":
        for cand in (tb_module, from_path_module):
            if cand:
                return _top_level(cand)
        return None
    if kind in ("import-crashed", "unsupported-cpu", "openmp-conflict", "gpu-runtime"):
        candidates = [c for c in (tb_module,) if c]
    elif from_path_module and values.get("extension") and _site_relative(values["extension"]):
        candidates = [from_path_module, tb_module or ""]
    else:
        candidates = [tb_module or "", from_path_module or ""]
    for cand in candidates:
        if cand:
            return cand
    return None


_NATIVE_KINDS = frozenset({"missing-shared-library", "missing-symbol", "symbol-version", "python-abi-mismatch",
                           "numpy-abi-mismatch", "architecture-mismatch", "native-init-failed"})


def _site_relative(path: str) -> bool:
    return any(p.lower() in _SITE_DIRS for p in _split_path(path))


def _unknown(docs: Sequence[_Doc]) -> Optional[Failure]:
    for doc in reversed(docs):
        if doc.is_import_error:
            if doc.exc_type:
                return Failure(kind="unknown", exc_type=doc.exc_type, message=doc.message, module=doc.name,
                               from_path=doc.path)
            m = _IMPORT_ERROR_LINE.search(doc.text)
            if m:
                return Failure(kind="unknown", exc_type=m.group(1),
                               message=_line_span(doc.text, m.end(), m.end())[:2000])
    return None


def _analyse(docs: Sequence[_Doc]) -> Optional[Failure]:
    kb = _load_knowledge()
    hit = _best_hit(docs, kb)
    if hit is None:
        return _unknown(docs)
    return _build(docs, hit, kb)


def _internal_error(exc: BaseException, message: str = "") -> Optional[Failure]:
    # Loud under the test suite (DLLMAGIC_STRICT=1), quiet for users.
    import os
    if os.environ.get("DLLMAGIC_STRICT") == "1":
        raise exc
    return Failure(kind="unknown", exc_type="", message=message[:2000],
                   details=(("internal_error", f"{type(exc).__name__}: {exc}"),))


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------
def failure_from_exception(exc: BaseException) -> Optional[Failure]:
    """The import failure in ``exc``'s chain, or None when nothing in it is an import failure."""
    try:
        chain = _walk_chain(exc)
        docs = [_doc_from_exception(e) for e in chain]
        return _analyse(docs)
    except Exception as error:  # never raise into the kernel hook
        return _internal_error(error, _safe_str(exc))


def failure_from_records(records: Iterable[dict]) -> Optional[Failure]:
    """Like :func:`failure_from_exception`, for a chain serialised by a child process (outermost first).

    Each record: ``{"type", "module", "message", "name", "path", "traceback"}``.
    """
    try:
        docs = [_doc_from_record(r) for r in records if isinstance(r, dict)]
        if not docs:
            return None
        return _analyse(docs)
    except Exception as error:
        return _internal_error(error)


def failure_from_text(text: str) -> Optional[Failure]:
    """The import failure described by a pasted traceback, log, or pip/conda output, or None."""
    try:
        if not isinstance(text, str):
            text = text.decode("utf-8", "replace") if isinstance(text, (bytes, bytearray)) else str(text)
        if not text.strip():
            return None
        return _analyse([_doc_from_text(text)])
    except Exception as error:
        return _internal_error(error, text[:2000] if isinstance(text, str) else "")


def failure_from_signal(signal: str, module: Optional[str] = None, text: str = "") -> Failure:
    """A Failure for an import that killed the process (``SIGILL`` … as faulthandler reports it)."""
    name = signal.upper() if signal else ""
    if name and not name.startswith("SIG"):
        name = "SIG" + name
    parsed = failure_from_text(text) if text else None
    kind = KIND_OF_SIGNAL.get(name, "import-crashed")
    if parsed is not None and parsed.kind in ("unsupported-cpu", "import-crashed") and not name:
        return parsed
    return Failure(kind=kind, exc_type="", message=(text.strip().splitlines() or [f"killed by {name}"])[-1][:2000],
                   module=module, signal=name or None, signature="signal")


def is_import_failure(exc: BaseException) -> bool:
    """The per-cell hook's cheap check: is any exception of the chain an import failure?

    True for an ImportError anywhere in the chain, or an OSError, RuntimeError, TypeError,
    AttributeError, SystemError or ValueError (library errors derive from these) whose text matches a
    live signature.  The signatures are compiled into one regex on first use.
    """
    try:
        chain = _walk_chain(exc)
        if any(isinstance(e, ImportError) for e in chain):
            return True
        candidates = [e for e in chain if isinstance(e, _TEXT_CHECKED)]
        if not candidates:
            return False
        regex = _live_regex()
        return any(regex.search(_head_and_tail(_safe_str(e))) for e in candidates)
    except Exception:
        return False


def _head_and_tail(text: str, size: int = 4000) -> str:
    # Loader and import messages put their signature near the start or the end; a huge message (a
    # dumped array, a log) must not make the per-cell check slow.
    return text if len(text) <= 2 * size else text[:size] + "\n" + text[-size:]


def key_facts(failure: Optional[Failure]) -> Dict[str, str]:
    """The corpus's key facts (failing_module, missing_library, missing_symbol, required_version,
    found_path) as this Failure states them; absent keys are left out."""
    if failure is None:
        return {}
    details = dict(failure.details)
    facts = {
        "failing_module": failure.module,
        "missing_library": failure.library,
        "missing_symbol": failure.symbol,
        "required_version": failure.version,
        "found_path": details.get("found_path"),
    }
    return {k: v for k, v in facts.items() if v}
