"""The interpreter facts: this process, and other interpreters through the stdlib-only probe."""
import sys

import pytest

from dllmagic.facts.interpreter import ProbeError, classify_environment, live_interpreter, run_probe


def test_live_interpreter_matches_sys():
    it = live_interpreter()
    assert it.executable == sys.executable
    assert it.version == "%d.%d.%d" % sys.version_info[:3]
    assert it.prefix == sys.prefix and it.bits in (32, 64)


@pytest.mark.parametrize("facts,kind", [
    ({"conda_meta": True}, "conda"),
    ({"pyvenv_cfg": "home = /usr/bin\nuv = 0.5.1\n"}, "uv"),
    ({"pyvenv_cfg": "home = /usr/bin\nvirtualenv = 20.1\n"}, "virtualenv"),
    ({"pyvenv_cfg": "home = /usr/bin\ninclude-system-site-packages = false\n"}, "venv"),
    ({"real_executable": "/home/u/.pyenv/versions/3.11.7/bin/python3.11"}, "pyenv"),
    ({"externally_managed": True, "real_executable": "/usr/bin/python3.11"}, "system-externally-managed"),
    ({"real_executable": "/usr/bin/python3.11"}, "system"),
])
def test_classify_environment(facts, kind):
    assert classify_environment(facts) == kind


def test_probe_reports_a_venv(make_venv):
    venv = make_venv("probe")
    probe = run_probe(str(venv.python), import_name="json")
    assert probe.interpreter.environment_kind in ("venv", "uv")
    assert probe.interpreter.prefix == str(venv.path)
    assert probe.import_result["ok"] is True


def test_probe_of_something_that_is_not_python(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho hello\n")
    fake.chmod(0o755)
    with pytest.raises(ProbeError):
        run_probe(str(fake))
    with pytest.raises(ProbeError):
        run_probe(str(tmp_path / "missing-python"))


def test_rosetta_translation_is_carried_into_the_report(validate_report):
    from dllmagic.facts.interpreter import interpreter_from_facts
    from dllmagic.model import Report
    from dllmagic.report.jsonview import render_json
    from dllmagic.report.text import render_text

    it = interpreter_from_facts({"executable": "/usr/local/bin/python3", "version": "3.11.7",
                                 "architecture": "x86_64", "platform": "macos", "translated": True})
    assert it.translated is True
    report = Report(target="x", ok=True, interpreter=it, tool_version="0")
    assert "x86_64 under Rosetta" in render_text(report)
    validate_report(render_json(report))


def test_live_probe_says_nothing_is_translated_off_macos():
    from dllmagic.facts.interpreter import live_interpreter

    assert live_interpreter().translated is None
