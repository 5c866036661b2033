"""The node side of the witness on the asyncio loop: the pure `WitnessClient` plus a UDP socket.

The daemon tells the driver what the node sees (`peer_visible`, `local_role`) and learns whether
it holds the vote through `on_vote`, which receives the core's `VoteChanged` (the orchestrator takes
it as `WitnessVoteChanged`). Datagrams go to the witness's one address; replies come back on the
same socket. One timer follows the core's next deadline.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Sequence

from hapair.adapters.udp_endpoint import UdpEndpoint, split_address
from hapair.core.witness import WitnessClient
from hapair.core.witness.client import ClientSettings
from hapair.core.witness.events import (
    ClientInput,
    ClientNote,
    LocalRoleChanged,
    PeerVisibilityChanged,
    ReplyReceived,
    SendToWitness,
    TimerExpired,
    VoteChanged,
)
from hapair.daemon.log_lines import RateLimitedLog

log = logging.getLogger("hapair.witness.client")


class WitnessClientDriver:
    """Asks the witness at `address` ("host:port") for votes on behalf of this node."""

    def __init__(
        self,
        settings: ClientSettings,
        address: str,
        resources: Sequence[str],
        on_vote: Callable[[VoteChanged], None],
        *,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.clock = clock
        self.address = address
        self.client = WitnessClient(settings, boot=secrets.randbits(64), resources=tuple(resources))
        self.on_vote = on_vote
        self.endpoint = UdpEndpoint()
        self.log = RateLimitedLog(log)
        self._timer: asyncio.TimerHandle | None = None
        self._receiver: asyncio.Task[None] | None = None

    async def open(self, default_port: int) -> None:
        await self.endpoint.open(remote=split_address(self.address, default_port))
        self._receiver = asyncio.get_running_loop().create_task(self._receive())

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._receiver is not None:
            self._receiver.cancel()
            await asyncio.gather(self._receiver, return_exceptions=True)
            self._receiver = None
        self.endpoint.close()

    def peer_visible(self, resource: str, visible: bool) -> None:
        self.feed(PeerVisibilityChanged(resource, visible))

    def local_role(self, resource: str, *, primary: bool, master: bool) -> None:
        self.feed(LocalRoleChanged(resource, primary, master))

    async def _receive(self) -> None:
        while True:
            datagram = await self.endpoint.receive()
            self.feed(ReplyReceived(datagram.data))

    def feed(self, event: ClientInput) -> None:
        now = self.clock()
        for effect in self.client.handle(event, now):
            match effect:
                case SendToWitness(data=data):
                    self.endpoint.send(data)
                case VoteChanged():
                    state = "held" if effect.held_until_ns else "not held"
                    self.log.line(f"{effect.resource}: witness vote {state} ({effect.cause})", now)
                    self.on_vote(effect)
                case ClientNote(text=text, rate_limit_key=key):
                    self.log.line(text, now, key=key)
        self._arm(now)

    def _arm(self, now: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.client.next_deadline()
        if deadline is not None:
            self._timer = asyncio.get_running_loop().call_later(
                max(0.0, (deadline - now) / 1e9), self._on_timer
            )

    def _on_timer(self) -> None:
        self._timer = None
        self.feed(TimerExpired())
