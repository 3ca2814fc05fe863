"""Import-system rules working from a pasted text alone: real texts from tests/data/corpus/threads.jsonl
(tuned split; each test cites its id), fed to ``explain``.

module-not-found (pip's PEP 668 refusal, 'X is not a package', a dotted name Python reports missing),
cannot-import-name (a partially initialised module without its path; a name a Python release removed from
the standard library), python-abi-mismatch (a .pyc of another Python).  No fix made from a pasted text
runs anything.
"""
import json
from pathlib import Path

import pytest

from dllmagic.api import explain
from dllmagic.failure import key_facts
from dllmagic.model import report_to_dict

THREADS = Path(__file__).resolve().parents[1] / "data" / "corpus" / "threads.jsonl"
CASES = {c["id"]: c for c in map(json.loads, filter(str.strip, THREADS.read_text(encoding="utf-8").splitlines()))}

#: corpus id (tuned split) → (kind, cause) of the top finding.
EXPECTED = {
    "t293": ("module-not-found", "externally-managed"),      # Kali: pip's PEP 668 refusal
    "t296": ("module-not-found", "externally-managed"),      # Homebrew's wording of the marker
    "t297": ("module-not-found", "externally-managed"),      # every line prefixed by an installer's log
    "t422": ("module-not-found", "shadowed-by-local-file"),  # 'http' is not a package (stdlib hidden)
    "t423": ("module-not-found", "shadowed-by-local-file"),  # mlx.py imports mlx.core
    "t299": ("module-not-found", "submodule-not-found"),
    "t300": ("module-not-found", "submodule-not-found"),
    "t1040": ("module-not-found", "shadowed-by-local-file"),  # run from the checkout …/neural_renderer/neural_renderer
    "t037": ("cannot-import-name", "shadowed-by-local-file"),  # rockstar.py, path cut off
    "t042": ("cannot-import-name", "shadowed-by-local-file"),
    "t429": ("cannot-import-name", "circular-import"),          # 'from .. import VERSION' inside the package
    "t425": ("cannot-import-name", "circular-import"),          # the package's own __init__ in the frames
    "t387": ("cannot-import-name", "name-not-in-installed-version"),  # collections.Mapping, Python 3.10
    "t389": ("cannot-import-name", "name-not-in-installed-version"),
    "t1880": ("cannot-import-name", "name-not-in-installed-version"),  # ...\Python310\lib\collections: the stdlib
    "t1923": ("cannot-import-name", "name-not-in-installed-version"),  # ...\anaconda3\lib\collections, no shadow
    "t2741": ("cannot-import-name", "name-not-in-installed-version"),  # typing.Literal on Python 3.7
    "t2817": ("cannot-import-name", "name-not-in-installed-version"),  # typing.Self on Homebrew's 3.10
    "t2820": ("cannot-import-name", "name-not-in-installed-version"),  # typing.ParamSpec on uv's 3.9
}


def _top(text):
    report = explain(text)
    assert report.findings, text
    return report, report.findings[0]


@pytest.mark.parametrize("case_id", sorted(EXPECTED))
def test_top_cause_of_a_real_text(case_id, validate_report):
    report, top = _top(CASES[case_id]["error"])
    validate_report(report_to_dict(report))
    assert (top.kind, top.cause) == EXPECTED[case_id], top.summary
    assert top.kind == CASES[case_id]["category"]
    assert top.evidence and top.fixes
    assert not any(fix.runnable or fix.argv for fix in top.fixes)
    assert "''" not in top.summary and " None" not in top.summary   # never a template with an empty name


def test_pep668_names_the_package_manager_and_offers_a_venv_never_the_override():
    _, top = _top(CASES["t296"]["error"])                   # Homebrew
    assert any(e.value == "brew" for e in top.evidence)
    fix_text = " ".join(f.title + " " + f.cell for f in top.fixes)
    assert "venv" in fix_text and "--break-system-packages" not in fix_text


def test_not_a_package_names_the_shadowing_file_from_the_traceback():
    _, top = _top(CASES["t423"]["error"])
    assert "/Users/cc/Documents/uvm/mlx.py" in top.summary


