"""`hapair witness`: the asyncio shell around the pure vote holder (`WitnessArbiter`).

It receives vote requests on one UDP port, feeds them to the arbiter with the monotonic clock,
sends the replies, keeps one timer at the arbiter's next deadline, and logs the journal events
("why did node2 not get the vote"). Lines a sender can trigger at will are rate-limited.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable

from hapair.adapters.udp_endpoint import UdpEndpoint
from hapair.core.witness import WitnessArbiter
from hapair.core.witness.arbiter import ArbiterSettings
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
from hapair.daemon.log_lines import RateLimitedLog

log = logging.getLogger("hapair.witness")


def describe(effect: ArbiterEffect) -> tuple[str, str | None, bool] | None:
    """The log line for a journal event: (text, rate-limit key, detailed?); None for replies."""
    match effect:
        case SendReply():
            return None
        case VoteAwarded(resource=res, node=node, lease=lease):
            return f"{res}: vote granted to {node} (lease {lease})", None, False
        case VoteRenewed(resource=res, node=node):
            return f"{res}: lease of {node} renewed", None, True
        case VoteRefused(resource=res, node=node, reason=reason):
            return f"{res}: vote refused to {node}: {reason}", f"refused-{res}-{node}", False
        case VoteReturned(resource=res, node=node):
            return f"{res}: {node} released the vote", None, False
        case VoteLapsed(resource=res, node=node):
            return f"{res}: lease of {node} ran out", None, False
        case MessageDropped(reason=reason, sender=sender, rate_limit_key=key):
            return f"dropped a datagram from {sender}: {reason}", key, False


class WitnessService:
    """Serves votes on `listen` ("host", port) until stopped."""

    def __init__(
        self,
        settings: ArbiterSettings,
        listen: tuple[str, int],
        *,
        detailed_log: bool = False,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.clock = clock
        self.listen = listen
        self.arbiter = WitnessArbiter(settings, boot=secrets.randbits(64), started_ns=clock())
        self.endpoint = UdpEndpoint()
        self.log = RateLimitedLog(log, detailed_enabled=detailed_log)
        self._timer: asyncio.TimerHandle | None = None
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        await self.endpoint.open(local=self.listen)
        host, port = self.endpoint.local_address
        self.log.line(f"witness listening on {host}:{port}", self.clock())
        self.ready.set()
        receiver = asyncio.get_running_loop().create_task(self._receive())
        self._arm()
        try:
            await stop.wait()
        finally:
            receiver.cancel()
            await asyncio.gather(receiver, return_exceptions=True)
            if self._timer is not None:
                self._timer.cancel()
            self.endpoint.close()

    async def _receive(self) -> None:
        while True:
            datagram = await self.endpoint.receive()
            self.feed(DatagramReceived(datagram.data, datagram.sender))

    def feed(self, event: ArbiterInput) -> None:
        now = self.clock()
        for effect in self.arbiter.handle(event, now):
            if isinstance(effect, SendReply):
                self.endpoint.send(effect.data, effect.destination)
                continue
            described = describe(effect)
            if described is not None:
                text, key, detailed = described
                self.log.line(text, now, detailed=detailed, key=key)
        self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.arbiter.next_deadline()
        if deadline is not None:
            delay = max(0.0, (deadline - self.clock()) / 1e9)
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.feed(TimerExpired())
