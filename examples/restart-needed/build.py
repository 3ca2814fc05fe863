"""Restart needed: a package installed in editable mode while the kernel runs.

Builds, under --dir:
  kernel-env/   ipykernel, dllmagic, pip and setuptools (so the notebook can 'pip install -e' offline);
  greetings/    a small project in the src layout (pyproject.toml + src/greetings/__init__.py) that the
                notebook installs; for this layout setuptools' editable install writes a .pth file holding
                the src folder;
and registers the kernel 'dllmagic-restart-needed'. An editable install writes a .pth file into
site-packages; Python reads .pth files only at start-up, so the running kernel cannot import it.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from buildkit import Build  # noqa: E402

b = Build("restart-needed", __doc__)
kernel = b.kernel_venv(b.dir / "kernel-env", "pip", "setuptools", "wheel")
project = b.dir / "greetings"
(project / "src" / "greetings").mkdir(parents=True)
(project / "src" / "greetings" / "__init__.py").write_text('def hello(name):\n    return f"Hello, {name}!"\n')
(project / "pyproject.toml").write_text(
    '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n\n'
    '[project]\nname = "greetings"\nversion = "0.1.0"\n')
b.register_kernel(kernel, "Python (restart example)")
b.done(module="greetings", project=str(project))
