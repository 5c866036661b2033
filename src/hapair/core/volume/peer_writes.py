"""The Secondary's side of mirroring: apply the Primary's writes, acknowledge them, honour barriers.

A `Data` message is written locally (through the overlap gate, in arrival order). A RecvAck goes
back on receipt when asked (protocol B), a WriteAck after the local write (protocol C, FUA), a
NegAck if the write failed. A `Barrier` closing epoch E is answered with `BarrierAck(E, count)` only
after every write of E and earlier epochs completed and the disk was flushed (unless
`disk-flushes no`): the Primary treats that ack as "durable here" and drops the writes from its
transfer log. Reads for a diskless Primary (`DataRequest`) are served from the local disk.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hapair.core.volume import messages as m
from hapair.core.volume.context import ReplicaContext
from hapair.core.volume.messages import SECTOR, DataFlags
from hapair.errors import RemoteProtocolError


class PeerWriteHost(Protocol):
    @property
    def data_size(self) -> int: ...

    def local_disk_writable(self) -> bool:
        """Attached with a disk that takes writes (Inconsistent or better)."""
        ...

    def local_disk_readable(self) -> bool:
        """UpToDate: may serve reads to the peer."""
        ...

    def mark_out_of_sync_local(self, offset: int, length: int) -> None: ...

    def mark_in_sync_local(self, offset: int, length: int) -> None: ...

    def peer_is_diskless(self) -> bool:
        """The Primary writing to us has no disk: what we write exists only here."""
        ...

    def mark_out_of_sync_durably(self, offset: int, length: int, then: Callable[[], None]) -> None:
        """Mark a range out of sync and persist the mark before `then()`."""
        ...

    def local_io_failed(self, error: int, what: str) -> None: ...


@dataclass(slots=True)
class _Epoch:
    received: int = 0
    done: int = 0


class PeerWriteApplier:
    def __init__(self, ctx: ReplicaContext, host: PeerWriteHost) -> None:
        self.ctx = ctx
        self.host = host
        self._epochs: OrderedDict[int, _Epoch] = OrderedDict()
        self._barriers: deque[int] = deque()
        self._last_closed = 0
        self._flushing = False
        self._generation = 0  # bumps on connection loss: late completions send nothing

    def _check_range(self, what: str, sector: int, size: int) -> int:
        offset = sector * SECTOR
        if offset + size > self.host.data_size:
            raise RemoteProtocolError(f"{what} at sector {sector} + {size} is beyond the volume")
        return offset

    def data_received(self, message: m.Data) -> None:
        ctx = self.ctx
        size = len(message.payload)
        offset = self._check_range("Data", message.sector, size)
        if message.epoch <= self._last_closed:
            raise RemoteProtocolError(f"Data for epoch {message.epoch}, which a barrier already closed")
        epoch = self._epochs.setdefault(message.epoch, _Epoch())
        epoch.received += 1
        ctx.counters.net_received_bytes += size
        ctx.counters.unacked += 1
        ctx.counters.application_writes += 1
        generation = self._generation
        if message.flags & DataFlags.SEND_RECEIVE_ACK:
            ctx.send(m.RecvAck(message.sector, message.req_id, size))
        if not self.host.local_disk_writable():
            self._write_done(message, epoch, generation, error=-1)
            return
        ctx.write_data(
            offset,
            message.payload,
            bool(message.flags & DataFlags.FUA),
            lambda error: self._write_done(message, epoch, generation, error),
        )

    def _write_done(self, message: m.Data, epoch: _Epoch, generation: int, error: int) -> None:
        ctx = self.ctx
        size = len(message.payload)
        offset = message.sector * SECTOR
        epoch.done += 1
        if error > 0:
            self.host.local_io_failed(error, "write")
        if generation != self._generation:
            return  # the connection this write came on is gone; the Primary marked it out of sync
        if error:
            ctx.counters.unacked -= 1
            self.host.mark_out_of_sync_local(offset, size)
            ctx.send(m.NegAck(message.sector, message.req_id, size))
            self._progress_barriers()
            return

        def acknowledge() -> None:
            if generation != self._generation:
                return
            ctx.counters.unacked -= 1
            if message.flags & DataFlags.SEND_WRITE_ACK:
                ctx.send(m.WriteAck(message.sector, message.req_id, size))
            self._progress_barriers()

        if self.host.peer_is_diskless():
            # DRBD receive_Data: we hold the cluster's only copy; the Primary's disk must get this
            # block when it comes back, so the mark is durable before the write is acknowledged.
            epoch.done -= 1
            self.host.mark_out_of_sync_durably(offset, size, lambda: self._count_done(epoch, acknowledge))
            return
        self.host.mark_in_sync_local(offset, size)
        acknowledge()

    @staticmethod
    def _count_done(epoch: _Epoch, then: Callable[[], None]) -> None:
        epoch.done += 1
        then()

    def barrier_received(self, message: m.Barrier) -> None:
        if message.epoch <= self._last_closed:
            raise RemoteProtocolError(f"Barrier {message.epoch} repeats or goes backwards")
        self._last_closed = message.epoch
        self._epochs.setdefault(message.epoch, _Epoch())
        self._barriers.append(message.epoch)
        self._progress_barriers()

    def _progress_barriers(self) -> None:
        if self._flushing or not self._barriers:
            return
        epoch_nr = self._barriers[0]
        pending = [e for nr, e in self._epochs.items() if nr <= epoch_nr and e.done < e.received]
        if pending:
            return
        count = sum(e.received for nr, e in self._epochs.items() if nr <= epoch_nr)
        generation = self._generation

        def flushed(error: int) -> None:
            if generation != self._generation:
                return
            self._flushing = False
            if error:
                self.host.local_io_failed(error, "flush")
            for nr in [nr for nr in self._epochs if nr <= epoch_nr]:
                del self._epochs[nr]
            self._barriers.popleft()
            self.ctx.send(m.BarrierAck(epoch_nr, count))
            self._progress_barriers()

        if self.ctx.settings.disk_flushes and self.host.local_disk_writable():
            self._flushing = True
            self.ctx.flush(flushed)
        else:
            flushed(0)

    def read_requested(self, message: m.DataRequest) -> None:
        offset = self._check_range("DataRequest", message.sector, message.size)
        generation = self._generation
        if not self.host.local_disk_readable():
            self.ctx.send(m.NegDataReply(message.sector, message.req_id, message.size))
            return

        def done(error: int, data: bytes | memoryview) -> None:
            if generation != self._generation:
                return
            if error:
                self.host.local_io_failed(error, "read")
                self.ctx.send(m.NegDataReply(message.sector, message.req_id, message.size))
            else:
                self.ctx.send(m.DataReply(message.sector, message.req_id, data))

        self.ctx.read_data(offset, message.size, done)

    def oldest_pending(self) -> bool:
        return bool(self._barriers)

    def connection_lost(self) -> None:
        """Forget epochs and barriers; writes still in flight finish locally without acks."""
        self._generation += 1
        self._epochs.clear()
        self._barriers.clear()
        self._last_closed = 0
        self._flushing = False
        self.ctx.counters.unacked = 0
