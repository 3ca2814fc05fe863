"""Failing kernels are often older than ours: the oldest supported IPython (8.0) and an ipykernel 6."""
import pytest

from harness import REPO

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def old_kernel_python(tmp_path_factory):
    from harness import create_venv as _create_venv

    venv = _create_venv(tmp_path_factory.mktemp("oldk") / "oldk", with_pip=True)   # %pip, as most users have
    venv.install("ipython==8.0.1", "ipykernel==6.7.0", "jupyter_client<8", "-e", str(REPO))
    return str(venv.python)


def test_report_in_a_kernel_with_ipython_8_0_and_ipykernel_6(start_kernel, old_kernel_python, validate_report):
    kernel = start_kernel("old-kernel", python=old_kernel_python)
    res = kernel.execute("import IPython, ipykernel; print(IPython.__version__, ipykernel.__version__)")
    assert res.stdout.split() == ["8.0.1", "6.7.0"]
    assert kernel.execute("%load_ext dllmagic").status == "ok"
    res = kernel.execute("import sklearn")
    (report,) = res.reports()
    validate_report(report)
    assert report["findings"][0]["fixes"][0]["cell"] == "%pip install scikit-learn"
    assert kernel.execute("%dlldoctor json").reports()[0]["ok"]
