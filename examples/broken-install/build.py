"""A broken install: idna is recorded as installed (idna-*.dist-info is there), but its package folder
is gone, as after an interrupted uninstall or a cleanup script that deleted too much.

Builds, under --dir, kernel-env/ (ipykernel, dllmagic, idna), deletes site-packages/idna/, and registers
the kernel 'dllmagic-broken-install'.
"""
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from buildkit import Build  # noqa: E402

b = Build("broken-install", __doc__)
kernel = b.kernel_venv(b.dir / "kernel-env", "idna")
site = b.site_packages(kernel)
shutil.rmtree(site / "idna")
b.register_kernel(kernel, "Python (broken install example)")
b.done(module="idna", removed=str(site / "idna"), dist_info=str(next(site.glob("idna-*.dist-info"))))
