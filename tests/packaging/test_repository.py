"""What a newcomer reads and runs: the README's two set-up commands, CI running the same test command, and
no reference to folders outside the repository."""
from __future__ import annotations

import re
import subprocess

from harness import REPO


def _readme_commands():
    text = (REPO / "README.md").read_text()
    setup = text[text.index("## Try it"):text.index("## In a notebook")]
    return re.findall(r"```bash\n(.*?)\n```", setup, re.S)


def test_the_readme_has_two_set_up_commands_and_ci_runs_the_second():
    demo, tests = _readme_commands()
    assert "\n" not in demo and "pip install ." in demo and "python examples/demo.py" in demo
    assert tests == "bash tests/run-all.sh"
    assert re.search(r"^bash tests/run-all\.sh\b", (REPO / ".ci" / "run").read_text(), re.M)
    assert "tests/setup-system.sh" not in (REPO / "tests" / "run-all.sh").read_text() or \
        (REPO / "tests" / "setup-system.sh").is_file()


def test_nothing_refers_to_folders_outside_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
    if not files:      # an unpacked sdist: no git
        files = [str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file()]
    bad = []
    for name in files:
        path = REPO / name
        if path.suffix not in (".py", ".md", ".toml", ".sh", ".json", ".txt", ".ts", ".in", ".cfg", "") or \
                name.startswith("tests/data/") or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for m in re.finditer(r"\.\./shared/|/wor[k]/(shared|wt-|main)\b", text):
            bad.append(f"{name}: {text[max(0, m.start() - 30):m.end() + 30]!r}")
    assert not bad, "\n".join(bad)
