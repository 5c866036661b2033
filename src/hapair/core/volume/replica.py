"""`Replica`: one volume's replica core, the object the daemon's driver and the simulator run.

    replica = Replica(settings, entropy)
    effects = replica.admin(Up(cmd_id, layout, backing_bytes, md_area), now_ns)
    effects = replica.handle(BytesReceived(transport_id, data), now_ns)
    deadline = replica.next_deadline()      # feed TimerFired() at or after it
    snapshot = replica.status(now_ns)       # for status_text / proc_drbd_text / status_json

`handle` takes client requests, completions of the I/O it asked for, transport happenings and
timer expiry; `admin` takes drbdadm's verbs. Both return the effects to execute, in order. A
malformed or out-of-place message from the peer drops the connection (and nothing of it is
written); bad admin requests raise a typed error and change nothing.
"""

from __future__ import annotations

from typing import assert_never

from hapair.core.volume import control_messages as cm
from hapair.core.volume import messages as m
from hapair.core.volume.admin import AdminMixin
from hapair.core.volume.commands import AdminCommand
from hapair.core.volume.connection import LinkEstablished, LinkLost, Notice
from hapair.core.volume.effects import (
    BytesReceived,
    ClientFlush,
    ClientRead,
    ClientWrite,
    DialFailed,
    Effect,
    LocalFlushDone,
    LocalReadDone,
    LocalWriteDone,
    MetadataWriteDone,
    TimerFired,
    TransportDown,
    TransportUp,
)
from hapair.core.volume.replica_base import Entropy
from hapair.core.volume.resync import ResyncTarget
from hapair.core.volume.settings import VolumeSettings
from hapair.core.volume.states import ConnState
from hapair.core.volume.status_text import DeviceCounters, ResyncProgress, VolumeStatus
from hapair.errors import RemoteProtocolError

Input = (
    ClientWrite
    | ClientRead
    | ClientFlush
    | LocalWriteDone
    | LocalReadDone
    | LocalFlushDone
    | MetadataWriteDone
    | TransportUp
    | TransportDown
    | DialFailed
    | BytesReceived
    | TimerFired
)


