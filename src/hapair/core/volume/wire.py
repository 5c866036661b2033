"""Framing of the replication link: DRBD's 16-byte header v100 and incremental reassembly.

Header (big-endian, DRBD drbd_protocol.h `p_header100`)::

    magic u32 = 0x8620ec20 | volume u16 | command u16 | length u32 | pad u32 = 0

followed by `length` body bytes. `encode_frame` returns the header plus fixed body fields and,
separately, the data payload, so the shell can hand both to one vectored send without copying.
`FrameReader` accepts the byte stream in arbitrary chunks and yields decoded messages; the first
malformed frame raises `WireError` and poisons the reader (the connection must be closed, and
nothing of that frame or after it is acted upon).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from hapair.core.volume import control_messages as cm
from hapair.core.volume import messages as m
from hapair.core.volume.messages import MAX_BLOCK_IO, Command, Message, WireError

MAGIC = 0x8620EC20
HEADER = struct.Struct(">IHHII")
HEADER_SIZE = HEADER.size
# The largest body: a data message's fixed fields plus one maximal block.
MAX_BODY = MAX_BLOCK_IO + 64
PROTOCOL_VERSION_MIN = 1
PROTOCOL_VERSION_MAX = 1

MESSAGE_TYPES: dict[Command, type[Message]] = {
    cls.COMMAND: cls
    for cls in (
        m.Data,
        m.DataReply,
        m.ResyncDataReply,
        m.Barrier,
        m.BarrierAck,
        m.DataRequest,
        m.NegDataReply,
        m.ResyncRequest,
        m.ResyncIsInSync,
        m.ResyncWriteAck,
        m.NegResyncReply,
        m.RecvAck,
        m.WriteAck,
        m.NegAck,
        m.VerifyRequest,
        m.VerifyReply,
        m.VerifyResult,
        m.CsumResyncRequest,
        m.OutOfSync,
        cm.Ping,
        cm.PingAck,
        cm.Disconnect,
        cm.Features,
        cm.AuthChallenge,
        cm.AuthResponse,
        cm.ProtocolParams,
        cm.SyncParams,
        cm.Sizes,
        cm.Uuids,
        cm.SyncUuid,
        cm.State,
        cm.StateChangeRequest,
        cm.StateChangeReply,
        cm.StartFullSync,
        cm.BitmapRuns,
    )
}
if set(MESSAGE_TYPES) != set(Command):  # pragma: no cover - guards edits of the table
    raise AssertionError(f"commands without a message type: {set(Command) - set(MESSAGE_TYPES)}")


def encode_frame(message: Message, volume: int = 0) -> tuple[bytes, bytes | memoryview]:
    """Header and fixed body fields as one `bytes`, and the data payload (maybe empty) apart."""
    body = message.encode_body()
    payload = message.payload_bytes()
    length = len(body) + len(payload)
    if length > MAX_BODY:
        raise ValueError(f"{type(message).__name__} body of {length} bytes exceeds {MAX_BODY}")
    return HEADER.pack(MAGIC, volume, message.COMMAND.value, length, 0) + body, payload


def encode(message: Message, volume: int = 0) -> bytes:
    """The whole frame as one `bytes` (tests, small messages)."""
    head, payload = encode_frame(message, volume)
    return head + bytes(payload)


def decode_header(header: bytes | bytearray | memoryview) -> tuple[Command, int]:
    """(command, body length) of a frame header; `WireError` if it is not one of ours."""
    magic, volume, command, length, pad = HEADER.unpack(header)
    if magic != MAGIC:
        raise WireError(f"bad magic {magic:#010x}, expected {MAGIC:#010x}")
    if volume != 0:
        raise WireError(f"volume {volume}: only volume 0 is served on this connection")
    if pad != 0:
        raise WireError(f"header padding is {pad:#x}, expected 0")
    try:
        cmd = Command(command)
    except ValueError:
        raise WireError(f"unknown command {command:#06x}") from None
    if length > MAX_BODY:
        raise WireError(f"{cmd.name}: body of {length} bytes exceeds {MAX_BODY}")
    return cmd, length


def decode_body(command: Command, body: memoryview) -> Message:
    return MESSAGE_TYPES[command].decode_body(body)


class FrameReader:
    """Reassembles frames from a byte stream delivered in arbitrary chunks.

    Buffered bytes are bounded by one frame (`HEADER_SIZE + MAX_BODY`) plus the last chunk fed.
    Compaction is amortised: consumed bytes are dropped once they exceed half the buffer, so the
    total work stays linear in the stream length.
    """

    __slots__ = ("_buf", "_error", "_pending", "_pos", "frames", "octets")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._pending: tuple[Command, int] | None = None
        self._error: WireError | None = None
        self.frames = 0
        self.octets = 0

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def feed(self, data: bytes | memoryview) -> None:
        if self._error is not None:
            raise self._error
        self._buf += data
        self.octets += len(data)

    def next_message(self) -> Message | None:
        """The next complete message, or None when more bytes are needed."""
        if self._error is not None:
            raise self._error
        try:
            return self._next()
        except WireError as exc:
            self._error = exc
            raise

    def messages(self) -> Iterator[Message]:
        """Every complete message buffered so far."""
        while (msg := self.next_message()) is not None:
            yield msg

    def _next(self) -> Message | None:
        if self._pending is None:
            if self.buffered < HEADER_SIZE:
                return None
            self._pending = decode_header(self._buf[self._pos : self._pos + HEADER_SIZE])
            self._pos += HEADER_SIZE
        command, length = self._pending
        if self.buffered < length:
            return None
        body = bytes(self._buf[self._pos : self._pos + length])  # the one copy of a payload
        self._pos += length
        message = decode_body(command, memoryview(body))
        self._pending = None
        self.frames += 1
        if self._pos > len(self._buf) // 2:
            del self._buf[: self._pos]
            self._pos = 0
        return message
