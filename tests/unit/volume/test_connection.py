"""PeerLink: handshake, authentication, incompatible settings, keepalive, ko-count, backoff."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace

import pytest

from hapair.core.volume import control_messages as cm
from hapair.core.volume import messages as m
from hapair.core.volume.connection import LinkEstablished, LinkLost, LinkState, Notice, PeerLink
from hapair.core.volume.effects import CloseTransport, DialPeer, Effect, Listen, SendFrame
from hapair.core.volume.settings import VolumeSettings
from hapair.core.volume.split_brain import AfterSbPolicy, parse_after_sb
from hapair.core.volume.wire import encode
from hapair.errors import LocalProtocolError

MS = 1_000_000
S = 1_000_000_000


def counter_bytes(seed: int) -> Callable[[int], bytes]:
    c = itertools.count(seed)

    def draw(n: int) -> bytes:
        return bytes((next(c) + i) % 256 for i in range(n))

    return draw


def settings(name: str, peer: str, **kw: object) -> VolumeSettings:
    return VolumeSettings(node_name=name, peer_name=peer, **kw)  # type: ignore[arg-type]


class Pair:
    """Two links joined by one transport (id 1 on both ends); frames are delivered on pump()."""

    def __init__(self, sa: VolumeSettings, sb: VolumeSettings) -> None:
        self.a = PeerLink(sa, counter_bytes(1))
        self.b = PeerLink(sb, counter_bytes(99))
        self.now = 0
        self.out_a: list[Effect] = []
        self.out_b: list[Effect] = []
        self.notices_a: list[Notice] = []
        self.notices_b: list[Notice] = []
        self.a.connect(0, self.out_a)
        self.b.connect(0, self.out_b)
        self.a.transport_up(1, True, 0, self.out_a)
        self.b.transport_up(1, False, 0, self.out_b)

    def pump(self) -> None:
        for _ in range(20):
            moved = False
            for src, dst, notices in (
                (self.out_a, self.b, self.notices_b),
                (self.out_b, self.a, self.notices_a),
            ):
                frames = [e for e in src if isinstance(e, SendFrame)]
                src[:] = [e for e in src if not isinstance(e, SendFrame)]
                other = self.out_b if dst is self.b else self.out_a
                for f in frames:
                    moved = True
                    notices.extend(dst.received(f.transport_id, f.head + bytes(f.payload), self.now, other))
            if not moved:
                return


def test_handshake_without_auth() -> None:
    p = Pair(settings("alice", "bob"), settings("bob", "alice"))
    p.pump()
    assert p.a.state is LinkState.ESTABLISHED and p.b.state is LinkState.ESTABLISHED
    assert [type(n) for n in p.notices_a] == [LinkEstablished]
    est = p.notices_b[0]
    assert isinstance(est, LinkEstablished) and est.peer_name == "alice"
    assert Listen(False) in p.out_a


def test_handshake_with_sha1_auth_like_the_runbook() -> None:
    sa = settings("alice", "bob", cram_hmac_alg="sha1", shared_secret="FooFunFactory")
    sb = settings("bob", "alice", cram_hmac_alg="sha1", shared_secret="FooFunFactory")
    p = Pair(sa, sb)
    p.pump()
    assert p.a.established and p.b.established


def test_wrong_secret_is_refused_and_nothing_is_delivered() -> None:
    sa = settings("alice", "bob", shared_secret="right")
    sb = settings("bob", "alice", shared_secret="wrong")
    p = Pair(sa, sb)
    p.pump()
    for link, notices in ((p.a, p.notices_a), (p.b, p.notices_b)):
        assert link.state is LinkState.STANDALONE
        assert len(notices) == 1
        lost = notices[0]
        assert isinstance(lost, LinkLost) and lost.refused and lost.standalone


def test_unauthenticated_peer_cannot_smuggle_data() -> None:
    link = PeerLink(settings("alice", "bob", shared_secret="s"), counter_bytes(1))
    out: list[Effect] = []
    link.connect(0, out)
    link.transport_up(5, False, 0, out)
    stream = encode(cm.Features(1, 1)) + encode(m.Data(0, 1, 1, 0, m.DataFlags.NONE, b"x" * 512))
    notices = link.received(5, stream, 0, out)
    assert len(notices) == 1 and isinstance(notices[0], LinkLost) and notices[0].violation
    assert CloseTransport(5) in out


def test_peer_without_auth_is_refused_by_peer_with_auth() -> None:
    p = Pair(settings("alice", "bob", shared_secret="s"), settings("bob", "alice"))
    p.pump()
    assert p.a.state is LinkState.STANDALONE and p.b.state is LinkState.STANDALONE


@pytest.mark.parametrize(
    ("kw_a", "kw_b", "word"),
    [
        ({"protocol": "A"}, {}, "protocol"),
        ({"after_sb_0pri": AfterSbPolicy.DISCARD_ZERO_CHANGES}, {}, "after-sb-0pri"),
        ({"always_asbp": True}, {}, "always-asbp"),
        ({"verify_alg": "sha1"}, {}, "verify-alg"),
        ({"csums_alg": "md5"}, {"csums_alg": "sha1"}, "csums-alg"),
    ],
)
def test_incompatible_settings_go_standalone(
    kw_a: dict[str, object], kw_b: dict[str, object], word: str
) -> None:
    from hapair.core.volume.settings import Protocol

    if "protocol" in kw_a:
        kw_a = {"protocol": Protocol(kw_a["protocol"])}
    p = Pair(settings("alice", "bob", **kw_a), settings("bob", "alice", **kw_b))
    p.pump()
    lost = [n for n in p.notices_a + p.notices_b if isinstance(n, LinkLost)]
    assert lost and all(n.refused for n in lost) and word in lost[0].reason


def test_discard_node_policy_is_mirrored_and_agrees() -> None:
    sa = settings("alice", "bob", after_sb_0pri=parse_after_sb("discard-node-bob", local_node="alice"))
    sb = settings("bob", "alice", after_sb_0pri=parse_after_sb("discard-node-bob", local_node="bob"))
    assert sa.after_sb_0pri is AfterSbPolicy.DISCARD_REMOTE
    assert sb.after_sb_0pri is AfterSbPolicy.DISCARD_LOCAL
    p = Pair(sa, sb)
    p.pump()
    assert p.a.established and p.b.established


def test_wrong_peer_name_is_refused() -> None:
    p = Pair(settings("alice", "bob"), settings("carol", "alice"))
    p.pump()
    assert p.a.state is LinkState.STANDALONE


def established_pair() -> Pair:
    p = Pair(settings("alice", "bob"), settings("bob", "alice"))
    p.pump()
    p.out_a.clear()
    p.out_b.clear()
    return p


def test_application_messages_are_delivered_in_order() -> None:
    p = established_pair()
    p.a.send(m.Barrier(1), p.out_a)
    p.a.send(m.Barrier(2), p.out_a)
    p.pump()
    assert p.notices_b[1:] == [m.Barrier(1), m.Barrier(2)]


def test_idle_link_pings_and_survives_when_answered() -> None:
    p = established_pair()
    assert p.a.next_deadline(None) == 10 * S
    p.now = 10 * S
    p.a.on_timer(p.now, None, p.out_a)
    assert any(isinstance(e, SendFrame) for e in p.out_a)
    assert p.a.next_deadline(None) == 10 * S + 500 * MS
    p.pump()
    assert p.a.next_deadline(None) == p.now + 10 * S


def test_missing_ping_ack_drops_the_link_and_redials_with_backoff() -> None:
    p = established_pair()
    p.a.on_timer(10 * S, None, p.out_a)
    notices = p.a.on_timer(10 * S + 500 * MS, None, p.out_a)
    assert isinstance(notices[0], LinkLost) and "PingAck" in notices[0].reason
    assert p.a.state is LinkState.CONNECTING and Listen(True) in p.out_a
    first = p.a.next_deadline(None)
    assert first is not None and 10 * S + 500 * MS < first <= 10 * S + 600 * MS
    p.out_a.clear()
    p.a.on_timer(first, None, p.out_a)
    assert p.out_a == [DialPeer()]
    p.a.dial_failed(first + MS, p.out_a)
    second = p.a.next_deadline(None)
    assert second is not None and second - (first + MS) > 100 * MS  # doubled


def test_backoff_is_capped_at_connect_int() -> None:
    link = PeerLink(settings("alice", "bob", connect_int_s=1, timeout_ds=5), counter_bytes(3))
    out: list[Effect] = []
    link.connect(0, out)
    now = 0
    gaps = []
    for _ in range(12):
        deadline = link.next_deadline(None)
        assert deadline is not None
        gaps.append(deadline - now)
        now = deadline
        link.on_timer(now, None, out)
        link.dial_failed(now, out)
    assert max(gaps) <= 1 * S and gaps[-1] >= 750 * MS


def test_ko_count_expels_a_stuck_peer_even_when_pings_are_answered() -> None:
    p = established_pair()
    oldest = 0
    deadline = p.a.next_deadline(oldest)
    assert deadline == 6 * S  # timeout probe
    p.now = deadline
    p.a.on_timer(p.now, oldest, p.out_a)
    p.pump()  # the peer answers the probe
    assert p.a.established
    ko = 7 * 6 * S
    assert p.a.next_deadline(oldest) is not None
    notices = p.a.on_timer(ko, oldest, p.out_a)
    assert isinstance(notices[0], LinkLost) and "ko-count" in notices[0].reason


def test_crossing_dials_keep_the_same_stream_on_both_sides() -> None:
    a = PeerLink(settings("alice", "bob"), counter_bytes(1))
    b = PeerLink(settings("bob", "alice"), counter_bytes(2))
    out_a: list[Effect] = []
    out_b: list[Effect] = []
    a.connect(0, out_a)
    b.connect(0, out_b)
    # stream X dialed by alice (id 1 at alice, 11 at bob); stream Y dialed by bob (2 at alice, 12 at bob)
    a.transport_up(1, True, 0, out_a)
    b.transport_up(12, True, 0, out_b)
    a.transport_up(2, False, 0, out_a)
    b.transport_up(11, False, 0, out_b)
    assert a.transport == 1 and b.transport == 11  # both kept X, dialed by alice (sorts first)
    assert CloseTransport(2) in out_a and CloseTransport(12) in out_b


def test_peer_disconnect_message_and_admin_disconnect() -> None:
    p = established_pair()
    p.a.disconnect(p.out_a)
    assert p.a.state is LinkState.STANDALONE and CloseTransport(1) in p.out_a
    p.pump()
    lost = p.notices_b[-1]
    assert isinstance(lost, LinkLost) and lost.reason == "peer disconnected" and not lost.standalone
    with pytest.raises(LocalProtocolError):
        p.a.send(cm.Ping(), p.out_a)


def test_handshake_timeout_and_stale_transport_inputs() -> None:
    link = PeerLink(settings("alice", "bob"), counter_bytes(1))
    out: list[Effect] = []
    link.connect(0, out)
    link.transport_up(3, True, 0, out)
    assert link.received(4, b"junk", 0, out) == []  # not the current transport
    assert link.transport_down(4, "x", 0, out) == []
    deadline = link.next_deadline(None)
    assert deadline == 10 * S
    notices = link.on_timer(deadline, None, out)
    assert isinstance(notices[0], LinkLost) and link.state is LinkState.CONNECTING


def test_transport_while_standalone_is_closed() -> None:
    link = PeerLink(replace(settings("alice", "bob")), counter_bytes(1))
    out: list[Effect] = []
    link.transport_up(9, False, 0, out)
    assert out == [CloseTransport(9)] and link.state is LinkState.STANDALONE
    link.connect(0, out)
    with pytest.raises(LocalProtocolError):
        link.connect(0, out)
