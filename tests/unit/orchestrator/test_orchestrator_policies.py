"""Waiting on the gate, the witness, write permission, VRRP health, hooks, losses while started."""

from __future__ import annotations

from group_harness import PRIMARY_PEER_SECONDARY, GroupHarness, S, full_settings

from hapair.core.orchestrator import (
    DiskState,
    FailIo,
    FencingPolicy,
    GateReason,
    GroupState,
    IoMode,
    IoModeChanged,
    Notice,
    PromotionRefused,
    QuorumLossPolicy,
    ResumeIo,
    RunNotifyHooks,
    ServiceFailed,
    Step,
    StepEffect,
    SuspendIo,
    VolumeObserved,
    VolumeRole,
    VrrpConditionChanged,
    VrrpRole,
    VrrpStateObserved,
    WitnessVoteChanged,
    journal_line,
)

PEER_PRIMARY = VolumeObserved(
    VolumeRole.SECONDARY, DiskState.UP_TO_DATE, VolumeRole.PRIMARY, DiskState.UP_TO_DATE, True
)
PEER_SECONDARY = VolumeObserved(
    VolumeRole.SECONDARY, DiskState.UP_TO_DATE, VolumeRole.SECONDARY, DiskState.UP_TO_DATE, True
)
ALONE = VolumeObserved(VolumeRole.SECONDARY, DiskState.UP_TO_DATE)
PRIMARY_ALONE = VolumeObserved(VolumeRole.PRIMARY, DiskState.UP_TO_DATE)


def health(h: GroupHarness) -> list[VrrpConditionChanged]:
    """The changes of the weight-0 health condition (not of the apart condition)."""
    return [c for c in h.of_type(VrrpConditionChanged) if c.condition == "hapair-r0"]


def apart(h: GroupHarness) -> list[bool]:
    return [c.ok for c in h.of_type(VrrpConditionChanged) if c.condition == "hapair-r0-apart"]


def test_the_gate_holds_a_master_while_the_peer_is_primary_then_lets_it_through() -> None:
    h = GroupHarness.of()
    h.become_master(PEER_PRIMARY)
    assert h.state() is GroupState.WAITING and h.steps() == []
    assert h.of_type(PromotionRefused) == [
        PromotionRefused("r0", GateReason.PEER_PRIMARY, PEER_PRIMARY.describe())
    ]
    h.feed(PEER_PRIMARY)
    h.run_for(S)
    assert len(h.of_type(PromotionRefused)) == 1, "refusals are journalled when the reason changes"
    h.feed(PEER_SECONDARY)
    h.run_for(S)
    assert h.state() is GroupState.STARTED
    assert h.steps()[0] is Step.PROMOTE


def test_a_gate_that_stays_shut_fails_the_group_after_promotion_wait() -> None:
    h = GroupHarness.of(full_settings(promotion_wait_ns=20 * S))
    h.become_master(PEER_PRIMARY)
    h.run_for(20 * S - 1)
    assert h.state() is GroupState.WAITING
    h.run_for(1)
    assert h.state() is GroupState.FAILED
    assert "promotion refused for 20 s: the peer is Primary" in h.group.status(h.now).cause
    assert health(h)[-1].ok is False


def test_waiting_ends_quietly_when_vrrp_gives_up_mastership() -> None:
    h = GroupHarness.of()
    h.become_master(PEER_PRIMARY)
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    assert h.state() is GroupState.STOPPED and h.steps() == []


def test_with_a_witness_an_isolated_node_promotes_only_with_the_vote() -> None:
    h = GroupHarness.of(full_settings(witness=True))
    h.become_master(ALONE)
    assert h.state() is GroupState.WAITING
    assert h.of_type(PromotionRefused)[0].reason is GateReason.NO_WITNESS_VOTE
    h.feed(WitnessVoteChanged(h.now + 9 * S))
    h.run_for(S)
    assert h.state() is GroupState.STARTED
    assert h.group.status(h.now).holds_vote
    assert not h.group.status(h.now).split_brain_possible


def test_without_a_witness_an_isolated_node_promotes_and_says_split_brain_is_possible() -> None:
    h = GroupHarness.of()
    h.become_master(ALONE)
    h.run_for(S)
    assert h.state() is GroupState.STARTED
    assert any("split brain is possible" in n.text for n in h.of_type(Notice))
    assert h.group.status(h.now).split_brain_possible
    assert not GroupHarness.of(
        full_settings(fencing=FencingPolicy.RESOURCE_AND_STONITH)
    ).group.split_brain_possible


