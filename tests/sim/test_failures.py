"""Two nodes under faults: link drops mid-write, Primary crash and power loss with writes in
flight, crashes during resync. Each ends with the invariants of DESIGN.md section 6: never two
writable Primaries (checked after every step by the world), no acknowledged write lost under
protocol C across a single failure, replicas byte-identical with clear bitmaps after heal, and
resync moving only blocks that were marked."""

from __future__ import annotations

import pytest

from hapair.core.volume.commands import Primary
from hapair.core.volume.events import ResyncStarted
from hapair.core.volume.settings import Protocol
from hapair.core.volume.state_rules import StateChangeRefused
from hapair.core.volume.states import ConnState, DiskState, Role
from hapair.sim import checkers
from hapair.sim.scenarios import heal_into_resync, promote, wait_apart, write_while_apart
from hapair.sim.world import MS, PairWorld, pair_settings, seconds

SEEDS = [1, 2, 3, 4, 5]


def started(seed: int, **kw: object) -> PairWorld:
    return PairWorld.started(seed, pair_settings(**kw))


def traffic(world: PairWorld, rounds: int = 5) -> None:
    for _ in range(rounds):
        world.workload.burst(world.a, 6, flush_every=3)
        world.run_for(3 * MS)


def no_acked_write_lost(world: PairWorld) -> None:
    for node in (world.a, world.b):
        checkers.require(checkers.lost_acked_writes(node, world.workload.history))


