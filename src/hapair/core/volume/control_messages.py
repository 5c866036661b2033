"""Connection set-up, state and bitmap messages (the non-data half of the wire vocabulary).

Roles, disk states and policy keywords travel as ASCII tokens in DRBD's spelling ("Primary",
"UpToDate", "discard-zero-changes"); the receiving core maps them to its enums and treats an
unknown word as a protocol violation. See `messages.py` for the codec conventions.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from hapair.core.volume.messages import (
    MAX_BITMAP_RUNS,
    MAX_DIGEST,
    MIN_CHALLENGE,
    BodyReader,
    Command,
    Message,
    WireError,
    pack_short_bytes,
    pack_token,
)

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


@dataclass(frozen=True, slots=True)
class EmptyMessage(Message):
    """A message with no body."""

    def encode_body(self) -> bytes:
        return b""

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        BodyReader(body, cls.__name__).end()
        return cls()


@dataclass(frozen=True, slots=True)
class Ping(EmptyMessage):
    COMMAND = Command.PING


@dataclass(frozen=True, slots=True)
class PingAck(EmptyMessage):
    COMMAND = Command.PING_ACK


@dataclass(frozen=True, slots=True)
class Disconnect(EmptyMessage):
    """A graceful goodbye: the sender closes the connection on purpose (`drbdadm disconnect`)."""

    COMMAND = Command.DISCONNECT


_FEATURES = struct.Struct(">III")


@dataclass(frozen=True, slots=True)
class Features(Message):
    """First message on a new connection: the range of protocol versions the sender speaks."""

    COMMAND: ClassVar[Command] = Command.FEATURES
    protocol_min: int
    protocol_max: int
    feature_flags: int = 0

    def encode_body(self) -> bytes:
        return _FEATURES.pack(self.protocol_min, self.protocol_max, self.feature_flags)

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "Features")
        low, high, flags = r.unpack(_FEATURES)
        r.end()
        if low > high:
            raise WireError(f"Features: protocol range {low}..{high} is empty")
        return cls(low, high, flags)


@dataclass(frozen=True, slots=True)
class AuthChallenge(Message):
    """CRAM-HMAC: random bytes the peer must answer with HMAC(shared-secret, challenge)."""

    COMMAND: ClassVar[Command] = Command.AUTH_CHALLENGE
    challenge: bytes

    def encode_body(self) -> bytes:
        return pack_short_bytes(self.challenge, MIN_CHALLENGE, 64)

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "AuthChallenge")
        challenge = r.short_bytes(MIN_CHALLENGE, 64)
        r.end()
        return cls(challenge)


@dataclass(frozen=True, slots=True)
class AuthResponse(Message):
    COMMAND: ClassVar[Command] = Command.AUTH_RESPONSE
    digest: bytes

    def encode_body(self) -> bytes:
        return pack_short_bytes(self.digest, 1, MAX_DIGEST)

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "AuthResponse")
        digest = r.short_bytes(1, MAX_DIGEST)
        r.end()
        return cls(digest)


@dataclass(frozen=True, slots=True)
class ProtocolParams(Message):
    """Net options that must agree on both nodes (DRBD's P_PROTOCOL), plus the sender's name.

    Policies are sent as the receiver should read them: `discard-local` / `discard-remote` are
    mirrored by the sender (DRBD's convert_after_sb), so equal strings mean compatible settings.
    """

    COMMAND: ClassVar[Command] = Command.PROTOCOL
    node_name: str
    protocol: str
    after_sb_0pri: str
    after_sb_1pri: str
    after_sb_2pri: str
    rr_conflict: str
    two_primaries: bool
    always_asbp: bool

    def encode_body(self) -> bytes:
        tokens = (
            self.node_name,
            self.protocol,
            self.after_sb_0pri,
            self.after_sb_1pri,
            self.after_sb_2pri,
            self.rr_conflict,
        )
        flags = bytes((int(self.two_primaries), int(self.always_asbp)))
        return b"".join(pack_token(t) for t in tokens) + flags

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "ProtocolParams")
        name, proto, sb0, sb1, sb2, rr = (r.token() for _ in range(6))
        two, asbp = r.flag(), r.flag()
        r.end()
        return cls(name, proto, sb0, sb1, sb2, rr, two, asbp)


@dataclass(frozen=True, slots=True)
class SyncParams(Message):
    """Resync options (DRBD's P_SYNC_PARAM); verify-alg and csums-alg must agree."""

    COMMAND: ClassVar[Command] = Command.SYNC_PARAM
    resync_rate_kib: int
    verify_alg: str
    csums_alg: str

    def encode_body(self) -> bytes:
        return _U32.pack(self.resync_rate_kib) + pack_token(self.verify_alg) + pack_token(self.csums_alg)

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "SyncParams")
        (rate,) = r.unpack(_U32)
        verify, csums = r.token(), r.token()
        r.end()
        return cls(rate, verify, csums)


_SIZES = struct.Struct(">QQQI")


@dataclass(frozen=True, slots=True)
class Sizes(Message):
    """Sizes in bytes: usable backing size, configured `size`, the size the sender currently uses."""

    COMMAND: ClassVar[Command] = Command.SIZES
    backing_size: int
    user_size: int
    current_size: int
    max_request: int

    def encode_body(self) -> bytes:
        return _SIZES.pack(self.backing_size, self.user_size, self.current_size, self.max_request)

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "Sizes")
        backing, user, current, max_req = r.unpack(_SIZES)
        r.end()
        return cls(backing, user, current, max_req)


_UUIDS = struct.Struct(">QQQQQQ")


class UuidFlags:
    """Bits of the flags word of `Uuids` (DRBD _drbd_send_uuids)."""

    DISCARD_MY_DATA = 1
    CRASHED_PRIMARY = 2
    INCONSISTENT = 4
    SKIP_INITIAL_SYNC = 8
    ALL = 15


@dataclass(frozen=True, slots=True)
class Uuids(Message):
    """The sender's generation identifiers, its count of out-of-sync blocks and `UuidFlags`."""

    COMMAND: ClassVar[Command] = Command.UUIDS
    current: int
    bitmap: int
    history1: int
    history2: int
    bitmap_bits: int
    flags: int

    def encode_body(self) -> bytes:
        return _UUIDS.pack(
            self.current, self.bitmap, self.history1, self.history2, self.bitmap_bits, self.flags
        )

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "Uuids")
        cur, bm, h1, h2, bits, flags = r.unpack(_UUIDS)
        r.end()
        if flags & ~UuidFlags.ALL:
            raise WireError(f"Uuids: unknown flags {flags:#x}")
        return cls(cur, bm, h1, h2, bits, flags)


