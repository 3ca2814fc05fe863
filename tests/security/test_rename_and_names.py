"""Issue 16's rename that never overwrites, and issue 13 item 13: a valid non-ASCII module name (café)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from seckit import run_in_ipython
from dllmagic import fixes


def _shadow_report(nbdir, monkeypatch):
    """A real ImportError from a local zzq_requests.py that shadows an installed zzq_requests (a folder later on
    sys.path with its metadata), diagnosed as the hook does. (A local file whose name nothing installed or
    known has is the user's own module, no shadow.)"""
    from dllmagic import api

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "diagnosis"))
    from diagkit import write_dist_info

    site = nbdir.parent / "installed"
    write_dist_info(site, "zzq_requests", "1.0")
    (nbdir / "zzq_requests.py").write_text("LOCAL = True\n")
    monkeypatch.chdir(nbdir)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(nbdir))
    sys.modules.pop("zzq_requests", None)
    try:
        from zzq_requests import get  # noqa: F401
    except ImportError as exc:
        return api.diagnose_exception(exc)
    finally:
        sys.modules.pop("zzq_requests", None)
    raise AssertionError("the import should fail")


def test_rename_picks_a_free_name_and_never_overwrites(tmp_path, monkeypatch):
    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    (nbdir / "my_zzq_requests.py").write_text("MINE = 'keep me'\n")
    report = _shadow_report(nbdir, monkeypatch)
    top = report.findings[0]
    assert top.cause == "shadowed-by-local-file"
    rename = next(fix for fix in top.fixes if fix.kind == "rename")
    assert "my_zzq_requests_1.py" in rename.cell and "my_zzq_requests_1.py" in rename.title
    run_in_ipython(rename.cell, tmp_path)
    assert (nbdir / "my_zzq_requests.py").read_text() == "MINE = 'keep me'\n"
    assert (nbdir / "my_zzq_requests_1.py").read_text() == "LOCAL = True\n"
    assert not (nbdir / "zzq_requests.py").exists()


def test_rename_refuses_with_the_reason_when_no_free_name_is_left(tmp_path, monkeypatch):
    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    taken = ["my_zzq_requests.py"] + [f"my_zzq_requests_{i}.py" for i in range(1, 10)]
    for name in taken:
        (nbdir / name).write_text(f"# {name}\n")
    report = _shadow_report(nbdir, monkeypatch)
    top = report.findings[0]
    assert top.cause == "shadowed-by-local-file" and not [f for f in top.fixes if f.kind == "rename"]
    refusal = top.fixes[0]
    assert refusal.kind == "instruction" and "all exist" in refusal.cell and not refusal.runnable
    assert all((nbdir / name).read_text() == f"# {name}\n" for name in taken)


def test_the_rename_cell_checks_again_when_it_runs(tmp_path):
    src, dst = tmp_path / "a.py", tmp_path / "my_a.py"
    src.write_text("a\n")
    fix = fixes.rename(str(src), str(dst), "Rename")
    dst.write_text("appeared after the report\n")
    proc = run_in_ipython(fix.cell, tmp_path)
    assert "FileExistsError" in proc.stdout + proc.stderr
    assert dst.read_text() == "appeared after the report\n" and src.read_text() == "a\n"


# -- café --------------------------------------------------------------------------------------------------
def _cli(*args, cwd):
    env = dict(os.environ, DLLMAGIC_STRICT="1", PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "dllmagic", *args], capture_output=True, text=True,
                          encoding="utf-8", cwd=cwd, env=env, timeout=300)


def test_cafe_from_the_cli_check_and_explain(tmp_path):
    check = _cli("check", "café", cwd=tmp_path)
    assert check.returncode in (0, 1) and "Traceback" not in check.stderr, check.stderr
    assert "café" in check.stdout and "not a valid package" in check.stdout
    log = tmp_path / "log.txt"
    log.write_text("Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
                   "ModuleNotFoundError: No module named 'café'\n", encoding="utf-8")
    explain = _cli("explain", str(log), cwd=tmp_path)
    assert explain.returncode in (0, 1) and "Traceback" not in explain.stderr, explain.stderr
    assert "café" in explain.stdout
    machine = _cli("check", "café", "--json", cwd=tmp_path)
    data = json.loads(machine.stdout)
    cells = [fix["cell"] for f in data["findings"] for fix in f["fixes"]]
    assert cells and all(line.startswith("#") for cell in cells for line in cell.splitlines())


