"""A package installed in another environment: ``pip install pyjokes`` ran in the project's venv,
the notebook's kernel runs a different one.

Builds, under --dir:
  virtualenvs/project/   a venv with pyjokes installed;
  kernel-env/            the venv the kernel runs (ipykernel, dllmagic; no pyjokes);
and registers the kernel 'dllmagic-other-environment' ("Python 3 (dllmagic examples)"). WORKON_HOME
(set in the kernelspec) is where virtualenvwrapper and pipenv keep environments: dllmagic looks there.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from buildkit import Build  # noqa: E402

b = Build("other-environment", __doc__)
envs = b.dir / "virtualenvs"
b.venv(envs / "project", "pyjokes")
kernel = b.kernel_venv(b.dir / "kernel-env")
b.register_kernel(kernel, "Python 3 (dllmagic examples)", env={"WORKON_HOME": str(envs)})
b.done(module="pyjokes", other_prefix=str(envs / "project"), kernel_prefix=str(b.dir / "kernel-env"))
