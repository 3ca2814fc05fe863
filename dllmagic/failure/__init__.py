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

The package: ``signatures`` (the compiled knowledge, Windows messages), ``documents`` (exceptions,
records and pasted text as documents), ``matching`` (the winning signature), ``modules`` (module names
from paths and tracebacks), ``build`` (the Failure).  Every name stays importable from here.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional

from ..model import Failure
from .build import (_NATIVE_KINDS, _REQUIREMENT, _TRANSFORMS, _TRIED_ITEM, _analyse, _basename, _build,  # noqa: F401
                    _closest, _internal_error, _module, _normalise_path, _python_dll_version, _site_relative,
                    _top_level, _tried_list, _unknown)
from .documents import (_ANSI, _ESCAPED_NEWLINE, _EXC_LINE, _IMPORT_ERROR_LINE, _MAX_CHAIN, _MAX_TEXT,  # noqa: F401
                        _Doc, _doc_from_exception, _doc_from_record, _doc_from_text, _format_tb, _line_span,
                        _safe_str, _type_at, _walk_chain)
from .matching import _applies, _best_hit, _groups, _Hit, _resolve_kind  # noqa: F401
from .modules import (_EXT_SUFFIX, _FRAME_HEADER, _IDENT, _IMPORT_STMT, _LIB_DIRS, _NEXT_EXCEPTION,  # noqa: F401
                      _SITE_DIRS, _imports_in, _is_extension_file, _is_native_file, _package_of_file,
                      _split_path, _traceback_imports, module_from_path)
from .signatures import (IntakeText, _FIELDS, _GROUP, _Knowledge, _Refinement, _Signature, _compile_pattern,  # noqa: F401
                         _expand, _live_regex, _load_knowledge, _normalise_text, _windows_code, signatures,
                         windows_code_of_text)

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

#: Exception types whose text the hook's cheap check looks at (besides every ImportError).
_TEXT_CHECKED = (OSError, RuntimeError, TypeError, AttributeError, SystemError, ValueError)


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
    live signature.  A signature's regex runs (compiled on first use) only when the literals it needs
    are in the text.
    """
    try:
        chain = _walk_chain(exc)
        if any(isinstance(e, ImportError) for e in chain):
            return True
        candidates = [e for e in chain if isinstance(e, _TEXT_CHECKED)]
        if not candidates:
            return False
        from .conditions import holds

        live = [sig for sig in _load_knowledge().signatures if sig.live]
        for e in candidates:
            text = IntakeText(_head_and_tail(_safe_str(e)))
            # A literal scan first: the few signatures it leaves run on at most 8 KB.
            for sig in live:
                if not sig.may_match(text):
                    continue
                match = next(sig.finditer(text.text, 0, text), None)
                if match is not None and (not sig.live_if or holds(sig.live_if, match.groupdict())):
                    return True
        return False
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
        # the name a lookup did not find: a loader's symbol, or the name ``from X import name`` asked for; for a
        # symbol version the loader did not find, the version (GLIBCXX_3.4.30, WXU_3.0) as the corpus labels it
        "missing_symbol": (failure.version if failure.kind == "symbol-version" and failure.version else None)
        or failure.symbol or failure.name,
        "required_version": failure.version,
        "found_path": details.get("found_path_as_written") or details.get("found_path"),
    }
    return {k: v for k, v in facts.items() if v}
