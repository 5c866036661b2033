"""The replica core paired in-process: mirroring, acknowledgement points, flush durability,
disk failures, authentication and malformed traffic."""

from __future__ import annotations

import errno

import pytest

from hapair.core.volume import control_messages as cm
from hapair.core.volume import messages as m
from hapair.core.volume.commands import Connect, Primary
from hapair.core.volume.effects import (
    BytesReceived,
    ClientRead,
    ClientWrite,
    Emit,
    SubmitLocalWrite,
    TransportUp,
    WriteMetadata,
)
from hapair.core.volume.events import ConnectionRefused, ProtocolViolated
from hapair.core.volume.replica import Replica
from hapair.core.volume.settings import OnIoError, Protocol, VolumeSettings
from hapair.core.volume.states import ConnState, DiskState, OnNoDataAccessible, Role
from hapair.core.volume.status_text import adm_status, proc_drbd_text
from hapair.core.volume.wire import encode
from hapair.sim import checkers
from hapair.sim.rng import SimRandom, StreamEntropy
from hapair.sim.scenarios import heal_into_resync, wait_apart, write_while_apart
from hapair.sim.workload import BLOCK, block_payload
from hapair.sim.world import MS, PairWorld, pair_settings, seconds


def started(seed: int = 1, **kw: object) -> PairWorld:
    return PairWorld.started(seed, pair_settings(**kw))


def test_initial_full_sync_makes_the_replicas_identical() -> None:
    world = started()
    world.workload.burst(world.a, 20, flush_every=5)
    world.wait_idle()
    world.run_for(seconds(0.1))
    checkers.require(checkers.converged(world.a, world.b))
    checkers.require(checkers.lost_acked_writes(world.b, world.workload.history))


@pytest.mark.parametrize("protocol", [Protocol.B, Protocol.C])
def test_acknowledged_flush_survives_power_loss_of_both_nodes(protocol: Protocol) -> None:
    world = started(3, protocol=protocol)
    world.workload.burst(world.a, 30)
    world.wait_idle()
    world.workload.flush(world.a)
    world.wait_idle()
    world.workload.burst(world.a, 10)  # not flushed: may be lost
    world.wait_idle()
    world.a.power_loss()
    world.b.power_loss()
    for node in (world.a, world.b):
        checkers.require(checkers.lost_durable_writes(node, world.workload.history))
        flushed = [b for b in world.workload.history.blocks if world.workload.history.last_durable(b)]
        assert flushed


def test_fua_write_is_durable_on_both_nodes_when_acknowledged() -> None:
    world = started(4, protocol=Protocol.B)
    world.workload.write(world.a, 9, fua=True)
    world.wait_idle()
    world.a.power_loss()
    world.b.power_loss()
    for node in (world.a, world.b):
        assert checkers.block_versions(node, [9]) == {9: 1}


def test_writes_on_a_secondary_are_refused_and_change_nothing() -> None:
    world = started()
    results: list[tuple[int, object]] = []
    world.b.submit(ClientWrite(900, 0, block_payload(0, 1)), lambda e, d: results.append((e, d)))
    world.run_for(MS)
    assert results == [(errno.EROFS, None)]
    assert checkers.block_versions(world.b, [0]) == {0: 0}


def test_bad_ranges_are_refused_with_einval() -> None:
    world = started()
    out: list[int] = []
    assert world.a.replica is not None
    size = world.a.replica.data_size
    for req in (ClientWrite(1, 100, b"x" * 512), ClientWrite(2, size, b"x" * 512), ClientRead(3, 0, 0)):
        world.a.submit(req, lambda e, d: out.append(e))
    assert out == [errno.EINVAL] * 3


def test_reads_on_the_primary_return_what_was_written() -> None:
    world = started()
    world.workload.write(world.a, 5)
    world.wait_idle()
    results: list[tuple[int, int | None]] = []
    world.workload.read(world.a, 5, results)
    world.wait_idle()
    assert results == [(0, 1)]


def test_on_io_error_detach_keeps_serving_from_the_peer() -> None:
    world = started(5, on_io_error=OnIoError.DETACH)
    world.a.disk.fail_writes(0, world.a.layout.area_offset)
    world.workload.write(world.a, 2)
    world.wait_idle()
    assert world.workload.history.failed == 0  # the peer wrote it
    r = world.a.replica
    assert r is not None and r.state.disk is DiskState.DISKLESS and r.state.role is Role.PRIMARY
    world.workload.write(world.a, 3)
    results: list[tuple[int, int | None]] = []
    world.workload.read(world.a, 2, results)
    world.wait_idle()
    assert results == [(0, 1)]  # read through the peer
    assert checkers.block_versions(world.b, [2, 3]) == {2: 1, 3: 1}


def test_on_io_error_pass_on_reports_the_error() -> None:
    world = started(6, on_io_error=OnIoError.PASS_ON)
    world.a.disk.fail_writes(0, world.a.layout.area_offset)
    world.workload.write(world.a, 2)
    world.wait_idle()
    assert world.workload.history.failed == 1
    r = world.a.replica
    assert r is not None and r.state.disk is DiskState.UP_TO_DATE
    assert r.bitmap is not None and r.bitmap.weight >= 1


