"""A simulated backing device with a volatile write cache, latency, errors, crashes and power loss.

Model (after FoundationDB's AsyncFileNonDurable and TigerBeetle's storage simulator):

- A write lands in the volatile cache when it *completes* (after a random latency), sector by
  sector (512 bytes). A FUA write goes to stable storage instead. Reads see cache over storage.
- A flush, when it completes, moves the whole cache to stable storage (a device may persist more
  than it was asked to; never less).
- `process_crash()`: the process dies, the OS survives. Writes in flight are applied sector by
  sector at random (a syscall half done), completions are never delivered, the cache survives.
- `power_loss()`: in-flight writes are torn as above, then every cached sector is kept or lost at
  random, and the cache is gone. Only flushed or FUA data is certain to survive.
- Errors: ranges that fail writes or reads with an errno; `freeze()` holds completions (a hung
  disk) until `thaw()`.

Completions are delivered through the scheduler as callbacks; the disk never calls back inline.
"""

from __future__ import annotations

import errno
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from hapair.sim.scheduler import Scheduler

SECTOR = 512
WriteDone = Callable[[int], None]
ReadDone = Callable[[bytes, int], None]


@dataclass(slots=True)
class _InFlight:
    kind: str  # "write", "read", "flush"
    offset: int = 0
    data: bytes = b""
    length: int = 0
    fua: bool = False
    done_write: WriteDone | None = None
    done_read: ReadDone | None = None


@dataclass(slots=True)
class DiskStats:
    writes: int = 0
    reads: int = 0
    flushes: int = 0
    bytes_written: int = 0
    bytes_read: int = 0
    write_ranges: list[tuple[int, int]] = field(default_factory=list)  # submissions, when tracing
    read_ranges: list[tuple[int, int]] = field(default_factory=list)


