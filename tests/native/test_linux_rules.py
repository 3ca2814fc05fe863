"""One test per loader rule: the emulation's answer and reasons, then the real loader's verdict.

Each fixture folder under fixtures/ is named after what it proves and built by its own build.sh.
Standalone trees are compared with ``ldd`` (and ``ldd -r`` for symbols); as-imported trees with what
ld.so itself searched (LD_DEBUG=libs,files) when a stand-in for python dlopen()s the file.
"""
from __future__ import annotations


import pytest

from native_oracles import (CLEAN_ENV, compare_with_ld_debug, compare_with_ldd, first_nodes, run_driver,
                      run_ldd)
from dllmagic.facts.native.loader import format_tree, problems, resolve, tree_to_dict
from dllmagic.facts.system import System


def host_system(env=None, executable="", loaded=()):
    """The live machine's files and cache, with the variables and loaded list the test states."""
    return System.model("linux", "/", environ=env or CLEAN_ENV, executable=executable, loaded=loaded)


def node(tree, name):
    for n in first_nodes(tree):
        if n.name == name:
            return n
    raise AssertionError(f"{name} not in tree:\n{format_tree(tree, verbose=True)}")


def standalone(path, env=None, symbols=False):
    tree = resolve(str(path), host_system(env), mode="standalone", symbols=symbols)
    ldd = run_ldd(str(path), env=env or CLEAN_ENV, relocs=symbols)
    assert compare_with_ldd(tree, ldd) == [], format_tree(tree, verbose=True) + "\n" + ldd["text"]
    return tree, ldd


def as_imported(driver, path, preload=(), env=None):
    system = host_system(env, executable=str(driver), loaded=tuple(str(p) for p in preload))
    tree = resolve(str(path), system, mode="as-imported")
    real = run_driver(driver, [str(p) for p in preload] + [str(path)], env=env)
    assert compare_with_ld_debug(tree, real["blocks"]) == [], (
        format_tree(tree, verbose=True) + "\n" + real["stderr"][-4000:])
    return tree, real


def test_runpath_cancels_rpath_of_the_requester(built, driver):
    top = built / "runpath_cancels_rpath_of_the_requester" / "top" / "libtop.so"
    tree, _ = standalone(top)
    dep = node(tree, "libdep.so")
    assert dep.rule == "runpath" and dep.path.endswith("/top/x/../y/libdep.so")
    skipped = [c for c in dep.candidates if c.outcome == "not-searched" and c.rule == "rpath"]
    assert skipped and "skipped because RUNPATH is set" in skipped[0].reason
    assert skipped[0].via == str(top)
    tree, real = as_imported(driver, top)
    assert real["error"] is None


def test_rpath_is_inherited_from_the_loader_chain(built, driver):
    top = built / "rpath_is_inherited_from_the_loader_chain" / "top" / "libtop.so"
    tree, _ = standalone(top)
    assert node(tree, "libmid.so").rule == "rpath"
    dep = node(tree, "libdep.so")
    assert dep.rule == "rpath-of-0" and dep.via == str(top)
    as_imported(driver, top)


def test_runpath_is_not_inherited_by_dependencies(built, driver):
    top = built / "runpath_is_not_inherited_by_dependencies" / "top" / "libtop.so"
    tree, ldd = standalone(top)
    assert node(tree, "libmid.so").rule == "runpath"
    dep = node(tree, "libdep.so")
    assert dep.path is None and dep.error == "not found"
    assert [p.name for p in problems(tree)] == ["libdep.so"]
    _, real = as_imported(driver, top)
    assert "libdep.so: cannot open shared object file" in real["error"]


def test_origin_is_the_folder_of_the_symlink_not_its_target(built, driver):
    link = built / "origin_is_the_folder_of_the_symlink_not_its_target" / "link" / "libroot.so"
    tree, _ = standalone(link)
    dep = node(tree, "libdep.so")
    assert dep.rule == "rpath" and dep.path == str(link.parent / "lib" / "libdep.so")
    as_imported(driver, link)
    real = built / "origin_is_the_folder_of_the_symlink_not_its_target" / "real" / "libroot.so"
    tree, _ = standalone(real)
    assert node(tree, "libdep.so").path is None


