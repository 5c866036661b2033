"""After reading: keepalived's defaults and cross-field rules, builders -> frozen model.

This is keepalived 2.2.7's vrrp_complete_init / vrrp_complete_instance: sync groups are resolved
first, then each instance in order. An instance that cannot work (no virtual router id, no
interface, no VIP where one is required) is dropped with keepalived's message. keepalived stops at
the first such instance; hapair reports every one (a deliberate difference). Messages keepalived
prints without a place are given the place of the instance (or group) they are about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from hapair.config.keepalived.context import GlobalBuilder, InstanceBuilder, ParseContext, SyncGroupBuilder
from hapair.config.keepalived.model import (
    AddressFamily,
    Authentication,
    AuthType,
    GlobalDefs,
    InitialState,
    KeepalivedConfig,
    VrrpInstance,
    VrrpSyncGroup,
)
from hapair.config.keepalived.numbers import TIMER_HZ

CENTI_HZ = TIMER_HZ // 100
V3_MAX_ADVERT_US = 4095 * CENTI_HZ


def complete_globals(g: GlobalBuilder) -> GlobalDefs:
    """global_defs with keepalived's defaults; vrrp_min_garp only changes what was not set."""
    repeat = g.garp_master_repeat if g.garp_master_repeat is not None else (1 if g.min_garp else 5)
    delay = g.garp_master_delay_s if g.garp_master_delay_s is not None else (0 if g.min_garp else 5)
    refresh_repeat = g.garp_master_refresh_repeat
    if refresh_repeat is None:
        refresh_repeat = 0 if g.min_garp else 1
    return GlobalDefs(
        router_id=g.router_id,
        vrrp_version=g.vrrp_version,
        vrrp_garp_master_delay_s=delay,
        vrrp_garp_master_repeat=repeat,
        vrrp_garp_master_refresh_s=g.garp_master_refresh_s or 0,
        vrrp_garp_master_refresh_repeat=refresh_repeat,
        vrrp_garp_lower_prio_delay_s=g.garp_lower_prio_delay_s
        if g.garp_lower_prio_delay_s is not None
        else delay,
        vrrp_garp_lower_prio_repeat=g.garp_lower_prio_repeat
        if g.garp_lower_prio_repeat is not None
        else repeat,
        vrrp_garp_interval_us=g.garp_interval_us,
        vrrp_gna_interval_us=g.gna_interval_us,
        vrrp_min_garp=g.min_garp,
        vrrp_lower_prio_no_advert=g.lower_prio_no_advert,
        vrrp_higher_prio_send_advert=g.higher_prio_send_advert,
        vrrp_down_timer_adverts=g.down_timer_adverts,
        vrrp_startup_delay_us=g.startup_delay_us,
        vrrp_check_unicast_src=g.check_unicast_src,
        vrrp_skip_check_adv_addr=g.skip_check_adv_addr,
        vrrp_strict=g.strict,
        vrrp_notify_priority_changes=g.notify_priority_changes,
        vrrp_mcast_group4=g.mcast_group4,
        vrrp_mcast_group6=g.mcast_group6,
        script_user=g.script_user,
        script_group=g.script_group,
        enable_script_security=g.enable_script_security,
        notify_fifo=g.notify_fifo,
        notify_fifo_script=g.notify_fifo_script,
        vrrp_notify_fifo=g.vrrp_notify_fifo,
        vrrp_notify_fifo_script=g.vrrp_notify_fifo_script,
        smtp_alert=g.smtp_alert,
        smtp_alert_vrrp=g.smtp_alert_vrrp,
        notification_email=tuple(g.notification_email),
        notification_email_from=g.notification_email_from,
        smtp_server=g.smtp_server,
    )


