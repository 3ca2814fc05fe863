"""The only place where commands are made.

Every command is an argv list that starts with the kernel's own interpreter (``python -m pip``), built from
names validated as PEP 508 requirements; the notebook cell shown beside it is quoted for the kernel's
platform. Nothing here ever joins error text into a shell line.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Callable, Optional, Sequence, Tuple

from ._requirement import plain_requirement, starts_badly
from .model import Fix, Interpreter

# Characters a cell line must never carry: shells expand them, IPython expands {..} and $.. in magics.
_UNSAFE = re.compile(r"[\"'`$\\{}!%;&|\n\r\t]")


class UnsafeName(ValueError):
    """A name that is not a valid PEP 508 requirement (or carries characters we never quote)."""


class NotAProjectName(UnsafeName):
    """A well-formed requirement whose project name an installer would read as a path or a local archive
    (``setup.zip``, ``x.whl``): the install makers answer it with an instruction, never a command."""


# -- the one gate every text passes before it enters a cell line or an argv element ---------------------
#: Where ``str.splitlines`` breaks a text, and so where IPython starts a new cell line: a name holding one
#: of these could end a comment line and start a line that runs.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
#: Unicode categories never let into a cell or an argv: control characters (Cc), format characters such as
#: bidi overrides and zero-width joiners (Cf), line and paragraph separators (Zl, Zp) and lone surrogates
#: (Cs: an undecodable file name).
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def unsafe_character(text: str) -> Optional[str]:
    """The first character of ``text`` that may not enter a cell line or an argv, as U+XXXX; None if none."""
    if text.isascii():
        match = _ASCII_CONTROL.search(text)
        return f"U+{ord(match.group()):04X}" if match else None
    for ch in text:
        if ch in LINE_BREAKS or unicodedata.category(ch) in FORBIDDEN_CATEGORIES:
            return f"U+{ord(ch):04X}"
    return None


def check_text(text: str, what: str = "text") -> str:
    """``text`` if it holds no line separator, control or format character; else :class:`UnsafeName`.

    Every name, path, interpreter and requirement that this module puts into a cell line or an argv passes
    here (and :func:`make` checks every finished cell and argv again)."""
    if not isinstance(text, str):
        raise UnsafeName(f"{what} is not text: {text!r}")
    bad = unsafe_character(text)
    if bad:
        raise UnsafeName(f"{what} holds the character {bad} (a line break, control or format character), "
                         f"so it is never put into a cell or a command: {text!r}")
    return text


def check_cell(cell: str) -> str:
    """A cell whose only line breaks are ``\\n`` between lines that each pass :func:`check_text`."""
    for line in cell.split("\n"):
        check_text(line, "a cell line")
    return cell


def escape_unsafe(text: str) -> str:
    """``text`` with every character :func:`check_text` refuses written as a Python escape (for comments)."""
    if not unsafe_character(text):
        return text
    return "".join(ch.encode("unicode_escape").decode("ascii")
                   if (ch in LINE_BREAKS or unicodedata.category(ch) in FORBIDDEN_CATEGORIES) else ch
                   for ch in text)


#: File name endings pip (and conda) read as a file to install rather than a project name: ``pip install
#: setup.zip`` unpacks ./setup.zip and runs its setup.py. pip's list of archive endings, plus eggs and conda's.
ARCHIVE_SUFFIXES = (".zip", ".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tlz",
                    ".tar.lz", ".tar.lzma", ".tar", ".egg", ".conda")


def _not_a_project_name(name: str) -> Optional[str]:
    """Why ``name`` could be read as a path or a file rather than a PEP 508 project name; None if it cannot."""
    if "/" in name or "\\" in name:
        return "it is a path"
    if name.startswith(("-", ".")):
        return "it starts with '-' or '.'"
    if ".." in name:
        return "it holds '..'"
    if name.lower().endswith(ARCHIVE_SUFFIXES):
        return "it names an archive file"
    return None


def validate_requirement(text: str) -> str:
    """The requirement text, if it is a plain PEP 508 requirement without markers or URLs, whose project
    name cannot be read as a path or an archive."""
    if not isinstance(text, str) or not text or len(text) > 200 or _UNSAFE.search(text) \
            or unsafe_character(text):
        raise UnsafeName(f"not a safe requirement: {text!r}")
    plain = plain_requirement(text)
    if plain is not None:  # NAME or NAME==RELEASE: packaging would give back the text as it is
        why = _not_a_project_name(plain[0])
        if why:
            raise NotAProjectName(f"not offered as a package name: {plain[0]!r} ({why})")
        return text
    if starts_badly(text):
        raise UnsafeName(f"not a valid requirement: {text!r} (a requirement starts with a letter or a digit)")
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise UnsafeName(f"not a valid requirement: {text!r} ({exc})") from None
    if req.url or req.marker:
        raise UnsafeName(f"requirements with URLs or markers are not offered: {text!r}")
    why = _not_a_project_name(req.name)
    if why:
        raise NotAProjectName(f"not offered as a package name: {req.name!r} ({why})")
    return str(req)


def validate_name(name: str) -> str:
    """A distribution or import name: letters, digits and . _ - only (PEP 508 names), never a path or an
    archive file name."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,198}[A-Za-z0-9])?", name):
        raise UnsafeName(f"not a valid name: {name!r}")
    why = _not_a_project_name(name)
    if why:
        raise NotAProjectName(f"not offered as a package name: {name!r} ({why})")
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
    """The one maker of fixes: the cell and every argv element pass :func:`check_text` (raises UnsafeName)."""
    argv_t: Optional[Tuple[str, ...]] = tuple(argv) if argv is not None else None
    check_cell(cell)
    for arg in argv_t or ():
        check_text(arg, "a command argument")
    return Fix(id=_fix_id(kind, cell, argv_t), kind=kind, title=title, cell=cell, argv=argv_t,
               restart=restart, risk=risk, runnable=runnable and argv_t is not None)


