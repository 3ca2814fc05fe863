"""Small hostile files cannot make the reader use gigabytes or minutes, and deep chains cannot overflow.

The files are built here, byte by byte, the way the red-team pass built them (issue #13 items 5 and 8):
a 316 KB PE whose 4,096 import descriptors all share one table of thousands of thunks, a 650 KB ELF whose
DT_VERNEED records all share one long aux chain, an ELF whose 20,000 symbols all name one 64 KB string.
Each is resolved by ``dlldoctor deps`` in a child process; its peak memory and time are measured.
The chain is 500 real gcc-built libraries, each needing the next, compared with ldd.
"""
from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from native_oracles import CLEAN_ENV, compare_with_ldd, run_ldd
from dllmagic.facts.native.binary import clear_cache, read_binary
from dllmagic.facts.native.loader import format_tree, problems, resolve, tree_to_json, walk
from dllmagic.facts.system import System

PEAK_MB = 200
SECONDS = 30
BUDGET = "exceed this file's reading budget"


def run_measured(argv):
    """(exit status, stdout, peak memory in MB, seconds) of ``argv`` run in a fresh child process."""
    probe = ("import resource, subprocess, sys, time, json\n"
             "t = time.time(); p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "print(json.dumps([p.returncode, p.stdout, p.stderr, time.time() - t,"
             " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))")
    out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=300)
    rc, stdout, stderr, seconds, kb = json.loads(out.stdout)
    return rc, stdout, stderr, kb / 1024, seconds


def dlldoctor(*args):
    return [sys.executable, "-m", "dllmagic", "deps", *args]


# -- the files ------------------------------------------------------------------------------------------

def hostile_pe(descriptors=4096, size=316 * 1024) -> bytes:
    """A PE32 DLL: ``descriptors`` import descriptors, all naming one DLL and one lookup table that fills
    the rest of the file, every entry naming one 4,000-byte function name."""
    data = bytearray(size)
    data[0:2] = b"MZ"
    struct.pack_into("<I", data, 0x3C, 0x80)
    data[0x80:0x84] = b"PE\0\0"
    opt_size = 224
    struct.pack_into("<HHIIIHH", data, 0x84, 0x14C, 1, 0, 0, 0, opt_size, 0x2102)
    opt = 0x98
    struct.pack_into("<H", data, opt, 0x10B)                       # PE32
    struct.pack_into("<I", data, opt + 28, 0x10000000)             # ImageBase
    struct.pack_into("<I", data, opt + 60, 0x400)                  # SizeOfHeaders
    struct.pack_into("<H", data, opt + 68, 3)                      # console
    struct.pack_into("<I", data, opt + 92, 16)                     # data directories
    raw = 0x400
    va = 0x1000
    desc_rva = va
    name_rva = va + 20 * (descriptors + 1)
    dll_name = b"evil.dll\0"
    fn_rva = name_rva + 16
    fn = b"\0\0" + b"A" * 4000 + b"\0"
    table_rva = (fn_rva + len(fn) + 7) & ~7
    struct.pack_into("<II", data, opt + 96 + 8, desc_rva, 20 * descriptors)   # import directory
    sect = opt + opt_size
    data[sect:sect + 8] = b".rdata\0\0"
    struct.pack_into("<IIII", data, sect + 8, size - raw, va, size - raw, raw)
    struct.pack_into("<I", data, sect + 36, 0x40000040)
    off = lambda rva: raw + rva - va  # noqa: E731
    for i in range(descriptors):
        struct.pack_into("<IIIII", data, off(desc_rva) + 20 * i, table_rva, 0, 0, name_rva, table_rva)
    data[off(name_rva):off(name_rva) + len(dll_name)] = dll_name
    data[off(fn_rva):off(fn_rva) + len(fn)] = fn
    n = (size - off(table_rva)) // 4 - 1
    struct.pack_into(f"<{n}I", data, off(table_rva), *([fn_rva] * n))
    return bytes(data)


def _elf(dynamic, blobs, size):
    """An ELF64 shared object: one PT_LOAD over the whole file (addresses = offsets), PT_DYNAMIC at 512
    with the (tag, value) list ``dynamic``, and ``blobs`` {offset: bytes}."""
    data = bytearray(size)
    data[0:16] = b"\x7fELF\x02\x01\x01" + b"\0" * 9
    struct.pack_into("<HHIQQQIHHHHHH", data, 16, 3, 62, 1, 0, 64, 0, 0, 64, 56, 2, 64, 0, 0)
    struct.pack_into("<IIQQQQQQ", data, 64, 1, 5, 0, 0, 0, size, size, 0x1000)           # PT_LOAD
    struct.pack_into("<IIQQQQQQ", data, 120, 2, 6, 512, 512, 512, 16 * (len(dynamic) + 1),
                     16 * (len(dynamic) + 1), 8)                                          # PT_DYNAMIC
    for i, (tag, val) in enumerate(dynamic):
        struct.pack_into("<qQ", data, 512 + 16 * i, tag, val)
    for at, blob in blobs.items():
        data[at:at + len(blob)] = blob
    return bytes(data)


def hostile_verneed(records=20000, aux=20000) -> bytes:
    """650 KB: ``records`` DT_VERNEED entries, each claiming ``aux`` versions and all pointing at one
    shared chain of ``aux`` vernaux records (records x aux = 400 million versions if read naively)."""
    strtab = b"\0libc.so.6\0GLIBC_2.2.5\0"
    v = 4096
    a = v + 16 * records
    size = a + 16 * aux
    body = bytearray()
    for i in range(records):
        body += struct.pack("<HHIII", 1, aux, 1, a - (v + 16 * i), 16 if i + 1 < records else 0)
    chain = bytearray()
    for i in range(aux):
        chain += struct.pack("<IHHII", 0, 0, 2, 11, 16 if i + 1 < aux else 0)
    dyn = [(5, 256), (10, len(strtab)), (0x6FFFFFFE, v), (0x6FFFFFFF, records)]
    return _elf(dyn, {256: strtab, v: bytes(body), a: bytes(chain)}, size)


def hostile_symbol_names(count=20000, name_len=64 * 1024) -> bytes:
    """``count`` undefined symbols that all name one ``name_len``-byte string (1.3 GB of names naively)."""
    strtab = b"\0" + b"s" * name_len + b"\0"
    st = 4096
    sym = st + len(strtab) + 8 & ~7
    hashtab = sym + 24 * count
    size = hashtab + 8 + 4 + 4 * count
    syms = b"\0" * 24 + struct.pack("<IBBHQQ", 1, (1 << 4) | 2, 0, 0, 0, 0) * (count - 1)
    hash_ = struct.pack("<III", 1, count, 0) + b"\0" * 4 * count
    dyn = [(5, st), (10, len(strtab)), (6, sym), (11, 24), (4, hashtab)]
    return _elf(dyn, {st: strtab, sym: syms, hashtab: hash_}, size)


# -- budgets --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, name, platform", [
    (hostile_pe, "C/evil/evil.dll", "windows"),
    (hostile_verneed, "opt/evil/libverneed.so", "linux"),
    (hostile_symbol_names, "opt/evil/names.cpython-311-x86_64-linux-gnu.so", "linux"),
])
def test_a_small_hostile_file_stays_within_memory_and_time(tmp_path, make, name, platform):
    data = make()
    assert len(data) < 700 * 1024
    host = tmp_path / name
    host.parent.mkdir(parents=True)
    host.write_bytes(data)
    machine_path = ("C:\\" + name[2:].replace("/", "\\")) if platform == "windows" else "/" + name
    for extra in ((), ("--json",), ("--standalone", "-v")):
        rc, out, err, peak, seconds = run_measured(
            dlldoctor("--root", str(tmp_path), "--platform", platform, "--no-cache", *extra, machine_path))
        assert rc in (0, 1), err[-3000:]
        assert peak < PEAK_MB, f"{peak:.0f} MB for {name} {extra}"
        assert seconds < SECONDS, f"{seconds:.1f} s for {name} {extra}"
        if make is not hostile_symbol_names or "--standalone" not in extra:   # (symbols: as imported)
            assert BUDGET in out, out[-3000:]


