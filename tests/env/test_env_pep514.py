"""Windows' registry of installed Pythons (PEP 514) as a discovery source.

The parsing is pure (a tree in, records out); the live reader is tested with a stand-in ``winreg`` module,
since the real registry cannot be had on Linux; a modelled Windows machine states its registry in the
machine description, and ``dlldoctor kernels --machine`` lists what it finds.
"""
from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

import pytest

from dllmagic.facts import environments as envs
from dllmagic.facts.native.machine import MachineError, load_machine
from dllmagic.facts.system import System
from harness import REPO, run_cli

HKCU_311 = "HKCU\\Software\\Python\\PythonCore\\3.11"


def test_parse_pep514_tree():
    tree = {
        "HKCU": {"PythonCore": {"3.11": {"InstallPath": "D:\\Tools\\Py311", "ExecutablePath": "D:\\Tools\\Py311\\python.exe",
                                         "SysVersion": "3.11", "SysArchitecture": "64bit",
                                         "DisplayName": "Python 3.11 (64-bit)"}},
                 "PyLauncher": {"AllUsers": {"InstallPath": "C:\\Windows"}}},          # not a Python (PEP 514)
        "HKLM": {"PythonCore": {"3.10": {"InstallPath": {"": "C:\\Py310", "ExecutablePath": "C:\\Py310\\python.exe"}}},
                 "ContinuumAnalytics": {"Anaconda311-64": {
                     "DisplayName": "Anaconda 2023.09", "SysVersion": "3.11", "SysArchitecture": "64bit",
                     "InstallPath": {"(default)": "C:\\ProgramData\\anaconda3"}}},
                 "Broken": {"x": "not a key", "y": {}}},
        "HKLM\\Wow6432Node": {"PythonCore": {"3.9-32": {"InstallPath": "C:\\Py39-32"}}},
        "HKCR": {"PythonCore": {"3.8": {"InstallPath": "C:\\Py38"}}},                  # not a PEP 514 hive
    }
    found = {r.key: r for r in envs.parse_pep514(tree)}
    assert sorted(found) == sorted([
        HKCU_311, "HKLM\\Software\\Python\\PythonCore\\3.10",
        "HKLM\\Software\\Python\\ContinuumAnalytics\\Anaconda311-64", "HKLM\\Software\\Python\\Broken\\y",
        "HKLM\\Software\\Wow6432Node\\Python\\PythonCore\\3.9-32"])
    a = found[HKCU_311]
    assert (a.install_path, a.executable, a.version, a.architecture, a.display_name) == (
        "D:\\Tools\\Py311", "D:\\Tools\\Py311\\python.exe", "3.11", "64bit", "Python 3.11 (64-bit)")
    assert a.found_by == f"PEP 514 registry ({HKCU_311})"
    b = found["HKLM\\Software\\Python\\PythonCore\\3.10"]   # PythonCore defaults: version from the tag, 64bit
    assert (b.install_path, b.executable, b.version, b.architecture, b.display_name) == (
        "C:\\Py310", "C:\\Py310\\python.exe", "3.10", "64bit", "Python 3.10")
    c = found["HKLM\\Software\\Python\\ContinuumAnalytics\\Anaconda311-64"]
    assert (c.install_path, c.version, c.display_name) == ("C:\\ProgramData\\anaconda3", "3.11", "Anaconda 2023.09")
    d = found["HKLM\\Software\\Wow6432Node\\Python\\PythonCore\\3.9-32"]
    assert (d.version, d.architecture) == ("3.9", "32bit")
    e = found["HKLM\\Software\\Python\\Broken\\y"]           # other companies: no defaults are guessed
    assert (e.install_path, e.version, e.architecture) == (None, None, None)
    assert envs.parse_pep514(None) == [] and envs.parse_pep514({"HKCU": "x"}) == []


# ------------------------------------------------------------------------------------------------ live
class _Key:
    def __init__(self, node, path):
        self.node, self.path = node, path