def _refused_install(exc: NotAProjectName) -> Fix:
    """What an install maker offers for a name that an installer would read as a file: the reason, no command."""
    return instruction(
        "No install is offered for that name: it is not a package name",
        f"{exc}.\nAn installer given this name would read it as a local file or folder (an archive's setup.py "
        f"runs when pip builds it), not as a project on the package index.\nCheck which project really "
        f"provides the module, and where the metadata with this name came from.", risk="medium")


def _refusing(maker: Callable[..., Fix]) -> Callable[..., Fix]:
    """Install makers answer a path or archive name with :func:`_refused_install` (other unsafe text raises)."""
    import functools

    @functools.wraps(maker)
    def wrapper(*args: object, **kwargs: object) -> Fix:
        try:
            return maker(*args, **kwargs)
        except NotAProjectName as exc:
            return _refused_install(exc)
    return wrapper


@_refusing
def pip_install(interpreter: Optional[Interpreter], requirements: Sequence[str], *, validated: bool,
                restart: bool = True, upgrade: bool = False, reinstall: bool = False,
                title: Optional[str] = None, index_url: Optional[str] = None,
                extra_index_url: Optional[str] = None, target: Optional[str] = None, user: bool = False) -> Fix:
    """``%pip install`` into the kernel's own interpreter (``target``: into that folder, ``--target``, replacing
    what is there).

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
    flags += _target_flags(target) + (["--user"] if user and not target else [])
    cell = " ".join(["%pip install", *(f'"{f}"' if f == target else f for f in flags),
                     *(_cell_quote(r) for r in reqs)])
    title = title or f"Install {', '.join(reqs)} into this kernel's environment"
    if interpreter is None or unsafe_character(interpreter.executable or "") or not interpreter.executable:
        # Explaining a pasted text: the interpreter is unknown, so there is no command, only the cell (which
        # IPython's %pip runs with the kernel's own interpreter). The same when its path is not fit for argv.
        return make("pip", title, cell, None, restart=restart)
    argv = [interpreter.executable, "-m", "pip", "install", *flags, *reqs]
    if interpreter.environment_kind == "system-externally-managed":
        # PEP 668: pip refuses here; we never add --break-system-packages.
        return instruction(
            f"Install {', '.join(reqs)} in a virtual environment (this Python is externally managed)",
            "This interpreter is marked externally managed (PEP 668: its packages belong to what installed it, "
            "the operating system, Homebrew or uv), so pip refuses to change them.\nCreate a virtual environment, install ipykernel and the package there, register it as a "
            "kernel and switch this notebook to it:\n"
            f"{interpreter.executable} -m venv ~/.venvs/notebook\n"
            f"~/.venvs/notebook/bin/python -m pip install ipykernel {' '.join(reqs)}\n"
            "~/.venvs/notebook/bin/python -m ipykernel install --user --name notebook",
            risk="medium")
    risky = interpreter.environment_kind in ("system",)
    return make("pip", title, cell, argv,
                restart=restart, risk="medium" if risky else "low", runnable=validated and not risky)


def after_ensurepip(fix: Fix, executable: str) -> Fix:
    """``fix`` (a pip install) for an environment without pip: the cell adds pip with ensurepip first. Not
    runnable as one command (its argv is the install alone, which needs the first step)."""
    exe = _safe_path(executable)
    # A wheel file's path (reinstall_wheel_file) goes into the '!' lines only when nothing in it expands there.
    paths_unsafe = any(not _safe_path(a) for a in (fix.argv or ())[4:] if "/" in a or "\\" in a)
    if not exe or not fix.argv or paths_unsafe:
        return instruction(f"{fix.title} (this environment has no pip)",
                           f"Add pip first with this interpreter: python -m ensurepip\nthen run: {fix.cell}",
                           risk="medium", restart=fix.restart)
    words = [a if a.startswith("-") else _cell_quote(a) for a in (fix.argv or ())[3:]]
    cell = f'!"{exe}" -m ensurepip\n!"{exe}" -m pip ' + " ".join(words)
    return make("pip", f"Add pip with ensurepip (this environment has none), then: {fix.title[:1].lower()}"
                       f"{fix.title[1:]}", cell, fix.argv, restart=fix.restart, risk=fix.risk, runnable=False)


def _target_flags(target: Optional[str]) -> list:
    """--target FOLDER --upgrade (pip replaces the packages already in that folder only with --upgrade)."""
    if not target:
        return []
    if not _safe_path(target):
        raise UnsafeName(f"not a folder put into a command: {target!r}")
    return ["--target", target, "--upgrade"]


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
    """Rename ``path`` to ``new_path`` (chosen free by :func:`free_name`). The cell never overwrites: on
    POSIX os.rename replaces an existing file silently, so the cell checks again when it runs."""
    check_text(path, "the path to rename")
    check_text(new_path, "the new name")
    # repr() makes a Python string literal of any path, whatever quotes it holds.
    cell = (f"import os\nsrc, dst = {path!r}, {new_path!r}\n"
            "if os.path.lexists(dst):\n"
            "    raise FileExistsError('not renamed: ' + dst + ' exists; choose another free name')\n"
            "os.rename(src, dst)")
    return make("rename", title, cell=cell, argv=None, restart=True, risk="medium")


def free_name(path: str, exists: Callable[[str], bool], pathmod: object, *, prefix: str = "my_",
              tries: int = 10) -> Optional[str]:
    """A name for ``path`` that nothing on disk has: ``my_requests.py``, else ``my_requests_1.py`` ...;
    None when all ``tries`` are taken (the fix then refuses and says why)."""
    pm = pathmod
    head, last = pm.split(path.rstrip("/\\"))   # type: ignore[attr-defined]
    stem, dot, ext = last.partition(".")
    for i in range(tries):
        name = f"{prefix}{stem}{'_' + str(i) if i else ''}{dot}{ext}"
        candidate = pm.join(head, name)  # type: ignore[attr-defined]
        if not exists(candidate):
            return candidate
    return None


def instruction(title: str, text: str = "", risk: str = "low", restart: bool = False) -> Fix:
    # Comment lines only: splitlines() cuts at every line separator and each piece becomes a comment; any
    # other control or format character is written as its escape.
    cell = "\n".join("# " + escape_unsafe(line) for line in text.splitlines()) if text else ""
    return make("instruction", title, cell=cell, argv=None, risk=risk, restart=restart)


# -- environments (issue 4): appended; the functions above are unchanged ------------------------------
# A path shown in a `!` cell line: double quotes protect spaces; anything a shell or IPython's `!`/`$`/`{}`
# expansion would act on is refused, and then only the argv (never a shell line) is offered.
_UNSAFE_PATH = re.compile(r"[\"'`$!{}%;&|<>^\n\r\t*?]")


def _safe_path(path: str) -> Optional[str]:
    return None if not path or _UNSAFE_PATH.search(path) or len(path) > 400 or unsafe_character(path) else path


def validate_kernel_name(name: str) -> str:
    """A kernelspec name as jupyter_client accepts it: letters, digits, '.', '_', '-' (never '.' first: '..'
    as ``--name`` would write the kernelspec one folder up)."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}", name):
        raise UnsafeName(f"not a valid kernel name: {name!r}")
    return name


