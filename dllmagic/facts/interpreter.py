"""The interpreter that runs (or would run) an import: this process, or another one through the probe."""
from __future__ import annotations

import json
import re
import os
import signal as _signal
import subprocess
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .._record import Record, field
from ..model import Interpreter
from . import _probe

PROBE_SCRIPT = os.path.abspath(_probe.__file__.replace(".pyc", ".py"))


def _pyvenv_cfg(text: Optional[str]) -> Dict[str, str]:
    values: Dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip().lower()] = value.strip()
    return values


def classify_environment(facts: Dict[str, Any]) -> str:
    """The kind of environment, from clues the probe gathered (pure: tests feed it directly).

    Tools that build on venv/virtualenv (poetry, pipenv, hatch) or on conda packages (pixi, micromamba) are
    told apart by where they keep their environments, since their pyvenv.cfg / conda-meta look alike.
    """
    cfg = _pyvenv_cfg(facts.get("pyvenv_cfg"))
    prefix = (facts.get("prefix") or "").replace("\\", "/").rstrip("/") + "/"
    lower = prefix.lower()
    if facts.get("conda_meta"):
        if "/.pixi/envs/" in prefix:
            return "pixi"
        if "micromamba" in lower or "/.local/share/mamba/" in lower or facts.get("conda_frontend") == "micromamba":
            return "micromamba"
        if facts.get("conda_frontend") == "mamba" or "/mambaforge/" in lower:
            return "mamba"
        return "conda"
    if cfg:
        if "/pypoetry/virtualenvs/" in lower or "/pypoetry/cache/virtualenvs/" in lower:
            return "poetry"
        if "/hatch/env/virtual/" in lower:
            return "hatch"
        if "/.local/share/virtualenvs/" in lower or (
                "/.virtualenvs/" in lower and re.search(r"-[A-Za-z0-9_-]{8}/$", prefix)):
            return "pipenv"
        if "uv" in cfg:
            return "uv"
        if "virtualenv" in cfg:
            return "virtualenv"
        return "venv"
    if facts.get("real_prefix"):
        return "virtualenv"
    if facts.get("externally_managed"):
        # PEP 668's marker decides what pip does, whoever installed this Python: the operating system, Homebrew,
        # or uv (its managed Pythons carry one), so it comes before the kinds told from the path.
        return "system-externally-managed"
    real = (facts.get("real_executable") or "").replace("\\", "/")
    if "/.pyenv/versions/" in real or "/pyenv-win/versions/" in real.lower():
        return "pyenv"
    if "/WindowsApps/" in real or "/windowsapps/" in real.lower():
        return "windows-store"
    if facts.get("embedded_pth"):
        # A python3XX._pth beside the executable: the embeddable distribution (sys.path is fixed by it).
        return "embedded"
    if "/uv/python/" in real.lower():
        return "uv-python"
    return "system"


def interpreter_from_facts(facts: Dict[str, Any], source: str = "sys") -> Interpreter:
    return Interpreter(
        executable=facts.get("executable") or "",
        real_executable=facts.get("real_executable") or "",
        version=facts.get("version") or "",
        implementation=facts.get("implementation") or "",
        architecture=facts.get("architecture") or "",
        bits=int(facts.get("bits") or 0),
        platform=facts.get("platform") or "",
        prefix=facts.get("prefix") or "",
        base_prefix=facts.get("base_prefix") or "",
        environment_kind=classify_environment(facts),
        user_site=facts.get("user_site"),
        user_site_enabled=bool(facts.get("user_site_enabled")),
        source=source,
        translated=facts.get("translated"),
    )


class ProbeResult(Record):
    """What a probe of an interpreter (and optionally a child import) reported."""

    facts: Dict[str, Any]
    interpreter: Interpreter
    import_result: Optional[Dict[str, Any]] = None
    returncode: int = 0
    signal: Optional[str] = None       # set when the child died of a signal
    stderr: str = ""
    notes: Tuple[str, ...] = field(default_factory=tuple)

    @property
    def crashed(self) -> bool:
        return self.signal is not None


def live_facts() -> Dict[str, Any]:
    return _probe.interpreter_facts()


