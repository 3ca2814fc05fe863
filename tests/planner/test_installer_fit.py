"""A venv made ``--without-pip`` (no uv on PATH): every install fix must be one that can run there. A bare
``python -m pip install`` ends in 'No module named pip'; the fix adds pip with ensurepip first, and applied
for real (its terminal commands, in order) it makes the import work."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from dllmagic.api import check
from dllmagic.report.text import shell_commands


def _path_without_uv() -> str:
    keep = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and not os.path.exists(os.path.join(p, "uv"))]
    return os.pathsep.join(keep)


def _bare_venv(root: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    return root / "bin" / "python"


def _install_fixes(report):
    return [f for finding in report.findings for f in finding.fixes if f.kind in ("pip", "uv")]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")
def test_a_venv_without_pip_gets_ensurepip_before_the_install_and_it_works(tmp_path, monkeypatch):
    python = _bare_venv(tmp_path / "venv")
    assert subprocess.run([str(python), "-c", "import pip"], capture_output=True).returncode != 0
    monkeypatch.setenv("PATH", _path_without_uv())
    monkeypatch.chdir(tmp_path)
    report = check("tabulate", python=str(python), cwd=str(tmp_path))
    installs = _install_fixes(report)
    assert installs, [f.title for finding in report.findings for f in finding.fixes]
    for fix in installs:
        commands = shell_commands(fix)
        assert commands and "-m ensurepip" in commands[0], (fix.title, commands)
        assert not fix.runnable   # its argv alone (the install) would fail: no one-click Run
        assert not fix.cell.startswith("%pip")
    top = report.findings[0]
    assert any(e.fact == "pip in this environment" for e in top.evidence), top.evidence
    # Applied for real, in order, as a terminal user would: the import then works.
    for line in shell_commands(installs[0]):
        done = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=600,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stdout[-600:] + done.stderr[-600:]
    assert subprocess.run([str(python), "-c", "import tabulate"], capture_output=True).returncode == 0


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")
def test_a_half_removed_distribution_in_a_venv_without_pip_is_reinstalled_after_ensurepip(tmp_path, monkeypatch):
    """Another rule's pip fix (the reinstall of a broken install) gets the same treatment."""
    python = _bare_venv(tmp_path / "venv")
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    info = site / "halfgone-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: halfgone\nVersion: 1.0\n")
    (info / "top_level.txt").write_text("halfgone\n")
    (info / "RECORD").write_text("halfgone/__init__.py,,\nhalfgone-1.0.dist-info/METADATA,,\n")
    monkeypatch.setenv("PATH", _path_without_uv())
    monkeypatch.chdir(tmp_path)
    report = check("halfgone", python=str(python), cwd=str(tmp_path))
    top = report.findings[0]
    assert top.cause == "broken-install", top
    installs = [f for f in top.fixes if f.kind in ("pip", "uv")]
    assert installs and all("-m ensurepip" in shell_commands(f)[0] for f in installs), \
        [shell_commands(f) for f in top.fixes]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")
