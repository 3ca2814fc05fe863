"""The only place where commands are made.

Every command is an argv list that starts with the kernel's own interpreter (``python -m pip``), built from
names validated as PEP 508 requirements; the notebook cell shown beside it is quoted for the kernel's
platform. Nothing here ever joins error text into a shell line.
"""
from __future__ import annotations

import hashlib
import re
from typing import Optional, Sequence, Tuple

from .model import Fix, Interpreter

# Characters a cell line must never carry: shells expand them, IPython expands {..} and $.. in magics.
_UNSAFE = re.compile(r"[\"'`$\\{}!%;&|\n\r\t]")


_PLAIN_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


class UnsafeName(ValueError):
    """A name that is not a valid PEP 508 requirement (or carries characters we never quote)."""


def validate_requirement(text: str) -> str:
    """The requirement text, if it is a plain PEP 508 requirement without markers or URLs."""
    if not text or len(text) > 200 or _UNSAFE.search(text):
        raise UnsafeName(f"not a safe requirement: {text!r}")
    if _PLAIN_NAME.fullmatch(text):
        return text  # a bare PEP 508 name: no need to load the full parser
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise UnsafeName(f"not a valid requirement: {text!r} ({exc})") from None
    if req.url or req.marker:
        raise UnsafeName(f"requirements with URLs or markers are not offered: {text!r}")
    return str(req)


def validate_name(name: str) -> str:
    """A distribution or import name: letters, digits and . _ - only (PEP 508 names)."""
    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,198}[A-Za-z0-9])?", name or ""):
        raise UnsafeName(f"not a valid name: {name!r}")
    return name


def _cell_quote(req: str) -> str:
    # A validated requirement holds no quote, $, backtick or brace, so double quotes are safe on POSIX
    # shells, cmd.exe and in IPython's magic-line expansion alike; plain names need none.
    return req if re.fullmatch(r"[A-Za-z0-9._-]+", req) else f'"{req}"'


def _fix_id(kind: str, cell: str, argv: Optional[Sequence[str]]) -> str:
    digest = hashlib.sha1((kind + "\0" + cell + "\0" + "\0".join(argv or ())).encode()).hexdigest()
    return f"{kind}-{digest[:8]}"


def make(kind: str, title: str, cell: str = "", argv: Optional[Sequence[str]] = None, *,
         restart: bool = False, risk: str = "low", runnable: bool = False) -> Fix:
    argv_t: Optional[Tuple[str, ...]] = tuple(argv) if argv is not None else None
    return Fix(id=_fix_id(kind, cell, argv_t), kind=kind, title=title, cell=cell, argv=argv_t,
               restart=restart, risk=risk, runnable=runnable and argv_t is not None)


def pip_install(interpreter: Optional[Interpreter], requirements: Sequence[str], *, validated: bool,
                restart: bool = True, upgrade: bool = False, reinstall: bool = False,
                title: Optional[str] = None, index_url: Optional[str] = None,
                extra_index_url: Optional[str] = None) -> Fix:
    """``%pip install`` into the kernel's own interpreter.

    ``validated`` says the names were checked against installed metadata or the knowledge tables; only
    then may a Run button offer the command (a typo-squatted name must not be one click away).
    """
    reqs = [validate_requirement(r) for r in requirements]
    flags = []
    if upgrade:
        flags.append("--upgrade")
    if reinstall:
        flags += ["--force-reinstall", "--no-deps"]
    flags += _index_flags(index_url, extra_index_url)
    cell = " ".join(["%pip install", *flags, *(_cell_quote(r) for r in reqs)])
    title = title or f"Install {', '.join(reqs)} into this kernel's environment"
    if interpreter is None:
        # Explaining a pasted text: the interpreter is unknown, so there is no command, only the cell.
        return make("pip", title, cell, None, restart=restart)
    argv = [interpreter.executable, "-m", "pip", "install", *flags, *reqs]
    if interpreter.environment_kind == "system-externally-managed":
        # PEP 668: pip refuses here; we never add --break-system-packages.
        return instruction(
            f"Install {', '.join(reqs)} in a virtual environment (this Python is externally managed)",
            "This interpreter's packages belong to the operating system (PEP 668), so pip refuses to change "
            "them.\nCreate a virtual environment, install ipykernel and the package there, register it as a "
            "kernel and switch this notebook to it:\n"
            f"{interpreter.executable} -m venv ~/.venvs/notebook\n"
            f"~/.venvs/notebook/bin/python -m pip install ipykernel {' '.join(reqs)}\n"
            "~/.venvs/notebook/bin/python -m ipykernel install --user --name notebook",
            risk="medium")
    risky = interpreter.environment_kind in ("system",)
    return make("pip", title, cell, argv,
                restart=restart, risk="medium" if risky else "low", runnable=validated and not risky)


