"""The connect-time decision: compare generation ids, then decide who syncs from whom.

`compare_uuids` is DRBD 8.4's `drbd_uuid_compare` as a table of numbered rules (the numbers are
DRBD's, so `uuid_compare()=-1 by rule 50` reads the same in both logs). It returns a typed
decision and the rule that matched; rules 34/35 and 51/71 also repair ids left half-rotated by a
resync start or end whose message was lost, and return the repaired tuples.

`sync_handshake` is `drbd_sync_handshake`: the comparison, overridden by disk states, then split
brain recovery (policies or `--discard-my-data`), the safety refusals, and the resulting
connection state (WFBitMapS/WFBitMapT/Connected, or a refusal that drops the connection).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import assert_never

from hapair.core.volume.split_brain import (
    Recovery,
    RrConflict,
    SplitBrainFacts,
    SplitBrainPolicies,
    manual_recovery,
    recover,
)
from hapair.core.volume.states import ConnState, DiskState, Role
from hapair.core.volume.uuids import (
    U64_MASK,
    UUID_JUST_CREATED,
    UUID_NEW_BM_OFFSET,
    GenerationIds,
    UuidFlags,
    UuidReport,
    strip_role_bit,
)


class SyncDecision(enum.Enum):
    """`drbd_uuid_compare`'s result; the value is DRBD's number for it."""

    SPLIT_BRAIN_AUTO = 100
    SOURCE_FULL = 2
    SOURCE_BITMAP = 1
    NO_SYNC = 0
    TARGET_BITMAP = -1
    TARGET_FULL = -2
    SPLIT_BRAIN_DISCONNECT = -100
    UNRELATED = -1000

    @classmethod
    def from_hg(cls, hg: int) -> SyncDecision:
        return cls(hg)


@dataclass(frozen=True, slots=True)
class UuidComparison:
    """A comparison's decision, the DRBD rule number that produced it, and repaired id tuples."""

    decision: SyncDecision
    rule: int
    self_ids: GenerationIds
    peer_ids: GenerationIds
    notes: tuple[str, ...] = ()

    @property
    def hg(self) -> int:
        return self.decision.value

    def log_line(self) -> str:
        return f"uuid_compare()={self.hg} by rule {self.rule}"


