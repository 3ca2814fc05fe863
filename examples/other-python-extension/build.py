"""An extension module built for another Python version.

legacyext.so was compiled years ago for an older Python (``python3.X setup.py build_ext --inplace`` with
a build system that names it plainly ``legacyext.so``, a name every CPython accepts) and lives in a
shared folder of compiled modules that the kernel's PYTHONPATH points to. It calls a C-API function that
the kernel's Python no longer has (PyUnicode_EncodeUTF8 was removed in 3.11, PyParser_SimpleParseStringFlags
in 3.10, PyEval_CallObjectWithKeywords in 3.13): the build picks the first one the kernel's Python lacks.

Builds, under --dir:
  shared-modules/legacyext.so   (gcc, against the kernel Python's headers; the old function is declared
                                 by its exported name, as the older headers did)
  kernel-env/                   ipykernel, dllmagic
and registers the kernel 'dllmagic-other-python-extension' with PYTHONPATH=shared-modules. Linux (gcc).
"""
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from buildkit import Build, cc, python_include  # noqa: E402

#: (C-API function, the Python release that removed it)
REMOVED = (("PyUnicode_EncodeUTF8", "3.11"), ("PyParser_SimpleParseStringFlags", "3.10"),
           ("PyEval_CallObjectWithKeywords", "3.13"))

b = Build("other-python-extension", __doc__)
kernel = b.kernel_venv(b.dir / "kernel-env")
probe = "import ctypes, sys; print(' '.join(n for n in sys.argv[1:] if not hasattr(ctypes.pythonapi, n)))"
absent = subprocess.run([str(kernel), "-c", probe, *(n for n, _ in REMOVED)], capture_output=True, text=True,
                        check=True).stdout.split()
symbol, removed_in = next((n, v) for n, v in REMOVED if n in absent)
folder = b.dir / "shared-modules"
folder.mkdir()
source = folder / "legacyext.c"
source.write_text(
    "#include <Python.h>\n"
    f"/* Declared under its exported name: the headers of Python < {removed_in} declared it. */\n"
    f"extern PyObject *old_api(void) __asm__(\"{symbol}\");\n"
    "static PyObject *encode(PyObject *self, PyObject *args) { return old_api(); }\n"
    "static PyMethodDef methods[] = {{\"encode\", encode, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};\n"
    "static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, \"legacyext\", NULL, -1, methods};\n"
    "PyMODINIT_FUNC PyInit_legacyext(void) { return PyModule_Create(&mod); }\n")
cc("-shared", "-fPIC", "-O1", f"-I{python_include(kernel)}", "-o", str(folder / "legacyext.so"), str(source))
b.register_kernel(kernel, "Python (other Python's extension example)", env={"PYTHONPATH": str(folder)})
b.done(module="legacyext", symbol=symbol, removed_in=removed_in, extension=str(folder / "legacyext.so"))
