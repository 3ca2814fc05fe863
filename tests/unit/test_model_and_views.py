"""The report contract: one model, three static views, all JSON valid against the schema."""
import json

from dllmagic import fixes
from dllmagic.model import Evidence, Finding, Interpreter, Report, report_to_dict
from dllmagic.report.html import render_html
from dllmagic.report.jsonview import render_json
from dllmagic.report.text import render_text

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _report(name=HOSTILE):
    it = Interpreter(executable="/usr/bin/python3", real_executable="/usr/bin/python3.11", version="3.11.7",
                     implementation="CPython", architecture="x86_64", bits=64, platform="linux",
                     prefix="/usr", base_prefix="/usr", environment_kind="system")
    fix = fixes.instruction(f"Look at {name}", f"text {name}")
    finding = Finding(kind="module-not-found", cause="not-installed", summary=f"No module named '{name}'",
                      confidence=0.9, evidence=(Evidence(name, name, name),), fixes=(fix,),
                      docs="docs/kinds/module-not-found.md")
    return Report(target=name, ok=False, interpreter=it, findings=(finding,), notes=(f"note {name}",),
                  tool_version="0")


def test_json_round_trips_and_validates(validate_report):
    data = validate_report(render_json(_report()))
    assert data["findings"][0]["kind"] == "module-not-found"
    assert data == json.loads(json.dumps(report_to_dict(_report())))


def test_html_escapes_every_value():
    html = render_html(_report())
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_text_view_names_kind_cause_and_fix():
    text = render_text(_report("cv2"))
    assert "module-not-found · not-installed" in text
    assert "Fix 1 (instruction)" in text


def test_compact_view_shows_one_finding_and_one_fix():
    text = render_text(_report("cv2"), compact=True)
    assert "Evidence" not in text and "Fix 1 (" in text


def test_the_headline_takes_the_messages_first_line_that_says_something():
    # NumPy's ABI message starts with a newline: the headline was a bare "ImportError: ".
    from dllmagic.model import Failure
    from dllmagic._record import replace

    failure = Failure(kind="numpy-abi-mismatch", exc_type="ImportError",
                      message="\nA module that was compiled using NumPy 1.x cannot be run in\nNumPy 2.0.0 …")
    text = render_text(replace(_report("pandas"), failure=failure))
    assert text.splitlines()[0] == ("dllmagic 0: ImportError: A module that was compiled using NumPy 1.x cannot "
                                    "be run in")


def test_a_restart_fix_prints_no_empty_command_line():
    finding = Finding(kind="module-not-found", cause="restart-needed", summary="s", confidence=0.9,
                      fixes=(fixes.restart_kernel("the module changed on disk"),))
    report = Report(target="x", ok=False, interpreter=None, findings=(finding,), tool_version="0")
    for shell in (False, True):
        lines = render_text(report, shell=shell).splitlines()
        at = next(i for i, line in enumerate(lines) if "Fix 1 (restart" in line)
        assert lines[at + 1:at + 2] != ["        "] and all(line.strip() for line in lines), lines
