"""A Windows wheel analysed in a modelled Windows machine (on Linux): two classic DLL failures.

1. ``vc-runtime/``: C:\\Python311 (python.exe, python311.dll and vcruntime140.dll, as python.org installs
   them) and a real C++ extension module from PyPI's win_amd64 wheel of msvc-runtime
   (msvc_runtime.cp311-win_amd64.pyd, which imports MSVCP140.dll and VCOMP140.DLL) in site-packages;
   System32 has no Visual C++ 2015-2022 runtime: the Redistributable was never installed.
2. ``older-dll/``: greetext\\_greet.cp311-win_amd64.pyd needs greet_fancy() from greet.dll 2.0, which
   greetext's __init__.py adds with os.add_dll_directory(C:\\Program Files\\Greet\\bin); an older
   greet.dll 1.0 (without greet_fancy) sits in C:\\Python311, the application folder, which Windows
   searches before folders added with os.add_dll_directory: "The specified procedure could not be found".

Each machine is a folder of files at their Windows paths (files/C/...) plus machine.json, the description
dllmagic.facts.native.machine.load_machine reads (``dlldoctor deps --machine machine.json``). python.exe,
python311.dll, greet.dll, greetext's module and the System32 DLLs are small stand-ins built with mingw-w64
(x86_64-w64-mingw32-gcc), each exporting what the real modules placed beside them import.
The notebook runs on a Linux kernel: 'dllmagic-windows-wheel' (ipykernel, dllmagic).
"""
import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from buildkit import REPO, Build, log  # noqa: E402

sys.path.insert(0, str(REPO))
CC = "x86_64-w64-mingw32-gcc"
SITE = "C:\\Python311\\Lib\\site-packages"
SYSTEM32 = ("kernel32.dll", "msvcrt.dll", "ucrtbase.dll", "user32.dll", "advapi32.dll")

b = Build("windows-wheel", __doc__)
if shutil.which(CC) is None:
    raise SystemExit(f"this example needs {CC} (apt: gcc-mingw-w64-x86-64)")
work = b.dir / "build"
work.mkdir()


def gcc(*args):
    subprocess.run([CC, *map(str, args)], check=True, capture_output=True)


def standin(name, exports, out=work / "standins"):
    """A DLL called ``name`` exporting each of ``exports`` (one stub), importing nothing."""
    names = sorted(set(exports)) or ["dllmagic_placeholder"]
    folder = out / f"{name}-{hashlib.sha1(chr(0).join(names).encode()).hexdigest()[:10]}"
    target = folder / name
    if not target.exists():
        folder.mkdir(parents=True)
        (folder / "stub.c").write_text("int __stdcall DllMainCRTStartup(void *h, unsigned r, void *p) { return 1; }\n"
                                       "void dllmagic_stub(void) {}\n")
        (folder / "stub.def").write_text(f"LIBRARY {name}\nEXPORTS\n" + "".join(
            f"  dllmagic_ord{n[1:]}=dllmagic_stub @{n[1:]} NONAME\n" if n.startswith("#") else f"  {n}=dllmagic_stub\n"
            for n in names))
        gcc("-shared", "-nostdlib", "-Wl,--entry,DllMainCRTStartup", "-o", target, folder / "stub.c", folder / "stub.def")
    return target


def imports_of(paths):
    from dllmagic.facts.native import pe

    table = {}
    for p in paths:
        for imp in pe.parse_imports(Path(p).read_bytes())[0]:
            table.setdefault(imp.dll.lower(), set()).add(imp.label)
    return table


