"""VRRP advertisements: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798) over IPv4 and IPv6.

Two views of a packet live here:

* `AdvertPacket`, a well-formed advertisement, with a strict `decode` and an `encode` that checksums
  exactly as keepalived 2.2.7 does (v2: over the VRRP message; v3/IPv4: with the IPv4 pseudo-header
  `src dst 0 112 len`; v3/IPv6: with the IPv6 pseudo-header).
* `ReceivedDatagram`, the lenient view of whatever a raw socket handed us. keepalived validates a
  received packet field by field in a fixed order and logs the first failure; that needs the header
  fields of a packet that is not (yet) known to be well formed. `validation.py` walks it.

Both decoders raise only `MalformedPacket`, and only for bytes too short to carry the IP header and the
8-byte VRRP header; every other defect is a validation failure with keepalived's wording.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from hapair.core.vrrp.wire import (
    IPPROTO_AH,
    IPV4_HEADER_LEN,
    VRRP_HEADER_LEN,
    VRRP_MULTICAST_V4,
    IPAddress,
    Ipv4Header,
    MalformedPacket,
    internet_checksum,
    ipv4_pseudo_header,
    ipv6_pseudo_header,
)

ADVERTISEMENT = 1
AUTH_DATA_LEN = 8
AH_HEADER_LEN = 24
V3_MAX_ADVER_INT = 0x0FFF


class AuthType(enum.IntEnum):
    """VRRPv2 authentication types (RFC 2338; kept by keepalived although RFC 3768 removed them)."""

    NONE = 0
    PASS = 1
    AH = 2


class ChecksumForm(enum.Enum):
    """Which checksum a received advert carried (or which one we send)."""

    V2 = "v2"  # VRRPv2: over the VRRP message only
    PSEUDO_HEADER = "pseudo_header"  # VRRPv3/IPv4 with IPv4 pseudo-header, dst = IP destination
    PSEUDO_HEADER_MULTICAST = "pseudo_header_multicast"  # keepalived <= 1.3.6 unicast: dst 224.0.0.18
    NO_PSEUDO_HEADER = "no_pseudo_header"  # VRRPv3/IPv4 per RFC 9568: over the VRRP message only
    IPV6 = "ipv6"  # VRRPv3/IPv6 with the IPv6 pseudo-header


@dataclass(frozen=True, slots=True)
class AdvertPacket:
    """One VRRP advertisement as carried on the wire.

    `adver_int` is in wire units: whole seconds for version 2 (8 bits), centiseconds for version 3
    (12 bits). `auth_type` and `auth_data` exist only in version 2 (IPv4); version 3 ignores them.
    """

    version: int
    vrid: int
    priority: int
    addresses: tuple[IPv4Address, ...] | tuple[IPv6Address, ...]
    adver_int: int
    auth_type: int = AuthType.NONE
    auth_data: bytes = field(default=bytes(AUTH_DATA_LEN))
    type: int = ADVERTISEMENT

    def __post_init__(self) -> None:
        if self.version not in (2, 3):
            raise ValueError(f"VRRP version must be 2 or 3, got {self.version}")
        for name, value, top in (
            ("vrid", self.vrid, 255),
            ("priority", self.priority, 255),
            ("type", self.type, 15),
            ("auth_type", self.auth_type, 255),
        ):
            if not 0 <= value <= top:
                raise ValueError(f"{name} {value} out of range 0..{top}")
        if len(self.addresses) > 255:
            raise ValueError(f"at most 255 addresses fit in an advert, got {len(self.addresses)}")
        if len({type(a) for a in self.addresses}) > 1:
            raise ValueError("addresses of one advert must all be IPv4 or all IPv6")
        top_int = 255 if self.version == 2 else V3_MAX_ADVER_INT
        if not 0 <= self.adver_int <= top_int:
            raise ValueError(
                f"adver_int {self.adver_int} out of range 0..{top_int} for version {self.version}"
            )
        if self.version == 2 and len(self.auth_data) != AUTH_DATA_LEN:
            raise ValueError(f"auth_data must be {AUTH_DATA_LEN} bytes, got {len(self.auth_data)}")
        if self.version == 2 and self.is_ipv6:
            raise ValueError("VRRPv2 carries IPv4 addresses only")

    @property
    def is_ipv6(self) -> bool:
        return bool(self.addresses) and isinstance(self.addresses[0], IPv6Address)

    @property
    def adver_int_cs(self) -> int:
        """The advertisement interval in centiseconds, whatever the version."""
        return self.adver_int * 100 if self.version == 2 else self.adver_int

    def body(self, checksum: int = 0) -> bytes:
        """The VRRP message with `checksum` in its checksum field."""
        addr_bytes = b"".join(a.packed for a in self.addresses)
        first = (self.version << 4) | self.type
        if self.version == 2:
            head = struct.pack(
                "!BBBBBBH", first, self.vrid, self.priority, len(self.addresses), self.auth_type,
                self.adver_int, checksum,
            )  # fmt: skip
            return head + addr_bytes + self.auth_data
        head = struct.pack(
            "!BBBBHH", first, self.vrid, self.priority, len(self.addresses), self.adver_int, checksum
        )
        return head + addr_bytes

    def encode(
        self,
        source: IPAddress | None = None,
        destination: IPAddress | None = None,
        form: ChecksumForm | None = None,
    ) -> bytes:
        """The VRRP message with its checksum.

        Version 3 needs the IP source and destination for the pseudo-header (for unicast the real peer
        address); `form` picks the checksum form, by default the one keepalived 2.2.7 sends.
        """
        form = form or self.default_checksum_form(source)
        return self.body(self.checksum(form, source, destination))

    def default_checksum_form(self, source: IPAddress | None) -> ChecksumForm:
        if self.version == 2:
            return ChecksumForm.V2
        return ChecksumForm.IPV6 if isinstance(source, IPv6Address) else ChecksumForm.PSEUDO_HEADER

    def checksum(self, form: ChecksumForm, source: IPAddress | None, destination: IPAddress | None) -> int:
        return checksum_of(self.body(), form, source, destination)

    @classmethod
    def decode(cls, message: bytes, ipv6: bool = False) -> AdvertPacket:
        """Strictly decode one VRRP message (no IP header); the checksum is not verified here."""
        if len(message) < VRRP_HEADER_LEN:
            raise MalformedPacket(f"VRRP message too short - {len(message)} bytes")
        first, vrid, priority, count = struct.unpack_from("!BBBB", message)
        version = first >> 4
        if version not in (2, 3):
            raise MalformedPacket(f"unknown VRRP version {version}")
        addr_len = 16 if ipv6 else 4
        expected = expected_vrrp_length(version, count, ipv6)
        if len(message) != expected:
            raise MalformedPacket(f"VRRP message is {len(message)} bytes, expected {expected}")
        if version == 2 and ipv6:
            raise MalformedPacket("VRRPv2 over IPv6")
        raw = message[VRRP_HEADER_LEN : VRRP_HEADER_LEN + count * addr_len]
        addresses: tuple[IPv4Address, ...] | tuple[IPv6Address, ...]
        if ipv6:
            addresses = tuple(IPv6Address(raw[i : i + 16]) for i in range(0, len(raw), 16))
        else:
            addresses = tuple(IPv4Address(raw[i : i + 4]) for i in range(0, len(raw), 4))
        if version == 2:
            return cls(
                version=2, vrid=vrid, priority=priority, addresses=addresses, adver_int=message[5],
                auth_type=message[4], auth_data=bytes(message[-AUTH_DATA_LEN:]), type=first & 0x0F,
            )  # fmt: skip
        adver_int = struct.unpack_from("!H", message, 4)[0] & V3_MAX_ADVER_INT
        return cls(
            version=3,
            vrid=vrid,
            priority=priority,
            addresses=addresses,
            adver_int=adver_int,
            type=first & 0x0F,
        )


def expected_vrrp_length(version: int, count: int, ipv6: bool) -> int:
    """keepalived's expected_vrrp_pkt_len: header, addresses, and the 8 auth bytes of v2 over IPv4."""
    length = VRRP_HEADER_LEN + count * (16 if ipv6 else 4)
    if version == 2 and not ipv6:
        length += AUTH_DATA_LEN
    return length