def test_a_missing_library_lists_every_place_tried(built, driver):
    root = built / "a_missing_library_lists_every_place_tried" / "libroot.so"
    tree, _ = standalone(root)
    miss = node(tree, "libnothere.so.1")
    assert miss.error == "not found"
    rules = [c.rule for c in miss.candidates]
    assert rules[0] == "rpath" and "ld.so.cache" in rules and rules[-1] == "default-dir"
    assert miss.candidates[0].path == str(root.parent / "nowhere" / "libnothere.so.1")
    assert miss.candidates[0].reason == "no such folder"
    assert all(c.outcome in ("missing", "not-searched") for c in miss.candidates)
    (problem,) = problems(tree)
    assert problem.kind == "missing-library" and problem.required_by == str(root)
    assert problem.searched == miss.candidates
    text = format_tree(tree)
    assert "libnothere.so.1  NOT FOUND" in text and "1. [rpath]" in text
    _, real = as_imported(driver, root)
    assert "libnothere.so.1: cannot open shared object file" in real["error"]


def test_an_undefined_symbol_is_reported(built, driver):
    user = built / "an_undefined_symbol_is_reported" / "libuser.so"
    tree, ldd = standalone(user, symbols=True)
    assert tree.symbols_checked
    assert [(s.name, s.required_by) for s in tree.root.missing_symbols] == [("foo", str(user))]
    assert {(s, r) for s, r in ldd["undefined"]} == {("foo", "libuser.so")}
    tree, real = as_imported(driver, user)
    assert [p.name for p in problems(tree)] == ["foo"]
    assert "undefined symbol: foo" in real["error"]


def test_a_missing_symbol_version_names_the_version_and_the_requirer(built, driver):
    use = built / "a_missing_symbol_version_names_the_version_and_the_requirer" / "libuse.so"
    tree, ldd = standalone(use)
    (mv,) = node(tree, "libver.so").missing_versions
    assert (mv.version, mv.library, mv.required_by) == ("VER_2", "libver.so", str(use))
    assert mv.library_path == str(use.parent / "libver.so")
    assert ldd["versions"] == {("VER_2", "libuse.so")}
    (problem,) = problems(tree)
    assert problem.kind == "symbol-version" and problem.name == "VER_2"
    _, real = as_imported(driver, use)
    assert "version `VER_2' not found (required by" in real["error"]


def test_a_wrong_class_library_earlier_on_the_path_is_skipped(built, driver):
    folder = built / "a_wrong_class_library_earlier_on_the_path_is_skipped"
    tree, _ = standalone(folder / "libroot.so")
    dep = node(tree, "libdep.so")
    assert dep.path == str(folder / "b64" / "libdep.so") and dep.rule == "rpath"
    first = dep.candidates[0]
    assert (first.outcome, first.reason) == ("skipped", "wrong ELF class: ELFCLASS32")
    as_imported(driver, folder / "libroot.so")
    tree, _ = standalone(folder / "libonly32.so")
    assert node(tree, "libdep32.so").error == "wrong ELF class: ELFCLASS32"
    _, real = as_imported(driver, folder / "libonly32.so")
    assert "wrong ELF class: ELFCLASS32" in real["error"]


def test_nodeflib_skips_the_cache_and_the_default_folders(built, driver):
    root = built / "nodeflib_skips_the_cache_and_the_default_folders" / "libroot.so"
    tree, _ = standalone(root)
    z = node(tree, "libz.so.1")
    assert z.error == "not found"
    reasons = {(c.rule, c.reason) for c in z.candidates if c.outcome == "not-searched"}
    assert ("ld.so.cache", "not searched because of NODEFLIB") in reasons
    assert ("default-dir", "not searched because of NODEFLIB") in reasons
    # Without NODEFLIB the same name is found in the cache.
    plain = resolve("/lib/x86_64-linux-gnu/libz.so.1", host_system(), mode="standalone")
    assert plain.root.error is None
    _, real = as_imported(driver, root)
    assert "libz.so.1: cannot open shared object file" in real["error"]


