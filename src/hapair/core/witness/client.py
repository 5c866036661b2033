"""The node side of the witness: ask for the vote only while the peer cannot be seen (and this node
is a candidate: Primary, or VRRP master), renew it while still needed, give it back when the peer
is seen again or the node stops being a candidate, and say whether it is held.

`WitnessClient.handle(input, now_ns)` returns datagrams for the witness (`SendToWitness`) and
`VoteChanged(resource, held_until_ns, ...)` whenever the answer to "do I hold the vote" changes.
Belief is computed from the *send* time of the request a grant answers, never from the time the
grant arrived: `held_until = sent + LeaseTerms.holder_validity(duration)`, which ends strictly
before the witness could hand the vote to anyone else (`hapair.core.witness.lease`).

A node that is neither Primary nor VRRP master has no use for the vote and never asks: it would
only take it away from the master that needs it.

Schedule, per resource, while the peer is not visible and the node is a candidate:
- not holding: a Primary asks at once, a VRRP master that is not Primary after `standby_delay_ns`
  (so a live Primary whose link to the peer broke wins the vote); unanswered requests
  are repeated every `retry_ns`; after a refusal, the next request waits for the time the witness
  said is left (at least `retry_ns`, at most one lease);
- holding: renew when a third of the validity has passed since the request that earned it, and
  repeat unanswered renewals every `retry_ns`; without an answer, belief ends at `held_until`.

Only replies that echo this incarnation (`boot`) and one of its last `max_outstanding` requests for
that resource are believed, and never one older than a reply already taken: a replayed or late
grant cannot extend anything, and a refusal for a newer request ends belief at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
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
    ClientEffect,
    ClientInput,
    ClientNote,
    LocalRoleChanged,
    PeerVisibilityChanged,
    ReplyReceived,
    SendToWitness,
    TimerExpired,
    VoteChanged,
)
from hapair.core.witness.lease import DEFAULT_TERMS, NS_PER_MS, LeaseTerms
from hapair.errors import LocalProtocolError

DEFAULT_RETRY_NS = 250 * NS_PER_MS
DEFAULT_STANDBY_DELAY_NS = 300 * NS_PER_MS
DEFAULT_MAX_OUTSTANDING = 8


class UnknownResource(LocalProtocolError):
    """An input named a resource this client was not set up for."""


@dataclass(frozen=True, slots=True)
class ClientSettings:
    node: str
    secret: bytes
    terms: LeaseTerms = DEFAULT_TERMS
    retry_ns: int = DEFAULT_RETRY_NS
    standby_delay_ns: int = DEFAULT_STANDBY_DELAY_NS
    max_outstanding: int = DEFAULT_MAX_OUTSTANDING

    def __post_init__(self) -> None:
        check_secret(self.secret)
        if self.retry_ns <= 0 or self.standby_delay_ns < 0 or self.max_outstanding < 1:
            raise ValueError("retry must be positive, the standby delay not negative, outstanding >= 1")


@dataclass(slots=True)
class _Ballot:
    """One resource's vote, as this node sees it."""

    visible: bool = True
    primary: bool = False
    master: bool = False
    needed: bool = False
    needed_since: int = 0
    held_until: int | None = None
    lease: LeaseId | None = None
    earned_at: int = 0  # send time of the request whose grant is believed
    outstanding: dict[int, int] = field(default_factory=dict)  # seq -> send time
    last_sent: int | None = None
    last_answered: int = 0
    retry_at: int = 0

    def holds(self, now_ns: int) -> bool:
        return self.held_until is not None and now_ns < self.held_until


