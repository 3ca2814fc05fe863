"""NumPy: extensions built against another NumPy ABI, and names removed from the numpy namespace.

Cause ids: ``numpy-2-abi`` (an extension built for NumPy 1.x under NumPy 2, or the reverse) and
``numpy-alias-removed`` (``module 'numpy' has no attribute 'float'``).

The offending package is found from the failure (the module being imported, the extension file, the
traceback's site-packages paths); on the kernel's machine every installed distribution is also checked
against ``knowledge/numpy2_support.json`` (the first release of it built for NumPy 2).
"""
from __future__ import annotations

import re
from typing import Iterable, List, Optional, Tuple

from .. import fixes
from ..facts.distributions import normalize
from ..knowledge import tables as knowledge_tables
from ..model import Evidence, Finding, Fix
from . import Context, docs_for, rule
from ._common import detail, distribution_for_folder, installed, kernel_evidence, paths_in_text, pip, \
    site_folder_of

__all__ = ["CAUSES", "offending_packages"]

CAUSES = ("numpy-2-abi", "numpy-alias-removed")

_NUMPY_FOLDERS = ("numpy", "numpy.libs", "_multiarray_umath")


def _version_lt(a: str, b: str) -> bool:
    try:
        from packaging.version import Version

        return Version(a) < Version(b)
    except Exception:
        return knowledge_tables.version_key(a) < knowledge_tables.version_key(b)


def offending_packages(ctx: Context) -> List[Tuple[str, Optional[str], str]]:
    """(distribution, installed version or None, how we know) of the packages behind a NumPy ABI failure."""
    out: List[Tuple[str, Optional[str], str]] = []
    seen = set()

    def add(name: str, version: Optional[str], how: str) -> None:
        if normalize(name) not in seen and normalize(name) != "numpy":
            seen.add(normalize(name))
            out.append((name, version, how))

    failure = ctx.failure
    folders: List[str] = []
    for path in paths_in_text(ctx):
        folder = site_folder_of(path)
        if folder and folder not in _NUMPY_FOLDERS and folder not in folders:
            folders.append(folder)
    top = (failure.module or "").split(".")[0] if failure else ""
    if top and top not in _NUMPY_FOLDERS and top not in folders:
        folders.insert(0, top)
    # Innermost frames name the extension actually loading; the outer ones only import it.
    for folder in reversed(folders):
        name, validated, source = distribution_for_folder(ctx, folder)
        dist = installed(ctx, name)
        add(dist.name if dist else name, dist.version if dist else None,
            f"the traceback ({folder})" if validated or dist else "the traceback (folder name)")
    if ctx.interpreter is not None:
        table = knowledge_tables.numpy2_support()
        for dist in ctx.distributions.all():
            entry = table.get(dist.key)
            if entry and _version_lt(dist.version, entry["first_release"]):
                add(dist.name, dist.version, f"installed {dist.version} predates {entry['first_release']}, its "
                                             f"first release built for NumPy 2")
    return out


def _numpy_version(ctx: Context) -> Tuple[Optional[str], str]:
    dist = installed(ctx, "numpy")
    if dist is not None:
        return dist.version, dist.path
    version = ctx.failure.version if ctx.failure else None
    if version and re.match(r"^\d+\.\d+", version):
        return version, "the error message"
    return None, ""


def _direction(ctx: Context, evidence: List[Evidence]) -> Optional[str]:
    """Which NumPy the extension was built against, relative to the running one, from the message's numbers:
    'newer' (upgrade NumPy), 'older' (NumPy 1.x build under NumPy 2), or None when the text carries none."""
    # The signature names the runtime size 'actual_size' (older records: 'got_size').
    expected, got = detail(ctx, "expected_size"), detail(ctx, "actual_size") or detail(ctx, "got_size")
    compiled_api, numpy_api = detail(ctx, "compiled_api"), detail(ctx, "numpy_api")
    if compiled_api and numpy_api:
        evidence.append(Evidence("C API version", f"built against {compiled_api}, this NumPy has {numpy_api}",
                                 "the error message"))
        built, running = int(compiled_api, 0), int(numpy_api, 0)
        return "newer" if built > running else ("older" if built < running else None)
    if expected and got:
        struct = detail(ctx, "struct") or "dtype"
        evidence.append(Evidence(f"numpy.{struct} size", f"the extension's C header: {expected} bytes; the running "
                                 f"NumPy: {got} bytes", "the error message"))
        header = knowledge_tables.numpy_struct_size(struct, int(expected))
        runtime = knowledge_tables.numpy_struct_size(struct, int(got))
        for label, row in (("built against", header), ("running", runtime)):
            if row:
                evidence.append(Evidence(f"numpy.{struct} of {row['size']} bytes", f"NumPy {row['numpy']} ({label})",
                                         f"knowledge/numpy_struct_sizes.json#{row['id']}"))
        if header:
            ctx.cache["numpy_built_series"] = header["numpy"]
        if header and runtime and header["numpy"] != runtime["numpy"]:
            return "newer" if header["numpy"] > runtime["numpy"] else "older"
        return None
    return None


