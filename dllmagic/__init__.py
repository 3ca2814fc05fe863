"""dllmagic: turns import failures in notebooks and terminals into a diagnosis with evidence and fixes.

``%load_ext dllmagic`` imports only the kernel glue; everything else loads on the first report.
"""
__version__ = "0.1.0"
__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension", "diagnose", "explain"]


def load_ipython_extension(ipython):
    from . import _kernel

    _kernel.load(ipython)


def unload_ipython_extension(ipython):
    from . import _kernel

    _kernel.unload(ipython)


def diagnose(*args, **kwargs):
    """See :func:`dllmagic.api.diagnose`."""
    from .api import diagnose as _diagnose

    return _diagnose(*args, **kwargs)


def explain(*args, **kwargs):
    """See :func:`dllmagic.api.explain`."""
    from .api import explain as _explain

    return _explain(*args, **kwargs)