def test_an_already_loaded_library_with_the_same_soname_wins(built, driver):
    folder = built / "an_already_loaded_library_with_the_same_soname_wins"
    copy = folder / "first" / "libshared-copy.so"
    tree, real = as_imported(driver, folder / "ext.so", preload=[copy])
    shared = node(tree, "libshared.so.1")
    assert shared.rule == "already-loaded" and shared.path == str(copy)
    assert str(copy) in real["maps"] and str(folder / "second" / "libshared.so.1") not in real["maps"]
    # Not loaded before: found through the RPATH.
    tree, _ = as_imported(driver, folder / "ext.so")
    assert node(tree, "libshared.so.1").rule == "rpath"


def test_an_already_loaded_library_read_on_demand_gives_the_tree_of_a_whole_read(built, driver):
    """The objects already in the process are known by path, SONAME and identity until something asks more of
    one (here the symbol check of ext.so, bound to the loaded copy): the tree is the one a whole read gives."""
    from dllmagic.facts.native import binary

    folder = built / "an_already_loaded_library_with_the_same_soname_wins"
    copy = folder / "first" / "libshared-copy.so"
    system = host_system(executable=str(driver), loaded=(str(copy),))
    binary.clear_cache()
    assert binary.loaded_names(str(copy), system) == ("libshared.so.1", (copy.stat().st_dev, copy.stat().st_ino))
    lazy = resolve(str(folder / "ext.so"), system, mode="as-imported")
    assert lazy.symbols_checked and node(lazy, "libshared.so.1").rule == "already-loaded"
    binary.clear_cache()
    binary.read_binary(str(copy), system)  # read whole first: the loader takes the whole record
    assert binary.loaded_names(str(copy), system) is None
    whole = resolve(str(folder / "ext.so"), system, mode="as-imported")
    assert tree_to_dict(lazy) == tree_to_dict(whole)


def test_the_executable_rpath_is_searched_for_an_extension(built):
    folder = built / "the_executable_rpath_is_searched_for_an_extension"
    host = folder / "bin" / "host"
    tree, real = as_imported(host, folder / "ext" / "ext.so")
    lib = node(tree, "libhostlib.so")
    assert lib.rule == "executable-rpath" and lib.via == str(host)
    assert lib.path == str(folder / "bin" / ".." / "lib" / "libhostlib.so")
    assert real["error"] is None
    tree, real = as_imported(host, folder / "ext" / "ext_runpath.so")
    lib = node(tree, "libhostlib.so")
    assert lib.error == "not found"
    assert any(c.rule == "rpath" and c.via == str(host) and c.outcome == "not-searched"
               for c in lib.candidates)
    assert "libhostlib.so: cannot open shared object file" in real["error"]
    # Standalone (as ldd sees the extension) there is no executable RPATH at all.
    tree = resolve(str(folder / "ext" / "ext.so"), host_system(), mode="standalone")
    assert node(tree, "libhostlib.so").error == "not found"


def test_ld_library_path_comes_after_rpath_and_before_runpath(built, driver):
    folder = built / "ld_library_path_comes_after_rpath_and_before_runpath"
    env = dict(CLEAN_ENV, LD_LIBRARY_PATH=str(folder / "l"))
    tree, _ = standalone(folder / "with_rpath.so", env=env)
    assert node(tree, "libd.so").rule == "rpath"
    tree, _ = standalone(folder / "with_runpath.so", env=env)
    d = node(tree, "libd.so")
    assert d.rule == "ld-library-path" and d.path == str(folder / "l" / "libd.so")
    as_imported(driver, folder / "with_runpath.so", env=env)
    tree, _ = standalone(folder / "with_runpath.so")
    assert node(tree, "libd.so").rule == "runpath"


def test_a_name_with_a_slash_is_opened_directly(built, driver):
    folder = built / "a_name_with_a_slash_is_opened_directly"
    tree, _ = standalone(folder / "libroot.so")
    n = node(tree, str(folder / "sub" / "libnoso.so"))
    assert n.rule == "direct-path" and n.path == n.name
    as_imported(driver, folder / "libroot.so")


