"""What the notebook expects: its metadata, the kernelspec it names, VIRTUAL_ENV / CONDA_PREFIX, the python and
pip first on PATH, requirement files beside it and install commands in the session's history."""
from __future__ import annotations

import os
import sys
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..._record import Record
from ...model import Evidence, ExpectedEnvironment, Interpreter
from ..distributions import normalize
from ..system import System
from .discovery import discover, nb_conda_kernel_env
from .kernelspecs import kernelspec_dirs
from .paths import _which, env_key, prefix_of_python, read_json
from .records import NOT_VISIBLE, Discovery, Kernelspec
from .sources import _ancestors


class PipCommand(Record):
    """An install command found in the session's input history."""

    cell: str             # "In[3]"
    line: str
    tool: str             # pip, python-pip, conda, mamba, uv, %pip, %conda
    packages: Tuple[str, ...]
    shell: bool           # run through the shell (!...): uses PATH's pip, not necessarily the kernel's
    python: Optional[str] = None  # the interpreter the line names (!/x/bin/python -m pip, pip --python X)


_INSTALL_LINE = re.compile(
    r"^\s*(?P<bang>!|%|%%)?\s*(?P<tool>pip3?(?:\.\d+)?|(?P<exe>/[^\s'\"]*/)?python[\d.]*\s+-m\s+pip|conda|mamba|"
    r"micromamba|uv\s+pip)(?:\s+--python\s+(?P<python>/[^\s'\"]+))?"
    r"\s+install\s+(?P<args>.*)$")


def parse_pip_history(history: Sequence[Any]) -> List[PipCommand]:
    """``!pip install ...`` and friends in input cells (each cell a string, or (label, source))."""
    out: List[PipCommand] = []
    for i, cell in enumerate(history or ()):
        if isinstance(cell, (tuple, list)) and len(cell) == 2:
            label, source = str(cell[0]), str(cell[1])
        else:
            label, source = f"In[{i + 1}]", str(cell)
        for line in source.splitlines():
            # IPython's history holds the transformed source: get_ipython().system('pip install x')
            m = re.match(r"^\s*get_ipython\(\)\.(system|run_line_magic)\((['\"])(.*?)\2(?:,\s*(['\"])(.*)\4)?\)",
                         line)
            if m:
                line = ("!" + m.group(3)) if m.group(1) == "system" else f"%{m.group(3)} {m.group(5) or ''}"
            match = _INSTALL_LINE.match(line)
            if not match or not match.group("bang"):
                continue
            tool = re.sub(r"\s+", " ", match.group("tool"))
            python = match.group("python")
            if match.group("exe"):
                python = tool.split(" ")[0]
                tool = tool[len(match.group("exe")):]
            if tool.startswith("python"):
                tool = "python -m pip"
            packages = tuple(a for a in match.group("args").split()
                             if not a.startswith("-") and re.match(r"^[A-Za-z0-9]", a))
            out.append(PipCommand(cell=label, line=line.strip(), tool=tool, packages=packages,
                                  shell=match.group("bang") == "!", python=python))
    return out


