"""Issue 13, item 10 (kernel.json and notebooks): damaged files become notes on the report, never an
exception, and never switch off the other environment rules (a bad kernel.json used to disable three rules
for every diagnosis). Run under DLLMAGIC_STRICT=1, where any internal error raises."""
from __future__ import annotations

import json
import os

import pytest

from seckit import add_module, give_ipykernel, live_system, make_venv
from dllmagic.facts import environments as envs

DEEP = ("[" * 50_000 + "]" * 50_000).encode()
DAMAGE = {
    "argv-int": json.dumps({"argv": 5, "display_name": "x", "language": "python"}).encode(),
    "argv-mixed": json.dumps({"argv": ["python", 5], "display_name": "x", "language": "python"}).encode(),
    "not-an-object": b"[1, 2, 3]",
    "display-name-object": json.dumps({"argv": ["python"], "display_name": {"a": 1}}).encode(),
    "env-list": json.dumps({"argv": ["python"], "display_name": "x", "env": ["A=1"]}).encode(),
    "deep": DEEP,
    "deep-object": b'{"argv": ["python"], "metadata": ' + DEEP + b"}",
    "invalid-utf8": b'{"argv": ["python"], "display_name": "\xff\xfe\xc3("}',
    "truncated": b'{"argv": ["pyth',
    "empty": b"",
}


def _scene(tmp_path, monkeypatch):
    """The notebook's folder with a venv beside it that has the module, and a good kernelspec for it."""
    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    venv = nbdir / ".venv"
    add_module(make_venv(venv), "zzq_mal_mod")
    monkeypatch.chdir(nbdir)
    return nbdir, venv


def _good_spec(data, venv):
    give_ipykernel(next(venv.glob("lib/python*/site-packages")))   # a kernelspec that can start
    spec = data / "kernels" / "good"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Good", "language": "python"}))


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_kernel_json_is_a_note_and_the_rules_still_run(damage, tmp_path, isolated_env, monkeypatch):
    from dllmagic import api

    nbdir, venv = _scene(tmp_path, monkeypatch)
    _good_spec(isolated_env["data"], venv)
    bad = isolated_env["data"] / "kernels" / "bad"
    bad.mkdir()
    (bad / "kernel.json").write_bytes(DAMAGE[damage])
    found = envs.discover(live_system(dict(os.environ)), None, notebook_dir=str(nbdir))
    assert [n for n in found.notes if str(bad / "kernel.json") in n], found.notes
    assert found.kernelspec("good") is not None and found.kernelspec("bad") is None

    report = api.check("zzq_mal_mod", live=True)
    assert any(str(bad / "kernel.json") in n for n in report.notes), report.notes
    top = report.findings[0]
    assert top.cause == "installed-in-other-environment" and str(venv) in top.summary
    assert any(fix.kind == "kernel-switch" and "good" in fix.cell for fix in top.fixes)


@pytest.mark.parametrize("damage", sorted(DAMAGE) + ["kernelspec-name-number", "metadata-list"])
def test_a_damaged_notebook_is_a_note_and_the_rules_still_run(damage, tmp_path, isolated_env, monkeypatch):
    from dllmagic import api

    nbdir, venv = _scene(tmp_path, monkeypatch)
    notebook = nbdir / "damaged.ipynb"
    if damage == "kernelspec-name-number":
        notebook.write_text(json.dumps({"metadata": {"kernelspec": {"name": 5, "display_name": ["x"]}}}))
    elif damage == "metadata-list":
        notebook.write_text(json.dumps({"metadata": [1, 2]}))
    else:
        notebook.write_bytes(DAMAGE[damage])
    report = api.check("zzq_mal_mod", live=True, user_ns={"__session__": str(notebook)})
    top = report.findings[0]
    assert top.cause == "installed-in-other-environment" and str(venv) in top.summary
    if damage not in ("metadata-list", "argv-int", "argv-mixed", "display-name-object", "env-list"):
        # Not JSON (or not an object): a note; the JSON objects above are notebooks without usable metadata.
        assert any(str(notebook) in n for n in report.notes), report.notes
    if damage == "kernelspec-name-number":
        assert any("metadata.kernelspec.name is not a string" in n for n in report.notes), report.notes
    assert report.expected_environment is not None
