"""``dlldoctor docs KIND[#CAUSE]`` and the report's ``doc_id``: the pages ship in the package and print offline."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from dllmagic import cli_docs
from dllmagic.model import doc_id

REPO = Path(__file__).resolve().parents[2]


def dlldoctor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dllmagic", *args], capture_output=True, text=True,
                          cwd="/", env=dict(os.environ, PYTHONPATH=str(REPO)))


def test_every_page_and_every_cause_section_prints():
    kinds = cli_docs.kinds()
    assert kinds == sorted(p.stem for p in (REPO / "docs" / "kinds").glob("*.md"))
    for kind in kinds:
        text = cli_docs.page(kind)
        assert text.startswith("# ")
        for cause in re.findall(r'^<a id="([^"]+)"></a>', text, re.M):
            section = cli_docs.page(f"{kind}#{cause}")
            assert f"`{cause}`" in section.splitlines()[2], (kind, cause)
            assert '<a id="' not in section


def test_the_cli_verb_prints_a_section_and_refuses_unknown_ids():
    res = dlldoctor("docs", "module-not-found#wrong-kernel")
    assert res.returncode == 0, res.stderr
    assert "## `wrong-kernel`" in res.stdout and "## `not-installed`" not in res.stdout
    bad = dlldoctor("docs", "../../etc/passwd")
    assert bad.returncode == 2 and "not a docs id" in bad.stderr
    assert dlldoctor("docs", "no-such-kind").returncode == 2


def test_doc_id_of_a_docs_link():
    assert doc_id("docs/kinds/module-not-found.md#not-installed") == "module-not-found#not-installed"
    assert doc_id("https://example.org/docs/kinds/gpu-runtime.md") == "gpu-runtime"
    assert doc_id("") == ""


def test_the_pages_are_package_data():
    # Installed from a wheel the pages live in dllmagic/docs (in the checkout a link to docs/).
    assert Path(cli_docs.docs_root()).resolve() == (REPO / "docs").resolve()
    assert (REPO / "dllmagic" / "docs" / "kinds" / "module-not-found.md").is_file()
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"docs/kinds/*.md"' in pyproject
