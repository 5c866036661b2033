"""The typed result of reading a keepalived.conf: frozen values with keepalived's defaults applied.

Every field is the value keepalived 2.2.7 would run with after reading and completing the
configuration (vrrp.c `vrrp_complete_instance`), so a consumer never re-implements a default. The
comment on each field names its keyword and its default. Times keep keepalived's units: `_us` is
microseconds, `_s` whole seconds.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from typing import Literal

from hapair.errors import SourceLocation

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

PREFERRED_LFT_FOREVER = 0xFFFFFFFF
VRRP_MCAST_GROUP4 = ipaddress.IPv4Address("224.0.0.18")
VRRP_MCAST_GROUP6 = ipaddress.IPv6Address("ff02::12")


class InitialState(enum.Enum):
    """`state MASTER|BACKUP`: the state an instance wants at start (keepalived's wantstate)."""

    MASTER = "MASTER"
    BACKUP = "BACKUP"


class AuthType(enum.Enum):
    """`auth_type`: VRRPv2 authentication (RFC 2338 types 1 and 2)."""

    PASS = "PASS"
    AH = "AH"


class AddressFamily(enum.Enum):
    """The family of an instance: from its first virtual address (IPv4 when it has none)."""

    IPV4 = 4
    IPV6 = 6


@dataclass(frozen=True, slots=True)
class NotifyScript:
    """A command keepalived runs: `notify_* "CMD ARGS" [USER [GROUP]]`, `script "CMD ARGS"`.

    `argv` is the command split as keepalived splits it (quotes and escapes, the first word the
    program). `user`/`group` None means the global `script_user` (then keepalived's default).
    """

    argv: tuple[str, ...]
    user: str | None = None
    group: str | None = None
    location: SourceLocation | None = None

    @property
    def command(self) -> str:
        return " ".join(self.argv)


@dataclass(frozen=True, slots=True)
class NotifyFifo:
    """`notify_fifo` / `vrrp_notify_fifo PATH [USER [GROUP]]`: a FIFO receiving state lines."""

    path: str
    user: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class GlobalDefs:
    """The `global_defs` settings hapair uses, each with keepalived's default."""

    router_id: str | None = None  # router_id; None = the local host name
    vrrp_version: int = 2  # vrrp_version 2|3: default `version` of instances (IPv6 is always 3)
    vrrp_garp_master_delay_s: int = 5  # second GARP batch after becoming master; 0 = none
    vrrp_garp_master_repeat: int = 5  # GARPs per VIP per batch (vrrp_min_garp: 1)
    vrrp_garp_master_refresh_s: int = 0  # periodic GARP while master; 0 = off
    vrrp_garp_master_refresh_repeat: int = 1  # GARPs per refresh (vrrp_min_garp: 0)
    vrrp_garp_lower_prio_delay_s: int = 5  # default: vrrp_garp_master_delay
    vrrp_garp_lower_prio_repeat: int = 5  # default: vrrp_garp_master_repeat
    vrrp_garp_interval_us: int = 0  # minimum gap between GARPs on one interface
    vrrp_gna_interval_us: int = 0  # minimum gap between unsolicited NAs on one interface
    vrrp_min_garp: bool = False  # one GARP, no second batch, no refresh (unless set explicitly)
    vrrp_lower_prio_no_advert: bool = False  # master does not answer a lower-priority advert
    vrrp_higher_prio_send_advert: bool = False  # master sends one advert before yielding
    vrrp_down_timer_adverts: int = 3  # adverts in the master down interval (1..100)
    vrrp_startup_delay_us: int = 0  # delay before instances start
    vrrp_check_unicast_src: bool = False  # drop unicast adverts not from a unicast_peer
    vrrp_skip_check_adv_addr: bool = False  # check advert addresses only when the master changes
    vrrp_strict: bool = False  # strict RFC compliance (default of strict_mode)
    vrrp_notify_priority_changes: bool = False
    vrrp_mcast_group4: ipaddress.IPv4Address = VRRP_MCAST_GROUP4
    vrrp_mcast_group6: ipaddress.IPv6Address = VRRP_MCAST_GROUP6
    script_user: str | None = None  # script_user USER [GROUP]; None = keepalived_script or root
    script_group: str | None = None
    enable_script_security: bool = False
    notify_fifo: NotifyFifo | None = None  # notify_fifo: every process's state changes
    notify_fifo_script: NotifyScript | None = None
    vrrp_notify_fifo: NotifyFifo | None = None  # vrrp_notify_fifo: VRRP state changes
    vrrp_notify_fifo_script: NotifyScript | None = None
    smtp_alert: bool | None = None  # None: not set (instances default to no alerts)
    smtp_alert_vrrp: bool | None = None
    notification_email: tuple[str, ...] = ()
    notification_email_from: str | None = None
    smtp_server: str | None = None


@dataclass(frozen=True, slots=True)
class VrrpScript:
    """`vrrp_script NAME { ... }`: a periodic check whose result feeds tracking instances."""

    name: str
    script: NotifyScript  # script "CMD ARGS" (only the first word group is the command)
    interval_s: int = 1  # interval N
    timeout_s: int = 1  # timeout N; default = interval
    weight: int = 0  # weight -253..253; 0 = failure means FAULT
    weight_reverse: bool = False  # weight W reverse
    rise: int = 1  # consecutive successes to become OK
    fall: int = 1  # consecutive failures to become KO
    user: str | None = None  # user USER [GROUP]; None = global script_user
    group: str | None = None
    init_fail: bool = False  # start in the failed state
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True)
class TrackedInterface:
    """An entry of `track_interface { IF [weight W [reverse]] }` (weight 0: down means FAULT)."""

    name: str
    weight: int = 0
    reverse: bool = False
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True)
class TrackedScript:
    """An entry of `track_script { NAME [weight W [reverse|noreverse]] }`.

    `weight` is resolved: the entry's own weight, else the vrrp_script's weight.
    """

    name: str
    weight: int = 0
    reverse: bool = False
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True)
class UnicastPeer:
    """An entry of `unicast_peer { ADDR [min_ttl N] [max_ttl N] }` (TTL range checked if set)."""

    address: IPAddress
    min_ttl: int = 0
    max_ttl: int = 255
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True)
class VirtualAddress:
    """A line of `virtual_ipaddress` / `virtual_ipaddress_excluded`, like `ip addr add` words.

    `address` carries the prefix (default /32 or /128). `device` None means the instance's
    interface. `scope` is a name (global, site, link, host, nowhere) or a number 0..255.
    """

    address: IPInterface
    device: str | None = None
    broadcast: ipaddress.IPv4Address | Literal["+", "-"] | None = None
    scope: str = "global"
    label: str | None = None
    peer: IPInterface | None = None
    home: bool = False
    no_dad: bool = False
    mngtmpaddr: bool = False
    noprefixroute: bool = False
    autojoin: bool = False
    no_track: bool = False
    use_vmac: bool = False
    preferred_lft: int | None = None  # None: kernel default; PREFERRED_LFT_FOREVER for "forever"
    location: SourceLocation | None = None

    @property
    def family(self) -> AddressFamily:
        return AddressFamily.IPV4 if self.address.version == 4 else AddressFamily.IPV6

    def describe(self, default_device: str | None = None) -> str:
        """keepalived's dump form, e.g. `10.0.0.5/24 dev eth1 scope global label eth1:vip`."""
        host_prefix = 32 if self.address.version == 4 else 128
        text = str(self.address.ip)
        if self.address.network.prefixlen != host_prefix:
            text += f"/{self.address.network.prefixlen}"
        device = self.device or default_device
        if self.broadcast is not None:
            text += f" brd {self.broadcast}"
        if device:
            text += f" dev {device}"
        text += f" scope {self.scope}"
        if self.label:
            text += f" label {self.label}"
        if self.peer is not None:
            text += f" peer {self.peer}"
        for flag, name in (
            (self.home, "home"),
            (self.no_dad, "-nodad"),
            (self.mngtmpaddr, "mngtmpaddr"),
            (self.noprefixroute, "noprefixroute"),
            (self.autojoin, "autojoin"),
            (self.no_track, "no_track"),
            (self.use_vmac, "use_vmac"),
        ):
            if flag:
                text += f" {name}"
        if self.preferred_lft is not None:
            lifetime = "forever" if self.preferred_lft == PREFERRED_LFT_FOREVER else str(self.preferred_lft)
            text += f" preferred_lft {lifetime}"
        return text


