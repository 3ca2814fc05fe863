"""``%run script.py`` whose import fails: IPython catches the script's exception, shows its traceback and lets
the cell succeed (no error_in_exec). The hook still diagnoses what is on screen, under IPython's own traceback,
and a cell that shows no new traceback gets no report."""
import re

import pytest

pytestmark = pytest.mark.kernel


def _tracebacks(res):
    return [[re.sub(r"In\[\d+\]", "In[N]", line) for line in o["content"]["traceback"]]
            for o in res.outputs if o["msg_type"] == "error"]


def test_run_script_with_a_failing_import_gets_a_report(start_kernel, tmp_path):
    nb = tmp_path / "nb"
    nb.mkdir()
    (nb / "step1.py").write_text("import rt6_missing_in_script\n")
    kernel = start_kernel(cwd=nb)
    plain = kernel.execute("%run step1.py")
    assert plain.status == "ok" and _tracebacks(plain), plain.outputs   # IPython's own behaviour
    assert kernel.execute("%load_ext dllmagic").status == "ok"
    res = kernel.execute("%run step1.py")
    assert res.status == "ok"
    assert _tracebacks(res) == _tracebacks(plain)
    assert res.order.index("error") < res.order.index("display_data")
    (report,) = res.reports()
    assert report["failure"]["module"] == "rt6_missing_in_script"
    assert report["findings"][0]["kind"] == "module-not-found"
    # The next cell succeeds and shows nothing new: no report for the traceback of the cell before.
    after = kernel.execute("print('fine')")
    assert after.status == "ok" and not after.displays and after.stdout == "fine\n"
