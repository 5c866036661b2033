"""The replica's state and the services its parts share: state changes, metadata, bitmap marks.

`ReplicaBase` holds everything one volume replica knows (DRBD's state word, generation ids, the
attached disk's bitmap, activity log and metadata, what it knows of the peer) and implements the
host interfaces the request path, the peer-write applier, resync and verify are written against.
The connect-time exchange (`negotiation.py`), the admin verbs (`admin.py`) and the input dispatch
(`replica.py`) build on it.

Every state change goes through `set_state`, which applies GEN's 8.4 rules (`check_state_change`),
logs DRBD's line, and then does what `after_state_ch` does: a new generation when a Primary loses
its peer's data, superblock flags, and telling the peer.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from hapair.core.volume import control_messages as cm
from hapair.core.volume.activity_log import ActivityLog
from hapair.core.volume.bitmap import BLOCK_SIZE, QuickSyncBitmap
from hapair.core.volume.connection import PeerLink
from hapair.core.volume.context import ReplicaContext
from hapair.core.volume.events import HandlerInvoked, Level, NoticeLogged, StateChanged
from hapair.core.volume.md_persistence import MetadataPersistence
from hapair.core.volume.messages import OutOfSync
from hapair.core.volume.metadata import MetadataLayout, Superblock
from hapair.core.volume.metadata_lifecycle import flags_for_state
from hapair.core.volume.peer_writes import PeerWriteApplier
from hapair.core.volume.resync import ResyncSource, ResyncTarget
from hapair.core.volume.settings import OnIoError, VolumeSettings
from hapair.core.volume.state_rules import StateRules, check_state_change, describe_state_change
from hapair.core.volume.states import ConnState, DiskState, OnNoDataAccessible, ReplicaState, Role
from hapair.core.volume.uuids import GenerationIds, UuidFlags, UuidReport, on_state_change, uuid_flags
from hapair.core.volume.verify import VerifySource, VerifyTarget
from hapair.core.volume.write_path import PrimaryWritePath

SECTOR = 512


class Entropy(Protocol):
    """Randomness for generation ids and auth challenges (seeded in tests, os.urandom in the daemon)."""

    def random_u64(self) -> int: ...

    def random_bytes(self, n: int) -> bytes: ...


@dataclass(slots=True)
class PeerView:
    """What this node knows of the peer on the current connection."""

    name: str = ""
    sizes: cm.Sizes | None = None
    uuids: UuidReport | None = None
    role: Role = Role.UNKNOWN
    disk: DiskState = DiskState.DUNKNOWN
    conn: ConnState = ConnState.STANDALONE
    state_received: bool = False
    promotion_granted: bool = False


@dataclass(slots=True)
class BitmapExchange:
    """WFBitMapS/T: our runs are sent; theirs are arriving."""

    as_source: bool
    full: bool = False
    received_last: bool = False


class ReplicaBase:
    def __init__(self, settings: VolumeSettings, entropy: Entropy) -> None:
        self.settings = settings
        self.entropy = entropy
        self.link = PeerLink(settings, entropy.random_bytes)
        self.ctx = ReplicaContext(settings, self.link)
        self.state = ReplicaState()
        self.ids = GenerationIds(0)
        self.crashed_primary = False
        self.layout: MetadataLayout | None = None
        self.md: MetadataPersistence | None = None
        self._bitmap: QuickSyncBitmap | None = None
        self._al: ActivityLog | None = None
        self._data_size = 0
        self.backing_bytes = 0
        self.peer = PeerView()
        self.exchange: BitmapExchange | None = None
        self.discard_my_data = False
        self.device_open = False
        self.detaching = False
        self.negotiating_disk = DiskState.DISKLESS
        self.sync_peer_ids: GenerationIds | None = None  # the peer's ids the running resync was decided on
        self._holds = 0
        self.writes = PrimaryWritePath(self.ctx, self)
        self.applier = PeerWriteApplier(self.ctx, self)
        self.resync_target: ResyncTarget | None = None
        self.resync_source: ResyncSource | None = None
        self.verify_source: VerifySource | None = None
        self.verify_target: VerifyTarget | None = None

    # ---- facts ----

    @property
    def bitmap(self) -> QuickSyncBitmap | None:
        return self._bitmap

    @property
    def activity_log(self) -> ActivityLog | None:
        return self._al

    @property
    def data_size(self) -> int:
        return self._data_size

    @property
    def attached(self) -> bool:
        return self.md is not None and self.state.disk > DiskState.FAILED

    def local_disk_usable(self) -> bool:
        """The Primary may read and write its own disk."""
        return self.attached and not self.detaching and self.state.disk is DiskState.UP_TO_DATE

    def local_disk_writable(self) -> bool:
        return self.attached and not self.detaching and self.state.disk >= DiskState.INCONSISTENT

    def local_disk_readable(self) -> bool:
        return self.local_disk_usable()

    def local_read_possible(self, offset: int, length: int) -> bool:
        if self.local_disk_usable():
            return True
        bitmap = self._bitmap
        return self.local_disk_writable() and bitmap is not None and bitmap.is_clear(offset, length)

    def peer_has_disk(self) -> bool:
        return self.peer.disk >= DiskState.INCONSISTENT and self.peer.disk is not DiskState.DUNKNOWN

    def peer_takes_data(self) -> bool:
        return self.link.established and self.state.conn >= ConnState.CONNECTED and self.peer_has_disk()

    def peer_serves_reads(self) -> bool:
        return (
            self.link.established
            and self.state.conn >= ConnState.CONNECTED
            and self.peer.disk is DiskState.UP_TO_DATE
        )

    def data_accessible(self) -> bool:
        return self.local_disk_usable() or self.peer_serves_reads()

    def accepts_requests(self) -> int:
        if self.state.role is not Role.PRIMARY:
            return errno.EROFS
        if self._holds or self.state.suspended:
            return -1
        if not self.data_accessible():
            if self.settings.on_no_data_accessible is OnNoDataAccessible.SUSPEND_IO:
                return -1
            return errno.EIO
        return 0

    # ---- holding client I/O ----

    def hold(self) -> None:
        self._holds += 1

    def unhold(self) -> None:
        self._holds -= 1
        assert self._holds >= 0
        if self._holds == 0:
            self.writes.release_held()

    # ---- bitmap marks (host interface of the write path, applier, resync, verify) ----

    def mark_out_of_sync(self, offset: int, length: int) -> None:
        """A block differs (or may): mark it here and tell a connected peer with a disk."""
        self.mark_out_of_sync_local(offset, length)
        if self.link.established and self.state.conn >= ConnState.CONNECTED and self.peer_has_disk():
            self.ctx.send(OutOfSync(offset // SECTOR, length))

    def mark_out_of_sync_local(self, offset: int, length: int) -> None:
        if self._bitmap is not None and self.attached:
            self._bitmap.mark_out_of_sync(offset, length)

    def peer_is_diskless(self) -> bool:
        return self.state.conn >= ConnState.CONNECTED and self.state.pdsk <= DiskState.FAILED

    def mark_out_of_sync_durably(self, offset: int, length: int, then: Callable[[], None]) -> None:
        self.mark_out_of_sync_local(offset, length)
        if self.md is None:
            then()
        else:
            self.md.write_dirty_bitmap(then)

    def mark_in_sync(self, offset: int, length: int) -> None:
        self.mark_in_sync_local(offset, length)

    def mark_in_sync_local(self, offset: int, length: int) -> None:
        bitmap = self._bitmap
        if bitmap is not None and bitmap.weight and not bitmap.is_clear(offset, length):
            bitmap.mark_in_sync(offset, length)

    def note_application_write(self, offset: int, length: int) -> None:
        if self.resync_source is not None:
            self.resync_source.note_application_write(offset, length)
        if self.resync_target is not None:
            self.resync_target.note_application_write(offset, length)

    def resync_checkpoint(self) -> None:
        if self.md is not None:
            self.md.flush_then_write_bitmap()

    def kick_activity_log(self) -> None:
        if self.md is not None:
            self.md.kick_activity_log()

    # ---- disk failures ----

    def local_io_failed(self, error: int, what: str) -> None:
        """A local I/O failed: apply on-io-error (detach, pass_on, call-local-io-error)."""
        if not self.attached:
            return
        policy = self.settings.on_io_error
        self.ctx.emit(NoticeLogged(f"Local IO failed in {what} (errno {error})", Level.ERROR))
        if policy is OnIoError.CALL_LOCAL_IO_ERROR:
            self.ctx.emit(HandlerInvoked("local-io-error"))
        if policy is OnIoError.DETACH:
            self.disk_failed()

    def disk_failed(self) -> None:
        """The backing device is unusable: Failed, then Diskless (metadata is not written to it)."""
        md = self.md
        if md is None or self.state.disk <= DiskState.FAILED:
            return
        self.md = None  # nothing more is written to it
        self._bitmap = None
        self._al = None
        self.set_state(replace(self.state, disk=DiskState.FAILED), hard=True)
        self.set_state(replace(self.state, disk=DiskState.DISKLESS), hard=True)
        md.abandon()
        self.writes.local_disk_lost()

    # ---- state changes ----

    def rules(self) -> StateRules:
        return StateRules(
            allow_two_primaries=self.settings.allow_two_primaries,
            fencing=self.settings.fencing,
            on_no_data=self.settings.on_no_data_accessible,
            verify_alg_configured=self.settings.verify_alg is not None,
            has_net_config=self.state.conn is not ConnState.STANDALONE,
            device_open=self.device_open,
        )

    def set_state(self, wanted: ReplicaState, *, hard: bool) -> ReplicaState:
        """Apply a state change (raises StateChangeRefused for a refused soft change)."""
        os = self.state
        fallback = None
        if os.disk is DiskState.NEGOTIATING and self._peer_generation_unchanged():
            fallback = (self.negotiating_disk, DiskState.DUNKNOWN)
        ns, warning = check_state_change(os, wanted, self.rules(), hard=hard, negotiation_fallback=fallback)
        if ns == os:
            return ns
        self.state = ns
        line = describe_state_change(self.settings.resource, os, ns)
        if line is not None:
            self.ctx.emit(StateChanged(line.removeprefix(f"{self.settings.resource}: ")))
        if warning is not None:
            self.ctx.emit(NoticeLogged(warning.value, Level.WARNING))
        self.after_state_change(os, ns)
        return ns

    def _peer_generation_unchanged(self) -> bool:
        """DRBD's ed_uuid test: a disk that loses its connection while Negotiating keeps its
        attach-time state only if the data generation we were exposing is still the one on it;
        otherwise the peer moved on while we were without a disk, and the disk is dropped."""
        report = self.peer.uuids
        return report is None or report.ids.current & ~1 == self.ids.current & ~1

    def after_state_change(self, os: ReplicaState, ns: ReplicaState) -> None:
        if not ns.conn.is_sync and (self.resync_target is not None or self.resync_source is not None):
            self.resync_target = self.resync_source = None  # aborted (a disk failed, the link went)
        if not ns.conn.is_verify and (self.verify_source is not None or self.verify_target is not None):
            self.verify_source = self.verify_target = None
        if self.md is not None:
            fresh = on_state_change(self.ids, os, ns, self.entropy)
            if fresh is not None:
                self.ids = fresh
                self.hold()
                self.persist_superblock(self.unhold)
                self.tell_uuids()
            else:
                self.persist_superblock()
        if ns.susp_nod and self.data_accessible():
            self.set_state(replace(self.state, susp_nod=False), hard=True)
        if (
            self.peer.state_received
            and self.link.established
            and (os.role is not ns.role or os.disk is not ns.disk or os.conn is not ns.conn)
        ):
            self.send_state()
        if not self._holds and not ns.suspended:
            self.writes.release_held()

    def send_state(self) -> None:
        s = self.state
        self.ctx.send(cm.State(s.role.text, s.disk.text, s.conn.text, s.user_isp))

    # ---- metadata ----

    def superblock_now(self) -> Superblock:
        assert self.md is not None
        sb = self.md.superblock
        return replace(
            sb,
            uuids=self.ids,
            flags=flags_for_state(sb.flags, self.state, crashed_primary=self.crashed_primary),
            la_size_sect=self._data_size // SECTOR,
            clean=False,
        )

    def persist_superblock(self, then: Callable[[], None] | None = None) -> None:
        """Persist ids and flags if they changed (or always, when `then` waits for it)."""
        if self.md is None:
            if then is not None:
                then()
            return
        sb = self.superblock_now()
        if then is None and replace(sb, sequence=0) == replace(self.md.superblock, sequence=0):
            return
        self.md.persist_superblock(sb, then)

    def uuid_report(self) -> UuidReport:
        bits = self._bitmap.weight if self._bitmap is not None else 0
        disk = self.state.disk
        if disk in (DiskState.ATTACHING, DiskState.NEGOTIATING):
            disk = self.negotiating_disk  # what the peer should count our disk as
        flags = uuid_flags(
            discard_my_data=self.discard_my_data, crashed_primary=self.crashed_primary, disk=disk
        )
        return UuidReport(self.ids, bits, flags)

    def tell_uuids(self) -> None:
        """Our ids changed: a connected peer hears them at once, so any later decision of its
        (a re-attach, a renewed handshake) compares against what we hold now."""
        if self.link.established and self.peer.state_received:
            self.send_uuids()

    def send_uuids(self, extra: UuidFlags = UuidFlags.NONE) -> None:
        report = self.uuid_report()
        cur, bm, h1, h2 = report.ids.words()
        self.ctx.send(cm.Uuids(cur, bm, h1, h2, report.bitmap_bits, int(report.flags | extra)))

    def send_sizes(self) -> None:
        user = self.settings.size_bytes
        self.ctx.send(cm.Sizes(self.backing_bytes, user, self._data_size if self.attached else 0, 1 << 20))

    def blocks(self) -> int:
        return -(-self._data_size // BLOCK_SIZE)