class Replica(AdminMixin):
    """One replica of one volume (DRBD's device + its connection to the one peer)."""

    def __init__(self, settings: VolumeSettings, entropy: Entropy) -> None:
        super().__init__(settings, entropy)
        self._init_admin()

    # ---- entry points ----

    def admin(self, command: AdminCommand, now_ns: int) -> list[Effect]:
        """Run an admin verb; raises a typed error (and changes nothing) when it is refused."""
        self.ctx.begin(now_ns)
        try:
            self.run_admin(command)
        except BaseException:
            self.ctx.out.clear()
            raise
        self._settle()
        return self.ctx.take()

    def handle(self, item: Input, now_ns: int) -> list[Effect]:
        ctx = self.ctx
        ctx.begin(now_ns)
        match item:
            case ClientWrite(req_id, offset, data, fua):
                self.writes.client_write(req_id, offset, data, fua)
            case ClientRead(req_id, offset, length):
                self.writes.client_read(req_id, offset, length)
            case ClientFlush(req_id):
                self.writes.client_flush(req_id)
            case (
                LocalWriteDone(io_id, error) | LocalFlushDone(io_id, error) | MetadataWriteDone(io_id, error)
            ):
                ctx.io.complete(io_id, error)
            case LocalReadDone(io_id, data, error):
                ctx.io.complete(io_id, error, data)
            case TransportUp(transport_id, dialed):
                self.link.transport_up(transport_id, dialed, now_ns, ctx.out)
                self.follow_link()
            case TransportDown(transport_id, reason):
                self._notices(self.link.transport_down(transport_id, reason, now_ns, ctx.out))
            case DialFailed():
                self.link.dial_failed(now_ns, ctx.out)
            case BytesReceived(transport_id, data):
                self._notices(self.link.received(transport_id, data, now_ns, ctx.out))
            case TimerFired():
                self._on_timer()
            case _ as unreachable:
                assert_never(unreachable)
        self._settle()
        return ctx.take()

    def next_deadline(self) -> int | None:
        candidates = [self.link.next_deadline(self.oldest_pending_ns())]
        if self.resync_target is not None and not self.resync_target.finished:
            candidates.append(self.resync_target.next_tick_ns)
        if self.verify_source is not None and not self.verify_source.finished:
            candidates.append(self.verify_source.next_tick_ns)
        present = [c for c in candidates if c is not None]
        return min(present) if present else None

    def set_device_open(self, is_open: bool) -> None:
        """The shell reports whether a client holds the device (demotion is refused while open)."""
        self.device_open = is_open

    # ---- internals ----

    def oldest_pending_ns(self) -> int | None:
        times = [self.writes.oldest_pending_ns()]
        if self.resync_target is not None:
            times.append(self.resync_target.oldest_pending_ns())
        if self.verify_source is not None:
            times.append(self.verify_source.oldest_pending_ns())
        present = [t for t in times if t is not None]
        return min(present) if present else None

    def _settle(self) -> None:
        """Work that follows any input: finished runs, detach, idle epochs."""
        self.check_runs()
        self.check_detach()
        self.writes.idle_check()

    def _on_timer(self) -> None:
        now = self.ctx.now_ns
        self._notices(self.link.on_timer(now, self.oldest_pending_ns(), self.ctx.out))
        if self.resync_target is not None and now >= self.resync_target.next_tick_ns:
            self.resync_target.tick()
        if self.verify_source is not None and now >= self.verify_source.next_tick_ns:
            self.verify_source.tick()

    def _notices(self, notices: list[Notice]) -> None:
        for notice in notices:
            match notice:
                case LinkEstablished():
                    self.on_link_established(notice)
                case LinkLost():
                    self.on_link_lost(notice)
                case m.Message():
                    if not self.link.established:
                        return  # the link failed on an earlier message of this batch
                    try:
                        self._dispatch(notice)
                    except RemoteProtocolError as exc:
                        lost = self.link.fail(str(exc), self.ctx.now_ns, self.ctx.out)
                        self.on_link_lost(lost)
                        return

    def _dispatch(self, msg: m.Message) -> None:
        """Route one message from an established, authenticated peer."""
        conn = self.state.conn
        match msg:
            case m.Data():
                self._require(conn >= ConnState.CONNECTED, msg)
                self.applier.data_received(msg)
            case m.Barrier():
                self.applier.barrier_received(msg)
            case m.DataRequest():
                self.applier.read_requested(msg)
            case m.RecvAck() | m.WriteAck() | m.NegAck():
                self.writes.ack_received(msg)
            case m.BarrierAck():
                self.writes.barrier_ack_received(msg)
            case m.DataReply() | m.NegDataReply():
                self.writes.read_reply_received(msg)
            case m.ResyncRequest() | m.CsumResyncRequest():
                self._require(self.resync_source is not None, msg)
                assert self.resync_source is not None
                self.resync_source.request_received(msg)
            case m.ResyncWriteAck():
                if self.resync_source is not None:
                    self.resync_source.write_ack_received(msg)
                else:
                    self.mark_in_sync_local(msg.sector * m.SECTOR, msg.size)
            case m.ResyncDataReply():
                target = self._target(msg)
                target.data_received(msg)
            case m.ResyncIsInSync():
                self._target(msg).in_sync_received(msg)
            case m.NegResyncReply():
                self._target(msg).failure_received(msg)
            case m.VerifyRequest():
                self._require(self.verify_target is not None, msg)
                assert self.verify_target is not None
                self.verify_target.request_received(msg)
            case m.VerifyReply():
                self._require(self.verify_source is not None, msg)
                assert self.verify_source is not None
                self.verify_source.reply_received(msg)
            case m.VerifyResult():
                if self.verify_target is not None:
                    self.verify_target.result_received(msg)
            case m.OutOfSync():
                self.on_out_of_sync(msg)
            case cm.Sizes():
                self.on_sizes(msg)
            case cm.Uuids():
                self.on_uuids(msg)
            case cm.State():
                self.on_state(msg)
            case cm.SyncUuid():
                self.on_sync_uuid(msg)
            case cm.BitmapRuns():
                self.on_bitmap_runs(msg)
            case cm.StartFullSync():
                self.on_start_full_sync(msg)
            case cm.StateChangeRequest():
                self.on_state_change_request(msg)
            case cm.StateChangeReply():
                self.on_state_change_reply(msg)
            case cm.SyncParams():
                pass  # runtime changes of the peer's rate do not concern this side
            case _:
                raise RemoteProtocolError(f"unexpected {type(msg).__name__}")

    def _target(self, msg: m.Message) -> ResyncTarget:
        if self.resync_target is None:
            raise RemoteProtocolError(f"{type(msg).__name__} while not SyncTarget")
        return self.resync_target

    @staticmethod
    def _require(condition: bool, msg: m.Message) -> None:
        if not condition:
            raise RemoteProtocolError(f"{type(msg).__name__} is out of place now")

    # ---- status ----

    def status(self, now_ns: int) -> VolumeStatus:
        c = self.ctx.counters
        counters = DeviceCounters(
            net_sent_kib=c.net_sent_bytes // 1024,
            net_received_kib=c.net_received_bytes // 1024,
            disk_written_kib=c.disk_written_bytes // 1024,
            disk_read_kib=c.disk_read_bytes // 1024,
            al_writes=c.al_writes,
            bm_writes=c.bm_writes,
            local_pending=c.local_pending,
            peer_pending=c.peer_pending,
            unacked=c.unacked,
            app_pending=c.app_pending,
            epochs=c.epochs,
            write_ordering="flush" if self.settings.disk_flushes else "none",
        )
        return VolumeStatus(
            resource=self.settings.resource,
            peer_name=self.settings.peer_name,
            state=self.state,
            now_ns=now_ns,
            size_bytes=self.data_size,
            out_of_sync_bits=self.bitmap.weight if self.bitmap is not None else 0,
            protocol=self.settings.protocol.value,
            counters=counters,
            resync=self._progress(),
        )

    def _progress(self) -> ResyncProgress | None:
        run = self.resync_target or self.resync_source or self.verify_source or self.verify_target
        if run is None:
            return None
        p = run.progress
        left = self.bitmap.weight if self.bitmap is not None else 0
        if self.verify_source is not None:
            left = self.verify_source.left
        window_ns, window_left = p.marks.window()
        recent_ns, recent_left = p.marks.recent()
        return ResyncProgress(
            total_bits=p.total_blocks,
            left_bits=left,
            start_ns=p.started_ns,
            window_ns=window_ns,
            window_left_bits=window_left,
            recent_ns=recent_ns,
            recent_left_bits=recent_left,
            paused_ns=p.paused_ns,
            failed_bits=self.resync_target.failed_blocks if self.resync_target is not None else 0,
            same_csum_bits=p.equal_checksum_blocks,
        )
