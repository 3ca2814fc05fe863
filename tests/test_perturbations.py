"""The paste transformations of bench/perturbations.py (pure functions), and the stability of recognition
under them on the tuned split (bench/corpus_accuracy.py --perturb): each keeps >= 98 % of the cases it
changes with the same kind, key facts and root cause as their original text."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


P = _load("perturbations", REPO / "bench" / "perturbations.py")
bench = _load("corpus_accuracy", REPO / "bench" / "corpus_accuracy.py")

TRACEBACK = ("Traceback (most recent call last):\n"
             '  File "<stdin>", line 1, in <module>\n'
             "    import cv2\n"
             '  File "/opt/env/lib/python3.11/site-packages/cv2/__init__.py", line 181, in <module>\n'
             "    bootstrap()\n"
             "ImportError: libGL.so.1: cannot open shared object file: No such file or directory")


def test_wrap_cuts_every_long_line_at_the_width_even_inside_a_path():
    wrapped = P.wrap(TRACEBACK, 40)
    assert all(len(line) <= 40 for line in wrapped.split("\n"))
    assert wrapped.replace("\n", "") == TRACEBACK.replace("\n", "")
    assert '  File "/opt/env/lib/python3.11/site-pac' in wrapped.split("\n")
    assert P.wrap80(TRACEBACK) == P.wrap(TRACEBACK, 80) != P.wrap120(TRACEBACK)
    assert P.wrap("short", 80) == "short"


def test_quote_fence_crlf_prose():
    assert P.quote("a\n\nb") == "> a\n>\n> b"
    assert P.fence("a\n") == "```\na\n```"
    assert P.crlf("a\nb\r\nc") == "a\r\nb\r\nc"
    posted = P.prose("X")
    assert posted.startswith("I get this error") and posted.endswith("Any help? Thanks in advance.")
    assert "\n\nX\n\n" in posted


def test_header_dropped_and_last_line():
    assert "Traceback" not in P.no_header(TRACEBACK) and "import cv2" in P.no_header(TRACEBACK)
    assert P.last_line(TRACEBACK) == TRACEBACK.split("\n")[-1]
    assert P.last_line("ERROR: No matching distribution found for x") == "ERROR: No matching distribution found for x"


def test_ipython_form():
    text = P.ipython(TRACEBACK)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "\x1b[" in text
    assert plain.split("\n")[1].startswith("ImportError ") and plain.split("\n")[1].endswith(
        "Traceback (most recent call last)")
    assert "Cell In[3], line 1\n----> 1 import cv2" in plain
    assert "File /opt/env/lib/python3.11/site-packages/cv2/__init__.py:181, in <module>\n----> 181 bootstrap()" in plain
    assert plain.endswith("ImportError: libGL.so.1: cannot open shared object file: No such file or directory")


def test_smart_quotes_and_html_entities():
    assert P.smart_quotes("version `GLIBCXX_3.4.30' not found") == "version `GLIBCXX_3.4.30\u2019 not found"
    assert P.smart_quotes("name 'x' \"y\"") == "name \u2018x\u2019 \u201cy\u201d"
    assert P.html_entities("<module> 'a' \"b\" &") == "&lt;module&gt; &#39;a&#39; &quot;b&quot; &amp;"


def test_log_prefix_tabs_nbsp():
    assert P.log_prefix("a\nb") == "2026-12-07 05:40:00,123 ERROR a\n2026-12-07 05:40:01,123 ERROR b"
    assert P.tabs("    x\n  y\nz") == "\tx\n\ty\nz"
    assert P.nbsp("    x  y") == "\u00a0" * 4 + "x\u00a0 y"


def test_every_transformation_is_pure_and_registered():
    for name, transform in P.TRANSFORMATIONS.items():
        assert transform(TRACEBACK) == transform(TRACEBACK), name
    assert set(P.LOSSY) <= set(P.TRANSFORMATIONS)


def _case(case_id):
    for line in (REPO / "tests" / "data" / "corpus" / "threads.jsonl").open(encoding="utf-8"):
        if line.strip() and json.loads(line)["id"] == case_id:
            return json.loads(line)
    raise KeyError(case_id)


@pytest.mark.parametrize("name", sorted(P.TRANSFORMATIONS))
def test_a_real_case_keeps_its_reading(name):
    # t505 (tuned): docker compose's prefix, a chain of frames, a static-TLS message from libgomp.
    case = _case("t505")
    was = bench.outcome(case["error"])
    now = bench.outcome(P.TRANSFORMATIONS[name](case["error"]))
    assert now["kind"] == was["kind"]
    if name not in P.LOSSY:
        assert now == was


@pytest.fixture(scope="module")
def stability():
    cases = [c for path in bench.DEFAULT_CORPORA if path.exists() for c in bench.read_corpus(path)
             if bench.split_of(c["id"]) == "tuned"]
    return bench.perturb(cases)


@pytest.mark.parametrize("name", sorted(P.TRANSFORMATIONS))
def test_recognition_is_stable_under_each_paste_form(stability, name):
    r = stability[name]
    assert r["cases"] >= 50
    if name in P.LOSSY:
        # A traceback's last line alone: the kind and the cause stay; the frames' facts may go.
        assert r["kind"] >= 0.95 and r["cause"] >= 0.95, r["misses"]
    else:
        assert r["all"] >= 0.98, r["misses"]