class SimDisk:
    """One backing device of `size` bytes (data area and metadata area alike)."""

    def __init__(
        self,
        name: str,
        size: int,
        scheduler: Scheduler,
        rng: random.Random,
        latency_ns: tuple[int, int] = (50_000, 400_000),
    ) -> None:
        if size <= 0 or size % SECTOR:
            raise ValueError(f"disk size {size} is not a positive multiple of {SECTOR}")
        self.name = name
        self.size = size
        self._sched = scheduler
        self._rng = rng
        self.latency_ns = latency_ns
        self.stable = bytearray(size)
        self._cache: dict[int, bytes] = {}  # sector number -> latest unflushed content
        self._in_flight: dict[int, _InFlight] = {}
        self._next_op = 0
        self._frozen: list[int] = []
        self.frozen = False
        self.write_errors: list[tuple[int, int, int]] = []  # (start, end, errno)
        self.read_errors: list[tuple[int, int, int]] = []
        self.trace_writes = False  # record submitted reads and writes in `stats`
        self.stats = DiskStats()

    # ---- submission ----

    def submit_write(self, offset: int, data: bytes | memoryview, fua: bool, done: WriteDone) -> None:
        self._check_range(offset, len(data))
        op = _InFlight("write", offset=offset, data=bytes(data), fua=fua, done_write=done)
        if self.trace_writes:
            self.stats.write_ranges.append((offset, len(data)))
        self._start(op)

    def submit_read(self, offset: int, length: int, done: ReadDone) -> None:
        self._check_range(offset, length)
        if self.trace_writes:
            self.stats.read_ranges.append((offset, length))
        self._start(_InFlight("read", offset=offset, length=length, done_read=done))

    def submit_flush(self, done: WriteDone) -> None:
        self._start(_InFlight("flush", done_write=done))

    def _check_range(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > self.size or offset % SECTOR or length % SECTOR:
            raise ValueError(f"{self.name}: I/O at {offset}+{length} is outside the disk or unaligned")

    def _start(self, op: _InFlight) -> None:
        op_id = self._next_op
        self._next_op += 1
        self._in_flight[op_id] = op
        low, high = self.latency_ns
        self._sched.call_later(self._rng.randint(low, high), lambda: self._complete(op_id))

    # ---- completion ----

    def _complete(self, op_id: int) -> None:
        if op_id not in self._in_flight:
            return  # lost in a crash
        if self.frozen:
            self._frozen.append(op_id)
            return
        op = self._in_flight.pop(op_id)
        match op.kind:
            case "write":
                err = self._error_for(self.write_errors, op.offset, len(op.data))
                if not err:
                    self._apply(op.offset, op.data, durable=op.fua)
                    self.stats.writes += 1
                    self.stats.bytes_written += len(op.data)
                assert op.done_write is not None
                op.done_write(err)
            case "read":
                err = self._error_for(self.read_errors, op.offset, op.length)
                data = b"" if err else self.read(op.offset, op.length)
                self.stats.reads += 1
                self.stats.bytes_read += len(data)
                assert op.done_read is not None
                op.done_read(data, err)
            case "flush":
                self._persist_cache()
                self.stats.flushes += 1
                assert op.done_write is not None
                op.done_write(0)
            case _:
                raise AssertionError(op.kind)

    @staticmethod
    def _error_for(ranges: list[tuple[int, int, int]], offset: int, length: int) -> int:
        for start, end, err in ranges:
            if offset < end and start < offset + length:
                return err
        return 0

    def _apply(self, offset: int, data: bytes, durable: bool) -> None:
        first = offset // SECTOR
        for i in range(len(data) // SECTOR):
            chunk = data[i * SECTOR : (i + 1) * SECTOR]
            sector = first + i
            if durable:
                self._cache.pop(sector, None)
                self.stable[sector * SECTOR : (sector + 1) * SECTOR] = chunk
            else:
                self._cache[sector] = chunk

    def _persist_cache(self) -> None:
        for sector, chunk in self._cache.items():
            self.stable[sector * SECTOR : (sector + 1) * SECTOR] = chunk
        self._cache.clear()

    # ---- inspection ----

    def read(self, offset: int, length: int) -> bytes:
        """What a read would return now: the cache over stable storage."""
        self._check_range(offset, length)
        out = bytearray(self.stable[offset : offset + length])
        if self._cache:
            first, last = offset // SECTOR, (offset + length) // SECTOR
            if last - first < len(self._cache):
                for sector in range(first, last):
                    chunk = self._cache.get(sector)
                    if chunk is not None:
                        pos = (sector - first) * SECTOR
                        out[pos : pos + SECTOR] = chunk
            else:
                for sector, chunk in self._cache.items():
                    if first <= sector < last:
                        pos = (sector - first) * SECTOR
                        out[pos : pos + SECTOR] = chunk
        return bytes(out)

    @property
    def cached_sectors(self) -> int:
        return len(self._cache)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    # ---- faults ----

    def fail_writes(self, start: int, end: int, err: int = errno.EIO) -> None:
        self.write_errors.append((start, end, err))

    def fail_reads(self, start: int, end: int, err: int = errno.EIO) -> None:
        self.read_errors.append((start, end, err))

    def repair(self) -> None:
        self.write_errors.clear()
        self.read_errors.clear()

    def freeze(self) -> None:
        self.frozen = True

    def thaw(self) -> None:
        self.frozen = False
        held, self._frozen = self._frozen, []
        for op_id in held:
            self._sched.call_soon(partial(self._complete, op_id))

    def _tear_in_flight(self) -> None:
        """Writes in flight land sector by sector at random; nothing is completed."""
        for op in self._in_flight.values():
            if op.kind != "write":
                continue
            first = op.offset // SECTOR
            for i in range(len(op.data) // SECTOR):
                if self._rng.random() < 0.5:
                    self._cache[first + i] = op.data[i * SECTOR : (i + 1) * SECTOR]
        self._in_flight.clear()
        self._frozen.clear()
        self.frozen = False

    def process_crash(self) -> None:
        """The process using the disk died; the OS page cache (our volatile cache) survives."""
        self._tear_in_flight()

    def power_loss(self) -> int:
        """Power cut: tear in-flight writes, keep a random subset of cached sectors. Returns lost sectors."""
        self._tear_in_flight()
        lost = 0
        for sector, chunk in self._cache.items():
            if self._rng.random() < 0.5:
                self.stable[sector * SECTOR : (sector + 1) * SECTOR] = chunk
            else:
                lost += 1
        self._cache.clear()
        return lost
