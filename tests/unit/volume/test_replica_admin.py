"""drbdadm verbs on a simulated pair: each refused with a typed error when illegal, each doing what
DRBD does when allowed."""

from __future__ import annotations

import pytest

from hapair.core.volume.commands import (
    AdminRefused,
    Connect,
    Detach,
    Disconnect,
    Down,
    Invalidate,
    InvalidateRemote,
    NewCurrentUuid,
    Outdate,
    Primary,
    Secondary,
    Verify,
)
from hapair.core.volume.events import OutOfSyncFound, ResyncStarted, VerifyFinished
from hapair.core.volume.metadata import MetadataError
from hapair.core.volume.state_rules import StateChangeRefused
from hapair.core.volume.states import ConnState, DiskState, Role
from hapair.sim import checkers
from hapair.sim.scenarios import heal_into_resync, promote, write_while_apart
from hapair.sim.workload import BLOCK
from hapair.sim.world import MS, PairWorld, pair_settings, seconds


def world_with(seed: int = 1, *, sync: bool = True, **kw: object) -> PairWorld:
    return PairWorld.started(seed, pair_settings(**kw), sync=sync)


def role(world: PairWorld, name: str) -> Role:
    replica = world.nodes[name].replica
    assert replica is not None
    return replica.state.role


def test_second_primary_is_refused_while_connected() -> None:
    world = world_with()
    with pytest.raises(StateChangeRefused, match="Multiple primaries"):
        world.b.admin(Primary(world.b.next_cmd_id()))
    assert role(world, "bob") is Role.SECONDARY


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_simultaneous_promotions_leave_exactly_one_primary(seed: int) -> None:
    world = world_with(seed)
    world.a.admin(Secondary(world.a.next_cmd_id()))
    world.run_for(10 * MS)
    ca = world.a.admin(Primary(world.a.next_cmd_id()))
    cb = world.b.admin(Primary(world.b.next_cmd_id()))
    world.run_until(
        lambda: ca in world.a.log.admin_results and cb in world.b.log.admin_results,
        seconds(5),
        "both answered",
    )
    refusals = [world.a.log.admin_results[ca], world.b.log.admin_results[cb]]
    assert sorted(bool(r) for r in refusals) == [False, True]
    assert sorted(r.value for r in (role(world, "alice"), role(world, "bob"))) == [1, 2]


def test_sync_target_is_never_promotable() -> None:
    world = world_with(2, resync_rate_kib=200)
    write_while_apart(world, list(range(40)))
    heal_into_resync(world)
    world.a.admin(Secondary(world.a.next_cmd_id()))
    with pytest.raises(StateChangeRefused):
        world.b.admin(Primary(world.b.next_cmd_id()))
    with pytest.raises(StateChangeRefused):
        world.b.admin(Primary(world.b.next_cmd_id(), force=False))
    world.run_until(world.in_sync, seconds(60), "resync done")
    assert promote(world, world.b) == ""


def test_outdate_is_refused_while_connected_and_blocks_promotion_when_apart() -> None:
    world = world_with(3)
    with pytest.raises(StateChangeRefused, match="Outdated while Connected"):
        world.b.admin(Outdate(world.b.next_cmd_id()))
    world.b.admin(Disconnect(world.b.next_cmd_id()))
    world.b.admin(Outdate(world.b.next_cmd_id()))
    world.run_for(10 * MS)
    world.b.crash()
    world.b.restart(connect=False)
    world.wait_attached("bob")
    assert world.b.replica is not None and world.b.replica.state.disk is DiskState.OUTDATED
    with pytest.raises(StateChangeRefused, match="UpToDate"):
        world.b.admin(Primary(world.b.next_cmd_id()))
    world.allow_dual_primary_apart = True
    assert promote(world, world.b, force=True) == ""


def test_invalidate_on_the_secondary_resyncs_everything_from_the_peer() -> None:
    world = world_with(4)
    world.workload.burst(world.a, 10)
    world.wait_idle()
    with pytest.raises(AdminRefused):
        world.a.admin(Invalidate(world.a.next_cmd_id()))
    world.b.admin(Invalidate(world.b.next_cmd_id()))
    world.run_until(world.in_sync, seconds(60), "full resync")
    started = [e for e in world.b.log.of_type(ResyncStarted) if isinstance(e, ResyncStarted)][-1]
    assert started.full and started.blocks == world.data_blocks
    checkers.require(checkers.converged(world.a, world.b))


