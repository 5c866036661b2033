"""The messages two replicas exchange, as frozen values with strict body codecs.

Modelled on DRBD 8.4's packets (drbd_protocol.h): command numbers are DRBD's where DRBD has the
packet, the bodies are our own (big-endian, no padding). Block addresses travel as 512-byte
sectors like DRBD's; sizes are bytes and must be whole sectors. Names and policy keywords travel
as short ASCII tokens so a mismatch can be reported in the operator's words.

Every decoder checks lengths, ranges and trailing bytes and raises `WireError`; a message that
decodes is well formed (it may still be out of place, which the connection decides).
"""

from __future__ import annotations

import enum
import re
import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from hapair.errors import RemoteProtocolError

SECTOR = 512
MAX_BLOCK_IO = 1 << 20  # DRBD_MAX_BIO_SIZE: the largest single data request on the wire
MAX_TOKEN = 64
MAX_DIGEST = 64
MIN_CHALLENGE = 16
MAX_BITMAP_RUNS = 4096
_TOKEN = re.compile(rb"[A-Za-z0-9._+-]*")


class WireError(RemoteProtocolError):
    """The peer sent bytes that are not a well-formed message; the connection must be closed."""


class Command(enum.IntEnum):
    """Packet numbers (DRBD's where it has the packet)."""

    DATA = 0x00
    DATA_REPLY = 0x01
    RS_DATA_REPLY = 0x02
    BARRIER = 0x03
    BITMAP = 0x04
    START_FULL_SYNC = 0x05
    DATA_REQUEST = 0x08
    RS_DATA_REQUEST = 0x09
    SYNC_PARAM = 0x0A
    PROTOCOL = 0x0B
    UUIDS = 0x0C
    SIZES = 0x0D
    STATE = 0x0E
    SYNC_UUID = 0x0F
    AUTH_CHALLENGE = 0x10
    AUTH_RESPONSE = 0x11
    STATE_CHG_REQ = 0x12
    PING = 0x13
    PING_ACK = 0x14
    RECV_ACK = 0x15
    WRITE_ACK = 0x16
    RS_WRITE_ACK = 0x17
    NEG_ACK = 0x19
    NEG_DREPLY = 0x1A
    NEG_RS_DREPLY = 0x1B
    BARRIER_ACK = 0x1C
    STATE_CHG_REPLY = 0x1D
    OV_REQUEST = 0x1E
    OV_REPLY = 0x1F
    OV_RESULT = 0x20
    CSUM_RS_REQUEST = 0x21
    RS_IS_IN_SYNC = 0x22
    OUT_OF_SYNC = 0x28
    DISCONNECT = 0x29
    FEATURES = 0xFFFE


class BodyReader:
    """Bounds-checked reads from one message body."""

    __slots__ = ("_body", "_pos", "_what")

    def __init__(self, body: bytes | memoryview, what: str) -> None:
        self._body = memoryview(body)
        self._pos = 0
        self._what = what

    def _take(self, n: int) -> memoryview:
        end = self._pos + n
        if end > len(self._body):
            raise WireError(f"{self._what}: body too short ({len(self._body)} bytes)")
        view = self._body[self._pos : end]
        self._pos = end
        return view

    def unpack(self, fmt: struct.Struct) -> tuple[int, ...]:
        return fmt.unpack(self._take(fmt.size))

    def raw(self, n: int) -> bytes:
        return bytes(self._take(n))

    def rest(self) -> bytes:
        return self.raw(len(self._body) - self._pos)

    def rest_view(self) -> memoryview:
        """The remaining bytes without a copy (callers pass bodies backed by immutable bytes)."""
        return self._take(len(self._body) - self._pos)

    def token(self) -> str:
        (n,) = self.unpack(_U8)
        if n > MAX_TOKEN:
            raise WireError(f"{self._what}: name of {n} bytes is too long")
        raw = self.raw(n)
        if _TOKEN.fullmatch(raw) is None:
            raise WireError(f"{self._what}: name {raw!r} has characters outside [A-Za-z0-9._+-]")
        return raw.decode("ascii")

    def short_bytes(self, low: int, high: int) -> bytes:
        (n,) = self.unpack(_U8)
        if not low <= n <= high:
            raise WireError(f"{self._what}: field of {n} bytes, expected {low}..{high}")
        return self.raw(n)

    def flag(self) -> bool:
        (v,) = self.unpack(_U8)
        if v > 1:
            raise WireError(f"{self._what}: boolean field is {v}")
        return v == 1

    def end(self) -> None:
        if self._pos != len(self._body):
            raise WireError(f"{self._what}: {len(self._body) - self._pos} unexpected trailing bytes")


_U8 = struct.Struct(">B")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


def pack_token(value: str) -> bytes:
    raw = value.encode("ascii")
    if len(raw) > MAX_TOKEN or _TOKEN.fullmatch(raw) is None:
        raise ValueError(f"not a wire token: {value!r}")
    return _U8.pack(len(raw)) + raw