def _validate_display_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9 ._()\[\]:+/-]{1,100}", text or ""):
        raise UnsafeName(f"not a safe display name: {text!r}")
    return text


@_refusing
def conda_install(interpreter: Interpreter, packages: Sequence[str], *, frontend: str = "conda",
                  executable: Optional[str] = None, channel: Optional[str] = None,
                  title: Optional[str] = None, reinstall: bool = False, validated: bool = True) -> Fix:
    """``%conda install`` (or ``%mamba``/``%micromamba``) into the kernel's own prefix.

    IPython's conda magics add ``--prefix sys.prefix`` themselves; the argv states the prefix outright.
    ``reinstall``: ``--force-reinstall`` (see :func:`conda_reinstall`). ``validated``: as for
    :func:`pip_install`, only a name known from trusted metadata or the tables gets a Run button.
    """
    if frontend not in ("conda", "mamba", "micromamba"):
        raise UnsafeName(f"not a conda front end: {frontend!r}")
    reqs = [validate_requirement(p) for p in packages]
    flags = ["-y", "--force-reinstall"] if reinstall else ["-y"]
    if channel:
        flags += ["-c", validate_name(channel)]
    cell = " ".join([f"%{frontend} install", *flags, *(_cell_quote(r) for r in reqs)])
    argv: Optional[list] = [executable or frontend, "install", *flags, "--prefix", interpreter.prefix, *reqs]
    if any(unsafe_character(a or "") or not a for a in (executable or frontend, interpreter.prefix)):
        argv = None   # a prefix or conda path not fit for argv: the cell only (IPython's %conda adds the prefix)
    if title is None:
        title = (f"Reinstall {', '.join(reqs)} with {frontend}, which owns this environment" if reinstall
                 else f"Install {', '.join(reqs)} with {frontend} into this kernel's environment")
    return make("mamba" if frontend in ("mamba", "micromamba") else "conda", title,
                cell, argv, restart=True, risk="low", runnable=validated and argv is not None)


