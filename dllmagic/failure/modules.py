"""Names: modules from paths and from the import statements of tracebacks."""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from .._regex import LazyRegex

_SITE_DIRS = {"site-packages", "dist-packages"}
#: Folders a frozen application keeps its packages in, as site-packages would: Nuitka's "<name>.dist",
#: PyInstaller's "_internal" (6.x) and its one-file "_MEI<n>" extraction folder.
_FROZEN_ROOT = re.compile(r"^(?:[\w.\-]{1,200}\.dist|_internal|_MEI\d{1,12})$", re.IGNORECASE)
#: Folders a platform puts first on sys.path, as site-packages would: AWS Lambda's function root (/var/task) and its
#: layers' folder (/opt/python).
_APP_ROOTS = (("var", "task"), ("opt", "python"))
_LIB_DIRS = {"lib", "lib64", "libs", ".libs", ".dylibs", "bin", "dlls", "_libs", "binaries"}
_IDENT = LazyRegex(r"^[A-Za-z_]\w*$")
_EXT_SUFFIX = LazyRegex(r"\.(?:cpython-\d+\w*|abi3|pypy\d*\w*|cp\d+\w*)(?:-[\w-]+)?\.(?:so|pyd)$|\.pyd$", re.I)


def _split_path(path: str) -> List[str]:
    return [p for p in re.split(r"[\\/]+", path) if p]


def in_app_root_package(path: str) -> bool:
    """``path`` lies in a folder below a platform's function root (``/var/task/lxml/__init__.py``): a package
    deployed with the function, as installed as site-packages would hold it. A file right in the root is the
    function's own code (``/var/task/lambda_function.py``)."""
    parts = _split_path(path)
    return any((parts[i - 1], parts[i]) in _APP_ROOTS and len(parts) - i > 2 for i in range(1, len(parts)))


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
    if site is None and is_ext:
        for i, part in enumerate(parts[:-1]):
            if _FROZEN_ROOT.match(part) or i and (parts[i - 1], part) in _APP_ROOTS:
                site = i
    if site is None:
        site = _package_root(parts)
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


def _package_root(parts: List[str]) -> Optional[int]:
    """The index of the folder above the deepest folder of ``parts`` named like a package known to ship extension
    modules (``…/checkout/cryptography/hazmat/bindings/_rust.so``: above ``cryptography``), when every folder
    from there down is an identifier; else None."""
    from ..knowledge.tables import extension_packages
    known = extension_packages()
    for i in range(len(parts) - 2, -1, -1):
        if not _IDENT.match(parts[i]):
            return None
        if parts[i] in known:
            return i - 1
    return None


#: A frame's header: Python's ``File "…", line N``, IPython 8's ``File …/x.py:N`` (a Windows drive's colon too)
#: and pytest's ``x.py:N: in f`` (``in `` alone where a web page took ``<module>`` for a tag).
_FRAME_HEADER = LazyRegex(r"""^\s*(?:File "(?P<file>[^"\n]+)", line \d+|File (?P<file2>(?:[A-Za-z]:)?[^\n:]+?\.py):\d+"""
                           r"""|(?P<file3>(?:[A-Za-z]:)?[^\s:][^\n:]{0,1024}?\.py):\d+: in (?:\S|[ \t]*$)"""
                           # IPython 7 and older: "~/env/lib/python3.6/site-packages/rdkit/__init__.py in <module>()"
                           r"""|(?P<file4>(?:[A-Za-z]:)?[^\s:"][^\n:"]{0,1024}?\.py) in <?\w{1,100}>?\()""")
#: A traceback's code line: IPython's "---->  5 " arrow or " 12 " context number, then the statement.  The
#: indentation is stripped in Python and the statement matched from its first character, so no part of
#: the pattern runs over a long run of blanks twice.
_CODE_PREFIX = LazyRegex(r"""(?:-+>\s*\d+\s+|\d+\s+(?=\S))""")
#: The call form is read from a line's start only (its lookbehind): no scan of 300 characters from every position.
_IMPORT_STMT = LazyRegex(
    r"""(?:from\s+(?P<from>\.*[\w.]*)\s+import\s+\(?\s*(?P<names>[A-Za-z_]\w*)?"""
    r"""|import\s+(?P<imp>[A-Za-z_][\w.]*)"""
    r"""|(?<![^\n])[^\n]{0,300}?\b(?:import_module|__import__|load_module|load_dynamic|_load_library|load_library)\(\s*["'](?P<call>\.?[\w.]+)["']"""
    r""")""")


def _match_import(line: str):
    body = line.lstrip()
    prefix = _CODE_PREFIX.match(body)
    if prefix:
        body = body[prefix.end():].lstrip()
    return _IMPORT_STMT.match(body)


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


#: Python code given on a command line: python -c "import x", py -3.8 -c"import x", python3 -c 'from a import b'.
_COMMAND_PYTHON = LazyRegex(r"(?:^|[\s>$#%/\\])(?:python[\d.]*w?|py)(?:\.exe)?(?=[\s\"'])")
_STATEMENT = LazyRegex(r"(?:^|;)\s*(?:import\s+(?P<imp>[A-Za-z_][\w.]*)|from\s+(?P<from>[A-Za-z_][\w.]*)\s+import\s+"
                        r"(?:\(?\s*(?P<names>[A-Za-z_]\w*)|\*|\(\s*$))")