def checksum_of(
    body: bytes, form: ChecksumForm, source: IPAddress | None, destination: IPAddress | None
) -> int:
    """The checksum of a VRRP message (checksum field zero) in the given form."""
    if form in (ChecksumForm.V2, ChecksumForm.NO_PSEUDO_HEADER):
        return internet_checksum(body)
    if form is ChecksumForm.IPV6:
        if not isinstance(source, IPv6Address) or not isinstance(destination, IPv6Address):
            raise ValueError("the IPv6 checksum needs IPv6 source and destination addresses")
        return internet_checksum(ipv6_pseudo_header(source, destination, len(body)) + body)
    if not isinstance(source, IPv4Address) or not isinstance(destination, IPv4Address):
        raise ValueError("the VRRPv3 IPv4 checksum needs IPv4 source and destination addresses")
    if form is ChecksumForm.PSEUDO_HEADER_MULTICAST:
        destination = VRRP_MULTICAST_V4
    return internet_checksum(ipv4_pseudo_header(source, destination, len(body)) + body)


@dataclass(frozen=True, slots=True)
class ReceivedDatagram:
    """What a raw socket delivered, split into the IP-level facts and the (unchecked) VRRP bytes.

    For IPv4 this comes from the datagram itself; for IPv6 the kernel strips the header, so source,
    destination and hop limit come from recvmsg ancillary data.
    """

    ipv6: bool
    source: IPAddress
    destination: IPAddress
    ttl: int  # TTL / hop limit; -1 if the socket did not report it
    received_length: int  # bytes delivered by the socket (IPv4: whole datagram)
    vrrp: bytes  # from the VRRP header to the end of what was delivered
    ip_header: Ipv4Header | None = None

    @property
    def protocol(self) -> int:
        return self.ip_header.protocol if self.ip_header is not None else 112

    @property
    def ip_overhead(self) -> int:
        """Bytes before the VRRP header in `received_length` (IPv4 header and any AH header)."""
        return self.received_length - len(self.vrrp)

    @property
    def version(self) -> int:
        return self.vrrp[0] >> 4

    @property
    def type(self) -> int:
        return self.vrrp[0] & 0x0F

    @property
    def vrid(self) -> int:
        return self.vrrp[1]

    @property
    def priority(self) -> int:
        return self.vrrp[2]

    @property
    def count(self) -> int:
        return self.vrrp[3]

    @property
    def v2_auth_type(self) -> int:
        return self.vrrp[4]

    @property
    def v2_adver_int(self) -> int:
        return self.vrrp[5]

    @property
    def v3_adver_int(self) -> int:
        return int(struct.unpack_from("!H", self.vrrp, 4)[0]) & V3_MAX_ADVER_INT

    @property
    def checksum_field(self) -> int:
        return int(struct.unpack_from("!H", self.vrrp, 6)[0])

    def expected_length(self) -> int:
        """The datagram length keepalived expects from the version and address count in the header."""
        return self.ip_overhead + expected_vrrp_length(self.version, self.count, self.ipv6)

    def addresses(self) -> tuple[IPv4Address, ...] | tuple[IPv6Address, ...]:
        """The addresses the header announces (call only once the length has been validated)."""
        raw = self.vrrp[VRRP_HEADER_LEN:]
        if self.ipv6:
            return tuple(IPv6Address(raw[i * 16 : i * 16 + 16]) for i in range(self.count))
        return tuple(IPv4Address(raw[i * 4 : i * 4 + 4]) for i in range(self.count))

    def v2_password(self) -> bytes | None:
        """The 8 auth bytes where keepalived reads them: at IP total length minus 8 (None if outside)."""
        if self.ip_header is None:
            return None
        end = self.ip_header.total_length - self.ip_overhead
        if end < AUTH_DATA_LEN or end > len(self.vrrp):
            return None
        return bytes(self.vrrp[end - AUTH_DATA_LEN : end])

    def message(self) -> bytes:
        """The VRRP message as the header's count describes it (call once the length is validated)."""
        return bytes(self.vrrp[: expected_vrrp_length(self.version, self.count, self.ipv6)])

    def packet(self) -> AdvertPacket:
        return AdvertPacket.decode(self.message(), self.ipv6)


