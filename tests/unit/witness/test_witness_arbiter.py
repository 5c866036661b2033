"""The witness's vote holder: one holder at a time, renewals, refusals, releases, replays, restarts."""

from __future__ import annotations

import pytest

from hapair.core.witness import (
    ArbiterEffect,
    ArbiterSettings,
    DatagramReceived,
    LeaseId,
    LeaseTerms,
    MessageDropped,
    SendReply,
    TimerExpired,
    VoteAwarded,
    VoteDenied,
    VoteGranted,
    VoteLapsed,
    VoteRefused,
    VoteRelease,
    VoteRenewed,
    VoteRequest,
    VoteReturned,
    WitnessArbiter,
    decode,
    encode,
)

SECRET = b"witness-secret"
S = 1_000_000_000
TERMS = LeaseTerms(lease_ns=10 * S, drift_ppm=10_000, margin_ns=0)
WITNESS_BOOT = 77
READY = TERMS.quiet_period_ns  # the first moment the arbiter grants anything


def arbiter(**kw: object) -> WitnessArbiter:
    settings = ArbiterSettings(SECRET, TERMS, **kw)  # type: ignore[arg-type]
    return WitnessArbiter(settings, boot=WITNESS_BOOT, started_ns=0)


def ask(node: str, seq: int, boot: int = 1, resource: str = "r0") -> DatagramReceived:
    return DatagramReceived(encode(VoteRequest(node, resource, boot, seq), SECRET), f"{node}:40000")


def give_back(node: str, seq: int, lease: LeaseId, boot: int = 1) -> DatagramReceived:
    return DatagramReceived(encode(VoteRelease(node, "r0", boot, seq, lease), SECRET), f"{node}:40000")


def replies(effects: list[ArbiterEffect]) -> list[VoteGranted | VoteDenied]:
    out: list[VoteGranted | VoteDenied] = []
    for effect in effects:
        if isinstance(effect, SendReply):
            message = decode(effect.data, SECRET)
            assert isinstance(message, VoteGranted | VoteDenied)
            out.append(message)
    return out


def test_first_asker_wins_and_the_other_is_told_who_holds_it_and_for_how_long() -> None:
    a = arbiter()
    out = a.handle(ask("node1", 1), READY)
    [grant] = replies(out)
    assert isinstance(grant, VoteGranted)
    assert (grant.node, grant.echo_boot, grant.echo_seq, grant.duration_ns) == ("node1", 1, 1, 10 * S)
    assert grant.lease == LeaseId(WITNESS_BOOT, 1)
    assert VoteAwarded("r0", "node1", grant.lease, READY + 10 * S) in out
    out = a.handle(ask("node2", 1), READY + 4 * S)
    [denied] = replies(out)
    assert isinstance(denied, VoteDenied)
    assert (denied.holder, denied.retry_after_ns, denied.echo_seq) == ("node1", 6 * S, 1)
    assert any(isinstance(e, VoteRefused) and e.holder == "node1" for e in out)
    assert a.holder("r0", READY + 4 * S) == "node1"


def test_the_holder_renews_with_the_same_lease_number() -> None:
    a = arbiter()
    a.handle(ask("node1", 1), READY)
    out = a.handle(ask("node1", 2), READY + 3 * S)
    [grant] = replies(out)
    assert isinstance(grant, VoteGranted) and grant.lease == LeaseId(WITNESS_BOOT, 1)
    assert VoteRenewed("r0", "node1", grant.lease, READY + 13 * S) in out
    assert a.next_deadline() == READY + 13 * S


def test_a_lapsed_lease_goes_to_the_next_asker_with_a_new_number() -> None:
    a = arbiter()
    a.handle(ask("node1", 1), READY)
    assert a.handle(TimerExpired(), READY + 10 * S - 1) == []
    assert a.handle(TimerExpired(), READY + 10 * S) == [VoteLapsed("r0", "node1", LeaseId(WITNESS_BOOT, 1))]
    [grant] = replies(a.handle(ask("node2", 1), READY + 10 * S))
    assert isinstance(grant, VoteGranted) and grant.lease == LeaseId(WITNESS_BOOT, 2)


def test_lapse_is_noticed_on_a_request_without_a_timer() -> None:
    a = arbiter()
    a.handle(ask("node1", 1), READY)
    out = a.handle(ask("node2", 1), READY + 11 * S)
    assert isinstance(out[0], VoteLapsed)
    assert isinstance(replies(out)[0], VoteGranted)