def test_a_dotted_name_under_a_shared_namespace_is_a_missing_distribution_not_a_submodule():
    # google.cloud is shared by many distributions: the missing part is one of them.
    _, top = _top("ModuleNotFoundError: No module named 'google.cloud.spanner'")
    assert top.cause == "not-installed"
    assert "namespace" in top.summary
    # one the import-name table knows is named precisely
    _, top = _top("ModuleNotFoundError: No module named 'google.cloud.storage'")
    assert top.cause == "not-installed" and "distribution google-cloud-storage" in top.summary
    # under a regular package the parent was imported, so the submodule is what is missing
    _, top = _top("ModuleNotFoundError: No module named 'sklearn.externals.joblib'")
    assert top.cause == "submodule-not-found" and "'sklearn.externals' was imported" in top.summary


def test_partially_initialised_in_a_file_of_the_users_in_the_frames_is_that_file():
    text = ('Traceback (most recent call last):\n  File "/home/ana/work/tabulate.py", line 1, in <module>\n'
            '    from tabulate import tabulate\n'
            "ImportError: cannot import name 'tabulate' from partially initialized module 'tabulate' "
            "(most likely due to a circular import)")
    _, top = _top(text)
    assert top.cause == "shadowed-by-local-file" and "/home/ana/work/tabulate.py" in top.summary


def test_a_partially_initialised_message_wrapped_before_module_is_read():
    # t426: the message wrapped by the web page after "partially initialized", a wrapper error chained after.
    report = explain(CASES["t426"]["error"])
    assert report.top.kind == "cannot-import-name"
    assert key_facts(report.failure)["failing_module"] == "fastmcp.tools.function_tool"


def test_a_removed_stdlib_name_on_an_older_python_is_not_blamed_on_the_removal():
    text = ("ImportError: cannot import name 'Mapping' from 'collections' "
            "(/usr/lib/python{}/collections/__init__.py)")
    assert _top(text.format("3.10"))[1].cause == "name-not-in-installed-version"
    assert "collections.abc" in _top(text.format("3.12"))[1].summary
    assert _top(text.format("3.9"))[1].cause != "name-not-in-installed-version"


def test_a_pyc_of_another_python_is_named_by_its_magic_number(validate_report):
    # t460: a repository that shipped only .pyc files compiled by Python 3.8.
    report, top = _top(CASES["t460"]["error"])
    validate_report(report_to_dict(report))
    assert (top.kind, top.cause) == ("python-abi-mismatch", "built-for-other-python")
    assert "Python 3.8" in top.summary
    assert key_facts(report.failure)["failing_module"] == "get_byteplot_image"
    assert not any(fix.runnable for fix in top.fixes)
    # a magic number no table row knows still gives the cause, without a version
    _, top = _top("ImportError: bad magic number in 'mod': b'\\x00\\x00\\r\\n'")
    assert top.cause == "built-for-other-python" and "another Python" in top.summary


@pytest.mark.parametrize("case_id, module", [
    ("t601", "torch"),       # faulthandler's dump: the innermost module being executed, in site-packages
    ("t568", "pypowsybl"),   # the import the user showed, then "Windows fatal exception: access violation"
])
def test_a_crash_names_the_module_being_imported(case_id, module):
    report = explain(CASES[case_id]["error"])
    assert report.top.kind == "import-crashed"
    assert key_facts(report.failure)["failing_module"] == module


def test_the_path_after_a_message_moved_to_its_own_line_by_a_renderer_is_read():
    # t309: rich's traceback puts "(…/google/protobuf/internal/__init__.py)" on the line after the message.
    report = explain(CASES["t309"]["error"])
    assert key_facts(report.failure)["found_path"] == \
        "/usr/local/lib/python3.9/dist-packages/google/protobuf/internal/__init__.py"


