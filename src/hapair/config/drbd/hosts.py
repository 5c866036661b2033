"""Host sections (``on``, ``floating``, ``stacked-on-top-of``), volumes, ``connection``, ``path``
and ``connection-mesh`` declarations inside a resource."""

from __future__ import annotations

from dataclasses import dataclass, field

from hapair.errors import SourceLocation

from .lexer import Token, TokenKind
from .model import (
    NOWHERE,
    ConnectionDecl,
    Endpoint,
    HostKind,
    HostSection,
    MeshDecl,
    MetaDisk,
    OptionSection,
    PathDecl,
    PeerDeviceDecl,
    VolumeDecl,
)
from .sections import (
    NODE_ID_MAX,
    VOLUME_MAX,
    Reporter,
    Section,
    SectionBuilder,
    parse_address,
    parse_device,
    parse_integer,
    parse_meta_disk,
    parse_option,
)
from .syntax import Statement


def options_block(statement: Statement, section: Section, report: Reporter) -> OptionSection:
    """The options of ``NAME { ... }`` for a section that may only hold `section`'s options."""
    builder = SectionBuilder(location=statement.location)
    for st in statement.block or ():
        result = parse_option(st, section, report)
        if result is None:
            continue
        target, value = result
        if target is not section:
            report.at(
                value.location, f"'{value.name}' belongs in the resource's {target.value} section, not here"
            )
            continue
        builder.add(value, report)
    return builder.freeze()


@dataclass
class VolumeBuilder:
    """Collects ``device``, ``disk`` and ``meta-disk`` statements of one volume."""

    number: int
    implicit: bool
    location: SourceLocation
    device: str | None = None
    minor: int | None = None
    disk: str | None = None
    meta_disk: MetaDisk | None = None
    disk_options: OptionSection | None = None
    has_disk_statement: bool = False
    seen: dict[str, SourceLocation] = field(default_factory=dict)

    @property
    def touched(self) -> bool:
        return bool(self.seen)

    def statement(self, st: Statement, report: Reporter, allowed: tuple[str, ...] = ()) -> None:
        key = st.keyword
        if key == "skip":
            return
        if allowed and key not in allowed:
            report.at(
                st.words[0], f"Parse error: {' | '.join(allowed)} expected, but got {st.words[0].shown()}"
            )
            return
        slot = "disk-options" if key == "disk" and st.block is not None else key
        slot = "meta-disk" if slot == "flexible-meta-disk" else slot
        if slot in ("device", "disk", "disk-options", "meta-disk"):
            first = self.seen.get(slot)
            if first is not None:
                report.at(
                    st, f"'{key}' given twice for volume {self.number} (first at {first.file}:{first.line})"
                )
                return
            self.seen[slot] = st.location
        if slot == "device":
            device = parse_device(st, report)
            if device is not None:
                self.device, self.minor = device
        elif slot == "disk-options":
            if not report.extra_words(st, 1):
                self.disk_options = options_block(st, Section.DISK, report)
                self.has_disk_statement = True
        elif slot == "disk":
            args = st.args
            if len(args) != 1 or not args[0].is_value:
                report.at(st, "Parse error: 'disk PATH;', 'disk none;' or 'disk { options }' expected")
            else:
                self.disk = args[0].text
                self.has_disk_statement = True
        elif slot == "meta-disk":
            self.meta_disk = parse_meta_disk(st, report, flexible=key == "flexible-meta-disk")
        else:
            report.at(
                st.words[0],
                "Parse error: 'device | disk | meta-disk | flexible-meta-disk' expected, but got "
                f"{st.words[0].shown()}",
            )

    def freeze(self) -> VolumeDecl:
        return VolumeDecl(
            number=self.number,
            implicit=self.implicit,
            device=self.device,
            minor=self.minor,
            disk=self.disk,
            meta_disk=self.meta_disk,
            disk_options=self.disk_options or OptionSection(),
            location=self.location,
            has_disk_statement=self.has_disk_statement,
            device_location=self.seen.get("device", NOWHERE),
        )


