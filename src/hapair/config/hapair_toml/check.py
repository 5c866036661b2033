"""Check hapair.toml together with what it refers to: the whole configuration of one node.

`check_hapair_config` reads hapair.toml, the keepalived configuration (file or native tables) and
the DRBD configuration (files or native tables) through injected readers, then cross-checks each
group: its VRRP instance exists and holds the group's VIPs, its resource exists and has a host
section for this node, its device is one of that resource's, and nothing lets two nodes write the
same volume (allow-two-primaries under a filesystem that is not cluster-aware). It returns every
finding, each at its FILE:LINE, and for a valid configuration the resolved groups: the
orchestrator's `GroupSettings` and the VRRP `InstanceSettings` the daemon runs (with the group's
tracked conditions added).
"""

from __future__ import annotations

import enum
import ipaddress
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from hapair.config import drbd
from hapair.config.hapair_toml.model import (
    CLUSTER_FILESYSTEMS,
    GroupConfig,
    HapairConfig,
    NativeText,
)
from hapair.config.hapair_toml.parse import parse_hapair_toml
from hapair.config.keepalived import (
    ConfigDiagnostic,
    InMemorySources,
    KeepalivedConfig,
    Severity,
    SourceReader,
    VrrpInstance,
    check_config,
)
from hapair.config.vrrp_settings import instance_settings
from hapair.core.orchestrator.settings import FencingPolicy, GroupSettings, GroupSettingsError
from hapair.core.vrrp import InstanceSettings, TrackedCondition
from hapair.errors import ConfigError, ConfigErrors, SourceLocation


