"""Ground truth beside the model: ld.so's own trace of a real import, parsed, compared, made evidence."""
from __future__ import annotations

import shutil
import subprocess
import sysconfig

import pytest

from native_oracles import CLEAN_ENV
from dllmagic.diagnosis import Context
from dllmagic.diagnosis import native_truth
from dllmagic.facts.interpreter import run_probe
from dllmagic.facts.native import ldtrace
from dllmagic.facts.system import System
from dllmagic.model import Failure


@pytest.fixture(scope="module")
def broken_site(wheel_env, tmp_path_factory):
    """Pillow with the libjpeg its _imaging needs deleted, and that library kept aside."""
    site = tmp_path_factory.mktemp("ldtrace-broken")
    shutil.copytree(wheel_env["site"] / "PIL", site / "PIL")
    shutil.copytree(wheel_env["site"] / "pillow.libs", site / "pillow.libs")
    (victim,) = list((site / "pillow.libs").glob("libjpeg-*.so*"))
    aside = tmp_path_factory.mktemp("ldtrace-aside")
    shutil.move(str(victim), str(aside / victim.name))
    (imaging,) = list((site / "PIL").glob("_imaging.cpython-*.so"))
    return {"site": site, "victim": victim.name, "aside": aside, "imaging": imaging}


def child_sys_path(python, site):
    probe = run_probe(str(python), env=CLEAN_ENV)
    return [str(site)] + [p for p in probe.facts["sys_path"] if p and "site-packages" not in p]


def live(environ):
    return System.current().replace(environ=dict(environ))


def test_parse_trace_of_a_healthy_and_a_failing_import(wheel_env, broken_site):
    python = wheel_env["python"]
    ok = ldtrace.trace_import(str(python), "PIL._imaging",
                              sys_path=child_sys_path(python, wheel_env["site"]), env=CLEAN_ENV)
    assert ok.ok and ok.error is None and ok.loaded_before
    (imaging,) = [d for d in ok.dlopens if d.path.endswith(broken_site["imaging"].name)]
    assert not imaging.failed and imaging.searches
    assert all(s.found for s in imaging.searches)
    assert any(v.version.startswith("GLIBC_") for v in imaging.versions)
    assert any(src.startswith(("RPATH", "RUNPATH")) for s in imaging.searches for _p, src in s.search_lists)

    bad = ldtrace.trace_import(str(python), "PIL._imaging",
                               sys_path=child_sys_path(python, broken_site["site"]), env=CLEAN_ENV)
    assert not bad.ok and broken_site["victim"] in bad.error
    failing = [d for d in bad.dlopens if d.failed]
    assert failing and failing[-1].path == str(broken_site["imaging"])
    assert failing[-1].searches[-1].name == broken_site["victim"]
    assert failing[-1].searches[-1].found is None
    # The emulation, replayed with what the child had loaded, reaches the same verdict.
    comparison = ldtrace.compare(bad, live(CLEAN_ENV), python_executable=str(python))
    assert comparison.agrees, comparison.disagreements
    target = comparison.for_file(str(broken_site["imaging"]))
    assert {p.name for p in target.emulated_problems if p.kind == "missing-library"} == {broken_site["victim"]}


def test_a_disagreement_is_reported_not_hidden(wheel_env, broken_site):
    # ld.so runs with LD_LIBRARY_PATH pointing at the library kept aside; the emulation is told nothing
    # of it: the two verdicts differ and the comparison says where.
    python = wheel_env["python"]
    env = dict(CLEAN_ENV, LD_LIBRARY_PATH=str(broken_site["aside"]))
    trace = ldtrace.trace_import(str(python), "PIL._imaging",
                                 sys_path=child_sys_path(python, broken_site["site"]), env=env)
    assert trace.ok
    comparison = ldtrace.compare(trace, live(CLEAN_ENV), python_executable=str(python))
    assert not comparison.agrees
    assert any(broken_site["victim"] in d for d in comparison.disagreements), comparison.disagreements


