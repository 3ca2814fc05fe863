"""A bounded fuzz (hypothesis, fixed seed, small budget; DLLMAGIC_FUZZ_EXAMPLES raises it locally) over the
texts that enter cells and over kernel.json / notebook files: no injection, no internal error."""
from __future__ import annotations

import ast
import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seckit import ipython_statements, live_system
from dllmagic import fixes
from dllmagic.facts import environments as envs

EXAMPLES = int(os.environ.get("DLLMAGIC_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
# Text rich in the characters that matter: every line break, controls, bidi, quotes and IPython's sigils.
SPECIAL = "".join(sorted(fixes.LINE_BREAKS)) + "\x00\x1b\t\u202e\u2066\u200b\ufeff!%$`'\"{};#\\ "
TEXT = st.text(alphabet=st.one_of(st.sampled_from(SPECIAL), st.characters()), max_size=60)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=20)


def _statements_of(fix):
    return ipython_statements(fix.cell) if fix.cell else []


@FUZZ
@given(TEXT)
def test_switch_kernel_cells_are_comments_whatever_the_display_name(display):
    fix = fixes.kernel_switch("k", display)
    assert _statements_of(fix) == [] and len(fix.cell.splitlines()) == 1


@FUZZ
@given(TEXT)
def test_instruction_cells_are_comments_whatever_the_text(text):
    fix = fixes.instruction("t", text)
    assert _statements_of(fix) == []
    assert all(line.startswith("# ") for line in fix.cell.split("\n") if fix.cell)


@FUZZ
@given(TEXT, TEXT)
def test_rename_cells_hold_the_paths_as_literals_or_are_refused(a, b):
    try:
        fix = fixes.rename(a, b, "t")
    except fixes.UnsafeName:
        assert fixes.unsafe_character(a + b)
        return
    tree = ast.parse(fix.cell)
    assign = tree.body[1]
    assert [ast.literal_eval(e) for e in assign.value.elts] == [a, b]


@FUZZ
@given(TEXT, TEXT)
def test_register_kernel_cells_and_argv_or_refusal(python, display):
    try:
        fix = fixes.register_kernel("/envs/x/" + python, "k", display, False)
    except fixes.UnsafeName:
        return
    assert fixes.unsafe_character("".join(fix.argv)) is None
    for line in fix.cell.split("\n"):
        assert len(line.splitlines()) <= 1 and fixes.unsafe_character(line) is None


@FUZZ
@given(TEXT)
def test_install_makers_never_raise_anything_but_unsafe_name(name):
    for make in (lambda: fixes.pip_install(None, [name], validated=True),
                 lambda: fixes.pip_replace(None, [name], ["numpy"])):
        try:
            fix = make()
        except fixes.UnsafeName:
            continue
        fixes.check_cell(fix.cell)


@settings(max_examples=max(20, EXAMPLES // 3), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(JSON.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200)))
def test_any_kernel_json_or_notebook_is_at_worst_a_note(content):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        spec = root / "data" / "kernels" / "fuzzed"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_bytes(content)
        notebook = root / "n.ipynb"
        notebook.write_bytes(content)
        system = live_system({"HOME": str(root), "JUPYTER_DATA_DIR": str(root / "data"), "PATH": "/nonexistent"})
        found = envs.discover(system, None, notebook_dir=str(root))
        if found.kernelspec("fuzzed") is None:
            assert any("fuzzed" in n for n in found.notes)
        else:
            fix = fixes.kernel_switch("fuzzed", found.kernelspec("fuzzed").display_name)
            assert _statements_of(fix) == []
        exp = envs.notebook_expectation(system, None, user_ns={"__session__": str(notebook)}, cwd=str(root),
                                        discovery=found)
        assert exp.describe(None)