@pytest.mark.parametrize("policy", [OnNoDataAccessible.IO_ERROR, OnNoDataAccessible.SUSPEND_IO])
def test_on_no_data_accessible(policy: OnNoDataAccessible) -> None:
    world = started(7, on_io_error=OnIoError.DETACH, on_no_data_accessible=policy)
    world.a.disk.fail_writes(0, world.a.layout.area_offset)
    world.workload.write(world.a, 1)
    world.wait_idle()
    world.network.partition()
    wait_apart(world)
    out: list[int] = []
    world.a.submit(ClientRead(777, 0, BLOCK), lambda e, d: out.append(e))
    world.run_for(MS)
    if policy is OnNoDataAccessible.IO_ERROR:
        assert out == [errno.EIO]
    else:
        assert out == []  # held until data is accessible again
        world.network.heal()
        world.run_until(lambda: bool(out), seconds(30), "suspended read served")
        assert out == [0]


def test_status_renders_during_resync() -> None:
    world = started(8, resync_rate_kib=400)
    write_while_apart(world, list(range(60)))
    heal_into_resync(world)
    world.run_for(seconds(0.2))
    assert world.a.replica is not None
    snap = world.a.replica.status(world.sched.now_ns)
    text = adm_status(snap)
    assert text.startswith("r0 role:Primary\n  disk:UpToDate\n  bob role:Secondary\n")
    assert "replication:SyncSource peer-disk:Inconsistent done:" in text
    proc = proc_drbd_text(snap)
    assert "cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent C" in proc
    assert "sync'ed:" in proc


def test_wrong_secret_is_refused_and_nothing_is_written() -> None:
    settings = VolumeSettings(node_name="alice", peer_name="bob", shared_secret="right")
    world = PairWorld(9, settings=settings)
    world.b.settings = VolumeSettings(node_name="bob", peer_name="alice", shared_secret="wrong")
    for node in world.nodes.values():
        node.create_md()
        node.boot()
        node.up_and_connect()
    world.run_for(seconds(5))
    for node in world.nodes.values():
        assert node.replica is not None and node.replica.state.conn is ConnState.STANDALONE
        assert node.log.of_type(ConnectionRefused)
        assert node.replica.ctx.counters.disk_written_bytes == 0


def _bare_replica() -> tuple[Replica, list[object]]:
    entropy = StreamEntropy(SimRandom(1).stream("x"))
    replica = Replica(VolumeSettings(node_name="alice", peer_name="bob", shared_secret="s"), entropy)
    effects: list[object] = []
    effects += replica.admin(Connect(1), 0)
    effects += replica.handle(TransportUp(5, dialed=False), 0)
    return replica, effects


def test_unauthenticated_data_is_never_written() -> None:
    replica, effects = _bare_replica()
    stream = encode(cm.Features(1, 1)) + encode(
        m.Data(0, 1, 1, 1, m.DataFlags.SEND_WRITE_ACK, b"\xaa" * 4096)
    )
    effects += replica.handle(BytesReceived(5, stream), MS)
    assert not any(isinstance(e, SubmitLocalWrite | WriteMetadata) for e in effects)
    assert replica.state.conn is ConnState.CONNECTING


def test_malformed_frame_drops_the_connection() -> None:
    replica, _ = _bare_replica()
    effects = replica.handle(BytesReceived(5, b"\xde\xad\xbe\xef" * 8), MS)
    assert any(isinstance(e, Emit) and isinstance(e.event, ProtocolViolated) for e in effects)
    assert replica.state.conn is ConnState.CONNECTING


def test_promote_needs_up_to_date_data_and_primary_force_overrides() -> None:
    entropy = StreamEntropy(SimRandom(2).stream("x"))
    replica = Replica(VolumeSettings(node_name="alice", peer_name="bob"), entropy)
    from hapair.core.volume.state_rules import StateChangeRefused

    with pytest.raises(StateChangeRefused, match="UpToDate"):
        replica.admin(Primary(1), 0)
    assert replica.state.role is Role.SECONDARY


def test_a_write_to_a_cold_extent_waits_for_its_activity_log_transaction() -> None:
    world = started(12)
    world.workload.blocks = world.data_blocks
    disk = world.a.disk
    disk.trace_writes = True
    al_start = world.a.layout.area_offset + world.a.layout.al_at
    al_end = al_start + world.a.layout.al.size_bytes
    cold_block = 3 * 1024 + 7  # in the fourth 4 MiB extent, not touched since attach
    world.workload.write(world.a, cold_block)
    world.wait_idle()
    writes = [off for off, _ in disk.stats.write_ranges]
    data_at = writes.index(cold_block * BLOCK)
    assert any(al_start <= off < al_end for off in writes[:data_at])  # the AL block went first
    disk.stats.write_ranges.clear()
    world.workload.write(world.a, cold_block + 1)  # same extent: now hot, no transaction
    world.wait_idle()
    assert not any(al_start <= off < al_end for off, _ in disk.stats.write_ranges)
