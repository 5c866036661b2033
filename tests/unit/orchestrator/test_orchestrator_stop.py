"""The stop plan: exact reverse order, what a teardown tolerates, the busy unmount, self-fencing."""

from __future__ import annotations

import pytest
from group_harness import HANG, MS, GroupHarness, S, fail

from hapair.core.orchestrator import (
    FenceVolume,
    GroupState,
    GroupStateChanged,
    HolderSignal,
    KillHolders,
    Notice,
    OperatorCleared,
    RemoveVip,
    RunNotifyHooks,
    Step,
    StepStarted,
    StepSucceeded,
    UnmountFilesystem,
    VrrpConditionChanged,
    VrrpRole,
    VrrpStateObserved,
)

REVERSE = [Step.REMOVE_VIP, Step.STOP_SERVICE, Step.UNMOUNT, Step.DETACH, Step.DEMOTE]


def started() -> GroupHarness:
    h = GroupHarness.of()
    h.start()
    h.clear()
    return h


@pytest.mark.parametrize("role", [VrrpRole.BACKUP, VrrpRole.FAULT, VrrpRole.STOP])
def test_leaving_master_runs_the_exact_reverse_then_the_hooks(role: VrrpRole) -> None:
    h = started()
    h.feed(VrrpStateObserved(role))
    h.run_for(S)
    assert h.steps() == REVERSE
    assert h.states() == [GroupState.STOPPING, GroupState.STOPPED]
    assert h.of_type(RunNotifyHooks) == [RunNotifyHooks("r0", "VI_1", role)]
    assert role.value in h.of_type(GroupStateChanged)[0].cause


@pytest.mark.parametrize("step", [Step.REMOVE_VIP, Step.STOP_SERVICE])
def test_a_failed_vip_removal_or_service_stop_does_not_stop_the_teardown(step: Step) -> None:
    h = started()
    h.on(step, fail("nope"))
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.run_for(S)
    assert h.steps() == REVERSE
    assert h.state() is GroupState.STOPPED
    assert any(f"{step.value} failed (nope)" in n.text for n in h.of_type(Notice))


def unmount_attempts(h: GroupHarness) -> list[int]:
    return [t for t, e in h.log if isinstance(e, UnmountFilesystem)]


def test_a_busy_unmount_is_retried_then_holders_get_sigterm_then_sigkill_then_the_node_fences() -> None:
    h = started()
    h.on(Step.UNMOUNT, *[fail("target is busy")] * 1000)
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.run_for(30 * S)
    kills = [(t, e.signal) for t, e in h.log if isinstance(e, KillHolders)]
    first = unmount_attempts(h)[0]
    assert [signal for _, signal in kills] == [HolderSignal.TERM, HolderSignal.KILL]
    assert 5 * S <= kills[0][0] - first < 5 * S + 300 * MS, "SIGTERM after kill_after (5 s)"
    assert 3 * S <= kills[1][0] - kills[0][0] < 3 * S + 300 * MS, "SIGKILL kill_wait (3 s) later"
    gaps = [b - a for a, b in zip(unmount_attempts(h), unmount_attempts(h)[1:], strict=False)]
    assert max(gaps) < 300 * MS, "retried every 250 ms (+ answer latency)"
    assert h.state() is GroupState.FENCED
    assert Step.DETACH not in h.steps() and Step.DEMOTE not in h.steps(), "never demote a mounted volume"
    fenced = h.log.index(next((t, e) for t, e in h.log if isinstance(e, FenceVolume)))
    assert isinstance(h.log[fenced - 1][1], RemoveVip), "the VIP is released as part of the fence"
    assert "unmount could not finish" in h.of_type(FenceVolume)[0].cause
    assert [c for c in h.of_type(VrrpConditionChanged) if c.condition == "hapair-r0"][-1].ok is False, (
        "VRRP goes to FAULT: priority 0"
    )