@rule("numpy-abi-mismatch")
def numpy_abi(ctx: Context) -> Iterable[Finding]:
    from ..planner import Intent, fixes_for
    from ..planner.plan import with_evidence

    failure = ctx.failure
    numpy_version, numpy_source = _numpy_version(ctx)
    evidence = kernel_evidence(ctx)
    if numpy_version:
        evidence.append(Evidence("installed NumPy", numpy_version, numpy_source))
    direction = _direction(ctx, evidence)
    offenders = offending_packages(ctx)
    for name, version, how in offenders[:4]:
        evidence.append(Evidence("built against another NumPy", f"{name} {version}" if version else name, how))
    if direction == "newer":
        yield _numpy_too_old(ctx, offenders, numpy_version, evidence)
        return
    major2 = bool(numpy_version and numpy_version.split(".")[0] >= "2") or "1.x" in (failure.message or "")
    # Two ways out, each planned against every installed pin: keep NumPy 1.x, or move every extension
    # built for NumPy 1.x to its first release built for NumPy 2 (all of them in one command: pandas alone
    # still fails on numexpr).
    upgrades, because, names = [], [], []
    for name, version, _how in offenders:
        entry = knowledge_tables.numpy2_support().get(normalize(name))
        if entry is None:
            continue
        names.append(f"{name} {entry['first_release']}")
        row = Evidence(f"first {name} release built for NumPy 2", entry["first_release"], entry["source"])
        because.append(row)
        upgrades.append(f"{entry['dist']}>={entry['first_release']}")
    intents = [Intent(("numpy<2",), "Keep NumPy 1.x: install numpy<2",
                      because=(Evidence("NumPy 2 changed the binary interface", "extensions built for 1.x need 1.x",
                                        "https://numpy.org/devdocs/numpy_2_0_migration_guide.html"),))]
    if upgrades:
        intents.append(Intent(tuple(upgrades), f"Upgrade {', '.join(n.split(' ')[0] for n in names)} to releases "
                                               f"built for NumPy 2", because=tuple(because)))
    fix_list, plans = fixes_for(ctx, intents)
    who = offenders[0][0] + (f" {offenders[0][1]}" if offenders[0][1] else "") if offenders else "An extension module"
    now = f"NumPy {numpy_version}" if numpy_version else ("NumPy 2" if major2 else "the installed NumPy")
    first = next((p for p in plans if p.ok), None)
    if first:
        way = f"Install {', '.join(first.requirements)}" + (
            f"; or releases built for NumPy 2 ({', '.join(names)} or later)." if names else ".")
    else:   # nothing planned holds here: say what would be needed, never "install numpy<2" beside its refusal
        way = (f"It needs releases built for NumPy 2 ({', '.join(names)} or later)." if names else
               f"It needs a release of {who.split(' ')[0] if offenders else 'that package'} built for NumPy 2.")
    summary = (f"{who} was compiled against NumPy 1.x and cannot run with {now}: NumPy 2 changed the binary "
               f"interface. " + way)
    for p in plans:
        if not p.ok:
            summary += f" Not offered: {p.reasons[0]}."
    finding = Finding(kind="numpy-abi-mismatch", cause="numpy-2-abi", confidence=0.93 if offenders else 0.85,
                      summary=summary, evidence=tuple(evidence), fixes=tuple(fix_list),
                      docs=docs_for("numpy-abi-mismatch", "numpy-2-abi"))
    yield with_evidence(finding, plans)


