"""The start plan: order, VIP last, hooks after; every step failing or timing out, and the rollback."""

from __future__ import annotations

import pytest
from group_harness import HANG, MS, GroupHarness, S, fail, full_settings

from hapair.core.orchestrator import (
    AddVip,
    AttachDevice,
    CheckFilesystem,
    DemoteVolume,
    DetachDevice,
    GroupState,
    GroupStateChanged,
    MountFilesystem,
    OperatorCleared,
    PromoteVolume,
    RemoveVip,
    RunNotifyHooks,
    ServiceSpec,
    StartService,
    Step,
    StepFinished,
    StepMismatch,
    StepSucceeded,
    StopService,
    UnmountFilesystem,
    VrrpConditionChanged,
    VrrpRole,
    VrrpStateObserved,
    start_plan,
    stop_plan,
)

FORWARD = [Step.PROMOTE, Step.ATTACH, Step.FSCK, Step.MOUNT, Step.START_SERVICE, Step.ADD_VIP]
REVERSE = [Step.REMOVE_VIP, Step.STOP_SERVICE, Step.UNMOUNT, Step.DETACH, Step.DEMOTE]


def test_plans_follow_the_configuration() -> None:
    assert list(start_plan(full_settings())) == FORWARD
    assert list(stop_plan(full_settings())) == REVERSE
    bare = full_settings(fsck=False, mount_point=None, service=None, fstype=None)
    assert list(start_plan(bare)) == [Step.PROMOTE, Step.ATTACH, Step.ADD_VIP]
    assert list(stop_plan(bare)) == [Step.REMOVE_VIP, Step.DETACH, Step.DEMOTE]


def test_master_runs_the_start_plan_in_order_with_the_vip_last() -> None:
    h = GroupHarness.of()
    h.become_master()
    h.run_for(S)
    assert h.steps() == FORWARD
    assert h.states() == [GroupState.STARTING, GroupState.STARTED]
    effects = [e for _, e in h.log]
    kinds = [
        type(e)
        for e in effects
        if isinstance(
            e, PromoteVolume | AttachDevice | CheckFilesystem | MountFilesystem | StartService | AddVip
        )
    ]
    assert kinds == [PromoteVolume, AttachDevice, CheckFilesystem, MountFilesystem, StartService, AddVip]
    [mount] = h.of_type(MountFilesystem)
    assert (mount.device, mount.mount_point, mount.fstype) == ("/dev/drbd0", "/drbd-fs", "xfs")
    [vip] = h.of_type(AddVip)
    assert (vip.instance, vip.vips) == ("VI_1", ("10.30.31.171",))
    hooks = h.of_type(RunNotifyHooks)
    assert hooks == [RunNotifyHooks("r0", "VI_1", VrrpRole.MASTER)]
    assert effects.index(hooks[0]) > effects.index(vip), "user hooks run after the built-in steps"
    started = h.of_type(GroupStateChanged)[-1]
    assert "MASTER" in started.cause or started.current is GroupState.STARTED


def test_each_step_has_a_unique_op_and_a_finish_in_the_journal() -> None:
    h = GroupHarness.of()
    h.become_master()
    h.run_for(S)
    finished = h.of_type(StepFinished)
    assert [f.step for f in finished] == FORWARD and all(f.ok for f in finished)
    assert len({f.op for f in finished}) == len(finished)
    assert all(f.elapsed_ns == 10 * MS for f in finished)


@pytest.mark.parametrize("failing", FORWARD)
def test_a_failing_step_rolls_back_everything_before_it_in_reverse(failing: Step) -> None:
    h = GroupHarness.of()
    h.on(failing, fail("it broke"))
    h.become_master()
    h.run_for(5 * S)
    index = FORWARD.index(failing)
    done = FORWARD[: index + 1]  # the failed step may have half-happened: it is undone too
    undo = {Step.PROMOTE: Step.DEMOTE, Step.ATTACH: Step.DETACH, Step.MOUNT: Step.UNMOUNT}
    undo |= {Step.START_SERVICE: Step.STOP_SERVICE, Step.ADD_VIP: Step.REMOVE_VIP}
    expected_rollback = [undo[s] for s in reversed(done) if s in undo]
    assert h.steps() == done + expected_rollback
    assert h.states() == [GroupState.STARTING, GroupState.ROLLING_BACK, GroupState.FAILED]
    rolling = h.of_type(GroupStateChanged)[1]
    assert f"{failing.value} failed: it broke" in rolling.cause
    assert h.of_type(GroupStateChanged)[-1].cause == rolling.cause, "Failed says why"
    assert VrrpConditionChanged("r0", "VI_1", "hapair-r0", False, "the group is Failed") in h.of_type(
        VrrpConditionChanged
    )
    assert not h.of_type(RunNotifyHooks), "no MASTER hooks for a start that failed"


