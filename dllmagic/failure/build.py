"""Building the Failure from the winning match: named groups, extractors, refinements, the module."""
from __future__ import annotations

import ntpath
import posixpath
import re
from itertools import islice
from typing import Dict, List, Optional, Sequence, Tuple

from .._regex import LazyRegex
from ..knowledge import tables as knowledge_tables
from ..model import Failure
from .documents import _IMPORT_ERROR_LINE, _Doc, _line_span
from .matching import _MAX_MATCHES, _Hit, _best_hit, _groups
from .modules import (_SITE_DIRS, innermost_frame_module, _is_extension_file, _is_native_file, _split_path, _traceback_imports, crashed_module,
                      frozen_module, module_from_path)
from .signatures import _FIELDS, _Knowledge, _Signature, _load_knowledge

_TRIED_ITEM = LazyRegex(r"""'(?P<path>[^'\n]+)'(?:\s*\((?P<reason>(?:[^()\n]|\((?:[^()\n]|\([^()\n]*\))*\))*)\)?)?""")


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
    path = path.strip().strip("'\"`")   # quotes and Markdown code spans are the writer's, not the path's
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


def _cudnn_version(value: str) -> str:
    """cuDNN's version as the CUDNN_VERSION integer prints it (7201 → 7.2.1; since cuDNN 9, 90100 → 9.1.0)."""
    if not value.isdigit() or len(value) not in (4, 5):
        return value
    minor_end = 2 if len(value) == 4 else 3     # major*1000 + minor*100 + patch; major*10000 + … since 9
    return f"{int(value[0])}.{int(value[1:minor_end])}.{int(value[minor_end:])}"


def _shared_library_of(value: str) -> str:
    """The unversioned file name of a library a loader names by its bare name ('cudnn' → 'libcudnn.so')."""
    return value if "." in value or value.startswith("lib") else f"lib{value}.so"


_TRANSFORMS = {"python_dll_version": _python_dll_version, "cudnn_version": _cudnn_version,
               "shared_library_of": _shared_library_of}
