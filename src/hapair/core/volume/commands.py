"""Admin commands, one per drbdadm verb the replica implements.

Each carries a `cmd_id` chosen by the caller. `Replica.admin()` either raises a typed error and
changes nothing (`StateChangeRefused` with DRBD's SS_* code, or `AdminRefused`), or accepts the
command; an accepted command's end is signalled by the effect `AdminCompleted(cmd_id, refusal)`,
in the same batch when it needs no I/O or peer round trip, later otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from hapair.core.volume.metadata import MetadataLayout
from hapair.errors import LocalProtocolError


class AdminRefused(LocalProtocolError):
    """An admin command does not apply in the current situation; nothing changed."""


@dataclass(frozen=True, slots=True)
class Attach:
    """Attach the backing device: `md_area` is the whole metadata area as read from disk
    (`layout.area_size` bytes at `layout.area_offset`), `backing_bytes` the data device size."""

    cmd_id: int
    layout: MetadataLayout
    backing_bytes: int
    md_area: bytes


@dataclass(frozen=True, slots=True)
class Detach:
    cmd_id: int


@dataclass(frozen=True, slots=True)
class Connect:
    cmd_id: int
    discard_my_data: bool = False


@dataclass(frozen=True, slots=True)
class Disconnect:
    cmd_id: int


@dataclass(frozen=True, slots=True)
class Primary:
    cmd_id: int
    force: bool = False


@dataclass(frozen=True, slots=True)
class Secondary:
    cmd_id: int


@dataclass(frozen=True, slots=True)
class Invalidate:
    """Discard the local copy: it becomes Inconsistent and is fully resynced from the peer."""

    cmd_id: int


@dataclass(frozen=True, slots=True)
class InvalidateRemote:
    """Discard the peer's copy: it is fully resynced from this node."""

    cmd_id: int


@dataclass(frozen=True, slots=True)
class Verify:
    cmd_id: int


@dataclass(frozen=True, slots=True)
class Outdate:
    cmd_id: int


@dataclass(frozen=True, slots=True)
class NewCurrentUuid:
    cmd_id: int
    clear_bitmap: bool = False


@dataclass(frozen=True, slots=True)
class Up:
    """attach + connect, as `drbdadm up` does."""

    cmd_id: int
    layout: MetadataLayout
    backing_bytes: int
    md_area: bytes


@dataclass(frozen=True, slots=True)
class Down:
    """secondary + disconnect + detach, as `drbdadm down` does."""

    cmd_id: int


AdminCommand = (
    Attach
    | Detach
    | Connect
    | Disconnect
    | Primary
    | Secondary
    | Invalidate
    | InvalidateRemote
    | Verify
    | Outdate
    | NewCurrentUuid
    | Up
    | Down
)
