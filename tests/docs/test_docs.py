"""The docs cover what the tool can say: a page per finding kind of the report schema, an anchor per cause on the
page of every kind it is used with, and no broken relative link.

Which causes a rule module can produce, and with which kinds, is read from the source (``cause="..."``
literals in ``dllmagic/diagnosis/*.py``): the kind is the literal ``kind=`` of the same ``Finding(...)`` (or of
its ``docs_for(...)``); where the kind is computed (``kind=ctx.failure.kind``), the kinds the enclosing rule is
registered for (``@rule(...)`` / ``register(..., kinds=[...])``), following helper functions up to the rules
that call them; a finding made outside any rule (the fallback in ``__init__``) can have every failure kind.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
RULES = REPO / "dllmagic" / "diagnosis"
SCHEMA = REPO / "dllmagic" / "report" / "report.schema.json"


def schema() -> dict:
    return json.loads(SCHEMA.read_text())


def kinds() -> List[str]:
    return list(schema()["$defs"]["kind"]["enum"])


# -- causes and kinds, from the rule modules -------------------------------------------------------

def _str(node: Optional[ast.AST]) -> Optional[str]:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _strs(node: ast.AST) -> List[str]:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [s for s in (_str(e) for e in node.elts) if s]
    return []


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


class _Module:
    """One rule module: its functions, which rule kinds each is registered for, who calls whom."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text(), str(path))
        self.functions: Dict[str, ast.FunctionDef] = {}
        self.rule_kinds: Dict[str, Set[str]] = {}
        self.callers: Dict[str, Set[str]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.FunctionDef):
                self.functions.setdefault(node.name, node)
                for deco in node.decorator_list:
                    if isinstance(deco, ast.Call) and _call_name(deco) == "rule":
                        self.rule_kinds.setdefault(node.name, set()).update(
                            s for s in (_str(a) for a in deco.args) if s)
            if isinstance(node, ast.Call) and _call_name(node) == "register" and node.args:
                target = node.args[0]
                name = target.id if isinstance(target, ast.Name) else None
                for kw in node.keywords:
                    if kw.arg == "kinds" and name:
                        self.rule_kinds.setdefault(name, set()).update(_strs(kw.value))
        for name, func in self.functions.items():
            for node in ast.walk(func):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.functions:
                    self.callers.setdefault(node.func.id, set()).add(name)

    def kinds_of(self, name: str, seen: Optional[Set[str]] = None) -> Set[str]:
        """Kinds of the rules that reach ``name`` (itself a rule, or a helper they call)."""
        seen = seen if seen is not None else set()
        if name in seen:
            return set()
        seen.add(name)
        if name in self.rule_kinds:
            return set(self.rule_kinds[name])
        out: Set[str] = set()
        for caller in self.callers.get(name, ()):
            out |= self.kinds_of(caller, seen)
        return out

    def enclosing(self, target: ast.AST) -> Optional[str]:
        for name, func in self.functions.items():
            if any(node is target for node in ast.walk(func)):
                return name
        return None


def rule_modules() -> List[Path]:
    """The rule families dllmagic loads (BUILTIN_RULE_MODULES), the registry itself and private helpers; not
    worked examples such as ``extending.py``, whose rule nobody registers."""
    from dllmagic.diagnosis import BUILTIN_RULE_MODULES

    names = {name.lstrip(".") for name in BUILTIN_RULE_MODULES}
    out = [p for p in sorted(RULES.glob("*.py")) if p.stem in names or p.stem.startswith("_")]
    for name in sorted(names):  # a rule family split into a package: every module of it
        if (RULES / name).is_dir():
            out += sorted((RULES / name).glob("*.py"))
    return out


def produced_causes() -> Dict[str, Set[str]]:
    """cause id -> the kinds it can be reported with, over every rule module."""
    all_failure_kinds = set(kinds()) - {"healthy"}
    out: Dict[str, Set[str]] = {}
    for path in rule_modules():
        module = _Module(path)
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            if _call_name(node) == "docs_for" and len(node.args) == 2 and _str(node.args[0]) and _str(node.args[1]):
                out.setdefault(_str(node.args[1]), set()).add(_str(node.args[0]))  # docs_for("kind", "cause")
                continue
            kw = {k.arg: k.value for k in node.keywords if k.arg}
            cause = _str(kw.get("cause"))
            if cause is None:
                continue
            kind = _str(kw.get("kind"))
            found: Set[str] = {kind} if kind else set()
            docs = kw.get("docs")
            if not found and isinstance(docs, ast.Call) and _call_name(docs) == "docs_for" and docs.args:
                literal = _str(docs.args[0])
                found = {literal} if literal else set()
            if not found:
                func = module.enclosing(node)
                found = module.kinds_of(func) if func else set()
                if not found:
                    found = set(all_failure_kinds)
            out.setdefault(cause, set()).update(found)
    return out