@_refusing
def uv_pip_install(interpreter: Interpreter, requirements: Sequence[str], *, validated: bool,
                   uv: str = "uv", title: Optional[str] = None, upgrade: bool = False, reinstall: bool = False,
                   index_url: Optional[str] = None, extra_index_url: Optional[str] = None,
                   target: Optional[str] = None) -> Fix:
    """``uv pip install --python <this interpreter>``: for uv environments, which have no pip."""
    reqs = [validate_requirement(r) for r in requirements]
    flags = (["--upgrade"] if upgrade or target else []) + (["--reinstall", "--no-deps"] if reinstall else [])
    flags += _index_flags(index_url, extra_index_url)
    flags += _target_flags(target)[:2]
    bad = unsafe_character(uv or "") or unsafe_character(interpreter.executable or "")
    if bad or not uv or not interpreter.executable:
        return instruction(f"Install {', '.join(reqs)} with uv into this kernel's environment",
                           f"No command is offered: the interpreter's path holds {bad or 'nothing'}, which is "
                           f"never put into a command.\nRun 'uv pip install --python <this kernel's python> "
                           f"{' '.join(reqs)}' in a terminal.", risk="medium")
    argv = [uv, "pip", "install", "--python", interpreter.executable, *flags, *reqs]
    exe = _safe_path(interpreter.executable)
    cell = (f'!uv pip install --python "{exe}" ' + " ".join([*(f'"{f}"' if f == target else f for f in flags),
                                                              *(_cell_quote(r) for r in reqs)])) if exe else ""
    return make("uv", title or f"Install {', '.join(reqs)} with uv into this kernel's environment", cell, argv,
                restart=True, risk="low", runnable=validated)