@dataclass(frozen=True, slots=True)
class SyncUuid(Message):
    """The SyncSource's new bitmap UUID, which the SyncTarget adopts as its current UUID."""

    COMMAND: ClassVar[Command] = Command.SYNC_UUID
    uuid: int

    def encode_body(self) -> bytes:
        return _U64.pack(self.uuid)

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "SyncUuid")
        (uuid,) = r.unpack(_U64)
        r.end()
        return cls(uuid)


@dataclass(frozen=True, slots=True)
class State(Message):
    """The sender's role, disk state and replication state in DRBD's words, plus `user_paused`."""

    COMMAND: ClassVar[Command] = Command.STATE
    role: str
    disk: str
    replication: str
    user_paused: bool = False

    def encode_body(self) -> bytes:
        tokens = pack_token(self.role) + pack_token(self.disk) + pack_token(self.replication)
        return tokens + bytes((int(self.user_paused),))

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "State")
        role, disk, repl = r.token(), r.token(), r.token()
        paused = r.flag()
        r.end()
        return cls(role, disk, repl, paused)


_REQ = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class StateChangeRequest(Message):
    """Cluster-wide state change (DRBD P_STATE_CHG_REQ): `change` is e.g. "primary"."""

    COMMAND: ClassVar[Command] = Command.STATE_CHG_REQ
    req_id: int
    change: str

    def encode_body(self) -> bytes:
        return _REQ.pack(self.req_id) + pack_token(self.change)

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "StateChangeRequest")
        (req_id,) = r.unpack(_REQ)
        change = r.token()
        r.end()
        return cls(req_id, change)


@dataclass(frozen=True, slots=True)
class StateChangeReply(Message):
    """Answer to `StateChangeRequest`: `refusal` is empty when granted, else a reason code."""

    COMMAND: ClassVar[Command] = Command.STATE_CHG_REPLY
    req_id: int
    refusal: str

    def encode_body(self) -> bytes:
        return _REQ.pack(self.req_id) + pack_token(self.refusal)

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "StateChangeReply")
        (req_id,) = r.unpack(_REQ)
        refusal = r.token()
        r.end()
        return cls(req_id, refusal)


@dataclass(frozen=True, slots=True)
class StartFullSync(Message):
    """`invalidate` / `invalidate-remote` while connected: every block goes, sender is source or target."""

    COMMAND: ClassVar[Command] = Command.START_FULL_SYNC
    sender_is_source: bool

    def encode_body(self) -> bytes:
        return bytes((int(self.sender_is_source),))

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "StartFullSync")
        value = r.flag()
        r.end()
        return cls(value)


_RUN = struct.Struct(">QQ")
_RUNS_HEAD = struct.Struct(">BH")


@dataclass(frozen=True, slots=True)
class BitmapRuns(Message):
    """Part of the sender's out-of-sync bitmap as (first block, block count) runs in disk order.

    The exchange after a sync decision sends every run, then one message with `last` set; the
    receiver ORs the runs into its own bitmap (DRBD's P_BITMAP with run-length encoding).
    """

    COMMAND: ClassVar[Command] = Command.BITMAP
    runs: tuple[tuple[int, int], ...]
    last: bool

    def encode_body(self) -> bytes:
        if len(self.runs) > MAX_BITMAP_RUNS:
            raise ValueError(f"{len(self.runs)} runs in one BitmapRuns, at most {MAX_BITMAP_RUNS}")
        head = _RUNS_HEAD.pack(int(self.last), len(self.runs))
        return head + b"".join(_RUN.pack(start, count) for start, count in self.runs)

    @classmethod
    def decode_body(cls, body: memoryview) -> Self:
        r = BodyReader(body, "BitmapRuns")
        last, n = r.unpack(_RUNS_HEAD)
        if last > 1 or n > MAX_BITMAP_RUNS:
            raise WireError(f"BitmapRuns: bad header last={last} runs={n}")
        runs = []
        previous_end = 0
        for _ in range(n):
            start, count = r.unpack(_RUN)
            if count == 0 or start < previous_end or start + count > 1 << 52:
                raise WireError(f"BitmapRuns: run ({start}, {count}) is empty, unordered or too far")
            previous_end = start + count
            runs.append((start, count))
        r.end()
        return cls(tuple(runs), last == 1)
