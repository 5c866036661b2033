"""What one resource group is made of and how patient it is: the core's own, validated settings.

`hapair.config.hapair_toml` fills these from hapair.toml (plus keepalived.conf and the `.res`
files); durations are integer nanoseconds. A group binds one VRRP instance to one volume resource
and stacks on it, in order: the block device, an optional filesystem check, the mount, the service
and the VIPs.
"""

from __future__ import annotations

import enum
import posixpath
from dataclasses import dataclass

from hapair.errors import HapairError

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
APART_WEIGHT = -253  # keepalived's largest weight: priority drops to 1


class GroupSettingsError(HapairError):
    """A group setting the orchestrator cannot work with; names the group and the field."""

    def __init__(self, group: str, field_name: str, message: str) -> None:
        super().__init__(f"group {group}: {field_name}: {message}")
        self.group = group
        self.field_name = field_name
        self.message = message


class QuorumLossPolicy(enum.Enum):
    """What a Primary that lost both its peer and the witness's vote does with I/O (DRBD's
    `on-no-quorum`): hold it until quorum returns, or fail it at once with EIO."""

    SUSPEND = "suspend"
    ERROR = "error"


class FencingPolicy(enum.Enum):
    """DRBD's `fencing` for the resource; decides what a Primary does on losing its peer when no
    witness is configured (dont-care and resource-only: keep writing; resource-and-stonith: freeze)."""

    DONT_CARE = "dont-care"
    RESOURCE_ONLY = "resource-only"
    RESOURCE_AND_STONITH = "resource-and-stonith"


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """The service of a group: a systemd `unit`, or `start`/`stop` commands with an optional `check`
    (the start step succeeds once `check` exits 0; without it, once `start` exits 0)."""

    unit: str | None = None
    start: str | None = None
    stop: str | None = None
    check: str | None = None

    def describe(self) -> str:
        return f"unit {self.unit}" if self.unit else f"command {self.start!r}"


@dataclass(frozen=True, slots=True)
class StepTimeouts:
    """How long each step may take before it counts as failed (ns)."""

    promote: int = 10 * NS_PER_S
    attach: int = 15 * NS_PER_S
    fsck: int = 300 * NS_PER_S
    mount: int = 60 * NS_PER_S
    start_service: int = 60 * NS_PER_S
    add_vip: int = 5 * NS_PER_S
    remove_vip: int = 5 * NS_PER_S
    stop_service: int = 60 * NS_PER_S
    unmount: int = 30 * NS_PER_S
    kill_holders: int = 10 * NS_PER_S
    detach: int = 15 * NS_PER_S
    demote: int = 10 * NS_PER_S


@dataclass(frozen=True, slots=True)
class UnmountPolicy:
    """A busy unmount is retried every `retry_ns`; `kill_after_ns` after the first attempt the
    holders get SIGTERM, `kill_wait_ns` later SIGKILL, and `kill_wait_ns` after that the node gives
    up and fences itself. Never `umount -f`, never `umount -l`."""

    retry_ns: int = 250 * NS_PER_MS
    kill_after_ns: int = 5 * NS_PER_S
    kill_wait_ns: int = 3 * NS_PER_S


DEFAULT_TIMEOUTS = StepTimeouts()
DEFAULT_UNMOUNT = UnmountPolicy()


@dataclass(frozen=True, slots=True)
class GroupSettings:
    """One resource group. `vips` are addresses of the VRRP instance (empty: all of them).

    `promotion_wait_ns`: how long a VRRP master waits for the promotion gate before it gives up
    (Failed). `retry_after_failure_ns`: how long a Failed group keeps its VRRP instance in FAULT.
    `quorum_loss_grace_ns`: how long a Primary may hold its writes for want of quorum before it
    steps out of VRRP too (so that a stale, suspended Primary cannot take the VIP back when a
    partition heals); shorter than that, a lost vote renewal or a brief link cut does not move the
    service. Keep it below the time the peer needs to take over (VRRP's master-down interval plus
    the witness client's standby delay: 0.3 s + skew + 0.3 s with 0.1 s adverts and the defaults).
    """

    name: str
    instance: str
    resource: str
    device: str
    vips: tuple[str, ...] = ()
    fstype: str | None = None
    fsck: bool = False
    fsck_command: str | None = None
    mount_point: str | None = None
    mount_options: tuple[str, ...] = ()
    service: ServiceSpec | None = None
    timeouts: StepTimeouts = DEFAULT_TIMEOUTS
    unmount: UnmountPolicy = DEFAULT_UNMOUNT
    on_quorum_loss: QuorumLossPolicy = QuorumLossPolicy.SUSPEND
    fencing: FencingPolicy = FencingPolicy.DONT_CARE
    witness: bool = False
    promotion_wait_ns: int = 30 * NS_PER_S
    retry_after_failure_ns: int = 60 * NS_PER_S
    quorum_loss_grace_ns: int = 500 * NS_PER_MS

    def __post_init__(self) -> None:
        _require(self, bool(self.name), "name", "a group needs a name")
        for field_name in ("instance", "resource", "device"):
            _require(self, bool(getattr(self, field_name)), field_name, "must not be empty")
        _require(self, self.device.startswith("/"), "device", f"{self.device!r} is not an absolute path")
        if self.mount_point is not None:
            _require(
                self,
                self.mount_point.startswith("/") and posixpath.normpath(self.mount_point) != "/",
                "mount_point",
                f"{self.mount_point!r} must be an absolute path other than /",
            )
        _require(
            self,
            not self.fsck or self.fstype is not None or self.fsck_command is not None,
            "fsck",
            "a filesystem check needs fstype or fsck_command",
        )
        _require(
            self, not self.mount_options or self.mount_point is not None, "mount_options", "no mount_point"
        )
        if self.service is not None:
            s = self.service
            _require(
                self,
                (s.unit is not None) != (s.start is not None),
                "service",
                "give a systemd unit or start/stop commands, not both",
            )
            _require(self, s.unit is not None or s.stop is not None, "service", "start needs a stop command")
            _require(self, s.unit is None or s.check is None, "service", "check is for commands, not units")
        for field_name in StepTimeouts.__dataclass_fields__:
            value = getattr(self.timeouts, field_name)
            _require(self, value > 0, f"timeouts.{field_name}", "must be positive")
        u = self.unmount
        _require(self, u.retry_ns > 0 and u.kill_after_ns >= 0 and u.kill_wait_ns > 0, "unmount", "bad times")
        _require(self, self.promotion_wait_ns > 0, "promotion_wait", "must be positive")
        _require(self, self.retry_after_failure_ns >= 0, "retry_after_failure", "must not be negative")
        _require(self, self.quorum_loss_grace_ns >= 0, "quorum_loss_grace", "must not be negative")

    @property
    def condition(self) -> str:
        """The VRRP tracked condition (weight 0) through which this group reports its health."""
        return f"hapair-{self.name}"

    @property
    def apart_condition(self) -> str:
        """The VRRP tracked condition (weight `APART_WEIGHT`) that fails while this node is a
        Secondary cut off from its peer: its data may be stale, so its priority drops to 1 and it
        yields to a master that is Primary (or connected) when a partition heals."""
        return f"hapair-{self.name}-apart"

    def vrrp_conditions(self) -> tuple[tuple[str, int], ...]:
        """(name, weight) of the conditions the group's VRRP instance must track."""
        return ((self.condition, 0), (self.apart_condition, APART_WEIGHT))


def _require(settings: GroupSettings, ok: bool, field_name: str, message: str) -> None:
    if not ok:
        raise GroupSettingsError(settings.name or "?", field_name, message)
