"""%dlldoctor's argument parsing: names are validated, options are few and strict."""
import pytest

from dllmagic._kernel import _parse_magic


def test_name_and_options():
    assert _parse_magic("tensorflow --online --json") == {
        "name": "tensorflow", "auto": None, "json": True, "fix": None, "online": True}
    assert _parse_magic("--auto compact")["auto"] == "compact"
    assert _parse_magic("cv2 --fix 1.2")["fix"] == "1.2"
    assert _parse_magic("")["name"] is None


@pytest.mark.parametrize("line", ["--auto loud", "--fix", "a b", "os;ls", "--bogus", "'x y'", "numpy-2"])
def test_bad_lines_are_refused(line):
    with pytest.raises(ValueError):
        _parse_magic(line)