def _context(python, site, imaging, victim, environ):
    from dllmagic.facts.interpreter import interpreter_from_facts

    probe = run_probe(str(python), env=CLEAN_ENV)
    interp = interpreter_from_facts(probe.facts, source="test")
    failure = Failure(kind="missing-shared-library", exc_type="ImportError",
                      message=f"{victim}: cannot open shared object file: No such file or directory",
                      module="PIL._imaging", extension=str(imaging), library=victim,
                      required_by=str(imaging))
    ctx = Context(target="PIL._imaging", failure=failure, system=live(environ), interpreter=interp,
                  sys_path=tuple(child_sys_path(python, site)))
    ctx.cache["on_demand"] = True  # as api.check sets it: the traced import runs only on demand
    return ctx


def test_rule_attaches_the_loaders_verdict_as_evidence(wheel_env, broken_site):
    ctx = _context(wheel_env["python"], broken_site["site"], broken_site["imaging"], broken_site["victim"],
                   CLEAN_ENV)
    truth = native_truth.native_ground_truth(ctx)
    assert ctx.cache[native_truth.CACHE_KEY] is truth
    assert truth.agrees is True and broken_site["victim"] in truth.child_error
    facts = {e.fact: e.value for e in truth.evidence}
    assert broken_site["victim"] in facts["the loader's own verdict (LD_DEBUG)"]
    assert "emulation and ld.so agree" in facts
    # A trace that confirms the failure is no finding of its own: it supports the top finding.
    assert list(native_truth.loader_verdict(ctx)) == []
    assert ctx.supporting == list(truth.evidence)
    assert not [n for n in ctx.notes if "disagrees" in n]


def test_the_loaders_verdict_lands_in_the_top_finding_of_a_report(wheel_env, broken_site):
    from dllmagic.diagnosis import run_rules

    ctx = _context(wheel_env["python"], broken_site["site"], broken_site["imaging"], broken_site["victim"],
                   CLEAN_ENV)
    findings = run_rules(ctx)
    assert findings[0].cause in ("missing-vendored-library", "library-not-found", "missing-system-library")
    facts = [e.fact for e in findings[0].evidence]
    assert "the loader's own verdict (LD_DEBUG)" in facts
    assert sum(f.cause == "library-not-found" and f.confidence == 0.5 for f in findings) == 0


def test_rule_notes_a_disagreement(wheel_env, broken_site, monkeypatch):
    ctx = _context(wheel_env["python"], broken_site["site"], broken_site["imaging"], broken_site["victim"],
                   CLEAN_ENV)
    real = ldtrace.trace_import

    def with_aside(python, module, **kw):  # the child sees a library the model's environment does not
        kw["env"] = dict(kw["env"], LD_LIBRARY_PATH=str(broken_site["aside"]))
        return real(python, module, **kw)

    monkeypatch.setattr(ldtrace, "trace_import", with_aside)
    truth = native_truth.native_ground_truth(ctx)
    assert truth.agrees is False and truth.disagreements
    assert any("disagrees with ld.so" in n for n in ctx.notes)
    assert any(e.fact == "emulation and ld.so disagree" for e in truth.evidence)


def test_rule_stays_out_where_no_trace_can_be_had(wheel_env, broken_site):
    ctx = _context(wheel_env["python"], broken_site["site"], broken_site["imaging"], broken_site["victim"],
                   CLEAN_ENV)
    ctx.system = ctx.system.replace(live=False)
    assert native_truth.native_ground_truth(ctx) is None
    assert list(native_truth.loader_verdict(ctx)) == []
    ctx2 = _context(wheel_env["python"], broken_site["site"], broken_site["imaging"], broken_site["victim"],
                    CLEAN_ENV)
    ctx2.interpreter = None
    assert native_truth.native_ground_truth(ctx2) is None


def test_rule_module_is_registered():
    from dllmagic import diagnosis

    assert ".native_truth" in diagnosis.BUILTIN_RULE_MODULES