def compare_uuids(
    me: GenerationIds,
    peer: GenerationIds,
    *,
    self_crashed_primary: bool,
    peer_flags: UuidFlags,
    self_role: Role,
    peer_role: Role,
    resolve_conflicts: bool,
) -> UuidComparison:
    """`drbd_uuid_compare` for a two-node pair; every comparison ignores bit 0 of the ids.

    `resolve_conflicts` is the tie-break bit: exactly one node of a connection has it.
    """
    s = strip_role_bit
    self_cur, peer_cur = s(me.current), s(peer.current)

    def result(
        decision: SyncDecision, rule: int, *notes: str, mine: GenerationIds = me, theirs: GenerationIds = peer
    ) -> UuidComparison:
        return UuidComparison(decision, rule, mine, theirs, notes)

    if self_cur == UUID_JUST_CREATED and peer_cur == UUID_JUST_CREATED:
        return result(SyncDecision.NO_SYNC, 10)
    if self_cur in (UUID_JUST_CREATED, 0) and peer_cur != UUID_JUST_CREATED:
        return result(SyncDecision.TARGET_FULL, 20)
    if self_cur != UUID_JUST_CREATED and peer_cur in (UUID_JUST_CREATED, 0):
        return result(SyncDecision.SOURCE_FULL, 30)

    if self_cur == peer_cur:
        if peer.bitmap == 0 and me.bitmap != 0:
            if s(me.bitmap) == s(peer.history[0]) and s(me.history[0]) == s(peer.history[1]):
                fixed = GenerationIds(me.current, 0, (me.bitmap, me.history[0]))
                note = "was SyncSource, missed the resync finished event, corrected myself:"
                return result(SyncDecision.SOURCE_BITMAP, 34, note, mine=fixed)
            return result(SyncDecision.SOURCE_BITMAP, 36, "was SyncSource (peer failed to write sync_uuid)")
        if me.bitmap == 0 and peer.bitmap != 0:
            if s(me.history[0]) == s(peer.bitmap) and s(me.history[1]) == s(peer.history[0]):
                fixed = GenerationIds(peer.current, 0, (peer.bitmap, peer.history[0]))
                note = "was SyncTarget, peer missed the resync finished event, corrected peer:"
                return result(SyncDecision.TARGET_BITMAP, 35, note, theirs=fixed)
            return result(SyncDecision.TARGET_BITMAP, 37, "was SyncTarget (failed to write sync_uuid)")
        # Equal current ids, no bitmap ids: a link hiccup, or both crashed at once.
        rct = int(self_crashed_primary) + (2 if peer_flags & UuidFlags.CRASHED_PRIMARY else 0)
        if rct == 0:
            return result(SyncDecision.NO_SYNC, 40)
        if Role.PRIMARY in (self_role, peer_role):
            if self_role is Role.PRIMARY and peer_role is Role.PRIMARY:
                note = "Equivalent unrotated UUIDs, but both are primary. Can not resolve this."
                return result(SyncDecision.SPLIT_BRAIN_DISCONNECT, 41, note)
            if self_role is Role.PRIMARY:
                return result(SyncDecision.SOURCE_BITMAP, 41)
            return result(SyncDecision.TARGET_BITMAP, 41)
        if rct == 1:
            return result(SyncDecision.SOURCE_BITMAP, 40)
        if rct == 2:
            return result(SyncDecision.TARGET_BITMAP, 40)
        tie = SyncDecision.TARGET_BITMAP if resolve_conflicts else SyncDecision.SOURCE_BITMAP
        return result(tie, 40)

    if self_cur == s(peer.bitmap):
        return result(SyncDecision.TARGET_BITMAP, 50)
    if self_cur == s(peer.history[0]) and (self_cur + UUID_NEW_BM_OFFSET) & U64_MASK == s(peer.bitmap):
        # The peer started a resync as source but its P_SYNC_UUID never arrived: undo that start.
        fixed = GenerationIds(peer.current, peer.history[0], (peer.history[1], peer.history[1]))
        return result(SyncDecision.TARGET_BITMAP, 51, "Lost last syncUUID packet, corrected:", theirs=fixed)
    if self_cur in (s(peer.history[0]), s(peer.history[1])):
        return result(SyncDecision.TARGET_FULL, 60)
    if s(me.bitmap) == peer_cur:
        return result(SyncDecision.SOURCE_BITMAP, 70)
    if s(me.history[0]) == peer_cur and (s(me.history[0]) + UUID_NEW_BM_OFFSET) & U64_MASK == s(me.bitmap):
        fixed = GenerationIds(me.current, me.history[0], (me.history[1], me.history[1]))
        note = "Last syncUUID did not get through, corrected:"
        return result(SyncDecision.SOURCE_BITMAP, 71, note, mine=fixed)
    if peer_cur in (s(me.history[0]), s(me.history[1])):
        return result(SyncDecision.SOURCE_FULL, 80)
    if s(me.bitmap) == s(peer.bitmap) != 0:
        return result(SyncDecision.SPLIT_BRAIN_AUTO, 90)
    if {s(h) for h in me.history} & {s(h) for h in peer.history}:
        return result(SyncDecision.SPLIT_BRAIN_DISCONNECT, 100)
    return result(SyncDecision.UNRELATED, 100)


class HandshakeRefusal(enum.Enum):
    """Why a handshake drops the connection (DRBD returns C_MASK), with DRBD's log text."""

    UNRELATED_DATA = "Unrelated data, aborting!"
    SPLIT_BRAIN = "Split-Brain detected but unresolved, dropping connection!"
    SOURCE_INCONSISTENT = "I shall become SyncSource, but I am inconsistent!"
    TARGET_IS_PRIMARY = "I shall become SyncTarget, but I am primary!"
    DRY_RUN = "dry-run connect"