def reinstall_wheel_file(interpreter: Interpreter, path: str, *, title: str, uv: Optional[str] = None,
                         runnable: bool = True) -> Fix:
    """Reinstall from the local wheel file ``path`` (what direct_url.json says it came from), with pip or, given
    ``uv``, with uv. Only a wheel: pip builds an sdist by running its code. The path is one argv element; the
    cell is ``%pip``/``!uv`` with the path in double quotes where it holds nothing a shell or IPython would
    expand, else Python code with the argv as string literals."""
    check_text(path, "the wheel's path")
    if not path.lower().endswith(".whl") or not re.match(r"(/|[A-Za-z]:[/\\])", path):
        raise UnsafeName(f"not an absolute wheel path: {path!r}")
    exe = interpreter.executable or ""
    if unsafe_character(exe) or not exe or (uv is not None and (unsafe_character(uv) or not uv)):
        raise UnsafeName(f"not a safe interpreter or uv path: {exe!r}, {uv!r}")
    if uv is not None:
        kind, argv = "uv", [uv, "pip", "install", "--python", exe, "--reinstall", "--no-deps", path]
    else:
        kind, argv = "pip", [exe, "-m", "pip", "install", "--force-reinstall", "--no-deps", path]
    if _safe_path(path) and _safe_path(exe):
        cell = (f'!uv pip install --python "{exe}" --reinstall --no-deps "{path}"' if uv is not None
                else f'%pip install --force-reinstall --no-deps "{path}"')
    else:
        cell = "import subprocess\nsubprocess.run([" + ", ".join(repr(a) for a in argv) + "], check=True)"
    return make(kind, title, cell, argv, restart=True, risk="low" if runnable else "medium", runnable=runnable)


def kernel_switch(kernelspec_name: str, display_name: str) -> Fix:
    """Switch this notebook to another kernel. The front end applies it where it can; elsewhere the cell
    says where to click."""
    name = validate_kernel_name(kernelspec_name)
    # The display name comes from a kernel.json or a notebook's metadata: any line separator in it (\x85,
    # \u2028 ...) would end the comment line below and start one that runs.
    shown = display_name if (isinstance(display_name, str) and 0 < len(display_name) <= 100
                             and not unsafe_character(display_name)) else name
    cell = f"# Kernel > Change Kernel... > {shown}   (kernelspec: {name})"
    fix = make("kernel-switch", f"Switch this notebook to the kernel '{shown}'", cell=cell, argv=None,
               restart=True, risk="low")
    return fix.replace(kernel=name)   # the front end switches to this name, never to cell text


def register_kernel(python: str, name: str, display_name: str, has_ipykernel: bool, *, has_pip: bool = True,
                    uv: bool = False) -> Fix:
    """Register an environment as a Jupyter kernel with ITS interpreter (``-m ipykernel install --user``).

    When that environment has no ipykernel, the cell installs it there first, with what the environment has:
    its pip; ``uv pip install --python`` where it has none and ``uv`` (a uv venv, uv on PATH); else pip added
    with ensurepip first. The argv is the register step (the front end runs the lines of the cell, a machine
    runs the argv after installing ipykernel).
    """
    name = validate_kernel_name(name)
    display = _validate_display_name(display_name)
    check_text(python, "the environment's interpreter")
    argv = [python, "-m", "ipykernel", "install", "--user", "--name", name, "--display-name", display]
    exe = _safe_path(python)
    lines = []
    if exe:
        if not has_ipykernel and has_pip:
            lines.append(f'!"{exe}" -m pip install ipykernel')
        elif not has_ipykernel and uv:
            lines.append(f'!uv pip install --python "{exe}" ipykernel')
        elif not has_ipykernel:
            lines += [f'!"{exe}" -m ensurepip', f'!"{exe}" -m pip install ipykernel']
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
    text = (f"This Python is marked externally managed (PEP 668: the operating system, Homebrew or uv manages "
            f"it), so pip refuses to install into it.\n"
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


@_refusing
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


# -- verdicts (issue 17): appended; the functions above are unchanged --------------------------------
def unset_pythonpath(folder: str, current: str, sep: str = ":") -> Fix:
    """Take ``folder`` off PYTHONPATH: an instruction (PYTHONPATH is read when the kernel starts, so only
    the shell, profile or kernelspec that starts Jupyter can change it; a ``%env`` cell would not)."""
    rest = [p for p in current.split(sep) if p and p.rstrip("/\\") != folder.rstrip("/\\")]
    value = sep.join(rest)
    if not rest:
        line = "unset PYTHONPATH"
    elif _UNSAFE_PATH.search(value) or not value.isprintable():
        # A shell would act on what the value holds ($(...), backticks, ';', a newline): no line to copy.
        line = ("(no command is given: the rest of PYTHONPATH holds characters a shell acts on; edit it by hand, "
                "keeping the other folders)")
    else:
        import shlex

        line = "export PYTHONPATH=" + shlex.quote(value)
    return instruction(f"Take {folder} off PYTHONPATH",
                       f"PYTHONPATH={current} puts {folder} before the installed packages.\n"
                       f"Where Jupyter is started (shell profile, kernel.json 'env', .env file):\n{line}\n"
                       f"then restart Jupyter and the kernel.")
