"""Module names with non-ASCII letters, as a user may paste them: Python reads an import statement's names in
their NFKC form (``import ｔabulate`` imports tabulate), so the check does too; a look-alike that is another
letter (Cyrillic 'а') finds nothing, gets no install, and the letter is named."""
from __future__ import annotations

import subprocess
import sys

import pytest

from dllmagic.api import check

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")


def test_a_fullwidth_letter_imports_what_python_imports(tabulate_python, tmp_path):
    asked = "\uff54abulate"  # fullwidth t
    done = subprocess.run([str(tabulate_python), "-c", f"import {asked}; print({asked}.__file__)"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and "site-packages" in done.stdout, done.stderr
    report = check(asked, python=str(tabulate_python), cwd=str(tmp_path))
    assert report.ok and report.findings[0].cause == "healthy", report.findings[0]
    assert done.stdout.strip() in report.findings[0].summary
    assert any("NFKC" in note for note in report.notes), report.notes


def test_a_cyrillic_look_alike_gets_no_install_and_is_named(tabulate_python, tmp_path):
    asked = "t\u0430bulate"  # Cyrillic small a
    report = check(asked, python=str(tabulate_python), cwd=str(tmp_path))
    assert not report.ok
    top = report.findings[0]
    assert top.cause == "not-installed", top
    assert not any(f.runnable for finding in report.findings for f in finding.fixes)
    assert "U+0430 CYRILLIC SMALL LETTER A" in top.fixes[0].cell, top.fixes[0].cell
