"""`vrrp_instance NAME { ... }`: the keyword handlers (keepalived vrrp/vrrp_parser.c).

Handlers write into the current `InstanceBuilder` and report problems in keepalived's words; the
defaults and cross-field rules are applied afterwards by `completion`. Keywords keepalived knows
but hapair does not act on (VMAC, ipvlan, routes, rules, track_file, ...) are accepted and noted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from hapair.config.keepalived.addresses import parse_ip, parse_unicast_peer, parse_virtual_address
from hapair.config.keepalived.blocks import Keyword
from hapair.config.keepalived.context import IFNAMSIZ, InstanceBuilder, ParseContext
from hapair.config.keepalived.linereader import ConfigLine
from hapair.config.keepalived.model import AddressFamily, AuthType, InitialState
from hapair.config.keepalived.numbers import (
    INT_MAX,
    TIMER_HZ,
    UINT_MAX,
    check_true_false,
    read_decimal,
    read_int,
    read_unsigned,
)
from hapair.config.keepalived.scripting import parse_command, track_interface_entry, track_script_entry

TIMER_MAX_SEC = 1000
AUTH_PASS_MAX = 8
NOTIFY_KEYWORDS = (
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify",
    "notify_master_rx_lower_pri",
)
IGNORED_FLAGS = (
    "use_vmac",
    "use_vmac_addr",
    "vmac_xmit_base",
    "use_ipvlan",
    "vrf",
    "old_unicast_checksum",
    "promote_secondaries",
    "kernel_rx_buf_size",
    "linkbeat_use_polling",
    "garp_extra_if",
    "vmac_garp_intvl",
    "notify_deleted",
)
IGNORED_BLOCKS = ("track_file", "track_process", "track_bfd", "virtual_routes", "virtual_rules")

Handler = Callable[[ParseContext, InstanceBuilder, ConfigLine, str], None]


def _family_of(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> AddressFamily:
    return AddressFamily.IPV4 if address.version == 4 else AddressFamily.IPV6


def _on_instance(ctx: ParseContext, line: ConfigLine) -> None:
    if len(line.words) != 2:
        ctx.issues.error("vrrp_instance must have a name", line.location)
        ctx.walker.skip_block()
        _absorb_refused_block(ctx, line)
        return
    name = line.words[1]
    if any(b.name == name and not b.discard for b in ctx.instances):
        ctx.issues.error(f"vrrp instance {name} already defined", line.location)
        ctx.walker.skip_block()
        _absorb_refused_block(ctx, line)
        return
    ctx.instances.append(InstanceBuilder(name, line.location))


def _absorb_refused_block(ctx: ParseContext, line: ConfigLine) -> None:
    """keepalived applies a refused block's keywords to the previous instance, if any."""
    if not ctx.instances:
        ctx.instances.append(InstanceBuilder("", line.location, discard=True))


def _on_instance_end(ctx: ParseContext) -> None:
    builder = ctx.instances[-1]
    if not builder.peers and builder.unicast_ttl is not None:
        ctx.issues.warning(
            f"({builder.name}): Cannot use unicast_ttl without unicast peers - resetting", ctx.walker.location
        )
        builder.unicast_ttl = None


def _state(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine, value: str) -> None:
    if value == "MASTER":
        b.wantstate = InitialState.MASTER
    elif value == "BACKUP":
        if b.wantstate is InitialState.MASTER:
            ctx.issues.warning(f"({b.name}) state previously set as MASTER - ignoring BACKUP", line.location)
        else:
            b.wantstate = InitialState.BACKUP
    else:
        ctx.issues.warning(f"({b.name}) unknown state '{value}', defaulting to BACKUP", line.location)
        b.wantstate = InitialState.BACKUP


def _interface(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine, value: str) -> None:
    if len(value) >= IFNAMSIZ:
        ctx.issues.error(f"Interface name '{value}' too long - ignoring", line.location)
        return
    b.interface = value
    if ctx.interface_missing(value):
        ctx.issues.error(
            f"WARNING - interface {value} for vrrp_instance {b.name} doesn't exist", line.location
        )
    elif ctx.is_loopback(value):
        ctx.issues.error(
            f"({b.name}) cannot use a loopback interface ({value}) for vrrp - ignoring", line.location
        )
        b.interface = None


def _priority(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine, value: str) -> None:
    result = read_unsigned(value, 1, 255, ctx.reporter(line))
    if result.ok:
        b.priority = result.value
    else:
        ctx.issues.error(
            f"({b.name}) Priority not valid! must be between 1 & 255. Using default 100", line.location
        )
        b.priority = 100


