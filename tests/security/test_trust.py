"""Issue 13, item 2: trust boundaries of environment discovery.

Walking up from the notebook stops at $HOME and never lists the folder of users' homes; an environment or a
kernel.json owned by another user (or world-writable) is evidence only: its names never become runnable
installs, its interpreter never appears in a cell or an argv. Real folders, chowned to another uid (the
tests run as root; elsewhere they are skipped).
"""
from __future__ import annotations

import json
import os
import sys

import pytest

from seckit import add_module, all_fixes, ipython_statements, live_system, make_venv
from dllmagic.facts import environments as envs

OTHER_UID = 4242
needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="chown to another uid needs root")


def _chown_tree(path, uid):
    for root, dirs, files in os.walk(path):
        os.lchown(root, uid, uid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, uid)


def test_walk_up_stops_at_home_and_never_lists_the_homes_folder(tmp_path):
    homes = tmp_path / "home"
    alice = homes / "alice"
    project = alice / "work" / "project"
    project.mkdir(parents=True)
    make_venv(alice / ".venv")            # in $HOME: found
    make_venv(alice / "work" / "venv")    # between the notebook and $HOME: found
    make_venv(homes / "bob")              # another user's home that is a venv: never
    make_venv(homes / "shared-venv")      # beside the homes: never
    make_venv(tmp_path / "venv")          # above: never
    system = live_system({"HOME": str(alice), "PATH": "/nonexistent"})
    found = {e.prefix for e in envs.discover(system, None, notebook_dir=str(project)).environments}
    assert str(alice / ".venv") in found and str(alice / "work" / "venv") in found
    assert not {str(homes / "bob"), str(homes / "shared-venv"), str(tmp_path / "venv")} & found
    walked = envs.walk_up(system, str(project))
    assert walked[-1] == str(alice) and str(homes) not in walked

    # A notebook outside $HOME: the walk goes up (a project's .venv one level up is found) but never into
    # the homes' folder.
    srv = tmp_path / "srv" / "app" / "nb"
    srv.mkdir(parents=True)
    make_venv(tmp_path / "srv" / "app" / ".venv")
    outside = {e.prefix for e in envs.discover(system, None, notebook_dir=str(srv)).environments}
    assert str(tmp_path / "srv" / "app" / ".venv") in outside
    assert str(homes / "bob") not in outside


@needs_root
def test_another_users_environment_is_evidence_only(tmp_path, isolated_env, monkeypatch):
    from dllmagic import api

    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    venv = nbdir / "bobenv"
    site = make_venv(venv)
    add_module(site, "zzq_trust_mod", dist="evil-name")
    _chown_tree(venv, OTHER_UID)
    monkeypatch.chdir(nbdir)
    system = live_system(dict(os.environ))
    env = envs.discover(system, None, notebook_dir=str(nbdir)).environment(str(venv))
    assert env is not None and not env.trusted and f"uid {OTHER_UID}" in env.untrusted

    report = api.check("zzq_trust_mod", live=True, system=system)
    top = report.findings[0]
    assert top.cause == "installed-in-other-environment" and str(venv) in top.summary  # shown as evidence
    python = str(venv / "bin" / "python")
    for fix in all_fixes(report):
        assert not fix.runnable, fix
        assert python not in fix.cell and python not in (fix.argv or ())
        assert "evil-name" not in fix.cell and "evil-name" not in (fix.argv or ())
    notes = [fix for fix in top.fixes if fix.kind == "instruction"]
    assert notes and "belongs to" in notes[0].cell and ipython_statements(notes[0].cell) == []
    assert not [fix for fix in top.fixes if fix.kind in ("register-kernel", "kernel-switch")]


@needs_root
def test_another_users_kernel_json_is_never_offered_as_a_switch(tmp_path, isolated_env, monkeypatch):
    from dllmagic import api

    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    venv = tmp_path / "envs" / "mine"
    add_module(make_venv(venv), "zzq_trust_spec")
    spec = isolated_env["data"] / "kernels" / "theirs"
    spec.mkdir()
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Theirs", "language": "python",
        "env": {"PYTHONPATH": "/home/someone-else/hooks"}}))
    _chown_tree(spec, OTHER_UID)
    monkeypatch.chdir(nbdir)
    system = live_system(dict(os.environ))
    found = envs.discover(system, None)
    assert found.kernelspec("theirs").untrusted
    report = api.check("zzq_trust_spec", live=True, system=system)
    kinds = [fix.kind for fix in all_fixes(report)]
    assert "kernel-switch" not in kinds
    assert all("theirs" not in fix.cell for fix in all_fixes(report) if fix.kind != "instruction")


@needs_root
def test_a_world_writable_environment_is_evidence_only(tmp_path):
    venv = tmp_path / "shared"
    make_venv(venv)
    os.chmod(venv, 0o777)
    system = live_system({"HOME": str(tmp_path / "h"), "PATH": "/nonexistent"})
    env = envs.discover(system, None, extra_prefixes=[str(venv)]).environment(str(venv))
    assert env is not None and not env.trusted and "world-writable" in env.untrusted
    os.chmod(venv, 0o755)
    env = envs.discover(system, None, extra_prefixes=[str(venv)]).environment(str(venv))
    assert env.trusted


def test_the_kernels_own_environment_is_never_marked(tmp_path):
    from dllmagic.facts.interpreter import interpreter_from_facts, live_facts

    it = interpreter_from_facts(live_facts())
    found = envs.discover(live_system(dict(os.environ)), it)
    assert found.current is not None and found.current.trusted and found.current.prefix == sys.prefix
