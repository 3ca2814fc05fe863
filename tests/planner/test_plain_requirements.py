"""The requirement strings read without packaging (``NAME``, ``NAME==RELEASE``) get packaging's answers.

``dllmagic._requirement`` spares the first report of a kernel the import of packaging's parser for the
forms the fixes write. Every answer it gives is compared here with packaging's own on thousands of strings:
the fixes' own forms, near misses, and random strings over the characters that matter to PEP 508.
"""
from __future__ import annotations

import random

import pytest
from packaging.requirements import InvalidRequirement, Requirement

from dllmagic import fixes
from dllmagic._requirement import plain_requirement, starts_badly
from dllmagic.facts.distributions import normalize
from dllmagic.model import Fix
from dllmagic.planner.plan import _split, action_key

NAMES = ["pillow", "Pillow", "opencv-python", "opencv_python", "zope.interface", "a", "A1", "1a", "x.y-z_w",
         "ruamel.yaml.clib", "setup.zip", "x.whl", "pkg.tar.gz", "-imaging", "_x", ".x", "x-", "x.", "x_",
         "é", "naïve", "ab\u00a0", "a b"]
VERSIONS = ["1", "1.0", "13.0.0", "01.0", "1.01", "2.0.0.0.0", "0", "1.0a1", "1.0.post1", "1.0.dev0", "1!1.0",
            "1.0+local", "1.*", "1.", ".1", "v1", "1e3", "1.0-1", "1_0", " 1.0", "1.\u0660", "\u00b2", "1..2", ""]
OPERATORS = ["==", "===", ">=", "<=", "~=", "!=", "<", ">", "= =", "=", "=="]


def corpus():
    out = set(NAMES)
    for name in NAMES:
        for op in OPERATORS:
            for version in VERSIONS:
                out.add(f"{name}{op}{version}")
        out.update({f"{name}[extra]==1.0", f"{name} ==1.0", f" {name}", f"{name} ", f"{name}==1.0 ",
                    f"{name}==1.0,<2", f"{name}; python_version>'3'", f"{name} @ https://x/y.whl"})
    rng = random.Random(20261207)
    alphabet = "aZ09._-=[], <>!~;@*+é\u00a0\u0660"
    for _ in range(6000):
        out.add("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))))
    return sorted(out)


CORPUS = corpus()


def packaging_answer(text):
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def test_plain_forms_are_read_as_packaging_reads_them():
    plain_count = 0
    for text in CORPUS:
        plain = plain_requirement(text)
        req = packaging_answer(text)
        if plain is not None:
            plain_count += 1
            assert req is not None, text
            assert (req.name, req.extras, req.url, req.marker) == (plain[0], set(), None, None), text
            assert str(req.specifier) == plain[1] and str(req) == text, text
        if starts_badly(text):
            assert req is None, text
    assert plain_count > 100  # the fast path is exercised, not only its refusals


def _validate_with_packaging(text):
    """validate_requirement as it reads every text through packaging (its path for the other forms)."""
    if not isinstance(text, str) or not text or len(text) > 200 or fixes._UNSAFE.search(text) \
            or fixes.unsafe_character(text):
        raise fixes.UnsafeName(text)
    try:
        req = Requirement(text)
    except InvalidRequirement:
        raise fixes.UnsafeName(text) from None
    if req.url or req.marker:
        raise fixes.UnsafeName(text)
    if fixes._not_a_project_name(req.name):
        raise fixes.NotAProjectName(text)
    return str(req)


def _outcome(func, text):
    try:
        return ("ok", func(text))
    except fixes.NotAProjectName:
        return ("not-a-project-name", None)
    except fixes.UnsafeName:
        return ("unsafe", None)


def test_validate_requirement_answers_as_with_packaging():
    for text in CORPUS:
        assert _outcome(fixes.validate_requirement, text) == _outcome(_validate_with_packaging, text), text


def test_validate_requirement_does_not_need_packaging_for_the_fixes_forms():
    assert fixes.validate_requirement("pillow==13.0.0") == "pillow==13.0.0"
    assert fixes.validate_requirement("opencv-python") == "opencv-python"
    with pytest.raises(fixes.NotAProjectName):
        fixes.validate_requirement("setup.zip==1.0")
    with pytest.raises(fixes.UnsafeName):
        fixes.validate_requirement("-imaging")


def test_the_planner_splits_and_keys_requirements_as_packaging_does():
    for text in CORPUS:
        req = packaging_answer(text)
        if req is None or req.url or req.marker:
            continue
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        assert _split(text) == (req.name + extras, normalize(req.name), str(req.specifier)), text
        if "/" in text or "\\" in text or text.startswith("-"):
            continue
        argv = ("python", "-m", "pip", "install", "--force-reinstall", text)
        fix = Fix(id="pip-x", kind="pip", title="t", cell="", argv=argv)
        # the requirements alone: the program and pip's words are no requirement (argv[:5])
        expected = {(normalize(r.name), str(r.specifier)) for r in map(packaging_answer, argv[5:]) if r}
        assert action_key(fix) == ("install", tuple(sorted(expected)), ("--force-reinstall",)), text