class NotebookExpectation(Record):
    """Everything this module learned about the environment the notebook expects (the rules' view)."""

    notebook: Optional[str] = None
    notebook_readable: bool = False
    in_kernel: bool = True          # False in terminal IPython or a script: no notebook is expected there
    notebook_kernelspec: Optional[str] = None
    notebook_display_name: Optional[str] = None
    notebook_language_version: Optional[str] = None
    kernelspec: Optional[Kernelspec] = None          # the kernelspec the notebook names, as found on disk
    kernelspec_runs_this: Optional[bool] = None
    expected_python: Optional[str] = None
    expected_prefix: Optional[str] = None
    variables: Tuple[Tuple[str, str, bool], ...] = ()   # (VAR, value, matches this kernel)
    python_on_path: Optional[str] = None
    python_on_path_prefix: Optional[str] = None
    pip_on_path: Optional[str] = None
    pip_on_path_prefix: Optional[str] = None
    requirement_files: Tuple[str, ...] = ()
    declared: Tuple[Tuple[str, str], ...] = ()        # (file, line) declaring the name asked about
    installs: Tuple[PipCommand, ...] = ()
    foreign_installs: Tuple[Tuple[PipCommand, str], ...] = ()  # (command, prefix it installed into)
    evidence: Tuple[Evidence, ...] = ()
    notes: Tuple[str, ...] = ()

    def to_expected(self, interpreter: Optional[Interpreter]) -> ExpectedEnvironment:
        return ExpectedEnvironment(description=self.describe(interpreter), interpreter=self.expected_python,
                                   kernelspec=self.notebook_kernelspec, evidence=self.evidence)

    def describe(self, interpreter: Optional[Interpreter]) -> str:
        parts = []
        if self.notebook and not self.notebook_readable:
            parts.append(f"The notebook file is {NOT_VISIBLE}.")
        elif not self.notebook and self.in_kernel:
            parts.append(f"The notebook file is {NOT_VISIBLE} (no JPY_SESSION_NAME, __session__ or "
                         f"__vsc_ipynb_file__).")
        if self.notebook_kernelspec:
            shown = self.notebook_display_name or self.notebook_kernelspec
            if self.kernelspec is None:
                parts.append(f"It asks for the kernel '{self.notebook_kernelspec}' ({shown}), which is not "
                             f"installed where this kernel can see Jupyter's kernel folders.")
            elif self.kernelspec_runs_this:
                parts.append(f"It asks for the kernel '{self.notebook_kernelspec}' ({shown}), which runs this "
                             f"kernel's interpreter.")
            elif self.kernelspec_runs_this is False:
                parts.append(f"It asks for the kernel '{self.notebook_kernelspec}' ({shown}), whose kernel.json "
                             f"runs {self.kernelspec.argv[0] if self.kernelspec.argv else '?'}, not this "
                             f"kernel's interpreter.")
        for var, value, same in self.variables:
            if not same:
                parts.append(f"${var} points at {value}, another environment than this kernel's.")
        if self.pip_on_path and self.pip_on_path_prefix is not None and any(
                c.shell and c.tool in ("pip", "pip3") for c in self.installs):
            parts.append(f"'!pip' runs {self.pip_on_path}.")
        for cmd, prefix in self.foreign_installs:
            parts.append(f"{cmd.cell} ran '{cmd.line}', which installed into {prefix}, not into this kernel.")
        if not parts:
            return "Nothing suggests an environment other than this kernel's."
        return " ".join(parts)


def _notebook_path(system: System, user_ns: Optional[Mapping[str, Any]], cwd: Optional[str]
                   ) -> Tuple[Optional[str], str, List[str]]:
    """(notebook path, where it came from, other candidate paths tried)."""
    pm = system.pathmod
    ns = user_ns or {}
    vsc = ns.get("__vsc_ipynb_file__")
    if isinstance(vsc, str) and vsc:
        return vsc, "__vsc_ipynb_file__", []
    session = ns.get("__session__")
    source = "__session__"
    if not (isinstance(session, str) and session):
        session = system.getenv("JPY_SESSION_NAME")
        source = "JPY_SESSION_NAME"
    if not session:
        return None, "", []
    if pm.isabs(session):
        return session, source, []
    # jupyter_server passes the path relative to its root; the kernel starts in the notebook's folder.
    tried = []
    if cwd:
        tried.append(pm.join(cwd, pm.basename(session)))
        tried.append(pm.join(cwd, session))
    for path in tried:
        if system.is_file(path):
            return path, source, tried
    return (tried[0] if tried else session), source, tried


