"""`drbd_uuid_compare`, one test per rule of DRBD 8.4's table, and `drbd_sync_handshake`."""

from __future__ import annotations

from dataclasses import replace

from hapair.core.volume.handshake import (
    HandshakeInput,
    HandshakeRefusal,
    SyncDecision,
    UuidComparison,
    compare_uuids,
    sync_handshake,
)
from hapair.core.volume.split_brain import AfterSbPolicy, RrConflict, SplitBrainPolicies
from hapair.core.volume.states import ConnState, DiskState, Role
from hapair.core.volume.uuids import (
    UUID_JUST_CREATED,
    UUID_NEW_BM_OFFSET,
    GenerationIds,
    UuidFlags,
    UuidReport,
)

JC = UUID_JUST_CREATED
A, B, C, X, Y, Z = 0xA000, 0xB000, 0xC000, 0xE000, 0xF000, 0xD000
S, P = Role.SECONDARY, Role.PRIMARY


def ids(cur: int, bm: int = 0, h1: int = 0, h2: int = 0) -> GenerationIds:
    return GenerationIds(cur, bm, (h1, h2))


def compare(
    me: GenerationIds,
    peer: GenerationIds,
    *,
    crashed: bool = False,
    peer_flags: UuidFlags = UuidFlags.NONE,
    roles: tuple[Role, Role] = (S, S),
    resolve_conflicts: bool = False,
) -> UuidComparison:
    return compare_uuids(
        me, peer, self_crashed_primary=crashed, peer_flags=peer_flags, self_role=roles[0], peer_role=roles[1],
        resolve_conflicts=resolve_conflicts,
    )  # fmt: skip


def decided(
    me: GenerationIds,
    peer: GenerationIds,
    *,
    crashed: bool = False,
    peer_flags: UuidFlags = UuidFlags.NONE,
    roles: tuple[Role, Role] = (S, S),
    resolve_conflicts: bool = False,
) -> tuple[SyncDecision, int]:
    c = compare(
        me, peer, crashed=crashed, peer_flags=peer_flags, roles=roles, resolve_conflicts=resolve_conflicts
    )
    return c.decision, c.rule


def test_rule_10_both_just_created_means_no_sync() -> None:
    assert decided(ids(JC), ids(JC)) == (SyncDecision.NO_SYNC, 10)


def test_rule_20_i_am_blank_so_full_sync_from_peer() -> None:
    assert decided(ids(JC), ids(A)) == (SyncDecision.TARGET_FULL, 20)
    assert decided(ids(0), ids(A)) == (SyncDecision.TARGET_FULL, 20)


def test_rule_30_peer_is_blank_so_full_sync_to_peer() -> None:
    assert decided(ids(A), ids(JC)) == (SyncDecision.SOURCE_FULL, 30)
    assert decided(ids(A), ids(0)) == (SyncDecision.SOURCE_FULL, 30)


def test_rule_34_source_that_missed_resync_finished_corrects_itself() -> None:
    c = compare(ids(A, S_ := 0x5000, B), ids(A, 0, S_, B))
    assert (c.decision, c.rule) == (SyncDecision.SOURCE_BITMAP, 34)
    assert c.self_ids == ids(A, 0, S_, B)
    assert "corrected myself" in c.notes[0]


def test_rule_35_target_corrects_peer_that_missed_resync_finished() -> None:
    c = compare(ids(A, 0, 0x5000, B), ids(A, 0x5000, B))
    assert (c.decision, c.rule) == (SyncDecision.TARGET_BITMAP, 35)
    assert c.peer_ids == ids(A, 0, 0x5000, B)


def test_rule_36_source_whose_peer_failed_to_write_the_sync_uuid() -> None:
    assert decided(ids(A, B), ids(A)) == (SyncDecision.SOURCE_BITMAP, 36)


def test_rule_37_target_that_failed_to_write_the_sync_uuid() -> None:
    assert decided(ids(A), ids(A, B)) == (SyncDecision.TARGET_BITMAP, 37)


def test_rule_40_equal_ids_no_crash_is_a_link_hiccup() -> None:
    assert decided(ids(A), ids(A | 1)) == (SyncDecision.NO_SYNC, 40)


