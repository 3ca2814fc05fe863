"""NumPy 1.x / 2.x ABI: numexpr 2.8.7 was compiled against NumPy 1.x and declares no upper bound on
numpy, so installing it next to NumPy 2 succeeds - and importing it fails.

Builds, under --dir, kernel-env/ (ipykernel, dllmagic, numexpr==2.8.7, numpy>=2 - real wheels from PyPI)
and registers the kernel 'dllmagic-numpy-abi'.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from buildkit import Build  # noqa: E402

b = Build("numpy-abi", __doc__)
kernel = b.kernel_venv(b.dir / "kernel-env", "numexpr==2.8.7", "numpy>=2")
b.register_kernel(kernel, "Python (NumPy ABI example)")
b.done(module="numexpr", offender="numexpr", offender_version="2.8.7")
