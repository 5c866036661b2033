"""Every (state, input) pair is handled; random input sequences keep the step discipline and the gate.

The stateful test plays a shell that answers each step with success, failure or silence, and checks
after every input: steps run one at a time; a forward step runs only on top of the steps below it;
an undo runs only once everything above it was released (or its release attempted); a promotion is
issued only when the gate, fed the same observations, is open.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from group_harness import HANG, PRIMARY_PEER_SECONDARY, GroupHarness, S, fail, full_settings
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from hapair.core.orchestrator import (
    DiskState,
    GroupInput,
    GroupState,
    GroupStateChanged,
    OperatorCleared,
    PromoteVolume,
    ResourceGroup,
    ServiceFailed,
    Step,
    StepFailed,
    StepFinished,
    StepStarted,
    StepSucceeded,
    TimerExpired,
    VolumeObserved,
    VolumeRole,
    VrrpRole,
    VrrpStateObserved,
    WitnessVoteChanged,
    promotion_verdict,
    start_plan,
)
from hapair.core.orchestrator.steps import UNDO

SETUPS: dict[GroupState, Callable[[GroupHarness], None]] = {}


def setup(state: GroupState) -> Callable[[Callable[[GroupHarness], None]], Callable[[GroupHarness], None]]:
    def register(fn: Callable[[GroupHarness], None]) -> Callable[[GroupHarness], None]:
        SETUPS[state] = fn
        return fn

    return register


@setup(GroupState.STOPPED)
def _stopped(h: GroupHarness) -> None:
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))


@setup(GroupState.WAITING)
def _waiting(h: GroupHarness) -> None:
    h.become_master(
        VolumeObserved(VolumeRole.SECONDARY, DiskState.UP_TO_DATE, VolumeRole.PRIMARY, connected=True)
    )


@setup(GroupState.STARTING)
def _starting(h: GroupHarness) -> None:
    h.on(Step.MOUNT, HANG)
    h.become_master()
    h.run_for(S)


@setup(GroupState.STARTED)
def _started(h: GroupHarness) -> None:
    h.start()


@setup(GroupState.STOPPING)
def _stopping(h: GroupHarness) -> None:
    h.start()
    h.on(Step.UNMOUNT, HANG)
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.run_for(S)


@setup(GroupState.ROLLING_BACK)
def _rolling_back(h: GroupHarness) -> None:
    h.on(Step.ADD_VIP, fail("no such device"))
    h.on(Step.STOP_SERVICE, HANG)
    h.become_master()
    h.run_for(S)


@setup(GroupState.FAILED)
def _failed(h: GroupHarness) -> None:
    h.on(Step.MOUNT, fail("wrong fs type"))
    h.become_master()
    h.run_for(S)


@setup(GroupState.FENCED)
def _fenced(h: GroupHarness) -> None:
    h.start()
    h.on(Step.DEMOTE, fail("refused"))
    h.feed(VrrpStateObserved(VrrpRole.BACKUP))
    h.run_for(S)


def inputs(h: GroupHarness) -> list[GroupInput]:
    in_flight = h.of_type(StepStarted)
    last = in_flight[-1] if in_flight else None
    out: list[GroupInput] = [VrrpStateObserved(role) for role in VrrpRole]
    out += [
        PRIMARY_PEER_SECONDARY,
        VolumeObserved(VolumeRole.PRIMARY, DiskState.UP_TO_DATE),
        VolumeObserved(VolumeRole.SECONDARY, DiskState.INCONSISTENT, VolumeRole.PRIMARY, connected=True),
        WitnessVoteChanged(None),
        WitnessVoteChanged(h.now + 5 * S),
        StepSucceeded(9999, Step.MOUNT),
        ServiceFailed("gone"),
        OperatorCleared(),
        TimerExpired(),
    ]
    if last is not None:
        out += [StepSucceeded(last.op, last.step), StepFailed(last.op, last.step, "no")]
    return out


def test_every_state_is_reachable() -> None:
    for state, build in SETUPS.items():
        h = GroupHarness.of()
        build(h)
        assert h.state() is state
    assert set(SETUPS) == set(GroupState)


@pytest.mark.parametrize("state", list(GroupState))
def test_every_input_is_handled_in_every_state(state: GroupState) -> None:
    probe = GroupHarness.of()
    SETUPS[state](probe)
    for index in range(len(inputs(probe))):
        h = GroupHarness.of()
        SETUPS[state](h)
        event = inputs(h)[index]
        effects = h.group.handle(event, h.now)
        changes = [e for e in effects if isinstance(e, GroupStateChanged)]
        assert all(c.previous is not c.current for c in changes)
        if changes:
            assert changes[-1].current is h.state()
        deadline = h.group.next_deadline()
        assert deadline is None or isinstance(deadline, int)


class GroupMachine(RuleBasedStateMachine):
    """A group driven by random inputs; the shell answers at random."""

    def __init__(self) -> None:
        super().__init__()
        self.settings = full_settings(witness=True, promotion_wait_ns=10 * S, retry_after_failure_ns=5 * S)
        self.group = ResourceGroup(self.settings)
        self.now = 0
        self.in_flight: StepStarted | None = None
        self.held: list[Step] = []  # forward steps that succeeded and whose undo was not attempted
        self.volume: VolumeObserved | None = None
        self.vote: int | None = None

    def feed(self, event: GroupInput) -> None:
        if isinstance(event, VolumeObserved):
            self.volume = event
        if isinstance(event, WitnessVoteChanged):
            self.vote = event.held_until_ns
        for effect in self.group.handle(event, self.now):
            flying = self.in_flight
            if isinstance(effect, StepFinished) and flying is not None and effect.op == flying.op:
                self.in_flight = None  # timed out: the group gave up on it
            if isinstance(effect, StepStarted):
                assert self.in_flight is None, "one step at a time"
                self.check_order(effect.step)
                self.in_flight = effect
            if isinstance(effect, PromoteVolume):
                verdict = promotion_verdict(
                    self.volume,
                    witness=True,
                    vote_until=self.vote if self.vote is not None and self.now < self.vote else None,
                    fencing=self.settings.fencing,
                    now_ns=self.now,
                )
                assert verdict.allowed, verdict

    def check_order(self, step: Step) -> None:
        plan = start_plan(self.settings)
        if step in UNDO:  # a forward step sits on top of exactly the steps below it
            assert self.held == list(plan[: plan.index(step)]), (step, self.held)
        elif step is not Step.KILL_HOLDERS:
            # An undo runs only once nothing undoable above its step is held (the filesystem check
            # has no undo); then that step and everything above it count as released.
            forward = next(f for f, u in UNDO.items() if u is step)
            above = [s for s in self.held if plan.index(s) > plan.index(forward)]
            assert all(UNDO[s] is None for s in above), (step, self.held)
            self.held = [s for s in self.held if plan.index(s) < plan.index(forward)]

    @rule(role=st.sampled_from(list(VrrpRole)))
    def vrrp(self, role: VrrpRole) -> None:
        self.feed(VrrpStateObserved(role))

    @rule(
        role=st.sampled_from(list(VolumeRole)),
        disk=st.sampled_from([DiskState.UP_TO_DATE, DiskState.UP_TO_DATE, DiskState.OUTDATED]),
        peer=st.sampled_from(list(VolumeRole)),
        connected=st.booleans(),
    )
    def volume_changes(self, role: VolumeRole, disk: DiskState, peer: VolumeRole, connected: bool) -> None:
        self.feed(VolumeObserved(role, disk, peer, DiskState.UP_TO_DATE, connected))

    @rule()
    def healthy_pair(self) -> None:
        """The common case, drawn often so that starts get far: connected, peer Secondary."""
        self.feed(
            VolumeObserved(VolumeRole.SECONDARY, DiskState.UP_TO_DATE, VolumeRole.SECONDARY, connected=True)
        )

    @rule()
    def becomes_master(self) -> None:
        self.feed(VrrpStateObserved(VrrpRole.MASTER))

    @rule(held=st.booleans())
    def vote_changes(self, held: bool) -> None:
        self.feed(WitnessVoteChanged(self.now + 3 * S if held else None))

    @precondition(lambda self: self.in_flight is not None)
    @rule(ok=st.sampled_from([True, True, True, False]))
    def answer(self, ok: bool) -> None:
        started = self.in_flight
        assert started is not None
        self.in_flight = None
        if ok:
            if started.step in UNDO:
                self.held.append(started.step)
            self.feed(StepSucceeded(started.op, started.step))
        else:
            self.feed(StepFailed(started.op, started.step, "random failure"))

    @rule(seconds=st.integers(0, 40))
    def time_passes(self, seconds: int) -> None:
        self.now += seconds * S // 4
        deadline = self.group.next_deadline()
        if deadline is not None and deadline <= self.now:
            self.feed(TimerExpired())

    @rule()
    def service_dies(self) -> None:
        self.feed(ServiceFailed("random"))

    @rule()
    def operator_clears(self) -> None:
        self.feed(OperatorCleared())

    @invariant()
    def started_means_everything_is_held(self) -> None:
        if self.group.state is GroupState.STARTED:
            assert self.held == list(start_plan(self.settings))

    @invariant()
    def settled_means_nothing_in_flight(self) -> None:
        if self.group.state in (GroupState.STOPPED, GroupState.FAILED, GroupState.FENCED, GroupState.STARTED):
            assert self.group.status(self.now).step is None


GroupMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)
test_random_inputs_keep_the_step_discipline = GroupMachine.TestCase
