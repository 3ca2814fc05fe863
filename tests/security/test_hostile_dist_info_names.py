"""A metadata folder whose name holds shell syntax (``evil$(touch X)-1.0.dist-info``) for a module that is gone:
the report says what is known (recorded as installed, module missing), offers no command with that name,
nothing runs, and no rule fails on it (the CLI runs in strict mode, where a rule's error is loud)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness import run_cli  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")


@pytest.mark.parametrize("healthy", [False, True])
def test_a_hostile_dist_info_name_gets_no_command_and_nothing_runs(tmp_path, healthy):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    marker = tmp_path / "PWNED"
    info = site / "evil$(touch PWNED)-1.0.dist-info"   # run in tmp_path, it would make the marker
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n")
    (info / "top_level.txt").write_text("evilmod\n")
    (info / "RECORD").write_text("evilmod/__init__.py,,\nevilmod/gone.py,,\n")
    if healthy:   # the module imports; a file its RECORD lists is gone
        (site / "evilmod").mkdir()
        (site / "evilmod" / "__init__.py").write_text("")
    proc = run_cli("check", "evilmod", "--python", str(venv / "bin" / "python"), "--json", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    causes = [f["cause"] for f in report["findings"]]
    assert "broken-install" in causes and "unexplained" not in causes, (causes, report["notes"])
    assert not any("internal error" in n for n in report["notes"]), report["notes"]
    for finding in report["findings"]:
        for fix in finding["fixes"]:
            assert not fix["argv"] and not fix["runnable"] or "$(" not in " ".join(fix["argv"] or ()), fix
            assert all(line.startswith("#") for line in fix["cell"].splitlines() if "$(" in line), fix["cell"]
    assert not marker.exists()
