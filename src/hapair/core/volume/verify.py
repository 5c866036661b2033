"""Online verify (`drbdadm verify`): compare both copies block by block using digests only.

VerifyS walks the volume in disk order, 4 KiB per request, at the resync controller's pace. VerifyT
reads and hashes each requested block and returns the digest; VerifyS hashes its own copy and
compares. Differing blocks are marked out of sync on both nodes (VerifyS tells VerifyT with
`VerifyResult`) and reported as DRBD does: adjacent blocks merged into one
`Out of sync: start=<sector>, size=<sectors> (sectors)` line, then
`Online verify found N 4k block out of sync!` and the `out-of-sync` handler. Verify does not move
data; a later resync (e.g. disconnect and connect) does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hapair.core.volume import messages as m
from hapair.core.volume.bitmap import BLOCK_SIZE
from hapair.core.volume.context import ReplicaContext
from hapair.core.volume.digests import block_digest
from hapair.core.volume.events import OutOfSyncFound
from hapair.core.volume.messages import SECTOR
from hapair.core.volume.rate_control import TICK_NS, ResyncController
from hapair.core.volume.resync import RunProgress
from hapair.errors import RemoteProtocolError

SECTORS_PER_BLOCK = BLOCK_SIZE // SECTOR


class VerifyHost(Protocol):
    @property
    def data_size(self) -> int: ...

    def mark_out_of_sync_local(self, offset: int, length: int) -> None: ...

    def local_io_failed(self, error: int, what: str) -> None: ...


@dataclass(slots=True)
class _Pending:
    block: int
    sent_ns: int


class VerifySource:
    """The side that ran `verify`: drives the walk and judges each block."""

    def __init__(self, ctx: ReplicaContext, host: VerifyHost, controller: ResyncController, alg: str) -> None:
        self.ctx = ctx
        self.host = host
        self.controller = controller
        self.alg = alg
        self.blocks = -(-host.data_size // BLOCK_SIZE)
        self.progress = RunProgress(self.blocks, ctx.now_ns)
        self.progress.mark(ctx.now_ns, self.blocks)
        self._next_block = 0
        self._next_req = 1
        self._pending: dict[int, _Pending] = {}
        self._judging = 0
        self._sect_in = 0
        self._budget = 0
        self.next_tick_ns = ctx.now_ns
        self.found: list[int] = []
        self.finished = False

    @property
    def left(self) -> int:
        return self.blocks - self._next_block + len(self._pending) + self._judging

    def oldest_pending_ns(self) -> int | None:
        return min((p.sent_ns for p in self._pending.values()), default=None)

    def tick(self) -> None:
        ctx = self.ctx
        self.next_tick_ns = ctx.now_ns + TICK_NS
        in_flight = len(self._pending) * SECTORS_PER_BLOCK
        self._budget += self.controller.requests_for_tick(self._sect_in, in_flight)
        self._sect_in = 0
        self.progress.mark(ctx.now_ns, self.left)
        while self._budget >= SECTORS_PER_BLOCK and self._next_block < self.blocks:
            block = self._next_block
            self._next_block += 1
            self._budget -= SECTORS_PER_BLOCK
            req_id = self._next_req
            self._next_req += 1
            self._pending[req_id] = _Pending(block, ctx.now_ns)
            ctx.counters.peer_pending += 1
            ctx.send(m.VerifyRequest(block * SECTORS_PER_BLOCK, req_id, self._size(block)))
        if self._next_block >= self.blocks:
            self._budget = 0
        self._check_finished()

    def _size(self, block: int) -> int:
        return min(BLOCK_SIZE, self.host.data_size - block * BLOCK_SIZE)

    def reply_received(self, message: m.VerifyReply) -> None:
        pending = self._pending.pop(message.req_id, None)
        if pending is None or pending.block * SECTORS_PER_BLOCK != message.sector:
            raise RemoteProtocolError(f"VerifyReply {message.req_id} matches no request")
        ctx = self.ctx
        ctx.counters.peer_pending -= 1
        self._judging += 1
        block = pending.block
        size = self._size(block)

        def have_local(error: int, data: bytes | memoryview) -> None:
            self._judging -= 1
            self._sect_in += SECTORS_PER_BLOCK
            if error:
                self.host.local_io_failed(error, "verify read")
            in_sync = not error and block_digest(self.alg, data) == message.digest
            if not in_sync:
                self.found.append(block)
                self.host.mark_out_of_sync_local(block * BLOCK_SIZE, size)
            if ctx.connected:
                ctx.send(m.VerifyResult(message.sector, size, in_sync))
            self._check_finished()

        ctx.read_data(block * BLOCK_SIZE, size, have_local)

    def _check_finished(self) -> None:
        if self.finished or self._pending or self._judging or self._next_block < self.blocks:
            return
        self.finished = True

    def report(self) -> list[OutOfSyncFound]:
        """The found blocks as DRBD's merged `Out of sync` lines."""
        lines: list[OutOfSyncFound] = []
        for block in sorted(self.found):
            sector = block * SECTORS_PER_BLOCK
            if lines and lines[-1].sector + lines[-1].sectors == sector:
                last = lines.pop()
                lines.append(OutOfSyncFound(last.sector, last.sectors + SECTORS_PER_BLOCK))
            else:
                lines.append(OutOfSyncFound(sector, SECTORS_PER_BLOCK))
        return lines


class VerifyTarget:
    """The peer side of a verify run: hash what is asked, mark what VerifyS found."""

    def __init__(self, ctx: ReplicaContext, host: VerifyHost, alg: str) -> None:
        self.ctx = ctx
        self.host = host
        self.alg = alg
        self.found = 0
        self.blocks = -(-host.data_size // BLOCK_SIZE)
        self.progress = RunProgress(self.blocks, ctx.now_ns)
        self.answered = 0

    def request_received(self, message: m.VerifyRequest) -> None:
        offset = message.sector * SECTOR
        if offset + message.size > self.host.data_size:
            raise RemoteProtocolError(f"VerifyRequest beyond the volume at sector {message.sector}")
        ctx = self.ctx

        def done(error: int, data: bytes | memoryview) -> None:
            if not ctx.connected:
                return
            if error:
                self.host.local_io_failed(error, "verify read")
                digest = b"\x00"  # never equal to a real digest of the peer's length
            else:
                digest = block_digest(self.alg, data)
            self.answered += 1
            self.progress.mark(ctx.now_ns, self.blocks - self.answered)
            ctx.send(m.VerifyReply(message.sector, message.req_id, message.size, digest))

        ctx.read_data(offset, message.size, done)

    def result_received(self, message: m.VerifyResult) -> None:
        if not message.in_sync:
            self.found += 1
            self.host.mark_out_of_sync_local(message.sector * SECTOR, message.size)