@pytest.mark.parametrize("hanging", FORWARD)
def test_a_step_that_times_out_counts_as_failed_and_is_undone(hanging: Step) -> None:
    timeouts = {
        Step.PROMOTE: 10,
        Step.ATTACH: 15,
        Step.FSCK: 300,
        Step.MOUNT: 60,
        Step.START_SERVICE: 60,
        Step.ADD_VIP: 5,
    }
    h = GroupHarness.of()
    h.on(hanging, HANG)
    h.become_master()
    h.run_for(timeouts[hanging] * S + 5 * S)  # less than the 60 s before a failed group retries
    [late] = [f for f in h.of_type(StepFinished) if not f.ok]
    assert late.step is hanging and late.reason == f"timed out after {timeouts[hanging]} s"
    assert late.elapsed_ns == timeouts[hanging] * S
    assert h.state() is GroupState.FAILED
    index = FORWARD.index(hanging)
    rollback = h.steps()[index + 1 :]
    assert rollback[0] is not Step.FSCK and rollback[-1] is Step.DEMOTE
    if hanging is not Step.FSCK:
        undo = {Step.PROMOTE: Step.DEMOTE, Step.ATTACH: Step.DETACH, Step.MOUNT: Step.UNMOUNT}
        undo |= {Step.START_SERVICE: Step.STOP_SERVICE, Step.ADD_VIP: Step.REMOVE_VIP}
        assert rollback[0] is undo[hanging], "the step that hung is undone first"


def test_a_late_answer_for_a_timed_out_step_is_ignored() -> None:
    h = GroupHarness.of()
    h.on(Step.MOUNT, HANG)
    h.become_master()
    h.run_for(70 * S)
    mount_op = next(f.op for f in h.of_type(StepFinished) if f.step is Step.MOUNT)
    before = h.state()
    out = h.feed(StepSucceeded(mount_op, Step.MOUNT))
    assert h.state() is before and h.group.stale == 1
    assert any("late answer for mount" in getattr(e, "text", "") for e in out)


def test_an_answer_naming_the_wrong_step_is_a_shell_bug() -> None:
    h = GroupHarness.of()
    h.on(Step.PROMOTE, HANG)
    h.become_master()
    [promote] = h.of_type(PromoteVolume)
    with pytest.raises(StepMismatch):
        h.feed(StepSucceeded(promote.op, Step.MOUNT))


def test_vrrp_leaving_master_during_a_start_finishes_the_step_then_undoes_what_was_done() -> None:
    h = GroupHarness.of(latency_ns=S)
    h.become_master()
    h.run_for(S + 500 * MS)  # promote done, attach in flight
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    assert h.state() is GroupState.STARTING, "the step in flight is not abandoned"
    h.run_for(10 * S)
    assert h.steps() == [Step.PROMOTE, Step.ATTACH, Step.DETACH, Step.DEMOTE]
    assert h.states() == [GroupState.STARTING, GroupState.STOPPING, GroupState.STOPPED]
    assert h.of_type(RunNotifyHooks) == [RunNotifyHooks("r0", "VI_1", VrrpRole.BACKUP)]


def test_failed_group_retries_after_the_wait_and_the_operator_can_clear_it_early() -> None:
    h = GroupHarness.of(full_settings(retry_after_failure_ns=30 * S))
    h.on(Step.MOUNT, fail("bad superblock"))
    h.become_master()
    h.run_for(5 * S)
    assert h.state() is GroupState.FAILED
    h.feed(VrrpStateObserved(VrrpRole.FAULT))  # what VRRP does with the condition down
    assert h.of_type(RunNotifyHooks) == [RunNotifyHooks("r0", "VI_1", VrrpRole.FAULT)]
    h.run_for(30 * S)
    assert h.state() is GroupState.STOPPED
    assert [c for c in h.of_type(VrrpConditionChanged) if c.condition == "hapair-r0"][-1].ok, (
        "healthy again: VRRP may elect this node"
    )
    h.on(Step.MOUNT, fail("bad superblock"))
    h.feed(VrrpStateObserved(VrrpRole.MASTER))
    h.run_for(5 * S)
    assert h.state() is GroupState.FAILED
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.feed(OperatorCleared())
    assert h.state() is GroupState.STOPPED


def test_services_by_command_and_no_optional_steps() -> None:
    service = ServiceSpec(start="/usr/local/bin/app start", stop="/usr/local/bin/app stop", check="/bin/true")
    h = GroupHarness.of(full_settings(service=service, fsck=False))
    h.start()
    [start] = h.of_type(StartService)
    assert start.service == service
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.run_for(S)
    [stop] = h.of_type(StopService)
    assert stop.service == service
    teardown = (RemoveVip, UnmountFilesystem, DetachDevice, DemoteVolume)
    assert [type(e) for _, e in h.log if isinstance(e, teardown)] == list(teardown)
    assert h.state() is GroupState.STOPPED
