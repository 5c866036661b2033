"""Model-based test of generation ids: random promotions, writes, partitions and reconnects.

Two nodes evolve their ids only through the DRBD event functions; at every reconnect both run the
handshake and the outcome must match what a model that tracks "who started a new generation while
apart" predicts: no sync, a bitmap resync from the side that diverged, or split brain detected on
*both* sides (never silently merged). After each resync the two id tuples must be identical.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.core.volume.handshake import HandshakeInput, HandshakeOutcome, HandshakeRefusal, sync_handshake
from hapair.core.volume.states import ConnState, DiskState, ReplicaState, Role
from hapair.core.volume.uuids import (
    GenerationIds,
    UuidFlags,
    UuidReport,
    on_demote,
    on_promote,
    on_resync_finished,
    on_state_change,
    on_sync_source_start,
    on_sync_uuid_received,
)


class SeededSource:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def random_u64(self) -> int:
        return self.rng.getrandbits(64)


@dataclass
class Node:
    name: str
    ids: GenerationIds
    primary: bool = False
    dirty_bits: int = 0
    current_at_split: int = 0

    def state(self, *, connected: bool, peer_primary: bool) -> ReplicaState:
        role = Role.PRIMARY if self.primary else Role.SECONDARY
        if connected:
            peer = Role.PRIMARY if peer_primary else Role.SECONDARY
            return ReplicaState(role, peer, ConnState.CONNECTED, DiskState.UP_TO_DATE, DiskState.UP_TO_DATE)
        return ReplicaState(
            role, Role.UNKNOWN, ConnState.CONNECTING, DiskState.UP_TO_DATE, DiskState.DUNKNOWN
        )

    @property
    def diverged(self) -> bool:
        return (self.ids.current & ~1) != self.current_at_split


def handshake(me: Node, peer: Node, *, discard: Node | None = None) -> HandshakeOutcome:
    flags = UuidFlags.DISCARD_MY_DATA if discard is peer else UuidFlags.NONE
    return sync_handshake(
        HandshakeInput(
            me=UuidReport(me.ids, me.dirty_bits),
            peer=UuidReport(peer.ids, peer.dirty_bits, flags),
            self_role=Role.PRIMARY if me.primary else Role.SECONDARY,
            peer_role=Role.PRIMARY if peer.primary else Role.SECONDARY,
            self_disk=DiskState.UP_TO_DATE,
            peer_disk=DiskState.UP_TO_DATE,
            self_crashed_primary=False,
            discard_my_data=discard is me,
            resolve_conflicts=me.name < peer.name,
        )
    )


def resync(source: Node, target: Node) -> None:
    source_at_handshake = source.ids
    source.ids, sync_uuid = on_sync_source_start(source.ids, SeededSource(0), primary=source.primary)
    target.ids = on_sync_uuid_received(target.ids, sync_uuid, primary=target.primary)
    target.ids = on_resync_finished(
        target.ids, was_target=True, peer=source_at_handshake, primary=target.primary
    )
    source.ids = on_resync_finished(source.ids, was_target=False, peer=None, primary=source.primary)
    source.dirty_bits = target.dirty_bits = 0
    assert source.ids.masked() == target.ids.masked()


EVENTS = st.sampled_from(
    ["promote a", "promote b", "demote a", "demote b", "write a", "write b", "cut", "heal"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENTS, max_size=40), st.integers(0, 2**32))
def test_reconnect_decisions_match_the_model(events: list[str], seed: int) -> None:
    rng = SeededSource(seed)
    start = GenerationIds(0x1000)
    a, b = Node("a", start), Node("b", start)
    connected = True
    for event in events:
        verb, _, who = event.partition(" ")
        node, other = (a, b) if who == "a" else (b, a)
        if verb == "promote" and not node.primary and not (connected and other.primary):
            node.ids = on_promote(
                node.ids, node.state(connected=connected, peer_primary=other.primary), rng, forced=False
            )
            node.primary = True
        elif verb == "demote" and node.primary:
            node.ids, node.primary = on_demote(node.ids), False
        elif verb == "write" and node.primary and not connected:
            node.dirty_bits += 1
        elif verb == "cut" and connected:
            for n, o in ((a, b), (b, a)):
                n.current_at_split = n.ids.current & ~1
                before = n.state(connected=True, peer_primary=o.primary)
                after = n.state(connected=False, peer_primary=o.primary)
                n.ids = on_state_change(n.ids, before, after, rng) or n.ids
            connected = False
        elif verb == "heal" and not connected:
            connected = reconnect(a, b)
    if not connected:
        reconnect(a, b)


def reconnect(a: Node, b: Node) -> bool:
    out_a, out_b = handshake(a, b), handshake(b, a)
    if a.diverged and b.diverged:
        # Both wrote (or could have) while apart: detected on both nodes, nothing merged.
        assert out_a.split_brain_detected and out_b.split_brain_detected
        assert out_a.refusal is out_b.refusal is HandshakeRefusal.SPLIT_BRAIN
        loser = b if b.primary is False else a
        winner = a if loser is b else b
        if loser.primary:
            loser.ids, loser.primary = on_demote(loser.ids), False
        out_l, out_w = handshake(loser, winner, discard=loser), handshake(winner, loser, discard=loser)
        assert out_l.conn is ConnState.WF_BITMAP_T and out_w.conn is ConnState.WF_BITMAP_S
        resync(winner, loser)
        return True
    if not a.diverged and not b.diverged:
        assert out_a.conn is out_b.conn is ConnState.CONNECTED
        return True
    source, target = (a, b) if a.diverged else (b, a)
    out_s, out_t = (out_a, out_b) if source is a else (out_b, out_a)
    if target.primary:
        assert out_t.refusal is HandshakeRefusal.TARGET_IS_PRIMARY
        target.ids, target.primary = on_demote(target.ids), False
        out_s, out_t = handshake(source, target), handshake(target, source)
    assert out_s.conn is ConnState.WF_BITMAP_S and out_t.conn is ConnState.WF_BITMAP_T
    assert not out_s.full_sync and not out_t.full_sync
    resync(source, target)
    return True
