"""Split-brain recovery policies (`after-sb-0pri`, `after-sb-1pri`, `after-sb-2pri`, `rr-conflict`).

When the connect-time comparison finds that both nodes wrote while apart from a common parent
(rule 90, or rule 100 with `always-asbp`), these policies decide who loses, based on how many
nodes are Primary right now. They mirror DRBD 8.4's `drbd_asb_recover_0p/1p/2p` including the
fall-through from discard-younger/older-primary to the change-count policies. A result of
`SYNC_FROM_PEER` means "my changes are discarded: I become SyncTarget".

The defaults are all `disconnect`: automatic recovery is configured, automatic data loss (the DRBD
User's Guide says so), and nothing here discards data unless the operator asked for it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import assert_never

from hapair.core.volume.states import Role


class AfterSbPolicy(enum.Enum):
    """DRBD's `enum drbd_after_sb_p`; the values travel on the wire in the protocol exchange."""

    DISCONNECT = 0
    DISCARD_YOUNGER_PRIMARY = 1
    DISCARD_OLDER_PRIMARY = 2
    DISCARD_ZERO_CHANGES = 3
    DISCARD_LEAST_CHANGES = 4
    DISCARD_LOCAL = 5
    DISCARD_REMOTE = 6
    CONSENSUS = 7
    DISCARD_SECONDARY = 8
    CALL_PRI_LOST_AFTER_SB = 9
    VIOLENTLY_AS0P = 10

    @property
    def keyword(self) -> str:
        return _KEYWORDS[self]

    def as_seen_by_peer(self) -> AfterSbPolicy:
        """DRBD's `convert_after_sb`: discard-local on one side is discard-remote on the other."""
        if self is AfterSbPolicy.DISCARD_LOCAL:
            return AfterSbPolicy.DISCARD_REMOTE
        if self is AfterSbPolicy.DISCARD_REMOTE:
            return AfterSbPolicy.DISCARD_LOCAL
        return self


_KEYWORDS = {
    AfterSbPolicy.DISCONNECT: "disconnect",
    AfterSbPolicy.DISCARD_YOUNGER_PRIMARY: "discard-younger-primary",
    AfterSbPolicy.DISCARD_OLDER_PRIMARY: "discard-older-primary",
    AfterSbPolicy.DISCARD_ZERO_CHANGES: "discard-zero-changes",
    AfterSbPolicy.DISCARD_LEAST_CHANGES: "discard-least-changes",
    AfterSbPolicy.DISCARD_LOCAL: "discard-local",
    AfterSbPolicy.DISCARD_REMOTE: "discard-remote",
    AfterSbPolicy.CONSENSUS: "consensus",
    AfterSbPolicy.DISCARD_SECONDARY: "discard-secondary",
    AfterSbPolicy.CALL_PRI_LOST_AFTER_SB: "call-pri-lost-after-sb",
    AfterSbPolicy.VIOLENTLY_AS0P: "violently-as0p",
}

AFTER_SB_0PRI_POLICIES = frozenset(
    {
        AfterSbPolicy.DISCONNECT,
        AfterSbPolicy.DISCARD_YOUNGER_PRIMARY,
        AfterSbPolicy.DISCARD_OLDER_PRIMARY,
        AfterSbPolicy.DISCARD_ZERO_CHANGES,
        AfterSbPolicy.DISCARD_LEAST_CHANGES,
        AfterSbPolicy.DISCARD_LOCAL,
        AfterSbPolicy.DISCARD_REMOTE,
    }
)
AFTER_SB_1PRI_POLICIES = frozenset(
    {
        AfterSbPolicy.DISCONNECT,
        AfterSbPolicy.CONSENSUS,
        AfterSbPolicy.VIOLENTLY_AS0P,
        AfterSbPolicy.DISCARD_SECONDARY,
        AfterSbPolicy.CALL_PRI_LOST_AFTER_SB,
    }
)
AFTER_SB_2PRI_POLICIES = frozenset(
    {AfterSbPolicy.DISCONNECT, AfterSbPolicy.VIOLENTLY_AS0P, AfterSbPolicy.CALL_PRI_LOST_AFTER_SB}
)


