"""Installer output (pip, uv, Poetry, conda/mamba, pipenv) as users posted it: real texts of the corpus's
tuned split (tests/data/corpus/threads.jsonl, cited by id), fed to ``explain``.

Each test asserts the kind the wording names, the cause, and the facts of the text the finding rests on
(versions, platforms, the packages that ask for what); no fix made from a pasted text runs anything.
"""
import json
import time
from pathlib import Path

import pytest

from dllmagic.api import explain
from dllmagic.failure import failure_from_text
from dllmagic.model import report_to_dict

THREADS = Path(__file__).resolve().parents[1] / "data" / "corpus" / "threads.jsonl"


def _threads():
    cases = {}
    for line in THREADS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            case = json.loads(line)
            cases[case["id"]] = case
    return cases


CASES = _threads()


def top(case_id, validate_report=None):
    report = explain(CASES[case_id]["error"])
    if validate_report is not None:
        validate_report(report_to_dict(report))
    finding = report.findings[0]
    assert finding.kind == CASES[case_id]["category"], (case_id, finding.kind)
    assert not any(fix.runnable or fix.argv for fix in finding.fixes)
    return report.failure, finding


def facts(finding):
    return {e.fact: e.value for e in finding.evidence}


# -- signatures: the wording alone decides the kind ----------------------------------------------------------
@pytest.mark.parametrize("case_id, signature", [
    ("t534", "pip-package-deprecated-use-other"),       # "The 'sklearn' PyPI package is deprecated, use …"
    ("t535", "pip-package-deprecated-use-other"),       # the same, wrapped inside pip's subprocess box
    ("t537", "uv-no-wheel-for-current-platform"),       # uv sync, with its platform hint
    ("t539", "uv-no-wheel-for-current-platform"),       # without the hint
    ("t541", "uv-no-wheel-for-current-platform"),       # the distribution's name cut off by the paste
    ("t582", "poetry-no-installation-candidates"),      # inside Poetry's "| " box
    ("t584", "poetry-no-installation-candidates"),      # Poetry's RuntimeError with its code excerpt
    ("t583", "poetry-wheel-not-supported"),             # only the verbose "Skipping wheel" lines
    ("t542", "conda-packages-not-found"),               # the list of packages cut off
    ("t313", "mamba-nothing-provides"),                 # labelled a resolution conflict: mamba's solver report
    ("t317", "mamba-nothing-provides"),
    ("t400", "conda-unsatisfiable"),                    # conda 4.0's "Unsatisfiable package specifications"
    ("t352", "pipenv-no-version-matches-all"),
    ("t467", "pipenv-no-version-matches-all"),
    ("t470", "pip-resolution-impossible"),              # pip's sentence wrapped by pipenv's log
    ("t436", "poetry-python-requirement-incompatible"),
    ("t438", "poetry-incompatible-constraints"),
    ("t347", "uv-no-solution"),                         # a missing name another package depends on
    ("t044", "uv-no-versions"),                         # a missing name asked for directly
    ("t330", "pip-requirement-not-satisfied-by-installed"),   # pip 10: "but you'll have …"
    ("t414", "required-for-normal-functioning"),        # quoted in backticks
    ("t415", "required-for-normal-functioning"),        # followed by more text on its line
])
def test_installer_wordings_are_recognised(case_id, signature, validate_report):
    failure, finding = top(case_id, validate_report)
    assert failure.signature == signature


def test_a_missing_name_is_a_conflict_only_when_another_package_asks_for_it():
    direct = "  x No solution found when resolving dependencies:\n  `-> Because foo-bar was not found in the " \
             "package registry and you require foo-bar==1.0, we can conclude that your requirements are unsatisfiable."
    assert failure_from_text(direct).kind == "no-compatible-release"
    # t347: world-model-lens[docs] depends on the missing name.
    assert failure_from_text(CASES["t347"]["error"]).kind == "resolution-conflict"


# -- rules: the facts of the text decide the story --------------------------------------------------------------
def test_retired_name_names_its_replacement():
    _, finding = top("t534")
    assert finding.cause == "package-removed"
    assert any("%pip install scikit-learn" in fix.cell for fix in finding.fixes)


def test_build_log_prefixes_do_not_hide_the_removal_message():
    # t530: a Docker build log, "70.48   " before every line.
    _, finding = top("t530")
    assert finding.cause == "package-removed" and "tensorflow" in facts(finding).values()