def _advert_int(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine, value: str) -> None:
    result = read_decimal(value, TIMER_HZ // 100, 255 * TIMER_HZ, ctx.reporter(line))
    if not result.ok or result.value <= 0:
        ctx.issues.error(
            f"({b.name}) Advert interval ({value}) not valid! Must be > 0 - ignoring", line.location
        )
    else:
        b.advert_int_us = result.value


def _version(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine, value: str) -> None:
    result = read_int(value, 2, 3, ctx.reporter(line))
    if not result.ok:
        ctx.issues.error(f"({b.name}): Version must be either 2 or 3", line.location)
        return
    if (b.version is not None and b.version != result.value) or (
        result.value == 2 and b.family is AddressFamily.IPV6
    ):
        ctx.issues.error(
            f"({b.name}) vrrp_version {result.value} conflicts with configured or deduced version"
            f" {b.version or 0}; ignoring.",
            line.location,
        )
        return
    b.version = result.value


def _preempt_delay(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine, value: str) -> None:
    result = read_decimal(value, 0, TIMER_MAX_SEC * TIMER_HZ, ctx.reporter(line))
    if result.ok:
        b.preempt_delay_us = result.value
    elif result.problem == "invalid":  # keepalived 2.2.7 adds no message of its own here
        b.preempt_delay_us = 0
    else:
        ctx.issues.error(
            f"({b.name}) Preempt_delay not valid! must be between 0-{TIMER_MAX_SEC}", line.location
        )
        b.preempt_delay_us = 0


def _source_ip(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine, value: str) -> None:
    if line.keyword == "unicast_src_ip":
        b.unicast_requested = True
    address = parse_ip(value)
    if address is None:
        ctx.issues.error(
            f"Configuration error: VRRP instance[{b.name}] malformed src address[{value}]. Skipping...",
            line.location,
        )
        return
    if b.family is None:
        b.family = _family_of(address)
    elif b.family is not _family_of(address):
        ctx.issues.error(
            f"Configuration error: VRRP instance[{b.name}] and src address[{value}]"
            " MUST be of the same family !!!"
            " Skipping...",
            line.location,
        )
        return
    b.source_ip = address


def _mcast_dst_ip(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine, value: str) -> None:
    address = parse_ip(value)
    if address is None:
        ctx.issues.error(f"({b.name}) malformed mcast dest address {value}. Skipping...", line.location)
        return
    if b.family is not None and b.family is not _family_of(address):
        ctx.issues.error(
            f"({b.name}) mcast dest address {value} MUST match VRRP instance family. Skipping...",
            line.location,
        )
        return
    if not address.is_multicast:
        ctx.issues.error(f"({b.name}) mcast_dst_ip {value} not multicast. Skipping...", line.location)
        return
    b.family = _family_of(address)
    b.mcast_dst_ip = address


def _unsigned_setting(
    attribute: str, low: int, high: int, message: str, *, zero_to_one: str | None = None
) -> Handler:
    """A handler for an unsigned keyword: the value, or keepalived's message (with {name}, {value})."""

    def handle(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine, value: str) -> None:
        result = read_unsigned(value, low, high, ctx.reporter(line))
        if not result.ok:
            ctx.issues.error(message.format(name=b.name, value=value), line.location)
            return
        number = result.value
        if number == 0 and zero_to_one is not None:
            ctx.issues.warning(
                f"({b.name}): {zero_to_one} must be greater than 0, setting to 1", line.location
            )
            number = 1
        setattr(b, attribute, number)

    return handle


def _optional_bool(
    attribute: str, message: str
) -> Callable[[ParseContext, InstanceBuilder, ConfigLine], None]:
    """A handler for `KEYWORD [BOOL]` (no value means true)."""

    def handle(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine) -> None:
        if len(line.words) < 2:
            setattr(b, attribute, True)
            return
        value = check_true_false(line.words[1])
        if value is None:
            ctx.issues.error(message.format(name=b.name, value=line.words[1]), line.location)
        else:
            setattr(b, attribute, value)

    return handle


def _auth_type(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine, value: str) -> None:
    if value in ("PASS", "AH"):
        b.auth_type = AuthType(value)
    else:
        ctx.issues.error(f"({b.name}) unknown authentication type '{value}'", line.location)


def _auth_pass(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine, value: str) -> None:
    password = value.encode("utf-8")
    if len(password) > AUTH_PASS_MAX:
        ctx.issues.warning(f"Truncating auth_pass to {AUTH_PASS_MAX} characters", line.location)
        password = password[:AUTH_PASS_MAX]
    b.auth_password = password


def _notify(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine) -> None:
    keyword = line.keyword
    if keyword in b.notifies and len(line.words) > 1:
        ctx.issues.error(
            f"({b.name}) {keyword} script already specified - ignoring {line.words[1]}", line.location
        )
        return
    command = parse_command(ctx, line)
    if command is not None:
        b.notifies[keyword] = command


def _virtual_addresses(ctx: ParseContext, line: ConfigLine, excluded: bool) -> None:
    b = ctx.instances[-1]

    def entry(words: tuple[str, ...], entry_line: ConfigLine) -> None:
        address = parse_virtual_address(ctx, words, entry_line)
        if address is None:
            return
        if excluded:
            b.evips.append(address)
            return
        if b.family is None:
            b.family = address.family
        elif b.family is not address.family:
            ctx.issues.error(
                f"({b.name}): address family must match VRRP instance [{words[0]}] - ignoring",
                entry_line.location,
            )
            return
        b.vips.append(address)

    ctx.walker.value_block(line, entry)


def _unicast_peers(ctx: ParseContext, line: ConfigLine) -> None:
    b = ctx.instances[-1]
    b.unicast_requested = True

    def entry(words: tuple[str, ...], entry_line: ConfigLine) -> None:
        version = None if b.family is None else b.family.value
        peer = parse_unicast_peer(ctx, b.name, version, words, entry_line)
        if peer is not None:
            if b.family is None:
                b.family = _family_of(peer.address)
            if peer.min_ttl > 0 or peer.max_ttl < 255:
                b.check_unicast_src = True
            b.peers.append(peer)

    ctx.walker.value_block(line, entry)


def _native_ipv6(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine) -> None:
    if b.family is AddressFamily.IPV4:
        ctx.issues.error(f"({b.name}) Cannot specify native_ipv6 with IPv4 addresses", line.location)
        return
    b.family = AddressFamily.IPV6
    b.version = 3


def _lvs_sync_daemon_interface(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine) -> None:
    ctx.ignore(line)
    ctx.issues.warning(
        f"({b.name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.", line.location
    )
    padding = " " * (6 + max(len(b.name) - 2, 0))
    ctx.issues.warning(f"{padding}Please use global lvs_sync_daemon", line.location)


def _check_unicast_src(ctx: ParseContext, b: InstanceBuilder, line: ConfigLine) -> None:
    b.check_unicast_src = True
    b.unicast_requested = True


def _ignored_block(ctx: ParseContext, line: ConfigLine) -> None:
    ctx.ignore(line)
    ctx.walker.value_block(line, lambda words, entry: None)


def _with_value(ctx: ParseContext, handler: Handler) -> Callable[[ConfigLine], None]:
    def call(line: ConfigLine) -> None:
        value = ctx.walker.parameter(line, 1)
        if value is not None:
            handler(ctx, ctx.instances[-1], line, value)

    return call


def _plain(
    ctx: ParseContext, handler: Callable[[ParseContext, InstanceBuilder, ConfigLine], None]
) -> Callable[[ConfigLine], None]:
    return lambda line: handler(ctx, ctx.instances[-1], line)


def _set_flag(attribute: str, value: object) -> Callable[[ParseContext, InstanceBuilder, ConfigLine], None]:
    return lambda ctx, b, line: setattr(b, attribute, value)


def vrrp_instance_keyword(ctx: ParseContext) -> Keyword:
    """The top-level `vrrp_instance NAME { ... }` keyword with every instance keyword."""
    valued: dict[str, Handler] = {
        "state": _state,
        "interface": _interface,
        "virtual_router_id": _unsigned_setting(
            "vrid", 1, 255, "({name}): VRID '{value}' not valid - must be between 1 & 255"
        ),
        "priority": _priority,
        "advert_int": _advert_int,
        "version": _version,
        "preempt_delay": _preempt_delay,
        "unicast_src_ip": _source_ip,
        "mcast_src_ip": _source_ip,
        "mcast_dst_ip": _mcast_dst_ip,
        "unicast_ttl": _unsigned_setting(
            "unicast_ttl", 0, 255, "({name}): TTL '{value}' not valid - must be between 0 & 255"
        ),
        "debug": _unsigned_setting(
            "debug", 0, 4, "({name}) Debug value '{value}' not valid; must be between 0-4"
        ),
        "garp_master_delay": _unsigned_setting(
            "garp_master_delay_s",
            0,
            UINT_MAX // TIMER_HZ,
            "({name}): garp_master_delay '{value}' invalid - ignoring",
        ),
        "garp_master_refresh": _unsigned_setting(
            "garp_master_refresh_s", 0, UINT_MAX, "({name}): Invalid garp_master_refresh '{value}' - ignoring"
        ),
        "garp_master_repeat": _unsigned_setting(
            "garp_master_repeat",
            0,
            UINT_MAX,
            "({name}): garp_master_repeat '{value}' invalid - ignoring",
            zero_to_one="garp_master_repeat",
        ),
        "garp_master_refresh_repeat": _unsigned_setting(
            "garp_master_refresh_repeat",
            0,
            UINT_MAX,
            "({name}): garp_master_refresh_repeat '{value}' invalid - ignoring",
            zero_to_one="garp_master_refresh_repeat",
        ),
        "garp_lower_prio_delay": _unsigned_setting(
            "garp_lower_prio_delay_s",
            0,
            UINT_MAX // TIMER_HZ,
            "({name}): garp_lower_prio_delay '{value}' invalid - ignoring",
        ),
        "garp_lower_prio_repeat": _unsigned_setting(
            "garp_lower_prio_repeat", 0, INT_MAX, "({name}): Invalid garp_lower_prio_repeat '{value}'"
        ),
        "down_timer_adverts": _unsigned_setting(
            "down_timer_adverts", 1, 100, "({name}): Invalid down_timer_adverts [1:100] '{value}'"
        ),
    }
    plain: dict[str, Callable[[ParseContext, InstanceBuilder, ConfigLine], None]] = {
        "nopreempt": _set_flag("nopreempt", True),
        "preempt": _set_flag("nopreempt", False),
        "accept": _set_flag("accept", True),
        "no_accept": _set_flag("accept", False),
        "dont_track_primary": _set_flag("dont_track_primary", True),
        "check_unicast_src": _check_unicast_src,
        "lvs_sync_daemon_interface": _lvs_sync_daemon_interface,
        "track_src_ip": _set_flag("track_src_ip", True),
        "unicast_fault_no_peer": _set_flag("unicast_fault_no_peer", True),
        "native_ipv6": _native_ipv6,
        "lower_prio_no_advert": _optional_bool(
            "lower_prio_no_advert", "({name}) invalid lower_prio_no_advert {value} specified"
        ),
        "higher_prio_send_advert": _optional_bool(
            "higher_prio_send_advert", "({name}) invalid higher_prio_send_advert {value} specified"
        ),
        "strict_mode": _optional_bool("strict_mode", "({name}) invalid strict_mode {value} specified"),
        "skip_check_adv_addr": _optional_bool(
            "skip_check_adv_addr", "({name}) invalid skip_check_adv_addr {value} specified"
        ),
        "smtp_alert": _optional_bool("smtp_alert", "Invalid vrrp_instance smtp_alert parameter {value}"),
        "notify_priority_changes": _optional_bool(
            "notify_priority_changes",
            "({name}) Invalid value '{value}' for notify_priority_changes specified",
        ),
    }
    sub: dict[str, Keyword] = {name: Keyword(_with_value(ctx, handler)) for name, handler in valued.items()}
    sub.update({name: Keyword(_plain(ctx, handler)) for name, handler in plain.items()})
    sub.update({name: Keyword(_plain(ctx, _notify)) for name in NOTIFY_KEYWORDS})
    sub["virtual_ipaddress"] = Keyword(lambda line: _virtual_addresses(ctx, line, excluded=False))
    sub["virtual_ipaddress_excluded"] = Keyword(lambda line: _virtual_addresses(ctx, line, excluded=True))
    sub["unicast_peer"] = Keyword(lambda line: _unicast_peers(ctx, line))
    sub["track_interface"] = Keyword(
        lambda line: ctx.walker.value_block(
            line,
            lambda words, entry: track_interface_entry(
                ctx, ctx.instances[-1].name, ctx.instances[-1].track_interfaces, words, entry
            ),
        )
    )
    sub["track_script"] = Keyword(
        lambda line: ctx.walker.value_block(
            line,
            lambda words, entry: track_script_entry(
                ctx, ctx.instances[-1].name, ctx.instances[-1].track_scripts, words, entry
            ),
        )
    )
    sub["authentication"] = Keyword(
        sub={
            "auth_type": Keyword(_with_value(ctx, _auth_type)),
            "auth_pass": Keyword(_with_value(ctx, _auth_pass)),
        }
    )
    for name in IGNORED_FLAGS:
        sub[name] = Keyword(ctx.ignore)
    for name in IGNORED_BLOCKS:
        sub[name] = Keyword(lambda line: _ignored_block(ctx, line))
    return Keyword(lambda line: _on_instance(ctx, line), sub=sub, end=lambda: _on_instance_end(ctx))
