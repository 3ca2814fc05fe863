"""Every parse has a bound on time and size: adversarial text (10 MB in all) through ``failure_from_text``,
the live-exception path and every signature's regex on its own.

Each measurement runs in a child process with a hard timeout, so a quadratic pattern fails the test
instead of hanging the suite.  The bounds are generous (2 s per MB on two shared cores); a quadratic
pattern takes minutes on these inputs.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Shapes that make backtracking regexes slow: separators a path pattern may start at, runs without a
#: terminator, escapes, quotes, long identifiers, and the literals of the signatures repeated.
SHAPES = textwrap.dedent(r'''
    def shapes(n):
        yield "slash-space", "/ " * (n // 2)
        yield "eq-slash", "=/ a" * (n // 4)
        yield "path-without-terminator", "/usr/lib/" + "a" * n
        yield "path-with-spaces", "/usr/lib " * (n // 9)
        yield "backslashes", "\\" * n
        yield "windows-path", "C:\\Program Files\\" * (n // 17)
        yield "quotes", "'" * n
        yield "double-quotes", '"a" ' * (n // 4)
        yield "identifier", "a" * n
        yield "Identifier", "A" * n
        yield "dotted", "a." * (n // 2)
        yield "parens", "(" * n
        yield "colon-space", ": " * (n // 2)
        yield "short-lines", "a\n" * (n // 2)
        yield "import-lines", "from a import b\n" * (n // 16)
        yield "frames", 'File "a", line 1, ' * (n // 19)
        yield "import-errors", "ImportError: " * (n // 13)
        yield "dll-load", "DLL load failed while importing " * (n // 32)
        yield "cannot-import", "cannot import name 'a' (" * (n // 25)
        yield "glibc-version", "/a: version `GLIBC" * (n // 18)
        yield "tried", "tried: '/a' (" * (n // 13)
        yield "undefined", "/a: undefined symbol: " * (n // 22)
        yield "no-module", "No module named " * (n // 16)
        yield "ansi", "\x1b[31m\x1b]8;;" * (n // 10)
        yield "crlf-prompts", ">>> ... \r\n" * (n // 10)
        yield "build-output-headers", "egg_info:\n" * (n // 10)
        yield "build-output-headers-and-text", ("lines of output]\n" + "a " * 500) * (n // 1017)
''')


def run_child(body: str, timeout: float) -> dict:
    code = SHAPES + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_ten_megabytes_of_adversarial_text_parse_within_the_bound():
    # 25 shapes of 400 KB each = 10 MB through `explain` and through the kernel hook's path
    # (is_import_failure + failure_from_exception on an OSError carrying the text).
    result = run_child('''
        import json, time
        from dllmagic.api import explain
        from dllmagic.failure import failure_from_exception, failure_from_text, is_import_failure
        explain("ImportError: warm up")
        times = {}
        total = 0
        for name, text in shapes(400_000):
            t = time.perf_counter()
            explain(text)             # the whole `dlldoctor explain`: parse, then the rules over the text
            failure_from_text(text.encode())
            exc = OSError(text)
            is_import_failure(exc)
            failure_from_exception(exc)
            failure_from_exception(ImportError(text, name="a" * 100, path=text))
            times[name] = time.perf_counter() - t
            total += len(text)
        print(json.dumps({"times": times, "bytes": total}))
    ''', timeout=300)
    megabytes = result["bytes"] / 1e6
    assert megabytes >= 9.5
    total = sum(result["times"].values())
    assert total < 2.0 * megabytes, result["times"]
    # No shape may take the whole budget: five parses of 400 KB (2 MB) each within 4 s.
    assert max(result["times"].values()) < 4.0, result["times"]


def test_every_signature_regex_is_linear_on_adversarial_text():
    # Without the size cap: each regex alone over 50 KB of each shape.  A linear pattern takes about
    # 10 ms; a quadratic one (the old PATH macro) took 10-25 s on 20 KB.
    result = run_child('''
        import json, re, time
        import dllmagic.failure.documents as D, dllmagic.failure.modules as M, dllmagic.failure.build as B
        import dllmagic.failure.intake as I
        from dllmagic.failure import signatures
        regexes = [(s.id, s.regex) for s in signatures()]
        regexes += [(n, getattr(m, n)) for m in (D, M, B, I) for n in dir(m) if isinstance(getattr(m, n), re.Pattern)]
        slow = {}
        for shape, text in shapes(50_000):
            for name, regex in regexes:
                dt = 0
                for attempt in range(2):     # a second try when the shared machine was busy
                    t = time.perf_counter()
                    for _ in regex.finditer(text):
                        pass
                    dt = time.perf_counter() - t
                    if dt < 1.0:
                        break
                if dt >= 1.0:
                    slow[f"{name} on {shape}"] = round(dt, 3)
        print(json.dumps({"slow": slow, "count": len(regexes)}))
    ''', timeout=300)
    assert result["count"] >= 100
    assert result["slow"] == {}


def test_the_live_path_reads_a_bounded_window_of_a_huge_message():
    # A 20 MB message whose loader error is at its end: found (the tail window), and quickly.
    result = run_child('''
        import json, time
        from dllmagic.failure import failure_from_exception, is_import_failure
        text = "x " * 10_000_000 + "\\n/opt/lib/libfoo.so.1: cannot open shared object file: No such file or directory"
        exc = OSError(text)
        t = time.perf_counter()
        ok = is_import_failure(exc)
        failure = failure_from_exception(exc)
        print(json.dumps({"ok": ok, "kind": failure.kind, "library": failure.library,
                          "seconds": time.perf_counter() - t, "message": len(failure.message)}))
    ''', timeout=120)
    assert result["ok"] is True
    assert result["kind"] == "missing-shared-library"
    assert result["library"] == "libfoo.so.1"
    assert result["seconds"] < 2.0
    assert result["message"] <= 40_000
