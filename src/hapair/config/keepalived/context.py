"""Mutable state of one configuration read: the builders keyword handlers fill in.

keepalived's handlers write into the "current" object (the last vrrp_instance, vrrp_script or
sync group declared). hapair does the same with builders, which `completion` turns into the frozen
model once everything has been read. A builder field left at None means "not configured", so the
completion step can apply keepalived's default (often a global setting read later in the file).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from hapair.config.keepalived.blocks import BlockWalker
from hapair.config.keepalived.diagnostics import Diagnostics
from hapair.config.keepalived.linereader import ConfigLine
from hapair.config.keepalived.model import (
    VRRP_MCAST_GROUP4,
    VRRP_MCAST_GROUP6,
    AddressFamily,
    AuthType,
    IgnoredKeyword,
    InitialState,
    IPAddress,
    NotifyFifo,
    NotifyScript,
    TrackedInterface,
    TrackedScript,
    UnicastPeer,
    VirtualAddress,
    VrrpScript,
)
from hapair.config.keepalived.numbers import NumberResult
from hapair.errors import SourceLocation

IFNAMSIZ = 16


@dataclass(slots=True)
class GlobalBuilder:
    router_id: str | None = None
    vrrp_version: int = 2
    garp_master_delay_s: int | None = None
    garp_master_repeat: int | None = None
    garp_master_refresh_s: int | None = None
    garp_master_refresh_repeat: int | None = None
    garp_lower_prio_delay_s: int | None = None
    garp_lower_prio_repeat: int | None = None
    garp_interval_us: int = 0
    gna_interval_us: int = 0
    min_garp: bool = False
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    down_timer_adverts: int = 3
    startup_delay_us: int = 0
    check_unicast_src: bool = False
    skip_check_adv_addr: bool = False
    strict: bool = False
    notify_priority_changes: bool = False
    mcast_group4: ipaddress.IPv4Address = VRRP_MCAST_GROUP4
    mcast_group6: ipaddress.IPv6Address = VRRP_MCAST_GROUP6
    script_user: str | None = None
    script_group: str | None = None
    enable_script_security: bool = False
    notify_fifo: NotifyFifo | None = None
    notify_fifo_script: NotifyScript | None = None
    vrrp_notify_fifo: NotifyFifo | None = None
    vrrp_notify_fifo_script: NotifyScript | None = None
    smtp_alert: bool | None = None
    smtp_alert_vrrp: bool | None = None
    notification_email: list[str] = field(default_factory=list)
    notification_email_from: str | None = None
    smtp_server: str | None = None


@dataclass(slots=True)
class InstanceBuilder:
    name: str
    location: SourceLocation
    wantstate: InitialState | None = None
    interface: str | None = None
    vrid: int = 0
    priority: int = 0
    advert_int_us: int = 0
    version: int | None = None
    family: AddressFamily | None = None
    nopreempt: bool = False
    preempt_delay_us: int = 0
    auth_type: AuthType | None = None
    auth_password: bytes = b""
    vips: list[VirtualAddress] = field(default_factory=list)
    evips: list[VirtualAddress] = field(default_factory=list)
    source_ip: IPAddress | None = None
    unicast_requested: bool = False
    unicast_fault_no_peer: bool = False
    peers: list[UnicastPeer] = field(default_factory=list)
    mcast_dst_ip: IPAddress | None = None
    unicast_ttl: int | None = None
    track_interfaces: list[TrackedInterface] = field(default_factory=list)
    track_scripts: list[TrackedScript] = field(default_factory=list)
    notifies: dict[str, NotifyScript] = field(default_factory=dict)
    garp_master_delay_s: int | None = None
    garp_master_repeat: int | None = None
    garp_master_refresh_s: int | None = None
    garp_master_refresh_repeat: int | None = None
    garp_lower_prio_delay_s: int | None = None
    garp_lower_prio_repeat: int | None = None
    lower_prio_no_advert: bool | None = None
    higher_prio_send_advert: bool | None = None
    down_timer_adverts: int | None = None
    accept: bool | None = None
    strict_mode: bool | None = None
    skip_check_adv_addr: bool | None = None
    check_unicast_src: bool = False
    track_src_ip: bool = False
    dont_track_primary: bool = False
    debug: int = 0
    smtp_alert: bool | None = None
    notify_priority_changes: bool | None = None
    discard: bool = False  # set for a builder that only absorbs a refused block's lines


@dataclass(slots=True)
class ScriptBuilder:
    name: str
    location: SourceLocation
    argv: tuple[str, ...] = ()
    script_location: SourceLocation | None = None
    interval_s: int = 1
    timeout_s: int | None = None
    weight: int = 0
    weight_reverse: bool = False
    rise: int = 1
    fall: int = 1
    user: str | None = None
    group: str | None = None
    init_fail: bool = False


@dataclass(slots=True)
class SyncGroupBuilder:
    name: str
    location: SourceLocation
    members: list[tuple[str, ConfigLine]] | None = None
    track_interfaces: list[TrackedInterface] = field(default_factory=list)
    track_scripts: list[TrackedScript] = field(default_factory=list)
    notifies: dict[str, NotifyScript] = field(default_factory=dict)
    smtp_alert: bool | None = None
    tracking_weight: bool = False
    notify_priority_changes: bool | None = None


@dataclass(slots=True)
class ParseOptions:
    """What the pure parser cannot find out by itself; all optional."""

    config_id: str | None = None
    known_interfaces: frozenset[str] | None = None  # None: interface names are not checked
    loopback_interfaces: frozenset[str] = frozenset({"lo"})
    random_int: Callable[[int, int], int] | None = None  # for ${_RANDOM}; None: the minimum
    working_directory: str = ""  # for ${_PWD} when the path is relative
    script_check: Callable[[str], bool] | None = None  # is this program runnable? None: not checked


@dataclass(slots=True)
class ParseContext:
    issues: Diagnostics
    walker: BlockWalker
    options: ParseOptions
    global_defs: GlobalBuilder = field(default_factory=GlobalBuilder)
    instances: list[InstanceBuilder] = field(default_factory=list)
    scripts: list[VrrpScript] = field(default_factory=list)
    script_builders: list[ScriptBuilder] = field(default_factory=list)
    sync_groups: list[SyncGroupBuilder] = field(default_factory=list)
    ignored: list[IgnoredKeyword] = field(default_factory=list)
    missing_interface_seen: bool = False

    def reporter(self, line: ConfigLine) -> Callable[[str], None]:
        """A callback reporting number-reader messages as errors at `line`."""
        return lambda message: self.issues.error(message, line.location)

    def ignore(self, line: ConfigLine) -> None:
        """Record a keepalived keyword that hapair accepts without acting on it."""
        self.ignored.append(IgnoredKeyword(line.words[0], line.location))
        self.issues.note(
            f"'{line.words[0]}' is accepted for compatibility but not used by hapair", line.location
        )

    def interface_missing(self, name: str) -> bool:
        """True when a list of known interfaces was given and `name` is not in it."""
        known = self.options.known_interfaces
        if known is None or name in known:
            return False
        self.missing_interface_seen = True
        return True

    def is_loopback(self, name: str) -> bool:
        return self.options.known_interfaces is not None and name in self.options.loopback_interfaces


def number_or_default(result: NumberResult, default: int) -> int:
    return result.value if result.ok else default
