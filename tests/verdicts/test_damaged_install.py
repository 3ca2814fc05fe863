"""A working import in a damaged installation: files the distribution's RECORD lists were deleted. The import
asked about works (healthy stays the first answer, and true), and the damage is said beside it with the
reinstall, which, applied for real, leaves nothing to report."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness import run_cli
from verdictkit import venv_with

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")


def test_a_file_deleted_from_a_working_package_is_named_beside_the_healthy_answer(tmp_path):
    python = venv_with(tmp_path / "venv", "packaging", pip=True)
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    victim = next(p for p in sorted((site / "packaging").glob("*.py")) if p.name not in ("__init__.py",))
    victim.unlink()
    assert subprocess.run([str(python), "-c", "import packaging"]).returncode == 0

    def check():
        proc = run_cli("check", "packaging", "--python", str(python), "--json", cwd=tmp_path)
        return proc.returncode, json.loads(proc.stdout)

    status, report = check()
    causes = [f["cause"] for f in report["findings"]]
    assert status == 0 and report["ok"] and causes[0] == "healthy", causes   # the import asked about works
    damaged = next(f for f in report["findings"] if f["cause"] == "broken-install")
    assert f"packaging/{victim.name}" in damaged["summary"], damaged["summary"]
    fix = damaged["fixes"][0]
    assert fix["runnable"] and "--force-reinstall" in fix["argv"], fix
    subprocess.run(fix["argv"], check=True, capture_output=True, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert victim.exists()
    status, report = check()
    assert [f["cause"] for f in report["findings"]] == ["healthy"], report["findings"]


def test_a_leftover_dist_info_of_an_older_release_is_named_and_the_healthy_answer_names_the_current_one(tmp_path):
    """tabulate 0.8.10's metadata copied back beside 0.10.0's (an upgrade that left it, a site-packages copied
    over another): the import works; the RECORD hashes tell which metadata the files on disk belong to."""
    import shutil

    python = venv_with(tmp_path / "venv", "tabulate==0.8.10")
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    old = site / "tabulate-0.8.10.dist-info"
    shutil.copytree(old, tmp_path / "kept")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "tabulate==0.10.0"],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    shutil.copytree(tmp_path / "kept", old)
    proc = run_cli("check", "tabulate", "--python", str(python), "--json", cwd=tmp_path)
    report = json.loads(proc.stdout)
    healthy, leftover = report["findings"][0], report["findings"][1]
    assert report["ok"] and healthy["cause"] == "healthy", healthy
    assert any(e["fact"] == "distribution" and e["value"] == "tabulate 0.10.0" for e in healthy["evidence"])
    assert leftover["cause"] == "duplicate-distributions", report["findings"]
    assert "0.8.10 is left over" in leftover["summary"], leftover["summary"]
    assert str(old) in leftover["fixes"][0]["cell"] and not leftover["fixes"][0]["runnable"]
    assert len(report["findings"]) == 2, [f["cause"] for f in report["findings"]]
    shutil.rmtree(old)    # what the fix says
    report = json.loads(run_cli("check", "tabulate", "--python", str(python), "--json", cwd=tmp_path).stdout)
    assert [f["cause"] for f in report["findings"]] == ["healthy"], report["findings"]


def test_a_file_whose_name_holds_a_comma_is_not_missing(tmp_path):
    """RECORD is CSV: pip quotes a path that holds a comma. Read line by line, '"rtcomma/a,b.txt"' became a
    file 'rtcomma/a' that is not on disk, and an intact installation was called damaged."""
    import base64
    import csv
    import hashlib
    import io
    import zipfile

    files = {"rtcomma/__init__.py": b"VALUE = 1\n", "rtcomma/a,b.txt": b"data\n",
             "rtcomma-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: rtcomma\nVersion: 1.0\n",
             "rtcomma-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                            b"Tag: py3-none-any\n"}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([path, f"sha256={digest}", len(data)])
    writer.writerow(["rtcomma-1.0.dist-info/RECORD", "", ""])
    wheel = tmp_path / "rtcomma-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
        zf.writestr("rtcomma-1.0.dist-info/RECORD", out.getvalue())
    python = venv_with(tmp_path / "venv", str(wheel))
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    assert '"rtcomma/a,b.txt"' in (site / "rtcomma-1.0.dist-info" / "RECORD").read_text()
    proc = run_cli("check", "rtcomma", "--python", str(python), "--json", cwd=tmp_path)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and [f["cause"] for f in report["findings"]] == ["healthy"], report["findings"]


def test_a_package_whose_init_was_deleted_is_no_healthy_namespace(tmp_path):
    """tabulate/__init__.py deleted (its folder stays): 'import tabulate' still works, as an empty
    namespace package made of the folder, and 'from tabulate import tabulate' fails. That is no healthy import:
    the damaged install is the answer (not ok), and its reinstall, applied for real, makes the code work."""
    python = venv_with(tmp_path / "venv", "tabulate==0.10.0", pip=True)
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    init = site / "tabulate" / "__init__.py"
    init.unlink()
    assert subprocess.run([str(python), "-c", "import tabulate"], cwd=tmp_path).returncode == 0
    assert subprocess.run([str(python), "-c", "from tabulate import tabulate"], cwd=tmp_path,
                          capture_output=True).returncode != 0

    def check():
        proc = run_cli("check", "tabulate", "--python", str(python), "--json", cwd=tmp_path)
        return proc.returncode, json.loads(proc.stdout)

    status, report = check()
    causes = [f["cause"] for f in report["findings"]]
    assert "healthy" not in causes and causes[0] == "broken-install", causes
    assert status != 0 and not report["ok"], (status, report["ok"])
    fix = report["findings"][0]["fixes"][0]
    assert fix["runnable"] and "--force-reinstall" in fix["argv"], fix
    subprocess.run(fix["argv"], check=True, capture_output=True, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert init.exists()
    assert subprocess.run([str(python), "-c", "from tabulate import tabulate"], cwd=tmp_path).returncode == 0
    status, report = check()
    assert report["ok"] and [f["cause"] for f in report["findings"]] == ["healthy"], report["findings"]
