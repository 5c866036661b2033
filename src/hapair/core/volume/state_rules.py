"""The pure parts of DRBD 8.4's `drbd_state.c`: which states and which changes are allowed.

`is_valid_state` (checked on the new state), `is_valid_soft_transition` (operator requests only),
`is_valid_transition` (every change, even forced ones), `sanitize_state` (the changes a change
implies, e.g. a lost connection makes the peer's role Unknown) and `describe_state_change` (the
kernel's log line). `check_state_change` combines them the way `__drbd_set_state` does. Refusals
carry DRBD's SS_* code and message, so `hapair adm` can print `State change failed: (-2) Need
access to UpToDate data` exactly as drbdsetup does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from hapair.core.volume.states import (
    ConnState,
    DiskState,
    FencingPolicy,
    OnNoDataAccessible,
    ReplicaState,
    Role,
)
from hapair.errors import LocalProtocolError


class StateRejection(enum.Enum):
    """DRBD's SS_* refusal codes (`enum drbd_state_rv`) with drbd_strings.c's messages."""

    TWO_PRIMARIES = -1
    NO_UP_TO_DATE_DISK = -2
    NO_LOCAL_DISK = -4
    NO_REMOTE_DISK = -5
    CONNECTED_OUTDATES = -6
    PRIMARY_NOP = -7
    RESYNC_RUNNING = -8
    ALREADY_STANDALONE = -9
    CW_FAILED_BY_PEER = -10
    IS_DISKLESS = -11
    DEVICE_IN_USE = -12
    NO_NET_CONFIG = -13
    NO_VERIFY_ALG = -14
    NEED_CONNECTION = -15
    LOWER_THAN_OUTDATED = -16
    NOT_SUPPORTED = -17
    IN_TRANSIENT_STATE = -18
    CONCURRENT_ST_CHG = -19
    OUTDATE_WO_CONN = -21

    @property
    def message(self) -> str:
        return _REJECTION_TEXT[self]


_REJECTION_TEXT = {
    StateRejection.TWO_PRIMARIES: "Multiple primaries not allowed by config",
    StateRejection.NO_UP_TO_DATE_DISK: "Need access to UpToDate data",
    StateRejection.NO_LOCAL_DISK: "Can not resync without local disk",
    StateRejection.NO_REMOTE_DISK: "Can not resync without remote disk",
    StateRejection.CONNECTED_OUTDATES: "Refusing to be Outdated while Connected",
    StateRejection.PRIMARY_NOP: "Refusing to be Primary while peer is not outdated",
    StateRejection.RESYNC_RUNNING: "Can not start OV/resync since it is already active",
    StateRejection.ALREADY_STANDALONE: "Can not disconnect a StandAlone device",
    StateRejection.CW_FAILED_BY_PEER: "State change was refused by peer node",
    StateRejection.IS_DISKLESS: "Device is diskless, the requested operation requires a disk",
    StateRejection.DEVICE_IN_USE: "Device is held open by someone",
    StateRejection.NO_NET_CONFIG: "Have no net/connection configuration",
    StateRejection.NO_VERIFY_ALG: "Need a verify algorithm to start online verify",
    StateRejection.NEED_CONNECTION: "Need a connection to start verify or resync",
    StateRejection.LOWER_THAN_OUTDATED: "Disk state is lower than outdated",
    StateRejection.NOT_SUPPORTED: "Peer does not support protocol",
    StateRejection.IN_TRANSIENT_STATE: "In transient state, retry after next state change",
    StateRejection.CONCURRENT_ST_CHG: "Concurrent state changes detected and aborted",
    StateRejection.OUTDATE_WO_CONN: "Need a connection for a graceful disconnect/outdate peer",
}


class StateChangeRefused(LocalProtocolError):
    """A requested state change breaks one of DRBD's rules; nothing changed."""

    def __init__(self, rejection: StateRejection, old: ReplicaState, wanted: ReplicaState) -> None:
        super().__init__(f"State change failed: ({rejection.value}) {rejection.message}")
        self.rejection = rejection
        self.old = old
        self.wanted = wanted


@dataclass(frozen=True, slots=True)
class StateRules:
    """The configuration and facts the validity rules consult besides the state itself."""

    allow_two_primaries: bool = False
    fencing: FencingPolicy = FencingPolicy.DONT_CARE
    on_no_data: OnNoDataAccessible = OnNoDataAccessible.IO_ERROR
    verify_alg_configured: bool = False
    has_net_config: bool = True
    device_open: bool = False


