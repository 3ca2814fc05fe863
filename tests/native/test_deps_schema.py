"""``deps --json`` on real files validates against the shipped, versioned JSON Schema."""
from __future__ import annotations

import argparse
import json
import shutil

import jsonschema
import pytest

from native_oracles import CLEAN_ENV
from dllmagic import cli_deps
from dllmagic.facts.native.loader import tree_to_dict


@pytest.fixture(scope="module")
def validator():
    schema = cli_deps.deps_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def deps_json(capsys, monkeypatch, *argv):
    for key in [k for k in list(__import__("os").environ) if k.startswith("LD_")]:
        monkeypatch.delenv(key)
    parser = argparse.ArgumentParser(prog="dlldoctor")
    sub = parser.add_subparsers(dest="verb")
    cli_deps.add_parser(sub)
    rc = cli_deps.run(parser.parse_args(["deps", *argv, "--json"]))
    return rc, json.loads(capsys.readouterr().out)


def check(validator, data):
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_schema_version_matches_the_output():
    schema = cli_deps.deps_schema()
    assert schema["properties"]["schema_version"]["const"] == cli_deps.DEPS_SCHEMA_VERSION
    from dllmagic.facts.native.loader.tree import TREE_SCHEMA_VERSION

    assert schema["$defs"]["tree"]["properties"]["schema_version"]["const"] == TREE_SCHEMA_VERSION


def test_every_rule_fixture_validates(validator, built, capsys, monkeypatch):
    # Missing libraries, wrong class, NODEFLIB, undefined symbols, missing versions: every shape of node.
    rc, data = deps_json(capsys, monkeypatch, str(built), "--standalone", "-v")
    assert rc == 1 and len(data["trees"]) > 20
    kinds = {p["kind"] for t in data["trees"] for p in t["problems"]}
    assert {"missing-library", "symbol-version"} <= kinds
    check(validator, data)
    rc, data = deps_json(capsys, monkeypatch, str(built / "an_undefined_symbol_is_reported"), "--as-imported")
    assert "missing-symbol" in {p["kind"] for t in data["trees"] for p in t["problems"]}
    assert any(n["missing_symbols"] for t in data["trees"] for n in [t["root"]])
    check(validator, data)


def test_a_real_environment_validates(validator, wheel_env, capsys, monkeypatch):
    site = wheel_env["site"]
    rc, data = deps_json(capsys, monkeypatch, str(site), "--python", str(wheel_env["python"]))
    assert rc == 0 and data["ok"] and len(data["trees"]) >= 10
    assert data["checked_as_dependencies"]
    check(validator, data)
    rc, data = deps_json(capsys, monkeypatch, str(site / "numpy"), "--standalone")
    check(validator, data)


def test_a_broken_environment_validates(validator, wheel_env, tmp_path, capsys, monkeypatch):
    shutil.copytree(wheel_env["site"] / "PIL", tmp_path / "PIL")
    shutil.copytree(wheel_env["site"] / "pillow.libs", tmp_path / "pillow.libs")
    for victim in (tmp_path / "pillow.libs").glob("libjpeg-*.so*"):
        victim.unlink()
    rc, data = deps_json(capsys, monkeypatch, str(tmp_path / "PIL"), "--python", str(wheel_env["python"]))
    assert rc == 1 and not data["ok"]
    check(validator, data)


def test_a_modelled_machine_validates(validator, built, tmp_path, capsys, monkeypatch):
    shutil.copytree(built / "rpath_is_inherited_from_the_loader_chain" / "top", tmp_path / "opt")
    rc, data = deps_json(capsys, monkeypatch, "--root", str(tmp_path), "/opt/libtop.so")
    assert rc == 1
    check(validator, data)


def test_the_schema_rejects_what_it_should(validator, built, capsys, monkeypatch):
    _rc, data = deps_json(capsys, monkeypatch, str(built / "rpath_is_inherited_from_the_loader_chain"))
    bad = json.loads(json.dumps(data))
    bad["trees"][0]["root"]["candidates"] = [{"path": "/x", "rule": "rpath", "outcome": "maybe",
                                              "reason": "", "via": None}]
    assert list(validator.iter_errors(bad))
    bad = json.loads(json.dumps(data))
    bad["schema_version"] = "2"
    assert list(validator.iter_errors(bad))
    del bad["trees"][0]["root"]["children"]
    assert list(validator.iter_errors(bad))
