"""The steps of a resource group, the effects that ask the shell to carry them out, and the plans.

Start plan (on becoming VRRP MASTER, after the promotion gate): promote, attach the block device,
check the filesystem (if configured), mount, start the service, then the VIPs with gratuitous ARP.
Stop plan: the exact reverse, each step replaced by its undo (the filesystem check has none).

Every step effect carries `op`, a number unique within the group; the shell answers each with
`StepSucceeded(op, step)` or `StepFailed(op, step, reason)`, however long it takes. Undo steps must
be idempotent (demoting a Secondary, unmounting what is not mounted, removing an absent VIP and
stopping a stopped service all succeed), because a rollback also undoes a step that failed or timed
out half-way. The shell never runs `umount -f`/`-l` and never removes the mount point.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import assert_never

from hapair.core.orchestrator.settings import GroupSettings, ServiceSpec, StepTimeouts


class Step(enum.Enum):
    PROMOTE = "promote"
    ATTACH = "attach"
    FSCK = "fsck"
    MOUNT = "mount"
    START_SERVICE = "start-service"
    ADD_VIP = "add-vip"
    REMOVE_VIP = "remove-vip"
    STOP_SERVICE = "stop-service"
    UNMOUNT = "unmount"
    KILL_HOLDERS = "kill-holders"
    DETACH = "detach"
    DEMOTE = "demote"


UNDO: dict[Step, Step | None] = {
    Step.PROMOTE: Step.DEMOTE,
    Step.ATTACH: Step.DETACH,
    Step.FSCK: None,
    Step.MOUNT: Step.UNMOUNT,
    Step.START_SERVICE: Step.STOP_SERVICE,
    Step.ADD_VIP: Step.REMOVE_VIP,
}
FORWARD = tuple(UNDO)


class HolderSignal(enum.Enum):
    TERM = "SIGTERM"
    KILL = "SIGKILL"


@dataclass(frozen=True, slots=True)
class PromoteVolume:
    """Make the volume Primary (`drbdadm primary`); only ever issued after the promotion gate."""

    group: str
    op: int
    resource: str


@dataclass(frozen=True, slots=True)
class DemoteVolume:
    """Make the volume Secondary (`drbdadm secondary`)."""

    group: str
    op: int
    resource: str


@dataclass(frozen=True, slots=True)
class AttachDevice:
    """Make the Primary's volume usable as the block device `device` on this node."""

    group: str
    op: int
    resource: str
    device: str


@dataclass(frozen=True, slots=True)
class DetachDevice:
    group: str
    op: int
    resource: str
    device: str


@dataclass(frozen=True, slots=True)
class CheckFilesystem:
    """Check the filesystem on `device` before mounting: `command` if given, else the usual
    non-interactive check for `fstype`; a non-zero status that means "errors left" fails the step."""

    group: str
    op: int
    device: str
    fstype: str | None
    command: str | None


@dataclass(frozen=True, slots=True)
class MountFilesystem:
    """`mount [-t fstype] [-o options] device mount_point`; the mount point is created if missing
    (and never removed)."""

    group: str
    op: int
    device: str
    mount_point: str
    fstype: str | None
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UnmountFilesystem:
    """A plain `umount mount_point`: never forced, never lazy. Busy is a failure the core escalates."""

    group: str
    op: int
    mount_point: str


@dataclass(frozen=True, slots=True)
class KillHolders:
    """Send `signal` to every process holding a file on `mount_point` (`fuser -k -M -m`)."""

    group: str
    op: int
    mount_point: str
    signal: HolderSignal


@dataclass(frozen=True, slots=True)
class StartService:
    group: str
    op: int
    service: ServiceSpec


@dataclass(frozen=True, slots=True)
class StopService:
    group: str
    op: int
    service: ServiceSpec


@dataclass(frozen=True, slots=True)
class AddVip:
    """Add the group's VIPs and send the gratuitous ARPs: what VRRP's `AddVips`/`SendGarps` for this
    instance would have done. The shell holds those two effects of a grouped instance and carries
    them out here instead, so the VIP appears only once the service is up; later GARP refreshes of
    the VRRP core pass through only while the group is started. `vips` empty: all of the instance's."""

    group: str
    op: int
    instance: str
    vips: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RemoveVip:
    group: str
    op: int
    instance: str
    vips: tuple[str, ...]


