"""``deps`` command lines parsed without argparse (cli_deps.quick_args) mean what argparse makes of them:
the same attributes, or no quick answer (argparse then parses, errors and help included)."""
import subprocess
import sys

import pytest

from dllmagic.cli import build_parser
from dllmagic.cli_deps import _FLAGS, _VALUED, quick_args

#: Command lines the quick parser answers: each compared with argparse's namespace.
PLAIN = [
    ["deps", "a"],
    ["deps", "a", "b", "c"],
    ["deps", "--standalone", "a"],
    ["deps", "a", "--standalone"],
    ["deps", "--as-imported", "--json", "a", "b"],
    ["deps", "--no-symbols", "-v", "a"],
    ["deps", "--symbols", "--json", "--no-cache", "a"],
    ["deps", "--verbose", "a"],
    ["deps", "-j", "1", "--standalone", "a"],
    ["deps", "--jobs", "3", "a"],
    ["deps", "-j", " 2", "a"],
    ["deps", "--tag", "manylinux_2_28_x86_64", "--minimal", "x.whl"],
    ["deps", "--root", "/r", "--platform", "windows", "C:/x.dll"],
    ["deps", "--machine", "m.json", "x"],
    ["deps", "--python", "/usr/bin/python3", "a"],
    ["deps", "--python", "", "a"],
    ["deps", ""],
    ["deps", "a b", "c\td"],
]

#: Command lines left to argparse (abbreviations, '=' forms, joined short options, a path starting
#: with '-', options twice, errors, help).
LEFT_TO_ARGPARSE = [
    ["deps"],
    ["deps", "--standalone"],
    ["deps", "--stand", "a"],
    ["deps", "--jobs=2", "a"],
    ["deps", "-j2", "a"],
    ["deps", "-vj", "2", "a"],
    ["deps", "--", "a"],
    ["deps", "-", "a"],
    ["deps", "-a"],
    ["deps", "a", "--json", "b"],
    ["deps", "--json", "--json", "a"],
    ["deps", "-v", "--verbose", "a"],
    ["deps", "--standalone", "--as-imported", "a"],
    ["deps", "--symbols", "--no-symbols", "a"],
    ["deps", "-j", "x", "a"],
    ["deps", "-j", "-1", "a"],
    ["deps", "-j"],
    ["deps", "--platform", "solaris", "a"],
    ["deps", "--python", "--json", "a"],
    ["deps", "-h"],
    ["deps", "a", "--help"],
    ["deps", "a", "--version"],
]


def _argparse(argv):
    return vars(build_parser("deps").parse_args(argv))


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_plain_command_lines_mean_what_argparse_makes_of_them(argv):
    quick = quick_args(argv)
    assert quick is not None
    assert vars(quick) == _argparse(argv)


@pytest.mark.parametrize("argv", LEFT_TO_ARGPARSE, ids=" ".join)
def test_other_command_lines_are_left_to_argparse(argv):
    assert quick_args(argv) is None


def test_the_quick_parser_knows_every_option_of_the_verb():
    parser = build_parser("deps")
    deps = parser._subparsers._group_actions[0].choices["deps"]
    options = {s for action in deps._actions for s in action.option_strings} - {"-h", "--help"}
    assert options == set(_FLAGS) | set(_VALUED)
    for action in deps._actions:
        for s in action.option_strings:
            if s in _FLAGS:
                assert (action.dest, action.const) == _FLAGS[s] and action.nargs == 0
            elif s in _VALUED:
                assert action.dest == _VALUED[s] and action.nargs is None


def test_a_deps_run_with_a_plain_command_line_imports_no_argparse(tmp_path):
    code = ("import sys; from dllmagic.cli import main; rc = main(['deps', '--standalone', sys.argv[1]]); "
            "print('argparse' in sys.modules); sys.exit(rc)")
    env = {"DLLMAGIC_CACHE_DIR": str(tmp_path / "store"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "False"


def test_a_usage_error_is_still_argparse_s(tmp_path):
    code = "import sys; from dllmagic.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([sys.executable, "-c", code, "deps", "--platform", "solaris", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "invalid choice: 'solaris'" in proc.stderr