#: A line that raises: the exception line of a traceback, or its start.
_RAISES = LazyRegex(r"^\s*(?:Traceback \(|[A-Za-z_][\w.]*(?:Error|Exception)\b)")


def _package_from_frames(path: str, packages: set) -> Optional[str]:
    """The package of a file outside any site folder, from what the traceback shows of its folders: a folder
    holding a frame's ``__init__.py`` or a file that imports relatively is a package, and so is every folder
    between the file and the outermost such folder above it (``…/python/caffe/pycaffe.py`` with a frame in
    ``…/python/caffe/__init__.py`` → ``caffe``)."""
    parts = _split_path(path)[:-1]
    for top in range(len(parts)):
        if "/".join(parts[: top + 1]) in packages:
            # A folder above named like a package known to ship extension modules, with only identifiers
            # between, is the package's root (…/modules/ortools/constraint_solver/pywrapcp.py → ortools…).
            root = _package_root(parts + ["x"])
            if root is not None and root + 1 < top:
                top = root + 1
            names = parts[top:]
            return ".".join(names) if all(_IDENT.match(n) for n in names) else None
    return None


def _known_packages(lines: List[str]) -> set:
    """Folders the frames of ``lines`` show to be packages (joined by "/"): an ``__init__.py``'s, and those of
    files whose shown code line imports relatively."""
    packages = set()
    current: Optional[str] = None
    for line in lines:
        header = _FRAME_HEADER.match(line)
        if header:
            current = header.group("file") or header.group("file2") or header.group("file3") or header.group("file4")
            parts = _split_path(current)
            if parts and parts[-1] == "__init__.py":
                packages.add("/".join(parts[:-1]))
            continue
        if current and "from ." in line:
            packages.add("/".join(_split_path(current)[:-1]))
        current = None
    return packages


def _command_imports(line: str) -> List[Tuple[str, str]]:
    """The imports of ``python -c "CODE"`` on a shell line (the command the traceback comes from)."""
    at = line.find("-c")
    for _ in range(8):    # a few options per line at most: the scan stays linear on any line
        if at < 0:
            break
        after = at + 2
        while after < len(line) and after < at + 10 and line[after] in " \t":
            after += 1
        if line[after: after + 1] in ("'", '"') and _COMMAND_PYTHON.search(line[max(0, at - 200): at]):
            quote = line[after]
            end = line.find(quote, after + 1, after + 2048)
            code = line[after + 1: end if end > 0 else after + 2048]
            return [(m.group("imp") or m.group("from"), m.group("names") or "") for m in _STATEMENT.finditer(code)]
        at = line.find("-c", at + 2)
    return []


def _imports_in(text: str) -> List[Tuple[str, str]]:
    """(module, first name imported from it) of the executed import lines of tracebacks in ``text``.

    Besides the code lines of frames: the imports of a ``python -c "…"`` command line, and an import
    statement written at the margin directly above the exception it raised (a paste that starts with the
    line typed, ``import win32api`` then ``ImportError: …``)."""
    found: List[Tuple[str, str]] = []
    current_file: Optional[str] = None
    previous_was_header = False
    lines = text.split("\n")
    packages: Optional[set] = None     # folders the frames show to be packages, found on first need
    for index, line in enumerate(lines):
        header = _FRAME_HEADER.match(line)
        if header:
            current_file = (header.group("file") or header.group("file2") or header.group("file3")
                            or header.group("file4"))
            previous_was_header = True
            continue
        if "-c" in line:
            command = _command_imports(line)
            if command:
                found.extend(command)
                previous_was_header = False
                continue
        arrow = re.match(r"^\s*-+>\s*\d+", line)
        indented = line.startswith("  ") or line.startswith("\t")
        ipython_context = re.match(r"^\s+\d+\s", line) and not arrow
        if not (arrow or indented or previous_was_header) and line.startswith(("import ", "from ")):
            following = next((x for x in lines[index + 1: index + 4] if x.strip()), "")
            if _RAISES.match(following):
                m = _STATEMENT.match(line)
                if m:
                    found.append((m.group("imp") or m.group("from"), m.group("names") or ""))
                continue
        if ipython_context or not (arrow or indented or previous_was_header):
            previous_was_header = False
            continue
        previous_was_header = False
        if ("import" not in line and "load" not in line) or len(line) > 4096:
            continue   # every statement the pattern reads says one of these; no code line is that long
        m = _match_import(line)
        if not m:
            continue
        name = m.group("from") or m.group("imp") or m.group("call")
        if not name:
            continue
        imported = m.group("names") or ""
        if name.startswith("."):
            # A relative import: resolve it against the package of the frame's file.
            base = _package_of_file(current_file) if current_file else None
            if not base and current_file:
                if packages is None:
                    packages = _known_packages(lines)
                base = _package_from_frames(current_file, packages)
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


_NEXT_EXCEPTION = LazyRegex(r"^\S.*?(?:Error|Exception)\b.*?:", re.MULTILINE)


