"""After reading: keepalived's defaults and cross-field rules, builders -> frozen model.

This is keepalived 2.2.7's vrrp_complete_init: global defaults, then sync groups, then each
instance in order (`instance_rules`), then the checks of the scripts keepalived would run. An
instance that cannot work is dropped with keepalived's message. keepalived stops at the first
such instance; hapair reports every one (a deliberate difference). Messages keepalived prints
without a place are given the place of the instance (or group) they are about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from hapair.config.keepalived.context import GlobalBuilder, ParseContext, SyncGroupBuilder
from hapair.config.keepalived.instance_rules import complete_instance
from hapair.config.keepalived.model import (
    GlobalDefs,
    InitialState,
    KeepalivedConfig,
    VrrpInstance,
    VrrpSyncGroup,
)


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


def _sync_group_start_states(
    instances: list[VrrpInstance], groups: tuple[VrrpSyncGroup, ...]
) -> list[VrrpInstance]:
    """Members of a sync group start as MASTER only if all of them are MASTER address owners.

    keepalived 2.2.7 (measured with `keepalived -d`): a group of `state MASTER` instances with
    priorities below 255 starts every member in BACKUP, as does any member wanting BACKUP.
    """
    backup_groups = set()
    for group in groups:
        members = [i for i in instances if i.name in group.members]
        if not all(m.initial_state is InitialState.MASTER and m.priority == 255 for m in members):
            backup_groups.add(group.name)
    return [
        replace(i, initial_state=InitialState.BACKUP) if i.sync_group in backup_groups else i
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
    instances = _sync_group_start_states(instances, groups)
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
