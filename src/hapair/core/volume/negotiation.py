"""Connecting two replicas: the report exchange, the sync handshake, the bitmap exchange, resync
start and finish, and what a lost connection leaves behind.

After the link's handshake each side sends Sizes, Uuids and State. Receiving the peer's State
runs GEN's `sync_handshake` (DRBD's `drbd_sync_handshake`); a later State runs it again when a
disk was newly attached, both were Inconsistent and ids changed (`primary --force` on a fresh
pair), or the peer started a sync (`invalidate`), as DRBD's `receive_state` does. A sync decision
leads to WFBitMapS/T: both send their out-of-sync runs and OR in the peer's; the source then starts
a new bitmap generation, persists it, and sends SyncUuid; the target adopts it, persists that it is
Inconsistent, and starts pulling blocks. When the bitmap is empty each side finishes, the target
adopts the source's generation ids, and both tell each other.
"""

from __future__ import annotations

from dataclasses import replace

from hapair.core.volume import control_messages as cm
from hapair.core.volume import messages as m
from hapair.core.volume.connection import LinkEstablished, LinkLost, LinkState
from hapair.core.volume.events import (
    ConnectionRefused,
    HandlerInvoked,
    Level,
    NoticeLogged,
    PeerConnected,
    PeerDisconnected,
    ProtocolViolated,
    ResyncFinished,
    ResyncStarted,
    SplitBrainDetected,
    SyncDecided,
    VerifyFinished,
)
from hapair.core.volume.handshake import HandshakeInput, sync_handshake
from hapair.core.volume.rate_control import ControllerParams, ResyncController
from hapair.core.volume.replica_base import BitmapExchange, PeerView, ReplicaBase
from hapair.core.volume.resync import ResyncSource, ResyncTarget
from hapair.core.volume.states import (
    ConnState,
    DiskState,
    ReplicaState,
    Role,
    parse_conn_state,
    parse_disk_state,
    parse_role,
)
from hapair.core.volume.uuids import (
    GenerationIds,
    UuidFlags,
    UuidReport,
    accepts_skip_initial_sync,
    on_demote,
    on_resync_finished,
    on_skip_initial_sync_received,
    on_sync_source_start,
    on_sync_uuid_received,
)
from hapair.errors import RemoteProtocolError

NS_PER_S = 1_000_000_000
_STARTING = (
    ConnState.STARTING_SYNC_S,
    ConnState.STARTING_SYNC_T,
    ConnState.WF_BITMAP_S,
    ConnState.WF_BITMAP_T,
)