def _traceback_imports(text: str, pos: int, end: int) -> List[Tuple[str, str]]:
    """The imports executed before ``pos``; failing that, those of the traceback after the match."""
    before = _imports_in(text[:pos])
    after_text = text[end:]
    nxt = _NEXT_EXCEPTION.search(after_text, 1)
    after = _imports_in(after_text[: nxt.start()] if nxt else after_text)
    if before and after and after[-1][0].startswith(before[-1][0] + "."):
        # A message printed above its traceback (NumPy's RuntimeError, then the frames): the frames go
        # deeper into the same package ("import torch" typed, "from torch._C import *" failing).
        return before + after
    return before or after




#: A frame of a frozen app's (PyInstaller's) importer, then the module it executes, named by a relative path
#: (Python's frames or IPython's, ``File cv2\\__init__.py:5, in <module>``).
_FROZEN_IMPORTER = LazyRegex(r'^[ \t]*File "?[^"\n]{0,1024}pyimod\d\d_importers\.py"?(?:, line |:)\d+, in exec_module[ \t]*\r?\n'
                              r'(?:[ \t]*\r?\n)?[ \t]*File "?(?P<file>[\w.\\/-]{1,1024}?)\.py"?(?:, line |:)\d+, in <module>',
                              re.MULTILINE)


def innermost_frame_module(text: str, pos: int) -> Optional[str]:
    """The module of the innermost frame before ``pos`` whose file is a module of an installed package
    (``…/site-packages/llama_cpp/llama_cpp.py`` → ``llama_cpp.llama_cpp``), or None."""
    files = []
    for line in text[max(0, pos - 20_000): pos].split("\n"):
        header = _FRAME_HEADER.match(line)
        if header:
            files.append(header.group("file") or header.group("file2") or header.group("file3") or header.group("file4"))
    for path in reversed(files):    # the standard library's frames (ctypes) are no package's
        package = _package_of_file(path)
        if package is None and path.endswith(".py"):
            # A checkout outside any site folder: from the deepest folder named like a package known to ship
            # native code (…/bitsandbytes/bitsandbytes/cextension.py → bitsandbytes.cextension).
            parts = _split_path(path)
            root = _package_root(parts)
            names = parts[root + 1:-1] if root is not None else []
            package = ".".join(names) if names and all(_IDENT.match(n) for n in names) else None
        if package is not None:
            stem = _split_path(path)[-1][: -len(".py")]
            return package if stem == "__init__" else f"{package}.{stem}"
    return None


def frozen_module(text: str, pos: int) -> Optional[str]:
    """The module a frozen app was importing when ``pos`` was raised: the innermost file PyInstaller's
    importer executed (``File "cv2\\__init__.py", line 5, in <module>`` → ``cv2``); its code lines are not shown."""
    found = None
    for m in _FROZEN_IMPORTER.finditer(text, max(0, pos - 20_000), pos):
        parts = _split_path(m.group("file"))
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and all(_IDENT.match(p) for p in parts):
            found = ".".join(parts)
    return found


#: faulthandler's dump ("most recent call first"): ``  File "/…/torch/__init__.py", line 81 in <module>``.
_FAULT_FRAME = LazyRegex(r'^[ \t]*File "(?P<file>[^"\n]{1,1024})", line \d+ in <module>[ \t]*$', re.MULTILINE)
#: An import typed (or pasted) as its own line, not indented: the code a user shows before a crash.
_TYPED_IMPORT = LazyRegex(r"^(?:from\s+(?P<from>[A-Za-z_][\w.]{0,200})\s+import\b|import\s+(?P<imp>[A-Za-z_][\w.]{0,200}))",
                           re.MULTILINE)

#: ``python -c "import torch"`` (or ``-c 'from x import y'``), the command a shell says crashed.
_COMMAND_IMPORT = LazyRegex(r"""-c\s{1,8}["'](?:from\s+(?P<from>[A-Za-z_][\w.]{0,200})\s+import\b"""
                             r"""|import\s+(?P<imp>[A-Za-z_][\w.]{0,200}))""")


def crashed_module(text: str, start: int, end: int) -> Optional[str]:
    """The module whose import crashed the process, when no traceback's import line says it: the innermost
    module being executed in faulthandler's dump after the crash line (a file of an installed package), or
    else the last import typed on a line of its own before it."""
    for m in _FAULT_FRAME.finditer(text, end, min(len(text), end + 20_000)):
        path = m.group("file")
        package = _package_of_file(path)
        if package is not None:
            stem = _split_path(path)[-1][: -len(".py")]
            return package if stem == "__init__" else f"{package}.{stem}"
    last = None
    for m in _TYPED_IMPORT.finditer(text, max(0, start - 20_000), start):
        last = m.group("from") or m.group("imp")
    if last is None:
        # A shell's crash line names the command it ran: "zsh: abort  python -c "import torch"".
        line_end = text.find("\n", end)
        for m in _COMMAND_IMPORT.finditer(text, max(0, start - 20_000), line_end if line_end >= 0 else len(text)):
            last = m.group("from") or m.group("imp")
    return last