def test_invalidate_remote_resyncs_everything_to_the_peer() -> None:
    world = world_with(5)
    world.a.admin(InvalidateRemote(world.a.next_cmd_id()))
    world.run_until(world.in_sync, seconds(60), "full resync")
    started = [e for e in world.a.log.of_type(ResyncStarted) if isinstance(e, ResyncStarted)][-1]
    assert started.as_source and started.full


def test_new_current_uuid_clear_bitmap_skips_the_initial_sync() -> None:
    world = world_with(6, sync=False)
    world.a.admin(NewCurrentUuid(world.a.next_cmd_id(), clear_bitmap=True))
    world.run_until(world.in_sync, seconds(5), "both UpToDate")
    assert not world.a.log.of_type(ResyncStarted) and not world.b.log.of_type(ResyncStarted)
    assert world.a.replica is not None and world.b.replica is not None
    assert world.a.replica.ids.masked() == world.b.replica.ids.masked()


def test_online_verify_finds_a_corrupted_block_and_a_reconnect_repairs_it() -> None:
    world = world_with(7, verify_alg="sha1")
    world.workload.burst(world.a, 12)
    world.wait_idle()
    with pytest.raises(StateChangeRefused, match="verify"):
        world_with(8).a.admin(Verify(1))  # no verify-alg configured there
    victim = 5 * BLOCK
    world.b.disk.stable[victim : victim + 512] = b"\xff" * 512
    world.b.disk.submit_flush(lambda e: None)  # drop any cached copy of that block
    world.run_for(MS)
    world.b.disk._cache.pop(victim // 512, None)
    world.a.admin(Verify(world.a.next_cmd_id()))
    world.run_until(lambda: bool(world.a.log.of_type(VerifyFinished)), seconds(60), "verify")
    world.run_for(10 * MS)
    found = [e for e in world.a.log.of_type(OutOfSyncFound) if isinstance(e, OutOfSyncFound)]
    assert [(e.sector, e.sectors) for e in found] == [(victim // 512, 8)]
    assert world.b.log.of_type(VerifyFinished)
    for node in (world.a, world.b):
        assert node.replica is not None and node.replica.bitmap is not None
        assert node.replica.bitmap.weight == 1
    world.a.admin(Disconnect(world.a.next_cmd_id()))
    world.a.admin(Connect(world.a.next_cmd_id()))
    world.run_until(world.in_sync, seconds(30), "repair resync")
    checkers.require(checkers.converged(world.a, world.b))


def test_detach_then_attach_while_connected_resyncs_what_was_missed() -> None:
    world = world_with(9)
    world.b.admin(Detach(world.b.next_cmd_id()))
    world.run_for(10 * MS)
    assert world.b.replica is not None and world.b.replica.state.disk is DiskState.DISKLESS
    world.workload.burst(world.a, 6)
    world.wait_idle()
    world.b.admin(world.b.attach_command())
    world.run_until(world.in_sync, seconds(30), "re-attached and resynced")
    checkers.require(checkers.converged(world.a, world.b))
    checkers.require(checkers.lost_acked_writes(world.b, world.workload.history))


def test_down_refuses_an_open_primary_and_connect_twice_is_refused() -> None:
    world = world_with(10)
    assert world.a.replica is not None
    world.a.replica.set_device_open(True)
    with pytest.raises(StateChangeRefused, match="held open"):
        world.a.admin(Down(world.a.next_cmd_id()))
    assert role(world, "alice") is Role.PRIMARY
    with pytest.raises(AdminRefused):
        world.a.admin(Connect(world.a.next_cmd_id()))
    world.a.replica.set_device_open(False)
    cmd = world.a.admin(Down(world.a.next_cmd_id()))
    world.run_until(lambda: cmd in world.a.log.admin_results, seconds(5), "down")
    state = world.a.replica.state
    assert (state.role, state.conn, state.disk) == (Role.SECONDARY, ConnState.STANDALONE, DiskState.DISKLESS)


def test_attach_refuses_metadata_with_bad_checksums_and_stays_diskless() -> None:
    world = PairWorld(11)
    node = world.a
    node.create_md()
    node.boot()
    at = node.layout.area_offset + node.layout.superblock_at
    node.disk.stable[at + 100] ^= 0xFF  # slot 0
    node.disk.stable[at + 512 + 100] ^= 0xFF  # slot 1 (empty after create-md anyway)
    with pytest.raises(MetadataError, match="no valid meta data"):
        node.admin(node.attach_command())
    assert node.replica is not None and node.replica.state.disk is DiskState.DISKLESS
    assert node.replica.md is None
