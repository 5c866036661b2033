"""The after-split-brain policies (drbd_asb_recover_0p/1p/2p) and manual recovery."""

from __future__ import annotations

import pytest

from hapair.core.volume.split_brain import (
    AFTER_SB_0PRI_POLICIES,
    AFTER_SB_1PRI_POLICIES,
    AFTER_SB_2PRI_POLICIES,
    AfterSbPolicy,
    Recovery,
    RrConflict,
    SplitBrainFacts,
    SplitBrainPolicies,
    manual_recovery,
    parse_after_sb,
    recover,
    recover_0pri,
    recover_1pri,
    recover_2pri,
)
from hapair.core.volume.states import Role

P = AfterSbPolicy
THIS, PEER, NONE = Recovery.SYNC_FROM_THIS, Recovery.SYNC_FROM_PEER, Recovery.UNRESOLVED


def facts(
    *,
    self_older: bool = False,
    peer_older: bool = False,
    mine: int = 5,
    theirs: int = 5,
    tie: bool = False,
    role: Role = Role.SECONDARY,
) -> SplitBrainFacts:
    """`*_older`: bit 0 of the bitmap id, i.e. that node was Primary when the generations split."""
    return SplitBrainFacts(0xA000 | self_older, 0xA000 | peer_older, mine, theirs, tie, role)


def test_keywords_parse_and_discard_node_resolves_per_host() -> None:
    for policy in AfterSbPolicy:
        assert parse_after_sb(policy.keyword, local_node="alice") is policy
    assert parse_after_sb("discard-node-alice", local_node="alice") is P.DISCARD_LOCAL
    assert parse_after_sb("discard-node-alice", local_node="bob") is P.DISCARD_REMOTE
    with pytest.raises(ValueError):
        parse_after_sb("discard-everything", local_node="alice")
    with pytest.raises(ValueError):
        parse_after_sb("discard-node-", local_node="alice")


def test_peer_view_swaps_local_and_remote() -> None:
    assert P.DISCARD_LOCAL.as_seen_by_peer() is P.DISCARD_REMOTE
    assert P.DISCARD_REMOTE.as_seen_by_peer() is P.DISCARD_LOCAL
    assert P.CONSENSUS.as_seen_by_peer() is P.CONSENSUS


def test_allowed_policies_per_slot() -> None:
    assert P.DISCARD_SECONDARY not in AFTER_SB_0PRI_POLICIES and P.DISCARD_SECONDARY in AFTER_SB_1PRI_POLICIES
    assert {P.DISCONNECT, P.VIOLENTLY_AS0P, P.CALL_PRI_LOST_AFTER_SB} == AFTER_SB_2PRI_POLICIES
    bad = SplitBrainPolicies(after_sb_0pri=P.CONSENSUS, after_sb_2pri=P.DISCARD_SECONDARY)
    assert bad.misconfigured() == [
        "after-sb-0pri: 'consensus' is not a valid policy here",
        "after-sb-2pri: 'discard-secondary' is not a valid policy here",
    ]
    assert SplitBrainPolicies().misconfigured() == []
    assert RrConflict.CALL_PRI_LOST.keyword == "call-pri-lost"


def test_0pri_disconnect() -> None:
    assert recover_0pri(P.DISCONNECT, facts()).recovery is NONE


def test_0pri_discard_younger_primary() -> None:
    assert recover_0pri(P.DISCARD_YOUNGER_PRIMARY, facts(peer_older=True)).recovery is PEER
    assert recover_0pri(P.DISCARD_YOUNGER_PRIMARY, facts(self_older=True)).recovery is THIS


def test_0pri_discard_older_primary() -> None:
    assert recover_0pri(P.DISCARD_OLDER_PRIMARY, facts(peer_older=True)).recovery is THIS
    assert recover_0pri(P.DISCARD_OLDER_PRIMARY, facts(self_older=True)).recovery is PEER


def test_0pri_younger_older_fall_back_to_change_counts_with_a_warning() -> None:
    verdict = recover_0pri(P.DISCARD_YOUNGER_PRIMARY, facts(mine=0, theirs=3))
    assert verdict.recovery is PEER
    assert verdict.warnings and "discard-least-changes" in verdict.warnings[0]
    assert recover_0pri(P.DISCARD_OLDER_PRIMARY, facts(mine=9, theirs=3)).recovery is THIS


def test_0pri_discard_zero_changes() -> None:
    assert recover_0pri(P.DISCARD_ZERO_CHANGES, facts(mine=0, theirs=3)).recovery is PEER
    assert recover_0pri(P.DISCARD_ZERO_CHANGES, facts(mine=3, theirs=0)).recovery is THIS
    assert recover_0pri(P.DISCARD_ZERO_CHANGES, facts(mine=3, theirs=4)).recovery is NONE
    assert recover_0pri(P.DISCARD_ZERO_CHANGES, facts(mine=0, theirs=0, tie=True)).recovery is PEER
    assert recover_0pri(P.DISCARD_ZERO_CHANGES, facts(mine=0, theirs=0, tie=False)).recovery is THIS