@dataclass(frozen=True, slots=True)
class HandshakeInput:
    """Everything `sync_handshake` reads. `self_disk` is the disk state to negotiate with (for a
    disk still Negotiating, the state attach would have given it); `disk_now` is the actual state
    if different (DRBD's rr-conflict test deliberately uses it). `can_demote` says whether this
    node could give up the Primary role right now (nothing holds the device open)."""

    me: UuidReport
    peer: UuidReport
    self_role: Role
    peer_role: Role
    self_disk: DiskState
    peer_disk: DiskState
    self_crashed_primary: bool
    discard_my_data: bool
    resolve_conflicts: bool
    policies: SplitBrainPolicies = field(default_factory=SplitBrainPolicies)
    disk_now: DiskState | None = None
    can_demote: bool = True
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class HandshakeOutcome:
    """The handshake's result.

    `conn` is the next connection state (WFBitMapS, WFBitMapT or Connected) or None when the
    connection must be dropped (`refusal` says why). `full_sync` means "set every bitmap bit
    first". `demote_self` means an after-sb policy chose this Primary as the loser: it must become
    Secondary now, or (if it cannot) run `pri-lost-after-sb` and treat the split brain as
    unresolved. `handlers` are DRBD handler names to run; `log` lines are in DRBD's words.
    """

    comparison: UuidComparison
    hg: int
    conn: ConnState | None
    full_sync: bool = False
    refusal: HandshakeRefusal | None = None
    split_brain_detected: bool = False
    split_brain_resolved: bool = False
    demote_self: bool = False
    handlers: tuple[str, ...] = ()
    log: tuple[str, ...] = ()

    @property
    def becomes_sync_source(self) -> bool:
        return self.conn is ConnState.WF_BITMAP_S

    @property
    def becomes_sync_target(self) -> bool:
        return self.conn is ConnState.WF_BITMAP_T