def _resolve_sync_groups(ctx: ParseContext) -> dict[str, SyncGroupBuilder]:
    """Members resolved against the declared instances; returns instance name -> its group."""
    names = {b.name for b in ctx.instances if not b.discard}
    membership: dict[str, SyncGroupBuilder] = {}
    for group in [g for g in ctx.sync_groups if g.name]:
        if not group.members:
            ctx.issues.error(f"Sync group {group.name} has no virtual router(s). removing", group.location)
            group.members = None
            continue
        kept = []
        for member, line in group.members:
            if member not in names:
                ctx.issues.warning(
                    f"Virtual router {member} specified in sync group {group.name} doesn't exist - ignoring",
                    line.location,
                )
            elif member in membership:
                ctx.issues.warning(
                    f"Virtual router {member} cannot exist in more than one sync group;"
                    f" ignoring {group.name}",
                    line.location,
                )
            else:
                kept.append((member, line))
        if not kept:
            ctx.issues.error(
                f"Sync group {group.name}, no matching virtual router found in group declaration - removing",
                group.location,
            )
            group.members = None
            continue
        if len(kept) == 1:
            ctx.issues.warning(
                f"Sync group {group.name} has only 1 virtual router(s) - this probably isn't what you want",
                group.location,
            )
        group.members = kept
        for member, _ in kept:
            membership[member] = group
    return membership


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
        ctx.issues.warning(f"({b.name}) {message}", b.location)
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
    garp_lower_prio_repeat = int(
        _strict_setting(
            ctx,
            b,
            configured=b.garp_lower_prio_repeat,
            strict=strict,
            strict_value=0,
            global_value=g.vrrp_garp_lower_prio_repeat,
            message="Strict mode requires no repeat garps. resetting",
        )
    )
    garp_lower_prio_delay = int(
        _strict_setting(
            ctx,
            b,
            configured=b.garp_lower_prio_delay_s,
            strict=strict,
            strict_value=0,
            global_value=g.vrrp_garp_lower_prio_delay_s,
            message="Strict mode requires no repeat garp delay. resetting",
        )
    )
    lower_prio_no_advert = bool(
        _strict_setting(
            ctx,
            b,
            configured=b.lower_prio_no_advert,
            strict=strict,
            strict_value=True,
            global_value=g.vrrp_lower_prio_no_advert,
            message="Strict mode requires no lower priority advert. resetting",
        )
    )
    higher_prio_send_advert = bool(
        _strict_setting(
            ctx,
            b,
            configured=b.higher_prio_send_advert,
            strict=strict,
            strict_value=False,
            global_value=g.vrrp_higher_prio_send_advert,
            message="strict mode requires higher_prio_send_advert to be clear. resetting",
        )
    )
    smtp_alert = b.smtp_alert
    if smtp_alert is None:
        smtp_alert = g.smtp_alert_vrrp if g.smtp_alert_vrrp is not None else bool(g.smtp_alert)
    advert = _advert_interval(ctx, b, version)
    track_interfaces = []
    for tracked in b.track_interfaces:
        if tracked.name == b.interface:
            ctx.issues.warning(
                f"({b.name}) Ignoring track_interface {tracked.name} since own interface", where
            )
        else:
            track_interfaces.append(tracked)
    track_scripts = list(b.track_scripts)
    weights_off = group is not None and not group.tracking_weight
    if weights_off or priority == 255:
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
        track_interfaces = kept_interfaces
        kept_scripts = []
        for script in track_scripts:
            if script.weight:
                script_reason = "SYNC group" if weights_off else "address_owner"
                ctx.issues.warning(
                    f"({b.name}) ignoring tracked script {script.name} with weights due to {script_reason}",
                    script.location,
                )
                continue
            kept_scripts.append(script)
        track_scripts = kept_scripts
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


def _complete_group(b: SyncGroupBuilder) -> VrrpSyncGroup:
    return VrrpSyncGroup(
        name=b.name,
        members=tuple(name for name, _ in b.members or []),
        track_interfaces=tuple(b.track_interfaces),
        track_scripts=tuple(b.track_scripts),
        notify_master=b.notifies.get("notify_master"),
        notify_backup=b.notifies.get("notify_backup"),
        notify_fault=b.notifies.get("notify_fault"),
        notify_stop=b.notifies.get("notify_stop"),
        notify=b.notifies.get("notify"),
        smtp_alert=bool(b.smtp_alert),
        sync_group_tracking_weight=b.tracking_weight,
        notify_priority_changes=bool(b.notify_priority_changes),
        location=b.location,
    )


def _check_scripts(
    ctx: ParseContext,
    runnable: Callable[[str], bool],
    g: GlobalDefs,
    instances: list[VrrpInstance],
    groups: tuple[VrrpSyncGroup, ...],
) -> list[VrrpInstance]:
    """keepalived's startup checks of the programs it will run (needs the injected check).

    A tracked vrrp_script whose program cannot be run is disabled, as keepalived does. Running
    scripts as root without `enable_script_security` is only a NOTE for hapair, where keepalived
    -t fails with exit code 6: that is a property of the host, not of the configuration.
    """
    tracked = {t.name for i in instances for t in i.track_scripts} | {
        t.name for s in groups for t in s.track_scripts
    }
    disabled = set()
    for script in ctx.scripts:
        if not runnable(script.script.argv[0]):
            ctx.issues.error(
                f"Disabling track script {script.name} since not found/accessible", script.location
            )
            disabled.add(script.name)
    commands = [s.script for s in ctx.scripts if s.name in tracked and s.name not in disabled]
    owners: list[VrrpInstance | VrrpSyncGroup] = [*instances, *groups]
    for owner in owners:
        notifies = (
            owner.notify_master,
            owner.notify_backup,
            owner.notify_fault,
            owner.notify_stop,
            owner.notify,
        )
        commands.extend(c for c in notifies if c is not None)
    root = g.script_user in (None, "root")
    if root and not g.enable_script_security and any(runnable(c.argv[0]) for c in commands):
        ctx.issues.note(
            "SECURITY VIOLATION - scripts are being executed but script_security not enabled.", None
        )
    if not disabled:
        return instances
    return [
        replace(i, track_scripts=tuple(t for t in i.track_scripts if t.name not in disabled))
        for i in instances
    ]


def complete(ctx: ParseContext, source: str) -> KeepalivedConfig:
    """The frozen configuration; every problem found on the way is in `ctx.issues`."""
    if ctx.missing_interface_seen:
        ctx.issues.error("Non-existent interface specified in configuration", None)
    global_defs = complete_globals(ctx.global_defs)
    membership = _resolve_sync_groups(ctx)
    instances = []
    for builder in ctx.instances:
        if builder.discard:
            continue
        instance = complete_instance(ctx, builder, global_defs, membership.get(builder.name))
        if instance is not None:
            instances.append(instance)
    groups = tuple(_complete_group(g) for g in ctx.sync_groups if g.name and g.members)
    if ctx.options.script_check is not None:
        instances = _check_scripts(ctx, ctx.options.script_check, global_defs, instances, groups)
    return KeepalivedConfig(
        source=source,
        global_defs=global_defs,
        scripts=tuple(ctx.scripts),
        instances=tuple(instances),
        sync_groups=groups,
        ignored=tuple(ctx.ignored),
    )
