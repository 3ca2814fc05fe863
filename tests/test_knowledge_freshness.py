"""Knowledge freshness: a release table older than a release installed in the test environment fails.

scripts/regenerate_knowledge.py reads the installed releases (importlib.metadata of the interpreter, or of
site folders) and, with --online, the package index; these tests run it for real, without the network.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "regenerate_knowledge.py"


def script_module():
    spec = importlib.util.spec_from_file_location("regenerate_knowledge", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module      # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), "--no-numpy", "--json", *args],
                          capture_output=True, text=True, timeout=300)


def release_result(proc):
    return next(r for r in json.loads(proc.stdout) if r["table"] == "framework_builds")


def test_release_tables_are_not_older_than_what_this_environment_installs():
    # The test environment's own releases (torch / tensorflow when installed): the table must know them.
    result = release_result(run())
    assert result["differences"] == [], result
    assert len(result["notes"]) >= 2


def make_site(tmp_path, name, version):
    info = tmp_path / "site" / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return tmp_path / "site"


def test_a_newer_installed_release_fails_the_check(tmp_path):
    mod = script_module()
    table = json.loads((REPO / "dllmagic/knowledge/framework_builds.json").read_text())
    newest = max((r["release"] for r in table["entries"] if r["package"] == "torch"), key=mod._major_minor)
    major, minor = mod._major_minor(newest)
    site = make_site(tmp_path, "torch", f"{major}.{minor + 1}.0")
    proc = run("--site", str(site))
    assert proc.returncode == 1
    differences = release_result(proc)["differences"]
    assert any(f"torch {major}.{minor + 1}.0 is installed" in d for d in differences), differences
    # The same release the table has passes.
    site2 = make_site(tmp_path / "b", "torch", f"{newest}.1")
    proc = run("--site", str(site2))
    assert release_result(proc)["differences"] == []
    assert proc.returncode == 0, proc.stdout


def test_online_refresh_adds_rows_from_the_index_answer(tmp_path):
    # The index's answer as online_releases returns it (the network is used only with --online).
    mod = script_module()
    tables = tmp_path / "knowledge"
    shutil.copytree(REPO / "dllmagic" / "knowledge", tables)
    table = json.loads((tables / "framework_builds.json").read_text())
    newest = max((r["release"] for r in table["entries"] if r["package"] == "tensorflow"), key=mod._major_minor)
    major, minor = mod._major_minor(newest)
    release = f"{major}.{minor + 1}"
    found = {"tensorflow": {newest: {"python": ">=3.9", "platforms": ["linux-x86_64"]},
                            release: {"python": ">=3.10,<3.15", "platforms": ["linux-x86_64", "macos-arm64"]}}}
    results = mod.refresh_release_tables(tables, found, "2026-12-07")
    assert results[0].changed
    mod._write(tables, "framework_builds", results[0].data)     # validated against the table's shape
    rows = json.loads((tables / "framework_builds.json").read_text())["entries"]
    row = next(r for r in rows if r["id"] == f"tensorflow-{release}")
    assert row["python"] == ">=3.10,<3.15" and row["platforms"] == ["linux-x86_64", "macos-arm64"]
    assert row["cuda"] == [] and row["checked"] == "2026-12-07"
    # Wheel tags become platforms.
    assert mod._platform_of_wheel("torch-2.9.0-cp312-cp312-manylinux_2_28_x86_64.whl") == "linux-x86_64"
    assert mod._platform_of_wheel("torch-2.9.0-cp312-cp312-win_amd64.whl") == "windows-x86_64"
    assert mod._platform_of_wheel("torch-2.9.0-cp312-none-macosx_11_0_arm64.whl") == "macos-arm64"
