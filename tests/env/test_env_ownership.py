"""Installer ownership of the kernel's own packages: pip over conda's copy, conda over pip's.

A conda-shaped prefix is written by the test (a real venv, so its interpreter runs with ``sys.prefix`` there,
plus ``conda-meta`` records), and six is installed into it by pip itself. Checked on the facts, through
``dlldoctor check --python`` (a real child import), and through a Context for a failing import.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from dllmagic.diagnosis import run_rules
from dllmagic.facts import environments as envs
from dllmagic.facts.distributions import DistributionIndex
from envkit import (MINOR, conda_prefix, machine_environ, machine_system, make_context, pip_install_target,
                    run_env_rules, site_of)
from harness import REPO, run_cli

PIP_SIX = "1.17.0"
CONDA_SIX = "1.16.0"
SITE_REL = f"lib/python{MINOR}/site-packages"
CONDA_SIX_FILES = [f"{SITE_REL}/six.py", f"{SITE_REL}/six-{CONDA_SIX}.dist-info/INSTALLER",
                   f"{SITE_REL}/six-{CONDA_SIX}.dist-info/METADATA", f"{SITE_REL}/six-{CONDA_SIX}.dist-info/RECORD"]
SIX_RECORD = {"name": "six", "version": CONDA_SIX, "build": "pyhd8ed1ab_0", "files": CONDA_SIX_FILES}


@pytest.fixture(scope="module")
def pip_over_conda(tmp_path_factory) -> Path:
    """conda installed six 1.16.0 (its record stays), then 'pip install six==1.17.0' replaced its files."""
    prefix = conda_prefix(tmp_path_factory.mktemp("own") / "pipoverconda", [SIX_RECORD])
    site = site_of(prefix)
    site.mkdir(parents=True, exist_ok=True)
    pip_install_target(site, f"six=={PIP_SIX}")
    return prefix


@pytest.fixture(scope="module")
def conda_over_pip(tmp_path_factory) -> Path:
    """'pip install six==1.17.0' first, then conda installed its six 1.16.0 over it: pip's metadata stays."""
    prefix = conda_prefix(tmp_path_factory.mktemp("own") / "condaoverpip", [SIX_RECORD])
    site = site_of(prefix)
    site.mkdir(parents=True, exist_ok=True)
    pip_install_target(site, f"six=={PIP_SIX}")
    conda_dist = site / f"six-{CONDA_SIX}.dist-info"   # what conda's package links into the prefix
    conda_dist.mkdir()
    (conda_dist / "INSTALLER").write_text("conda\n")
    (conda_dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: six\nVersion: {CONDA_SIX}\n")
    (conda_dist / "RECORD").write_text(f"six.py,,\nsix-{CONDA_SIX}.dist-info/METADATA,,\n")
    (site / "six.py").write_text((site / "six.py").read_text().replace(f'"{PIP_SIX}"', f'"{CONDA_SIX}"'))
    return prefix


def _dists(prefix: Path):
    return DistributionIndex([str(site_of(prefix))]).by_name("six")


def _python(prefix: Path) -> Path:
    return prefix / "bin" / "python"


# ------------------------------------------------------------------------------------------------ facts
def test_pip_over_conda_facts(pip_over_conda):
    from dllmagic.facts.system import System

    found = envs.installer_conflicts(System.current(), str(pip_over_conda), _dists(pip_over_conda))
    assert len(found) == 1
    c = found[0]
    assert c.relation == "pip-over-conda" and c.installer == "pip" and c.version == PIP_SIX
    assert c.conda_version == CONDA_SIX and c.conda_record.endswith(f"six-{CONDA_SIX}-pyhd8ed1ab_0.json")
    assert c.conda_dist_path is None                          # pip removed conda's metadata
    assert c.conflicts == (f"{SITE_REL}/six.py",)             # pip's RECORD and conda's files both claim it
    assert c.dist_path.endswith(f"six-{PIP_SIX}.dist-info")
    assert f"pip installed six {PIP_SIX} over conda's six {CONDA_SIX}" in c.sentence


def test_conda_over_pip_facts(conda_over_pip):
    from dllmagic.facts.system import System

    found = envs.installer_conflicts(System.current(), str(conda_over_pip), _dists(conda_over_pip))
    assert [c.relation for c in found] == ["conda-over-pip"]
    c = found[0]
    assert c.conda_dist_path.endswith(f"six-{CONDA_SIX}.dist-info") and c.dist_path.endswith(f"six-{PIP_SIX}.dist-info")
    assert f"{SITE_REL}/six.py" in c.conflicts
    assert "conda installed conda's six" in c.sentence


def test_agreeing_installers_are_not_a_conflict(machine, tmp_path):
    from dllmagic.facts.system import System

    # envkit's condaenv: pyjokes was installed by conda (INSTALLER conda) and conda-meta records it.
    index = DistributionIndex([str(site_of(machine.condaenv))])
    assert envs.installer_conflicts(System.current(), str(machine.condaenv), index.by_name("pyjokes")) == []
    # six there says pip while conda-meta records it (a record without a files list): pip over conda.
    six = envs.installer_conflicts(System.current(), str(machine.condaenv), index.by_name("six"))
    assert [c.relation for c in six] == ["pip-over-conda"] and six[0].conflicts == ()
    # A prefix without conda-meta has no owner to disagree with.
    assert envs.installer_conflicts(System.current(), str(machine.b), DistributionIndex(
        [str(site_of(machine.b))]).by_name("tabulate")) == []


# ------------------------------------------------------------------------------------------------ CLI
def _conda_program(folder: Path) -> Path:
    """Where this machine's conda would be ($CONDA_EXE, as conda's activation sets it): the conda fixes are
    offered only where a conda can be found (no conda channel is reachable here, and the tests never run it)."""
    exe = folder / "conda"
    if not exe.exists():
        folder.mkdir(parents=True, exist_ok=True)
        exe.write_text("#!/bin/sh\necho 'this test machine has no conda' >&2\nexit 1\n")
        exe.chmod(0o755)
    return exe


def _check(prefix: Path, *args: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONDA", "VIRTUAL_ENV"))}
    env["PYTHONPATH"] = str(REPO)  # this checkout's dllmagic, whatever the editable install points at
    env["CONDA_EXE"] = str(_conda_program(prefix.parent / "conda-bin"))
    return run_cli("check", "six", "--python", str(_python(prefix)), *args, env=env)


def test_check_cli_pip_over_conda(pip_over_conda):
    proc = _check(pip_over_conda, "--json")
    assert proc.returncode == 0, proc.stderr  # six imports: the report is healthy, with the ownership in it
    report = json.loads(proc.stdout)
    assert report["ok"] is True and report["interpreter"]["environment_kind"] == "conda"
    top = report["findings"][0]
    assert top["kind"] == "healthy" and top["cause"] == "healthy"
    owner = [e for e in top["evidence"] if e["fact"] == "installer ownership"]
    assert owner and f"pip installed six {PIP_SIX} over conda's six {CONDA_SIX}" in owner[0]["value"]
    assert owner[0]["source"].endswith(".json") and "conda-meta" in owner[0]["source"]
    mixed = next(f for f in report["findings"] if f["cause"] == "mixed-installers")
    assert mixed["kind"] == "healthy" and mixed["confidence"] < top["confidence"]
    assert mixed["docs"].endswith("kinds/healthy.md#mixed-installers")
    paths = [e["source"] for e in mixed["evidence"]] + [e["value"] for e in mixed["evidence"]]
    assert any(p.endswith(f"six-{PIP_SIX}.dist-info{os.sep}INSTALLER") for p in paths)
    assert any(p.startswith(f"{SITE_REL}/six.py") for p in paths)
    kinds = [f["kind"] for f in mixed["fixes"]]
    assert kinds == ["instruction", "conda"]
    step, reinstall = mixed["fixes"]
    assert step["argv"] is None and not step["runnable"]            # the uninstall is never one click away
    assert "%pip uninstall -y six" in step["cell"] and f'--force-reinstall -c conda-forge "six=={CONDA_SIX}"' in step["cell"]
    assert reinstall["runnable"] and reinstall["argv"][1:] == [
        "install", "-y", "--force-reinstall", "-c", "conda-forge", "--prefix", str(pip_over_conda),
        f"six=={CONDA_SIX}"]
    assert reinstall["cell"] == f'%conda install -y --force-reinstall -c conda-forge "six=={CONDA_SIX}"'
    assert all("uninstall" not in " ".join(f["argv"] or []) for f in mixed["fixes"])
    text = _check(pip_over_conda).stdout
    assert "healthy · mixed-installers" in text and "installer ownership: pip installed six" in text


def test_check_cli_conda_over_pip(conda_over_pip):
    report = json.loads(_check(conda_over_pip, "--json").stdout)
    mixed = next(f for f in report["findings"] if f["cause"] == "mixed-installers")
    assert "conda installed conda's six" in mixed["summary"]
    step = mixed["fixes"][0]
    assert str(site_of(conda_over_pip) / f"six-{PIP_SIX}.dist-info") in step["cell"]
    assert "%pip uninstall" not in step["cell"].replace("not with '%pip uninstall'", "")
    assert mixed["fixes"][1]["kind"] == "conda" and mixed["fixes"][1]["runnable"]


# ------------------------------------------------------------------------------------------------ Context
def _failing_ctx(machine, tmp_path, prefix: Path):
    system = machine_system(machine_environ(machine, tmp_path))
    return make_context(machine, _python(prefix), system, module="six", kind="cannot-import-name",
                        name="ensure_text_v2", from_path=str(site_of(prefix) / "six.py"))


def test_context_failure_names_the_owner(machine, tmp_path, pip_over_conda):
    ctx = _failing_ctx(machine, tmp_path, pip_over_conda)
    assert ctx.interpreter.environment_kind == "conda"
    found = [f for f in run_env_rules(ctx) if f.cause == "mixed-installers"]
    assert len(found) == 1
    mixed = found[0]
    assert mixed.kind == "cannot-import-name" and mixed.confidence == 0.75
    assert mixed.docs.endswith("kinds/cannot-import-name.md#mixed-installers")
    assert "pip installed six" in mixed.summary and "conda" in mixed.summary
    assert [f.kind for f in mixed.fixes] == ["instruction", "conda"]
    # the ownership rides on whatever finding ranks first, through ctx.supporting
    assert [e.fact for e in ctx.supporting] == ["installer ownership"]


def test_run_rules_puts_the_ownership_on_the_top_finding(machine, tmp_path, conda_over_pip):
    ctx = _failing_ctx(machine, tmp_path, conda_over_pip)
    findings = run_rules(ctx)
    assert any(f.cause == "mixed-installers" for f in findings)
    top_facts = [e.fact for e in findings[0].evidence]
    assert "installer ownership" in top_facts
    owner = next(e for e in findings[0].evidence if e.fact == "installer ownership")
    assert "conda installed conda's six" in owner.value and owner.source.endswith("pyhd8ed1ab_0.json")
    mixed = next(f for f in findings if f.cause == "mixed-installers")
    assert mixed.confidence == 0.8  # conda over pip, with files both installers claim


def test_mamba_kernel_reinstalls_with_mamba(machine, tmp_path, pip_over_conda):
    ctx = _failing_ctx(machine, tmp_path, pip_over_conda)
    ctx.interpreter = ctx.interpreter.replace(environment_kind="mamba")
    mixed = next(f for f in run_env_rules(ctx) if f.cause == "mixed-installers")
    assert mixed.fixes[1].kind == "mamba" and mixed.fixes[1].cell.startswith("%mamba install -y --force-reinstall")


def test_no_ownership_claim_outside_conda(machine, tmp_path):
    # env-b: tabulate installed by uv into a plain venv; nothing else claims it.
    system = machine_system(machine_environ(machine, tmp_path))
    ctx = make_context(machine, machine.python(machine.b), system, module="tabulate", kind="cannot-import-name",
                       name="nothing_here", from_path=str(site_of(machine.b) / "tabulate" / "__init__.py"))
    assert "mixed-installers" not in [f.cause for f in run_env_rules(ctx)]
    assert ctx.supporting == []