def sync_handshake(given: HandshakeInput) -> HandshakeOutcome:
    """`drbd_sync_handshake`: from both nodes' reports to the next connection state."""
    log = [given.me.log_line("self"), given.peer.log_line("peer")]
    cmp = compare_uuids(
        given.me.ids,
        given.peer.ids,
        self_crashed_primary=given.self_crashed_primary,
        peer_flags=given.peer.flags,
        self_role=given.self_role,
        peer_role=given.peer_role,
        resolve_conflicts=given.resolve_conflicts,
    )
    log.extend(cmp.notes)
    log.append(cmp.log_line())
    handlers: list[str] = []
    hg = cmp.hg

    def refuse(why: HandshakeRefusal, *, detected: bool = False) -> HandshakeOutcome:
        log.append(why.value)
        return HandshakeOutcome(
            cmp, hg, None, refusal=why, split_brain_detected=detected,
            handlers=tuple(handlers), log=tuple(log),
        )  # fmt: skip

    if cmp.decision is SyncDecision.UNRELATED:
        return refuse(HandshakeRefusal.UNRELATED_DATA)

    mydisk, peer_disk = given.self_disk, given.peer_disk
    if (mydisk is DiskState.INCONSISTENT and peer_disk > DiskState.INCONSISTENT) or (
        peer_disk is DiskState.INCONSISTENT and mydisk > DiskState.INCONSISTENT
    ):
        full = hg == -100 or abs(hg) == 2
        hg = 1 if mydisk > DiskState.INCONSISTENT else -1
        hg = hg * 2 if full else hg
        log.append(f"Becoming sync {'source' if hg > 0 else 'target'} due to disk states.")

    detected = abs(hg) == 100
    if detected:
        handlers.append("initial-split-brain")

    demote_self = False
    if hg == 100 or (hg == -100 and given.policies.always_asbp):
        primaries = (given.self_role is Role.PRIMARY) + (given.peer_role is Role.PRIMARY)
        forced = hg == -100
        facts = SplitBrainFacts(
            self_bitmap_uuid=given.me.ids.bitmap,
            peer_bitmap_uuid=given.peer.ids.bitmap,
            self_changes=given.me.bitmap_bits,
            peer_changes=given.peer.bitmap_bits,
            resolve_conflicts=given.resolve_conflicts,
            self_role=given.self_role,
        )
        verdict = recover(primaries, given.policies, facts)
        log.extend(verdict.warnings)
        hg = verdict.recovery.value
        if verdict.demote_self:
            if given.can_demote:
                demote_self = True
                log.append("Successfully gave up primary role.")
            else:
                handlers.append("pri-lost-after-sb")
                hg = Recovery.UNRESOLVED.value
        if hg != Recovery.UNRESOLVED.value:
            side = "peer" if hg < 0 else "this"
            log.append(
                f"Split-Brain detected, {primaries} primaries, automatically solved. Sync from {side} node"
            )
            if forced:
                log.append("Doing a full sync, since UUIDs where ambiguous.")
                hg *= 2

    if hg == -100:
        manual = manual_recovery(
            self_discards=given.discard_my_data,
            peer_discards=bool(given.peer.flags & UuidFlags.DISCARD_MY_DATA),
        )
        if manual is not Recovery.UNRESOLVED:
            hg = manual.value
            log.append(
                f"Split-Brain detected, manually solved. Sync from {'peer' if hg < 0 else 'this'} node"
            )

    if hg == -100:
        handlers.append("split-brain")
        return refuse(HandshakeRefusal.SPLIT_BRAIN, detected=True)

    if hg > 0 and mydisk <= DiskState.INCONSISTENT:
        return refuse(HandshakeRefusal.SOURCE_INCONSISTENT, detected=detected)

    disk_now = given.self_disk if given.disk_now is None else given.disk_now
    primary_now = given.self_role is Role.PRIMARY and not demote_self
    if hg < 0 and primary_now and disk_now >= DiskState.CONSISTENT:
        match given.policies.rr_conflict:
            case RrConflict.CALL_PRI_LOST:
                handlers.append("pri-lost")
                return refuse(HandshakeRefusal.TARGET_IS_PRIMARY, detected=detected)
            case RrConflict.DISCONNECT:
                return refuse(HandshakeRefusal.TARGET_IS_PRIMARY, detected=detected)
            case RrConflict.VIOLENTLY:
                log.append("Becoming SyncTarget, violating the stable-data assumption")
            case unreachable:
                assert_never(unreachable)

    if given.dry_run:
        if hg == 0:
            log.append("dry-run connect: No resync, would become Connected immediately.")
        else:
            target = "SyncSource" if hg > 0 else "SyncTarget"
            kind = "full" if abs(hg) >= 2 else "bit-map based"
            log.append(f"dry-run connect: Would become {target}, doing a {kind} resync.")
        return refuse(HandshakeRefusal.DRY_RUN, detected=detected)

    full_sync = abs(hg) >= 2
    if full_sync:
        log.append("Writing the whole bitmap, full sync required after drbd_sync_handshake.")
    if hg > 0:
        conn = ConnState.WF_BITMAP_S
    elif hg < 0:
        conn = ConnState.WF_BITMAP_T
    else:
        conn = ConnState.CONNECTED
        if given.me.bitmap_bits:
            log.append(f"No resync, but {given.me.bitmap_bits} bits in bitmap!")
    return HandshakeOutcome(
        cmp,
        hg,
        conn,
        full_sync=full_sync,
        split_brain_detected=detected,
        split_brain_resolved=detected,
        demote_self=demote_self,
        handlers=tuple(handlers),
        log=tuple(log),
    )
