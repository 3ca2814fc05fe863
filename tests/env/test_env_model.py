"""Other machines, modelled from files: a Windows machine, a PEP 668 system Python; pure classifiers."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from dllmagic.diagnosis import Context
from dllmagic.facts import environments as envs
from dllmagic.facts import syspath
from dllmagic.facts.interpreter import classify_environment
from dllmagic.facts.system import System
from dllmagic.model import Failure, Interpreter
from envkit import run_env_rules


def _write(root: Path, rel: str, text: str = "") -> Path:
    path = root.joinpath(*rel.replace("\\", "/").split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _dist(root: Path, site: str, name: str, version: str, top: str, installer: str = "pip") -> None:
    d = f"{site}/{name}-{version}.dist-info"
    _write(root, f"{d}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    _write(root, f"{d}/top_level.txt", top + "\n")
    _write(root, f"{d}/INSTALLER", installer + "\n")
    _write(root, f"{site}/{top}/__init__.py")


@pytest.fixture
def windows(tmp_path):
    root = tmp_path / "win"
    appdata = "C/Users/me/AppData/Roaming"
    _dist(root, f"{appdata}/Python/Python38/site-packages", "pyjokes", "0.6.0", "pyjokes")
    # a conda env with tabulate, registered as a kernel in the user's Jupyter folder
    _write(root, "C/envs/tab/python.exe")
    _write(root, "C/envs/tab/python311.dll")
    _write(root, "C/envs/tab/conda-meta/python-3.11.9-h1_0.json", "{}")
    _write(root, "C/envs/tab/conda-meta/tabulate-0.9.0-pyhd8ed1ab_0.json", "{}")
    _dist(root, "C/envs/tab/Lib/site-packages", "tabulate", "0.9.0", "tabulate", installer="conda")
    _write(root, f"{appdata}/jupyter/kernels/tab/kernel.json", json.dumps({
        "argv": ["C:\\envs\\tab\\python.exe", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (tab)", "language": "python"}))
    # the kernel: a venv with nothing
    _write(root, "C/work/.venv/pyvenv.cfg", "home = C:\\Python311\nversion = 3.11.9\n")
    _write(root, "C/work/.venv/Scripts/python.exe")
    _dist(root, "C/work/.venv/Lib/site-packages", "pip", "24.0", "pip")
    environ = {"USERPROFILE": "C:\\Users\\me", "APPDATA": "C:\\Users\\me\\AppData\\Roaming",
               "Path": "C:\\work\\.venv\\Scripts;C:\\Windows", "PATHEXT": ".EXE;.BAT"}
    system = System.model("windows", str(root), environ=environ)
    it = Interpreter(executable="C:\\work\\.venv\\Scripts\\python.exe", real_executable="C:\\Python311\\python.exe",
                     version="3.11.9", implementation="CPython", architecture="AMD64", bits=64, platform="windows",
                     prefix="C:\\work\\.venv", base_prefix="C:\\Python311", environment_kind="venv",
                     user_site="C:\\Users\\me\\AppData\\Roaming\\Python\\Python311\\site-packages",
                     user_site_enabled=True)
    return system, it


def test_windows_machine_discovery(windows):
    system, it = windows
    found = envs.discover(system, it, notebook_dir="C:\\work\\notebooks")
    by = {e.prefix: e for e in found.environments}
    assert by["C:\\work\\.venv"].current and by["C:\\work\\.venv"].has_pip
    tab = by["C:\\envs\\tab"]
    assert tab.kind == "conda" and tab.version == "3.11.9" and tab.kernelspecs == ("tab",)
    user = [e for e in found.environments if e.kind == "user-site"]
    assert [(e.version, e.site_packages) for e in user] == [
        ("3.8", ("C:\\Users\\me\\AppData\\Roaming\\Python\\Python38\\site-packages",))]
    assert found.kernelspec("TAB").python == "C:\\envs\\tab\\python.exe"  # names are case-insensitive


def test_windows_machine_rules(windows):
    system, it = windows
    failure = Failure(kind="module-not-found", exc_type="ModuleNotFoundError",
                      message="No module named 'tabulate'", module="tabulate")
    ctx = Context(target="tabulate", failure=failure, system=system, interpreter=it,
                  sys_path=("C:\\work\\notebooks", "C:\\work\\.venv\\Lib\\site-packages"), cwd="C:\\work\\notebooks")
    top = run_env_rules(ctx)[0]
    assert top.cause == "installed-in-other-environment" and "C:\\envs\\tab" in top.summary
    assert top.fixes[0].kind == "kernel-switch" and "Python (tab)" in top.fixes[0].title
    assert any(e.fact == "installer" and e.value == "conda" for e in top.evidence)
    failure2 = Failure(kind="module-not-found", exc_type="ModuleNotFoundError",
                       message="No module named 'pyjokes'", module="pyjokes")
    ctx2 = Context(target="pyjokes", failure=failure2, system=system, interpreter=it,
                   sys_path=ctx.sys_path, cwd="C:\\work\\notebooks")
    top2 = run_env_rules(ctx2)[0]
    assert top2.cause == "foreign-user-site" and "Python38" in top2.summary


def test_pep668_system_python(tmp_path):
    root = tmp_path / "deb"
    _write(root, "usr/bin/python3")
    _write(root, "usr/lib/python3.12/os.py")
    _write(root, "usr/lib/python3.12/EXTERNALLY-MANAGED", "[externally-managed]\nError=use apt\n")
    (root / "usr/lib/python3/dist-packages").mkdir(parents=True)
    system = System.model("linux", str(root), environ={"HOME": "/home/me", "PATH": "/usr/bin"})
    it = Interpreter(executable="/usr/bin/python3", real_executable="/usr/bin/python3.12", version="3.12.3",
                     implementation="CPython", architecture="x86_64", bits=64, platform="linux", prefix="/usr",
                     base_prefix="/usr", environment_kind="system-externally-managed")
    failure = Failure(kind="module-not-found", exc_type="ModuleNotFoundError", message="No module named 'rich'",
                      module="rich")
    ctx = Context(target="rich", failure=failure, system=system, interpreter=it,
                  sys_path=("/usr/lib/python3.12", "/usr/lib/python3/dist-packages"), cwd="/home/me")
    findings = run_env_rules(ctx)
    assert [f.cause for f in findings] == ["externally-managed"]
    assert findings[0].evidence[-1].value == "/usr/lib/python3.12/EXTERNALLY-MANAGED"
    found = envs.discover(system, it)
    assert found.current.externally_managed and found.current.site_packages == ("/usr/lib/python3/dist-packages",)
    blob = json.dumps([[f.cell, f.argv] for f in findings[0].fixes])
    assert "break-system-packages" not in blob


def test_syspath_classification(tmp_path):
    root = tmp_path / "m"
    for rel in ("usr/lib/python3.11/os.py", "home/me/.local/lib/python3.8/site-packages/x.py",
                "venv/lib/python3.11/site-packages/editable.pth", "src/proj/__init__.py", "pp/mod.py"):
        _write(root, rel)
    (root / "venv/lib/python3.11/site-packages/editable.pth").write_text("/src\nimport sys\n")
    system = System.model("linux", str(root), environ={"PYTHONPATH": "/pp:/home/me/.local/lib/python3.8/site-packages"})
    it = Interpreter(executable="/venv/bin/python", real_executable="/usr/bin/python3.11", version="3.11.2",
                     implementation="CPython", architecture="x86_64", bits=64, platform="linux", prefix="/venv",
                     base_prefix="/usr", environment_kind="venv",
                     user_site="/home/me/.local/lib/python3.11/site-packages")
    entries = syspath.classify(system, it, ["", "/pp", "/home/me/.local/lib/python3.8/site-packages",
                                            "/usr/lib/python311.zip", "/usr/lib/python3.11",
                                            "/venv/lib/python3.11/site-packages", "/src", "/gone"], cwd="/nb")
    kinds = [(e.kind, e.exists) for e in entries]
    assert kinds == [("cwd", False), ("pythonpath", True), ("foreign-user-site", True), ("stdlib", False),
                     ("stdlib", True), ("site", True), ("pth", True), ("other", False)]
    assert entries[6].source.endswith("editable.pth")
    assert entries[2].python_version == "3.8"
    cands = syspath.candidates(system, entries, "proj")
    assert [(c.path, c.form) for c in cands] == [("/src/proj", "package")]


@pytest.mark.parametrize("facts, kind", [
    ({"conda_meta": True, "prefix": "/p/.pixi/envs/default"}, "pixi"),
    ({"conda_meta": True, "prefix": "/home/u/micromamba/envs/x"}, "micromamba"),
    ({"conda_meta": True, "prefix": "/opt/conda"}, "conda"),
    ({"pyvenv_cfg": "home = /usr/bin\nvirtualenv = 20.0", "prefix": "/h/.cache/pypoetry/virtualenvs/p-AbC-py3.11"},
     "poetry"),
    ({"pyvenv_cfg": "home = /usr/bin", "prefix": "/h/.local/share/virtualenvs/proj-Ab12Cd34"}, "pipenv"),
    ({"pyvenv_cfg": "home = /usr/bin", "prefix": "/h/.local/share/hatch/env/virtual/p/Xy/p"}, "hatch"),
    ({"pyvenv_cfg": "home = /usr/bin\nuv = 0.4.0", "prefix": "/p/.venv"}, "uv"),
    ({"pyvenv_cfg": "home = /usr/bin", "prefix": "/p/.venv"}, "venv"),
    ({"real_executable": "C:\\Program Files\\WindowsApps\\Python.3.11\\python.exe"}, "windows-store"),
    ({"real_executable": "C:\\py\\python.exe", "embedded_pth": "C:\\py\\python311._pth"}, "embedded"),
    ({"real_executable": "/usr/bin/python3.12", "externally_managed": True}, "system-externally-managed"),
    ({"real_executable": "/usr/bin/python3.12"}, "system"),
])
def test_classify_environment(facts, kind):
    assert classify_environment(facts) == kind


def test_pyenv_shim_on_path_resolves_to_its_version(tmp_path):
    root = tmp_path / "py"
    _write(root, "home/me/.pyenv/shims/python", "#!/usr/bin/env bash\nexec pyenv exec python\n")
    _write(root, "home/me/.pyenv/shims/pip", "#!/usr/bin/env bash\nexec pyenv exec pip\n")
    (root / "home/me/.pyenv/shims/python").chmod(0o755)
    (root / "home/me/.pyenv/shims/pip").chmod(0o755)
    _write(root, "home/me/.pyenv/versions/3.12.1/bin/python3.12")
    _write(root, "home/me/.pyenv/versions/3.10.4/bin/python3.10")
    _write(root, "home/me/.pyenv/version", "3.12.1\n")
    _write(root, "home/me/proj/.python-version", "3.10.4\n")
    system = System.model("linux", str(root), environ={"HOME": "/home/me", "PATH": "/home/me/.pyenv/shims"})
    exp = envs.notebook_expectation(system, None, cwd="/home/me/proj/nb")
    assert exp.python_on_path_prefix == "/home/me/.pyenv/versions/3.10.4"
    assert exp.pip_on_path_prefix == "/home/me/.pyenv/versions/3.10.4"
    exp = envs.notebook_expectation(system, None, cwd="/home/me")
    assert exp.python_on_path_prefix == "/home/me/.pyenv/versions/3.12.1"
