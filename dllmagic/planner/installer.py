"""Every install fix made with the tool the environment really has.

Rules make ``pip install`` fixes wherever they see a package to change; whether that command can run is a
fact of the environment, decided here once for all of them: a venv without pip (``python -m venv
--without-pip``, a uv venv) gets ``uv pip install`` where uv owns it or is on PATH, else pip added first with
``ensurepip`` where the interpreter ships it, else a statement of what is missing. A ``%pip`` cell that ends
in "No module named pip" is never offered as the fix.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Sequence

from .. import fixes
from .._record import replace
from ..model import Evidence, Finding, Fix
from . import envfacts

if TYPE_CHECKING:
    from ..diagnosis import Context

__all__ = ["fit_installer"]


def _pip_command(fix: Fix) -> Optional[dict]:
    """The parts of a ``python -m pip install`` fix's argv, or None for any other fix."""
    argv = list(fix.argv or ())
    if fix.kind != "pip" or argv[1:4] != ["-m", "pip", "install"]:
        return None
    out: dict = {"requirements": [], "upgrade": False, "reinstall": False, "index_url": None,
                 "extra_index_url": None, "target": None}
    rest = argv[4:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg in ("--index-url", "--extra-index-url", "--target") and i + 1 < len(rest):
            out[arg[2:].replace("-", "_")] = rest[i + 1]
            i += 2
            continue
        if arg == "--upgrade":
            out["upgrade"] = True
        elif arg == "--force-reinstall":
            out["reinstall"] = True
        elif arg.startswith("-"):
            if arg != "--no-deps":  # (--user: never in a venv, the only place this pass changes)
                return None   # a flag this pass cannot carry over: leave the fix as its rule made it
        else:
            out["requirements"].append(arg)
        i += 1
    return out if out["requirements"] else None


def _pip_cell_lines(fix: Fix) -> Optional[List[List[str]]]:
    """The words of each line of a pip fix that is a cell of '%pip' lines only (an uninstall, then an install:
    fixes.pip_replace), with their double quotes taken off; None for any other fix."""
    if fix.kind != "pip" or fix.argv is not None or not fix.cell:
        return None
    out = []
    for line in fix.cell.split("\n"):
        words = line.split()
        if len(words) < 3 or words[0] != "%pip" or words[1] not in ("install", "uninstall"):
            return None
        out.append([w[1:-1] if len(w) > 1 and w[0] == w[-1] == '"' else w for w in words[1:]])
    return out


def _refit_cell(ctx: "Context", fix: Fix, owner: envfacts.Owner, lines: List[List[str]]) -> Fix:
    """A '%pip' cell (uninstall, install) made with the tool this environment has: uv's own commands, or pip
    added with ensurepip first; else a statement. Never a one-click run (two steps)."""
    it = ctx.interpreter
    exe = fixes._safe_path(it.executable)
    quoted = [[w if w.startswith("-") else fixes._cell_quote(w) for w in words] for words in lines]
    cell = None
    if exe and owner.tool == "uv":
        cell = "\n".join(f'!uv pip {words[0]} --python "{exe}" ' + " ".join(w for w in words[1:] if w != "-y")
                         for words in quoted)
        kind = "uv"
    elif exe and not owner.damaged_pip and envfacts.has_ensurepip(ctx):
        cell = "\n".join([f'!"{exe}" -m ensurepip'] + [f'!"{exe}" -m pip ' + " ".join(words) for words in quoted])
        kind = "pip"
    if cell is None:
        return fixes.instruction(f"{fix.title} (this environment has no pip)",
                                 f"{owner.why}, so these '%pip' lines would fail with 'No module named pip':\n"
                                 f"{fix.cell}\nRun them with a pip or uv that can install into {it.prefix}.",
                                 risk="medium", restart=True)
    return fixes.make(kind, fix.title, cell, None, restart=True, risk=fix.risk)


def _with_fixes(finding: Finding, new: Sequence[Fix]) -> Finding:
    return finding if tuple(new) == tuple(finding.fixes) else replace(finding, fixes=tuple(new))


def _managed_cell(ctx: "Context", fix: Fix) -> Fix:
    """A '%pip' cell (uninstall, install) for an externally managed Python, where pip refuses both lines: the
    statement of the way that works (a virtual environment), never the cell."""
    if _pip_cell_lines(fix) is None:
        return fix
    return fixes.instruction(
        f"{fix.title} in a virtual environment (this Python is externally managed)",
        f"This Python is marked externally managed (PEP 668), so pip refuses these lines here:\n{fix.cell}\n"
        f"Create a virtual environment, install ipykernel and the packages there, and use it as this notebook's "
        f"kernel:\n{ctx.interpreter.executable} -m venv ~/.venvs/notebook\n~/.venvs/notebook/bin/python -m pip "
        f"install ipykernel <the packages>\n~/.venvs/notebook/bin/python -m ipykernel install --user --name "
        f"notebook", risk="medium", restart=True)


def _refit(ctx: "Context", fix: Fix, owner: envfacts.Owner) -> Fix:
    lines = _pip_cell_lines(fix)
    if lines is not None:
        return _refit_cell(ctx, fix, owner, lines)
    command = _pip_command(fix)
    if command is None:
        return fix
    it = ctx.interpreter
    reqs = command["requirements"]
    wheels = [r for r in reqs if r.lower().endswith(".whl") and ("/" in r or "\\" in r)]
    if owner.tool == "uv" and wheels and len(reqs) == 1 and command["reinstall"]:
        # A reinstall from the local wheel a distribution came from (plan.make_fix): the same file, with uv.
        try:
            return fixes.reinstall_wheel_file(it, wheels[0], title=fix.title, uv=envfacts._which(ctx, "uv") or "uv",
                                              runnable=fix.runnable)
        except fixes.UnsafeName:
            return fixes.instruction(f"{fix.title} (this environment has no pip)",
                                     f"{it.prefix} has no pip: reinstall that wheel with uv (uv pip install "
                                     f"--python <this environment's python> --reinstall --no-deps <the wheel>).",
                                     risk="medium", restart=True)
    if owner.tool == "uv":
        return fixes.uv_pip_install(it, reqs, validated=fix.runnable, title=fix.title,
                                    uv=envfacts._which(ctx, "uv") or "uv", upgrade=command["upgrade"],
                                    reinstall=command["reinstall"], index_url=command["index_url"],
                                    extra_index_url=command["extra_index_url"], target=command["target"])
    if owner.damaged_pip:
        return fixes.instruction(
            f"{fix.title} (pip in this environment is damaged)",
            f"pip's metadata {owner.damaged_pip} is there, but its code is gone: '%pip install' fails with 'No "
            f"module named pip', and 'python -m ensurepip' answers 'Requirement already satisfied' and adds "
            f"nothing.\nDelete that folder, then run:\n{it.executable} -m ensurepip\n"
            f"{it.executable} -m pip {' '.join((fix.argv or ())[3:])}\nthen restart the kernel.",
            risk="medium", restart=True)
    if envfacts.has_ensurepip(ctx):
        return fixes.after_ensurepip(fix, it.executable)
    return fixes.instruction(
        f"{fix.title} (this environment has no pip)",
        f"{it.prefix} has no pip, and this Python has no ensurepip to add it (Debian and Ubuntu ship it in "
        f"the python3-venv package), so '%pip install' would fail with 'No module named pip'.\n"
        f"Install pip into it (or recreate the environment with pip), or use uv: "
        f"uv pip install --python {it.executable} {' '.join(reqs)}\nthen restart the kernel.",
        risk="medium", restart=True)


#: Fix kinds that install into the kernel's environment (its site-packages), whatever the tool.
_INSTALL_KINDS = ("pip", "uv", "conda", "mamba")


def _into_site(fix: Fix) -> bool:
    """An install (or reinstall) into the environment's site-packages: not one into a --target folder or the
    user site, which lie elsewhere."""
    argv = fix.argv or ()
    return fix.kind in _INSTALL_KINDS and not any(a in ("--target", "--user", "--prefix-user") for a in argv) \
        and "--target" not in fix.cell and "--user" not in fix.cell


def _read_only(ctx: "Context", fix: Fix, site: str) -> Fix:
    """What an install fix becomes where this user cannot write into ``site``: a statement, no command."""
    import os

    it = ctx.interpreter
    owner = ""
    try:
        import pwd

        owner = pwd.getpwuid(os.stat(ctx.system.host_path(site)).st_uid).pw_name
    except (ImportError, KeyError, OSError):
        pass
    by = f" (it belongs to {owner})" if owner else ""
    from ..report.text import shell_commands

    commands = "\n".join(shell_commands(fix) or [fix.cell])
    return fixes.instruction(
        f"{fix.title} (not writable by you: ask the environment's owner, or use an environment of your own)",
        f"{site} is not writable by this user{by}, so this install would fail with 'Permission denied' "
        f"(and pip does not fall back to the user site here).\nAsk the owner of {it.prefix} to run:\n"
        f"{commands}\nor make an environment of your own, install ipykernel and the packages there, and use it "
        f"as this notebook's kernel:\npython3 -m venv ~/.venvs/mine\n~/.venvs/mine/bin/python -m pip install "
        f"ipykernel <the packages>\n~/.venvs/mine/bin/python -m ipykernel install --user --name mine",
        risk="medium", restart=True)


def fit_installer(ctx: "Context", findings: Sequence[Finding]) -> List[Finding]:
    """The findings with each ``pip install`` fix made runnable in this environment (see the module text)."""
    if ctx.interpreter is None or not ctx.system.live:
        # A pasted text has no environment; a modelled machine's site-packages holds the files it was made
        # from, so whether pip is there is not known: its fixes stay as the rules made them.
        return list(findings)
    site = envfacts.read_only_site(ctx)
    if site is not None:
        return _fit_read_only(ctx, findings, site)
    findings = _without_missing_conda(ctx, findings)
    owner = envfacts.owner(ctx)
    if owner.tool == "externally-managed":
        findings = [_with_fixes(finding, [_managed_cell(ctx, fix) for fix in finding.fixes]) for finding in findings]
        if not envfacts.has_ensurepip(ctx):
            return _venv_without_ensurepip(ctx, findings)
    if owner.has_pip or owner.tool not in ("pip", "uv"):
        return list(findings)
    out = []
    for finding in findings:
        refitted = tuple(_refit(ctx, fix, owner) for fix in finding.fixes)
        if refitted == tuple(finding.fixes):
            out.append(finding)
            continue
        note = Evidence("pip in this environment", "none: " + owner.why, ctx.interpreter.prefix)
        evidence = tuple(finding.evidence) + ((note,) if note not in finding.evidence else ())
        out.append(replace(finding, fixes=refitted, evidence=evidence))
    return out


def _fit_read_only(ctx: "Context", findings: Sequence[Finding], site: str) -> List[Finding]:
    out = []
    note = Evidence("site-packages writable", f"no: {site} is not writable by this user", site)
    pip_ok = envfacts.pip_falls_back_to_user_site(ctx)
    for finding in findings:
        refitted = tuple(_read_only(ctx, fix, site) if _into_site(fix) and not (pip_ok and fix.kind == "pip")
                         else fix for fix in finding.fixes)
        if refitted == tuple(finding.fixes):
            out.append(finding)
            continue
        evidence = tuple(finding.evidence) + ((note,) if note not in finding.evidence else ())
        out.append(replace(finding, fixes=refitted, evidence=evidence))
    return out


def _frontend(fix: Fix) -> Optional[str]:
    """conda, mamba or micromamba: the program a conda-kind fix runs (its cell's magic)."""
    if fix.kind not in ("conda", "mamba"):
        return None
    word = fix.cell.split(" ", 1)[0].lstrip("%!")
    return word if word in ("conda", "mamba", "micromamba") else None


def _without_missing_conda(ctx: "Context", findings: Sequence[Finding]) -> List[Finding]:
    """A '%conda install' where no conda can be found from this kernel (see envfacts.conda_program) becomes a
    statement after the fixes that can run; the others keep their order."""
    out = []
    found: dict = {}
    for finding in findings:
        kept, moved = [], []
        for fix in finding.fixes:
            frontend = _frontend(fix)
            if frontend is None:
                kept.append(fix)
                continue
            if frontend not in found:
                found[frontend] = envfacts.conda_program(ctx, frontend)
            if found[frontend]:
                kept.append(fix)
                continue
            moved.append(fixes.instruction(
                f"{fix.title} (no {frontend} is found from this kernel)",
                f"This environment has conda-meta/, but no {frontend} can be found from this kernel: no "
                f"${'MAMBA_EXE' if 'mamba' in frontend else 'CONDA_EXE'}, none beside its Python, none that "
                f"conda-meta/history names, none on PATH (a conda-pack'ed environment, or one whose conda was "
                f"removed), so '%{frontend} install' would fail.\nRun it with the {frontend} that made this "
                f"environment, from a terminal:\n{frontend} install --prefix {ctx.interpreter.prefix} "
                f"{fix.cell.split(' install ', 1)[-1]}", risk="medium", restart=True))
        if not moved:
            out.append(finding)
            continue
        note = Evidence("conda's program from this kernel",
                        "none found ($CONDA_EXE/$MAMBA_EXE, beside the Python, conda-meta/history, PATH)",
                        ctx.interpreter.prefix)
        evidence = tuple(finding.evidence) + ((note,) if note not in finding.evidence else ())
        out.append(replace(finding, fixes=tuple(kept + moved), evidence=evidence))
    return out


def _venv_without_ensurepip(ctx: "Context", findings: Sequence[Finding]) -> List[Finding]:
    """PEP 668's way out is a virtual environment, but 'python -m venv' stops with 'ensurepip is not available'
    where the interpreter has none (Debian and Ubuntu ship it apart, in python3-venv): each instruction that
    makes a venv says so, and what else makes one."""
    it = ctx.interpreter
    minor = ".".join(it.version.split(".")[:2])
    note = (f"First: this Python has no ensurepip, so '-m venv' below stops with 'ensurepip is not available': on "
            f"Debian and "
            f"Ubuntu install python{minor}-venv (sudo apt install python{minor}-venv), or make the "
            f"environment with uv (uv venv --seed --python {it.executable} <folder>).")
    out = []
    for finding in findings:
        refitted = tuple(
            fixes.instruction(fix.title, note + "\n" + "\n".join(line[2:] if line.startswith("# ") else line
                                                              for line in fix.cell.split("\n")),
                              risk=fix.risk, restart=fix.restart)
            if fix.kind == "instruction" and "-m venv" in fix.cell else fix for fix in finding.fixes)
        if refitted == tuple(finding.fixes):
            out.append(finding)
            continue
        evidence = Evidence("ensurepip in this Python", "none (python -m venv cannot add pip)", it.prefix)
        out.append(replace(finding, fixes=refitted, evidence=tuple(finding.evidence) + (evidence,)))
    return out
