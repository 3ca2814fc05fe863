"""Facts about a Python interpreter, gathered by that interpreter itself.

Standard library only, Python 3.6 and later: this file runs as a script under interpreters that do not have
dllmagic installed (``dlldoctor --python PATH``) and in a child process for a safe import attempt. In this
process it is imported and :func:`interpreter_facts` is called directly.

As a script it prints one JSON line of interpreter facts and flushes, then (with ``--import NAME``) tries the
import and prints a second JSON line. If the import kills the process the first line has still arrived, and
faulthandler has written the fatal stack to stderr.
"""
import sys

#: Modules the interpreter itself loaded before this script ran; what the probe imports for its own work
#: is forgotten before the user's import, so a local json.py is found as 'python -c' would find it.
_AT_START = frozenset(sys.modules)

import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import struct  # noqa: E402
import sysconfig  # noqa: E402


def _platform_name():
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


def _read_head(path, limit=4096):
    try:
        with open(path, "rb") as fh:
            return fh.read(limit).decode("utf-8", "replace")
    except (OSError, ValueError):
        return None


def _translated():
    """macOS: True when this process runs translated by Rosetta 2 (sysctl.proc_translated)."""
    if sys.platform != "darwin":
        return None
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        value = ctypes.c_int(0)
        size = ctypes.c_size_t(ctypes.sizeof(value))
        if libc.sysctlbyname(b"sysctl.proc_translated", ctypes.byref(value), ctypes.byref(size), None, 0) != 0:
            return False  # the name does not exist on Intel Macs: nothing is translated there
        return bool(value.value)
    except Exception:
        return None


def interpreter_facts():
    """Plain data about this interpreter; the parent classifies the environment."""
    import site

    stdlib = sysconfig.get_paths().get("stdlib") or ""
    try:
        user_site = site.getusersitepackages()
    except Exception:  # some embedded builds lack it
        user_site = None
    real = os.path.realpath(sys.executable) if sys.executable else ""
    return {
        "executable": sys.executable,
        "real_executable": real,
        "base_executable": getattr(sys, "_base_executable", sys.executable),
        "version": "%d.%d.%d" % sys.version_info[:3],
        "version_info": list(sys.version_info[:3]),
        "implementation": platform.python_implementation(),
        "architecture": platform.machine(),
        "translated": _translated(),
        "bits": struct.calcsize("P") * 8,
        "platform": _platform_name(),
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "real_prefix": getattr(sys, "real_prefix", None),  # old virtualenv
        "stdlib": stdlib,
        "user_site": user_site,
        "user_site_enabled": bool(site.ENABLE_USER_SITE),
        "pyvenv_cfg": _read_head(os.path.join(sys.prefix, "pyvenv.cfg")),
        "conda_meta": os.path.isdir(os.path.join(sys.prefix, "conda-meta")),
        "externally_managed": os.path.isfile(os.path.join(stdlib, "EXTERNALLY-MANAGED")) if stdlib else False,
        "soabi": sysconfig.get_config_var("SOABI"),
        "ext_suffix": sysconfig.get_config_var("EXT_SUFFIX"),
        "sys_path": list(sys.path),
        "stdlib_module_names": sorted(getattr(sys, "stdlib_module_names", ())),
        "builtin_module_names": sorted(sys.builtin_module_names),
        "pid": os.getpid(),
        "embedded_pth": _embedded_pth(),
    }


def _embedded_pth():
    """A ``python3XX._pth`` beside the executable: the embeddable distribution fixes sys.path with it."""
    folder = os.path.dirname(sys.executable or "")
    try:
        names = os.listdir(folder) if folder else []
    except OSError:
        return None
    for name in names:
        if name.lower().endswith("._pth"):
            return os.path.join(folder, name)
    return None


def _chain(exc):
    """The exception chain, outermost first, as plain records."""
    import traceback

    records = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        try:
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, chain=False))
        except Exception:
            tb = ""
        records.append({
            "type": type(exc).__name__,
            "module": type(exc).__module__,
            "message": str(exc),
            "name": getattr(exc, "name", None) if isinstance(exc, ImportError) else None,
            "path": getattr(exc, "path", None) if isinstance(exc, ImportError) else None,
            "traceback": tb[-20000:],
        })
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return records


def try_import(name):
    """Import NAME here and say what happened (this runs in a throw-away child process)."""
    import importlib
    import time

    top = name.split(".")[0]
    for loaded in [m for m in sys.modules if (m == top or m.startswith(top + ".")) and m not in _AT_START]:
        del sys.modules[loaded]  # imported by the probe itself, not by a fresh interpreter: look again
    start = time.perf_counter()
    try:
        module = importlib.import_module(name)
    except BaseException as exc:  # noqa: BLE001 - we report every kind of failure, SystemExit included
        return {"name": name, "ok": False, "records": _chain(exc),
                "seconds": time.perf_counter() - start}
    version = getattr(module, "__version__", None)
    if not isinstance(version, str):
        version = None
    return {
        "name": name,
        "ok": True,
        "file": getattr(module, "__file__", None),
        "version": version,
        "top_file": getattr(sys.modules.get(top), "__file__", None),
        "seconds": time.perf_counter() - start,
    }


def main(argv):
    import faulthandler
    import importlib  # noqa: F401 - everything the probe needs is imported before the user's folder
    import time  # noqa: F401      goes on sys.path, so a local json.py or time.py cannot replace it
    import traceback  # noqa: F401

    faulthandler.enable()  # a crash in the import prints its stack on stderr for the parent
    name = None
    if "--sys-path" in argv:
        # The parent hands over the sys.path to use (the kernel's, which may differ from a fresh start).
        sys.path[:] = json.loads(argv[argv.index("--sys-path") + 1])
    elif "--as-python-c" in argv and not os.environ.get("PYTHONSAFEPATH"):
        # What 'python -c' does: the current folder ('') first, then PYTHONPATH, the stdlib, the sites.
        sys.path.insert(0, "")
    if "--import" in argv:
        name = argv[argv.index("--import") + 1]
    out = sys.stdout
    out.write(json.dumps(interpreter_facts()) + "\n")
    out.flush()
    if name:
        result = try_import(name)
        out.write(json.dumps(result, default=str) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    # Do not let the probe's own folder shadow anything the user imports.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.exit(main(sys.argv[1:]))