def is_valid_state(ns: ReplicaState, rules: StateRules) -> StateRejection | None:
    """8.4 `is_valid_state`: may a node be in state `ns` at all? First failing rule wins."""
    two_primaries = ns.role is Role.PRIMARY and ns.peer is Role.PRIMARY
    if rules.has_net_config and not rules.allow_two_primaries and two_primaries:
        return StateRejection.TWO_PRIMARIES
    if ns.role is Role.SECONDARY and rules.device_open:
        return StateRejection.DEVICE_IN_USE
    if ns.role is Role.PRIMARY and ns.conn < ConnState.CONNECTED and ns.disk < DiskState.UP_TO_DATE:
        return StateRejection.NO_UP_TO_DATE_DISK
    if (
        rules.fencing is not FencingPolicy.DONT_CARE
        and ns.role is Role.PRIMARY
        and ns.conn < ConnState.CONNECTED
        and ns.pdsk >= DiskState.DUNKNOWN
    ):
        return StateRejection.PRIMARY_NOP
    if ns.role is Role.PRIMARY and ns.disk <= DiskState.INCONSISTENT and ns.pdsk <= DiskState.INCONSISTENT:
        return StateRejection.NO_UP_TO_DATE_DISK
    if ns.conn > ConnState.CONNECTED and ns.disk < DiskState.INCONSISTENT:
        return StateRejection.NO_LOCAL_DISK
    if ns.conn > ConnState.CONNECTED and ns.pdsk < DiskState.INCONSISTENT:
        return StateRejection.NO_REMOTE_DISK
    if ns.conn > ConnState.CONNECTED and ns.disk < DiskState.UP_TO_DATE and ns.pdsk < DiskState.UP_TO_DATE:
        return StateRejection.NO_UP_TO_DATE_DISK
    if ns.conn in _OUTDATE_FORBIDDEN and ns.disk is DiskState.OUTDATED:
        return StateRejection.CONNECTED_OUTDATES
    if ns.conn.is_verify and not rules.verify_alg_configured:
        return StateRejection.NO_VERIFY_ALG
    if ns.role is Role.PRIMARY and ns.disk < DiskState.UP_TO_DATE and ns.pdsk < DiskState.UP_TO_DATE:
        return StateRejection.NO_UP_TO_DATE_DISK
    if ns.conn in (ConnState.STARTING_SYNC_S, ConnState.STARTING_SYNC_T) and ns.pdsk is DiskState.DUNKNOWN:
        return StateRejection.NEED_CONNECTION
    if ns.conn >= ConnState.CONNECTED and ns.pdsk is DiskState.DUNKNOWN:
        return StateRejection.CONNECTED_OUTDATES
    return None


_OUTDATE_FORBIDDEN = frozenset(
    {ConnState.CONNECTED, ConnState.WF_BITMAP_S, ConnState.SYNC_SOURCE, ConnState.PAUSED_SYNC_S}
)


def is_valid_soft_transition(
    os: ReplicaState, ns: ReplicaState, *, state_sent: bool = False
) -> StateRejection | None:
    """8.4 `is_valid_soft_transition`: may an operator move from `os` to `ns`? Last rule wins.

    `state_sent` is DRBD's STATE_SENT flag: while the connection handshake is under way only the
    connection state may change.
    """
    rv: StateRejection | None = None
    starting_sync = (ConnState.STARTING_SYNC_S, ConnState.STARTING_SYNC_T)
    if ns.conn in starting_sync and os.conn > ConnState.CONNECTED:
        rv = StateRejection.RESYNC_RUNNING
    if ns.conn is ConnState.DISCONNECTING and os.conn is ConnState.STANDALONE:
        rv = StateRejection.ALREADY_STANDALONE
    if ns.disk > DiskState.ATTACHING and os.disk is DiskState.DISKLESS:
        rv = StateRejection.IS_DISKLESS
    if ns.conn is ConnState.CONNECTING and os.conn < ConnState.UNCONNECTED:
        rv = StateRejection.NO_NET_CONFIG
    if ns.disk is DiskState.OUTDATED and os.disk < DiskState.OUTDATED and os.disk is not DiskState.ATTACHING:
        rv = StateRejection.LOWER_THAN_OUTDATED
    if ns.conn is ConnState.DISCONNECTING and os.conn is ConnState.UNCONNECTED:
        rv = StateRejection.IN_TRANSIENT_STATE
    if state_sent and not (
        (ns.conn is ConnState.WF_REPORT_PARAMS and os.conn is ConnState.CONNECTING)
        or (ns.conn >= ConnState.CONNECTED and os.conn is ConnState.WF_REPORT_PARAMS)
    ):
        rv = StateRejection.IN_TRANSIENT_STATE
    if ns.conn.is_verify and os.conn < ConnState.CONNECTED:
        rv = StateRejection.NEED_CONNECTION
    if ns.conn.is_verify and ns.conn is not os.conn and os.conn > ConnState.CONNECTED:
        rv = StateRejection.RESYNC_RUNNING
    if ns.conn in starting_sync and os.conn < ConnState.CONNECTED:
        rv = StateRejection.NEED_CONNECTION
    if ns.conn in (ConnState.SYNC_TARGET, ConnState.SYNC_SOURCE) and os.conn < ConnState.WF_REPORT_PARAMS:
        rv = StateRejection.NEED_CONNECTION
    if (
        ns.conn is ConnState.DISCONNECTING
        and ns.pdsk is DiskState.OUTDATED
        and os.conn < ConnState.CONNECTED
        and os.pdsk > DiskState.OUTDATED
    ):
        rv = StateRejection.OUTDATE_WO_CONN
    return rv


