"""The release: the sdist builds the same wheel as the tree, both pass ``twine check``, and the wheel installed
in a fresh venv brings the JupyterLab extension, the LICENSE and the ``dlldoctor`` command."""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from harness import REPO, create_venv

LABEXT = REPO / "dllmagic" / "labextension"
pytestmark = pytest.mark.slow


def _contents(wheel: Path) -> dict:
    with zipfile.ZipFile(wheel) as zf:
        return {n: hashlib.sha256(zf.read(n)).hexdigest() for n in zf.namelist() if not n.endswith("/RECORD")}


def _metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(zf.read(name).decode())


def test_the_sdist_builds_the_same_wheel_as_the_tree(dists):
    from_sdist, from_tree = _contents(dists["wheel"]), _contents(dists["tree_wheel"])
    assert sorted(from_sdist) == sorted(from_tree)
    assert from_sdist == from_tree, [n for n in from_sdist if from_sdist[n] != from_tree.get(n)]
    names = set(from_sdist)
    ext = {p.relative_to(LABEXT).as_posix() for p in LABEXT.rglob("*") if p.is_file()}
    assert ext and {"package.json", "install.json"} <= ext
    data = "dllmagic-{v}.data/data/share/jupyter/labextensions/dllmagic/".format(v=_metadata(dists["wheel"])["Version"])
    assert {data + f for f in ext} <= names, "the prebuilt lab extension is not where Jupyter looks"
    assert {"dllmagic/labextension/" + f for f in ext} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "dllmagic/report/report.schema.json" in names


def test_the_sdist_holds_sources_docs_and_tests_and_no_build_outputs(dists):
    with tarfile.open(dists["sdist"]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    for needed in ("LICENSE", "README.md", "README.pypi.md", "CHANGELOG.md", "CONTRIBUTING.md", "pyproject.toml",
                   "MANIFEST.in", "dllmagic/labextension/package.json", "docs/index.md", "docs/kinds/healthy.md",
                   "frontend/src/index.ts", "frontend/package-lock.json", "tests/run-all.sh", "examples/demo.py"):
        assert needed in names, needed
    kinds = {p.relative_to(REPO).as_posix() for p in (REPO / "docs" / "kinds").glob("*.md")}
    assert kinds <= names
    assert not [n for n in names if re.search(r"(^|/)(node_modules|__pycache__|\.venv[^/]*|reports)(/|$)", n)]


def test_twine_check_passes(dists):
    proc = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(dists["sdist"]), str(dists["wheel"])],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == 2


def test_metadata_license_versions_and_a_description_without_relative_links(dists):
    meta = _metadata(dists["wheel"])
    assert meta["License-Expression"] == "BSD-3-Clause"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert not [c for c in meta.get_all("Classifier") if c.startswith("License ::")]   # PEP 639: the expression only
    assert meta["Requires-Python"] == ">=3.9"
    pythons = {c.rsplit(" ", 1)[1] for c in meta.get_all("Classifier") if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}
    assert pythons == {"3.9", "3.10", "3.11", "3.12", "3.13"}
    assert meta["Description-Content-Type"].startswith("text/markdown")
    body = meta.get_payload()
    assert "pip install dllmagic" in body
    # PyPI shows the description alone: every link and image must be absolute, and nothing outside the repo.
    targets = re.findall(r"\]\(([^)\s]+)", body) + re.findall(r"""src=["']([^"']+)""", body)
    assert all(re.match(r"https://", t) for t in targets), targets
    assert "shared/" not in body
    # project.urls: only real addresses (none exists yet); never a placeholder.
    for url in meta.get_all("Project-URL") or []:
        assert not re.search(r"example\.(com|org)|your-?(name|org)|TODO", url), url


def test_the_wheel_in_a_fresh_venv_has_the_lab_extension_the_license_and_dlldoctor(dists, tmp_path):
    venv = create_venv(tmp_path / "fresh")
    venv.install(str(dists["wheel"]))
    installed = venv.path / "share" / "jupyter" / "labextensions" / "dllmagic"
    assert json.loads((installed / "package.json").read_text())["name"] == "dllmagic"
    assert (installed / "install.json").is_file()
    assert list((installed / "static").glob("remoteEntry.*.js"))
    for f in LABEXT.rglob("*"):
        if f.is_file():
            assert (installed / f.relative_to(LABEXT)).read_bytes() == f.read_bytes(), f
    (license_file,) = venv.site_packages.glob("dllmagic-*.dist-info/licenses/LICENSE")
    assert license_file.read_text() == (REPO / "LICENSE").read_text()
    dlldoctor = venv.path / "bin" / "dlldoctor"
    assert dlldoctor.is_file()
    # The entry point from the installed wheel, not this checkout: run outside it, with no PYTHONPATH.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([str(dlldoctor), "check", "json", "--json"], capture_output=True, text=True,
                          cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True and report["target"]
    where = subprocess.run([str(venv.python), "-c", "import dllmagic; print(dllmagic.__file__)"], capture_output=True,
                           text=True, cwd=tmp_path, env=env).stdout.strip()
    assert Path(where).resolve().is_relative_to(venv.path.resolve()), where

    # Jupyter itself lists the extension as enabled and OK (the test environment's JupyterLab, looking only
    # at this venv's share/jupyter through JUPYTER_PATH).
    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (tests/ui/setup.sh installs it)")
    proc = subprocess.run([sys.executable, "-m", "jupyterlab.labextensions", "list"], capture_output=True, text=True,
                          env=dict(env, JUPYTER_PATH=str(venv.path / "share" / "jupyter"), JUPYTER_PLATFORM_DIRS="1"))
    out = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)   # without colours
    assert re.search(r"dllmagic v\S+ enabled\s+\S*OK", out), out
