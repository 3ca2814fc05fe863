"""Jupyter's kernel folders and the kernelspecs in them."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from ...model import Interpreter
from ..system import System
from .paths import _home, _is_python_name, _which, prefix_of_python, python_of_prefix, read_json, site_listing
from .records import Kernelspec
from .trust import ownership_problem


def kernelspec_dirs(system: System, interpreter: Optional[Interpreter] = None) -> List[Tuple[str, str]]:
    """Jupyter's kernel folders in jupyter_core's order of precedence, each with its origin."""
    pm = system.pathmod
    home = _home(system)
    out: List[Tuple[str, str]] = []

    def add(path: Optional[str], origin: str) -> None:
        if path:
            folder = pm.join(path, "kernels")
            if all(folder != existing for existing, _ in out):
                out.append((folder, origin))

    for entry in (system.getenv("JUPYTER_PATH") or "").split(system.pathsep):
        add(entry or None, "JUPYTER_PATH")
    user = system.getenv("JUPYTER_DATA_DIR")
    if not user and home:
        if system.platform == "windows":
            appdata = system.getenv("APPDATA")
            user = pm.join(appdata, "jupyter") if appdata else None
        elif system.platform == "macos":
            user = pm.join(home, "Library", "Jupyter")
        else:
            user = pm.join(system.getenv("XDG_DATA_HOME") or pm.join(home, ".local", "share"), "jupyter")
    env_paths = []
    if interpreter is not None and interpreter.prefix:
        env_paths.append(pm.join(interpreter.prefix, "share", "jupyter"))
    if system.platform == "windows":
        programdata = system.getenv("PROGRAMDATA")
        system_paths = [pm.join(programdata, "jupyter")] if programdata else []
    else:
        system_paths = ["/usr/local/share/jupyter", "/usr/share/jupyter"]
    prefer_env = (system.getenv("JUPYTER_PREFER_ENV_PATH") or "").lower() in ("1", "true", "yes", "on")
    ordered = ([(p, "environment") for p in env_paths] + [(user, "user")]) if prefer_env else \
        ([(user, "user")] + [(p, "environment") for p in env_paths])
    for path, origin in ordered + [(p, "system") for p in system_paths]:
        add(path, origin)
    return out


def _argv_python(system: System, argv: Sequence[str]) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """(python, prefix, conda env name) that a kernelspec's argv starts."""
    pm = system.pathmod
    args = list(argv)
    if args and pm.basename(args[0]).lower() in ("env", "env.exe"):
        args = args[1:]
        while args and ("=" in args[0] or args[0].startswith("-")):
            args = args[1:]
    if not args:
        return None, None, None
    head = pm.basename(args[0]).lower().replace(".exe", "").replace(".bat", "")
    if head in ("conda", "mamba", "micromamba") and "run" in args:
        # `conda run -n NAME python -m ipykernel_launcher ...` or `-p PREFIX`
        for flag in ("-p", "--prefix"):
            if flag in args and args.index(flag) + 1 < len(args):
                prefix = args[args.index(flag) + 1]
                return python_of_prefix(system, prefix), prefix, None
        for flag in ("-n", "--name"):
            if flag in args and args.index(flag) + 1 < len(args):
                return None, None, args[args.index(flag) + 1]
        return None, None, None
    if not _is_python_name(args[0]):
        return None, None, None
    python = args[0]
    if not pm.isabs(python):
        python = _which(system, python) or python
        if not pm.isabs(python):
            return python, None, None
    return python, prefix_of_python(system, python), None


def _kernelspec_problem(data: Any) -> Optional[str]:
    """Why jupyter_client could not load this kernel.json's data; None when it could."""
    if not isinstance(data, dict):
        return "it is not a JSON object"
    argv = data.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        return "its argv is not a list of strings"
    for key in ("display_name", "language"):
        if key in data and not isinstance(data[key], str):
            return f"its {key} is not a string"
    env = data.get("env")
    if env is not None and not (isinstance(env, dict) and all(isinstance(v, str) for v in env.values())):
        return "its env is not a mapping of strings"
    return None


def _read_kernelspecs(system: System, interpreter: Optional[Interpreter], notes: List[str]) -> List[Kernelspec]:
    """The kernelspecs of every kernel folder. A damaged kernel.json (unreadable, not UTF-8, not JSON, nested
    too deeply, wrong types) is a note and is left out, as Jupyter leaves it out; it still hides a later
    kernel.json of the same name, as it does in Jupyter."""
    specs: List[Kernelspec] = []
    seen: Dict[str, str] = {}
    for folder, origin in kernelspec_dirs(system, interpreter):
        for name in site_listing(system, folder):
            path = system.join(folder, name, "kernel.json")
            if not system.is_file(path):
                continue
            data, problem = read_json(system, path, 1 << 20)
            problem = problem or _kernelspec_problem(data)
            if problem:
                notes.append(f"kernelspec {path} left out: {problem}; Jupyter cannot start it either")
                seen.setdefault(name.lower(), path)
                continue
            argv = tuple(data["argv"])
            python, prefix, _ = _argv_python(system, argv)
            env = data.get("env") or {}
            untrusted = ownership_problem(system, [system.join(folder, name), path])
            specs.append(Kernelspec(
                name=name, display_name=data.get("display_name") or name, argv=argv,
                language=data.get("language") or "", path=path, source=f"{origin} ({folder})",
                python=python, prefix=prefix, env=tuple((str(k), v) for k, v in env.items()),
                hidden_by=seen.get(name.lower()), untrusted=untrusted))
            seen.setdefault(name.lower(), path)
    return specs
