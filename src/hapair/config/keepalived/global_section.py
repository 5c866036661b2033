"""`global_defs { ... }` and the top-level keyword table (keepalived core/global_parser.c).

hapair models the VRRP-related globals; the many process, SNMP, LVS, firewall and tuning
keywords keepalived also accepts are recognised and noted as not used, so a valid keepalived.conf
is never rejected for them. Top-level sections of other keepalived processes (`virtual_server`,
`bfd_instance`, static routes, ...) are skipped whole, as keepalived's VRRP process skips them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping

from hapair.config.keepalived.blocks import Keyword
from hapair.config.keepalived.context import GlobalBuilder, ParseContext
from hapair.config.keepalived.instance_section import vrrp_instance_keyword
from hapair.config.keepalived.linereader import ConfigLine
from hapair.config.keepalived.model import NotifyFifo
from hapair.config.keepalived.numbers import (
    INT_MAX,
    TIMER_HZ,
    UINT_MAX,
    check_true_false,
    read_decimal,
    read_int,
    read_unsigned,
)
from hapair.config.keepalived.scripting import parse_command, vrrp_script_keyword
from hapair.config.keepalived.sync_group_section import vrrp_sync_group_keyword

# global_defs keywords keepalived 2.2.7 accepts that hapair does not act on.
IGNORED_GLOBALS = frozenset(
    [
        "bfd_cpu_affinity",
        "bfd_no_swap",
        "bfd_priority",
        "bfd_process_name",
        "bfd_rlimit_rttime",
        "bfd_rlimit_rtime",
        "bfd_rt_priority",
        "checker_cpu_affinity",
        "checker_log_all_failures",
        "checker_no_swap",
        "checker_priority",
        "checker_process_name",
        "checker_rlimit_rttime",
        "checker_rlimit_rtime",
        "checker_rt_priority",
        "config_save_dir",
        "data_use_instance",
        "dbus_service_name",
        "default_interface",
        "disable_local_igmp",
        "dynamic_interfaces",
        "enable_dbus",
        "enable_snmp_checker",
        "enable_snmp_keepalived",
        "enable_snmp_rfc",
        "enable_snmp_rfcv2",
        "enable_snmp_rfcv3",
        "enable_snmp_vrrp",
        "enable_traps",
        "fifo_write_vrrp_states_on_reload",
        "include_check",
        "instance",
        "linkbeat_use_polling",
        "log_unknown_vrids",
        "lvs_flush",
        "lvs_flush_on_stop",
        "lvs_flush_onstop",
        "lvs_netlink_cmd_rcv_bufs",
        "lvs_netlink_cmd_rcv_bufs_force",
        "lvs_netlink_monitor_rcv_bufs",
        "lvs_netlink_monitor_rcv_bufs_force",
        "lvs_notify_fifo",
        "lvs_notify_fifo_script",
        "lvs_process_name",
        "lvs_sync_daemon",
        "lvs_timeouts",
        "max_auto_priority",
        "min_auto_priority_delay",
        "namespace_with_ipsets",
        "net_namespace",
        "net_namespace_ipvs",
        "nftables",
        "nftables_counters",
        "nftables_ifindex",
        "nftables_ipvs",
        "nftables_ipvs_priority",
        "nftables_ipvs_start_fwmark",
        "nftables_priority",
        "no_checker_emails",
        "no_email_faults",
        "process_monitor_rcv_bufs",
        "process_monitor_rcv_bufs_force",
        "process_name",
        "process_names",
        "random_seed",
        "reload_check_config",
        "reload_file",
        "reload_repeat",
        "reload_time_file",
        "rs_init_notifies",
        "shutdown_script",
        "shutdown_script_timeout",
        "smtp_alert_checker",
        "smtp_connect_timeout",
        "smtp_helo_name",
        "snmp_socket",
        "startup_script",
        "startup_script_timeout",
        "tmp_config_directory",
        "umask",
        "use_pid_dir",
        "vmac_addr_prefix",
        "vmac_prefix",
        "vrrp_cpu_affinity",
        "vrrp_garp_extra_if",
        "vrrp_ipsets",
        "vrrp_iptables",
        "vrrp_netlink_cmd_rcv_bufs",
        "vrrp_netlink_cmd_rcv_bufs_force",
        "vrrp_netlink_monitor_rcv_bufs",
        "vrrp_netlink_monitor_rcv_bufs_force",
        "vrrp_no_swap",
        "vrrp_priority",
        "vrrp_process_name",
        "vrrp_rlimit_rtime",
        "vrrp_rlimit_rttime",
        "vrrp_rt_priority",
        "vrrp_rx_bufs_multiplier",
        "vrrp_rx_bufs_policy",
        "vrrp_vmac_garp_intvl",
        "child_wait_time",
    ]
)
# Top-level keywords without a block that hapair ignores.
IGNORED_TOP_LEVEL = (
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "instance",
    "use_pid_dir",
    "linkbeat_use_polling",
    "child_wait_time",
)
# Top-level sections of other keepalived processes, skipped whole.
SKIPPED_SECTIONS = (
    "garp_group",
    "linkbeat_interfaces",
    "interface_up_down_delays",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "track_group",
    "track_file",
    "vrrp_track_process",
    "bfd_instance",
    "virtual_server",
    "virtual_server_group",
    "SSL",
)

Setter = Callable[[GlobalBuilder, int], None]


def _unsigned(
    ctx: ParseContext,
    line: ConfigLine,
    *,
    low: int,
    high: int,
    message: str,
    set_value: Setter,
    zero_message: str | None = None,
) -> None:
    value = ctx.walker.parameter(line, 1)
    if value is None:
        return
    result = read_unsigned(value, low, high, ctx.reporter(line))
    if not result.ok:
        ctx.issues.error(message.format(value=value), line.location)
        return
    number = result.value
    if number == 0 and zero_message is not None:
        ctx.issues.warning(zero_message, line.location)
        number = 1
    set_value(ctx.global_defs, number)


def _decimal(ctx: ParseContext, line: ConfigLine, name: str, set_value: Setter) -> None:
    value = ctx.walker.parameter(line, 1)
    if value is None:
        return
    result = read_decimal(value, 0, UINT_MAX, ctx.reporter(line))
    if not result.ok:
        ctx.issues.error(f"{name} '{value}' is invalid", line.location)
        return
    if result.value >= TIMER_HZ:
        ctx.issues.note(f"The {name} is very large - {value} seconds", line.location)
    set_value(ctx.global_defs, result.value)


def _flag(
    ctx: ParseContext, line: ConfigLine, message: str, set_value: Callable[[GlobalBuilder, bool], None]
) -> None:
    if len(line.words) < 2:
        set_value(ctx.global_defs, True)
        return
    value = check_true_false(line.words[1])
    if value is None:
        ctx.issues.error(message.format(value=line.words[1]), line.location)
    else:
        set_value(ctx.global_defs, value)


def _router_id(ctx: ParseContext, line: ConfigLine) -> None:
    if len(line.words) < 2:
        ctx.issues.error("routerid name missing - ignoring", line.location)
    else:
        ctx.global_defs.router_id = line.words[1]


def _vrrp_version(ctx: ParseContext, line: ConfigLine) -> None:
    value = ctx.walker.parameter(line, 1)
    if value is None:
        return
    result = read_int(value, 2, 3, ctx.reporter(line))
    if result.ok:
        ctx.global_defs.vrrp_version = result.value
    else:
        ctx.issues.error("VRRP Error: Version must be either 2 or 3", line.location)


def _mcast_group(ctx: ParseContext, line: ConfigLine, version: int) -> None:
    value = ctx.walker.parameter(line, 1)
    if value is None:
        return
    keyword = line.keyword
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        ctx.issues.error(f"Can't parse {keyword} [{value}]. Skipping", line.location)
        return
    if address.version != version:
        ctx.issues.error(f"{keyword} [{value}] is not IPv{version}. Skipping", line.location)
    elif not address.is_multicast:
        ctx.issues.error(f"{keyword} [{value}] is not multicast. Skipping", line.location)
    elif isinstance(address, ipaddress.IPv4Address):
        ctx.global_defs.mcast_group4 = address
    else:
        ctx.global_defs.mcast_group6 = address


def _script_user(ctx: ParseContext, line: ConfigLine) -> None:
    if len(line.words) < 2:
        ctx.issues.error("No script username specified", line.location)
        return
    ctx.global_defs.script_user = line.words[1]
    ctx.global_defs.script_group = line.words[2] if len(line.words) > 2 else None


def _fifo(ctx: ParseContext, line: ConfigLine, prefix: str) -> None:
    g = ctx.global_defs
    current = g.notify_fifo if not prefix else g.vrrp_notify_fifo
    if len(line.words) < 2:
        ctx.issues.error(f"No {prefix}notify_fifo name specified", line.location)
        return
    if current is not None:
        ctx.issues.error(f"{prefix}notify_fifo already specified - ignoring {line.words[1]}", line.location)
        return
    words = line.words
    fifo = NotifyFifo(words[1], words[2] if len(words) > 2 else None, words[3] if len(words) > 3 else None)
    if prefix:
        g.vrrp_notify_fifo = fifo
    else:
        g.notify_fifo = fifo


def _fifo_script(ctx: ParseContext, line: ConfigLine, prefix: str) -> None:
    g = ctx.global_defs
    current = g.notify_fifo_script if not prefix else g.vrrp_notify_fifo_script
    if len(line.words) < 2:
        ctx.issues.error(f"No {prefix}notify_fifo_script specified", line.location)
        return
    if current is not None:
        ctx.issues.error(
            f"{prefix}notify_fifo_script already specified - ignoring {line.words[1]}", line.location
        )
        return
    command = parse_command(ctx, line)
    if prefix:
        g.vrrp_notify_fifo_script = command
    else:
        g.notify_fifo_script = command


def _notification_email(ctx: ParseContext, line: ConfigLine) -> None:
    words = ctx.walker.value_words(line)
    if not words:
        ctx.issues.error("Warning - empty notification_email block", ctx.walker.location)
    ctx.global_defs.notification_email.extend(word for word, _ in words)


def _email_from(ctx: ParseContext, line: ConfigLine) -> None:
    if len(line.words) < 2:
        ctx.issues.error("emailfrom missing - ignoring", line.location)
    else:
        ctx.global_defs.notification_email_from = line.words[1]


def _smtp_server(ctx: ParseContext, line: ConfigLine) -> None:
    value = ctx.walker.parameter(line, 1)
    if value is not None:
        ctx.global_defs.smtp_server = " ".join(line.words[1:])


def _global_table(ctx: ParseContext) -> dict[str, Keyword]:
    def kw(handler: Callable[[ParseContext, ConfigLine], None]) -> Keyword:
        return Keyword(lambda line: handler(ctx, line))

    def unsigned(low: int, high: int, message: str, set_value: Setter, zero: str | None = None) -> Keyword:
        return Keyword(
            lambda line: _unsigned(
                ctx, line, low=low, high=high, message=message, set_value=set_value, zero_message=zero
            )
        )

    def flag(message: str, set_value: Callable[[GlobalBuilder, bool], None]) -> Keyword:
        return Keyword(lambda line: _flag(ctx, line, message, set_value))

    def switch(set_value: Callable[[GlobalBuilder], None]) -> Keyword:
        return Keyword(lambda line: set_value(ctx.global_defs))

    seconds = UINT_MAX // TIMER_HZ
    table: dict[str, Keyword] = {
        "router_id": kw(_router_id),
        "vrrp_version": kw(_vrrp_version),
        "vrrp_garp_master_delay": unsigned(
            0,
            seconds,
            "vrrp_garp_master_delay '{value}' invalid - ignoring",
            lambda g, v: setattr(g, "garp_master_delay_s", v),
        ),
        "vrrp_garp_master_repeat": unsigned(
            0,
            UINT_MAX,
            "vrrp_garp_master_repeat '{value}' invalid - ignoring",
            lambda g, v: setattr(g, "garp_master_repeat", v),
            "vrrp_garp_master_repeat must be greater than 0, setting to 1",
        ),
        "vrrp_garp_master_refresh": unsigned(
            0,
            UINT_MAX,
            "Invalid vrrp_garp_master_refresh '{value}' - ignoring",
            lambda g, v: setattr(g, "garp_master_refresh_s", v),
        ),
        "vrrp_garp_master_refresh_repeat": unsigned(
            0,
            UINT_MAX,
            "vrrp_garp_master_refresh_repeat '{value}' invalid - ignoring",
            lambda g, v: setattr(g, "garp_master_refresh_repeat", v),
            "vrrp_garp_master_refresh_repeat must be greater than 0, setting to 1",
        ),
        "vrrp_garp_lower_prio_delay": unsigned(
            0,
            seconds,
            "vrrp_garp_lower_prio_delay '{value}' invalid - ignoring",
            lambda g, v: setattr(g, "garp_lower_prio_delay_s", v),
        ),
        "vrrp_garp_lower_prio_repeat": unsigned(
            0,
            INT_MAX,
            "Invalid vrrp_garp_lower_prio_repeat '{value}'",
            lambda g, v: setattr(g, "garp_lower_prio_repeat", v),
        ),
        "vrrp_down_timer_adverts": unsigned(
            1,
            100,
            "Invalid vrrp_down_timer_adverts [1:100] '{value}'",
            lambda g, v: setattr(g, "down_timer_adverts", v),
        ),
        "vrrp_garp_interval": Keyword(
            lambda line: _decimal(
                ctx, line, "vrrp_garp_interval", lambda g, v: setattr(g, "garp_interval_us", v)
            )
        ),
        "vrrp_gna_interval": Keyword(
            lambda line: _decimal(
                ctx, line, "vrrp_gna_interval", lambda g, v: setattr(g, "gna_interval_us", v)
            )
        ),
        "vrrp_startup_delay": Keyword(
            lambda line: _decimal(
                ctx, line, "vrrp_startup_delay", lambda g, v: setattr(g, "startup_delay_us", v)
            )
        ),
        "vrrp_min_garp": flag(
            "Invalid value for vrrp_min_garp specified", lambda g, v: setattr(g, "min_garp", v)
        ),
        "vrrp_lower_prio_no_advert": flag(
            "Invalid value for vrrp_lower_prio_no_advert specified",
            lambda g, v: setattr(g, "lower_prio_no_advert", v),
        ),
        "vrrp_higher_prio_send_advert": flag(
            "Invalid value for vrrp_higher_prio_send_advert specified",
            lambda g, v: setattr(g, "higher_prio_send_advert", v),
        ),
        "vrrp_notify_priority_changes": flag(
            "Invalid value '{value}' for global vrrp_notify_priority_changes specified",
            lambda g, v: setattr(g, "notify_priority_changes", v),
        ),
        "smtp_alert": flag(
            "Invalid value '{value}' for global smtp_alert specified",
            lambda g, v: setattr(g, "smtp_alert", v),
        ),
        "smtp_alert_vrrp": flag(
            "Invalid value '{value}' for global smtp_alert_vrrp specified",
            lambda g, v: setattr(g, "smtp_alert_vrrp", v),
        ),
        "vrrp_check_unicast_src": switch(lambda g: setattr(g, "check_unicast_src", True)),
        "vrrp_skip_check_adv_addr": switch(lambda g: setattr(g, "skip_check_adv_addr", True)),
        "vrrp_strict": switch(lambda g: setattr(g, "strict", True)),
        "enable_script_security": switch(lambda g: setattr(g, "enable_script_security", True)),
        "vrrp_mcast_group4": Keyword(lambda line: _mcast_group(ctx, line, 4)),
        "vrrp_mcast_group6": Keyword(lambda line: _mcast_group(ctx, line, 6)),
        "script_user": kw(_script_user),
        "notify_fifo": Keyword(lambda line: _fifo(ctx, line, "")),
        "vrrp_notify_fifo": Keyword(lambda line: _fifo(ctx, line, "vrrp_")),
        "notify_fifo_script": Keyword(lambda line: _fifo_script(ctx, line, "")),
        "vrrp_notify_fifo_script": Keyword(lambda line: _fifo_script(ctx, line, "vrrp_")),
        "notification_email": kw(_notification_email),
        "notification_email_from": kw(_email_from),
        "smtp_server": kw(_smtp_server),
    }
    for name in IGNORED_GLOBALS:
        table[name] = Keyword(ctx.ignore)
    return table


def _skip_section(ctx: ParseContext, line: ConfigLine) -> None:
    ctx.ignore(line)
    ctx.walker.skip_block()


def top_level_keywords(ctx: ParseContext) -> Mapping[str, Keyword]:
    """The keywords allowed outside any block."""
    table: dict[str, Keyword] = {
        "global_defs": Keyword(sub=_global_table(ctx)),
        "vrrp_script": vrrp_script_keyword(ctx),
        "vrrp_sync_group": vrrp_sync_group_keyword(ctx),
        "vrrp_instance": vrrp_instance_keyword(ctx),
    }
    for name in IGNORED_TOP_LEVEL:
        table[name] = Keyword(ctx.ignore)
    for name in SKIPPED_SECTIONS:
        table[name] = Keyword(lambda line: _skip_section(ctx, line))
    return table
