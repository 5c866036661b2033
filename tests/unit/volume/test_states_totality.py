"""Totality of the state rules: every (old, new, rules) triple is accepted or refused with a typed
error, never anything else; sanitizing is idempotent; log lines appear exactly on visible change."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.core.volume.state_rules import (
    StateChangeRefused,
    StateRules,
    check_state_change,
    describe_state_change,
    sanitize_state,
)
from hapair.core.volume.states import (
    ConnState,
    DiskState,
    FencingPolicy,
    OnNoDataAccessible,
    ReplicaState,
    Role,
)

STATES = st.builds(
    ReplicaState,
    role=st.sampled_from([Role.PRIMARY, Role.SECONDARY]),
    peer=st.sampled_from(Role),
    conn=st.sampled_from(ConnState),
    disk=st.sampled_from(DiskState),
    pdsk=st.sampled_from(DiskState),
    susp=st.booleans(),
    susp_nod=st.booleans(),
    susp_fen=st.booleans(),
    aftr_isp=st.booleans(),
    peer_isp=st.booleans(),
    user_isp=st.booleans(),
)
RULES = st.builds(
    StateRules,
    allow_two_primaries=st.booleans(),
    fencing=st.sampled_from(FencingPolicy),
    on_no_data=st.sampled_from(OnNoDataAccessible),
    verify_alg_configured=st.booleans(),
    has_net_config=st.booleans(),
    device_open=st.booleans(),
)


@settings(max_examples=500, deadline=None)
@given(STATES, STATES, RULES, st.booleans(), st.booleans())
def test_every_change_is_accepted_or_refused(
    os: ReplicaState, ns: ReplicaState, rules: StateRules, hard: bool, state_sent: bool
) -> None:
    try:
        result, _ = check_state_change(os, ns, rules, hard=hard, state_sent=state_sent)
    except StateChangeRefused as refused:
        assert refused.old == os and str(refused).startswith("State change failed: (")
        return
    # DRBD's sanitize unpauses a paused resync after clamping the disk states, so one pass is not
    # always a fixpoint (PausedSyncS without a pause flag); a second pass always is.
    once, _ = sanitize_state(os, result, rules)
    twice, _ = sanitize_state(os, once, rules)
    assert twice == once
    if result.conn < ConnState.CONNECTED:
        assert result.peer is Role.UNKNOWN
    if result.conn.is_sync:
        assert DiskState.UP_TO_DATE in (result.disk, result.pdsk)


@settings(max_examples=300, deadline=None)
@given(STATES, STATES)
def test_a_log_line_exactly_when_something_visible_changed(os: ReplicaState, ns: ReplicaState) -> None:
    line = describe_state_change("r0", os, ns)
    visible = ("role", "peer", "conn", "disk", "pdsk", "aftr_isp", "peer_isp", "user_isp")
    changed = any(getattr(os, f) != getattr(ns, f) for f in visible) or os.suspended != ns.suspended
    assert (line is not None) == changed
    if line is not None:
        assert line.startswith("r0: ") and not line.endswith(" ")
