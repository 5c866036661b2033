"""The runbook's own configuration files, shipped with hapair so the lab runs them as they are."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

RUNBOOK_FILES = (
    "keepalived-node1.conf",
    "keepalived-node2.conf",
    "keepalived-with-notify.conf",
    "r0.res",
    "global_common.conf",
    "drbd_master.sh",
    "drbd_backup.sh",
)


def runbook_file(name: str) -> Path:
    """The path of one of the runbook's files (see RUNBOOK_FILES)."""
    if name not in RUNBOOK_FILES:
        raise KeyError(f"not a runbook file: {name}")
    path = Path(str(resources.files("hapair.lab").joinpath("data", name)))
    if not path.is_file():
        raise FileNotFoundError(path)
    return path