def decode_ipv4_datagram(datagram: bytes) -> ReceivedDatagram:
    """Split an IPv4 datagram from a raw VRRP (or AH) socket; `MalformedPacket` if it cannot be read."""
    header = Ipv4Header.decode(datagram)
    offset = header.header_length
    if header.protocol == IPPROTO_AH:
        if len(datagram) < offset + AH_HEADER_LEN + VRRP_HEADER_LEN:
            raise MalformedPacket(f"IPv4 VRRP packet with AH too short - {len(datagram)} bytes")
        offset += AH_HEADER_LEN
    elif len(datagram) < offset + VRRP_HEADER_LEN:
        raise MalformedPacket(f"IPv4 VRRP packet too short - {len(datagram)} bytes")
    return ReceivedDatagram(
        ipv6=False,
        source=header.source,
        destination=header.destination,
        ttl=header.ttl,
        received_length=len(datagram),
        vrrp=bytes(datagram[offset:]),
        ip_header=header,
    )


def decode_ipv6_payload(
    payload: bytes, source: IPv6Address, destination: IPv6Address, hop_limit: int = -1
) -> ReceivedDatagram:
    """Wrap a VRRP payload from a raw IPv6 socket with the ancillary data recvmsg reported."""
    if len(payload) < VRRP_HEADER_LEN:
        raise MalformedPacket(f"IPv6 VRRP packet too short - {len(payload)} bytes")
    return ReceivedDatagram(
        ipv6=True,
        source=source,
        destination=destination,
        ttl=hop_limit,
        received_length=len(payload),
        vrrp=bytes(payload),
    )


