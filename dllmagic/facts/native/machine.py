"""A modelled Windows or macOS machine: a folder of files plus one small description file.

A test (or ``dlldoctor deps --machine FILE``) states its machine in one place::

    {
      "platform": "windows",                    # or "macos"
      "root": "files",                          # the machine's files, relative to this file
      "machine": "x86_64",                      # the CPU (macOS: arm64 / x86_64)
      "environ": {"PATH": "C:\\\\Tools"},
      "python": {"executable": "C:\\\\Python311\\\\python.exe", "version": "3.11", "conda": false},
      "loaded": ["C:\\\\Old\\\\msvcp140.dll"],     # modules already in the process
      "imported": ["numpy"],                    # packages already imported (their DLL folders count)
      "dll_directories": [{"path": "C:\\\\Libs", "source": "added by the notebook"}],
      "windows": {"version": "10.0.19045", "known_dlls": null, "os_bits": 64, "cwd": "C:\\\\work"},
      "macos": {"version": "14.5", "shared_cache": null, "env_purged": false},
      "registry": {"HKCU": {"PythonCore": {"3.11": {     # Windows' registry of installed Pythons (PEP 514)
          "InstallPath": "C:\\\\Python311", "ExecutablePath": "C:\\\\Python311\\\\python.exe",
          "SysVersion": "3.11", "SysArchitecture": "64bit", "DisplayName": "Python 3.11 (64-bit)"}}}}
    }

Every key but ``platform`` may be left out. ``windows.known_dlls`` / ``macos.shared_cache`` null or
absent mean "the defaults of the knowledge tables". ``registry`` holds the PEP 514 keys
``<hive>\\Software\\Python\\<Company>\\<Tag>`` by hive (``HKCU``, ``HKLM``, ``HKLM\\Wow6432Node``); a tag's
``InstallPath`` is its folder (or ``{"": folder, "ExecutablePath": ...}`` as winreg reads the subkey). It
is carried on the machine's ``System.registry``, where environment discovery reads it.

:func:`load_machine` returns a :class:`Machine` whose :meth:`Machine.loader` is the loader model for that machine.

For a *live* Windows kernel the ``os.add_dll_directory`` list cannot be read back from the process;
:func:`install_dll_directory_recorder` wraps ``os.add_dll_directory`` so that every later call is
recorded with the module that made it (:func:`recorded_dll_directories`).
"""
from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["Machine", "MachineError", "load_machine", "machine_from_dict", "machine_interpreter",
           "machine_site_packages", "install_dll_directory_recorder", "recorded_dll_directories"]


class MachineError(ValueError):
    """A machine description that cannot be used, with a sentence saying why."""


@dataclass(frozen=True)
class Machine:
    """A modelled machine: the :class:`~dllmagic.facts.system.System` and the loader facts beyond it."""

    system: Any
    windows: Any = None          # WindowsFacts
    macos: Any = None            # MacFacts
    description: Optional[str] = None
    #: The description's ``python`` entry as stated (executable, version, conda, prefix, kind ...).
    python: Optional[Dict[str, Any]] = None

    def loader(self):
        """The loader model of this machine (reusable for many files)."""
        if self.system.platform == "windows":
            from .loader.windows import WindowsLoader

            return WindowsLoader(self.system, self.windows)
        if self.system.platform == "macos":
            from .loader.macos import MacLoader

            return MacLoader(self.system, self.macos)
        from .loader import loader_for

        return loader_for(self.system)


def _version(text: Any, what: str) -> Optional[Tuple[int, ...]]:
    if text is None:
        return None
    try:
        return tuple(int(p) for p in str(text).split("."))[:8]
    except ValueError:
        raise MachineError(f"'{what}' must be a dotted version such as 10.0.19045, not {str(text)[:80]!r}") from None


#: A description file larger than this is refused (a real one is a few kilobytes).
MAX_DESCRIPTION_BYTES = 4 << 20


