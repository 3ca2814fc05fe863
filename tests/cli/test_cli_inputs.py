"""Malformed and hostile inputs to the CLI become usage errors or diagnoses, never exit 3 or a hang:
machine descriptions, large logs, FIFOs on sys.path, unreadable folders, truncated libraries."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import REPO, run_cli


# -- --machine descriptions ---------------------------------------------------------------------------

BAD_MACHINES = [
    ({"platform": "windows", "root": 5}, "'root'"),
    ({"platform": "windows", "root": "fi\u0000les"}, "'root' holds a NUL"),
    ({"platform": 7}, "'platform'"),
    ({"platform": "windows", "python": []}, "'python'"),
    ({"platform": "windows", "python": {"executable": "C:\\a\u0000b.exe"}}, "'python.executable' holds a NUL"),
    ({"platform": "windows", "python": {"executable": 3}}, "'python.executable'"),
    ({"platform": "windows", "python": {"version": "3.x"}}, "'python.version'"),
    ({"platform": "windows", "python": {"version": [3, 11]}}, "'python.version'"),
    ({"platform": "windows", "python": {"bits": "64"}}, "'python.bits'"),
    ({"platform": "windows", "python": {"conda": "yes"}}, "'python.conda'"),
    ({"platform": "windows", "python": {"sys_path": ["a", 1]}}, "'python.sys_path[1]'"),
    ({"platform": "windows", "environ": {"PATH": 1}}, "'environ.PATH'"),
    ({"platform": "windows", "environ": ["PATH"]}, "'environ'"),
    ({"platform": "windows", "loaded": "C:\\x.dll"}, "'loaded'"),
    ({"platform": "windows", "imported": [None]}, "'imported[0]'"),
    ({"platform": "windows", "dll_directories": [5]}, "dll_directories[0]"),
    ({"platform": "windows", "dll_directories": [{"path": 5}]}, "'dll_directories[0].path'"),
    ({"platform": "windows", "dll_directories": "C:\\x"}, "'dll_directories'"),
    ({"platform": "windows", "windows": {"os_bits": "x"}}, "'windows.os_bits'"),
    ({"platform": "windows", "windows": {"known_dlls": "kernel32.dll"}}, "'windows.known_dlls'"),
    ({"platform": "windows", "windows": {"version": 10}}, "'windows.version'"),
    ({"platform": "windows", "windows": 5}, "'windows'"),
    ({"platform": "windows", "registry": {"HKCU": 5}}, "'registry.HKCU'"),
    ({"platform": "windows", "registry": {"HKCU": {"PythonCore": {"3.11": {"InstallPath": 5}}}}},
     "'registry.HKCU.PythonCore.3.11.InstallPath'"),
    ({"platform": "macos", "macos": {"shared_cache": 7}}, "'macos.shared_cache'"),
    ({"platform": "macos", "macos": {"env_purged": "no"}}, "'macos.env_purged'"),
    ({"platform": "macos", "machine": ["arm64"]}, "'machine'"),
    ([1, 2], "JSON object"),
]


@pytest.mark.parametrize("verb", ["deps", "kernels", "explain"])
def test_bad_machine_descriptions_exit_2_naming_the_field(tmp_path, verb):
    (tmp_path / "files").mkdir()
    log = tmp_path / "log.txt"
    log.write_text("ModuleNotFoundError: No module named 'x'\n")
    args = {"deps": ["deps", "--machine", "m.json", "files"], "kernels": ["kernels", "--machine", "m.json"],
            "explain": ["explain", "--machine", "m.json", str(log)]}[verb]
    for data, field in BAD_MACHINES:
        (tmp_path / "m.json").write_text(json.dumps(data))
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, (data, proc.stdout, proc.stderr)
        assert field in proc.stderr, (data, proc.stderr)
        assert "Traceback" not in proc.stderr
    for raw, what in ((b"[" * 100000 + b"]" * 100000, "nested too deeply"), (b"\xff\xfe{}", "not UTF-8"),
                      (b'{"platform": "windows", ', "not valid JSON")):
        (tmp_path / "m.json").write_bytes(raw)
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 2 and what in proc.stderr, proc.stderr
    os.unlink(tmp_path / "m.json")
    os.mkfifo(tmp_path / "m.json")  # never waits for a writer
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2 and "not a regular file" in proc.stderr, proc.stderr


# -- explain reads the head and the tail of a large log ----------------------------------------------

def test_explain_finds_the_error_at_the_end_of_a_large_log(tmp_path):
    log = tmp_path / "build.log"
    with open(log, "w") as fh:
        for i in range(400000):  # about 20 MB of noise before the error
            fh.write(f"step {i}: compiling something unremarkable with a long line of output here\n")
        fh.write("Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
                 "ModuleNotFoundError: No module named 'tail_only_module'\n")
    assert log.stat().st_size > 16 << 20
    proc = run_cli("explain", str(log), "--json")
    assert proc.returncode == 1, proc.stderr
    assert "tail_only_module" in proc.stdout
    proc = run_cli("explain", "--json", input=log.read_text())  # the same through a pipe
    assert proc.returncode == 1 and "tail_only_module" in proc.stdout


# -- FIFOs on sys.path ----------------------------------------------------------------------------------

def test_a_fifo_named_pth_on_sys_path_never_hangs(tmp_path):
    site = tmp_path / "site-packages"
    (site / "pkg-1.0.dist-info").mkdir(parents=True)
    os.mkfifo(site / "evil.pth")
    os.mkfifo(site / "__editable__.x-1.0.pth")
    os.mkfifo(site / "pkg-1.0.dist-info" / "METADATA")
    (site / "real.pth").write_text(str(tmp_path / "added") + "\n")
    code = (
        "import sys; from dllmagic.facts.system import System\n"
        "from dllmagic.facts.syspath import pth_entries, editable_finder_entries\n"
        "s = System.current(); site = sys.argv[1]\n"
        "print(sorted(pth_entries(s, [site]).values())); print(editable_finder_entries(s, [site]))\n"
        "try:\n    s.read_text(site + '/pkg-1.0.dist-info/METADATA')\nexcept OSError as e:\n    print('refused', e.strerror)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "real.pth" in proc.stdout and "evil.pth" not in proc.stdout
    assert "refused not a regular file" in proc.stdout
    # The whole diagnosis with that folder on sys.path.
    proc = subprocess.run([sys.executable, "-m", "dllmagic", "check", "no_such_module_fifo_test", "--json"],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(site), DLLMAGIC_STRICT="1"))
    assert proc.returncode == 1, proc.stderr


# -- unreadable folders and truncated libraries -------------------------------------------------------

@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    """prog -> libgood.so found through RUNPATH (gcc)."""
    d = tmp_path_factory.mktemp("linked")
    (d / "lk").mkdir()
    (d / "g.c").write_text("int g(void){return 2;}\n")
    (d / "n.c").write_text("int g(void); int main(void){return g();}\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(d / "lk" / "libgood.so"), str(d / "g.c")], check=True)
    subprocess.run(["gcc", "-o", str(d / "prog"), str(d / "n.c"), f"-L{d / 'lk'}", "-lgood",
                    f"-Wl,-rpath,{d / 'lk'}"], check=True)
    return d


def test_truncated_libraries_that_ld_so_refuses_are_problems(linked, tmp_path):
    good = (linked / "lk" / "libgood.so").read_bytes()
    d = tmp_path / "t"
    shutil.copytree(linked, d)
    subprocess.run(["gcc", "-o", str(d / "prog"), str(d / "n.c"), f"-L{d / 'lk'}", "-lgood",
                    f"-Wl,-rpath,{d / 'lk'}"], check=True)
    for size in (40, 100, 500, 1200, 2000, len(good) // 2):
        (d / "lk" / "libgood.so").write_bytes(good[:size])
        real = subprocess.run([str(d / "prog")], capture_output=True, text=True)
        assert real.returncode != 2  # the real loader refuses it (or the process dies): not a working load
        proc = run_cli("deps", "--no-cache", str(d / "prog"))
        assert proc.returncode == 1, (size, proc.stdout, proc.stderr)
        assert "libgood.so" in proc.stdout and "ERROR" in proc.stdout, proc.stdout


def test_an_unreadable_folder_is_a_problem_for_an_unprivileged_user(linked, tmp_path):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as nobody")
    d = Path("/tmp") / f"dllmagic-unreadable-{os.getpid()}"
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(linked, d)
    shutil.copytree(REPO / "dllmagic", d / "src" / "dllmagic")
    subprocess.run(["gcc", "-o", str(d / "prog"), str(d / "n.c"), f"-L{d / 'lk'}", "-lgood",
                    f"-Wl,-rpath,{d / 'lk'}"], check=True)
    try:
        subprocess.run(["chmod", "-R", "a+rX", str(d)], check=True)
        os.chmod(d / "lk", 0)
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        real = subprocess.run(nobody + [str(d / "prog")], capture_output=True, text=True)
        assert real.returncode == 127 and "cannot open shared object file" in real.stderr
        proc = subprocess.run(nobody + ["env", f"PYTHONPATH={d / 'src'}", "HOME=/tmp", "/usr/bin/python3", "-m",
                                        "dllmagic", "deps", "--no-cache", str(d / "prog")],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "permission denied" in proc.stdout and "NOT FOUND" in proc.stdout
    finally:
        os.chmod(d / "lk", 0o755)
        shutil.rmtree(d, ignore_errors=True)


def test_check_in_a_terminal_prints_shell_commands_not_notebook_cells(tmp_path):
    # A terminal user copies the fix into a shell: the kernel's %pip magic would fail there.
    out = subprocess.run([sys.executable, "-m", "dllmagic", "check", "tabulate_not_installed_here"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120).stdout
    text = subprocess.run([sys.executable, "-m", "dllmagic", "explain", "-"], input=(
        "ModuleNotFoundError: No module named 'cv2'\n"), capture_output=True, text=True, cwd=tmp_path,
        timeout=120).stdout
    assert "%pip" not in text and "$ python -m pip install opencv-python" in text
    assert "Learn more: dlldoctor docs module-not-found#not-installed" in text
    for line in (out + text).splitlines():
        assert not line.strip().startswith("%"), line
    assert "kernel" not in out, out   # a terminal asks about an interpreter, not a kernel


def test_check_with_python_relative_to_here_and_cwd_elsewhere(tmp_path):
    """``--python`` is a path from the folder the user typed in, ``--cwd`` the folder the import is tried from:
    the interpreter is run from there too, so a relative path named nothing ('cannot run …: No such file')
    and the hint blamed a Python that was never moved."""
    from harness import create_venv

    create_venv(tmp_path / "env")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    proc = run_cli("check", "json", "--python", os.path.join("env", "bin", "python"), "--cwd", str(notebooks),
                   "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-600:] + proc.stderr[-600:]
    report = json.loads(proc.stdout)
    assert report["interpreter"]["executable"] == str(tmp_path / "env" / "bin" / "python"), report["interpreter"]
    assert report["findings"][0]["cause"] == "healthy", report["findings"][0]
