"""What the parts of a replica share while handling one input: the effect list, the clock, local
I/O submission with completion routing, the peer link, and the /proc/drbd-style counters.

The replica facade creates one `ReplicaContext`; the write path, the peer-write applier, resync
and verify each keep a reference and append effects through it. `begin(now_ns)` starts an input,
`take()` hands the collected effects to the shell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hapair.core.volume.connection import PeerLink
from hapair.core.volume.effects import (
    Effect,
    Emit,
    SubmitFlush,
    SubmitLocalRead,
    SubmitLocalWrite,
    WriteMetadata,
)
from hapair.core.volume.events import VolumeEvent
from hapair.core.volume.io_tracking import IoRegistry, OverlapGate
from hapair.core.volume.messages import Message
from hapair.core.volume.settings import VolumeSettings

WriteDone = Callable[[int], None]
ReadDone = Callable[[int, bytes | memoryview], None]


@dataclass(slots=True)
class Counters:
    """DRBD's /proc/drbd counters (KiB for amounts, counts for the rest)."""

    net_sent_bytes: int = 0  # ns
    net_received_bytes: int = 0  # nr
    disk_written_bytes: int = 0  # dw
    disk_read_bytes: int = 0  # dr
    al_writes: int = 0  # al
    bm_writes: int = 0  # bm
    local_pending: int = 0  # lo
    peer_pending: int = 0  # pe: requests sent to the peer not answered yet
    unacked: int = 0  # ua: requests from the peer not answered yet
    app_pending: int = 0  # ap
    epochs: int = 1  # ep
    resync_bytes_sent: int = 0
    resync_bytes_received: int = 0
    application_writes: int = 0  # client writes here, or mirrored writes received (c-min-rate)


class ReplicaContext:
    def __init__(self, settings: VolumeSettings, link: PeerLink) -> None:
        self.settings = settings
        self.link = link
        self.now_ns = 0
        self.out: list[Effect] = []
        self.io = IoRegistry()
        self.gate = OverlapGate()
        self.counters = Counters()

    def begin(self, now_ns: int) -> None:
        self.now_ns = now_ns

    def take(self) -> list[Effect]:
        out, self.out = self.out, []
        return out

    def emit(self, event: VolumeEvent) -> None:
        self.out.append(Emit(event))

    # ---- the peer ----

    @property
    def connected(self) -> bool:
        return self.link.established

    def send(self, message: Message) -> None:
        """Send when the link is up (callers check `connected` when it matters)."""
        self.link.send(message, self.out)
        payload = message.payload_bytes()
        if payload:
            self.counters.net_sent_bytes += len(payload)

    # ---- local I/O ----

    def write_data(self, offset: int, data: bytes | memoryview, fua: bool, on_done: WriteDone) -> None:
        """Write through the overlap gate; `on_done(errno)` after completion."""

        def begin() -> None:
            def done(error: int, _data: bytes | memoryview) -> None:
                self.gate.release(token)
                self.counters.local_pending -= 1
                if not error:
                    self.counters.disk_written_bytes += len(data)
                on_done(error)

            io_id = self.io.register(done)
            self.counters.local_pending += 1
            self.out.append(SubmitLocalWrite(io_id, offset, data, fua))

        token = self.gate.admit(offset, len(data), True, begin)

    def read_data(self, offset: int, length: int, on_done: ReadDone) -> None:
        """Read through the overlap gate; `on_done(errno, data)`."""

        def begin() -> None:
            def done(error: int, data: bytes | memoryview) -> None:
                self.gate.release(token)
                self.counters.local_pending -= 1
                if not error:
                    self.counters.disk_read_bytes += len(data)
                on_done(error, data)

            io_id = self.io.register(done)
            self.counters.local_pending += 1
            self.out.append(SubmitLocalRead(io_id, offset, length))

        token = self.gate.admit(offset, length, False, begin)

    def flush(self, on_done: WriteDone) -> None:
        def done(error: int, _data: bytes | memoryview) -> None:
            self.counters.local_pending -= 1
            on_done(error)

        io_id = self.io.register(done)
        self.counters.local_pending += 1
        self.out.append(SubmitFlush(io_id))

    def write_metadata(self, offset: int, data: bytes, on_done: WriteDone) -> None:
        """Durable write inside the metadata area."""

        def done(error: int, _data: bytes | memoryview) -> None:
            self.counters.local_pending -= 1
            on_done(error)

        io_id = self.io.register(done)
        self.counters.local_pending += 1
        self.out.append(WriteMetadata(io_id, offset, data))