class NegotiationMixin(ReplicaBase):
    conn_generation: int = 0
    consider_resync: bool = False

    # ---- following the link ----

    def follow_link(self, lost: LinkLost | None = None) -> None:
        """Bring `conn` in line with the link after a link call (DRBD's transient states included)."""
        link = self.link.state
        conn = self.state.conn
        if lost is not None and conn >= ConnState.WF_REPORT_PARAMS:
            reason = ConnState.PROTOCOL_ERROR if lost.violation else ConnState.NETWORK_FAILURE
            if "time" in lost.reason:
                reason = ConnState.TIMEOUT
            self.set_state(replace(self.state, conn=reason), hard=True)
        match link:
            case LinkState.STANDALONE:
                if self.state.conn is not ConnState.STANDALONE:
                    self.set_state(replace(self.state, conn=ConnState.DISCONNECTING), hard=True)
                    self.set_state(replace(self.state, conn=ConnState.STANDALONE), hard=True)
            case LinkState.CONNECTING:
                if self.state.conn is not ConnState.CONNECTING:
                    if self.state.conn is not ConnState.UNCONNECTED:
                        self.set_state(replace(self.state, conn=ConnState.UNCONNECTED), hard=True)
                    self.set_state(replace(self.state, conn=ConnState.CONNECTING), hard=True)
            case LinkState.HANDSHAKING:
                if self.state.conn is ConnState.CONNECTING:
                    self.set_state(replace(self.state, conn=ConnState.WF_REPORT_PARAMS), hard=True)
            case LinkState.ESTABLISHED:
                pass

    def on_link_established(self, est: LinkEstablished) -> None:
        self.peer = PeerView(name=est.peer_name)
        self.consider_resync = False
        self.ctx.emit(PeerConnected(est.peer_name))
        self.send_sizes()
        self.send_uuids()
        self.send_state()

    def on_link_lost(self, lost: LinkLost) -> None:
        self.connection_gone()
        if lost.refused:
            self.ctx.emit(ConnectionRefused(lost.reason))
        elif lost.violation:
            self.ctx.emit(ProtocolViolated(lost.reason))
        else:
            self.ctx.emit(PeerDisconnected(lost.reason))
        self.follow_link(lost)
        self.after_connection_gone()

    def connection_gone(self) -> None:
        """Drop everything tied to the connection; keep the bitmap (resync resumes from it)."""
        self.conn_generation += 1
        self.writes.connection_lost()
        self.applier.connection_lost()
        if self.resync_target is not None or self.resync_source is not None:
            self.ctx.emit(NoticeLogged("Resync interrupted; it resumes from the bitmap", Level.WARNING))
        self.resync_target = None
        self.resync_source = None
        if self.verify_source is not None or self.verify_target is not None:
            self.ctx.emit(NoticeLogged("Online-verify aborted.", Level.WARNING))
        self.verify_source = None
        self.verify_target = None
        self.exchange = None
        self.peer = PeerView()
        if self.md is not None:
            self.md.flush_then_write_bitmap()

    def after_connection_gone(self) -> None:
        """Hook for the admin layer (a promotion waiting for the peer's answer)."""

    # ---- reports from the peer ----

    def on_sizes(self, msg: cm.Sizes) -> None:
        self.peer.sizes = msg

    def on_uuids(self, msg: cm.Uuids) -> None:
        ids = GenerationIds.from_words((msg.current, msg.bitmap, msg.history1, msg.history2))
        report = UuidReport(ids, msg.bitmap_bits, UuidFlags(msg.flags))
        old = self.peer.uuids
        self.peer.uuids = report
        if self.state.conn is not ConnState.CONNECTED or self.md is None:
            return
        if accepts_skip_initial_sync(self.ids, self.state.conn, report.flags):
            primary = self.state.role is Role.PRIMARY
            self.ids = on_skip_initial_sync_received(self.ids, ids.current, primary=primary)
            if self._bitmap is not None:
                self._bitmap.clear_all()
            self.ctx.emit(NoticeLogged("Peer skipped the initial sync; adopting its generation"))
            self.set_state(replace(self.state, disk=DiskState.UP_TO_DATE), hard=True)
            self.persist_superblock()
            if self.md is not None:
                self.md.write_whole_bitmap()
        elif (
            old is not None
            and self.state.disk is DiskState.INCONSISTENT
            and self.peer.disk is DiskState.INCONSISTENT
        ):
            self.consider_resync = True

    def on_state(self, msg: cm.State) -> None:
        try:
            role, disk = parse_role(msg.role), parse_disk_state(msg.disk)
            conn = parse_conn_state(msg.replication)
        except ValueError as exc:
            raise RemoteProtocolError(f"State: {exc}") from None
        first = not self.peer.state_received
        self.peer.role, self.peer.disk, self.peer.conn = role, disk, conn
        self.peer.state_received = True
        if role is Role.PRIMARY:
            self.peer.promotion_granted = False
        if first:
            if self.peer.sizes is None or self.peer.uuids is None:
                raise RemoteProtocolError("State before Sizes and Uuids")
            self.negotiate()
            return
        mine = self.state.conn
        if mine >= ConnState.CONNECTED:
            self.set_state(replace(self.state, peer=role, pdsk=self.real_peer_disk()), hard=True)
        cr = self.consider_resync or DiskState.NEGOTIATING in (disk, self.state.disk) or conn in _STARTING
        if self.state.conn is ConnState.CONNECTED and cr and self.attached:
            self.negotiate()
        elif mine is ConnState.VERIFY_T and conn is ConnState.CONNECTED:
            self.finish_verify_target()

    def real_peer_disk(self) -> DiskState:
        """The peer's disk for decisions: a Negotiating disk counts as its flags say (DRBD)."""
        if self.peer.disk is not DiskState.NEGOTIATING:
            return self.peer.disk
        uuids = self.peer.uuids
        inconsistent = uuids is not None and uuids.flags & UuidFlags.INCONSISTENT
        return DiskState.INCONSISTENT if inconsistent else DiskState.CONSISTENT

    # ---- the decision ----

    def negotiate(self) -> None:
        self.consider_resync = False
        peer = self.peer
        my_disk = self.negotiating_disk if self.state.disk is DiskState.NEGOTIATING else self.state.disk
        peer_disk = self.real_peer_disk()
        if not self.attached or peer_disk < DiskState.INCONSISTENT or peer.uuids is None:
            self.set_state_and_tell(
                replace(self.state, conn=ConnState.CONNECTED, peer=peer.role, pdsk=peer_disk, disk=my_disk)
            )
            return
        if peer.sizes is not None and peer.sizes.current_size not in (0, self.data_size):
            self.refuse_connection(
                f"The peer's size ({peer.sizes.current_size} bytes) differs from mine ({self.data_size})"
            )
            return
        outcome = sync_handshake(
            HandshakeInput(
                me=self.uuid_report(),
                peer=peer.uuids,
                self_role=self.state.role,
                peer_role=peer.role,
                self_disk=my_disk,
                peer_disk=peer_disk,
                self_crashed_primary=self.crashed_primary,
                discard_my_data=self.discard_my_data,
                resolve_conflicts=self.settings.resolves_conflicts,
                policies=self.settings.split_brain_policies,
                disk_now=self.state.disk,  # a re-attaching Primary (Negotiating) may become SyncTarget
                can_demote=not self.device_open,
            )
        )
        cmp = outcome.comparison
        for line in outcome.log:
            # the compare result and the split-brain verdict have their own events below
            if line != cmp.log_line() and not line.startswith("Split-Brain detected"):
                self.ctx.emit(NoticeLogged(line))
        target = outcome.conn.text if outcome.conn is not None else "disconnect"
        self.ctx.emit(SyncDecided(cmp.hg, str(cmp.rule), target))
        for handler in outcome.handlers:
            self.ctx.emit(HandlerInvoked(handler))
        if outcome.split_brain_detected:
            primaries = (self.state.role is Role.PRIMARY) + (peer.role is Role.PRIMARY)
            victim = "self" if outcome.hg < 0 else "peer"
            self.ctx.emit(SplitBrainDetected(primaries, outcome.conn is not None, victim))
        if cmp.self_ids != self.ids:
            self.ids = cmp.self_ids
            self.persist_superblock()
            self.tell_uuids()
        if outcome.conn is None:
            reason = outcome.refusal.value if outcome.refusal else "refused"
            self.refuse_connection(reason, announce=not outcome.split_brain_detected)
            return
        self.discard_my_data = False
        if outcome.demote_self:
            self.ids = on_demote(self.ids)
            self.tell_uuids()
            self.set_state(replace(self.state, role=Role.SECONDARY), hard=True)
        if outcome.full_sync and self._bitmap is not None:
            self._bitmap.set_all()
        if outcome.conn is ConnState.CONNECTED:
            self.set_state_and_tell(
                replace(self.state, conn=ConnState.CONNECTED, peer=peer.role, pdsk=peer_disk, disk=my_disk)
            )
            return
        self.begin_bitmap_exchange(
            outcome.becomes_sync_source, disk=my_disk, full=outcome.full_sync, peer_ids=cmp.peer_ids
        )

    def set_state_and_tell(self, wanted: ReplicaState) -> None:
        """A hard change after which the peer must hear our State even if nothing it sees changed."""
        before = self.state
        after = self.set_state(wanted, hard=True)
        if (before.role, before.disk, before.conn) == (after.role, after.disk, after.conn):
            self.send_state()

    def refuse_connection(self, reason: str, *, announce: bool = True) -> None:
        """Drop the connection and stay StandAlone (split brain, unrelated data, sizes)."""
        if announce:
            self.ctx.emit(ConnectionRefused(reason))
        self.link.disconnect(self.ctx.out, goodbye=False)
        self.connection_gone()
        self.follow_link()
        self.after_connection_gone()

    # ---- bitmap exchange and resync ----

    def begin_bitmap_exchange(
        self,
        as_source: bool,
        *,
        disk: DiskState | None = None,
        full: bool = False,
        peer_ids: GenerationIds | None = None,
    ) -> None:
        """WFBitMapS/T. `peer_ids`: the peer's ids as the handshake saw (and maybe repaired) them,
        which a SyncTarget adopts when done (DRBD's p_uuid); by default the latest received."""
        bitmap = self._bitmap
        assert bitmap is not None
        if peer_ids is None and self.peer.uuids is not None:
            peer_ids = self.peer.uuids.ids
        self.sync_peer_ids = peer_ids
        self.exchange = BitmapExchange(as_source, full)
        conn = ConnState.WF_BITMAP_S if as_source else ConnState.WF_BITMAP_T
        wanted = replace(self.state, conn=conn, peer=self.peer.role, pdsk=self.real_peer_disk())
        if disk is not None:
            wanted = replace(wanted, disk=disk)
        self.set_state_and_tell(wanted)
        runs = [(first, end - first) for first, end in bitmap.runs()]
        for pos in range(0, len(runs), m.MAX_BITMAP_RUNS):
            chunk = tuple(runs[pos : pos + m.MAX_BITMAP_RUNS])
            self.ctx.send(cm.BitmapRuns(chunk, last=pos + m.MAX_BITMAP_RUNS >= len(runs)))
        if not runs:
            self.ctx.send(cm.BitmapRuns((), last=True))

    def on_bitmap_runs(self, msg: cm.BitmapRuns) -> None:
        exchange = self.exchange
        bitmap = self._bitmap
        if exchange is None or bitmap is None or exchange.received_last:
            raise RemoteProtocolError("BitmapRuns outside a bitmap exchange")
        for start, count in msg.runs:
            if start + count > bitmap.nbits:
                raise RemoteProtocolError(f"BitmapRuns: run ({start}, {count}) beyond {bitmap.nbits} blocks")
            bitmap.set_range(start, start + count)
        if msg.last:
            exchange.received_last = True
            self.bitmap_exchange_done(exchange)

    def bitmap_exchange_done(self, exchange: BitmapExchange) -> None:
        assert self.md is not None
        generation = self.conn_generation
        if not exchange.as_source:
            self.set_state(replace(self.state, conn=ConnState.WF_SYNC_UUID), hard=True)
            self.md.write_dirty_bitmap()
            return
        primary = self.state.role is Role.PRIMARY
        self.ids, sync_uuid = on_sync_source_start(self.ids, self.entropy, primary=primary)

        def persisted() -> None:
            if generation != self.conn_generation or not self.link.established:
                return
            self.tell_uuids()
            self.ctx.send(cm.SyncUuid(sync_uuid))
            self.set_state(replace(self.state, conn=ConnState.SYNC_SOURCE), hard=True)
            self.resync_source = ResyncSource(self.ctx, self, self.settings.csums_alg)
            self.exchange = None
            self.ctx.emit(ResyncStarted(True, self.resync_source.progress.total_blocks, exchange.full))

        self.md.write_dirty_bitmap(lambda: self.persist_superblock(persisted))

    def on_sync_uuid(self, msg: cm.SyncUuid) -> None:
        if self.state.conn is not ConnState.WF_SYNC_UUID or self.md is None:
            raise RemoteProtocolError("SyncUuid while not waiting for one")
        primary = self.state.role is Role.PRIMARY
        self.ids = on_sync_uuid_received(self.ids, msg.uuid, primary=primary)
        full = self.exchange is not None and self.exchange.full
        self.exchange = None
        self.tell_uuids()
        self.ctx.emit(HandlerInvoked("before-resync-target"))
        self.set_state(replace(self.state, conn=ConnState.SYNC_TARGET), hard=True)
        generation = self.conn_generation

        def persisted() -> None:
            if generation != self.conn_generation or self.state.conn is not ConnState.SYNC_TARGET:
                return
            controller = ResyncController(ControllerParams.from_settings(self.settings))
            self.resync_target = ResyncTarget(self.ctx, self, controller, self.settings.csums_alg)
            self.ctx.emit(ResyncStarted(False, self.resync_target.progress.total_blocks, full))
            self.resync_target.tick()
            self.check_runs()

        self.persist_superblock(persisted)

    def on_start_full_sync(self, msg: cm.StartFullSync) -> None:
        if self.state.conn is not ConnState.CONNECTED or self._bitmap is None:
            raise RemoteProtocolError("StartFullSync while not plainly Connected with a disk")
        if not msg.sender_is_source and self.state.disk is not DiskState.UP_TO_DATE:
            raise RemoteProtocolError("StartFullSync: asked to be SyncSource without UpToDate data")
        if msg.sender_is_source and self.state.role is Role.PRIMARY:
            raise RemoteProtocolError("StartFullSync: a Primary cannot become SyncTarget")
        self._bitmap.set_all()
        self.begin_bitmap_exchange(not msg.sender_is_source, full=True)

    def on_out_of_sync(self, msg: m.OutOfSync) -> None:
        offset = msg.sector * m.SECTOR
        if offset + msg.size > self.data_size:
            raise RemoteProtocolError("OutOfSync beyond the volume")
        self.mark_out_of_sync_local(offset, msg.size)

    def check_runs(self) -> None:
        """Finish resync or verify runs that completed during the last input."""
        if self.resync_target is not None and self.resync_target.finished:
            self.finish_resync(as_source=False)
        if self.resync_source is not None and self.resync_source.finished:
            self.finish_resync(as_source=True)
        if self.verify_source is not None and self.verify_source.finished:
            self.finish_verify_source()

    def finish_resync(self, *, as_source: bool) -> None:
        run = self.resync_source if as_source else self.resync_target
        assert run is not None
        failed = 0 if self.resync_target is None else self.resync_target.failed_blocks
        self.resync_source = None
        self.resync_target = None
        primary = self.state.role is Role.PRIMARY
        progress = run.progress
        seconds = max(1, (self.ctx.now_ns - progress.started_ns) // NS_PER_S)
        if as_source:
            self.ids = on_resync_finished(self.ids, was_target=False, peer=None, primary=primary)
            self.set_state(
                replace(self.state, conn=ConnState.CONNECTED, pdsk=self.real_peer_disk()), hard=True
            )
        elif failed:
            self.ctx.emit(NoticeLogged(f"Resync finished with {failed} failed blocks", Level.ERROR))
            self.set_state(replace(self.state, conn=ConnState.CONNECTED), hard=True)
        else:
            # DRBD adopts the source's ids as the handshake saw them (before its sync-start rotation)
            self.ids = on_resync_finished(self.ids, was_target=True, peer=self.sync_peer_ids, primary=primary)
            self.set_state(
                replace(self.state, conn=ConnState.CONNECTED, disk=DiskState.UP_TO_DATE), hard=True
            )
            self.ctx.emit(HandlerInvoked("after-resync-target"))
        self.crashed_primary = False
        kib = progress.transferred_bytes // 1024
        self.ctx.emit(
            ResyncFinished(as_source, seconds, progress.paused_ns // NS_PER_S, kib // seconds,
                           progress.equal_checksum_blocks, kib)
        )  # fmt: skip
        generation = self.conn_generation

        def persisted() -> None:
            if generation == self.conn_generation and self.link.established:
                self.send_uuids()
                self.send_state()

        if self.md is not None:
            self.md.flush_then_write_bitmap(lambda: self.persist_superblock(persisted))

    # ---- verify ends ----

    def finish_verify_source(self) -> None:
        run = self.verify_source
        assert run is not None
        self.verify_source = None
        for line in run.report():
            self.ctx.emit(line)
        self.ctx.emit(VerifyFinished(len(run.found), run.blocks))
        if run.found:
            self.ctx.emit(HandlerInvoked("out-of-sync"))
        if self.md is not None:
            self.md.write_dirty_bitmap()
        self.set_state(replace(self.state, conn=ConnState.CONNECTED), hard=True)

    def finish_verify_target(self) -> None:
        run = self.verify_target
        self.verify_target = None
        if run is not None:
            self.ctx.emit(VerifyFinished(run.found, run.blocks))
        if self.md is not None:
            self.md.write_dirty_bitmap()
        self.set_state(replace(self.state, conn=ConnState.CONNECTED), hard=True)
