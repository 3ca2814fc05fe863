"""Discovery: every environment and kernelspec on the machine, read from files, no interpreter started."""
from __future__ import annotations

import subprocess

from dllmagic.facts import environments as envs
from envkit import FOREIGN_MINOR, MINOR, machine_environ, machine_system, probe, write_kernelspec


def _discover(machine, tmp_path, python=None, **kw):
    environ = machine_environ(machine, tmp_path, **kw)
    system = machine_system(environ)
    interpreter = probe(python or machine.python(machine.a), machine.home).interpreter
    return system, interpreter, environ


def test_finds_every_environment_without_starting_one(machine, tmp_path):
    system, interpreter, environ = _discover(machine, tmp_path)
    data = tmp_path / "jupyter-data"
    write_kernelspec(data, "env-b", machine.python(machine.b), "Python (env-b)")
    import subprocess as sp

    original = sp.Popen
    sp.Popen = None  # type: ignore[assignment]  # any attempt to start a process raises TypeError
    try:
        found = envs.discover(system, interpreter, notebook_dir=str(machine.notebooks))
    finally:
        sp.Popen = original
    by_prefix = {e.prefix: e for e in found.environments}
    a, b, u, c = (by_prefix[str(p)] for p in (machine.a, machine.b, machine.u, machine.condaenv))
    assert a.current and not b.current
    assert found.current == a
    assert a.kind == "venv" and b.kind == "venv" and u.kind == "uv" and c.kind == "conda"
    assert c.conda and not a.conda
    assert b.has_pip and not u.has_pip and not a.has_pip
    assert b.version.startswith(MINOR) and c.version.startswith(MINOR)
    assert b.kernelspecs == ("env-b",) and a.kernelspecs == ()
    assert any("environments.txt" in how for how in c.found_by)
    assert b.site_packages == (str(machine.b / "lib" / f"python{MINOR}" / "site-packages"),)
    assert b.distributions >= 2  # pip, tabulate
    user = [e for e in found.environments if e.kind == "user-site"]
    assert [e.version for e in user] == [FOREIGN_MINOR]
    assert user[0].site_packages == (str(machine.foreign_site),)
    spec = found.kernelspec("env-b")
    assert spec.python == str(machine.python(machine.b)) and spec.prefix == str(machine.b)
    assert spec.source.startswith("user")


def test_venvs_beside_the_notebook_and_pixi(machine, tmp_path):
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    import shutil
    import sys

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(project / ".venv")], check=True)
    pixi = project / ".pixi" / "envs" / "default"
    (pixi / "conda-meta").mkdir(parents=True)
    (pixi / "lib" / f"python{MINOR}" / "site-packages").mkdir(parents=True)
    system, interpreter, _ = _discover(machine, tmp_path)
    found = envs.discover(system, interpreter, notebook_dir=str(project / "notebooks"))
    kinds = {e.prefix: (e.kind, e.name) for e in found.environments}
    assert kinds[str(project / ".venv")] == ("venv", "project/.venv")
    assert kinds[str(pixi)][0] == "pixi"
    assert kinds[str(pixi)][1] == "project:default"
    shutil.rmtree(project)


def test_central_folders_poetry_pipenv_hatch_pyenv(machine, tmp_path):
    import sys

    home = tmp_path / "h"
    made = {
        "poetry": home / ".cache" / "pypoetry" / "virtualenvs" / "proj-AbCdEf12-py3.11",
        "pipenv": home / ".local" / "share" / "virtualenvs" / "proj-AbCdEf12",
        "hatch": home / ".local" / "share" / "hatch" / "env" / "virtual" / "proj" / "Xy12Ab" / "proj",
    }
    for path in made.values():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    pyenv = home / ".pyenv" / "versions" / "3.12.4"
    (pyenv / "bin").mkdir(parents=True)
    (pyenv / "lib" / "python3.12" / "site-packages").mkdir(parents=True)
    (pyenv / "bin" / "python3.12").write_text("")
    environ = {"HOME": str(home), "PATH": "/usr/bin:/bin", "JUPYTER_DATA_DIR": str(tmp_path / "jd")}
    system = machine_system(environ)
    found = envs.discover(system, None)
    kinds = {e.prefix: e.kind for e in found.environments}
    for kind, path in made.items():
        assert kinds[str(path)] == kind, (kind, kinds)
    py = found.environment(str(pyenv))
    assert py.kind == "pyenv" and py.version == "3.12.4" and py.name == "pyenv 3.12.4"