def _index_flags(index_url: Optional[str], extra_index_url: Optional[str]) -> list:
    """--index-url / --extra-index-url for a package index named by the knowledge tables (PyTorch's)."""
    flags = []
    for flag, url in (("--index-url", index_url), ("--extra-index-url", extra_index_url)):
        if url:
            if not _URL.fullmatch(url):
                raise UnsafeName(f"not a safe index URL: {url!r}")
            flags += [flag, url]
    return flags


def restart_kernel(reason: str) -> Fix:
    return make("restart", f"Restart the kernel ({reason})", cell="", argv=None, restart=True)


def rename(path: str, new_path: str, title: str) -> Fix:
    # repr() makes a Python string literal of any path, whatever characters it holds.
    cell = f"import os\nos.rename({path!r}, {new_path!r})"
    return make("rename", title, cell=cell, argv=None, restart=True, risk="medium")


def instruction(title: str, text: str = "", risk: str = "low") -> Fix:
    cell = "\n".join("# " + line for line in text.splitlines()) if text else ""
    return make("instruction", title, cell=cell, argv=None, risk=risk)


# -- environments (issue 4): appended; the functions above are unchanged ------------------------------
# A path shown in a `!` cell line: double quotes protect spaces; anything a shell or IPython's `!`/`$`/`{}`
# expansion would act on is refused, and then only the argv (never a shell line) is offered.
_UNSAFE_PATH = re.compile(r"[\"'`$!{}%;&|<>^\n\r\t*?]")


def _safe_path(path: str) -> Optional[str]:
    return None if not path or _UNSAFE_PATH.search(path) or len(path) > 400 else path


def validate_kernel_name(name: str) -> str:
    """A kernelspec name as jupyter_client accepts it: letters, digits, '.', '_', '-'."""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,100}", name or ""):
        raise UnsafeName(f"not a valid kernel name: {name!r}")
    return name


def _validate_display_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9 ._()\[\]:+/-]{1,100}", text or ""):
        raise UnsafeName(f"not a safe display name: {text!r}")
    return text


def conda_install(interpreter: Interpreter, packages: Sequence[str], *, frontend: str = "conda",
                  executable: Optional[str] = None, channel: Optional[str] = None,
                  title: Optional[str] = None, reinstall: bool = False) -> Fix:
    """``%conda install`` (or ``%mamba``/``%micromamba``) into the kernel's own prefix.

    IPython's conda magics add ``--prefix sys.prefix`` themselves; the argv states the prefix outright.
    ``reinstall``: ``--force-reinstall`` (see :func:`conda_reinstall`).
    """
    if frontend not in ("conda", "mamba", "micromamba"):
        raise UnsafeName(f"not a conda front end: {frontend!r}")
    reqs = [validate_requirement(p) for p in packages]
    flags = ["-y", "--force-reinstall"] if reinstall else ["-y"]
    if channel:
        flags += ["-c", validate_name(channel)]
    cell = " ".join([f"%{frontend} install", *flags, *(_cell_quote(r) for r in reqs)])
    argv = [executable or frontend, "install", *flags, "--prefix", interpreter.prefix, *reqs]
    if title is None:
        title = (f"Reinstall {', '.join(reqs)} with {frontend}, which owns this environment" if reinstall
                 else f"Install {', '.join(reqs)} with {frontend} into this kernel's environment")
    return make("mamba" if frontend in ("mamba", "micromamba") else "conda", title,
                cell, argv, restart=True, risk="low", runnable=True)


