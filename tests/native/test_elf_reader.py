"""The ELF reader against pyelftools, readelf and objdump, on every fixture and on real wheels."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dllmagic.facts.native.binary import read_binary
from dllmagic.facts.native.elf import MACHINES
from native_oracles import elf_files

elftools = pytest.importorskip("elftools")
from elftools.elf.elffile import ELFFile  # noqa: E402
from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection, GNUVerSymSection  # noqa: E402




def system_samples():
    real = os.path.realpath(sys.executable)
    out = [Path(real)]
    for name in ("libc.so.6", "libstdc++.so.6", "libm.so.6", "libz.so.1"):
        p = Path("/lib/x86_64-linux-gnu") / name
        if p.exists():
            out.append(p)
    return out


# -- pyelftools ------------------------------------------------------------------------------------

def pyelftools_facts(path):
    with open(path, "rb") as fh:
        e = ELFFile(fh)
        facts = {"bits": e.elfclass, "machine": e["e_machine"], "needed": [], "rpath": [], "runpath": [],
                 "soname": None, "nodeflib": False, "interp": None}
        for seg in e.iter_segments():
            if seg["p_type"] == "PT_INTERP":
                facts["interp"] = seg.get_interp_name()
        dyn = e.get_section_by_name(".dynamic")
        if dyn is None:
            dyn = next((s for s in e.iter_segments() if s["p_type"] == "PT_DYNAMIC"), None)
        if dyn is not None:
            for tag in dyn.iter_tags():
                t = tag.entry.d_tag
                if t == "DT_NEEDED":
                    facts["needed"].append(tag.needed)
                elif t == "DT_RPATH":
                    facts["rpath"].extend(tag.rpath.split(":"))
                elif t == "DT_RUNPATH":
                    facts["runpath"].extend(tag.runpath.split(":"))
                elif t == "DT_SONAME" and facts["soname"] is None:
                    facts["soname"] = tag.soname
                elif t == "DT_FLAGS_1":
                    facts["nodeflib"] = bool(tag.entry.d_val & 0x800)
        names = {}
        need, defined = [], []
        versym = None
        for sec in e.iter_sections():
            if isinstance(sec, GNUVerNeedSection):
                for verneed, auxes in sec.iter_versions():
                    for aux in auxes:
                        need.append((verneed.name, aux.name, bool(aux["vna_flags"] & 2)))
                        names[aux["vna_other"] & 0x7FFF] = aux.name
            elif isinstance(sec, GNUVerDefSection):
                for verdef, auxes in sec.iter_versions():
                    first = next(iter(auxes)).name
                    defined.append(first)
                    if not verdef["vd_flags"] & 1:
                        names[verdef["vd_ndx"]] = first
            elif isinstance(sec, GNUVerSymSection):
                versym = sec
        facts["versions_needed"] = need
        facts["versions_defined"] = defined
        imported, exported = set(), set()
        dynsym = e.get_section_by_name(".dynsym")
        if dynsym is not None:
            for i, sym in enumerate(dynsym.iter_symbols()):
                bind = sym["st_info"]["bind"]
                if not sym.name or bind not in ("STB_GLOBAL", "STB_WEAK", "STB_GNU_UNIQUE", "STB_LOOS"):
                    continue
                version, hidden = None, False
                if versym is not None:
                    ndx = versym.get_symbol(i)["ndx"]
                    if isinstance(ndx, int):
                        hidden = bool(ndx & 0x8000)
                        if ndx & 0x7FFF >= 2:
                            version = names.get(ndx & 0x7FFF)
                if sym["st_shndx"] == "SHN_UNDEF":
                    imported.add((sym.name, version))
                else:
                    if sym["st_info"]["type"] in ("STT_SECTION", "STT_FILE"):
                        continue
                    if sym["st_other"]["visibility"] not in ("STV_DEFAULT", "STV_PROTECTED"):
                        continue
                    exported.add((sym.name, version, hidden))
        facts["imported"], facts["exported"] = imported, exported
    return facts


def check_against_pyelftools(path):
    b = read_binary(str(path))
    ref = pyelftools_facts(path)
    assert b.error is None and b.notes == ()
    assert b.bits == ref["bits"]
    assert b.interp == ref["interp"]
    assert [n.name for n in b.needed] == ref["needed"]
    assert list(b.rpath) == ref["rpath"] and list(b.runpath) == ref["runpath"]
    assert b.soname == ref["soname"]
    assert ("nodeflib" in b.flags) == ref["nodeflib"]
    assert [tuple(v) for v in b.versions_needed] == ref["versions_needed"]
    assert list(b.versions_defined) == ref["versions_defined"]
    assert {(s.name, s.version) for s in b.imported_symbols} == ref["imported"]
    assert {(s.name, s.version, s.hidden) for s in b.exported_symbols} == ref["exported"]
    assert b.symbol_notes == ()


# -- binutils --------------------------------------------------------------------------------------

def readelf_facts(path):
    d = subprocess.run(["readelf", "-dW", str(path)], capture_output=True, text=True).stdout
    out = {"needed": re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", d),
           "rpath": sum((s.split(":") for s in re.findall(r"\(RPATH\)\s+Library rpath: \[(.*)\]", d)), []),
           "runpath": sum((s.split(":") for s in re.findall(r"\(RUNPATH\)\s+Library runpath: \[(.*)\]", d)), []),
           "soname": (re.findall(r"\(SONAME\)\s+Library soname: \[(.*)\]", d) or [None])[0]}
    v = subprocess.run(["readelf", "-VW", str(path)], capture_output=True, text=True).stdout
    need = []
    section = v.split("Version needs section", 1)[1] if "Version needs section" in v else ""
    lib = None
    for line in section.splitlines():
        m = re.search(r"File: (\S+)\s+Cnt:", line)
        if m:
            lib = m.group(1)
            continue
        m = re.search(r"Name: (\S+)\s+Flags: (\S+)", line)
        if m and lib:
            need.append((lib, m.group(1), m.group(2) == "WEAK"))
    out["versions_needed"] = need
    s = subprocess.run(["readelf", "-W", "--dyn-syms", str(path)], capture_output=True, text=True).stdout
    imported, exported = set(), set()
    for line in s.splitlines():
        f = line.split()
        if len(f) < 8 or not f[0].rstrip(":").isdigit():
            continue
        _num, _val, _size, typ, bind, vis, ndx, name = f[:8]
        if bind not in ("GLOBAL", "WEAK", "UNIQUE"):
            continue
        version, hidden = None, False
        if "@@" in name:
            name, version = name.split("@@", 1)
        elif "@" in name:
            name, version = name.split("@", 1)
            hidden = ndx != "UND"
        if version is None and ndx == "ABS" and typ == "OBJECT" and _size == "0":
            version = name  # a version's own definition symbol: readelf omits "@@NAME" for it
        if ndx == "UND":
            imported.add((name, version))
        elif typ not in ("SECTION", "FILE") and vis in ("DEFAULT", "PROTECTED"):
            exported.add((name, version, hidden))
    out["imported"], out["exported"] = imported, exported
    return out


def objdump_facts(path):
    p = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True).stdout
    dyn = re.findall(r"^\s+(NEEDED|RPATH|RUNPATH|SONAME)\s+(\S+)\s*$", p, re.M)
    refs = {}
    lib = None
    if "Version References:" in p:
        for line in p.split("Version References:", 1)[1].splitlines():
            m = re.match(r"\s+required from (\S+):", line)
            if m:
                lib = m.group(1)
                continue
            m = re.match(r"\s+0x[0-9a-f]+ 0x([0-9a-f]+) \d+ (\S+)", line)
            if m and lib:
                refs.setdefault(lib, []).append(m.group(2))
            elif line.strip() and not line.startswith(" "):
                break
    return dyn, refs


def check_against_binutils(path):
    b = read_binary(str(path))
    ref = readelf_facts(path)
    assert [n.name for n in b.needed] == ref["needed"]
    assert list(b.rpath) == ref["rpath"] and list(b.runpath) == ref["runpath"]
    assert b.soname == ref["soname"]
    assert [tuple(v) for v in b.versions_needed] == ref["versions_needed"]
    assert {(s.name, s.version) for s in b.imported_symbols} == ref["imported"]
    # readelf writes "@" both for hidden definitions and for copy-relocated ones versioned by a
    # need, so only (name, version) is compared here; hidden-ness is checked against pyelftools.
    assert {(s.name, s.version) for s in b.exported_symbols} == {(n, v) for n, v, _h in ref["exported"]}
    dyn, refs = objdump_facts(path)
    mine = [("NEEDED", n.name) for n in b.needed]
    mine += [("RPATH", ":".join(b.rpath))] if b.rpath else []
    mine += [("RUNPATH", ":".join(b.runpath))] if b.runpath else []
    mine += [("SONAME", b.soname)] if b.soname else []
    assert sorted(mine) == sorted(dyn)
    by_lib = {}
    for v in b.versions_needed:
        by_lib.setdefault(v.library, []).append(v.version)
    assert by_lib == refs


def test_fixtures_read_like_pyelftools_and_binutils(built):
    files = elf_files(built)
    assert len(files) >= 30
    for path in files:
        check_against_pyelftools(path)
        check_against_binutils(path)


def test_system_libraries_read_like_pyelftools_and_binutils():
    for path in system_samples():
        check_against_pyelftools(path)
        check_against_binutils(path)


def test_real_wheels_read_like_pyelftools_and_binutils(wheel_env):
    files = elf_files(wheel_env["site"])
    assert len(files) >= 40
    for path in files:
        check_against_pyelftools(path)
        check_against_binutils(path)


def test_reader_facts_on_known_files(built):
    b = read_binary(str(built / "a_wrong_class_library_earlier_on_the_path_is_skipped" / "a32" / "libdep.so"))
    assert (b.bits, b.machine, b.kind) == (32, "i386", "shared")
    b = read_binary(str(built / "nodeflib_skips_the_cache_and_the_default_folders" / "libroot.so"))
    assert "nodeflib" in b.flags and [n.name for n in b.needed] == ["libz.so.1"]
    b = read_binary(os.path.realpath(sys.executable))
    assert b.interp and b.kind in ("pie", "executable") and b.machine == MACHINES[62]


def test_cache_is_per_path_size_and_mtime(tmp_path, built):
    src = built / "rpath_is_inherited_from_the_loader_chain" / "top" / "x" / "libdep.so"
    dst = tmp_path / "libdep.so"
    dst.write_bytes(src.read_bytes())
    first = read_binary(str(dst))
    assert read_binary(str(dst)) is first
    dst.write_bytes(b"not an elf file at all" * 4)
    os.utime(dst, ns=(1, 1))
    assert read_binary(str(dst)).error == "invalid ELF header"
