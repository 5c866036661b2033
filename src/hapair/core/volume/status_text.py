"""Status output in the formats operators and their scripts already parse.

* `status_text`: `drbdadm status` / `drbdsetup status` (DRBD 9 layout, drbdsetup.c
  `resource_status`, `device_status`, `connection_status`, `peer_device_status`, including
  `--verbose` and `--statistics` and its 80-column wrapping).
* `proc_drbd_text`: DRBD 8.4's /proc/drbd block for one minor (`cs: ro: ds:` line, the counters
  `ns nr dw dr al bm lo pe ua ap ep wo oos`, and during resync/verify the progress bar, percent,
  left/total, finish ETA and speed lines), drbd_proc.c `drbd_seq_show` / `drbd_syncer_progress`.
* `status_json`: `drbdsetup status --json`.
* `adm_status`: what `hapair adm status [--verbose]` prints (the issue asks for /proc/drbd's
  counters and progress line under `--verbose`).

All are pure functions of a frozen `VolumeStatus` snapshot that the replica fills. `SyncMarks`
keeps DRBD's rolling progress marks (8 marks, 3 s apart) from which speeds and ETA come.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hapair.core.volume.states import ConnState, DiskState, ReplicaState, Role

NS_PER_S = 1_000_000_000
SYNC_MARKS = 8
SYNC_MARK_STEP_NS = 3 * NS_PER_S
STALLED_AFTER_S = 180
KIB_PER_BIT = 4
SECTORS_PER_BIT = 8


class SyncMarks:
    """DRBD's rolling resync marks: (time, bits left) every 3 s, eight of them.

    `window()` is the mark about 18 s old (drbd_proc's finish/speed estimate), `recent()` the one
    about 3 s old. A mark only advances while the resync makes progress and is not paused.
    """

    def __init__(self, now_ns: int, left_bits: int) -> None:
        self._marks = [(now_ns, left_bits)] * SYNC_MARKS
        self._last = 0

    def advance(self, now_ns: int, left_bits: int, *, paused: bool = False) -> None:
        t, left = self._marks[self._last]
        if now_ns - t >= SYNC_MARK_STEP_NS and left != left_bits and not paused:
            self._last = (self._last + 1) % SYNC_MARKS
            self._marks[self._last] = (now_ns, left_bits)

    def window(self) -> tuple[int, int]:
        return self._marks[(self._last + 2) % SYNC_MARKS]

    def recent(self) -> tuple[int, int]:
        return self._marks[(self._last + SYNC_MARKS - 1) % SYNC_MARKS]


@dataclass(frozen=True, slots=True)
class ResyncProgress:
    """A running resync or online verify. Counts are 4 KiB bitmap bits; times are ns.

    `left_bits` is what remains (for verify: blocks still to compare). `window_*` is the ~18 s
    old mark and `recent_*` the ~3 s old one (`SyncMarks`); `paused_ns` is the total time spent
    paused since `start_ns`. `want_kib` is the controller's current target rate (shown on a
    SyncTarget or VerifyS).
    """

    total_bits: int
    left_bits: int
    start_ns: int
    window_ns: int
    window_left_bits: int
    recent_ns: int = 0
    recent_left_bits: int = 0
    paused_ns: int = 0
    failed_bits: int = 0
    same_csum_bits: int = 0
    want_kib: int = 0
    position_bit: int = 0


@dataclass(frozen=True, slots=True)
class DeviceCounters:
    """/proc/drbd's counters (KiB for ns/nr/dw/dr, counts otherwise)."""

    net_sent_kib: int = 0
    net_received_kib: int = 0
    disk_written_kib: int = 0
    disk_read_kib: int = 0
    al_writes: int = 0
    bm_writes: int = 0
    local_pending: int = 0
    peer_pending: int = 0
    unacked: int = 0
    app_pending: int = 0
    epochs: int = 1
    write_ordering: str = "flush"
    upper_blocked: bool = False
    lower_blocked: bool = False
    al_suspended: bool = False
    ap_in_flight_sectors: int = 0
    rs_in_flight_sectors: int = 0
    congested: bool = False


_WO_CHAR = {"none": "n", "drain": "d", "flush": "f", "barrier": "b"}


