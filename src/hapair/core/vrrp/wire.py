"""IP-layer pieces of the VRRP wire format: the Internet checksum, pseudo-headers, the IPv4 header.

A raw IPv4 socket delivers the whole datagram (IP header included) and keepalived builds its own
IPv4 header for sending (IP_HDRINCL), so both directions need the header as bytes. The IPv4 header
checksum is computed here although the kernel would fill it in, so that our datagrams can be compared
byte for byte with keepalived's captures.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from hapair.errors import RemoteProtocolError

IPPROTO_AH = 51
IPPROTO_VRRP = 112
IPV4_HEADER_LEN = 20
VRRP_HEADER_LEN = 8
VRRP_MULTICAST_V4 = IPv4Address("224.0.0.18")
VRRP_MULTICAST_V6 = IPv6Address("ff02::12")
VRRP_TTL = 255
VRRP_TOS = 0xC0

IPAddress = IPv4Address | IPv6Address


class MalformedPacket(RemoteProtocolError):
    """Bytes that cannot be read as a VRRP datagram at all (too short, not IPv4, bad header length)."""


def internet_checksum(data: bytes, initial: int = 0) -> int:
    """RFC 1071 one's-complement checksum of `data`, odd length padded with a zero byte.

    `initial` is a 16-bit partial sum carried in (e.g. of a pseudo-header that was summed apart).
    The result is the value to store in the checksum field; a message that includes its own correct
    checksum sums to 0.
    """
    if len(data) % 2:
        data += b"\0"
    words: tuple[int, ...] = struct.unpack(f"!{len(data) // 2}H", data)
    total = initial + sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_pseudo_header(source: IPv4Address, destination: IPv4Address, length: int) -> bytes:
    """The 12-byte pseudo-header keepalived puts before a VRRPv3 message when it checksums one over IPv4."""
    return source.packed + destination.packed + struct.pack("!BBH", 0, IPPROTO_VRRP, length)


def ipv6_pseudo_header(
    source: IPv6Address, destination: IPv6Address, length: int, next_header: int = IPPROTO_VRRP
) -> bytes:
    """The RFC 8200 section 8.1 pseudo-header for an upper-layer packet (VRRP unless told otherwise)."""
    return source.packed + destination.packed + struct.pack("!I3xB", length, next_header)


@dataclass(frozen=True, slots=True)
class Ipv4Header:
    """An IPv4 header as read from or written to a raw socket (options kept as raw bytes)."""

    source: IPv4Address
    destination: IPv4Address
    total_length: int
    identification: int = 0
    ttl: int = VRRP_TTL
    protocol: int = IPPROTO_VRRP
    tos: int = VRRP_TOS
    flags_fragment: int = 0
    checksum: int = 0
    options: bytes = b""

    @property
    def header_length(self) -> int:
        return IPV4_HEADER_LEN + len(self.options)

    def encode(self) -> bytes:
        """The header bytes with a freshly computed header checksum (the `checksum` field is ignored)."""
        if len(self.options) % 4 or len(self.options) > 40:
            raise ValueError(f"IPv4 options must be a multiple of 4 bytes up to 40, got {len(self.options)}")
        ihl = self.header_length // 4
        head = struct.pack(
            "!BBHHHBBH4s4s",
            0x40 | ihl,
            self.tos,
            self.total_length,
            self.identification,
            self.flags_fragment,
            self.ttl,
            self.protocol,
            0,
            self.source.packed,
            self.destination.packed,
        )
        head += self.options
        checksum = internet_checksum(head)
        return head[:10] + struct.pack("!H", checksum) + head[12:]

    @classmethod
    def decode(cls, datagram: bytes) -> Ipv4Header:
        """Read the header at the start of `datagram`; raise `MalformedPacket` if it is not one."""
        if len(datagram) < IPV4_HEADER_LEN:
            raise MalformedPacket(f"IPv4 VRRP packet too short - {len(datagram)} bytes")
        (ver_ihl, tos, total_length, ident, frag, ttl, proto, checksum, src, dst) = struct.unpack_from(
            "!BBHHHBBH4s4s", datagram
        )
        if ver_ihl >> 4 != 4:
            raise MalformedPacket(f"not an IPv4 datagram (version {ver_ihl >> 4})")
        header_length = (ver_ihl & 0x0F) * 4
        if header_length < IPV4_HEADER_LEN:
            raise MalformedPacket(f"IPv4 header length {header_length} is below 20")
        if len(datagram) < header_length:
            raise MalformedPacket(f"IPv4 VRRP packet too short - {len(datagram)} bytes")
        return cls(
            source=IPv4Address(src),
            destination=IPv4Address(dst),
            total_length=total_length,
            identification=ident,
            ttl=ttl,
            protocol=proto,
            tos=tos,
            flags_fragment=frag,
            checksum=checksum,
            options=bytes(datagram[IPV4_HEADER_LEN:header_length]),
        )


def build_ipv4_datagram(
    vrrp_message: bytes,
    source: IPv4Address,
    destination: IPv4Address,
    identification: int,
    ttl: int = VRRP_TTL,
) -> bytes:
    """A whole IPv4 datagram exactly as keepalived 2.2.7 sends a VRRP advert with IP_HDRINCL.

    TOS 0xc0 (network control), no DF, protocol 112, header checksum filled in.
    """
    header = Ipv4Header(
        source=source,
        destination=destination,
        total_length=IPV4_HEADER_LEN + len(vrrp_message),
        identification=identification,
        ttl=ttl,
    )
    return header.encode() + vrrp_message
