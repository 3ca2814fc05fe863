"""Wine as a second opinion on the Windows loader model: a prefix laid out like a modelled machine.

``WinePrefix`` holds one Wine prefix for the session (created on first use, ~7 s) and the harness
``fixtures/loadlib.c`` built with mingw-w64. :meth:`WinePrefix.mirror` copies the files of a
:class:`pe_kit.WinMachine` to the same Windows paths under ``drive_c`` (System32 excepted: Wine's own
system DLLs stay; the modelled stand-ins exist only for the model), puts the harness in place of
``python.exe``, and :meth:`WinePrefix.load` runs it under ``wine64`` with the machine's PATH,
``os.add_dll_directory`` list, loaded modules and CPython's LoadLibraryExW flags (the legacy flag for
Python < 3.8). The answer: the Win32 error code (0 when the load succeeded) and every module in the
process after the call.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).parent
HARNESS_SRC = HERE / "fixtures" / "loadlib.c"
#: Where Debian's wine64 package puts the loader (it adds no /usr/bin entry without the `wine` package).
WINE_CANDIDATES = ("wine64", "/usr/lib/wine/wine64", "wine")

#: Win32 error codes the comparison speaks in.
ERROR_MOD_NOT_FOUND = 126      # "The specified module could not be found."
ERROR_PROC_NOT_FOUND = 127     # "The specified procedure could not be found."
ERROR_BAD_EXE_FORMAT = 193     # "%1 is not a valid Win32 application."


def find_wine() -> Optional[str]:
    for name in WINE_CANDIDATES:
        found = shutil.which(name) if "/" not in name else (name if os.access(name, os.X_OK) else None)
        if found:
            return found
    return None


@dataclass
class WineAnswer:
    code: int                      # GetLastError() after LoadLibraryExW; 0: loaded
    modules: List[str]             # GetModuleFileNameW of every module in the process after the call
    output: str

    def module(self, name: str) -> Optional[str]:
        """The full path of the loaded module of base name ``name`` (case-insensitive), or None."""
        for m in self.modules:
            if m.rsplit("\\", 1)[-1].lower() == name.lower():
                return m
        return None


class WinePrefix:
    def __init__(self, wine: str, base: Path) -> None:
        self.wine = wine
        self.base = base
        self.prefix = base / "prefix"
        self.drive_c = self.prefix / "drive_c"
        self.harness = base / "loadlib.exe"
        self._placed: List[Path] = []
        self.env = dict(os.environ, WINEPREFIX=str(self.prefix), WINEDEBUG="-all",
                        WINEDLLOVERRIDES="mscoree,mshtml=", DISPLAY="")
        self.env.pop("WAYLAND_DISPLAY", None)

    # -- set-up ----------------------------------------------------------------------------------
    def build_harness(self, cc: str = "x86_64-w64-mingw32-gcc") -> None:
        subprocess.run([cc, "-municode", "-O1", "-o", str(self.harness), str(HARNESS_SRC), "-lpsapi"],
                       check=True, capture_output=True)

    def boot(self) -> Tuple[int, str]:
        """Create the prefix by running the harness once without arguments (it prints its usage)."""
        proc = subprocess.run([self.wine, str(self.harness)], env=self.env, capture_output=True, text=True,
                              timeout=300)
        return proc.returncode, proc.stdout + proc.stderr

    def stop(self) -> None:
        server = Path(self.wine).with_name("wineserver")
        cmd = [str(server)] if server.exists() else [shutil.which("wineserver") or "wineserver"]
        subprocess.run(cmd + ["-k"], env=self.env, capture_output=True, timeout=60)

    # -- one machine -------------------------------------------------------------------------------
    def mirror(self, win) -> None:
        """Lay the prefix out like ``win`` (a pe_kit.WinMachine): its files at their Windows paths."""
        for p in self._placed:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        self._placed = []
        drive = win.root / "C"
        for top in sorted(drive.iterdir()):
            if top.name.lower() == "windows":
                continue  # Wine's own C:\windows (its system DLLs) stays; the stand-ins are the model's
            target = self.drive_c / top.name
            assert not target.exists() or target in self._placed, f"{target} is Wine's own"
            if top.is_dir():
                shutil.copytree(top, target)
            else:
                shutil.copyfile(top, target)
            self._placed.append(target)

    def load(self, win, target: str, description: Dict[str, object]) -> WineAnswer:
        """LoadLibraryExW(target) in a process started from the machine's python.exe folder."""
        python = description.get("python") or {}
        exe = python.get("executable") or "C:\\Python311\\python.exe"  # type: ignore[union-attr]
        host_exe = self.drive_c / Path(*exe.split(":", 1)[1].strip("\\").split("\\"))
        host_exe.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.harness, host_exe)
        args: List[str] = [self.wine, exe]
        environ = description.get("environ") or {}
        if "PATH" in environ:  # type: ignore[operator]
            args += ["--path", environ["PATH"]]  # type: ignore[index]
        for d in description.get("dll_directories") or ():  # type: ignore[union-attr]
            args += ["--add-dll-directory", d["path"] if isinstance(d, dict) else d]
        # python.exe has pythonXY.dll (and CPython python3.dll) loaded before any extension.
        app = exe.rsplit("\\", 1)[0]
        for name in sorted(os.listdir(host_exe.parent)):
            if name.lower().startswith("python3") and name.lower().endswith(".dll"):
                args += ["--preload", f"{app}\\{name}"]
        for p in description.get("loaded") or ():  # type: ignore[union-attr]
            args += ["--preload", p]
        version = str(python.get("version") or "3.11")  # type: ignore[union-attr]
        major, minor = (int(x) for x in version.split(".")[:2])
        if (major, minor) < (3, 8):
            args.append("--legacy")
        args.append(target)
        proc = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=120)
        out = proc.stdout
        code = None
        modules = []
        for line in out.splitlines():
            if line.startswith("result ok"):
                code = 0
            elif line.startswith("result error "):
                code = int(line.split()[2])
            elif line.startswith("module "):
                modules.append(line[len("module "):].strip())
        assert code is not None, f"harness gave no result (rc {proc.returncode}):\n{out}\n{proc.stderr}"
        return WineAnswer(code, modules, out)


def machine_description(win) -> Dict[str, object]:
    """The description the last ``win.load(...)`` wrote (overrides merged)."""
    return json.loads((win.base / "machine.json").read_text())
