"""faulthandler's record of a dead process → what killed it (pure parse, real faulthandler output)."""
import subprocess
import sys
import textwrap

from dllmagic._crash import CrashRecorder, parse_fault_text


def test_parse_real_faulthandler_output_of_a_segfault_in_an_import(tmp_path):
    (tmp_path / "crashy_mod.py").write_text("import ctypes\nctypes.string_at(0)\n")
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(tmp_path)!r})
        from dllmagic._crash import CrashRecorder
        rec = CrashRecorder("t", {str(tmp_path)!r}); rec.arm()
        import crashy_mod
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode < 0
    crash = CrashRecorder("t", str(tmp_path)).previous()
    assert crash is not None
    assert crash.signal == "SIGSEGV"
    assert crash.importing == "crashy_mod"
    assert "crashy_mod.py" in crash.stack


def test_a_crash_outside_an_import_names_no_module():
    text = 'Fatal Python error: Aborted\n\nCurrent thread 0x1 (most recent call first):\n  File "x.py", line 3 in f\n'
    crash = parse_fault_text(text, "json")
    assert crash.signal == "SIGABRT" and crash.importing is None and crash.last_import == "json"


def test_clean_exit_leaves_no_record(tmp_path):
    code = f"from dllmagic._crash import CrashRecorder; r = CrashRecorder('t', {str(tmp_path)!r}); r.arm(); r.disarm()"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert CrashRecorder("t", str(tmp_path)).previous() is None
    assert list(tmp_path.iterdir()) == []


def test_dll_directory_recorder_is_installed_and_removed_with_the_extension(monkeypatch, tmp_path):
    """On Windows the glue records os.add_dll_directory calls; modelled here with a stand-in function."""
    import os

    from IPython.testing.globalipapp import get_ipython

    from dllmagic import _kernel

    calls = []

    def add_dll_directory(path):
        calls.append(path)

    monkeypatch.setattr(os, "add_dll_directory", add_dll_directory, raising=False)
    monkeypatch.setenv("DLLMAGIC_RUNTIME_DIR", str(tmp_path))
    shell = get_ipython()
    _kernel.load(shell)
    try:
        assert os.add_dll_directory is not add_dll_directory
        os.add_dll_directory("C:/somewhere")
        from dllmagic.facts.native.machine import recorded_dll_directories

        assert any(d.path == "C:/somewhere" for d in recorded_dll_directories())
        assert calls == ["C:/somewhere"]
    finally:
        _kernel.unload(shell)
    assert os.add_dll_directory is add_dll_directory


def test_the_recorder_lists_what_was_imported_before_the_crash(tmp_path):
    """The second page of the record: top-level packages in the order first imported, up to the crashed one."""
    for name in ("alpha", "beta"):
        (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
    (tmp_path / "crashy_mod.py").write_text("import ctypes\nctypes.string_at(0)\n")
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(tmp_path)!r})
        from dllmagic._crash import CrashRecorder
        rec = CrashRecorder("t", {str(tmp_path)!r}); rec.arm()
        import alpha, beta, alpha
        import crashy_mod
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode < 0
    crash = CrashRecorder("t", str(tmp_path)).previous()
    assert crash.importing == "crashy_mod"
    assert crash.imported_before[-2:] == ("alpha", "beta") and "crashy_mod" not in crash.imported_before
