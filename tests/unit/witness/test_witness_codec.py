"""The witness wire format: layout, authentication, strictness, round trips."""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.core.witness import (
    LeaseId,
    VoteDenied,
    VoteGranted,
    VoteRelease,
    VoteRequest,
    WitnessMessage,
    WitnessMessageError,
    decode,
    encode,
)

SECRET = b"correct horse battery"
U64 = st.integers(0, 2**64 - 1)
NAMES = st.text("abcXYZ019._-", min_size=1, max_size=64)


def handmade(kind: int, fields: tuple[int, ...], names: tuple[bytes, ...], flags: int = 0) -> bytes:
    """The layout written out independently of the encoder."""
    body = b"HPWV" + bytes([1, kind, flags, 0]) + struct.pack("!6Q", *fields)
    for name in names:
        body += bytes([len(name)]) + name
    return body + hmac.new(SECRET, body, hashlib.sha256).digest()


def test_request_layout_matches_the_documented_bytes() -> None:
    message = VoteRequest("node1", "r0", boot=0x0102030405060708, seq=9, primary=True)
    expected = handmade(1, (0x0102030405060708, 9, 0, 0, 0, 0), (b"node1", b"r0", b""), flags=1)
    assert encode(message, SECRET) == expected
    assert decode(expected, SECRET) == message


def test_grant_and_denial_layouts() -> None:
    grant = VoteGranted(
        "node2", "r0", witness_boot=7, echo_boot=5, echo_seq=3, lease=LeaseId(7, 2), duration_ns=10
    )
    assert encode(grant, SECRET) == handmade(3, (7, 3, 5, 7, 2, 10), (b"node2", b"r0", b""))
    denied = VoteDenied(
        "node2", "r0", witness_boot=7, echo_boot=5, echo_seq=4, retry_after_ns=99, holder="node1"
    )
    assert encode(denied, SECRET) == handmade(4, (7, 4, 5, 0, 0, 99), (b"node2", b"r0", b"node1"))
    release = VoteRelease("node1", "r0", boot=5, seq=6, lease=LeaseId(7, 2))
    assert encode(release, SECRET) == handmade(2, (5, 6, 0, 7, 2, 0), (b"node1", b"r0", b""))


messages: st.SearchStrategy[WitnessMessage] = st.one_of(
    st.builds(VoteRequest, NAMES, NAMES, U64, U64, st.booleans()),
    st.builds(VoteRelease, NAMES, NAMES, U64, U64, st.builds(LeaseId, U64, U64)),
    U64.flatmap(
        lambda boot: st.builds(
            VoteGranted, NAMES, NAMES, st.just(boot), U64, U64, st.builds(LeaseId, st.just(boot), U64), U64
        )
    ),
    st.builds(VoteDenied, NAMES, NAMES, U64, U64, U64, U64, st.text("ab1-", max_size=64)),
)


@given(messages)
def test_round_trip(message: WitnessMessage) -> None:
    assert decode(encode(message, SECRET), SECRET) == message


@given(messages, st.data())
def test_any_changed_bit_is_refused_as_unauthenticated(message: WitnessMessage, data: st.DataObject) -> None:
    raw = bytearray(encode(message, SECRET))
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(WitnessMessageError) as caught:
        decode(bytes(raw), SECRET)
    assert not caught.value.authenticated


@given(messages)
def test_another_secret_is_refused(message: WitnessMessage) -> None:
    with pytest.raises(WitnessMessageError, match="bad authentication tag"):
        decode(encode(message, SECRET), b"another secret")


@given(st.binary(max_size=400))
def test_garbage_gives_only_the_typed_error(data: bytes) -> None:
    with pytest.raises(WitnessMessageError):
        decode(data, SECRET)


@pytest.mark.parametrize(
    ("kind", "fields", "names", "flags", "reason"),
    [
        (9, (1, 1, 0, 0, 0, 0), (b"n", b"r", b""), 0, "unknown kind 9"),
        (1, (1, 1, 0, 0, 0, 0), (b"n", b"r", b""), 2, "reserved bits set"),
        (2, (1, 1, 0, 0, 0, 0), (b"n", b"r", b""), 1, "reserved bits set"),
        (1, (1, 1, 5, 0, 0, 0), (b"n", b"r", b""), 0, "echo_boot set"),
        (1, (1, 1, 0, 3, 0, 0), (b"n", b"r", b""), 0, "lease set"),
        (1, (1, 1, 0, 0, 0, 7), (b"n", b"r", b""), 0, "duration set"),
        (1, (1, 1, 0, 0, 0, 0), (b"n", b"r", b"h"), 0, "holder set"),
        (3, (1, 1, 0, 2, 1, 1), (b"n", b"r", b""), 0, "another incarnation"),
        (1, (1, 1, 0, 0, 0, 0), (b"", b"r", b""), 0, "bad node"),
        (1, (1, 1, 0, 0, 0, 0), (b"n o", b"r", b""), 0, "bad node"),
        (1, (1, 1, 0, 0, 0, 0), (b"n", "ü".encode(), b""), 0, "bad resource"),
    ],
)
def test_authenticated_but_malformed_messages_are_refused(
    kind: int, fields: tuple[int, ...], names: tuple[bytes, ...], flags: int, reason: str
) -> None:
    with pytest.raises(WitnessMessageError, match=reason) as caught:
        decode(handmade(kind, fields, names, flags), SECRET)
    assert caught.value.authenticated


def test_trailing_bytes_and_wrong_magic_are_refused() -> None:
    good = handmade(1, (1, 1, 0, 0, 0, 0), (b"n", b"r", b""))
    body = good[:-32] + b"x"
    with pytest.raises(WitnessMessageError, match="trailing"):
        decode(body + hmac.new(SECRET, body, hashlib.sha256).digest(), SECRET)
    body = b"XXXX" + good[4:-32]
    with pytest.raises(WitnessMessageError, match="not a version 1"):
        decode(body + hmac.new(SECRET, body, hashlib.sha256).digest(), SECRET)


@pytest.mark.parametrize(
    "message",
    [
        VoteRequest("bad name", "r0", 1, 1),
        VoteRequest("n" * 65, "r0", 1, 1),
        VoteRequest("node", "", 1, 1),
        VoteRequest("node", "r0", -1, 1),
        VoteRequest("node", "r0", 1, 2**64),
    ],
)
def test_unencodable_messages_raise_value_error(message: VoteRequest) -> None:
    with pytest.raises(ValueError):
        encode(message, SECRET)
