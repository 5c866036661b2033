"""From keepalived.conf's model (`hapair.config.keepalived`) to the VRRP core's settings.

The parser has already applied keepalived's defaults and corrections (rounding, truncation,
clearing, each with keepalived's warning); this module only changes representation: microseconds
and seconds to nanoseconds, argv tuples to command strings (`shlex.join`, split again by the shell
with `shlex.split`, which round-trips exactly), `unicast_src_ip`/`mcast_src_ip` by mode. A setting
the core refuses (for example AH authentication) becomes a `ConfigError` at the instance's line.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from hapair.config.keepalived.model import AuthType as ConfigAuthType
from hapair.config.keepalived.model import InitialState as ConfigInitialState
from hapair.config.keepalived.model import (
    KeepalivedConfig,
    NotifyScript,
    VirtualAddress,
    VrrpInstance,
    VrrpScript,
)
from hapair.core.vrrp import (
    AuthType,
    InitialState,
    InstanceSettings,
    SettingsError,
    TrackedInterface,
    TrackedScript,
    UnicastPeer,
    VirtualIp,
    VrrpScriptSettings,
)
from hapair.errors import ConfigError, ConfigErrors, SourceLocation

NS_PER_US = 1_000
NS_PER_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class VrrpRuntimeConfig:
    """What `hapair vrrp` runs: the instances, their scripts, and process-wide settings."""

    instances: tuple[InstanceSettings, ...]
    scripts: tuple[VrrpScriptSettings, ...]
    startup_delay_ns: int
    router_id: str | None


def command_line(script: NotifyScript | None) -> str | None:
    return shlex.join(script.argv) if script is not None and script.argv else None


def _vip(address: VirtualAddress) -> VirtualIp:
    return VirtualIp(address=address.address, device=address.device, label=address.label)


def _auth(instance: VrrpInstance) -> tuple[AuthType, bytes]:
    auth = instance.authentication
    if auth is None:
        return AuthType.NONE, b""
    if auth.auth_type is ConfigAuthType.PASS:
        return AuthType.PASS, auth.password
    return AuthType.AH, auth.password


def instance_settings(instance: VrrpInstance) -> InstanceSettings:
    auth_type, auth_pass = _auth(instance)
    unicast = bool(instance.unicast_peers)
    return InstanceSettings(
        name=instance.name,
        virtual_router_id=instance.virtual_router_id,
        interface=instance.interface,
        priority=instance.priority,
        state=(
            InitialState.MASTER
            if instance.initial_state is ConfigInitialState.MASTER
            else InitialState.BACKUP
        ),
        advert_int=instance.advert_int_us * NS_PER_US,
        version=instance.version,
        vips=tuple(_vip(a) for a in instance.virtual_addresses),
        excluded_vips=tuple(_vip(a) for a in instance.excluded_addresses),
        nopreempt=instance.nopreempt,
        preempt_delay=instance.preempt_delay_us * NS_PER_US,
        garp_master_delay=instance.garp_master_delay_s * NS_PER_S,
        garp_master_repeat=instance.garp_master_repeat,
        garp_master_refresh=instance.garp_master_refresh_s * NS_PER_S,
        garp_master_refresh_repeat=instance.garp_master_refresh_repeat,
        garp_lower_prio_delay=instance.garp_lower_prio_delay_s * NS_PER_S,
        garp_lower_prio_repeat=instance.garp_lower_prio_repeat,
        lower_prio_no_advert=instance.lower_prio_no_advert,
        higher_prio_send_advert=instance.higher_prio_send_advert,
        down_timer_adverts=instance.down_timer_adverts,
        unicast_src_ip=instance.source_ip if unicast else None,
        mcast_src_ip=None if unicast else instance.source_ip,
        mcast_dst_ip=instance.mcast_dst_ip,
        unicast_peers=tuple(UnicastPeer(p.address, p.min_ttl, p.max_ttl) for p in instance.unicast_peers),
        unicast_ttl=instance.unicast_ttl,
        check_unicast_src=instance.check_unicast_src,
        skip_check_adv_addr=instance.skip_check_adv_addr,
        auth_type=auth_type,
        auth_pass=auth_pass,
        track_interfaces=tuple(
            TrackedInterface(t.name, t.weight, t.reverse) for t in instance.track_interfaces
        ),
        track_scripts=tuple(TrackedScript(t.name, t.weight, t.reverse) for t in instance.track_scripts),
        dont_track_primary=instance.dont_track_primary,
        notify_master=command_line(instance.notify_master),
        notify_backup=command_line(instance.notify_backup),
        notify_fault=command_line(instance.notify_fault),
        notify_stop=command_line(instance.notify_stop),
        notify=command_line(instance.notify),
        notify_master_rx_lower_pri=command_line(instance.notify_master_rx_lower_pri),
    )


def script_settings(script: VrrpScript) -> VrrpScriptSettings:
    return VrrpScriptSettings(
        name=script.name,
        script=shlex.join(script.script.argv),
        interval=script.interval_s * NS_PER_S,
        timeout=script.timeout_s * NS_PER_S,
        weight=script.weight,
        reverse=script.weight_reverse,
        rise=script.rise,
        fall=script.fall,
        init_fail=script.init_fail,
    )


def runtime_config(config: KeepalivedConfig) -> VrrpRuntimeConfig:
    """Map the whole model; every refused setting is reported, located at its block."""
    errors: list[ConfigError] = []
    instances: list[InstanceSettings] = []
    scripts: list[VrrpScriptSettings] = []
    for instance in config.instances:
        try:
            instances.append(instance_settings(instance))
        except SettingsError as exc:
            errors.append(_located(exc, instance.location, config.source))
    used = {t.name for i in config.instances for t in i.track_scripts}
    for script in config.scripts:
        if script.name not in used:
            continue
        try:
            scripts.append(script_settings(script))
        except SettingsError as exc:
            errors.append(_located(exc, script.location, config.source))
    if errors:
        raise ConfigErrors(errors)
    return VrrpRuntimeConfig(
        instances=tuple(instances),
        scripts=tuple(scripts),
        startup_delay_ns=config.global_defs.vrrp_startup_delay_us * NS_PER_US,
        router_id=config.global_defs.router_id,
    )


def _located(exc: SettingsError, location: SourceLocation | None, source: str) -> ConfigError:
    file, line = (location.file, location.line) if location is not None else (source, 0)
    return ConfigError(file, line, f"({exc.owner}) {exc.field_name}: {exc.message}")
