"""Getting an attached disk's metadata onto stable storage in the right order.

Three kinds of writes, all inside the metadata area and all durable on completion:

- the superblock, through GEN's two-slot `SuperblockStore` (one write in flight, later contents
  coalesced behind it); a caller's continuation runs once a write carrying its change landed;
- bitmap pages (4 KiB each), written when the bitmap changed in ways the activity log does not
  cover (resync progress, full sync, verify findings, a clean shutdown);
- activity-log transactions: before a transaction that evicts extents, the bitmap pages of those
  extents are written, since a crash replay no longer covers them afterwards.

A failed metadata write is reported through `on_error` (the replica treats it as a disk failure).
"""

from __future__ import annotations

from collections.abc import Callable

from hapair.core.volume.activity_log import ActivityLog, AlTransaction
from hapair.core.volume.bitmap import PAGE_SIZE, QuickSyncBitmap
from hapair.core.volume.context import ReplicaContext
from hapair.core.volume.metadata import MetadataLayout, Superblock, SuperblockStore, SuperblockWrite

Then = Callable[[], None]


class MetadataPersistence:
    def __init__(
        self,
        ctx: ReplicaContext,
        *,
        layout: MetadataLayout,
        store: SuperblockStore,
        bitmap: QuickSyncBitmap,
        al: ActivityLog,
        on_error: Callable[[int, str], None],
    ) -> None:
        self.ctx = ctx
        self.layout = layout
        self.store = store
        self.bitmap = bitmap
        self.al = al
        self._on_error = on_error
        self._sb_waiting: list[Then] = []  # for the next write, not yet issued
        self._sb_in_flight: list[Then] = []
        self._al_listeners: list[Then] = []
        self._pending: dict[int, Then] = {}
        self._next_pending = 0
        self.failed = False

    def _track(self, then: Then | None) -> Then | None:
        """Wrap a continuation so that a metadata failure still runs it (once): whoever waits for
        a write to a disk that is gone must not wait forever; the disk failure is reported apart."""
        if then is None:
            return None
        key = self._next_pending
        self._next_pending += 1
        self._pending[key] = then

        def once() -> None:
            callback = self._pending.pop(key, None)
            if callback is not None:
                callback()

        return once

    # ---- superblock ----

    def persist_superblock(self, sb: Superblock, then: Then | None = None) -> None:
        """Make `sb` durable; `then()` runs when a write that includes it has landed."""
        then = self._track(then)
        if self.failed:
            if then is not None:
                then()
            return
        write = self.store.update(sb)
        if then is not None:
            self._sb_waiting.append(then)
        if write is not None:
            self._issue_superblock(write)

    def _issue_superblock(self, write: SuperblockWrite) -> None:
        self._sb_in_flight, self._sb_waiting = self._sb_waiting, []

        def done(error: int) -> None:
            if error:
                self._fail(error, "superblock write")
                return
            waiting = self._sb_in_flight
            self._sb_in_flight = []
            following = self.store.write_done(write)
            if following is not None:
                self._issue_superblock(following)
            for then in waiting:
                then()

        self.ctx.write_metadata(write.offset, write.data, done)

    @property
    def superblock(self) -> Superblock:
        """The newest contents asked for (what the next write will carry)."""
        return self.store.latest

    @property
    def busy(self) -> bool:
        return self.store.busy

    # ---- bitmap ----

    def write_bitmap_pages(self, pages: list[tuple[int, bytes]], then: Then | None = None) -> None:
        """Write the given (index, bytes) pages; `then()` once all landed."""
        then = self._track(then)
        if self.failed:
            if then is not None:
                then()
            return
        remaining = [len(pages)]
        if not pages:
            if then is not None:
                then()
            return

        def one_done(error: int) -> None:
            if error:
                self._fail(error, "bitmap write")
                return
            remaining[0] -= 1
            if remaining[0] == 0 and then is not None:
                then()

        for index, data in pages:
            self.ctx.counters.bm_writes += 1
            self.ctx.write_metadata(self.layout.bitmap_at + index * PAGE_SIZE, data, one_done)

    def write_dirty_bitmap(self, then: Then | None = None) -> None:
        """Write every page changed since the last write-out."""
        self.write_bitmap_pages(self.bitmap.take_dirty_pages(), then)

    def flush_then_write_bitmap(self, then: Then | None = None) -> None:
        """Flush the data area, then write the pages that changed before the flush was issued.

        Bits are cleared when a write *completed*, before it is durable; persisting such a clear
        before the data is flushed would let a power loss leave a block differing but unmarked.
        """
        pages = self.bitmap.take_dirty_pages()
        then = self._track(then)

        def flushed(error: int) -> None:
            if error:
                self._fail(error, "flush")
                return
            self.write_bitmap_pages(pages, then)

        self.ctx.flush(flushed)

    def write_whole_bitmap(self, then: Then | None = None) -> None:
        self.bitmap.mark_all_dirty()
        self.write_dirty_bitmap(then)

    # ---- activity log ----

    def on_al_progress(self, listener: Then) -> None:
        self._al_listeners.append(listener)

    def kick_activity_log(self) -> None:
        """Start the next AL transaction if extents wait and none is in flight."""
        if self.failed:
            return
        tr = self.al.prepare_transaction()
        if tr is None:
            return
        pages = [(i, self.bitmap.page(i)) for i in self.bitmap.pages_for_extents(tr.evicted)]
        self.write_bitmap_pages(pages, lambda: self._write_transaction(tr))

    def _write_transaction(self, tr: AlTransaction) -> None:
        def done(error: int) -> None:
            if error:
                self.al.transaction_failed(tr)
                self._fail(error, "activity log write")
                return
            self.al.transaction_persisted(tr)
            for listener in self._al_listeners:
                listener()
            self.kick_activity_log()

        self.ctx.counters.al_writes += 1
        self.ctx.write_metadata(self.layout.al_at + tr.block * PAGE_SIZE, tr.data, done)

    def abandon(self) -> None:
        """The disk is gone: write nothing more, let every waiter go on."""
        self.failed = True
        waiting, self._pending = self._pending, {}
        for then in waiting.values():
            then()

    def _fail(self, error: int, what: str) -> None:
        if not self.failed:
            self.failed = True
            self._on_error(error, what)
        waiting, self._pending = self._pending, {}
        for then in waiting.values():
            then()