def pack_short_bytes(value: bytes, low: int, high: int) -> bytes:
    if not low <= len(value) <= high:
        raise ValueError(f"field of {len(value)} bytes, expected {low}..{high}")
    return _U8.pack(len(value)) + value


def check_block(what: str, sector: int, size: int) -> None:
    """A block reference is a whole number of sectors, at most MAX_BLOCK_IO, not wrapping."""
    if size <= 0 or size % SECTOR or size > MAX_BLOCK_IO:
        raise WireError(f"{what}: size {size} is not 1..{MAX_BLOCK_IO} bytes in whole sectors")
    if sector > ((1 << 64) - 1 - size) // SECTOR:
        raise WireError(f"{what}: sector {sector} + size overflows")


class Message:
    """Base of every message: `COMMAND`, `encode_body()` and the classmethod `decode_body()`.

    Messages carrying block data keep it in `payload`, which `encode_body` leaves out so a shell
    can send header and payload with one vectored write and no copy.
    """

    __slots__ = ()
    COMMAND: ClassVar[Command]

    def encode_body(self) -> bytes:
        raise NotImplementedError

    def payload_bytes(self) -> bytes | memoryview:
        return b""

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        raise NotImplementedError


# ---- fixed-layout block references: sector u64, req_id u64, size u32 ----

_BLOCK = struct.Struct(">QQI")


@dataclass(frozen=True, slots=True)
class BlockMessage(Message):
    """A reference to `size` bytes at `sector`, tagged with the sender's request id."""

    sector: int
    req_id: int
    size: int

    def encode_body(self) -> bytes:
        return _BLOCK.pack(self.sector, self.req_id, self.size)

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, cls.__name__)
        sector, req_id, size = r.unpack(_BLOCK)
        r.end()
        check_block(cls.__name__, sector, size)
        return cls(sector, req_id, size)


@dataclass(frozen=True, slots=True)
class RecvAck(BlockMessage):
    """Protocol B: the peer has the data in memory."""

    COMMAND = Command.RECV_ACK


@dataclass(frozen=True, slots=True)
class WriteAck(BlockMessage):
    """Protocol C (and every FUA write): the peer's local write completed."""

    COMMAND = Command.WRITE_ACK


@dataclass(frozen=True, slots=True)
class NegAck(BlockMessage):
    """The peer could not write the block; the sender marks it out of sync."""

    COMMAND = Command.NEG_ACK


@dataclass(frozen=True, slots=True)
class DataRequest(BlockMessage):
    """A diskless Primary reads through the peer."""

    COMMAND = Command.DATA_REQUEST


@dataclass(frozen=True, slots=True)
class NegDataReply(BlockMessage):
    COMMAND = Command.NEG_DREPLY


@dataclass(frozen=True, slots=True)
class ResyncRequest(BlockMessage):
    """SyncTarget asks the SyncSource for one block range."""

    COMMAND = Command.RS_DATA_REQUEST


@dataclass(frozen=True, slots=True)
class ResyncIsInSync(BlockMessage):
    """Checksum resync: the digests matched, nothing to transfer."""

    COMMAND = Command.RS_IS_IN_SYNC


@dataclass(frozen=True, slots=True)
class ResyncWriteAck(BlockMessage):
    """SyncTarget wrote a resync block; both sides clear its bits."""

    COMMAND = Command.RS_WRITE_ACK


@dataclass(frozen=True, slots=True)
class NegResyncReply(BlockMessage):
    """SyncSource could not read the block."""

    COMMAND = Command.NEG_RS_DREPLY


@dataclass(frozen=True, slots=True)
class VerifyRequest(BlockMessage):
    """VerifyS asks VerifyT for the digest of one block range."""

    COMMAND = Command.OV_REQUEST


# ---- block references with a payload or a digest ----


@dataclass(frozen=True, slots=True)
class DataMessage(Message):
    """Block data: `payload` is exactly the bytes at `sector`."""

    sector: int
    req_id: int
    payload: bytes | memoryview

    _FIXED: ClassVar[struct.Struct] = struct.Struct(">QQ")

    def encode_body(self) -> bytes:
        return self._FIXED.pack(self.sector, self.req_id)

    def payload_bytes(self) -> bytes | memoryview:
        return self.payload

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, cls.__name__)
        sector, req_id = r.unpack(cls._FIXED)
        payload = r.rest_view()
        check_block(cls.__name__, sector, len(payload))
        return cls(sector, req_id, payload)


@dataclass(frozen=True, slots=True)
class DataReply(DataMessage):
    COMMAND = Command.DATA_REPLY


@dataclass(frozen=True, slots=True)
class ResyncDataReply(DataMessage):
    COMMAND = Command.RS_DATA_REPLY


class DataFlags(enum.IntFlag):
    """DRBD's dp_flags that we use."""

    NONE = 0
    FUA = 4
    FLUSH = 8
    SEND_RECEIVE_ACK = 128
    SEND_WRITE_ACK = 256


