"""A symbol version too new for the library found: greetext's extension was linked against libgreet 2.0,
which defines the symbol version GREET_2.0; LD_LIBRARY_PATH points at an older install, libgreet 1.0 (only
GREET_1.0), which the loader finds first - LD_LIBRARY_PATH comes before the extension's RUNPATH.

Builds, under --dir:
  opt/greet-1.0/lib/libgreet.so.1   greet() at GREET_1.0
  opt/greet-2.0/lib/libgreet.so.1   greet() at GREET_1.0, greet_fancy() at GREET_2.0
  greetext/                         a project whose extension calls greet_fancy(), linked against 2.0 with
                                    RUNPATH opt/greet-2.0/lib, built into a wheel and installed
  kernel-env/                       ipykernel, dllmagic, greetext
and registers the kernel 'dllmagic-symbol-version' with LD_LIBRARY_PATH=opt/greet-1.0/lib. Linux (gcc).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from buildkit import Build, cc  # noqa: E402

b = Build("symbol-version", __doc__)
libs = {}
for version, body, script in (
        ("1.0", 'const char *greet(void) { return "hello"; }\n', "GREET_1.0 { global: greet; local: *; };\n"),
        ("2.0", 'const char *greet(void) { return "hello"; }\nconst char *greet_fancy(void) { return "hello!"; }\n',
         "GREET_1.0 { global: greet; local: *; };\nGREET_2.0 { global: greet_fancy; } GREET_1.0;\n")):
    folder = b.dir / "opt" / f"greet-{version}" / "lib"
    folder.mkdir(parents=True)
    (folder / "greet.c").write_text(body)
    (folder / "greet.map").write_text(script)
    cc("-shared", "-fPIC", "-O1", "-Wl,-soname,libgreet.so.1", f"-Wl,--version-script={folder / 'greet.map'}",
       "-o", str(folder / "libgreet.so.1"), str(folder / "greet.c"))
    (folder / "libgreet.so").symlink_to("libgreet.so.1")
    libs[version] = folder

project = b.dir / "greetext"
(project / "greetext").mkdir(parents=True)
(project / "greetext" / "__init__.py").write_text("from ._greet import fancy  # noqa: F401\n")
(project / "greetext" / "_greet.c").write_text(
    "#include <Python.h>\n"
    "const char *greet_fancy(void);\n"
    "static PyObject *fancy(PyObject *self, PyObject *args) { return PyUnicode_FromString(greet_fancy()); }\n"
    "static PyMethodDef methods[] = {{\"fancy\", fancy, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};\n"
    "static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, \"_greet\", NULL, -1, methods};\n"
    "PyMODINIT_FUNC PyInit__greet(void) { return PyModule_Create(&mod); }\n")
(project / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools>=64"]\n'
                                        'build-backend = "setuptools.build_meta"\n')
(project / "setup.py").write_text(
    "from setuptools import Extension, setup\n"
    "setup(name='greetext', version='2.0.0', packages=['greetext'],\n"
    "      ext_modules=[Extension('greetext._greet', ['greetext/_greet.c'], libraries=['greet'],\n"
    f"                             library_dirs=['{libs['2.0']}'], runtime_library_dirs=['{libs['2.0']}'],\n"
    "                             extra_link_args=['-Wl,--enable-new-dtags'])])\n")
kernel = b.kernel_venv(b.dir / "kernel-env", str(project))
b.register_kernel(kernel, "Python (symbol version example)", env={"LD_LIBRARY_PATH": str(libs["1.0"])})
b.done(module="greetext", version="GREET_2.0", old_library=str(libs["1.0"] / "libgreet.so.1"),
       new_library=str(libs["2.0"] / "libgreet.so.1"))
