"""From declarations to resolved resources: volumes and options inherited, connections and node
ids derived, and the structural rules checked (drbdadm's ``post_parse`` and ``expand_common``).

What is derived, as drbdadm derives it:
- every host section gets the resource-level volumes' device, disk and meta-disk it does not set;
- a resource without ``connection`` sections gets one implicit connection between its two hosts;
  a ``connection-mesh`` becomes one connection per pair of its hosts;
- when the two hosts of an implicit connection have no ``node-id`` (DRBD 8.4 configurations),
  node ids 0 and 1 are assigned from a CRC32C of each host's address, as drbdadm 9 does, so both
  nodes agree without talking to each other.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hapair.errors import ConfigError, SourceLocation

from .inherit import Effective, Inheriting, merged, only
from .model import (
    NOWHERE,
    Address,
    ConnectionDecl,
    Endpoint,
    HostKind,
    HostSection,
    MetaDisk,
    ResourceDecl,
    Sections,
    VolumeDecl,
)
from .names import hostname_in
from .node_ids import derived_node_ids
from .options import PEER_DEVICE_OPTIONS

PEER_DEVICE_KEYS = frozenset(PEER_DEVICE_OPTIONS)


@dataclass(frozen=True, slots=True)
class ResolvedVolume:
    """Volume N of one host section, after inheritance from the resource level."""

    number: int
    device: str  # /dev/drbdN, or the /dev/drbd_NAME given
    minor: int
    disk: str | None  # None: diskless ("disk none;" or no disk at all)
    meta_disk: MetaDisk | None
    disk_options: Effective  # disk options (not peer-device ones), common/resource/volume merged
    peer_device_options: Effective  # resync-rate, c-*, bitmap set for this volume
    location: SourceLocation


@dataclass(frozen=True, slots=True)
class ResolvedHost:
    section: HostSection
    node_id: int | None  # None only in a configuration with errors
    volumes: tuple[ResolvedVolume, ...]
    options: Effective  # the resource options (resource, then common), as `drbdsetup new-resource` gets

    @property
    def name(self) -> str:
        return self.section.names[0]

    @property
    def names(self) -> tuple[str, ...]:
        return self.section.names

    @property
    def kind(self) -> HostKind:
        return self.section.kind

    @property
    def address(self) -> Address | None:
        return self.section.address

    def volume(self, number: int) -> ResolvedVolume | None:
        for volume in self.volumes:
            if volume.number == number:
                return volume
        return None


@dataclass(frozen=True, slots=True)
class ResolvedPath:
    """One path of a connection: (host name, address) of each end, in the order written, and
    where each end's address was written."""

    ends: tuple[tuple[str, Address], tuple[str, Address]]
    locations: tuple[SourceLocation, SourceLocation]


@dataclass(frozen=True, slots=True)
class ResolvedConnection:
    hosts: tuple[str, str]  # first names of the two host sections
    paths: tuple[ResolvedPath, ...]
    net: Effective  # connection, mesh, resource and common net options merged
    peer_devices: tuple[tuple[int, Effective], ...]  # per volume number
    origin: str  # "explicit", "mesh" or "implicit"
    location: SourceLocation

    def peer_device(self, number: int) -> Effective:
        for vnr, options in self.peer_devices:
            if vnr == number:
                return options
        return {}


@dataclass(frozen=True, slots=True)
class Resource:
    """A resource with everything inherited and derived; `decl` is what was written."""

    decl: ResourceDecl
    hosts: tuple[ResolvedHost, ...]
    connections: tuple[ResolvedConnection, ...]
    net: Effective  # resource-level options with common's merged in
    disk: Effective
    options: Effective
    startup: Effective
    handlers: Effective

    @property
    def name(self) -> str:
        return self.decl.name

    @property
    def location(self) -> SourceLocation:
        return self.decl.location

    def host(self, name: str) -> ResolvedHost | None:
        """The `on` section naming `name` (hostnames compared as drbdadm compares them)."""
        for host in self.hosts:
            if host.kind is HostKind.ON and hostname_in(name, host.names):
                return host
        return None


@dataclass
class _Context:
    decl: ResourceDecl
    common: Sections | None
    errors: list[ConfigError] = field(default_factory=list)

    def error(self, where: SourceLocation, message: str) -> None:
        self.errors.append(ConfigError(where.file, where.line, message))