class Machine:
    def __init__(self, name):
        self.base = b.dir / name
        self.files = self.base / "files"
        self.placed = []

    def host(self, winpath):
        drive, rest = winpath.split(":", 1)
        return self.files / drive / Path(*[p for p in rest.replace("\\", "/").split("/") if p])

    def put(self, winpath, source):
        target = self.host(winpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        self.placed.append(target)
        return winpath

    def write(self, winpath, text):
        target = self.host(winpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def python(self):
        """python.exe importing python311.dll, which exports every Py* name the placed modules import."""
        wanted = imports_of(self.placed)
        (work / "python.c").write_text("__declspec(dllimport) int Py_Main(int argc, void **argv);\n"
                                       "int main(int argc, char **argv) { return Py_Main(argc, (void **)argv); }\n")
        dll = standin("python311.dll", wanted.get("python311.dll", set()) | {"Py_Main"})
        exe = work / "python.exe"
        gcc("-O1", "-o", exe, work / "python.c", dll)
        self.put("C:\\Python311\\python311.dll", dll)
        self.put("C:\\Python311\\python.exe", exe)

    def system32(self):
        from dllmagic.facts.native.loader.windows import default_api_sets

        wanted = imports_of(self.placed)
        for dll, funcs in list(wanted.items()):  # api-ms-win-crt-* are ucrtbase's exports
            host = next((h for prefix, h in default_api_sets() if dll.startswith(prefix)), None)
            if host:
                wanted.setdefault(host.lower(), set()).update(funcs)
        for name in SYSTEM32:
            self.put(f"C:\\Windows\\System32\\{name}", standin(name, wanted.get(name, ())))

    def describe(self, **extra):
        desc = {"platform": "windows", "root": "files", "machine": "x86_64",
                "environ": {"PATH": "C:\\Windows\\System32;C:\\Windows;C:\\Python311;C:\\Python311\\Scripts"},
                "python": {"executable": "C:\\Python311\\python.exe", "version": "3.11"},
                "windows": {"version": "10.0.19045"}, **extra}
        (self.base / "machine.json").write_text(json.dumps(desc, indent=1) + "\n")
        return str(self.base / "machine.json")


# -- 1. the Visual C++ runtime is missing -------------------------------------------------------------
wheel = b.download(["msvc-runtime"], work / "wheels", platform="win_amd64", python_version="3.11")[0]
unpacked = work / "msvc-runtime"
with zipfile.ZipFile(wheel) as zf:
    zf.extractall(unpacked)
vc = Machine("vc-runtime")
pyd_name = next(unpacked.glob("msvc_runtime*.pyd")).name
vc_pyd = vc.put(f"{SITE}\\{pyd_name}", next(unpacked.glob("msvc_runtime*.pyd")))
vcruntime = next(unpacked.rglob("Scripts/vcruntime140.dll"))
vc.put("C:\\Python311\\vcruntime140.dll", vcruntime)   # python.org ships this one beside python.exe
vc.python()
vc.system32()
vc_machine = vc.describe(loaded=["C:\\Python311\\vcruntime140.dll"])
log(f"machine 1: {vc_machine}")

# -- 2. an older copy of a DLL comes first: procedure not found ----------------------------------------
old = Machine("older-dll")
src = work / "greet"
src.mkdir()
(src / "greet1.c").write_text('__declspec(dllexport) const char *greet(void) { return "hello"; }\n')
(src / "greet2.c").write_text('__declspec(dllexport) const char *greet(void) { return "hello"; }\n'
                              '__declspec(dllexport) const char *greet_fancy(void) { return "hello!"; }\n')
(src / "v1").mkdir()
(src / "v2").mkdir()
gcc("-shared", "-O1", "-o", src / "v1" / "greet.dll", src / "greet1.c")
gcc("-shared", "-O1", "-o", src / "v2" / "greet.dll", src / "greet2.c")
py_stub = standin("python311.dll", {"PyLong_FromLong", "PyUnicode_FromString", "Py_Main"}, out=src / "py")
(src / "_greet.c").write_text(
    "__declspec(dllimport) void *PyUnicode_FromString(const char *s);\n"
    "__declspec(dllimport) const char *greet_fancy(void);\n"
    "__declspec(dllexport) void *PyInit__greet(void) { return PyUnicode_FromString(greet_fancy()); }\n")
gcc("-shared", "-O1", "-o", src / "_greet.cp311-win_amd64.pyd", src / "_greet.c", py_stub, src / "v2" / "greet.dll")
old_pyd = old.put(f"{SITE}\\greetext\\_greet.cp311-win_amd64.pyd", src / "_greet.cp311-win_amd64.pyd")
old.write(f"{SITE}\\greetext\\__init__.py",
          "import os\nos.add_dll_directory(r'C:\\Program Files\\Greet\\bin')\nfrom ._greet import *\n")
old.put("C:\\Program Files\\Greet\\bin\\greet.dll", src / "v2" / "greet.dll")
old.put("C:\\Python311\\greet.dll", src / "v1" / "greet.dll")     # left there by another tool's installer
for name in ("vcruntime140.dll", "vcruntime140_1.dll", "msvcp140.dll", "msvcp140_1.dll"):  # VC++ runtime installed
    old.put(f"C:\\Windows\\System32\\{name}", next(unpacked.rglob(f"Scripts/{name}")))
old.put("C:\\Python311\\vcruntime140.dll", vcruntime)
old.python()
old.system32()
old_machine = old.describe(loaded=["C:\\Python311\\vcruntime140.dll"], dll_directories=[
    {"path": "C:\\Program Files\\Greet\\bin", "source": "os.add_dll_directory in greetext\\__init__.py"}])
log(f"machine 2: {old_machine}")

shutil.rmtree(work)
kernel = b.kernel_venv(b.dir / "kernel-env")
b.register_kernel(kernel, "Python (modelled Windows example)")
b.done(vc_machine=vc_machine, vc_pyd=vc_pyd, vc_missing="MSVCP140.dll",
       old_machine=old_machine, old_pyd=old_pyd, old_copy="C:\\Python311\\greet.dll", symbol="greet_fancy",
       new_copy="C:\\Program Files\\Greet\\bin\\greet.dll")