def test_uv_platform_hint_names_this_platform_and_the_ones_with_wheels(validate_report):
    _, finding = top("t538", validate_report)
    assert finding.cause == "no-release-for-platform"
    assert "macosx_15_0_x86_64" in finding.summary and "mjml-python 1.3.5" in finding.summary
    assert "macosx_11_0_arm64" in facts(finding)["platforms with a wheel of mjml-python 1.3.5"]
    assert any("required-environments" in fix.cell for fix in finding.fixes)


def test_a_refused_wheel_file_says_what_its_tags_need_and_what_the_text_cannot_decide(validate_report):
    # t083: a 64-bit Windows wheel refused (the thread: a 32-bit Python); the text alone names no Python.
    _, finding = top("t083", validate_report)
    assert finding.cause == "no-release-for-platform"
    assert facts(finding)["the wheel's tags"] == "Python cp311, ABI none, platform win_amd64"
    assert "CPython 3.11" in finding.summary and "Not checked" in finding.summary
    assert "32-bit Python refuses a 64-bit wheel" in finding.summary
    assert "No release of" not in finding.summary
    assert 'pip install "pydantic_core==2.20.1"' in finding.fixes[0].cell
    # t3337: a local CUDA build (+cu117) is no file of PyPI's: no install by name, no PyTorch index advice.
    _, finding = top("t3337", validate_report)
    assert "CPython 3.10" in finding.summary and "linux_x86_64" in finding.summary
    assert "pip install" not in finding.fixes[0].cell
    assert not any("download.pytorch.org" in fix.cell for fix in finding.fixes)
    # A wheel for any platform (py3-none-any) has no word size to blame.
    finding = explain("ERROR: tool-1.0-py3-none-any.whl is not a supported wheel on this platform.\n").findings[0]
    assert "any Python 3 on any platform" in finding.summary and "32-bit" not in finding.summary


def test_poetry_skipped_wheels_show_their_tags():
    _, finding = top("t583")
    found = facts(finding)
    assert found["wheels skipped as not supported here"] == "8"
    assert "macosx_11_0_arm64" in found["their platforms"] and found["their Python tags"] == "cp310, cp311"
    assert "No release of torch" not in finding.summary or "torch-2.3.0" not in finding.summary


def test_conda_python_specs_give_the_python_to_create(validate_report):
    # t398 (relabelled no-compatible-release: dlib has no build for the environment's Python 3.6).
    _, finding = top("t398", validate_report)
    assert finding.cause == "no-release-for-platform"
    assert "no build for Python 3.6" in finding.summary
    assert "python=3.5 dlib" in finding.fixes[0].cell
    _, finding = top("t399")
    assert "python=3.7 mysql-connector-python" in finding.fixes[0].cell


def test_exported_build_strings_are_the_story(validate_report):
    # t544: a quoted reply ("> " before every line) with conda's list of exact builds from osx-64.
    _, finding = top("t544", validate_report)
    assert "exact conda builds" in finding.summary
    assert facts(finding)["platform solved for"] == "osx-arm64"
    assert "--from-history" in finding.fixes[0].cell
    # t315: mamba's report of the same, with a package that needs Windows.
    _, finding = top("t315")
    assert "exact conda builds" in finding.summary
    assert facts(finding)["needs the virtual package __win"].startswith("win_inet_pton")


def test_a_32_bit_python_banner_is_the_cause():
    # t589: the interpreter's banner says "32 bit (Intel)"; pip saw no torch at all.
    _, finding = top("t589")
    assert finding.cause == "python-32-bit"
    assert "64-bit" in finding.fixes[0].title


def test_two_asks_on_one_package_are_named_side_by_side():
    _, finding = top("t043")      # uv
    assert finding.summary.startswith("magika==0.6.2 needs numpy>=2.1.0, but you require numpy==1.26.4")
    _, finding = top("t352")      # pipenv
    assert "vine ==1.3.0 and ==5.0.0" in finding.summary


def test_a_project_python_range_wider_than_a_dependency_is_narrowed_to_the_overlap():
    _, finding = top("t436")      # Poetry
    assert 'python = ">=3.11,<3.13"' in finding.fixes[0].cell
    _, finding = top("t349")      # uv
    assert 'requires-python = ">=3.10"' in finding.fixes[0].cell


def test_mamba_nothing_provides_names_what_is_missing():
    _, finding = top("t313")
    assert "provides quarto" in finding.summary
    _, finding = top("t317")
    assert "which python-2.7.15-h9bab390_2 needs" in finding.summary


def test_installer_rules_stay_fast_on_large_adversarial_output():
    head = "No solution found when resolving dependencies\nLibMambaUnsatisfiableError\n"
    shapes = ["a depends on " * 40_000, "  - nothing provides requested " * 20_000, "you require " * 40_000,
              "  - a==1=b_1\n" * 40_000, "Skipping wheel a-1-cp3-cp3-x.whl as this is not supported " * 8_000,
              "- a requires Python " * 20_000]
    for shape in shapes:
        started = time.perf_counter()
        report = explain(head + shape)
        assert report.findings[0].kind == "resolution-conflict"
        assert time.perf_counter() - started < 10, shape[:30]