def resolve_resource(decl: ResourceDecl, common: Sections | None) -> tuple[Resource, list[ConfigError]]:
    ctx = _Context(decl, common)
    c = common or Sections()
    s = decl.sections
    res_disk = merged(s.disk, c.disk)
    hosts = [_resolve_host(ctx, host, res_disk) for host in decl.hosts]
    _check_volume_sets(ctx, hosts)
    connections = _connections(ctx, hosts, merged(s.net, c.net))
    hosts = _node_ids(ctx, hosts, connections)
    resource = Resource(
        decl=decl,
        hosts=tuple(hosts),
        connections=tuple(connections),
        net=merged(s.net, c.net),
        disk=res_disk,
        options=merged(s.options, c.options),
        startup=merged(s.startup, c.startup),
        handlers=merged(s.handlers, c.handlers),
    )
    return resource, ctx.errors


def _resolve_host(ctx: _Context, host: HostSection, res_disk: Effective) -> ResolvedHost:
    decl = ctx.decl
    own = {v.number: v for v in host.volumes}
    numbers = sorted(set(own) | {v.number for v in decl.volumes})
    volumes: list[ResolvedVolume] = []
    for number in numbers:
        mine = own.get(number) or VolumeDecl(number, implicit=True, location=host.location)
        theirs = next((v for v in decl.volumes if v.number == number), None)
        volumes.append(_resolve_volume(ctx, host, mine, theirs, res_disk))
    options = merged(decl.sections.options, (ctx.common or Sections()).options)
    return ResolvedHost(host, host.node_id, tuple(volumes), options)


def _resolve_volume(
    ctx: _Context, host: HostSection, mine: VolumeDecl, theirs: VolumeDecl | None, res_disk: Effective
) -> ResolvedVolume:
    device = mine.device if mine.device is not None else (theirs.device if theirs else None)
    minor = mine.minor if mine.minor is not None else (theirs.minor if theirs else None)
    disk = mine.disk if mine.disk is not None else (theirs.disk if theirs else None)
    meta = mine.meta_disk if mine.meta_disk is not None else (theirs.meta_disk if theirs else None)
    options = Inheriting.explicit(mine.disk_options)
    options.expand(res_disk.values(), ctx.errors, ctx.decl.location, ctx.decl.name)
    if theirs is not None:
        options.expand(theirs.disk_options, ctx.errors, ctx.decl.location, ctx.decl.name)
    where = f"in resource {ctx.decl.name}, on {' '.join(host.names)} {{ ... }}"
    if host.kind is not HostKind.STACKED:
        if minor is None:
            ctx.error(host.location, f"{where}: 'device' keyword missing (volume {mine.number})")
        if disk != "none" and (disk is not None or meta is not None):
            if disk is None:
                ctx.error(host.location, f"{where}: 'disk' keyword missing (volume {mine.number})")
            if meta is None:
                ctx.error(host.location, f"{where}: 'meta-disk' keyword missing (volume {mine.number})")
    effective = options.freeze()
    return ResolvedVolume(
        number=mine.number,
        device=device if device is not None else f"/dev/drbd{minor if minor is not None else 0}",
        minor=minor if minor is not None else -1,
        disk=None if disk in (None, "none") else disk,
        meta_disk=None if disk == "none" else meta,
        disk_options=only(effective, PEER_DEVICE_KEYS, keep=False),
        peer_device_options=only(effective, PEER_DEVICE_KEYS),
        location=_first_known(
            mine.device_location, theirs.device_location if theirs else None, host.location
        ),
    )


def _first_known(*locations: SourceLocation | None) -> SourceLocation:
    for location in locations:
        if location is not None and location.line:
            return location
    return NOWHERE


def _check_volume_sets(ctx: _Context, hosts: list[ResolvedHost]) -> None:
    if not hosts:
        return
    first = hosts[0]
    want = [v.number for v in first.volumes]
    for other in hosts[1:]:
        have = [v.number for v in other.volumes]
        for number in want:
            if number not in have:
                ctx.error(
                    first.section.location,
                    f"in resource {ctx.decl.name}, on {first.name} {{ ... }}: volume {number} not defined on "
                    f"{other.name}",
                )
        for number in have:
            if number not in want:
                ctx.error(
                    other.section.location,
                    f"in resource {ctx.decl.name}, on {other.name} {{ ... }}: volume {number} missing on "
                    f"{first.name}",
                )


