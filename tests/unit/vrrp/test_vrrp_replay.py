"""Replays of keepalived 2.2.7 captures: our instance, configured like keepalived "A" and fed what A
received, must send A's adverts byte for byte (IP ID and checksums included), at A's times, and log
A's lines word for word.

Scenarios (research note vrrp_keepalived.md, evidence A_*.conf / A_*.log / *.pcap):
  v2    A prio 150 v2 starts while B (100) is master: discards B, takes over, stops (priority 0)
  v3    same with VRRPv3, B advertising every 0.5 s
  m     A `state MASTER` prio 100 (not owner): crafted lower-priority and equal-priority-lower-IP
        adverts make it answer "forcing new election"; a v3 packet is rejected. keepalived restarted
        its advert timer on that bad packet; we deliberately do not (a bad packet changes nothing),
        so our next two adverts come 0.18 s earlier than keepalived's, otherwise identical
  auth  A with PASS auth: bad password, wrong auth types, equal priority from higher IPs
  u     VRRPv3 unicast A -> B, then a unicast advert with TTL 64 and higher priority
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

import pytest
from vrrp_evidence import ipv4_vrrp, log_lines
from vrrp_replay import replay

from hapair.core.vrrp import (
    AuthType,
    InitialState,
    InstanceSettings,
    UnicastPeer,
    VirtualIp,
    seconds,
)
from hapair.core.vrrp.packet import decode_ipv4_datagram
from hapair.core.vrrp.timers import master_down_interval_ns

A = IPv4Address("10.0.0.1")
B = IPv4Address("10.0.0.2")
VIPS = (VirtualIp.of("10.0.0.100/24"), VirtualIp.of("10.0.0.101/24"))
TOLERANCE_NS = 25_000_000  # keepalived's own timer drift and scheduling jitter in the captures
REJECTED_V3_IN_M = 1795728997149135000


def settings(**kw: object) -> InstanceSettings:
    base: dict[str, object] = {"name": "VI_1", "virtual_router_id": 51, "interface": "vA", "vips": VIPS}
    base.update(kw)
    return InstanceSettings(**base)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Scenario:
    pcap: str
    log: str
    settings: InstanceSettings
    crafted_from_a: tuple[int, ...] = ()  # capture times of packets faking A's address
    stop_after_last_ns: int | None = None  # A did not send priority 0: stop this long after the capture
    start_before_first_ns: int | None = None  # A was held in BACKUP: start this long before the capture
    not_restarted_by: int | None = None  # capture time of a rejected packet keepalived let restart its timer


SCENARIOS = {
    "v2": Scenario("v2.pcap", "A_v2.log", settings(priority=150, version=2)),
    "v3": Scenario("v3.pcap", "A_v3.log", settings(priority=150, version=3)),
    "m": Scenario(
        "m.pcap",
        "A_m.log",
        settings(priority=100, state=InitialState.MASTER),
        crafted_from_a=(1795728994837243000,),
        not_restarted_by=REJECTED_V3_IN_M,
    ),
    "auth": Scenario(
        "auth.pcap",
        "A_auth.log",
        settings(priority=100, auth_type=AuthType.PASS, auth_pass=b"secret12"),
        crafted_from_a=(1795728970550829000,),
        start_before_first_ns=seconds("0.5"),
    ),
    "u": Scenario(
        "u.pcap",
        "A_u.log",
        settings(priority=150, version=3, unicast_src_ip=A, unicast_peers=(UnicastPeer(B),)),
        stop_after_last_ns=seconds("0.5"),
    ),
}


def expected_from_a(scenario: Scenario) -> list[tuple[int, bytes]]:
    return [
        (t, d)
        for t, d in ipv4_vrrp(scenario.pcap)
        if decode_ipv4_datagram(d).source == A and t not in scenario.crafted_from_a
    ]


def run(name: str) -> tuple[Scenario, list[tuple[int, bytes]], list[tuple[int, bytes]], list[str]]:
    scenario = SCENARIOS[name]
    captured = ipv4_vrrp(scenario.pcap)
    theirs = expected_from_a(scenario)
    s = scenario.settings
    if scenario.start_before_first_ns is None:
        start = theirs[0][0] - master_down_interval_ns(s.version, s.priority, s.advert_int_cs)
    else:
        start = captured[0][0] - scenario.start_before_first_ns
    if scenario.stop_after_last_ns is None:
        stop = theirs[-1][0]
        assert decode_ipv4_datagram(theirs[-1][1]).vrrp[2] == 0, "A's last packet is its priority-0 advert"
    else:
        stop = captured[-1][0] + scenario.stop_after_last_ns
    result = replay(s, A, captured, start_ns=start, stop_ns=stop, skip=scenario.crafted_from_a)
    return scenario, theirs, result.sent(), result.lines()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_replay_sends_keepalived_bytes_at_keepalived_times(name: str) -> None:
    scenario, theirs, ours, _ = run(name)
    assert [d.hex() for _, d in ours] == [d.hex() for _, d in theirs]
    bad = scenario.not_restarted_by
    shift = 0
    for (t_ours, d), (t_theirs, _) in zip(ours, theirs, strict=True):
        if bad is not None and t_theirs > bad and not shift:
            # keepalived's schedule restarted at the bad packet, ours did not: we are ahead by this
            shift = t_theirs - t_ours
            assert seconds("0.15") < shift < seconds("0.2")
        priority = decode_ipv4_datagram(d).vrrp[2]
        expected = t_theirs - shift if priority else t_theirs  # the stop is at keepalived's time
        assert abs(t_ours - expected) <= TOLERANCE_NS, (t_ours - expected) / 1e9


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_replay_logs_keepalived_lines(name: str) -> None:
    scenario, _, _, ours = run(name)
    prefixes = ("(VI_1)", "Sending gratuitous")
    theirs = [line for line in log_lines(scenario.log) if line.startswith(prefixes)]
    assert ours == theirs


def test_m_scenario_answers_lower_priority_at_once_and_ignores_bad_packet_for_timing() -> None:
    """m.pcap: A answers a crafted equal-priority advert from a lower IP within microseconds; the
    rejected v3 packet does not move our next advert (keepalived's came one interval after it)."""
    _, theirs, ours, _ = run("m")
    times = [t for t, _ in ours]
    crafted_lower = 1795728993706624000
    assert any(0 <= t - crafted_lower < 1_000_000 for t in times)
    before = max(t for t in times if t < REJECTED_V3_IN_M)
    after = min(t for t in times if t > REJECTED_V3_IN_M)
    assert after - before == seconds(1)
    keepalived_after = min(t for t, _ in theirs if t > REJECTED_V3_IN_M)
    assert keepalived_after - REJECTED_V3_IN_M == seconds("1.002972")
    assert len(theirs) == len(ours)