def test_rule_40_crashed_primary_becomes_source() -> None:
    assert decided(ids(A), ids(A), crashed=True) == (SyncDecision.SOURCE_BITMAP, 40)
    assert decided(ids(A), ids(A), peer_flags=UuidFlags.CRASHED_PRIMARY) == (SyncDecision.TARGET_BITMAP, 40)


def test_rule_40_both_crashed_primaries_tie_break() -> None:
    flags = UuidFlags.CRASHED_PRIMARY
    tie_won = decided(ids(A), ids(A), crashed=True, peer_flags=flags, resolve_conflicts=True)
    tie_lost = decided(ids(A), ids(A), crashed=True, peer_flags=flags, resolve_conflicts=False)
    assert tie_won == (SyncDecision.TARGET_BITMAP, 40)
    assert tie_lost == (SyncDecision.SOURCE_BITMAP, 40)


def test_rule_41_crash_flag_with_a_current_primary_syncs_from_the_primary() -> None:
    assert decided(ids(A), ids(A), crashed=True, roles=(S, P)) == (SyncDecision.TARGET_BITMAP, 41)
    assert decided(ids(A), ids(A), crashed=True, roles=(P, S)) == (SyncDecision.SOURCE_BITMAP, 41)
    assert decided(ids(A), ids(A), crashed=True, roles=(P, P)) == (SyncDecision.SPLIT_BRAIN_DISCONNECT, 41)


def test_rule_50_peer_wrote_since_we_parted() -> None:
    assert decided(ids(A), ids(B | 1, A)) == (SyncDecision.TARGET_BITMAP, 50)


def test_rule_51_peer_lost_its_sync_uuid_packet() -> None:
    c = compare(ids(A), ids(B, A + UUID_NEW_BM_OFFSET, A, C))
    assert (c.decision, c.rule) == (SyncDecision.TARGET_BITMAP, 51)
    assert c.peer_ids == ids(B, A, C, C)


def test_rule_60_my_current_in_peer_history_means_full_sync_from_peer() -> None:
    assert decided(ids(A), ids(B, C, Y, A)) == (SyncDecision.TARGET_FULL, 60)


def test_rule_70_i_wrote_since_we_parted() -> None:
    assert decided(ids(B | 1, A), ids(A)) == (SyncDecision.SOURCE_BITMAP, 70)


def test_rule_71_my_sync_uuid_packet_was_lost() -> None:
    c = compare(ids(B, A + UUID_NEW_BM_OFFSET, A, C), ids(A))
    assert (c.decision, c.rule) == (SyncDecision.SOURCE_BITMAP, 71)
    assert c.self_ids == ids(B, A, C, C)


def test_rule_80_peer_current_in_my_history_means_full_sync_to_peer() -> None:
    assert decided(ids(B, C, Y, A), ids(A)) == (SyncDecision.SOURCE_FULL, 80)


def test_rule_90_both_started_generations_from_one_parent_is_split_brain() -> None:
    assert decided(ids(X | 1, A | 1), ids(Y, A)) == (SyncDecision.SPLIT_BRAIN_AUTO, 90)


def test_rule_100_related_histories_is_split_brain_to_disconnect() -> None:
    assert decided(ids(X, B, A), ids(Y, C, Z, A)) == (SyncDecision.SPLIT_BRAIN_DISCONNECT, 100)


def test_rule_100_counts_empty_history_slots_as_related_like_drbd() -> None:
    # DRBD compares history entries without skipping zeros, so two ids with empty history slots
    # are "related": split brain, not unrelated data.
    assert decided(ids(X), ids(Y, Z, 0x7000)) == (SyncDecision.SPLIT_BRAIN_DISCONNECT, 100)


def test_rule_100_fallthrough_unrelated_data() -> None:
    c = compare(ids(X, B, A, C), ids(Y, Z, 0x7000, 0x9000))
    assert (c.decision, c.rule, c.hg) == (SyncDecision.UNRELATED, 100, -1000)
    assert c.log_line() == "uuid_compare()=-1000 by rule 100"


# -- sync_handshake --------------------------------------------------------------------------