def test_the_rule_modules_are_read():
    causes = produced_causes()
    # A few that have long existed: if these vanish, the parsing above broke, not the docs.
    assert causes["not-installed"] == {"module-not-found"}
    assert "cannot-import-name" in causes["shadowed-by-local-file"]
    assert causes["unexplained"] == set(kinds()) - {"healthy"}


# -- anchors and links ------------------------------------------------------------------------------

def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> Set[str]:
    text = page.read_text()
    found = set(re.findall(r"""<a\s+(?:id|name)=["']([^"']+)["']""", text))
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and re.match(r"#{1,6} ", line):
            found.add(_slug(line.lstrip("#")))
    return found


def page_of(kind: str) -> Path:
    return DOCS / "kinds" / f"{kind}.md"


@pytest.mark.parametrize("kind", kinds())
def test_every_kind_has_a_page(kind):
    page = page_of(kind)
    assert page.is_file(), f"docs/kinds/{kind}.md is missing"
    text = page.read_text()
    assert text.startswith("# "), "a page starts with its title"
    for word in ("Windows", "Linux", "macOS"):
        assert word in text, f"{page.name} says nothing about {word}"


def _cause_kind_pairs() -> Iterable[Tuple[str, str]]:
    for cause, kinds_ in sorted(produced_causes().items()):
        for kind in sorted(kinds_):
            yield cause, kind


@pytest.mark.parametrize("cause,kind", list(_cause_kind_pairs()))
def test_every_cause_has_an_anchor_on_the_page_of_each_kind_it_is_used_with(cause, kind):
    page = page_of(kind)
    assert page.is_file(), f"docs/kinds/{kind}.md is missing"
    assert cause in anchors(page), f"docs/kinds/{kind}.md has no anchor #{cause}"


def test_every_cause_the_schema_describes_is_documented():
    documented: Set[str] = set()
    for page in (DOCS / "kinds").glob("*.md"):
        documented |= anchors(page)
    missing = sorted(set(schema().get("x-cause-descriptions", {})) - documented)
    assert not missing, f"causes in the schema without a section in docs/kinds/: {missing}"


def _links(text: str) -> Iterable[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    for match in re.finditer(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text):
        yield match.group(1)
    for match in re.finditer(r"""<a\s+[^>]*href=["']([^"']+)["']""", text):
        yield match.group(1)


def markdown_files() -> List[Path]:
    return sorted(DOCS.rglob("*.md")) + [REPO / "README.md"] + sorted((REPO / "examples").glob("**/*.md"))


def _ours(page: Path, link: str) -> bool:
    """Every link of docs/ and examples/; in README.md the links into docs/ and examples/ (the rest is the lead's)."""
    if page.name != "README.md" or page.parent != REPO:
        return True
    return link.startswith(("docs/", "examples/"))


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(page):
    broken = []
    for link in _links(page.read_text()):
        if re.match(r"^[a-z][a-z0-9+.-]*:", link) or link.startswith("//") or not _ours(page, link):
            continue  # http(s):, mailto: ...
        path, _, fragment = link.partition("#")
        target = (page.parent / unquote(path)).resolve() if path else page
        if not target.exists():
            broken.append(f"{link}: {target} does not exist")
            continue
        if fragment and target.suffix == ".md" and unquote(fragment) not in anchors(target):
            broken.append(f"{link}: no anchor #{fragment} in {target.relative_to(REPO)}")
    assert not broken, "\n".join(broken)


def test_finding_links_point_at_pages_that_exist():
    """docs_for() builds each finding's 'learn more' link: a kind page, optionally with a cause anchor."""
    from dllmagic.diagnosis import docs_for

    for kind in kinds():
        link = docs_for(kind, "unexplained")
        assert link.endswith(f"kinds/{kind}.md#unexplained")
        assert page_of(kind).is_file()


def test_json_schema_page_lists_every_cause_of_the_schema():
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    schema = json.loads((root / "dllmagic/report/report.schema.json").read_text())
    page = (root / "docs/json-schema.md").read_text()
    missing = [c for c in schema["$defs"]["cause"]["enum"] if f"- `{c}`:" not in page]
    assert not missing, f"docs/json-schema.md lacks: {missing}"