def test_glibc_hwcaps_subfolders_come_first(built, driver):
    folder = built / "glibc_hwcaps_subfolders_come_first"
    tree, _ = standalone(folder / "libroot.so")
    hw = node(tree, "libhw.so")
    import subprocess

    helptext = subprocess.run(["/lib64/ld-linux-x86-64.so.2", "--help"], capture_output=True, text=True).stdout
    searched = [line.split()[0] for line in helptext.split("Subdirectories of glibc-hwcaps")[1].split("\n\n")[0]
                .splitlines()[1:] if "searched" in line]
    assert list(tree.hwcaps) == searched   # the loader's own list, whatever this CPU supports
    if "x86-64-v2" in tree.hwcaps:
        assert hw.path == str(folder / "d" / "glibc-hwcaps" / "x86-64-v2" / "libhw.so")
    else:
        assert hw.path == str(folder / "d" / "libhw.so")
    as_imported(driver, folder / "libroot.so")


def test_a_file_that_is_not_elf_stops_the_search(built, driver):
    folder = built / "a_file_that_is_not_elf_stops_the_search"
    tree = resolve(str(folder / "libroot.so"), host_system(), mode="standalone")
    dep = node(tree, "libdep.so")
    assert dep.path == str(folder / "bad" / "libdep.so")
    assert dep.error.startswith("invalid ELF header") and "Git LFS" in dep.error
    assert [c.outcome for c in dep.candidates] == ["refused"]
    (problem,) = problems(tree)
    assert problem.kind == "unloadable-library"
    real = run_driver(driver, [str(folder / "libroot.so")])
    assert "invalid ELF header" in real["error"]


def test_dependency_loops_are_loaded_once(built, driver):
    folder = built / "dependency_loops_are_loaded_once"
    tree, _ = standalone(folder / "liba.so")
    b = node(tree, "libb.so")
    (back,) = b.children[:1]
    assert back.name == "liba.so" and back.path == str(folder / "liba.so")
    as_imported(driver, folder / "liba.so")


def test_json_view_is_plain_data(built):
    import json

    root = built / "a_missing_library_lists_every_place_tried" / "libroot.so"
    tree = resolve(str(root), host_system(), mode="standalone")
    data = json.loads(json.dumps(tree_to_dict(tree)))
    assert data["ok"] is False and data["problems"][0]["name"] == "libnothere.so.1"
    assert data["root"]["children"][0]["candidates"][0]["reason"] == "no such folder"


def test_modelled_machine_under_a_root_folder(built, tmp_path):
    """The same rule, with the machine's files under a folder: paths are the machine's own."""
    import shutil

    src = built / "rpath_is_inherited_from_the_loader_chain" / "top"
    shutil.copytree(src, tmp_path / "opt" / "app", symlinks=True)
    system = System.model("linux", str(tmp_path))
    tree = resolve("/opt/app/libtop.so", system, mode="standalone")
    dep = node(tree, "libdep.so")
    assert dep.path == "/opt/app/x/libdep.so" and dep.rule == "rpath-of-0"
    libc = node(tree, "libc.so.6")
    assert libc.error == "not found" and not any(c.path.startswith(str(tmp_path)) for c in libc.candidates)


def live_loader_platform():
    """$PLATFORM as this machine's own loader states it (glibc >= 2.33): the oracle, whatever the CPU."""
    import subprocess

    out = subprocess.run(["/lib64/ld-linux-x86-64.so.2", "--list-diagnostics"], capture_output=True,
                         text=True, check=True).stdout
    return next(line.split('"')[1] for line in out.splitlines() if line.startswith("dl_platform="))


def test_origin_lib_and_platform_tokens_are_expanded(built, driver):
    folder = built / "origin_lib_and_platform_tokens_are_expanded"
    tree, _ = standalone(folder / "libroot.so")   # the same file ldd finds, on any CPU
    p = node(tree, "libp.so")
    assert p.rule == "rpath" and "$" not in p.path
    assert p.path.endswith(f"/p/{live_loader_platform()}/libp.so")
    lib = node(tree, "libl.so")
    assert lib.rule == "rpath" and "$" not in lib.path
    as_imported(driver, folder / "libroot.so")


