"""Wrong kernel: the kernel is named after the 'analysis' environment, but runs another Python.

Builds, under --dir:
  virtualenvs/analysis/   a venv where the user installed termcolor (``pip install termcolor``);
  kernel-env/             the venv the kernel really runs (ipykernel, dllmagic; no termcolor);
and registers the kernel 'dllmagic-wrong-kernel', display name "Python (analysis)", whose kernel.json
runs kernel-env's python: it was registered from the wrong interpreter. WORKON_HOME (set in the
kernelspec) is where virtualenvwrapper and pipenv keep their environments, so dllmagic finds 'analysis'.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from buildkit import Build  # noqa: E402

b = Build("wrong-kernel", __doc__)
envs = b.dir / "virtualenvs"
analysis = b.venv(envs / "analysis", "termcolor")
kernel = b.kernel_venv(b.dir / "kernel-env")
b.register_kernel(kernel, "Python (analysis)", env={"WORKON_HOME": str(envs)})
b.done(module="termcolor", analysis_prefix=str(envs / "analysis"), kernel_prefix=str(b.dir / "kernel-env"))
