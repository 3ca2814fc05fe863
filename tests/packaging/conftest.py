"""The release artefacts, built once per session the way a release is built: ``python -m build`` makes the
sdist and then the wheel from that sdist; a second wheel is built straight from the source tree. Both builds
run on a copy of the checkout, so nothing is written into it (build/, *.egg-info)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from harness import PIP_CACHE, REPO, find_uv

# Not part of a release: environments, caches, build outputs, test outputs, the front end's node_modules.
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", ".venv-*", "node_modules", "build", "dist", "*.egg-info",
                                     "__pycache__", "*.pyc", ".pytest_cache", ".hypothesis", "reports", "lib")


def _build(src: Path, out: Path, *args: str) -> None:
    cmd = [sys.executable, "-m", "build", "--outdir", str(out), *args, str(src)]
    if find_uv():
        cmd[3:3] = ["--installer", "uv"]        # the isolated build environment, from uv's cache
    env = {**os.environ, "UV_CACHE_DIR": str(PIP_CACHE / "uv")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope="session")
def source_copy(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src") / "dllmagic"
    shutil.copytree(REPO, src, ignore=_NOT_SOURCE, symlinks=True)
    return src


@pytest.fixture(scope="session")
def dists(tmp_path_factory, source_copy) -> Dict[str, Path]:
    """{"sdist": .tar.gz, "wheel": the wheel built from the sdist, "tree_wheel": the wheel built from the tree}."""
    release = tmp_path_factory.mktemp("release")
    _build(source_copy, release)                      # sdist, then a wheel from the unpacked sdist
    tree = tmp_path_factory.mktemp("tree-wheel")
    _build(source_copy, tree, "--wheel")              # a wheel straight from the source tree
    (sdist,) = release.glob("dllmagic-*.tar.gz")
    (wheel,) = release.glob("dllmagic-*.whl")
    (tree_wheel,) = tree.glob("dllmagic-*.whl")
    return {"sdist": sdist, "wheel": wheel, "tree_wheel": tree_wheel}
