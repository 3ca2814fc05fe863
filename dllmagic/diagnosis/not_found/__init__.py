"""Module not found, and names that cannot be imported from a module that was found.

One module per section; importing the package registers every rule.
"""
from .lookup import distribution_for, locate
from .missing import externally_managed_refusal, not_installed
from .cannot_import import cannot_import_name
from .bytecode import bytecode_of_other_python

__all__ = ["distribution_for", "locate", "externally_managed_refusal", "not_installed", "cannot_import_name",
           "bytecode_of_other_python"]