# -- wordings of the installers with no case in the tuned split yet (written after the installers' messages) ------
@pytest.mark.parametrize("text, kind, signature", [
    ("  × No solution found when resolving dependencies:\n  ╰─▶ Because there is no version of foo==9.9 and you "
     "require foo==9.9, we can conclude that your requirements are unsatisfiable.",
     "no-compatible-release", "uv-no-versions"),
    ("Solving environment: failed\n\nResolvePackageNotFound: \n  - vc==14.1=h0510ff6_4\n  - libgcc-ng=9.3.0=h5101ec6_17\n",
     "no-compatible-release", "conda-resolve-package-not-found"),
    ("Could not find a matching version of package torchvision", "no-compatible-release",
     "poetry-no-matching-version-of-package"),
    ("Warning: Your dependencies could not be resolved. You likely have a mismatch in your sub-dependencies.\n"
     "Could not find a version that matches foo==99\nTried: 1.0, 1.1\n", "no-compatible-release",
     "pipenv-no-version-matches"),
    ("Could not find a version that matches vine==1.3.0,==5.0.0\nThere are incompatible versions in the resolved "
     "dependencies.", "resolution-conflict", "pipenv-no-version-matches-all"),
    ("  Could not find any downloads that satisfy the requirement tensorflow\nCleaning up...\n"
     "No distributions at all found for tensorflow", "no-compatible-release", "pip-legacy-no-downloads"),
    ("Error: No packages found in current linux-64 channels matching: pymc3\n", "no-compatible-release",
     "conda-legacy-packages-missing"),
    ("PackageNotFoundError: Package missing in current osx-64 channels: \n  - tensorflow 1.0*\n",
     "no-compatible-release", "conda-legacy-packages-missing"),
])
def test_more_installer_wordings(text, kind, signature):
    failure = failure_from_text(text)
    assert (failure.kind, failure.signature) == (kind, signature)


def test_pips_ignored_releases_name_the_python_they_need():
    text = ("ERROR: Ignored the following versions that require a different python version: 1.25.0 Requires-Python "
            ">=3.9; 1.26.0 Requires-Python <3.13,>=3.9\n"
            "ERROR: Could not find a version that satisfies the requirement numpy==1.25.0 (from versions: 1.24.3, 1.24.4)\n"
            "ERROR: No matching distribution found for numpy==1.25.0")
    finding = explain(text).findings[0]
    assert finding.summary.startswith("numpy 1.25.0 requires Python >=3.9")
    assert '%pip install "numpy==1.24.4"' in finding.fixes[0].cell
    text = ("ERROR: Ignored the following versions that require a different python version: 0.1 Requires-Python >=3.12;"
            " 0.2 Requires-Python >=3.12\nERROR: Could not find a version that satisfies the requirement newpkg "
            "(from versions: none)\nERROR: No matching distribution found for newpkg")
    finding = explain(text).findings[0]
    assert "requires Python >=3.12" in finding.summary and "Python in >=3.12" in finding.fixes[0].cell


def test_requires_a_different_python_names_the_pip_that_ran():
    # t104: pip of Python 2.7 ran although Python 3.8 was installed beside it.
    _, finding = top("t104")
    assert "the pip that ran belongs to Python 2.7.14" in finding.summary and ">=3.4.2" in finding.summary
    assert "python3 -m pip install aiohttp" in finding.fixes[0].cell


def test_only_placeholder_releases_are_no_release_at_all():
    # t590: pip sees only torch's 0.1.2 sdists, older than any release with wheels: never "pip can install 0.1.2".
    _, finding = top("t590")
    assert "pip can install" not in finding.summary
    assert facts(finding)["only releases older than any with wheels"].startswith("0.1.2")
    assert any("32-bit Python" in fix.cell for fix in finding.fixes)


def test_pips_conflict_list_reads_every_line():
    # t329: the first conflict line ends in trailing spaces (pasted from a terminal).
    _, finding = top("t329")
    assert finding.summary.startswith("crackmapexec 5.2.2 requires impacket<0.10.0,>=0.9.23, but impacket 0.10.0")
    # t415: transformers' check followed by "Try: pip install transformers -U" without backticks names who asks.
    _, finding = top("t415")
    assert finding.summary.startswith("transformers requires tokenizers>=0.11.1,!=0.11.3,<0.14")