def matching_checksum_form(received: ReceivedDatagram, try_multicast_dst: bool) -> ChecksumForm | None:
    """Which checksum form the received message verifies under, or None if it verifies under none.

    Version 3 over IPv4 tries keepalived's pseudo-header form first, then (for unicast, when asked)
    the old form with 224.0.0.18 in the pseudo-header, then RFC 9568's form without pseudo-header.
    """
    message = received.message()
    if received.ipv6:
        forms: tuple[ChecksumForm, ...] = (ChecksumForm.IPV6,)
    elif received.version == 2:
        forms = (ChecksumForm.V2,)
    else:
        forms = (ChecksumForm.PSEUDO_HEADER,)
        if try_multicast_dst and received.destination != VRRP_MULTICAST_V4:
            forms += (ChecksumForm.PSEUDO_HEADER_MULTICAST,)
        forms += (ChecksumForm.NO_PSEUDO_HEADER,)
    for form in forms:
        # Summed with its own checksum field a correct message gives 0, as keepalived's in_csum checks.
        if checksum_of(message, form, received.source, received.destination) == 0:
            return form
    return None


__all__ = [
    "ADVERTISEMENT",
    "IPV4_HEADER_LEN",
    "AdvertPacket",
    "AuthType",
    "ChecksumForm",
    "ReceivedDatagram",
    "checksum_of",
    "decode_ipv4_datagram",
    "decode_ipv6_payload",
    "expected_vrrp_length",
    "matching_checksum_form",
]
