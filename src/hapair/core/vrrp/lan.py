"""An in-memory Ethernet segment for VRRP nodes, on a fake clock: the deterministic test harness.

`SimulatedLan` wires `VrrpNode`s together the way a switch and their shells would: an advert one
node sends reaches every other host (multicast) or the host owning the destination (unicast) after
`latency_ns`; VIPs added and removed are tracked per host; track scripts "run" and report what the
test says they return. Links can be cut, hosts frozen (SIGSTOP) and thawed. Everything is a pure
function of the inputs, so a scenario replays exactly; the later simulator can build on it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv6Address

from hapair.core.vrrp.events import (
    AddVips,
    AdvertReceived,
    AdvertReceivedV6,
    Effect,
    InstanceState,
    LogLine,
    NodeInput,
    RemoveVips,
    RunTrackScript,
    ScriptOutcome,
    ScriptResult,
    SendAdvert,
    StartRequested,
    StopRequested,
    TimerExpired,
)
from hapair.core.vrrp.node import VrrpNode
from hapair.core.vrrp.wire import IPAddress

MAX_STEPS = 1_000_000
PENDING_LIMIT = 256


@dataclass
class LanHost:
    """One host on the segment: its VRRP node and what the test observes of it."""

    name: str
    node: VrrpNode
    interface: str
    addresses: tuple[IPAddress, ...]
    effects: list[tuple[int, Effect]] = field(default_factory=list)
    vips: set[IPAddress] = field(default_factory=set)
    script_ok: dict[str, bool] = field(default_factory=dict)
    frozen: bool = False
    pending: list[NodeInput] = field(default_factory=list)

    def logs(self, *, detailed: bool = True) -> list[str]:
        return [e.text for _, e in self.effects if isinstance(e, LogLine) and (detailed or not e.detailed)]

    def sent(self) -> list[tuple[int, SendAdvert]]:
        return [(t, e) for t, e in self.effects if isinstance(e, SendAdvert)]

    def state(self, instance: str) -> InstanceState:
        return self.node.instance(instance).state


@dataclass(order=True)
class _Queued:
    time: int
    seq: int
    host: str = field(compare=False)
    event: NodeInput = field(compare=False)


class SimulatedLan:
    """Hosts on one L2 segment sharing a fake clock (nanoseconds)."""

    def __init__(self, latency_ns: int = 100_000, script_duration_ns: int = 1_000_000) -> None:
        self.now = 0
        self.latency_ns = latency_ns
        self.script_duration_ns = script_duration_ns
        self.hosts: dict[str, LanHost] = {}
        self._queue: list[_Queued] = []
        self._seq = 0
        self._cut: set[frozenset[str]] = set()
        self.drop: Callable[[LanHost, LanHost, SendAdvert], bool] | None = None

    def add_host(self, name: str, node: VrrpNode, interface: str, *addresses: IPAddress) -> LanHost:
        host = LanHost(name, node, interface, tuple(addresses))
        self.hosts[name] = host
        return host

    def __getitem__(self, name: str) -> LanHost:
        return self.hosts[name]

    # ---------------------------------------------------------------------------------- controls

    def inject(self, host: str, event: NodeInput, delay_ns: int = 0) -> None:
        """Deliver `event` to `host` at now + `delay_ns`."""
        self._seq += 1
        heapq.heappush(self._queue, _Queued(self.now + delay_ns, self._seq, host, event))

    def start(self, *names: str) -> None:
        for name in names or tuple(self.hosts):
            self.inject(name, StartRequested())

    def stop(self, name: str) -> None:
        self.inject(name, StopRequested())

    def cut(self, a: str, b: str) -> None:
        """Drop everything between hosts `a` and `b` (both directions) until `heal`."""
        self._cut.add(frozenset((a, b)))

    def heal(self, a: str, b: str) -> None:
        self._cut.discard(frozenset((a, b)))

    def freeze(self, name: str) -> None:
        """Like SIGSTOP: the host runs no timers and reads nothing; what arrives waits (the last
        `PENDING_LIMIT` items, like a socket buffer) and is handled in order when it is thawed."""
        self.hosts[name].frozen = True

    def thaw(self, name: str) -> None:
        host = self.hosts[name]
        if not host.frozen:
            return
        host.frozen = False
        # What waited while frozen arrived before anything still queued for now: order it first.
        for i, event in enumerate(host.pending):
            heapq.heappush(self._queue, _Queued(self.now, i - len(host.pending) - self._seq, name, event))
        host.pending.clear()

    # ------------------------------------------------------------------------------------ running

    def run_for(self, duration_ns: int) -> None:
        self.run_until(self.now + duration_ns)

    def run_until(self, until_ns: int) -> None:
        for _ in range(MAX_STEPS):
            when = self._next_time()
            if when is None or when > until_ns:
                self.now = max(self.now, until_ns)
                return
            self.now = max(self.now, when)
            self._step()
        raise RuntimeError(f"simulation did not settle within {MAX_STEPS} steps")

    def _next_time(self) -> int | None:
        times = [q.time for q in self._queue[:1]]
        for host in self.hosts.values():
            deadline = host.node.next_deadline()
            if deadline is not None and not host.frozen:
                times.append(deadline)
        return min(times) if times else None

    def _step(self) -> None:
        while self._queue and self._queue[0].time <= self.now:
            item = heapq.heappop(self._queue)
            host = self.hosts[item.host]
            if host.frozen:
                host.pending.append(item.event)
                del host.pending[:-PENDING_LIMIT]
            else:
                self._apply(host, host.node.handle(item.event, self.now))
        for host in self.hosts.values():
            deadline = host.node.next_deadline()
            if not host.frozen and deadline is not None and deadline <= self.now:
                self._apply(host, host.node.handle(TimerExpired(), self.now))

    def _apply(self, host: LanHost, effects: list[Effect]) -> None:
        for effect in effects:
            host.effects.append((self.now, effect))
            match effect:
                case SendAdvert():
                    for receiver in self._receivers(host, effect):
                        self.inject(receiver.name, _arrival(effect, receiver), self.latency_ns)
                case AddVips(vips=vips):
                    host.vips.update(v.ip for v in vips)
                case RemoveVips(vips=vips):
                    host.vips.difference_update(v.ip for v in vips)
                case RunTrackScript(name=name):
                    ok = host.script_ok.get(name, True)
                    result = ScriptResult(name, ScriptOutcome.EXITED, 0 if ok else 1)
                    self.inject(host.name, result, self.script_duration_ns)
                case _:
                    pass

    def _receivers(self, sender: LanHost, advert: SendAdvert) -> Iterator[LanHost]:
        for host in self.hosts.values():
            if host is sender or frozenset((sender.name, host.name)) in self._cut:
                continue
            if not advert.destination.is_multicast and advert.destination not in host.addresses:
                continue
            if self.drop is not None and self.drop(sender, host, advert):
                continue
            yield host

    # ------------------------------------------------------------------------------------ queries

    def holders(self, vip: IPAddress) -> list[str]:
        """The hosts that currently have `vip` configured."""
        return [h.name for h in self.hosts.values() if vip in h.vips]

    def masters(self, instance: str) -> list[str]:
        return [h.name for h in self.hosts.values() if h.state(instance) is InstanceState.MASTER]


def _arrival(advert: SendAdvert, receiver: LanHost) -> NodeInput:
    if isinstance(advert.destination, IPv6Address) and isinstance(advert.source, IPv6Address):
        return AdvertReceivedV6(advert.data, advert.source, advert.destination, 255, receiver.interface)
    return AdvertReceived(advert.data, receiver.interface)
