"""The wrong Python: installed in another environment, the wrong kernel, a local file that shadows the
package, a kernel that must restart, a user site of another Python, PEP 668, duplicate distributions.

Each rule proves its cause from files (site-packages listings, kernel.json, conda-meta, the notebook's
metadata, RECORD, the loaded module's version against the one on disk) and outranks the generic
``not-installed`` finding only when it has that proof.

Cause ids (stable; the report schema lists them):

* ``installed-in-other-environment`` — the module is installed in another environment on this machine.
* ``wrong-kernel`` — the notebook's kernelspec runs another interpreter than the one it is named after
  (or than this kernel), and that other environment has the module.
* ``shadowed-by-local-file`` — a file or folder outside site-packages (the notebook's folder, PYTHONPATH)
  has the package's name and is imported instead of it.
* ``restart-needed`` — the files on disk changed after the kernel imported or looked for the module.
* ``foreign-user-site`` — the module sits in (or sys.path holds) the user site-packages of another Python
  version.
* ``duplicate-distributions`` — two installed distributions provide the same top-level name.
* ``externally-managed`` — the kernel runs a PEP 668 system Python where pip refuses to install.
* ``mixed-installers`` — in a conda environment, pip installed over conda's copy of the package (or conda
  over pip's): conda-meta records against the .dist-info's INSTALLER and RECORD.
"""
from __future__ import annotations

from ._facts import (CAUSES, EnvironmentFacts, environment_facts, install_fixes,  # noqa: F401
                     switch_and_register)
from .elsewhere import installed_elsewhere  # noqa: F401
from .ownership import mixed_installers, ownership_fixes  # noqa: F401
from .paths import (duplicate_distributions, externally_managed, foreign_user_site_on_path,  # noqa: F401
                    notebook_kernel_mismatch)
from .restart import restart_needed, sys_path_changed_in_kernel  # noqa: F401
from .shadowing import shadowed_by_local_file  # noqa: F401

__all__ = ["CAUSES", "environment_facts"]