def _read_notebook(system: System, path: str) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    data, problem = read_json(system, path, 256 << 20)
    if problem:
        return None, f"not a notebook: {problem}"
    if not isinstance(data, dict):
        return None, "not a notebook: not a JSON object"
    meta = data.get("metadata")
    return (meta if isinstance(meta, dict) else {}), None


_REQUIREMENT_FILES = ("requirements.txt", "requirements-dev.txt", "environment.yml", "environment.yaml",
                      "pyproject.toml", "pixi.toml", "Pipfile", "setup.cfg")


def _declares(system: System, path: str, names: Sequence[str]) -> Optional[str]:
    try:
        text = system.read_text(path, limit=1 << 20)
    except OSError:
        return None
    wanted = {normalize(n) for n in names if n}
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].strip().strip(",").strip()
        stripped = stripped.lstrip("-").strip().strip("'\"")
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", stripped)
        if match and normalize(match.group(1)) in wanted:
            return line.strip()
    return None


def _in_jupyter_kernel() -> bool:
    """This process is a Jupyter kernel (ipykernel's app started), not terminal IPython or a script; read
    from the loaded modules only (ipywidgets imports ipykernel in terminal IPython too)."""
    app = sys.modules.get("ipykernel.kernelapp")
    try:
        # The singleton's _instance is shared up the class tree (terminal IPython's app sets it too).
        return app is not None and isinstance(getattr(app.IPKernelApp, "_instance", None), app.IPKernelApp)
    except Exception:
        return True


