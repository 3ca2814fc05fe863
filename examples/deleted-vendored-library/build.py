"""A deleted vendored library: Pillow's wheel bundles its C libraries in site-packages/pillow.libs/
(put there by auditwheel, with a hash in each name). One of them, libjpeg, was deleted - by a clean-up
script, an antivirus, a half-finished upgrade.

Builds, under --dir, kernel-env/ (ipykernel, dllmagic, pillow), deletes pillow.libs/libjpeg-*.so*, and
registers the kernel 'dllmagic-deleted-vendored-library'.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from buildkit import Build  # noqa: E402

b = Build("deleted-vendored-library", __doc__)
kernel = b.kernel_venv(b.dir / "kernel-env", "pillow")
site = b.site_packages(kernel)
libs = next(p for p in (site / "pillow.libs", site / "Pillow.libs") if p.is_dir())
victim = sorted(libs.glob("libjpeg-*.so*"))[0]
victim.unlink()
b.register_kernel(kernel, "Python (vendored library example)")
b.done(module="PIL", library=victim.name, libs_folder=str(libs))
