"""The Primary's request path: client writes, reads and flushes, with DRBD's acknowledgement points.

A write passes the activity log (a cold extent waits for an AL transaction), then goes to the
local disk and, when the peer takes data, to the peer as `Data` in the current epoch. It is
answered when the local write is done and the network condition of the protocol holds:

- A: handed to the network (immediately);  B: the peer's RecvAck;  C: the peer's WriteAck.

FUA writes and flushes are replication barriers under every protocol (a deliberate choice, see
../shared/research/reliability.md C4): a FUA write waits for the peer's WriteAck of a FUA write;
a flush closes the epoch with a `Barrier` and waits for its `BarrierAck`, which the peer sends
only once every write of the epoch is on stable storage there. So a flush answered on the Primary
is durable on both nodes whenever they were connected.

Every write stays in the transfer log until its epoch's BarrierAck. If the link drops, every
write still in the log is marked out of sync, and its activity-log extent is released only then,
so a Primary crash before the peer had the data leaves the extent in the log for resync.
"""

from __future__ import annotations

import errno
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from hapair.core.volume import messages as m
from hapair.core.volume.activity_log import ActivityLog
from hapair.core.volume.bitmap import QuickSyncBitmap
from hapair.core.volume.context import ReplicaContext
from hapair.core.volume.effects import CompleteClientRequest
from hapair.core.volume.messages import SECTOR, DataFlags
from hapair.core.volume.settings import OnIoError
from hapair.core.volume.settings import Protocol as ReplicationProtocol
from hapair.errors import RemoteProtocolError


class WritePathHost(Protocol):
    """What the request path needs from the replica around it."""

    @property
    def bitmap(self) -> QuickSyncBitmap | None: ...

    @property
    def activity_log(self) -> ActivityLog | None: ...

    @property
    def data_size(self) -> int: ...

    def accepts_requests(self) -> int:
        """0 when client I/O may proceed, -1 to hold it (suspended), else the errno to fail with."""
        ...

    def local_disk_usable(self) -> bool:
        """UpToDate and attached: every read may be served locally."""
        ...

    def local_disk_writable(self) -> bool:
        """Attached with Inconsistent or better data (a SyncTarget Primary writes locally too)."""
        ...

    def local_read_possible(self, offset: int, length: int) -> bool:
        """This range may be read locally (UpToDate, or in sync although the disk is Inconsistent)."""
        ...

    def peer_takes_data(self) -> bool:
        """Connected and the peer has a disk that should receive writes."""
        ...

    def peer_serves_reads(self) -> bool: ...

    def kick_activity_log(self) -> None: ...

    def note_application_write(self, offset: int, length: int) -> None:
        """A write is on its way to the peer (a resync read of that range is now stale)."""
        ...

    def mark_out_of_sync(self, offset: int, length: int) -> None: ...

    def mark_in_sync(self, offset: int, length: int) -> None: ...

    def local_io_failed(self, error: int, what: str) -> None: ...


@dataclass(slots=True)
class WriteRequest:
    req_id: int
    net_id: int
    offset: int
    data: bytes | memoryview
    fua: bool
    epoch: int | None = None  # None: not sent to the peer
    local_done: bool = False
    local_error: int = 0
    has_local: bool = True
    local_counts: bool = True  # the local disk was UpToDate: a local success alone is a success
    net_done: bool = True
    net_ok: bool = False
    peer_wrote: bool = False  # WriteAck or BarrierAck: the peer's disk has it
    answered: bool = False
    al: ActivityLog | None = None  # the log holding this write's extents (one per attached disk)
    sent_ns: int = 0


@dataclass(slots=True)
class FlushRequest:
    req_id: int
    up_to_epoch: int | None  # wait for BarrierAcks up to this epoch
    local_done: bool = False
    local_error: int = 0
    net_done: bool = True


@dataclass(slots=True)
class RemoteRead:
    req_id: int
    offset: int
    length: int
    sent_ns: int


