"""Real wheels for the wheel-check tests: extension modules compiled here (gcc, musl-gcc, mingw-w64,
clang + ld64.lld) and zipped with the layout auditwheel / delvewheel / delocate give them."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence

import pytest

CACHE = Path(os.environ.get("DLLMAGIC_TEST_CACHE", Path.home() / ".cache" / "dllmagic-tests"))


def need(tool: str) -> str:
    found = shutil.which(tool) or next(iter(sorted(glob.glob(f"/usr/lib/llvm-*/bin/{tool}"))), None)
    if found is None:
        pytest.fail(f"{tool} is needed (gcc, musl-tools, mingw-w64, clang and lld: tests/native_pe/setup.sh)")
    return found


def run(cmd: Sequence[str], cwd: Optional[Path] = None) -> None:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, cwd=cwd)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}"


def elf_library(out: Path, name: str, source: str, *, cc: str = "gcc", libs: Iterable[str] = (),
                rpath: Optional[str] = None, soname: Optional[str] = None, flags: Iterable[str] = ()) -> Path:
    """A shared object built by ``cc`` from C ``source``, linked with ``libs`` (-L/-l arguments)."""
    out.mkdir(parents=True, exist_ok=True)
    src = out / (name + ".c")
    src.write_text(source)
    target = out / name
    cmd = [need(cc), "-shared", "-fPIC", "-O1", "-o", str(target), str(src), *flags]
    if soname:
        cmd.append(f"-Wl,-soname,{soname}")
    if rpath:
        cmd.append(f"-Wl,-rpath,{rpath}")
    cmd += list(libs)
    run(cmd)
    return target


def pe_library(out: Path, name: str, source: str, *, cc: str = "x86_64-w64-mingw32-gcc", libs: Iterable[str] = (),
               flags: Iterable[str] = ()) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    src = out / (name + ".c")
    src.write_text(source)
    target = out / name
    run([need(cc), "-shared", "-O1", "-o", str(target), str(src), *flags, *libs])
    return target


def macho_library(out: Path, name: str, source: str, *, arch: str = "arm64", min_os: str = "11.0",
                  dylibs: Iterable[str] = (), install_name: Optional[str] = None, rpaths: Iterable[str] = ()) -> Path:
    """A Mach-O dylib/bundle built with clang and ld64.lld; ``dylibs`` are install names it links
    (each made from a stub built here, so the link needs no macOS SDK)."""
    out.mkdir(parents=True, exist_ok=True)
    target_triple = {"arm64": "arm64-apple-macos", "x86_64": "x86_64-apple-macos"}[arch] + min_os
    obj = out / (name + ".o")
    src = out / (name + ".c")
    src.write_text(source)
    run(["clang", "-target", target_triple, "-O1", "-c", str(src), "-o", str(obj)])
    stubs = []
    for i, install in enumerate(dylibs):
        stub_src = out / f"stub{i}.c"
        stub_src.write_text("int stub_%d(void) { return %d; }\n" % (i, i))
        stub_obj = out / f"stub{i}.o"
        run(["clang", "-target", target_triple, "-c", str(stub_src), "-o", str(stub_obj)])
        stub = out / f"stub{i}.dylib"
        run([need("ld64.lld"), "-arch", arch, "-platform_version", "macos", min_os, min_os, "-dylib",
             "-install_name", install, "-o", str(stub), str(stub_obj)])
        stubs.append(str(stub))
    target = out / name
    cmd = [need("ld64.lld"), "-arch", arch, "-platform_version", "macos", min_os, min_os, "-dylib",
           "-undefined", "dynamic_lookup", "-o", str(target), str(obj), *stubs]
    if install_name:
        cmd += ["-install_name", install_name]
    for r in rpaths:
        cmd += ["-rpath", r]
    run(cmd)
    return target


def make_wheel(out: Path, filename: str, files: Dict[str, object], *, compression=zipfile.ZIP_DEFLATED) -> Path:
    """A wheel ``filename`` holding ``files`` (archive path -> Path or bytes or str), with its dist-info."""
    out.mkdir(parents=True, exist_ok=True)
    dist, version = filename.split("-")[:2]
    tag = "-".join(filename[:-4].split("-")[-3:])
    info = f"{dist}-{version}.dist-info"
    path = out / filename
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, content in files.items():
            if isinstance(content, Path):
                zf.write(content, name)
            else:
                zf.writestr(name, content)
        zf.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        zf.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: wheel_kit\nRoot-Is-Purelib: false\nTag: {tag}\n")
        zf.writestr(f"{info}/RECORD", "")
    return path


def download_wheel(platform: str, name: str, python_version: str = "3.11") -> Path:
    """A real wheel from the package index (pip download once into the test cache)."""
    folder = CACHE / "pip" / "wheels-check" / platform
    folder.mkdir(parents=True, exist_ok=True)
    norm = name.lower().replace("-", "_")
    hits = sorted(w for w in folder.glob("*.whl") if w.name.lower().startswith(norm + "-"))
    if not hits:
        import sys

        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
               "--platform", platform, "--python-version", python_version, "-d", str(folder), name]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"the package index does not serve {name} for {platform}: {proc.stderr[-300:]}")
        hits = sorted(w for w in folder.glob("*.whl") if w.name.lower().startswith(norm + "-"))
    assert hits, f"no {platform} wheel for {name} in {folder}"
    return hits[-1]


def dlldoctor(*args: str) -> subprocess.CompletedProcess:
    import sys

    return subprocess.run([sys.executable, "-m", "dllmagic", *args], capture_output=True, text=True, timeout=300)
