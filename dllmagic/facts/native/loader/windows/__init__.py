"""The Windows loader, emulated over a System: which DLL each import of a .pyd resolves to, and why.

The model follows Microsoft's "Dynamic-link library search order"
(https://learn.microsoft.com/en-us/windows/win32/dlls/dynamic-link-library-search-order) and CPython's
``Python/dynload_win.c``. CPython >= 3.8 loads an extension with ``LoadLibraryExW(path,
LOAD_LIBRARY_SEARCH_DEFAULT_DIRS | LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR)``; each imported DLL name is then
looked up, for the whole call, in this order:

1. API sets (``api-ms-win-*``, ``ext-ms-*``): contracts resolved through the schema, no file;
2. a module of the same base name already loaded in the process, from whatever folder;
3. KnownDLLs, from the system folder;
4. the folder of the .pyd (``LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR``): fixed for the whole call, so a DLL
   found elsewhere does not get its own folder searched for its imports;
5. the application folder: the folder of the *base* python.exe (a venv's python.exe only starts it);
6. the folders added with ``os.add_dll_directory`` (each labelled with who added it), then - for
   conda's patched Python - the five conda folders of the prefix;
7. System32 (SysWOW64 for a 32-bit process on 64-bit Windows).

PATH, the current folder and the Windows folder are *not* searched: whenever the name is present in
a PATH folder all the same, that place is listed as "not-searched" with the reason, because most
advice on the web still assumes PATH. Python < 3.8 (``LOAD_WITH_ALTERED_SEARCH_PATH``: the .pyd's
folder, System32, the 16-bit system folder, the Windows folder, the current folder, PATH) and conda
Python 3.8/3.9 with ``CONDA_DLL_SEARCH_MODIFICATION_ENABLE`` (PATH before System32) are modelled too;
the tree's notes say which order applied.

A file of the wrong machine met during the search is passed over and recorded (as delvewheel and
Dependencies do; a real-Windows check is still owed), a file that is not a PE image stops the load
("%1 is not a valid Win32 application"). Every imported function (name or ordinal) is checked against
the exports of the DLL that would be loaded, following forwarders ("The specified procedure could not
be found"); a miss names the function, the DLL that lacks it, and the other copies of that DLL on the
machine that have it. Delay-load imports are resolved and shown, but never fail the load.
"""
from __future__ import annotations

from .facts import (LOAD_WITH_ALTERED_SEARCH_PATH, LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR,
                    LOAD_LIBRARY_SEARCH_APPLICATION_DIR, LOAD_LIBRARY_SEARCH_USER_DIRS,
                    LOAD_LIBRARY_SEARCH_SYSTEM32, LOAD_LIBRARY_SEARCH_DEFAULT_DIRS, _DEFAULT_DIRS,
                    VC_RUNTIME_NAMES, _VC_MANGLED, _PYTHON_DLL, MAX_MODULES, DllDirectory, WindowsFacts,
                    WindowsPython, _knowledge, default_known_dlls, default_api_sets, live_facts)  # noqa: F401
from .python import describe_python  # noqa: F401
from .dll_directories import (package_chain, _Eval, _dotted, dll_directories_in_code,
                              reconstruct_dll_directories, _glob_folders)  # noqa: F401
from .loader import _Mod, _N, WindowsLoader  # noqa: F401
from .resolution import _Resolution  # noqa: F401

__all__ = [
    "WindowsLoader", "WindowsFacts", "WindowsPython", "DllDirectory", "describe_python",
    "reconstruct_dll_directories", "LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR", "LOAD_LIBRARY_SEARCH_APPLICATION_DIR",
    "LOAD_LIBRARY_SEARCH_USER_DIRS", "LOAD_LIBRARY_SEARCH_SYSTEM32", "LOAD_LIBRARY_SEARCH_DEFAULT_DIRS",
    "VC_RUNTIME_NAMES",
]