_REQUIREMENT = LazyRegex(r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


#: A quoted file name of a native library in a line of code ("C:\\sdk\\CUESDK.x64_2013.dll", '/libED.so').
_LIBRARY_LITERAL = LazyRegex(r"""["'](?:[^"'\n]{0,1024}[\\/])?(?P<name>[\w+\-][\w.+\-]{0,200}\.(?:dll|pyd|dylib|so(?:\.\d{1,6}){0,4}))["']""",
                              re.IGNORECASE)


_IPYTHON_ARROW = LazyRegex(r"-{1,6}> {0,2}\d{1,7} ")
#: A frame's file: Python's ``File "…", line N`` or IPython 8's ``File …/x.py:N``.
_FRAME_FILE = LazyRegex(r"""File (?:"(?P<file>[^"\n]+)", line \d+|(?P<file2>(?:[A-Za-z]:)?[^\n:"]{1,1024}?\.py):\d+)""")


#: A loader call given a library's file name: ctypes.CDLL("x.dll"), WinDLL('x'), cdll.LoadLibrary(…), ffi.dlopen(…).
_LOADER_CALL = LazyRegex(r"""\b(?:CDLL|WinDLL|OleDLL|PyDLL|LoadLibrary(?:Ex)?W?|dlopen)\(\s*[rbu]?(?=["'])""")


def _library_in_code(text: str, pos: int) -> Optional[str]:
    """The last native library named by a string literal in the code lines of the traceback above ``pos``,
    or given to a loader call in any line above it (code quoted in prose: ``ctypes.CDLL("x.dll")``)."""
    start = max(0, pos - 8192)
    found = None
    for line in text[start:pos].split("\n"):
        # A code line: indented under its frame, or after IPython's arrow ("----> 66 cue = CDLL(…)").
        if (line[:1] in (" ", "\t") and not line.lstrip().startswith("File ")
                or line[:1] == "-" and _IPYTHON_ARROW.match(line)):
            for match in _LIBRARY_LITERAL.finditer(line):
                found = match.group("name")
        elif len(line) <= 4096:
            for call in _LOADER_CALL.finditer(line):
                match = _LIBRARY_LITERAL.match(line, call.end())
                if match:
                    found = match.group("name")
    return found


def _top_level(module: str) -> str:
    return module.split(".")[0]


def _closest(doc: _Doc, sig: _Signature, pos: int) -> Optional["re.Match[str]"]:
    best = None
    if not doc.may_match(sig):
        return None
    best_key = None
    text = doc.text
    for m in islice(sig.finditer(text, doc.start, doc.intake), _MAX_MATCHES):
        # Lines apart first (the path of the message's own line, not the next line's), then characters.
        low, high = sorted((m.start(), pos))
        key = (text.count("\n", low, high), high - low)
        if best_key is None or key < best_key:
            best, best_key = m, key
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
            if key == "found_path" and values.get(key) and not re.search(r"[\\/]", values[key]):
                # The loader's message named a bare file ("libcuda.so.1: cannot open …"), a wrapper around it the
                # path of what it was loading: that is the found path, the bare name stays the missing library.
                values.setdefault("library", values[key])
                values[key] = value
            else:
                values.setdefault(key, value)

    kind = hit.kind
    # Refinements: e.g. a missing Py... C-API symbol is a Python ABI mismatch.
    for ref in kb.refinements:
        if kind in ref.when_kind and values.get(ref.field) and ref.regex.search(values[ref.field]):
            kind = ref.kind
            values.setdefault("refinement", ref.id)

    # Paths.
    # The rules read normalised paths; the key facts give the found path as the text wrote it (bin/../lib).
    as_written: Dict[str, str] = {}
    for key in ("found_path", "extension", "required_by"):
        if key in values:
            written = values[key].strip().strip("'\"`")
            values[key] = _normalise_path(values[key])
            if written != values[key]:
                as_written.setdefault(values[key], written)
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
        if not values.get("library") and kind not in ("cannot-import-name", "module-not-found") and not (
                kind == "architecture-mismatch" and _is_extension_file(_basename(found_path))
                and not _basename(found_path).lower().startswith("lib")):
            # (An extension module of the wrong architecture is the module that failed, no library it needs; a
            # "lib…" file is a library, whatever its suffix: pyzmq's libzmq.pyd.)
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
    if (kind in _WINDOWS_CODE_KINDS and values.get("windows_code") and not values.get("library")
            and not values.get("found_path")):
        # "[WinError 126] The specified module could not be found" (193, 1114 …) names no file: the library
        # the traceback's code passed to the loader does (ctypes.CDLL(os.path.join(…, 'geos_c.dll'))).
        named = _library_in_code(doc.text, m.start())
        if named:
            values["library"] = named
            values["library_from"] = "the traceback's code"

    # The module that failed to import.
    module = _module(doc, docs, hit, kind, values)
    if module:
        module = module.rstrip("\\")   # a Markdown escape left after the name ("No module named 'x.y\\'")
    if module:
        values["module"] = module
    else:
        values.pop("module", None)

    # The cannot-import-name file, when the message was cut off: the frame of that module's file.
    if kind == "cannot-import-name" and not values.get("from_path") and values.get("module"):
        leaf = values["module"].split(".")[-1]
        for fm in _FRAME_FILE.finditer(doc.text):
            frame_file = fm.group("file") or fm.group("file2")
            parts = _split_path(frame_file)
            if parts and (parts[-1] == f"{leaf}.py" or parts[-1] == "__init__.py" and len(parts) > 1
                          and parts[-2] == leaf):
                values["from_path"] = frame_file
    if not values.get("found_path"):
        if kind == "cannot-import-name" and values.get("from_path"):
            values["found_path"] = values["from_path"]
        elif kind in ("missing-symbol", "python-abi-mismatch", "symbol-version") and re.search(r"[\\/]", values.get("required_by") or ""):
            # dyld's "Referenced from": the file whose reference is unresolved, as ld.so's "FILE: undefined
            # symbol" names it (the file dlopen()ed may be another: the extension that loads it).
            values["found_path"] = values["required_by"]
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
    if values.get("found_path") in as_written:
        values["found_path_as_written"] = as_written[values["found_path"]]
    fields = {key: values.pop(key) for key in list(values) if key in _FIELDS}
    for key in ("library", "extension", "required_by", "symbol"):
        if key in fields:
            # Quotes and backticks around a name are the writer's (Markdown code spans), never the name's.
            fields[key] = fields[key].strip().strip("'\"`")
    # Guard: a name is a name or absent, never "" (a rule would render "Importing  killed …").
    fields = {key: value for key, value in fields.items() if value and value.strip()}
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
    # "library" last: a bare extension file name the loader printed (_foo.cpython-311-x86_64-linux-gnu.so).
    for key in ("extension", "found_path", "required_by", "library"):
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
    # A bare module from the file (no site folder to count from) may be deeper in the package imported.
    deeper = (_extension_in_package(values, tb_module)
              if tb_module and (not from_path_module or "." not in from_path_module) else None)
    if tb_imports and kind in _NATIVE_KINDS and (
            tb_imports[-1][1].startswith("_") and not _CLASS_NAME.match(tb_imports[-1][1])
            or _last_import_is_sibling(doc.text[:hit.match.start()], tb_imports[-1][1])
            or knowledge_tables.is_native_submodule(*tb_imports[-1])
            or _file_is_imported_name(values, tb_imports[-1][1])):
        # "from torchvision import _C" while loading a native library: the private name is the
        # extension module (the convention of _C, _imaging, _psycopg ...), not a function; so is the
        # one name a package's module imports from its own package ("from . import core"), and a module a package
        # is known to hold ("from PyQt5 import QtWidgets", knowledge/native_submodules.json).
        tb_module = f"{tb_imports[-1][0]}.{tb_imports[-1][1]}"
    if kind == "dependency-conflict":
        # The package whose code met the incompatible dependency; without a traceback, the module the
        # message names ("module 'numpy' has no attribute 'bool'").
        for cand in (tb_module, from_path_module):
            if cand:
                return _top_level(cand)
        return named
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
            for module, _imported in reversed(tb_imports):
                # "from PyQt6 import QtWidgets" failing "while importing QtCore": a module the package holds.
                parts = module.split(".")
                for depth in range(len(parts), 0, -1):
                    if knowledge_tables.is_native_submodule(".".join(parts[:depth]), named):
                        return f"{'.'.join(parts[:depth])}.{named}"
            if tb_imports and tb_imports[-1][1] and _last_import_names(doc.text[:hit.match.start()], named):
                # "from . import (constants, error, message" then "while importing error": a later name of
                # the statement's list.
                return f"{tb_imports[-1][0]}.{named}"
        return named
    if kind in ("import-crashed", "unsupported-cpu", "openmp-conflict", "gpu-runtime"):
        candidates = [c for c in (tb_module, crashed_module(doc.text, hit.match.start(), hit.match.end())) if c]
    elif from_path_module and values.get("extension") and _site_relative(values["extension"]):
        candidates = [from_path_module, tb_module or ""]
        if tb_module and not _is_extension_file(_basename(values["extension"])) and (
                tb_module.startswith(from_path_module + ".") or _top_level(tb_module) != _top_level(from_path_module)):
            # A library the package ships (torch/lib/libtorch_python.so) names only the package; the
            # traceback's import goes deeper into it (from torch._C import *): that import failed. So did it when
            # the library is another package's (torch/lib/../../nvidia/cusparse/lib/libcusparse.so.12).
            candidates = [tb_module]
    elif deeper and kind in _NATIVE_KINDS:
        candidates = [deeper]
    else:
        candidates = [tb_module or "", from_path_module or ""]
        if not tb_module and from_path_module and kind in _NATIVE_KINDS:
            # A library the package ships, loaded by its own code (ctypes.CDLL in llama_cpp/llama_cpp.py): the
            # module whose frame loads it, when it is of the same package, is the one whose import failed.
            # (A wrapper's line above the traceback may be the match: then the frames after it.)
            framed = (innermost_frame_module(doc.text, hit.match.start())
                      or innermost_frame_module(doc.text, len(doc.text)))
            if framed and framed.startswith(from_path_module + "."):
                candidates = [framed]
        elif tb_module and kind in _NATIVE_KINDS and "ctypes" in doc.text[:hit.match.start()]:
            # The package's module that loads a library with ctypes while it is imported ("from openslide import
            # lowlevel", whose line 43 calls cdll.LoadLibrary): that module's import failed, deeper than the import.
            framed = innermost_frame_module(doc.text, hit.match.start())
            if framed and framed.startswith(tb_module + "."):
                candidates = [framed]
    # A frozen app shows no code lines; then the module a message names as its own ("numpy.core.multiarray
    # failed to import") when nothing else does.
    candidates += [frozen_module(doc.text, hit.match.start()) or "", values.get("module_named") or ""]
    for cand in candidates:
        if cand:
            return cand
    return None


def _file_is_imported_name(values: Dict[str, str], name: str) -> bool:
    """The extension file the loader names is the module the last import statement imports from its package
    ("from grpc._cython import cygrpc" failing on …/grpc/_cython/cygrpc.so)."""
    path = values.get("extension") or values.get("found_path")
    return bool(name and path and _is_extension_file(_basename(path)) and _basename(path).split(".")[0] == name)


#: Kinds a Windows error code gives a loader error that may name no file.
_WINDOWS_CODE_KINDS = frozenset({"missing-shared-library", "missing-symbol", "architecture-mismatch",
                                 "native-init-failed"})

_SIBLING_IMPORT = LazyRegex(r"^[ \t]*(?:-{1,6}> {0,2}\d{1,7} {1,8})?from \.{1,8} import (?P<name>[A-Za-z_]\w*)[ \t]*$",
                             re.MULTILINE)


def _last_import_is_sibling(text: str, name: str) -> bool:
    """Whether the last import statement of ``text`` is ``from . import NAME`` (one name, nothing else)."""
    if not name:
        return False
    last = None
    for last in _SIBLING_IMPORT.finditer(text[-8192:]):
        pass
    if last is None or last.group("name") != name:
        return False
    return not re.search(r"\bimport\b", text[-8192:][last.end():])


#: A private CamelCase name ("_WindowSDL2Storage") is a class; "_C", "_imaging", "_psycopg" are modules.
_CLASS_NAME = re.compile(r"_[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*$")


def _extension_in_package(values: Dict[str, str], package: str) -> Optional[str]:
    """``package.stem`` when the extension file the message names lies in the folders of ``package``, the module
    the traceback imports (``import cypari2`` and ``…/cypari2/gen.cpython-35m-x86_64-linux-gnu.so``), wherever
    the folders are (a checkout, a path the poster cut short)."""
    for key in ("extension", "found_path"):
        path = values.get(key)
        if not path or not _is_extension_file(_basename(path)):
            continue
        parts = _split_path(path)
        names = package.split(".")
        stem = parts[-1].split(".", 1)[0]
        if len(parts) > len(names) and parts[-1 - len(names): -1] == names and stem.isidentifier():
            return f"{package}.{stem}"
    return None


def _last_import_names(text: str, name: str) -> bool:
    """Whether the last ``from … import`` statement of ``text`` lists ``name`` among its names."""
    at = text.rfind(" import ", max(0, len(text) - 8192))
    if at < 0:
        return False
    line_start = text.rfind("\n", 0, at) + 1
    if not re.match(r"[ \t]*(?:-{1,6}> {0,2}\d{1,7} {1,8})?from[ \t]", text[line_start:at + 1]):
        return False
    names = text[at + 8: at + 8 + 1024].split("\n", 1)[0]
    return name in re.findall(r"[A-Za-z_]\w*", names.split("#", 1)[0])


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


