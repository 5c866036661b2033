"""Inputs and effects of the witness cores: the arbiter (on the witness host) and the client (on
each node). Datagrams travel as bytes; `hapair.core.witness.codec` turns them into messages.

Journal events are past-tense nouns and say why (`VoteRefused.reason`), so the witness's log answers
"why did node2 not get the vote".
"""

from __future__ import annotations

from dataclasses import dataclass

from hapair.core.witness.codec import LeaseId


@dataclass(frozen=True, slots=True)
class TimerExpired:
    """The deadline from `next_deadline()` has passed."""


# ------------------------------------------------------------------------------------- arbiter side


@dataclass(frozen=True, slots=True)
class DatagramReceived:
    """A datagram reached the witness port from `sender` (an address the shell can reply to)."""

    data: bytes
    sender: str


@dataclass(frozen=True, slots=True)
class SendReply:
    """Send `data` to `destination` (the `sender` of the request it answers)."""

    data: bytes
    destination: str


@dataclass(frozen=True, slots=True)
class VoteAwarded:
    """`node` now holds the vote for `resource` (a new lease, not a renewal)."""

    resource: str
    node: str
    lease: LeaseId
    expires_ns: int


@dataclass(frozen=True, slots=True)
class VoteRenewed:
    resource: str
    node: str
    lease: LeaseId
    expires_ns: int


@dataclass(frozen=True, slots=True)
class VoteRefused:
    """`node` asked and was refused: `reason` says who holds it or that the witness is still quiet."""

    resource: str
    node: str
    holder: str
    reason: str


@dataclass(frozen=True, slots=True)
class VoteReturned:
    """The holder released the vote."""

    resource: str
    node: str
    lease: LeaseId


@dataclass(frozen=True, slots=True)
class VoteLapsed:
    """The holder stopped renewing and the lease ran out."""

    resource: str
    node: str
    lease: LeaseId


@dataclass(frozen=True, slots=True)
class MessageDropped:
    """A datagram was refused (malformed, unauthenticated, replayed, unknown node, too many
    resources). `rate_limit_key` groups lines a sender can trigger at will."""

    reason: str
    sender: str
    rate_limit_key: str


ArbiterInput = DatagramReceived | TimerExpired
ArbiterEffect = (
    SendReply | VoteAwarded | VoteRenewed | VoteRefused | VoteReturned | VoteLapsed | MessageDropped
)


# -------------------------------------------------------------------------------------- client side


@dataclass(frozen=True, slots=True)
class PeerVisibilityChanged:
    """Whether this node can see its peer for `resource` (the replication link is connected).
    The client asks the witness only while it cannot."""

    resource: str
    visible: bool


@dataclass(frozen=True, slots=True)
class LocalRoleChanged:
    """This node's roles for `resource`: whether its volume is Primary and whether its VRRP instance
    is MASTER. Only a candidate (either) asks; a Primary at once, a master after a delay, so that a
    live Primary wins the race for the vote when only the link between the nodes broke."""

    resource: str
    primary: bool
    master: bool = False


@dataclass(frozen=True, slots=True)
class ReplyReceived:
    """A datagram arrived from the witness."""

    data: bytes


@dataclass(frozen=True, slots=True)
class SendToWitness:
    data: bytes


@dataclass(frozen=True, slots=True)
class VoteChanged:
    """Whether this node holds the vote for `resource`: until `held_until_ns` on this node's clock
    (None: it does not). Emitted on every change; the orchestrator takes it as `WitnessVoteChanged`
    and checks `now_ns < held_until_ns` itself, so a late timer cannot stretch the lease."""

    resource: str
    held_until_ns: int | None
    lease: LeaseId | None
    cause: str


@dataclass(frozen=True, slots=True)
class ClientNote:
    """A log line about the client's traffic (dropped replies); `rate_limit_key` as in MessageDropped."""

    text: str
    rate_limit_key: str


ClientInput = PeerVisibilityChanged | LocalRoleChanged | ReplyReceived | TimerExpired
ClientEffect = SendToWitness | VoteChanged | ClientNote