def test_ipykernel_goes_into_another_environment_without_pip_with_what_it_has(tmp_path, monkeypatch):
    """The module is installed in another environment that has no pip (made --without-pip, filled from
    outside): registering it as a kernel installs ipykernel there after ensurepip, never with a pip it lacks;
    the commands, run for real, register a kernel that runs that environment."""
    import json

    other = _bare_venv(tmp_path / ".venv")     # beside the folder asked about: discovery finds it
    subprocess.run([sys.executable, "-m", "pip", "--python", str(other), "install", "--quiet", "tabulate"],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    empty = _bare_venv(tmp_path / "elsewhere" / "empty")
    monkeypatch.setenv("PATH", _path_without_uv())
    jupyter = tmp_path / "jupyter"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(jupyter))
    monkeypatch.setenv("HOME", str(tmp_path))    # the walk up from the folder asked about stays inside HOME
    monkeypatch.chdir(tmp_path)
    report = check("tabulate", python=str(empty), cwd=str(tmp_path / "elsewhere"))
    top = report.findings[0]
    assert top.cause == "installed-in-other-environment", top
    register = next(f for f in top.fixes if f.kind == "register-kernel")
    commands = shell_commands(register)
    assert commands[0] == f'"{other}" -m ensurepip', commands
    assert commands[1] == f'"{other}" -m pip install ipykernel', commands
    for line in commands:
        done = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=600,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stdout[-600:] + done.stderr[-600:]
    specs = list(jupyter.glob("kernels/*/kernel.json")) + list(tmp_path.glob(
        ".local/share/jupyter/kernels/*/kernel.json"))
    assert any(json.loads(p.read_text())["argv"][0] == str(other) for p in specs), specs


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")
def test_with_uv_on_path_a_venv_without_pip_gets_one_uv_install(tmp_path, monkeypatch):
    """uv on PATH: every install fix is uv's, and one action is offered once (the rules' pip fixes made uv's
    are the same action as the uv fix already there, whatever program path each names)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from harness import find_uv

    uv = find_uv()
    if uv is None:
        pytest.skip("no uv here")
    python = _bare_venv(tmp_path / "venv")
    monkeypatch.setenv("PATH", os.pathsep.join([os.path.dirname(uv), _path_without_uv()]))
    monkeypatch.chdir(tmp_path)
    report = check("tabulate", python=str(python), cwd=str(tmp_path))
    installs = _install_fixes(report)
    assert installs and all(f.kind == "uv" for f in installs), [(f.kind, f.argv) for f in installs]
    assert len(installs) == 1, [(f.title, f.argv) for f in installs]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")
def test_a_uv_venv_whose_path_has_no_uv_gets_no_uv_command(tmp_path, monkeypatch):
    """A venv made by uv (no pip in it) asked about where PATH has no uv (a kernel started from a desktop
    launcher that never read ~/.local/bin): a '!uv pip install' cell would end in 'uv: command not found'.
    Every install fix runs with what is here (pip added with ensurepip), and applied for real it works."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from harness import find_uv

    uv = find_uv()
    if uv is None:
        pytest.skip("no uv here to make the venv")
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(tmp_path / "venv")], check=True,
                   stdin=subprocess.DEVNULL)
    python = tmp_path / "venv" / "bin" / "python"
    assert "uv" in (tmp_path / "venv" / "pyvenv.cfg").read_text()
    assert subprocess.run([str(python), "-c", "import pip"], capture_output=True).returncode != 0
    monkeypatch.setenv("PATH", _path_without_uv())
    monkeypatch.chdir(tmp_path)
    report = check("tabulate", python=str(python), cwd=str(tmp_path))
    every = [f for finding in report.findings for f in finding.fixes]
    for fix in every:
        commands = shell_commands(fix) or []
        assert not any(line.split()[0] == "uv" for line in commands if line.split()), (fix.title, commands)
        assert not (fix.argv and fix.argv[0] == "uv"), fix.argv
    installs = _install_fixes(report)
    assert installs, [f.title for f in every]
    assert any("no uv is on this PATH" in e.value for e in report.findings[0].evidence), report.findings[0].evidence
    for line in shell_commands(installs[0]):
        done = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=600,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stdout[-600:] + done.stderr[-600:]
    assert subprocess.run([str(python), "-c", "import tabulate"], capture_output=True).returncode == 0


