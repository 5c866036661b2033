"""Two clients with drifting clocks, arbitrary delays, losses, duplicates and witness restarts never
both believe they hold the vote at the same real moment."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from witness_world import Clock, Network, WitnessWorld

from hapair.core.witness import LeaseTerms

S = 1_000_000_000
MS = 1_000_000
LEASE = S
HORIZON = 20 * S


LINKS = [("node1", "witness"), ("witness", "node1"), ("node2", "witness"), ("witness", "node2")]


def network_for(
    rng: random.Random,
    loss: dict[tuple[str, str], float],
    cuts: list[tuple[tuple[str, str], int, int]],
    duplicate: float,
    max_delay: int,
) -> Network:
    """Each direction has its own loss rate and may be cut for whole windows (a partition)."""

    def deliver(sender: str, receiver: str, now: int) -> list[int]:
        link = (sender, receiver)
        if any(cut == link and start <= now < start + length for cut, start, length in cuts):
            return []
        if rng.random() < loss[link]:
            return []
        copies = 2 if rng.random() < duplicate else 1
        # mostly short, sometimes up to max_delay (which may exceed a lease): delays reorder too
        return [int(rng.random() ** 3 * max_delay) for _ in range(copies)]

    return deliver


def clock_for(drift: int) -> st.SearchStrategy[Clock]:
    ppm = st.one_of(
        st.sampled_from([-drift, drift]), st.sampled_from([-drift, drift]), st.integers(-drift, drift)
    )
    return st.builds(Clock, st.integers(0, 10**12), ppm)


@st.composite
def worlds(draw: st.DrawFn) -> WitnessWorld:
    drift = draw(st.sampled_from([0, 1_000, 10_000, 100_000, 100_000]))
    clocks = {name: draw(clock_for(drift)) for name in ("node1", "node2", "witness")}
    terms = LeaseTerms(lease_ns=LEASE, drift_ppm=drift, margin_ns=0)  # no margin: the tightest case
    rng = random.Random(draw(st.integers(0, 2**32)))  # per-datagram fate; the seed replays it
    loss = {link: draw(st.sampled_from([0.0, 0.0, 0.2, 0.6, 0.9])) for link in LINKS}
    # Cuts of a node's requests are what make the vote change hands: favour them.
    cut_link = st.sampled_from([*LINKS[:1], *LINKS[2:3]] * 2 + LINKS)
    cut = st.tuples(cut_link, st.integers(0, HORIZON), st.integers(0, 4 * S))
    network = network_for(
        rng,
        loss,
        draw(st.lists(cut, max_size=8)),
        duplicate=draw(st.sampled_from([0.0, 0.2])),
        max_delay=draw(st.sampled_from([0, 10 * MS, 300 * MS, 3 * S])),
    )
    world = WitnessWorld(
        clocks,
        network,
        client_terms=terms,
        witness_terms=terms,
        retry_ns=draw(st.sampled_from([20 * MS, 100 * MS])),
        standby_delay_ns=draw(st.sampled_from([0, 50 * MS, 300 * MS])),
    )
    for name in ("node1", "node2"):
        world.role(0, name, draw(st.booleans()), draw(st.sampled_from([True, True, False])))
        toggles = draw(st.lists(st.integers(0, HORIZON), max_size=4))
        visible = False
        world.peer_visible(0, name, visible)
        for when in sorted(toggles):
            visible = not visible
            world.peer_visible(when, name, visible)
    return world


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.lists(st.tuples(st.integers(0, HORIZON), st.integers(0, 3 * S)), max_size=2))
def test_never_two_holders_at_the_same_real_time(world: WitnessWorld, outages: list[tuple[int, int]]) -> None:
    """`outages`: the witness crashes at `start` and restarts `length` later, state lost."""
    for start, length in sorted(outages):
        world.run_until(max(world.now, start))
        world.crash_witness()
        world.run_until(start + length)
        world.start_witness()
    world.run_until(HORIZON)
    spans = world.intervals()
    event("the vote changed hands" if spans["node1"] and spans["node2"] else "one holder or none")
    assert world.overlaps() == []


@settings(max_examples=100, deadline=None)
@given(
    drift=st.sampled_from([1_000, 10_000, 100_000]),
    data=st.data(),
    silent_after=st.integers(0, 2 * S),
    delays=st.tuples(st.integers(0, 50 * MS), st.integers(0, 300 * MS)),
    duplicate=st.booleans(),
)
def test_handover_after_the_holder_falls_silent_never_overlaps(
    drift: int, data: st.DataObject, silent_after: int, delays: tuple[int, int], duplicate: bool
) -> None:
    """The dangerous moment, aimed at directly: node1 holds the vote, its requests stop reaching the
    witness, node2 keeps asking and takes the vote as soon as the witness frees it. Clocks sit at
    any point of the drift bound, extremes favoured; node2 must end up holding the vote."""
    clocks = {name: data.draw(clock_for(drift)) for name in ("node1", "node2", "witness")}
    low, high = delays
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    silent_from = [10**18]

    def network(sender: str, receiver: str, now: int) -> list[int]:
        if sender == "node1" and now >= silent_from[0]:
            return []
        return [rng.randint(low, max(low, high)) for _ in range(2 if duplicate else 1)]

    terms = LeaseTerms(lease_ns=LEASE, drift_ppm=drift, margin_ns=0)
    world = WitnessWorld(
        clocks, network, client_terms=terms, witness_terms=terms, retry_ns=20 * MS, standby_delay_ns=0
    )
    world.role(0, "node1", True)
    world.peer_visible(0, "node1", False)
    world.run_until(2 * LEASE)  # past the quiet period (at most 1.12 lease at 10 % drift)
    assert world.clients["node1"].held_until("r0") is not None
    world.role(world.now, "node2", False)
    world.peer_visible(world.now, "node2", False)
    silent_from[0] = world.now + silent_after
    world.run_until(silent_from[0] + 4 * S)
    assert world.overlaps() == []
    spans = world.intervals()
    assert spans["node1"] and spans["node2"], "the vote changed hands"


def scripted_world(client_drift_bound: int) -> WitnessWorld:
    """node1 (slow clock) takes the vote, then its renewals are lost; node2 keeps asking and gets it
    as soon as the (fast) witness frees it."""
    clocks = {
        "node1": Clock(offset=5 * S, ppm=-100_000),
        "node2": Clock(offset=0, ppm=0),
        "witness": Clock(offset=123, ppm=100_000),
    }

    start = LEASE + 10 * MS  # past the witness's quiet period

    def network(sender: str, receiver: str, now: int) -> list[int]:
        if sender == "node1" and now > start + 100 * MS:
            return []
        return [MS]

    world = WitnessWorld(
        clocks,
        network,
        client_terms=LeaseTerms(lease_ns=LEASE, drift_ppm=client_drift_bound, margin_ns=0),
        witness_terms=LeaseTerms(lease_ns=LEASE, drift_ppm=100_000, margin_ns=0),
        retry_ns=10 * MS,
        standby_delay_ns=0,
    )
    world.run_until(start)
    world.role(world.now, "node1", True)
    world.peer_visible(world.now, "node1", False)
    world.role(world.now, "node2", False)
    world.peer_visible(world.now + 50 * MS, "node2", False)
    world.run_until(world.now + 3 * S)
    return world


def test_the_checker_sees_a_client_that_ignores_drift() -> None:
    unsafe = scripted_world(client_drift_bound=0)
    assert unsafe.overlaps(), "believing the whole lease on a slow clock outlives the grant"


def test_with_the_drift_bound_the_same_script_hands_over_cleanly() -> None:
    safe = scripted_world(client_drift_bound=100_000)
    assert safe.overlaps() == []
    spans = safe.intervals()
    assert spans["node1"] and spans["node2"], "both held the vote, one after the other"
    assert spans["node1"][-1][1] <= spans["node2"][0][0]