def uv_pip_install(interpreter: Interpreter, requirements: Sequence[str], *, validated: bool,
                   uv: str = "uv", title: Optional[str] = None, upgrade: bool = False, reinstall: bool = False,
                   index_url: Optional[str] = None, extra_index_url: Optional[str] = None) -> Fix:
    """``uv pip install --python <this interpreter>``: for uv environments, which have no pip."""
    reqs = [validate_requirement(r) for r in requirements]
    flags = (["--upgrade"] if upgrade else []) + (["--reinstall", "--no-deps"] if reinstall else [])
    flags += _index_flags(index_url, extra_index_url)
    argv = [uv, "pip", "install", "--python", interpreter.executable, *flags, *reqs]
    exe = _safe_path(interpreter.executable)
    cell = (f'!uv pip install --python "{exe}" ' + " ".join([*flags, *(_cell_quote(r) for r in reqs)])) if exe else ""
    return make("uv", title or f"Install {', '.join(reqs)} with uv into this kernel's environment", cell, argv,
                restart=True, risk="low", runnable=validated)


def kernel_switch(kernelspec_name: str, display_name: str) -> Fix:
    """Switch this notebook to another kernel. The front end applies it where it can; elsewhere the cell
    says where to click."""
    name = validate_kernel_name(kernelspec_name)
    shown = display_name if re.fullmatch(r"[^\n\r]{1,100}", display_name or "") else name
    cell = f"# Kernel > Change Kernel... > {shown}   (kernelspec: {name})"
    return make("kernel-switch", f"Switch this notebook to the kernel '{shown}'", cell=cell, argv=None,
                restart=True, risk="low")


def register_kernel(python: str, name: str, display_name: str, has_ipykernel: bool) -> Fix:
    """Register an environment as a Jupyter kernel with ITS interpreter (``-m ipykernel install --user``).

    When that environment has no ipykernel, the cell installs it there first; the argv is the register step
    (the front end runs the two lines of the cell, a machine runs the argv after installing ipykernel).
    """
    name = validate_kernel_name(name)
    display = _validate_display_name(display_name)
    argv = [python, "-m", "ipykernel", "install", "--user", "--name", name, "--display-name", display]
    exe = _safe_path(python)
    lines = []
    if exe:
        if not has_ipykernel:
            lines.append(f'!"{exe}" -m pip install ipykernel')
        lines.append(f'!"{exe}" -m ipykernel install --user --name {name} --display-name "{display}"')
    title = (f"Register {display} as a Jupyter kernel" if has_ipykernel
             else f"Install ipykernel into {display} and register it as a Jupyter kernel")
    return make("register-kernel", title, cell="\n".join(lines), argv=argv, restart=False, risk="low",
                runnable=has_ipykernel)


def invalidate_import_caches() -> Fix:
    """Clear the path finders' caches so a package installed while the kernel runs can be imported."""
    return make("instruction", "Clear Python's import caches and import again",
                cell="import importlib\nimportlib.invalidate_caches()", argv=None, risk="low")


def new_venv(title: str, folder_hint: str = ".venv") -> Fix:
    """PEP 668 environments: a virtual environment instead of --break-system-packages (never offered)."""
    folder = folder_hint if re.fullmatch(r"[A-Za-z0-9._/-]{1,100}", folder_hint or "") else ".venv"
    text = (f"This Python is managed by the operating system (PEP 668), so pip refuses to install into it.\n"
            f"Create a virtual environment and register it as a kernel:\n"
            f"  python3 -m venv {folder}\n"
            f"  {folder}/bin/python -m pip install ipykernel <package>\n"
            f"  {folder}/bin/python -m ipykernel install --user --name my-venv\n"
            f"then switch this notebook to the kernel 'my-venv'.")
    return instruction(title, text, risk="low")


