"""Inputs, commands and journal events of a resource group (the step effects are in `steps`).

Inputs say what happened; the daemon translates the other cores' effects into them:
VRRP `StateChanged` for the group's instance -> `VrrpStateObserved`, the volume's state ->
`VolumeObserved` (in `observed`), the witness client's `VoteChanged` -> `WitnessVoteChanged`, and
the shell's completion of each step effect -> `StepSucceeded` / `StepFailed`.

Commands go to the other parts: `VrrpConditionChanged` (to the VRRP node as its
`ConditionChanged`), `SuspendIo` / `FailIo` / `ResumeIo` / `FenceVolume` (to the volume), and
`RunNotifyHooks` (the held notify scripts of the instance). Journal events carry their cause, so
the journal answers "why did it fail over".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hapair.core.orchestrator.gate import GateReason, IoMode
from hapair.core.orchestrator.observed import VolumeObserved, VrrpRole
from hapair.core.orchestrator.steps import Step, StepEffect


class GroupState(enum.Enum):
    STOPPED = "Stopped"  # holds nothing
    WAITING = "Waiting"  # VRRP master, the promotion gate is shut: waiting for it (bounded)
    STARTING = "Starting"  # running the start plan
    STARTED = "Started"  # everything up, VIP included
    STOPPING = "Stopping"  # running the stop plan
    ROLLING_BACK = "RollingBack"  # a start failed: undoing what it did
    FAILED = "Failed"  # a start failed and was undone; VRRP held in FAULT for a while
    FENCED = "Fenced"  # could not let go: VIP released, VRRP FAULT, volume refuses I/O; operator


# ----------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class VrrpStateObserved:
    """The group's VRRP instance is now in `state`."""

    state: VrrpRole


@dataclass(frozen=True, slots=True)
class WitnessVoteChanged:
    """This node believes it holds the witness's vote until `held_until_ns` (its clock), or not."""

    held_until_ns: int | None


@dataclass(frozen=True, slots=True)
class StepSucceeded:
    op: int
    step: Step


@dataclass(frozen=True, slots=True)
class StepFailed:
    op: int
    step: Step
    reason: str


@dataclass(frozen=True, slots=True)
class ServiceFailed:
    """The shell's monitor found the running service dead (its check failed)."""

    reason: str


@dataclass(frozen=True, slots=True)
class OperatorCleared:
    """An operator cleared a Failed or Fenced group (`hapair group clear`): try again."""


@dataclass(frozen=True, slots=True)
class TimerExpired:
    """The deadline from `next_deadline()` has passed."""


GroupInput = (
    VrrpStateObserved
    | VolumeObserved
    | WitnessVoteChanged
    | StepSucceeded
    | StepFailed
    | ServiceFailed
    | OperatorCleared
    | TimerExpired
)


# --------------------------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class VrrpConditionChanged:
    """Tell the VRRP node (`ConditionChanged(condition, ok)`): the instance tracks `condition` with
    weight 0, so it is in FAULT while the group is unhealthy (disk not UpToDate, failed, fenced)."""

    group: str
    instance: str
    condition: str
    ok: bool
    cause: str


@dataclass(frozen=True, slots=True)
class SuspendIo:
    """Hold the Primary's I/O (queue it, acknowledge nothing) until `ResumeIo` or `FailIo`."""

    group: str
    resource: str
    cause: str


@dataclass(frozen=True, slots=True)
class FailIo:
    """Fail the Primary's pending and new I/O with EIO until `ResumeIo`."""

    group: str
    resource: str
    cause: str


@dataclass(frozen=True, slots=True)
class ResumeIo:
    group: str
    resource: str
    cause: str


@dataclass(frozen=True, slots=True)
class FenceVolume:
    """Self-fence: refuse all I/O (pending and new fail with EIO) and give up the Primary role even
    though the device is still open (DRBD's force-secondary), so the peer may promote. The mount
    stays; it is never forced away."""

    group: str
    resource: str
    cause: str


@dataclass(frozen=True, slots=True)
class RunNotifyHooks:
    """Run the notify hooks for `state` now, with keepalived's arguments: the built-in steps for
    that state are done. The hooks are the group's own (hapair.toml `[group.notify]`) and, unless
    the group says `keepalived_notify = false`, the instance's keepalived.conf scripts: the shell
    holds the VRRP core's `RunNotify` for a grouped instance until this arrives (and drops a held
    MASTER notification that never gets here, because the start failed)."""

    group: str
    instance: str
    state: VrrpRole


# ------------------------------------------------------------------------------------- journal events


@dataclass(frozen=True, slots=True)
class GroupStateChanged:
    group: str
    previous: GroupState
    current: GroupState
    cause: str


@dataclass(frozen=True, slots=True)
class StepStarted:
    group: str
    step: Step
    op: int
    timeout_ns: int


@dataclass(frozen=True, slots=True)
class StepFinished:
    group: str
    step: Step
    op: int
    ok: bool
    elapsed_ns: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PromotionRefused:
    """The gate stayed shut (emitted when the reason changes, not on every re-evaluation)."""

    group: str
    reason: GateReason
    detail: str


@dataclass(frozen=True, slots=True)
class IoModeChanged:
    group: str
    previous: IoMode
    current: IoMode
    cause: str


@dataclass(frozen=True, slots=True)
class Notice:
    """Something an operator should know that is not a state change (split brain is possible, a
    stale completion was ignored, ...)."""

    group: str
    text: str


Command = VrrpConditionChanged | SuspendIo | FailIo | ResumeIo | FenceVolume | RunNotifyHooks
JournalEvent = GroupStateChanged | StepStarted | StepFinished | PromotionRefused | IoModeChanged | Notice
GroupEffect = StepEffect | Command | JournalEvent