def _find_host(hosts: list[ResolvedHost], name: str) -> ResolvedHost | None:
    for host in hosts:
        if hostname_in(name, host.names):
            return host
    return None


def _connections(ctx: _Context, hosts: list[ResolvedHost], res_net: Effective) -> list[ResolvedConnection]:
    decl = ctx.decl
    out: list[ResolvedConnection] = []
    for conn in decl.connections:
        resolved = _explicit_connection(ctx, conn, hosts, res_net)
        if resolved is not None:
            out.append(resolved)
    for mesh in decl.meshes:
        members: list[ResolvedHost] = []
        for name in mesh.hosts:
            host = _find_host(hosts, name)
            if host is None:
                ctx.error(
                    mesh.location,
                    f"in resource {decl.name}: there is no 'on' section for hostname '{name}' named in the "
                    "connection-mesh",
                )
            elif host not in members:
                members.append(host)
        for a, b in itertools.combinations(members, 2):
            path = _host_path(ctx, (a, b), mesh.location)
            if path is not None:
                net = Inheriting.explicit(())
                net.expand(mesh.net, ctx.errors, decl.location, decl.name)
                net.expand(res_net.values(), ctx.errors, decl.location, decl.name)
                out.append(
                    _with_peer_devices(
                        ctx,
                        (a, b),
                        (path,),
                        net=net.freeze(),
                        conn=None,
                        origin="mesh",
                        location=mesh.location,
                    )
                )
    if not decl.connections and not decl.meshes:
        if len(hosts) > 2:
            ctx.error(
                decl.location,
                f"resource {decl.name}: use explicit 'connection' sections (or a 'connection-mesh') with "
                "more than two host sections",
            )
        elif len(hosts) == 2:
            path = _host_path(ctx, (hosts[0], hosts[1]), None)
            if path is not None:
                out.append(
                    _with_peer_devices(
                        ctx,
                        (hosts[0], hosts[1]),
                        (path,),
                        net=dict(res_net),
                        conn=None,
                        origin="implicit",
                        location=decl.location,
                    )
                )
    return out


def _host_path(
    ctx: _Context, pair: tuple[ResolvedHost, ResolvedHost], mesh: SourceLocation | None
) -> ResolvedPath | None:
    """The path between the addresses of two host sections (implicit and mesh connections)."""
    decl = ctx.decl
    missing = False
    for host in pair:
        if host.address is not None:
            continue
        missing = True
        if mesh is None:
            where = f"in resource {decl.name}, on {host.name} {{ ... }}: 'address' keyword missing"
            ctx.error(host.section.location, where)
        else:
            ctx.error(
                mesh,
                f'"connection-mesh" (for "{decl.name}") with a host ("{host.name}") that has no '
                '"address" defined',
            )
    a, b = pair
    if missing or a.address is None or b.address is None:
        return None
    return ResolvedPath(
        ((a.name, a.address), (b.name, b.address)),
        (a.section.address_location, b.section.address_location),
    )


def _explicit_connection(
    ctx: _Context, conn: ConnectionDecl, hosts: list[ResolvedHost], res_net: Effective
) -> ResolvedConnection | None:
    decl = ctx.decl
    paths: list[ResolvedPath] = []
    pair: tuple[ResolvedHost, ResolvedHost] | None = None
    if not conn.paths:
        ctx.error(conn.location, f"Resource {decl.name}: connection needs to have two endpoints")
        return None
    for path in conn.paths:
        if len(path.endpoints) != 2:
            kind = "connection" if path.implicit else "path"
            ctx.error(path.location, f"Resource {decl.name}: {kind} needs to have two endpoints")
            return None
        ends: list[tuple[str, Address]] = []
        found: list[ResolvedHost] = []
        for endpoint in path.endpoints:
            resolved = _endpoint(ctx, endpoint, hosts)
            if resolved is None:
                return None
            found.append(resolved[0])
            ends.append((resolved[0].name, resolved[1]))
        if found[0] is found[1]:
            ctx.error(
                path.location,
                f"in resource {decl.name}: both ends of a connection name the same host section",
            )
            return None
        if pair is not None and {id(h) for h in pair} != {id(h) for h in found}:
            ctx.error(
                path.location,
                f"in resource {decl.name}: all paths of a connection must join the same two hosts",
            )
            return None
        pair = (found[0], found[1])
        if ends[0][1] == ends[1][1]:
            ctx.error(
                path.location, f"in resource {decl.name} {ends[0][1].setup_text()} is used for both endpoints"
            )
        paths.append(
            ResolvedPath((ends[0], ends[1]), (path.endpoints[0].location, path.endpoints[1].location))
        )
    assert pair is not None
    net = merged(conn.net, res_net.values())
    return _with_peer_devices(
        ctx, pair, tuple(paths), net=net, conn=conn, origin="explicit", location=conn.location
    )


