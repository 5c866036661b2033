"""Events a replica publishes (through the `Emit` effect), each with the log line DRBD would write.

`line()` gives the text without the resource prefix; the shell prefixes `r0: ` as DRBD does.
Handler events name DRBD's handler (`split-brain`, `out-of-sync`, ...) so the shell can run the
configured script; the core never runs anything itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Level(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class StateChanged:
    """One atomic state change in DRBD's words: `conn( Connecting -> Connected ) disk( ... )`."""

    description: str

    def line(self) -> str:
        return self.description


@dataclass(frozen=True, slots=True)
class PeerConnected:
    peer: str

    def line(self) -> str:
        return f"Handshake to peer {self.peer} successful"


@dataclass(frozen=True, slots=True)
class PeerDisconnected:
    reason: str

    def line(self) -> str:
        return f"Connection closed: {self.reason}"


@dataclass(frozen=True, slots=True)
class ConnectionRefused:
    """The peer failed authentication or has incompatible settings; the node went StandAlone."""

    reason: str

    def line(self) -> str:
        return f"{self.reason}; discarding network configuration"


@dataclass(frozen=True, slots=True)
class ProtocolViolated:
    """The peer sent something malformed or out of place; the connection was dropped."""

    reason: str

    def line(self) -> str:
        return f"Protocol error: {self.reason}"


@dataclass(frozen=True, slots=True)
class SyncDecided:
    """The connect-time UUID comparison (`uuid_compare()=N by rule R`) and what it led to."""

    code: int
    rule: str
    outcome: str

    def line(self) -> str:
        return f"uuid_compare()={self.code} by rule {self.rule}"


@dataclass(frozen=True, slots=True)
class SplitBrainDetected:
    """Both nodes wrote independently; `resolved` tells whether a policy picked a victim."""

    primaries: int
    resolved: bool
    victim: str = ""

    def line(self) -> str:
        if self.resolved:
            return (
                f"Split-Brain detected, {self.primaries} primaries, automatically solved. "
                f"Sync from {'peer' if self.victim == 'self' else 'this'} node"
            )
        return "Split-Brain detected but unresolved, dropping connection!"


@dataclass(frozen=True, slots=True)
class ResyncStarted:
    as_source: bool
    blocks: int
    full: bool

    def line(self) -> str:
        kind = "full sync" if self.full else "bit-map based resync"
        role = "SyncSource" if self.as_source else "SyncTarget"
        return f"Began resync as {role} (will sync {self.blocks * 4} KB [{self.blocks} bits set]); {kind}."


@dataclass(frozen=True, slots=True)
class ResyncFinished:
    as_source: bool
    seconds: int
    paused_seconds: int
    kib_per_second: int
    equal_checksum_blocks: int = 0
    transferred_kib: int = 0

    def line(self) -> str:
        text = (
            f"Resync done (total {self.seconds} sec; paused {self.paused_seconds} sec; "
            f"{self.kib_per_second} K/sec)"
        )
        if self.equal_checksum_blocks:
            text += f"; {self.equal_checksum_blocks} blocks had equal checksums"
        return text


@dataclass(frozen=True, slots=True)
class OutOfSyncFound:
    """Online verify found differing content (DRBD merges adjacent blocks into one line)."""

    sector: int
    sectors: int

    def line(self) -> str:
        return f"Out of sync: start={self.sector}, size={self.sectors} (sectors)"


@dataclass(frozen=True, slots=True)
class VerifyFinished:
    out_of_sync_blocks: int
    blocks: int

    def line(self) -> str:
        if self.out_of_sync_blocks:
            return f"Online verify found {self.out_of_sync_blocks} 4k block out of sync!"
        return f"Online verify done ({self.blocks} blocks), no differences"


@dataclass(frozen=True, slots=True)
class HandlerInvoked:
    """Run the configured DRBD handler `name` (split-brain, out-of-sync, local-io-error, ...)."""

    name: str

    def line(self) -> str:
        return f"helper command: drbdadm {self.name}"


@dataclass(frozen=True, slots=True)
class NoticeLogged:
    """Anything else worth a log line, at `level`."""

    text: str
    level: Level = Level.INFO

    def line(self) -> str:
        return self.text


VolumeEvent = (
    StateChanged
    | PeerConnected
    | PeerDisconnected
    | ConnectionRefused
    | ProtocolViolated
    | SyncDecided
    | SplitBrainDetected
    | ResyncStarted
    | ResyncFinished
    | OutOfSyncFound
    | VerifyFinished
    | HandlerInvoked
    | NoticeLogged
)