class WitnessClient:
    """This node's view of the witness vote for each of its resources."""

    def __init__(self, settings: ClientSettings, *, boot: int, resources: Iterable[str]) -> None:
        """`boot` names this incarnation of the node: a random 64-bit number the shell draws at
        start (`secrets.randbits(64)`), so that a restarted node is told apart from replays of the
        previous one. `resources`: the resources (groups) this node may need the vote for."""
        self.settings = settings
        self.boot = boot
        self._seq = 0
        self._ballots: dict[str, _Ballot] = {name: _Ballot() for name in resources}
        self.dropped = 0

    def held_until(self, resource: str) -> int | None:
        return self._ballot(resource).held_until

    def next_deadline(self) -> int | None:
        times: list[int] = []
        for ballot in self._ballots.values():
            if ballot.held_until is not None:
                times.append(ballot.held_until)
            when = self._next_request_at(ballot)
            if when is not None:
                times.append(when)
        return min(times) if times else None

    def handle(self, event: ClientInput, now_ns: int) -> list[ClientEffect]:
        effects: list[ClientEffect] = []
        match event:
            case PeerVisibilityChanged(resource=resource, visible=visible):
                ballot = self._ballot(resource)
                ballot.visible = visible
                effects += self._update_need(resource, ballot, now_ns, "the peer is visible again")
            case LocalRoleChanged(resource=resource, primary=primary, master=master):
                ballot = self._ballot(resource)
                ballot.primary, ballot.master = primary, master
                effects += self._update_need(resource, ballot, now_ns, "this node is no longer a candidate")
            case ReplyReceived(data=data):
                effects += self._reply(data, now_ns)
            case TimerExpired():
                pass
            case _:
                assert_never(event)
        for resource, ballot in sorted(self._ballots.items()):
            effects += self._expire(resource, ballot, now_ns)
            effects += self._maybe_send(resource, ballot, now_ns)
        return effects

    # --------------------------------------------------------------------------------- decisions

    def _ballot(self, resource: str) -> _Ballot:
        ballot = self._ballots.get(resource)
        if ballot is None:
            raise UnknownResource(f"the witness client has no resource {resource!r}")
        return ballot

    def _update_need(self, resource: str, ballot: _Ballot, now_ns: int, cause: str) -> list[ClientEffect]:
        needed = not ballot.visible and (ballot.primary or ballot.master)
        if needed == ballot.needed:
            return []
        ballot.needed = needed
        if needed:
            ballot.needed_since = now_ns
            ballot.retry_at = 0
            return []
        effects = self._release(resource, ballot)
        ballot.last_sent = None  # outstanding requests stay known: a late grant is given straight back
        return effects + self._believe(resource, ballot, None, None, cause)

    def _next_request_at(self, ballot: _Ballot) -> int | None:
        if not ballot.needed:
            return None
        s = self.settings
        if ballot.held_until is not None:
            due = ballot.earned_at + (ballot.held_until - ballot.earned_at) // 3  # of the lease granted
        else:
            due = max(ballot.needed_since + (0 if ballot.primary else s.standby_delay_ns), ballot.retry_at)
        if ballot.last_sent is not None:
            due = max(due, ballot.last_sent + s.retry_ns)
        return due

    def _maybe_send(self, resource: str, ballot: _Ballot, now_ns: int) -> list[ClientEffect]:
        due = self._next_request_at(ballot)
        if due is None or now_ns < due:
            return []
        self._seq += 1
        ballot.outstanding[self._seq] = now_ns
        while len(ballot.outstanding) > self.settings.max_outstanding:
            del ballot.outstanding[min(ballot.outstanding)]
        ballot.last_sent = now_ns
        request = VoteRequest(self.settings.node, resource, self.boot, self._seq, ballot.primary)
        return [SendToWitness(encode(request, self.settings.secret))]

    def _expire(self, resource: str, ballot: _Ballot, now_ns: int) -> list[ClientEffect]:
        if ballot.held_until is None or ballot.holds(now_ns):
            return []
        return self._believe(resource, ballot, None, None, "the lease ran out without a renewal")

    def _release(self, resource: str, ballot: _Ballot) -> list[ClientEffect]:
        if ballot.lease is None:
            return []
        self._seq += 1
        release = VoteRelease(self.settings.node, resource, self.boot, self._seq, ballot.lease)
        return [SendToWitness(encode(release, self.settings.secret))]

    def _believe(
        self, resource: str, ballot: _Ballot, until: int | None, lease: LeaseId | None, cause: str
    ) -> list[ClientEffect]:
        changed = (until, lease) != (ballot.held_until, ballot.lease)
        ballot.held_until, ballot.lease = until, lease
        return [VoteChanged(resource, until, lease, cause)] if changed else []

    # ------------------------------------------------------------------------------------ replies

    def _reply(self, data: bytes, now_ns: int) -> list[ClientEffect]:
        try:
            message = decode(data, self.settings.secret)
        except WitnessMessageError as exc:
            return self._drop(f"witness reply dropped: {exc.reason}", "malformed")
        match message:
            case VoteGranted() | VoteDenied():
                pass
            case VoteRequest() | VoteRelease():
                return self._drop("witness reply dropped: a request sent to a node", "reflected")
            case _:
                assert_never(message)
        ballot = self._ballots.get(message.resource)
        if (
            ballot is None
            or message.node != self.settings.node
            or message.echo_boot != self.boot
            or message.echo_seq not in ballot.outstanding
        ):
            return self._drop("witness reply dropped: it answers no request of ours", "unexpected")
        if message.echo_seq < ballot.last_answered:
            return []  # overtaken by the answer to a later request
        ballot.last_answered = message.echo_seq
        sent = ballot.outstanding[message.echo_seq]
        if isinstance(message, VoteDenied):
            return self._denied(message, ballot, now_ns)
        return self._granted(message, ballot, sent, now_ns)

    def _granted(self, grant: VoteGranted, ballot: _Ballot, sent: int, now_ns: int) -> list[ClientEffect]:
        resource = grant.resource
        if not ballot.needed:
            # Granted after we stopped needing it: give it straight back.
            ballot.lease = grant.lease
            effects = self._release(resource, ballot)
            ballot.lease = None
            return effects
        until = sent + self.settings.terms.holder_validity(grant.duration_ns)
        if until <= now_ns:
            return self._believe(resource, ballot, None, None, "a grant arrived after it would have run out")
        ballot.earned_at = sent
        ballot.retry_at = 0
        cause = "renewed" if ballot.lease == grant.lease else "granted by the witness"
        return self._believe(resource, ballot, until, grant.lease, cause)

    def _denied(self, denied: VoteDenied, ballot: _Ballot, now_ns: int) -> list[ClientEffect]:
        s = self.settings
        wait = min(max(denied.retry_after_ns, s.retry_ns), s.terms.lease_ns)
        ballot.retry_at = now_ns + wait
        who = denied.holder or "nobody yet (the witness is in its quiet period)"
        return self._believe(denied.resource, ballot, None, None, f"refused by the witness: held by {who}")

    def _drop(self, text: str, key: str) -> list[ClientEffect]:
        self.dropped += 1
        return [ClientNote(text, key)]
