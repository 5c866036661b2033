"""Gratuitous ARP and unsolicited neighbour advertisement frames, byte for byte as keepalived sends them.

The shell sends these on an AF_PACKET socket bound to the interface (`vrrp/vrrp_arp.c`,
`vrrp/vrrp_ndisc.c`); building them is pure, so they are checked against keepalived's captures.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

from hapair.core.vrrp.wire import internet_checksum, ipv6_pseudo_header

ETH_BROADCAST = b"\xff" * 6
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
IPPROTO_ICMPV6 = 58
ALL_NODES = IPv6Address("ff02::1")
ALL_NODES_MAC = bytes.fromhex("333300000001")
NA_FLAG_ROUTER = 0x80
NA_FLAG_OVERRIDE = 0x20


def _check_mac(mac: bytes) -> None:
    if len(mac) != 6:
        raise ValueError(f"a MAC address is 6 bytes, got {len(mac)}")


def build_garp_frame(mac: bytes, vip: IPv4Address) -> bytes:
    """The 42-byte gratuitous ARP keepalived sends for `vip`: a broadcast ARP request whose sender
    and target IP are both the VIP and whose target MAC is ff:ff:ff:ff:ff:ff (not RFC 5227's zeros)."""
    _check_mac(mac)
    ethernet = ETH_BROADCAST + mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + vip.packed + ETH_BROADCAST + vip.packed
    return ethernet + arp


def build_unsolicited_na_frame(mac: bytes, vip: IPv6Address, router: bool = False) -> bytes:
    """The unsolicited neighbour advertisement keepalived sends for an IPv6 VIP: from the VIP to
    ff02::1, hop limit 255, Override set (Router too if the interface forwards), with a target
    link-layer address option carrying `mac`."""
    _check_mac(mac)
    flags = NA_FLAG_OVERRIDE | (NA_FLAG_ROUTER if router else 0)
    option = struct.pack("!BB", 2, 1) + mac
    body = struct.pack("!BBHB3x", 136, 0, 0, flags) + vip.packed + option
    checksum = internet_checksum(ipv6_pseudo_header(vip, ALL_NODES, len(body), IPPROTO_ICMPV6) + body)
    icmp = body[:2] + struct.pack("!H", checksum) + body[4:]
    ipv6 = struct.pack("!IHBB", 6 << 28, len(icmp), IPPROTO_ICMPV6, 255) + vip.packed + ALL_NODES.packed
    return ALL_NODES_MAC + mac + struct.pack("!H", ETH_P_IPV6) + ipv6 + icmp
