"""Runs one plan of a resource group, one step at a time, each with a deadline.

A `StepRunner` issues a step effect, waits for its completion (`succeeded` / `failed`) or for its
deadline (`timer`: a step past its deadline counts as failed, and a late answer for it is ignored),
then goes on. What a failure means depends on the plan:

- a **start** run stops at the first failure and reports it (`GaveUp`); the group then rolls back
  what was done, including the failed step, which may have half-happened;
- a **teardown** run (stop or rollback) keeps going past a failed VIP removal or service stop (the
  unmount finds and kills whatever still holds the filesystem), escalates a busy unmount (retry
  every `retry_ns`; after `kill_after_ns` SIGTERM the holders, after `kill_wait_ns` SIGKILL them,
  after `kill_wait_ns` more give up), and gives up on a failed detach or demote. Giving up in a
  teardown means the node cannot let go: the group fences itself.

`abort()` asks a start run to stop after the step in flight (VRRP left MASTER meanwhile).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hapair.core.orchestrator.events import GroupEffect, Notice, StepFinished, StepStarted
from hapair.core.orchestrator.settings import GroupSettings
from hapair.core.orchestrator.steps import HolderSignal, Step, step_effect, timeout_for
from hapair.errors import LocalProtocolError

NS_PER_S = 1_000_000_000


class StepMismatch(LocalProtocolError):
    """A completion named the op of the step in flight but another step: a shell bug."""


class RunKind(enum.Enum):
    START = "start"
    TEARDOWN = "teardown"


@dataclass(frozen=True, slots=True)
class Finished:
    """Every step of the plan succeeded (or, in a teardown, was allowed to fail)."""


@dataclass(frozen=True, slots=True)
class Aborted:
    """A start run stopped early on request, after the step in flight completed."""


@dataclass(frozen=True, slots=True)
class GaveUp:
    step: Step
    reason: str


RunOutcome = Finished | Aborted | GaveUp


@dataclass(slots=True)
class _InFlight:
    op: int
    step: Step
    started_ns: int
    deadline_ns: int


class _UnmountStage(enum.Enum):
    PLAIN = 0
    AFTER_TERM = 1
    AFTER_KILL = 2


class StepRunner:
    def __init__(
        self, settings: GroupSettings, kind: RunKind, plan: Sequence[Step], next_op: Callable[[], int]
    ) -> None:
        self.settings = settings
        self.kind = kind
        self.plan = tuple(plan)
        self._next_op = next_op
        self._index = 0
        self._current: _InFlight | None = None
        self._retry_at: int | None = None
        self._stage = _UnmountStage.PLAIN
        self._stage_since = 0
        self._abort = False
        self.done: list[Step] = []  # steps of the plan that succeeded, in order
        self.failed: Step | None = None  # the step a start run failed on
        self.outcome: RunOutcome | None = None

    @property
    def current_step(self) -> Step | None:
        return self._current.step if self._current is not None else None

    def owns(self, op: int) -> bool:
        return self._current is not None and self._current.op == op

    def next_deadline(self) -> int | None:
        if self._current is not None:
            return self._current.deadline_ns
        return self._retry_at

    def abort(self) -> None:
        self._abort = True

    def begin(self, now_ns: int) -> list[GroupEffect]:
        return self._next(now_ns)

    # ----------------------------------------------------------------------------------- completions

    def succeeded(self, op: int, step: Step, now_ns: int) -> list[GroupEffect]:
        current = self._take(op, step)
        effects = self._finished(current, now_ns, ok=True)
        if step is Step.KILL_HOLDERS:
            return effects + self._issue(Step.UNMOUNT, now_ns)
        self.done.append(step)
        self._index += 1
        return effects + self._next(now_ns)

    def failed_step(self, op: int, step: Step, reason: str, now_ns: int) -> list[GroupEffect]:
        current = self._take(op, step)
        return self._finished(current, now_ns, ok=False, reason=reason) + self._after_failure(
            step, reason, now_ns
        )

    def timer(self, now_ns: int) -> list[GroupEffect]:
        current = self._current
        if current is not None and now_ns >= current.deadline_ns:
            self._current = None
            seconds = (current.deadline_ns - current.started_ns) / NS_PER_S
            reason = f"timed out after {seconds:g} s"
            effects = self._finished(current, now_ns, ok=False, reason=reason)
            return effects + self._after_failure(current.step, reason, now_ns)
        if current is None and self._retry_at is not None and now_ns >= self._retry_at:
            self._retry_at = None
            return self._issue(Step.UNMOUNT, now_ns)
        return []

    # -------------------------------------------------------------------------------------- internals

    def _take(self, op: int, step: Step) -> _InFlight:
        current = self._current
        if current is None or current.op != op:
            raise LocalProtocolError(f"op {op} is not in flight")  # the group checks owns() first
        if current.step is not step:
            raise StepMismatch(f"op {op} is {current.step.value}, not {step.value}")
        self._current = None
        return current

    def _finished(self, current: _InFlight, now_ns: int, *, ok: bool, reason: str = "") -> list[GroupEffect]:
        elapsed = now_ns - current.started_ns
        return [StepFinished(self.settings.name, current.step, current.op, ok, elapsed, reason)]

    def _next(self, now_ns: int) -> list[GroupEffect]:
        if self.outcome is not None:
            return []
        if self._abort and self.kind is RunKind.START:
            self.outcome = Aborted()
            return []
        if self._index >= len(self.plan):
            self.outcome = Finished()
            return []
        step = self.plan[self._index]
        if step is Step.UNMOUNT:
            self._stage = _UnmountStage.PLAIN
            self._stage_since = now_ns
        return self._issue(step, now_ns)

    def _issue(self, step: Step, now_ns: int, signal: HolderSignal = HolderSignal.TERM) -> list[GroupEffect]:
        op = self._next_op()
        timeout = timeout_for(step, self.settings.timeouts)
        self._current = _InFlight(op, step, now_ns, now_ns + timeout)
        effect = step_effect(step, self.settings, op, signal)
        return [StepStarted(self.settings.name, step, op, timeout), effect]

    def _after_failure(self, step: Step, reason: str, now_ns: int) -> list[GroupEffect]:
        name = self.settings.name
        if self.kind is RunKind.START:
            self.failed = step
            self.outcome = GaveUp(step, reason)
            return []
        match step:
            case Step.REMOVE_VIP | Step.STOP_SERVICE:
                self._index += 1
                note = Notice(name, f"{step.value} failed ({reason}); going on with the teardown")
                return [note, *self._next(now_ns)]
            case Step.UNMOUNT:
                return self._unmount_busy(reason, now_ns)
            case Step.KILL_HOLDERS:
                note = Notice(name, f"kill-holders failed ({reason}); trying the unmount again")
                return [note, *self._issue(Step.UNMOUNT, now_ns)]
            case _:
                self.outcome = GaveUp(step, reason)
                return []

    def _unmount_busy(self, reason: str, now_ns: int) -> list[GroupEffect]:
        policy = self.settings.unmount
        waited = now_ns - self._stage_since
        match self._stage:
            case _UnmountStage.PLAIN:
                if waited < policy.kill_after_ns:
                    return self._retry_unmount(now_ns)
                self._stage, self._stage_since = _UnmountStage.AFTER_TERM, now_ns
                return self._issue(Step.KILL_HOLDERS, now_ns, HolderSignal.TERM)
            case _UnmountStage.AFTER_TERM:
                if waited < policy.kill_wait_ns:
                    return self._retry_unmount(now_ns)
                self._stage, self._stage_since = _UnmountStage.AFTER_KILL, now_ns
                return self._issue(Step.KILL_HOLDERS, now_ns, HolderSignal.KILL)
            case _UnmountStage.AFTER_KILL:
                if waited < policy.kill_wait_ns:
                    return self._retry_unmount(now_ns)
                self.outcome = GaveUp(
                    Step.UNMOUNT, f"still cannot unmount after SIGKILL to its holders: {reason}"
                )
                return []

    def _retry_unmount(self, now_ns: int) -> list[GroupEffect]:
        self._retry_at = now_ns + self.settings.unmount.retry_ns
        return []
