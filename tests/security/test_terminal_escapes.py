"""Nothing a file, a name or a pasted text contains reaches a terminal as a control sequence.

Real ELF files whose DT_NEEDED and DT_RUNPATH strings hold OSC 52 (clipboard write), OSC 0 (window
title), raw ESC, C1 controls and bidi overrides; pasted tracebacks with the same; real child processes.
Text views print such characters escaped (``\\x1b``, ``\\u202e``); ``--json`` keeps the exact strings.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import run_cli

#: What must never reach a terminal raw: C0 controls but tab/newline, DEL, C1, bidi controls, separators.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")

OSC52 = "\x1b]52;c;cHduZWQ=\x07"         # writes "pwned" to the clipboard
OSC0 = "\x1b]0;title\x07"                # sets the window title
BIDI = "\u202eexe.so\u202c\u2066x\u2069"  # right-to-left override, isolates
C1 = "\x9b31m\x85"                      # CSI as one C1 byte, NEL


def _strings(data) -> str:
    """Every string in a JSON document, joined (as parsed: json's escapes undone)."""
    if isinstance(data, str):
        return data + "\n"
    if isinstance(data, dict):
        return "".join(_strings(k) + _strings(v) for k, v in data.items())
    if isinstance(data, list):
        return "".join(_strings(v) for v in data)
    return ""


def _assert_clean(text: str) -> None:
    bad = RAW.findall(text)
    assert not bad, f"raw control characters reach the terminal: {bad!r}\n{text[:2000]}"


@pytest.fixture(scope="module")
def hostile_elf(tmp_path_factory) -> Path:
    """A program whose NEEDED (the soname of a library it was linked to, then removed) and RUNPATH hold
    terminal escapes, built by gcc."""
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed (apt: gcc)")
    d = tmp_path_factory.mktemp("hostile-elf")
    (d / "l.c").write_text("int f(void){return 1;}\n")
    (d / "m.c").write_text("int f(void); int main(void){return f();}\n")
    soname = f"lib{OSC52}{BIDI}{C1}evil.so"
    subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(d / "libevil.so"),
                    str(d / "l.c")], check=True)
    subprocess.run(["gcc", "-o", str(d / "prog"), str(d / "m.c"), f"-L{d}", "-levil",
                    f"-Wl,-rpath,/opt/{OSC0}/lib:$ORIGIN/\x1b[2J"], check=True)
    (d / "libevil.so").unlink()  # NOT FOUND: the name is printed with every place tried
    return d / "prog"


def test_deps_text_escapes_needed_and_runpath(hostile_elf):
    for extra in ([], ["-v"]):
        proc = run_cli("deps", "--no-cache", *extra, str(hostile_elf))
        assert proc.returncode == 1, proc.stderr
        _assert_clean(proc.stdout + proc.stderr)
        assert "lib\\x1b]52;c;cHduZWQ=\\x07\\u202eexe.so\\u202c\\u2066x\\u2069\\x9b31m\\x85evil.so  NOT FOUND" \
            in proc.stdout
        assert "/opt/\\x1b]0;title\\x07/lib" in proc.stdout


def test_deps_json_keeps_the_exact_strings(hostile_elf):
    proc = run_cli("deps", "--no-cache", "--json", str(hostile_elf))
    assert proc.returncode == 1, proc.stderr
    _assert_clean(proc.stdout)  # json escapes controls itself
    data = json.loads(proc.stdout)
    text = _strings(data)
    assert f"lib{OSC52}{BIDI}{C1}evil.so" in text
    assert f"/opt/{OSC0}/lib" in text


PASTED = (
    "Traceback (most recent call last):\n"
    '  File "/home/u/nb.py", line 1, in <module>\n'
    f"ModuleNotFoundError: No module named 'x{OSC52}{OSC0}\x00{BIDI}{C1}y'\n"
)


def test_explain_text_escapes_pasted_text():
    proc = run_cli("explain", input=PASTED)
    assert proc.returncode == 1, proc.stderr
    _assert_clean(proc.stdout + proc.stderr)
    # The text intake drops a pasted text's terminal control sequences (OSC, CSI) before any signature runs;
    # what remains of the pasted names is printed escaped.
    assert "\\u202e" in proc.stdout and "]52;c;" not in proc.stdout.replace("\\x1b]52;c;", "")


