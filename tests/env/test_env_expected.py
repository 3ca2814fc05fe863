"""The environment the notebook expects: metadata, kernelspec, variables, PATH, requirement files, history."""
from __future__ import annotations

import json

from dllmagic.facts import environments as envs
from envkit import machine_environ, machine_system, probe, write_kernelspec, write_notebook


def _setup(machine, tmp_path, **kw):
    environ = machine_environ(machine, tmp_path, **kw)
    return machine_system(environ), probe(machine.python(machine.a), machine.home).interpreter


def test_unreadable_notebook_is_not_visible(machine, tmp_path):
    system, it = _setup(machine, tmp_path, JPY_SESSION_NAME="renamed.ipynb")
    exp = envs.expected_environment(system, it, cwd=str(tmp_path))
    assert "not visible from this kernel" in exp.description
    ev = {e.fact: e for e in exp.evidence}
    assert "not visible from this kernel" in ev["notebook"].value and ev["notebook"].source == "JPY_SESSION_NAME"
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    exp = envs.expected_environment(system, it, user_ns={"__session__": str(broken)})
    assert "not visible from this kernel" in exp.description
    assert "not a notebook" in {e.fact: e for e in exp.evidence}["notebook"].value
    folder = tmp_path / "dir.ipynb"
    folder.mkdir()
    exp = envs.expected_environment(system, it, user_ns={"__session__": str(folder)})
    assert "not visible from this kernel" in exp.description
    nothing = envs.expected_environment(system, it)
    assert "not visible from this kernel" in nothing.description


def test_notebook_metadata_and_kernelspec_argv(machine, tmp_path):
    system, it = _setup(machine, tmp_path)
    data = tmp_path / "jupyter-data"
    spec = write_kernelspec(data, "env-b", machine.python(machine.a), "Python (env-b)")
    nb = write_notebook(tmp_path / "nb" / "work.ipynb", "env-b", "Python (env-b)", version="3.11.4")
    environ = dict(system.environ, JPY_SESSION_NAME="nb/work.ipynb")
    system = machine_system(environ)
    exp = envs.notebook_expectation(system, it, cwd=str(nb.parent))
    assert exp.notebook == str(nb) and exp.notebook_readable
    assert exp.notebook_kernelspec == "env-b" and exp.notebook_language_version == "3.11.4"
    assert exp.kernelspec.path == str(spec) and exp.kernelspec_runs_this is True
    public = exp.to_expected(it)
    assert public.kernelspec == "env-b" and public.interpreter == str(machine.python(machine.a))
    assert "runs this kernel's interpreter" in public.description
    write_kernelspec(data, "env-b", machine.python(machine.b), "Python (env-b)")
    exp = envs.notebook_expectation(system, it, cwd=str(nb.parent))
    assert exp.kernelspec_runs_this is False and exp.expected_prefix == str(machine.b)
    assert "not this kernel's interpreter" in exp.describe(it)


def test_nb_conda_kernels_name_without_kernel_json(machine, tmp_path):
    system, it = _setup(machine, tmp_path)
    nb = write_notebook(tmp_path / "c.ipynb", "conda-env-condaenv-py", "Python [conda env:condaenv]")
    exp = envs.notebook_expectation(system, it, user_ns={"__session__": str(nb)})
    assert exp.kernelspec is not None and exp.kernelspec.path == ""
    assert exp.kernelspec.prefix == str(machine.condaenv) and exp.kernelspec_runs_this is False


def test_variables_path_and_requirement_files(machine, tmp_path):
    system, it = _setup(machine, tmp_path, path_first=machine.b, VIRTUAL_ENV=str(machine.b),
                        CONDA_PREFIX=str(machine.condaenv), CONDA_DEFAULT_ENV="condaenv")
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "requirements.txt").write_text("numpy>=1.20\nTabulate==0.9.0  # tables\n")
    (folder / "environment.yml").write_text("dependencies:\n  - python=3.11\n  - pip:\n    - six\n")
    nb = write_notebook(folder / "n.ipynb", "python3", "Python 3")
    exp = envs.notebook_expectation(system, it, user_ns={"__vsc_ipynb_file__": str(nb)}, names=("tabulate",))
    assert [v[0] for v in exp.variables] == ["VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV"]
    assert all(not same for _, _, same in exp.variables)
    assert exp.python_on_path == str(machine.b / "bin" / "python")
    assert exp.pip_on_path == str(machine.b / "bin" / "pip") and exp.pip_on_path_prefix == str(machine.b)
    assert exp.declared == ((str(folder / "requirements.txt"), "Tabulate==0.9.0  # tables"),)
    assert set(exp.requirement_files) == {str(folder / "requirements.txt"), str(folder / "environment.yml")}
    six = envs.notebook_expectation(system, it, user_ns={"__vsc_ipynb_file__": str(nb)}, names=("six",))
    assert six.declared[0][0].endswith("environment.yml")
    assert "VIRTUAL_ENV points at" in exp.describe(it)


def test_history_parsing():
    cmds = envs.parse_pip_history([
        "!pip install tabulate==0.9 -q", "%pip install six", "!python -m pip install --user pyjokes",
        "!conda install -y numpy", "!uv pip install rich", "print('pip install nothing')",
        ("In[9]", "get_ipython().run_line_magic('pip', 'install requests')"),
    ])
    assert [(c.tool, c.packages, c.shell) for c in cmds] == [
        ("pip", ("tabulate==0.9",), True), ("pip", ("six",), False), ("python -m pip", ("pyjokes",), True),
        ("conda", ("numpy",), True), ("uv pip", ("rich",), True), ("pip", ("requests",), False)]
    assert cmds[-1].cell == "In[9]"


def test_history_pip_into_another_environment(machine, tmp_path):
    system, it = _setup(machine, tmp_path, path_first=machine.b)
    exp = envs.notebook_expectation(system, it, history=["!pip install tabulate", "%pip install six"])
    assert [(c.line, p) for c, p in exp.foreign_installs] == [("!pip install tabulate", str(machine.b))]
    assert "installed into" in exp.describe(it)


def test_expected_environment_never_raises(machine, tmp_path, monkeypatch):
    system, it = _setup(machine, tmp_path)
    monkeypatch.delenv("DLLMAGIC_STRICT", raising=False)

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(envs.expected, "notebook_expectation", boom)
    exp = envs.expected_environment(system, it)
    assert "not visible from this kernel" in exp.description and "disk on fire" in exp.description
    json.dumps(exp.description)
