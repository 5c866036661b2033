"""Everything one VRRP instance needs, with keepalived 2.2.7's defaults, validated on construction.

Field names follow keepalived.conf keywords where one exists. All durations are integer nanoseconds
(`advert_int=1_000_000_000` is keepalived's `advert_int 1`); use `seconds()` to convert. This module
does not read keepalived.conf: `hapair.config.keepalived` parses it and the caller maps that model onto
these classes, applying keepalived's own corrections (rounding, truncation, clearing) with its warnings.
A value outside what keepalived accepts raises `SettingsError`, naming the instance and the field.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction
from ipaddress import IPv4Interface, IPv6Address, IPv6Interface

from hapair.core.vrrp.packet import AUTH_DATA_LEN, AuthType
from hapair.core.vrrp.timers import NS_PER_CS, NS_PER_S
from hapair.core.vrrp.wire import VRRP_MULTICAST_V4, VRRP_MULTICAST_V6, IPAddress
from hapair.errors import HapairError

MAX_TRACK_WEIGHT = 253


class SettingsError(HapairError):
    """A VRRP instance or script setting outside what keepalived accepts."""

    def __init__(self, owner: str, field_name: str, message: str) -> None:
        super().__init__(f"({owner}) {field_name}: {message}")
        self.owner = owner
        self.field_name = field_name
        self.message = message


def seconds(value: int | float | str | Fraction) -> int:
    """Nanoseconds in `value` seconds, exactly for decimal strings ("0.02") and ints."""
    return int(Fraction(value) * NS_PER_S)


class InitialState(enum.Enum):
    """keepalived's `state`: the state wanted at start (only an address owner starts as MASTER)."""

    BACKUP = "BACKUP"
    MASTER = "MASTER"


class OldUnicastChecksum(enum.Enum):
    """keepalived's `old_unicast_checksum [never]` for VRRPv3 unicast over IPv4.

    AUTO (keyword absent): send the standard form; switch to the old form (224.0.0.18 in the
    pseudo-header, keepalived <= 1.3.6) once a peer is seen using it. ALWAYS: keyword present.
    NEVER: `old_unicast_checksum never`.
    """

    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class VirtualIp:
    """One `virtual_ipaddress` line: address/prefix plus the options the VIP adapter needs."""

    address: IPv4Interface | IPv6Interface
    device: str | None = None
    label: str | None = None
    scope: str | None = None

    @property
    def ip(self) -> IPAddress:
        return self.address.ip

    @classmethod
    def of(cls, text: str, device: str | None = None, label: str | None = None) -> VirtualIp:
        """`VirtualIp.of("10.0.0.100/24")`; without a prefix the mask is /32 or /128 like keepalived."""
        address: IPv4Interface | IPv6Interface
        address = IPv6Interface(text) if ":" in text else IPv4Interface(text)
        return cls(address=address, device=device, label=label)


@dataclass(frozen=True, slots=True)
class UnicastPeer:
    """One `unicast_peer` entry; `min_ttl`/`max_ttl` bound the TTL accepted from it."""

    address: IPAddress
    min_ttl: int = 0
    max_ttl: int = 255


@dataclass(frozen=True, slots=True)
class TrackedInterface:
    """One `track_interface` line. weight 0: the instance is in FAULT while the interface is down."""

    name: str
    weight: int = 0
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class TrackedScript:
    """One `track_script` line with weight and reverse already resolved from the vrrp_script defaults."""

    name: str
    weight: int = 0
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class TrackedCondition:
    """A condition the host reports directly (input `ConditionChanged`), tracked like a script.

    hapair's own addition, shaped like `track_script`: the orchestrator reports volume health this
    way, so a node whose disk is not UpToDate cannot win the election. weight 0: the instance is in
    FAULT while the condition fails, and (as a weight-0 script without a result) while it has not
    been reported yet.
    """

    name: str
    weight: int = 0
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class VrrpScriptSettings:
    """A `vrrp_script` block. `timeout` None means the interval, as in keepalived."""

    name: str
    script: str
    interval: int = NS_PER_S
    timeout: int | None = None
    weight: int = 0
    reverse: bool = False
    rise: int = 1
    fall: int = 1
    init_fail: bool = False

    def __post_init__(self) -> None:
        owner = f"vrrp_script {self.name}"
        _require(bool(self.name), owner, "name", "must not be empty")
        _require(bool(self.script), owner, "script", "must not be empty")
        _require(self.interval > 0, owner, "interval", "must be greater than 0")
        _require(self.timeout is None or self.timeout > 0, owner, "timeout", "must be greater than 0")
        _require(abs(self.weight) <= MAX_TRACK_WEIGHT, owner, "weight", "must be between [-253..253]")
        _require(self.rise >= 1, owner, "rise", "must be at least 1")
        _require(self.fall >= 1, owner, "fall", "must be at least 1")

    @property
    def effective_timeout(self) -> int:
        return self.timeout if self.timeout is not None else self.interval