def test_nb_conda_kernels_names_resolve_to_conda_envs(machine, tmp_path):
    assert envs.nb_conda_kernel_env("conda-env-condaenv-py") == "condaenv"
    assert envs.nb_conda_kernel_env("conda-root-py") == "base"
    assert envs.nb_conda_kernel_env("conda-env-my-env-py") == "my-env"
    assert envs.nb_conda_kernel_env("python3") is None


def test_kernelspec_precedence_and_conda_run(machine, tmp_path):
    first = tmp_path / "jp1"
    write_kernelspec(first, "dup", machine.python(machine.b))
    system, interpreter, _ = _discover(machine, tmp_path, JUPYTER_PATH=str(first))
    write_kernelspec(tmp_path / "jupyter-data", "dup", machine.python(machine.a))
    conda_run = tmp_path / "jupyter-data" / "kernels" / "viaconda"
    conda_run.mkdir(parents=True)
    (conda_run / "kernel.json").write_text(
        '{"argv": ["/opt/conda/bin/conda", "run", "-p", "%s", "python", "-m", "ipykernel_launcher", "-f", '
        '"{connection_file}"], "display_name": "via conda run", "language": "python"}' % machine.condaenv)
    found = envs.discover(system, interpreter)
    dups = [k for k in found.kernelspecs if k.name == "dup"]
    assert [k.prefix for k in dups] == [str(machine.b), str(machine.a)]
    assert dups[0].hidden_by is None and dups[1].hidden_by == dups[0].path
    assert found.kernelspec("dup").prefix == str(machine.b)
    assert found.kernelspec("viaconda").prefix == str(machine.condaenv)
    assert found.environment(str(machine.condaenv)).kernelspecs == ("viaconda",)


def test_condarc_envs_dirs(machine, tmp_path):
    home = tmp_path / "h2"
    envs_dir = tmp_path / "elsewhere"
    env = envs_dir / "analysis"
    (env / "conda-meta").mkdir(parents=True)
    (env / "lib" / f"python{MINOR}" / "site-packages").mkdir(parents=True)
    home.mkdir()
    (home / ".condarc").write_text(f"channels:\n  - conda-forge\nenvs_dirs:\n  - {envs_dir}  # ours\n")
    system = machine_system({"HOME": str(home), "PATH": "/bin"})
    found = envs.discover(system, None)
    hit = found.environment(str(env))
    assert hit is not None and hit.kind == "conda" and hit.name == "analysis"
    assert any(".condarc" in how for how in hit.found_by)
    flow = tmp_path / "h3"
    flow.mkdir()
    (flow / ".condarc").write_text(f"envs_dirs: [{envs_dir}]\n")
    assert envs.discover(machine_system({"HOME": str(flow), "PATH": "/bin"}), None).environment(str(env))
    listed = machine_system({"HOME": str(tmp_path / "none"), "PATH": "/bin", "CONDA_ENVS_PATH": str(envs_dir)})
    assert envs.discover(listed, None).environment(str(env)) is not None


def test_locate_reads_metadata_and_installer(machine, tmp_path):
    system, interpreter, _ = _discover(machine, tmp_path)
    found = envs.discover(system, interpreter, notebook_dir=str(machine.notebooks))
    hits = envs.locate(found, "tabulate", system)
    assert [h.environment.prefix for h in hits] == [str(machine.b)]
    assert hits[0].distribution == "tabulate" and hits[0].version
    jokes = {h.environment.kind: h for h in envs.locate(found, "pyjokes", system)}
    assert jokes["conda"].installer == "conda" and jokes["conda"].conda_record.endswith(".json")
    assert jokes["user-site"].environment.version == FOREIGN_MINOR
    six = {h.environment.kind: h for h in envs.locate(found, "six", system)}
    assert six["conda"].installer == "pip" and six["conda"].conda_record  # pip over conda
    assert six["uv"].installer == "uv"
    assert envs.locate(found, "no_such_module_anywhere", system) == []
