"""Seeded runs with a random mix of single faults, and exact replay of a seed.

Each seed draws a schedule of steps (write bursts, flushes, link resets, partitions and heals,
stalls, a crash of the Primary followed by failover to the peer and the old Primary's return, a
crash or power loss of the Secondary while the Primary goes on writing, write errors on the
Secondary's disk until it detaches, then its repair and re-attach).
At most one node is down at a time and a partition is healed before the next crash, so every
fault is a single failure: under protocol C no acknowledged write may be lost. Every run ends
healed and must converge.
"""

from __future__ import annotations

import pytest

from hapair.core.volume.commands import Invalidate, Verify
from hapair.core.volume.settings import VolumeSettings
from hapair.core.volume.states import ConnState, DiskState, Role
from hapair.sim import checkers
from hapair.sim.node import SimNode
from hapair.sim.scenarios import promote, wait_apart
from hapair.sim.world import MS, PairWorld, seconds


def primary(world: PairWorld) -> SimNode | None:
    for node in world.nodes.values():
        if node.replica is not None and node.replica.state.role is Role.PRIMARY:
            return node
    return None


def quiesce(world: PairWorld, what: str) -> None:
    """In sync, and staying so for a while (a stall or a flap in progress would otherwise turn
    the next fault into a second one)."""
    world.run_until(world.in_sync, seconds(120), f"in sync before {what}")
    world.run_for(seconds(2))
    world.run_until(world.in_sync, seconds(120), f"in sync before {what}")


def single_fault_only(world: PairWorld, primary_node: SimNode) -> None:
    """Before the Secondary may fail, the Primary must hold UpToDate data of its own (else the
    Secondary's copy is the only good one and its loss is a second failure)."""
    replica = primary_node.replica
    if replica is None or replica.state.disk is not DiskState.UP_TO_DATE:
        quiesce(world, "a Secondary fault")


ACTIONS = (
    "burst",
    "burst",
    "burst",
    "flush",
    "reset",
    "partition",
    "stall",
    "crash",
    "secondary_down",
    "disk_error",
    "primary_disk_error",
    "verify",
    "invalidate",
)


def run_seed(seed: int, steps: int = 25, actions: tuple[str, ...] = ACTIONS) -> PairWorld:
    settings = VolumeSettings(
        node_name="alice", peer_name="bob", c_plan_ahead_ds=0, resync_rate_kib=20_000, verify_alg="crc32"
    )
    world = PairWorld(seed, settings=settings, backing_bytes=8 << 20)
    world.start()
    world.initial_sync("alice")
    rng = world.random.stream("schedule")
    for _ in range(steps):
        node = primary(world)
        assert node is not None
        action = rng.choice(actions)
        match action:
            case "burst":
                world.workload.burst(node, rng.randint(1, 12), flush_every=rng.choice([0, 4]))
            case "flush":
                world.workload.flush(node)
            case "reset":
                world.network.reset()
            case "partition":  # long enough for both sides to notice (else it is a stall)
                world.network.partition()
                world.workload.burst(node, rng.randint(1, 8))
                world.run_for(rng.randint(1, 3000) * MS)
                wait_apart(world)
                world.network.heal()
            case "stall":
                world.network.stall(node.name, rng.randint(1, 800) * MS)
            case "crash":
                # failover only from a connected, fully synced pair: the peer has every ack
                world.wait_idle(seconds(30))
                quiesce(world, "a crash")
                other = world.b if node is world.a else world.a
                world.workload.burst(node, rng.randint(1, 8))
                world.run_for(rng.randint(0, 2000) * 1000)
                node.crash() if rng.random() < 0.5 else node.power_loss()
                wait_apart(world)
                assert promote(world, other) == ""
                checkers.require(checkers.lost_acked_writes(other, world.workload.history))
                world.workload.burst(other, rng.randint(0, 6))
                world.wait_idle(seconds(30))
                node.restart()
            case "secondary_down":
                single_fault_only(world, node)
                other = world.b if node is world.a else world.a
                other.crash() if rng.random() < 0.5 else other.power_loss()
                world.workload.burst(node, rng.randint(1, 10))
                world.run_for(rng.randint(1, 3000) * MS)
                other.restart()
            case "disk_error":
                single_fault_only(world, node)
                other = world.b if node is world.a else world.a
                other.disk.fail_writes(0, other.layout.area_offset)
                world.workload.burst(node, rng.randint(1, 10))
                world.run_for(rng.randint(1, 1000) * MS)
                other.disk.repair()
                if other.replica is not None and other.replica.md is None:
                    other.admin(other.attach_command())
            case "primary_disk_error":
                quiesce(world, "a disk error")
                node.disk.fail_writes(0, node.layout.area_offset)
                world.workload.burst(node, rng.randint(1, 10))
                world.wait_idle(seconds(30))
                node.disk.repair()
                if node.replica is not None and node.replica.md is None:
                    node.admin(node.attach_command())
            case "verify":
                replica = node.replica
                if replica is not None and replica.state.conn is ConnState.CONNECTED and world.in_sync():
                    node.admin(Verify(node.next_cmd_id()))
            case "invalidate":
                other = world.b if node is world.a else world.a
                if (
                    other.replica is not None
                    and other.replica.state.conn is ConnState.CONNECTED
                    and world.in_sync()
                ):
                    other.admin(Invalidate(other.next_cmd_id()))
        world.run_for(rng.randint(1, 200) * MS)
    world.wait_idle(seconds(30))
    world.network.heal()
    world.run_for(seconds(1))
    for n in world.nodes.values():  # the operator re-attaches a disk that was dropped
        if n.replica is not None and n.replica.md is None:
            n.disk.repair()
            n.admin(n.attach_command())
    world.heal_and_converge(seconds(300))
    for node in world.nodes.values():
        checkers.require(checkers.lost_acked_writes(node, world.workload.history))
    return world


@pytest.mark.parametrize("seed", range(1, 25))
def test_seeded_single_fault_runs_lose_nothing_and_converge(seed: int) -> None:
    world = run_seed(seed, steps=30)
    assert world.workload.history.acked > 0
    assert all(
        n.replica is not None and n.replica.state.conn is ConnState.CONNECTED for n in world.nodes.values()
    )


def test_same_seed_same_trace() -> None:
    first, second = run_seed(5, steps=12), run_seed(5, steps=12)
    for name in ("alice", "bob"):
        assert first.nodes[name].log.events == second.nodes[name].log.events
    assert first.sched.now_ns == second.sched.now_ns
