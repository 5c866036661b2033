"""States, their DRBD names and order, and 8.4's validity rules (drbd_state.c)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hapair.core.volume.state_rules import (
    SanitizeWarning,
    StateChangeRefused,
    StateRejection,
    StateRules,
    check_state_change,
    describe_state_change,
    is_valid_conn_transition,
    is_valid_soft_transition,
    is_valid_state,
    is_valid_transition,
    lost_contact_to_peer_data,
    sanitize_state,
)
from hapair.core.volume.states import (
    ConnState,
    DiskState,
    FencingPolicy,
    OnNoDataAccessible,
    ReplicaState,
    Role,
    parse_conn_state,
    parse_disk_state,
    parse_role,
)

C, D, R = ConnState, DiskState, Role
RULES = StateRules()
PRIMARY_CONNECTED = ReplicaState(Role.PRIMARY, Role.SECONDARY, C.CONNECTED, D.UP_TO_DATE, D.UP_TO_DATE)


def test_names_are_drbds_exactly() -> None:
    assert [r.text for r in Role] == ["Unknown", "Primary", "Secondary"]
    assert [d.text for d in DiskState] == [
        "Diskless", "Attaching", "Failed", "Negotiating", "Inconsistent",
        "Outdated", "DUnknown", "Consistent", "UpToDate",
    ]  # fmt: skip
    names = "StandAlone Connecting Connected SyncSource SyncTarget PausedSyncS PausedSyncT VerifyS VerifyT"
    for name in [*names.split(), "Disconnecting", "WFBitMapS", "WFReportParams"]:
        assert parse_conn_state(name).text == name


def test_numbers_and_order_follow_drbd_84() -> None:
    assert D.INCONSISTENT.value == 4 and D.UP_TO_DATE.value == 8 and D.DUNKNOWN.value == 6
    assert C.CONNECTED.value == 10 and C.SYNC_SOURCE.value == 16 and C.PAUSED_SYNC_T.value == 21
    assert D.OUTDATED < D.DUNKNOWN < D.CONSISTENT < D.UP_TO_DATE
    assert C.CONNECTING < C.WF_REPORT_PARAMS < C.CONNECTED < C.SYNC_SOURCE
    assert max(D.FAILED, D.OUTDATED) is D.OUTDATED
    assert Role.from_code(1) is Role.PRIMARY
    with pytest.raises(ValueError):
        DiskState.from_code(9)


def test_8_4_and_9_words_for_connection_states() -> None:
    assert C.CONNECTING.proc_text == "WFConnection"
    assert parse_conn_state("WFConnection") is C.CONNECTING
    assert C.WF_REPORT_PARAMS.connection_text == "Connecting"
    assert C.SYNC_TARGET.connection_text == "Connected"
    assert C.CONNECTED.replication_text == "Established"
    assert C.CONNECTING.replication_text == "Off"
    assert C.VERIFY_S.replication_text == "VerifyS"


@pytest.mark.parametrize("kind", [Role, DiskState, ConnState])
def test_every_member_has_a_name_that_parses_back(
    kind: type[Role] | type[DiskState] | type[ConnState],
) -> None:
    parse = {Role: parse_role, DiskState: parse_disk_state, ConnState: parse_conn_state}[kind]
    for member in kind:
        assert parse(member.text) is member
    with pytest.raises(ValueError):
        parse("Bogus")


def test_state_flags() -> None:
    s = ReplicaState(susp_fen=True, user_isp=True)
    assert s.suspended and s.resync_paused
    assert C.PAUSED_SYNC_S.is_sync and not C.VERIFY_S.is_sync and C.VERIFY_T.is_verify
    assert C.BROKEN_PIPE.is_network_failure and not C.UNCONNECTED.is_network_failure


# -- is_valid_state, one test per rule -----------------------------------------------------------


def test_two_primaries_refused_unless_allowed() -> None:
    both = replace(PRIMARY_CONNECTED, peer=R.PRIMARY)
    assert is_valid_state(both, RULES) is StateRejection.TWO_PRIMARIES
    assert is_valid_state(both, StateRules(allow_two_primaries=True)) is None
    assert is_valid_state(both, StateRules(has_net_config=False)) is None


def test_demote_refused_while_device_open() -> None:
    s = replace(PRIMARY_CONNECTED, role=R.SECONDARY)
    assert is_valid_state(s, StateRules(device_open=True)) is StateRejection.DEVICE_IN_USE


def test_disconnected_primary_needs_up_to_date_disk() -> None:
    s = ReplicaState(R.PRIMARY, R.UNKNOWN, C.CONNECTING, D.CONSISTENT, D.DUNKNOWN)
    assert is_valid_state(s, RULES) is StateRejection.NO_UP_TO_DATE_DISK
    assert is_valid_state(replace(s, disk=D.UP_TO_DATE), RULES) is None


def test_fencing_refuses_primary_while_peer_not_outdated() -> None:
    s = ReplicaState(R.PRIMARY, R.UNKNOWN, C.CONNECTING, D.UP_TO_DATE, D.DUNKNOWN)
    rules = StateRules(fencing=FencingPolicy.RESOURCE_ONLY)
    assert is_valid_state(s, rules) is StateRejection.PRIMARY_NOP
    assert is_valid_state(replace(s, pdsk=D.OUTDATED), rules) is None


def test_primary_refused_when_both_disks_inconsistent() -> None:
    s = ReplicaState(R.PRIMARY, R.SECONDARY, C.CONNECTED, D.INCONSISTENT, D.INCONSISTENT)
    assert is_valid_state(s, RULES) is StateRejection.NO_UP_TO_DATE_DISK


def test_resync_needs_both_disks() -> None:
    base = ReplicaState(R.SECONDARY, R.PRIMARY, C.SYNC_TARGET, D.INCONSISTENT, D.UP_TO_DATE)
    assert is_valid_state(base, RULES) is None
    assert is_valid_state(replace(base, disk=D.DISKLESS), RULES) is StateRejection.NO_LOCAL_DISK
    assert is_valid_state(replace(base, pdsk=D.DISKLESS), RULES) is StateRejection.NO_REMOTE_DISK
    assert is_valid_state(replace(base, pdsk=D.INCONSISTENT), RULES) is StateRejection.NO_UP_TO_DATE_DISK


def test_outdated_refused_while_connected_or_sync_source() -> None:
    for conn in (C.CONNECTED, C.WF_BITMAP_S, C.SYNC_SOURCE, C.PAUSED_SYNC_S):
        s = ReplicaState(R.SECONDARY, R.SECONDARY, conn, D.OUTDATED, D.INCONSISTENT)
        expected = (
            StateRejection.CONNECTED_OUTDATES if conn is C.CONNECTED else StateRejection.NO_UP_TO_DATE_DISK
        )
        assert is_valid_state(s, RULES) is expected
    s = ReplicaState(R.SECONDARY, R.SECONDARY, C.CONNECTED, D.OUTDATED, D.UP_TO_DATE)
    assert is_valid_state(s, RULES) is StateRejection.CONNECTED_OUTDATES


def test_verify_needs_a_verify_alg() -> None:
    s = replace(PRIMARY_CONNECTED, conn=C.VERIFY_S)
    assert is_valid_state(s, RULES) is StateRejection.NO_VERIFY_ALG
    assert is_valid_state(s, StateRules(verify_alg_configured=True)) is None


def test_primary_needs_some_up_to_date_disk() -> None:
    s = ReplicaState(R.PRIMARY, R.SECONDARY, C.CONNECTED, D.OUTDATED, D.CONSISTENT)
    assert is_valid_state(s, RULES) is StateRejection.CONNECTED_OUTDATES
    s = ReplicaState(R.PRIMARY, R.SECONDARY, C.CONNECTED, D.CONSISTENT, D.CONSISTENT)
    assert is_valid_state(s, RULES) is StateRejection.NO_UP_TO_DATE_DISK


def test_starting_sync_and_connected_need_a_known_peer_disk() -> None:
    s = ReplicaState(R.SECONDARY, R.SECONDARY, C.STARTING_SYNC_S, D.UP_TO_DATE, D.DUNKNOWN)
    assert is_valid_state(s, RULES) is StateRejection.NEED_CONNECTION
    s = ReplicaState(R.SECONDARY, R.SECONDARY, C.CONNECTED, D.UP_TO_DATE, D.DUNKNOWN)
    assert is_valid_state(s, RULES) is StateRejection.CONNECTED_OUTDATES


# -- soft and hard transitions -------------------------------------------------------------------


def test_soft_transition_rules() -> None:
    standalone = ReplicaState(conn=C.STANDALONE, disk=D.UP_TO_DATE)
    assert is_valid_soft_transition(standalone, replace(standalone, conn=C.DISCONNECTING)) is (
        StateRejection.ALREADY_STANDALONE
    )
    assert is_valid_soft_transition(standalone, replace(standalone, conn=C.CONNECTING)) is (
        StateRejection.NO_NET_CONFIG
    )
    diskless = ReplicaState()
    assert (
        is_valid_soft_transition(diskless, replace(diskless, disk=D.UP_TO_DATE)) is StateRejection.IS_DISKLESS
    )
    incons = ReplicaState(disk=D.INCONSISTENT)
    assert is_valid_soft_transition(incons, replace(incons, disk=D.OUTDATED)) is (
        StateRejection.LOWER_THAN_OUTDATED
    )
    unconnected = ReplicaState(conn=C.UNCONNECTED, disk=D.UP_TO_DATE)
    assert is_valid_soft_transition(unconnected, replace(unconnected, conn=C.DISCONNECTING)) is (
        StateRejection.IN_TRANSIENT_STATE
    )
    assert is_valid_soft_transition(unconnected, replace(unconnected, conn=C.VERIFY_S)) is (
        StateRejection.NEED_CONNECTION
    )
    syncing = replace(PRIMARY_CONNECTED, conn=C.SYNC_SOURCE, pdsk=D.INCONSISTENT)
    assert (
        is_valid_soft_transition(syncing, replace(syncing, conn=C.VERIFY_S)) is StateRejection.RESYNC_RUNNING
    )
    assert is_valid_soft_transition(syncing, replace(syncing, conn=C.STARTING_SYNC_S)) is (
        StateRejection.RESYNC_RUNNING
    )
    assert is_valid_soft_transition(unconnected, replace(unconnected, conn=C.STARTING_SYNC_T)) is (
        StateRejection.NEED_CONNECTION
    )
    failure = ReplicaState(conn=C.NETWORK_FAILURE, disk=D.UP_TO_DATE)
    assert is_valid_soft_transition(failure, replace(failure, conn=C.SYNC_TARGET)) is (
        StateRejection.NEED_CONNECTION
    )
    outdate = ReplicaState(conn=C.CONNECTING, disk=D.UP_TO_DATE, pdsk=D.UP_TO_DATE)
    assert is_valid_soft_transition(outdate, replace(outdate, conn=C.DISCONNECTING, pdsk=D.OUTDATED)) is (
        StateRejection.OUTDATE_WO_CONN
    )


def test_state_sent_allows_only_connection_progress() -> None:
    connecting = ReplicaState(conn=C.CONNECTING, disk=D.UP_TO_DATE)
    assert (
        is_valid_soft_transition(connecting, replace(connecting, conn=C.WF_REPORT_PARAMS), state_sent=True)
        is None
    )
    assert is_valid_soft_transition(connecting, replace(connecting, role=R.PRIMARY), state_sent=True) is (
        StateRejection.IN_TRANSIENT_STATE
    )


def test_connection_transitions() -> None:
    assert is_valid_conn_transition(C.CONNECTED, C.CONNECTED) is None
    assert is_valid_conn_transition(C.STANDALONE, C.DISCONNECTING) is StateRejection.ALREADY_STANDALONE
    assert is_valid_conn_transition(C.STANDALONE, C.CONNECTING) is StateRejection.NEED_CONNECTION
    assert is_valid_conn_transition(C.STANDALONE, C.UNCONNECTED) is None
    assert is_valid_conn_transition(C.CONNECTING, C.CONNECTED) is StateRejection.NEED_CONNECTION
    assert is_valid_conn_transition(C.WF_REPORT_PARAMS, C.CONNECTED) is None
    assert is_valid_conn_transition(C.TIMEOUT, C.CONNECTING) is StateRejection.IN_TRANSIENT_STATE
    assert is_valid_conn_transition(C.TIMEOUT, C.UNCONNECTED) is None
    assert is_valid_conn_transition(C.DISCONNECTING, C.UNCONNECTED) is StateRejection.IN_TRANSIENT_STATE
    assert is_valid_conn_transition(C.DISCONNECTING, C.STANDALONE) is None
    assert is_valid_transition(ReplicaState(), ReplicaState(disk=D.FAILED)) is StateRejection.IS_DISKLESS


# -- sanitize_state ------------------------------------------------------------------------------


def test_losing_the_connection_forgets_the_peer() -> None:
    ns, warn = sanitize_state(PRIMARY_CONNECTED, replace(PRIMARY_CONNECTED, conn=C.NETWORK_FAILURE), RULES)
    assert (ns.peer, ns.pdsk, warn) == (R.UNKNOWN, D.DUNKNOWN, None)


def test_outdated_peer_disk_is_remembered_when_disconnected() -> None:
    s = replace(PRIMARY_CONNECTED, conn=C.CONNECTING, pdsk=D.OUTDATED)
    assert sanitize_state(PRIMARY_CONNECTED, s, RULES)[0].pdsk is D.OUTDATED


def test_failed_disk_aborts_resync() -> None:
    syncing = ReplicaState(R.PRIMARY, R.SECONDARY, C.SYNC_SOURCE, D.UP_TO_DATE, D.INCONSISTENT)
    ns, warn = sanitize_state(syncing, replace(syncing, pdsk=D.FAILED), RULES)
    assert ns.conn is C.CONNECTED and warn is SanitizeWarning.ABORTED_RESYNC
    verifying = replace(syncing, conn=C.VERIFY_S, pdsk=D.UP_TO_DATE)
    ns, warn = sanitize_state(verifying, replace(verifying, disk=D.FAILED), RULES)
    assert ns.conn is C.CONNECTED and warn is SanitizeWarning.ABORTED_ONLINE_VERIFY


def test_consistent_and_outdated_become_up_to_date_when_connected() -> None:
    s = ReplicaState(R.SECONDARY, R.SECONDARY, C.CONNECTED, D.CONSISTENT, D.OUTDATED)
    ns, _ = sanitize_state(s, s, RULES)
    assert (ns.disk, ns.pdsk) == (D.UP_TO_DATE, D.UP_TO_DATE)


def test_sync_states_clamp_disk_states() -> None:
    s = ReplicaState(R.SECONDARY, R.PRIMARY, C.SYNC_TARGET, D.UP_TO_DATE, D.INCONSISTENT)
    ns, warn = sanitize_state(s, s, RULES)
    assert (ns.disk, ns.pdsk, warn) == (
        D.INCONSISTENT,
        D.UP_TO_DATE,
        SanitizeWarning.IMPLICITLY_UPGRADED_PDSK,
    )
    s = ReplicaState(R.PRIMARY, R.SECONDARY, C.SYNC_SOURCE, D.INCONSISTENT, D.UP_TO_DATE)
    ns, warn = sanitize_state(s, s, RULES)
    assert (ns.disk, ns.pdsk) == (D.UP_TO_DATE, D.INCONSISTENT)
    assert warn is SanitizeWarning.IMPLICITLY_UPGRADED_DISK


def test_negotiating_disk_falls_back_when_connection_drops() -> None:
    s = ReplicaState(R.SECONDARY, R.SECONDARY, C.CONNECTED, D.NEGOTIATING, D.UP_TO_DATE)
    lost = replace(s, conn=C.BROKEN_PIPE)
    ns, warn = sanitize_state(s, lost, RULES)
    assert (ns.disk, ns.pdsk, warn) == (D.DISKLESS, D.DUNKNOWN, SanitizeWarning.CONNECTION_LOST_NEGOTIATING)
    ns, warn = sanitize_state(s, lost, RULES, negotiation_fallback=(D.OUTDATED, D.DUNKNOWN))
    assert (ns.disk, warn) == (D.OUTDATED, None)


def test_stonith_fencing_freezes_io_of_a_primary_that_lost_its_peer() -> None:
    rules = StateRules(fencing=FencingPolicy.RESOURCE_AND_STONITH)
    ns, _ = sanitize_state(PRIMARY_CONNECTED, replace(PRIMARY_CONNECTED, conn=C.NETWORK_FAILURE), rules)
    assert ns.susp_fen and ns.suspended
    assert not sanitize_state(PRIMARY_CONNECTED, replace(PRIMARY_CONNECTED, conn=C.NETWORK_FAILURE), RULES)[
        0
    ].susp_fen


def test_no_data_accessible_suspends_io_when_configured() -> None:
    rules = StateRules(on_no_data=OnNoDataAccessible.SUSPEND_IO)
    s = ReplicaState(R.PRIMARY, R.SECONDARY, C.CONNECTED, D.DISKLESS, D.UP_TO_DATE)
    ns, _ = sanitize_state(s, replace(s, conn=C.NETWORK_FAILURE), rules)
    assert ns.susp_nod


def test_pause_flags_pause_and_resume_resync() -> None:
    s = ReplicaState(R.PRIMARY, R.SECONDARY, C.SYNC_SOURCE, D.UP_TO_DATE, D.INCONSISTENT)
    paused, _ = sanitize_state(s, replace(s, user_isp=True), RULES)
    assert paused.conn is C.PAUSED_SYNC_S
    resumed, _ = sanitize_state(paused, replace(paused, user_isp=False), RULES)
    assert resumed.conn is C.SYNC_SOURCE
    t = ReplicaState(R.SECONDARY, R.PRIMARY, C.SYNC_TARGET, D.INCONSISTENT, D.UP_TO_DATE)
    assert sanitize_state(t, replace(t, peer_isp=True), RULES)[0].conn is C.PAUSED_SYNC_T


# -- check_state_change --------------------------------------------------------------------------


def test_promoting_an_inconsistent_sync_target_is_refused_with_drbds_message() -> None:
    target = ReplicaState(R.SECONDARY, R.PRIMARY, C.SYNC_TARGET, D.INCONSISTENT, D.UP_TO_DATE)
    with pytest.raises(StateChangeRefused) as info:
        check_state_change(target, replace(target, role=R.PRIMARY), RULES)
    assert str(info.value) == "State change failed: (-1) Multiple primaries not allowed by config"
    alone = ReplicaState(R.SECONDARY, R.UNKNOWN, C.CONNECTING, D.INCONSISTENT, D.DUNKNOWN)
    with pytest.raises(StateChangeRefused) as info:
        check_state_change(alone, replace(alone, role=R.PRIMARY), RULES)
    assert info.value.rejection is StateRejection.NO_UP_TO_DATE_DISK
    assert str(info.value) == "State change failed: (-2) Need access to UpToDate data"


def test_hard_changes_skip_the_soft_rules() -> None:
    s = ReplicaState(R.PRIMARY, R.UNKNOWN, C.CONNECTING, D.UP_TO_DATE, D.DUNKNOWN)
    failed, _ = check_state_change(s, replace(s, disk=D.FAILED), RULES, hard=True)
    assert failed.disk is D.FAILED
    with pytest.raises(StateChangeRefused):
        check_state_change(s, replace(s, disk=D.FAILED), RULES)


def test_leaving_an_invalid_state_with_the_same_fault_is_allowed() -> None:
    # Already a Primary without UpToDate data (e.g. its disk failed): it may still change other things.
    s = ReplicaState(R.PRIMARY, R.UNKNOWN, C.CONNECTING, D.CONSISTENT, D.DUNKNOWN)
    ns, _ = check_state_change(s, replace(s, user_isp=True), RULES)
    assert ns.user_isp


def test_describe_state_change_reads_like_the_kernel_log() -> None:
    os = ReplicaState(R.SECONDARY, R.UNKNOWN, C.CONNECTING, D.INCONSISTENT, D.DUNKNOWN)
    ns = ReplicaState(R.SECONDARY, R.PRIMARY, C.CONNECTED, D.UP_TO_DATE, D.UP_TO_DATE)
    assert describe_state_change("r0", os, ns) == (
        "r0: peer( Unknown -> Primary ) conn( Connecting -> Connected ) disk( Inconsistent -> UpToDate ) "
        "pdsk( DUnknown -> UpToDate )"
    )
    assert describe_state_change("r0", os, replace(os, susp=True, user_isp=True)) == (
        "r0: susp( 0 -> 1 ) user_isp( 0 -> 1 )"
    )
    assert describe_state_change("r0", os, os) is None


def test_lost_contact_to_peer_data() -> None:
    assert lost_contact_to_peer_data(D.UP_TO_DATE, D.DUNKNOWN)
    assert lost_contact_to_peer_data(D.INCONSISTENT, D.DISKLESS)
    assert lost_contact_to_peer_data(D.UP_TO_DATE, D.OUTDATED)
    assert not lost_contact_to_peer_data(D.OUTDATED, D.DUNKNOWN)
    assert not lost_contact_to_peer_data(D.DUNKNOWN, D.DUNKNOWN)
