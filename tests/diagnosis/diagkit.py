"""Helpers for the diagnosis tests (import as ``from diagkit import ...``; never from conftest).

Real parts only: corpus texts users posted, C extension modules compiled here with the system compiler,
wheels written to disk and installed by a real installer, and modelled machines (``System.model``) whose
files are real files under a folder — the way to describe a GPU machine on this GPU-less one.
"""
from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
CORPUS = [REPO / "tests" / "data" / "corpus" / "public.jsonl", REPO / "tests" / "data" / "corpus" / "extra.jsonl"]


def corpus() -> Dict[str, dict]:
    cases = {}
    for path in CORPUS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                cases[case["id"]] = case
    return cases


def have_compiler() -> bool:
    return shutil.which("cc") is not None and Path(sysconfig.get_paths()["include"], "Python.h").is_file()


def compile_shared(folder: Path, name: str, source: str, *, libs: Sequence[str] = (),
                   libdirs: Sequence[str] = (), version_script: Optional[str] = None,
                   soname: Optional[str] = None, python: bool = False) -> Path:
    """Compile ``source`` (C) into ``folder/name`` as a shared object."""
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / (name.replace(".", "_") + ".c")
    src.write_text(source)
    out = folder / name
    cmd = ["cc", "-shared", "-fPIC", "-o", str(out), str(src)]
    if python:
        cmd.insert(1, "-I" + sysconfig.get_paths()["include"])
    if soname:
        cmd.append(f"-Wl,-soname,{soname}")
    if version_script:
        vs = folder / (name + ".map")
        vs.write_text(version_script)
        cmd.append(f"-Wl,--version-script={vs}")
    for d in libdirs:
        cmd.append(f"-L{d}")
    cmd.append("-Wl,--no-as-needed")
    cmd += [f"-l:{lib}" for lib in libs]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def extension_needing(folder: Path, module: str, library: str) -> Path:
    """A real CPython extension ``module`` whose DT_NEEDED names ``library``, which then does not exist.

    The library is compiled as a stub only to link against, and removed: importing the module fails the
    way a missing system library does (``libGL.so.1: cannot open shared object file``).
    """
    stubs = folder / "_stubs"
    compile_shared(stubs, library, "int dllmagic_stub(void) { return 0; }\n", soname=library)
    ext = module + sysconfig.get_config_var("EXT_SUFFIX")
    source = (
        "#include <Python.h>\n"
        f"static struct PyModuleDef def = {{PyModuleDef_HEAD_INIT, \"{module}\", NULL, -1, NULL}};\n"
        f"PyMODINIT_FUNC PyInit_{module}(void) {{ return PyModule_Create(&def); }}\n")
    path = compile_shared(folder, ext, source, libs=[library], libdirs=[str(stubs)], python=True)
    shutil.rmtree(stubs)
    return path


def write_wheel(folder: Path, name: str, version: str, *, requires: Iterable[str] = (),
                modules: Optional[Dict[str, str]] = None, requires_python: Optional[str] = None) -> Path:
    """A real, installable pure-Python wheel ``name-version-py3-none-any.whl`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files: Dict[str, bytes] = {}
    for mod, code in (modules or {dist: "VALUE = 1\n"}).items():
        files[f"{mod}/__init__.py"] = code.encode()
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        meta.append(f"Requires-Python: {requires_python}")
    meta += [f"Requires-Dist: {r}" for r in requires]
    files[f"{info}/METADATA"] = ("\n".join(meta) + "\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: diagkit\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    out = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return out


def write_dist_info(site: Path, name: str, version: str, requires: Iterable[str] = (),
                    top_level: Optional[str] = None) -> Path:
    """An installed distribution's metadata folder (for modelled machines)."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    top = top_level or name.replace("-", "_")
    (info / "top_level.txt").write_text(top + "\n")
    (site / top).mkdir(exist_ok=True)
    (site / top / "__init__.py").write_text("")
    return info


def model_interpreter(prefix: str, *, version: str = "3.11.7", bits: int = 64, machine: str = "x86_64",
                      platform: str = "linux", kind: str = "venv"):
    from dllmagic.model import Interpreter

    exe = f"{prefix}/bin/python" if platform != "windows" else prefix + "\\python.exe"
    return Interpreter(executable=exe, real_executable=exe, version=version, implementation="CPython",
                       architecture=machine, bits=bits, platform=platform, prefix=prefix, base_prefix=prefix,
                       environment_kind=kind)


def model_context(root: Path, target: str, *, failure=None, site: str = "/env/lib/python3.11/site-packages",
                  import_ok: Optional[bool] = None, platform: str = "linux", **interp):
    """A rule Context on a modelled machine under ``root`` (its files are real files there)."""
    from dllmagic.diagnosis import Context
    from dllmagic.facts.system import System

    system = System.model(platform, str(root), machine=interp.get("machine", "x86_64"))
    interpreter = model_interpreter("/env", platform=platform, **interp)
    result = {"ok": True, "file": f"{site}/{target}/__init__.py"} if import_ok else None
    return Context(target=target, failure=failure, system=system, interpreter=interpreter, sys_path=(site,),
                   import_result=result)


def python() -> str:
    return sys.executable


def findings_by_cause(report) -> Dict[str, object]:
    return {f.cause: f for f in report.findings}


def evidence_text(finding) -> str:
    return "\n".join(f"{e.fact}: {e.value} [{e.source}]" for e in finding.evidence)


def cells(finding) -> List[str]:
    return [fix.cell for fix in finding.fixes]