@dataclass(frozen=True, slots=True)
class Authentication:
    """`authentication { auth_type PASS|AH auth_pass P }` (VRRPv2 only; password <= 8 bytes)."""

    auth_type: AuthType
    password: bytes


@dataclass(frozen=True, slots=True)
class VrrpInstance:
    """`vrrp_instance NAME { ... }` after keepalived's completion rules.

    Derived rules applied here (keepalived vrrp.c vrrp_complete_instance): priority defaults to
    255 with `state MASTER` and no priority, else 100; state defaults to MASTER for priority 255,
    else BACKUP; `version` defaults to global vrrp_version (3 for IPv6); v2 intervals are rounded
    to whole seconds and v3 intervals to 10 ms (at most 40.95 s); authentication is dropped for
    version 3 and strict mode; nopreempt and preempt_delay are cleared for `state MASTER` and
    for priority 255; garp_* and *_advert settings default to their global counterparts. Members
    of a vrrp_sync_group start in BACKUP unless every member is a `state MASTER` address owner
    (measured with keepalived -d).
    """

    name: str
    virtual_router_id: int  # virtual_router_id 1..255 (required)
    interface: str  # interface IF (required: keepalived 2.2.7 refuses an instance without one)
    initial_state: InitialState  # state MASTER|BACKUP (sync groups: see below)
    priority: int  # priority 1..255 (the base priority; 255 = address owner)
    advert_int_us: int  # advert_int SECS (default 1 s), after the version's rounding
    version: int  # version 2|3 (default global vrrp_version; IPv6 always 3)
    family: AddressFamily
    nopreempt: bool = False  # nopreempt (preempt: the default, clears it)
    preempt_delay_us: int = 0  # preempt_delay SECS (0..1000)
    authentication: Authentication | None = None
    virtual_addresses: tuple[VirtualAddress, ...] = ()  # virtual_ipaddress (advertised)
    excluded_addresses: tuple[VirtualAddress, ...] = ()  # virtual_ipaddress_excluded
    source_ip: IPAddress | None = None  # unicast_src_ip / mcast_src_ip (same setting)
    unicast_peers: tuple[UnicastPeer, ...] = ()  # non-empty = unicast mode
    mcast_dst_ip: IPAddress | None = None  # default: global vrrp_mcast_group4/6
    unicast_ttl: int = 255  # unicast_ttl 0..255
    track_interfaces: tuple[TrackedInterface, ...] = ()
    track_scripts: tuple[TrackedScript, ...] = ()
    dont_track_primary: bool = False  # ignore faults of `interface` itself
    track_src_ip: bool = False  # FAULT when source_ip is missing (only with source_ip)
    notify_master: NotifyScript | None = None
    notify_backup: NotifyScript | None = None
    notify_fault: NotifyScript | None = None
    notify_stop: NotifyScript | None = None
    notify: NotifyScript | None = None  # generic: called with INSTANCE NAME STATE PRIORITY
    notify_master_rx_lower_pri: NotifyScript | None = None
    garp_master_delay_s: int = 5  # default vrrp_garp_master_delay
    garp_master_repeat: int = 5  # default vrrp_garp_master_repeat
    garp_master_refresh_s: int = 0  # default vrrp_garp_master_refresh
    garp_master_refresh_repeat: int = 1  # default vrrp_garp_master_refresh_repeat
    garp_lower_prio_delay_s: int = 5  # default vrrp_garp_lower_prio_delay (strict: 0)
    garp_lower_prio_repeat: int = 5  # default vrrp_garp_lower_prio_repeat (strict: 0)
    lower_prio_no_advert: bool = False  # default vrrp_lower_prio_no_advert (strict: True)
    higher_prio_send_advert: bool = False  # default vrrp_higher_prio_send_advert (strict: False)
    down_timer_adverts: int = 3  # default vrrp_down_timer_adverts
    accept: bool = True  # accept / no_accept; default: not strict_mode
    strict_mode: bool = False  # strict_mode [BOOL]; default vrrp_strict
    skip_check_adv_addr: bool = False  # default vrrp_skip_check_adv_addr
    check_unicast_src: bool = False  # default vrrp_check_unicast_src (or min/max_ttl given)
    smtp_alert: bool = False  # default smtp_alert_vrrp, then smtp_alert, then off
    notify_priority_changes: bool = False  # default vrrp_notify_priority_changes
    debug: int = 0  # debug 0..4 (keepalived: not implemented)
    sync_group: str | None = None  # the vrrp_sync_group this instance belongs to
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True)
class VrrpSyncGroup:
    """`vrrp_sync_group NAME { group { ... } ... }`: instances that change state together."""

    name: str
    members: tuple[str, ...]
    track_interfaces: tuple[TrackedInterface, ...] = ()
    track_scripts: tuple[TrackedScript, ...] = ()
    notify_master: NotifyScript | None = None
    notify_backup: NotifyScript | None = None
    notify_fault: NotifyScript | None = None
    notify_stop: NotifyScript | None = None
    notify: NotifyScript | None = None  # generic: called with GROUP NAME STATE 0
    smtp_alert: bool = False
    sync_group_tracking_weight: bool = False  # sync_group_tracking_weight / global_tracking
    notify_priority_changes: bool = False
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True)
class IgnoredKeyword:
    """A keepalived keyword accepted for compatibility that hapair does not act on."""

    keyword: str
    location: SourceLocation


@dataclass(frozen=True, slots=True)
class KeepalivedConfig:
    """Everything hapair reads from one keepalived.conf (and its includes)."""

    source: str
    global_defs: GlobalDefs
    scripts: tuple[VrrpScript, ...] = ()
    instances: tuple[VrrpInstance, ...] = ()
    sync_groups: tuple[VrrpSyncGroup, ...] = ()
    ignored: tuple[IgnoredKeyword, ...] = ()

    def instance(self, name: str) -> VrrpInstance:
        for instance in self.instances:
            if instance.name == name:
                return instance
        raise KeyError(name)

    def script(self, name: str) -> VrrpScript:
        for script in self.scripts:
            if script.name == name:
                return script
        raise KeyError(name)
