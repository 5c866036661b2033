"""Suite-wide test setup.

- The lab fixtures (`lab`, `module_lab`, `lab_factory`) live in labkit.py; importing them here makes
  them available to every test under tests/.
- A test marked `root` is skipped, not failed, when the suite does not run as root.
"""

from __future__ import annotations

import os

import pytest

from labkit import lab, lab_factory, module_lab

__all__ = ["lab", "lab_factory", "module_lab"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("root") is not None and os.geteuid() != 0:
        pytest.skip("needs root (marked `root`)")