# -- diagnosis rules (issue 7): appended; the functions above are unchanged ----------------------------
# System package names as apt, dnf and Homebrew spell them (libgl1, mesa-libGL, libstdc++6, openssl@3).
_SYSTEM_PACKAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9+._@-]{0,99}")
_SYSTEM_MANAGERS = {
    "apt": ("apt-get", "install", "-y"),
    "dnf": ("dnf", "install", "-y"),
    "brew": ("brew", "install"),
}


def validate_system_package(name: str) -> str:
    if not _SYSTEM_PACKAGE.fullmatch(name or ""):
        raise UnsafeName(f"not a valid system package name: {name!r}")
    return name


def system_package(manager: str, packages: Sequence[str], *, title: Optional[str] = None) -> Fix:
    """Install operating-system packages (apt, dnf, Homebrew).

    Never runnable from the report: apt and dnf need administrator rights, and a notebook cannot answer a
    sudo prompt. The cell shows the command; the argv is the command itself, without sudo.
    """
    if manager not in _SYSTEM_MANAGERS:
        raise UnsafeName(f"not a system package manager: {manager!r}")
    names = [validate_system_package(p) for p in packages]
    argv = [*_SYSTEM_MANAGERS[manager], *names]
    sudo = "sudo " if manager != "brew" else ""
    cell = f"!{sudo}{' '.join(argv)}"
    title = title or f"Install the system package{'s' if len(names) > 1 else ''} {', '.join(names)} ({manager})"
    return make("system-package", title, cell=cell, argv=argv, restart=True,
                risk="medium" if manager != "brew" else "low", runnable=False)


def pip_replace(interpreter: Optional[Interpreter], remove: Sequence[str], install: Sequence[str], *,
                title: Optional[str] = None) -> Fix:
    """Swap distributions that provide the same import (opencv-python → opencv-python-headless).

    Two steps (uninstall, then install) cannot be one argv, so this is a cell to run, never a Run button.
    """
    gone = [validate_name(r) for r in remove]
    new = [validate_requirement(r) for r in install]
    cell = (f"%pip uninstall -y {' '.join(gone)}\n" if gone else "") + \
        "%pip install " + " ".join(_cell_quote(r) for r in new)
    title = title or f"Replace {', '.join(gone)} with {', '.join(new)}"
    return make("pip", title, cell=cell, argv=None, restart=True, risk="low")


_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,99}")
_ENV_VALUE = re.compile(r"[A-Za-z0-9._:/+-]{0,200}")


def env_var(name: str, value: str, title: str) -> Fix:
    """Set an environment variable for the kernel before the import (``%env``), then restart and re-run."""
    if not _ENV_NAME.fullmatch(name or "") or not _ENV_VALUE.fullmatch(value or ""):
        raise UnsafeName(f"not a safe environment setting: {name!r}={value!r}")
    return make("instruction", title, cell=f"%env {name}={value}", argv=None, restart=True, risk="medium")


_URL = re.compile(r"https://[A-Za-z0-9._~:/?#\[\]@&=+-]{1,300}")


def download(title: str, url: str, text: str = "") -> Fix:
    """Something to download and install by hand (a Windows redistributable); the URL comes from the
    knowledge tables, never from error text."""
    if not _URL.fullmatch(url or ""):
        raise UnsafeName(f"not a safe URL: {url!r}")
    return instruction(title, "\n".join(filter(None, [f"Download and install: {url}", text])), risk="low")


# -- installer ownership (issue 4): appended; the functions above are unchanged ------------------------
def conda_reinstall(interpreter: Interpreter, packages: Sequence[str], *, frontend: str = "conda",
                    executable: Optional[str] = None, channel: Optional[str] = None,
                    title: Optional[str] = None) -> Fix:
    """``%conda install -y --force-reinstall`` into the kernel's own prefix: conda puts back the files its
    conda-meta records own (after pip or uv wrote over them). An install, never an uninstall: taking away
    another installer's copy first is an instruction of its own (:func:`instruction`), never runnable."""
    return conda_install(interpreter, packages, frontend=frontend, executable=executable, channel=channel,
                         title=title, reinstall=True)