def notebook_expectation(system: System, interpreter: Optional[Interpreter], *,
                         user_ns: Optional[Mapping[str, Any]] = None, history: Optional[Sequence[Any]] = None,
                         cwd: Optional[str] = None, names: Sequence[str] = (),
                         discovery: Optional[Discovery] = None) -> NotebookExpectation:
    """What the notebook expects; ``names`` (import and distribution names) are looked up in requirement files."""
    pm = system.pathmod
    ev: List[Evidence] = []
    notes: List[str] = []
    this_key = env_key(system, interpreter.prefix) if interpreter and interpreter.prefix else None
    fields: Dict[str, Any] = {}
    # Terminal IPython, a script or `ipython file.ipy`: no Jupyter kernel, so no notebook to look for.
    fields["in_kernel"] = not system.live or _in_jupyter_kernel()

    path, source, _ = _notebook_path(system, user_ns, cwd)
    meta: Optional[Dict[str, Any]] = None
    if path:
        fields["notebook"] = path
        meta, problem = _read_notebook(system, path)
        if meta is None:
            ev.append(Evidence("notebook", f"{path}: {NOT_VISIBLE} ({problem})", source))
            if problem and "unreadable" not in problem:
                notes.append(f"notebook {path} left out: {problem}")
        else:
            fields["notebook_readable"] = True
            ev.append(Evidence("notebook", path, source))
    else:
        ev.append(Evidence("notebook", NOT_VISIBLE, "JPY_SESSION_NAME, __session__, __vsc_ipynb_file__ unset"))
    if meta:
        ks = meta.get("kernelspec") if isinstance(meta.get("kernelspec"), dict) else {}
        li = meta.get("language_info") if isinstance(meta.get("language_info"), dict) else {}
        for field_name, table, key, label in (
                ("notebook_kernelspec", ks, "name", "notebook kernelspec"),
                ("notebook_display_name", ks, "display_name", "notebook kernelspec display name"),
                ("notebook_language_version", li, "version", "notebook language version")):
            value = table.get(key)
            if not value:
                continue
            where = f"metadata.{'kernelspec' if table is ks else 'language_info'}.{key}"
            if not isinstance(value, str):
                notes.append(f"notebook {path}: {where} is not a string; left out")
                continue
            fields[field_name] = value
            ev.append(Evidence(label, value, f"{path}: {where}"))

    name = fields.get("notebook_kernelspec")
    if name:
        if discovery is None:
            discovery = discover(system, interpreter, notebook_dir=pm.dirname(path) if path else cwd)
        spec = discovery.kernelspec(name)
        if spec is None:
            env_name = nb_conda_kernel_env(name)
            if env_name is not None:
                for env in discovery.environments:
                    if env.conda and (env.name == env_name or (env_name == "base" and "base" in env.found_by)
                                      or pm.basename(env.prefix) == env_name):
                        spec = Kernelspec(name=name, display_name=fields.get("notebook_display_name") or name,
                                          argv=((env.python or ""), "-m", "ipykernel_launcher", "-f",
                                                "{connection_file}"),
                                          language="python", path="", source="nb_conda_kernels (no kernel.json)",
                                          python=env.python, prefix=env.prefix)
                        break
                if spec is None:
                    notes.append(f"'{name}' is an nb_conda_kernels name, but no conda environment "
                                 f"'{env_name}' was found")
        if spec is not None:
            fields["kernelspec"] = spec
            ev.append(Evidence("kernelspec argv[0]", spec.argv[0] if spec.argv else "",
                               spec.path or spec.source))
            if spec.prefix:
                runs_this = this_key is not None and env_key(system, spec.prefix) == this_key
                fields["kernelspec_runs_this"] = runs_this
                fields["expected_python"] = spec.python
                fields["expected_prefix"] = spec.prefix
                ev.append(Evidence("kernelspec runs this interpreter", "yes" if runs_this else
                                   f"no: it runs the environment {spec.prefix}", spec.path or spec.source))
        else:
            ev.append(Evidence("notebook kernelspec on disk", f"no kernelspec named {name}",
                               ", ".join(f for f, _ in kernelspec_dirs(system, interpreter))))

    variables = []
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV"):
        value = system.getenv(var)
        if not value:
            continue
        if var == "CONDA_DEFAULT_ENV" and not pm.isabs(value):
            prefix_value = system.getenv("CONDA_PREFIX")
            same = prefix_value is not None and this_key is not None and env_key(system, prefix_value) == this_key
        else:
            same = this_key is not None and env_key(system, value) == this_key
        variables.append((var, value, same))
        ev.append(Evidence(var, value + ("" if same else " (not this kernel's environment)"),
                           "environment variable"))
    fields["variables"] = tuple(variables)

    for tool, key in (("python", "python_on_path"), ("pip", "pip_on_path")):
        found = _which(system, tool) or _which(system, tool + "3")
        if not found:
            continue
        prefix = _pyenv_shim_prefix(system, found, cwd)
        if prefix is None:
            prefix = _script_prefix(system, found) if tool == "pip" else prefix_of_python(system, found)
        fields[key] = found
        fields[key + "_prefix"] = prefix
        same = prefix is not None and this_key is not None and env_key(system, prefix) == this_key
        ev.append(Evidence(f"{tool} first on PATH", found + ("" if same else
                           f" (belongs to {prefix or 'an unknown interpreter'}, not this kernel)"), "PATH"))

    folders = []
    if path:
        folders.append(pm.dirname(path))
    if cwd and cwd not in folders:
        folders.append(cwd)
    req_files, declared = [], []
    for folder in folders:
        for fname in _REQUIREMENT_FILES:
            fpath = pm.join(folder, fname)
            if system.is_file(fpath):
                req_files.append(fpath)
                line = _declares(system, fpath, names) if names else None
                if line:
                    declared.append((fpath, line))
                    ev.append(Evidence("declared in", line, fpath))
    if req_files:
        ev.append(Evidence("requirement files", ", ".join(req_files), "beside the notebook"))
    fields["requirement_files"] = tuple(req_files)
    fields["declared"] = tuple(declared)

    installs = parse_pip_history(history or ())
    fields["installs"] = tuple(installs)
    foreign = []
    for cmd in installs:
        if not cmd.shell and not cmd.python:
            continue
        if cmd.python:  # the line names its interpreter: %pip --python X, !/x/bin/python -m pip
            prefix = prefix_of_python(system, cmd.python)
        elif cmd.tool in ("pip", "pip3") or cmd.tool.startswith("pip"):
            prefix = fields.get("pip_on_path_prefix")
        elif cmd.tool == "python -m pip":
            prefix = fields.get("python_on_path_prefix")
        elif cmd.tool in ("conda", "mamba", "micromamba"):
            prefix = system.getenv("CONDA_PREFIX")
        else:
            prefix = None
        if prefix and this_key is not None and env_key(system, prefix) != this_key:
            foreign.append((cmd, prefix))
            ev.append(Evidence("install in history ran another environment's installer",
                               f"{cmd.line} → {prefix}", cmd.cell))
        elif names and any(normalize(p.split("=")[0].split("<")[0].split(">")[0]) in
                           {normalize(n) for n in names} for p in cmd.packages):
            ev.append(Evidence("install in history", cmd.line, cmd.cell))
    fields["foreign_installs"] = tuple(foreign)
    return NotebookExpectation(evidence=tuple(ev), notes=tuple(notes), **fields)