@pytest.mark.kernel
def test_cafe_in_a_real_kernel(start_kernel, tmp_path):
    kernel = start_kernel(cwd=tmp_path)
    assert kernel.execute("%load_ext dllmagic").status == "ok"
    res = kernel.execute("%dlldoctor café")
    assert res.status == "ok" and res.error is None, res.outputs
    res = kernel.execute("import café")
    assert res.error is not None and res.error["content"]["ename"] == "ModuleNotFoundError"
    reports = res.reports()
    assert reports and reports[-1]["findings"], res.outputs
    assert not any("internal error" in n for n in reports[-1].get("notes", [])), reports[-1].get("notes")


def test_a_stray_dll_is_set_aside_under_a_free_name_never_over_a_file(tmp_path):
    from types import SimpleNamespace

    from dllmagic.diagnosis.windows import _set_aside
    from dllmagic.facts.system import System

    stray = tmp_path / "msvcp140.dll"
    stray.write_bytes(b"MZ stray")
    (tmp_path / "msvcp140.dll.old").write_bytes(b"MZ kept")   # a file the user already set aside
    ctx = SimpleNamespace(system=System.current())
    fix = _set_aside(ctx, str(stray), "Rename the stray msvcp140.dll")
    assert fix.kind == "rename", fix
    assert "msvcp140.dll.old1" in fix.cell, fix.cell   # .old is taken: the next free name
    for i in range(1, 10):
        (tmp_path / f"msvcp140.dll.old{i}").write_bytes(b"MZ")
    refused = _set_aside(ctx, str(stray), "Rename the stray msvcp140.dll")
    assert refused.kind == "instruction" and "by hand" in refused.cell


def test_a_shadow_whose_folder_name_holds_a_line_break_is_named_on_one_comment_line(tmp_path):
    """A notebook folder named with a line break holds json.py: no rename cell (the path never enters a cell
    line), and the instruction names the file on one line, the break written as its escape (not split into a
    second comment line that reads as another path)."""
    from dllmagic.api import check

    folder = tmp_path / "new\nline"
    folder.mkdir()
    (folder / "json.py").write_text("X = 1\n")
    report = check("json", python=sys.executable, cwd=str(folder))
    top = report.findings[0]
    assert top.cause == "shadowed-by-local-file", top
    said = top.fixes[0]
    assert said.kind == "instruction" and not said.argv, said
    line = next(x for x in said.cell.split("\n") if x.startswith("# Rename "))
    assert line.startswith("# Rename " + str(tmp_path) + "/new\\nline/json.py to a name"), said.cell


@pytest.mark.parametrize("shadow, mine", [("folder", "my_json.py"), ("file", "my_json")])
def test_the_renamed_shadow_never_takes_the_module_name_of_a_file_beside_it(tmp_path, shadow, mine):
    """The shadow's new name must be free as a module name, not only as a path: a json/ package renamed to
    my_json/ beside the user's my_json.py would hide that file (a package wins over a module), and a json.py
    renamed to my_json.py beside a my_json/ package would never be imported. Applied for real, the user's own
    my_json is what 'import my_json' still gets, and 'import json' is the standard library's."""
    from dllmagic.api import check

    nb = tmp_path / "nb"
    nb.mkdir()
    if shadow == "folder":
        (nb / "json").mkdir()
        (nb / "json" / "__init__.py").write_text("X = 1\n")
    else:
        (nb / "json.py").write_text("X = 1\n")
    if mine.endswith(".py"):
        (nb / mine).write_text("MINE = 'the user'\n")
    else:
        (nb / mine).mkdir()
        (nb / mine / "__init__.py").write_text("MINE = 'the user'\n")
    report = check("json", python=sys.executable, cwd=str(nb))
    fix = report.findings[0].fixes[0]
    assert fix.kind == "rename", [(f.kind, f.cell) for f in report.findings[0].fixes]
    assert "my_json_1" in fix.cell, fix.cell
    done = subprocess.run([sys.executable, "-c", fix.cell], capture_output=True, text=True, cwd=nb)
    assert done.returncode == 0, done.stderr[-400:]
    after = subprocess.run([sys.executable, "-c", "import json, my_json; json.dumps; print(my_json.MINE)"],
                           capture_output=True, text=True, cwd=nb)
    assert after.returncode == 0 and after.stdout.strip() == "the user", after.stderr[-400:]
