"""The drbdadm verbs: attach, detach, connect, disconnect, primary, secondary, invalidate,
invalidate-remote, verify, outdate, new-current-uuid, up, down.

Each verb is validated before anything changes: an illegal one raises `StateChangeRefused` (DRBD's
SS_* code and text, from GEN's state rules) or `AdminRefused`. Accepted verbs end with
`AdminCompleted`. Promotion while connected is a cluster-wide change (DRBD P_STATE_CHG_REQ): the
peer refuses if it is Primary, or if it is promoting itself and holds the tie-break bit, so two
nodes promoted at the same moment cannot both win. Promotion persists the new generation before
it completes, and client I/O waits until then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import assert_never

from hapair.core.volume import control_messages as cm
from hapair.core.volume.activity_log import ActivityLog, initialized_block, replay
from hapair.core.volume.bitmap import BLOCK_SIZE, QuickSyncBitmap, bitmap_bytes, bits_for_size
from hapair.core.volume.commands import (
    AdminCommand,
    AdminRefused,
    Attach,
    Connect,
    Detach,
    Disconnect,
    Down,
    Invalidate,
    InvalidateRemote,
    NewCurrentUuid,
    Outdate,
    Primary,
    Secondary,
    Up,
    Verify,
)
from hapair.core.volume.effects import AdminCompleted
from hapair.core.volume.events import Level, NoticeLogged
from hapair.core.volume.md_persistence import MetadataPersistence
from hapair.core.volume.metadata import (
    MdFlags,
    MetadataError,
    MetadataLayout,
    SuperblockStore,
    read_superblock,
)
from hapair.core.volume.metadata_lifecycle import attach_decision
from hapair.core.volume.negotiation import NegotiationMixin
from hapair.core.volume.rate_control import ControllerParams, ResyncController
from hapair.core.volume.state_rules import StateChangeRefused, StateRejection, check_state_change
from hapair.core.volume.states import ConnState, DiskState, ReplicaState, Role
from hapair.core.volume.uuids import (
    UuidFlags,
    may_skip_initial_sync,
    on_demote,
    on_new_current_uuid,
    on_promote,
)
from hapair.core.volume.verify import VerifySource, VerifyTarget
from hapair.errors import RemoteProtocolError

Done = Callable[[], None]


@dataclass(slots=True)
class _PendingChange:
    """A cluster-wide change we asked the peer about."""

    kind: str  # "primary" or "verify"
    cmd_id: int
    force: bool = False


class AdminMixin(NegotiationMixin):
    _state_requests: dict[int, _PendingChange]
    _next_state_request: int
    _detach_waiting: list[Done]

    def _init_admin(self) -> None:
        self._state_requests = {}
        self._next_state_request = 1
        self._detach_waiting = []

    def run_admin(self, cmd: AdminCommand) -> None:
        match cmd:
            case Attach(cmd_id, layout, backing, area):
                self.do_attach(layout, backing, area, self._completer(cmd_id))
            case Up(cmd_id, layout, backing, area):
                if self.state.conn is not ConnState.STANDALONE:
                    raise AdminRefused("up: already connected; use attach")

                def then_connect() -> None:
                    if self.state.conn is ConnState.STANDALONE:
                        self.do_connect(False)
                    self._completer(cmd_id)()

                self.do_attach(layout, backing, area, then_connect)
            case Detach(cmd_id):
                self.do_detach(self._completer(cmd_id))
            case Connect(cmd_id, discard):
                self.do_connect(discard)
                self._completer(cmd_id)()
            case Disconnect(cmd_id):
                self.do_disconnect()
                self._completer(cmd_id)()
            case Primary(cmd_id, force):
                self.do_primary(cmd_id, force)
            case Secondary(cmd_id):
                self.do_secondary(self._completer(cmd_id))
            case Down(cmd_id):
                if self.state.role is Role.PRIMARY:
                    self._validate(replace(self.state, role=Role.SECONDARY))
                self.do_secondary(lambda: None)
                self.do_disconnect()
                self.do_detach(self._completer(cmd_id))
            case Invalidate(cmd_id):
                self.do_invalidate(self._completer(cmd_id))
            case InvalidateRemote(cmd_id):
                self.do_invalidate_remote()
                self._completer(cmd_id)()
            case Verify(cmd_id):
                self.do_verify(cmd_id)
            case Outdate(cmd_id):
                if self.state.conn >= ConnState.CONNECTED:
                    # sanitize would silently keep a connected disk UpToDate; DRBD refuses instead
                    raise StateChangeRefused(StateRejection.CONNECTED_OUTDATES, self.state, self.state)
                self._validate(replace(self.state, disk=DiskState.OUTDATED))
                self.set_state(replace(self.state, disk=DiskState.OUTDATED), hard=False)
                self.persist_superblock(self._completer(cmd_id))
            case NewCurrentUuid(cmd_id, clear):
                self.do_new_current_uuid(clear, self._completer(cmd_id))
            case _ as unreachable:
                assert_never(unreachable)

    def _completer(self, cmd_id: int, refusal: str = "") -> Done:
        def done() -> None:
            self.ctx.out.append(AdminCompleted(cmd_id, refusal))

        return done

    def _validate(self, wanted: ReplicaState) -> None:
        """Raise StateChangeRefused if `wanted` is not allowed now; change nothing."""
        check_state_change(self.state, wanted, self.rules(), hard=False)

    # ---- disk ----

    def do_attach(self, layout: MetadataLayout, backing: int, area: bytes, then: Done) -> None:
        if self.md is not None or self.state.disk is not DiskState.DISKLESS:
            raise AdminRefused("attach: a disk is already attached (detach first)")
        if len(area) != layout.area_size:
            raise AdminRefused(f"attach: metadata area is {len(area)} bytes, layout says {layout.area_size}")
        read = read_superblock(area[layout.superblock_at : layout.superblock_at + 1024])
        sb = read.superblock
        problems = sb.fits(layout)
        if problems:
            raise MetadataError("; ".join(problems))
        size = layout.data_bytes(backing, self.settings.size_bytes) // BLOCK_SIZE * BLOCK_SIZE
        if sb.la_size_sect and sb.la_size_sect * 512 > size:
            raise MetadataError(f"the device shrank: {size} bytes, meta data says {sb.la_size_sect * 512}")
        try:
            al = ActivityLog(self.settings.al_extents, layout.al)
        except ValueError as exc:
            raise AdminRefused(f"attach: {exc}") from None
        decision = attach_decision(sb, self.settings.fencing, primary_now=self.state.role is Role.PRIMARY)
        self.negotiating_disk = decision.disk
        nbytes = bitmap_bytes(bits_for_size(size))
        bitmap = QuickSyncBitmap(size, area[layout.bitmap_at : layout.bitmap_at + nbytes])
        if decision.full_sync:
            bitmap.set_all()
        if decision.apply_al:
            ring = [
                area[layout.al_at + i * 4096 : layout.al_at + (i + 1) * 4096]
                for i in range(layout.al.ring_blocks)
            ]
            replayed = replay(ring, layout.al)
            added = bitmap.mark_extents(replayed.hot_extents)
            self.ctx.emit(NoticeLogged(f"Marked additional {added * 4} KB as out-of-sync based on AL."))
            if replayed.last_tr_number is not None:
                al = ActivityLog(
                    self.settings.al_extents, layout.al, next_tr_number=replayed.last_tr_number + 1
                )
        self.layout = layout
        self.backing_bytes = backing
        self._data_size = size
        self._bitmap = bitmap
        self._al = al
        self.ids = sb.uuids.with_role(self.state.role is Role.PRIMARY)
        self.crashed_primary = decision.crashed_primary
        store = SuperblockStore.from_read(layout, read)
        self.md = MetadataPersistence(
            self.ctx, layout=layout, store=store, bitmap=bitmap, al=al, on_error=self._metadata_failed
        )
        self.md.on_al_progress(self.writes.activity_log_advanced)
        self.set_state(replace(self.state, disk=DiskState.ATTACHING), hard=True)

        def attached() -> None:
            if self.md is None:
                return
            connected = self.link.established and self.state.conn >= ConnState.CONNECTED
            disk = DiskState.NEGOTIATING if connected else decision.disk
            self.negotiating_disk = decision.disk
            pdsk = self.state.pdsk if self.link.established else decision.pdsk
            if self.link.established:
                # The peer may have decided on our reports of a disk still attaching: report
                # again, sizes and ids before the State that makes it decide anew (late attach).
                self.send_sizes()
                self.send_uuids()
            before = self.state
            self.set_state(replace(self.state, disk=disk, pdsk=pdsk), hard=True)
            if self.link.established and before.disk is self.state.disk:
                self.send_state()
            then()

        def write_superblock() -> None:
            self.persist_superblock(attached)

        def al_reset(error: int) -> None:
            if error:
                self._metadata_failed(error, "activity log reset")
            elif self.md is not None:
                self.md.write_whole_bitmap(write_superblock)

        if decision.apply_al:
            self.ctx.write_metadata(layout.al_at, initialized_block() * layout.al.ring_blocks, al_reset)
        else:
            write_superblock()

    def _metadata_failed(self, error: int, what: str) -> None:
        self.ctx.emit(NoticeLogged(f"Meta data I/O failed in {what} (errno {error})", Level.ERROR))
        self.disk_failed()

    def do_detach(self, then: Done) -> None:
        if self.md is None:
            then()
            return
        self._validate(replace(self.state, disk=DiskState.DISKLESS))
        self.detaching = True
        self._detach_waiting.append(then)
        self.check_detach()

    def check_detach(self) -> None:
        """Finish a detach once no data I/O is in flight: write the bitmap, mark the superblock clean."""
        if not self.detaching or self.ctx.gate.running or self.ctx.gate.waiting:
            return
        md = self.md
        waiting, self._detach_waiting = self._detach_waiting, []
        self.detaching = False
        if md is None:
            for then in waiting:
                then()
            return

        def gone() -> None:
            if self.md is md:
                self.md = None
                self._bitmap = None
                self._al = None
                self.set_state(replace(self.state, disk=DiskState.DISKLESS), hard=True)
            for then in waiting:
                then()

        clean = replace(self.superblock_now(), clean=True)
        clean = replace(clean, flags=clean.flags | MdFlags.AL_CLEAN)
        md.flush_then_write_bitmap(lambda: md.persist_superblock(clean, gone))

    # ---- connection ----

    def do_connect(self, discard_my_data: bool) -> None:
        if self.state.conn is not ConnState.STANDALONE:
            raise AdminRefused(f"connect: already {self.state.conn.text}")
        self.discard_my_data = discard_my_data
        self.set_state(replace(self.state, conn=ConnState.UNCONNECTED), hard=False)
        self.link.connect(self.ctx.now_ns, self.ctx.out)
        self.follow_link()

    def do_disconnect(self) -> None:
        if self.state.conn is ConnState.STANDALONE:
            return
        self.link.disconnect(self.ctx.out)
        self.connection_gone()
        self.follow_link()
        self.after_connection_gone()

    def after_connection_gone(self) -> None:
        requests, self._state_requests = self._state_requests, {}
        for change in requests.values():
            if change.kind == "primary":
                try:
                    self._validate(self._promotion_target(change.force))
                except StateChangeRefused as exc:
                    self._completer(change.cmd_id, str(exc))()
                    continue
                self.apply_promotion(change.cmd_id, change.force)
            else:
                self._completer(change.cmd_id, "connection lost")()

    # ---- roles ----

    def _promotion_target(self, force: bool) -> ReplicaState:
        disk = self.state.disk
        if force and self.attached and DiskState.INCONSISTENT <= disk < DiskState.UP_TO_DATE:
            disk = DiskState.UP_TO_DATE
        return replace(self.state, role=Role.PRIMARY, disk=disk)

    def do_primary(self, cmd_id: int, force: bool) -> None:
        if self.state.role is Role.PRIMARY:
            self._completer(cmd_id)()
            return
        if any(c.kind == "primary" for c in self._state_requests.values()):
            raise StateChangeRefused(StateRejection.CONCURRENT_ST_CHG, self.state, self.state)
        wanted = self._promotion_target(force)
        if self.peer.promotion_granted:
            raise StateChangeRefused(StateRejection.TWO_PRIMARIES, self.state, wanted)
        self._validate(wanted)
        if self.link.established and self.state.conn >= ConnState.CONNECTED:
            self._ask_peer("primary", cmd_id, force)
        else:
            self.apply_promotion(cmd_id, force)

    def _ask_peer(self, kind: str, cmd_id: int, force: bool = False) -> None:
        req = self._next_state_request
        self._next_state_request += 1
        self._state_requests[req] = _PendingChange(kind, cmd_id, force)
        self.ctx.send(cm.StateChangeRequest(req, kind))

    def apply_promotion(self, cmd_id: int, force: bool) -> None:
        before = self.state
        wanted = self._promotion_target(force)
        forced = wanted.disk is not before.disk
        if self.md is not None:
            self.ids = on_promote(self.ids, before, self.entropy, forced=forced)
        self.discard_my_data = False
        if self.peer.state_received and self.link.established:
            self.send_uuids()  # before the State that shows the change: the peer decides on both
        if forced:
            self.ctx.emit(NoticeLogged("Forced to consider local data as UpToDate!", Level.WARNING))
            self.set_state(replace(self.state, disk=DiskState.UP_TO_DATE), hard=True)
        self.hold()
        self.set_state(replace(self.state, role=Role.PRIMARY), hard=False)
        done = self._completer(cmd_id)

        def persisted() -> None:
            self.unhold()
            done()

        self.persist_superblock(persisted)

    def do_secondary(self, then: Done) -> None:
        if self.state.role is Role.SECONDARY:
            then()
            return
        self.set_state(replace(self.state, role=Role.SECONDARY), hard=False)
        self.ids = on_demote(self.ids)
        self.tell_uuids()
        self.writes.fail_everything(30)  # EROFS: held requests can no longer be served
        self.persist_superblock(then)

    def on_state_change_request(self, msg: cm.StateChangeRequest) -> None:
        refusal = ""
        match msg.change:
            case "primary":
                mine = any(c.kind == "primary" for c in self._state_requests.values())
                if self.state.role is Role.PRIMARY and not self.settings.allow_two_primaries:
                    refusal = "SS_TWO_PRIMARIES"
                elif mine and self.settings.resolves_conflicts:
                    refusal = "SS_CONCURRENT_ST_CHG"
                else:
                    self.peer.promotion_granted = True
            case "verify":
                if self.state.conn is not ConnState.CONNECTED or self.state.disk is not DiskState.UP_TO_DATE:
                    refusal = "SS_RESYNC_RUNNING"
                elif self.settings.verify_alg is None:
                    refusal = "SS_NO_VERIFY_ALG"
                else:
                    self.set_state(replace(self.state, conn=ConnState.VERIFY_T), hard=True)
                    self.verify_target = VerifyTarget(self.ctx, self, self.settings.verify_alg)
            case _:
                raise RemoteProtocolError(f"StateChangeRequest for unknown change {msg.change!r}")
        self.ctx.send(cm.StateChangeReply(msg.req_id, refusal))

    def on_state_change_reply(self, msg: cm.StateChangeReply) -> None:
        change = self._state_requests.pop(msg.req_id, None)
        if change is None:
            raise RemoteProtocolError(f"StateChangeReply for unknown request {msg.req_id}")
        if msg.refusal:
            text = f"State change failed: refused by peer ({msg.refusal})"
            self._completer(change.cmd_id, text)()
            return
        if change.kind == "primary":
            try:
                self._validate(self._promotion_target(change.force))
            except StateChangeRefused as exc:
                self._completer(change.cmd_id, str(exc))()
                return
            self.apply_promotion(change.cmd_id, change.force)
        elif self.state.conn is ConnState.CONNECTED and self.settings.verify_alg is not None:
            self.set_state(replace(self.state, conn=ConnState.VERIFY_S), hard=True)
            controller = ResyncController(ControllerParams.from_settings(self.settings))
            self.verify_source = VerifySource(self.ctx, self, controller, self.settings.verify_alg)
            self.verify_source.tick()
            self._completer(change.cmd_id)()
        else:
            self._completer(change.cmd_id, "verify: no longer Connected")()

    # ---- sync verbs ----

    def do_invalidate(self, then: Done) -> None:
        if self.md is None or self._bitmap is None:
            raise StateChangeRefused(StateRejection.IS_DISKLESS, self.state, self.state)
        if self.state.role is Role.PRIMARY:
            raise AdminRefused("invalidate: not supported on a Primary (demote first)")
        if self.state.conn > ConnState.CONNECTED:
            raise StateChangeRefused(StateRejection.RESYNC_RUNNING, self.state, self.state)
        if self.state.conn is ConnState.CONNECTED:
            if self.state.pdsk is not DiskState.UP_TO_DATE:
                raise StateChangeRefused(StateRejection.NO_UP_TO_DATE_DISK, self.state, self.state)
            self._bitmap.set_all()
            self.ctx.send(cm.StartFullSync(sender_is_source=False))
            self.begin_bitmap_exchange(False, full=True)
            then()
            return
        self.set_state(replace(self.state, disk=DiskState.INCONSISTENT), hard=True)
        self._bitmap.set_all()
        md = self.md
        md.write_whole_bitmap(lambda: self.persist_superblock(then))

    def do_invalidate_remote(self) -> None:
        if self.state.conn is not ConnState.CONNECTED or self._bitmap is None:
            raise StateChangeRefused(StateRejection.NEED_CONNECTION, self.state, self.state)
        if self.state.disk is not DiskState.UP_TO_DATE:
            raise StateChangeRefused(StateRejection.NO_UP_TO_DATE_DISK, self.state, self.state)
        if self.peer.role is Role.PRIMARY:
            raise AdminRefused("invalidate-remote: the peer is Primary")
        self._bitmap.set_all()
        self.ctx.send(cm.StartFullSync(sender_is_source=True))
        self.begin_bitmap_exchange(True, full=True)

    def do_verify(self, cmd_id: int) -> None:
        if self.settings.verify_alg is None:
            raise StateChangeRefused(StateRejection.NO_VERIFY_ALG, self.state, self.state)
        if self.state.conn is not ConnState.CONNECTED:
            rejection = StateRejection.NEED_CONNECTION
            if self.state.conn > ConnState.CONNECTED:
                rejection = StateRejection.RESYNC_RUNNING
            raise StateChangeRefused(rejection, self.state, self.state)
        if self.state.disk is not DiskState.UP_TO_DATE or self.state.pdsk is not DiskState.UP_TO_DATE:
            raise StateChangeRefused(StateRejection.NO_UP_TO_DATE_DISK, self.state, self.state)
        self._ask_peer("verify", cmd_id)

    def do_new_current_uuid(self, clear_bitmap: bool, then: Done) -> None:
        md, bitmap = self.md, self._bitmap
        if md is None or bitmap is None:
            raise StateChangeRefused(StateRejection.IS_DISKLESS, self.state, self.state)
        primary = self.state.role is Role.PRIMARY
        skip = clear_bitmap and may_skip_initial_sync(self.ids, self.state.conn)
        self.ids = on_new_current_uuid(self.ids, self.entropy, primary=primary, skip_initial_sync=skip)
        if clear_bitmap:
            bitmap.clear_all()
        if self.link.established and self.peer.state_received:
            self.send_uuids(UuidFlags.SKIP_INITIAL_SYNC if skip else UuidFlags.NONE)
        if skip:
            self.ctx.emit(NoticeLogged("Skipping the initial sync: both copies declared UpToDate"))
            self.set_state(replace(self.state, disk=DiskState.UP_TO_DATE), hard=True)
        md.write_whole_bitmap(lambda: self.persist_superblock(then))
