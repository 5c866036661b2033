"""The promotion gate and the write permission, as tables over every combination of inputs."""

from __future__ import annotations

import itertools

import pytest

from hapair.core.orchestrator import (
    DiskState,
    FencingPolicy,
    GateReason,
    IoMode,
    QuorumLossPolicy,
    VolumeObserved,
    VolumeRole,
    VrrpRole,
    io_verdict,
    promotion_verdict,
)
from hapair.core.vrrp import InstanceState

NOW = 1_000_000
HELD = NOW + 1  # a vote believed one nanosecond longer
EXPIRED = NOW  # held_until == now: no longer held


class Vote:
    NONE = "no witness"
    HELD = "witness, vote held"
    EXPIRED = "witness, vote just expired"
    MISSING = "witness, no vote"


VOTES = (Vote.NONE, Vote.HELD, Vote.EXPIRED, Vote.MISSING)
PEERS = (
    ("connected", VolumeRole.SECONDARY),
    ("connected", VolumeRole.PRIMARY),
    ("connected", VolumeRole.UNKNOWN),
    ("unreachable", VolumeRole.UNKNOWN),
    ("unreachable", VolumeRole.PRIMARY),  # last known Primary, link now down
    ("unreachable", VolumeRole.SECONDARY),
)


def vote_args(vote: str) -> tuple[bool, int | None]:
    """(witness configured, vote held until)"""
    table: dict[str, tuple[bool, int | None]] = {
        Vote.NONE: (False, None),
        Vote.HELD: (True, HELD),
        Vote.EXPIRED: (True, EXPIRED),
        Vote.MISSING: (True, None),
    }
    return table[vote]


# For an UpToDate disk: (link, peer role, vote) -> (allowed, reason). Written out by hand.
UP_TO_DATE_TABLE: dict[tuple[str, VolumeRole, str], tuple[bool, GateReason]] = {}
for vote in VOTES:
    UP_TO_DATE_TABLE[("connected", VolumeRole.SECONDARY, vote)] = (True, GateReason.PEER_SECONDARY)
    UP_TO_DATE_TABLE[("connected", VolumeRole.PRIMARY, vote)] = (False, GateReason.PEER_PRIMARY)
    UP_TO_DATE_TABLE[("connected", VolumeRole.UNKNOWN, vote)] = (False, GateReason.PEER_ROLE_UNKNOWN)
    for role in (VolumeRole.UNKNOWN, VolumeRole.PRIMARY, VolumeRole.SECONDARY):
        UP_TO_DATE_TABLE[("unreachable", role, vote)] = {
            Vote.NONE: (True, GateReason.NO_WITNESS),
            Vote.HELD: (True, GateReason.WITNESS_VOTE),
            Vote.EXPIRED: (False, GateReason.NO_WITNESS_VOTE),
            Vote.MISSING: (False, GateReason.NO_WITNESS_VOTE),
        }[vote]


@pytest.mark.parametrize("fencing", list(FencingPolicy))
@pytest.mark.parametrize(("disk", "peer", "vote"), list(itertools.product(DiskState, PEERS, VOTES)))
@pytest.mark.parametrize("role", [VolumeRole.SECONDARY, VolumeRole.PRIMARY])
def test_promotion_gate_table(
    role: VolumeRole, disk: DiskState, peer: tuple[str, VolumeRole], vote: str, fencing: FencingPolicy
) -> None:
    link, peer_role = peer
    for peer_disk in (DiskState.UP_TO_DATE, DiskState.OUTDATED, DiskState.DUNKNOWN):
        volume = VolumeObserved(role, disk, peer_role, peer_disk, link == "connected")
        witness, until = vote_args(vote)
        verdict = promotion_verdict(volume, witness=witness, vote_until=until, fencing=fencing, now_ns=NOW)
        if disk is not DiskState.UP_TO_DATE:
            assert (verdict.allowed, verdict.reason) == (False, GateReason.DISK_NOT_UP_TO_DATE)
            assert disk.value in verdict.detail
            continue
        assert (verdict.allowed, verdict.reason) == UP_TO_DATE_TABLE[(link, peer_role, vote)]
        assert verdict.split_brain_possible == (verdict.reason is GateReason.NO_WITNESS)
        if verdict.split_brain_possible:
            assert fencing.value in verdict.detail


def test_nothing_observed_yet_means_no() -> None:
    verdict = promotion_verdict(
        None, witness=False, vote_until=None, fencing=FencingPolicy.DONT_CARE, now_ns=0
    )
    assert (verdict.allowed, verdict.reason) == (False, GateReason.NOT_OBSERVED)


def primary(connected: bool) -> VolumeObserved:
    return VolumeObserved(VolumeRole.PRIMARY, DiskState.UP_TO_DATE, connected=connected)


@pytest.mark.parametrize("policy", list(QuorumLossPolicy))
@pytest.mark.parametrize("fencing", list(FencingPolicy))
@pytest.mark.parametrize("vote", VOTES)
@pytest.mark.parametrize("connected", [True, False])
def test_write_permission_table(
    connected: bool, vote: str, fencing: FencingPolicy, policy: QuorumLossPolicy
) -> None:
    witness, until = vote_args(vote)
    verdict = io_verdict(
        primary(connected), witness=witness, vote_until=until, fencing=fencing, policy=policy, now_ns=NOW
    )
    lost = IoMode.SUSPEND if policy is QuorumLossPolicy.SUSPEND else IoMode.ERROR
    if connected or vote == Vote.HELD:
        expected = IoMode.RUN
    elif vote in (Vote.EXPIRED, Vote.MISSING):
        expected = lost
    else:  # no witness: DRBD's fencing decides
        expected = lost if fencing is FencingPolicy.RESOURCE_AND_STONITH else IoMode.RUN
    assert verdict.mode is expected, verdict.cause


@pytest.mark.parametrize("role", [VolumeRole.SECONDARY, VolumeRole.UNKNOWN])
def test_a_volume_that_is_not_primary_has_nothing_to_hold(role: VolumeRole) -> None:
    volume = VolumeObserved(role, DiskState.UP_TO_DATE)
    verdict = io_verdict(
        volume,
        witness=True,
        vote_until=None,
        fencing=FencingPolicy.RESOURCE_AND_STONITH,
        policy=QuorumLossPolicy.ERROR,
        now_ns=NOW,
    )
    assert verdict.mode is IoMode.RUN


def test_vrrp_states_translate_by_name() -> None:
    """The daemon maps the VRRP core's states with `VrrpRole[state.name]`."""
    assert {r.name for r in VrrpRole} == {s.name for s in InstanceState}
    assert {r.value for r in VrrpRole} == {s.name for s in InstanceState}
