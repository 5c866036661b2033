"""The witness wire format: one UDP datagram per message, authenticated with HMAC-SHA256.

Why UDP: each exchange is one request and one reply, the client retries on its own schedule, and a
lost datagram only delays a grant; there is no connection state to go stale on a half-open link.

Layout (big-endian), 56 fixed bytes, three length-prefixed names, then the tag:

    offset size field
    0      4    magic b"HPWV"
    4      1    version (1)
    5      1    kind: 1 VoteRequest, 2 VoteRelease, 3 VoteGranted, 4 VoteDenied
    6      1    flags: bit 0 = the requester is Primary (VoteRequest only; other bits zero)
    7      1    reserved, zero
    8      8    boot: the sender's incarnation (a client's for request/release, the witness's for replies)
    16     8    seq: request/release: the sender's message number; replies: the request's, echoed
    24     8    echo_boot: replies: the requesting client's boot, echoed; zero otherwise
    32     8    lease_boot: granted/release: the witness incarnation that issued the lease; else zero
    40     8    generation: granted/release: the lease's number in that incarnation; else zero
    48     8    duration_ns: granted: the lease length; denied: when to ask again; else zero
    56     1+N  node: the client the message is from or for (1..64 bytes of [A-Za-z0-9._-])
    ..     1+R  resource: what the vote is for (1..64 bytes, same alphabet)
    ..     1+H  holder: denied: the node holding the vote (0..64 bytes); empty otherwise
    ..     32   HMAC-SHA256(shared secret, every byte above)

The tag is checked first, in constant time, so unauthenticated bytes are never parsed further.
Replays are refused by the receivers, not here: the witness keeps each client's last (boot, seq)
and the client accepts only replies that echo one of its outstanding requests (`arbiter`,
`client`). Messages of one direction cannot be reflected as the other: the kind is signed and
requests and replies have different kinds.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass

from hapair.errors import RemoteProtocolError

MAGIC = b"HPWV"
VERSION = 1
TAG_LEN = 32
MAX_NAME_LEN = 64
MIN_SECRET_LEN = 8
_HEAD = struct.Struct("!4sBBBBQQQQQQ")
_NAME = re.compile(rb"[A-Za-z0-9._-]*")
U64 = (1 << 64) - 1
FLAG_PRIMARY = 0x01
MAX_DATAGRAM = _HEAD.size + 3 * (1 + MAX_NAME_LEN) + TAG_LEN


class Kind(enum.IntEnum):
    REQUEST = 1
    RELEASE = 2
    GRANTED = 3
    DENIED = 4


class WitnessMessageError(RemoteProtocolError):
    """A datagram that is not a valid, authenticated witness message; it is dropped and counted."""

    def __init__(self, reason: str, *, authenticated: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.authenticated = authenticated


@dataclass(frozen=True, slots=True, order=True)
class LeaseId:
    """A lease, named by the witness incarnation that issued it and its number there."""

    witness_boot: int
    generation: int


@dataclass(frozen=True, slots=True)
class VoteRequest:
    """Ask for the vote, or renew it (the same message)."""

    node: str
    resource: str
    boot: int
    seq: int
    primary: bool = False


@dataclass(frozen=True, slots=True)
class VoteRelease:
    """Give the vote back; the witness frees it only if `lease` is the current one and `node` holds it."""

    node: str
    resource: str
    boot: int
    seq: int
    lease: LeaseId


@dataclass(frozen=True, slots=True)
class VoteGranted:
    """The vote is `node`'s for `duration_ns` on the witness's clock, from the request's arrival."""

    node: str
    resource: str
    witness_boot: int
    echo_boot: int
    echo_seq: int
    lease: LeaseId
    duration_ns: int


@dataclass(frozen=True, slots=True)
class VoteDenied:
    """Someone else holds the vote (`holder`, "" while the witness is in its quiet period)."""

    node: str
    resource: str
    witness_boot: int
    echo_boot: int
    echo_seq: int
    retry_after_ns: int
    holder: str = ""


WitnessMessage = VoteRequest | VoteRelease | VoteGranted | VoteDenied


def check_secret(secret: bytes) -> bytes:
    if len(secret) < MIN_SECRET_LEN:
        raise ValueError(f"the witness secret must have at least {MIN_SECRET_LEN} bytes")
    return secret


