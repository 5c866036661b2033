"""Resync: the SyncTarget pulls out-of-sync blocks from the SyncSource, in disk order, rate-limited.

The target walks its bitmap from the start and asks for runs of set blocks (at most
`MAX_REQUEST_BLOCKS` per request), as many per 100 ms tick as the `ResyncController` allows. The
source reads each range and replies with the data; the target writes it and acknowledges with
`ResyncWriteAck`; each side clears the blocks when its part is done (the target when its write
completed, the source when the ack arrived), so the bitmap persisted on either side says what is
left and an interrupted resync resumes where it stopped. With `csums-alg` the target sends the
digest of its own copy and the source answers `ResyncIsInSync` when they match, sending no data.

Application writes keep flowing during a resync. A source read that overlaps a write sent to the
peer after the read began could carry stale data behind that write, so such reads are marked
stale and repeated (the write is then in front of the repeat on the ordered link).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from hapair.core.volume import messages as m
from hapair.core.volume.bitmap import BLOCK_SIZE, QuickSyncBitmap
from hapair.core.volume.context import ReplicaContext
from hapair.core.volume.digests import block_digest
from hapair.core.volume.messages import SECTOR
from hapair.core.volume.rate_control import TICK_NS, ResyncController
from hapair.core.volume.status_text import SyncMarks
from hapair.errors import RemoteProtocolError

MAX_REQUEST_BLOCKS = 32  # 128 KiB per request
CHECKPOINT_NS = 1_000_000_000  # persist resync progress (after a flush) at most once a second
SECTORS_PER_BLOCK = BLOCK_SIZE // SECTOR


class ResyncHost(Protocol):
    @property
    def bitmap(self) -> QuickSyncBitmap | None: ...

    @property
    def data_size(self) -> int: ...

    def mark_in_sync_local(self, offset: int, length: int) -> None: ...

    def local_io_failed(self, error: int, what: str) -> None: ...

    def resync_checkpoint(self) -> None:
        """Flush the data written so far, then persist the bitmap: an interrupted resync resumes."""
        ...


@dataclass(slots=True)
class RunProgress:
    """What status output needs about a resync or verify run: totals, start, DRBD's speed marks."""

    total_blocks: int
    started_ns: int
    marks: SyncMarks = field(init=False)
    paused_ns: int = 0
    equal_checksum_blocks: int = 0
    transferred_bytes: int = 0

    def __post_init__(self) -> None:
        self.marks = SyncMarks(self.started_ns, self.total_blocks)

    def mark(self, now_ns: int, left: int) -> None:
        self.marks.advance(now_ns, left)


@dataclass(slots=True)
class _Request:
    offset: int
    size: int
    sent_ns: int
    stale: bool = False  # an application write overtook it: its reply must not be written