def fake_winreg(hives, *, one_view: bool = False):
    """A stand-in for winreg over {(root, view): {subkey: {... "values": {...}}}}; records opens and closes."""
    mod = types.ModuleType("winreg")
    mod.HKEY_CURRENT_USER, mod.HKEY_LOCAL_MACHINE = "HKCU", "HKLM"
    mod.KEY_READ, mod.KEY_WOW64_64KEY, mod.KEY_WOW64_32KEY = 0x20019, 0x100, 0x200
    mod.opened, mod.closed, mod.access = [], [], []

    def OpenKey(parent, sub, reserved=0, access=0x20019):
        if isinstance(parent, str):
            view = "32" if (access & mod.KEY_WOW64_32KEY and not one_view) else "64"
            node, path = hives.get((parent, view if parent == "HKLM" else "64"), {}), parent
            mod.access.append((parent, sub, access))
        else:
            node, path = parent.node, parent.path
        for part in sub.split("\\"):
            if part not in node or not isinstance(node[part], dict) or part == "values":
                raise FileNotFoundError(2, "The system cannot find the file specified")
            node, path = node[part], path + "\\" + part
        key = _Key(node, path)
        mod.opened.append(key)
        return key

    def EnumKey(key, i):
        names = [n for n in key.node if n != "values"]
        if i >= len(names):
            raise OSError(259, "No more data is available")
        return names[i]

    def EnumValue(key, i):
        items = list(key.node.get("values", {}).items())
        if i >= len(items):
            raise OSError(259, "No more data is available")
        return items[i][0], items[i][1], 1

    def CloseKey(key):
        mod.closed.append(key)

    mod.OpenKey, mod.EnumKey, mod.EnumValue, mod.CloseKey = OpenKey, EnumKey, EnumValue, CloseKey
    return mod


def _tag(path, exe=None, **values):
    install = {"values": {"": path, **({"ExecutablePath": exe} if exe else {})}}
    return {"values": values, "InstallPath": install}


REGISTRY = {
    ("HKCU", "64"): {"Software": {"Python": {
        "PythonCore": {"3.11": _tag("D:\\Tools\\Py311", "D:\\Tools\\Py311\\python.exe", SysVersion="3.11",
                                    DisplayName="Python 3.11 (64-bit)")},
        "PyLauncher": {"values": {}}}}},
    ("HKLM", "64"): {"Software": {"Python": {"PythonCore": {"3.12": _tag("C:\\Program Files\\Python312")}}}},
    ("HKLM", "32"): {"Software": {"Python": {"PythonCore": {"3.9-32": _tag("C:\\Py39-32", SysArchitecture="32bit")}}}},
}


def test_live_reader_with_a_stand_in_winreg():
    w = fake_winreg(REGISTRY)
    tree = envs.read_pep514_registry(w)
    assert tree["HKCU"]["PythonCore"]["3.11"] == {
        "SysVersion": "3.11", "DisplayName": "Python 3.11 (64-bit)",
        "InstallPath": {"": "D:\\Tools\\Py311", "ExecutablePath": "D:\\Tools\\Py311\\python.exe"}}
    assert list(tree["HKLM"]["PythonCore"]) == ["3.12"]
    assert list(tree["HKLM\\Wow6432Node"]["PythonCore"]) == ["3.9-32"]
    # both HKLM views were asked for, read-only; every key opened was closed again
    hklm = [acc for root, _, acc in w.access if root == "HKLM"]
    assert hklm == [w.KEY_READ | w.KEY_WOW64_64KEY, w.KEY_READ | w.KEY_WOW64_32KEY]
    assert len(w.opened) == len(w.closed) and {id(k) for k in w.opened} == {id(k) for k in w.closed}
    keys = [r.key for r in envs.parse_pep514(tree)]
    assert keys == [HKCU_311, "HKLM\\Software\\Python\\PythonCore\\3.12",
                    "HKLM\\Software\\Wow6432Node\\Python\\PythonCore\\3.9-32"]


def test_live_reader_lists_a_single_hklm_view_once():
    """32-bit Windows has one HKLM view: both access flags read the same keys."""
    w = fake_winreg({("HKLM", "64"): REGISTRY[("HKLM", "64")]}, one_view=True)
    tree = envs.read_pep514_registry(w)
    assert set(tree) == {"HKLM"} and list(tree["HKLM"]["PythonCore"]) == ["3.12"]


def test_live_windows_system_reads_winreg(monkeypatch):
    monkeypatch.setitem(sys.modules, "winreg", fake_winreg(REGISTRY))
    live_windows = System.current().replace(platform="windows")
    assert [r.tag for r in envs.registry_pythons(live_windows)] == ["3.11", "3.12", "3.9-32"]
    # a live Linux machine has no registry; a model has only what its description states
    if sys.platform != "win32":
        assert envs.registry_pythons(System.current()) == []
    assert envs.registry_pythons(System.model("windows", "/nonexistent")) == []
    monkeypatch.setitem(sys.modules, "winreg", None)  # import winreg fails: nothing, never an error
    assert envs.read_pep514_registry() == {}