def _run(folder: Path, files: dict, script: str) -> str:
    """Write ``files`` into ``folder`` and run ``script`` there with this Python: its real stderr."""
    import subprocess
    import sys

    for name, source in files.items():
        (folder / name).write_text(source)
    done = subprocess.run([sys.executable, "-E", "-s", script], cwd=folder, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    return done.stderr


def test_a_cycle_among_the_users_own_modules_is_circular_not_shadowing(tmp_path):
    # main.py -> app.py -> models.py -> "from app import x": Python's own traceback, with the path and cut.
    text = _run(tmp_path, {"main.py": "from app import create\n",
                           "app.py": "from models import db\ndef create(): pass\nx = 1\n",
                           "models.py": "from app import x\ndb = 1\n"}, "main.py")
    assert "partially initialized module 'app'" in text
    _, top = _top(text)
    assert top.cause == "circular-import" and any(e.value.endswith("models.py") for e in top.evidence)
    cut = text.rstrip().rsplit(" (", 1)[0]            # the path after the message cut off when pasted
    assert _top(cut)[1].cause == "circular-import"


def test_a_script_that_imports_itself_is_shadowing_with_or_without_the_path(tmp_path):
    # The real shape of c100 / t038: a script named like the package it imports.
    text = _run(tmp_path, {"rockstar.py": "from rockstar import RockStar\n"}, "rockstar.py")
    _, top = _top(text)
    assert top.cause == "shadowed-by-local-file"
    cut = text.rstrip().rsplit(" (", 1)[0]
    _, top = _top(cut)
    assert top.cause == "shadowed-by-local-file" and str(tmp_path / "rockstar.py") in top.summary


def test_pip_saying_already_installed_then_no_module_is_another_environment(tmp_path):
    # Real output of both tools, pasted together: pip of this environment says pytest is installed; a Python
    # that does not read this site-packages (-S) cannot import it.
    import subprocess
    import sys

    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--disable-pip-version-check",
                          "pytest"], capture_output=True, text=True, timeout=120)
    assert "Requirement already satisfied: pytest in " in pip.stdout
    run = subprocess.run([sys.executable, "-S", "-c", "import pytest"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=60)
    report, top = _top(pip.stdout + "\n" + run.stderr)
    assert (top.kind, top.cause) == ("module-not-found", "installed-in-other-environment")
    assert any(e.fact.startswith("pip: pytest already installed in") for e in top.evidence)
    assert not any(fix.runnable for fix in top.fixes)
    # without pip's statement the same error stays "not installed"
    assert _top(run.stderr)[1].cause == "not-installed"


def test_a_shells_crash_line_is_a_crash_and_names_the_module_of_its_command(tmp_path):
    # Real: bash reporting a Python that aborted (no core file: no "(core dumped)").
    import subprocess
    import sys

    done = subprocess.run(["bash", "-c", f'"{sys.executable}" -c "import os; os.abort()"; true'],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert "Aborted" in done.stderr
    assert explain(done.stderr).top.kind == "import-crashed"
    # the wordings of macOS's shell and of zsh, which this machine has not got
    for text, module in (("Abort trap: 6", None),
                         ('zsh: abort      python -c "import torch"', "torch"),
                         ("zsh: bus error  python -c 'from cv2 import imread'", "cv2")):
        report = explain(text)
        assert report.top.kind == "import-crashed", text
        assert key_facts(report.failure).get("failing_module") == module, text


def test_a_python_that_cannot_find_its_standard_library(tmp_path):
    # t359: "Fatal Python error: init_fs_encoding … No module named 'encodings'" (tuned split).
    report, top = _top(CASES["t359"]["error"])
    assert (top.kind, top.cause) == ("module-not-found", "stdlib-not-found")
    assert "PYTHONHOME" in top.summary and not any(f.runnable for f in top.fixes)
    # Real: this Python started with PYTHONHOME pointing at an empty folder.
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONHOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", "pass"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "encodings" in done.stderr
    assert _top(done.stderr)[1].cause == "stdlib-not-found"


def test_a_stdlib_module_of_a_later_python_offers_its_backport_never_a_guessed_name():
    report, top = _top("Traceback (most recent call last):\n  File \"/srv/app/config.py\", line 2, in <module>\n"
                       "    import tomllib\nModuleNotFoundError: No module named 'tomllib'")
    assert (top.kind, top.cause) == ("module-not-found", "not-installed")
    assert "Python 3.11" in top.summary and "tomli" in top.summary
    assert [f.cell for f in top.fixes][0] == "%pip install tomli" and not any(f.runnable for f in top.fixes)
    _, top = _top("ModuleNotFoundError: No module named 'secrets'")     # no backport: only the Python
    assert [f.title for f in top.fixes] == ["Run the code with Python 3.6 or later"]


def test_a_distribution_looked_up_by_name_is_a_distribution_not_an_import_name(tmp_path):
    # Real: importlib.metadata (and pkg_resources, where installed) asked for a distribution nobody installed.
    import subprocess
    import sys

    code = "import importlib.metadata as m; m.version('no-such-dist-for-dllmagic')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    report, top = _top(done.stderr)
    assert (top.kind, top.cause) == ("module-not-found", "not-installed")
    assert key_facts(report.failure)["failing_module"] == "no-such-dist-for-dllmagic"
    assert "distribution no-such-dist-for-dllmagic is not installed" in top.summary   # not "can't be a module"
    report, top = _top("pkg_resources.DistributionNotFound: The 'tqdm>=4.27' distribution was not found and is "
                       "required by transformers")
    assert key_facts(report.failure)["failing_module"] == "tqdm" and report.failure.required_by == "transformers"
    assert "tqdm>=4.27" in top.summary and not any(f.runnable for f in top.fixes)


def test_numpy_too_old_without_a_package_name_renders_no_placeholder():
    # t402: "module compiled against API version 0xc but this version of numpy is 0xa", no package named.
    report, top = _top(CASES["t402"]["error"])
    assert (top.kind, top.cause) == ("numpy-abi-mismatch", "numpy-2-abi")
    for fix in top.fixes:
        assert "An extension module" not in fix.title and not fix.title.endswith(" this"), fix.title


def test_a_crash_names_the_distribution_to_rebuild_not_the_import_name():
    # t612: cv2 crashed on import; the build to change is opencv-python's.
    top = explain(CASES["t612"]["error"]).top
    assert top.kind == "import-crashed"
    assert any("build of opencv-python" in f.cell for f in top.fixes)


def test_a_removed_stdlib_module_on_a_python_that_still_has_it_is_not_the_removal():
    # The text's own paths decide the Python: 3.10 still has distutils (removed in 3.12).
    text = ('Traceback (most recent call last):\n'
            '  File "/home/ana/venv/lib/python{v}/site-packages/numpy/distutils/__init__.py", line 24, in <module>\n'
            '    from distutils.util import strtobool\n'
            "ModuleNotFoundError: No module named 'distutils.util'\n")
    _, top = _top(text.format(v="3.10"))
    assert (top.kind, top.cause) == ("module-not-found", "stdlib-module-missing")
    assert "python3-distutils" in top.summary and "3.10" in top.summary
    assert _top(text.format(v="3.12"))[1].cause == "removed-from-stdlib"
    assert _top("ModuleNotFoundError: No module named 'distutils'")[1].cause == "removed-from-stdlib"


def test_debians_distutils_stub_names_the_split_package():
    text = "ImportError: cannot import name '{}' from 'distutils' (/usr/lib/python3.9/distutils/__init__.py)"
    _, top = _top(text.format("sysconfig"))
    assert (top.kind, top.cause) == ("cannot-import-name", "stdlib-module-missing")
    assert "python3-distutils" in top.summary and "python3.9-distutils" in top.summary
    assert _top(text.format("no_such_name"))[1].cause != "stdlib-module-missing"      # not one of its submodules
    assert _top(text.format("sysconfig").replace("/usr/lib/", "/opt/py/lib/"))[1].cause != "stdlib-module-missing"


def test_a_sourceless_pyc_with_python_38s_magic_number_is_read_from_pythons_own_message(tmp_path):
    # A real .pyc of this Python whose header says Python 3.8 (magic 3413): the real import system's message.
    import importlib.util
    import py_compile
    import subprocess
    import sys

    (tmp_path / "src.py").write_text("x = 1\n")
    pyc = tmp_path / "old_module.pyc"
    py_compile.compile(str(tmp_path / "src.py"), cfile=str(pyc))
    data = pyc.read_bytes()
    assert data[:4] == importlib.util.MAGIC_NUMBER
    pyc.write_bytes((3413).to_bytes(2, "little") + b"\r\n" + data[4:])
    done = subprocess.run([sys.executable, "-c", "import old_module"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert "bad magic number in 'old_module'" in done.stderr
    report, top = _top(done.stderr)
    assert (top.kind, top.cause) == ("python-abi-mismatch", "built-for-other-python")
    assert "Python 3.8" in top.summary and key_facts(report.failure)["failing_module"] == "old_module"


def test_real_python_messages_for_a_shadowing_script_and_a_missing_submodule(tmp_path):
    # The shape of t423, made here: a script named like the package it imports a submodule of.
    text = _run(tmp_path, {"pytest.py": "import pytest.nonexistent\n"}, "pytest.py")
    assert "'pytest' is not a package" in text
    _, top = _top(text)
    assert top.cause == "shadowed-by-local-file" and str(tmp_path / "pytest.py") in top.summary
    (tmp_path / "pytest.py").unlink()
    # The installed package is found, its submodule is not (Python names 'pytest.nonexistent').
    text = _run(tmp_path, {"main.py": "import pytest.nonexistent\n"}, "main.py")
    _, top = _top(text)
    assert top.cause == "submodule-not-found" and "'pytest' was imported" in top.summary


def test_long_runs_of_blank_lines_and_blanks_parse_in_linear_time():
    # The import-line reader once backtracked over blanks (13 s for this text); now it strips them first.
    import time

    texts = ["ImportError: cannot import name 'a' from partially initialized module 'b' (most likely due to a "
             "circular import)\n" + "\n" * 100_000 + " " * 1000 + "\nSegmentation fault",
             "Segmentation fault\n" + ("    " + " " * 4000 + "import\n") * 60]
    for text in texts:
        start = time.perf_counter()
        explain(text)
        assert time.perf_counter() - start < 10, "parsing took too long"


@pytest.mark.parametrize("init,cause", [
    ("C:\\Users\\me\\repos\\mypkg\\src\\mypkg\\__init__.py", "shadowed-by-local-file"),   # src layout
    ("/home/me/code/mypkg/mypkg/__init__.py", "shadowed-by-local-file"),                    # checkout named after it
    ("/home/me/proj/mypkg/__init__.py", "submodule-not-found"),                             # a package of the user's
    ("/home/me/.venv/lib/python3.12/site-packages/mypkg/__init__.py", "submodule-not-found"),   # installed
])
def test_a_submodule_missing_from_a_source_checkout(init, cause):
    text = (f'Traceback (most recent call last):\n  File "{init}", line 2, in <module>\n    from . import _core\n'
            "ModuleNotFoundError: No module named 'mypkg._core'\n")
    top = explain(text).findings[0]
    assert (top.kind, top.cause) == ("module-not-found", cause)
    if cause == "shadowed-by-local-file":
        assert init.rsplit("__init__.py", 1)[0].rstrip("/\\") in top.summary


@pytest.mark.parametrize("path, shadow", [
    ("C:\\Users\\ana\\AppData\\Local\\Programs\\Python\\Python310\\lib\\collections\\__init__.py", False),
    ("C:\\Users\\ana\\anaconda3\\envs\\ml\\lib\\collections\\__init__.py", False),
    ("C:\\Users\\ana\\project\\collections\\__init__.py", True),
])
def test_a_windows_standard_library_path_in_lower_case_is_no_shadow(path, shadow):
    # Python prints the standard library's folder as sys.path has it, often "lib" in lower case on Windows.
    text = f"ImportError: cannot import name 'Mapping' from 'collections' ({path})"
    top = explain(text).findings[0]
    assert (top.cause == "shadowed-by-local-file") is shadow, top.summary


@pytest.mark.parametrize("name,python,expected", [
    ("Literal", "3.7", True), ("Self", "3.10", True), ("ParamSpec", "3.9", True), ("batched", "3.11", True),
    ("Self", "3.11", False),      # the running Python has it: something else hides it
    ("Literal", "3.12", False),
])
def test_a_standard_library_name_newer_than_the_python_that_runs(name, python, expected):
    module = "itertools" if name == "batched" else "typing"
    text = (f"ImportError: cannot import name '{name}' from '{module}' "
            f"(/usr/lib/python{python}/{module}.py)")
    finding = _top(text)[1]
    said = finding.cause == "name-not-in-installed-version" and "added it" in finding.summary
    assert said is expected, finding.summary
    if expected:
        assert f"Python {python} is older" in finding.summary
        assert not any(fix.runnable for fix in finding.fixes)
        assert ("typing_extensions" in " ".join(f.cell for f in finding.fixes)) is (module == "typing")