class ResyncTarget:
    """The pulling side of one resync run."""

    def __init__(
        self, ctx: ReplicaContext, host: ResyncHost, controller: ResyncController, csums_alg: str | None
    ) -> None:
        self.ctx = ctx
        self.host = host
        self.controller = controller
        self.csums_alg = csums_alg
        bitmap = host.bitmap
        assert bitmap is not None
        self.progress = RunProgress(bitmap.weight, ctx.now_ns)
        self.progress.mark(ctx.now_ns, bitmap.weight)
        self._cursor = 0
        self._next_req = 1
        self._in_flight: dict[int, _Request] = {}
        self._in_flight_sectors = 0
        self._sect_in = 0
        self._budget = 0
        self._failed: set[int] = set()
        self.next_tick_ns = ctx.now_ns
        self.finished = False
        self._checkpoint_ns = ctx.now_ns
        self._done_since_checkpoint = 0
        self._app_writes_seen = ctx.counters.application_writes

    @property
    def failed_blocks(self) -> int:
        return len(self._failed)

    def oldest_pending_ns(self) -> int | None:
        return min((r.sent_ns for r in self._in_flight.values()), default=None)

    def note_application_write(self, offset: int, length: int) -> None:
        """A Primary that is SyncTarget writes: replies to requests for that range were read before
        the write reached the source and would overwrite it here. They are dropped on arrival and
        the blocks, still marked, asked for again."""
        for req in self._in_flight.values():
            if req.offset < offset + length and offset < req.offset + req.size:
                req.stale = True

    def tick(self) -> None:
        """Issue this tick's requests (call when `now_ns >= next_tick_ns`)."""
        ctx = self.ctx
        self.next_tick_ns = ctx.now_ns + TICK_NS
        writes = ctx.counters.application_writes
        busy, self._app_writes_seen = writes != self._app_writes_seen, writes
        self._budget += self.controller.requests_for_tick(
            self._sect_in, self._in_flight_sectors, application_busy=busy
        )
        self._sect_in = 0
        bitmap = self.host.bitmap
        assert bitmap is not None
        self.progress.mark(ctx.now_ns, bitmap.weight)
        if self._done_since_checkpoint and ctx.now_ns - self._checkpoint_ns >= CHECKPOINT_NS:
            self._checkpoint_ns = ctx.now_ns
            self._done_since_checkpoint = 0
            self.host.resync_checkpoint()
        while self._budget >= SECTORS_PER_BLOCK:
            run = self._next_run(bitmap, self._budget // SECTORS_PER_BLOCK)
            if run is None:
                self._budget = 0
                break
            first, count = run
            self._request(first, count)
            self._budget -= count * SECTORS_PER_BLOCK
        self._check_finished()

    def _next_run(self, bitmap: QuickSyncBitmap, max_blocks: int) -> tuple[int, int] | None:
        for _ in range(2):  # a second pass picks up blocks marked behind the cursor meanwhile
            bit = self._cursor
            while (first := bitmap.find_next_set(bit)) is not None:
                if first in self._failed or self._covered(first):
                    bit = first + 1
                    continue
                end = bitmap.find_next_clear(first)
                end = bitmap.nbits if end is None else end
                limit = min(end, first + MAX_REQUEST_BLOCKS, first + max(1, max_blocks))
                stop = first + 1
                while stop < limit and stop not in self._failed and not self._covered(stop):
                    stop += 1
                self._cursor = stop
                return first, stop - first
            if self._cursor == 0:
                return None
            self._cursor = 0
        return None

    def _covered(self, block: int) -> bool:
        offset = block * BLOCK_SIZE
        return any(r.offset <= offset < r.offset + r.size for r in self._in_flight.values())

    def _request(self, first: int, count: int) -> None:
        ctx = self.ctx
        offset = first * BLOCK_SIZE
        size = min(count * BLOCK_SIZE, self.host.data_size - offset)
        req_id = self._next_req
        self._next_req += 1
        self._in_flight[req_id] = _Request(offset, size, ctx.now_ns)
        self._in_flight_sectors += size // SECTOR
        ctx.counters.peer_pending += 1
        sector = offset // SECTOR
        if self.csums_alg is None:
            ctx.send(m.ResyncRequest(sector, req_id, size))
            return
        alg = self.csums_alg

        def have_local(error: int, data: bytes | memoryview) -> None:
            if req_id not in self._in_flight or not ctx.connected:
                return
            if error:
                self.host.local_io_failed(error, "read")
                ctx.send(m.ResyncRequest(sector, req_id, size))
            else:
                ctx.send(m.CsumResyncRequest(sector, req_id, size, block_digest(alg, data)))

        ctx.read_data(offset, size, have_local)

    def _take(self, message: m.ResyncDataReply | m.ResyncIsInSync | m.NegResyncReply) -> _Request:
        req = self._in_flight.pop(message.req_id, None)
        size = len(message.payload) if isinstance(message, m.ResyncDataReply) else message.size
        if req is None or req.offset != message.sector * SECTOR or req.size != size:
            raise RemoteProtocolError(f"{type(message).__name__} {message.req_id} matches no request")
        self.ctx.counters.peer_pending -= 1
        return req

    def _done(self, req: _Request) -> None:
        self._done_since_checkpoint += 1
        self._in_flight_sectors -= req.size // SECTOR
        self._sect_in += req.size // SECTOR
        self._check_finished()

    def data_received(self, message: m.ResyncDataReply) -> None:
        req = self._take(message)
        ctx = self.ctx
        if req.stale:
            self._done(req)
            return
        ctx.counters.resync_bytes_received += req.size
        ctx.counters.net_received_bytes += req.size
        self.progress.transferred_bytes += req.size

        def written(error: int) -> None:
            if error:
                self.host.local_io_failed(error, "resync write")
                self._failed.update(
                    range(req.offset // BLOCK_SIZE, -(-(req.offset + req.size) // BLOCK_SIZE))
                )
            else:
                self.host.mark_in_sync_local(req.offset, req.size)
                if ctx.connected:
                    ctx.send(m.ResyncWriteAck(message.sector, message.req_id, req.size))
            self._done(req)

        ctx.write_data(req.offset, message.payload, False, written)

    def in_sync_received(self, message: m.ResyncIsInSync) -> None:
        req = self._take(message)
        if req.stale:
            self._done(req)
            return
        self.progress.equal_checksum_blocks += -(-req.size // BLOCK_SIZE)
        self.host.mark_in_sync_local(req.offset, req.size)
        self._done(req)

    def failure_received(self, message: m.NegResyncReply) -> None:
        req = self._take(message)
        self._failed.update(range(req.offset // BLOCK_SIZE, -(-(req.offset + req.size) // BLOCK_SIZE)))
        self._done(req)

    def _check_finished(self) -> None:
        bitmap = self.host.bitmap
        if self.finished or bitmap is None or self._in_flight:
            return
        left = bitmap.weight
        if left == 0 or (left <= len(self._failed) and all(bitmap.test(b) for b in self._failed)):
            self.finished = True


class ResyncSource:
    """The serving side of one resync run."""

    def __init__(self, ctx: ReplicaContext, host: ResyncHost, csums_alg: str | None) -> None:
        self.ctx = ctx
        self.host = host
        self.csums_alg = csums_alg
        bitmap = host.bitmap
        assert bitmap is not None
        self.progress = RunProgress(bitmap.weight, ctx.now_ns)
        self.progress.mark(ctx.now_ns, bitmap.weight)
        self._reads: dict[int, list[bool]] = {}  # read token -> [stale]
        self._read_ranges: dict[int, tuple[int, int]] = {}
        self._next_token = 1
        self.finished = bitmap.weight == 0

    def note_application_write(self, offset: int, length: int) -> None:
        for token, (start, size) in self._read_ranges.items():
            if start < offset + length and offset < start + size:
                self._reads[token][0] = True

    def request_received(self, message: m.ResyncRequest | m.CsumResyncRequest) -> None:
        offset = message.sector * SECTOR
        if offset + message.size > self.host.data_size:
            raise RemoteProtocolError(f"resync request beyond the volume at sector {message.sector}")
        self._read(message, offset)

    def _read(self, message: m.ResyncRequest | m.CsumResyncRequest, offset: int) -> None:
        ctx = self.ctx
        token = self._next_token
        self._next_token += 1
        self._reads[token] = [False]
        self._read_ranges[token] = (offset, message.size)

        def done(error: int, data: bytes | memoryview) -> None:
            stale = self._reads.pop(token)[0]
            del self._read_ranges[token]
            if not ctx.connected or self.finished:
                return
            if stale and not error:
                self._read(message, offset)  # an application write overtook this read: read again
                return
            if error:
                self.host.local_io_failed(error, "resync read")
                ctx.send(m.NegResyncReply(message.sector, message.req_id, message.size))
                return
            bitmap = self.host.bitmap
            if (
                isinstance(message, m.CsumResyncRequest)
                and self.csums_alg is not None
                and block_digest(self.csums_alg, data) == message.digest
            ):
                self.progress.equal_checksum_blocks += -(-message.size // BLOCK_SIZE)
                if bitmap is not None:
                    self.host.mark_in_sync_local(offset, message.size)
                ctx.send(m.ResyncIsInSync(message.sector, message.req_id, message.size))
                self._check_finished()
                return
            ctx.counters.resync_bytes_sent += len(data)
            self.progress.transferred_bytes += len(data)
            ctx.send(m.ResyncDataReply(message.sector, message.req_id, data))

        ctx.read_data(offset, message.size, done)

    def write_ack_received(self, message: m.ResyncWriteAck) -> None:
        self.host.mark_in_sync_local(message.sector * SECTOR, message.size)
        bitmap = self.host.bitmap
        if bitmap is not None:
            self.progress.mark(self.ctx.now_ns, bitmap.weight)
        self._check_finished()

    def _check_finished(self) -> None:
        bitmap = self.host.bitmap
        if bitmap is not None and bitmap.weight == 0:
            self.finished = True
