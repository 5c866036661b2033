"""Resync: the rate controller, disk order, the configured rate in virtual time, checksum resync."""

from __future__ import annotations

import pytest

from hapair.core.volume.events import ResyncFinished, ResyncStarted
from hapair.core.volume.rate_control import ControllerParams, ResyncController
from hapair.sim import checkers
from hapair.sim.scenarios import heal_into_resync, wait_apart, write_while_apart
from hapair.sim.workload import BLOCK
from hapair.sim.world import MS, PairWorld, pair_settings, seconds


def test_fixed_rate_requests_resync_rate_per_second() -> None:
    ctl = ResyncController(ControllerParams(resync_rate_kib=250, c_plan_ahead=0))
    assert sum(ctl.requests_for_tick(0, 0) for _ in range(10)) == 500  # 250 KiB/s = 500 sectors/s


def test_fixed_rate_carries_rounding() -> None:
    ctl = ResyncController(ControllerParams(resync_rate_kib=3, c_plan_ahead=0))
    assert sum(ctl.requests_for_tick(0, 0) for _ in range(10)) == 6


def test_dynamic_controller_starts_at_resync_rate_and_is_capped() -> None:
    params = ControllerParams(
        resync_rate_kib=250, c_plan_ahead=20, c_fill_target_sectors=100, c_max_rate_kib=1000
    )
    ctl = ResyncController(params)
    first = ctl.requests_for_tick(0, 0)
    assert first == 50  # resync-rate spread over the plan: 250 KiB/s * 0.1 s = 50 sectors
    for _ in range(200):
        got = ctl.requests_for_tick(10_000, 0)
        assert got <= 1000 * 2 // 10  # c-max-rate per tick


def test_dynamic_controller_keeps_the_fill_target_in_flight() -> None:
    ctl = ResyncController(
        ControllerParams(c_plan_ahead=5, c_fill_target_sectors=400, c_max_rate_kib=1 << 20)
    )
    in_flight = 0
    for _ in range(60):
        arrived = in_flight // 2  # half of what is in flight completes each tick
        in_flight -= arrived
        measured = in_flight  # what the controller sees before it asks for more
        in_flight += ctl.requests_for_tick(arrived, in_flight)
    assert 360 <= measured <= 440


def test_in_flight_is_capped_by_max_buffers() -> None:
    ctl = ResyncController(ControllerParams(resync_rate_kib=1 << 20, c_plan_ahead=0, max_buffers=64))
    assert ctl.requests_for_tick(0, 0) == 32 * 8
    assert ctl.requests_for_tick(0, 32 * 8) == 0


def started(seed: int, **kw: object) -> PairWorld:
    return PairWorld.started(seed, pair_settings(**kw))


def test_resync_goes_in_disk_order_and_moves_only_marked_blocks() -> None:
    world = started(1, resync_rate_kib=2000)
    world.workload.blocks = world.data_blocks
    blocks = [900, 3, 512, 77, 78, 79, 2000, 1]
    write_while_apart(world, blocks)
    world.a.disk.trace_writes = True
    world.b.disk.trace_writes = True
    world.network.heal()
    world.run_until(world.in_sync, seconds(30), "resync")
    area = world.b.layout.area_offset
    source_reads = [off for off, _ in world.a.disk.stats.read_ranges if off < area]
    assert source_reads == sorted(source_reads)  # requested in disk order
    target_writes = {
        block
        for off, size in world.b.disk.stats.write_ranges
        if off < area
        for block in range(off // BLOCK, (off + size) // BLOCK)
    }
    assert target_writes == set(blocks)
    assert (77 * BLOCK, 3 * BLOCK) in world.b.disk.stats.write_ranges  # adjacent blocks in one request


@pytest.mark.parametrize("rate_kib", [400, 2000])
def test_fixed_resync_rate_holds_within_ten_percent(rate_kib: int) -> None:
    world = started(2, resync_rate_kib=rate_kib)
    world.workload.blocks = world.data_blocks
    count = rate_kib // 4 * 3  # three seconds' worth
    write_while_apart(world, list(range(count)))
    world.network.heal()
    world.run_until(world.in_sync, seconds(60), "resync")
    finished = [e for e in world.b.log.of_type(ResyncFinished) if isinstance(e, ResyncFinished)][-1]
    started_at = [t for t, e in world.b.log.events if isinstance(e, ResyncStarted)][-1]
    finished_at = next(t for t, e in world.b.log.events if e is finished)
    rate = count * 4 / ((finished_at - started_at) / 1e9)
    assert abs(rate - rate_kib) / rate_kib < 0.10, rate


def test_checksum_resync_after_a_primary_crash_moves_only_differing_blocks() -> None:
    world = started(3, csums_alg="sha1")
    world.workload.burst(world.a, 30)
    world.wait_idle()
    world.run_for(seconds(0.1))
    world.a.crash()  # the process dies; its writes are on both disks
    wait_apart(world)
    world.a.restart()
    world.run_until(world.in_sync, seconds(60), "resync after the crash")
    started_evt = [e for e in world.a.log.of_type(ResyncStarted) if isinstance(e, ResyncStarted)][-1]
    assert started_evt.as_source and started_evt.blocks >= 1024  # whole 4 MiB AL extents
    finished = [e for e in world.a.log.of_type(ResyncFinished) if isinstance(e, ResyncFinished)][-1]
    assert finished.equal_checksum_blocks >= started_evt.blocks - 2
    assert world.a.replica is not None
    assert world.a.replica.ctx.counters.resync_bytes_sent < 16 * 1024 * 1024 + 8 * BLOCK  # initial + tiny
    checkers.require(checkers.converged(world.a, world.b))


def test_application_writes_during_resync_win_over_resync_data() -> None:
    world = started(4, resync_rate_kib=800)
    world.workload.blocks = 64
    write_while_apart(world, list(range(64)))
    heal_into_resync(world)
    for _ in range(40):  # keep rewriting the blocks being resynced
        world.workload.burst(world.a, 8)
        world.run_for(20 * MS)
    world.wait_idle()
    world.run_until(world.in_sync, seconds(60), "resync")
    checkers.require(checkers.converged(world.a, world.b))
    for node in (world.a, world.b):
        checkers.require(checkers.lost_acked_writes(node, world.workload.history))


def test_c_min_rate_throttles_resync_while_the_application_writes() -> None:
    ctl = ResyncController(ControllerParams(resync_rate_kib=10_000, c_plan_ahead=0, c_min_rate_kib=500))
    assert ctl.requests_for_tick(0, 0) == 2000
    assert ctl.requests_for_tick(0, 0, application_busy=True) == 100  # 500 KiB/s
    never = ResyncController(ControllerParams(resync_rate_kib=10_000, c_plan_ahead=0, c_min_rate_kib=0))
    assert never.requests_for_tick(0, 0, application_busy=True) == 2000


def test_resync_slows_to_c_min_rate_under_application_load() -> None:
    world = started(5, resync_rate_kib=4000, c_min_rate_kib=400)
    write_while_apart(world, list(range(300)))
    heal_into_resync(world)
    start = world.sched.now_ns
    block = 1000  # writes outside the range being resynced
    while world.b.replica is not None and world.b.replica.resync_target is not None:
        world.workload.write(world.a, block + (world.sched.now_ns // MS) % 50)
        world.run_for(50 * MS)
    elapsed = (world.sched.now_ns - start) / 1e9
    # the first tick (no load seen yet) asks for 100 blocks at resync-rate; the other 200 go at
    # c-min-rate: about 2 s, where resync-rate alone would take 0.3 s
    assert 1.8 < elapsed < 2.6
