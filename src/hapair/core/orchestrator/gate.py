"""The two safety decisions, as pure functions: may this node promote, and may a Primary write.

**Promotion gate** (DESIGN.md section 5). Promote only an UpToDate disk, and only if
- the peer is connected and Secondary, or
- the peer is unreachable and this node holds the witness's vote (2 of 3), or
- the peer is unreachable and no witness is configured: then DRBD's fencing setting is all there
  is, and the verdict says split brain is possible (as DRBD without fencing allows).
Never while the peer is connected and Primary, nor while its role is not yet known.

**Write permission** of a Primary. Connected to its peer: write. Peer lost, witness configured:
write only while holding the vote; otherwise the group's `on_quorum_loss` (suspend or error).
Peer lost, no witness: `fencing resource-and-stonith` freezes (DRBD freezes I/O while its fence
handler runs, and we have no handler), the other fencing settings keep writing.

`vote_until` is the end of this node's belief in the vote on its own clock (`WitnessVoteChanged`);
it is compared with `now_ns` here, so a late timer can never stretch a lease.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hapair.core.orchestrator.observed import DiskState, VolumeObserved, VolumeRole
from hapair.core.orchestrator.settings import FencingPolicy, QuorumLossPolicy


class GateReason(enum.Enum):
    """Why the gate opened or stayed shut; the value is the journal's wording."""

    PEER_SECONDARY = "the peer is connected and Secondary"
    WITNESS_VOTE = "the peer is unreachable and this node holds the witness's vote"
    NO_WITNESS = "the peer is unreachable and no witness is configured"
    NOT_OBSERVED = "the volume has not reported its state yet"
    DISK_NOT_UP_TO_DATE = "the local disk is not UpToDate"
    PEER_PRIMARY = "the peer is Primary"
    PEER_ROLE_UNKNOWN = "the peer is connected but its role is not known yet"
    NO_WITNESS_VOTE = "the peer is unreachable and this node does not hold the witness's vote"


@dataclass(frozen=True, slots=True)
class PromotionVerdict:
    allowed: bool
    reason: GateReason
    detail: str
    split_brain_possible: bool = False


class IoMode(enum.Enum):
    """What the volume is told to do with writes while Primary."""

    RUN = "run"
    SUSPEND = "suspend"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class IoVerdict:
    mode: IoMode
    cause: str


def holds_vote(vote_until: int | None, now_ns: int) -> bool:
    return vote_until is not None and now_ns < vote_until


def promotion_verdict(
    volume: VolumeObserved | None,
    *,
    witness: bool,
    vote_until: int | None,
    fencing: FencingPolicy,
    now_ns: int,
) -> PromotionVerdict:
    if volume is None:
        return PromotionVerdict(False, GateReason.NOT_OBSERVED, "")
    if volume.disk is not DiskState.UP_TO_DATE:
        return PromotionVerdict(False, GateReason.DISK_NOT_UP_TO_DATE, f"disk is {volume.disk.value}")
    if volume.connected:
        match volume.peer_role:
            case VolumeRole.SECONDARY:
                return PromotionVerdict(True, GateReason.PEER_SECONDARY, volume.describe())
            case VolumeRole.PRIMARY:
                return PromotionVerdict(False, GateReason.PEER_PRIMARY, volume.describe())
            case VolumeRole.UNKNOWN:
                return PromotionVerdict(False, GateReason.PEER_ROLE_UNKNOWN, volume.describe())
    if witness:
        if vote_until is not None and now_ns < vote_until:
            return PromotionVerdict(True, GateReason.WITNESS_VOTE, f"vote held for {vote_until - now_ns} ns")
        return PromotionVerdict(False, GateReason.NO_WITNESS_VOTE, "")
    return PromotionVerdict(
        True,
        GateReason.NO_WITNESS,
        f"fencing {fencing.value}: split brain is possible",
        split_brain_possible=True,
    )


def io_verdict(
    volume: VolumeObserved | None,
    *,
    witness: bool,
    vote_until: int | None,
    fencing: FencingPolicy,
    policy: QuorumLossPolicy,
    now_ns: int,
) -> IoVerdict:
    """What a Primary may do with writes now. For a volume that is not Primary: RUN (nothing to hold)."""
    if volume is None or volume.role is not VolumeRole.PRIMARY:
        return IoVerdict(IoMode.RUN, "the volume is not Primary")
    if volume.connected:
        return IoVerdict(IoMode.RUN, "the peer is connected")
    lost = IoMode.SUSPEND if policy is QuorumLossPolicy.SUSPEND else IoMode.ERROR
    if witness:
        if holds_vote(vote_until, now_ns):
            return IoVerdict(IoMode.RUN, "the peer is unreachable; this node holds the witness's vote")
        return IoVerdict(lost, "the peer is unreachable and this node does not hold the witness's vote")
    if fencing is FencingPolicy.RESOURCE_AND_STONITH:
        return IoVerdict(lost, "the peer is unreachable, no witness, fencing resource-and-stonith")
    return IoVerdict(IoMode.RUN, f"the peer is unreachable, no witness, fencing {fencing.value}")
