"""``dlldoctor docs KIND[#CAUSE]``: print a page of the documentation that ships with dllmagic.

The pages are ``docs/kinds/KIND.md`` of the repository, installed inside the package (``dllmagic/docs``). A
report's JSON names its page by ``doc_id`` (``KIND`` or ``KIND#CAUSE``); with ``#CAUSE`` only that cause's
section is printed, from its ``<a id="CAUSE">`` anchor to the next one.
"""
from __future__ import annotations

import os
import re
import sys
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563)
    from typing import List

_ID = re.compile(r"([a-z0-9][a-z0-9-]{0,80})(?:#([a-z0-9][a-z0-9-]{0,80}))?")
_ANCHOR = re.compile(r'^<a id="([^"]+)"></a>\s*$', re.M)


def docs_root() -> str:
    """The folder holding ``kinds/``: the installed copy, else the checkout's ``docs/``."""
    here = os.path.dirname(os.path.abspath(__file__))
    for folder in (os.path.join(here, "docs"), os.path.join(os.path.dirname(here), "docs")):
        if os.path.isdir(os.path.join(folder, "kinds")):
            return folder
    return os.path.join(here, "docs")


def kinds() -> List[str]:
    try:
        names = os.listdir(os.path.join(docs_root(), "kinds"))
    except OSError:
        return []
    return sorted(n[:-3] for n in names if n.endswith(".md"))


def page(doc_id: str) -> str:
    """The Markdown of ``KIND`` or of the ``CAUSE`` section of ``KIND#CAUSE``; ValueError when unknown."""
    m = _ID.fullmatch(doc_id or "")
    if not m:
        raise ValueError(f"not a docs id: {doc_id!r} (KIND or KIND#CAUSE, e.g. module-not-found#not-installed)")
    kind, cause = m.group(1), m.group(2)
    if kind not in kinds():
        raise ValueError(f"no docs page {kind!r}; pages: {', '.join(kinds())}")
    with open(os.path.join(docs_root(), "kinds", kind + ".md"), encoding="utf-8") as fh:
        text = fh.read()
    if not cause:
        return text
    anchors = list(_ANCHOR.finditer(text))
    for i, a in enumerate(anchors):
        if a.group(1) == cause:
            end = anchors[i + 1].start() if i + 1 < len(anchors) else len(text)
            title = text.splitlines()[0] if text.startswith("# ") else f"# {kind}"
            return f"{title}\n\n{text[a.end():end].strip()}\n"
    raise ValueError(f"the page {kind!r} has no section {cause!r}")


def add_parser(sub) -> None:
    p = sub.add_parser("docs", help="print a docs page shipped with dllmagic: KIND or KIND#CAUSE "
                                    "(a report's doc_id)")
    p.add_argument("id", nargs="?", help="e.g. missing-shared-library or module-not-found#not-installed; "
                                         "without it, the list of pages")


def run(args) -> int:
    if not args.id:
        print("\n".join(kinds()))
        return 0
    try:
        text = page(args.id)
    except ValueError as exc:
        print(f"dlldoctor: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
