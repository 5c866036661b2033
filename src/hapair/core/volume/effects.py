"""What goes into a replica core and what comes out: the contract with the shell and the simulator.

Inputs are client requests, completions of effects the core asked for, transport happenings and
timer expiry; each carries the ids the core or the shell chose. Effects are requests to the shell:
disk I/O on the backing device (data area offsets) or the metadata area (offsets inside it),
frames to send, connection attempts, client completions and events to log or publish. Data is
passed as `bytes`/`memoryview` handles and never copied by the core.

Ids: the shell picks `req_id` for client requests and `transport_id` for connections; the core
picks `io_id` for disk I/O. Errors are errno numbers, 0 meaning success.

Shell obligations: every submitted I/O completes exactly once (with an error if need be), within a
bounded time or with ETIMEDOUT; `DialPeer` ends in `TransportUp(dialed=True)` or `DialFailed`;
after `CloseTransport` the shell reports nothing more for that transport; `TimerFired` is fed
when `now_ns >= next_deadline()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hapair.core.volume.events import VolumeEvent

# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True, slots=True)
class ClientWrite:
    """Write `data` at byte `offset` of the volume; `fua`: durable on completion."""

    req_id: int
    offset: int
    data: bytes | memoryview
    fua: bool = False


@dataclass(frozen=True, slots=True)
class ClientRead:
    req_id: int
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class ClientFlush:
    """Make every write completed before this request durable (on both nodes when connected)."""

    req_id: int


@dataclass(frozen=True, slots=True)
class LocalWriteDone:
    io_id: int
    error: int = 0


@dataclass(frozen=True, slots=True)
class LocalReadDone:
    io_id: int
    data: bytes | memoryview = b""
    error: int = 0


@dataclass(frozen=True, slots=True)
class LocalFlushDone:
    io_id: int
    error: int = 0


@dataclass(frozen=True, slots=True)
class MetadataWriteDone:
    io_id: int
    error: int = 0


@dataclass(frozen=True, slots=True)
class TransportUp:
    """A stream to the peer exists; `dialed` is True when this node opened it."""

    transport_id: int
    dialed: bool


@dataclass(frozen=True, slots=True)
class TransportDown:
    transport_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class DialFailed:
    reason: str


@dataclass(frozen=True, slots=True)
class BytesReceived:
    transport_id: int
    data: bytes | memoryview


@dataclass(frozen=True, slots=True)
class TimerFired:
    """`now_ns` reached `next_deadline()`."""


ClientRequest = ClientWrite | ClientRead | ClientFlush
DiskCompletion = LocalWriteDone | LocalReadDone | LocalFlushDone | MetadataWriteDone
TransportInput = TransportUp | TransportDown | DialFailed | BytesReceived

# ---------------------------------------------------------------------------------------------
# Effects


@dataclass(frozen=True, slots=True)
class SubmitLocalWrite:
    """Write `data` at `offset` of the data area; `fua`: complete only once it is durable."""

    io_id: int
    offset: int
    data: bytes | memoryview
    fua: bool = False


@dataclass(frozen=True, slots=True)
class SubmitLocalRead:
    io_id: int
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class SubmitFlush:
    """Make every local write completed so far durable (fdatasync)."""

    io_id: int


@dataclass(frozen=True, slots=True)
class WriteMetadata:
    """Write `data` at `offset` inside the metadata area and make it durable before completing."""

    io_id: int
    offset: int
    data: bytes


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Send `head` then `payload` (maybe empty) on the transport, in order after earlier frames."""

    transport_id: int
    head: bytes
    payload: bytes | memoryview = b""


@dataclass(frozen=True, slots=True)
class CloseTransport:
    transport_id: int


@dataclass(frozen=True, slots=True)
class DialPeer:
    """Try one outgoing connection to the peer's address (bounded by a timeout)."""


@dataclass(frozen=True, slots=True)
class Listen:
    """Accept (True) or refuse (False) incoming connections from the peer."""

    enabled: bool


@dataclass(frozen=True, slots=True)
class CompleteClientRequest:
    """Answer a client request: `error` 0 for success; `data` for reads."""

    req_id: int
    error: int = 0
    data: bytes | memoryview | None = None


@dataclass(frozen=True, slots=True)
class AdminCompleted:
    """An admin command accepted earlier finished; `refusal` is empty on success."""

    cmd_id: int
    refusal: str = ""


@dataclass(frozen=True, slots=True)
class Emit:
    """Publish an event (log line, journal, handler script, metrics)."""

    event: VolumeEvent


DiskEffect = SubmitLocalWrite | SubmitLocalRead | SubmitFlush | WriteMetadata
TransportEffect = SendFrame | CloseTransport | DialPeer | Listen
Effect = DiskEffect | TransportEffect | CompleteClientRequest | AdminCompleted | Emit
