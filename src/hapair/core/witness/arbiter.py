"""The witness host's vote holder: at most one node holds the vote for a resource at a time.

`WitnessArbiter.handle(input, now_ns)` takes a datagram (or a timer) and returns replies and journal
events. Per resource it keeps one lease: holder, its incarnation, the lease number and when it ends
on the witness's clock. A request from the holder renews; from anyone else while the lease runs,
it is refused with the time left; once the lease has run out, the next request wins. After a start
the arbiter grants nothing for the quiet period (`LeaseTerms.quiet_period_ns`), so that leases it
granted before a crash have run out at their holders (`hapair.core.witness.lease` has the proof).

Replay protection: per node, the arbiter keeps the incarnation (`boot`) it last heard and the highest
message number from it; a message from that incarnation with a number not above it is dropped. A
message from another incarnation is accepted as a restart of that node, except a release, which
must come from the incarnation holding the lease and name the current lease (`LeaseId`, unique
across witness restarts because it carries the witness's own incarnation). So a replayed or
delayed release can never free a lease its holder still believes in; a replayed request can at
worst hand the vote to a node that did not ask (availability, not safety).

State is bounded: known nodes only (when a node list is configured; else at most `max_nodes`), at
most `max_resources` resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from hapair.core.witness.codec import (
    LeaseId,
    VoteDenied,
    VoteGranted,
    VoteRelease,
    VoteRequest,
    WitnessMessageError,
    check_secret,
    decode,
    encode,
)
from hapair.core.witness.events import (
    ArbiterEffect,
    ArbiterInput,
    DatagramReceived,
    MessageDropped,
    SendReply,
    TimerExpired,
    VoteAwarded,
    VoteLapsed,
    VoteRefused,
    VoteRenewed,
    VoteReturned,
)
from hapair.core.witness.lease import DEFAULT_TERMS, LeaseTerms

DEFAULT_MAX_NODES = 16
DEFAULT_MAX_RESOURCES = 64


@dataclass(frozen=True, slots=True)
class ArbiterSettings:
    secret: bytes
    terms: LeaseTerms = DEFAULT_TERMS
    nodes: frozenset[str] | None = None  # None: any node name (at most max_nodes of them)
    max_nodes: int = DEFAULT_MAX_NODES
    max_resources: int = DEFAULT_MAX_RESOURCES

    def __post_init__(self) -> None:
        check_secret(self.secret)


@dataclass(slots=True)
class _Lease:
    holder: str
    holder_boot: int
    lease: LeaseId
    expires_ns: int


@dataclass(slots=True)
class _Sender:
    boot: int
    last_seq: int


class WitnessArbiter:
    """The witness's decisions; see the module docstring."""

    def __init__(self, settings: ArbiterSettings, *, boot: int, started_ns: int) -> None:
        """`boot`: a random 64-bit number the shell draws at start; it is part of every `LeaseId`,
        so leases of a previous incarnation can never be released by mistake. `started_ns`: the
        witness's clock at start, from which the quiet period runs."""
        self.settings = settings
        self.boot = boot
        self._quiet_until = started_ns + settings.terms.quiet_period_ns
        self._leases: dict[str, _Lease] = {}
        self._resources: set[str] = set()
        self._senders: dict[str, _Sender] = {}
        self._generation = 0
        self.dropped = 0

    def holder(self, resource: str, now_ns: int) -> str | None:
        """Who holds the vote for `resource` at `now_ns` (witness clock)."""
        lease = self._leases.get(resource)
        return lease.holder if lease is not None and now_ns < lease.expires_ns else None

    def next_deadline(self) -> int | None:
        """When a lease runs out (only to journal `VoteLapsed`; expiry is also checked on demand)."""
        times = [lease.expires_ns for lease in self._leases.values()]
        return min(times) if times else None

    def handle(self, event: ArbiterInput, now_ns: int) -> list[ArbiterEffect]:
        match event:
            case DatagramReceived(data=data, sender=sender):
                return self._lapse(now_ns) + self._datagram(data, sender, now_ns)
            case TimerExpired():
                return self._lapse(now_ns)
            case _:
                assert_never(event)

    # ---------------------------------------------------------------------------------- handling

    def _lapse(self, now_ns: int) -> list[ArbiterEffect]:
        effects: list[ArbiterEffect] = []
        for resource, lease in sorted(self._leases.items()):
            if now_ns >= lease.expires_ns:
                del self._leases[resource]
                effects.append(VoteLapsed(resource, lease.holder, lease.lease))
        return effects

    def _datagram(self, data: bytes, sender: str, now_ns: int) -> list[ArbiterEffect]:
        try:
            message = decode(data, self.settings.secret)
        except WitnessMessageError as exc:
            return self._drop(f"malformed: {exc.reason}", sender, "malformed")
        match message:
            case VoteRequest() | VoteRelease():
                pass
            case VoteGranted() | VoteDenied():
                return self._drop("a reply sent to the witness", sender, "reflected")
            case _:
                assert_never(message)
        refusal = self._admit(message)
        if refusal is not None:
            return self._drop(f"{refusal} from {message.node}", sender, f"{refusal}:{message.node}")
        if isinstance(message, VoteRelease):
            return self._release(message)
        return self._request(message, sender, now_ns)

    def _admit(self, message: VoteRequest | VoteRelease) -> str | None:
        """Why `message` must be dropped (None: accept it, recording its number)."""
        s = self.settings
        if s.nodes is not None and message.node not in s.nodes:
            return "unknown node"
        known = self._senders.get(message.node)
        if known is None and s.nodes is None and len(self._senders) >= s.max_nodes:
            return "too many nodes"
        if message.resource not in self._resources and len(self._resources) >= s.max_resources:
            return "too many resources"
        if known is not None and known.boot == message.boot:
            if message.seq <= known.last_seq:
                return "replayed"
            known.last_seq = message.seq
            return None
        if isinstance(message, VoteRelease):
            return "release from an incarnation that holds nothing"
        self._senders[message.node] = _Sender(message.boot, message.seq)
        return None

    def _request(self, request: VoteRequest, sender: str, now_ns: int) -> list[ArbiterEffect]:
        self._resources.add(request.resource)
        terms = self.settings.terms
        if now_ns < self._quiet_until:
            wait = self._quiet_until - now_ns
            reason = f"the witness started recently; it grants nothing for another {wait} ns"
            return self._deny(request, sender, wait, "", reason)
        lease = self._leases.get(request.resource)
        if lease is not None and lease.holder != request.node:
            reason = f"{lease.holder} holds the vote for another {lease.expires_ns - now_ns} ns"
            return self._deny(request, sender, lease.expires_ns - now_ns, lease.holder, reason)
        expires = now_ns + terms.lease_ns
        effects: list[ArbiterEffect] = []
        if lease is None:
            self._generation += 1
            lease = _Lease(request.node, request.boot, LeaseId(self.boot, self._generation), expires)
            self._leases[request.resource] = lease
            effects.append(VoteAwarded(request.resource, request.node, lease.lease, expires))
        else:
            lease.holder_boot = request.boot
            lease.expires_ns = expires
            effects.append(VoteRenewed(request.resource, request.node, lease.lease, expires))
        granted = VoteGranted(
            node=request.node,
            resource=request.resource,
            witness_boot=self.boot,
            echo_boot=request.boot,
            echo_seq=request.seq,
            lease=lease.lease,
            duration_ns=terms.lease_ns,
        )
        effects.insert(0, SendReply(encode(granted, self.settings.secret), sender))
        return effects

    def _deny(
        self, request: VoteRequest, sender: str, retry_after: int, holder: str, reason: str
    ) -> list[ArbiterEffect]:
        denied = VoteDenied(
            node=request.node,
            resource=request.resource,
            witness_boot=self.boot,
            echo_boot=request.boot,
            echo_seq=request.seq,
            retry_after_ns=max(0, retry_after),
            holder=holder,
        )
        return [
            SendReply(encode(denied, self.settings.secret), sender),
            VoteRefused(request.resource, request.node, holder, reason),
        ]

    def _release(self, release: VoteRelease) -> list[ArbiterEffect]:
        lease = self._leases.get(release.resource)
        if (
            lease is None
            or lease.holder != release.node
            or lease.holder_boot != release.boot
            or lease.lease != release.lease
        ):
            return []  # not the current lease of that incarnation: nothing to free
        del self._leases[release.resource]
        return [VoteReturned(release.resource, release.node, lease.lease)]

    def _drop(self, reason: str, sender: str, key: str) -> list[ArbiterEffect]:
        self.dropped += 1
        return [MessageDropped(reason, sender, key)]
