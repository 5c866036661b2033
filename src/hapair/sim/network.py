"""An in-memory network of reliable byte streams between named nodes, with faults.

Streams behave like TCP: bytes arrive in order, after a random delay, cut into random chunks (to
exercise reassembly). Faults act on connections, not bytes (following FoundationDB's clogging and
the research note on stream links):

- `reset()`: every connection is torn down; both ends hear `TransportDown` at once and bytes in
  flight are lost (an RST, or a crashed process whose kernel closes its sockets).
- `partition()`: the nodes cannot reach each other. Nothing is signalled: bytes vanish and dials
  fail after the dial timeout, so the nodes find out from their own ping timeouts. `heal()` ends it.
- `stall(node, duration)`: bytes sent by `node` are held for `duration`, then delivered in order.
- `isolate(node)` / `rejoin(node)`: the node is gone (power loss); like a partition for that node.

Endpoints register a delivery callback taking the core's transport inputs. Transport ids are
allocated per endpoint, so the two ends of one stream usually have different ids.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from hapair.core.volume.effects import BytesReceived, DialFailed, TransportDown, TransportInput, TransportUp
from hapair.sim.scheduler import Scheduler

Deliver = Callable[[TransportInput], None]
MS = 1_000_000


@dataclass(slots=True)
class _End:
    node: str
    transport_id: int
    last_arrival_ns: int = 0
    held: list[bytes] = field(default_factory=list)  # bytes sent while the sender is stalled


@dataclass(slots=True)
class _Stream:
    ends: tuple[_End, _End]  # [0] dialed, [1] accepted
    open: bool = True
    epoch: int = 0  # bumps on teardown so scheduled deliveries of a dead stream are dropped

    def end_of(self, node: str) -> tuple[_End, _End]:
        """(this node's end, the other end)."""
        a, b = self.ends
        return (a, b) if a.node == node else (b, a)


@dataclass(slots=True)
class NetworkStats:
    streams: int = 0
    bytes_delivered: int = 0
    chunks_delivered: int = 0
    dials_failed: int = 0


class SimNetwork:
    def __init__(
        self,
        scheduler: Scheduler,
        rng: random.Random,
        latency_ns: tuple[int, int] = (50_000, 300_000),
        dial_timeout_ns: int = 1_000 * MS,
        max_chunk: int = 64 * 1024,
    ) -> None:
        self._sched = scheduler
        self._rng = rng
        self.latency_ns = latency_ns
        self.dial_timeout_ns = dial_timeout_ns
        self.max_chunk = max_chunk
        self._deliver: dict[str, Deliver] = {}
        self._listening: dict[str, bool] = {}
        self._streams: dict[tuple[str, int], _Stream] = {}
        self._next_id: dict[str, int] = {}
        self._partitioned = False
        self._isolated: set[str] = set()
        self._stalled_until: dict[str, int] = {}
        self.stats = NetworkStats()

    # ---- endpoints ----

    def register(self, node: str, deliver: Deliver) -> None:
        self._deliver[node] = deliver
        self._listening.setdefault(node, False)
        self._next_id.setdefault(node, 1)

    def listen(self, node: str, enabled: bool) -> None:
        self._listening[node] = enabled

    def _peer_of(self, node: str) -> str:
        others = [n for n in self._deliver if n != node]
        if len(others) != 1:
            raise ValueError(f"{node}: a pair network needs exactly one peer, has {others}")
        return others[0]

    def reachable(self, a: str, b: str) -> bool:
        return not self._partitioned and a not in self._isolated and b not in self._isolated

    def _new_id(self, node: str) -> int:
        value = self._next_id[node]
        self._next_id[node] = value + 1
        return value

    def _latency(self) -> int:
        low, high = self.latency_ns
        return self._rng.randint(low, high)

    # ---- connecting ----

    def dial(self, node: str) -> None:
        peer = self._peer_of(node)
        if not self.reachable(node, peer):
            self._sched.call_later(self.dial_timeout_ns, lambda: self._dial_failed(node, "timed out"))
            return
        delay = self._latency()

        def arrive() -> None:
            if not self.reachable(node, peer):
                self._dial_failed(node, "timed out")
            elif not self._listening.get(peer, False):
                self._sched.call_later(self._latency(), lambda: self._dial_failed(node, "refused"))
            else:
                self._accept(node, peer)

        self._sched.call_later(delay, arrive)

    def _dial_failed(self, node: str, reason: str) -> None:
        self.stats.dials_failed += 1
        self._deliver[node](DialFailed(reason))

    def _accept(self, dialer: str, listener: str) -> None:
        """The connection exists: both ends learn it at this instant, the listener first. Bytes
        either end sends in reaction arrive a latency later, so neither end sees data on a stream
        before it knows the stream (as with TCP, where unread bytes wait in the socket)."""
        d = _End(dialer, self._new_id(dialer))
        a = _End(listener, self._new_id(listener))
        stream = _Stream((d, a))
        self._streams[(dialer, d.transport_id)] = stream
        self._streams[(listener, a.transport_id)] = stream
        self.stats.streams += 1
        self._deliver[listener](TransportUp(a.transport_id, dialed=False))
        self._sched.call_soon(lambda: self._established(stream, d))

    def _established(self, stream: _Stream, dialer_end: _End) -> None:
        if stream.open:
            self._deliver[dialer_end.node](TransportUp(dialer_end.transport_id, dialed=True))

    # ---- data ----

    def send(self, node: str, transport_id: int, data: bytes) -> None:
        stream = self._streams.get((node, transport_id))
        if stream is None or not stream.open or not data:
            return  # a broken stream swallows bytes; the sender finds out by timeout
        mine, theirs = stream.end_of(node)
        if self._stalled_until.get(node, 0) > self._sched.now_ns:
            mine.held.append(data)
            return
        self._transmit(stream, mine, theirs, data)

    def _transmit(self, stream: _Stream, mine: _End, theirs: _End, data: bytes) -> None:
        pos = 0
        epoch = stream.epoch
        while pos < len(data):
            size = min(len(data) - pos, self._rng.randint(1, self.max_chunk))
            chunk = data[pos : pos + size]
            pos += size
            at = max(mine.last_arrival_ns, self._sched.now_ns + self._latency())
            mine.last_arrival_ns = at
            self._sched.schedule(at, partial(self._arrive, stream, epoch, theirs, chunk))

    def _arrive(self, stream: _Stream, epoch: int, dest: _End, chunk: bytes) -> None:
        if not stream.open or stream.epoch != epoch:
            return
        self.stats.bytes_delivered += len(chunk)
        self.stats.chunks_delivered += 1
        self._deliver[dest.node](BytesReceived(dest.transport_id, chunk))

    def close(self, node: str, transport_id: int) -> None:
        """A graceful close by `node`: bytes already sent still arrive, then the peer hears it."""
        stream = self._streams.pop((node, transport_id), None)
        if stream is None or not stream.open:
            return  # already broken: nobody hears about it
        mine, theirs = stream.end_of(node)
        at = max(mine.last_arrival_ns, self._sched.now_ns + self._latency())

        def fin() -> None:
            if stream.open:
                stream.open = False
                self._streams.pop((theirs.node, theirs.transport_id), None)
                if self.reachable(node, theirs.node):
                    self._deliver[theirs.node](
                        TransportDown(theirs.transport_id, "connection closed by peer")
                    )

        self._sched.schedule(at, fin)

    # ---- faults ----

    def reset(self, reason: str = "connection reset") -> None:
        for stream in {id(s): s for s in self._streams.values()}.values():
            self._tear(stream, notify=True, reason=reason)

    def _tear(self, stream: _Stream, notify: bool, reason: str) -> None:
        if not stream.open:
            return
        stream.open = False
        stream.epoch += 1
        for end in stream.ends:
            self._streams.pop((end.node, end.transport_id), None)
            if notify and end.node not in self._isolated:
                self._sched.call_soon(
                    partial(self._deliver[end.node], TransportDown(end.transport_id, reason))
                )

    def partition(self) -> None:
        """Cut the pair apart. Open streams break silently (as TCP does once its retransmissions
        give up): nothing more is delivered on them, and neither end is told."""
        self._partitioned = True
        for stream in {id(s): s for s in self._streams.values()}.values():
            self._break_silently(stream)

    @staticmethod
    def _break_silently(stream: _Stream) -> None:
        stream.open = False
        stream.epoch += 1

    def heal(self) -> None:
        self._partitioned = False

    def isolate(self, node: str) -> None:
        """The node vanished (power loss): its streams die silently on both ends."""
        self._isolated.add(node)
        self._listening[node] = False
        for stream in {id(s): s for s in self._streams.values()}.values():
            if any(end.node == node for end in stream.ends):
                self._break_silently(stream)  # the survivor keeps a dead stream until it times out

    def rejoin(self, node: str) -> None:
        self._isolated.discard(node)

    def crash(self, node: str) -> None:
        """The node's process died: its kernel closes its sockets, the peer sees a reset."""
        self._listening[node] = False
        for stream in {id(s): s for s in self._streams.values()}.values():
            if any(end.node == node for end in stream.ends):
                stream.open = False
                stream.epoch += 1
                for end in stream.ends:
                    self._streams.pop((end.node, end.transport_id), None)
                    if end.node != node:
                        down = TransportDown(end.transport_id, "connection reset by peer")
                        self._sched.call_later(self._latency(), partial(self._deliver[end.node], down))

    def stall(self, node: str, duration_ns: int) -> None:
        """Hold what `node` sends for `duration_ns`, then deliver it in order."""
        until = self._sched.now_ns + duration_ns
        self._stalled_until[node] = until
        self._sched.schedule(until, lambda: self._release(node))

    def _release(self, node: str) -> None:
        if self._stalled_until.get(node, 0) > self._sched.now_ns:
            return
        for stream in {id(s): s for s in self._streams.values()}.values():
            mine, theirs = stream.end_of(node) if any(e.node == node for e in stream.ends) else (None, None)
            if mine is None or theirs is None or not stream.open:
                continue
            held, mine.held = mine.held, []
            for data in held:
                self._transmit(stream, mine, theirs, data)
