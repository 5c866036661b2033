"""Partition, then both promoted: split brain detected on both nodes and resolved per policy.

Every case ends with the pair healed: UpToDate/UpToDate, byte-identical data, clear bitmaps, and
the winner's acknowledged writes present on both. The loser's writes while apart are discarded
only where the policy (or `--discard-my-data`) says so, and only its changed blocks travel.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from hapair.core.volume.events import SplitBrainDetected
from hapair.core.volume.split_brain import AfterSbPolicy, parse_after_sb
from hapair.core.volume.states import ConnState, Role
from hapair.sim import checkers
from hapair.sim.node import SimNode
from hapair.sim.scenarios import SplitBrain, make_split_brain, reconnect, resync_blocks, wait_standalone
from hapair.sim.world import PairWorld, pair_settings, seconds


def started(seed: int, **kw: object) -> PairWorld:
    world = PairWorld.started(seed, pair_settings(**kw))
    world.workload.burst(world.a, 8)
    world.wait_idle()
    world.run_for(seconds(0.1))
    return world


def detected_on(node: SimNode) -> list[SplitBrainDetected]:
    return [e for e in node.log.of_type(SplitBrainDetected) if isinstance(e, SplitBrainDetected)]


def winner_survives(world: PairWorld, winner: SimNode, sb: SplitBrain) -> None:
    """On both nodes: the winner's acknowledged writes are there; each block only the loser wrote
    while apart is back at the version before that write (each such block was written once)."""
    a_won = winner is world.a
    loser_only = set(sb.blocks_b if a_won else sb.blocks_a) - set(sb.blocks_a if a_won else sb.blocks_b)
    history = world.workload.history
    for node in (world.a, world.b):
        for block, version in checkers.block_versions(node, history.blocks).items():
            acked = history.last_acked(block)
            if block in loser_only:
                assert version == acked - 1, f"{node.name}: block {block} kept the loser's write"
            else:
                assert version is not None and version >= acked, f"{node.name}: block {block} lost a write"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_disconnect_policy_leaves_both_standalone_then_discard_my_data_recovers(seed: int) -> None:
    world = started(seed)
    sb = make_split_brain(world, (1, 2, 3), (40, 41))
    world.network.heal()
    wait_standalone(world)
    checkers.require(checkers.split_brain_seen_on_both(world.a, world.b))
    assert all(not e.resolved for n in (world.a, world.b) for e in detected_on(n))
    assert checkers.block_versions(world.b, [40, 41]) != checkers.block_versions(world.a, [40, 41])
    # manual recovery: bob (victim) discards its data, alice connects again
    reconnect(world.b, discard_my_data=True)
    reconnect(world.a)
    world.heal_and_converge()
    winner_survives(world, world.a, sb)
    moved = resync_blocks(world.b)[-1]
    assert moved <= len(sb.blocks_a) + len(sb.blocks_b) + 16  # only changed blocks, not the device
    assert moved < world.data_blocks // 4


@pytest.mark.parametrize(
    ("policy", "blocks_a", "blocks_b", "winner"),
    [
        (AfterSbPolicy.DISCARD_ZERO_CHANGES, (1, 2), (), "alice"),
        (AfterSbPolicy.DISCARD_ZERO_CHANGES, (), (9,), "bob"),
        (AfterSbPolicy.DISCARD_LEAST_CHANGES, (1, 2, 3, 4), (30,), "alice"),
        (AfterSbPolicy.DISCARD_LEAST_CHANGES, (1,), (30, 31, 32, 33), "bob"),
        (AfterSbPolicy.DISCARD_YOUNGER_PRIMARY, (1, 2), (30, 31, 32), "alice"),
        (AfterSbPolicy.DISCARD_OLDER_PRIMARY, (1, 2, 3), (30,), "bob"),
    ],
)
def test_after_sb_0pri_policies(
    policy: AfterSbPolicy, blocks_a: tuple[int, ...], blocks_b: tuple[int, ...], winner: str
) -> None:
    world = started(7, after_sb_0pri=policy)
    sb = make_split_brain(world, blocks_a, blocks_b)
    world.heal_and_converge()
    checkers.require(checkers.split_brain_seen_on_both(world.a, world.b))
    assert all(e.resolved for n in (world.a, world.b) for e in detected_on(n))
    winner_survives(world, world.nodes[winner], sb)


def test_discard_zero_changes_refuses_when_both_changed() -> None:
    world = started(8, after_sb_0pri=AfterSbPolicy.DISCARD_ZERO_CHANGES)
    make_split_brain(world, (1,), (2,))
    world.network.heal()
    wait_standalone(world)
    checkers.require(checkers.split_brain_seen_on_both(world.a, world.b))


def test_discard_node_name_picks_the_named_node_as_victim() -> None:
    world = PairWorld(11, settings=pair_settings())
    for name in ("alice", "bob"):
        policy = parse_after_sb("discard-node-bob", local_node=name)
        node = world.nodes[name]
        node.settings = replace(node.settings, after_sb_0pri=policy)
        world.settings[name] = node.settings
    world.start()
    world.initial_sync("alice")
    sb = make_split_brain(world, (1,), (20, 21, 22, 23))
    world.heal_and_converge()
    winner_survives(world, world.a, sb)


@pytest.mark.parametrize("policy", [AfterSbPolicy.DISCARD_SECONDARY, AfterSbPolicy.CONSENSUS])
def test_after_sb_1pri_with_alice_still_primary(policy: AfterSbPolicy) -> None:
    world = started(12, after_sb_0pri=AfterSbPolicy.DISCARD_LEAST_CHANGES, after_sb_1pri=policy)
    sb = make_split_brain(world, (1, 2, 3), (30,), keep_primaries=1)
    world.heal_and_converge()
    checkers.require(checkers.split_brain_seen_on_both(world.a, world.b))
    assert world.a.replica is not None and world.a.replica.state.role is Role.PRIMARY
    winner_survives(world, world.a, sb)


def test_call_pri_lost_after_sb_demotes_the_losing_primary() -> None:
    world = started(
        13,
        after_sb_0pri=AfterSbPolicy.DISCARD_LEAST_CHANGES,
        after_sb_1pri=AfterSbPolicy.CALL_PRI_LOST_AFTER_SB,
    )
    # alice stays Primary but changed less: she loses and must give up her role
    sb = make_split_brain(world, (1,), (30, 31, 32, 33), keep_primaries=1)
    world.heal_and_converge()
    assert world.a.replica is not None and world.a.replica.state.role is Role.SECONDARY
    winner_survives(world, world.b, sb)


def test_two_primaries_with_disconnect_policy_stay_apart_and_never_connect() -> None:
    world = started(14, after_sb_2pri=AfterSbPolicy.DISCONNECT)
    make_split_brain(world, (1,), (2,), keep_primaries=2)
    world.network.heal()
    world.run_for(seconds(30))
    for node in (world.a, world.b):
        assert node.replica is not None and node.replica.state.conn is ConnState.STANDALONE
    checkers.require(checkers.split_brain_seen_on_both(world.a, world.b))
    checkers.require(checkers.single_primary(world.nodes.values(), allow_while_apart=True))


def test_after_sb_2pri_call_pri_lost_after_sb_demotes_the_loser() -> None:
    world = started(
        15,
        after_sb_0pri=AfterSbPolicy.DISCARD_LEAST_CHANGES,
        after_sb_2pri=AfterSbPolicy.CALL_PRI_LOST_AFTER_SB,
    )
    sb = make_split_brain(world, (1, 2, 3, 4), (30,), keep_primaries=2)
    world.heal_and_converge()  # the per-step check forbids two Primaries once they are connected
    assert world.b.replica is not None and world.b.replica.state.role is Role.SECONDARY
    assert world.a.replica is not None and world.a.replica.state.role is Role.PRIMARY
    winner_survives(world, world.a, sb)


def test_discard_my_data_on_the_secondary_while_the_survivor_stays_primary() -> None:
    world = started(16)
    sb = make_split_brain(world, (1, 2), (40, 41, 42), keep_primaries=1)  # alice stays Primary
    world.network.heal()
    wait_standalone(world)
    checkers.require(checkers.split_brain_seen_on_both(world.a, world.b))
    reconnect(world.b, discard_my_data=True)  # the runbook's recovery on the victim
    reconnect(world.a)
    world.heal_and_converge()
    assert world.a.replica is not None and world.a.replica.state.role is Role.PRIMARY
    winner_survives(world, world.a, sb)