def _endpoint(
    ctx: _Context, endpoint: Endpoint, hosts: list[ResolvedHost]
) -> tuple[ResolvedHost, Address] | None:
    decl = ctx.decl
    host = _find_host(hosts, endpoint.host)
    if host is None:
        ctx.error(
            endpoint.location,
            f'in resource {decl.name} a hostname ("{endpoint.host}") is given with a "host" keyword, '
            'and has no matching host section ("on" keyword)',
        )
        return None
    address = endpoint.address or host.address
    if address is None:
        ctx.error(
            endpoint.location,
            f"Resource {decl.name}, host {endpoint.host}: cannot determine which address to use",
        )
        return None
    if endpoint.port is not None:
        address = Address(address.family, address.host, endpoint.port)
    return host, address


def _with_peer_devices(
    ctx: _Context,
    pair: tuple[ResolvedHost, ResolvedHost],
    paths: tuple[ResolvedPath, ...],
    *,
    net: Effective,
    conn: ConnectionDecl | None,
    origin: str,
    location: SourceLocation,
) -> ResolvedConnection:
    decl = ctx.decl
    numbers = sorted({v.number for h in pair for v in h.volumes})
    explicit = {p.number: p for p in conn.peer_devices} if conn is not None else {}
    for number, declared in explicit.items():
        if number not in numbers:
            ctx.error(
                declared.location,
                f"Resource {decl.name}: there is a reference to a volume {number} that is not known in this "
                "resource",
            )
    devices: list[tuple[int, Effective]] = []
    for number in numbers:
        pd = Inheriting.explicit(explicit[number].options if number in explicit else ())
        if conn is not None:
            pd.expand(conn.disk, ctx.errors, decl.location, decl.name)
        for host in pair:
            volume = host.volume(number)
            if volume is not None:
                pd.expand(volume.peer_device_options.values(), ctx.errors, decl.location, decl.name)
        devices.append((number, pd.freeze()))
    names = (pair[0].name, pair[1].name)
    return ResolvedConnection(names, paths, net, tuple(devices), origin, location)


def _node_ids(
    ctx: _Context, hosts: list[ResolvedHost], connections: list[ResolvedConnection]
) -> list[ResolvedHost]:
    decl = ctx.decl
    if (
        len(connections) == 1
        and connections[0].origin == "implicit"
        and len(hosts) == 2
        and hosts[0].node_id is None
        and hosts[1].node_id is None
    ):
        ids = derived_node_ids(*(h.address.host for h in hosts if h.address is not None))
        if ids is None:
            ctx.error(
                decl.location,
                f"in resource {decl.name}: cannot derive node ids (equal address hashes); set 'node-id' in "
                "each host section",
            )
            return hosts
        first, second = ids
        return [_with_node_id(hosts[0], first), _with_node_id(hosts[1], second)]
    seen: dict[int, ResolvedHost] = {}
    for host in hosts:
        if host.node_id is None:
            if host.kind is not HostKind.STACKED:
                ctx.error(
                    host.section.location,
                    f"in resource {decl.name}, on {' '.join(host.names)} {{ ... }}: 'node-id' keyword "
                    "missing",
                )
            continue
        other = seen.get(host.node_id)
        if other is not None:
            ctx.error(
                host.section.location,
                f"in resource {decl.name}: node-id {host.node_id} is used by {other.name} and {host.name}",
            )
        seen[host.node_id] = host
    return hosts


def _with_node_id(host: ResolvedHost, node_id: int) -> ResolvedHost:
    return ResolvedHost(host.section, node_id, host.volumes, host.options)