def is_valid_conn_transition(oc: ConnState, nc: ConnState) -> StateRejection | None:
    """8.4 `is_valid_conn_transition` (no change is fine)."""
    if oc is nc:
        return None
    if oc is ConnState.STANDALONE and nc is ConnState.DISCONNECTING:
        return StateRejection.ALREADY_STANDALONE
    if oc is ConnState.STANDALONE and nc is not ConnState.UNCONNECTED:
        return StateRejection.NEED_CONNECTION
    if oc < ConnState.WF_REPORT_PARAMS and nc >= ConnState.CONNECTED:
        return StateRejection.NEED_CONNECTION
    if oc.is_network_failure and nc not in (ConnState.UNCONNECTED, ConnState.DISCONNECTING):
        return StateRejection.IN_TRANSIENT_STATE
    if oc is ConnState.DISCONNECTING and nc is not ConnState.STANDALONE:
        return StateRejection.IN_TRANSIENT_STATE
    return None


def is_valid_transition(os: ReplicaState, ns: ReplicaState) -> StateRejection | None:
    """8.4 `is_valid_transition`: limits even on forced ("hard") changes."""
    rv = is_valid_conn_transition(os.conn, ns.conn)
    if ns.disk is DiskState.FAILED and os.disk is DiskState.DISKLESS:
        rv = StateRejection.IS_DISKLESS
    return rv


class SanitizeWarning(enum.Enum):
    ABORTED_ONLINE_VERIFY = "Online-verify aborted."
    ABORTED_RESYNC = "Resync aborted."
    CONNECTION_LOST_NEGOTIATING = "Connection lost while negotiating, no data!"
    IMPLICITLY_UPGRADED_DISK = "Implicitly upgraded disk"
    IMPLICITLY_UPGRADED_PDSK = "Implicitly upgraded pdsk"


# (disk_min, disk_max, pdsk_min, pdsk_max) per connection state, from 8.4 sanitize_state.
_D = DiskState
_DISK_BOUNDS: dict[ConnState, tuple[DiskState, DiskState, DiskState, DiskState]] = {
    ConnState.WF_BITMAP_T: (_D.INCONSISTENT, _D.OUTDATED, _D.UP_TO_DATE, _D.UP_TO_DATE),
    ConnState.PAUSED_SYNC_T: (_D.INCONSISTENT, _D.OUTDATED, _D.UP_TO_DATE, _D.UP_TO_DATE),
    ConnState.STARTING_SYNC_T: (_D.INCONSISTENT, _D.OUTDATED, _D.UP_TO_DATE, _D.UP_TO_DATE),
    ConnState.WF_SYNC_UUID: (_D.INCONSISTENT, _D.OUTDATED, _D.UP_TO_DATE, _D.UP_TO_DATE),
    ConnState.VERIFY_S: (_D.UP_TO_DATE, _D.UP_TO_DATE, _D.UP_TO_DATE, _D.UP_TO_DATE),
    ConnState.VERIFY_T: (_D.UP_TO_DATE, _D.UP_TO_DATE, _D.UP_TO_DATE, _D.UP_TO_DATE),
    ConnState.CONNECTED: (_D.DISKLESS, _D.UP_TO_DATE, _D.DISKLESS, _D.UP_TO_DATE),
    ConnState.WF_BITMAP_S: (_D.UP_TO_DATE, _D.UP_TO_DATE, _D.INCONSISTENT, _D.CONSISTENT),
    ConnState.PAUSED_SYNC_S: (_D.UP_TO_DATE, _D.UP_TO_DATE, _D.INCONSISTENT, _D.CONSISTENT),
    ConnState.STARTING_SYNC_S: (_D.UP_TO_DATE, _D.UP_TO_DATE, _D.INCONSISTENT, _D.CONSISTENT),
    ConnState.SYNC_TARGET: (_D.INCONSISTENT, _D.INCONSISTENT, _D.UP_TO_DATE, _D.UP_TO_DATE),
    ConnState.SYNC_SOURCE: (_D.UP_TO_DATE, _D.UP_TO_DATE, _D.INCONSISTENT, _D.INCONSISTENT),
}
_DEFAULT_BOUNDS = (_D.DISKLESS, _D.UP_TO_DATE, _D.INCONSISTENT, _D.DUNKNOWN)


