"""The short answer for an import that works."""
from __future__ import annotations

from typing import Iterable

from ..model import Evidence, Finding
from . import Context, docs_for, rule


@rule("healthy")
def imports_fine(ctx: Context) -> Iterable[Finding]:
    result = ctx.import_result or {}
    if not result.get("ok"):
        return
    name = ctx.target
    where = result.get("file") or "a built-in or namespace package"
    evidence = [Evidence("imported from", where, result.get("how", "a fresh child process of this interpreter"))]
    dists = ctx.distributions.providing(name) if ctx.interpreter is not None else []
    version = result.get("version")
    if dists:
        dist = dists[0]
        evidence.append(Evidence("distribution", f"{dist.name} {dist.version}", dist.path))
        version = version or dist.version
        installer = dist.installer
        if installer:
            evidence.append(Evidence("installed by", installer, dist.path + "/INSTALLER"))
    if ctx.interpreter is not None:
        it = ctx.interpreter
        evidence.append(Evidence("environment", f"{it.prefix} ({it.environment_kind}, Python {it.version})",
                                 "sys.prefix"))
    seconds = result.get("seconds")
    if isinstance(seconds, (int, float)):
        evidence.append(Evidence("import time", f"{seconds * 1000:.0f} ms", "measured in the child process"))
    dist_text = f", distribution {dists[0].name}" if dists else ""
    yield Finding(
        kind="healthy", cause="healthy", confidence=1.0,
        summary=f"{name} imports fine here from {where}"
                f"{f' (version {version}{dist_text})' if version else ''}.",
        evidence=tuple(evidence), docs=docs_for("healthy"))
