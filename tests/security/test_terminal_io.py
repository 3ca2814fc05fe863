"""The CLI in real terminals and pipes: wrapping to the terminal's width without ever breaking a path,
a cp1252 console, non-UTF-8 input, and a reader that goes away (``| head``)."""
from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import run_cli

ENV = dict(os.environ, DLLMAGIC_STRICT="1")
ENV.pop("PYTHONPATH", None)


def _run_in_pty(args, columns: int = 80, input_text: str = "", env=None) -> str:
    """``python -m dllmagic ARGS`` with a pseudo-terminal of ``columns`` columns as its stdout."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.ONLCR  # \n stays \n
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    full = dict(ENV, **(env or {}))
    full.pop("COLUMNS", None)
    proc = subprocess.Popen([sys.executable, "-m", "dllmagic", *args], stdin=subprocess.PIPE, stdout=slave,
                            stderr=subprocess.PIPE, env=full)
    os.close(slave)
    proc.stdin.write(input_text.encode())
    proc.stdin.close()
    out = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=60)
    os.close(master)
    return out.decode("utf-8", "replace")


def _long_path_log(tmp_path: Path) -> str:
    """A pasted traceback full of long hyphenated paths (as site-packages paths are)."""
    deep = "/opt/conda-forge-envs/my-long-project-name/lib/python3.11/site-packages/some-vendor-lib"
    return (
        "Traceback (most recent call last):\n"
        f'  File "{deep}/module_with_a-long-name.py", line 1, in <module>\n'
        f"ImportError: libcudnn_ops-infer.so.8: cannot open shared object file: No such file or directory "
        f"(needed by {deep}/_native-extension.cpython-311-x86_64-linux-gnu.so)\n"
    )


PATH = re.compile(r"(?:/[\w.+@-]+){2,}/?")


def test_report_in_an_80_column_pty_keeps_every_path_whole(tmp_path):
    log = _long_path_log(tmp_path)
    piped = run_cli("explain", input=log)  # not a terminal: no wrapping at all
    assert piped.returncode == 1, piped.stderr
    paths = set(PATH.findall(piped.stdout))
    assert any("site-packages" in p for p in paths), piped.stdout
    shown = _run_in_pty(["explain"], columns=80, input_text=log)
    assert "dllmagic" in shown, shown
    lines = shown.splitlines()
    for path in paths:
        assert any(path in line for line in lines), f"{path} is broken across lines:\n{shown}"
    assert not any(line.endswith("-") and not line.endswith(" -") for line in lines), shown
    # Wrapped to the width: lines without a long word fit in 80 columns.
    for line in lines:
        if len(line) > 80 and not line.startswith(" " * 8):  # a fix's command lines are never wrapped
            assert any(len(word) > 40 for word in line.split()), f"line over 80 columns: {line!r}"
    # A pipe gets whole lines: the long summary stays one line there.
    assert max(len(line) for line in piped.stdout.splitlines()) > 100


def test_check_in_an_80_column_pty_keeps_every_path_whole(tmp_path):
    proc = run_cli("check", "no_such_module_for_pty_test")
    paths = set(PATH.findall(proc.stdout))
    assert paths, proc.stdout
    shown = _run_in_pty(["check", "no_such_module_for_pty_test"], columns=80)
    lines = shown.splitlines()
    for path in paths:
        assert any(path in line for line in lines), f"{path} is broken across lines:\n{shown}"


def test_a_closed_pipe_ends_quietly(tmp_path):
    log = _long_path_log(tmp_path) * 2000  # much more output than `head -1` reads
    proc = subprocess.run(f"{sys.executable} -m dllmagic deps -v /usr/lib/x86_64-linux-gnu/libc.so.6 "
                          f"/usr/bin/ls /usr/bin/cp /usr/bin/bash | head -1", shell=True, capture_output=True,
                          text=True, env=ENV, timeout=300)
    assert proc.stdout.count("\n") == 1
    assert proc.stderr == "", proc.stderr
    # Same with the reader gone before anything is written.
    r, w = os.pipe()
    os.close(r)
    child = subprocess.run([sys.executable, "-m", "dllmagic", "check", "json"], stdout=w, stderr=subprocess.PIPE,
                           env=ENV, timeout=300)
    os.close(w)
    assert b"BrokenPipe" not in child.stderr and b"Traceback" not in child.stderr, child.stderr
    assert child.returncode == 141


def test_cp1252_stdout_never_exits_3():
    text = ("ModuleNotFoundError: No module named 'caf\u00e9_\u4e2d\u6587_\u2713'\n")
    for encoding in ("cp1252", "ascii", "latin-1"):
        proc = subprocess.run([sys.executable, "-m", "dllmagic", "explain"], input=text.encode("utf-8"),
                              capture_output=True, env=dict(ENV, PYTHONIOENCODING=encoding), timeout=300)
        assert proc.returncode == 1, proc.stderr
        out = proc.stdout.decode(encoding)
        assert "\\u4e2d\\u6587" in out  # shown as escapes, not an error
        proc = subprocess.run([sys.executable, "-m", "dllmagic", "check", "json"], capture_output=True,
                              env=dict(ENV, PYTHONIOENCODING=encoding), timeout=300)
        assert proc.returncode == 0, proc.stderr


def test_non_utf8_stdin_and_files_never_exit_3(tmp_path):
    cases = [
        b"ModuleNotFoundError: No module named 'caf\xe9'\n",                       # latin-1
        b"\xff\xfe" + "ModuleNotFoundError: No module named 'torch'\n".encode("utf-16-le"),  # Windows log
        b"\x80\x81\xfe\xff" * 1000 + b"\nModuleNotFoundError: No module named 'x'\n",
        b"",
        b"\x00" * 10000,
    ]
    for data in cases:
        for env in ({}, {"PYTHONIOENCODING": "cp1252"}, {"LC_ALL": "C", "PYTHONUTF8": "0"}):
            proc = subprocess.run([sys.executable, "-m", "dllmagic", "explain"], input=data, capture_output=True,
                                  env=dict(ENV, **env), timeout=300)
            assert proc.returncode in (0, 1), (data[:40], env, proc.stderr)
        f = tmp_path / "log.txt"
        f.write_bytes(data)
        proc = subprocess.run([sys.executable, "-m", "dllmagic", "explain", str(f), "--json"], capture_output=True,
                              env=ENV, timeout=300)
        assert proc.returncode in (0, 1), proc.stderr
    proc = subprocess.run([sys.executable, "-m", "dllmagic", "explain", "--json"], input=cases[1],
                          capture_output=True, env=ENV, timeout=300)
    assert b"torch" in proc.stdout  # the UTF-16 log was read as such
