"""Pre-flight checks of tensorflow and torch: "will it work here?", asked before anything failed.

Builds, under --dir, kernel-env/ (ipykernel, dllmagic and the CPU build of torch) and registers the kernel
'dllmagic-preflight-frameworks'; tensorflow is deliberately not installed. torch comes from a local wheel
when pip's find-links folder (PIP_FIND_LINKS) has one, else from the index in DLLMAGIC_TORCH_INDEX
(binder/postBuild sets https://download.pytorch.org/whl/cpu, the CPU-only builds); with neither, torch is
left out too and the notebook shows the pre-flight of two absent packages.
"""
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from buildkit import Build, log  # noqa: E402

b = Build("preflight-frameworks", __doc__)
local = sorted(w for folder in (os.environ.get("PIP_FIND_LINKS") or "").split() if os.path.isdir(folder)
               for w in Path(folder).glob("torch-*.whl"))
kernel = b.kernel_venv(b.dir / "kernel-env")
torch_version = None
if local:
    torch_version = re.match(r"torch-([^-]+)-", local[-1].name).group(1)
    b.install(kernel, f"torch=={torch_version.split('+')[0]}")
elif os.environ.get("DLLMAGIC_TORCH_INDEX"):
    b.install(kernel, "torch", extra=["--extra-index-url", os.environ["DLLMAGIC_TORCH_INDEX"]])
    torch_version = "index"
else:
    log("no local torch wheel and no DLLMAGIC_TORCH_INDEX: torch is not installed")
b.register_kernel(kernel, "Python (pre-flight example)")
b.done(torch=torch_version, tensorflow=None)
