"""hapair.toml as a model: what hapair itself needs beyond keepalived.conf and the DRBD files.

A `HapairConfig` names this node, where the keepalived and DRBD configuration is (or carries it
natively, rendered to those grammars), the witness, and the resource groups. Durations are integer
nanoseconds (the file says seconds). Every part keeps the place it was written, for FILE:LINE
messages; `HapairConfig.where(path)` finds the line of any key.
"""

from __future__ import annotations

from dataclasses import dataclass

from hapair.config.hapair_toml.lines import Path, TomlLineMap
from hapair.core.orchestrator.settings import (
    DEFAULT_TIMEOUTS,
    DEFAULT_UNMOUNT,
    QuorumLossPolicy,
    ServiceSpec,
    StepTimeouts,
    UnmountPolicy,
)
from hapair.core.witness import DEFAULT_WITNESS_PORT, LeaseTerms
from hapair.core.witness.client import DEFAULT_RETRY_NS, DEFAULT_STANDBY_DELAY_NS
from hapair.core.witness.lease import DEFAULT_DRIFT_PPM, DEFAULT_LEASE_NS, DEFAULT_MARGIN_NS
from hapair.errors import SourceLocation

DEFAULT_CONFIG_PATH = "/etc/hapair/hapair.toml"
DEFAULT_PROMOTION_WAIT_NS = 30_000_000_000
DEFAULT_RETRY_AFTER_FAILURE_NS = 60_000_000_000
DEFAULT_QUORUM_LOSS_GRACE_NS = 500_000_000
CLUSTER_FILESYSTEMS = frozenset({"gfs2", "ocfs2"})


@dataclass(frozen=True, slots=True)
class WitnessConfig:
    """`[witness]`: the third vote. The secret is given inline or in a file the daemon reads."""

    address: str
    port: int = DEFAULT_WITNESS_PORT
    secret: bytes | None = None
    secret_file: str | None = None
    lease_ns: int = DEFAULT_LEASE_NS
    drift_ppm: int = DEFAULT_DRIFT_PPM
    margin_ns: int = DEFAULT_MARGIN_NS
    standby_delay_ns: int = DEFAULT_STANDBY_DELAY_NS
    retry_ns: int = DEFAULT_RETRY_NS

    def terms(self) -> LeaseTerms:
        return LeaseTerms(lease_ns=self.lease_ns, drift_ppm=self.drift_ppm, margin_ns=self.margin_ns)


@dataclass(frozen=True, slots=True)
class NotifyHooks:
    """`[group.notify]`: commands run after the built-in steps of a transition, with keepalived's
    arguments (`generic` is keepalived's `notify`: INSTANCE NAME STATE PRIORITY)."""

    master: str | None = None
    backup: str | None = None
    fault: str | None = None
    stop: str | None = None
    generic: str | None = None


NO_HOOKS = NotifyHooks()


@dataclass(frozen=True, slots=True)
class GroupConfig:
    """One `[[group]]`. `device` None: the resource's (only) device on this node."""

    index: int
    name: str
    vrrp_instance: str
    resource: str
    device: str | None = None
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
    promotion_wait_ns: int = DEFAULT_PROMOTION_WAIT_NS
    retry_after_failure_ns: int = DEFAULT_RETRY_AFTER_FAILURE_NS
    quorum_loss_grace_ns: int = DEFAULT_QUORUM_LOSS_GRACE_NS
    notify: NotifyHooks = NO_HOOKS
    keepalived_notify: bool = True

    @property
    def path(self) -> Path:
        return ("group", self.index)


@dataclass(frozen=True, slots=True)
class NativeText:
    """keepalived.conf or DRBD text rendered from native TOML tables, with the TOML line each
    rendered line came from (index 0 is rendered line 1)."""

    text: str
    toml_lines: tuple[int, ...]

    def toml_line(self, rendered_line: int) -> int:
        if 1 <= rendered_line <= len(self.toml_lines):
            return self.toml_lines[rendered_line - 1]
        return self.toml_lines[-1] if self.toml_lines else 1


@dataclass(frozen=True, slots=True)
class HapairConfig:
    path: str
    node: str | None
    keepalived: str | None
    drbd: tuple[str, ...]
    native_keepalived: NativeText | None
    native_drbd: NativeText | None
    witness: WitnessConfig | None
    groups: tuple[GroupConfig, ...]
    lines: TomlLineMap

    def where(self, path: Path) -> SourceLocation:
        return SourceLocation(self.path, self.lines.line_of(path))
