"""`ResourceGroup`: one VRRP instance, one volume, and what is stacked on it, kept in step with VRRP.

`handle(input, now_ns)` records what the input says, then reconciles: the group wants to be started
while its instance is MASTER and stopped otherwise, and moves toward that one plan at a time:

    Stopped --MASTER, gate open--> Starting --all steps done--> Started
    Stopped --MASTER, gate shut--> Waiting --gate opens--> Starting;  --promotion_wait--> Failed
    Started --not MASTER--> Stopping --done--> Stopped
    Starting --a step fails or times out--> RollingBack --done--> Failed --retry_after_failure--> Stopped
    Started --service dies / volume no longer Primary--> Stopping --done--> Failed
    Stopping or RollingBack --cannot unmount, detach or demote--> Fenced --operator clears--> Stopping

A start in flight when VRRP leaves MASTER finishes its current step, then stops. A stop in flight
when VRRP returns to MASTER finishes first; the start follows. Alongside, after every input:

- the VRRP conditions (`VrrpConditionChanged`): `condition` (weight 0) is healthy while the disk is
  UpToDate, the group is neither Failed nor Fenced and a Primary has not been without quorum for
  `quorum_loss_grace_ns`, so the instance goes to FAULT (and the peer takes over) otherwise;
  `apart_condition` (weight -253) fails while the node is a Secondary cut off from its peer, so a
  possibly stale node yields to a working master when a partition heals;
- write permission (`SuspendIo` / `FailIo` / `ResumeIo`) while the volume is Primary, from
  `gate.io_verdict`;
- the notify hooks of the instance's current state, once the built-in steps for it are done.

A group that finds its volume Primary at its first observation while not MASTER (left over from a
previous run of the daemon) runs the whole stop plan to clean up; every undo step is idempotent.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import assert_never

from hapair.core.orchestrator.events import (
    FailIo,
    FenceVolume,
    GroupEffect,
    GroupInput,
    GroupState,
    GroupStateChanged,
    IoModeChanged,
    Notice,
    OperatorCleared,
    PromotionRefused,
    ResumeIo,
    RunNotifyHooks,
    ServiceFailed,
    StepFailed,
    StepSucceeded,
    SuspendIo,
    TimerExpired,
    VrrpConditionChanged,
    VrrpStateObserved,
    WitnessVoteChanged,
)
from hapair.core.orchestrator.gate import GateReason, IoMode, io_verdict, promotion_verdict
from hapair.core.orchestrator.observed import DiskState, VolumeObserved, VolumeRole, VrrpRole
from hapair.core.orchestrator.runner import Aborted, Finished, GaveUp, RunKind, StepRunner
from hapair.core.orchestrator.settings import FencingPolicy, GroupSettings
from hapair.core.orchestrator.steps import UNDO, Step, start_plan, step_effect, stop_plan, undo_plan

MAX_RECONCILE_ROUNDS = 16
NS_PER_S = 1_000_000_000
SETTLED = (GroupState.STOPPED, GroupState.FAILED, GroupState.FENCED)


@dataclass(frozen=True, slots=True)
class GroupStatus:
    """A picture of the group for `status` and metrics."""

    name: str
    state: GroupState
    vrrp: VrrpRole
    volume: str
    io_mode: IoMode
    holds_vote: bool
    step: Step | None
    cause: str
    split_brain_possible: bool


class ResourceGroup:
    def __init__(self, settings: GroupSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self.state = GroupState.STOPPED
        self._vrrp = VrrpRole.INITIALIZE
        self._volume: VolumeObserved | None = None
        self._vote_until: int | None = None
        self._run: StepRunner | None = None
        self._then = GroupState.STOPPED  # where the current teardown ends
        self._failure = ""  # why, when it ends in Failed
        self._ops = itertools.count(1)
        self._io = IoMode.RUN
        self._io_held_since: int | None = None  # when writes were last held for want of quorum
        self._condition: bool | None = None
        self._apart_ok: bool | None = None
        self._notified: VrrpRole | None = None
        self._wait_until: int | None = None
        self._retry_at: int | None = None
        self._refusal: GateReason | None = None
        self._cause = "not started yet"
        self._unwatched: set[int] = set()  # ops whose answer does not matter (the fence's VIP release)
        self.stale = 0

    # ------------------------------------------------------------------------------------- queries

    @property
    def split_brain_possible(self) -> bool:
        """Without a witness, only DRBD's fencing keeps two nodes from writing apart."""
        s = self.settings
        return not s.witness and s.fencing is not FencingPolicy.RESOURCE_AND_STONITH

    def status(self, now_ns: int) -> GroupStatus:
        return GroupStatus(
            name=self.name,
            state=self.state,
            vrrp=self._vrrp,
            volume=self._volume.describe() if self._volume is not None else "not reported yet",
            io_mode=self._io,
            holds_vote=self._vote_until is not None and now_ns < self._vote_until,
            step=self._run.current_step if self._run is not None else None,
            cause=self._cause,
            split_brain_possible=self.split_brain_possible,
        )

    def next_deadline(self) -> int | None:
        times = [self._vote_until]
        if self._run is not None:
            times.append(self._run.next_deadline())
        if self.state is GroupState.WAITING:
            times.append(self._wait_until)
        if self.state is GroupState.FAILED:
            times.append(self._retry_at)
        held_since = self._io_held_since  # cleared whenever the volume is not Primary
        if self._condition and held_since is not None:
            times.append(held_since + self.settings.quorum_loss_grace_ns)
        present = [t for t in times if t is not None]
        return min(present) if present else None

    # -------------------------------------------------------------------------------------- inputs

    def handle(self, event: GroupInput, now_ns: int) -> list[GroupEffect]:
        effects: list[GroupEffect] = []
        match event:
            case VrrpStateObserved(state=state):
                self._vrrp = state
            case VolumeObserved():
                effects += self._volume_changed(event, now_ns)
            case WitnessVoteChanged(held_until_ns=until):
                self._vote_until = until
            case StepSucceeded(op=op, step=step):
                if self._run is not None and self._run.owns(op):
                    effects += self._run.succeeded(op, step, now_ns)
                else:
                    effects += self._stale(op, step)
            case StepFailed(op=op, step=step, reason=reason):
                if self._run is not None and self._run.owns(op):
                    effects += self._run.failed_step(op, step, reason, now_ns)
                else:
                    effects += self._stale(op, step)
            case ServiceFailed(reason=reason):
                effects += self._lost_while_started(f"the service failed: {reason}", now_ns)
            case OperatorCleared():
                effects += self._cleared(now_ns)
            case TimerExpired():
                if self._run is not None:
                    effects += self._run.timer(now_ns)
            case _:
                assert_never(event)
        if self._vote_until is not None and now_ns >= self._vote_until:
            self._vote_until = None
        effects += self._reconcile(now_ns)
        effects += self._io_policy(now_ns)
        effects += self._health(now_ns)
        effects += self._hooks()
        return effects

    def _volume_changed(self, volume: VolumeObserved, now_ns: int) -> list[GroupEffect]:
        previous, self._volume = self._volume, volume
        primary = volume.role is VolumeRole.PRIMARY
        if previous is None:
            if primary and self.state is GroupState.STOPPED and self._vrrp is not VrrpRole.MASTER:
                cause = "the volume is Primary but this node is not the VRRP master: cleaning up"
                return self._teardown(stop_plan(self.settings), GroupState.STOPPED, cause, now_ns)
            return []
        if previous.role is VolumeRole.PRIMARY and not primary:
            return self._lost_while_started(f"the volume is no longer Primary ({volume.describe()})", now_ns)
        return []

    def _lost_while_started(self, cause: str, now_ns: int) -> list[GroupEffect]:
        if self.state is not GroupState.STARTED:
            return []
        return self._teardown(stop_plan(self.settings), GroupState.FAILED, cause, now_ns)

    def _stale(self, op: int, step: Step) -> list[GroupEffect]:
        if op in self._unwatched:
            self._unwatched.discard(op)
            return []
        self.stale += 1
        return [Notice(self.name, f"late answer for {step.value} (op {op}) ignored")]

    def _cleared(self, now_ns: int) -> list[GroupEffect]:
        match self.state:
            case GroupState.FAILED:
                return self._enter(GroupState.STOPPED, "cleared by the operator")
            case GroupState.FENCED:
                return self._teardown(
                    stop_plan(self.settings), GroupState.STOPPED, "cleared by the operator", now_ns
                )
            case (
                GroupState.STOPPED
                | GroupState.WAITING
                | GroupState.STARTING
                | GroupState.STARTED
                | GroupState.STOPPING
                | GroupState.ROLLING_BACK
            ):
                return [Notice(self.name, f"nothing to clear: the group is {self.state.value}")]
            case _:
                assert_never(self.state)

    # ------------------------------------------------------------------------------------ reconcile

    def _reconcile(self, now_ns: int) -> list[GroupEffect]:
        effects: list[GroupEffect] = []
        for _ in range(MAX_RECONCILE_ROUNDS):
            before = (self.state, self._run)
            effects += self._reconcile_once(now_ns)
            if (self.state, self._run) == before:
                return effects
        raise AssertionError(f"group {self.name} did not settle")  # a bug, not an input

    def _reconcile_once(self, now_ns: int) -> list[GroupEffect]:
        master = self._vrrp is VrrpRole.MASTER
        match self.state:
            case GroupState.STOPPED:
                if master:
                    return self._try_start(now_ns, waiting=False)
                return []
            case GroupState.WAITING:
                if not master:
                    return self._enter(
                        GroupState.STOPPED, f"VRRP {self.settings.instance} is {self._vrrp.value}"
                    )
                return self._try_start(now_ns, waiting=True)
            case GroupState.STARTING:
                return self._starting(master, now_ns)
            case GroupState.STARTED:
                if not master:
                    cause = f"VRRP {self.settings.instance} is {self._vrrp.value}"
                    return self._teardown(stop_plan(self.settings), GroupState.STOPPED, cause, now_ns)
                return []
            case GroupState.STOPPING | GroupState.ROLLING_BACK:
                return self._tearing_down(now_ns)
            case GroupState.FAILED:
                if self._retry_at is not None and now_ns >= self._retry_at:
                    return self._enter(GroupState.STOPPED, "the wait after the failure is over")
                return []
            case GroupState.FENCED:
                return []
            case _:
                assert_never(self.state)

    def _try_start(self, now_ns: int, *, waiting: bool) -> list[GroupEffect]:
        s = self.settings
        verdict = promotion_verdict(
            self._volume, witness=s.witness, vote_until=self._vote_until, fencing=s.fencing, now_ns=now_ns
        )
        if verdict.allowed:
            self._refusal = None
            effects: list[GroupEffect] = []
            if verdict.split_brain_possible:
                effects.append(Notice(self.name, f"promoting: {verdict.reason.value}; {verdict.detail}"))
            runner = StepRunner(s, RunKind.START, start_plan(s), self._next_op)
            cause = f"VRRP {s.instance} is MASTER and {verdict.reason.value}"
            effects += self._enter(GroupState.STARTING, cause)
            self._run = runner
            return effects + runner.begin(now_ns)
        effects = []
        if verdict.reason is not self._refusal:
            self._refusal = verdict.reason
            effects.append(PromotionRefused(self.name, verdict.reason, verdict.detail))
        if not waiting:
            self._wait_until = now_ns + s.promotion_wait_ns
            return effects + self._enter(GroupState.WAITING, f"promotion refused: {verdict.reason.value}")
        if self._wait_until is not None and now_ns >= self._wait_until:
            seconds = s.promotion_wait_ns / NS_PER_S
            cause = f"promotion refused for {seconds:g} s: {verdict.reason.value}"
            return effects + self._fail(cause, now_ns)
        return effects

    def _starting(self, master: bool, now_ns: int) -> list[GroupEffect]:
        run = self._run
        assert run is not None
        if not master:
            run.abort()
        match run.outcome:
            case None:
                return []
            case Finished():
                self._run = None
                return self._enter(GroupState.STARTED, "every step of the start plan is done")
            case Aborted():
                cause = f"VRRP {self.settings.instance} is {self._vrrp.value}: stopping what was started"
                return self._teardown(undo_plan(run.done), GroupState.STOPPED, cause, now_ns)
            case GaveUp(step=step, reason=reason):
                undone = [*run.done, step] if UNDO.get(step) is not None else run.done
                cause = f"{step.value} failed: {reason}"
                plan = undo_plan(undone)
                return self._teardown(plan, GroupState.FAILED, cause, now_ns, GroupState.ROLLING_BACK)
            case _:
                assert_never(run.outcome)

    def _tearing_down(self, now_ns: int) -> list[GroupEffect]:
        run = self._run
        assert run is not None
        match run.outcome:
            case None:
                return []
            case Finished() | Aborted():
                self._run = None
                if self._then is GroupState.FAILED:
                    return self._fail(self._failure, now_ns)
                return self._enter(GroupState.STOPPED, "every step of the stop plan is done")
            case GaveUp(step=step, reason=reason):
                self._run = None
                return self._fence(f"{step.value} could not finish: {reason}")
            case _:
                assert_never(run.outcome)

    # ---------------------------------------------------------------------------------- transitions

    def _next_op(self) -> int:
        return next(self._ops)

    def _enter(self, state: GroupState, cause: str) -> list[GroupEffect]:
        previous = self.state
        self.state = state
        self._cause = cause
        if previous is state:
            return []
        return [GroupStateChanged(self.name, previous, state, cause)]

    def _teardown(
        self,
        plan: tuple[Step, ...],
        then: GroupState,
        cause: str,
        now_ns: int,
        state: GroupState = GroupState.STOPPING,
    ) -> list[GroupEffect]:
        """Run `plan` (undo steps); end in `then` (Stopped or Failed), or Fenced if it cannot finish."""
        self._then, self._failure = then, cause
        self._run = StepRunner(self.settings, RunKind.TEARDOWN, plan, self._next_op)
        effects = self._enter(state, cause)
        return effects + self._run.begin(now_ns)

    def _fail(self, cause: str, now_ns: int) -> list[GroupEffect]:
        self._retry_at = now_ns + self.settings.retry_after_failure_ns
        self._run = None
        return self._enter(GroupState.FAILED, cause)

    def _fence(self, cause: str) -> list[GroupEffect]:
        s = self.settings
        op = self._next_op()
        self._unwatched.add(op)
        release = step_effect(Step.REMOVE_VIP, s, op)
        effects = self._enter(GroupState.FENCED, f"self-fenced: {cause}")
        return [*effects, release, FenceVolume(self.name, s.resource, cause)]

    # ------------------------------------------------------------------------------ side channels

    def _io_policy(self, now_ns: int) -> list[GroupEffect]:
        if self.state is GroupState.FENCED:
            return []
        s = self.settings
        verdict = io_verdict(
            self._volume,
            witness=s.witness,
            vote_until=self._vote_until,
            fencing=s.fencing,
            policy=s.on_quorum_loss,
            now_ns=now_ns,
        )
        mode, cause = verdict.mode, verdict.cause
        if mode is IoMode.SUSPEND and self.state in (GroupState.STOPPING, GroupState.ROLLING_BACK):
            # Letting go: held writes can never complete here, and would hang the unmount. None of
            # them was acknowledged, so failing them loses nothing.
            mode, cause = IoMode.ERROR, f"{cause}; the group is letting go"
        if self._volume is None or self._volume.role is not VolumeRole.PRIMARY:
            self._io_held_since = None  # nothing is held by a volume that is not Primary
            return []
        if mode is self._io:
            return []
        previous, self._io = self._io, mode
        if mode is IoMode.RUN:
            self._io_held_since = None
        elif previous is IoMode.RUN:
            self._io_held_since = now_ns
        command: GroupEffect
        match mode:
            case IoMode.RUN:
                command = ResumeIo(self.name, s.resource, cause)
            case IoMode.SUSPEND:
                command = SuspendIo(self.name, s.resource, cause)
            case IoMode.ERROR:
                command = FailIo(self.name, s.resource, cause)
            case _:
                assert_never(mode)
        return [command, IoModeChanged(self.name, previous, mode, cause)]

    def _quorum_lost_for(self, now_ns: int) -> int | None:
        """How long this Primary has been holding (or failing) writes for want of quorum, or None."""
        volume = self._volume
        if volume is None or volume.role is not VolumeRole.PRIMARY or self._io_held_since is None:
            return None
        return now_ns - self._io_held_since

    def _health(self, now_ns: int) -> list[GroupEffect]:
        s = self.settings
        held = self._quorum_lost_for(now_ns)
        if self.state in (GroupState.FAILED, GroupState.FENCED):
            ok, cause = False, f"the group is {self.state.value}"
        elif self._volume is None:
            return []  # VRRP holds a weight-0 condition without a report in FAULT already
        elif self._volume.disk is not DiskState.UP_TO_DATE:
            ok, cause = False, f"the disk is {self._volume.disk.value}"
        elif held is not None and held >= s.quorum_loss_grace_ns:
            ok, cause = False, f"writes held for want of quorum for {held / NS_PER_S:g} s"
        else:
            ok, cause = True, "the disk is UpToDate"
        effects: list[GroupEffect] = []
        if ok is not self._condition:
            self._condition = ok
            effects.append(VrrpConditionChanged(self.name, s.instance, s.condition, ok, cause))
        volume = self._volume
        if volume is not None:
            together = volume.connected or volume.role is VolumeRole.PRIMARY
            if together is not self._apart_ok:
                self._apart_ok = together
                cause = (
                    "connected to the peer or Primary" if together else "a Secondary cut off from its peer"
                )
                effects.append(
                    VrrpConditionChanged(self.name, s.instance, s.apart_condition, together, cause)
                )
        return effects

    def _hooks(self) -> list[GroupEffect]:
        vrrp = self._vrrp
        if vrrp is VrrpRole.INITIALIZE or vrrp is self._notified:
            return []
        settled = self.state is GroupState.STARTED if vrrp is VrrpRole.MASTER else self.state in SETTLED
        if not settled:
            return []
        self._notified = vrrp
        return [RunNotifyHooks(self.name, self.settings.instance, vrrp)]
