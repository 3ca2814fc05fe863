"""Native libraries already loaded into a process: which OpenMP runtimes, and from which package.

The live list comes from ``System.loaded_libraries()`` (Linux: /proc/self/maps of this process, the
kernel when it runs the report); a modelled System states its own list. :func:`parse_maps` is the pure
half for a maps text captured elsewhere.
"""
from __future__ import annotations

import re
from typing import List, Optional, Sequence, Tuple

from .._record import Record
from .system import System

__all__ = ["LoadedRuntime", "parse_maps", "openmp_runtimes_loaded", "owner_of"]


class LoadedRuntime(Record):
    path: str
    runtime_id: str        # knowledge/openmp_runtimes.json id: intel, llvm, gnu, msvc
    runtime: str           # its name in words
    owner: str             # the package or place the file belongs to
    source: str


def parse_maps(text: str) -> Tuple[str, ...]:
    """Paths of the files mapped in a /proc/PID/maps text, first appearance first."""
    seen: List[str] = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/"):
            path = parts[5].strip()
            if path not in seen:
                seen.append(path)
    return tuple(seen)


_SITE = re.compile(r"[\\/](?:site|dist)-packages[\\/]([^\\/]+)")


def owner_of(path: str) -> str:
    """Who a library file belongs to, from its path: the package folder in site-packages (``torch``,
    ``scikit_learn.libs`` → scikit-learn), a conda prefix's lib, or the system."""
    match = _SITE.search(path)
    if match:
        folder = match.group(1)
        if folder.endswith(".libs"):
            folder = folder[:-5]
        elif folder.startswith(".") and folder.endswith(".dylibs"):
            folder = folder[1:-7]
        return folder
    norm = path.replace("\\", "/")
    if re.search(r"/(?:ana|mini)conda\d?/|/miniforge\d?/|/mambaforge/|/envs/[^/]+/|/Library/bin/|/conda/", norm, re.I):
        return "the conda environment's libraries"
    if norm.startswith(("/usr/", "/lib", "C:/Windows", "/opt/homebrew/", "/usr/local/")):
        return "the system"
    return "unknown"


def openmp_runtimes_loaded(system: System, paths: Optional[Sequence[str]] = None) -> List[LoadedRuntime]:
    """Every OpenMP runtime among the loaded libraries (or ``paths``), with the package it belongs to."""
    from ..knowledge.tables import openmp_runtime

    loaded = tuple(paths) if paths is not None else system.loaded_libraries()
    source = "the given list" if paths is not None else (
        "/proc/self/maps" if system.live else "the modelled process")
    out = []
    for path in loaded:
        entry = openmp_runtime(path)
        if entry is not None:
            out.append(LoadedRuntime(path=path, runtime_id=entry["id"], runtime=entry["runtime"],
                                     owner=owner_of(path), source=source))
    return out
