"""Wire codec: every message round-trips, the stream reassembles from any chunking, garbage is refused."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.core.volume import control_messages as cm
from hapair.core.volume import messages as m
from hapair.core.volume.messages import Command, DataFlags, Message, WireError
from hapair.core.volume.wire import (
    HEADER,
    HEADER_SIZE,
    MAGIC,
    MAX_BODY,
    MESSAGE_TYPES,
    FrameReader,
    encode,
    encode_frame,
)
from hapair.errors import RemoteProtocolError

BLOCK = b"\x5a" * 4096

SAMPLES: list[Message] = [
    m.Data(8, 1, 1, 0, DataFlags.SEND_WRITE_ACK | DataFlags.FUA, BLOCK),
    m.DataReply(16, 2, BLOCK),
    m.ResyncDataReply(24, 3, BLOCK[:512]),
    m.Barrier(7),
    m.BarrierAck(7, 12),
    m.DataRequest(0, 4, 4096),
    m.NegDataReply(0, 4, 4096),
    m.ResyncRequest(8, 5, 4096),
    m.ResyncIsInSync(8, 5, 4096),
    m.ResyncWriteAck(8, 5, 4096),
    m.NegResyncReply(8, 5, 4096),
    m.RecvAck(8, 1, 4096),
    m.WriteAck(8, 1, 4096),
    m.NegAck(8, 1, 4096),
    m.VerifyRequest(8, 6, 4096),
    m.VerifyReply(8, 6, 4096, b"\x01" * 32),
    m.VerifyResult(8, 4096, False),
    m.CsumResyncRequest(8, 7, 4096, b"\x02" * 20),
    m.OutOfSync(8, 1 << 30),
    cm.Ping(),
    cm.PingAck(),
    cm.Disconnect(),
    cm.Features(1, 1, 0),
    cm.AuthChallenge(b"c" * 64),
    cm.AuthResponse(b"r" * 32),
    cm.ProtocolParams(
        "alice", "C", "discard-zero-changes", "discard-secondary", "disconnect", "disconnect", False, True
    ),
    cm.SyncParams(40960, "sha1", ""),
    cm.Sizes(1 << 30, 0, 1 << 30, 1 << 20),
    cm.Uuids(0xABCDEF01, 0x1234, 0, 4, 17, cm.UuidFlags.DISCARD_MY_DATA),
    cm.SyncUuid(0x77),
    cm.State("Primary", "UpToDate", "Established", True),
    cm.StateChangeRequest(3, "primary"),
    cm.StateChangeReply(3, "SS_TWO_PRIMARIES"),
    cm.StartFullSync(True),
    cm.BitmapRuns(((0, 1), (5, 100), (1 << 40, 3)), True),
]


def test_every_command_has_a_sample() -> None:
    assert {s.COMMAND for s in SAMPLES} == set(Command) == set(MESSAGE_TYPES)


@pytest.mark.parametrize("message", SAMPLES, ids=lambda s: type(s).__name__)
def test_round_trip(message: Message) -> None:
    reader = FrameReader()
    reader.feed(encode(message))
    assert list(reader.messages()) == [message]
    assert reader.buffered == 0


def test_header_layout_is_drbd_header_100() -> None:
    head, payload = encode_frame(m.Data(2, 9, 1, 0, DataFlags.NONE, BLOCK))
    magic, volume, command, length, pad = struct.unpack(">IHHII", head[:16])
    assert (magic, volume, command, pad) == (0x8620EC20, 0, 0, 0)
    assert length == len(head) - 16 + len(payload) and payload == BLOCK


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(SAMPLES), min_size=1, max_size=12), st.data())
def test_any_chunking_reassembles(messages: list[Message], data: st.DataObject) -> None:
    stream = b"".join(encode(x) for x in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    reader = FrameReader()
    got: list[Message] = []
    prev = 0
    for cut in [*cuts, len(stream)]:
        reader.feed(stream[prev:cut])
        prev = cut
        got.extend(reader.messages())
    assert got == messages


def _frame(command: int, body: bytes, magic: int = MAGIC, volume: int = 0, pad: int = 0) -> bytes:
    return HEADER.pack(magic, volume, command, len(body), pad) + body


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (_frame(0x13, b"", magic=0xDEADBEEF), "magic"),
        (_frame(0x13, b"", volume=1), "volume"),
        (_frame(0x13, b"", pad=1), "padding"),
        (_frame(0x77, b""), "unknown command"),
        (HEADER.pack(MAGIC, 0, 0, MAX_BODY + 1, 0), "exceeds"),
        (_frame(0x13, b"x"), "trailing"),
        (_frame(0x03, b"\x00\x00"), "too short"),
        (_frame(0x00, struct.pack(">QQIII", 0, 1, 1, 0, 0x10000) + BLOCK), "flags"),
        (_frame(0x00, struct.pack(">QQIII", 0, 1, 1, 0, 0) + b"x" * 100), "whole sectors"),
        (_frame(0x09, struct.pack(">QQI", 0, 1, 0)), "whole sectors"),
        (_frame(0x09, struct.pack(">QQI", (1 << 64) - 1, 1, 512)), "overflows"),
        (_frame(0x0E, b"\x07Primary\x02\xff\xfe\x00\x00"), "characters"),
        (_frame(0x0E, b"\x07Primary\x08UpToDate\x0bEstablished\x02"), "boolean"),
        (_frame(0x10, b"\x04abcd"), "expected 16..64"),
        (_frame(0x0C, struct.pack(">QQQQQQ", 1, 0, 0, 0, 0, 0x100)), "unknown flags"),
        (_frame(0xFFFE, struct.pack(">III", 3, 1, 0)), "empty"),
        (
            _frame(0x04, struct.pack(">BH", 1, 2) + struct.pack(">QQ", 9, 1) + struct.pack(">QQ", 3, 1)),
            "unordered",
        ),
        (_frame(0x04, struct.pack(">BH", 1, 1) + struct.pack(">QQ", 9, 0)), "empty"),
        (_frame(0x28, struct.pack(">QQ", 0, 0)), "bad range"),
    ],
)
def test_malformed_frames_raise_wire_error_and_poison_the_reader(raw: bytes, why: str) -> None:
    reader = FrameReader()
    reader.feed(raw)
    with pytest.raises(WireError, match=why):
        reader.next_message()
    with pytest.raises(WireError):
        reader.feed(encode(cm.Ping()))
    assert issubclass(WireError, RemoteProtocolError)


def test_a_good_frame_before_a_bad_one_is_delivered() -> None:
    reader = FrameReader()
    reader.feed(encode(cm.Ping()) + _frame(0x77, b""))
    assert reader.next_message() == cm.Ping()
    with pytest.raises(WireError):
        reader.next_message()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_gives_only_wire_error(garbage: bytes) -> None:
    reader = FrameReader()
    reader.feed(garbage)
    with contextlib.suppress(WireError):
        list(reader.messages())


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(MESSAGE_TYPES)), st.binary(max_size=80))
def test_garbage_bodies_give_only_wire_error(command: Command, body: bytes) -> None:
    reader = FrameReader()
    reader.feed(_frame(command.value, body))
    try:
        msg = reader.next_message()
    except WireError:
        return
    assert msg is not None and encode(msg) == _frame(command.value, body)


def test_buffer_is_compacted() -> None:
    reader = FrameReader()
    one = encode(m.Data(0, 1, 1, 0, DataFlags.NONE, BLOCK))
    for _ in range(100):
        reader.feed(one)
        assert reader.next_message() is not None
    assert reader.buffered == 0 and reader.frames == 100
    assert len(reader._buf) < 2 * len(one)


def test_encoder_refuses_oversized_and_bad_tokens() -> None:
    with pytest.raises(ValueError):
        encode(cm.State("Prim ary", "UpToDate", "Established"))
    with pytest.raises(ValueError):
        encode(cm.AuthChallenge(b"short"))
    with pytest.raises(ValueError):
        encode(m.DataReply(0, 1, b"\x00" * (MAX_BODY + 512)))
    assert HEADER_SIZE == 16