StepEffect = (
    PromoteVolume
    | DemoteVolume
    | AttachDevice
    | DetachDevice
    | CheckFilesystem
    | MountFilesystem
    | UnmountFilesystem
    | KillHolders
    | StartService
    | StopService
    | AddVip
    | RemoveVip
)


def start_plan(settings: GroupSettings) -> tuple[Step, ...]:
    """The configured forward steps, in order."""
    steps = [Step.PROMOTE, Step.ATTACH]
    if settings.fsck:
        steps.append(Step.FSCK)
    if settings.mount_point is not None:
        steps.append(Step.MOUNT)
    if settings.service is not None:
        steps.append(Step.START_SERVICE)
    steps.append(Step.ADD_VIP)
    return tuple(steps)


def undo_plan(done: Sequence[Step]) -> tuple[Step, ...]:
    """The undo of `done` (forward steps in the order they ran), last first."""
    return tuple(undo for step in reversed(done) if (undo := UNDO.get(step)) is not None)


def stop_plan(settings: GroupSettings) -> tuple[Step, ...]:
    """Everything a started group holds, released in reverse order."""
    return undo_plan(start_plan(settings))


def timeout_for(step: Step, timeouts: StepTimeouts) -> int:
    match step:
        case Step.PROMOTE:
            return timeouts.promote
        case Step.ATTACH:
            return timeouts.attach
        case Step.FSCK:
            return timeouts.fsck
        case Step.MOUNT:
            return timeouts.mount
        case Step.START_SERVICE:
            return timeouts.start_service
        case Step.ADD_VIP:
            return timeouts.add_vip
        case Step.REMOVE_VIP:
            return timeouts.remove_vip
        case Step.STOP_SERVICE:
            return timeouts.stop_service
        case Step.UNMOUNT:
            return timeouts.unmount
        case Step.KILL_HOLDERS:
            return timeouts.kill_holders
        case Step.DETACH:
            return timeouts.detach
        case Step.DEMOTE:
            return timeouts.demote
        case _:
            assert_never(step)


def step_effect(
    step: Step, settings: GroupSettings, op: int, signal: HolderSignal = HolderSignal.TERM
) -> StepEffect:
    """The effect that asks the shell to carry out `step` for the group in `settings`."""
    s, g = settings, settings.name
    match step:
        case Step.PROMOTE:
            return PromoteVolume(g, op, s.resource)
        case Step.DEMOTE:
            return DemoteVolume(g, op, s.resource)
        case Step.ATTACH:
            return AttachDevice(g, op, s.resource, s.device)
        case Step.DETACH:
            return DetachDevice(g, op, s.resource, s.device)
        case Step.FSCK:
            return CheckFilesystem(g, op, s.device, s.fstype, s.fsck_command)
        case Step.MOUNT:
            return MountFilesystem(g, op, s.device, _mount_point(s), s.fstype, s.mount_options)
        case Step.UNMOUNT:
            return UnmountFilesystem(g, op, _mount_point(s))
        case Step.KILL_HOLDERS:
            return KillHolders(g, op, _mount_point(s), signal)
        case Step.START_SERVICE:
            return StartService(g, op, _service(s))
        case Step.STOP_SERVICE:
            return StopService(g, op, _service(s))
        case Step.ADD_VIP:
            return AddVip(g, op, s.instance, s.vips)
        case Step.REMOVE_VIP:
            return RemoveVip(g, op, s.instance, s.vips)
        case _:
            assert_never(step)


def _mount_point(settings: GroupSettings) -> str:
    if settings.mount_point is None:
        raise ValueError(f"group {settings.name} has no mount point")
    return settings.mount_point


def _service(settings: GroupSettings) -> ServiceSpec:
    if settings.service is None:
        raise ValueError(f"group {settings.name} has no service")
    return settings.service
