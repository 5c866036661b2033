"""Reusable steps of scripted scenarios (TigerBeetle's replica_test style), built on `PairWorld`.

Each step drives the pair through one operator or fault action and waits (in virtual time) for
its effect, raising `SimTimeout` when it does not come. Scenario tests compose them and end with
the invariants of `checkers`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hapair.core.volume.commands import Connect, Disconnect, Primary, Secondary
from hapair.core.volume.events import ResyncFinished, ResyncStarted
from hapair.core.volume.states import ConnState, Role
from hapair.sim.node import SimNode
from hapair.sim.world import MS, PairWorld, seconds


def wait_apart(world: PairWorld, timeout_ns: int = seconds(30)) -> None:
    """Until neither node is connected (after a partition both find out by ping timeout)."""
    world.run_until(
        lambda: all(
            n.replica is None or n.replica.state.conn < ConnState.CONNECTED for n in world.nodes.values()
        ),
        timeout_ns,
        "both sides noticing the lost connection",
    )


def wait_standalone(world: PairWorld, timeout_ns: int = seconds(30)) -> None:
    """Until both nodes gave up on each other (split brain or refusal: StandAlone)."""
    world.run_until(
        lambda: all(
            n.replica is not None and n.replica.state.conn is ConnState.STANDALONE
            for n in world.nodes.values()
        ),
        timeout_ns,
        "both StandAlone",
    )


def write_while_apart(world: PairWorld, blocks: list[int], *, flush: bool = True) -> None:
    """Partition the pair, write `blocks` on alice (then flush them), leave the partition on."""
    world.network.partition()
    wait_apart(world)
    world.workload.blocks = max(world.workload.blocks, max(blocks, default=0) + 1)
    for block in blocks:
        world.workload.write(world.a, block)
    world.wait_idle()
    if flush:
        world.workload.flush(world.a)
        world.wait_idle()


def heal_into_resync(world: PairWorld, timeout_ns: int = seconds(30)) -> None:
    """Heal the partition and wait until bob pulls blocks as SyncTarget (alice is SyncSource)."""
    world.network.heal()
    world.run_until(
        lambda: world.b.replica is not None and world.b.replica.resync_target is not None,
        timeout_ns,
        "resync start",
    )


def promote(world: PairWorld, node: SimNode, *, force: bool = False) -> str:
    """`primary [--force]`; returns the refusal text ("" when it worked) once it completed."""
    cmd_id = node.admin(Primary(node.next_cmd_id(), force=force))
    world.run_until(lambda: cmd_id in node.log.admin_results, seconds(10), f"{node.name} primary")
    return node.log.admin_results[cmd_id]


def demote(node: SimNode) -> None:
    node.admin(Secondary(node.next_cmd_id()))


def reconnect(node: SimNode, *, discard_my_data: bool = False) -> None:
    """`disconnect` then `connect [--discard-my-data]` (the split-brain victim's recovery)."""
    node.admin(Disconnect(node.next_cmd_id()))
    node.admin(Connect(node.next_cmd_id(), discard_my_data=discard_my_data))


@dataclass(frozen=True, slots=True)
class SplitBrain:
    """What each side wrote while apart."""

    blocks_a: tuple[int, ...]
    blocks_b: tuple[int, ...]


def make_split_brain(
    world: PairWorld, blocks_a: tuple[int, ...], blocks_b: tuple[int, ...], *, keep_primaries: int = 0
) -> SplitBrain:
    """Partition a connected pair with A Primary, promote B alone, write on both, then leave
    `keep_primaries` of them Primary (0: both demote; 1: A stays; 2: both stay). The network stays
    partitioned; heal it to let them meet again."""
    a, b = world.a, world.b
    assert a.replica is not None and a.replica.state.role is Role.PRIMARY
    world.network.partition()
    wait_apart(world)
    world.allow_dual_primary_apart = True
    refusal = promote(world, b)
    if refusal:
        raise AssertionError(f"{b.name} could not be promoted while apart: {refusal}")
    for block in blocks_a:
        world.workload.write(a, block)
    for block in blocks_b:
        world.workload.write(b, block)
    world.wait_idle()
    if keep_primaries < 2:
        demote(b)
    if keep_primaries < 1:
        demote(a)
    world.run_for(10 * MS)
    return SplitBrain(blocks_a, blocks_b)


def resync_blocks(node: SimNode) -> list[int]:
    """Blocks each resync on `node` set out to move (from its ResyncStarted events)."""
    return [e.blocks for e in node.log.of_type(ResyncStarted) if isinstance(e, ResyncStarted)]


def resyncs_finished(node: SimNode) -> int:
    return len(node.log.of_type(ResyncFinished))
