"""The rules, on real environments: each finding's kind, cause, evidence paths and fixes."""
from __future__ import annotations

import importlib
import os
import sys
import time
import types

import pytest

from dllmagic.model import Interpreter
from envkit import (FOREIGN_MINOR, install_target, machine_environ, machine_system, make_context,
                    run_env_rules, site_of, write_kernelspec, write_notebook)


def _ctx(machine, tmp_path, python=None, path_first=None, **kw):
    environ = machine_environ(machine, tmp_path, path_first=path_first)
    system = machine_system(environ)
    kw.setdefault("cwd", machine.notebooks)
    return make_context(machine, python or machine.python(machine.a), system, **kw), tmp_path / "jupyter-data"


def _causes(findings):
    return [f.cause for f in findings]


def _paths(finding):
    return [e.value for e in finding.evidence] + [e.source for e in finding.evidence]


# ------------------------------------------------------------------------------------- other environments
def test_installed_in_other_environment_offers_register_and_install(machine, tmp_path):
    ctx, _ = _ctx(machine, tmp_path)
    findings = run_env_rules(ctx)
    assert _causes(findings) == ["installed-in-other-environment"]
    top = findings[0]
    assert top.kind == "module-not-found" and top.confidence >= 0.95
    assert any(str(site_of(machine.b)) in p for p in _paths(top))
    assert str(machine.b) in top.summary and "tabulate" in top.summary
    kinds = [f.kind for f in top.fixes]
    assert kinds == ["register-kernel", "pip"]
    register = top.fixes[0]
    assert register.argv[:4] == (str(machine.python(machine.b)), "-m", "ipykernel", "install")
    assert "pip install ipykernel" in register.cell  # env-b has no ipykernel yet
    assert not register.runnable
    assert top.fixes[1].argv[-1] == "tabulate"


def test_kernel_switch_when_a_kernelspec_runs_that_environment(machine, tmp_path, b_runs_kernels):
    ctx, data = _ctx(machine, tmp_path)
    write_kernelspec(data, "b-kernel", machine.python(machine.b), "Python (B)")
    top = run_env_rules(ctx)[0]
    assert top.cause == "installed-in-other-environment"
    assert top.fixes[0].kind == "kernel-switch" and "b-kernel" in top.fixes[0].cell
    assert [f.kind for f in top.fixes].count("register-kernel") == 0


def test_wrong_kernel_named_after_b_but_runs_a(machine, tmp_path):
    """Two venvs, only B has the package; the notebook's kernelspec names B but its argv runs A."""
    ctx, data = _ctx(machine, tmp_path)
    spec_path = write_kernelspec(data, "env-b", machine.python(machine.a), "Python (env-b)")
    nb = write_notebook(machine.notebooks / "analysis.ipynb", "env-b", "Python (env-b)")
    ctx.cache["user_ns"] = {"__session__": str(nb)}
    findings = run_env_rules(ctx)
    top = findings[0]
    assert top.cause == "wrong-kernel" and top.kind == "module-not-found" and top.confidence >= 0.97
    paths = _paths(top)
    assert str(spec_path) in paths and str(machine.python(machine.a)) in paths and str(machine.b) in paths
    fix = top.fixes[0]
    assert fix.kind == "register-kernel"
    assert fix.argv == (str(machine.python(machine.b)), "-m", "ipykernel", "install", "--user", "--name",
                        "env-b", "--display-name", "Python (env-b)")
    nb.unlink()


def test_wrong_kernel_notebook_asks_for_another_interpreter(machine, tmp_path, b_runs_kernels):
    ctx, data = _ctx(machine, tmp_path)
    write_kernelspec(data, "bee", machine.python(machine.b), "Bee")
    nb = write_notebook(machine.notebooks / "other.ipynb", "bee", "Bee")
    ctx.cache["user_ns"] = {"__vsc_ipynb_file__": str(nb)}
    findings = run_env_rules(ctx)
    assert findings[0].cause == "wrong-kernel" and "Bee" in findings[0].summary
    assert findings[0].fixes[0].kind == "kernel-switch" and "bee" in findings[0].fixes[0].cell
    assert _causes(findings).count("wrong-kernel") == 1
    nb.unlink()