def load_machine(description: str) -> Machine:
    """Read a machine description file (JSON); its ``root`` is relative to the file's folder.

    Anything wrong with the file or its contents is a :class:`MachineError` naming the field."""
    if "\0" in description:
        raise MachineError("the machine description's file name holds a NUL character")
    try:
        fd = os.open(description, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as fh:
            import stat

            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise MachineError(f"machine description {description} is not a regular file")
            raw = fh.read(MAX_DESCRIPTION_BYTES + 1)
    except OSError as exc:
        raise MachineError(f"machine description {description}: {exc.strerror or exc}") from None
    if len(raw) > MAX_DESCRIPTION_BYTES:
        raise MachineError(f"machine description {description} is larger than {MAX_DESCRIPTION_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MachineError(f"machine description {description} is not UTF-8 text: {exc.reason} "
                           f"at byte {exc.start}") from None
    except ValueError as exc:
        raise MachineError(f"machine description {description} is not valid JSON: {exc}") from None
    except RecursionError:
        raise MachineError(f"machine description {description} is nested too deeply") from None
    return machine_from_dict(data, base=os.path.dirname(os.path.abspath(description)), description=description)


# -- checking a description's fields ----------------------------------------------------------------

def _text(value: Any, field: str, *, optional: bool = True) -> Optional[str]:
    """``value`` if a string without NUL (or None when ``optional``), else a MachineError naming ``field``."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise MachineError(f"'{field}' must be a string, not {_json_type(value)}")
    if "\0" in value:
        raise MachineError(f"'{field}' holds a NUL character")
    return value


def _texts(value: Any, field: str) -> List[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MachineError(f"'{field}' must be a list of strings, not {_json_type(value)}")
    return [_text(v, f"{field}[{i}]", optional=False) for i, v in enumerate(value)]


def _object(value: Any, field: str) -> Dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MachineError(f"'{field}' must be an object, not {_json_type(value)}")
    return value


def _flag(value: Any, field: str, default: Optional[bool]) -> Optional[bool]:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise MachineError(f"'{field}' must be true or false, not {_json_type(value)}")
    return value


def _integer(value: Any, field: str, default: Optional[int], allowed=None) -> Optional[int]:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or (allowed and value not in allowed):
        want = " or ".join(str(a) for a in allowed) if allowed else "a whole number"
        raise MachineError(f"'{field}' must be {want}, not {value!r}"[:200])
    return value


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _check_registry(registry: Any) -> Dict[str, Any]:
    """hive -> company -> tag -> (folder string | {value name: string or {subkey ...}})."""
    hives = _object(registry, "registry")
    for hive, companies in hives.items():
        for company, tags in _object(companies, f"registry.{hive}").items():
            for tag, values in _object(tags, f"registry.{hive}.{company}").items():
                where = f"registry.{hive}.{company}.{tag}"
                if isinstance(values, str):
                    _text(values, where)
                    continue
                for name, value in _object(values, where).items():
                    if isinstance(value, dict):
                        for sub, text in value.items():
                            _text(text, f"{where}.{name}.{sub}", optional=False)
                    else:
                        _text(value, f"{where}.{name}", optional=False)
    return hives


def check_description(data: Any) -> None:
    """Raise a :class:`MachineError` naming the first field of ``data`` of the wrong type (or holding
    a NUL character); the loader models then read only well-typed values."""
    if not isinstance(data, dict):
        raise MachineError("a machine description is a JSON object")
    for key in ("root", "machine", "cwd"):
        _text(data.get(key), key)
    python = _object(data.get("python"), "python")
    for key in ("executable", "prefix", "base_prefix", "kind", "implementation"):
        _text(python.get(key), f"python.{key}")
    if python.get("version") is not None and not isinstance(python["version"], (str, int, float)) \
            or isinstance(python.get("version"), bool):
        raise MachineError(f"'python.version' must be a string such as \"3.11\", not {_json_type(python['version'])}")
    _flag(python.get("conda"), "python.conda", None)
    _integer(python.get("bits"), "python.bits", None, (32, 64))
    _texts(python.get("sys_path"), "python.sys_path")
    environ = _object(data.get("environ"), "environ")
    for name, value in environ.items():
        if "\0" in name:
            raise MachineError("'environ' has a variable name holding a NUL character")
        _text(value, f"environ.{name}", optional=False)
    _texts(data.get("loaded"), "loaded")
    _texts(data.get("imported"), "imported")
    dirs = data.get("dll_directories")
    if dirs is not None and not isinstance(dirs, list):
        raise MachineError(f"'dll_directories' must be a list, not {_json_type(dirs)}")
    for i, d in enumerate(dirs or ()):
        if isinstance(d, dict):
            _text(d.get("path"), f"dll_directories[{i}].path", optional=False)
            _text(d.get("source"), f"dll_directories[{i}].source")
        elif not isinstance(d, str):
            raise MachineError(f"each 'dll_directories' entry is a path or {{path, source}}; "
                               f"dll_directories[{i}] is {_json_type(d)}")
        else:
            _text(d, f"dll_directories[{i}]")
    _flag(data.get("reconstruct_dll_directories"), "reconstruct_dll_directories", True)
    windows = _object(data.get("windows"), "windows")
    for key in ("version", "system_root", "cwd"):
        _text(windows.get(key), f"windows.{key}")
    _texts(windows.get("known_dlls"), "windows.known_dlls")
    _integer(windows.get("os_bits"), "windows.os_bits", 64, (32, 64))
    macos = _object(data.get("macos"), "macos")
    for key in ("version", "arch"):
        _text(macos.get(key), f"macos.{key}")
    _texts(macos.get("shared_cache"), "macos.shared_cache")
    _flag(macos.get("env_purged"), "macos.env_purged", False)
    _flag(macos.get("fallback_default"), "macos.fallback_default", True)
    if data.get("registry") is not None:
        _check_registry(data["registry"])


def machine_from_dict(data: Dict[str, Any], *, base: str = ".", description: Optional[str] = None) -> Machine:
    """A :class:`Machine` from an already parsed description (``base``: where ``root`` is relative to)."""
    from ..system import System

    check_description(data)
    platform = data.get("platform")
    if platform not in ("windows", "macos", "linux"):
        raise MachineError(f"'platform' must be windows, macos or linux, not {platform!r}"[:200])
    root = os.path.join(base, _text(data.get("root", "."), "root", optional=False))
    if not os.path.isdir(root):
        raise MachineError(f"the machine's root folder {root} does not exist")
    python = data.get("python") or {}
    if not isinstance(python, dict):
        raise MachineError("'python' must be an object")
    environ = data.get("environ") or {}
    if not isinstance(environ, dict) or not all(isinstance(v, str) for v in environ.values()):
        raise MachineError("'environ' must map names to strings")
    loaded = data.get("loaded") or []
    if not isinstance(loaded, list) or not all(isinstance(p, str) for p in loaded):
        raise MachineError("'loaded' must be a list of paths")
    machine = data.get("machine") or ("arm64" if platform == "macos" else "x86_64")
    system = System.model(platform, root, machine=machine, environ=environ,
                          executable=python.get("executable", ""), loaded=tuple(loaded))
    registry = data.get("registry")
    if registry is not None:
        if not isinstance(registry, dict) or not all(isinstance(v, dict) for v in registry.values()):
            raise MachineError("'registry' maps hives (HKCU, HKLM, HKLM\\Wow6432Node) to {company: {tag: {...}}}")
        system = system.replace(registry=registry)
    pyver = _version(python.get("version"), "python.version")
    pyver2 = tuple(pyver[:2]) if pyver else None
    windows = macos = None
    if platform == "windows":
        from .loader.windows import DllDirectory, WindowsFacts

        w = data.get("windows") or {}
        dirs = []
        for d in data.get("dll_directories") or []:
            if isinstance(d, str):
                dirs.append(DllDirectory(d, "stated in the machine description"))
            elif isinstance(d, dict) and isinstance(d.get("path"), str):
                dirs.append(DllDirectory(d["path"], d.get("source") or "stated in the machine description"))
            else:
                raise MachineError("each 'dll_directories' entry is a path or {path, source}")
        known = w.get("known_dlls")
        windows = WindowsFacts(
            version=_version(w.get("version"), "windows.version") or (10, 0, 19045),
            system_root=w.get("system_root", "C:\\Windows"),
            known_dlls=frozenset(n.lower() for n in known) if known is not None else None,
            dll_directories=tuple(dirs),
            imported=tuple(data.get("imported") or ()),
            python_version=pyver2,
            conda=python.get("conda"),
            cwd=w.get("cwd") or data.get("cwd"),
            os_bits=int(w.get("os_bits", 64)),
            reconstruct=bool(data.get("reconstruct_dll_directories", True)),
        )
    elif platform == "macos":
        from .loader.macos import MacFacts

        m = data.get("macos") or {}
        cache = m.get("shared_cache")
        macos = MacFacts(
            version=_version(m.get("version"), "macos.version") or (14, 0),
            arch=m.get("arch"),
            shared_cache=tuple(cache) if cache is not None else None,
            env_purged=bool(m.get("env_purged", False)),
            fallback_default=bool(m.get("fallback_default", True)),
        )
    return Machine(system=system, windows=windows, macos=macos, description=description, python=dict(python))


# -- the interpreter of a modelled machine -----------------------------------------------------------

def _pyvenv_home(system, prefix: str) -> Optional[str]:
    cfg = system.join(prefix, "pyvenv.cfg")
    if not system.is_file(cfg):
        return None
    try:
        text = system.read_text(cfg, 1 << 16)
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().lower() == "home":
            return value.strip().rstrip("\\/") or None
    return ""


def machine_interpreter(machine: Machine):
    """The :class:`~dllmagic.model.Interpreter` the description's ``python`` entry states, or None.

    Read from the machine's files, never run: the prefix is the executable's folder (Windows) or the
    folder above its ``bin`` (macOS, Linux); a ``pyvenv.cfg`` there makes it a venv whose base is its
    ``home``; ``conda-meta`` (or ``"conda": true``) makes it conda. The entry may also state
    ``prefix``, ``base_prefix``, ``kind`` (environment kind), ``bits`` and ``implementation``.
    """
    from ...model import Interpreter

    python = machine.python or {}
    system = machine.system
    exe = python.get("executable") or system.executable or ""
    if not exe:
        return None
    pm = system.pathmod
    folder = pm.dirname(exe)
    windows = system.platform == "windows"
    if python.get("prefix"):
        prefix = python["prefix"]
    elif windows:
        prefix = pm.dirname(folder) if (pm.basename(folder).lower() == "scripts"
                                        and system.is_file(pm.join(pm.dirname(folder), "pyvenv.cfg"))) else folder
    else:
        prefix = pm.dirname(folder) if pm.basename(folder) == "bin" else folder
    home = _pyvenv_home(system, prefix)
    venv = home is not None
    if python.get("base_prefix"):
        base_prefix = python["base_prefix"]
    elif home:
        base_prefix = home if windows else (pm.dirname(home) if pm.basename(home) == "bin" else home)
    else:
        base_prefix = prefix
    version = str(python.get("version") or "")
    if not version and windows and machine.windows is not None:
        try:
            found = machine.loader().python(exe).version
            version = ".".join(str(v) for v in found) if found else ""
        except Exception:
            version = ""
    conda = python.get("conda")
    if conda is None:
        conda = system.is_dir(pm.join(prefix, "conda-meta"))
    kind = python.get("kind") or ("conda" if conda else "venv" if venv else "system")
    arch = (machine.macos.arch if machine.macos is not None and machine.macos.arch else None) or system.machine
    bits = int(python.get("bits") or (32 if arch in ("i386", "x86", "arm") else 64))
    translated = None
    if system.platform == "macos":
        translated = arch == "x86_64" and (system.machine or "").lower() in ("arm64", "arm64e", "aarch64")
    where = machine.description or "a machine description"
    return Interpreter(executable=exe, real_executable=exe, version=version or "unknown",
                       implementation=python.get("implementation") or "CPython", architecture=arch, bits=bits,
                       platform=system.platform, prefix=prefix, base_prefix=base_prefix, environment_kind=kind,
                       source=f"the machine description {where} (python entry; never run)",
                       translated=translated)


def machine_site_packages(machine: Machine, interpreter=None) -> Tuple[str, ...]:
    """The site-packages folders of the modelled interpreter that exist on the machine (its sys.path,
    as far as a report needs it); the description's ``python.sys_path`` list wins when stated."""
    python = machine.python or {}
    stated = python.get("sys_path")
    if isinstance(stated, list) and all(isinstance(p, str) for p in stated):
        return tuple(stated)
    interpreter = interpreter or machine_interpreter(machine)
    if interpreter is None:
        return ()
    system = machine.system
    pm = system.pathmod
    out: List[str] = []
    for prefix in dict.fromkeys([interpreter.prefix, interpreter.base_prefix]):
        if system.platform == "windows":
            candidates = [pm.join(prefix, "Lib", "site-packages")]
        else:
            xy = ".".join(interpreter.version.split(".")[:2])
            lib = pm.join(prefix, "lib")
            names = [f"python{xy}"] if xy and xy != "unknown" else sorted(
                e for e in system.listdir(lib) if e.startswith("python3"))
            candidates = [pm.join(lib, n, "site-packages") for n in names]
        out.extend(c for c in candidates if system.is_dir(c) and c not in out)
        if prefix == interpreter.prefix and interpreter.environment_kind == "venv":
            break  # a venv does not see its base's site-packages (include-system-site-packages off)
    return tuple(out)


# -- os.add_dll_directory in a live Windows kernel ------------------------------------------------

_RECORDED: List[Tuple[str, str]] = []
_LOCK = threading.Lock()


def recorded_dll_directories():
    """The folders added with os.add_dll_directory since the recorder was installed (still open ones)."""
    from .loader.windows import DllDirectory

    with _LOCK:
        return [DllDirectory(path, f"os.add_dll_directory called by {who} (recorded in this kernel)")
                for path, who in _RECORDED]


def install_dll_directory_recorder(os_module=os) -> bool:
    """Wrap ``os.add_dll_directory`` so later calls are recorded; False where it does not exist.

    The wrapper calls the original and keeps (folder, calling module); closing the returned handle
    forgets the folder again, as Windows does. Installing twice is harmless.
    """
    original = getattr(os_module, "add_dll_directory", None)
    if original is None:
        return False
    if getattr(original, "_dllmagic_recorder", False):
        return True
    import sys

    def add_dll_directory(path):
        handle = original(path)
        frame = sys._getframe(1)
        who = frame.f_globals.get("__name__", "?")
        entry = (os.fspath(path), who)
        with _LOCK:
            _RECORDED.append(entry)
        close = getattr(handle, "close", None)
        if close is not None:
            def closing(close=close, entry=entry):
                with _LOCK:
                    if entry in _RECORDED:
                        _RECORDED.remove(entry)
                return close()

            try:
                handle.close = closing
            except AttributeError:
                pass
        return handle

    add_dll_directory._dllmagic_recorder = True  # type: ignore[attr-defined]
    add_dll_directory.__wrapped__ = original  # type: ignore[attr-defined]
    os_module.add_dll_directory = add_dll_directory
    return True


# -- machines called the way users call lddtree: host paths, a root that is a drive, the interpreter -----

_DRIVE_MARKERS = ("windows", "program files", "program files (x86)", "users", "programdata")


def windows_root_is_a_drive(root: str) -> bool:
    """Whether ``root`` is itself drive C: (it holds Windows/, Program Files/, PythonXY/ ... and no
    one-letter drive folders), rather than a folder of drives (C/, D/)."""
    try:
        names = os.listdir(root)
    except OSError:
        return False
    if any(len(n) == 1 and n.isalpha() and os.path.isdir(os.path.join(root, n)) for n in names):
        return False
    lower = {n.lower() for n in names}
    return bool(lower & set(_DRIVE_MARKERS)) or any(n.startswith("python") for n in lower) or bool(names)


_DRIVE_CLASS: Dict[str, Any] = {}


def drive_root_system(system, drive: str = "C"):
    """``system`` (a modelled Windows machine) with its root taken as drive ``drive``: itself, not a
    folder holding ``C/``. Other drives have no files."""
    cls = _DRIVE_CLASS.get("cls")
    if cls is None:
        import ntpath

        from ..system import System

        class DriveRootSystem(System):
            """A modelled Windows machine whose root folder is its drive C:."""

            def host_path(self, path: str) -> str:
                d, rest = ntpath.splitdrive(path)
                parts = [p for p in rest.replace("\\", "/").split("/") if p]
                if d and d.rstrip(":").upper() != "C":
                    return os.path.join(self.root, ".no-such-drive-" + d.rstrip(":"), *parts)
                return self._casefold_join(parts)

        cls = _DRIVE_CLASS["cls"] = DriveRootSystem
    return cls(**{n: getattr(system, n) for n in system._fields})


def machine_path_of(system, name: str, *, drive_root: bool = False) -> Tuple[str, Optional[str]]:
    """(the machine's path, how it was mapped or None) of a path given on the command line with --root.

    A host path under the root (``DIR/Python311/Lib/...``, as lddtree takes them) becomes the machine's
    own (``C:\\Python311\\Lib\\...``); anything else is taken as the machine's path already.
    """
    root = os.path.abspath(system.root)
    host = os.path.abspath(name)
    inside = host == root or host.startswith(root.rstrip(os.sep) + os.sep)
    if not inside or not os.path.exists(host):
        return name, None
    rel = os.path.relpath(host, root)
    parts = [] if rel == "." else rel.split(os.sep)
    if system.platform == "windows":
        if drive_root:
            mapped = "C:\\" + "\\".join(parts)
            how = f"{name} is {mapped} on the modelled machine (--root {system.root} is its drive C:)"
        else:
            if not parts or not (len(parts[0]) == 1 and parts[0].isalpha()):
                return name, None
            mapped = parts[0].upper() + ":\\" + "\\".join(parts[1:])
            how = f"{name} is {mapped} on the modelled machine (--root {system.root} holds its drives)"
        return mapped, how
    mapped = "/" + "/".join(parts)
    return mapped, f"{name} is {mapped} on the modelled machine (--root {system.root} is its /)"


def infer_python(system, path: str) -> Optional[Tuple[str, str]]:
    """(python executable, evidence) of a modelled machine, read from the layout around ``path``, or None.

    Windows: ``PythonXY\\Lib\\site-packages`` -> ``PythonXY\\python.exe`` (``pythonXY.dll`` beside it); a
    venv's ``pyvenv.cfg`` -> its ``Scripts\\python.exe`` (the ``home`` it names holds the real one);
    conda's ``envs\\NAME\\Lib\\site-packages`` -> ``envs\\NAME\\python.exe`` (DLLs in ``Library\\bin``).
    POSIX (Linux, macOS framework and Homebrew layouts alike): ``PREFIX/lib/pythonX.Y/site-packages`` ->
    ``PREFIX/bin/pythonX.Y``.
    """
    pm = system.pathmod
    windows = system.platform == "windows"
    parts = path.replace("\\", "/").split("/") if windows else path.split("/")
    low = [p.lower() for p in parts]
    if "site-packages" not in low:
        return None
    i = len(low) - 1 - low[::-1].index("site-packages")
    if windows:
        if i < 2 or low[i - 1] != "lib":
            return None
        prefix = "\\".join(parts[:i - 1])
        cfg_home = _pyvenv_home(system, prefix)
        if cfg_home is not None:
            exe = pm.join(prefix, "Scripts", "python.exe")
            if system.is_file(exe):
                return exe, (f"{exe}: the venv {prefix} (pyvenv.cfg, home {cfg_home or '?'}) holds "
                             f"{parts[i]} - inferred from the layout")
            base = pm.join(cfg_home, "python.exe") if cfg_home else None
            if base and system.is_file(base):
                return base, f"{base}: the home of the venv {prefix} (pyvenv.cfg) - inferred from the layout"
            return None
        exe = pm.join(prefix, "python.exe")
        if not system.is_file(exe):
            return None
        if system.is_dir(pm.join(prefix, "conda-meta")):
            return exe, (f"{exe}: the conda environment {prefix} (conda-meta; its DLLs in Library\\bin) "
                         "- inferred from the layout")
        dlls = [n for n in system.listdir(prefix) if re.match(r"(?i)^python3\d*\.dll$", n)]
        beside = f" ({', '.join(sorted(dlls))} beside it)" if dlls else ""
        return exe, f"{exe}{beside}: {prefix}\\Lib\\site-packages is its library - inferred from the layout"
    if i < 3 or low[i - 2] != "lib" or not re.match(r"^python\d+\.\d+t?$", low[i - 1]):
        return None
    prefix = "/".join(parts[:i - 2]) or "/"
    version = parts[i - 1]
    for exe in (pm.join(prefix, "bin", version), pm.join(prefix, "bin", "python3")):
        if system.exists(exe):
            kind = ("a venv (pyvenv.cfg)" if _pyvenv_home(system, prefix) is not None else
                    "a Python framework" if "/Python.framework/Versions/" in prefix + "/" else
                    "a conda environment (conda-meta)" if system.is_dir(pm.join(prefix, "conda-meta")) else
                    "the prefix")
            return exe, (f"{exe}: {prefix}/lib/{version}/site-packages belongs to {kind} {prefix} "
                         "- inferred from the layout")
    return None


def macos_cpu_of(system, path: str) -> Optional[Tuple[str, str]]:
    """(CPU, evidence) of an unstated macOS machine, from the Mach-O file being analysed: an arm64 wheel
    is for an arm64 Mac; a universal file is taken as arm64 (the CPU of current Macs)."""
    from .binary import read_binary

    try:
        b = read_binary(path, system)
    except Exception:
        return None
    archs = tuple(getattr(b, "archs", ()) or ((b.machine,) if getattr(b, "machine", None) else ()))
    if b.format != "macho" or not archs:
        return None
    cpu = "arm64" if any(a.startswith("arm64") for a in archs) else archs[0]
    return cpu, f"CPU {cpu} taken from {path} ({', '.join(archs)}): the machine's CPU was not stated"
