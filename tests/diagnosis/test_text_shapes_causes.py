"""Causes chosen from the shape of a pasted text when the text alone cannot prove one: the cause the threads of
that shape verified most often, with the others said in the finding."""
from dllmagic.api import explain
from dllmagic.model import report_to_dict


def top(text: str, validate_report):
    report = explain(text)
    validate_report(report_to_dict(report))
    return report.top


def test_a_name_without_its_module_is_a_name_the_installed_release_lacks(validate_report):
    finding = top("Traceback (most recent call last):\n  File \"train.py\", line 9, in <module>\n"
                  "    model = build()\nImportError: cannot import name 'np_utils'\n", validate_report)
    assert (finding.kind, finding.cause) == ("cannot-import-name", "name-not-in-installed-version")
    assert "does not say from which module" in finding.summary
    assert "a file of yours" in finding.summary and "circular import" in finding.summary
    assert finding.confidence < 0.6 and not any(f.runnable for f in finding.fixes)


def test_python2_wording_without_quotes(validate_report):
    finding = top("ImportError: cannot import name six\n", validate_report)
    assert finding.cause == "name-not-in-installed-version" and "'six'" in finding.summary


def test_the_import_line_still_names_the_module_when_the_message_does_not(validate_report):
    finding = top("Traceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n"
                  "    from transformers import AdamW\nImportError: cannot import name 'AdamW'\n", validate_report)
    assert finding.cause == "name-not-in-installed-version"
    assert "does not say from which module" not in finding.summary and "transformers" in finding.summary