@dataclass(frozen=True, slots=True)
class VolumeStatus:
    """Everything the status formats show for one resource with one volume and one peer."""

    resource: str
    peer_name: str
    state: ReplicaState
    now_ns: int
    size_bytes: int = 0
    out_of_sync_bits: int = 0
    protocol: str | None = "C"
    node_id: int = 0
    peer_node_id: int = 1
    minor: int = 0
    volume: int = 0
    counters: DeviceCounters = field(default_factory=DeviceCounters)
    resync: ResyncProgress | None = None


class _Wrapper:
    """drbd-utils `wrap_printf`: indent at line starts, wrap before `columns`."""

    def __init__(self, columns: int) -> None:
        self.columns = columns
        self.col = 0
        self.out: list[str] = []

    def __call__(self, indent: int, text: str) -> None:
        while text.startswith("\n"):
            self.out.append("\n")
            self.col = 0
            text = text[1:]
        if not text:
            return
        if self.col > 0 and self.col + len(text) > self.columns:
            self.out.append("\n")
            self.col = 0
        if self.col == 0:
            text = text.lstrip(" ")
            self.out.append(" " * indent)
            self.col = indent
        self.out.append(text)
        self.col += len(text)
        if text.endswith("\n"):
            self.col = 0

    def text(self) -> str:
        return "".join(self.out)


def _susp_text(s: ReplicaState) -> str:
    parts = [name for name, on in (("user", s.susp), ("no-data", s.susp_nod), ("fencing", s.susp_fen)) if on]
    return ",".join(parts) or "no"


def _resync_susp_text(s: ReplicaState) -> str:
    parts = [n for n, on in (("user", s.user_isp), ("peer", s.peer_isp), ("dependency", s.aftr_isp)) if on]
    return ",".join(parts) or "no"


def _sync_details(snap: VolumeStatus) -> tuple[int, int] | None:
    """(rs_total, sectors_to_go) in sectors when a resync/verify is running, else None."""
    rs = snap.resync
    if rs is None or rs.total_bits == 0:
        return None
    if snap.state.conn.is_verify:
        to_go = rs.left_bits
    else:
        to_go = max(0, snap.out_of_sync_bits - rs.failed_bits)
    return rs.total_bits * SECTORS_PER_BIT, to_go * SECTORS_PER_BIT


def _done_percent(snap: VolumeStatus) -> float | None:
    details = _sync_details(snap)
    if details is None:
        return None
    total, to_go = details
    return 100.0 * (total - to_go) / total


def status_text(
    snap: VolumeStatus, *, verbose: bool = False, statistics: bool = False, columns: int = 80
) -> str:
    """`drbdsetup status [--verbose] [--statistics]` for one resource."""
    w = _Wrapper(columns)
    s = snap.state
    w(0, snap.resource)
    if verbose:
        w(4, f" node-id:{snap.node_id}")
    w(4, f" role:{s.role.text}")
    if verbose or s.suspended:
        w(4, f" suspended:{_susp_text(s)}")
    if statistics and verbose:
        w(4, "\n")
        w(4, f" write-ordering:{snap.counters.write_ordering}")
    w(0, "\n")
    _device_lines(w, snap, verbose=verbose, statistics=statistics)
    _connection_lines(w, snap, verbose=verbose, statistics=statistics)
    return w.text()


def _device_lines(w: _Wrapper, snap: VolumeStatus, *, verbose: bool, statistics: bool) -> None:
    s, c = snap.state, snap.counters
    indent = 2
    if verbose or snap.volume != 0:
        w(indent, f"volume:{snap.volume}")
        indent = 6
        if verbose:
            w(indent, f" minor:{snap.minor}")
    w(indent, f" disk:{s.disk.text}")
    if s.disk is DiskState.DISKLESS:
        w(indent, " client:no")
    if verbose:
        w(indent, " quorum:yes")
    indent = 6
    if statistics:
        w(indent, "\n")
        if verbose:
            w(indent, f" size:{snap.size_bytes // 1024}")
        w(indent, f" read:{c.disk_read_kib}")
        w(indent, f" written:{c.disk_written_kib}")
        if verbose:
            w(indent, f" al-writes:{c.al_writes}")
            w(indent, f" bm-writes:{c.bm_writes}")
            w(indent, f" upper-pending:{c.app_pending}")
            w(indent, f" lower-pending:{c.local_pending}")
            w(indent, f" al-suspended:{'yes' if c.al_suspended else 'no'}")
    if verbose or c.upper_blocked or c.lower_blocked:
        blocked = ",".join(n for n, on in (("upper", c.upper_blocked), ("lower", c.lower_blocked)) if on)
        w(indent, f" blocked:{blocked or 'no'}")
    w(indent, "\n")