def test_legacy_hwcap_subfolders_are_searched_before_glibc_2_37(built, driver):
    folder = built / "legacy_hwcap_subfolders_are_searched_before_glibc_2_37"
    tree, ldd = standalone(folder / "libroot.so")   # ldd's choice among d/, d/tls/x86_64/, d/haswell/ ...
    as_imported(driver, folder / "libroot.so")
    leg = node(tree, "libleg.so")
    tried = [c.path for c in leg.candidates if c.outcome == "found"]
    assert tried == [leg.path]


def _model_intel(tmp_path, built, cpu_vendor, flags, glibc):
    """A modelled machine holding the two $PLATFORM fixtures, an ld.so of the stated glibc version and
    a /proc/cpuinfo of the stated CPU: the loader's answer comes from glibc's rule, not from this host."""
    import shutil

    root = tmp_path / f"{cpu_vendor}-{glibc}"
    for name in ("origin_lib_and_platform_tokens_are_expanded",
                 "legacy_hwcap_subfolders_are_searched_before_glibc_2_37"):
        shutil.copytree(built / name, root / "opt" / name, symlinks=True)
    (root / "lib64").mkdir(parents=True)
    (root / "lib64" / "ld-linux-x86-64.so.2").write_bytes(
        b"\x7fELF junk ld.so (GNU libc) stable release version " + glibc.encode() + b".\0")
    (root / "proc").mkdir()
    (root / "proc" / "cpuinfo").write_text(f"vendor_id\t: {cpu_vendor}\nflags\t\t: {' '.join(flags)}\n")
    return System.model("linux", str(root), environ=CLEAN_ENV)


HASWELL = "fpu sse2 ssse3 sse4_1 sse4_2 popcnt cx16 lahf_lm avx avx2 bmi1 bmi2 fma abm movbe f16c xsave".split()


@pytest.mark.parametrize("vendor, glibc, platform, leg", [
    ("GenuineIntel", "2.36", "haswell", "tls/x86_64"),
    ("AuthenticAMD", "2.36", "x86_64", "tls/x86_64"),
    ("GenuineIntel", "2.37", "x86_64", "."),
])
def test_platform_of_a_modelled_machine_follows_glibcs_rule_for_its_cpu(built, tmp_path, vendor, glibc,
                                                                       platform, leg):
    system = _model_intel(tmp_path, built, vendor, HASWELL, glibc)
    tree = resolve("/opt/origin_lib_and_platform_tokens_are_expanded/libroot.so", system, mode="standalone")
    assert node(tree, "libp.so").path.endswith(f"/p/{platform}/libp.so")
    tree = resolve("/opt/legacy_hwcap_subfolders_are_searched_before_glibc_2_37/libroot.so", system,
                   mode="standalone")
    want = "/d/libleg.so" if leg == "." else f"/d/{leg}/libleg.so"
    assert node(tree, "libleg.so").path.endswith(want)


def test_legacy_subfolder_order_is_glibcs():
    from dllmagic.facts.native.loader.linux.platform import legacy_subfolders

    assert legacy_subfolders(("tls", "haswell", "x86_64")) == (
        "tls/haswell/x86_64", "tls/haswell", "tls/x86_64", "tls", "haswell/x86_64", "haswell", "x86_64")