def _uv_managed_python(root: Path) -> Path:
    """A Python laid out as ``uv python install`` lays it out (…/uv/python/cpython-X.Y.Z-linux-x86_64-gnu) with
    the EXTERNALLY-MANAGED marker uv writes there (verdictkit's copy of this interpreter, uv's marker text)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "verdicts"))
    from verdictkit import base_python_copy

    home = root / "uv" / "python" / ("cpython-%d.%d.%d-linux-x86_64-gnu" % sys.version_info[:3])
    exe = base_python_copy(home, externally_managed=True)
    (home / "lib" / ("python%d.%d" % sys.version_info[:2]) / "EXTERNALLY-MANAGED").write_text(
        "[externally-managed]\nError=This Python installation is managed by uv and should not be modified.\n")
    return exe


@pytest.mark.skipif(sys.platform != "linux", reason="a Linux interpreter tree")
def test_a_uv_managed_python_marked_externally_managed_gets_no_pip_install(tmp_path, monkeypatch):
    """uv marks the Pythons it installs EXTERNALLY-MANAGED: pip refuses to install into them (PEP 668), so no
    '%pip install' is offered there, runnable or not; the way is a virtual environment (never
    --break-system-packages)."""
    python = _uv_managed_python(tmp_path)
    monkeypatch.setenv("PATH", _path_without_uv())
    monkeypatch.chdir(tmp_path)
    report = check("tabulate", python=str(python), cwd=str(tmp_path))
    assert report.interpreter.environment_kind == "system-externally-managed", report.interpreter
    every = [f for finding in report.findings for f in finding.fixes]
    assert not [f for f in every if f.kind in ("pip", "uv")], [(f.kind, f.cell) for f in every]
    assert not [f for f in every if f.runnable], [(f.kind, f.argv) for f in every]
    assert not any("--break-system-packages" in f.cell for f in every)
    assert any(f.cause == "externally-managed" for f in report.findings), [f.cause for f in report.findings]
    assert not any("operating system's Python" in f.summary for f in report.findings)
    assert "-m venv" in report.findings[0].fixes[0].cell, report.findings[0].fixes[0].cell


# ------------------------------------------------------------------ folders this user cannot write into
@pytest.fixture
def open_tmp():
    """A temporary folder user nobody can reach (pytest's own lies under a folder only root may enter)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="dllmagic-nobody-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _unprivileged(tmp: Path):
    """(a Python that user 'nobody' can run, how to run a command as nobody, a PYTHONPATH with dllmagic and
    packaging that nobody can read) on a root test machine with setpriv; else skip. A non-root user is not
    modelled: os.access then answers for that user, which is what the tests below need from nobody."""
    import shutil

    import packaging

    if os.geteuid() != 0 or shutil.which("setpriv") is None or not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("needs root, setpriv and /usr/bin/python3 to act as user nobody")
    src = tmp / "src"
    shutil.copytree(Path(__file__).resolve().parents[2] / "dllmagic", src / "dllmagic", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "labextension"))
    shutil.copytree(Path(packaging.__file__).parent, src / "packaging",
                    ignore=shutil.ignore_patterns("__pycache__"))
    home = tmp / "home"
    home.mkdir()
    os.chown(home, 65534, 65534)
    subprocess.run(["chmod", "-R", "a+rX", str(tmp)], check=True)
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", f"HOME={home}",
              f"PYTHONPATH={src}", f"PATH={_path_without_uv()}"]
    return "/usr/bin/python3", nobody, home


def _check_as(nobody, module: str, python: str, cwd: Path) -> dict:
    import json

    done = subprocess.run(nobody + ["/usr/bin/python3", "-m", "dllmagic", "check", module, "--python", python,
                                    "--cwd", str(cwd), "--json"], capture_output=True, text=True, timeout=300)
    assert done.stdout.startswith("{"), done.stdout[-600:] + done.stderr[-600:]
    return json.loads(done.stdout)


