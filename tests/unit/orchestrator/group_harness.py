"""A scripted shell for one `ResourceGroup` on a fake clock.

Every step the group starts is answered after `latency_ns`: with success, unless the test scripted
something else for that step (`fail("busy")`, `HANG` = never answer). The harness records every
effect with its time, and offers the queries the tests need (steps in order, state changes,
commands of one type).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TypeVar

from hapair.core.orchestrator import (
    DiskState,
    GroupEffect,
    GroupInput,
    GroupSettings,
    GroupState,
    GroupStateChanged,
    ResourceGroup,
    ServiceSpec,
    Step,
    StepFailed,
    StepStarted,
    StepSucceeded,
    TimerExpired,
    VolumeObserved,
    VolumeRole,
    VrrpRole,
    VrrpStateObserved,
)

MS = 1_000_000
S = 1_000_000_000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fail:
    reason: str


HANG = "hang"
Outcome = Fail | str  # "ok", HANG or Fail(reason)


def fail(reason: str) -> Fail:
    return Fail(reason)


def full_settings(**kw: object) -> GroupSettings:
    """The runbook's group, with every optional step configured."""
    base: dict[str, object] = {
        "name": "r0",
        "instance": "VI_1",
        "resource": "r0",
        "device": "/dev/drbd0",
        "vips": ("10.30.31.171",),
        "fstype": "xfs",
        "fsck": True,
        "mount_point": "/drbd-fs",
        "service": ServiceSpec(unit="nginx.service"),
    }
    base.update(kw)
    return GroupSettings(**base)  # type: ignore[arg-type]


SECONDARY_PEER_SECONDARY = VolumeObserved(
    VolumeRole.SECONDARY, DiskState.UP_TO_DATE, VolumeRole.SECONDARY, DiskState.UP_TO_DATE, True
)
PRIMARY_PEER_SECONDARY = VolumeObserved(
    VolumeRole.PRIMARY, DiskState.UP_TO_DATE, VolumeRole.SECONDARY, DiskState.UP_TO_DATE, True
)


@dataclass
class GroupHarness:
    group: ResourceGroup
    latency_ns: int = 10 * MS
    now: int = 0
    log: list[tuple[int, GroupEffect]] = field(default_factory=list)
    script: dict[Step, deque[Outcome]] = field(default_factory=dict)
    _pending: list[tuple[int, GroupInput]] = field(default_factory=list)

    @classmethod
    def of(cls, settings: GroupSettings | None = None, **kw: object) -> GroupHarness:
        return cls(ResourceGroup(settings or full_settings()), **kw)  # type: ignore[arg-type]

    # -------------------------------------------------------------------------------------- driving

    def on(self, step: Step, *outcomes: Outcome) -> None:
        """The next answers for `step`, in order (afterwards: success)."""
        self.script.setdefault(step, deque()).extend(outcomes)

    def feed(self, event: GroupInput) -> list[GroupEffect]:
        effects = self.group.handle(event, self.now)
        for effect in effects:
            self.log.append((self.now, effect))
            if isinstance(effect, StepStarted):
                self._answer(effect)
        return effects

    def _answer(self, started: StepStarted) -> None:
        queue = self.script.get(started.step)
        outcome: Outcome = queue.popleft() if queue else "ok"
        if outcome == HANG:
            return
        answer: GroupInput
        if isinstance(outcome, Fail):
            answer = StepFailed(started.op, started.step, outcome.reason)
        else:
            answer = StepSucceeded(started.op, started.step)
        self._pending.append((self.now + self.latency_ns, answer))
        self._pending.sort(key=lambda p: p[0])

    def run_until(self, until: int) -> None:
        for _ in range(100_000):
            times = [t for t, _ in self._pending[:1]]
            deadline = self.group.next_deadline()
            if deadline is not None:
                times.append(max(deadline, self.now))
            if not times or min(times) > until:
                self.now = until
                return
            self.now = min(times)
            if self._pending and self._pending[0][0] <= self.now:
                _, event = self._pending.pop(0)
                self.feed(event)
            else:
                self.feed(TimerExpired())
        raise RuntimeError("the group did not settle")

    def run_for(self, duration: int) -> None:
        self.run_until(self.now + duration)

    def become_master(self, volume: VolumeObserved = SECONDARY_PEER_SECONDARY) -> None:
        self.feed(volume)
        self.feed(VrrpStateObserved(VrrpRole.MASTER))

    def start(self) -> None:
        """Bring the group to Started the ordinary way."""
        self.become_master()
        self.run_for(5 * S)
        assert self.state() is GroupState.STARTED, self.group.status(self.now)
        self.feed(PRIMARY_PEER_SECONDARY)

    # -------------------------------------------------------------------------------------- queries

    def state(self) -> GroupState:
        """The group's state, through a call so that mypy does not narrow it across inputs."""
        return self.group.state

    def of_type(self, kind: type[T]) -> list[T]:
        return [e for _, e in self.log if isinstance(e, kind)]

    def steps(self) -> list[Step]:
        return [e.step for e in self.of_type(StepStarted)]

    def states(self) -> list[GroupState]:
        return [e.current for e in self.of_type(GroupStateChanged)]

    def clear(self) -> None:
        self.log.clear()