class Level(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    message: str
    location: SourceLocation | None = None

    def format(self) -> str:
        """`FILE:LINE: message` (errors) or `FILE:LINE: warning: message`."""
        where = f"{self.location.file}:{self.location.line}: " if self.location is not None else ""
        label = "" if self.level is Level.ERROR else f"{self.level.value}: "
        return f"{where}{label}{self.message}"


@dataclass(frozen=True, slots=True)
class ResolvedGroup:
    config: GroupConfig
    settings: GroupSettings
    instance: VrrpInstance
    resource: drbd.NodeView

    def vrrp_instance_settings(self) -> InstanceSettings:
        """The VRRP core's settings for the group's instance, tracking the group's conditions."""
        base = instance_settings(self.instance)
        tracked = tuple(TrackedCondition(name, weight) for name, weight in self.settings.vrrp_conditions())
        return replace(base, track_conditions=base.track_conditions + tracked)


@dataclass(frozen=True, slots=True)
class CheckedConfig:
    hapair: HapairConfig | None
    node: str
    keepalived: KeepalivedConfig | None
    drbd: drbd.DrbdConfig | None
    groups: tuple[ResolvedGroup, ...]
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not any(f.level is Level.ERROR for f in self.findings)


@dataclass
class KeepalivedHostFacts:
    """What keepalived's own check learns from the host (see `hapair.config.keepalived.check_config`)."""

    config_id: str | None = None
    known_interfaces: frozenset[str] | None = None
    script_check: Callable[[str], bool] | None = None
    working_directory: str = ""


@dataclass
class _Findings:
    items: list[Finding] = field(default_factory=list)

    def error(self, location: SourceLocation | None, message: str) -> None:
        self.items.append(Finding(Level.ERROR, message, location))

    def warn(self, location: SourceLocation | None, message: str) -> None:
        self.items.append(Finding(Level.WARNING, message, location))

    def config_errors(self, errors: Sequence[ConfigError], level: Level = Level.ERROR) -> None:
        for e in errors:
            self.items.append(Finding(level, e.message, e.location))


def check_hapair_config(
    path: str,
    read_text: Callable[[str], str],
    keepalived_reader: SourceReader,
    drbd_reader: drbd.SourceReader,
    *,
    hostname: str,
    host_facts: KeepalivedHostFacts | None = None,
) -> CheckedConfig:
    """Everything about one node's configuration; never raises for a bad configuration.

    `read_text(path)` gives hapair.toml's text (OSError when it cannot); `hostname` is this node's
    name unless hapair.toml says `[node] name`.
    """
    found = _Findings()
    try:
        text = read_text(path)
    except OSError as exc:
        found.error(SourceLocation(path, 0), f"cannot read: {exc.strerror or exc}")
        return CheckedConfig(None, hostname, None, None, (), tuple(found.items))
    try:
        config, warnings = parse_hapair_toml(text, path)
    except ConfigErrors as errors:
        found.config_errors(errors.errors)
        return CheckedConfig(None, hostname, None, None, (), tuple(found.items))
    found.config_errors(warnings, Level.WARNING)
    node = config.node or hostname
    keepalived = _keepalived(config, keepalived_reader, host_facts or KeepalivedHostFacts(), found)
    drbd_config = _drbd(config, drbd_reader, node, found)
    groups: list[ResolvedGroup] = []
    if keepalived is not None and drbd_config is not None:
        for group in config.groups:
            resolved = _GroupCheck(config, group, found).resolve(keepalived, drbd_config, node)
            if resolved is not None:
                groups.append(resolved)
    return CheckedConfig(config, node, keepalived, drbd_config, tuple(groups), tuple(found.items))


# ------------------------------------------------------------------------------------- the sources


def _keepalived(
    config: HapairConfig, reader: SourceReader, facts: KeepalivedHostFacts, found: _Findings
) -> KeepalivedConfig | None:
    native = config.native_keepalived
    if config.keepalived is None and native is None:
        if config.groups:
            found.error(
                config.where(("sources",)),
                "no keepalived configuration: set sources.keepalived or write [vrrp_instance.NAME] tables",
            )
        return None
    if native is not None:
        synthetic = config.path + "#vrrp"
        model, diagnostics = check_config(
            synthetic, InMemorySources({synthetic: native.text}), facts.config_id
        )
        _keepalived_findings(diagnostics, found, (synthetic, config.path, native))
        return model
    assert config.keepalived is not None
    model, diagnostics = check_config(
        config.keepalived,
        reader,
        facts.config_id,
        known_interfaces=facts.known_interfaces,
        script_check=facts.script_check,
        working_directory=facts.working_directory,
    )
    _keepalived_findings(diagnostics, found, None)
    return model


def _keepalived_findings(
    diagnostics: Sequence[ConfigDiagnostic], found: _Findings, native: tuple[str, str, NativeText] | None
) -> None:
    for d in diagnostics:
        location = d.location
        if native is not None and location is not None and location.file == native[0]:
            location = SourceLocation(native[1], native[2].toml_line(location.line))
        level = {
            Severity.NOTE: Level.NOTE,
            Severity.WARNING: Level.ERROR,  # what fails `hapair vrrp -t` fails the check here too
            Severity.ERROR: Level.ERROR,
            Severity.FATAL: Level.ERROR,
        }[d.severity]
        found.items.append(Finding(level, d.message, location))


class _IncludingReader:
    """A DRBD reader that also serves one synthetic main file including the given files."""

    def __init__(self, base: drbd.SourceReader, main: str, text: str) -> None:
        self.base, self.main, self.text = base, main, text

    def read(self, path: str) -> str:
        if posixpath.normpath(path) == posixpath.normpath(self.main):
            return self.text
        return self.base.read(path)

    def glob(self, pattern: str) -> list[str]:
        return self.base.glob(pattern)


def _drbd(
    config: HapairConfig, reader: drbd.SourceReader, node: str, found: _Findings
) -> drbd.DrbdConfig | None:
    native = config.native_drbd
    if not config.drbd and native is None:
        if config.groups:
            found.error(
                config.where(("sources",)),
                "no DRBD configuration: set sources.drbd or write [resource.NAME] tables",
            )
        return None
    if native is not None:
        main, source = config.path + "#drbd", reader
        source = _IncludingReader(reader, main, native.text)
    elif len(config.drbd) == 1:
        main, source = config.drbd[0], reader
    else:
        main = config.path + "#drbd"
        text = "".join(f'include "{p}";\n' for p in config.drbd)
        source = _IncludingReader(reader, main, text)
    try:
        return drbd.load_resources(main, source, node, local_addresses=(node,))
    except ConfigErrors as errors:
        for e in errors.errors:
            location = e.location
            if native is not None and location.file == main:
                location = SourceLocation(config.path, native.toml_line(location.line))
            found.error(location, e.message)
        return None


# -------------------------------------------------------------------------------- cross-references


class _GroupCheck:
    """The cross-checks of one group; every finding is placed at the group's key it is about."""

    def __init__(self, config: HapairConfig, group: GroupConfig, found: _Findings) -> None:
        self.config, self.group, self.found = config, group, found
        self.label = f"group {group.name}"

    def at(self, *key: str | int) -> SourceLocation:
        return self.config.where((*self.group.path, *key))

    def error(self, key: str | tuple[str | int, ...], message: str) -> None:
        path = key if isinstance(key, tuple) else (key,)
        self.found.error(self.at(*path), f"{self.label}: {message}")

    def warn(self, key: str, message: str) -> None:
        self.found.warn(self.at(key), f"{self.label}: {message}")

    def errors(self) -> int:
        return sum(1 for f in self.found.items if f.level is Level.ERROR)

    def resolve(
        self, keepalived: KeepalivedConfig, drbd_config: drbd.DrbdConfig, node: str
    ) -> ResolvedGroup | None:
        group = self.group
        before = self.errors()
        names = [i.name for i in keepalived.instances]
        try:
            instance = keepalived.instance(group.vrrp_instance)
        except KeyError:
            self.error(
                "vrrp_instance",
                f"VRRP instance {group.vrrp_instance!r} is not configured "
                f"(there is {', '.join(names) or 'none'})",
            )
            return None
        if group.resource not in drbd_config.names():
            self.error(
                "resource",
                f"resource {group.resource!r} is not configured "
                f"(there is {', '.join(drbd_config.names()) or 'none'})",
            )
            return None
        try:
            view = drbd_config.node(group.resource, node)
        except ConfigError:
            hosts = [" ".join(h.names) for h in drbd_config.resource(group.resource).hosts]
            self.error(
                "resource",
                f"resource {group.resource} has no host section for this node ({node}; "
                f"it has {', '.join(hosts)}): set [node] name",
            )
            return None
        device = self.device(view)
        self.vips(instance)
        fencing = self.peer(view)
        self.advice(instance, fencing)
        if device is None or self.errors() > before:
            return None
        try:
            settings = _settings(self.config, group, device, fencing)
        except GroupSettingsError as exc:
            self.error(tuple(exc.field_name.split(".")), f"{exc.field_name}: {exc.message}")
            return None
        return ResolvedGroup(group, settings, instance, view)

    def device(self, view: drbd.NodeView) -> str | None:
        group = self.group
        devices = [v.device for v in view.volumes]
        if group.device is None:
            if len(devices) == 1:
                return devices[0]
            self.error(
                "resource",
                f"resource {group.resource} has {len(devices)} volumes on {view.node_name}; "
                "say which with device = ...",
            )
            return None
        if group.device not in devices:
            self.error(
                "device",
                f"{group.device} is not a device of resource {group.resource} on "
                f"{view.node_name} (it has {', '.join(devices)})",
            )
            return None
        return group.device

    def vips(self, instance: VrrpInstance) -> None:
        held = {a.address.ip for a in (*instance.virtual_addresses, *instance.excluded_addresses)}
        if not held:
            self.error("vrrp_instance", f"VRRP instance {instance.name} has no virtual_ipaddress")
        for index, text in enumerate(self.group.vips):
            try:
                address = ipaddress.ip_interface(text.split()[0]).ip
            except ValueError:
                self.error(("vips", index), f"{text!r} is not an IP address")
                continue
            if address not in held:
                have = ", ".join(sorted(str(a) for a in held)) or "none"
                self.error(
                    ("vips", index), f"VIP {address} is not in VRRP instance {instance.name} (it has {have})"
                )

    def peer(self, view: drbd.NodeView) -> FencingPolicy:
        """The resource's fencing; refuses more than one peer and two writers on one filesystem."""
        group = self.group
        if len(view.peers) != 1:
            self.error(
                "resource",
                f"resource {group.resource} has {len(view.peers)} peers for "
                f"{view.node_name}; hapair runs two-node resources",
            )
            return FencingPolicy.DONT_CARE
        net = view.peers[0].net
        cluster_fs = (group.fstype or "").lower() in CLUSTER_FILESYSTEMS
        if net.allow_two_primaries and group.mount_point is not None and not cluster_fs:
            self.error(
                "fstype" if group.fstype else "mount_point",
                f"resource {group.resource} allows two primaries, but {group.fstype or 'this filesystem'} "
                "is not cluster-aware: two nodes would mount it and write it at once; drop "
                "allow-two-primaries or use gfs2/ocfs2",
            )
        return FencingPolicy(net.fencing.value)

    def advice(self, instance: VrrpInstance, fencing: FencingPolicy) -> None:
        if not instance.nopreempt:
            self.warn(
                "vrrp_instance",
                f"VRRP instance {instance.name} preempts: a returning node takes the "
                "VIP back at once and the service moves twice; nopreempt (with state BACKUP) is "
                "recommended for a group",
            )
        if instance.priority == 255:
            self.warn(
                "vrrp_instance",
                f"VRRP instance {instance.name} is an address owner (priority 255), "
                "whose priority no tracked condition can lower; use 254 or less",
            )
        scripts = [
            s
            for s in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")
            if getattr(instance, s) is not None
        ]
        if scripts and self.group.keepalived_notify:
            self.warn(
                "keepalived_notify",
                f"{', '.join(scripts)} of {instance.name} will run after the "
                "built-in steps; if they promote, mount or unmount (as the runbook's scripts do), set "
                "keepalived_notify = false",
            )
        if self.config.witness is None and fencing is not FencingPolicy.RESOURCE_AND_STONITH:
            self.warn(
                "resource",
                f"no [witness] and fencing {fencing.value}: a node that loses its peer "
                "promotes on its own, so split brain is possible",
            )


def _settings(config: HapairConfig, group: GroupConfig, device: str, fencing: FencingPolicy) -> GroupSettings:
    return GroupSettings(
        name=group.name,
        instance=group.vrrp_instance,
        resource=group.resource,
        device=device,
        vips=tuple(v.split()[0].split("/")[0] for v in group.vips),
        fstype=group.fstype,
        fsck=group.fsck,
        fsck_command=group.fsck_command,
        mount_point=group.mount_point,
        mount_options=group.mount_options,
        service=group.service,
        timeouts=group.timeouts,
        unmount=group.unmount,
        on_quorum_loss=group.on_quorum_loss,
        fencing=fencing,
        witness=config.witness is not None,
        promotion_wait_ns=group.promotion_wait_ns,
        retry_after_failure_ns=group.retry_after_failure_ns,
        quorum_loss_grace_ns=group.quorum_loss_grace_ns,
    )
