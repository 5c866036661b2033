"""The witness: a third vote that lets a node which has lost its peer decide whether it may be Primary.

Pure cores, like every core: `WitnessArbiter` runs on the witness host (`hapair witness`) and grants
the vote for a resource to at most one node at a time, as a lease; `WitnessClient` runs on each node,
asks only while it cannot see its peer, and reports `VoteChanged(resource, held_until_ns)`, which the
orchestrator takes as its `WitnessVoteChanged`. `codec` is the authenticated UDP wire format, `lease`
the drift arithmetic that keeps a holder's belief inside the witness's grant.
"""

from hapair.core.witness.arbiter import ArbiterSettings, WitnessArbiter
from hapair.core.witness.client import ClientSettings, UnknownResource, WitnessClient
from hapair.core.witness.codec import (
    LeaseId,
    VoteDenied,
    VoteGranted,
    VoteRelease,
    VoteRequest,
    WitnessMessage,
    WitnessMessageError,
    decode,
    encode,
)
from hapair.core.witness.events import (
    ArbiterEffect,
    ArbiterInput,
    ClientEffect,
    ClientInput,
    ClientNote,
    DatagramReceived,
    LocalRoleChanged,
    MessageDropped,
    PeerVisibilityChanged,
    ReplyReceived,
    SendReply,
    SendToWitness,
    TimerExpired,
    VoteAwarded,
    VoteChanged,
    VoteLapsed,
    VoteRefused,
    VoteRenewed,
    VoteReturned,
)
from hapair.core.witness.lease import LeaseTerms, LeaseTermsError, holder_validity_ns

DEFAULT_WITNESS_PORT = 7770  # below the 7788 + N that DRBD resources customarily use

__all__ = [
    "DEFAULT_WITNESS_PORT",
    "ArbiterEffect",
    "ArbiterInput",
    "ArbiterSettings",
    "ClientEffect",
    "ClientInput",
    "ClientNote",
    "ClientSettings",
    "DatagramReceived",
    "LeaseId",
    "LeaseTerms",
    "LeaseTermsError",
    "LocalRoleChanged",
    "MessageDropped",
    "PeerVisibilityChanged",
    "ReplyReceived",
    "SendReply",
    "SendToWitness",
    "TimerExpired",
    "UnknownResource",
    "VoteAwarded",
    "VoteChanged",
    "VoteDenied",
    "VoteGranted",
    "VoteLapsed",
    "VoteRefused",
    "VoteRelease",
    "VoteRenewed",
    "VoteRequest",
    "VoteReturned",
    "WitnessArbiter",
    "WitnessClient",
    "WitnessMessage",
    "WitnessMessageError",
    "decode",
    "encode",
    "holder_validity_ns",
]
