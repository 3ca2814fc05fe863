"""The install fix for a missing module, or the reason none is offered."""
from __future__ import annotations

from ... import fixes
from .. import Context


def _pip_or_plain(ctx: Context, requirements, *, reinstall: bool, title: str):
    """The planned install, else the plain one; a name no requirement can hold (read from a metadata folder's
    name: ``evil$(x)-1.0.dist-info``) gets no command, only what is known."""
    from .._common import pip

    try:
        return pip(ctx, list(requirements), validated=True, reinstall=reinstall, title=title) or fixes.pip_install(
            ctx.interpreter, requirements, validated=True, reinstall=reinstall, title=title)
    except fixes.UnsafeName:
        return fixes.instruction(f"{title} by hand", "No command is offered: the distribution's name, read from "
                                 "its metadata folder, is not a valid package name, so it is never put into a "
                                 "command.\nFind which project that metadata belongs to and reinstall it by its "
                                 "real name.", risk="medium")


def _install_or_explain(ctx: Context, module: str, dist: str, validated: bool):
    """``pip install DIST`` only for a name known to be a distribution (installed metadata, the import-name
    table); an unknown name is not sent to the index, where it may be an unrelated project."""
    try:
        fixes.validate_requirement(dist)
    except fixes.UnsafeName:
        # ``café``: a valid Python identifier, but PEP 508 names are ASCII letters, digits and . _ -. A name
        # copied from a web page may hold a look-alike letter (Cyrillic 'а' for 'a'): each is named.
        import unicodedata

        odd = [f"'{c}' (U+{ord(c):04X} {unicodedata.name(c, 'unnamed')})" for c in dict.fromkeys(dist) if ord(c) > 127]
        return fixes.instruction(
            f"Find the distribution that provides '{dist}'",
            f"'{dist}' is a valid import name but not a valid package (distribution) name, so there is no "
            f"'pip install' to offer for it." + (f" It holds {', '.join(odd[:4])}: if the name was copied, "
                                                 f"retype it in ASCII letters." if odd else "") +
            "\nFind the project that provides this module and install it by its distribution name.")
    if not validated and ctx.cache.get("online") and ctx.interpreter is not None:
        # Asked for (--online): the index is the third place that can say the name is a distribution.
        from ...facts.distributions import normalize
        from ..preflight import pip_report

        report = pip_report(ctx, dist)
        found = [i.get("metadata") or {} for i in report.get("install") or ()]
        hit = next((m for m in found if normalize(m.get("name") or "") == normalize(dist)), None)
        if hit is not None:
            from .._common import pip

            fix = pip(ctx, [dist], validated=True,
                      title=f"Install {hit['name']} {hit.get('version', '')} from the package index (check that "
                            f"this project is the one that provides '{module.split('.')[0]}')".replace("  ", " "))
            if fix is not None:
                return fix
    if validated:
        from .._common import pip

        fix = pip(ctx, [dist], validated=True)
        if fix is not None:
            return fix
    top = module.split(".")[0]
    return fixes.instruction(
        f"Find out what provides '{top}' before installing anything",
        f"'{top}' is not a distribution dllmagic knows, so no install is offered: a package index may hold an "
        f"unrelated project of that name.\nIf it is your own compiled extension or a local package, build it for "
        f"this interpreter (pip install -e <its folder>) or add its folder to sys.path; if it is a vendor's binary, "
        f"get the vendor's build for this Python; if it is a submodule of a package, install that package.\n"
        f"'dlldoctor check {top} --online' asks the index what it holds under that name.")
