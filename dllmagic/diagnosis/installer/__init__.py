"""pip / conda / uv output pasted into ``explain`` (or met in a kernel): no release fits, or the
requirements cannot be satisfied together.

Cause ids: ``no-release-for-platform`` and ``resolution-conflict``. For packages in
``knowledge/framework_builds.json`` (TensorFlow, PyTorch) the rule says which releases support which
Python versions and platforms, and which release fits the Python at hand.

One module per section; importing the package registers both rules.
"""
from .common import releases_for
from .no_release import no_release
from .conflict import resolution_conflict

__all__ = ["releases_for", "no_release", "resolution_conflict"]
