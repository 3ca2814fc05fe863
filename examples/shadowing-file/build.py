"""A file that shadows a package: tabulate is installed, but the notebook's folder holds a tabulate.py
(committed beside this script, as a user's own helper would be), which Python imports first.

Builds, under --dir, kernel-env/ (ipykernel, dllmagic, tabulate) and registers the kernel
'dllmagic-shadowing-file'. The notebook runs in examples/shadowing-file/, next to tabulate.py.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from buildkit import Build  # noqa: E402

b = Build("shadowing-file", __doc__)
kernel = b.kernel_venv(b.dir / "kernel-env", "tabulate")
b.register_kernel(kernel, "Python (shadowing example)")
b.done(module="tabulate", shadow=str(Path(__file__).resolve().parent / "tabulate.py"))
