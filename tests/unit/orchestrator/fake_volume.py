"""TEST-ONLY stand-in for the replicated volume (the real `hapair.core.volume` lands separately).

`FakeReplicatedVolume` keeps just what the orchestrator observes and what the safety checks need:
role, disk state, whether the replication link is up, what the orchestrator told it about I/O, and
a generation number that says whose data is newer after a partition. It follows DRBD where that
matters here:

- promotion is refused while the peer is connected and Primary, or the disk is not UpToDate;
  demotion is refused while the device is in use (attached);
- a Primary that loses its peer freezes its own writes when a witness is configured (DRBD's
  `fencing resource-and-stonith` behaviour), until told `resume`;
- promoting while disconnected starts a new generation (DRBD's new current UUID);
- on reconnect, the side with the older generation becomes SyncTarget (Inconsistent) and is
  UpToDate again after `resync_ns`; a stale Primary is forced to Secondary first (DRBD 9's
  `on-suspended-primary-outdated force-secondary`); two sides that both wrote apart are split brain.

Nothing here is used outside tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from hapair.core.orchestrator import DiskState, VolumeObserved, VolumeRole


class VolumeRefused(Exception):
    """The fake volume refused an operation (the shell turns it into StepFailed)."""


@dataclass
class FakeReplicatedVolume:
    name: str
    freeze_on_peer_loss: bool = True
    role: VolumeRole = VolumeRole.SECONDARY
    disk: DiskState = DiskState.UP_TO_DATE
    connected: bool = True
    io: str = "run"  # run | suspend | error
    fenced: bool = False
    attached: bool = False
    generation: int = 1
    wrote_apart: bool = False  # accepted a write while disconnected
    resync_until: int | None = None
    peer: FakeReplicatedVolume | None = None
    generations: Iterator[int] = field(default_factory=lambda: itertools.count(2))  # shared by the pair

    # --------------------------------------------------------------------------------- observation

    def observed(self) -> VolumeObserved:
        peer = self.peer
        if not self.connected or peer is None:
            return VolumeObserved(self.role, self.disk)
        return VolumeObserved(self.role, self.disk, peer.role, peer.disk, True)

    def writable(self) -> bool:
        return self.role is VolumeRole.PRIMARY and self.io == "run" and not self.fenced

    # ------------------------------------------------------------------------------------ commands

    def promote(self) -> None:
        if self.disk is not DiskState.UP_TO_DATE:
            raise VolumeRefused(f"{self.name}: disk is {self.disk.value}")
        peer = self.peer
        if self.connected and peer is not None and peer.role is VolumeRole.PRIMARY:
            raise VolumeRefused(f"{self.name}: the peer is Primary")
        if self.role is VolumeRole.PRIMARY:
            return
        self.role = VolumeRole.PRIMARY
        self.fenced = False
        self.io = "run"
        if not self.connected:
            self.generation = next(self.generations)

    def demote(self) -> None:
        if self.attached:
            raise VolumeRefused(f"{self.name}: the device is in use")
        self.role = VolumeRole.SECONDARY
        self.io = "run"

    def fence(self) -> None:
        """Refuse all I/O and drop the Primary role although the device is open (force-secondary)."""
        self.fenced = True
        self.io = "error"
        self.role = VolumeRole.SECONDARY

    def write(self) -> bool:
        if not self.writable():
            return False
        if not self.connected:
            self.wrote_apart = True
        return True

    # --------------------------------------------------------------------------------------- links

    def link_down(self) -> None:
        self.connected = False
        if self.role is VolumeRole.PRIMARY and self.freeze_on_peer_loss and not self.fenced:
            self.io = "suspend"

    def link_up(self, now: int, resync_ns: int) -> str:
        """Reconnect with the peer (call on both sides' behalf once); returns what happened."""
        peer = self.peer
        assert peer is not None
        self.connected = peer.connected = True
        if self.generation == peer.generation:
            return "in sync"
        if self.wrote_apart and peer.wrote_apart and self.role is peer.role is VolumeRole.PRIMARY:
            return "split brain"
        newer, older = (self, peer) if self.generation > peer.generation else (peer, self)
        if older.role is VolumeRole.PRIMARY:
            older.role = VolumeRole.SECONDARY  # force-secondary: its suspended writes fail
            older.io = "error"
        older.disk = DiskState.INCONSISTENT
        older.generation = newer.generation
        older.resync_until = now + resync_ns
        newer.wrote_apart = older.wrote_apart = False
        return f"{older.name} resyncs from {newer.name}"

    def tick(self, now: int) -> bool:
        """Finish a resync that is due; True when the disk state changed."""
        if self.resync_until is not None and now >= self.resync_until and self.connected:
            self.resync_until = None
            self.disk = DiskState.UP_TO_DATE
            return True
        return False
