"""What the kernel hook remembers between failures is keyed by everything the answer depends on.

A kernel reports many failures: the machine-wide facts that cost most to read again (ld.so.cache parsed,
the default folders compiled into ld.so) are kept for the process, per content of the file they come
from, so that a file changed between two failures (ldconfig run, glibc updated) is read afresh.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from dllmagic.facts.native.loader.ldcache import load_ld_cache, parse_ld_cache
from dllmagic.facts.native.loader.linux import LinuxLoader
from dllmagic.facts.system import System

HOST_CACHE = Path("/etc/ld.so.cache")


@pytest.mark.skipif(not HOST_CACHE.is_file(), reason="no /etc/ld.so.cache on this machine")
def test_ld_cache_is_parsed_once_per_content_and_again_when_it_changes(tmp_path):
    (tmp_path / "etc").mkdir()
    cache_file = tmp_path / "etc" / "ld.so.cache"
    real = HOST_CACHE.read_bytes()
    cache_file.write_bytes(real)
    system = System.model("linux", str(tmp_path))
    first = load_ld_cache(system)
    assert first.entries and first == parse_ld_cache(real)
    assert load_ld_cache(system) is first                     # the same bytes: not parsed again
    # the file rewritten in place: same path, size and time stamps, new content (one entry's path changed)
    before = os.stat(cache_file)
    entry = next(e for e in first.entries if e.path.encode() in real)
    changed = real.replace(entry.path.encode(), entry.path.encode()[:-1] + b"X", 1)
    cache_file.write_bytes(changed)
    os.utime(cache_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    again = load_ld_cache(system)
    assert again is not first and again == parse_ld_cache(changed)
    assert entry.path[:-1] + "X" in {e.path for e in again.entries}


def test_default_folders_read_from_ld_so_follow_its_content(tmp_path):
    interp = "/lib64/ld-linux-x86-64.so.2"
    ld_so = tmp_path / interp.lstrip("/")
    ld_so.parent.mkdir(parents=True)
    system = System.model("linux", str(tmp_path))
    # the string glibc compiles in: NUL-separated folders, each with its trailing slash
    ld_so.write_bytes(b"\x7fELF junk\0/opt/one/lib/\0/opt/two/lib64/\0more junk")
    assert LinuxLoader(system).defaults_for(interp, "x86_64", 64) == (("/opt/one/lib", "/opt/two/lib64"), "glibc")
    assert LinuxLoader(system).defaults_for(interp, "x86_64", 64)[0] == ("/opt/one/lib", "/opt/two/lib64")
    ld_so.write_bytes(b"\x7fELF junk\0/srv/new/lib/\0/srv/new/lib32/\0more junk")    # glibc updated
    assert LinuxLoader(system).defaults_for(interp, "x86_64", 64)[0] == ("/srv/new/lib", "/srv/new/lib32")


# -- the signatures' literal runs, computed ahead -------------------------------------------------------------
def test_signature_literals_file_is_in_step_with_the_signatures():
    import subprocess
    import sys

    script = Path(__file__).resolve().parent.parent / "scripts" / "regenerate_signature_literals.py"
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr + "\nrun scripts/regenerate_signature_literals.py --write"


def test_signature_literals_come_from_the_file_and_unknown_patterns_are_parsed(monkeypatch):
    import importlib

    S = importlib.import_module("dllmagic.failure.signatures")
    sigs = S.signatures()
    table = S._precomputed_literals()
    monkeypatch.setattr(S, "_LITERAL_CACHE", {})
    parsed = []
    real = S.required_literals
    monkeypatch.setattr(S, "required_literals", lambda p, f="": parsed.append(p) or real(p, f))
    for sig in sigs:
        assert sig.literals == table[S.literals_key(sig.pattern, sig.flags)] == real(sig.pattern, sig.flags)
    assert parsed == []                                       # nothing parsed: every pattern was in the file
    # a pattern the file does not know (a signature edited since) is parsed, never given another's literals
    edited = S._Signature(id="edited", kind=None, types=None, pattern=r"libfoo\.so: cannot open shared",
                          flags="", priority=1, live=False)
    assert edited.literals == real(edited.pattern) == (("libfoo.so: cannot open shared",),)
    assert parsed == [edited.pattern]


# -- rule families imported for the failure's kind ------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


def test_rule_index_file_is_in_step_with_the_rules():
    import subprocess
    import sys

    script = ROOT / "scripts" / "regenerate_rule_index.py"
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr + "\nrun scripts/regenerate_rule_index.py --write"


#: In a fresh interpreter: the reports of the corpus texts (explain), kinds interleaved, either with the rule
#: families imported as each report needs them or with every family imported first; and which families the
#: first report (a missing shared library) imported.
_REPORTS = r"""
import json, random, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from dllmagic import diagnosis
from dllmagic.api import explain
from dllmagic.report.jsonview import render_dict
if sys.argv[2] == "all":
    diagnosis._load_builtin_rules()
