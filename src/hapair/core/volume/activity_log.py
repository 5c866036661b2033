"""The activity log: which 4 MiB extents may hold writes that are not yet known to be on both disks.

A Primary may only write to an extent that is "hot" (in the log). Making a cold extent hot takes a
synchronous on-disk transaction *before* the data write, evicting the least recently used idle
extent if all `al-extents` slots are taken. After a Primary crash, replaying the log gives the
set of extents to resync; everything outside it is known equal. More slots mean fewer metadata
writes and a longer resync after a crash (DRBD User's Guide, "active extents").

Transactions are DRBD 8.4's on-disk format (`struct al_transaction_on_disk`, drbd_actlog.c):
4 KiB blocks in a ring of `al-stripes * al-stripe-size` blocks, each carrying up to 64 slot
updates and a 919-slot window of the whole slot table ("context"), so the newest ring's worth of
transactions always reconstructs the full table. The CRC is the kernel's crc32c; drbdmeta's
`apply-al`/`dump-md` read what we write.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from hapair.core.volume.bitmap import AL_EXTENT_SHIFT
from hapair.core.volume.crc32c import crc32c_drbd
from hapair.errors import LocalProtocolError

AL_MAGIC = 0x69CB65A2
AL_TR_UPDATE = 0
AL_TR_INITIALIZED = 0xFFFF
AL_UPDATES_PER_TRANSACTION = 64
AL_CONTEXT_PER_TRANSACTION = 919
AL_BLOCK_SIZE = 4096
LC_FREE = 0xFFFFFFFF
AL_EXTENTS_MIN = 67
AL_EXTENTS_MAX = 65534
AL_EXTENTS_DEFAULT = 1237
_FORMAT = struct.Struct(f">IIIHHHH16x{AL_UPDATES_PER_TRANSACTION}H{AL_UPDATES_PER_TRANSACTION}I919I")
assert _FORMAT.size == AL_BLOCK_SIZE


class ActivityLogError(LocalProtocolError):
    """The activity log was used against its rules (release without begin, bad geometry)."""


@dataclass(frozen=True, slots=True)
class AlLayout:
    """The on-disk ring: `stripes` stripes of `stripe_size_4k` blocks (default 1 x 8 = 32 KiB)."""

    stripes: int = 1
    stripe_size_4k: int = 8

    def __post_init__(self) -> None:
        if self.stripes < 1 or self.stripe_size_4k < 1:
            raise ValueError("activity log needs at least one stripe of one block")

    @property
    def ring_blocks(self) -> int:
        return self.stripes * self.stripe_size_4k

    @property
    def size_bytes(self) -> int:
        return self.ring_blocks * AL_BLOCK_SIZE

    @property
    def max_extents(self) -> int:
        """The most `al-extents` this ring can describe: one block is always being rewritten."""
        return min(AL_EXTENTS_MAX, (self.ring_blocks - 1) * AL_CONTEXT_PER_TRANSACTION)

    def block_for_transaction(self, tr_number: int) -> int:
        """Which ring block (counted from the AL start) transaction `tr_number` goes to."""
        t = tr_number % self.ring_blocks
        return (t % self.stripes) * self.stripe_size_4k + t // self.stripes


def extents_for(offset: int, length: int) -> range:
    """The 4 MiB extents a byte range touches (one for an empty range at `offset`)."""
    first = offset >> AL_EXTENT_SHIFT
    last = (offset + max(length, 1) - 1) >> AL_EXTENT_SHIFT
    return range(first, last + 1)


@dataclass(frozen=True, slots=True)
class AlTransaction:
    """One transaction to write at `block` (x 4 KiB from the AL start) before the waiting writes.

    `evicted` extents left the log: their bitmap pages must be on disk before this block is, since
    after it a crash replay no longer covers them.
    """

    tr_number: int
    block: int
    data: bytes
    updates: tuple[tuple[int, int], ...]
    evicted: tuple[int, ...]


def encode_transaction(
    tr_number: int,
    updates: Sequence[tuple[int, int]],
    context_start: int,
    slots: Sequence[int],
    *,
    tr_type: int = AL_TR_UPDATE,
) -> bytes:
    """One 4 KiB transaction block: `updates` are (slot, extent); `slots` is the full table."""
    if len(updates) > AL_UPDATES_PER_TRANSACTION:
        raise ValueError("at most 64 updates per transaction")
    slot_nrs = [s for s, _ in updates] + [0xFFFF] * (AL_UPDATES_PER_TRANSACTION - len(updates))
    extent_nrs = [e for _, e in updates] + [LC_FREE] * (AL_UPDATES_PER_TRANSACTION - len(updates))
    window = list(slots[context_start : context_start + AL_CONTEXT_PER_TRANSACTION])
    window += [LC_FREE] * (AL_CONTEXT_PER_TRANSACTION - len(window))
    block = bytearray(
        _FORMAT.pack(
            AL_MAGIC, tr_number & 0xFFFFFFFF, 0, tr_type, len(updates), len(slots), context_start,
            *slot_nrs, *extent_nrs, *window,
        )
    )  # fmt: skip
    struct.pack_into(">I", block, 8, crc32c_drbd(block))
    return bytes(block)


def initialized_block() -> bytes:
    """The block drbdmeta writes into every ring slot on create-md / after apply-al."""
    block = bytearray(AL_BLOCK_SIZE)
    struct.pack_into(">I", block, 0, AL_MAGIC)
    struct.pack_into(">H", block, 12, AL_TR_INITIALIZED)
    struct.pack_into(">I", block, 8, crc32c_drbd(block))
    return bytes(block)


@dataclass(frozen=True, slots=True)
class DecodedTransaction:
    tr_number: int
    tr_type: int
    updates: tuple[tuple[int, int], ...]
    context_size: int
    context_start: int
    context: tuple[int, ...]


def decode_transaction(block: bytes | bytearray | memoryview) -> DecodedTransaction | None:
    """A ring block, or None when it is not a valid transaction (bad magic, size or CRC)."""
    if len(block) != AL_BLOCK_SIZE:
        return None
    fields = _FORMAT.unpack(block)
    magic, tr_number, crc, tr_type, n_updates, context_size, context_start = fields[:7]
    if magic != AL_MAGIC or n_updates > AL_UPDATES_PER_TRANSACTION:
        return None
    zeroed = bytearray(block)
    zeroed[8:12] = bytes(4)
    if crc32c_drbd(zeroed) != crc:
        return None
    slot_nrs = fields[7 : 7 + AL_UPDATES_PER_TRANSACTION]
    extent_nrs = fields[7 + AL_UPDATES_PER_TRANSACTION : 7 + 2 * AL_UPDATES_PER_TRANSACTION]
    context = tuple(fields[7 + 2 * AL_UPDATES_PER_TRANSACTION :])
    updates = tuple(zip(slot_nrs[:n_updates], extent_nrs[:n_updates], strict=True))
    return DecodedTransaction(tr_number, tr_type, updates, context_size, context_start, context)


@dataclass(frozen=True, slots=True)
class AlReplay:
    """What a crash left in the log: extents to resync, and where numbering continues."""

    hot_extents: frozenset[int]
    last_tr_number: int | None
    valid_blocks: int
    corrupt_blocks: int

    @property
    def needs_apply(self) -> bool:
        return bool(self.hot_extents)


def replay(blocks: Sequence[bytes], layout: AlLayout) -> AlReplay:
    """Reconstruct the hot extents from the ring (drbdmeta `replay_al_84`).

    `blocks` are the ring's blocks in on-disk order. Invalid blocks (a torn last transaction) are
    skipped: a transaction is written before any data write it covers, so dropping it loses
    nothing.
    """
    mx = layout.ring_blocks
    if len(blocks) != mx:
        raise ValueError(f"activity log ring has {mx} blocks, got {len(blocks)}")
    decoded: list[DecodedTransaction | None] = []
    for b in range(mx):
        decoded.append(decode_transaction(blocks[layout.block_for_transaction(b)]))
    valid = sum(1 for d in decoded if d is not None)
    updates_at = [b for b, d in enumerate(decoded) if d is not None and d.tr_type == AL_TR_UPDATE]
    if not updates_at:
        return AlReplay(frozenset(), None, valid, mx - valid)

    def age(b: int) -> int:
        """Signed 32-bit distance from the first update block, as drbdmeta compares them."""
        first = decoded[updates_at[0]]
        this = decoded[b]
        assert first is not None and this is not None
        diff = (this.tr_number - first.tr_number) & 0xFFFFFFFF
        return diff - (1 << 32) if diff >= 1 << 31 else diff

    ordered = sorted(updates_at, key=age)
    table: dict[int, int] = {}
    for b in ordered:
        tr = decoded[b]
        assert tr is not None
        for i, extent in enumerate(tr.context):
            slot = tr.context_start + i
            if extent == LC_FREE and slot >= tr.context_size:
                continue
            if slot < AL_EXTENTS_MAX:
                table[slot] = extent
        for slot, extent in tr.updates:
            if slot < AL_EXTENTS_MAX:
                table[slot] = extent
    newest = decoded[ordered[-1]]
    assert newest is not None
    hot = frozenset(e for e in table.values() if e != LC_FREE)
    return AlReplay(hot, newest.tr_number, valid, mx - valid)


class ActivityLog:
    """The in-memory log: `nr_extents` slots, LRU eviction of idle extents, one transaction at a time.

    The write path calls `begin_io` for each application write; if it returns False the write must
    wait until a transaction covering it is persisted. The core then asks `prepare_transaction`
    for the block to write (None when nothing is pending or no slot can be freed yet: all are in
    use by writes in flight), writes it durably, and calls `transaction_persisted`; writes whose
    extents are now `covers`-ed proceed. `end_io` releases a completed write's extents.
    """

    def __init__(
        self,
        nr_extents: int = AL_EXTENTS_DEFAULT,
        layout: AlLayout | None = None,
        *,
        next_tr_number: int = 0,
    ) -> None:
        self.layout = layout or AlLayout()
        if not AL_EXTENTS_MIN <= nr_extents <= self.layout.max_extents:
            raise ValueError(
                f"al-extents {nr_extents} outside {AL_EXTENTS_MIN}..{self.layout.max_extents} "
                f"for a {self.layout.size_bytes // 1024} KiB activity log"
            )
        self.nr_extents = nr_extents
        self.next_tr_number = next_tr_number
        self._slots: list[int] = [LC_FREE] * nr_extents
        self._slot_of: dict[int, int] = {}
        self._lru: OrderedDict[int, None] = OrderedDict()  # committed extents, oldest first
        self._refs: dict[int, int] = {}
        self._pending: OrderedDict[int, None] = OrderedDict()
        self._in_flight: AlTransaction | None = None
        self._undo: list[tuple[int, int]] = []  # (slot, evicted extent) of the transaction in flight
        self._context_start = 0
        self.transactions_written = 0

    # -- queries -----------------------------------------------------------------------------------

    def is_hot(self, extent: int) -> bool:
        return extent in self._slot_of

    def covers(self, offset: int, length: int) -> bool:
        """Every extent of the range is committed: a write there may start."""
        return all(e in self._slot_of for e in extents_for(offset, length))

    def active_extents(self) -> frozenset[int]:
        return frozenset(self._slot_of)

    @property
    def pending(self) -> bool:
        """Extents are waiting for a transaction."""
        return bool(self._pending)

    @property
    def transaction_in_flight(self) -> AlTransaction | None:
        return self._in_flight

    @property
    def in_use(self) -> int:
        """Extents held by writes in flight."""
        return len(self._refs)

    # -- the write path ------------------------------------------------------------------------------

    def begin_io(self, offset: int, length: int) -> bool:
        """Reserve the extents of a write; True when it may start now (all extents hot)."""
        ready = True
        for extent in extents_for(offset, length):
            self._refs[extent] = self._refs.get(extent, 0) + 1
            if extent in self._slot_of:
                self._lru.move_to_end(extent)
            else:
                ready = False
                self._pending[extent] = None
        return ready

    def end_io(self, offset: int, length: int) -> None:
        """A write that `begin_io` reserved has completed."""
        for extent in extents_for(offset, length):
            count = self._refs.get(extent, 0)
            if count <= 0:
                raise ActivityLogError(f"end_io for extent {extent} without begin_io")
            if count == 1:
                del self._refs[extent]
            else:
                self._refs[extent] = count - 1

    def prepare_transaction(self) -> AlTransaction | None:
        """The next transaction to persist, or None (nothing pending, one in flight, or starved)."""
        if self._in_flight is not None or not self._pending:
            return None
        free = [slot for slot, extent in enumerate(self._slots) if extent == LC_FREE]
        updates: list[tuple[int, int]] = []
        evicted: list[int] = []
        undo: list[tuple[int, int]] = []
        for extent in list(self._pending):
            if len(updates) == AL_UPDATES_PER_TRANSACTION:
                break
            if free:
                slot = free.pop(0)
            else:
                victim = next((e for e in self._lru if e not in self._refs), None)
                if victim is None:
                    break
                slot = self._slot_of.pop(victim)
                del self._lru[victim]
                self._slots[slot] = LC_FREE
                evicted.append(victim)
                undo.append((slot, victim))
            updates.append((slot, extent))
            del self._pending[extent]
        if not updates:
            return None
        block = encode_transaction(self.next_tr_number, updates, self._context_start, self._slots)
        tr = AlTransaction(
            tr_number=self.next_tr_number,
            block=self.layout.block_for_transaction(self.next_tr_number),
            data=block,
            updates=tuple(updates),
            evicted=tuple(evicted),
        )
        self._in_flight = tr
        self._undo = undo
        return tr

    def transaction_persisted(self, tr: AlTransaction) -> tuple[int, ...]:
        """The block of `tr` is durable: its extents are hot now. Returns them."""
        if self._in_flight is None or tr.tr_number != self._in_flight.tr_number:
            raise ActivityLogError(f"transaction {tr.tr_number} was not the one in flight")
        for slot, extent in tr.updates:
            self._slots[slot] = extent
            self._slot_of[extent] = slot
            self._lru[extent] = None
        self._in_flight = None
        self.next_tr_number = (self.next_tr_number + 1) & 0xFFFFFFFF
        self.transactions_written += 1
        self._context_start += AL_CONTEXT_PER_TRANSACTION
        if self._context_start >= self.nr_extents:
            self._context_start = 0
        return tuple(extent for _, extent in tr.updates)

    def transaction_failed(self, tr: AlTransaction) -> None:
        """The transaction could not be written: its extents stay cold and pending again, and the
        extents it would have evicted are hot again (the ring on disk still lists them)."""
        if self._in_flight is None or tr.tr_number != self._in_flight.tr_number:
            raise ActivityLogError(f"transaction {tr.tr_number} was not the one in flight")
        self._in_flight = None
        for slot, victim in self._undo:
            self._slots[slot] = victim
            self._slot_of[victim] = slot
            self._lru[victim] = None
            self._lru.move_to_end(victim, last=False)
        self._undo = []
        for _, extent in reversed(tr.updates):
            self._pending[extent] = None
            self._pending.move_to_end(extent, last=False)
