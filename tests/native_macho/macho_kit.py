"""Fixtures for the dyld model tests: clang/ld64.lld-built Mach-O files, modelled macOS machines, real
macOS wheels (arm64, x86_64, universal2) downloaded into the test cache, and the two oracles
(macholib and ``llvm-objdump --macho``)."""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "native_pe"))
from pe_kit import CACHE, download_wheels, unpack  # noqa: E402  (the PE suite's wheel helpers)

#: (wheel platform tag, packages): Pillow bundles .dylibs reached through @loader_path; MarkupSafe is
#: a small universal2 (fat) extension.
MAC_WHEELS = {"macosx_11_0_arm64": ("pillow",), "macosx_10_13_x86_64": ("pillow",),
              "macosx_10_9_universal2": ("markupsafe",)}


def llvm_tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/llvm-*/bin/{name}"))), None)
    if found is None:
        pytest.fail(f"{name} is needed: run tests/native_pe/setup.sh (apt: clang, lld, llvm)")
    return found


@pytest.fixture(scope="session")
def macho_built(tmp_path_factory) -> Path:
    llvm_tool("ld64.lld")
    llvm_tool("llvm-lipo")
    if shutil.which("clang") is None:
        pytest.fail("clang is needed: run tests/native_pe/setup.sh")
    out = tmp_path_factory.mktemp("macho-fixtures")
    proc = subprocess.run(["sh", str(HERE / "fixtures" / "build.sh"), str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture(scope="session")
def mac_wheels(tmp_path_factory) -> Dict[str, Path]:
    """"<package>-<tag>" -> unpacked wheel folder."""
    base = tmp_path_factory.mktemp("mac-wheels")
    out = {}
    for tag, names in MAC_WHEELS.items():
        for name, wheel in zip(names, download_wheels(tag, names, CACHE / "wheels" / "macos" / tag)):
            out[f"{name}-{tag}"] = unpack(wheel, base / f"{name}-{tag}")
    return out


class MacMachine:
    """A modelled macOS machine under ``base/files``, described by ``base/machine.json``."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "files"
        self.root.mkdir(parents=True, exist_ok=True)
        self.description = {"platform": "macos", "root": "files", "machine": "arm64",
                            "environ": {}, "python": {"executable": "/opt/py/bin/python3.11", "version": "3.11"},
                            "macos": {"version": "14.5"}}

    def put(self, path: str, source: Path) -> str:
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, target)
        return path

    def load(self, **overrides):
        from dllmagic.facts.native.machine import load_machine

        desc = json.loads(json.dumps(self.description))
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(desc.get(key), dict):
                desc[key].update(value)
            else:
                desc[key] = value
        path = self.base / "machine.json"
        path.write_text(json.dumps(desc))
        return load_machine(str(path))


@pytest.fixture
def mac(tmp_path):
    return MacMachine(tmp_path)


def macholib_view(path: Path) -> List[dict]:
    """Per slice: arch, install name, dylibs (name, kind), rpaths - as macholib reads them."""
    from macholib import mach_o
    from macholib.MachO import MachO

    kinds = {mach_o.LC_LOAD_DYLIB: "load", mach_o.LC_LOAD_WEAK_DYLIB: "weak",
             mach_o.LC_REEXPORT_DYLIB: "reexport", mach_o.LC_LAZY_LOAD_DYLIB: "lazy",
             mach_o.LC_LOAD_UPWARD_DYLIB: "upward"}
    out = []
    for header in MachO(str(path)).headers:
        dylibs, rpaths, ident = [], [], None
        for lc, cmd, data in header.commands:
            name = data.split(b"\0")[0].decode() if isinstance(data, bytes) else None
            if lc.cmd in kinds:
                dylibs.append((name, kinds[lc.cmd], int(cmd.compatibility_version._version)))
            elif lc.cmd == mach_o.LC_RPATH:
                rpaths.append(name)
            elif lc.cmd == mach_o.LC_ID_DYLIB:
                ident = name
        out.append({"cputype": header.header.cputype, "dylibs": dylibs, "rpaths": rpaths, "id": ident})
    return out


def objdump_dylibs(path: Path) -> List[str]:
    text = subprocess.run([llvm_tool("llvm-objdump"), "--macho", "--dylibs-used", str(path)],
                          capture_output=True, text=True, check=True).stdout
    return [line.strip().split(" (compatibility")[0] for line in text.splitlines()[1:] if line.startswith("\t")]