class PrimaryWritePath:
    def __init__(self, ctx: ReplicaContext, host: WritePathHost) -> None:
        self.ctx = ctx
        self.host = host
        self._next_net_id = 1
        self._seq = 0
        self.epoch = 1
        self._epoch_writes: list[WriteRequest] = []
        self._epochs: OrderedDict[int, list[WriteRequest]] = OrderedDict()  # closed, awaiting ack
        self._barrier_sent_ns: dict[int, int] = {}
        self._awaiting_ack: OrderedDict[int, WriteRequest] = OrderedDict()
        self._in_log: dict[int, WriteRequest] = {}  # every write sent and not yet barrier-acked
        self._al_wait: list[WriteRequest] = []
        self._held: list[WriteRequest | FlushRequest | tuple[int, int, int]] = []
        self._flushes: list[FlushRequest] = []
        self._remote_reads: OrderedDict[int, RemoteRead] = OrderedDict()
        self.in_flight_writes = 0

    # ---- client requests ----

    def client_write(self, req_id: int, offset: int, data: bytes | memoryview, fua: bool) -> None:
        if not self._valid_range(req_id, offset, len(data)):
            return
        req = WriteRequest(req_id, 0, offset, data, fua)
        verdict = self.host.accepts_requests()
        if verdict > 0:
            self._answer(req_id, verdict)
        elif verdict < 0:
            self._held.append(req)
        else:
            self._start_write(req)

    def client_read(self, req_id: int, offset: int, length: int) -> None:
        if not self._valid_range(req_id, offset, length):
            return
        verdict = self.host.accepts_requests()
        if verdict > 0:
            self._answer(req_id, verdict)
        elif verdict < 0:
            self._held.append((req_id, offset, length))
        else:
            self._start_read(req_id, offset, length)

    def client_flush(self, req_id: int) -> None:
        verdict = self.host.accepts_requests()
        flush = FlushRequest(req_id, None)
        if verdict > 0:
            self._answer(req_id, verdict)
        elif verdict < 0:
            self._held.append(flush)
        else:
            self._start_flush(flush)

    def release_held(self) -> None:
        """Re-evaluate held requests (after a hold ends, or to fail them)."""
        held, self._held = self._held, []
        for item in held:
            match item:
                case WriteRequest():
                    self.client_write(item.req_id, item.offset, item.data, item.fua)
                case FlushRequest():
                    self.client_flush(item.req_id)
                case (req_id, offset, length):
                    self.client_read(req_id, offset, length)

    @property
    def held(self) -> int:
        return len(self._held)

    def _valid_range(self, req_id: int, offset: int, length: int) -> bool:
        ok = (
            length > 0
            and offset >= 0
            and offset % SECTOR == 0
            and length % SECTOR == 0
            and length <= m.MAX_BLOCK_IO
            and offset + length <= self.host.data_size
        )
        if not ok:
            self._answer(req_id, errno.EINVAL)
        return ok

    def _answer(self, req_id: int, error: int, data: bytes | memoryview | None = None) -> None:
        self.ctx.out.append(CompleteClientRequest(req_id, error, data))

    # ---- writes ----

    def _start_write(self, req: WriteRequest) -> None:
        req.net_id = self._next_net_id
        self._next_net_id += 1
        self.in_flight_writes += 1
        self.ctx.counters.application_writes += 1
        self.ctx.counters.app_pending += 1
        al = self.host.activity_log
        req.has_local = self.host.local_disk_writable() and al is not None
        req.local_counts = req.has_local and self.host.local_disk_usable()
        if req.has_local and al is not None:
            req.al = al
            if not al.begin_io(req.offset, len(req.data)):
                self._al_wait.append(req)
                self.host.kick_activity_log()
                return
        self._dispatch(req)

    def activity_log_advanced(self) -> None:
        """An AL transaction was persisted: start the writes it made possible, in order."""
        al = self.host.activity_log
        waiting, self._al_wait = self._al_wait, []
        for req in waiting:
            if al is not None and al.covers(req.offset, len(req.data)):
                self._dispatch(req)
            else:
                self._al_wait.append(req)
        if self._al_wait:
            self.host.kick_activity_log()

    def local_disk_lost(self) -> None:
        """The local disk went away: writes waiting for the activity log go to the peer alone."""
        waiting, self._al_wait = self._al_wait, []
        for req in waiting:
            req.has_local = False
            req.al = None
            self._dispatch(req)

    def _dispatch(self, req: WriteRequest) -> None:
        ctx = self.ctx
        if self.host.peer_takes_data():
            self._seq += 1
            protocol = ctx.settings.protocol
            flags = DataFlags.NONE
            if req.fua:
                flags |= DataFlags.FUA | DataFlags.SEND_WRITE_ACK
            elif protocol is ReplicationProtocol.C:
                flags |= DataFlags.SEND_WRITE_ACK
            elif protocol is ReplicationProtocol.B:
                flags |= DataFlags.SEND_RECEIVE_ACK
            req.epoch = self.epoch
            req.sent_ns = ctx.now_ns
            self._epoch_writes.append(req)
            self._in_log[req.net_id] = req
            self.host.note_application_write(req.offset, len(req.data))
            ctx.send(m.Data(req.offset // SECTOR, req.net_id, self._seq, self.epoch, flags, req.data))
            if flags & (DataFlags.SEND_WRITE_ACK | DataFlags.SEND_RECEIVE_ACK):
                req.net_done = False
                self._awaiting_ack[req.net_id] = req
                ctx.counters.peer_pending += 1
            else:
                req.net_ok = True  # protocol A: handed to the network
            if len(self._epoch_writes) >= ctx.settings.max_epoch_size:
                self.close_epoch()
        else:
            req.net_ok = False
            if req.has_local:
                self.host.mark_out_of_sync(req.offset, len(req.data))
        if req.has_local:
            ctx.write_data(req.offset, req.data, req.fua, lambda error: self._local_done(req, error))
        else:
            req.local_done = True
            req.local_error = errno.EIO
            self._maybe_answer(req)

    def _local_done(self, req: WriteRequest, error: int) -> None:
        req.local_done = True
        req.local_error = error
        if error:
            self.host.local_io_failed(error, "write")
            self.host.mark_out_of_sync(req.offset, len(req.data))
        self._maybe_answer(req)

    def _maybe_answer(self, req: WriteRequest) -> None:
        if req.answered or not req.local_done or not req.net_done:
            return
        req.answered = True
        self.in_flight_writes -= 1
        self.ctx.counters.app_pending -= 1
        detaching = self.ctx.settings.on_io_error is OnIoError.DETACH
        if req.local_error == 0 and req.local_counts:
            error = 0
        elif req.net_ok and (not req.has_local or req.local_error == 0 or detaching):
            error = 0  # the peer has it (an Inconsistent or failed local disk does not count alone)
        else:
            error = errno.EIO
        self._answer(req.req_id, error)
        self._note_in_sync(req)
        if req.epoch is None:
            self._release_al(req)

    def _note_in_sync(self, req: WriteRequest) -> None:
        """Both disks hold this write: its fully covered blocks are equal again."""
        if req.peer_wrote and req.local_done and req.local_error == 0 and req.has_local:
            self.host.mark_in_sync(req.offset, len(req.data))

    def _release_al(self, req: WriteRequest) -> None:
        al, req.al = req.al, None
        if al is not None and al is self.host.activity_log:  # else the log went with its disk
            al.end_io(req.offset, len(req.data))

    def ack_received(self, message: m.RecvAck | m.WriteAck | m.NegAck) -> None:
        req = self._awaiting_ack.pop(message.req_id, None)
        if req is not None:
            self.ctx.counters.peer_pending -= 1
        elif isinstance(message, m.NegAck) and message.req_id in self._in_log:
            req = self._in_log[message.req_id]  # protocol A: a failure is reported all the same
        else:
            raise RemoteProtocolError(f"{type(message).__name__} for unknown request {message.req_id}")
        req.net_done = True
        match message:
            case m.NegAck():
                req.net_ok = False
                if req.has_local:
                    self.host.mark_out_of_sync(req.offset, len(req.data))
            case m.WriteAck():
                req.net_ok = True
                req.peer_wrote = True
            case m.RecvAck():
                req.net_ok = True
        self._maybe_answer(req)

    # ---- epochs and flushes ----

    def close_epoch(self) -> None:
        """Send a Barrier closing the current epoch, if it holds writes."""
        if not self._epoch_writes or not self.ctx.connected:
            return
        self._epochs[self.epoch] = self._epoch_writes
        self._barrier_sent_ns[self.epoch] = self.ctx.now_ns
        self.ctx.send(m.Barrier(self.epoch))
        self._epoch_writes = []
        self.epoch += 1
        self.ctx.counters.epochs = len(self._epochs) + 1

    def idle_check(self) -> None:
        """DRBD sends a barrier when its sender goes idle: close the epoch once no write is pending."""
        if self._epoch_writes and self.in_flight_writes == 0:
            self.close_epoch()

    def barrier_ack_received(self, message: m.BarrierAck) -> None:
        if not self._epochs:
            raise RemoteProtocolError(f"BarrierAck {message.epoch} without a barrier in flight")
        oldest = next(iter(self._epochs))
        if message.epoch != oldest:
            raise RemoteProtocolError(f"BarrierAck {message.epoch}, expected {oldest}")
        writes = self._epochs.pop(oldest)
        del self._barrier_sent_ns[oldest]
        if message.count != len(writes):
            raise RemoteProtocolError(
                f"BarrierAck {oldest} counts {message.count} writes, sent {len(writes)}"
            )
        for req in writes:
            del self._in_log[req.net_id]
            if not req.net_done:
                raise RemoteProtocolError(f"BarrierAck {oldest} before the ack of request {req.net_id}")
            if req.net_ok:
                req.peer_wrote = True
                self._note_in_sync(req)
            self._release_al(req)
        self.ctx.counters.epochs = len(self._epochs) + 1
        self._progress_flushes()

    def _start_flush(self, flush: FlushRequest) -> None:
        self.ctx.counters.app_pending += 1
        if self.host.peer_takes_data():
            self.close_epoch()
            flush.up_to_epoch = self.epoch - 1
            flush.net_done = not any(e <= flush.up_to_epoch for e in self._epochs)
        self._flushes.append(flush)
        if self.host.local_disk_writable():
            self.ctx.flush(lambda error: self._flush_local_done(flush, error))
        else:
            flush.local_done = True
            self._progress_flushes()

    def _flush_local_done(self, flush: FlushRequest, error: int) -> None:
        flush.local_done = True
        flush.local_error = error
        if error:
            self.host.local_io_failed(error, "flush")
        self._progress_flushes()

    def _progress_flushes(self) -> None:
        oldest_open = next(iter(self._epochs), None)
        still = []
        for flush in self._flushes:
            if not flush.net_done and flush.up_to_epoch is not None:
                flush.net_done = oldest_open is None or oldest_open > flush.up_to_epoch
            if flush.local_done and flush.net_done:
                self.ctx.counters.app_pending -= 1
                self._answer(flush.req_id, errno.EIO if flush.local_error else 0)
            else:
                still.append(flush)
        self._flushes = still

    # ---- reads ----

    def _start_read(self, req_id: int, offset: int, length: int) -> None:
        ctx = self.ctx
        if self.host.local_read_possible(offset, length):
            ctx.counters.app_pending += 1

            def done(error: int, data: bytes | memoryview) -> None:
                ctx.counters.app_pending -= 1
                if error:
                    self.host.local_io_failed(error, "read")
                    if self.host.peer_serves_reads():
                        self._remote_read(req_id, offset, length)
                        return
                self._answer(req_id, error, None if error else data)

            ctx.read_data(offset, length, done)
        elif self.host.peer_serves_reads():
            self._remote_read(req_id, offset, length)
        else:
            self._answer(req_id, errno.EIO)

    def _remote_read(self, req_id: int, offset: int, length: int) -> None:
        net_id = self._next_net_id
        self._next_net_id += 1
        self._remote_reads[net_id] = RemoteRead(req_id, offset, length, self.ctx.now_ns)
        self.ctx.counters.peer_pending += 1
        self.ctx.send(m.DataRequest(offset // SECTOR, net_id, length))

    def read_reply_received(self, message: m.DataReply | m.NegDataReply) -> None:
        read = self._remote_reads.pop(message.req_id, None)
        if read is None:
            raise RemoteProtocolError(f"{type(message).__name__} for unknown read {message.req_id}")
        self.ctx.counters.peer_pending -= 1
        match message:
            case m.DataReply():
                if len(message.payload) != read.length or message.sector * SECTOR != read.offset:
                    raise RemoteProtocolError(f"DataReply {message.req_id} does not match its request")
                self.ctx.counters.net_received_bytes += len(message.payload)
                self._answer(read.req_id, 0, message.payload)
            case m.NegDataReply():
                self._answer(read.req_id, errno.EIO)

    # ---- the link ----

    def oldest_pending_ns(self) -> int | None:
        """Send time of the oldest request the peer has not answered (for ko-count)."""
        times = []
        if self._barrier_sent_ns:
            times.append(next(iter(self._barrier_sent_ns.values())))
        if self._awaiting_ack:
            times.append(next(iter(self._awaiting_ack.values())).sent_ns)
        if self._remote_reads:
            times.append(next(iter(self._remote_reads.values())).sent_ns)
        return min(times) if times else None

    def connection_lost(self) -> None:
        """Every write still in the transfer log may be missing on the peer: mark it out of sync."""
        in_log = [req for writes in self._epochs.values() for req in writes] + self._epoch_writes
        self._epochs.clear()
        self._barrier_sent_ns.clear()
        self._epoch_writes = []
        self._awaiting_ack.clear()
        self._in_log.clear()
        self.ctx.counters.peer_pending = 0
        self.ctx.counters.epochs = 1
        self.epoch += 1
        for req in in_log:
            if req.has_local:
                self.host.mark_out_of_sync(req.offset, len(req.data))
            req.epoch = None
            if not req.net_done:
                req.net_done = True
                req.net_ok = False
                self._maybe_answer(req)
            elif req.answered:
                self._release_al(req)
        for flush in self._flushes:
            flush.net_done = True
        self._progress_flushes()
        reads, self._remote_reads = self._remote_reads, OrderedDict()
        for read in reads.values():
            if self.host.local_read_possible(read.offset, read.length):
                self._start_read(read.req_id, read.offset, read.length)
            else:
                self._answer(read.req_id, errno.EIO)

    def fail_everything(self, error: int) -> None:
        """The role is gone (demotion, detach without peer): answer what can no longer be served."""
        for item in self._held:
            match item:
                case WriteRequest() | FlushRequest():
                    self._answer(item.req_id, error)
                case (req_id, _offset, _length):
                    self._answer(req_id, error)
        self._held = []