@dataclass(frozen=True, slots=True)
class InstanceSettings:
    """A `vrrp_instance` block, as the state machine uses it."""

    name: str
    virtual_router_id: int
    interface: str | None = None
    priority: int = 100
    state: InitialState = InitialState.BACKUP
    advert_int: int = NS_PER_S
    version: int = 2
    vips: tuple[VirtualIp, ...] = ()
    excluded_vips: tuple[VirtualIp, ...] = ()
    nopreempt: bool = False
    preempt_delay: int = 0
    garp_master_delay: int = 5 * NS_PER_S
    garp_master_repeat: int = 5
    garp_master_refresh: int = 0
    garp_master_refresh_repeat: int = 1
    garp_lower_prio_delay: int | None = None
    garp_lower_prio_repeat: int | None = None
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    down_timer_adverts: int = 3
    unicast_src_ip: IPAddress | None = None
    mcast_src_ip: IPAddress | None = None
    mcast_dst_ip: IPAddress | None = None
    unicast_peers: tuple[UnicastPeer, ...] = ()
    unicast_ttl: int = 255
    check_unicast_src: bool = False
    old_unicast_checksum: OldUnicastChecksum = OldUnicastChecksum.AUTO
    v3_checksum_as_v2: bool = False
    accept_v3_checksum_as_v2: bool = True
    skip_check_adv_addr: bool = False
    auth_type: AuthType = AuthType.NONE
    auth_pass: bytes = b""
    track_interfaces: tuple[TrackedInterface, ...] = ()
    track_scripts: tuple[TrackedScript, ...] = ()
    dont_track_primary: bool = False
    notify_master: str | None = None
    notify_backup: str | None = None
    notify_fault: str | None = None
    notify_stop: str | None = None
    notify: str | None = None
    notify_master_rx_lower_pri: str | None = None
    track_conditions: tuple[TrackedCondition, ...] = ()

    def __post_init__(self) -> None:
        # Accept the plain values of the enums (1, "MASTER", "never") as well as their members.
        for name, kind in (
            ("auth_type", AuthType),
            ("state", InitialState),
            ("old_unicast_checksum", OldUnicastChecksum),
        ):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, kind(value))
            except ValueError:
                raise SettingsError(self.name or "?", name, f"unknown value {value!r}") from None
        _validate_instance(self)

    @property
    def ipv6(self) -> bool:
        """True for an IPv6 instance (VIPs, or failing those the configured addresses, are IPv6)."""
        candidates: list[IPAddress] = [v.ip for v in self.vips]
        candidates += [a for a in (self.unicast_src_ip, self.mcast_src_ip) if a is not None]
        candidates += [p.address for p in self.unicast_peers]
        return bool(candidates) and isinstance(candidates[0], IPv6Address)

    @property
    def advert_int_cs(self) -> int:
        return self.advert_int // NS_PER_CS

    @property
    def wire_adver_int(self) -> int:
        """The interval as the advert carries it: seconds for VRRPv2, centiseconds for VRRPv3."""
        return self.advert_int_cs // 100 if self.version == 2 else self.advert_int_cs

    @property
    def unicast(self) -> bool:
        return bool(self.unicast_peers)

    @property
    def configured_source(self) -> IPAddress | None:
        """unicast_src_ip / mcast_src_ip: the advert source and the local address in tie-breaks."""
        return self.unicast_src_ip if self.unicast_src_ip is not None else self.mcast_src_ip

    @property
    def multicast_group(self) -> IPAddress:
        if self.mcast_dst_ip is not None:
            return self.mcast_dst_ip
        return VRRP_MULTICAST_V6 if self.ipv6 else VRRP_MULTICAST_V4

    @property
    def lower_prio_delay(self) -> int:
        return self.garp_master_delay if self.garp_lower_prio_delay is None else self.garp_lower_prio_delay

    @property
    def lower_prio_repeat(self) -> int:
        return self.garp_master_repeat if self.garp_lower_prio_repeat is None else self.garp_lower_prio_repeat

    @property
    def is_address_owner(self) -> bool:
        return self.priority == 255

    @property
    def auth_data(self) -> bytes:
        """The 8 authentication bytes of a VRRPv2 advert: the password NUL-padded, or zeros."""
        if self.auth_type is AuthType.PASS:
            return self.auth_pass.ljust(AUTH_DATA_LEN, b"\0")
        return bytes(AUTH_DATA_LEN)

    def all_vips(self) -> tuple[VirtualIp, ...]:
        return self.vips + self.excluded_vips


def _require(condition: bool, owner: str, field_name: str, message: str) -> None:
    if not condition:
        raise SettingsError(owner, field_name, message)


