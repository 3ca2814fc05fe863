"""Pythons in the standard install folders are found even when they are not on PATH."""
import os
import sys

from dllmagic.facts.environments import discover
from dllmagic.facts.system import System


def _touch(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write("")


def test_posix_standard_folders_without_path(tmp_path):
    root = tmp_path / "mac"
    real = os.path.realpath(sys.executable)
    (root / "usr/local/bin").mkdir(parents=True)
    os.symlink(real, root / "usr/local/bin/python3.11")
    (root / "usr/local/lib/python3.11/site-packages/six-1.16.0.dist-info").mkdir(parents=True)
    fw = root / "Library/Frameworks/Python.framework/Versions/3.12"
    _touch(str(fw / "bin/python3"))
    (fw / "lib/python3.12/site-packages").mkdir(parents=True)
    system = System.model("macos", str(root), environ={"PATH": "/nowhere", "HOME": "/Users/ana"})
    found = {env.prefix: env for env in discover(system).environments}
    assert "/usr/local" in found
    assert any("standard install folder /usr/local/bin" in how for how in found["/usr/local"].found_by)
    assert "/Library/Frameworks/Python.framework/Versions/3.12" in found


def test_windows_standard_folders(tmp_path):
    root = tmp_path / "win"
    _touch(str(root / "C/Python39/python.exe"))
    (root / "C/Python39/Lib/site-packages").mkdir(parents=True)
    _touch(str(root / "C/Users/ana/AppData/Local/Programs/Python/Python312/python.exe"))
    (root / "C/Users/ana/AppData/Local/Programs/Python/Python312/Lib/site-packages").mkdir(parents=True)
    system = System.model("windows", str(root), environ={
        "PATH": "C:\\Windows\\System32", "LOCALAPPDATA": "C:\\Users\\ana\\AppData\\Local",
        "USERPROFILE": "C:\\Users\\ana"})
    prefixes = {env.prefix.lower() for env in discover(system).environments}
    assert "c:\\python39" in prefixes
    assert "c:\\users\\ana\\appdata\\local\\programs\\python\\python312" in prefixes
