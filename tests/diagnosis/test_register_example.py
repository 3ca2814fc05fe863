"""The worked example of a user-defined rule (dllmagic/diagnosis/extending.py) runs as documented."""
import doctest

import pytest

from dllmagic import fixes
from dllmagic.api import explain
from dllmagic.diagnosis import extending, register, unregister
from dllmagic.model import Evidence, Finding


def test_the_docstring_example_runs():
    result = doctest.testmod(extending, raise_on_error=False, verbose=False)
    assert result.attempted >= 6 and result.failed == 0


@pytest.fixture
def registered():
    names = []

    def add(func, **kwargs):
        register(func, **kwargs)
        names.append(kwargs.get("name") or func.__qualname__)
        return func

    yield add
    for name in names:
        unregister(name)


def test_a_user_rule_outranks_the_builtin_one_and_only_for_its_kinds(registered, validate_report):
    from dllmagic.model import report_to_dict

    text = "ImportError: libacme.so.3: cannot open shared object file: No such file or directory"
    before = explain(text).top
    assert before.cause == "library-not-found"                    # the built-in rule's best guess
    registered(extending.acme_runtime, kinds=["missing-shared-library"], name="acme.runtime")
    report = explain(text)
    validate_report(report_to_dict(report))
    assert report.top.summary.startswith("libacme.so.3 comes with the acme-runtime3")
    assert [f.cause for f in report.findings][:2] == ["missing-system-library", "library-not-found"]
    # Another kind of failure never reaches it.
    assert explain("ModuleNotFoundError: No module named 'acme_sdk'").top.cause == "not-installed"


def test_a_failing_user_rule_is_loud_under_the_tests_and_a_note_for_users(registered, monkeypatch):
    def broken(ctx):
        raise RuntimeError("bug in my rule")
        yield  # pragma: no cover

    registered(broken, kinds=["missing-shared-library"], name="acme.broken")
    text = "ImportError: libacme.so.3: cannot open shared object file: No such file or directory"
    with pytest.raises(RuntimeError):
        explain(text)
    monkeypatch.setenv("DLLMAGIC_STRICT", "0")
    report = explain(text)
    assert report.top.cause == "library-not-found"
    assert any("internal error in rule acme.broken" in note for note in report.notes)


def test_user_rules_make_fixes_through_the_fixes_module_only(registered):
    def bad_name(ctx):
        yield Finding(kind=ctx.failure.kind, cause="missing-system-library", confidence=0.99, summary="x",
                      evidence=(Evidence("a", "b"),), fixes=(fixes.system_package("apt", ["pkg; rm -rf /"]),))

    registered(bad_name, kinds=["missing-shared-library"], name="acme.badname")
    with pytest.raises(fixes.UnsafeName):
        explain("ImportError: libacme.so.3: cannot open shared object file: No such file or directory")
