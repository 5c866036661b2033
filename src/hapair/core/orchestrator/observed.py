"""What the orchestrator observes of the other parts, as small value types of its own.

The orchestrator never imports the VRRP or volume cores (DESIGN.md section 3): the daemon turns
their states into these. Member names are the other cores' own, so the translation is
`VrrpRole[state.name]`, `VolumeRole[role.name]`, `DiskState[disk.name]`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class VrrpRole(enum.Enum):
    """The VRRP instance's state (keepalived's words)."""

    INITIALIZE = "INITIALIZE"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"
    STOP = "STOP"


class VolumeRole(enum.Enum):
    """A volume role as DRBD names it; UNKNOWN for a peer that cannot be seen."""

    UNKNOWN = "Unknown"
    PRIMARY = "Primary"
    SECONDARY = "Secondary"


class DiskState(enum.Enum):
    """DRBD's disk states. Only UP_TO_DATE data may be promoted or win a VRRP election."""

    DISKLESS = "Diskless"
    ATTACHING = "Attaching"
    FAILED = "Failed"
    NEGOTIATING = "Negotiating"
    INCONSISTENT = "Inconsistent"
    OUTDATED = "Outdated"
    DUNKNOWN = "DUnknown"
    CONSISTENT = "Consistent"
    UP_TO_DATE = "UpToDate"


@dataclass(frozen=True, slots=True)
class VolumeObserved:
    """The volume of a group as its core reports it. `connected`: the replication link is up and
    the peer's role and disk are known (DRBD: Connected or a sync state); when it is False the
    peer fields are whatever was last known and are not used for decisions."""

    role: VolumeRole
    disk: DiskState
    peer_role: VolumeRole = VolumeRole.UNKNOWN
    peer_disk: DiskState = DiskState.DUNKNOWN
    connected: bool = False

    def describe(self) -> str:
        peer = f"peer {self.peer_role.value}/{self.peer_disk.value}" if self.connected else "peer unreachable"
        return f"{self.role.value}/{self.disk.value}, {peer}"
