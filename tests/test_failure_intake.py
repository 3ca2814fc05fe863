"""The text intake: what people paste (terminal escapes, prompts, wraps, blank lines, CRLF) is read
like the clean traceback, and the names come out whole."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from dllmagic.failure import failure_from_text, key_facts
from dllmagic.failure.intake import normalise, strip_terminal

REPO = Path(__file__).resolve().parents[1]

CLEAN_SO = ("Traceback (most recent call last):\n"
            "  File \"/home/ana/train.py\", line 1, in <module>\n"
            "    import torch\n"
            "  File \"/home/ana/miniconda3/envs/ml/lib/python3.10/site-packages/torch/__init__.py\", line 229, "
            "in <module>\n"
            "    from torch._C import *  # noqa: F403\n"
            "ImportError: /home/ana/miniconda3/envs/ml/lib/python3.10/site-packages/torch/lib/libtorch_cuda.so: "
            "cannot open shared object file: No such file or directory\n")


def facts(text):
    failure = failure_from_text(text)
    assert failure is not None
    return failure.kind, key_facts(failure)


def test_clean_reference():
    kind, f = facts(CLEAN_SO)
    assert kind == "missing-shared-library"
    assert f["missing_library"] == "libtorch_cuda.so"


def _perturbations():
    """bench/perturbations.py: the paste forms the corpus bench applies (a terminal's hard wrap among them)."""
    spec = importlib.util.spec_from_file_location("perturbations", REPO / "bench" / "perturbations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hard_wrap = _perturbations().wrap


@pytest.mark.parametrize("width", [80, 100, 120])
def test_lines_wrapped_by_a_terminal_are_joined(width):
    wrapped = hard_wrap(CLEAN_SO, width)
    assert wrapped != CLEAN_SO
    assert facts(wrapped) == facts(CLEAN_SO)


def _wrap_at(text: str, width: int) -> str:
    return "\n".join(line[i:i + width] for line in text.split("\n") for i in range(0, max(len(line), 1), width))


def test_a_wide_terminal_is_read_from_the_text():
    # A terminal of an unusual width (here 150) wrapped two different long lines mid-word: the width is the one
    # length both share, and the pieces are joined.
    lines = [
        "*** WARNING: renaming \"_ssl\" since importing it failed: dlopen(/private/var/folders/x/T/python-build.1/"
        "Python-3.11.6/build/lib.macosx-13.6-arm64-3.11/_ssl.cpython-311-darwin.so, 0x0002): symbol not found in "
        "flat namespace '_SSL_get_peer_certificate'",
        "*** WARNING: renaming \"_hashlib\" since importing it failed: dlopen(/private/var/folders/x/T/python-build."
        "1/Python-3.11.6/build/lib.macosx-13.6-arm64-3.11/_hashlib.cpython-311-darwin.so, 0x0002): symbol not found "
        "in flat namespace '_EVP_MD_block_size'",
    ]
    clean = "\n".join(lines)
    wrapped = _wrap_at(clean, 150)
    assert {len(line) for line in wrapped.split("\n")} >= {150} and wrapped != clean
    kind, f = facts(wrapped)
    assert (kind, f.get("missing_symbol")) == facts(clean)[:1] + (facts(clean)[1].get("missing_symbol"),)
    assert kind == "missing-symbol" and f["missing_symbol"] in ("_SSL_get_peer_certificate", "_EVP_MD_block_size")
    # The same length twice is no width when the lines are the same (a repeated warning) or stand alone.
    same = "x" * 20 + " ImportError: repeated warning line of exactly the same text " + "y" * 20
    assert normalise(f"{same}\nnext line\n{same}\nother line") == f"{same}\nnext line\n{same}\nother line"
    alone = ["A" + "b" * 70, "C" + "d" * 70]
    assert normalise("\n\n".join(alone)).split("\n\n") == alone

def test_file_name_wrapped_by_a_web_page_is_joined():
    # A web page wraps where it likes; the copy carries a newline inside the file name.
    text = CLEAN_SO.replace("torch/lib/libtorch_cu", "torch/lib/libtorch_cu\n")
    kind, f = facts(text)
    assert (kind, f["missing_library"]) == ("missing-shared-library", "libtorch_cuda.so")
    text = CLEAN_SO.replace("site-packages/torch/lib/", "site-packages/torch/\nlib/")
    assert facts(text)[1]["missing_library"] == "libtorch_cuda.so"


def test_crlf_and_lone_cr():
    assert facts(CLEAN_SO.replace("\n", "\r\n")) == facts(CLEAN_SO)
    assert facts(CLEAN_SO.replace("\n", "\r")) == facts(CLEAN_SO)


def test_ansi_colours_and_osc_sequences():
    coloured = ("\x1b]0;ana@box: ~\x07\x1b[1;31mImportError\x1b[0m: \x1b]8;;file:///x\x1b\\"
                "libGL.so.1\x1b]8;;\x1b\\: cannot open shared object file: No such file or directory\x1b[K\n")
    kind, f = facts(coloured)
    assert kind == "missing-shared-library" and f["missing_library"] == "libGL.so.1"
    assert "\x1b" not in strip_terminal(coloured)


def test_ipython_coloured_traceback():
    text = ("\x1b[0;31m---------------------------------------------------------------------------\x1b[0m\n"
            "\x1b[0;31mModuleNotFoundError\x1b[0m                       Traceback (most recent call last)\n"
            "Cell \x1b[0;32mIn[3], line 1\x1b[0m\n"
            "\x1b[0;32m----> 1\x1b[0m \x1b[38;5;28;01mimport\x1b[39;00m \x1b[38;5;21;01mpolars\x1b[39;00m\n\n"
            "\x1b[0;31mModuleNotFoundError\x1b[0m: No module named 'polars'\n")
    kind, f = facts(text)
    assert (kind, f["failing_module"]) == ("module-not-found", "polars")


@pytest.mark.parametrize("prompt", [">>> ", "In [3]: "])
def test_repl_prompts(prompt):
    text = (f"{prompt}import cv2\n"
            "Traceback (most recent call last):\n"
            "  File \"<stdin>\", line 1, in <module>\n"
            "ImportError: libGL.so.1: cannot open shared object file: No such file or directory\n")
    if prompt.startswith(">>>"):
        text += ">>> \n"
    kind, f = facts(text)
    assert (kind, f["missing_library"], f["failing_module"]) == ("missing-shared-library", "libGL.so.1", "cv2")
    assert "import cv2" in normalise(text).splitlines()[0]


def test_blank_lines_inside_a_message():
    text = ("Traceback (most recent call last):\n"
            "  File \"C:\\proj\\app.py\", line 2, in <module>\n"
            "    import pyodbc\n"
            "ImportError: DLL load failed while importing pyodbc:\n\n\n"
            "The specified module could not be found.\n")
    kind, f = facts(text)
    assert kind == "missing-shared-library" and f["failing_module"] == "pyodbc"
    # The blank line between two exceptions of a chain stays.
    chained = ("ImportError: libfoo.so: cannot open shared object file: No such file or directory\n\n"
               "During handling of the above exception, another exception occurred:\n\n"
               "Traceback (most recent call last):\n")
    assert "\n\nDuring handling" in normalise(chained)


def test_the_original_text_is_kept_as_evidence():
    from dllmagic.failure.documents import _doc_from_text
    pasted = ">>> import cv2\r\n\x1b[31mImportError\x1b[0m: libGL.so.1: cannot open shared object file\r\n"
    doc = _doc_from_text(pasted)
    assert doc.original == pasted
    assert "\x1b" not in doc.text and "\r" not in doc.text


# Shapes of a name rendered empty: "Importing  killed", `-c "import "`, "install  ", "named ''".
EMPTY_NAME = re.compile(
    r"\b(?:Importing|import|install|named|module|package|of|for|from|reinstall|uninstall|build of)  "
    r"|import \"|import\s*$|import \)|''|\"\"|\(\)", re.MULTILINE)


def test_no_template_renders_an_empty_name():
    # Every rule, for every kind, over a Failure that names nothing (a text without names), with and
    # without a signal: no summary, fix title, cell or command may show a hole where a name goes.
    from dllmagic.api import _report
    from dllmagic.diagnosis import Context
    from dllmagic.facts.system import System
    from dllmagic.model import KINDS, Failure

    holes = []
    findings = 0
    for kind in KINDS:
        for signal in (None, "SIGSEGV", "SIGILL", "SIGABRT"):
            failure = Failure(kind=kind, exc_type="ImportError", message="an error without names", signal=signal)
            ctx = Context(target="", failure=failure, system=System.current(), interpreter=None, sys_path=(),
                          notes=[])
            for finding in _report(ctx, ok=False).findings:
                findings += 1
                texts = [finding.summary] + [t for fix in finding.fixes
                                             for t in (fix.title, fix.cell, " ".join(fix.argv or ()))]
                holes += [(kind, finding.cause, t) for t in texts if t and EMPTY_NAME.search(t)]
    assert findings >= 10
    assert holes == []


@pytest.mark.parametrize("text", [
    "Segmentation fault (core dumped)",
    "Illegal instruction (core dumped)",
    "OMP: Error #15: Initializing , but found  already initialized.",
    "ImportError: : cannot open shared object file: No such file or directory",
    "ModuleNotFoundError: No module named ''",
])
def test_texts_without_names_render_no_empty_name(text):
    from dllmagic.api import explain
    report = explain(text)
    for finding in report.findings:
        for t in [finding.summary] + [x for fix in finding.fixes for x in (fix.title, fix.cell)]:
            assert not (t and EMPTY_NAME.search(t)), (finding.cause, t)
    failure = report.failure
    if failure is not None:
        for name in ("module", "library", "symbol", "version", "extension", "name"):
            assert getattr(failure, name) != "", name


# -- a reply's quoted block, a build log's line prefixes (real texts of the tuned split) ---------------------------
def _thread(case_id):
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent / "data" / "corpus" / "threads.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line)["id"] == case_id:
            return json.loads(line)["error"]
    raise KeyError(case_id)


def test_a_quoted_reply_is_unquoted():
    text = _thread("t544")          # "> " before every line of conda's output
    assert text.count("\n> ") > 10
    normal = normalise(text)
    assert "\nPackagesNotFoundError: The following packages are not available" in normal
    assert "\n  - zstd==1.5.2=hbc0c0cd_6" in normal
    f = failure_from_text(text)
    assert (f.kind, dict(f.details)["requirement"]) == ("no-compatible-release", "zstd==1.5.2=hbc0c0cd_6")


@pytest.mark.parametrize("width", [79, 80])
def test_a_quoted_line_a_terminal_wrapped_is_joined(width):
    # A terminal wraps the quoted line as a whole: the rest of it, on the next line, has no "> ".
    line = "> PackagesNotFoundError: The following packages are not available from current channels:"
    text = "\n".join([line[:width], line[width:], ">", ">   - zstd==1.5.2=hbc0c0cd_6", ">   - zlib==1.2.13=hfd90126_4"])
    f = failure_from_text(text)
    assert (f.kind, dict(f.details)["requirement"]) == ("no-compatible-release", "zstd==1.5.2=hbc0c0cd_6")
    assert "\nPackagesNotFoundError: The following packages are not available from current channels:\n" in \
        "\n" + normalise(text)


def test_a_quoted_reply_under_a_loggers_prefix_is_unquoted():
    text = "\n".join(f"2026-12-07 05:40:{i:02d},123 ERROR {line}" for i, line in enumerate(_thread("t544").split("\n")))
    f = failure_from_text(text)
    assert (f.kind, dict(f.details)["requirement"]) == ("no-compatible-release", "zstd==1.5.2=hbc0c0cd_6")


def test_one_marked_line_is_not_a_quote():
    # pytest marks the failing line with ">": read as the code line that raised, never as a quoted reply.
    text = ("    def test_import():\n>       import foo\nE       ModuleNotFoundError: No module named 'foo'\n"
            "\ntests/test_a.py:2: ModuleNotFoundError\n")
    normal = normalise(text)
    assert "\n        import foo\n" in normal and "    def test_import():" in normal
    assert (failure_from_text(text).kind, failure_from_text(text).module) == ("module-not-found", "foo")


@pytest.mark.parametrize("prefix", ["    {t:.2f}   ", "#8 {t:.3f} ", "2024-05-01T10:20:{s:02d}.1234567Z "])
def test_build_log_prefixes_are_dropped(prefix):
    text = _thread("t530")          # a Docker build log: "    70.48   " before every line
    assert text.startswith("    70.21   Building wheel")
    f = failure_from_text(text)
    assert (f.kind, dict(f.details)["replacement"]) == ("no-compatible-release", "tensorflow")
    # The same message under the other prefixes these logs use.
    plain = "\n".join(re.sub(r"^\s*\d+\.\d+ ", "", line) for line in text.splitlines())
    assert "70.48" not in plain
    relogged = "\n".join(prefix.format(t=70 + n / 100, s=n % 60) + line for n, line in enumerate(plain.splitlines()))
    f = failure_from_text(relogged)
    assert (f.kind, dict(f.details)["replacement"]) == ("no-compatible-release", "tensorflow")


def test_numbers_at_a_few_line_starts_are_kept():
    text = "1.5 seconds\nTraceback (most recent call last):\n  File \"a.py\", line 1\nImportError: x\n2.0 done\n"
    assert normalise(text) == text


def test_a_build_logs_prefix_alone_on_an_empty_line_goes_too():
    # t294: BuildKit's "3.026" before every line, alone on the empty ones; bare version numbers are no prefix.
    normal = normalise(_thread("t294"))
    assert "\nerror: externally-managed-environment\n" in normal and "3.026" not in normal
    assert normalise("1.0\n1.1\n1.2\n1.3\nImportError: x") == "1.0\n1.1\n1.2\n1.3\nImportError: x"


# -- log prefixes and pytest's markers (docker compose, CI timestamps, BuildKit, pytest) ------------------
_LIBGL = "ImportError: libGL.so.1: cannot open shared object file: No such file or directory"
_FRAMES = ["Traceback (most recent call last):", '  File "/srv/app/main.py", line 1, in <module>', "    import cv2", _LIBGL]


@pytest.mark.parametrize("prefix", ["web-1  | ", "2024-05-01T10:00:00.1234567Z ", "#8 12.34 "])
def test_a_prefix_on_every_line_is_dropped(prefix):
    kind, f = facts("\n".join(prefix + line for line in _FRAMES))
    assert (kind, f["failing_module"], f["missing_library"]) == ("missing-shared-library", "cv2", "libGL.so.1")


def test_pytest_report_reads_like_the_traceback():
    pasted = "    def test_import():\n>       import cv2\nE       " + _LIBGL + "\n\ntests/test_x.py:3: ImportError"
    kind, f = facts(pasted)
    assert (kind, f["failing_module"]) == ("missing-shared-library", "cv2")


@pytest.mark.parametrize("wrap", [
    lambda line: "> " + line,            # a Markdown quote of the traceback
    lambda line: "> > " + line,          # a quote of that quote
    lambda line: "    " + line,          # a code block's indentation
    lambda line: "> web-1  | " + line,   # a quoted docker compose log
])
def test_what_wraps_every_line_is_dropped(wrap):
    kind, f = facts("\n".join(wrap(line) for line in _FRAMES))
    assert (kind, f["failing_module"], f["missing_library"]) == ("missing-shared-library", "cv2", "libGL.so.1")


def test_a_repl_prompt_is_no_quote_and_an_indented_prompt_stays_code():
    assert normalise(">>> import cv2\n" + _LIBGL).startswith("    import cv2")
    kind, f = facts("    >>> import cv2\n    " + _LIBGL)
    assert f["failing_module"] == "cv2"


def _corpus_text(case_id):
    import json
    from pathlib import Path

    folder = Path(__file__).resolve().parent / "data" / "corpus"
    for name in ("public.jsonl", "extra.jsonl", "threads.jsonl"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and json.loads(line)["id"] == case_id:
                return json.loads(line)["error"]
    raise KeyError(case_id)


@pytest.mark.parametrize("case_id", ["c006", "x015", "x027", "t218", "t573", "x062"])
@pytest.mark.parametrize("width", [80, 120])
def test_a_terminal_wrap_anywhere_in_a_line_reads_like_the_line(case_id, width):
    # A line wrapped twice (three pieces), cut after a space, before a space, or after a colon.
    text = _corpus_text(case_id)
    assert facts(hard_wrap(text, width)) == facts(text)


def test_a_double_spaced_paste_reads_single_spaced():
    # t098 was posted with a blank line after every line, one of them inside "Symbol not found: \n\n__Py_…".
    kind, f = facts(_corpus_text("t098"))
    assert (kind, f["failing_module"], f["missing_symbol"]) == ("python-abi-mismatch", "_pyo", "__Py_ZeroStruct")
    text = _corpus_text("c006")
    assert facts(text.replace("\n", "\n\n")) == facts(text)


def test_non_breaking_spaces_of_a_web_page_are_spaces():
    text = _corpus_text("c006")
    assert facts(text.replace("    ", "\u00a0" * 4)) == facts(text)


@pytest.mark.parametrize("case_id", ["t024", "t562", "c006", "x015"])
def test_padding_after_lines_is_none_of_the_line(case_id):
    # A Windows console pads every line to its width; web pages leave spaces at line ends.
    text = _corpus_text(case_id)
    padded = "\n".join(line.ljust(120) for line in hard_wrap(text, 120).split("\n"))
    assert facts(padded) == facts(text)
    assert facts(text.replace("\n", "   \n")) == facts(text)


@pytest.mark.parametrize("case_id", ["c016", "t139", "c006", "t235", "t141", "t218"])
def test_a_traceback_on_one_line_is_laid_out_again(case_id):
    # Line ends lost (an issue title, some web pages): frames, code lines, dyld's lines and the exception.
    text = _corpus_text(case_id)
    flat = re.sub(r"\s*\n\s*", " ", text)
    assert facts(flat) == facts(text)


def test_laying_out_a_long_flat_text_stays_linear():
    import time

    for text in (" " * 400_000 + 'File "a", line 1', ('File "a", line 1, in x ' + " " * 100) * 3000):
        start = time.perf_counter()
        normalise(text)
        assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("case_id", ["c016", "t139", "c006", "x015"])
def test_a_log_viewers_line_numbers_are_dropped(case_id):
    text = _corpus_text(case_id)
    numbered = "\n".join(f"{i + 1:>4}  {line}" for i, line in enumerate(text.split("\n")))
    assert facts(numbered) == facts(text)


def test_ipython_context_line_numbers_stay():
    pasted = ("ImportError                               Traceback (most recent call last)\n"
              "Cell In[1], line 1\n----> 1 import cv2\n\n"
              "File ~/env/lib/python3.11/site-packages/cv2/__init__.py:181\n"
              "    178     if DEBUG: print('Extra Python code for', submodule, 'is loaded')\n"
              "    180 if DEBUG: print('OpenCV loader: DONE')\n"
              "--> 181 bootstrap()\n\n" + _LIBGL)
    assert normalise(pasted) == normalise(pasted.replace("\n\n", "\n\n"))
    assert "    178     if DEBUG" in normalise(pasted)


# Paste forms that bench/corpus_accuracy.py --perturb found breaking (robustness check, issue #18).

def test_html_entities_and_typographic_quotes_read_as_the_characters():
    # A page's source: "&lt;module&gt;", "&#39;"; a rendered page: ‘ ’ “ ”.  c100's message quotes names.
    text = _corpus_text("c100")
    entities = (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace("'", "&#39;").replace('"', "&quot;"))
    assert facts(entities) == facts(text)
    typographic = text.replace('"', "\u201c").replace("'", "\u2019")
    assert facts(typographic) == facts(text)
    assert normalise("a &amp;&lt;b&gt; \u2018x\u2019 \u201cy\u201d") == "a &<b> 'x' \"y\""


@pytest.mark.parametrize("case_id", ["c006", "t219", "t330"])
def test_python_loggings_prefix_is_dropped_also_on_one_line(case_id):
    text = _corpus_text(case_id)
    logged = "\n".join(f"2026-12-07 05:40:{i:02d},123 ERROR {line}" for i, line in enumerate(text.split("\n")))
    assert facts(logged) == facts(text)
    assert normalise("[2026-12-07 05:40:00] WARNING: x") == "WARNING: x"


def test_a_prefixed_line_the_terminal_wrapped_is_joined_before_the_prefix_goes():
    # docker compose prints "service-1  | " before each line; the terminal wraps the whole line (t505).
    text = _corpus_text("t505")
    assert facts(hard_wrap(text, 100)) == facts(text)
    assert facts(hard_wrap(text, 100))[1]["failing_module"] == "hnswlib"


def test_a_wrap_after_a_full_stop_inside_a_name_is_joined():
    # t129: "... from 'huggingface_hub." / "errors' (/usr/...)"; t150: "(required by .." / "../anaconda3".
    for case_id in ("t129", "t150"):
        text = _corpus_text(case_id)
        for width in (80, 100):
            assert facts(hard_wrap(text, width)) == facts(text)
    sentence = "ImportError: the sentence ends at the terminal's width. " + "x" * 23 + "."
    assert len(sentence) == 80 and normalise(sentence + "\nNew line") == sentence + "\nNew line"


@pytest.mark.parametrize("case_id", ["t219", "t141", "t229"])
def test_a_forum_posts_sentences_are_no_part_of_the_message(case_id):
    text = _corpus_text(case_id)
    posted = "I get this error when I import it:\n\n" + text.strip() + "\n\nAny help? Thanks in advance."
    assert facts(posted) == facts(text)


@pytest.mark.parametrize("case_id", ["x001", "t251", "c100"])
def test_ipython_8_frames_read_as_frames(case_id):
    # "File C:\...\x.py:11, in <module>" / "----> 11 from fiona.ogrext import ...": the frame's file, the
    # import it ran and a library named in its code, as from Python's own frames.
    text = _corpus_text(case_id)
    lines = []
    for line in text.split("\n"):
        m = re.match(r'\s*File "([^"]+)", line (\d+), in (.+)$', line)
        if m:
            lines += ["", f"File \x1b[0;32m{m.group(1)}:{m.group(2)}\x1b[0m, in {m.group(3)}"]
        elif line.startswith("    ") and lines and lines[-1].startswith("File "):
            number = re.search(r":(\d+)\x1b", lines[-1]).group(1)
            lines.append(f"\x1b[0;32m----> {number}\x1b[0m {line.strip()}")
        elif line.startswith("Traceback"):
            lines.append("-" * 75)
        else:
            lines.append(line)
    assert facts("\n".join(lines)) == facts(text)


def test_an_indented_line_the_terminal_wrapped_is_joined_before_the_indentation_goes():
    # t330: pip's indented conflict line cut at 80 columns right before " python-dateutil 2.7.2 …".
    text = _corpus_text("t330")
    assert normalise(hard_wrap(text, 80)) == normalise(text)


def test_a_line_left_with_a_parenthesis_open_goes_on_in_the_line_that_closes_it():
    # t1137: dyld's tried list wrapped by a page inside "(mach-o file, …" and "(no such file)", padded, with
    # blank lines between the pieces.
    kind, f = facts(_corpus_text("t1137"))
    assert kind == "architecture-mismatch"
    assert f["found_path"] == "/opt/homebrew/lib/python3.9/site-packages/torch_spline_conv/_version_cpu.so"
    text = _corpus_text("c042")
    wrapped = text.replace("incompatible architecture", "incompatible\narchitecture").replace("(no such", "(no\nsuch")
    assert wrapped != text
    assert facts(wrapped) == facts(text)


def test_a_parenthesis_in_code_or_a_new_exception_is_not_joined():
    text = ("Traceback (most recent call last):\n  File \"x.py\", line 3, in <module>\n    load(\n"
            "        'a')\nImportError: libfoo.so.1: cannot open shared object file: No such file or directory (\n"
            "OSError: x)\n")
    assert "load(\n        'a')" in normalise(text)
    assert "(\nOSError: x)" in normalise(text)


def test_a_line_copied_from_a_url_is_decoded():
    # t1231: "libtorch_cuda.so:%20undefined%20symbol:%20ncclCommRegister"
    kind, f = facts(_corpus_text("t1231"))
    assert (kind, f["missing_symbol"]) == ("missing-symbol", "ncclCommRegister")
    text = _corpus_text("c016")
    last = text.rstrip().split("\n")[-1]
    assert facts(text.replace(last, last.replace(" ", "%20"))) == facts(text)
    # One "%20" (a file name's own) stays.
    assert "a%20b.so" in normalise("ImportError: a%20b.so: cannot open shared object file")


def test_a_text_typed_in_lower_case_reads_like_the_printed_one():
    # t1165: "from . import _imaging as core importerror: dll load failed while importing _imaging: …"
    kind, f = facts(_corpus_text("t1165"))
    assert (kind, f["failing_module"]) == ("missing-shared-library", "_imaging")
    text = ("Traceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\n"
            "ImportError: DLL load failed while importing cv2: The specified module could not be found.\n")
    kind, f = facts(text.lower())
    assert kind == facts(text)[0] == "missing-shared-library"
    assert f["failing_module"] == "cv2"
    # The same line typed in lower case inside prose that has capitals of its own.
    prose = "I get this error when I import it:\n\n" + _corpus_text("t1165").strip() + "\n\nAny help? Thanks."
    assert facts(prose) == facts(_corpus_text("t1165"))
    # Names and paths keep their case: only whole words are looked up.
    assert "c:\\python\\lib\\foo.dll" in normalise("importerror: c:\\python\\lib\\foo.dll load failed")


def test_every_line_wrapped_in_inline_code_is_unwrapped():
    # t338: each line of a REPL session posted as `…` (Markdown inline code); the frames then name the
    # package of the relative import.
    kind, f = facts(_corpus_text("t338"))
    assert (kind, f["failing_module"]) == ("python-abi-mismatch", "caffe._caffe")
    text = _corpus_text("c016")
    wrapped = "\n".join(f"`{line}`" if line.strip() else line for line in text.split("\n"))
    assert facts(wrapped) == facts(text)


def test_a_markdown_escape_after_a_module_name_is_none_of_it():
    kind, f = facts("ModuleNotFoundError: No module named 'keras.src.legacy\\'")
    assert (kind, f["failing_module"]) == ("module-not-found", "keras.src.legacy")


def test_an_escaped_newline_at_a_line_end_is_none_of_the_name():
    # xgboost's "Error message(s): [...]" repr copied with its real line ends: "…libomp.dylib\n" then a newline.
    text = ("Error message(s): [\"dlopen(/opt/env/lib/python3.10/site-packages/xgboost/lib/libxgboost.dylib, 0x0006): "
            "Library not loaded: @rpath/libomp.dylib\\n\nReferenced from: /opt/env/lib/python3.10/site-packages/"
            "xgboost/lib/libxgboost.dylib\\n\nReason: tried: '/opt/homebrew/opt/libomp/lib/libomp.dylib' (no such file)\"]")
    kind, f = facts(text)
    assert (kind, f["missing_library"]) == ("missing-shared-library", "libomp.dylib")


def test_dyld_lines_run_into_one_are_laid_out_again():
    text = ("Traceback (most recent call last):\n  File \"t.py\", line 1, in <module>\n    import sqlite3\n"
            "ImportError: dlopen(/usr/local/lib/python2.7/lib-dynload/_sqlite3.so, 2): Symbol not found: "
            "_sqlite3_enable_load_extension Referenced from: /usr/local/lib/python2.7/lib-dynload/_sqlite3.so "
            "Expected in: /usr/lib/libsqlite3.dylib in /usr/local/lib/python2.7/lib-dynload/_sqlite3.so")
    kind, f = facts(text)
    assert (kind, f["missing_symbol"], f["found_path"]) == (
        "missing-symbol", "_sqlite3_enable_load_extension", "/usr/local/lib/python2.7/lib-dynload/_sqlite3.so")


def test_a_frozen_apps_package_folder_names_the_extensions_package():
    # Nuitka's <name>.dist and PyInstaller's _internal hold packages as site-packages does.
    for root in ("D:\\app\\main.dist", "C:\\app\\_internal"):
        kind, f = facts(f"ImportError: LoadLibraryEx '{root}\\PyQt5\\QtCore.pyd' failed")
        assert f["failing_module"] == "PyQt5.QtCore", root


@pytest.mark.parametrize("wrap", [lambda t: t, lambda t: f"```\n{t}\n```", lambda t: f"I get this when I import it:\n\n{t}\n\nAny help?"])
def test_an_import_statement_and_its_exception_on_one_line_are_two(wrap):
    text = "from lxml import etree ImportError: DLL load failed: The specified procedure could not be found"
    kind, f = facts(wrap(text))
    assert (kind, f["failing_module"]) == ("missing-symbol", "lxml.etree")   # etree: lxml's extension module


def test_ipython_7_frames_resolve_a_relative_import():
    # IPython 7 and older print a frame as "PATH in <module>()" and its code with "---->" arrows.
    text = ("ImportError                               Traceback (most recent call last)\n"
            "<ipython-input-1-6b72bd8913ab> in <module>()\n----> 1 import rdkit\n\n"
            "~/anaconda3/envs/chem/lib/python3.6/site-packages/rdkit/__init__.py in <module>()\n"
            "      1 try:\n----> 2   from .rdBase import rdkitVersion as __version__\n      3 except ImportError:\n\n"
            "ImportError: libboost_python3.so.1.65.1: cannot open shared object file: No such file or directory")
    kind, f = facts(text)
    assert (kind, f["failing_module"]) == ("missing-shared-library", "rdkit.rdBase")


def test_an_exception_groups_bars_and_edges_go():
    # Python 3.11+ prints each sub-exception of a group behind "  | " between "+-+---- 1 ----" edges.
    text = ('  + Exception Group Traceback (most recent call last):\n'
            '  |   File "/srv/app.py", line 3, in <module>\n'
            '  |     raise ExceptionGroup("startup", errors)\n'
            '  | ExceptionGroup: startup (1 sub-exception)\n'
            '  +-+---------------- 1 ----------------\n'
            '    | Traceback (most recent call last):\n'
            '    |   File "/srv/venv/lib/python3.12/site-packages/psycopg2/__init__.py", line 50, in <module>\n'
            '    |     from psycopg2._psycopg import (                     # noqa\n'
            '    | ImportError: libpq.so.5: cannot open shared object file: No such file or directory\n'
            '    +------------------------------------\n')
    assert "| " not in normalise(text) and "+-+" not in normalise(text)
    kind, f = facts(text)
    assert (kind, f["failing_module"], f["missing_library"]) == (
        "missing-shared-library", "psycopg2._psycopg", "libpq.so.5")


def test_a_markdown_table_keeps_its_bars():
    text = "| package | version |\n|---|---|\n| numpy | 2.0 |\nImportError: No module named 'numpy'"
    assert normalise(text).startswith("| package | version |\n|---|---|\n| numpy | 2.0 |")
    kind, f = facts(text)
    assert (kind, f["failing_module"]) == ("module-not-found", "numpy")


def test_quotes_escaped_in_a_messages_repr_are_quotes():
    text = ("ImportError('\\nIMPORTANT: PLEASE READ THIS FOR ADVICE ON HOW TO SOLVE THIS ISSUE!\\n\\n"
            "Importing the numpy C-extensions failed.\\n"
            "Original error was: No module named \\'numpy.core._multiarray_umath\\'\\n')")
    kind, f = facts(text)
    assert (kind, f["failing_module"]) == ("module-not-found", "numpy.core._multiarray_umath")


@pytest.mark.parametrize("message,kind", [
    ("找不到\n指定的程序。", "missing-symbol"),          # 127, wrapped by an 80-column console
    ("找不到指定\n的模块。", "missing-shared-library"),     # 126
    ("The specified procedure could not\nbe found.", "missing-symbol"),
])
def test_a_windows_message_a_console_wrapped_is_read_whole(message, kind):
    text = ('  File "C:\\Python38\\lib\\site-packages\\onnxruntime\\capi\\_pybind_state.py", line 32, in <module>\n'
            '    from .onnxruntime_pybind11_state import *  # noqa\n'
            f'ImportError: DLL load failed while importing onnxruntime_pybind11_state: {message}')
    got, f = facts(text)
    assert (got, f["failing_module"]) == (kind, "onnxruntime.capi.onnxruntime_pybind11_state")


def test_a_windows_message_is_not_joined_with_the_line_after_it():
    # A whole message stays whole: the next line (a traceback's start) is not read into it.
    text = ("ImportError: DLL load failed while importing _ssl: The specified procedure could not be found.\n"
            "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n")
    assert facts(text)[0] == "missing-symbol"


def test_a_log_viewers_bars_before_every_line_go():
    text = ('  | Traceback (most recent call last):\n'
            '  | File "/opt/app-root/lib/python3.6/site-packages/psycopg2/__init__.py", line 50, in <module>\n'
            '  | from psycopg2._psycopg import (                     # noqa\n'
            '  | SystemError: initialization of _psycopg raised unreported exception\n')
    kind, f = facts(text)
    assert (kind, f["failing_module"]) == ("native-init-failed", "psycopg2._psycopg")


def test_a_markdown_link_is_its_text():
    path = "/opt/env/lib/python3.9/site-packages/langchain/agents/__init__.py"
    text = (f"ImportError: cannot import name 'load_tools' from 'langchain.agents' "
            f"([{path}](https://file+.vscode-resource.vscode-cdn.net{path}))")
    assert normalise(text).endswith(f"({path})")
    assert facts(text)[1]["found_path"] == path


@pytest.mark.parametrize("statement,module", [
    ("from PyQt5 import QtWidgets", "PyQt5.QtWidgets"),            # a module the package holds
    ("from PyQt5.QtWidgets import QApplication", "PyQt5.QtWidgets"),  # a class of the module
    ("from lxml import etree", "lxml.etree"),
    ("from mpi4py import MPI", "mpi4py.MPI"),
    ("from somepkg import helper", "somepkg"),                      # unknown: no guess
])
def test_a_module_a_package_is_known_to_hold(statement, module):
    text = ('Traceback (most recent call last):\n  File "app.py", line 1, in <module>\n'
            f'    {statement}\nImportError: DLL load failed: The specified module could not be found.')
    assert facts(text)[1]["failing_module"] == module


def test_markdown_hard_breaks_are_no_part_of_the_lines():
    text = ("Traceback (most recent call last):\\\n"
            "ImportError: dlopen(/opt/build/lib/_ctypes.so, 2): Symbol not found: __PySlice_AdjustIndices\\\n"
            "  Referenced from: /opt/build/lib/_ctypes.so\\\n  Expected in: flat namespace\\\n"
            " in /opt/build/lib/_ctypes.so\\\n")
    kind, f = facts(text)
    assert (f["missing_symbol"], f["found_path"]) == ("__PySlice_AdjustIndices", "/opt/build/lib/_ctypes.so")
    # a shell's continuation (" \") is not a hard break: those lines are joined
    assert normalise("pip install \\\n  numpy \\\n  scipy \\\n  pandas").startswith("pip install")