class HostInterpreter:
    """Reads the host, connection and mesh statements of one resource."""

    def __init__(self, resource: str, report: Reporter) -> None:
        self.resource = resource
        self.report = report
        self.hosts: list[HostSection] = []
        self.connections: list[ConnectionDecl] = []
        self.meshes: list[MeshDecl] = []

    def statement(self, st: Statement) -> None:
        match st.keyword:
            case "on":
                self._on(st)
            case "floating":
                self._floating(st)
            case "stacked-on-top-of":
                self._stacked(st)
            case "connection":
                self._connection(st)
            case "connection-mesh":
                self._mesh(st)

    def _names(self, tokens: tuple[Token, ...], st: Statement) -> tuple[str, ...] | None:
        bad = [t for t in tokens if not t.is_value]
        if not tokens or bad:
            where = bad[0] if bad else st.words[0]
            self.report.at(where, f"Parse error: host name expected after '{st.keyword}'")
            return None
        return tuple(t.text for t in tokens)

    def _on(self, st: Statement) -> None:
        names = self._names(st.args, st)
        if names is None:
            return
        if st.block is None:
            self.report.at(st, "Parse error: '{' expected after 'on HOST'")
            return
        self.hosts.append(self._host_body(st, HostKind.ON, names))

    def _floating(self, st: Statement) -> None:
        address, used = parse_address(st.args, st, self.report)
        if address is None:
            return
        if self.report.extra_words(st, used + 1):
            return
        name = (
            f"ipv6 [{address.host}]:{address.port}"
            if address.family == "ipv6"
            else f"{address.host}:{address.port}"
        )
        host = self._host_body(st, HostKind.FLOATING, (name,))
        self.hosts.append(
            HostSection(
                host.kind,
                host.names,
                host.node_id,
                address,
                host.volumes,
                host.location,
                st.location,
            )
        )

    def _stacked(self, st: Statement) -> None:
        names = self._names(st.args, st)
        if names is None or st.block is None or len(names) != 1:
            self.report.at(st, "Parse error: 'stacked-on-top-of RESOURCE { ... }' expected")
            return
        self.hosts.append(self._host_body(st, HostKind.STACKED, names))

    def _host_body(self, st: Statement, kind: HostKind, names: tuple[str, ...]) -> HostSection:
        report = self.report
        node_id: int | None = None
        address = None
        seen: dict[str, SourceLocation] = {}
        implicit = VolumeBuilder(0, implicit=True, location=st.location)
        explicit: dict[int, VolumeBuilder] = {}
        volume_words = (
            ("device",) if kind is HostKind.STACKED else ("device", "disk", "meta-disk", "flexible-meta-disk")
        )
        for inner in st.block or ():
            key = inner.keyword
            if key in ("node-id", "address") and key in seen:
                first = seen[key]
                report.at(
                    inner, f"'{key}' given twice in this host section (first at {first.file}:{first.line})"
                )
                continue
            if key == "skip":
                continue
            if key == "node-id" and kind is not HostKind.STACKED:
                seen[key] = inner.location
                node_id = parse_integer(
                    inner.args[0] if inner.args else None, "node-id", 0, NODE_ID_MAX, report, at=inner
                )
                report.extra_words(inner, 2)
            elif key == "address" and kind is not HostKind.FLOATING:
                seen[key] = inner.location
                address, used = parse_address(inner.args, inner, report)
                if address is not None:
                    report.extra_words(inner, used + 1)
            elif key == "options" and kind is HostKind.ON and inner.block is not None:
                # drbdadm 9.22 reads `options` in a host section but never applies them.
                report.at(
                    inner, "resource options belong in the resource's options section, not in a host section"
                )
            elif key in volume_words:
                if explicit:
                    report.at(
                        inner,
                        "Explicit and implicit volumes not allowed (use 'volume N { ... }' for every volume)",
                    )
                else:
                    implicit.statement(inner, report)
            elif key == "volume":
                self._volume(inner, implicit, explicit, kind)
            elif key == "proxy":
                report.at(inner, "'proxy' (DRBD proxy) is not supported by hapair")
            else:
                allowed = (
                    "device | address | volume"
                    if kind is HostKind.STACKED
                    else "disk | device | address | meta-disk | node-id | volume | options"
                )
                if kind is HostKind.FLOATING:
                    allowed = allowed.replace("address | ", "")
                report.at(
                    inner.words[0], f"Parse error: '{allowed}' expected, but got {inner.words[0].shown()}"
                )
        vols = [v.freeze() for v in sorted(explicit.values(), key=lambda v: v.number)]
        if implicit.touched:
            vols = [implicit.freeze()]
        address_location = seen.get("address", NOWHERE)
        return HostSection(kind, names, node_id, address, tuple(vols), st.location, address_location)

    def _volume(
        self, st: Statement, implicit: VolumeBuilder, explicit: dict[int, VolumeBuilder], kind: HostKind
    ) -> None:
        report = self.report
        if implicit.touched:
            report.at(
                st, "Explicit and implicit volumes not allowed (use 'volume N { ... }' for every volume)"
            )
            return
        if st.block is None:
            report.at(st, "Parse error: '{' expected after 'volume N'")
            return
        number = parse_integer(st.args[0] if st.args else None, "volume number", 0, VOLUME_MAX, report, at=st)
        if number is None or report.extra_words(st, 2):
            return
        if number in explicit:
            report.at(st, f"volume {number} is defined twice in this host section")
            return
        volume = VolumeBuilder(number, implicit=False, location=st.location)
        allowed = ("device", "disk") if kind is HostKind.STACKED else ()
        for inner in st.block:
            if kind is HostKind.STACKED and inner.keyword == "disk" and inner.block is None:
                report.at(
                    inner,
                    "a stacked volume takes its disk from the lower resource; only 'disk { options }' is "
                    "allowed",
                )
                continue
            volume.statement(inner, report, allowed)
        explicit[number] = volume

    def _endpoint(self, st: Statement) -> Endpoint | None:
        report = self.report
        words = st.args
        if not words or not words[0].is_value:
            report.at(st, "Parse error: 'host NAME [address [AF] ADDR:PORT | port N];' expected")
            return None
        host = words[0].text
        rest = words[1:]
        address = None
        port = None
        if rest and rest[0].kind is TokenKind.WORD and rest[0].text == "address":
            address, used = parse_address(rest[1:], st, report)
            if address is None:
                return None
            rest = rest[1 + used :]
        elif rest and rest[0].kind is TokenKind.WORD and rest[0].text == "port":
            port = parse_integer(rest[1] if len(rest) > 1 else None, "port", 1, 65535, report, at=st)
            if port is None:
                return None
            rest = rest[2:]
        if rest or st.block is not None:
            if rest and rest[0].kind is TokenKind.WORD and rest[0].text == "via":
                report.at(rest[0], "'via proxy' (DRBD proxy) is not supported by hapair")
            else:
                where = rest[0] if rest else st
                got = rest[0].shown() if rest else "'{'"
                report.at(where, f"Parse error: 'address | port | ;' expected, but got {got}")
            return None
        return Endpoint(host, address, port, st.location)

    def _path_hosts(self, statements: list[Statement]) -> list[Endpoint]:
        endpoints: list[Endpoint] = []
        for st in statements:
            endpoint = self._endpoint(st)
            if endpoint is None:
                continue
            if len(endpoints) == 2:
                self.report.at(st, "only two 'host' keywords per connection or path allowed")
                continue
            endpoints.append(endpoint)
        return endpoints

    def _connection(self, st: Statement) -> None:
        report = self.report
        if st.block is None:
            report.at(st, "Parse error: '{' expected after 'connection'")
            return
        args = st.args
        name: str | None = None
        if args:
            if not args[0].is_value or len(args) > 1:
                report.at(args[-1], "Parse error: '<connection name> | {' expected")
                return
            name = args[0].text
        hosts: list[Statement] = []
        paths: list[PathDecl] = []
        net = OptionSection()
        disk = OptionSection()
        peer_devices: dict[int, PeerDeviceDecl] = {}
        seen: dict[str, SourceLocation] = {}
        for inner in st.block:
            key = inner.keyword
            if key in ("net", "disk") and inner.block is not None:
                if key in seen:
                    report.at(inner, f"only one '{key}' section per connection allowed")
                    continue
                seen[key] = inner.location
                if key == "net":
                    net = options_block(inner, Section.NET, report)
                else:
                    disk = options_block(inner, Section.PEER_DEVICE, report)
            elif key == "host":
                hosts.append(inner)
            elif key == "path" and inner.block is not None:
                endpoints = self._path_hosts([s for s in inner.block if s.keyword == "host"])
                for other in inner.block:
                    if other.keyword != "host":
                        report.at(
                            other.words[0],
                            f"Parse error: 'host' expected in a path, but got {other.words[0].shown()}",
                        )
                paths.append(PathDecl(tuple(endpoints), False, inner.location))
            elif key == "volume" and inner.block is not None:
                peer = self._peer_device(inner)
                if peer is not None:
                    if peer.number in peer_devices:
                        report.at(inner, f"volume {peer.number} given twice in this connection")
                    peer_devices[peer.number] = peer
            elif key == "skip":
                continue
            else:
                report.at(
                    inner.words[0],
                    "Parse error: 'host | path | net | disk | volume | skip' expected, but got "
                    f"{inner.words[0].shown()}",
                )
        if hosts and paths:
            report.at(st, "a connection has either 'host' statements or 'path' sections, not both")
            return
        if hosts:
            paths = [PathDecl(tuple(self._path_hosts(hosts)), True, st.location)]
        self.connections.append(
            ConnectionDecl(
                name,
                tuple(paths),
                net,
                disk,
                tuple(sorted(peer_devices.values(), key=lambda p: p.number)),
                st.location,
            )
        )

    def _peer_device(self, st: Statement) -> PeerDeviceDecl | None:
        report = self.report
        number = parse_integer(st.args[0] if st.args else None, "volume number", 0, VOLUME_MAX, report, at=st)
        if number is None or report.extra_words(st, 2):
            return None
        options = OptionSection()
        for inner in st.block or ():
            if inner.keyword == "disk" and inner.block is not None and len(inner.words) == 1:
                options = options_block(inner, Section.PEER_DEVICE, report)
            else:
                report.at(
                    inner.words[0],
                    f"Parse error: 'disk {{ ... }}' expected, but got {inner.words[0].shown()}",
                )
        return PeerDeviceDecl(number, options, st.location)

    def _mesh(self, st: Statement) -> None:
        report = self.report
        if st.block is None or report.extra_words(st, 1):
            if st.block is None:
                report.at(st, "Parse error: '{' expected after 'connection-mesh'")
            return
        hosts: tuple[str, ...] = ()
        net = OptionSection()
        for inner in st.block:
            if inner.keyword == "hosts" and inner.block is None:
                names = self._names(inner.args, inner)
                if hosts:
                    report.at(inner, "only one 'hosts' statement per connection-mesh allowed")
                elif names is not None:
                    hosts = names
            elif inner.keyword == "net" and inner.block is not None:
                net = options_block(inner, Section.NET, report)
            else:
                report.at(
                    inner.words[0], f"Parse error: 'hosts | net' expected, but got {inner.words[0].shown()}"
                )
        if not hosts:
            report.at(st, "connection-mesh needs a 'hosts NAME...;' statement")
            return
        self.meshes.append(MeshDecl(hosts, net, st.location))
