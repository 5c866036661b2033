"""`drbdadm status`, /proc/drbd and `--json` output from a status snapshot."""

from __future__ import annotations

import json
from dataclasses import replace

from hapair.core.volume.states import ConnState, DiskState, ReplicaState, Role
from hapair.core.volume.status_text import (
    DeviceCounters,
    ResyncProgress,
    SyncMarks,
    VolumeStatus,
    adm_status,
    per_mil_done,
    proc_drbd_text,
    progress_lines,
    status_json,
    status_json_text,
    status_text,
)

S = 1_000_000_000
GIB = 1 << 30
C, D, R = ConnState, DiskState, Role
SYNC_SOURCE = ReplicaState(R.PRIMARY, R.SECONDARY, C.SYNC_SOURCE, D.UP_TO_DATE, D.INCONSISTENT)
RESYNC = ResyncProgress(
    total_bits=262144, left_bits=205728, start_ns=0, window_ns=100 * S, window_left_bits=230000,
    recent_ns=115 * S, recent_left_bits=210000, want_kib=102400,
)  # fmt: skip


def snap(
    state: ReplicaState = SYNC_SOURCE,
    *,
    resync: ResyncProgress | None = RESYNC,
    out_of_sync_bits: int = 205728,
    now_ns: int = 118 * S,
    protocol: str | None = "C",
    counters: DeviceCounters | None = None,
) -> VolumeStatus:
    return VolumeStatus(
        "r0", "peer", state, now_ns=now_ns, size_bytes=GIB, out_of_sync_bits=out_of_sync_bits, resync=resync,
        protocol=protocol, counters=counters or DeviceCounters(),
    )  # fmt: skip


def test_runbook_example_exactly() -> None:
    assert status_text(snap()) == (
        "r0 role:Primary\n"
        "  disk:UpToDate\n"
        "  peer role:Secondary\n"
        "    replication:SyncSource peer-disk:Inconsistent done:21.52\n"
    )


def test_connected_and_in_sync() -> None:
    state = ReplicaState(R.SECONDARY, R.PRIMARY, C.CONNECTED, D.UP_TO_DATE, D.UP_TO_DATE)
    assert status_text(snap(state, resync=None, out_of_sync_bits=0)) == (
        "r0 role:Secondary\n  disk:UpToDate\n  peer role:Primary\n    peer-disk:UpToDate\n"
    )


def test_disconnected_shows_the_connection_state_only() -> None:
    state = ReplicaState(R.PRIMARY, R.UNKNOWN, C.CONNECTING, D.UP_TO_DATE, D.DUNKNOWN)
    assert status_text(snap(state, resync=None)) == (
        "r0 role:Primary\n  disk:UpToDate\n  peer connection:Connecting\n"
    )
    alone = replace(state, conn=C.STANDALONE, susp_fen=True, susp=True)
    assert status_text(snap(alone, resync=None)) == (
        "r0 role:Primary suspended:user,fencing\n  disk:UpToDate\n  peer connection:StandAlone\n"
    )
    assert status_text(snap(alone, resync=None, protocol=None)) == (
        "r0 role:Primary suspended:user,fencing\n  disk:UpToDate\n"
    )


def test_diskless_and_paused_resync() -> None:
    state = ReplicaState(R.SECONDARY, R.PRIMARY, C.PAUSED_SYNC_T, D.INCONSISTENT, D.UP_TO_DATE, user_isp=True)
    text = status_text(snap(state))
    assert text.splitlines()[-1] == (
        "    replication:PausedSyncT peer-disk:UpToDate done:21.52 resync-suspended:user"
    )
    diskless = ReplicaState(R.SECONDARY, R.UNKNOWN, C.STANDALONE, D.DISKLESS, D.DUNKNOWN)
    assert "  disk:Diskless client:no\n" in status_text(snap(diskless, resync=None))


def test_verbose_layout_and_wrapping() -> None:
    text = status_text(snap(), verbose=True)
    assert text.splitlines() == [
        "r0 node-id:0 role:Primary suspended:no",
        "  volume:0 minor:0 disk:UpToDate quorum:yes blocked:no",
        "  peer node-id:1 connection:Connected role:Secondary congested:no ap-in-flight:0",
        "      rs-in-flight:0",
        "    volume:0 replication:SyncSource peer-disk:Inconsistent done:21.52",
        "        resync-suspended:no",
    ]
    assert all(len(line) <= 80 for line in text.splitlines())
    wide = status_text(snap(), verbose=True, columns=200)
    assert "ap-in-flight:0 rs-in-flight:0" in wide


def test_statistics() -> None:
    counters = DeviceCounters(disk_read_kib=5, disk_written_kib=7, net_sent_kib=11, net_received_kib=13)
    text = status_text(snap(counters=counters), statistics=True)
    assert "      read:5 written:7\n" in text
    assert "        received:13 sent:11 out-of-sync:822912\n" in text


