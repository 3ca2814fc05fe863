"""A missing system library: a package's extension module needs a library of the operating system (here
one of libGL.so.1, libportaudio.so.2, libpq.so.5 ... - the first this machine does not have), which
pip cannot install.

Builds, under --dir:
  stub/        a stand-in of that library, used only to link against, then deleted;
  pyviewer/    a small project whose C extension (pyviewer._render) links to the library, built into a
               wheel by setuptools and installed with pip/uv;
  kernel-env/  ipykernel, dllmagic, pyviewer;
and registers the kernel 'dllmagic-missing-system-library'. Linux only (gcc).
"""
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from buildkit import Build, cc, ld_cache  # noqa: E402

#: System libraries dllmagic's knowledge maps to a package (knowledge/library_providers.json), in order.
CANDIDATES = ("libGL.so.1", "libportaudio.so.2", "libpq.so.5", "libodbc.so.2", "libaio.so.1", "libsndfile.so.1",
              "libasound.so.2", "libnuma.so.1", "libSM.so.6", "libICE.so.6", "libxkbcommon-x11.so.0", "libEGL.so.1")
FOLDERS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib", "/lib/x86_64-linux-gnu",
           "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu")

b = Build("missing-system-library", __doc__)
cache = ld_cache()
library = next((name for name in CANDIDATES if f"{name} " not in cache
                and not any(os.path.exists(os.path.join(folder, name)) for folder in FOLDERS)), None)
if library is None:
    raise SystemExit("every candidate library is installed on this machine: nothing to miss")

stub = b.dir / "stub"
stub.mkdir()
(stub / "stub.c").write_text("int dllmagic_example_stub(void) { return 0; }\n")
cc("-shared", "-fPIC", f"-Wl,-soname,{library}", "-o", str(stub / library), str(stub / "stub.c"))

project = b.dir / "pyviewer"
(project / "pyviewer").mkdir(parents=True)
(project / "pyviewer" / "__init__.py").write_text('"""A viewer whose renderer needs a system library."""\n'
                                                 "from ._render import render  # noqa: F401\n")
(project / "pyviewer" / "_render.c").write_text(
    "#include <Python.h>\n"
    "static PyObject *render(PyObject *self, PyObject *args) { Py_RETURN_NONE; }\n"
    "static PyMethodDef methods[] = {{\"render\", render, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};\n"
    "static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, \"_render\", NULL, -1, methods};\n"
    "PyMODINIT_FUNC PyInit__render(void) { return PyModule_Create(&mod); }\n")
(project / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools>=64"]\n'
                                        'build-backend = "setuptools.build_meta"\n')
(project / "setup.py").write_text(
    "from setuptools import Extension, setup\n"
    "setup(name='pyviewer', version='1.0.0', packages=['pyviewer'],\n"
    "      ext_modules=[Extension('pyviewer._render', ['pyviewer/_render.c'],\n"
    f"                             extra_link_args=['-Wl,--no-as-needed', '-L{stub}', '-l:{library}'])])\n")
kernel = b.kernel_venv(b.dir / "kernel-env", str(project))
shutil.rmtree(stub)  # the machine never had it
b.register_kernel(kernel, "Python (missing system library example)")
b.done(module="pyviewer", library=library)
