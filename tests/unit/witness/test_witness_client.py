"""The node side of the witness: when it asks, renews, gives back, and what it believes."""

from __future__ import annotations

import pytest

from hapair.core.witness import (
    ClientEffect,
    ClientNote,
    ClientSettings,
    LeaseId,
    LeaseTerms,
    LocalRoleChanged,
    PeerVisibilityChanged,
    ReplyReceived,
    SendToWitness,
    TimerExpired,
    UnknownResource,
    VoteChanged,
    VoteDenied,
    VoteGranted,
    VoteRelease,
    VoteRequest,
    WitnessClient,
    decode,
    encode,
)

SECRET = b"witness-secret"
S = 1_000_000_000
MS = 1_000_000
TERMS = LeaseTerms(lease_ns=10 * S, drift_ppm=10_000, margin_ns=S // 2)
VALIDITY = TERMS.holder_validity(10 * S)
BOOT = 4242
LEASE = LeaseId(77, 1)


def client(**kw: object) -> WitnessClient:
    settings = ClientSettings("node1", SECRET, TERMS, retry_ns=250 * MS, standby_delay_ns=300 * MS, **kw)  # type: ignore[arg-type]
    return WitnessClient(settings, boot=BOOT, resources=["r0"])


def sent(effects: list[ClientEffect]) -> list[VoteRequest | VoteRelease]:
    out: list[VoteRequest | VoteRelease] = []
    for effect in effects:
        if isinstance(effect, SendToWitness):
            message = decode(effect.data, SECRET)
            assert isinstance(message, VoteRequest | VoteRelease)
            out.append(message)
    return out


def changes(effects: list[ClientEffect]) -> list[VoteChanged]:
    return [e for e in effects if isinstance(e, VoteChanged)]


def grant(seq: int, lease: LeaseId = LEASE, boot: int = BOOT, node: str = "node1") -> ReplyReceived:
    reply = VoteGranted(node, "r0", lease.witness_boot, boot, seq, lease, 10 * S)
    return ReplyReceived(encode(reply, SECRET))


def deny(seq: int, holder: str = "node2", retry: int = 4 * S) -> ReplyReceived:
    return ReplyReceived(encode(VoteDenied("node1", "r0", 77, BOOT, seq, retry, holder), SECRET))


def lose_peer(c: WitnessClient, now: int, *, primary: bool, master: bool = True) -> list[ClientEffect]:
    c.handle(LocalRoleChanged("r0", primary, master), now)
    return c.handle(PeerVisibilityChanged("r0", False), now)


def test_nothing_is_asked_while_the_peer_is_visible() -> None:
    c = client()
    assert c.handle(TimerExpired(), 0) == []
    assert c.next_deadline() is None


def test_a_primary_asks_at_once_and_believes_from_the_send_time() -> None:
    c = client()
    [request] = sent(lose_peer(c, S, primary=True))
    assert isinstance(request, VoteRequest) and request.primary and request.boot == BOOT
    out = c.handle(grant(request.seq), S + 40 * MS)
    assert changes(out) == [VoteChanged("r0", S + VALIDITY, LEASE, "granted by the witness")]
    assert c.held_until("r0") == S + VALIDITY


def test_a_backup_that_is_not_primary_never_asks() -> None:
    c = client()
    assert sent(lose_peer(c, S, primary=False, master=False)) == []
    assert c.next_deadline() is None
    [request] = sent(c.handle(LocalRoleChanged("r0", False, True), 2 * S) + c.handle(TimerExpired(), 3 * S))
    assert isinstance(request, VoteRequest), "once it is VRRP master it asks (after its delay)"


def test_a_holder_that_stops_being_a_candidate_gives_the_vote_back() -> None:
    c = client()
    [first] = sent(lose_peer(c, 0, primary=True))
    c.handle(grant(first.seq), 10 * MS)
    assert c.held_until("r0") is not None
    out = c.handle(LocalRoleChanged("r0", False, False), S)
    [release] = sent(out)
    assert isinstance(release, VoteRelease)
    assert changes(out) == [VoteChanged("r0", None, None, "this node is no longer a candidate")]


def test_a_secondary_master_waits_its_standby_delay() -> None:
    c = client()
    assert sent(lose_peer(c, S, primary=False)) == []
    assert c.next_deadline() == S + 300 * MS
    assert sent(c.handle(TimerExpired(), S + 299 * MS)) == []
    [request] = sent(c.handle(TimerExpired(), S + 300 * MS))
    assert isinstance(request, VoteRequest) and not request.primary


def test_unanswered_requests_are_repeated() -> None:
    c = client()
    lose_peer(c, 0, primary=True)
    assert c.next_deadline() == 250 * MS
    assert len(sent(c.handle(TimerExpired(), 250 * MS))) == 1
    assert len(sent(c.handle(TimerExpired(), 300 * MS))) == 0


def test_renewal_at_a_third_of_the_validity_extends_belief() -> None:
    c = client()
    [first] = sent(lose_peer(c, 0, primary=True))
    c.handle(grant(first.seq), 10 * MS)
    assert c.next_deadline() == VALIDITY // 3
    [renew] = sent(c.handle(TimerExpired(), VALIDITY // 3))
    out = c.handle(grant(renew.seq), VALIDITY // 3 + 10 * MS)
    assert changes(out) == [VoteChanged("r0", VALIDITY // 3 + VALIDITY, LEASE, "renewed")]


def test_belief_ends_when_renewals_go_unanswered() -> None:
    c = client()
    [first] = sent(lose_peer(c, 0, primary=True))
    c.handle(grant(first.seq), 1)
    out = c.handle(TimerExpired(), VALIDITY - 1)
    assert changes(out) == []
    out = c.handle(TimerExpired(), VALIDITY)
    assert changes(out) == [VoteChanged("r0", None, None, "the lease ran out without a renewal")]


def test_a_refusal_ends_belief_and_delays_the_next_request() -> None:
    c = client()
    [first] = sent(lose_peer(c, 0, primary=True))
    out = c.handle(deny(first.seq, retry=4 * S), 10 * MS)
    assert changes(out) == []  # nothing was believed yet
    assert c.next_deadline() == 10 * MS + 4 * S
    [again] = sent(c.handle(TimerExpired(), 10 * MS + 4 * S))
    c.handle(grant(again.seq), 10 * MS + 4 * S + 1)
    [renew] = sent(c.handle(TimerExpired(), 10 * MS + 4 * S + VALIDITY // 3))
    out = c.handle(deny(renew.seq), 10 * MS + 5 * S)
    assert [ch.held_until_ns for ch in changes(out)] == [None]
    assert "held by node2" in changes(out)[0].cause


def test_seeing_the_peer_again_gives_the_vote_back() -> None:
    c = client()
    [first] = sent(lose_peer(c, 0, primary=True))
    c.handle(grant(first.seq), 1)
    out = c.handle(PeerVisibilityChanged("r0", True), 2 * S)
    [release] = sent(out)
    assert isinstance(release, VoteRelease) and release.lease == LEASE and release.seq > first.seq
    assert changes(out) == [VoteChanged("r0", None, None, "the peer is visible again")]
    assert c.next_deadline() is None


def test_a_grant_that_arrives_after_the_peer_came_back_is_returned() -> None:
    c = client()
    [first] = sent(lose_peer(c, 0, primary=True))
    c.handle(PeerVisibilityChanged("r0", True), 5 * MS)
    out = c.handle(grant(first.seq), 10 * MS)
    assert changes(out) == []
    [release] = sent(out)
    assert isinstance(release, VoteRelease)


def test_replies_that_answer_no_request_of_ours_are_dropped() -> None:
    c = client()
    [first] = sent(lose_peer(c, 0, primary=True))
    for reply in (grant(first.seq, boot=BOOT + 1), grant(first.seq + 5), grant(first.seq, node="node2")):
        out = c.handle(reply, 1)
        assert changes(out) == [] and isinstance(out[0], ClientNote)
    out = c.handle(ReplyReceived(b"garbage"), 1)
    assert isinstance(out[0], ClientNote) and c.dropped == 4
    out = c.handle(ReplyReceived(encode(VoteRequest("node2", "r0", 1, 1), SECRET)), 1)
    assert isinstance(out[0], ClientNote) and "request sent to a node" in out[0].text


def test_an_answer_to_an_older_request_never_overrides_a_newer_one() -> None:
    c = client()
    [first] = sent(lose_peer(c, 0, primary=True))
    [second] = sent(c.handle(TimerExpired(), 250 * MS))
    c.handle(grant(second.seq), 300 * MS)
    out = c.handle(deny(first.seq), 310 * MS)
    assert out == [] and c.held_until("r0") == 250 * MS + VALIDITY


def test_a_grant_that_arrives_too_late_is_not_believed() -> None:
    c = client()
    [first] = sent(lose_peer(c, 0, primary=True))
    out = c.handle(grant(first.seq), VALIDITY + 1)
    assert c.held_until("r0") is None and changes(out) == []


def test_outstanding_requests_are_bounded() -> None:
    c = client(max_outstanding=2)
    [first] = sent(lose_peer(c, 0, primary=True))
    c.handle(TimerExpired(), 250 * MS)
    c.handle(TimerExpired(), 500 * MS)
    out = c.handle(grant(first.seq), 600 * MS)
    assert isinstance(out[0], ClientNote), "the oldest request was forgotten"


def test_unknown_resources_are_a_local_error() -> None:
    with pytest.raises(UnknownResource):
        client().handle(PeerVisibilityChanged("nope", False), 0)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        ClientSettings("node1", SECRET, retry_ns=0)


def test_renewal_follows_the_lease_the_witness_granted() -> None:
    c = client()
    [first] = sent(lose_peer(c, 0, primary=True))
    short = VoteGranted("node1", "r0", 77, BOOT, first.seq, LEASE, 3 * S)
    c.handle(ReplyReceived(encode(short, SECRET)), 10 * MS)
    validity = TERMS.holder_validity(3 * S)
    assert c.held_until("r0") == validity
    assert c.next_deadline() == validity // 3