def parse_after_sb(keyword: str, *, local_node: str) -> AfterSbPolicy:
    """A policy keyword as written in `net { after-sb-*pri ...; }`.

    `discard-node-NAME` becomes discard-local on node NAME and discard-remote elsewhere, the way
    drbdadm rewrites it before the kernel sees it. ValueError for an unknown keyword.
    """
    if keyword.startswith("discard-node-"):
        name = keyword.removeprefix("discard-node-")
        if not name:
            raise ValueError("discard-node- needs a node name")
        return AfterSbPolicy.DISCARD_LOCAL if name == local_node else AfterSbPolicy.DISCARD_REMOTE
    for policy, word in _KEYWORDS.items():
        if word == keyword:
            return policy
    raise ValueError(f"unknown after-sb policy {keyword!r}")


class RrConflict(enum.Enum):
    """`rr-conflict`: the handshake says the current Primary must become SyncTarget."""

    DISCONNECT = 0
    CALL_PRI_LOST = 9
    VIOLENTLY = 10

    @property
    def keyword(self) -> str:
        return {"DISCONNECT": "disconnect", "CALL_PRI_LOST": "call-pri-lost", "VIOLENTLY": "violently"}[
            self.name
        ]


@dataclass(frozen=True, slots=True)
class SplitBrainPolicies:
    """The `net` section's split-brain options, with DRBD's defaults."""

    after_sb_0pri: AfterSbPolicy = AfterSbPolicy.DISCONNECT
    after_sb_1pri: AfterSbPolicy = AfterSbPolicy.DISCONNECT
    after_sb_2pri: AfterSbPolicy = AfterSbPolicy.DISCONNECT
    always_asbp: bool = False
    rr_conflict: RrConflict = RrConflict.DISCONNECT

    def misconfigured(self) -> list[str]:
        """Policies not allowed in their slot, in drbdadm's words (the policy would be ignored)."""
        problems = []
        for slot, policy, allowed in (
            ("after-sb-0pri", self.after_sb_0pri, AFTER_SB_0PRI_POLICIES),
            ("after-sb-1pri", self.after_sb_1pri, AFTER_SB_1PRI_POLICIES),
            ("after-sb-2pri", self.after_sb_2pri, AFTER_SB_2PRI_POLICIES),
        ):
            if policy not in allowed:
                problems.append(f"{slot}: '{policy.keyword}' is not a valid policy here")
        return problems


class Recovery(enum.Enum):
    """What a split-brain policy decided (DRBD's hg: +1, -1, or -100 unresolved)."""

    SYNC_FROM_THIS = 1
    SYNC_FROM_PEER = -1
    UNRESOLVED = -100


@dataclass(frozen=True, slots=True)
class SplitBrainFacts:
    """What the policies look at: bit 0 of each bitmap id ("was Primary when the generation
    started"), each side's count of changed blocks, the tie-break bit, and my role now."""

    self_bitmap_uuid: int
    peer_bitmap_uuid: int
    self_changes: int
    peer_changes: int
    resolve_conflicts: bool
    self_role: Role


@dataclass(frozen=True, slots=True)
class SplitBrainVerdict:
    """A policy's decision, plus whether this (Primary) node must give up its role to lose."""

    recovery: Recovery
    demote_self: bool = False
    warnings: tuple[str, ...] = ()


def _tie_break(facts: SplitBrainFacts) -> Recovery:
    return Recovery.SYNC_FROM_PEER if facts.resolve_conflicts else Recovery.SYNC_FROM_THIS