# ------------------------------------------------------------------------------------------------ modelled
def _write(root: Path, rel: str, text: str = "") -> None:
    path = root.joinpath(*rel.replace("\\", "/").split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def windows_machine(tmp_path) -> Path:
    root = tmp_path / "files"
    # A Python in a folder no other discovery source looks at: only the registry names it.
    _write(root, "D/Tools/Py311/python.exe")
    _write(root, "D/Tools/Py311/python311.dll")
    _write(root, "D/Tools/Py311/Lib/site-packages/tabulate-0.9.0.dist-info/METADATA",
           "Metadata-Version: 2.1\nName: tabulate\nVersion: 0.9.0\n")
    _write(root, "D/Tools/Py311/Lib/site-packages/tabulate/__init__.py")
    # A 32-bit one without a versioned DLL: its version comes from SysVersion.
    _write(root, "E/Legacy/Py39/python.exe")
    _write(root, "E/Legacy/Py39/Lib/site-packages/README.txt")
    _write(root, "C/Users/me/AppData/Roaming/.keep")
    desc = {
        "platform": "windows", "root": "files",
        "environ": {"USERPROFILE": "C:\\Users\\me", "APPDATA": "C:\\Users\\me\\AppData\\Roaming", "Path": "C:\\Windows"},
        "registry": {
            "HKCU": {"PythonCore": {"3.11": {"InstallPath": "D:\\Tools\\Py311",
                                             "ExecutablePath": "D:\\Tools\\Py311\\python.exe", "SysVersion": "3.11",
                                             "SysArchitecture": "64bit", "DisplayName": "Python 3.11 (64-bit)"}}},
            "HKLM\\Wow6432Node": {"PythonCore": {"3.9-32": {"InstallPath": {"": "E:\\Legacy\\Py39"},
                                                            "SysVersion": "3.9"}}},
            "HKLM": {"PythonCore": {"3.8": {"InstallPath": "C:\\Python38"}}},   # uninstalled: not on disk
        },
    }
    path = tmp_path / "machine.json"
    path.write_text(json.dumps(desc))
    return path


def test_modelled_machine_discovery(windows_machine):
    machine = load_machine(str(windows_machine))
    assert machine.system.registry["HKCU"]["PythonCore"]["3.11"]["SysVersion"] == "3.11"
    found = envs.discover(machine.system, None)
    by = {e.prefix: e for e in found.environments}
    py311 = by["D:\\Tools\\Py311"]
    assert py311.found_by == (f"PEP 514 registry ({HKCU_311})",)
    assert py311.name == "Python 3.11 (64-bit)" and py311.version == "3.11" and py311.architecture == "64bit"
    assert py311.python == "D:\\Tools\\Py311\\python.exe" and py311.distributions == 1
    assert py311.site_packages == ("D:\\Tools\\Py311\\Lib\\site-packages",)
    legacy = by["E:\\Legacy\\Py39"]
    assert legacy.version == "3.9" and legacy.architecture == "32bit"
    assert legacy.version_source == "HKLM\\Software\\Wow6432Node\\Python\\PythonCore\\3.9-32 (SysVersion)"
    assert "C:\\Python38" not in by
    assert any("HKLM\\Software\\Python\\PythonCore\\3.8" in n and "C:\\Python38" in n for n in found.notes)
    hits = envs.locate(found, "tabulate", machine.system)
    assert [h.environment.prefix for h in hits] == ["D:\\Tools\\Py311"]


def test_machine_description_registry_must_be_a_tree(tmp_path):
    (tmp_path / "files").mkdir()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"platform": "windows", "root": "files", "registry": {"HKCU": "x"}}))
    with pytest.raises(MachineError, match="registry"):
        load_machine(str(bad))
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"platform": "windows", "root": "files"}))
    assert load_machine(str(plain)).system.registry is None


@pytest.mark.parametrize("root", [None, 5, ["files"], {"path": "files"}])
def test_machine_description_root_of_another_type_is_named(tmp_path, root):
    # (the fuzzer's case: "root": null raised a TypeError from os.path.join)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"platform": "linux", "root": root}))
    with pytest.raises(MachineError, match="'root' must be a string"):
        load_machine(str(bad))


def test_kernels_cli_shows_registry_pythons(windows_machine, tmp_path):
    env = {"PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    proc = run_cli("kernels", "--machine", str(windows_machine), "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    envs_ = {e["prefix"]: e for e in data["environments"]}
    assert envs_["D:\\Tools\\Py311"]["found_by"] == [f"PEP 514 registry ({HKCU_311})"]
    assert envs_["E:\\Legacy\\Py39"]["architecture"] == "32bit"
    assert any("PythonCore\\3.8" in n for n in data["notes"])
    text = run_cli("kernels", "--machine", str(windows_machine), env=env)
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert f"found by: PEP 514 registry ({HKCU_311})" in out
    assert "Python 3.11 (64-bit)" in out and "D:\\Tools\\Py311" in out and "64bit" in out
    assert "note: PEP 514 registry (HKLM\\Software\\Python\\PythonCore\\3.8) names C:\\Python38" in out
    missing = run_cli("kernels", "--machine", str(tmp_path / "nope.json"), env=env)
    assert missing.returncode == 2 and "nope.json" in missing.stderr
