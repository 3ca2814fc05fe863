"""Version arithmetic the planner needs, offline: do two specifier sets overlap, their intersection written
short, and the upper bound that keeps an upgrade inside one major release.

packaging is imported by the functions that compare versions, not with this module: most reports plan an
install without any (a bare name, a reinstall)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, List, Optional

if TYPE_CHECKING:
    from packaging.specifiers import Specifier, SpecifierSet
    from packaging.version import Version


def spec_set(text: str) -> Optional[SpecifierSet]:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(text or "")
    except InvalidSpecifier:
        return None


def _release(text: str) -> Optional[tuple]:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text.rstrip(".*")).release
    except InvalidVersion:
        return None


def _candidates(specs: Iterable[SpecifierSet]) -> List[Version]:
    """Versions on both sides of every bound the sets name: enough to tell whether the sets overlap."""
    from packaging.version import Version

    out = {Version("0"), Version("0.0.1"), Version("99999")}
    for spec_set_ in specs:
        for spec in spec_set_:
            release = _release(spec.version)
            if not release:
                continue
            parts = list(release) + [0] * (3 - len(release))
            for i in range(len(parts)):
                up = parts[:i] + [parts[i] + 1]
                out.add(Version(".".join(map(str, up))))
                if parts[i] > 0:
                    down = parts[:i] + [parts[i] - 1, 9999]
                    out.add(Version(".".join(map(str, down))))
            out.add(Version(".".join(map(str, release))))
            out.add(Version(".".join(map(str, parts + [1]))))
    return sorted(out)


def overlap(*texts: str) -> Optional[bool]:
    """True when some version satisfies every specifier set; None when one does not parse."""
    sets = [spec_set(t) for t in texts]
    if any(s is None for s in sets):
        return None
    return any(all(s.contains(v, prereleases=True) for s in sets) for v in _candidates(sets))  # type: ignore[union-attr]


def satisfies(spec: str, version: Optional[str]) -> Optional[bool]:
    from packaging.version import InvalidVersion, Version

    s = spec_set(spec)
    if s is None or not version:
        return None
    try:
        return s.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return None


def intersect(*texts: str) -> str:
    """The specifiers of every set, without the bounds another one makes redundant (``<2,<2.0.0,>=1.23.5``
    → ``>=1.23.5,<2``)."""
    from packaging.version import Version

    specs: List[Specifier] = []
    for text in texts:
        s = spec_set(text)
        if s is not None:
            specs.extend(s)
    lower: Optional[Specifier] = None
    upper: Optional[Specifier] = None
    rest: List[str] = []

    def key(spec: Specifier) -> Version:
        return Version(spec.version)

    for spec in specs:
        if spec.operator in (">=", ">") and _release(spec.version):
            if lower is None or key(spec) > key(lower) or (key(spec) == key(lower) and spec.operator == ">"):
                lower = spec
        elif spec.operator in ("<", "<=") and _release(spec.version) and not spec.version.endswith("dev"):
            if upper is None or key(spec) < key(upper) or (key(spec) == key(upper) and spec.operator == "<"):
                upper = spec
        elif str(spec) not in rest:
            rest.append(str(spec))
    out = ([str(lower)] if lower else []) + ([str(upper)] if upper else []) + rest
    # A "<5.0.0dev"-style bound dropped above is kept when no other upper bound replaces it.
    if upper is None:
        out += [str(s) for s in specs if s.operator in ("<", "<=") and str(s) not in out]
    return ",".join(out)


def has_upper(spec: str) -> bool:
    s = spec_set(spec)
    return bool(s) and any(x.operator in ("<", "<=", "==", "~=", "===") for x in s)  # type: ignore[union-attr]


def next_major_bound(spec: str) -> str:
    """``>=2.2.2`` → ``>=2.2.2,<3``; ``>=0.4.0`` → ``>=0.4.0,<1``; unchanged when it has an upper bound."""
    if not spec:
        return spec  # no bound at all (a bare name): nothing to keep inside a major release
    s = spec_set(spec)
    if s is None or has_upper(spec):
        return spec
    lowers = [x for x in s if x.operator in (">=", ">") and _release(x.version)]
    if not lowers:
        return spec
    major = max(_release(x.version)[0] for x in lowers)  # type: ignore[index]
    return f"{spec},<{major + 1}"