def test_pip_line_in_history_ran_another_pip(machine, tmp_path):
    ctx, _ = _ctx(machine, tmp_path, path_first=machine.b,
                  history=["import pandas", "!pip install tabulate", "import tabulate"])
    top = run_env_rules(ctx)[0]
    assert top.cause == "installed-in-other-environment"
    hist = [e for e in top.evidence if "history" in e.fact]
    assert hist and hist[0].source == "In[2]" and str(machine.b) in hist[0].value
    # the top finding says where the install landed; the top fix installs into THIS kernel with %pip
    assert "In[2] ran '!pip install tabulate'" in top.summary and "%pip" in top.summary
    assert str(machine.b) in top.summary
    assert top.fixes[0].kind == "pip" and top.fixes[0].cell.startswith("%pip install")
    assert all(f.kind != "register-kernel" for f in top.fixes[:1])
    # IPython's history holds the transformed line
    ctx2, _ = _ctx(machine, tmp_path, path_first=machine.b,
                   history=[("In[7]", "get_ipython().system('pip install tabulate')")])
    hist2 = [e for e in run_env_rules(ctx2)[0].evidence if "history" in e.fact]
    assert hist2 and hist2[0].source == "In[7]"


def test_pip_into_a_named_interpreter_in_history(machine, tmp_path):
    """'%pip --python OTHER install' and '!/other/bin/python -m pip install' name the Python they install into."""
    other = machine.python(machine.b)
    for line in (f"%pip --python {other} install tabulate", f"!{other} -m pip install tabulate"):
        ctx, _ = _ctx(machine, tmp_path, history=[line, "import tabulate"])
        top = run_env_rules(ctx)[0]
        assert top.cause == "installed-in-other-environment", line
        assert "In[1] ran" in top.summary and str(machine.b) in top.summary, top.summary
        assert top.fixes[0].kind in ("pip", "uv"), top.fixes[0]  # into this kernel: %pip (uv where pip is absent)
        assert top.fixes[0].kind != "register-kernel"


def test_conda_kernel_gets_conda_install_and_ownership(machine, tmp_path):
    version = "%d.%d.%d" % sys.version_info[:3]
    conda_it = Interpreter(executable=str(machine.python(machine.condaenv)),
                           real_executable=os.path.realpath(sys.executable), version=version,
                           implementation="CPython", architecture="x86_64", bits=64, platform="linux",
                           prefix=str(machine.condaenv), base_prefix=str(machine.condaenv),
                           environment_kind="conda")
    ctx, _ = _ctx(machine, tmp_path, interpreter=conda_it, sys_path=[str(site_of(machine.condaenv))])
    top = run_env_rules(ctx)[0]
    assert top.cause == "installed-in-other-environment"
    kinds = [f.kind for f in top.fixes]
    assert kinds.index("conda") < kinds.index("pip")
    conda_fix = next(f for f in top.fixes if f.kind == "conda")
    assert conda_fix.cell.startswith("%conda install") and "--prefix" in conda_fix.argv
    # A kernel (env-a) missing pyjokes, which conda installed in condaenv: ownership is evidence.
    ctx2, _ = _ctx(machine, tmp_path, module="pyjokes")
    found = run_env_rules(ctx2)
    other = next(f for f in found if f.cause == "installed-in-other-environment")
    owner = [e for e in other.evidence if e.fact == "installer"]
    assert owner and owner[0].value == "conda" and owner[0].source.endswith(".json")
    ctx3, _ = _ctx(machine, tmp_path, module="six", sys_path=[str(site_of(machine.a))])
    six = next(f for f in run_env_rules(ctx3) if f.cause == "installed-in-other-environment")
    text = " ".join(e.value for e in six.evidence)
    assert "pip over conda" in text


