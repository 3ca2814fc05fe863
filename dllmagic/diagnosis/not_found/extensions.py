"""Extension modules on disk that were built for another Python (or this Python on another platform)."""
from __future__ import annotations

import re
from typing import List, Tuple

from ... import fixes
from ...model import Evidence, Finding
from .. import Context, docs_for
from .install import _pip_or_plain
from .lookup import _is_environment_path


_ABI_TAG = re.compile(r"\.(cpython-(\d)(\d+)[^.]*|cp(\d)(\d+)-[^.]+)\.(so|pyd)$")


#: Sources of an extension module that a build makes into NAME.cpython-*.so / NAME.*.pyd.
_EXTENSION_SOURCES = (".c", ".cpp", ".cc", ".pyx", ".rs", ".f90")


def _foreign_extensions(ctx: Context, module: str, top: str, places: List[str]) -> List[Tuple[str, str]]:
    """Extension files for ``module`` that carry another Python's ABI tag ((path, 'Python X.Y')), when no
    file for this Python is there: CPython ignores them, so the import says 'No module named'."""
    parts = module.split(".")
    if module == top:
        folders = list(ctx.site_folders)
    else:
        bases = [p for p in places if ctx.system.is_dir(p)]
        folders = [ctx.system.join(b, *parts[1:-1]) if len(parts) > 2 else b for b in bases]
    stem = parts[-1]
    mine = f"{ctx.interpreter.version.split('.')[0]}{ctx.interpreter.version.split('.')[1]}"
    own_suffix = (ctx.cache.get("facts") or {}).get("ext_suffix") or ""
    found: List[Tuple[str, str]] = []
    for folder in folders:
        for entry in ctx.system.scandir(folder):
            if not entry.name.startswith(stem + ".") or entry.name.endswith(_EXTENSION_SOURCES + (".h", ".pxd")):
                continue    # a project's source beside its builds is no loadable module
            match = _ABI_TAG.search(entry.name)
            if not match:
                return []  # an untagged or abi3 file is loadable: not this case
            major, minor = (match.group(2), match.group(3)) if match.group(2) else (match.group(4), match.group(5))
            if major + minor == mine:
                # This Python's version: loadable when its tag is this interpreter's own (EXT_SUFFIX), foreign
                # when it names another platform (cpython-311-darwin.so on Linux, an aarch64 build on x86_64).
                suffix = entry.name[len(stem):]
                if not own_suffix or suffix.lower() == own_suffix.lower():
                    return []
                found.append((entry.path, f"Python {major}.{minor} on another platform "
                                          f"({match.group(1)}, not {own_suffix.strip('.').rsplit('.', 1)[0]})"))
                continue
            found.append((entry.path, f"Python {major}.{minor}"))
    return found


def _built_for_other_python(ctx: Context, module: str, foreign: List[Tuple[str, str]],
                            evidence: List[Evidence]) -> Finding:
    path, other = foreign[0]
    top = module.split(".")[0]
    dists = ctx.distributions.providing(top)
    ev = evidence + [Evidence("extension module on disk", path, "the file name's ABI tag"),
                     Evidence("built for", other, path),
                     Evidence("this interpreter", f"Python {ctx.interpreter.version}", "sys.version_info")]
    fix_list = []
    if dists:
        ev.append(Evidence("installed distribution", f"{dists[0].name} {dists[0].version}", dists[0].path))
        fix_list.append(_pip_or_plain(ctx, [dists[0].name], reinstall=True,
                                      title=f"Reinstall {dists[0].name} for Python {ctx.interpreter.version}"))
    folder = path.replace("\\", "/").rsplit("/", 1)[0]
    if not dists and not _is_environment_path(ctx, path):
        # The user's own project (no distribution provides it): rebuilt, never installed by its name.
        fix_list.append(fixes.instruction(
            f"Rebuild {top}'s extension for Python {ctx.interpreter.version}",
            f"The file was built for {other} ({folder}). From the project's folder, with this kernel's "
            f"interpreter: python -m pip install -e . (or python setup.py build_ext --inplace); or use {other}.",
            restart=True))
    else:
        fix_list.append(fixes.instruction(
            f"Install {top} with this interpreter's own pip",
            f"The file was built for {other}: it was copied from another environment or installed with another "
            f"Python's pip. Run the install with this kernel's interpreter (%pip install ...), or use {other}."))
    return Finding(
        kind="python-abi-mismatch", cause="built-for-other-python", confidence=0.93,
        summary=f"'{module}' exists only as an extension built for {other} ({path.replace(chr(92), '/').rsplit('/', 1)[-1]}); "
                f"Python {ctx.interpreter.version} ignores it, so the import finds no module.",
        evidence=tuple(ev), fixes=tuple(fix_list), docs=docs_for("python-abi-mismatch", "built-for-other-python"))
