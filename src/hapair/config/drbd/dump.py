"""``drbdadm dump``: the configuration written back in drbd.conf syntax, as drbd-utils 9.22 does it.

The layout (indentation, column alignment, which sections are printed, quoting) follows
``drbdadm_dump.c``, so for a configuration that drbdadm 9 reads, hapair's dump is the same text
(the interop test compares them line by line). Legacy forms come out in their DRBD 9 places:
``syncer`` options in net/disk/options, ``disk { fencing }`` and a resource-level ``protocol`` in
net, ``outdate-peer`` as ``fence-peer``; node ids derived for 8.4 configurations are printed. So
dumping an 8.4 configuration gives one that DRBD 9's drbdadm accepts.

Three things drbdadm 9 reads but drops from its dump are kept, so the dump loses nothing:
``startup { become-primary-on ...; }``, and ``udev-always-use-vnr`` and ``cmd-timeout-*`` in global.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from .config import DrbdConfig
from .model import Address, HostKind, MetaDiskKind, OptionSection, OptionValue, UsageCount, VolumeDecl
from .node import matching_hosts
from .options import PEER_DEVICE_OPTIONS
from .resolve import ResolvedHost, Resource

INDENT = 4
_PLAIN = re.compile(r"[a-zA-Z0-9/._-]+")


def esc(text: str) -> str:
    """Quote a value unless it is a plain word (drbdadm's ``esc``)."""
    if not text:
        return '""'
    if _PLAIN.fullmatch(text) and len(text) <= 80:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.indent = 0

    def line(self, text: str) -> None:
        self.lines.append(" " * (INDENT * self.indent) + text)

    def aligned(self, name: str, value: str) -> None:
        """printA: name padded to column 24 (less the indentation), value right-aligned in 3."""
        width = 24 - INDENT * self.indent
        self.line(f"{name:<{width}} {value:>3};")

    def address(self, name: str, address: Address, postfix: str) -> None:
        self.line(f"{name:<16} {address.conf_text()}{postfix}")

    def open(self, header: str) -> None:
        self.line(header + " {")
        self.indent += 1

    def close(self) -> None:
        self.indent -= 1
        self.line("}")

    def options(self, name: str, options: Iterable[OptionValue]) -> None:
        items = list(options)
        if not items:
            return
        self.open(name)
        for option in items:
            if option.name == "stacked-timeouts":
                self.line("stacked-timeouts;")
            else:
                self.aligned(option.name, esc(option.text))
        self.close()


def _disk_order(section: OptionSection) -> list[OptionValue]:
    """Disk options first, then peer-device options (drbdadm keeps them in two lists)."""
    options = list(section)
    return [o for o in options if o.name not in PEER_DEVICE_OPTIONS] + [
        o for o in options if o.name in PEER_DEVICE_OPTIONS
    ]


def dump_config(config: DrbdConfig, resources: Sequence[str] | None = None) -> str:
    """The whole configuration (header, global, common, resources), or only `resources`."""
    out = _Writer()
    if resources is None:
        out.line(f"# {config.path}")
        _global(out, config)
        if config.common is not None:
            out.open("common")
            _sections(out, config.common.sections.named())
            out.close()
            out.lines.append("")
        selected = list(config.resources)
    else:
        selected = [config.resource(name) for name in resources]
    for resource in selected:
        _resource(out, config, resource)
    return "\n".join(out.lines) + "\n"


def _global(out: _Writer, config: DrbdConfig) -> None:
    g = config.global_options
    lines = []
    if g.disable_ip_verification:
        lines.append("disable-ip-verification;")
    if g.minor_count is not None:
        lines.append(f"minor-count {g.minor_count};")
    if g.dialog_refresh != 1:
        lines.append(f"dialog-refresh {g.dialog_refresh};")
    if g.usage_count is not UsageCount.ASK:
        lines.append(f"usage-count {g.usage_count.value};")
    if g.udev_always_use_vnr:
        lines.append("udev-always-use-vnr;")
    for name, value in (
        ("short", g.cmd_timeout_short),
        ("medium", g.cmd_timeout_medium),
        ("long", g.cmd_timeout_long),
    ):
        if value is not None:
            lines.append(f"cmd-timeout-{name} {value};")
    if not lines:
        return
    out.open("global")
    for text in lines:
        out.line(text)
    out.close()
    out.lines.append("")


def _sections(out: _Writer, named: Mapping[str, OptionSection]) -> None:
    """options, net, disk, startup, handlers; ``stacked-timeouts`` last in startup, as drbdadm."""
    startup = named["startup"]
    flags = [o for o in startup if o.name == "stacked-timeouts"]
    out.options("options", named["options"])
    out.options("net", named["net"])
    out.options("disk", _disk_order(named["disk"]))
    out.options("startup", [o for o in startup if o.name != "stacked-timeouts"] + flags)
    out.options("handlers", named["handlers"])


def _resource(out: _Writer, config: DrbdConfig, resource: Resource) -> None:
    decl = resource.decl
    me = matching_hosts(resource, config.hostname, config.local_addresses) if config.hostname else []
    ignored = "not ignored" if me else "ignored"
    stacked = "stacked" if me and me[0].kind is HostKind.STACKED else "not stacked"
    node = config.hostname if config.hostname is not None else "(no node chosen)"
    out.line(f"# resource {esc(decl.name)} on {node}: {ignored}, {stacked}")
    out.line(f"# defined at {decl.location.file}:{decl.location.line}")
    out.open(f"resource {esc(decl.name)}")
    for volume in decl.volumes:
        _volume(out, volume, volume.disk, has_lower=False)
    for host in resource.hosts:
        _host(out, config, host)
    for conn in decl.connections:
        out.open("connection")
        for path in conn.paths:
            if not path.implicit:
                out.open("path")
            for endpoint in path.endpoints:
                text = f"host {esc(endpoint.host)}"
                if endpoint.address is not None:
                    padded = " " * (INDENT * out.indent) + f"{' address':<16} {endpoint.address.conf_text()}"
                    text += padded
                elif endpoint.port is not None:
                    text += f" port {endpoint.port}"
                out.line(text + ";")
            if not path.implicit:
                out.close()
        out.options("net", conn.net)
        out.options("disk", conn.disk)
        for peer in conn.peer_devices:
            out.open(f"volume {peer.number}")
            out.options("disk", peer.options)
            out.close()
        out.close()
    for mesh in decl.meshes:
        out.open("connection-mesh")
        out.line("hosts " + " ".join(esc(h) for h in mesh.hosts) + ";")
        out.options("net", mesh.net)
        out.close()
    _sections(out, decl.sections.named())
    out.close()
    out.lines.append("")


def _host(out: _Writer, config: DrbdConfig, host: ResolvedHost) -> None:
    section = host.section
    if section.kind is HostKind.STACKED:
        out.open(f"stacked-on-top-of {esc(section.name)}")
        lower = next((r for r in config.resources if r.name == section.name), None)
        lower_names = (
            [n for h in lower.hosts if h.kind is not HostKind.STACKED for n in h.names] if lower else []
        )
        out.line(f"# on {' '.join(lower_names)} ")
    elif section.kind is HostKind.FLOATING and section.address is not None:
        out.address("floating", section.address, " {")
        out.indent += 1
    else:
        out.open("on " + " ".join(esc(n) for n in section.names))
    if host.node_id is not None:
        out.line(f"node-id {host.node_id};")
    resolved = {v.number: v for v in host.volumes}
    for volume in section.volumes:
        if (
            volume.device is not None
            or volume.minor is not None
            or volume.has_disk_statement
            or volume.meta_disk is not None
        ):
            inherited = resolved.get(volume.number)
            disk = volume.disk
            if disk is None and inherited is not None:
                disk = inherited.disk if inherited.disk is not None else "none"
            _volume(out, volume, disk, has_lower=section.kind is HostKind.STACKED)
    if section.kind is not HostKind.FLOATING and section.address is not None:
        out.address("address", section.address, ";")
    out.close()


def _volume(out: _Writer, volume: VolumeDecl, disk: str | None, *, has_lower: bool) -> None:
    if not volume.implicit:
        out.open(f"volume {volume.number}")
    out.options("disk", _disk_order(volume.disk_options))
    if volume.device is not None or volume.minor is not None:
        name = f"{esc(volume.device)} " if volume.device is not None else ""
        pad = max(19 - INDENT * out.indent, 0)
        out.line("device" + " " * pad + f"{name}minor {volume.minor};")
    if not has_lower and volume.has_disk_statement:
        out.aligned("disk", esc(disk if disk is not None else "none"))
    meta = volume.meta_disk
    if not has_lower and meta is not None:
        if meta.kind is MetaDiskKind.INTERNAL:
            out.aligned("meta-disk", "internal")
        elif meta.kind is MetaDiskKind.FLEXIBLE:
            out.line(f"{'meta-disk':<16} {esc(meta.device or '')};")
        else:
            out.line(f"{'meta-disk':<16} {esc(meta.device or '')} [{meta.index}];")
    if not volume.implicit:
        out.close()
