"""Bytecode (.pyc) written by another Python version."""
from __future__ import annotations

import re
from typing import Iterable

from ... import fixes
from ...knowledge import tables as knowledge_tables
from ...model import Evidence, Finding
from .. import Context, docs_for, rule


# -- bytecode of another Python ------------------------------------------------------------------------
_BYTES_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})|\\([rnt\\'\"0])|(.)", re.DOTALL)


def _bytes_of_repr(text: str) -> bytes:
    """The bytes a ``b'…'`` repr (its inside) stands for: escapes read by hand, nothing evaluated."""
    out = bytearray()
    simple = {"r": 13, "n": 10, "t": 9, "\\": 92, "'": 39, '"': 34, "0": 0}
    for m in _BYTES_ESCAPE.finditer(text[:64]):
        if m.group(1):
            out.append(int(m.group(1), 16))
        elif m.group(2):
            out.append(simple[m.group(2)])
        elif ord(m.group(3)) < 128:
            out.append(ord(m.group(3)))
    return bytes(out)


@rule("python-abi-mismatch")
def bytecode_of_other_python(ctx: Context) -> Iterable[Finding]:
    """``bad magic number in 'X': b'U\\r\\r\\n'``: X is a .pyc compiled by another Python (without its .py, or
    its .py is not where Python looks); the magic number names that Python."""
    failure = ctx.failure
    if failure is None or failure.signature != "py-bad-magic-number":
        return
    module = failure.module or "the module"
    magic = _bytes_of_repr(dict(failure.details).get("magic", ""))
    entry = knowledge_tables.python_of_pyc_magic(int.from_bytes(magic[:2], "little")) if len(magic) >= 2 else None
    evidence = [Evidence("message", failure.message.splitlines()[0][:300] if failure.message else "", failure.exc_type)]
    built = ""
    if entry is not None:
        built = f" by Python {entry['python']}"
        evidence.append(Evidence("magic number", f"{int.from_bytes(magic[:2], 'little')} = Python {entry['python']}",
                                 f"knowledge/pyc_magic_numbers.json#{entry['id']}"))
    if ctx.interpreter is not None:
        evidence.append(Evidence("running", f"Python {ctx.interpreter.version}", "sys.version_info"))
    yield Finding(
        kind="python-abi-mismatch", cause="built-for-other-python", confidence=0.9,
        summary=f"'{module}' is compiled Python bytecode (.pyc) made{built or ' by another Python'}; each Python "
                f"release reads only its own bytecode, so this one refuses it.",
        evidence=tuple(evidence),
        fixes=(fixes.instruction(
            f"Run it with Python {entry['python']}, or get its source" if entry else "Run it with the Python that "
                                                                                    "compiled it, or get its source",
            "A .pyc without its .py runs only on the Python release that compiled it. Use that Python for this "
            "code, or get the .py source (or a release made for this Python) and delete the stale .pyc files."),),
        docs=docs_for("python-abi-mismatch", "built-for-other-python"))