_DATA = struct.Struct(">QQIII")
_KNOWN_DATA_FLAGS = (
    DataFlags.FUA | DataFlags.FLUSH | DataFlags.SEND_RECEIVE_ACK | DataFlags.SEND_WRITE_ACK
).value


@dataclass(frozen=True, slots=True)
class Data(Message):
    """An application write mirrored to the peer, in epoch `epoch`, `seq` counting from 1."""

    COMMAND: ClassVar[Command] = Command.DATA
    sector: int
    req_id: int
    seq: int
    epoch: int
    flags: DataFlags
    payload: bytes | memoryview

    def encode_body(self) -> bytes:
        return _DATA.pack(self.sector, self.req_id, self.seq, self.epoch, self.flags.value)

    def payload_bytes(self) -> bytes | memoryview:
        return self.payload

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "Data")
        sector, req_id, seq, epoch, flags = r.unpack(_DATA)
        if flags & ~_KNOWN_DATA_FLAGS:
            raise WireError(f"Data: unknown flags {flags:#x}")
        payload = r.rest_view()
        check_block("Data", sector, len(payload))
        return cls(sector, req_id, seq, epoch, DataFlags(flags), payload)


_DIGESTED = struct.Struct(">QQI")


@dataclass(frozen=True, slots=True)
class DigestMessage(Message):
    """A block reference with the digest of its content (checksum resync, online verify)."""

    sector: int
    req_id: int
    size: int
    digest: bytes

    def encode_body(self) -> bytes:
        fixed = _DIGESTED.pack(self.sector, self.req_id, self.size)
        return fixed + pack_short_bytes(self.digest, 1, MAX_DIGEST)

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, cls.__name__)
        sector, req_id, size = r.unpack(_DIGESTED)
        digest = r.short_bytes(1, MAX_DIGEST)
        r.end()
        check_block(cls.__name__, sector, size)
        return cls(sector, req_id, size, digest)


@dataclass(frozen=True, slots=True)
class CsumResyncRequest(DigestMessage):
    """SyncTarget asks for a block, sending the digest of its own copy."""

    COMMAND = Command.CSUM_RS_REQUEST


@dataclass(frozen=True, slots=True)
class VerifyReply(DigestMessage):
    """VerifyT's digest of the requested block."""

    COMMAND = Command.OV_REPLY


_RANGE = struct.Struct(">QIB")


@dataclass(frozen=True, slots=True)
class VerifyResult(Message):
    """VerifyS tells VerifyT the outcome for one block range."""

    COMMAND: ClassVar[Command] = Command.OV_RESULT
    sector: int
    size: int
    in_sync: bool

    def encode_body(self) -> bytes:
        return _RANGE.pack(self.sector, self.size, int(self.in_sync))

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "VerifyResult")
        sector, size, in_sync = r.unpack(_RANGE)
        r.end()
        if in_sync > 1:
            raise WireError(f"VerifyResult: boolean field is {in_sync}")
        check_block("VerifyResult", sector, size)
        return cls(sector, size, in_sync == 1)


_OOS = struct.Struct(">QQ")


@dataclass(frozen=True, slots=True)
class OutOfSync(Message):
    """The sender marked `size` bytes at `sector` out of sync; the receiver marks them too.

    Unlike block requests the range may exceed MAX_BLOCK_IO (a whole verify run's finding).
    """

    COMMAND: ClassVar[Command] = Command.OUT_OF_SYNC
    sector: int
    size: int

    def encode_body(self) -> bytes:
        return _OOS.pack(self.sector, self.size)

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "OutOfSync")
        sector, size = r.unpack(_OOS)
        r.end()
        if size <= 0 or size % SECTOR or sector > ((1 << 64) - 1 - size) // SECTOR:
            raise WireError(f"OutOfSync: bad range sector={sector} size={size}")
        return cls(sector, size)


_BARRIER = struct.Struct(">I")
_BARRIER_ACK = struct.Struct(">II")


@dataclass(frozen=True, slots=True)
class Barrier(Message):
    """Closes epoch `epoch`: the peer acks once every write of it (and before) is on stable storage."""

    COMMAND: ClassVar[Command] = Command.BARRIER
    epoch: int

    def encode_body(self) -> bytes:
        return _BARRIER.pack(self.epoch)

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "Barrier")
        (epoch,) = r.unpack(_BARRIER)
        r.end()
        return cls(epoch)


@dataclass(frozen=True, slots=True)
class BarrierAck(Message):
    """Epoch `epoch` and its `count` writes are durable on the peer."""

    COMMAND: ClassVar[Command] = Command.BARRIER_ACK
    epoch: int
    count: int

    def encode_body(self) -> bytes:
        return _BARRIER_ACK.pack(self.epoch, self.count)

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "BarrierAck")
        epoch, count = r.unpack(_BARRIER_ACK)
        r.end()
        return cls(epoch, count)