def sanitize_state(
    os: ReplicaState,
    ns: ReplicaState,
    rules: StateRules,
    *,
    negotiation_fallback: tuple[DiskState, DiskState] | None = None,
) -> tuple[ReplicaState, SanitizeWarning | None]:
    """8.4 `sanitize_state`: add the changes `ns` implies and clamp disk states to the connection.

    `negotiation_fallback` is the (disk, pdsk) an attach that was still Negotiating falls back to
    when the connection drops and the data generation did not change meanwhile (DRBD's
    `new_state_tmp` when `ed_uuid` still matches); without it such a disk becomes Diskless.
    """
    warn: SanitizeWarning | None = None
    role, peer, conn, disk, pdsk = ns.role, ns.peer, ns.conn, ns.disk, ns.pdsk
    peer_isp, aftr_isp, susp_fen, susp_nod = ns.peer_isp, ns.aftr_isp, ns.susp_fen, ns.susp_nod

    if conn < ConnState.CONNECTED:
        peer_isp = False
        peer = Role.UNKNOWN
        if pdsk > DiskState.DUNKNOWN or pdsk < DiskState.INCONSISTENT:
            pdsk = DiskState.DUNKNOWN
    if conn is ConnState.STANDALONE and disk is DiskState.DISKLESS and role is Role.SECONDARY:
        aftr_isp = False
    if conn > ConnState.CONNECTED and (disk <= DiskState.FAILED or pdsk <= DiskState.FAILED):
        warn = SanitizeWarning.ABORTED_ONLINE_VERIFY if conn.is_verify else SanitizeWarning.ABORTED_RESYNC
        conn = ConnState.CONNECTED
    if conn < ConnState.CONNECTED and disk is DiskState.NEGOTIATING:
        if negotiation_fallback is not None:
            disk, pdsk = negotiation_fallback
        else:
            warn = SanitizeWarning.CONNECTION_LOST_NEGOTIATING
            disk, pdsk = DiskState.DISKLESS, DiskState.DUNKNOWN
    if conn >= ConnState.CONNECTED:
        if disk in (DiskState.CONSISTENT, DiskState.OUTDATED):
            disk = DiskState.UP_TO_DATE
        if pdsk in (DiskState.CONSISTENT, DiskState.OUTDATED):
            pdsk = DiskState.UP_TO_DATE

    disk_min, disk_max, pdsk_min, pdsk_max = _DISK_BOUNDS.get(conn, _DEFAULT_BOUNDS)
    disk = min(disk, disk_max)
    if disk < disk_min:
        warn = SanitizeWarning.IMPLICITLY_UPGRADED_DISK
        disk = disk_min
    pdsk = min(pdsk, pdsk_max)
    if pdsk < pdsk_min:
        warn = SanitizeWarning.IMPLICITLY_UPGRADED_PDSK
        pdsk = pdsk_min

    def headless_primary(role: Role, conn: ConnState, pdsk: DiskState) -> bool:
        return role is Role.PRIMARY and conn < ConnState.CONNECTED and pdsk > DiskState.OUTDATED

    if (
        rules.fencing is FencingPolicy.RESOURCE_AND_STONITH
        and headless_primary(role, conn, pdsk)
        and not headless_primary(os.role, os.conn, os.pdsk)
    ):
        susp_fen = True

    def no_data(role: Role, disk: DiskState, pdsk: DiskState) -> bool:
        return role is Role.PRIMARY and disk < DiskState.UP_TO_DATE and pdsk < DiskState.UP_TO_DATE

    if (
        rules.on_no_data is OnNoDataAccessible.SUSPEND_IO
        and no_data(role, disk, pdsk)
        and not no_data(os.role, os.disk, os.pdsk)
    ):
        susp_nod = True

    if aftr_isp or peer_isp or ns.user_isp:
        if conn is ConnState.SYNC_SOURCE:
            conn = ConnState.PAUSED_SYNC_S
        if conn is ConnState.SYNC_TARGET:
            conn = ConnState.PAUSED_SYNC_T
    else:
        if conn is ConnState.PAUSED_SYNC_S:
            conn = ConnState.SYNC_SOURCE
        if conn is ConnState.PAUSED_SYNC_T:
            conn = ConnState.SYNC_TARGET

    out = replace(
        ns,
        role=role,
        peer=peer,
        conn=conn,
        disk=disk,
        pdsk=pdsk,
        peer_isp=peer_isp,
        aftr_isp=aftr_isp,
        susp_fen=susp_fen,
        susp_nod=susp_nod,
    )
    return out, warn