def _validate_instance(s: InstanceSettings) -> None:
    name = s.name
    _require(bool(name), "?", "name", "an instance needs a name")
    _require(1 <= s.virtual_router_id <= 255, name, "virtual_router_id", "must be between 1 & 255")
    _require(1 <= s.priority <= 255, name, "priority", "must be between 1 & 255")
    _require(s.version in (2, 3), name, "version", "must be either 2 or 3")
    _require(not (s.ipv6 and s.version == 2), name, "version", "cannot use IPv6 with VRRP version 2")
    _require(s.advert_int > 0, name, "advert_int", "must be > 0")
    if s.version == 2:
        _require(s.advert_int % NS_PER_S == 0, name, "advert_int", "VRRPv2 interval must be whole seconds")
        _require(s.advert_int <= 255 * NS_PER_S, name, "advert_int", "VRRPv2 interval must be at most 255s")
    else:
        _require(
            s.advert_int % NS_PER_CS == 0, name, "advert_int", "VRRPv3 interval must be in units of 10ms"
        )
        _require(s.advert_int_cs <= 4095, name, "advert_int", "VRRPv3 interval must be less than 40.96s")
    _check_family(s)
    _require(1 <= s.down_timer_adverts <= 100, name, "down_timer_adverts", "must be in [1:100]")
    _require(s.preempt_delay >= 0, name, "preempt_delay", "must not be negative")
    _require(s.garp_master_delay >= 0, name, "garp_master_delay", "must not be negative")
    _require(s.garp_master_repeat >= 1, name, "garp_master_repeat", "must be greater than 0")
    _require(s.garp_master_refresh >= 0, name, "garp_master_refresh", "must not be negative")
    _require(s.garp_master_refresh_repeat >= 1, name, "garp_master_refresh_repeat", "must be greater than 0")
    _require(s.lower_prio_delay >= 0, name, "garp_lower_prio_delay", "must not be negative")
    _require(s.lower_prio_repeat >= 0, name, "garp_lower_prio_repeat", "must not be negative")
    _require(0 <= s.unicast_ttl <= 255, name, "unicast_ttl", "must be between 0 & 255")
    for peer in s.unicast_peers:
        _require(
            0 <= peer.min_ttl <= peer.max_ttl <= 255,
            name,
            "unicast_peer",
            f"bad TTL range for {peer.address}",
        )
    _check_auth(s)
    tracked: tuple[tuple[str, tuple[TrackedInterface | TrackedScript | TrackedCondition, ...]], ...] = (
        ("track_interface", s.track_interfaces),
        ("track_script", s.track_scripts),
        ("track_condition", s.track_conditions),
    )
    for group, items in tracked:
        names = [t.name for t in items]
        _require(all(names), name, group, "names must not be empty")
        _require(len(set(names)) == len(names), name, group, "duplicate entries")
        for t in items:
            _require(
                abs(t.weight) <= MAX_TRACK_WEIGHT, name, group, f"weight for {t.name} must be in [-253..253]"
            )
    _require(
        s.interface is not None or (s.unicast and s.unicast_src_ip is not None),
        name,
        "interface",
        "Unicast instances must have unicast_src_ip or interface",
    )


def _check_family(s: InstanceSettings) -> None:
    ipv6 = s.ipv6
    addresses: list[tuple[str, IPAddress]] = [("virtual_ipaddress", v.ip) for v in s.vips]
    addresses += [("unicast_peer", p.address) for p in s.unicast_peers]
    for label, value in (("unicast_src_ip", s.unicast_src_ip), ("mcast_src_ip", s.mcast_src_ip)):
        if value is not None:
            addresses.append((label, value))
    if s.mcast_dst_ip is not None:
        addresses.append(("mcast_dst_ip", s.mcast_dst_ip))
        _require(s.mcast_dst_ip.is_multicast, s.name, "mcast_dst_ip", f"{s.mcast_dst_ip} is not multicast")
    for label, address in addresses:
        _require(
            isinstance(address, IPv6Address) == ipv6,
            s.name,
            label,
            f"{address} must match the instance's address family (IPv{6 if ipv6 else 4})",
        )
    _require(len(s.vips) <= 255, s.name, "virtual_ipaddress", "at most 255 addresses fit in an advert")


def _check_auth(s: InstanceSettings) -> None:
    if s.auth_type is AuthType.NONE:
        return
    _require(s.auth_type is AuthType.PASS, s.name, "auth_type", "AH authentication is not supported")
    _require(s.version == 2, s.name, "auth_type", "VRRP version 3 does not support authentication")
    _require(bool(s.auth_pass), s.name, "auth_pass", "Authentication specified but no password given")
    _require(len(s.auth_pass) <= AUTH_DATA_LEN, s.name, "auth_pass", "at most 8 characters are used")


__all__ = [
    "InitialState",
    "InstanceSettings",
    "OldUnicastChecksum",
    "SettingsError",
    "TrackedCondition",
    "TrackedInterface",
    "TrackedScript",
    "UnicastPeer",
    "VirtualIp",
    "VrrpScriptSettings",
    "seconds",
]