def handshake(
    me: GenerationIds,
    peer: GenerationIds,
    *,
    my_bits: int = 0,
    peer_bits: int = 0,
    roles: tuple[Role, Role] = (S, S),
    disks: tuple[DiskState, DiskState] = (DiskState.UP_TO_DATE, DiskState.UP_TO_DATE),
    policies: SplitBrainPolicies | None = None,
    discard_my_data: bool = False,
    peer_flags: UuidFlags = UuidFlags.NONE,
    disk_now: DiskState | None = None,
    can_demote: bool = True,
    dry_run: bool = False,
) -> HandshakeInput:
    return HandshakeInput(
        me=UuidReport(me, my_bits),
        peer=UuidReport(peer, peer_bits, peer_flags),
        self_role=roles[0],
        peer_role=roles[1],
        self_disk=disks[0],
        peer_disk=disks[1],
        self_crashed_primary=False,
        discard_my_data=discard_my_data,
        resolve_conflicts=False,
        policies=policies or SplitBrainPolicies(),
        disk_now=disk_now,
        can_demote=can_demote,
        dry_run=dry_run,
    )


def test_bitmap_resync_as_target() -> None:
    out = sync_handshake(handshake(ids(A), ids(B | 1, A), peer_bits=5, roles=(S, P)))
    assert (out.conn, out.full_sync, out.refusal) == (ConnState.WF_BITMAP_T, False, None)
    assert out.becomes_sync_target and not out.becomes_sync_source
    assert out.log[-1] == "uuid_compare()=-1 by rule 50"


def test_full_sync_as_source_after_forced_primary() -> None:
    out = sync_handshake(
        handshake(ids(A | 1, JC), ids(JC), disks=(DiskState.UP_TO_DATE, DiskState.INCONSISTENT))
    )
    assert (out.conn, out.full_sync, out.hg) == (ConnState.WF_BITMAP_S, True, 2)
    assert "Writing the whole bitmap, full sync required after drbd_sync_handshake." in out.log


def test_no_sync_reports_leftover_bits() -> None:
    out = sync_handshake(handshake(ids(A), ids(A), my_bits=3))
    assert out.conn is ConnState.CONNECTED
    assert "No resync, but 3 bits in bitmap!" in out.log


def test_inconsistent_disk_overrides_the_uuid_decision() -> None:
    out = sync_handshake(handshake(ids(A), ids(A), disks=(DiskState.INCONSISTENT, DiskState.UP_TO_DATE)))
    assert (out.conn, out.hg) == (ConnState.WF_BITMAP_T, -1)
    assert "Becoming sync target due to disk states." in out.log
    out = sync_handshake(
        handshake(ids(A), ids(B, C, Y, A), disks=(DiskState.UP_TO_DATE, DiskState.INCONSISTENT))
    )
    assert (out.conn, out.hg, out.full_sync) == (ConnState.WF_BITMAP_S, 2, True)


def test_unrelated_data_drops_the_connection() -> None:
    out = sync_handshake(handshake(ids(X, B, A, C), ids(Y, Z, 0x7000, 0x9000)))
    assert (out.conn, out.refusal) == (None, HandshakeRefusal.UNRELATED_DATA)
    assert out.log[-1] == "Unrelated data, aborting!"


def test_split_brain_unresolved_by_default_on_both_nodes() -> None:
    mine, theirs = ids(X | 1, A | 1), ids(Y, A)
    for me, peer in ((mine, theirs), (theirs, mine)):
        out = sync_handshake(handshake(me, peer, my_bits=2, peer_bits=3))
        assert out.split_brain_detected and out.refusal is HandshakeRefusal.SPLIT_BRAIN and out.conn is None
        assert out.handlers == ("initial-split-brain", "split-brain")
        assert out.log[-1] == "Split-Brain detected but unresolved, dropping connection!"


def test_split_brain_auto_recovered_by_policy() -> None:
    policies = SplitBrainPolicies(after_sb_0pri=AfterSbPolicy.DISCARD_ZERO_CHANGES)
    out = sync_handshake(handshake(ids(X, A), ids(Y, A), my_bits=0, peer_bits=4, policies=policies))
    assert (out.conn, out.hg, out.split_brain_detected, out.split_brain_resolved) == (
        ConnState.WF_BITMAP_T, -1, True, True,
    )  # fmt: skip
    assert out.handlers == ("initial-split-brain",)
    assert "Split-Brain detected, 0 primaries, automatically solved. Sync from peer node" in out.log


