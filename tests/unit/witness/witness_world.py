"""Two witness clients and an arbiter in real (simulated) time, with drifting clocks and a bad network.

Every party has its own clock, `local = offset + real + floor(real * ppm / 1e6)`, read in whole
nanoseconds as a real clock is. The network delivers, delays, duplicates or loses each datagram as
the test's `Network` decides. The witness can crash (its state is gone, datagrams to it are lost)
and restart with a new incarnation. For each client the world records when it reported a change of
belief (`VoteChanged`) in real time, which gives the exact real-time intervals during which it
believed it held the vote; `overlaps()` finds two clients believing at the same real moment.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from hapair.core.witness import (
    ArbiterSettings,
    ClientSettings,
    DatagramReceived,
    LeaseTerms,
    LocalRoleChanged,
    PeerVisibilityChanged,
    ReplyReceived,
    SendReply,
    SendToWitness,
    TimerExpired,
    VoteChanged,
    WitnessArbiter,
    WitnessClient,
)
from hapair.core.witness.lease import PPM

SECRET = b"shared witness secret"
RESOURCE = "r0"
MAX_EVENTS = 200_000

# (sender, receiver, real_now) -> delivery delays: [] loses it, two entries duplicate it.
Network = Callable[[str, str, int], list[int]]


@dataclass(frozen=True, slots=True)
class Clock:
    offset: int
    ppm: int

    def local(self, real: int) -> int:
        return self.offset + real + (real * self.ppm) // PPM

    def real_at(self, local: int) -> int:
        """The first real moment at which this clock reads at least `local`."""
        real = max(0, ((local - self.offset) * PPM) // (PPM + self.ppm))
        while real > 0 and self.local(real - 1) >= local:
            real -= 1
        while self.local(real) < local:
            real += 1
        return real


@dataclass
class Belief:
    """A client's reported `held_until` values, with the real time of each report."""

    reports: list[tuple[int, int | None]] = field(default_factory=list)

    def intervals(self, clock: Clock, horizon: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for i, (start, until) in enumerate(self.reports):
            if until is None:
                continue
            end = clock.real_at(until)
            if i + 1 < len(self.reports):
                end = min(end, self.reports[i + 1][0])
            end = min(end, horizon) if i + 1 == len(self.reports) else end
            if start < end:
                out.append((start, end))
        return out


class WitnessWorld:
    def __init__(
        self,
        clocks: dict[str, Clock],
        network: Network,
        *,
        client_terms: LeaseTerms,
        witness_terms: LeaseTerms,
        retry_ns: int,
        standby_delay_ns: int,
    ) -> None:
        self.now = 0
        self.clocks = clocks
        self.network = network
        self.witness_terms = witness_terms
        self.clients = {
            name: WitnessClient(
                ClientSettings(
                    name, SECRET, client_terms, retry_ns=retry_ns, standby_delay_ns=standby_delay_ns
                ),
                boot=index + 1,
                resources=[RESOURCE],
            )
            for index, name in enumerate(sorted(n for n in clocks if n != "witness"))
        }
        self.beliefs = {name: Belief() for name in self.clients}
        self.arbiter: WitnessArbiter | None = None
        self._witness_boots = itertools.count(1000)
        self._queue: list[tuple[int, int, str, object]] = []
        self._seq = itertools.count()
        self.grants = 0
        self.start_witness()

    # ---------------------------------------------------------------------------------- controls

    def start_witness(self) -> None:
        settings = ArbiterSettings(SECRET, self.witness_terms, nodes=frozenset(self.clients))
        local = self.clocks["witness"].local(self.now)
        self.arbiter = WitnessArbiter(settings, boot=next(self._witness_boots), started_ns=local)

    def crash_witness(self) -> None:
        self.arbiter = None

    def at(self, real: int, target: str, event: object) -> None:
        heapq.heappush(self._queue, (real, next(self._seq), target, event))

    def peer_visible(self, real: int, client: str, visible: bool) -> None:
        self.at(real, client, PeerVisibilityChanged(RESOURCE, visible))

    def role(self, real: int, client: str, primary: bool, master: bool = True) -> None:
        """Default: a candidate (VRRP master); `primary` decides whether it asks at once."""
        self.at(real, client, LocalRoleChanged(RESOURCE, primary, master))

    # ----------------------------------------------------------------------------------- running

    def run_until(self, end: int) -> None:
        for _ in range(MAX_EVENTS):
            when = self._next_time()
            if when is None or when > end:
                self.now = end
                return
            self.now = when
            self._step()
        raise RuntimeError("the witness world did not settle")

    def _timer_times(self) -> list[int]:
        times: list[int] = []
        for name, client in self.clients.items():
            deadline = client.next_deadline()
            if deadline is not None:
                times.append(self.clocks[name].real_at(deadline))
        if self.arbiter is not None:
            deadline = self.arbiter.next_deadline()
            if deadline is not None:
                times.append(self.clocks["witness"].real_at(deadline))
        return times

    def _next_time(self) -> int | None:
        times = self._timer_times() + [q[0] for q in self._queue[:1]]
        return max(self.now, min(times)) if times else None

    def _step(self) -> None:
        while self._queue and self._queue[0][0] <= self.now:
            _, _, target, event = heapq.heappop(self._queue)
            if target == "witness":
                if self.arbiter is not None and isinstance(event, DatagramReceived):
                    self._run_witness(event)
            else:
                self._run_client(target, event)
        for name, client in self.clients.items():
            deadline = client.next_deadline()
            if deadline is not None and deadline <= self.clocks[name].local(self.now):
                self._run_client(name, TimerExpired())
        if self.arbiter is not None:
            deadline = self.arbiter.next_deadline()
            if deadline is not None and deadline <= self.clocks["witness"].local(self.now):
                self._run_witness(TimerExpired())

    def _run_client(self, name: str, event: object) -> None:
        client = self.clients[name]
        assert isinstance(event, PeerVisibilityChanged | LocalRoleChanged | ReplyReceived | TimerExpired)
        for effect in client.handle(event, self.clocks[name].local(self.now)):
            if isinstance(effect, SendToWitness):
                self._send(name, "witness", DatagramReceived(effect.data, name))
            elif isinstance(effect, VoteChanged):
                self.beliefs[name].reports.append((self.now, effect.held_until_ns))
                if effect.held_until_ns is not None:
                    self.grants += 1

    def _run_witness(self, event: DatagramReceived | TimerExpired) -> None:
        assert self.arbiter is not None
        for effect in self.arbiter.handle(event, self.clocks["witness"].local(self.now)):
            if isinstance(effect, SendReply):
                self._send("witness", effect.destination, ReplyReceived(effect.data))

    def _send(self, sender: str, receiver: str, event: object) -> None:
        for delay in self.network(sender, receiver, self.now):
            self.at(self.now + max(0, delay), receiver, event)

    # ----------------------------------------------------------------------------------- checking

    def intervals(self) -> dict[str, list[tuple[int, int]]]:
        return {name: b.intervals(self.clocks[name], self.now) for name, b in self.beliefs.items()}

    def overlaps(self) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """Pairs of belief intervals of different clients that share a real moment."""
        found = []
        names = sorted(self.clients)
        spans = self.intervals()
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                for x in spans[a]:
                    for y in spans[b]:
                        if x[0] < y[1] and y[0] < x[1]:
                            found.append((x, y))
        return found