def check_state_change(
    os: ReplicaState,
    ns: ReplicaState,
    rules: StateRules,
    *,
    hard: bool = False,
    state_sent: bool = False,
    negotiation_fallback: tuple[DiskState, DiskState] | None = None,
) -> tuple[ReplicaState, SanitizeWarning | None]:
    """Validate and complete a change the way 8.4's `__drbd_set_state` does.

    `hard` changes are facts imposed by the environment (a disk broke, the link died); operator
    requests are soft and must also pass `is_valid_state` and `is_valid_soft_transition`. Returns
    the sanitized new state or raises `StateChangeRefused` (and nothing changes).
    """
    sanitized, warn = sanitize_state(os, ns, rules, negotiation_fallback=negotiation_fallback)
    rv = is_valid_transition(os, sanitized)
    if rv is None and not hard:
        rv = is_valid_state(sanitized, rules)
        if rv is not None:
            # A change out of an already-invalid state with the same fault is let through.
            if is_valid_state(os, rules) is rv:
                rv = is_valid_soft_transition(os, sanitized, state_sent=state_sent)
        else:
            rv = is_valid_soft_transition(os, sanitized, state_sent=state_sent)
    if rv is not None:
        raise StateChangeRefused(rv, os, sanitized)
    return sanitized, warn


def describe_state_change(resource: str, os: ReplicaState, ns: ReplicaState) -> str | None:
    """The kernel log line for a change, e.g. `r0: conn( Connecting -> Connected ) pdsk( ... )`.

    Fields in DRBD's order (role, peer, conn, disk, pdsk, susp, then the resync-pause flags);
    None when nothing a log reader cares about changed.
    """
    parts: list[str] = []
    if ns.role is not os.role:
        parts.append(f"role( {os.role.text} -> {ns.role.text} )")
    if ns.peer is not os.peer:
        parts.append(f"peer( {os.peer.text} -> {ns.peer.text} )")
    if ns.conn is not os.conn:
        parts.append(f"conn( {os.conn.text} -> {ns.conn.text} )")
    if ns.disk is not os.disk:
        parts.append(f"disk( {os.disk.text} -> {ns.disk.text} )")
    if ns.pdsk is not os.pdsk:
        parts.append(f"pdsk( {os.pdsk.text} -> {ns.pdsk.text} )")
    if ns.suspended != os.suspended:
        parts.append(f"susp( {int(os.suspended)} -> {int(ns.suspended)} )")
    for name in ("aftr_isp", "peer_isp", "user_isp"):
        old, new = getattr(os, name), getattr(ns, name)
        if old != new:
            parts.append(f"{name}( {int(old)} -> {int(new)} )")
    if not parts:
        return None
    return f"{resource}: " + " ".join(parts)


def lost_contact_to_peer_data(old_pdsk: DiskState, new_pdsk: DiskState) -> bool:
    """8.4 after_state_ch's test: the peer's copy was usable before and is not any more."""

    def usable(d: DiskState) -> bool:
        return d >= DiskState.INCONSISTENT and d not in (DiskState.DUNKNOWN, DiskState.OUTDATED)

    return usable(old_pdsk) and not usable(new_pdsk)