def live_interpreter() -> Interpreter:
    return interpreter_from_facts(live_facts(), source="sys")


def signal_name(returncode: int) -> Optional[str]:
    if returncode >= 0:
        return None
    try:
        return _signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _why_missing(python: str) -> str:
    """What a user needs to know when ``python`` cannot be started: the link that points nowhere, and for a
    virtual environment the Python it was made from (pyvenv.cfg's ``home``), which may be gone. "" if nothing."""
    out = []
    path, seen = python, 0
    while os.path.islink(path) and seen < 40:
        seen += 1
        try:
            target = os.path.join(os.path.dirname(path), os.readlink(path))
        except OSError:
            break
        if not os.path.lexists(target):
            out.append(f"; {path} is a link to {target}, which does not exist")
            break
        path = target
    cfg = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(python))), "pyvenv.cfg")
    try:
        with open(cfg, "rb") as fh:
            text = fh.read(16384).decode("utf-8", "replace")
    except OSError:
        return "".join(out)
    import re

    home = re.search(r"^\s*home\s*=\s*(.+?)\s*$", text, re.M)
    if home:
        gone = "" if os.path.isdir(home.group(1)) else ", which does not exist"
        out.append(f"; this virtual environment was made from the Python in {home.group(1)} (pyvenv.cfg){gone}: "
                   f"if that Python was removed or moved, recreate the environment with one that exists "
                   f"(python3 -m venv --clear {os.path.dirname(cfg)}) and reinstall its packages")
    return "".join(out)


def absolute_python(python: str) -> str:
    """``python`` as a path that holds from any folder a child runs in (``--python v/bin/python`` is given
    relative to the user's working folder); a bare name is left to PATH."""
    if os.sep in python or (os.altsep and os.altsep in python):
        return os.path.abspath(python)
    return python


def run_probe(python: str, *, import_name: Optional[str] = None, sys_path: Optional[Sequence[str]] = None,
              cwd: Optional[str] = None, timeout: float = 120.0,
              env: Optional[Dict[str, str]] = None, as_python_c: bool = False) -> ProbeResult:
    """Run the probe with ``python`` (argv list, never a shell); optionally try an import there.

    ``as_python_c``: the child's sys.path is the one ``python -c`` gets in ``cwd`` (that folder first)."""
    python = absolute_python(python)   # a relative path is the user's, from here, not from ``cwd``
    argv: List[str] = [python, "-X", "faulthandler", PROBE_SCRIPT]
    if sys_path is not None:
        argv += ["--sys-path", json.dumps(list(sys_path))]
    elif as_python_c:
        argv.append("--as-python-c")
    if import_name:
        argv += ["--import", import_name]
    child_env = dict(os.environ if env is None else env)
    child_env.pop("PYTHONSTARTUP", None)
    child_env["PYTHONIOENCODING"] = "utf-8"
    try:
        proc = subprocess.run(argv, cwd=cwd, env=child_env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise ProbeError(f"cannot run {python}: {exc.strerror}{_why_missing(python)}") from None
    except PermissionError as exc:
        raise ProbeError(f"cannot run {python}: {exc.strerror}") from None
    except subprocess.TimeoutExpired:
        raise ProbeError(f"{python} did not answer within {timeout:.0f} s") from None
    out = proc.stdout.decode("utf-8", "replace").splitlines()
    err = proc.stderr.decode("utf-8", "replace")
    facts: Optional[Dict[str, Any]] = None
    result = None
    for line in out:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if facts is None:
            facts = data
        else:
            result = data
    if facts is None:
        tail = err.strip().splitlines()[-1:] or ["no output"]
        raise ProbeError(f"{python} is not a Python this probe can use ({tail[0]})")
    return ProbeResult(facts=facts, interpreter=interpreter_from_facts(facts, source=f"{python} (probe)"),
                       import_result=result, returncode=proc.returncode,
                       signal=signal_name(proc.returncode) if result is None else None,
                       stderr=err[-20000:])


class ProbeError(Exception):
    """The target interpreter could not be probed (a sentence for the report's notes)."""


def current_python() -> str:
    return sys.executable
