"""Receive-path checks: keepalived's order, its exact log lines, its counters, and no state change.

The crafted packets mirror the research experiments (evidence craft.py); the expected lines are
read from keepalived 2.2.7's own logs of those experiments (A_t.log, A_auth.log, A_v3t.log).
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from vrrp_craft import craft
from vrrp_evidence import instance_lines

from hapair.core.vrrp import (
    AdvertReceived,
    AuthType,
    ChecksumForm,
    Effect,
    InstanceSettings,
    InstanceState,
    LogLine,
    OldUnicastChecksum,
    RejectReason,
    SendAdvert,
    StartRequested,
    StopRequested,
    TimerExpired,
    UnicastPeer,
    VirtualIp,
    VrrpInstance,
    seconds,
)
from hapair.core.vrrp.packet import checksum_of, decode_ipv4_datagram

LOCAL = IPv4Address("10.0.0.1")
VIPS = (VirtualIp.of("10.0.0.100/24"), VirtualIp.of("10.0.0.101/24"))


def make(**kw: object) -> VrrpInstance:
    base: dict[str, object] = {"name": "VI_1", "virtual_router_id": 51, "interface": "vA", "vips": VIPS}
    base.update(kw)
    inst = VrrpInstance(InstanceSettings(**base), interface_address=LOCAL)  # type: ignore[arg-type]
    inst.handle(StartRequested(), 0)
    return inst


def lines(effects: list[Effect]) -> list[str]:
    return [e.text for e in effects if isinstance(e, LogLine)]


def feed(inst: VrrpInstance, datagram: bytes, now: int) -> list[Effect]:
    return inst.handle(AdvertReceived(datagram, "vA"), now)


def stat(inst: VrrpInstance, name: str) -> int:
    return int(getattr(inst.snapshot().stats, name))


# The A_t experiment: each crafted packet, the line keepalived logged, the counter it bumps.
A_T_CASES: list[tuple[dict[str, object], str | None]] = [
    ({"ttl": 64}, "ip_ttl_err"),
    ({"badsum": True}, "chk_err"),
    ({"adv": 2}, "advert_interval_err"),
    ({"vips": ("10.0.0.100", "10.0.0.102")}, "addr_list_err"),
    ({"vips": ("10.0.0.100",)}, "addr_list_err"),
    ({"ver": 3}, "vers_err"),
    ({"auth": 1, "pw": b"secret12"}, "authtype_mismatch"),
    ({"type_": 2}, "invalid_type_rcvd"),
    ({"extra": 4}, "packet_len_err"),
    ({"count": 3}, "packet_len_err"),
    ({"prio": 0}, "pri_zero_rcvd"),
]


def test_a_t_experiment_lines_counters_and_no_state_change() -> None:
    inst = make(priority=100)
    feed(inst, craft(), seconds("0.1"))  # a valid master advert first
    logged: list[str] = []
    for i, (kwargs, counter) in enumerate(A_T_CASES):
        now = seconds("0.2") + i * seconds("0.1")
        before = (inst.state, inst.next_deadline(), stat(inst, counter) if counter else 0)
        out = lines(feed(inst, craft(**kwargs), now))  # type: ignore[arg-type]
        logged += out
        assert len(out) == 1, out
        assert inst.state is InstanceState.BACKUP
        assert stat(inst, counter or "") == before[2] + 1 if counter else True
        if kwargs != {"prio": 0}:
            assert inst.next_deadline() == before[1], f"{kwargs} moved the down timer"
    evidence = instance_lines("A_t.log")
    start = evidence.index("(VI_1) Entering BACKUP STATE (init)") + 1
    assert logged == evidence[start : start + len(logged)]


def test_a_t_experiment_priority_zero_sets_down_timer_to_skew() -> None:
    inst = make(priority=100)
    feed(inst, craft(), 0)
    feed(inst, craft(prio=0), seconds(1))
    assert inst.next_deadline() == seconds(1) + 609_375_000


def test_a_auth_experiment_lines() -> None:
    inst = make(priority=100, auth_type=AuthType.PASS, auth_pass=b"secret12")
    good = {"auth": 1, "pw": b"secret12"}
    assert lines(feed(inst, craft(**good), 1)) == []  # type: ignore[arg-type]
    logged = lines(feed(inst, craft(auth=1, pw=b"wrongpw1"), 2))
    logged += lines(feed(inst, craft(auth=0), 3))
    logged += lines(feed(inst, craft(auth=2, pw=b"secret12"), 4))
    assert logged == instance_lines("A_auth.log")[2:5]
    snap = inst.snapshot().stats
    assert (snap.auth_failure, snap.authtype_mismatch) == (1, 2)


def test_a_v3t_experiment_interval_learning_zero_interval_and_wrong_version() -> None:
    """A_v3t: bad checksum; a master advertising 40.95 s then 0 s (immediate takeover); v2 packet."""
    inst = make(priority=100, version=3, accept_v3_checksum_as_v2=False)
    effects = feed(inst, craft(ver=3, nophdr=True), seconds(2))
    effects += feed(inst, craft(ver=3, adv=4095), seconds(4))
    effects += feed(inst, craft(ver=3, adv=0), seconds(5))
    assert inst.next_deadline() == seconds(5), "a 0 ms master interval leaves no down time at all"
    effects += inst.handle(TimerExpired(), seconds(5))
    effects += feed(inst, craft(ver=2), seconds(6))
    effects += inst.handle(StopRequested(), seconds(8))
    ours = [t for t in lines(effects) if t.startswith("(VI_1)")]
    evidence = instance_lines("A_v3t.log")
    assert ours == evidence[evidence.index("(VI_1) Entering BACKUP STATE (init)") + 1 :]


def test_rfc9568_checksum_is_accepted_by_default_and_reported() -> None:
    inst = make(priority=100, version=3)
    assert lines(feed(inst, craft(ver=3, nophdr=True), 1)) == []
    snap = inst.snapshot()
    assert snap.last_checksum_form is ChecksumForm.NO_PSEUDO_HEADER
    assert snap.stats.advert_rcvd == 1


@pytest.mark.parametrize(
    ("kwargs", "line", "reason"),
    [
        ({"auth": 3}, "(VI_1) Invalid auth type: 3", RejectReason.INVALID_AUTH_TYPE),
        (
            {"tot_len_delta": -4},
            "(VI_1) ip_tot_len mismatch against received length. 40 and received 44",
            RejectReason.IP_TOTAL_LENGTH,
        ),
        ({"proto": 51}, "IPv4 VRRP packet with AH too short - 44 bytes", RejectReason.MALFORMED),
        (
            {"dst": "10.0.0.1"},
            "(VI_1) Expected multicast packet but received unicast packet",
            RejectReason.CAST_MISMATCH,
        ),
        ({"vrid": 52}, "Unknown VRID(52) received on interface(vA). ignoring...", RejectReason.VRID),
    ],
)
def test_other_rejections(kwargs: dict[str, object], line: str, reason: RejectReason) -> None:
    inst = make(priority=100)
    deadline = inst.next_deadline()
    assert lines(feed(inst, craft(**kwargs), 1)) == [line]  # type: ignore[arg-type]
    snap = inst.snapshot()
    assert dict(snap.rejected) == {reason: 1}
    assert getattr(snap.stats, reason.stat) == 1
    assert snap.stats.advert_rcvd == 0
    assert inst.next_deadline() == deadline


def with_ah_header(datagram: bytes) -> bytes:
    """Put a 24-byte IPsec AH header (next header 112) between the IP header and the VRRP message."""
    ah = bytes([112, 4]) + bytes(22)
    body = datagram[20:]
    total = (20 + len(ah) + len(body)).to_bytes(2, "big")
    ip = datagram[:2] + total + datagram[4:9] + bytes([51]) + datagram[10:20]
    return ip + ah + body


def test_ah_header_without_ah_auth() -> None:
    inst = make()
    assert lines(feed(inst, with_ah_header(craft()), 1)) == ["(VI_1) Received AH header but auth type not AH"]
    assert inst.snapshot().stats.authtype_mismatch == 1


def test_garbage_too_short_is_counted_and_dropped() -> None:
    inst = make()
    assert lines(feed(inst, b"\x45" * 10, 1)) == ["IPv4 VRRP packet too short - 10 bytes"]
    assert dict(inst.snapshot().rejected) == {RejectReason.MALFORMED: 1}


def test_vip_list_mismatch_counts_as_received() -> None:
    """keepalived counts advert_rcvd before the VIP check, so a VIP mismatch is received and bad."""
    inst = make()
    feed(inst, craft(vips=("10.0.0.100", "10.0.0.102")), 1)
    stats = inst.snapshot().stats
    assert (stats.advert_rcvd, stats.addr_list_err) == (1, 1)


def unicast(**kw: object) -> VrrpInstance:
    peer = UnicastPeer(IPv4Address("10.0.0.2"), **kw)  # type: ignore[arg-type]
    return make(version=3, unicast_src_ip=LOCAL, unicast_peers=(peer,), check_unicast_src=True)


def test_unicast_instance_rejects_multicast_and_strangers() -> None:
    inst = unicast()
    assert lines(feed(inst, craft(ver=3), 1)) == [
        "(VI_1) Expected unicast packet but received multicast packet"
    ]
    stranger = craft("10.0.0.3", ver=3, dst="10.0.0.1")
    assert lines(feed(inst, stranger, 2)) == ["(VI_1) unicast source address 10.0.0.3 not a unicast peer"]
    assert lines(feed(inst, craft(ver=3, dst="10.0.0.1", ttl=64), 3)) == [], "no TTL check for unicast"


def test_unicast_peer_ttl_range() -> None:
    inst = unicast(min_ttl=250)
    out = lines(feed(inst, craft(ver=3, dst="10.0.0.1", ttl=64), 1))
    assert out == ["(VI_1) TTL/HL 64 not in range 250 - 255"]
    assert inst.snapshot().stats.ip_ttl_err == 1


def test_old_unicast_checksum_is_detected_and_then_sent() -> None:
    inst = unicast()
    old = craft(ver=3, dst="10.0.0.1", phdr_dst="224.0.0.18", prio=50)
    assert "(VI_1) Setting unicast VRRPv3 checksum to old version" in lines(feed(inst, old, 1))
    deadline = inst.next_deadline()
    assert deadline is not None
    sent = [e for e in inst.handle(TimerExpired(), deadline) if isinstance(e, SendAdvert)]
    message = decode_ipv4_datagram(sent[0].data).message()
    assert checksum_of(message, ChecksumForm.PSEUDO_HEADER_MULTICAST, LOCAL, sent[0].destination) == 0
    assert inst.snapshot().old_unicast_checksum


def test_old_unicast_checksum_never() -> None:
    inst = make(
        version=3,
        unicast_src_ip=LOCAL,
        unicast_peers=(UnicastPeer(IPv4Address("10.0.0.2")),),
        old_unicast_checksum=OldUnicastChecksum.NEVER,
    )
    old = craft(ver=3, dst="10.0.0.1", phdr_dst="224.0.0.18")
    assert lines(feed(inst, old, 1)) == ["(VI_1) Invalid VRRPv3 checksum"]


def test_skip_check_adv_addr_only_skips_for_the_current_master() -> None:
    inst = make(skip_check_adv_addr=True)
    feed(inst, craft(), 1)
    assert lines(feed(inst, craft(vips=("10.0.0.9",)), 2)) == []
    stranger = craft("10.0.0.3", vips=("10.0.0.9",))
    assert lines(feed(inst, stranger, 3)) == ["(VI_1) received an unexpected ip number count 1, expected 2!"]