def test_uv_environment_without_pip_gets_uv_fix(machine, tmp_path):
    from envkit import _uv

    real = _uv()
    if real is None:
        pytest.skip("no uv here to put on the machine's PATH")
    tools = tmp_path / "tools"
    (tools / "bin").mkdir(parents=True)
    (tools / "bin" / "uv").symlink_to(real)
    ctx, _ = _ctx(machine, tmp_path, python=machine.python(machine.u), path_first=tools)
    assert ctx.interpreter.environment_kind == "uv"
    top = run_env_rules(ctx)[0]
    kinds = [f.kind for f in top.fixes]
    assert "uv" in kinds and "pip" not in kinds
    uv = next(f for f in top.fixes if f.kind == "uv")
    assert uv.argv == ("uv", "pip", "install", "--python", str(machine.python(machine.u)), "tabulate")


def test_uv_environment_without_pip_and_no_uv_on_path_gets_no_uv_fix(machine, tmp_path):
    """The same environment where PATH has no uv: '!uv pip install' would not run; %pip, after ensurepip."""
    ctx, _ = _ctx(machine, tmp_path, python=machine.python(machine.u))
    top = run_env_rules(ctx)[0]
    kinds = [f.kind for f in top.fixes]
    assert "uv" not in kinds and "pip" in kinds, kinds


def test_foreign_user_site(machine, tmp_path):
    ctx, _ = _ctx(machine, tmp_path, module="pyjokes", sys_path=[str(site_of(machine.a))])
    causes = _causes(run_env_rules(ctx))
    # conda's copy has the kernel's Python version, so it ranks first; the foreign user site is evidence
    assert causes[0] == "installed-in-other-environment"
    top = run_env_rules(ctx)[0]
    assert any(str(machine.foreign_site) in p for p in _paths(top))
    # Only the user site of another Python has it: foreign-user-site
    ctx2, _ = _ctx(machine, tmp_path, module="pyjokes", sys_path=[str(site_of(machine.a))])
    ctx2.cache["environment-facts"] = None
    from dllmagic.diagnosis import environment as rules
    from dllmagic.facts import environments as envs

    facts = rules.environment_facts(ctx2)
    full = facts.discovery
    facts._discovery = envs.Discovery(kernelspecs=full.kernelspecs, current=full.current, notes=full.notes,
                                      environments=tuple(e for e in full.environments if not e.conda))
    f = next(f for f in run_env_rules(ctx2))
    assert f.cause == "foreign-user-site" and f.confidence >= 0.93
    assert FOREIGN_MINOR in f.summary and str(machine.foreign_site) in f.summary


def test_foreign_user_site_on_sys_path(machine, tmp_path):
    ctx, _ = _ctx(machine, tmp_path, module="pyjokes",
                  sys_path=[str(site_of(machine.a)), str(machine.foreign_site)], kind="cannot-import-name",
                  name="get_joke", from_path=str(machine.foreign_site / "pyjokes" / "__init__.py"))
    found = run_env_rules(ctx)
    hit = next(f for f in found if f.cause == "foreign-user-site")
    assert hit.kind == "cannot-import-name"
    assert any(str(machine.foreign_site) == e.value for e in hit.evidence)


# ------------------------------------------------------------------------------------- shadowing
def test_local_file_shadows_installed_package(machine, tmp_path):
    folder = tmp_path / "proj"
    folder.mkdir()
    local = folder / "tabulate.py"
    local.write_text("x = 1\n")
    ctx, _ = _ctx(machine, tmp_path, python=machine.python(machine.b), cwd=folder, kind="cannot-import-name",
                  name="tabulate", from_path=str(local),
                  sys_path=[""] + [str(site_of(machine.b))])
    findings = run_env_rules(ctx)
    top = findings[0]
    assert top.cause == "shadowed-by-local-file" and top.kind == "cannot-import-name"
    assert top.confidence > 0.95
    values = [e.value for e in top.evidence]
    assert str(local) in values
    assert str(site_of(machine.b) / "tabulate") in values  # the real package it hides
    assert top.fixes[0].kind == "rename" and repr(str(local)) in top.fixes[0].cell
    assert top.fixes[-1].kind == "restart"