@pytest.mark.parametrize("seed", SEEDS)
def test_connection_dropped_mid_write_resyncs_only_the_marked_blocks(seed: int) -> None:
    world = started(seed)
    traffic(world)
    assert world.a.replica is not None
    sent_before = world.a.replica.ctx.counters.resync_bytes_sent
    world.workload.burst(world.a, 8)
    world.run_for(MS // 4)  # writes are in flight now
    world.network.reset()
    world.workload.burst(world.a, 8)  # written while apart: marked out of sync
    world.wait_idle()
    assert world.a.replica is not None and world.a.replica.bitmap is not None
    marked = world.a.replica.bitmap.weight
    assert marked > 0
    world.heal_and_converge()
    no_acked_write_lost(world)
    last = [e for e in world.b.log.of_type(ResyncStarted) if isinstance(e, ResyncStarted)][-1]
    assert not last.full and last.blocks == marked
    moved = world.a.replica.ctx.counters.resync_bytes_sent - sent_before
    assert moved == marked * 4096  # resync moved exactly the marked blocks
    assert world.workload.history.failed == 0


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["power_loss", "crash"])
def test_primary_failure_with_unacknowledged_writes_loses_no_acknowledged_write(seed: int, kind: str) -> None:
    world = started(seed)
    traffic(world)
    world.workload.burst(world.a, 10)
    world.run_for(MS // 3)
    getattr(world.a, kind)()
    wait_apart(world)
    assert promote(world, world.b) == ""
    checkers.require(checkers.lost_acked_writes(world.b, world.workload.history))  # the failover
    world.workload.burst(world.b, 6)
    world.wait_idle()
    world.a.restart()
    world.heal_and_converge()
    no_acked_write_lost(world)
    assert world.b.replica is not None and world.b.replica.state.role is Role.PRIMARY
    assert world.a.replica is not None and world.a.replica.state.role is Role.SECONDARY


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_secondary_power_loss_then_return_resyncs_from_the_primary(seed: int) -> None:
    world = started(seed)
    traffic(world)
    world.b.power_loss()
    world.workload.burst(world.a, 10)
    world.wait_idle(seconds(20))
    wait_apart(world)
    world.b.restart()
    world.heal_and_converge()
    no_acked_write_lost(world)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_sync_target_crash_during_resync_resumes_and_is_never_promotable(seed: int) -> None:
    world = started(seed, resync_rate_kib=400)  # slow: 200 blocks take two seconds
    write_while_apart(world, list(range(200)))
    heal_into_resync(world)
    world.run_for(seconds(1.5))
    assert world.b.replica is not None and world.b.replica.bitmap is not None
    left_before = world.b.replica.bitmap.weight
    assert 0 < left_before < 200
    world.b.power_loss()
    world.run_for(seconds(1))
    world.b.restart(connect=False)
    world.wait_attached("bob")
    replica = world.b.replica
    assert replica is not None and replica.state.disk is DiskState.INCONSISTENT
    assert replica.bitmap is not None
    assert left_before <= replica.bitmap.weight < 200  # resumes from the last checkpoint
    with pytest.raises(StateChangeRefused, match="UpToDate"):
        world.b.admin(Primary(world.b.next_cmd_id()))
    world.b.restart()
    world.heal_and_converge()
    no_acked_write_lost(world)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_sync_source_crash_leaves_the_target_inconsistent_and_unpromotable(seed: int) -> None:
    world = started(seed, resync_rate_kib=400)
    write_while_apart(world, list(range(200)))
    heal_into_resync(world)
    world.run_for(seconds(0.2))
    world.a.power_loss()
    wait_apart(world)
    assert world.b.replica is not None and world.b.replica.state.disk is DiskState.INCONSISTENT
    with pytest.raises(StateChangeRefused):
        world.b.admin(Primary(world.b.next_cmd_id()))
    world.a.restart()
    world.wait_attached("alice")
    assert promote(world, world.a) == ""
    world.heal_and_converge()
    for node in (world.a, world.b):  # alice's writes were only on her disk: flushed ones survive
        checkers.require(checkers.lost_durable_writes(node, world.workload.history))


@pytest.mark.parametrize("protocol", [Protocol.A, Protocol.B, Protocol.C])
def test_every_protocol_converges_after_a_link_flap(protocol: Protocol) -> None:
    world = started(21, protocol=protocol)
    traffic(world)
    world.network.reset()
    traffic(world)
    world.wait_idle()
    world.heal_and_converge()
    no_acked_write_lost(world)


def test_protocol_c_and_b_wait_for_the_peer_and_a_does_not() -> None:
    latencies = {}
    for protocol in (Protocol.A, Protocol.B, Protocol.C):
        world = started(5, protocol=protocol)
        world.network.stall("bob", seconds(1))  # the peer's answers are held for a second
        start = world.sched.now_ns
        world.workload.write(world.a, 3, fua=False)
        world.wait_idle(seconds(5))
        latencies[protocol] = world.sched.now_ns - start
    assert latencies[Protocol.A] < 10 * MS
    assert latencies[Protocol.B] >= seconds(1) and latencies[Protocol.C] >= seconds(1)


def test_frozen_secondary_disk_is_expelled_after_ko_count_and_the_primary_goes_on() -> None:
    world = started(31)
    traffic(world, rounds=2)
    world.wait_idle()
    world.b.disk.freeze()  # a hung backing device: writes never complete
    world.workload.burst(world.a, 5)
    world.run_for(seconds(30))
    assert world.workload.in_flight == 5  # protocol C waits for the peer's disk
    world.wait_idle(seconds(30))  # ko-count x timeout = 42 s: the peer is expelled, writes complete
    assert world.workload.history.failed == 0
    assert world.a.replica is not None and world.a.replica.bitmap is not None
    assert world.a.replica.bitmap.weight >= 5
    assert any("ko-count" in line for line in world.a.log.lines())
    world.workload.burst(world.a, 5)
    world.wait_idle()
    world.b.disk.thaw()  # the late completions must not corrupt anything
    world.heal_and_converge()
    no_acked_write_lost(world)


def test_sync_target_disk_failure_aborts_the_resync_and_a_repaired_disk_catches_up() -> None:
    world = started(32, resync_rate_kib=800)
    write_while_apart(world, list(range(120)))
    heal_into_resync(world)
    world.run_for(seconds(0.2))
    world.b.disk.fail_writes(0, world.b.layout.area_offset)
    world.run_for(seconds(1))
    replica = world.b.replica
    assert replica is not None and replica.state.disk is DiskState.DISKLESS
    assert replica.state.conn is ConnState.CONNECTED and replica.resync_target is None
    world.workload.burst(world.a, 5)
    world.wait_idle()
    world.b.disk.repair()
    world.b.admin(world.b.attach_command())
    world.heal_and_converge()
    no_acked_write_lost(world)