def test_progress_bar_percent_and_speed_like_proc_drbd() -> None:
    first, second = progress_lines(snap())
    assert first == "\t[===>................] sync'ed: 22.2% (822912/1048576)K"
    assert second == "\tfinish: 0:02:32 speed: 5,392 (1,912) K/sec"
    target = replace(SYNC_SOURCE, role=R.SECONDARY, peer=R.PRIMARY, conn=C.SYNC_TARGET, disk=D.INCONSISTENT,
                     pdsk=D.UP_TO_DATE)  # fmt: skip
    assert progress_lines(snap(target))[1].endswith(" want: 102,400 K/sec")


def test_progress_bar_extremes_units_and_stall() -> None:
    done = snap(out_of_sync_bits=0)
    assert progress_lines(done)[0] == "\t[===================>] sync'ed:100.0% (0/1048576)K"
    start = snap(out_of_sync_bits=262144)
    # DRBD's +1 against division by zero: a resync that has not started shows 0.4%.
    assert progress_lines(start)[0] == "\t[>....................] sync'ed:  0.4% (1048576/1048576)K"
    big = ResyncProgress(
        total_bits=2 << 20, left_bits=1 << 20, start_ns=0, window_ns=0, window_left_bits=2 << 20
    )
    line = progress_lines(snap(resync=big, out_of_sync_bits=1 << 20, now_ns=400 * S))
    assert line[0].endswith("(4096/8192)M")
    assert line[1].endswith(" K/sec (stalled)")
    verify = replace(SYNC_SOURCE, conn=C.VERIFY_S, pdsk=D.UP_TO_DATE)
    assert "] verified: 22.2% " in progress_lines(snap(verify))[0]
    assert progress_lines(snap(resync=None)) == []


def test_per_mil_done_edges() -> None:
    assert per_mil_done(0, 0) == 1000
    assert per_mil_done(10, 20) == 0 and per_mil_done(0, 5) == 1000
    assert per_mil_done(1 << 33, 1 << 32) == 501  # shifted by 16 above 2**32 bits


def test_proc_drbd_block() -> None:
    counters = DeviceCounters(
        net_sent_kib=1, net_received_kib=2, disk_written_kib=3, disk_read_kib=656, al_writes=4, bm_writes=5,
        local_pending=6, peer_pending=7, unacked=8, app_pending=9, epochs=1,
    )  # fmt: skip
    text = proc_drbd_text(snap(counters=counters))
    assert text.splitlines()[:2] == [
        " 0: cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent C r-----",
        "    ns:1 nr:2 dw:3 dr:656 al:4 bm:5 lo:6 pe:7 ua:8 ap:9 ep:1 wo:f oos:822912",
    ]
    waiting = ReplicaState(
        R.PRIMARY, R.UNKNOWN, C.CONNECTING, D.UP_TO_DATE, D.DUNKNOWN, user_isp=True, susp=True
    )
    assert proc_drbd_text(snap(waiting, resync=None)).startswith(
        " 0: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C s--u--\n"
    )
    assert proc_drbd_text(snap(ReplicaState(), resync=None)) == " 0: cs:Unconfigured\n"


def test_adm_status_verbose_adds_proc_counters_and_progress() -> None:
    plain = adm_status(snap())
    assert plain == status_text(snap())
    verbose = adm_status(snap(), verbose=True)
    assert verbose.startswith("r0 node-id:0 role:Primary")
    assert "    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:822912\n" in verbose
    assert "\tfinish: " in verbose


def test_json_shape_follows_drbdsetup() -> None:
    data = status_json(snap())
    assert json.loads(status_json_text(snap())) == data
    (resource,) = data
    assert (resource["name"], resource["role"], resource["suspended"]) == ("r0", "Primary", False)
    devices = resource["devices"]
    assert isinstance(devices, list) and devices[0]["disk-state"] == "UpToDate"
    connections = resource["connections"]
    assert isinstance(connections, list)
    (conn,) = connections
    assert (conn["name"], conn["connection-state"], conn["peer-role"]) == ("peer", "Connected", "Secondary")
    (peer,) = conn["peer_devices"]
    assert peer["replication-state"] == "SyncSource" and peer["peer-disk-state"] == "Inconsistent"
    assert peer["percent-resync-done"] == 21.52 and peer["has-sync-details"] is True
    assert peer["out-of-sync"] == 822912 and peer["rs-total"] == 262144 * 8
    idle = status_json(snap(ReplicaState(R.SECONDARY, R.UNKNOWN, C.CONNECTING, D.UP_TO_DATE), resync=None))
    idle_connections = idle[0]["connections"]
    assert isinstance(idle_connections, list) and idle_connections[0]["peer_devices"] == []


def test_sync_marks_roll_every_three_seconds() -> None:
    marks = SyncMarks(0, 1000)
    for t in range(1, 40):
        marks.advance(t * S, 1000 - 10 * t)
    assert marks.recent() == (36 * S, 640)
    assert marks.window() == (21 * S, 790)  # 18 s before the newest mark
    marks.advance(45 * S, 500, paused=True)
    assert marks.recent() == (36 * S, 640)
    marks.advance(48 * S, 610)  # no progress since the last mark: no new mark
    assert marks.recent() == (36 * S, 640)
    marks.advance(50 * S, 600)
    assert marks.recent() == (39 * S, 610)
