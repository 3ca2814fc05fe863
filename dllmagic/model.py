"""Frozen, JSON-serialisable records shared by every layer.

Nothing here imports anything of ours; the report's JSON Schema
(``dllmagic/report/report.schema.json``) describes exactly what :func:`to_dict` makes of these.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional, Tuple

from ._record import Record, field

SCHEMA_VERSION = "1.0"

#: The finding kinds (the labels of the error corpus, tests/data/corpus) plus ``healthy`` and the installer-output kinds.
KINDS = (
    "healthy",
    "module-not-found",
    "cannot-import-name",
    "missing-shared-library",
    "missing-symbol",
    "symbol-version",
    "python-abi-mismatch",
    "numpy-abi-mismatch",
    "architecture-mismatch",
    "native-init-failed",
    "unsupported-cpu",
    "dependency-conflict",
    "openmp-conflict",
    "gpu-runtime",
    "import-crashed",
    "no-compatible-release",
    "resolution-conflict",
    "unknown",
)

FIX_KINDS = (
    "pip", "conda", "mamba", "uv", "kernel-switch", "register-kernel",
    "system-package", "rename", "restart", "instruction",
)

RISKS = ("low", "medium", "high")


class Evidence(Record):
    """One fact the diagnosis rests on, and where it came from (a path, variable or file)."""

    fact: str
    value: str
    source: str = ""


class Fix(Record):
    """A remediation. ``cell`` is the exact notebook cell; ``argv`` the exact command, or None."""

    id: str
    kind: str
    title: str
    cell: str
    argv: Optional[Tuple[str, ...]] = None
    restart: bool = False
    risk: str = "low"
    runnable: bool = False
    #: The kernelspec name a ``kernel-switch`` fix switches to (validated where the fix is made); "" else.
    kernel: str = ""


class Finding(Record):
    kind: str
    cause: str
    summary: str
    confidence: float
    evidence: Tuple[Evidence, ...] = ()
    fixes: Tuple[Fix, ...] = ()
    docs: str = ""


class Interpreter(Record):
    """The Python that runs (or would run) the import."""

    executable: str
    real_executable: str
    version: str
    implementation: str
    architecture: str          # machine as the OS names it: x86_64, AMD64, arm64 ...
    bits: int
    platform: str              # linux | windows | macos
    prefix: str
    base_prefix: str
    environment_kind: str      # venv, virtualenv, uv, conda, pyenv, system, system-externally-managed ...
    user_site: Optional[str] = None
    user_site_enabled: bool = False
    source: str = "sys"        # "sys" (this process) or the probe command that reported it
    #: macOS: the process runs translated by Rosetta 2 (an x86_64 Python on an arm64 Mac); None: unknown.
    translated: Optional[bool] = None


class ExpectedEnvironment(Record):
    """The environment the notebook (or user) expects the import to run in."""

    description: str
    interpreter: Optional[str] = None
    kernelspec: Optional[str] = None
    evidence: Tuple[Evidence, ...] = ()


class Failure(Record):
    """An import failure as plain data: what failed, which file, which names the text carries."""

    kind: str
    exc_type: str
    message: str
    module: Optional[str] = None          # the import that failed (dotted name)
    extension: Optional[str] = None       # the extension module file being loaded
    library: Optional[str] = None         # missing / offending native library
    symbol: Optional[str] = None
    version: Optional[str] = None         # required symbol version, numpy version ...
    required_by: Optional[str] = None     # the file that needs library/symbol/version
    name: Optional[str] = None            # cannot-import-name: the name asked for
    from_path: Optional[str] = None       # cannot-import-name: the file the name was looked up in
    paths_tried: Tuple[str, ...] = ()
    signal: Optional[str] = None          # import-crashed: SIGSEGV ...
    signature: Optional[str] = None       # id of the knowledge signature that matched
    details: Tuple[Tuple[str, str], ...] = ()  # other named groups of the signature

    def key(self) -> Tuple[Any, ...]:
        """Identity used to tell 'the same failure again' within a kernel."""
        return (self.kind, self.module, self.exc_type, self.message)


class Report(Record):
    target: str
    ok: bool
    interpreter: Optional[Interpreter]
    findings: Tuple[Finding, ...] = ()
    notes: Tuple[str, ...] = ()
    expected_environment: Optional[ExpectedEnvironment] = None
    tool_version: str = ""
    schema_version: str = SCHEMA_VERSION
    failure: Optional[Failure] = field(default=None, compare=False)

    @property
    def top(self) -> Optional[Finding]:
        return self.findings[0] if self.findings else None

    def fix_by_id(self, fix_id: str) -> Optional[Fix]:
        for finding in self.findings:
            for fix in finding.fixes:
                if fix.id == fix_id:
                    return fix
        return None


def module_attribute(module: Any, name: str) -> Any:
    """``module.name`` as the module's own namespace holds it, or None: never through a module ``__getattr__``
    (PEP 562), a property or a proxy, which would run the user's code (and may raise anything) while a report
    is being made."""
    try:
        namespace = object.__getattribute__(module, "__dict__")
    except Exception:   # no namespace of its own (a C object, a broken proxy in sys.modules)
        return None
    return namespace.get(name) if isinstance(namespace, dict) else None


def to_dict(record: Any) -> Any:
    """A record (or tuple of records) as plain JSON data; tuples become lists."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: to_dict(getattr(record, f.name)) for f in dataclasses.fields(record)}
    if isinstance(record, Record):
        return {name: to_dict(getattr(record, name)) for name in record._fields}
    if isinstance(record, (list, tuple)):
        return [to_dict(item) for item in record]
    if isinstance(record, dict):
        return {str(k): to_dict(v) for k, v in record.items()}
    return record


def doc_id(docs: str) -> str:
    """The stable id of a docs link, ``KIND`` or ``KIND#CAUSE`` (what ``dlldoctor docs`` takes)."""
    page = docs.rsplit("/", 1)[-1] if docs else ""
    name, _, anchor = page.partition("#")
    if not name.endswith(".md"):
        return ""
    return name[:-3] + (f"#{anchor}" if anchor else "")


def report_to_dict(report: Report) -> dict:
    """The report as the JSON contract describes it (the raw Failure travels under 'failure')."""
    data = to_dict(report)
    for finding in data.get("findings") or ():
        finding["doc_id"] = doc_id(finding.get("docs") or "")
    return data