def test_an_unmount_that_works_after_sigterm_lets_the_stop_finish() -> None:
    h = started()
    h.on(Step.UNMOUNT, *[fail("target is busy")] * 25)  # ~19 before SIGTERM, 6 after
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.run_for(30 * S)
    assert [e.signal for e in h.of_type(KillHolders)] == [HolderSignal.TERM]
    assert h.steps()[-2:] == [Step.DETACH, Step.DEMOTE]
    assert h.state() is GroupState.STOPPED


def test_a_hung_unmount_times_out_and_escalates() -> None:
    h = started()
    h.on(Step.UNMOUNT, HANG, HANG)
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.run_for(100 * S)
    assert h.of_type(KillHolders)[0].signal is HolderSignal.TERM
    assert h.state() is GroupState.STOPPED


def test_a_failing_kill_is_noted_and_the_unmount_tried_again() -> None:
    h = started()
    h.on(Step.UNMOUNT, *[fail("busy")] * 25)
    h.on(Step.KILL_HOLDERS, fail("fuser missing"))
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.run_for(30 * S)
    assert any("kill-holders failed (fuser missing)" in n.text for n in h.of_type(Notice))
    assert h.state() is GroupState.STOPPED


@pytest.mark.parametrize("step", [Step.DETACH, Step.DEMOTE])
def test_a_detach_or_demote_that_fails_fences_the_node(step: Step) -> None:
    h = started()
    h.on(step, fail("device busy"))
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.run_for(S)
    assert h.state() is GroupState.FENCED
    [fence] = h.of_type(FenceVolume)
    assert fence.cause == f"{step.value} could not finish: device busy"


@pytest.mark.parametrize("step", [Step.UNMOUNT, Step.DEMOTE])
def test_a_rollback_that_cannot_finish_fences_too(step: Step) -> None:
    h = GroupHarness.of()
    h.on(Step.ADD_VIP, fail("EADDRNOTAVAIL"))
    h.on(step, *[fail("stuck")] * 1000)
    h.become_master()
    h.run_for(30 * S)
    assert GroupState.ROLLING_BACK in h.states()
    assert h.state() is GroupState.FENCED


def test_a_fenced_group_waits_for_the_operator_then_cleans_up() -> None:
    h = started()
    h.on(Step.DEMOTE, fail("refused"))
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.run_for(S)
    assert h.state() is GroupState.FENCED
    h.run_for(3600 * S)
    assert h.state() is GroupState.FENCED, "no automatic way out"
    h.clear()
    h.feed(OperatorCleared())
    h.run_for(S)
    assert h.steps() == REVERSE, "the whole stop plan again: every undo step is idempotent"
    assert h.state() is GroupState.STOPPED
    assert [c for c in h.of_type(VrrpConditionChanged) if c.condition == "hapair-r0"][-1].ok


def test_master_again_during_a_stop_finishes_the_stop_then_starts() -> None:
    h = started()
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.feed(VrrpStateObserved(VrrpRole.MASTER))
    h.run_for(2 * S)
    assert h.states() == [GroupState.STOPPING, GroupState.STOPPED, GroupState.STARTING, GroupState.STARTED]
    steps = h.steps()
    assert steps[:5] == REVERSE and steps[5] is Step.PROMOTE


def test_journal_steps_carry_their_timeouts() -> None:
    h = started()
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.run_for(S)
    timeouts = {e.step: e.timeout_ns for e in h.of_type(StepStarted)}
    assert timeouts[Step.UNMOUNT] == 30 * S and timeouts[Step.DEMOTE] == 10 * S


def test_the_answer_to_the_fence_s_vip_release_is_expected() -> None:
    h = started()
    h.on(Step.DEMOTE, fail("refused"))
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.run_for(S)
    [release] = h.of_type(RemoveVip)[-1:]
    h.feed(StepSucceeded(release.op, Step.REMOVE_VIP))
    assert h.group.stale == 0 and not [n for n in h.of_type(Notice) if "late answer" in n.text]
