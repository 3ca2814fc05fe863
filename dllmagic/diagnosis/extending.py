"""Adding your own rule: a worked example of :func:`dllmagic.diagnosis.register`.

A rule is a function ``rule(ctx) -> Iterable[Finding]`` (the prototype is
:func:`dllmagic.diagnosis.rule_prototype`). It reads the parsed failure (``ctx.failure``: kind, module,
library, symbol, version ...) and, when the kernel's machine is at hand (``ctx.interpreter`` is not
None), facts through ``ctx.system`` and ``ctx.distributions``. It yields nothing when the failure is not
its business. Fixes are made only with :mod:`dllmagic.fixes`; the finding's ``cause`` is one of the ids
of the report schema (``dllmagic/report/report.schema.json``), so views and machines understand it.

Say your company ships ``acme_sdk``, whose extension needs ``libacme.so.3`` from the internal apt package
``acme-runtime3``. dllmagic's own rule would call it an unknown library; yours knows better::

    from dllmagic import fixes
    from dllmagic.diagnosis import register, unregister
    from dllmagic.model import Evidence, Finding

    def acme_runtime(ctx):
        failure = ctx.failure
        if failure.library != "libacme.so.3":
            return                                    # not ours: yield nothing
        yield Finding(
            kind=failure.kind, cause="missing-system-library", confidence=0.97,   # outranks the built-ins
            summary="libacme.so.3 comes with the acme-runtime3 package from the internal apt repository.",
            evidence=(Evidence("library", failure.library, "the error message"),),
            fixes=(fixes.system_package("apt", ["acme-runtime3"]),),
        )

    register(acme_runtime, kinds=["missing-shared-library"], name="acme.runtime")

Run it (the kernel's hook, ``%dlldoctor``, ``dlldoctor explain`` and the API all go through the rules):

>>> from dllmagic.api import explain
>>> from dllmagic.diagnosis import register, unregister
>>> from dllmagic.diagnosis.extending import acme_runtime
>>> _ = register(acme_runtime, kinds=["missing-shared-library"], name="acme.runtime")
>>> report = explain("ImportError: libacme.so.3: cannot open shared object file: No such file or directory")
>>> report.top.summary
'libacme.so.3 comes with the acme-runtime3 package from the internal apt repository.'
>>> report.top.fixes[0].cell
'!sudo apt-get install -y acme-runtime3'
>>> unregister("acme.runtime")

Rules of thumb: register with ``kinds`` so the rule only sees failures it understands (``None`` also
runs it for pre-flight checks, where ``ctx.failure`` is None); never import the failing module; let an
exception escape only by mistake — the pipeline turns it into a one-line note (and, under the test suite,
``DLLMAGIC_STRICT=1``, into a loud error). The registration is per process: put it in an IPython startup
file, or in the module that loads the extension.
"""
from __future__ import annotations

from typing import Iterable

from .. import fixes
from ..model import Evidence, Finding

__all__ = ["acme_runtime"]


def acme_runtime(ctx) -> Iterable[Finding]:
    """The example rule of this module's docstring (not registered unless you register it)."""
    failure = ctx.failure
    if failure is None or failure.library != "libacme.so.3":
        return
    yield Finding(
        kind=failure.kind, cause="missing-system-library", confidence=0.97,
        summary="libacme.so.3 comes with the acme-runtime3 package from the internal apt repository.",
        evidence=(Evidence("library", failure.library, "the error message"),),
        fixes=(fixes.system_package("apt", ["acme-runtime3"]),),
    )