def test_local_module_is_not_a_package(machine, tmp_path):
    folder = tmp_path / "proj2"
    folder.mkdir()
    (folder / "tabulate.py").write_text("")
    ctx, _ = _ctx(machine, tmp_path, python=machine.python(machine.b), cwd=folder, module="tabulate.version",
                  message="No module named 'tabulate.version'; 'tabulate' is not a package",
                  sys_path=["", str(site_of(machine.b))])
    top = run_env_rules(ctx)[0]
    assert top.cause == "shadowed-by-local-file" and top.kind == "module-not-found"


def test_no_shadowing_when_the_installed_copy_comes_first(machine, tmp_path):
    folder = tmp_path / "proj3"
    folder.mkdir()
    (folder / "tabulate.py").write_text("")
    ctx, _ = _ctx(machine, tmp_path, python=machine.python(machine.b), cwd=folder, kind="cannot-import-name",
                  name="nothing", from_path=str(site_of(machine.b) / "tabulate" / "__init__.py"),
                  sys_path=[str(site_of(machine.b)), str(folder)])
    assert "shadowed-by-local-file" not in _causes(run_env_rules(ctx))


# ------------------------------------------------------------------------------------- restart
def test_restart_needed_after_install_into_running_kernel(machine, tmp_path, monkeypatch):
    """A package installed into this (running) process's path after its import failed."""
    site = tmp_path / "late-site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    with pytest.raises(ImportError):
        importlib.import_module("pyjokes")
    before = site.stat()
    install_target(site, "pyjokes")
    # Filesystems with coarse timestamps leave the folder's mtime unchanged within a tick: the path finder's
    # cache then keeps saying "absent". Reproduce that deterministically.
    os.utime(site, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(ImportError):
        importlib.import_module("pyjokes")
    from dllmagic.facts.interpreter import live_interpreter
    from dllmagic.facts.system import System

    ctx = make_context(machine, machine.python(machine.a), System.current(), module="pyjokes",
                       interpreter=live_interpreter(), sys_path=list(sys.path), cwd=os.getcwd(),
                       live_modules=dict(sys.modules))
    found = run_env_rules(ctx)
    top = found[0]
    assert top.cause == "restart-needed" and top.confidence >= 0.95
    assert any(str(site / "pyjokes") == e.value for e in top.evidence)
    assert any(e.fact == "installed after the kernel started" for e in top.evidence)
    fix = top.fixes[0]
    assert "invalidate_caches" in fix.cell
    exec(fix.cell, {})  # the fix works: the import now succeeds
    module = importlib.import_module("pyjokes")
    assert module.__file__.startswith(str(site))
    sys.modules.pop("pyjokes", None)
    for name in [n for n in sys.modules if n.startswith("pyjokes.")]:
        sys.modules.pop(name)


def test_restart_needed_when_loaded_version_differs_from_disk(machine, tmp_path):
    site = site_of(machine.b)
    fake = types.ModuleType("tabulate")
    fake.__file__ = str(site / "tabulate" / "__init__.py")
    fake.__version__ = "0.0.1"
    ctx, _ = _ctx(machine, tmp_path, python=machine.python(machine.b), kind="cannot-import-name",
                  name="SEPARATING_LINE", from_path=fake.__file__, live_modules={"tabulate": fake})
    top = run_env_rules(ctx)[0]
    assert top.cause == "restart-needed" and top.kind == "cannot-import-name"
    facts = {e.fact: e.value for e in top.evidence}
    assert facts["version of 'tabulate' loaded in this kernel"] == "0.0.1"
    assert top.fixes[0].kind == "restart"


def test_restart_needed_when_loaded_file_was_deleted(machine, tmp_path):
    fake = types.ModuleType("tabulate")
    fake.__file__ = str(tmp_path / "gone" / "tabulate.py")
    ctx, _ = _ctx(machine, tmp_path, python=machine.python(machine.b), kind="cannot-import-name",
                  name="x", from_path=fake.__file__, live_modules={"tabulate": fake},
                  sys_path=[str(site_of(machine.b))])
    top = next(f for f in run_env_rules(ctx) if f.cause == "restart-needed")
    assert any(e.fact == "loaded file no longer on disk" for e in top.evidence)


def test_restart_needed_when_user_site_appeared_after_start(machine, tmp_path):
    user_site = tmp_path / "usersite"
    user_site.mkdir()
    install_target(user_site, "pyjokes")
    it = make_context(machine, machine.python(machine.a), machine_system({})).interpreter
    it = it.replace(user_site=str(user_site), user_site_enabled=True)
    ctx, _ = _ctx(machine, tmp_path, module="pyjokes", interpreter=it, live_modules={},
                  sys_path=[str(site_of(machine.a))])
    top = run_env_rules(ctx)[0]
    assert top.cause == "restart-needed" and str(user_site) in top.summary


def test_not_live_means_no_restart_claims(machine, tmp_path):
    ctx, _ = _ctx(machine, tmp_path, python=machine.python(machine.b), live_modules=None)
    assert "restart-needed" not in _causes(run_env_rules(ctx))


# ------------------------------------------------------------------------------------- duplicates
def test_duplicate_distributions(machine, tmp_path):
    site = tmp_path / "dupsite"
    (site / "cv2").mkdir(parents=True)
    (site / "cv2" / "__init__.py").write_text("")
    for name in ("opencv_python-4.9.0.80", "opencv_python_headless-4.9.0.80"):
        d = site / f"{name}.dist-info"
        d.mkdir()
        (d / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name.rsplit('-', 1)[0]}\nVersion: 4.9.0.80\n")
        (d / "top_level.txt").write_text("cv2\n")
        (d / "INSTALLER").write_text("pip\n")
        (d / "RECORD").write_text("cv2/__init__.py,,\ncv2/cv2.abi3.so,,\n")
    ctx, _ = _ctx(machine, tmp_path, module="cv2", kind="cannot-import-name", name="dnn",
                  from_path=str(site / "cv2" / "__init__.py"), sys_path=[str(site)])
    hit = next(f for f in run_env_rules(ctx) if f.cause == "duplicate-distributions")
    assert hit.confidence == 0.9  # files listed in RECORD are missing
    assert sum(1 for e in hit.evidence if e.fact == "provides 'cv2'") == 2


# ------------------------------------------------------------------------------------- no false alarms
def test_not_installed_anywhere_gives_nothing(machine, tmp_path):
    ctx, _ = _ctx(machine, tmp_path, module="no_such_module_xyz")
    assert run_env_rules(ctx) == []


def test_speed_of_a_rule_run(machine, tmp_path):
    ctx, _ = _ctx(machine, tmp_path)
    start = time.perf_counter()
    run_env_rules(ctx)
    assert time.perf_counter() - start < 2.0


def test_local_module_with_a_version_is_shadowing_not_restart(machine, tmp_path):
    folder = tmp_path / "proj4"
    folder.mkdir()
    local = folder / "tabulate.py"
    local.write_text("__version__ = 'mine'\n")
    fake = types.ModuleType("tabulate")
    fake.__file__ = str(local)
    fake.__version__ = "mine"
    ctx, _ = _ctx(machine, tmp_path, python=machine.python(machine.b), cwd=folder, kind="cannot-import-name",
                  name="tabulate", from_path=str(local), live_modules={"tabulate": fake},
                  sys_path=["", str(site_of(machine.b))])
    assert _causes(run_env_rules(ctx)) == ["shadowed-by-local-file"]
