"""Replay a keepalived 2.2.7 capture into our VRRP instance and collect what it does.

The captures were taken on the peer's side of a veth pair, so they hold both what keepalived "A"
sent and what A received (the peer's adverts and crafted packets). Feeding the received ones to a
`VrrpInstance` configured like A, at their capture times, must make it send what A sent and log what
A logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from hapair.core.vrrp import (
    AdvertReceived,
    Effect,
    InstanceSettings,
    LogLine,
    SendAdvert,
    StartRequested,
    StopRequested,
    TimerExpired,
    VrrpInstance,
)
from hapair.core.vrrp.packet import decode_ipv4_datagram


@dataclass
class ReplayResult:
    instance: VrrpInstance
    effects: list[tuple[int, Effect]] = field(default_factory=list)

    def sent(self) -> list[tuple[int, bytes]]:
        return [(t, e.data) for t, e in self.effects if isinstance(e, SendAdvert)]

    def lines(self, prefixes: Sequence[str] = ("(VI_1)", "Sending gratuitous")) -> list[str]:
        return [
            e.text for _, e in self.effects if isinstance(e, LogLine) and e.text.startswith(tuple(prefixes))
        ]


def replay(
    settings: InstanceSettings,
    local: IPv4Address,
    captured: Sequence[tuple[int, bytes]],
    *,
    start_ns: int,
    stop_ns: int,
    skip: Sequence[int] = (),
) -> ReplayResult:
    """Run an instance from `start_ns` to `stop_ns`, delivering what its socket would have received.

    A multicast instance's socket gets packets to the VRRP group, a unicast one packets to its own
    address; the kernel drops packets carrying our own source address. `skip` lists capture times of
    packets to leave out (crafted ones A never received).
    """
    result = ReplayResult(VrrpInstance(settings, interface_address=local))
    inst = result.instance

    def run(event: StartRequested | StopRequested | TimerExpired | AdvertReceived, now: int) -> None:
        result.effects.extend((now, e) for e in inst.handle(event, now))

    def timers_until(t: int) -> None:
        while (deadline := inst.next_deadline()) is not None and deadline <= t:
            run(TimerExpired(), deadline)

    run(StartRequested(), start_ns)
    for when, datagram in captured:
        if when < start_ns or when in skip:
            continue
        if when >= stop_ns:
            break
        header = decode_ipv4_datagram(datagram)
        if header.source == local:
            continue
        wanted = header.destination == local if settings.unicast else header.destination.is_multicast
        if not wanted:
            continue
        timers_until(when)
        run(AdvertReceived(datagram, settings.interface), when)
    timers_until(stop_ns)
    run(StopRequested(), stop_ns)
    return result