def recover_0pri(policy: AfterSbPolicy, facts: SplitBrainFacts) -> SplitBrainVerdict:
    """`drbd_asb_recover_0p`: also the base decision the 1pri/2pri policies build on."""
    self_older = facts.self_bitmap_uuid & 1
    peer_older = facts.peer_bitmap_uuid & 1
    warnings: list[str] = []
    ch_self, ch_peer = facts.self_changes, facts.peer_changes

    def done(recovery: Recovery) -> SplitBrainVerdict:
        return SplitBrainVerdict(recovery, warnings=tuple(warnings))

    match policy:
        case (
            AfterSbPolicy.CONSENSUS
            | AfterSbPolicy.DISCARD_SECONDARY
            | AfterSbPolicy.CALL_PRI_LOST_AFTER_SB
            | AfterSbPolicy.VIOLENTLY_AS0P
        ):
            warnings.append("Configuration error.")
            return done(Recovery.UNRESOLVED)
        case AfterSbPolicy.DISCONNECT:
            return done(Recovery.UNRESOLVED)
        case AfterSbPolicy.DISCARD_LOCAL:
            return done(Recovery.SYNC_FROM_PEER)
        case AfterSbPolicy.DISCARD_REMOTE:
            return done(Recovery.SYNC_FROM_THIS)
        case (
            AfterSbPolicy.DISCARD_YOUNGER_PRIMARY
            | AfterSbPolicy.DISCARD_OLDER_PRIMARY
            | AfterSbPolicy.DISCARD_ZERO_CHANGES
            | AfterSbPolicy.DISCARD_LEAST_CHANGES
        ):
            pass
        case unreachable:
            assert_never(unreachable)
    # The fall-through chain of DRBD's switch: younger -> older -> zero changes -> least changes.
    if policy is AfterSbPolicy.DISCARD_YOUNGER_PRIMARY:
        if (self_older, peer_older) == (0, 1):
            return done(Recovery.SYNC_FROM_PEER)
        if (self_older, peer_older) == (1, 0):
            return done(Recovery.SYNC_FROM_THIS)
    if policy in (AfterSbPolicy.DISCARD_YOUNGER_PRIMARY, AfterSbPolicy.DISCARD_OLDER_PRIMARY):
        if (self_older, peer_older) == (0, 1):
            return done(Recovery.SYNC_FROM_THIS)
        if (self_older, peer_older) == (1, 0):
            return done(Recovery.SYNC_FROM_PEER)
        warnings.append(
            "Discard younger/older primary did not find a decision\nUsing discard-least-changes instead"
        )
    if policy is not AfterSbPolicy.DISCARD_LEAST_CHANGES:
        if ch_peer == 0 and ch_self == 0:
            return done(_tie_break(facts))
        if ch_peer == 0:
            return done(Recovery.SYNC_FROM_THIS)
        if ch_self == 0:
            return done(Recovery.SYNC_FROM_PEER)
        if policy is AfterSbPolicy.DISCARD_ZERO_CHANGES:
            return done(Recovery.UNRESOLVED)
    if ch_self < ch_peer:
        return done(Recovery.SYNC_FROM_PEER)
    if ch_self > ch_peer:
        return done(Recovery.SYNC_FROM_THIS)
    return done(_tie_break(facts))