def test_0pri_discard_least_changes() -> None:
    assert recover_0pri(P.DISCARD_LEAST_CHANGES, facts(mine=2, theirs=3)).recovery is PEER
    assert recover_0pri(P.DISCARD_LEAST_CHANGES, facts(mine=4, theirs=3)).recovery is THIS
    assert recover_0pri(P.DISCARD_LEAST_CHANGES, facts(mine=3, theirs=3, tie=True)).recovery is PEER


def test_0pri_discard_node() -> None:
    assert recover_0pri(P.DISCARD_LOCAL, facts()).recovery is PEER
    assert recover_0pri(P.DISCARD_REMOTE, facts()).recovery is THIS


@pytest.mark.parametrize(
    "policy", [P.CONSENSUS, P.DISCARD_SECONDARY, P.CALL_PRI_LOST_AFTER_SB, P.VIOLENTLY_AS0P]
)
def test_0pri_rejects_1pri_policies_as_configuration_error(policy: AfterSbPolicy) -> None:
    verdict = recover_0pri(policy, facts())
    assert (verdict.recovery, verdict.warnings) == (NONE, ("Configuration error.",))


def test_1pri_consensus_applies_0pri_only_if_the_secondary_loses() -> None:
    base = P.DISCARD_LEAST_CHANGES
    assert recover_1pri(P.CONSENSUS, base, facts(mine=1, theirs=9)).recovery is PEER
    assert recover_1pri(P.CONSENSUS, base, facts(mine=1, theirs=9, role=Role.PRIMARY)).recovery is NONE
    assert recover_1pri(P.CONSENSUS, base, facts(mine=9, theirs=1, role=Role.PRIMARY)).recovery is THIS


def test_1pri_discard_secondary() -> None:
    assert recover_1pri(P.DISCARD_SECONDARY, P.DISCONNECT, facts()).recovery is PEER
    assert recover_1pri(P.DISCARD_SECONDARY, P.DISCONNECT, facts(role=Role.PRIMARY)).recovery is THIS


def test_1pri_call_pri_lost_after_sb_demotes_a_losing_primary() -> None:
    verdict = recover_1pri(
        P.CALL_PRI_LOST_AFTER_SB, P.DISCARD_LEAST_CHANGES, facts(mine=1, role=Role.PRIMARY)
    )
    assert (verdict.recovery, verdict.demote_self) == (PEER, True)
    verdict = recover_1pri(P.CALL_PRI_LOST_AFTER_SB, P.DISCARD_LEAST_CHANGES, facts(mine=1))
    assert (verdict.recovery, verdict.demote_self) == (PEER, False)


def test_1pri_violently_and_disconnect_and_misconfiguration() -> None:
    assert recover_1pri(P.VIOLENTLY_AS0P, P.DISCARD_LOCAL, facts(role=Role.PRIMARY)).recovery is PEER
    assert recover_1pri(P.DISCONNECT, P.DISCARD_LOCAL, facts()).recovery is NONE
    assert recover_1pri(P.DISCARD_ZERO_CHANGES, P.DISCARD_LOCAL, facts()).warnings == (
        "Configuration error.",
    )


def test_2pri_policies() -> None:
    assert recover_2pri(P.DISCONNECT, P.DISCARD_LOCAL, facts()).recovery is NONE
    assert recover_2pri(P.VIOLENTLY_AS0P, P.DISCARD_REMOTE, facts()).recovery is THIS
    lost = recover_2pri(P.CALL_PRI_LOST_AFTER_SB, P.DISCARD_LOCAL, facts(role=Role.PRIMARY))
    assert (lost.recovery, lost.demote_self) == (PEER, True)
    assert recover_2pri(P.CONSENSUS, P.DISCARD_LOCAL, facts()).warnings == ("Configuration error.",)


def test_recover_picks_the_policy_by_number_of_primaries() -> None:
    policies = SplitBrainPolicies(
        after_sb_0pri=P.DISCARD_LOCAL, after_sb_1pri=P.DISCARD_SECONDARY, after_sb_2pri=P.DISCONNECT
    )
    assert recover(0, policies, facts()).recovery is PEER
    assert recover(1, policies, facts(role=Role.PRIMARY)).recovery is THIS
    assert recover(2, policies, facts()).recovery is NONE
    with pytest.raises(ValueError):
        recover(3, policies, facts())


def test_manual_recovery() -> None:
    assert manual_recovery(self_discards=True, peer_discards=False) is PEER
    assert manual_recovery(self_discards=False, peer_discards=True) is THIS
    assert manual_recovery(self_discards=True, peer_discards=True) is NONE
    assert manual_recovery(self_discards=False, peer_discards=False) is NONE