def started_with_witness(**kw: object) -> GroupHarness:
    h = GroupHarness.of(full_settings(witness=True, **kw))
    h.start()
    h.clear()
    return h


def test_a_primary_that_loses_its_peer_suspends_until_it_holds_the_vote() -> None:
    h = started_with_witness()
    h.feed(PRIMARY_ALONE)
    assert (
        h.of_type(SuspendIo)[0].cause
        == "the peer is unreachable and this node does not hold the witness's vote"
    )
    vote_end = h.now + 5 * S
    h.feed(WitnessVoteChanged(vote_end))
    assert len(h.of_type(ResumeIo)) == 1
    h.run_until(vote_end - 1)
    assert len(h.of_type(SuspendIo)) == 1
    h.run_until(vote_end)
    assert len(h.of_type(SuspendIo)) == 2, "the lease ran out on the group's own clock, without a report"
    h.feed(PRIMARY_PEER_SECONDARY)
    assert h.of_type(ResumeIo)[-1].cause == "the peer is connected"
    modes = [(e.previous, e.current) for e in h.of_type(IoModeChanged)]
    assert modes == [
        (IoMode.RUN, IoMode.SUSPEND),
        (IoMode.SUSPEND, IoMode.RUN),
        (IoMode.RUN, IoMode.SUSPEND),
        (IoMode.SUSPEND, IoMode.RUN),
    ]
    assert h.state() is GroupState.STARTED, "write permission never moves the group by itself"


def test_on_quorum_loss_error_fails_io_instead() -> None:
    h = started_with_witness(on_quorum_loss=QuorumLossPolicy.ERROR)
    h.feed(PRIMARY_ALONE)
    assert len(h.of_type(FailIo)) == 1 and not h.of_type(SuspendIo)


def test_without_a_witness_fencing_decides() -> None:
    stonith = GroupHarness.of(full_settings(fencing=FencingPolicy.RESOURCE_AND_STONITH))
    stonith.start()
    stonith.feed(PRIMARY_ALONE)
    assert len(stonith.of_type(SuspendIo)) == 1
    dont_care = GroupHarness.of()
    dont_care.start()
    dont_care.feed(PRIMARY_ALONE)
    assert not dont_care.of_type(SuspendIo) and not dont_care.of_type(FailIo)


def test_vrrp_health_follows_the_disk_and_is_reported_on_change_only() -> None:
    h = GroupHarness.of()
    h.feed(VolumeObserved(VolumeRole.SECONDARY, DiskState.INCONSISTENT, connected=True))
    h.feed(VolumeObserved(VolumeRole.SECONDARY, DiskState.INCONSISTENT, connected=True))
    h.feed(PEER_SECONDARY)
    h.feed(VolumeObserved(VolumeRole.SECONDARY, DiskState.OUTDATED))
    assert [(c.ok, c.cause) for c in health(h)] == [
        (False, "the disk is Inconsistent"),
        (True, "the disk is UpToDate"),
        (False, "the disk is Outdated"),
    ]
    assert apart(h) == [True, False], "the last one is a Secondary cut off from its peer"


def test_a_secondary_cut_off_from_its_peer_yields_its_vrrp_priority() -> None:
    h = GroupHarness.of()
    h.feed(PEER_SECONDARY)
    h.feed(ALONE)
    h.feed(PRIMARY_ALONE)
    h.feed(ALONE)
    h.feed(PEER_SECONDARY)
    assert apart(h) == [True, False, True, False, True]
    second = [c for c in h.of_type(VrrpConditionChanged) if c.condition == "hapair-r0-apart"][1]
    assert second.cause == "a Secondary cut off from its peer"


def test_nothing_is_reported_to_vrrp_before_the_volume_is_known() -> None:
    h = GroupHarness.of()
    h.feed(VrrpStateObserved(VrrpRole.FAULT))
    assert not h.of_type(VrrpConditionChanged)
    assert h.of_type(RunNotifyHooks) == [RunNotifyHooks("r0", "VI_1", VrrpRole.FAULT)]


