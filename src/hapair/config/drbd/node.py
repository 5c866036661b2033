"""One resource seen from one node: what the volume engine needs, typed.

A `NodeView` is what ``drbdadm up`` would configure on that node: the local volumes (device,
backing disk, meta-data, disk options), one `PeerLink` per connection to another host (addresses,
net options, per-volume resync options), the resource options, startup options and handlers.

"This node" is the host section whose ``on NAME`` matches the host name as drbdadm matches it
(`hapair.config.drbd.names.hostnames_equal`), or a ``floating ADDR:PORT`` section whose address is
one of the node's addresses. The lab runs both nodes on one machine and passes ``--node NAME``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from hapair.errors import ConfigError, SourceLocation

from .inherit import Effective
from .model import Address, HostKind, MetaDisk
from .names import hostname_in
from .resolve import ResolvedHost, ResolvedVolume, Resource
from .typed import (
    DiskOptions,
    Handlers,
    NetOptions,
    PeerDeviceOptions,
    ResourceOptions,
    StartupOptions,
    disk_options,
    handlers,
    net_options,
    peer_device_options,
    resource_options,
    startup_options,
)


@dataclass(frozen=True, slots=True)
class LocalVolume:
    number: int
    device: str
    minor: int
    disk: str | None  # None: this node is diskless for the volume
    meta_disk: MetaDisk | None
    options: DiskOptions


@dataclass(frozen=True, slots=True)
class PeerVolume:
    number: int
    options: PeerDeviceOptions


@dataclass(frozen=True, slots=True)
class PeerLink:
    """The connection from this node to one peer."""

    name: str
    node_id: int
    paths: tuple[tuple[Address, Address], ...]  # (local address, peer address) per path
    net: NetOptions
    volumes: tuple[PeerVolume, ...]

    @property
    def local_address(self) -> Address:
        return self.paths[0][0]

    @property
    def address(self) -> Address:
        return self.paths[0][1]

    def volume(self, number: int) -> PeerDeviceOptions:
        for volume in self.volumes:
            if volume.number == number:
                return volume.options
        raise KeyError(number)


@dataclass(frozen=True, slots=True)
class NodeView:
    resource: str
    node_name: str
    node_id: int
    address: Address | None
    volumes: tuple[LocalVolume, ...]
    peers: tuple[PeerLink, ...]
    options: ResourceOptions
    startup: StartupOptions
    handlers: Handlers
    location: SourceLocation

    @property
    def peer(self) -> PeerLink:
        """The one peer of a two-node resource."""
        if len(self.peers) != 1:
            raise ConfigError(
                self.location.file,
                self.location.line,
                f"resource {self.resource} has {len(self.peers)} peers for {self.node_name}; hapair runs "
                "two-node resources",
            )
        return self.peers[0]

    def volume(self, number: int) -> LocalVolume:
        for volume in self.volumes:
            if volume.number == number:
                return volume
        raise KeyError(number)


def matching_hosts(
    resource: Resource, hostname: str, local_addresses: Collection[str] = ()
) -> list[ResolvedHost]:
    """Every host section of `resource` that describes the node named `hostname`."""
    out: list[ResolvedHost] = []
    for host in resource.hosts:
        if (host.kind is HostKind.ON and hostname_in(hostname, host.names)) or (
            host.kind is HostKind.FLOATING
            and host.address is not None
            and (host.address.host in local_addresses or host.address.host == hostname)
        ):
            out.append(host)
    return out


def build_node_view(
    resource: Resource, host: ResolvedHost, minors: Mapping[tuple[str, int], int]
) -> NodeView:
    """The view of `resource` from `host`. `minors` maps (resource, volume) to minor numbers (to
    turn ``resync-after RESOURCE[/VOLUME]`` into the minor DRBD waits for, see `volume_minors`)."""
    where = host.section.location
    if host.kind is HostKind.STACKED:
        raise ConfigError(
            where.file,
            where.line,
            f"resource {resource.name}: stacked resources (stacked-on-top-of) are not supported by hapair",
        )
    if host.node_id is None:
        raise ConfigError(where.file, where.line, f"resource {resource.name}: no node-id for {host.name}")
    volumes = tuple(
        LocalVolume(
            number=v.number,
            device=v.device,
            minor=v.minor,
            disk=v.disk,
            meta_disk=v.meta_disk,
            options=disk_options(v.disk_options, _after_minor(v.disk_options, minors)),
        )
        for v in host.volumes
    )
    peers: list[PeerLink] = []
    for conn in resource.connections:
        if host.name not in conn.hosts:
            continue
        mine = conn.hosts.index(host.name)
        peer_name = conn.hosts[1 - mine]
        peer = next(h for h in resource.hosts if h.name == peer_name)
        if peer.node_id is None:
            raise ConfigError(where.file, where.line, f"resource {resource.name}: no node-id for {peer.name}")
        paths = tuple((p.ends[mine][1], p.ends[1 - mine][1]) for p in conn.paths)
        peers.append(
            PeerLink(
                name=peer.name,
                node_id=peer.node_id,
                paths=paths,
                net=net_options(conn.net, host.names),
                volumes=tuple(
                    PeerVolume(number, _peer_device(opts, peer.volume(number)))
                    for number, opts in conn.peer_devices
                ),
            )
        )
    return NodeView(
        resource=resource.name,
        node_name=host.name,
        node_id=host.node_id,
        address=host.address,
        volumes=volumes,
        peers=tuple(peers),
        options=resource_options(host.options),
        startup=startup_options(resource.startup),
        handlers=handlers(resource.handlers),
        location=resource.location,
    )


def _peer_device(options: Effective, peer_volume: ResolvedVolume | None) -> PeerDeviceOptions:
    """Typed peer-device options; no bitmap towards a diskless peer, as drbdadm adds
    ``bitmap no`` for it (``add_no_bitmap_opt``)."""
    typed = peer_device_options(options)
    if peer_volume is not None and peer_volume.disk is None:
        return replace(typed, bitmap=False)
    return typed


def _after_minor(options: Effective, minors: Mapping[tuple[str, int], int]) -> int:
    """``resync-after RESOURCE[/VOLUME]`` as the minor number DRBD waits for (-1: none)."""
    option = options.get("resync-after")
    if option is None:
        return -1
    name, _, volume = str(option.value).partition("/")
    return minors.get((name, int(volume) if volume.isdigit() else 0), -1)


def volume_minors(resources: Sequence[Resource], host_name: str | None) -> dict[tuple[str, int], int]:
    """(resource, volume) -> minor on `host_name` (or on the resource's first host section)."""
    out: dict[tuple[str, int], int] = {}
    for resource in resources:
        hosts = [
            h for h in resource.hosts if host_name is not None and hostname_in(host_name, h.names)
        ] or list(resource.hosts)
        if hosts:
            for volume in hosts[0].volumes:
                out[(resource.name, volume.number)] = volume.minor
    return out
