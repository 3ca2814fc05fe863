"""Helpers for the Windows (PE) loader tests: mingw-built DLLs, modelled machines, real wheels.

- ``pe_built``: fixtures/build.sh run once into a session folder (mingw-w64; tests/native_pe/setup.sh
  installs it).
- ``WinMachine``: a modelled Windows machine in a tmp folder - files placed at their Windows paths,
  System32 stand-ins built from what the placed modules import, and a description file read back
  through :func:`dllmagic.facts.native.machine.load_machine`, so each test states its machine once.
- ``win_wheels``: real win_amd64 wheels (numpy, Pillow, msvc-runtime, a C++ one) downloaded with pip
  into the test cache and unpacked once.
- ``objdump_imports``: what ``x86_64-w64-mingw32-objdump -p`` lists, the oracle for the PE reader.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set

import pytest

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
CACHE = Path(os.environ.get("DLLMAGIC_TEST_CACHE", Path.home() / ".cache" / "dllmagic-tests"))
CC64 = "x86_64-w64-mingw32-gcc"
OBJDUMP = "x86_64-w64-mingw32-objdump"
#: The wheels the real-world tests resolve: C (numpy, Pillow), C++ needing msvcp140 (pyarrow is
#: too big for a test run; msvc-runtime's own .pyd is a small C++ module), and the VC++ runtime DLLs.
WIN_WHEELS = ("numpy", "pillow", "msvc-runtime")


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is needed: run tests/native_pe/setup.sh (apt: gcc-mingw-w64-x86-64, "
                    "gcc-mingw-w64-i686)")


@pytest.fixture(scope="session")
def pe_built(tmp_path_factory) -> Path:
    _need(CC64)
    _need("i686-w64-mingw32-gcc")
    out = tmp_path_factory.mktemp("pe-fixtures")
    proc = subprocess.run(["sh", str(FIXTURES / "build.sh"), str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


# -- System32 stand-ins ----------------------------------------------------------------------------

def build_standin(out: Path, name: str, exports: Iterable[str]) -> Path:
    """A DLL called ``name`` exporting each of ``exports`` (all one stub), importing nothing."""
    out.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"\W", "_", name)
    src = out / f"{stem}.c"
    src.write_text("int __stdcall DllMainCRTStartup(void *h, unsigned r, void *p) { return 1; }\n"
                   "void dllmagic_stub(void) {}\n")
    names = sorted(set(exports)) or ["dllmagic_placeholder"]
    # "#N" is an import by ordinal: exported under that number, without a name.
    (out / f"{stem}.def").write_text(f"LIBRARY {name}\nEXPORTS\n" + "".join(
        f"  dllmagic_ord{n[1:]}=dllmagic_stub @{n[1:]} NONAME\n" if n.startswith("#") else f"  {n}=dllmagic_stub\n"
        for n in names))
    target = out / name
    subprocess.run([CC64, "-shared", "-nostdlib", "-Wl,--entry,DllMainCRTStartup", "-o", str(target),
                    str(src), str(out / f"{stem}.def")], check=True, capture_output=True)
    return target


def imports_of(paths: Iterable[Path]) -> Dict[str, Set[str]]:
    """DLL name (lower case) -> imported function names, over every PE file given."""
    from dllmagic.facts.native import pe

    table: Dict[str, Set[str]] = {}
    for p in paths:
        imports, _notes = pe.parse_imports(p.read_bytes())
        for imp in imports:
            table.setdefault(imp.dll.lower(), set()).add(imp.label)
    return table


class WinMachine:
    """A modelled Windows machine under ``root``: place files, then :meth:`load` it."""

    def __init__(self, base: Path, standins: Path) -> None:
        self.base = base
        self.root = base / "files"
        self.root.mkdir(parents=True, exist_ok=True)
        self.standins = standins
        self.placed: List[Path] = []
        self.description: Dict[str, object] = {
            "platform": "windows", "root": "files", "machine": "x86_64",
            "environ": {"PATH": "C:\\Windows\\System32;C:\\Windows"},
            "python": {"executable": "C:\\Python311\\python.exe", "version": "3.11"},
            "windows": {"version": "10.0.19045"},
        }

    def host(self, winpath: str) -> Path:
        drive, rest = winpath.split(":", 1)
        return self.root / drive / Path(*[p for p in rest.replace("\\", "/").split("/") if p])

    def put(self, winpath: str, source: Path) -> str:
        target = self.host(winpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
            self.placed.extend(p for p in target.rglob("*") if p.suffix.lower() in (".dll", ".pyd", ".exe"))
        else:
            shutil.copyfile(source, target)
            self.placed.append(target)
        return winpath

    def write(self, winpath: str, text: str) -> str:
        target = self.host(winpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return winpath

    def python(self, built: Path, folder: str = "C:\\Python311") -> None:
        """python.exe, python311.dll, python3.dll stand-ins in ``folder``."""
        for name in ("python.exe", "python311.dll", "python3.dll"):
            self.put(f"{folder}\\{name}", built / name)

    def system32(self, names: Iterable[str] = ("kernel32.dll", "msvcrt.dll")) -> None:
        """System DLL stand-ins that export what every placed module imports from them."""
        from dllmagic.facts.native.loader.windows import default_api_sets

        wanted = imports_of(self.placed)
        hosts = default_api_sets()
        for dll, funcs in list(wanted.items()):  # api-ms-win-crt-* imports are ucrtbase's exports
            host = next((h for prefix, h in hosts if dll.startswith(prefix)), None)
            if host:
                wanted.setdefault(host.lower(), set()).update(funcs)
        for name in names:
            exports = sorted(wanted.get(name, ()))
            digest = hashlib.sha1("\n".join(exports).encode()).hexdigest()[:12]
            dll = build_standin(self.standins / f"{name}-{digest}", name, exports)
            self.put(f"C:\\Windows\\System32\\{name}", dll)

    def load(self, **overrides):
        from dllmagic.facts.native.machine import load_machine

        desc = dict(self.description)
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(desc.get(key), dict):
                merged = dict(desc[key])  # type: ignore[arg-type]
                merged.update(value)
                desc[key] = merged
            else:
                desc[key] = value
        path = self.base / "machine.json"
        path.write_text(json.dumps(desc, indent=1))
        return load_machine(str(path))


@pytest.fixture(scope="session")
def standins(tmp_path_factory) -> Path:
    _need(CC64)
    return tmp_path_factory.mktemp("standins")


@pytest.fixture
def win(tmp_path, standins):
    return WinMachine(tmp_path, standins)


# -- real wheels -----------------------------------------------------------------------------------

def download_wheels(platform: str, names: Iterable[str], folder: Path, python_version: str = "3.11") -> List[Path]:
    """Wheels for ``platform`` in the test cache (pip download once; later runs reuse them)."""
    folder.mkdir(parents=True, exist_ok=True)
    missing = [n for n in names if not any(
        w.name.lower().replace("_", "-").startswith(n.lower().replace("_", "-") + "-") for w in folder.glob("*.whl"))]
    if missing:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
               "--platform", platform, "--python-version", python_version, "-d", str(folder), *missing]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, f"pip download failed:\n{proc.stdout}\n{proc.stderr}"
    out = []
    for n in names:
        hits = sorted(w for w in folder.glob("*.whl")
                      if w.name.lower().replace("_", "-").startswith(n.lower().replace("_", "-") + "-"))
        assert hits, f"no {platform} wheel for {n} in {folder}"
        out.append(hits[-1])
    return out


def unpack(wheel: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    return target


@pytest.fixture(scope="session")
def win_wheels(tmp_path_factory) -> Dict[str, Path]:
    """name -> unpacked folder of each wheel in WIN_WHEELS."""
    wheels = download_wheels("win_amd64", WIN_WHEELS, CACHE / "wheels" / "win_amd64")
    base = tmp_path_factory.mktemp("win-wheels")
    return {name: unpack(w, base / name) for name, w in zip(WIN_WHEELS, wheels)}


# -- objdump, the oracle -----------------------------------------------------------------------------

def objdump_imports(path: Path) -> Dict[str, object]:
    """DLL names, imported (dll, name-or-#ordinal) pairs, and exported names per objdump -p."""
    _need(OBJDUMP)
    text = subprocess.run([OBJDUMP, "-p", str(path)], capture_output=True, text=True, check=True).stdout
    dlls: List[str] = []
    imports: List[tuple] = []
    exports: List[str] = []
    forwarders: Dict[str, str] = {}
    section = None
    current = None
    for line in text.splitlines():
        if line.startswith("The Import Tables"):
            section = "imports"
            continue
        if line.startswith("The Export Tables"):
            section = "exports"
            continue
        if line.startswith(("PE File Base Relocations", "The Function Table", "The .rsrc", "There is a")):
            if not line.startswith("There is an import table") and not line.startswith("There is an export"):
                section = None
        if section == "imports":
            m = re.match(r"^\tDLL Name: (.+)$", line)
            if m:
                current = m.group(1).strip()
                dlls.append(current)
                continue
            # by ordinal: "<thunk>\t<ordinal, 9 digits>  <none>"; by name: "<vma>\t<hint>  <name>"
            m = re.match(r"^\t[0-9a-f]+\t\s*(\d+)\s+<none>\s*$", line)
            if m and current:
                imports.append((current, f"#{int(m.group(1))}"))
                continue
            m = re.match(r"^\t[0-9a-f]+\s+(\d+)\s+(\S+)?\s*$", line)
            if m and current:
                imports.append((current, m.group(2) if m.group(2) else f"#{m.group(1)}"))
        elif section == "exports":
            m = re.match(r"^\s+\[\s*\d+\]\s+(\S+)$", line)
            if m:
                exports.append(m.group(1))
            m = re.match(r"^\s+\[\s*\d+\] \+base\[\s*(\d+)\] [0-9a-f]+ Forwarder RVA -- (\S+)", line)
            if m:
                forwarders[m.group(1)] = m.group(2)
    return {"dlls": dlls, "imports": imports, "exports": exports, "forwarders": forwarders, "text": text}