texts = []
for name in ("public.jsonl", "extra.jsonl"):
    for line in (Path(sys.argv[1]) / "tests" / "data" / "corpus" / name).read_text().splitlines():
        if line.strip():
            texts.append(json.loads(line)["error"])
random.Random(15).shuffle(texts)
first = "libfoo.so.1: cannot open shared object file: No such file or directory"
out = {"reports": [render_dict(explain(first))]}
out["families_after_first"] = sorted(m for m in sys.modules if m.startswith("dllmagic.diagnosis."))
out["reports"] += [render_dict(explain(t)) for t in texts]
print(json.dumps(out))
"""


def test_a_report_imports_the_families_of_its_kind_and_reports_as_with_all_of_them():
    import json
    import subprocess
    import sys

    def reports(mode):
        proc = subprocess.run([sys.executable, "-c", _REPORTS, str(ROOT), mode], capture_output=True, text=True,
                              env=dict(os.environ, DLLMAGIC_STRICT="1"), timeout=600)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    lazy, full = reports("lazy"), reports("all")
    assert lazy["reports"][0]["findings"][0]["kind"] == "missing-shared-library"
    assert len(lazy["reports"]) > 100
    assert lazy["reports"] == full["reports"]        # the same findings, in the same order, for every kind
    imported = set(lazy["families_after_first"])
    assert {"dllmagic.diagnosis.native", "dllmagic.diagnosis.gpu", "dllmagic.diagnosis.crashed"} <= imported
    # families with no rule for a missing library were not imported for it
    assert not {"dllmagic.diagnosis.not_found", "dllmagic.diagnosis.installer", "dllmagic.diagnosis.pins",
                "dllmagic.diagnosis.numpy_abi", "dllmagic.diagnosis.preflight"} & imported
    assert set(full["families_after_first"]) > imported


def test_rules_run_in_the_index_order_whatever_order_the_families_were_imported(monkeypatch):
    from dllmagic import diagnosis

    index = [entry[0] for entry in diagnosis._rule_index()["rules"]]
    diagnosis._load_builtin_rules()
    before = "test_hook_speed.before"
    rules = list(diagnosis._RULES)
    monkeypatch.setattr(diagnosis, "_RULES", list(reversed(rules)))
    ordered = [r.name for r in diagnosis._in_order(diagnosis._RULES)]
    assert [n for n in ordered if n in set(index)] == [n for n in index if n in {r.name for r in rules}]
    # a rule of the caller's registered after the first report runs after the built-in ones
    diagnosis.register(lambda ctx: (), kinds=["module-not-found"], name=before)
    try:
        assert [r.name for r in diagnosis._in_order(diagnosis._RULES)][-1] == before
    finally:
        diagnosis.unregister(before)


def test_run_rules_calls_the_rules_in_the_index_order(monkeypatch):
    from dllmagic import diagnosis
    from dllmagic.api import explain

    diagnosis._load_builtin_rules()
    called = []

    def recording(entry):
        def func(ctx):
            called.append(entry.name)
            return entry.func(ctx)
        return diagnosis._Registered(func, entry.kinds, entry.name)

    monkeypatch.setattr(diagnosis, "_RULES", [recording(r) for r in reversed(diagnosis._RULES)])
    explain("libfoo.so.1: cannot open shared object file: No such file or directory")
    index = [name for name, _module, kinds in diagnosis._rule_index()["rules"]
             if kinds is None or "missing-shared-library" in kinds]
    assert len(called) >= 5 and called == index


def test_the_families_imported_for_a_kind_and_for_a_kind_no_rule_names(monkeypatch):
    from dllmagic import diagnosis

    imported = []
    monkeypatch.setattr(diagnosis, "_BUILTINS_LOADED", False)
    monkeypatch.setattr(diagnosis, "_import_family", imported.append)
    diagnosis._load_builtin_rules("missing-shared-library")
    assert imported == [module for _name, module, kinds in diagnosis._rule_index()["rules"]
                        if kinds is None or "missing-shared-library" in kinds]
    assert not diagnosis._BUILTINS_LOADED
    imported.clear()
    diagnosis._load_builtin_rules("a-kind-added-after-the-index-was-written")   # every family, to be sure
    assert imported == list(diagnosis.BUILTIN_RULE_MODULES) and diagnosis._BUILTINS_LOADED