def test_a_dependency_pip_says_is_not_installed():
    # The line of t325's list, alone (written after pip's check.py wording).
    text = ("ERROR: pip's dependency resolver does not currently take into account all the packages that are "
            "installed. This behaviour is the source of the following dependency conflicts.\n"
            "spyder 5.2.2 requires pyqtwebengine<5.13, which is not installed.")
    report = explain(text)
    finding = report.findings[0]
    assert (report.failure.signature, finding.cause) == ("pip-requirement-not-installed", "version-pin-conflict")
    assert "pyqtwebengine is not installed (pip says so)" in finding.summary


def test_conda_names_the_platform_it_has_no_build_for():
    # t111: conda's "Platform: osx-arm64" and the package it lacks there; Intel builds under Rosetta are offered.
    _, finding = top("t111")
    assert finding.summary == "The channels searched have no build of bit for osx-arm64."
    assert any("CONDA_SUBDIR=osx-64" in fix.cell for fix in finding.fixes)
    assert not any("pypi.org/project" in fix.cell for fix in finding.fixes)
    # t112: CUDA packages on a Mac: no CUDA builds exist there, and pip is no way out.
    _, finding = top("t112")
    assert "macOS has no CUDA builds" in finding.summary
    assert not any("pip" in fix.title for fix in finding.fixes)


def test_a_name_missing_from_the_index_is_said_so():
    # t044: uv: "install was not found in the package registry and you require install==1.3.5".
    _, finding = top("t044")
    assert finding.summary.startswith("No package named install is on the package index")
    assert "pypi.org/search/?q=install" in finding.fixes[0].cell


def test_poetry_counts_the_wheels_it_skipped():
    # t582: "24 candidate(s) were identified … 24 wheel(s) were skipped as your project's environment does not
    # support the identified abi tags", inside Poetry's "| " box.
    _, finding = top("t582")
    assert finding.summary.startswith("Poetry found 24 files of torch 2.7.1, and none fits this environment")
    assert facts(finding)["wheels skipped"].startswith("24 of 24")


def test_a_failed_build_of_a_retired_name_is_the_retired_name():
    # t532: pip built tensorflow-gpu 2.12.0 (the retired name's placeholder) and the text is cut before its message.
    failure, finding = top("t532")
    assert (failure.signature, finding.cause) == ("installer-build-failed", "package-removed")
    assert "%pip install tensorflow" in finding.fixes[0].cell
    # The same build of a release from before the name was retired is a real build that failed: no story of removal.
    text = CASES["t532"]["error"].replace("2.12.0", "2.10.0")
    finding = explain(text).findings[0]
    assert (finding.kind, finding.cause) == ("no-compatible-release", "no-release-for-platform")
    assert finding.confidence <= 0.5 and "built it from source" in finding.summary


def test_a_build_failure_never_outranks_a_wording_that_says_more():
    # t535: the retired name's own message wins over pip's "did not run successfully" around it.
    failure, finding = top("t535")
    assert failure.signature == "pip-package-deprecated-use-other" and finding.cause == "package-removed"


def test_what_the_resolver_says_decides_the_conflict_story():
    # t435: Poetry's "example depends on opencv-python (4.5.5.62) which depends on numpy (>=1.21.2)" and
    # "example depends on numpy (1.19.5)".
    _, finding = top("t435")
    assert finding.summary.startswith("opencv-python 4.5.5.62 needs numpy >=1.21.2, but your project (example) "
                                      "needs numpy 1.19.5")
    # t320: pip: "The user requested PyYAML==6.0.1" and "… PyYAML==6.0.2": one package pinned twice.
    _, finding = top("t320")
    assert "pyyaml is pinned twice" in finding.summary and finding.fixes[0].title == "Keep one pin of pyyaml"
    # t324: every dgb release pip tried depends on numpy==1.23.4, which it cannot install.
    _, finding = top("t324")
    assert finding.summary.startswith("Every release of dgb the resolver tried (2) depends on numpy==1.23.4")


def test_uv_names_the_dependency_missing_from_the_index_and_who_needs_it():
    # t347: "Because sphinx-ext-napoleon was not found in the package registry and world-model-lens[docs] depends on
    # sphinx-ext-napoleon"; t345: "there is no version of miniupnpc==2.0.2 and rotkehlchen==… depends on it".
    _, finding = top("t347")
    assert finding.summary.startswith("world-model-lens[docs] depends on sphinx-ext-napoleon, which is not on the "
                                      "package index")
    _, finding = top("t345")
    assert "depends on miniupnpc==2.0.2, which is not on the package index uv searched (no such release there)" \
        in finding.summary
