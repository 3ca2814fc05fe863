"""The message templates of the programs that print Python-level import and installer failures, filled in.

``tests/data/templates/python_and_installers.json`` holds each emitter's format string as its source prints it
(CPython's import system 3.8-3.14, NumPy and Cython, pip, uv, conda/mamba, Poetry, pipenv, importlib.metadata)
and realistic values for its fields: dotted modules, Windows paths and paths with spaces, local versions. The
tests are constructed from those templates, not copied from reports: each filled text must be recognised as the
kind its emitter means, with the facts the text holds and, where the text alone decides it, the cause.
"""
import json
import re
from pathlib import Path

import pytest

from dllmagic.api import explain
from dllmagic.failure import key_facts

DATA = json.loads((Path(__file__).parent / "data" / "templates" / "python_and_installers.json").read_text("utf-8"))
_FIELD = re.compile(r"\{(\w+)\}")


def _fill(text: str, row: int) -> str:
    def value(m):
        values = DATA["fills"][m.group(1)]
        return values[row % len(values)]
    return _FIELD.sub(value, text)


def _cases():
    for number, template in enumerate(DATA["templates"]):
        fields = set(_FIELD.findall(template["text"]))
        rows = max((len(DATA["fills"][f]) for f in fields), default=1)
        for row in range(rows):
            yield pytest.param(template, row, id=f"{number}-{template['kind']}-{row}")


def test_every_field_has_values_and_every_template_a_source():
    for template in DATA["templates"]:
        assert template["source"].startswith("https://"), template["emitter"]
        for text in [template["text"], *template["facts"].values()]:
            for field in _FIELD.findall(text):
                assert DATA["fills"].get(field), (template["emitter"], field)


@pytest.mark.parametrize("template,row", list(_cases()))
def test_filled_template_is_recognised(template, row):
    text = _fill(template["text"], row)
    report = explain(text)
    kind = report.findings[0].kind if report.findings else "none"
    assert kind == template["kind"], (template["emitter"], text)
    facts = key_facts(report.failure)
    for name, expected in template["facts"].items():
        assert facts.get(name) == _fill(expected, row), (template["emitter"], name, text)
    if template.get("cause"):
        assert report.findings[0].cause == template["cause"], (template["emitter"], text)
