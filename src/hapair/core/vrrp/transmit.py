"""What an instance puts on the wire: adverts (one per unicast peer) and gratuitous ARP batches.

`AdvertBuilder` keeps the per-instance IPv4 identification counter and builds the exact bytes
keepalived 2.2.7 sends: for IPv4 the whole datagram (TOS 0xc0, ID counting from 1 and skipping 0,
no DF, TTL 255 or `unicast_ttl`, protocol 112, header checksum filled in), for IPv6 the VRRP message.
One advert to N unicast peers is N datagrams with the same ID, each checksummed for its own peer.

`garp_batch` expands keepalived's `vrrp_send_link_update`: `repeat` rounds, each over the VIPs then
the excluded VIPs, with its -D log lines.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from hapair.core.vrrp.events import Effect, GarpTarget, LogLine, SendAdvert, SendGarps
from hapair.core.vrrp.packet import AdvertPacket, ChecksumForm
from hapair.core.vrrp.settings import InstanceSettings, VirtualIp
from hapair.core.vrrp.wire import VRRP_TTL, IPAddress, build_ipv4_datagram


class AdvertBuilder:
    """Builds one instance's adverts; holds the IP identification counter across sends."""

    def __init__(self, settings: InstanceSettings, source: IPAddress) -> None:
        self._settings = settings
        self.source = source
        self.ip_id = 0
        self.old_unicast_checksum = False

    def packet(self, priority: int) -> AdvertPacket:
        s = self._settings
        addresses: tuple[IPv4Address, ...] | tuple[IPv6Address, ...]
        if s.ipv6:
            addresses = tuple(IPv6Address(v.ip) for v in s.vips)
        else:
            addresses = tuple(IPv4Address(v.ip) for v in s.vips)
        return AdvertPacket(
            version=s.version,
            vrid=s.virtual_router_id,
            priority=priority,
            addresses=addresses,
            adver_int=s.wire_adver_int,
            auth_type=s.auth_type if s.version == 2 else 0,
            auth_data=s.auth_data,
        )

    def checksum_form(self) -> ChecksumForm:
        s = self._settings
        if s.version == 2:
            return ChecksumForm.V2
        if s.ipv6:
            return ChecksumForm.IPV6
        if s.v3_checksum_as_v2:
            return ChecksumForm.NO_PSEUDO_HEADER
        if self.old_unicast_checksum:
            return ChecksumForm.PSEUDO_HEADER_MULTICAST
        return ChecksumForm.PSEUDO_HEADER

    def destinations(self) -> tuple[IPAddress, ...]:
        s = self._settings
        if s.unicast:
            return tuple(p.address for p in s.unicast_peers)
        return (s.multicast_group,)

    def build(self, priority: int) -> list[SendAdvert]:
        """The datagrams of one advert at `priority` (several for several unicast peers)."""
        s = self._settings
        packet = self.packet(priority)
        form = self.checksum_form()
        ttl = s.unicast_ttl if s.unicast else VRRP_TTL
        if not s.ipv6:
            self.ip_id = self.ip_id % 0xFFFF + 1  # keepalived skips 0: the kernel would fill it in
        sends: list[SendAdvert] = []
        for destination in self.destinations():
            message = packet.encode(self.source, destination, form)
            if isinstance(self.source, IPv4Address) and isinstance(destination, IPv4Address):
                data = build_ipv4_datagram(message, self.source, destination, self.ip_id, ttl)
            else:
                data = message
            sends.append(SendAdvert(s.name, s.interface, data, self.source, destination, priority))
        return sends


def vip_interface(settings: InstanceSettings, vip: VirtualIp) -> str:
    """The interface a VIP lives on: its own `dev`, else the instance's interface."""
    return vip.device or settings.interface or "?"


def placed_vips(settings: InstanceSettings) -> tuple[VirtualIp, ...]:
    """VIPs and excluded VIPs with `device` resolved, in keepalived's order."""
    return tuple(
        VirtualIp(v.address, vip_interface(settings, v), v.label, v.scope) for v in settings.all_vips()
    )


def garp_batch(settings: InstanceSettings, repeat: int) -> list[Effect]:
    """The -D log lines and the `SendGarps` of one batch of `repeat` rounds over all VIPs."""
    if repeat <= 0 or not settings.all_vips():
        return []
    logs: list[Effect] = []
    targets: list[GarpTarget] = []
    for round_no in range(repeat):
        for vip in settings.all_vips():
            iface = vip_interface(settings, vip)
            v6 = isinstance(vip.ip, IPv6Address)
            if round_no == 0:
                what = "Unsolicited Neighbour Adverts" if v6 else "gratuitous ARPs"
                logs.append(
                    LogLine(
                        f"({settings.name}) Sending/queueing {what} on {iface} for {vip.ip}", detailed=True
                    )
                )
            what_one = "unsolicited Neighbour Advert" if v6 else "gratuitous ARP"
            logs.append(LogLine(f"Sending {what_one} on {iface} for {vip.ip}", detailed=True))
            targets.append(GarpTarget(iface, vip.ip))
    return [*logs, SendGarps(settings.name, tuple(targets))]
