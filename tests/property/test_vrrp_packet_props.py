"""Property tests of the VRRP codecs and receive path.

decode(encode(x)) == x; arbitrary bytes yield only `MalformedPacket` or a typed rejection; a valid
advert mutated in one field is rejected for the reason keepalived would give, and the instance that
receives it does not change state or timers.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hapair.core.vrrp import (
    AdvertPacket,
    AdvertReceived,
    ChecksumForm,
    InstanceSettings,
    InstanceState,
    MalformedPacket,
    RejectReason,
    StartRequested,
    TimerExpired,
    VirtualIp,
    VrrpInstance,
    seconds,
)
from hapair.core.vrrp.packet import decode_ipv4_datagram, matching_checksum_form
from hapair.core.vrrp.validation import Rejection, ValidAdvert, check_received
from hapair.core.vrrp.wire import build_ipv4_datagram, internet_checksum

SRC, GROUP = IPv4Address("10.0.0.2"), IPv4Address("224.0.0.18")
SRC6, GROUP6 = IPv6Address("fe80::2"), IPv6Address("ff02::12")
v4 = st.builds(IPv4Address, st.integers(0, 2**32 - 1))
v6 = st.builds(IPv6Address, st.integers(0, 2**128 - 1))


@st.composite
def packets(draw: st.DrawFn) -> AdvertPacket:
    version = draw(st.sampled_from([2, 3]))
    ipv6 = version == 3 and draw(st.booleans())
    addresses = tuple(draw(st.lists(v6 if ipv6 else v4, max_size=20)))
    common = {
        "vrid": draw(st.integers(0, 255)),
        "priority": draw(st.integers(0, 255)),
        "addresses": addresses,
        "type": draw(st.integers(0, 15)),
    }
    if version == 2:
        return AdvertPacket(
            version=2,
            adver_int=draw(st.integers(0, 255)),
            auth_type=draw(st.integers(0, 255)),
            auth_data=draw(st.binary(min_size=8, max_size=8)),
            **common,  # type: ignore[arg-type]
        )
    return AdvertPacket(version=3, adver_int=draw(st.integers(0, 4095)), **common)  # type: ignore[arg-type]


@given(packets())
def test_decode_encode_roundtrip(packet: AdvertPacket) -> None:
    src, dst = (SRC6, GROUP6) if packet.is_ipv6 else (SRC, GROUP)
    message = packet.encode(src, dst)
    assert AdvertPacket.decode(message, ipv6=packet.is_ipv6) == packet
    if not packet.is_ipv6:
        datagram = build_ipv4_datagram(message, SRC, GROUP, 7)
        received = decode_ipv4_datagram(datagram)
        assert received.packet() == packet
        expected = ChecksumForm.V2 if packet.version == 2 else ChecksumForm.PSEUDO_HEADER
        assert matching_checksum_form(received, try_multicast_dst=False) is expected
        assert internet_checksum(datagram[:20]) == 0


INSTANCE = InstanceSettings(
    name="VI_1",
    virtual_router_id=51,
    interface="vA",
    vips=(VirtualIp.of("10.0.0.100/24"), VirtualIp.of("10.0.0.101/24")),
)


@settings(max_examples=300)
@given(st.binary(max_size=80))
def test_arbitrary_bytes_give_only_typed_outcomes(data: bytes) -> None:
    try:
        received = decode_ipv4_datagram(data)
    except MalformedPacket:
        return
    verdict = check_received(INSTANCE, received, check_vip_addr=True, old_checksum_active=False)
    assert isinstance(verdict, ValidAdvert | Rejection)


def valid_advert(priority: int = 200) -> bytes:
    packet = AdvertPacket(
        version=2,
        vrid=51,
        priority=priority,
        addresses=(IPv4Address("10.0.0.100"), IPv4Address("10.0.0.101")),
        adver_int=1,
    )
    return build_ipv4_datagram(packet.encode(SRC, GROUP), SRC, GROUP, 1)


def patch(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


def with_ip_checksum(data: bytes) -> bytes:
    header = patch(data[:20], 10, b"\0\0")
    return patch(header, 10, struct.pack("!H", internet_checksum(header))) + data[20:]


MUTATIONS = [
    "ttl",
    "vrid",
    "type",
    "checksum",
    "priority",
    "interval",
    "auth",
    "bad_auth",
    "append",
    "truncate",
    "count",
    "address",
    "tot_len",
    "unicast",
]


@st.composite
def mutations(draw: st.DrawFn) -> tuple[bytes, RejectReason]:
    good = valid_advert()
    kind = draw(st.sampled_from(MUTATIONS))
    vrrp = 20
    match kind:
        case "ttl":
            return with_ip_checksum(patch(good, 8, bytes([draw(st.integers(0, 254))]))), RejectReason.TTL
        case "vrid":
            return patch(
                good, vrrp + 1, bytes([draw(st.integers(0, 255).filter(lambda v: v != 51))])
            ), RejectReason.VRID
        case "type":
            return patch(
                good, vrrp, bytes([0x20 | draw(st.integers(0, 15).filter(lambda v: v != 1))])
            ), RejectReason.TYPE
        case "checksum":
            flip = draw(st.integers(1, 0xFFFF))
            old = struct.unpack_from("!H", good, vrrp + 6)[0]
            if {old, old ^ flip} == {0, 0xFFFF}:
                flip ^= 1  # 0x0000 and 0xffff are the same one's-complement number
            return patch(good, vrrp + 6, struct.pack("!H", old ^ flip)), RejectReason.CHECKSUM
        case "priority":
            return patch(good, vrrp + 2, bytes([draw(st.integers(0, 199))])), RejectReason.CHECKSUM
        case "interval":
            interval = draw(st.integers(0, 255).filter(lambda v: v != 1))
            return patch(good, vrrp + 5, bytes([interval])), RejectReason.INTERVAL_MISMATCH
        case "auth":
            return patch(good, vrrp + 4, b"\x01"), RejectReason.AUTH_TYPE_MISMATCH
        case "bad_auth":
            return patch(good, vrrp + 4, bytes([draw(st.integers(3, 255))])), RejectReason.INVALID_AUTH_TYPE
        case "append":
            return good + draw(st.binary(min_size=1, max_size=40)), RejectReason.LENGTH
        case "truncate":
            size = draw(st.integers(0, len(good) - 1))
            return good[:size], RejectReason.MALFORMED if size < 28 else RejectReason.LENGTH
        case "count":
            count = draw(st.integers(0, 255).filter(lambda v: v != 2))
            return patch(good, vrrp + 3, bytes([count])), RejectReason.LENGTH
        case "address":
            offset = draw(st.integers(vrrp + 8, vrrp + 15))
            return patch(
                good, offset, bytes([good[offset] ^ draw(st.integers(1, 255))])
            ), RejectReason.CHECKSUM
        case "tot_len":
            total = draw(st.integers(0, 0xFFFF).filter(lambda v: v != len(good)))
            return with_ip_checksum(patch(good, 2, struct.pack("!H", total))), RejectReason.IP_TOTAL_LENGTH
        case _:
            dst = IPv4Address("10.0.0.1").packed
            return with_ip_checksum(patch(good, 16, dst)), RejectReason.CAST_MISMATCH


@settings(max_examples=300, suppress_health_check=[HealthCheck.filter_too_much])
@given(mutations(), st.booleans())
def test_mutated_adverts_are_rejected_for_the_right_reason_without_state_change(
    case: tuple[bytes, RejectReason], as_master: bool
) -> None:
    datagram, reason = case
    inst = VrrpInstance(INSTANCE, interface_address=IPv4Address("10.0.0.1"))
    inst.handle(StartRequested(), 0)
    if as_master:
        inst.handle(TimerExpired(), inst.next_deadline() or 0)
    else:
        inst.handle(AdvertReceived(valid_advert()), 1)
    now = seconds(4)
    before = (inst.state, inst.next_deadline(), inst.snapshot().master_address)
    inst.handle(AdvertReceived(datagram), now)
    assert (inst.state, inst.next_deadline(), inst.snapshot().master_address) == before
    assert before[0] is (InstanceState.MASTER if as_master else InstanceState.BACKUP)
    assert dict(inst.snapshot().rejected) == {reason: 1}