def _numpy_too_old(ctx: Context, offenders, numpy_version: Optional[str], evidence: List[Evidence]) -> Finding:
    who = offenders[0][0] if offenders else "An extension module"
    fix_list: List[Fix] = []
    series = ctx.cache.get("numpy_built_series")
    wanted = f"numpy>={series[0]}" if series and series != "1.x" else "numpy"
    fix = pip(ctx, [wanted], validated=True, upgrade=wanted == "numpy", allow_major=True,
              title=f"Upgrade NumPy to the release the extension was built for ({wanted})")
    if fix:
        fix_list.append(fix)
    if offenders:
        fix_list.append(fixes.instruction(
            f"Or install a release of {who} built for NumPy {numpy_version or 'as installed'}",
            f"Pin {who} to the release that matches the NumPy your project needs."))
    else:   # no package named: say which, never a sentence with a placeholder for a name
        fix_list.append(fixes.instruction(
            "Or install releases of the extension's package built for the installed NumPy",
            "The package whose extension failed (in the traceback) needs a release built for "
            + (f"NumPy {numpy_version}" if numpy_version else "the installed NumPy") + "; pin it to that release."))
    return Finding(
        kind="numpy-abi-mismatch", cause="numpy-2-abi", confidence=0.85,
        summary=f"{who} was compiled against a newer NumPy than the installed one"
                + (f" ({numpy_version})" if numpy_version else "") + ": upgrade NumPy.",
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("numpy-abi-mismatch", "numpy-2-abi"))


@rule("dependency-conflict")
def numpy_alias(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    if detail(ctx, "dependency") != "numpy" and "numpy" not in (failure.message or "").lower():
        return
    name = failure.name or ""
    if not name:
        match = re.search(r"has no attribute '(\w+)'|`np\.(\w+)`", failure.message or "")
        name = next((g for g in match.groups() if g), "") if match else ""
    entry = knowledge_tables.numpy_removed_names().get(name)
    if entry is None:
        return
    numpy_version, numpy_source = _numpy_version(ctx)
    evidence = kernel_evidence(ctx) + [
        Evidence("name used", f"np.{name}", "the error message"),
        Evidence("removed in", f"NumPy {entry['removed_in']}", entry["source"])]
    if numpy_version:
        evidence.append(Evidence("installed NumPy", numpy_version, numpy_source))
    users = [f for f in (site_folder_of(p) for p in paths_in_text(ctx)) if f and f not in _NUMPY_FOLDERS]
    top = (failure.module or "").split(".")[0]
    who = users[-1] if users else (top if top and top != "numpy" else None)
    fix_list: List[Fix] = []
    if who:
        dist_name, validated, source = distribution_for_folder(ctx, who)
        evidence.append(Evidence("code that uses it", dist_name, source))
        try:
            fix_list.append(fixes.pip_install(ctx.interpreter, [dist_name], validated=validated, upgrade=True,
                                              title=f"Upgrade {dist_name} (newer releases no longer use np.{name})"))
        except fixes.UnsafeName:
            pass   # a name read from the text that is no requirement: no install to offer for it
    removed = entry["removed_in"]
    fix_list.append(fixes.instruction(f"In your own code, write {entry['replacement']} instead of np.{name}",
                                      f"np.{name} was an alias; {entry['replacement']} is what it meant."))
    pin = pip(ctx, [f"numpy<{removed.rsplit('.', 1)[0] if removed.endswith('.0') else removed}"], validated=True,
              title=f"Or pin NumPy below {removed}")
    if pin:
        fix_list.append(pin)
    yield Finding(
        kind="dependency-conflict", cause="numpy-alias-removed", confidence=0.93,
        summary=f"np.{name} was removed in NumPy {removed}"
                + (f" (installed: {numpy_version})" if numpy_version else "")
                + (f"; {who} still uses it" if who else "") + f". Write {entry['replacement']}, upgrade the code that "
                f"uses it, or pin numpy<{removed.rsplit('.', 1)[0] if removed.endswith('.0') else removed}.",
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("dependency-conflict", "numpy-alias-removed"))
