"""`hapair witness` and the node-side driver over real UDP on loopback (no root needed).

Two node drivers ask the witness service for the vote on `r0`: at most one holds it at any time;
a holder that goes away (stops renewing) loses it when its lease runs out, and the other gets it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from hapair.core.witness import LeaseTerms
from hapair.core.witness.arbiter import ArbiterSettings
from hapair.core.witness.client import ClientSettings
from hapair.core.witness.events import VoteChanged
from hapair.daemon.witness_client_driver import WitnessClientDriver
from hapair.daemon.witness_service import WitnessService

SECRET = b"witness-test-secret"
TERMS = LeaseTerms(lease_ns=600_000_000, drift_ppm=10_000, margin_ns=50_000_000)


class Votes:
    """What each node believes, checked on every change: never two holders at once."""

    def __init__(self) -> None:
        self.held: dict[str, int | None] = {"node1": None, "node2": None}
        self.granted = {"node1": asyncio.Event(), "node2": asyncio.Event()}
        self.overlaps: list[str] = []

    def recorder(self, node: str) -> Callable[[VoteChanged], None]:
        def on_vote(change: VoteChanged) -> None:
            self.held[node] = change.held_until_ns
            other = self.held["node2" if node == "node1" else "node1"]
            if change.held_until_ns and other and other > time.monotonic_ns():
                self.overlaps.append(f"{node} got the vote while the other held it")
            if change.held_until_ns:
                self.granted[node].set()

        return on_vote


def test_one_holder_at_a_time_and_handover_after_the_lease() -> None:
    async def scenario() -> None:
        stop = asyncio.Event()
        service = WitnessService(ArbiterSettings(secret=SECRET, terms=TERMS), ("127.0.0.1", 0))
        serving = asyncio.get_running_loop().create_task(service.run(stop))
        await asyncio.wait_for(service.ready.wait(), 2)
        address = "{}:{}".format(*service.endpoint.local_address)
        votes = Votes()
        drivers = {}
        for node in ("node1", "node2"):
            settings = ClientSettings(node=node, secret=SECRET, terms=TERMS, retry_ns=100_000_000)
            driver = WitnessClientDriver(settings, address, ["r0"], votes.recorder(node))
            await driver.open(0)
            drivers[node] = driver
        try:
            drivers["node1"].peer_visible("r0", False)
            drivers["node1"].local_role("r0", primary=True, master=True)
            # The witness is quiet for one lease after its start (requests in that time are refused
            # and retried when it ends), then grants node1.
            await asyncio.wait_for(votes.granted["node1"].wait(), 3)
            drivers["node2"].peer_visible("r0", False)
            drivers["node2"].local_role("r0", primary=False, master=True)
            await asyncio.sleep(1.0)  # node1 renews; node2 keeps being refused
            assert not votes.granted["node2"].is_set()
            held_until = votes.held["node1"]
            assert held_until is not None and held_until > time.monotonic_ns()
            # node1 disappears without releasing: node2 gets the vote once the lease has run out.
            await drivers["node1"].close()
            gone = time.monotonic()
            await asyncio.wait_for(votes.granted["node2"].wait(), 4)
            assert time.monotonic() - gone >= 0.3  # not before node1's lease could have ended
            assert votes.overlaps == []
        finally:
            for driver in drivers.values():
                await driver.close()
            stop.set()
            await serving

    asyncio.run(scenario())
