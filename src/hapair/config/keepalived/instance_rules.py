"""keepalived's completion rules for one vrrp_instance (vrrp.c vrrp_complete_instance).

Order and wording follow keepalived 2.2.7: version and family, the checks that drop the instance
(no virtual router id, no interface, no VIP where one is required), priority and state defaults,
authentication, preemption, strict-mode resets, the advert interval rounding, then tracking
weights. Messages keepalived prints without a place are given the instance's `vrrp_instance`
line. Adjustments are WARNINGs; dropping the instance is an ERROR.
"""

from __future__ import annotations

from dataclasses import replace

from hapair.config.keepalived.context import InstanceBuilder, ParseContext, SyncGroupBuilder
from hapair.config.keepalived.model import (
    AddressFamily,
    Authentication,
    AuthType,
    GlobalDefs,
    InitialState,
    TrackedInterface,
    TrackedScript,
    VrrpInstance,
)
from hapair.config.keepalived.numbers import TIMER_HZ

CENTI_HZ = TIMER_HZ // 100
V3_MAX_ADVERT_US = 4095 * CENTI_HZ


def _advert_interval(ctx: ParseContext, b: InstanceBuilder, version: int) -> int:
    advert = b.advert_int_us or TIMER_HZ
    where = b.location
    if version == 2:
        if advert >= 256 * TIMER_HZ:
            ctx.issues.warning(
                f"({b.name}) VRRPv2 advertisement interval {advert / TIMER_HZ:.2f}s is out of range."
                " Must be less than 256s. Setting to 255s",
                where,
            )
            return 255 * TIMER_HZ
        if advert % TIMER_HZ:
            ctx.issues.warning(
                f"({b.name}) VRRPv2 advertisement interval {advert / TIMER_HZ:f}s"
                " must be an integer. rounding",
                where,
            )
            advert = (advert + TIMER_HZ // 2) // TIMER_HZ * TIMER_HZ
            return advert or TIMER_HZ
        return advert
    if advert >= 4096 * CENTI_HZ:
        ctx.issues.warning(
            f"({b.name}) VRRPv3 advertisement interval {advert / TIMER_HZ:.2f}s is out of range."
            " Must be less than 40.96s. Setting to 40.95s",
            where,
        )
        return V3_MAX_ADVERT_US
    if advert % CENTI_HZ:
        ctx.issues.warning(
            f"({b.name}) VRRPv3 advertisement interval {advert / TIMER_HZ:f}s"
            " must be in units of 10ms - rounding",
            where,
        )
        advert = (advert + CENTI_HZ // 2) // CENTI_HZ * CENTI_HZ
        # keepalived would keep 40.96 s here, which does not fit the 12-bit field; hapair caps it.
        return min(advert or CENTI_HZ, V3_MAX_ADVERT_US)
    return advert


def _strict_setting(
    ctx: ParseContext,
    b: InstanceBuilder,
    *,
    configured: int | bool | None,
    strict: bool,
    strict_value: int | bool,
    global_value: int | bool,
    message: str,
) -> int | bool:
    """keepalived's pattern: unset -> strict default or global; set against strict -> reset."""
    if configured is None:
        return strict_value if strict else global_value
    if strict and configured != strict_value:
        ctx.issues.warning(f"({b.name}) {message}. resetting", b.location)
        return strict_value
    return configured


def complete_instance(
    ctx: ParseContext, b: InstanceBuilder, g: GlobalDefs, group: SyncGroupBuilder | None
) -> VrrpInstance | None:
    """One instance with defaults applied, or None (reported) when keepalived would drop it."""
    where = b.location
    strict = b.strict_mode if b.strict_mode is not None else g.vrrp_strict
    family = b.family or AddressFamily.IPV4
    version = b.version
    if family is AddressFamily.IPV6:
        if version == 2 and strict:
            ctx.issues.warning(f"({b.name}) cannot use IPv6 with VRRP version 2; setting version 3", where)
            version = 3
        elif version is None:
            version = 3
    if version is None:
        version = g.vrrp_version
    if b.vrid == 0:
        ctx.issues.error(f"({b.name}) the virtual router id must be set", where)
        return None
    if b.interface is None:
        ctx.issues.error(f"({b.name}) Unknown interface!", where)
        return None
    if not b.vips:
        if version == 3 or family is AddressFamily.IPV6 or strict:
            ctx.issues.error(f"({b.name}) No VIP specified; at least one is required", where)
            return None
        ctx.issues.warning(f"({b.name}) No VIP specified; at least one is sensible", where)
    priority = b.priority or (255 if b.wantstate is InitialState.MASTER else 100)
    state = b.wantstate or (InitialState.MASTER if priority == 255 else InitialState.BACKUP)
    if strict and (state is InitialState.MASTER) != (priority == 255):
        ctx.issues.warning(f"({b.name}) State MASTER must match being address owner", where)
        state = InitialState.MASTER if priority == 255 else InitialState.BACKUP
    authentication = _authentication(
        ctx, b, strict=strict, version=version, family=family, state=state, priority=priority
    )
    if (
        authentication is not None
        and authentication.auth_type is AuthType.AH
        and state is InitialState.MASTER
        and priority != 255
    ):
        state = InitialState.BACKUP
    if b.unicast_requested and not b.peers and not b.unicast_fault_no_peer:
        ctx.issues.warning(
            f"({b.name}) A unicast keyword has been specified without any unicast peers."
            " Defaulting to multicast. This usage is deprecated - please update your configuration.",
            where,
        )
    mcast_dst = b.mcast_dst_ip
    if mcast_dst is not None and b.peers:
        ctx.issues.warning(f"({b.name}) multicast destination specified with unicast - ignoring", where)
        mcast_dst = None
    if (
        strict
        and family is AddressFamily.IPV6
        and not b.peers
        and b.vips
        and not b.vips[0].address.is_link_local
    ):
        ctx.issues.warning(f"({b.name}) the first IPv6 VIP address must be link local", where)
    nopreempt, preempt_delay = b.nopreempt, b.preempt_delay_us
    if priority == 255 and nopreempt:
        ctx.issues.warning(
            f"({b.name}) nopreempt is incompatible with priority 255. resetting nopreempt", where
        )
        nopreempt = False
    if state is InitialState.MASTER:
        if nopreempt:
            ctx.issues.warning(
                f"({b.name}) Warning - nopreempt will not work with initial state MASTER - clearing", where
            )
            nopreempt = False
        if preempt_delay:
            ctx.issues.warning(
                f"({b.name}) Warning - preempt delay will not work with initial state MASTER - clearing",
                where,
            )
            preempt_delay = 0
    if preempt_delay:
        if strict:
            ctx.issues.warning(
                f"({b.name}) preempt_delay is incompatible with strict mode - resetting", where
            )
            preempt_delay = 0
        if nopreempt:
            ctx.issues.warning(
                f"({b.name}) preempt_delay is incompatible with nopreempt mode - resetting", where
            )
            preempt_delay = 0
    down_timer_adverts = (
        b.down_timer_adverts if b.down_timer_adverts is not None else g.vrrp_down_timer_adverts
    )
    if strict and down_timer_adverts != 3:
        ctx.issues.warning(
            f"({b.name}) down_timer_adverts is incompatible with strict mode - resetting", where
        )
        down_timer_adverts = 3
    accept = b.accept if b.accept is not None else not strict
    if accept and priority != 255 and strict and version == 2:
        ctx.issues.warning(
            f"({b.name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting",
            where,
        )
        accept = False
    strict_settings = [
        _strict_setting(
            ctx,
            b,
            configured=configured,
            strict=strict,
            strict_value=forced,
            global_value=default,
            message=message,
        )
        for configured, forced, default, message in (
            (
                b.garp_lower_prio_repeat,
                0,
                g.vrrp_garp_lower_prio_repeat,
                "Strict mode requires no repeat garps",
            ),
            (
                b.garp_lower_prio_delay_s,
                0,
                g.vrrp_garp_lower_prio_delay_s,
                "Strict mode requires no repeat garp delay",
            ),
            (
                b.lower_prio_no_advert,
                True,
                g.vrrp_lower_prio_no_advert,
                "Strict mode requires no lower priority advert",
            ),
            (
                b.higher_prio_send_advert,
                False,
                g.vrrp_higher_prio_send_advert,
                "strict mode requires higher_prio_send_advert to be clear",
            ),
        )
    ]
    garp_lower_prio_repeat, garp_lower_prio_delay = int(strict_settings[0]), int(strict_settings[1])
    lower_prio_no_advert, higher_prio_send_advert = bool(strict_settings[2]), bool(strict_settings[3])
    smtp_alert = b.smtp_alert
    if smtp_alert is None:
        smtp_alert = g.smtp_alert_vrrp if g.smtp_alert_vrrp is not None else bool(g.smtp_alert)
    advert = _advert_interval(ctx, b, version)
    track_interfaces, track_scripts = _tracking(ctx, b, priority, group)
    return VrrpInstance(
        name=b.name,
        virtual_router_id=b.vrid,
        interface=b.interface,
        initial_state=state,
        priority=priority,
        advert_int_us=advert,
        version=version,
        family=family,
        nopreempt=nopreempt,
        preempt_delay_us=preempt_delay,
        authentication=authentication,
        virtual_addresses=tuple(b.vips),
        excluded_addresses=tuple(b.evips),
        source_ip=b.source_ip,
        unicast_peers=tuple(b.peers),
        mcast_dst_ip=mcast_dst,
        unicast_ttl=b.unicast_ttl if b.unicast_ttl is not None else 255,
        track_interfaces=tuple(track_interfaces),
        track_scripts=tuple(track_scripts),
        dont_track_primary=b.dont_track_primary,
        track_src_ip=b.track_src_ip and b.source_ip is not None,
        notify_master=b.notifies.get("notify_master"),
        notify_backup=b.notifies.get("notify_backup"),
        notify_fault=b.notifies.get("notify_fault"),
        notify_stop=b.notifies.get("notify_stop"),
        notify=b.notifies.get("notify"),
        notify_master_rx_lower_pri=b.notifies.get("notify_master_rx_lower_pri"),
        garp_master_delay_s=_or(b.garp_master_delay_s, g.vrrp_garp_master_delay_s),
        garp_master_repeat=_or(b.garp_master_repeat, g.vrrp_garp_master_repeat),
        garp_master_refresh_s=_or(b.garp_master_refresh_s, g.vrrp_garp_master_refresh_s),
        garp_master_refresh_repeat=_or(b.garp_master_refresh_repeat, g.vrrp_garp_master_refresh_repeat),
        garp_lower_prio_delay_s=garp_lower_prio_delay,
        garp_lower_prio_repeat=garp_lower_prio_repeat,
        lower_prio_no_advert=lower_prio_no_advert,
        higher_prio_send_advert=higher_prio_send_advert,
        down_timer_adverts=down_timer_adverts,
        accept=accept,
        strict_mode=strict,
        skip_check_adv_addr=b.skip_check_adv_addr
        if b.skip_check_adv_addr is not None
        else g.vrrp_skip_check_adv_addr,
        check_unicast_src=b.check_unicast_src or g.vrrp_check_unicast_src,
        smtp_alert=smtp_alert,
        notify_priority_changes=(
            b.notify_priority_changes
            if b.notify_priority_changes is not None
            else g.vrrp_notify_priority_changes
        ),
        debug=b.debug,
        sync_group=group.name if group is not None else None,
        location=where,
    )


def _tracking(
    ctx: ParseContext, b: InstanceBuilder, priority: int, group: SyncGroupBuilder | None
) -> tuple[list[TrackedInterface], list[TrackedScript]]:
    """Tracked interfaces and scripts, without the own interface and without weights where
    keepalived ignores them: for an address owner (priority 255) and in a sync group that does
    not allow tracking weights."""
    track_interfaces = []
    for tracked in b.track_interfaces:
        if tracked.name == b.interface:
            ctx.issues.warning(
                f"({b.name}) Ignoring track_interface {tracked.name} since own interface", b.location
            )
        else:
            track_interfaces.append(tracked)
    track_scripts = list(b.track_scripts)
    weights_off = group is not None and not group.tracking_weight
    if not (weights_off or priority == 255):
        return track_interfaces, track_scripts
    reason = "SYNC group" if weights_off else "address owner"
    kept_interfaces = []
    for tracked in track_interfaces:
        if tracked.weight:
            ctx.issues.warning(
                f"({b.name}) ignoring {tracked.name} tracked interface {'weight ' if weights_off else ''}"
                f"due to {reason}",
                tracked.location,
            )
            if weights_off:
                kept_interfaces.append(replace(tracked, weight=0))
            continue
        kept_interfaces.append(tracked)
    kept_scripts = []
    for script in track_scripts:
        if script.weight:
            script_reason = "SYNC group" if weights_off else "address_owner"  # sic, keepalived's words
            ctx.issues.warning(
                f"({b.name}) ignoring tracked script {script.name} with weights due to {script_reason}",
                script.location,
            )
            continue
        kept_scripts.append(script)
    return kept_interfaces, kept_scripts


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _authentication(
    ctx: ParseContext,
    b: InstanceBuilder,
    *,
    strict: bool,
    version: int,
    family: AddressFamily,
    state: InitialState,
    priority: int,
) -> Authentication | None:
    if b.auth_type is None:
        return None
    where = b.location
    if strict:
        ctx.issues.warning(f"({b.name}) Strict mode does not support authentication. Ignoring.", where)
    elif version == 3:
        ctx.issues.warning(f"({b.name}) VRRP version 3 does not support authentication. Ignoring.", where)
    elif not b.auth_password:
        ctx.issues.warning(f"({b.name}) Authentication specified but no password given. Ignoring", where)
    elif family is AddressFamily.IPV6 and b.auth_type is AuthType.AH:
        ctx.issues.warning(f"({b.name}) Cannot use AH authentication with IPv6. ignoring", where)
    else:
        if b.auth_type is AuthType.AH and state is InitialState.MASTER and priority != 255:
            ctx.issues.warning(
                f"({b.name}) Initial state master is incompatible with AH authentication - clearing", where
            )
        return Authentication(b.auth_type, b.auth_password)
    return None