def _pyenv_shim_prefix(system: System, path: str, cwd: Optional[str]) -> Optional[str]:
    """The Python a pyenv shim runs: PYENV_VERSION, else .python-version up from cwd, else the global."""
    pm = system.pathmod
    folder = pm.dirname(path)
    if pm.basename(folder) != "shims" or not system.is_dir(pm.join(pm.dirname(folder), "versions")):
        return None
    root = pm.dirname(folder)
    version = (system.getenv("PYENV_VERSION") or "").split(":")[0].strip()
    files = [pm.join(d, ".python-version") for d in (_ancestors(system, cwd, None, depth=32) if cwd else [])]
    files.append(pm.join(root, "version"))
    for candidate in files:
        if version:
            break
        try:
            version = system.read_text(candidate, limit=4096).split()[0].strip()
        except (OSError, IndexError):
            continue
    if not version or version == "system":
        return None
    prefix = pm.join(root, "versions", version)
    return prefix if system.is_dir(prefix) else None


def _script_prefix(system: System, script: str) -> Optional[str]:
    """The environment a console script (pip) belongs to: its shebang's interpreter, else its folder."""
    if system.platform != "windows":
        try:
            head = system.read_text(script, limit=512)
        except OSError:
            head = ""
        if head.startswith("#!"):
            first = head[2:].splitlines()[0].strip()
            # pip's launcher for long paths: '#!/bin/sh' + "'''exec' /path/python ..."
            match = re.search(r"exec'?\s+['\"]?(/[^'\" ]+)", head)
            exe = first.split()[0] if first and not first.startswith("/bin/sh") else (match.group(1) if match else "")
            if exe.endswith("/env") and len(first.split()) > 1:
                exe = _which(system, first.split()[1]) or ""
            if exe:
                return prefix_of_python(system, exe)
    return prefix_of_python(system, script)


def expected_environment(system: Optional[System], interpreter: Optional[Interpreter], *,
                         user_ns: Optional[Mapping[str, Any]] = None, history: Optional[Sequence[Any]] = None,
                         cwd: Optional[str] = None, names: Sequence[str] = ()) -> ExpectedEnvironment:
    """The environment the notebook expects, as the report shows it. Never raises."""
    try:
        system = system or System.current()
        if cwd is None and system.live:
            cwd = os.getcwd()
        exp = notebook_expectation(system, interpreter, user_ns=user_ns, history=history, cwd=cwd, names=names)
        return exp.to_expected(interpreter)
    except Exception as exc:  # a fact we cannot read is a sentence in the report, never a crash
        if os.environ.get("DLLMAGIC_STRICT") == "1":
            raise
        return ExpectedEnvironment(description=f"The notebook's environment is {NOT_VISIBLE} "
                                               f"({type(exc).__name__}: {exc}).")