@pytest.mark.skipif(sys.platform != "linux", reason="users and setpriv")
def test_an_environment_another_user_owns_gets_no_install_that_permission_denies(open_tmp):
    """A venv root made (a shared environment, a JupyterHub image) used by another user: pip cannot write into
    its site-packages ('Permission denied'; a venv has no user site to fall back to). No install into it is
    offered as a command; the report says whose it is and what the user can do."""
    base, nobody, home = _unprivileged(open_tmp)
    subprocess.run([base, "-m", "venv", str(open_tmp / "shared")], check=True, stdin=subprocess.DEVNULL)
    python = str(open_tmp / "shared" / "bin" / "python")
    subprocess.run(["chmod", "-R", "a+rX", str(open_tmp / "shared")], check=True)
    refused = subprocess.run(nobody + [python, "-m", "pip", "install", "--no-index", "tabulate"],
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0
    report = _check_as(nobody, "tabulate", python, home)
    every = [f for finding in report["findings"] for f in finding["fixes"]]
    assert report["findings"][0]["cause"] in ("not-installed", "installed-in-other-environment"), report["findings"]
    installs = [f for f in every if f["kind"] in ("pip", "uv", "conda", "mamba")]
    assert not installs, [(f["kind"], f["cell"]) for f in installs]
    assert not [f for f in every if f["runnable"]], [f["argv"] for f in every]
    said = report["findings"][0]["fixes"][0]
    assert "not writable by this user" in said["cell"] and "belongs to root" in said["cell"], said["cell"]
    # As its owner (root here), the same environment gets the install, and it works.
    mine = check("tabulate", python=python, cwd=str(home))
    fix = mine.findings[0].fixes[0]
    assert fix.kind == "pip" and fix.runnable, (fix.kind, fix.cell)


@pytest.mark.skipif(sys.platform != "linux", reason="users and setpriv")
def test_a_shadow_in_a_folder_this_user_cannot_change_gets_no_rename_cell(open_tmp):
    """The notebook's folder is another user's (a shared, read-only course folder) and holds json.py: a rename
    cell would fail with 'Permission denied'; the fix says so and what to do."""
    base, nobody, home = _unprivileged(open_tmp)
    shared = open_tmp / "course"
    shared.mkdir()
    (shared / "json.py").write_text("X = 1\n")
    subprocess.run(["chmod", "-R", "a+rX,go-w", str(shared)], check=True)
    report = _check_as(nobody, "json", base, shared)
    top = report["findings"][0]
    assert top["cause"] == "shadowed-by-local-file", top
    assert not [f for f in top["fixes"] if f["kind"] == "rename"], [f["cell"] for f in top["fixes"]]
    assert "not writable by this user" in top["fixes"][0]["cell"], top["fixes"][0]["cell"]
    # Where the user can write (its own copy of the folder), the rename is offered and, applied, works.
    import shutil

    own = home / "course"
    shutil.copytree(shared, own)
    subprocess.run(["chown", "-R", "65534:65534", str(own)], check=True)
    report = _check_as(nobody, "json", base, own)
    rename = report["findings"][0]["fixes"][0]
    assert rename["kind"] == "rename", rename
    done = subprocess.run(nobody + [base, "-c", rename["cell"]], capture_output=True, text=True, cwd=own)
    assert done.returncode == 0, done.stderr[-400:]
    works = subprocess.run(nobody + [base, "-c", "import json; json.dumps"], capture_output=True, text=True,
                           cwd=own)
    assert works.returncode == 0, works.stderr[-400:]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")
def test_a_conda_environment_without_a_conda_to_run_gets_its_pip_install_first(tmp_path, monkeypatch):
    """A conda environment moved where no conda is (conda-pack, an image whose conda was removed): conda-meta/
    is there, but no $CONDA_EXE, no conda beside its Python, none its history names, none on PATH, so IPython's
    '%conda install' fails. The install that can run (its pip) comes first, and applied for real it works; the
    conda one is a statement of what is missing."""
    import json

    other = _bare_venv(tmp_path / ".venv")      # where tabulate is installed: discovery finds it beside
    subprocess.run([sys.executable, "-m", "pip", "--python", str(other), "install", "--quiet", "tabulate"],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    packed = tmp_path / "elsewhere" / "packed"
    subprocess.run([sys.executable, "-m", "venv", str(packed)], check=True, stdin=subprocess.DEVNULL)
    (packed / "conda-meta").mkdir()
    version = "%d.%d.%d" % sys.version_info[:3]
    (packed / "conda-meta" / f"python-{version}-h955ad1f_0_cpython.json").write_text(json.dumps(
        {"name": "python", "version": version, "build": "h955ad1f_0_cpython",
         "channel": "https://conda.anaconda.org/conda-forge"}))
    (packed / "conda-meta" / "history").write_text(
        f"==> 2024-01-01 00:00:00 <==\n# cmd: /opt/gone/bin/conda create -p {packed} python\n")
    python = packed / "bin" / "python"
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in _path_without_uv().split(os.pathsep)
                                                if not os.path.exists(os.path.join(p, "conda"))))
    monkeypatch.delenv("CONDA_EXE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    report = check("tabulate", python=str(python), cwd=str(tmp_path / "elsewhere"))
    top = report.findings[0]
    assert report.interpreter.environment_kind == "conda", report.interpreter
    assert top.cause == "installed-in-other-environment", top
    every = [f for finding in report.findings for f in finding.fixes]
    assert not [f for f in every if f.cell.startswith(("%conda", "%mamba", "%micromamba"))], \
        [f.cell for f in every]
    first = top.fixes[0]
    assert first.kind == "pip" and first.runnable, [(f.kind, f.cell) for f in top.fixes]
    said = next(f for f in top.fixes if "no conda is found" in f.title)
    assert f"conda install --prefix {packed}" in said.cell, said.cell
    done = subprocess.run(list(first.argv), capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-600:] + done.stderr[-600:]
    assert subprocess.run([str(python), "-c", "import tabulate"], capture_output=True).returncode == 0


@pytest.mark.skipif(sys.platform != "linux", reason="a Linux interpreter tree")
@pytest.mark.parametrize("with_ensurepip", [False, True])
def test_an_externally_managed_python_without_ensurepip_says_venv_needs_it_first(tmp_path, monkeypatch,
                                                                                with_ensurepip):
    """Debian and Ubuntu's Python is externally managed and ships ensurepip apart (python3-venv): the way out,
    a virtual environment, stops there with 'ensurepip is not available'. Where ensurepip is missing, each
    instruction that makes a venv says what to add first (or how uv makes one); where it is there, nothing."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "verdicts"))
    from verdictkit import base_python_copy

    python = base_python_copy(tmp_path / "system", externally_managed=True)
    if not with_ensurepip:
        (tmp_path / "system" / "lib" / ("python%d.%d" % sys.version_info[:2]) / "ensurepip").unlink()
    made = subprocess.run([str(python), "-m", "venv", str(tmp_path / "attempt")], capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert (made.returncode == 0) is with_ensurepip, made.stderr[-400:]
    monkeypatch.setenv("PATH", _path_without_uv())
    monkeypatch.chdir(tmp_path)
    report = check("tabulate", python=str(python), cwd=str(tmp_path))
    venvs = [f for finding in report.findings for f in finding.fixes if "-m venv" in f.cell]
    assert venvs, [f.cell for finding in report.findings for f in finding.fixes]
    minor = "%d.%d" % sys.version_info[:2]
    for fix in venvs:
        assert (f"python{minor}-venv" in fix.cell) is not with_ensurepip, fix.cell
        assert ("uv venv --seed" in fix.cell) is not with_ensurepip, fix.cell
        assert not fix.runnable and "--break-system-packages" not in fix.cell


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")
def test_a_venv_whose_pip_code_is_gone_gets_no_pip_command_and_the_steps_it_gets_work(tmp_path, monkeypatch):
    """pip's folder deleted, its dist-info left (a cleanup or a partial uninstall): '%pip install' fails with
    'No module named pip', and ensurepip answers 'Requirement already satisfied' and adds nothing. No pip
    command is offered; the steps offered (delete the leftover metadata, ensurepip, install), followed for
    real, make the import work."""
    import shutil

    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, stdin=subprocess.DEVNULL)
    python = tmp_path / "venv" / "bin" / "python"
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    shutil.rmtree(site / "pip")
    leftover = next(site.glob("pip-*.dist-info"))
    assert subprocess.run([str(python), "-m", "ensurepip"], capture_output=True).returncode == 0
    assert subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True).returncode != 0
    monkeypatch.setenv("PATH", _path_without_uv())
    monkeypatch.chdir(tmp_path)
    report = check("tabulate", python=str(python), cwd=str(tmp_path))
    every = [f for finding in report.findings for f in finding.fixes]
    assert not [f for f in every if f.kind in ("pip", "uv")], [(f.kind, f.cell) for f in every]
    said = next(f for f in every if "pip in this environment is damaged" in f.title)
    assert str(leftover) in said.cell, said.cell
    shutil.rmtree(leftover)
    for line in said.cell.split("\n"):
        if line.startswith(f"# {python} -m "):
            done = subprocess.run(shlex.split(line[2:]), capture_output=True, text=True, timeout=600,
                                  stdin=subprocess.DEVNULL)
            assert done.returncode == 0, done.stdout[-600:] + done.stderr[-600:]
    assert subprocess.run([str(python), "-c", "import tabulate"], capture_output=True).returncode == 0