def test_split_brain_without_common_parent_needs_always_asbp_and_does_full_sync() -> None:
    policies = SplitBrainPolicies(after_sb_0pri=AfterSbPolicy.DISCARD_LOCAL, always_asbp=True)
    out = sync_handshake(handshake(ids(X, B, A), ids(Y, C, Z, A), policies=policies))
    assert (out.conn, out.hg, out.full_sync) == (ConnState.WF_BITMAP_T, -2, True)
    assert "Doing a full sync, since UUIDs where ambiguous." in out.log


def test_manual_recovery_with_discard_my_data() -> None:
    me, peer = ids(X, A), ids(Y, A)
    out = sync_handshake(handshake(me, peer, discard_my_data=True))
    assert (out.conn, out.hg) == (ConnState.WF_BITMAP_T, -1)
    out = sync_handshake(handshake(peer, me, peer_flags=UuidFlags.DISCARD_MY_DATA))
    assert (out.conn, out.hg) == (ConnState.WF_BITMAP_S, 1)
    assert "Split-Brain detected, manually solved. Sync from this node" in out.log
    both = sync_handshake(handshake(me, peer, discard_my_data=True, peer_flags=UuidFlags.DISCARD_MY_DATA))
    assert both.refusal is HandshakeRefusal.SPLIT_BRAIN


def test_call_pri_lost_after_sb_demotes_the_losing_primary() -> None:
    policies = SplitBrainPolicies(
        after_sb_0pri=AfterSbPolicy.DISCARD_LEAST_CHANGES, after_sb_1pri=AfterSbPolicy.CALL_PRI_LOST_AFTER_SB
    )
    out = sync_handshake(
        handshake(ids(X | 1, A | 1), ids(Y, A), my_bits=1, peer_bits=9, roles=(P, S), policies=policies)
    )
    assert (out.demote_self, out.conn) == (True, ConnState.WF_BITMAP_T)
    assert "Successfully gave up primary role." in out.log
    stuck = sync_handshake(
        handshake(
            ids(X | 1, A | 1),
            ids(Y, A),
            my_bits=1,
            peer_bits=9,
            roles=(P, S),
            policies=policies,
            can_demote=False,
        )
    )
    assert stuck.refusal is HandshakeRefusal.SPLIT_BRAIN
    assert stuck.handlers == ("initial-split-brain", "pri-lost-after-sb", "split-brain")


def test_inconsistent_node_cannot_be_sync_source() -> None:
    out = sync_handshake(handshake(ids(B, A), ids(A), disks=(DiskState.INCONSISTENT, DiskState.INCONSISTENT)))
    assert out.refusal is HandshakeRefusal.SOURCE_INCONSISTENT


def test_rr_conflict_primary_must_not_become_target() -> None:
    out = sync_handshake(handshake(ids(A | 1), ids(B, A), roles=(P, S)))
    assert out.refusal is HandshakeRefusal.TARGET_IS_PRIMARY and out.handlers == ()
    pri_lost = SplitBrainPolicies(rr_conflict=RrConflict.CALL_PRI_LOST)
    out = sync_handshake(handshake(ids(A | 1), ids(B, A), policies=pri_lost, roles=(P, S)))
    assert out.refusal is HandshakeRefusal.TARGET_IS_PRIMARY and out.handlers == ("pri-lost",)
    violent = SplitBrainPolicies(rr_conflict=RrConflict.VIOLENTLY)
    out = sync_handshake(handshake(ids(A | 1), ids(B, A), policies=violent, roles=(P, S)))
    assert out.conn is ConnState.WF_BITMAP_T
    diskless_primary = handshake(ids(A | 1), ids(B, A), disk_now=DiskState.NEGOTIATING, roles=(P, S))
    assert sync_handshake(diskless_primary).conn is ConnState.WF_BITMAP_T


def test_dry_run_reports_and_disconnects() -> None:
    out = sync_handshake(handshake(ids(A), ids(B, A), dry_run=True))
    assert out.refusal is HandshakeRefusal.DRY_RUN
    assert out.log[-2] == "dry-run connect: Would become SyncTarget, doing a bit-map based resync."
    out = sync_handshake(handshake(ids(A), ids(A), dry_run=True))
    assert "dry-run connect: No resync, would become Connected immediately." in out.log


def test_repairs_are_returned_for_persisting() -> None:
    out = sync_handshake(handshake(ids(B, A + UUID_NEW_BM_OFFSET, A, C), ids(A)))
    assert out.comparison.self_ids == ids(B, A, C, C)
    assert replace(out.comparison, notes=()).rule == 71
