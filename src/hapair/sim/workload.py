"""A client that writes self-describing blocks and records what was acknowledged.

Every 4 KiB block the workload writes carries (block number, version) in a header and filler
derived from them, so any block read back from any replica says which write it came from (or
that it was never written). Writes to one block are issued one at a time, so a block's versions
form a sequence and the rule is simple (research/architecture.md 7.2): a replica must hold the
last acknowledged version or a later one that was issued; anything older is a lost
acknowledged write.
"""

from __future__ import annotations

import hashlib
import random
import struct
from dataclasses import dataclass, field

from hapair.core.volume.effects import ClientFlush, ClientRead, ClientWrite
from hapair.sim.node import SimNode

BLOCK = 4096
_HEADER = struct.Struct(">8sQQ")
_MAGIC = b"HAPAIRWL"


def block_payload(block: int, version: int) -> bytes:
    seed = hashlib.blake2b(f"{block}:{version}".encode(), digest_size=32).digest()
    body = (seed * (BLOCK // len(seed) + 1))[: BLOCK - _HEADER.size]
    return _HEADER.pack(_MAGIC, block, version) + body


def decode_block(data: bytes, block: int) -> int | None:
    """The version a 4 KiB block holds: 0 for never written (zeros), None for garbage."""
    if data == bytes(BLOCK):
        return 0
    magic, number, version = _HEADER.unpack_from(data)
    if magic != _MAGIC or number != block or data != block_payload(block, version):
        return None
    return int(version)


@dataclass(slots=True)
class WriteRecord:
    version: int
    invoked_ns: int
    acked_ns: int | None = None
    error: int | None = None


@dataclass(slots=True)
class History:
    """Per block: its writes in issue order; and when acknowledged flushes were issued."""

    blocks: dict[int, list[WriteRecord]] = field(default_factory=dict)
    acked: int = 0
    failed: int = 0
    flushes_acked: int = 0
    flush_invoked_ns: list[int] = field(default_factory=list)  # of acknowledged flushes

    def last_acked(self, block: int) -> int:
        versions = [w.version for w in self.blocks.get(block, []) if w.acked_ns is not None and not w.error]
        return max(versions, default=0)

    def last_durable(self, block: int) -> int:
        """The newest version acknowledged before an acknowledged flush was issued."""
        latest_flush = max(self.flush_invoked_ns, default=-1)
        versions = [
            w.version
            for w in self.blocks.get(block, [])
            if w.acked_ns is not None and not w.error and w.acked_ns <= latest_flush
        ]
        return max(versions, default=0)

    def issued(self, block: int) -> set[int]:
        return {w.version for w in self.blocks.get(block, [])}


class Workload:
    """Writes to random blocks of `blocks` (4 KiB each) on whichever node it is pointed at."""

    def __init__(self, rng: random.Random, blocks: int, *, fua_ratio: float = 0.05) -> None:
        self.rng = rng
        self.blocks = blocks
        self.fua_ratio = fua_ratio
        self.history = History()
        self._busy: set[int] = set()
        self._next_req = 1
        self.in_flight = 0

    def _req(self) -> int:
        value = self._next_req
        self._next_req += 1
        return value

    def write(self, node: SimNode, block: int | None = None, *, fua: bool | None = None) -> bool:
        """Issue one 4 KiB write (to a free block if none given); False if the block is busy."""
        if block is None:
            free = [b for b in range(self.blocks) if b not in self._busy]
            if not free:
                return False
            block = self.rng.choice(free)
        if block in self._busy:
            return False
        records = self.history.blocks.setdefault(block, [])
        version = len(records) + 1
        record = WriteRecord(version, node.sched.now_ns)
        records.append(record)
        self._busy.add(block)
        self.in_flight += 1
        use_fua = self.rng.random() < self.fua_ratio if fua is None else fua

        def done(error: int, _data: bytes | memoryview | None) -> None:
            self._busy.discard(block)
            self.in_flight -= 1
            record.error = error
            if error == 0:
                record.acked_ns = node.sched.now_ns
                self.history.acked += 1
            else:
                self.history.failed += 1

        node.submit(ClientWrite(self._req(), block * BLOCK, block_payload(block, version), use_fua), done)
        return True

    def flush(self, node: SimNode) -> None:
        self.in_flight += 1
        invoked = node.sched.now_ns

        def done(error: int, _data: bytes | memoryview | None) -> None:
            self.in_flight -= 1
            if error == 0:
                self.history.flushes_acked += 1
                self.history.flush_invoked_ns.append(invoked)

        node.submit(ClientFlush(self._req()), done)

    def read(self, node: SimNode, block: int, results: list[tuple[int, int | None]]) -> None:
        """Read a block; appends (errno, version) to `results`."""
        self.in_flight += 1

        def done(error: int, data: bytes | memoryview | None) -> None:
            self.in_flight -= 1
            results.append(
                (error, decode_block(bytes(data), block) if data is not None and not error else None)
            )

        node.submit(ClientRead(self._req(), block * BLOCK, BLOCK), done)

    def burst(self, node: SimNode, count: int, flush_every: int = 0) -> int:
        """Issue up to `count` writes now (plus a flush every `flush_every`); returns how many."""
        issued = 0
        for i in range(count):
            if self.write(node):
                issued += 1
            if flush_every and (i + 1) % flush_every == 0:
                self.flush(node)
        return issued
