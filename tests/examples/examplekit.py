"""Helpers of the examples CI (a unique module name: never ``from conftest import``).

``build(name, root, jupyter_data)`` runs ``examples/<name>/build.py`` for real and returns the facts it
recorded (``example.json``); ``execute(name, facts)`` runs ``examples/<name>/<name>.ipynb`` headless with
nbclient on the kernel its metadata names, from the notebook's own folder and with ``JPY_SESSION_NAME``
set to the notebook's path (as Jupyter Server does); ``reports(nb, cell_id)`` are the
``application/vnd.dllmagic.report+json`` outputs of one cell.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
MIME = "application/vnd.dllmagic.report+json"
#: Every example, in the order CI runs them (cheap ones first).
NAMES = ("wrong-kernel", "other-environment", "shadowing-file", "restart-needed", "broken-install",
         "missing-system-library", "deleted-vendored-library", "other-python-extension", "symbol-version",
         "numpy-abi", "windows-wheel", "preflight-frameworks")
#: Seconds each build and each notebook took in this run (printed at the end of the session).
TIMINGS: Dict[str, Dict[str, float]] = {}


def notebook_path(name: str) -> Path:
    return EXAMPLES / name / f"{name}.ipynb"


def build(name: str, root: Path, jupyter_data: Path) -> Dict[str, Any]:
    start = time.monotonic()
    target = root / name
    proc = subprocess.run([sys.executable, str(EXAMPLES / name / "build.py"), "--dir", str(target),
                           "--jupyter-data", str(jupyter_data)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"build of {name} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    TIMINGS.setdefault(name, {})["build"] = round(time.monotonic() - start, 1)
    facts = json.loads((target / "example.json").read_text())
    assert Path(facts["kernelspec"]).is_file()
    return facts


def execute(name: str, facts: Dict[str, Any], timeout: int = 300, env: Optional[Dict[str, str]] = None):
    """The executed notebook (nbformat node). A cell that raises fails the run unless it is tagged
    ``raises-exception`` (the failing imports are)."""
    import nbformat
    from nbclient import NotebookClient

    path = notebook_path(name)
    nb = nbformat.read(str(path), as_version=4)
    assert nb.metadata.kernelspec.name == facts["kernel"], "the notebook must name the kernel build.py registers"
    start = time.monotonic()
    client = NotebookClient(nb, timeout=timeout, kernel_name=nb.metadata.kernelspec.name,
                            resources={"metadata": {"path": str(path.parent)}})
    kernel_env = dict(os.environ, JPY_SESSION_NAME=str(path), PYDEVD_DISABLE_FILE_VALIDATION="1")
    kernel_env.pop("PYTHONPATH", None)
    kernel_env.update(env or {})
    client.execute(env=kernel_env)
    TIMINGS.setdefault(name, {})["notebook"] = round(time.monotonic() - start, 1)
    return nb


def cell(nb, cell_id: str):
    for c in nb.cells:
        if c.get("id") == cell_id:
            return c
    raise AssertionError(f"no cell {cell_id!r}")


def reports(nb, cell_id: str) -> List[Dict[str, Any]]:
    out = []
    for output in cell(nb, cell_id).get("outputs", []):
        data = output.get("data") or {}
        if MIME in data:
            value = data[MIME]
            out.append(json.loads(value) if isinstance(value, str) else value)
    return out


def report(nb, cell_id: str) -> Dict[str, Any]:
    found = reports(nb, cell_id)
    texts = [o.get("text", "") or json.dumps(o.get("data", {}))[:2000] for o in cell(nb, cell_id).get("outputs", [])]
    assert found, f"cell {cell_id} displayed no dllmagic report; its outputs:\n" + "\n".join(texts)
    return found[-1]


def text_output(nb, cell_id: str) -> str:
    parts = []
    for output in cell(nb, cell_id).get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif output.get("output_type") in ("display_data", "execute_result"):
            parts.append((output.get("data") or {}).get("text/plain", ""))
        elif output.get("output_type") == "error":
            parts.append(f"{output.get('ename')}: {output.get('evalue')}")
    return "".join(parts)


def error_of(nb, cell_id: str) -> Optional[Dict[str, Any]]:
    return next((o for o in cell(nb, cell_id).get("outputs", []) if o.get("output_type") == "error"), None)


def evidence_text(finding: Dict[str, Any]) -> str:
    return "\n".join(f"{e['fact']}: {e['value']} [{e.get('source', '')}]" for e in finding.get("evidence", []))


def causes(rep: Dict[str, Any]) -> List[str]:
    return [f["cause"] for f in rep.get("findings", [])]


def describe(rep: Dict[str, Any]) -> str:
    """A readable dump for assertion messages."""
    lines = [f"target={rep.get('target')} ok={rep.get('ok')} notes={rep.get('notes')}"]
    for f in rep.get("findings", []):
        lines.append(f"- {f['kind']} · {f['cause']} ({f['confidence']}): {f['summary']}")
        lines.extend("    " + line for line in evidence_text(f).splitlines())
    return "\n".join(lines)