def test_a_volume_that_stops_being_primary_under_a_started_group_fails_it() -> None:
    h = GroupHarness.of()
    h.start()
    h.clear()
    h.feed(
        VolumeObserved(
            VolumeRole.SECONDARY, DiskState.UP_TO_DATE, VolumeRole.SECONDARY, DiskState.UP_TO_DATE, True
        )
    )
    h.run_for(S)
    assert h.states() == [GroupState.STOPPING, GroupState.FAILED]
    assert "no longer Primary" in h.group.status(h.now).cause


def test_a_dead_service_fails_the_group_over() -> None:
    h = GroupHarness.of()
    h.start()
    h.clear()
    h.feed(ServiceFailed("check exited 7"))
    h.run_for(S)
    assert h.states() == [GroupState.STOPPING, GroupState.FAILED]
    assert health(h)[-1].ok is False
    assert h.group.status(h.now).cause == "the service failed: check exited 7"


def test_a_primary_volume_found_at_start_up_without_mastership_is_cleaned_up() -> None:
    h = GroupHarness.of()
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.feed(PRIMARY_PEER_SECONDARY)
    h.run_for(S)
    assert h.steps() == [Step.REMOVE_VIP, Step.STOP_SERVICE, Step.UNMOUNT, Step.DETACH, Step.DEMOTE]
    assert h.state() is GroupState.STOPPED


def test_a_primary_volume_found_while_master_is_simply_started() -> None:
    h = GroupHarness.of()
    h.feed(VrrpStateObserved(VrrpRole.MASTER))
    assert h.state() is GroupState.WAITING  # nothing observed yet
    h.feed(PRIMARY_PEER_SECONDARY)
    h.run_for(S)
    assert h.state() is GroupState.STARTED and h.steps()[0] is Step.PROMOTE


def test_status_says_what_is_going_on() -> None:
    h = GroupHarness.of()
    h.on(Step.MOUNT, "hang")
    h.become_master()
    h.run_for(S)
    status = h.group.status(h.now)
    assert (status.state, status.vrrp, status.step) == (GroupState.STARTING, VrrpRole.MASTER, Step.MOUNT)
    assert status.volume == PEER_SECONDARY.describe() and status.io_mode is IoMode.RUN


def test_a_primary_without_quorum_steps_out_of_vrrp_after_the_grace() -> None:
    h = started_with_witness(quorum_loss_grace_ns=2 * S)
    h.feed(PRIMARY_ALONE)
    lost_at = h.now
    h.run_until(lost_at + 2 * S - 1)
    assert not [c for c in health(h) if not c.ok], "a short loss moves nothing"
    h.run_until(lost_at + 2 * S)
    [down] = health(h)
    assert not down.ok and down.cause == "writes held for want of quorum for 2 s"


def test_a_vote_within_the_grace_keeps_vrrp_untouched() -> None:
    h = started_with_witness(quorum_loss_grace_ns=2 * S)
    h.feed(PRIMARY_ALONE)
    h.run_for(S)
    h.feed(WitnessVoteChanged(h.now + 9 * S))
    h.run_for(5 * S)
    assert not health(h)


def test_letting_go_fails_held_writes_so_the_unmount_can_finish() -> None:
    h = started_with_witness()
    h.feed(PRIMARY_ALONE)
    assert len(h.of_type(SuspendIo)) == 1
    h.feed(VrrpStateObserved(VrrpRole.FAULT))
    [failed] = h.of_type(FailIo)
    assert failed.cause.endswith("the group is letting go")
    h.run_for(S)
    assert h.state() is GroupState.STOPPED


def test_every_journal_event_and_command_has_a_log_line_with_its_cause() -> None:
    h = started_with_witness()
    h.feed(PRIMARY_ALONE)
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.run_for(S)
    lines = [journal_line(e) for _, e in h.log]
    effects = [e for _, e in h.log]
    for effect, line in zip(effects, lines, strict=True):
        is_step = isinstance(effect, StepEffect)
        assert (line is None) == is_step, effect
    text = "\n".join(line for line in lines if line)
    assert "r0: Started -> Stopping (VRRP VI_1 is BACKUP)" in text
    assert (
        "r0: r0: suspending I/O (the peer is unreachable and this node does not hold the witness's vote)"
        in text
    )
    assert "r0: remove-vip done in 10 ms" in text
    assert "r0: (VI_1) running the BACKUP notify hooks" in text
    refused = PromotionRefused("r0", GateReason.PEER_PRIMARY, "")
    assert journal_line(refused) == "r0: promotion refused: the peer is Primary"