def recover_1pri(
    policy: AfterSbPolicy, base_0pri: AfterSbPolicy, facts: SplitBrainFacts
) -> SplitBrainVerdict:
    """`drbd_asb_recover_1p`: one node is Primary now. `base_0pri` is the after-sb-0pri policy."""
    primary = facts.self_role is Role.PRIMARY
    match policy:
        case AfterSbPolicy.DISCONNECT:
            return SplitBrainVerdict(Recovery.UNRESOLVED)
        case AfterSbPolicy.CONSENSUS:
            base = recover_0pri(base_0pri, facts)
            agreed = (base.recovery is Recovery.SYNC_FROM_PEER and not primary) or (
                base.recovery is Recovery.SYNC_FROM_THIS and primary
            )
            return SplitBrainVerdict(base.recovery if agreed else Recovery.UNRESOLVED, warnings=base.warnings)
        case AfterSbPolicy.VIOLENTLY_AS0P:
            return recover_0pri(base_0pri, facts)
        case AfterSbPolicy.DISCARD_SECONDARY:
            return SplitBrainVerdict(Recovery.SYNC_FROM_THIS if primary else Recovery.SYNC_FROM_PEER)
        case AfterSbPolicy.CALL_PRI_LOST_AFTER_SB:
            base = recover_0pri(base_0pri, facts)
            lose_as_primary = base.recovery is Recovery.SYNC_FROM_PEER and primary
            return SplitBrainVerdict(base.recovery, demote_self=lose_as_primary, warnings=base.warnings)
        case (
            AfterSbPolicy.DISCARD_YOUNGER_PRIMARY
            | AfterSbPolicy.DISCARD_OLDER_PRIMARY
            | AfterSbPolicy.DISCARD_LEAST_CHANGES
            | AfterSbPolicy.DISCARD_LOCAL
            | AfterSbPolicy.DISCARD_REMOTE
            | AfterSbPolicy.DISCARD_ZERO_CHANGES
        ):
            return SplitBrainVerdict(Recovery.UNRESOLVED, warnings=("Configuration error.",))
        case unreachable:
            assert_never(unreachable)


def recover_2pri(
    policy: AfterSbPolicy, base_0pri: AfterSbPolicy, facts: SplitBrainFacts
) -> SplitBrainVerdict:
    """`drbd_asb_recover_2p`: both nodes are Primary now (only with allow-two-primaries)."""
    match policy:
        case AfterSbPolicy.DISCONNECT:
            return SplitBrainVerdict(Recovery.UNRESOLVED)
        case AfterSbPolicy.VIOLENTLY_AS0P:
            return recover_0pri(base_0pri, facts)
        case AfterSbPolicy.CALL_PRI_LOST_AFTER_SB:
            base = recover_0pri(base_0pri, facts)
            lose = base.recovery is Recovery.SYNC_FROM_PEER
            return SplitBrainVerdict(base.recovery, demote_self=lose, warnings=base.warnings)
        case (
            AfterSbPolicy.DISCARD_YOUNGER_PRIMARY
            | AfterSbPolicy.DISCARD_OLDER_PRIMARY
            | AfterSbPolicy.DISCARD_LEAST_CHANGES
            | AfterSbPolicy.DISCARD_LOCAL
            | AfterSbPolicy.DISCARD_REMOTE
            | AfterSbPolicy.CONSENSUS
            | AfterSbPolicy.DISCARD_SECONDARY
            | AfterSbPolicy.DISCARD_ZERO_CHANGES
        ):
            return SplitBrainVerdict(Recovery.UNRESOLVED, warnings=("Configuration error.",))
        case unreachable:
            assert_never(unreachable)


def recover(primaries: int, policies: SplitBrainPolicies, facts: SplitBrainFacts) -> SplitBrainVerdict:
    """Apply the policy for the number of Primaries now (0, 1 or 2)."""
    if primaries == 0:
        return recover_0pri(policies.after_sb_0pri, facts)
    if primaries == 1:
        return recover_1pri(policies.after_sb_1pri, policies.after_sb_0pri, facts)
    if primaries == 2:
        return recover_2pri(policies.after_sb_2pri, policies.after_sb_0pri, facts)
    raise ValueError(f"a two-node pair has 0, 1 or 2 primaries, not {primaries}")


def manual_recovery(*, self_discards: bool, peer_discards: bool) -> Recovery:
    """`connect --discard-my-data`: exactly one side must have asked to lose its changes."""
    if self_discards and not peer_discards:
        return Recovery.SYNC_FROM_PEER
    if peer_discards and not self_discards:
        return Recovery.SYNC_FROM_THIS
    return Recovery.UNRESOLVED
