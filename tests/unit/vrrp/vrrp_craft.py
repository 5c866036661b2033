"""Craft VRRP datagrams the way the research crafter (evidence craft.py) did, for receive-path tests.

Written independently of the code under test: struct packing and a local RFC 1071 checksum, so a
bug in our encoder cannot hide a bug in our decoder.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

MCAST = IPv4Address("224.0.0.18")


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    words: tuple[int, ...] = struct.unpack(f"!{len(data) // 2}H", data)
    total = sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def craft(
    src: str = "10.0.0.2",
    *,
    ver: int = 2,
    vrid: int = 51,
    prio: int = 200,
    ttl: int = 255,
    adv: int | None = None,
    auth: int = 0,
    pw: bytes = b"",
    vips: tuple[str, ...] = ("10.0.0.100", "10.0.0.101"),
    type_: int = 1,
    badsum: bool = False,
    dst: str = "224.0.0.18",
    count: int | None = None,
    extra: int = 0,
    nophdr: bool = False,
    phdr_dst: str | None = None,
    tot_len_delta: int = 0,
    proto: int = 112,
    ip_id: int = 1,
) -> bytes:
    """One IPv4 VRRP datagram; defaults give a valid v2 advert from 10.0.0.2 at priority 200."""
    source, destination = IPv4Address(src), IPv4Address(dst)
    addrs = b"".join(IPv4Address(v).packed for v in vips)
    n = len(vips) if count is None else count
    if ver == 2:
        head = struct.pack("!BBBBBBH", (2 << 4) | type_, vrid, prio, n, auth, 1 if adv is None else adv, 0)
        body = head + addrs + pw[:8].ljust(8, b"\0")
        ck = csum(body)
    else:
        head = struct.pack(
            "!BBBBHH", (3 << 4) | type_, vrid, prio, n, (100 if adv is None else adv) & 0x0FFF, 0
        )
        body = head + addrs
        pseudo_dst = IPv4Address(phdr_dst) if phdr_dst else destination
        pseudo = source.packed + pseudo_dst.packed + struct.pack("!BBH", 0, 112, len(body))
        ck = csum(body) if nophdr else csum(pseudo + body)
    if badsum:
        ck ^= 0x1234
    body = body[:6] + struct.pack("!H", ck) + body[8:] + b"\xaa" * extra
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(body) + tot_len_delta, ip_id, 0, ttl, proto, 0,
        source.packed, destination.packed,
    )  # fmt: skip
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + body
