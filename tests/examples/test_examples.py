"""Examples CI: build each example's broken environment for real, run its notebook headless (nbclient) on the
kernel the build registered, and check the report the notebook displays: the finding's kind, cause and key
facts (evidence naming the files the build made).

Where a rule for the case has not landed yet, the test asserts what the report says today and marks the
stronger assertion with ``pytest.xfail`` (inside the test, after the present-day checks).
"""
from __future__ import annotations

import json
import os

import pytest

from examplekit import (causes, describe, error_of, evidence_text, execute, report, text_output)
from examplekit import build as build_example

pytestmark = [pytest.mark.slow, pytest.mark.kernel]


@pytest.fixture
def run(examples_home, validate_report):
    """run(name) -> (facts, executed notebook, report of the cell 'failing-import' or None)."""
    root, data = examples_home

    def go(name, report_cell="failing-import", env=None):
        facts = build_example(name, root, data)
        nb = execute(name, facts, env=env)
        rep = None
        if report_cell:
            rep = report(nb, report_cell)
            validate_report(rep)
        return facts, nb, rep

    return go


def top(rep):
    assert rep["findings"], describe(rep)
    return rep["findings"][0]


def fix_kinds(finding):
    return [fix["kind"] for fix in finding["fixes"]]


# -- environments ---------------------------------------------------------------------------------------

def test_wrong_kernel(run):
    facts, nb, rep = run("wrong-kernel")
    assert error_of(nb, "failing-import")["ename"] == "ModuleNotFoundError"
    first = top(rep)
    assert (first["kind"], first["cause"]) == ("module-not-found", "wrong-kernel"), describe(rep)
    ev = evidence_text(first)
    assert facts["analysis_prefix"] in ev and facts["kernelspec"] in ev, describe(rep)
    assert rep["expected_environment"]["kernelspec"] == "dllmagic-wrong-kernel"
    assert "register-kernel" in fix_kinds(first)
    register = next(fix for fix in first["fixes"] if fix["kind"] == "register-kernel")
    assert register["argv"][0].startswith(facts["analysis_prefix"]) and "dllmagic-wrong-kernel" in register["argv"]
    assert "its kernel.json runs: " + facts["kernel_python"] in text_output(nb, "kernelspec-argv")


def test_other_environment(run):
    facts, nb, rep = run("other-environment")
    first = top(rep)
    assert (first["kind"], first["cause"]) == ("module-not-found", "installed-in-other-environment"), describe(rep)
    assert facts["other_prefix"] in evidence_text(first), describe(rep)
    # The kernel's venv was made by uv (no pip in it): the install fix uses uv; %pip where pip exists.
    assert {"register-kernel"} <= set(fix_kinds(first)) and {"pip", "uv"} & set(fix_kinds(first))
    cli = text_output(nb, "cli-check")
    assert "installed-in-other-environment" in cli and facts["other_prefix"] in cli, cli


def test_shadowing_file(run):
    facts, nb, rep = run("shadowing-file")
    first = top(rep)
    assert (first["kind"], first["cause"]) == ("cannot-import-name", "shadowed-by-local-file"), describe(rep)
    ev = evidence_text(first)
    assert facts["shadow"] in ev and "site-packages" in ev, describe(rep)
    assert fix_kinds(first)[:2] == ["rename", "restart"]
    assert facts["shadow"] in text_output(nb, "where-from")


def test_restart_needed(run):
    facts, nb, rep = run("restart-needed")
    first = top(rep)
    assert (first["kind"], first["cause"]) == ("module-not-found", "restart-needed"), describe(rep)
    assert ".pth" in evidence_text(first), describe(rep)
    assert "restart" in fix_kinds(first)


def test_broken_install(run):
    facts, nb, rep = run("broken-install")
    first = top(rep)
    assert (first["kind"], first["cause"]) == ("module-not-found", "broken-install"), describe(rep)
    ev = evidence_text(first)
    assert facts["dist_info"] in ev and "idna/__init__.py" in ev, describe(rep)
    reinstall = first["fixes"][0]
    assert reinstall["kind"] == "pip" and "--force-reinstall" in reinstall["argv"]
