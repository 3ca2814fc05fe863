"""glibc ld.so (and musl), emulated over a System: which file each DT_NEEDED resolves to, and why.

The search order follows glibc ``elf/dl-load.c`` ``_dl_map_object`` and ld.so(8):

1. a name already loaded (matched against each loaded object's path, the names it was asked for and
   its DT_SONAME) is reused, whatever its path;
2. a name with a ``/`` is opened as it is, after DST expansion;
3. otherwise: DT_RPATH of the requester, then of its loader, up the chain, then of the main program -
   all of it only if the requester has no DT_RUNPATH; LD_LIBRARY_PATH; the requester's DT_RUNPATH
   (never inherited); /etc/ld.so.cache; the default folders - the last two not for entries in system
   folders when the requester has DF_1_NODEFLIB.

In every folder the glibc-hwcaps subfolders the CPU supports come first. A file of the wrong ELF class
or machine is passed over and the search goes on; a file that is not an ELF object stops the load.

An extension module is dlopen()ed by CPython with its absolute path and RTLD_NOW: its own loader chain
is empty (glibc sets ``l_loader`` to NULL for a dlopen), so its dependencies see its RPATH and then the
python executable's - never the RPATH of whichever module called dlopen.
"""
from __future__ import annotations

# The names of the module this package was split from, all kept importable from here.
from .common import (DEFAULT_INTERP, MAX_OBJECTS, MULTIARCH, PLATFORM_STRING, X86_LEVELS, _CLASS,  # noqa: F401
                     _GLIBC_NAMES, _MUSL_BUILTIN, _N, _Obj, _bfs, _defines, _dirname_origin,
                     _is_system_name, _version_ok, _walk_n)
from .machine import LinuxLoader
from .platform import PlatformFacts, legacy_subfolders  # noqa: F401
from .resolution import _Resolution  # noqa: F401
from .search import _DST, _expand  # noqa: F401
from .template import _ProcessState, _Template  # noqa: F401

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional
    from ..tree import DepTree

__all__ = ["LinuxLoader", "resolve_linux"]


def resolve_linux(path: str, system, *, mode: str = "as-imported", python_executable: Optional[str] = None,
                  symbols: Optional[bool] = None, loader: Optional[LinuxLoader] = None) -> DepTree:
    """Resolve ``path`` on the Linux machine ``system``; see :func:`dllmagic.facts.native.loader.resolve`."""
    loader = loader or LinuxLoader(system)
    return loader.resolve(path, mode=mode, python_executable=python_executable, symbols=symbols)
