"""Totality: any sequence of link inputs, and any message from an authenticated peer, is handled or
refused with a typed error; nothing else escapes, and the pair recovers afterwards."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hapair.core.volume import control_messages as cm
from hapair.core.volume import messages as m
from hapair.core.volume.connection import LinkState, PeerLink
from hapair.core.volume.effects import BytesReceived, Effect
from hapair.core.volume.settings import VolumeSettings
from hapair.core.volume.states import ConnState
from hapair.core.volume.wire import encode
from hapair.errors import LocalProtocolError
from hapair.sim import checkers
from hapair.sim.scenarios import reconnect
from hapair.sim.world import MS, PairWorld, seconds

u64 = st.integers(0, (1 << 64) - 1)
u32 = st.integers(0, (1 << 32) - 1)
sector = st.integers(0, 40_000)
size = st.sampled_from([512, 4096, 8192, 1 << 20])
token = st.sampled_from(
    ["", "Primary", "Secondary", "UpToDate", "Inconsistent", "Connected", "WFBitMapT", "x"]
)

CONTROL = st.one_of(
    st.builds(m.RecvAck, sector, u64, size),
    st.builds(m.WriteAck, sector, u64, size),
    st.builds(m.NegAck, sector, u64, size),
    st.builds(m.BarrierAck, u32, u32),
    st.builds(m.Barrier, u32),
    st.builds(m.ResyncWriteAck, sector, u64, size),
    st.builds(m.ResyncIsInSync, sector, u64, size),
    st.builds(m.NegResyncReply, sector, u64, size),
    st.builds(m.VerifyResult, sector, size, st.booleans()),
    st.builds(m.OutOfSync, sector, size),
    st.builds(cm.State, token, token, token, st.booleans()),
    st.builds(cm.Uuids, u64, u64, u64, u64, u64, st.integers(0, 15)),
    st.builds(cm.SyncUuid, u64),
    st.builds(cm.StateChangeReply, u32, token),
    st.builds(cm.BitmapRuns, st.just(((1, 2),)), st.booleans()),
    st.builds(cm.Sizes, u64, u64, u64, u32),
    st.builds(cm.Features, st.just(1), st.just(1)),
)


def counter(seed: int) -> Callable[[int], bytes]:
    c = itertools.count(seed)
    return lambda n: bytes((next(c) + i) % 256 for i in range(n))


LINK_OPS = st.lists(
    st.tuples(
        st.sampled_from(["connect", "disconnect", "up", "down", "dial_failed", "bytes", "timer", "send"]),
        st.integers(1, 3),
        st.booleans(),
        st.binary(max_size=40) | st.sampled_from([encode(cm.Features(1, 1)), encode(cm.Ping())]),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(LINK_OPS)
def test_any_link_input_sequence_is_handled_or_refused_with_a_typed_error(
    ops: list[tuple[str, int, bool, bytes]],
) -> None:
    link = PeerLink(VolumeSettings(node_name="alice", peer_name="bob", shared_secret="s"), counter(1))
    out: list[Effect] = []
    now = 0
    for op, tid, flag, data in ops:
        now += 50 * MS
        try:
            match op:
                case "connect":
                    link.connect(now, out)
                case "disconnect":
                    link.disconnect(out)
                case "up":
                    link.transport_up(tid, flag, now, out)
                case "down":
                    link.transport_down(tid, "gone", now, out)
                case "dial_failed":
                    link.dial_failed(now, out)
                case "bytes":
                    link.received(tid, data, now, out)
                case "timer":
                    link.on_timer(link.next_deadline(None) or now, None, out)
                case "send":
                    link.send(cm.Ping(), out)
        except LocalProtocolError:
            pass
        assert (link.transport is None) == (link.state in (LinkState.STANDALONE, LinkState.CONNECTING))
        assert (link.next_deadline(None) is None) == (
            link.state is LinkState.STANDALONE
            or (link.state is LinkState.CONNECTING and link._dial_at is None)
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CONTROL, min_size=1, max_size=6), st.integers(1, 1000))
def test_any_message_from_the_peer_is_handled_or_drops_the_link_and_the_pair_recovers(
    messages: list[m.Message], seed: int
) -> None:
    world = PairWorld.started(seed, backing_bytes=4 << 20)
    world.workload.burst(world.a, 6)
    world.run_for(MS)
    node = world.b
    assert node.replica is not None
    transport = node.replica.link.transport
    assert transport is not None
    for message in messages:  # as if alice had sent them on the authenticated link
        node.feed(BytesReceived(transport, encode(message)))
        world.run_for(MS // 10)
    world.wait_idle(seconds(30))
    # OutOfSync and similar leave marks only a resync clears: reconnect from the Primary
    world.run_until(
        lambda: world.a.replica is not None and world.a.replica.state.conn >= ConnState.CONNECTED,
        seconds(60),
        "reconnected after the injected traffic",
    )
    reconnect(world.a)
    world.heal_and_converge(seconds(120))
    for n in (world.a, world.b):
        checkers.require(checkers.lost_acked_writes(n, world.workload.history))