def test_explain_json_keeps_the_exact_strings(validate_report):
    proc = run_cli("explain", "--json", input=PASTED)
    assert proc.returncode == 1, proc.stderr
    _assert_clean(proc.stdout)
    data = validate_report(proc.stdout)
    # JSON keeps the exact characters of the names it reports (the bidi controls of the module name); the
    # OSC sequence itself was dropped by the text intake, as a terminal would have consumed it.
    assert BIDI in _strings(data)


def test_cli_messages_escape_file_names_and_arguments(tmp_path):
    name = str(tmp_path / f"log{OSC52}{BIDI}.txt")
    proc = run_cli("explain", name)  # no such file: the message quotes the name
    assert proc.returncode == 2
    _assert_clean(proc.stderr)
    assert "\\x1b]52" in proc.stderr
    proc = run_cli("deps", name)
    assert proc.returncode == 2
    _assert_clean(proc.stderr)
    proc = run_cli("check", f"a{OSC0}b")
    assert proc.returncode == 2
    _assert_clean(proc.stderr)
    proc = run_cli("kernels", f"--bogus{OSC0}")  # argparse's own message
    assert proc.returncode == 2
    _assert_clean(proc.stderr)


def test_kernels_text_escapes_a_hostile_kernelspec(tmp_path):
    kdir = tmp_path / "jupyter" / "kernels" / "evil"
    kdir.mkdir(parents=True)
    (kdir / "kernel.json").write_text(json.dumps({
        "argv": [f"/usr/bin/python3{OSC0}", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Py\x85!touch /tmp/P\x85#{OSC52}{BIDI}", "language": "python"}))
    env = {"JUPYTER_PATH": str(tmp_path / "jupyter"), "HOME": str(tmp_path)}
    proc = run_cli("kernels", "--notebook-dir", str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr
    _assert_clean(proc.stdout + proc.stderr)
    assert "Py\\x85!touch /tmp/P\\x85#\\x1b]52" in proc.stdout
    proc = run_cli("kernels", "--json", "--notebook-dir", str(tmp_path), env=env)
    data = json.loads(proc.stdout)
    assert any(k["display_name"] == f"Py\x85!touch /tmp/P\x85#{OSC52}{BIDI}" for k in data["kernelspecs"])


def test_kernels_text_keeps_a_newline_in_a_display_name_on_its_line(tmp_path):
    """A newline in a kernelspec's display name must not start a row of its own: it could forge a 'runs' line
    under another kernel's name."""
    kdir = tmp_path / "jupyter" / "kernels" / "forged"
    kdir.mkdir(parents=True)
    (kdir / "kernel.json").write_text(json.dumps({
        "argv": ["/nonexistent/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Fine\n     runs /usr/bin/python3  (Python 3.12)", "language": "python"}))
    env = {"JUPYTER_PATH": str(tmp_path / "jupyter"), "HOME": str(tmp_path)}
    proc = run_cli("kernels", "--notebook-dir", str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.splitlines()
    at = next(i for i, row in enumerate(rows) if " forged " in row)
    assert rows[at].endswith("Fine\\x0a     runs /usr/bin/python3  (Python 3.12)"), rows[at]
    assert rows[at + 1].strip().startswith("runs /nonexistent/python"), rows[at + 1]


def test_escape_controls_unit():
    from dllmagic.report.text import escape_controls

    assert escape_controls("a\x1bb\u202ec\n\td") == "a\\x1bb\\u202ec\n\td"
    assert escape_controls("a\nb\tc", multiline=False) == "a\\x0ab\\x09c"
    assert escape_controls("\udcff\U000e0041é✓") == "\\udcff\\U000e0041é✓"
    assert escape_controls("C:\\Users\\x") == "C:\\Users\\x"  # backslashes of Windows paths stay


def test_plain_ascii_fast_path_agrees_with_the_pattern():
    """Text found plain (ASCII, no control) is returned as it is, without the pattern: for every ASCII
    character, alone and amid plain text, in both modes, the answer is the pattern's."""
    from dllmagic._escape import _pattern, escape_controls, escape_json_text

    for multiline in (True, False):
        for code in range(128):
            for text in (chr(code), f"lib{chr(code)}x.so => /a b/{chr(code)}"):
                escaped = _pattern(multiline).sub(lambda m: f"\\x{ord(m.group()):02x}", text)
                assert escape_controls(text, multiline=multiline) == escaped, (multiline, code)
    assert escape_json_text('{"a":"\x1b[2J\u202e","b":"plain"}') == '{"a":"\\u001b[2J\\u202e","b":"plain"}'
    assert escape_json_text('{"a":"plain\\n"}\n') == '{"a":"plain\\n"}\n'
