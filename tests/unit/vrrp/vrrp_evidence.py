"""Read the keepalived 2.2.7 evidence (pcaps and logs captured in network namespaces) for tests.

The files in `evidence/` are copies of the research captures (see the research note
vrrp_keepalived.md, "vrrp_evidence"): keepalived run with `-n -l -D`, tcpdump on the peer's veth.
The pcap reader is deliberately small: classic libpcap, little-endian, Ethernet link type.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from pathlib import Path

EVIDENCE = Path(__file__).resolve().parent / "evidence"
PCAP_MAGIC_LE = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1


@dataclass(frozen=True)
class Frame:
    time: int  # capture time in nanoseconds since the epoch (microsecond resolution)
    data: bytes

    @property
    def ethertype(self) -> int:
        return int(struct.unpack_from("!H", self.data, 12)[0])

    @property
    def payload(self) -> bytes:
        return self.data[14:]


@dataclass(frozen=True)
class Vrrp6:
    time: int
    source: IPv6Address
    destination: IPv6Address
    hop_limit: int
    payload: bytes


def frames(name: str) -> list[Frame]:
    raw = (EVIDENCE / name).read_bytes()
    magic, _major, _minor, _zone, _sigfigs, _snaplen, linktype = struct.unpack_from("<IHHiIII", raw)
    assert magic == PCAP_MAGIC_LE and linktype == LINKTYPE_ETHERNET, name
    out: list[Frame] = []
    offset = 24
    while offset < len(raw):
        sec, usec, incl, _orig = struct.unpack_from("<IIII", raw, offset)
        offset += 16
        out.append(Frame(sec * 1_000_000_000 + usec * 1_000, raw[offset : offset + incl]))
        offset += incl
    return out


def ipv4_vrrp(name: str) -> list[tuple[int, bytes]]:
    """(time, IPv4 datagram) for every VRRP (protocol 112) packet in the capture."""
    result = []
    for frame in frames(name):
        if frame.ethertype == 0x0800 and frame.payload[9] == 112:
            total = struct.unpack_from("!H", frame.payload, 2)[0]
            result.append((frame.time, frame.payload[:total]))
    return result


def ipv6_vrrp(name: str) -> list[Vrrp6]:
    result = []
    for frame in frames(name):
        ip = frame.payload
        if frame.ethertype == 0x86DD and ip[6] == 112:
            length = struct.unpack_from("!H", ip, 4)[0]
            result.append(
                Vrrp6(frame.time, IPv6Address(ip[8:24]), IPv6Address(ip[24:40]), ip[7], ip[40 : 40 + length])
            )
    return result


def arp_frames(name: str) -> list[bytes]:
    return [f.data for f in frames(name) if f.ethertype == 0x0806]


def neighbour_adverts(name: str) -> list[bytes]:
    return [
        f.data for f in frames(name) if f.ethertype == 0x86DD and f.payload[6] == 58 and f.payload[40] == 136
    ]


LOG_LINE = re.compile(r"^\w{3} \w{3} +\d+ (\d\d:\d\d:\d\d) \d{4}: (.*)$")


def log_lines(name: str) -> list[str]:
    """The message part of every line of a keepalived -l log (timestamp stripped)."""
    out = []
    for line in (EVIDENCE / name).read_text().splitlines():
        match = LOG_LINE.match(line)
        if match:
            out.append(match.group(2))
    return out


def instance_lines(name: str, instance: str = "VI_1") -> list[str]:
    """Only the lines about one VRRP instance, in order."""
    prefix = f"({instance})"
    return [line for line in log_lines(name) if line.startswith(prefix)]