def test_a_cache_written_by_ldconfig_is_read_like_ldconfig_prints_it(built, tmp_path):
    """A real cache (with a glibc-hwcaps entry) made by ldconfig -r in a modelled root."""
    import shutil
    import subprocess

    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    src = built / "glibc_hwcaps_subfolders_come_first" / "d"
    shutil.copytree(src, tmp_path / "opt" / "hw")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "ld.so.conf").write_text("/opt/hw\n")
    # ldconfig only takes files named like libNAME.so.N (the cache key is the SONAME, libhw.so)
    for d in (tmp_path / "opt" / "hw", tmp_path / "opt" / "hw" / "glibc-hwcaps" / "x86-64-v2"):
        (d / "libhw.so").rename(d / "libhw.so.1")
    proc = subprocess.run([ldconfig, "-r", str(tmp_path), "-X"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    from dllmagic.facts.native.loader.ldcache import load_ld_cache

    system = System.model("linux", str(tmp_path))
    cache = load_ld_cache(system)
    listed = subprocess.run([ldconfig, "-r", str(tmp_path), "-p"], capture_output=True, text=True).stdout
    want = sorted(line.split(" => ")[1].strip() for line in listed.splitlines() if " => " in line)
    assert sorted(e.path for e in cache.entries) == want
    assert {e.hwcaps for e in cache.entries} == {None, "x86-64-v2"}
    best = cache.lookup("libhw.so", flags=0x0303, hwcaps=("x86-64-v3", "x86-64-v2"))
    # (which file name each entry carries is ldconfig's choice; the set matched ldconfig -p above)
    assert best.path.startswith("/opt/hw/glibc-hwcaps/x86-64-v2/libhw.so")
    plain = cache.lookup("libhw.so", flags=0x0303, hwcaps=())
    assert plain.path.startswith("/opt/hw/libhw.so")


def test_musl_searches_ld_library_path_first_and_walks_the_loader_chain(built):
    import subprocess

    folder = built / "musl_searches_ld_library_path_first_and_walks_the_loader_chain"
    if (folder / "SKIPPED").exists():
        pytest.skip("musl-gcc is not installed (apt: musl-tools)")
    app = folder / "top" / "app"
    interp = read_interp(app)
    for env in (CLEAN_ENV, dict(CLEAN_ENV, LD_LIBRARY_PATH=str(folder / "l"))):
        tree = resolve(str(app), host_system(env), mode="standalone")
        assert tree.loader == "musl"
        proc = subprocess.run([interp, "--list", str(app)], env=env, capture_output=True, text=True)
        from native_oracles import _LDD_LINE

        theirs = [(m.group(1), None if m.group(2) else m.group(3))
                  for m in map(_LDD_LINE.match, proc.stdout.splitlines()) if m]
        mine, seen = [], set()
        for n in first_nodes(tree):  # each object once, as musl lists it
            if n.path not in seen:
                seen.add(n.path)
                mine.append((n.name, n.path))
        assert mine == theirs, format_tree(tree, verbose=True) + proc.stdout
        d = node(tree, "libd.so")
        if "LD_LIBRARY_PATH" in env:
            assert d.rule == "ld-library-path"
        else:
            assert d.rule == "rpath-of-0" and d.path == str(folder / "top" / ".." / "r" / "libd.so")
        assert node(tree, "libc.so").rule == "already-loaded"


def read_interp(path):
    from dllmagic.facts.native.binary import read_binary

    return read_binary(str(path)).interp


def test_a_program_met_below_itself_is_loaded_again(built):
    """Run as a program (ldd), a library that is the same file as the program is loaded again: the
    program's inode is not compared, only its SONAME answers. Two programs with the same needs share
    the work below them; the tree made for the first must fit the second exactly."""
    from dllmagic.facts.native.loader import loader_for, tree_to_dict

    folder = built / "a_program_met_below_itself_is_that_same_file"
    env = dict(CLEAN_ENV, LD_LIBRARY_PATH=str(folder))
    shared = loader_for(host_system(env))
    first = shared.resolve(str(folder / "p1.so"), mode="standalone")
    assert node(first, "libprog.so").path == str(folder / "libprog.so") and not node(first, "libprog.so").repeat
    assert shared._templates, "p1.so should leave a reusable tree"
    prog = folder / "libprog.so"
    second = shared.resolve(str(prog), mode="standalone")
    again = node(second, "libx.so").children[0]
    assert (again.name, again.path, again.repeat) == ("libprog.so", str(prog), False)
    assert compare_with_ldd(second, run_ldd(str(prog), env=env)) == []
    assert tree_to_dict(second) == tree_to_dict(resolve(str(prog), host_system(env), mode="standalone"))


def test_ld_preload_objects_load_first_and_answer_by_soname(built, driver, tmp_path):
    folder = built / "ld_preload_objects_load_first_and_answer_by_soname"
    top = folder / "libtop.so"
    preloaded = folder / "b" / "libdep.so.1"
    # By path, by a name found through LD_LIBRARY_PATH, and one that is nowhere (ignored, as ld.so does).
    env = dict(CLEAN_ENV, LD_PRELOAD=f"{preloaded} libextra.so:libnowhere.so.9",
               LD_LIBRARY_PATH=str(folder / "extra"))
    tree, ldd = standalone(top, env=env)                    # the same list, in the same order, as ldd
    assert [n.name for n in tree.root.children] == [str(preloaded), "libextra.so", "libdep.so.1", "libc.so.6"]
    assert "preloaded from LD_PRELOAD" in tree.root.children[0].notes
    mine = tree.root.children[2]
    assert mine.path == str(preloaded) and mine.repeat      # answered by the preloaded copy's SONAME
    # The preloads' own needs come after the program's (libx.so.1 after libc.so.6), as ld.so loads them.
    assert [n for n, _p in ldd["entries"]][-2:] == ["libc.so.6", "libx.so.1"]
    assert any("libnowhere.so.9 from LD_PRELOAD cannot be preloaded" in n for n in tree.notes)
    assert "libnowhere.so.9" in ldd["text"] and problems(tree) == ()
    # As python would import it: the preloads are in the process before the import, and win.
    imported, real = as_imported(driver, top, env=env)
    assert node(imported, "libdep.so.1").rule == "already-loaded"
    assert node(imported, "libdep.so.1").path == str(preloaded)


def test_etc_ld_so_preload_is_read_after_ld_preload(built, tmp_path):
    """/etc/ld.so.preload of a modelled machine: names split on white space and colons, # comments."""
    folder = built / "ld_preload_objects_load_first_and_answer_by_soname"
    root = tmp_path / "machine"
    (root / "etc").mkdir(parents=True)
    (root / "opt").mkdir()
    for p in ("libtop.so", "a/libdep.so.1", "b/libdep.so.1", "extra/libx.so.1", "extra/libextra.so"):
        (root / "opt" / p).parent.mkdir(parents=True, exist_ok=True)
        (root / "opt" / p).write_bytes((folder / p).read_bytes())
    (root / "etc" / "ld.so.preload").write_text("# site-wide\n/opt/b/libdep.so.1 # the old one\n\t/opt/extra/libextra.so:")
    system = System.model("linux", str(root), environ={"LD_PRELOAD": "/opt/extra/libx.so.1"})
    tree = resolve("/opt/libtop.so", system, mode="standalone")
    firsts = [(n.name, n.notes[-1]) for n in tree.root.children[:3]]
    assert firsts == [("/opt/extra/libx.so.1", "preloaded from LD_PRELOAD"),
                      ("/opt/b/libdep.so.1", "preloaded from /etc/ld.so.preload"),
                      ("/opt/extra/libextra.so", "preloaded from /etc/ld.so.preload")]
    (dep,) = [n for n in tree.root.children if n.name == "libdep.so.1"]
    assert dep.path == "/opt/b/libdep.so.1" and dep.repeat


def test_a_missing_distribution_library_names_its_packages(tmp_path):
    """libgomp.so.1 missing on a modelled machine: the node names the packages of
    dllmagic/knowledge/library_providers.json, as the report does."""
    import subprocess

    build = tmp_path / "build"
    build.mkdir()
    (build / "g.c").write_text("int omp_get_max_threads(void) { return 1; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(build / "libgomp.so.1"), str(build / "g.c"),
                    "-Wl,-soname,libgomp.so.1"], check=True)
    (build / "u.c").write_text("int omp_get_max_threads(void); int u(void) { return omp_get_max_threads(); }\n")
    root = tmp_path / "root"
    (root / "opt").mkdir(parents=True)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(root / "opt" / "libuser.so"), str(build / "u.c"),
                    str(build / "libgomp.so.1"), "-nostdlib"], check=True)
    tree = resolve("/opt/libuser.so", System.model("linux", str(root)), mode="standalone")
    gomp = node(tree, "libgomp.so.1")
    assert gomp.error == "not found"
    assert any("apt libgomp1" in n and "dnf libgomp" in n for n in gomp.notes), gomp.notes
