"""A healthy answer is short; a pre-flight finding only with facts of its own (issue 17 item 6, issue 19)."""
from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX venv layout")


def test_healthy_is_one_finding_with_an_ok_badge(tabulate_python, tmp_path):
    from dllmagic.api import check
    from dllmagic.report.widget import severity

    report = check("tabulate", python=str(tabulate_python), cwd=str(tmp_path))
    assert report.ok
    assert [(f.kind, f.cause) for f in report.findings] == [("healthy", "healthy")]
    assert severity(report) == "ok"
    assert any(e.fact == "sys.path used" for e in report.findings[0].evidence)


def test_missing_module_without_release_facts_has_no_preflight_noise(tabulate_python, tmp_path):
    from dllmagic.api import check

    report = check("termcolor", python=str(tabulate_python), cwd=str(tmp_path))
    causes = [f.cause for f in report.findings]
    assert causes and "release-available" not in causes
    assert not any("release data" in e.fact for f in report.findings for e in f.evidence)


def test_missing_framework_keeps_its_preflight_facts(tabulate_python, tmp_path):
    from dllmagic.api import check

    report = check("tensorflow", python=str(tabulate_python), cwd=str(tmp_path))
    pre = [f for f in report.findings if f.cause in ("release-available", "no-release-for-platform", "no-avx")]
    assert pre, [f.cause for f in report.findings]
    assert any("release" in e.fact for e in pre[0].evidence)
