"""The Windows loader-snaps parser on a recorded log (traces/), and the model compared with it."""
from __future__ import annotations

from pathlib import Path

from dllmagic.facts.native.traces import compare, parse_loader_snaps

TRACES = Path(__file__).parent / "traces"
SITE = "C:\\Python311\\Lib\\site-packages"


def test_loader_snaps_are_parsed():
    pyd, missing = parse_loader_snaps((TRACES / "ext_missing.snaps.txt").read_text())
    assert pyd.found == f"{SITE}\\pkg\\ext_missing.pyd" and pyd.status == "STATUS_SUCCESS"
    assert missing.name == "libmissing.dll" and missing.found is None
    assert missing.status == "STATUS_DLL_NOT_FOUND" and missing.parent == f"{SITE}\\pkg\\ext_missing.pyd"
    assert missing.search_path == (f"{SITE}\\pkg", "C:\\Python311", "C:\\Windows\\SYSTEM32")
    assert [p for p, _ in missing.tried][-1] == "C:\\Windows\\SYSTEM32\\libmissing.dll"
    assert parse_loader_snaps("nothing to see\n") == []


def test_the_model_tries_the_places_the_loader_tried(win, pe_built):
    win.python(pe_built)
    win.write(f"{SITE}\\pkg\\__init__.py", "")
    pyd = win.put(f"{SITE}\\pkg\\ext_missing.pyd", pe_built / "ext_missing.pyd")
    win.system32()
    tree = win.load().loader().resolve(pyd)
    (_pyd, missing) = parse_loader_snaps((TRACES / "ext_missing.snaps.txt").read_text())
    assert compare(tree, [missing]) == []
    node = next(n for n in tree.root.children if n.name == "libmissing.dll")
    model = [c.path.lower() for c in node.candidates if c.outcome == "missing"]
    assert model == [p.lower() for p, _ in missing.tried]
    assert [c.path.rsplit("\\", 1)[0].lower() for c in node.candidates if c.outcome == "missing"] == [
        p.lower() for p in missing.search_path]
