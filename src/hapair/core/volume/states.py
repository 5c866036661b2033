"""DRBD's state model: roles, disk states, connection states, and the 8.4 rules that bind them.

The names are DRBD's, byte for byte, because operators grep for them. Numeric values are DRBD 8.4's
(`linux/drbd.h`): the rules compare states with `<` and `>=`, so order is part of the meaning. The
one deliberate change is the connection state DRBD 8.4 calls `WFConnection`: we name it
`Connecting`, as DRBD 9 and `drbdadm status` do, and keep the 8.4 word for /proc/drbd-style output.

The rules that bind these states together (DRBD's `is_valid_state` and friends) are in
`state_rules`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Self, TypeVar


class _OrderedState(enum.Enum):
    """An enum whose members compare by their DRBD number (DRBD's rules use `<`, `>=`)."""

    def __lt__(self, other: Self) -> bool:
        return int(self.value) < int(other.value)

    def __le__(self, other: Self) -> bool:
        return int(self.value) <= int(other.value)

    def __gt__(self, other: Self) -> bool:
        return int(self.value) > int(other.value)

    def __ge__(self, other: Self) -> bool:
        return int(self.value) >= int(other.value)

    @classmethod
    def from_code(cls, code: int) -> Self:
        """The member with DRBD number `code`; ValueError for an unknown number."""
        return cls(code)


class Role(_OrderedState):
    UNKNOWN = 0
    PRIMARY = 1
    SECONDARY = 2

    @property
    def text(self) -> str:
        return _ROLE_TEXT[self]


class DiskState(_OrderedState):
    DISKLESS = 0
    ATTACHING = 1
    FAILED = 2
    NEGOTIATING = 3
    INCONSISTENT = 4
    OUTDATED = 5
    DUNKNOWN = 6
    CONSISTENT = 7
    UP_TO_DATE = 8

    @property
    def text(self) -> str:
        return _DISK_TEXT[self]


class ConnState(_OrderedState):
    """DRBD 8.4's `drbd_conns` (without pull-ahead's Ahead/Behind, which we do not implement)."""

    STANDALONE = 0
    DISCONNECTING = 1
    UNCONNECTED = 2
    TIMEOUT = 3
    BROKEN_PIPE = 4
    NETWORK_FAILURE = 5
    PROTOCOL_ERROR = 6
    TEAR_DOWN = 7
    CONNECTING = 8  # 8.4: WFConnection
    WF_REPORT_PARAMS = 9
    CONNECTED = 10
    STARTING_SYNC_S = 11
    STARTING_SYNC_T = 12
    WF_BITMAP_S = 13
    WF_BITMAP_T = 14
    WF_SYNC_UUID = 15
    SYNC_SOURCE = 16
    SYNC_TARGET = 17
    VERIFY_S = 18
    VERIFY_T = 19
    PAUSED_SYNC_S = 20
    PAUSED_SYNC_T = 21

    @property
    def text(self) -> str:
        """The name in log lines and `drbdadm status` (DRBD 9 words: `Connecting`)."""
        return _CONN_TEXT[self]

    @property
    def proc_text(self) -> str:
        """The name in /proc/drbd's `cs:` field (DRBD 8.4 words: `WFConnection`)."""
        return "WFConnection" if self is ConnState.CONNECTING else _CONN_TEXT[self]

    @property
    def connection_text(self) -> str:
        """DRBD 9's per-connection state (`connection:` in `drbdadm status`)."""
        if self >= ConnState.CONNECTED:
            return "Connected"
        if self is ConnState.WF_REPORT_PARAMS:
            return "Connecting"
        return _CONN_TEXT[self]

    @property
    def replication_text(self) -> str:
        """DRBD 9's per-volume replication state (`replication:` in `drbdadm status`)."""
        if self < ConnState.CONNECTED:
            return "Off"
        if self is ConnState.CONNECTED:
            return "Established"
        return _CONN_TEXT[self]

    @property
    def is_sync(self) -> bool:
        """SyncSource, SyncTarget or one of the paused variants (resync in progress)."""
        return self in _SYNC_STATES

    @property
    def is_verify(self) -> bool:
        return self in (ConnState.VERIFY_S, ConnState.VERIFY_T)

    @property
    def is_network_failure(self) -> bool:
        """The transient "why we lost the connection" states, Timeout..TearDown."""
        return ConnState.TIMEOUT <= self <= ConnState.TEAR_DOWN


_ROLE_TEXT = {Role.UNKNOWN: "Unknown", Role.PRIMARY: "Primary", Role.SECONDARY: "Secondary"}
_DISK_TEXT = {
    DiskState.DISKLESS: "Diskless",
    DiskState.ATTACHING: "Attaching",
    DiskState.FAILED: "Failed",
    DiskState.NEGOTIATING: "Negotiating",
    DiskState.INCONSISTENT: "Inconsistent",
    DiskState.OUTDATED: "Outdated",
    DiskState.DUNKNOWN: "DUnknown",
    DiskState.CONSISTENT: "Consistent",
    DiskState.UP_TO_DATE: "UpToDate",
}
_CONN_TEXT = {
    ConnState.STANDALONE: "StandAlone",
    ConnState.DISCONNECTING: "Disconnecting",
    ConnState.UNCONNECTED: "Unconnected",
    ConnState.TIMEOUT: "Timeout",
    ConnState.BROKEN_PIPE: "BrokenPipe",
    ConnState.NETWORK_FAILURE: "NetworkFailure",
    ConnState.PROTOCOL_ERROR: "ProtocolError",
    ConnState.TEAR_DOWN: "TearDown",
    ConnState.CONNECTING: "Connecting",
    ConnState.WF_REPORT_PARAMS: "WFReportParams",
    ConnState.CONNECTED: "Connected",
    ConnState.STARTING_SYNC_S: "StartingSyncS",
    ConnState.STARTING_SYNC_T: "StartingSyncT",
    ConnState.WF_BITMAP_S: "WFBitMapS",
    ConnState.WF_BITMAP_T: "WFBitMapT",
    ConnState.WF_SYNC_UUID: "WFSyncUUID",
    ConnState.SYNC_SOURCE: "SyncSource",
    ConnState.SYNC_TARGET: "SyncTarget",
    ConnState.VERIFY_S: "VerifyS",
    ConnState.VERIFY_T: "VerifyT",
    ConnState.PAUSED_SYNC_S: "PausedSyncS",
    ConnState.PAUSED_SYNC_T: "PausedSyncT",
}
_SYNC_STATES = frozenset(
    {ConnState.SYNC_SOURCE, ConnState.SYNC_TARGET, ConnState.PAUSED_SYNC_S, ConnState.PAUSED_SYNC_T}
)


_E = TypeVar("_E", bound=enum.Enum)


def parse_role(text: str) -> Role:
    return _parse(Role, _ROLE_TEXT, text)


def parse_disk_state(text: str) -> DiskState:
    return _parse(DiskState, _DISK_TEXT, text)


def parse_conn_state(text: str) -> ConnState:
    """Accepts both `Connecting` and 8.4's `WFConnection`."""
    if text == "WFConnection":
        return ConnState.CONNECTING
    return _parse(ConnState, _CONN_TEXT, text)


def _parse(kind: type[_E], table: dict[_E, str], text: str) -> _E:
    for member, name in table.items():
        if name == text:
            return member
    raise ValueError(f"not a DRBD {kind.__name__} name: {text!r}")


class FencingPolicy(enum.Enum):
    """`fencing` (8.4: disk section; 9: net section). Values are DRBD's FP_* numbers."""

    DONT_CARE = 0
    RESOURCE_ONLY = 1
    RESOURCE_AND_STONITH = 2


class OnNoDataAccessible(enum.Enum):
    """`on-no-data-accessible`: what a Primary does when neither disk is UpToDate."""

    IO_ERROR = 0
    SUSPEND_IO = 1


@dataclass(frozen=True, slots=True)
class ReplicaState:
    """DRBD 8.4's state word for one volume: own and peer role and disk, the connection, flags.

    `susp` is the operator's suspend-io, `susp_nod` the "no data accessible" freeze, `susp_fen` the
    fencing freeze; the three `*_isp` flags pause a resync (resync-after dependency, peer, user).
    """

    role: Role = Role.SECONDARY
    peer: Role = Role.UNKNOWN
    conn: ConnState = ConnState.STANDALONE
    disk: DiskState = DiskState.DISKLESS
    pdsk: DiskState = DiskState.DUNKNOWN
    susp: bool = False
    susp_nod: bool = False
    susp_fen: bool = False
    aftr_isp: bool = False
    peer_isp: bool = False
    user_isp: bool = False

    @property
    def suspended(self) -> bool:
        return self.susp or self.susp_nod or self.susp_fen

    @property
    def resync_paused(self) -> bool:
        return self.aftr_isp or self.peer_isp or self.user_isp