def test_release_frees_only_the_current_lease_of_the_holding_incarnation() -> None:
    a = arbiter()
    [grant] = replies(a.handle(ask("node1", 1), READY))
    assert isinstance(grant, VoteGranted)
    assert a.handle(give_back("node1", 2, LeaseId(WITNESS_BOOT, 9)), READY + 1) == []
    assert a.handle(give_back("node1", 3, LeaseId(5, 1)), READY + 2) == [], "another witness incarnation"
    a.handle(ask("node2", 1), READY + 3)
    assert a.handle(give_back("node2", 2, grant.lease), READY + 3) == [], "not the holder"
    dropped = a.handle(give_back("node1", 1, grant.lease, boot=2), READY + 4)
    assert isinstance(dropped[0], MessageDropped) and "holds nothing" in dropped[0].reason
    assert a.holder("r0", READY + 5) == "node1"
    assert a.handle(give_back("node1", 4, grant.lease), READY + 5) == [
        VoteReturned("r0", "node1", grant.lease)
    ]
    assert a.holder("r0", READY + 5) is None


def test_replayed_and_reordered_messages_are_dropped() -> None:
    a = arbiter()
    a.handle(ask("node1", 5), READY)
    out = a.handle(ask("node1", 5), READY + 1)
    assert isinstance(out[0], MessageDropped) and "replayed" in out[0].reason
    out = a.handle(ask("node1", 4), READY + 2)
    assert isinstance(out[0], MessageDropped)
    assert a.dropped == 2


def test_a_delayed_release_cannot_free_a_lease_renewed_after_it() -> None:
    """node1 sends release (seq 2), then asks again (seq 3); the network delivers 3 before 2."""
    a = arbiter()
    [grant] = replies(a.handle(ask("node1", 1), READY))
    assert isinstance(grant, VoteGranted)
    a.handle(ask("node1", 3), READY + 1)
    out = a.handle(give_back("node1", 2, grant.lease), READY + 2)
    assert isinstance(out[0], MessageDropped)
    assert a.holder("r0", READY + 3) == "node1"


def test_a_restarted_node_is_accepted_and_keeps_its_lease() -> None:
    a = arbiter()
    a.handle(ask("node1", 50, boot=1), READY)
    out = a.handle(ask("node1", 1, boot=2), READY + S)
    assert any(isinstance(e, VoteRenewed) for e in out)


def test_quiet_period_after_start() -> None:
    a = arbiter()
    out = a.handle(ask("node1", 1), READY - 3 * S)
    [denied] = replies(out)
    assert isinstance(denied, VoteDenied) and denied.holder == "" and denied.retry_after_ns == 3 * S
    [grant] = replies(a.handle(ask("node1", 2), READY))
    assert isinstance(grant, VoteGranted)


def test_garbage_reflections_and_strangers_are_dropped_and_counted() -> None:
    a = arbiter(nodes=frozenset({"node1", "node2"}))
    assert isinstance(a.handle(DatagramReceived(b"junk", "x:1"), READY)[0], MessageDropped)
    reply = VoteGranted("node1", "r0", 1, 1, 1, LeaseId(1, 1), S)
    out = a.handle(DatagramReceived(encode(reply, SECRET), "x:1"), READY)
    assert isinstance(out[0], MessageDropped) and "reply sent to the witness" in out[0].reason
    out = a.handle(ask("mallory", 1), READY)
    assert isinstance(out[0], MessageDropped) and "unknown node" in out[0].reason
    assert a.dropped == 3


def test_state_is_bounded() -> None:
    a = arbiter(max_nodes=2, max_resources=2)
    a.handle(ask("n1", 1, resource="a"), READY)
    a.handle(ask("n2", 1, resource="b"), READY)
    out = a.handle(ask("n3", 1, resource="a"), READY)
    assert isinstance(out[0], MessageDropped) and "too many nodes" in out[0].reason
    out = a.handle(ask("n1", 2, resource="c"), READY)
    assert isinstance(out[0], MessageDropped) and "too many resources" in out[0].reason


def test_each_resource_has_its_own_vote() -> None:
    a = arbiter()
    a.handle(ask("node1", 1, resource="r0"), READY)
    [grant] = replies(a.handle(ask("node2", 1, resource="r1"), READY))
    assert isinstance(grant, VoteGranted) and grant.resource == "r1"


def test_settings_need_a_real_secret() -> None:
    with pytest.raises(ValueError, match="at least 8 bytes"):
        ArbiterSettings(b"short")