def encode(message: WitnessMessage, secret: bytes) -> bytes:
    """The datagram for `message`, signed with `secret`. Raises ValueError for unencodable fields."""
    holder = ""
    flags = echo_boot = lease_boot = generation = duration = 0
    match message:
        case VoteRequest(boot=boot, seq=seq, primary=primary):
            kind, flags = Kind.REQUEST, FLAG_PRIMARY if primary else 0
        case VoteRelease(boot=boot, seq=seq, lease=lease):
            kind, lease_boot, generation = Kind.RELEASE, lease.witness_boot, lease.generation
        case VoteGranted(witness_boot=boot, echo_boot=echo_boot, echo_seq=seq, lease=lease):
            kind, lease_boot, generation = Kind.GRANTED, lease.witness_boot, lease.generation
            duration = message.duration_ns
        case VoteDenied(witness_boot=boot, echo_boot=echo_boot, echo_seq=seq, holder=holder):
            kind, duration = Kind.DENIED, message.retry_after_ns
    for value in (boot, seq, echo_boot, lease_boot, generation, duration):
        if not 0 <= value <= U64:
            raise ValueError(f"{value} does not fit in 64 bits")
    head = _HEAD.pack(MAGIC, VERSION, kind, flags, 0, boot, seq, echo_boot, lease_boot, generation, duration)
    body = head + _name(message.node, 1) + _name(message.resource, 1) + _name(holder, 0)
    return body + _tag(secret, body)


def decode(data: bytes, secret: bytes) -> WitnessMessage:
    """The message in `data`; raises `WitnessMessageError` for anything else."""
    if len(data) < _HEAD.size + 3 + TAG_LEN or len(data) > MAX_DATAGRAM:
        raise WitnessMessageError(f"bad length {len(data)}", authenticated=False)
    body, tag = data[:-TAG_LEN], data[-TAG_LEN:]
    if not hmac.compare_digest(tag, _tag(secret, body)):
        raise WitnessMessageError("bad authentication tag", authenticated=False)
    fields = _HEAD.unpack_from(body)
    magic, version, kind_code, flags, reserved = fields[:5]
    boot, seq, echo_boot, lease_boot, generation, duration = fields[5:]
    if magic != MAGIC or version != VERSION:
        raise WitnessMessageError(f"not a version {VERSION} witness message", authenticated=True)
    try:
        kind = Kind(kind_code)
    except ValueError:
        raise WitnessMessageError(f"unknown kind {kind_code}", authenticated=True) from None
    offset = _HEAD.size
    node, offset = _read_name(body, offset, "node", 1)
    resource, offset = _read_name(body, offset, "resource", 1)
    holder, offset = _read_name(body, offset, "holder", 0)
    if offset != len(body):
        raise WitnessMessageError("trailing bytes", authenticated=True)
    allowed_flags = FLAG_PRIMARY if kind is Kind.REQUEST else 0
    if flags & ~allowed_flags or reserved:
        raise WitnessMessageError("reserved bits set", authenticated=True)
    replies = (Kind.GRANTED, Kind.DENIED)
    leased = (Kind.RELEASE, Kind.GRANTED)
    _require_zero(echo_boot, kind not in replies, "echo_boot")
    _require_zero(lease_boot | generation, kind not in leased, "lease")
    _require_zero(duration, kind not in replies, "duration")
    _require_zero(len(holder), kind is not Kind.DENIED, "holder")
    match kind:
        case Kind.REQUEST:
            return VoteRequest(node, resource, boot, seq, bool(flags & FLAG_PRIMARY))
        case Kind.RELEASE:
            return VoteRelease(node, resource, boot, seq, LeaseId(lease_boot, generation))
        case Kind.GRANTED:
            if lease_boot != boot:
                raise WitnessMessageError("a grant names another incarnation's lease", authenticated=True)
            return VoteGranted(
                node, resource, boot, echo_boot, seq, LeaseId(lease_boot, generation), duration
            )
        case Kind.DENIED:
            return VoteDenied(node, resource, boot, echo_boot, seq, duration, holder)


def _tag(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()


def _name(text: str, minimum: int) -> bytes:
    raw = text.encode("ascii", errors="replace")
    if not minimum <= len(raw) <= MAX_NAME_LEN or _NAME.fullmatch(raw) is None:
        raise ValueError(f"{text!r} is not a witness name (1..{MAX_NAME_LEN} of A-Z a-z 0-9 . _ -)")
    return bytes([len(raw)]) + raw


def _read_name(body: bytes, offset: int, what: str, minimum: int) -> tuple[str, int]:
    if offset >= len(body):
        raise WitnessMessageError(f"{what} missing", authenticated=True)
    length = body[offset]
    raw = body[offset + 1 : offset + 1 + length]
    if len(raw) != length or not minimum <= length <= MAX_NAME_LEN or _NAME.fullmatch(raw) is None:
        raise WitnessMessageError(f"bad {what}", authenticated=True)
    return raw.decode("ascii"), offset + 1 + length


def _require_zero(value: int, must_be_zero: bool, what: str) -> None:
    if must_be_zero and value:
        raise WitnessMessageError(f"{what} set in a message that has none", authenticated=True)
