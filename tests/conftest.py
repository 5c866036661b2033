"""Fixtures shared by the whole test suite.

The lab fixtures (`lab`, `module_lab`, `lab_factory`) live in labkit.py; importing them here makes
them available to every test under tests/.
"""

from labkit import lab, lab_factory, module_lab

__all__ = ["lab", "lab_factory", "module_lab"]