def test_the_budgets_never_touch_real_files(built):
    """Every library of the loader fixtures and the system's libc read without a budget note."""
    clear_cache()
    host = System.model("linux", "/")
    files = [p for p in built.rglob("*.so") if p.is_file()] + [Path("/lib/x86_64-linux-gnu/libc.so.6"),
                                                               Path("/lib/x86_64-linux-gnu/libstdc++.so.6")]
    for p in files:
        if not p.exists():
            continue
        b = read_binary(str(p), host)
        _ = b.imported_symbols, b.exported_symbols, b.versions_needed
        assert not any(BUDGET in n for n in tuple(b.notes) + tuple(b.symbol_notes)), p


# -- a chain of 500 libraries ---------------------------------------------------------------------------

CHAIN = 500


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> Path:
    """lib0.so needs lib1.so ... needs lib499.so (RUNPATH $ORIGIN), built with gcc: first every library
    alone (to link against), then each again with its DT_NEEDED."""
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed")
    out = tmp_path_factory.mktemp("chain")
    src = out / "f.c"
    src.write_text("int f(void) { return 1; }\n")
    obj = out / "f.o"
    subprocess.run(["gcc", "-c", "-fPIC", "-o", str(obj), str(src)], check=True)
    stage = out / "final"
    stage.mkdir()

    def link(i, folder, with_next):
        argv = ["gcc", "-shared", "-nostdlib", "-o", str(folder / f"lib{i}.so"), str(obj),
                f"-Wl,-soname,lib{i}.so", "-Wl,--no-as-needed", "-Wl,--enable-new-dtags,-rpath,$ORIGIN"]
        if with_next and i + 1 < CHAIN:
            argv += [f"-L{out}", f"-l{i + 1}"]
        subprocess.run(argv, check=True, capture_output=True)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda i: link(i, out, False), range(CHAIN)))
        # each library again with its DT_NEEDED, linked against the plain ones
        list(pool.map(lambda i: link(i, stage, True), range(CHAIN)))
    return stage