def _connection_lines(w: _Wrapper, snap: VolumeStatus, *, verbose: bool, statistics: bool) -> None:
    s, c = snap.state, snap.counters
    if s.conn is ConnState.STANDALONE and not snap.protocol:
        return  # no connection configured
    connected = s.conn >= ConnState.CONNECTED
    w(2, snap.peer_name)
    if verbose:
        w(6, f" node-id:{snap.peer_node_id}")
    if verbose or not connected:
        w(6, f" connection:{s.conn.connection_text}")
    if verbose or connected:
        w(6, f" role:{s.peer.text}")
    if verbose or c.congested:
        w(6, f" congested:{'yes' if c.congested else 'no'}")
        w(6, f" ap-in-flight:{c.ap_in_flight_sectors}")
        w(6, f" rs-in-flight:{c.rs_in_flight_sectors}")
    w(0, "\n")
    if verbose or statistics or connected:
        _peer_device_line(w, snap, verbose=verbose, statistics=statistics)


def _peer_device_line(w: _Wrapper, snap: VolumeStatus, *, verbose: bool, statistics: bool) -> None:
    s = snap.state
    indent = 4
    if verbose or snap.volume != 0:
        w(indent, f"volume:{snap.volume}")
        indent = 8
    if verbose or s.conn > ConnState.CONNECTED:
        w(indent, f" replication:{s.conn.replication_text}")
        indent = 8
    if verbose or statistics or s.conn >= ConnState.CONNECTED or s.pdsk is not DiskState.DUNKNOWN:
        w(indent, f" peer-disk:{s.pdsk.text}")
        if s.pdsk is DiskState.DISKLESS:
            w(indent, " peer-client:no")
        indent = 8
        done = _done_percent(snap)
        if done is not None:
            w(indent, f" done:{done:.2f}")
        if verbose or s.resync_paused:
            w(indent, f" resync-suspended:{_resync_susp_text(s)}")
        if statistics:
            w(indent, "\n")
            _peer_statistics(w, indent, snap, verbose=verbose)
    w(0, "\n")


def _peer_statistics(w: _Wrapper, indent: int, snap: VolumeStatus, *, verbose: bool) -> None:
    c = snap.counters
    w(indent, f" received:{c.net_received_kib}")
    w(indent, f" sent:{c.net_sent_kib}")
    if verbose or snap.out_of_sync_bits:
        w(indent, f" out-of-sync:{snap.out_of_sync_bits * KIB_PER_BIT}")
    if not verbose:
        return
    w(indent, f" pending:{c.peer_pending}")
    w(indent, f" unacked:{c.unacked}")
    details, rs = _sync_details(snap), snap.resync
    if details is None or rs is None:
        return
    db1, dt1_ms = _recent_rate(rs, snap.now_ns)
    w(indent, f" dbdt1:{db1 / max(dt1_ms, 1) * 1000.0 / 2048.0:.2f}")
    eta = dt1_ms * 1e-3 * details[1] / db1 if db1 > 0 else float("nan")
    w(indent, f" eta:{eta:.0f}")


def _recent_rate(rs: ResyncProgress, now_ns: int) -> tuple[int, int]:
    """(sectors done, ms elapsed) since the ~3 s old mark."""
    return (rs.recent_left_bits - rs.left_bits) * SECTORS_PER_BIT, (now_ns - rs.recent_ns) // 1_000_000


def _thousands(v: int) -> str:
    """drbd_proc's `seq_printf_with_thousands_grouping` (KiB/s with commas)."""
    if v >= 1_000_000:
        return f"{v // 1_000_000},{v % 1_000_000 // 1000:03d},{v % 1000:03d}"
    if v >= 1000:
        return f"{v // 1000},{v % 1000:03d}"
    return str(v)


