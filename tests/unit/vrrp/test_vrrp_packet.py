"""Codecs against keepalived 2.2.7's captures: every VRRP packet, GARP and NA frame, byte for byte."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from vrrp_evidence import arp_frames, ipv4_vrrp, ipv6_vrrp, neighbour_adverts

from hapair.core.vrrp import (
    AdvertPacket,
    ChecksumForm,
    InstanceSettings,
    MalformedPacket,
    UnicastPeer,
    VirtualIp,
    build_garp_frame,
    build_unsolicited_na_frame,
    seconds,
)
from hapair.core.vrrp.packet import (
    decode_ipv4_datagram,
    decode_ipv6_payload,
    matching_checksum_form,
)
from hapair.core.vrrp.transmit import AdvertBuilder
from hapair.core.vrrp.wire import Ipv4Header, build_ipv4_datagram, internet_checksum

PCAPS = ["auth.pcap", "f.pcap", "f2.pcap", "m.pcap", "u.pcap", "v2.pcap", "v3.pcap"]
MAC_A = bytes.fromhex("02000000000a")
MAC_B = bytes.fromhex("02000000000b")
A, B = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")
VIPS = (VirtualIp.of("10.0.0.100/24"), VirtualIp.of("10.0.0.101/24"))


@pytest.mark.parametrize("pcap", PCAPS)
def test_every_captured_ipv4_advert_decodes_and_reencodes_identically(pcap: str) -> None:
    captured = ipv4_vrrp(pcap)
    assert captured
    for _, datagram in captured:
        received = decode_ipv4_datagram(datagram)
        form = matching_checksum_form(received, try_multicast_dst=True)
        assert form in (ChecksumForm.V2, ChecksumForm.PSEUDO_HEADER)
        packet = received.packet()
        assert AdvertPacket.decode(packet.encode(received.source, received.destination, form)) == packet
        header = received.ip_header
        assert header is not None
        rebuilt = build_ipv4_datagram(
            packet.encode(received.source, received.destination, form),
            IPv4Address(received.source),
            IPv4Address(received.destination),
            header.identification,
            header.ttl,
        )
        assert rebuilt == datagram


def test_every_captured_ipv6_advert_decodes_and_reencodes_identically() -> None:
    captured = ipv6_vrrp("v6.pcap")
    assert len(captured) == 3
    for item in captured:
        received = decode_ipv6_payload(item.payload, item.source, item.destination, item.hop_limit)
        assert matching_checksum_form(received, try_multicast_dst=False) is ChecksumForm.IPV6
        assert received.packet().encode(item.source, item.destination) == item.payload


def builder(**kw: object) -> AdvertBuilder:
    base: dict[str, object] = {"name": "VI_1", "virtual_router_id": 51, "interface": "vB", "vips": VIPS}
    base.update(kw)
    settings = InstanceSettings(**base)  # type: ignore[arg-type]
    source = settings.configured_source or B
    return AdvertBuilder(settings, source)


def test_encoder_from_settings_matches_keepalived_v2_v3_and_auth() -> None:
    """B's first adverts in v2.pcap / v3.pcap (B is 10.0.0.2), A's in auth.pcap (password, prio 100)."""
    v2 = builder(priority=100).build(100)[0].data
    assert v2 == ipv4_vrrp("v2.pcap")[0][1]
    v3 = builder(priority=100, version=3, advert_int=seconds("0.5")).build(100)[0].data
    assert v3 == ipv4_vrrp("v3.pcap")[0][1]
    auth = builder(priority=100, auth_type=1, auth_pass=b"secret12", mcast_src_ip=A).build(100)[0].data
    firsts = [d for _, d in ipv4_vrrp("auth.pcap") if decode_ipv4_datagram(d).source == A]
    assert auth == firsts[0]


def test_encoder_unicast_one_datagram_per_peer_same_id_per_peer_checksum() -> None:
    b = builder(
        priority=150,
        version=3,
        unicast_src_ip=A,
        unicast_peers=(UnicastPeer(B), UnicastPeer(IPv4Address("10.0.0.3"))),
    )
    first = b.build(150)
    assert [s.destination for s in first] == [B, IPv4Address("10.0.0.3")]
    assert first[0].data == ipv4_vrrp("u.pcap")[0][1], "A's first unicast advert to B in u.pcap"
    ids = {decode_ipv4_datagram(s.data).ip_header.identification for s in first}  # type: ignore[union-attr]
    assert ids == {1}
    assert first[0].data[26:28] != first[1].data[26:28], "each peer gets its own checksum"
    assert decode_ipv4_datagram(b.build(150)[0].data).ip_header.identification == 2  # type: ignore[union-attr]


def test_encoder_ipv6_matches_keepalived() -> None:
    link_local = IPv6Address("fe80::ff:fe00:a")
    b = builder(
        name="VI_6",
        virtual_router_id=52,
        priority=150,
        version=3,
        interface="vA",
        vips=(VirtualIp.of("fe80::52/64"), VirtualIp.of("2001:db8::100/64")),
    )
    b.source = link_local
    sent = b.build(150)[0]
    assert sent.destination == IPv6Address("ff02::12")
    assert sent.data == ipv6_vrrp("v6.pcap")[0].payload


def test_ip_identification_wraps_past_zero() -> None:
    b = builder()
    b.ip_id = 0xFFFE
    ids = [decode_ipv4_datagram(b.build(100)[0].data).ip_header.identification for _ in range(3)]  # type: ignore[union-attr]
    assert ids == [0xFFFF, 1, 2]


def test_garp_frame_matches_capture() -> None:
    assert build_garp_frame(MAC_A, IPv4Address("10.0.0.100")) == arp_frames("garp.pcap")[0]
    assert build_garp_frame(MAC_B, IPv4Address("10.0.0.101")) in arp_frames("v2.pcap")


def test_unsolicited_na_frames_match_capture() -> None:
    frames = neighbour_adverts("v6.pcap")
    assert len(frames) == 10
    for frame in frames:
        target = IPv6Address(frame[62:78])
        assert build_unsolicited_na_frame(MAC_A, target) == frame
    routed = build_unsolicited_na_frame(MAC_A, IPv6Address("fe80::52"), router=True)
    assert routed[58] == 0xA0


def test_research_note_checksum_figures() -> None:
    """vrrp_keepalived.md 1.4: 0x6b3a with the pseudo-header, 0x55cf without; unicast 0x0f1a vs 0x3909."""
    v3 = decode_ipv4_datagram(ipv4_vrrp("v3.pcap")[0][1]).packet()
    group = IPv4Address("224.0.0.18")
    assert v3.checksum(ChecksumForm.PSEUDO_HEADER, B, group) == 0x6B3A
    assert v3.checksum(ChecksumForm.NO_PSEUDO_HEADER, B, group) == 0x55CF
    uni = decode_ipv4_datagram(ipv4_vrrp("u.pcap")[0][1]).packet()
    assert uni.checksum(ChecksumForm.PSEUDO_HEADER, A, B) == 0x0F1A
    assert uni.checksum(ChecksumForm.PSEUDO_HEADER_MULTICAST, A, B) == 0x3909


def test_internet_checksum_basics() -> None:
    assert internet_checksum(b"") == 0xFFFF
    assert internet_checksum(b"\x01") == 0xFEFF
    data = bytes(range(20))
    assert internet_checksum(data + internet_checksum(data).to_bytes(2, "big")) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short - 0 bytes"),
        (b"\x45" + bytes(18), "too short - 19 bytes"),
        (b"\x65" + bytes(27), "not an IPv4 datagram"),
        (b"\x44" + bytes(27), "header length 16"),
        (b"\x46" + bytes(22), "too short - 23 bytes"),
        (b"\x45" + bytes(22), "too short - 23 bytes"),
    ],
)
def test_decoder_raises_only_malformed_packet(data: bytes, message: str) -> None:
    with pytest.raises(MalformedPacket, match=message):
        decode_ipv4_datagram(data)


def test_ipv4_options_are_kept() -> None:
    header = Ipv4Header(A, B, total_length=24 + 16, options=b"\x01\x01\x01\x00")
    decoded = Ipv4Header.decode(header.encode() + bytes(16))
    assert decoded.options == b"\x01\x01\x01\x00" and decoded.header_length == 24
    assert internet_checksum(header.encode()) == 0


def test_strict_decode_rejects_wrong_lengths_and_versions() -> None:
    good = AdvertPacket(version=3, vrid=1, priority=100, addresses=(A,), adver_int=100).encode(A, B)
    with pytest.raises(MalformedPacket):
        AdvertPacket.decode(good + b"\0")
    with pytest.raises(MalformedPacket):
        AdvertPacket.decode(b"\x41" + good[1:])
    with pytest.raises(MalformedPacket):
        AdvertPacket.decode(good[:7])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"version": 4},
        {"vrid": 256},
        {"priority": -1},
        {"adver_int": 256},
        {"version": 3, "adver_int": 4096},
        {"auth_data": b"short"},
        {"addresses": (A, IPv6Address("::1"))},
        {"addresses": (IPv6Address("::1"),)},
    ],
)
def test_packet_rejects_impossible_fields(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"version": 2, "vrid": 1, "priority": 1, "addresses": (A,), "adver_int": 1}
    base.update(kwargs)
    with pytest.raises(ValueError):
        AdvertPacket(**base)  # type: ignore[arg-type]