def test_a_chain_of_500_libraries_is_resolved_without_recursion(chain):
    top = chain / "lib0.so"
    tree = resolve(str(top), System.model("linux", "/", environ=CLEAN_ENV), mode="standalone", symbols=True)
    depth = max(n.depth for n in walk(tree.root))
    assert depth == CHAIN - 1   # lib499.so, 499 levels below lib0.so
    assert compare_with_ldd(tree, run_ldd(str(top), env=CLEAN_ENV)) == []
    assert problems(tree) == ()
    assert tree.symbols_checked
    text = format_tree(tree)
    assert "lib499.so => " in text
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20000)   # json's decoder recurses; only the writer had to be iterative
    try:
        data = json.loads(tree_to_json(tree))
    finally:
        sys.setrecursionlimit(limit)
    assert data["ok"] and data["root"]["name"] == str(top)
    n, node = 0, data["root"]
    while node["children"]:
        node = next(c for c in node["children"] if c["name"].startswith("lib") and c["name"][3].isdigit())
        n += 1
    assert n == CHAIN - 1 and node["name"] == f"lib{CHAIN - 1}.so"
    imported = resolve(str(top), System.model("linux", "/", environ=CLEAN_ENV), mode="as-imported")
    assert problems(imported) == ()


def test_the_cli_answers_for_a_500_library_chain(chain):
    for extra in ((), ("--json",), ("-v",)):
        rc, out, err, peak, seconds = run_measured(dlldoctor("--no-cache", *extra, str(chain / "lib0.so")))
        assert rc == 0, err[-3000:]
        assert "RecursionError" not in out + err
        assert "lib499.so" in out