def per_mil_done(total_bits: int, left_bits: int) -> int:
    """drbd_get_syncer_progress's permille (shifted so it never overflows, +1 against /0)."""
    if left_bits > total_bits:
        return 0 if total_bits else 1000
    shift = 16 if total_bits > 0xFFFFFFFF else 10
    return 1000 - (left_bits >> shift) * 1000 // (1 + (total_bits >> shift))


def progress_lines(snap: VolumeStatus) -> list[str]:
    """drbd_proc's two progress lines (bar, percent, left/total; finish, speed), tab-indented."""
    rs, s = snap.resync, snap.state
    if rs is None:
        return []
    left = rs.left_bits if s.conn.is_verify else max(0, snap.out_of_sync_bits - rs.failed_bits)
    left = min(left, rs.total_bits)
    res = per_mil_done(rs.total_bits, left)
    x = res // 50
    bar = "=" * max(0, x - 1) + ">" + "." * (20 - x)
    label = "verified:" if s.conn.is_verify else "sync'ed:"
    if rs.total_bits > (4 << 18):  # more than 4 GiB: show MiB
        amount = f"({(left >> 10) * KIB_PER_BIT}/{(rs.total_bits >> 10) * KIB_PER_BIT})M"
    else:
        amount = f"({left * KIB_PER_BIT}/{rs.total_bits * KIB_PER_BIT})K"
    first = f"\t[{bar}] {label}{res // 10:3d}.{res % 10}% {amount}"
    dt = (snap.now_ns - rs.window_ns) // NS_PER_S
    stalled = dt > STALLED_AFTER_S
    dt = max(dt, 1)
    db = rs.window_left_bits - left
    rt = (dt * (left // (db // 100 + 1))) // 100
    speed = max(0, db // dt) * KIB_PER_BIT
    avg_dt = max((snap.now_ns - rs.start_ns - rs.paused_ns) // NS_PER_S, 1)
    average = max(0, rs.total_bits - left) // avg_dt * KIB_PER_BIT
    finish = f"{rt // 3600}:{rt % 3600 // 60:02d}:{rt % 60:02d}"
    second = f"\tfinish: {finish} speed: {_thousands(speed)} ({_thousands(average)})"
    if s.conn in (ConnState.SYNC_TARGET, ConnState.VERIFY_S):
        second += f" want: {_thousands(rs.want_kib)}"
    second += " K/sec" + (" (stalled)" if stalled else "")
    return [first, second]


def proc_drbd_text(snap: VolumeStatus) -> str:
    """The /proc/drbd block for this minor (DRBD 8.4 words: `cs:WFConnection`)."""
    s, c = snap.state, snap.counters
    if s.conn is ConnState.STANDALONE and s.disk is DiskState.DISKLESS and s.role is Role.SECONDARY:
        return f"{snap.minor:2d}: cs:Unconfigured\n"
    flags = "".join(
        (
            "s" if s.suspended else "r",
            "a" if s.aftr_isp else "-",
            "p" if s.peer_isp else "-",
            "u" if s.user_isp else "-",
            "b" if c.lower_blocked else ("n" if c.congested else "-"),
            "s" if c.al_suspended else "-",
        )
    )
    proto = snap.protocol or " "
    lines = [
        f"{snap.minor:2d}: cs:{s.conn.proc_text} ro:{s.role.text}/{s.peer.text} "
        f"ds:{s.disk.text}/{s.pdsk.text} {proto} {flags}",
        f"    ns:{c.net_sent_kib} nr:{c.net_received_kib} dw:{c.disk_written_kib} dr:{c.disk_read_kib} "
        f"al:{c.al_writes} bm:{c.bm_writes} lo:{c.local_pending} pe:{c.peer_pending} ua:{c.unacked} "
        f"ap:{c.app_pending} ep:{c.epochs} wo:{_WO_CHAR.get(c.write_ordering, 'f')} "
        f"oos:{snap.out_of_sync_bits * KIB_PER_BIT}",
    ]
    if s.conn in (ConnState.SYNC_SOURCE, ConnState.SYNC_TARGET, ConnState.VERIFY_S, ConnState.VERIFY_T):
        lines += progress_lines(snap)
    return "\n".join(lines) + "\n"


def adm_status(snap: VolumeStatus, *, verbose: bool = False, columns: int = 80) -> str:
    """`hapair adm status [--verbose]`: drbdadm's layout; verbose adds /proc/drbd's block."""
    if not verbose:
        return status_text(snap, columns=columns)
    return status_text(snap, verbose=True, columns=columns) + proc_drbd_text(snap)


def status_json(snap: VolumeStatus) -> list[dict[str, object]]:
    """`drbdsetup status --json` as Python values (serialise with `json.dumps`)."""
    s, c = snap.state, snap.counters
    device: dict[str, object] = {
        "volume": snap.volume,
        "minor": snap.minor,
        "disk-state": s.disk.text,
        "client": False,
        "quorum": True,
        "size": snap.size_bytes // 1024,
        "read": c.disk_read_kib,
        "written": c.disk_written_kib,
        "al-writes": c.al_writes,
        "bm-writes": c.bm_writes,
        "upper-pending": c.app_pending,
        "lower-pending": c.local_pending,
    }
    size_sectors = snap.size_bytes // 512
    oos_sectors = snap.out_of_sync_bits * SECTORS_PER_BIT
    peer: dict[str, object] = {
        "volume": snap.volume,
        "replication-state": s.conn.replication_text,
        "peer-disk-state": s.pdsk.text,
        "peer-client": False,
        "resync-suspended": _resync_susp_text(s),
        "received": c.net_received_kib,
        "sent": c.net_sent_kib,
        "out-of-sync": snap.out_of_sync_bits * KIB_PER_BIT,
        "pending": c.peer_pending,
        "unacked": c.unacked,
    }
    details, rs = _sync_details(snap), snap.resync
    peer["has-sync-details"] = details is not None
    peer["has-online-verify-details"] = details is not None and s.conn.is_verify
    in_sync = 0.0 if size_sectors == 0 else 100 * (1 - oos_sectors / size_sectors)
    peer["percent-in-sync"] = round(in_sync, 2)
    if details is not None and rs is not None:
        total, to_go = details
        db1, dt1_ms = _recent_rate(rs, snap.now_ns)
        elapsed_ms = (snap.now_ns - rs.start_ns - rs.paused_ns) // 1_000_000
        peer.update(
            {
                "rs-total": total,
                "rs-dt-start-ms": (snap.now_ns - rs.start_ns) // 1_000_000,
                "rs-paused-ms": rs.paused_ns // 1_000_000,
                "rs-dt1-ms": dt1_ms,
                "rs-db1-sectors": db1,
                "rs-failed": rs.failed_bits * SECTORS_PER_BIT,
                "rs-same-csum": rs.same_csum_bits * SECTORS_PER_BIT,
                "want": round(rs.want_kib / 1024.0, 2),
                "db1/dt1 [MiB/s]": round(db1 / max(dt1_ms, 1) * 1000.0 / 2048.0, 2),
                "estimated-seconds-to-finish": round(dt1_ms * 1e-3 * to_go / db1) if db1 > 0 else 987654321,
                "db/dt [MiB/s]": round((total - to_go) / max(elapsed_ms, 1) * 1000.0 / 2048.0, 2),
                "percent-resync-done": round(100.0 * (total - to_go) / total, 2),
            }
        )
    connections: list[dict[str, object]] = []
    if snap.protocol:
        connections.append(
            {
                "peer-node-id": snap.peer_node_id,
                "name": snap.peer_name,
                "connection-state": s.conn.connection_text,
                "congested": c.congested,
                "peer-role": s.peer.text,
                "ap-in-flight": c.ap_in_flight_sectors,
                "rs-in-flight": c.rs_in_flight_sectors,
                "peer_devices": [peer]
                if s.conn >= ConnState.CONNECTED or s.pdsk is not DiskState.DUNKNOWN
                else [],
            }
        )
    return [
        {
            "name": snap.resource,
            "node-id": snap.node_id,
            "role": s.role.text,
            "suspended": s.suspended,
            "write-ordering": c.write_ordering,
            "devices": [device],
            "connections": connections,
        }
    ]


def status_json_text(snap: VolumeStatus) -> str:
    return json.dumps(status_json(snap), indent=2) + "\n"
