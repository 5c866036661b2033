"""Online verify: digests only cross the wire, differing blocks are marked on both nodes and
reported in DRBD's merged `Out of sync` lines."""

from __future__ import annotations

import pytest

from hapair.core.volume.commands import Verify
from hapair.core.volume.digests import DIGESTS, block_digest
from hapair.core.volume.events import HandlerInvoked, OutOfSyncFound, VerifyFinished
from hapair.core.volume.state_rules import StateChangeRefused
from hapair.sim.node import SimNode
from hapair.sim.scenarios import wait_apart
from hapair.sim.workload import BLOCK
from hapair.sim.world import MS, PairWorld, pair_settings, seconds


def corrupt(node: SimNode, block: int) -> None:
    at = block * BLOCK
    node.disk.stable[at : at + 512] = bytes(x ^ 0x5A for x in node.disk.stable[at : at + 512])
    for sector in range(at // 512, (at + BLOCK) // 512):
        node.disk._cache.pop(sector, None)


def run_verify(world: PairWorld, node: SimNode) -> VerifyFinished:
    before = len(node.log.of_type(VerifyFinished))
    node.admin(Verify(node.next_cmd_id()))
    world.run_until(lambda: len(node.log.of_type(VerifyFinished)) > before, seconds(120), "verify")
    world.run_for(10 * MS)
    found = node.log.of_type(VerifyFinished)[-1]
    assert isinstance(found, VerifyFinished)
    return found


@pytest.mark.parametrize("alg", sorted(DIGESTS))
def test_verify_of_identical_replicas_finds_nothing(alg: str) -> None:
    world = PairWorld.started(1, pair_settings(verify_alg=alg), backing_bytes=4 << 20)
    world.workload.burst(world.a, 20)
    world.wait_idle()
    result = run_verify(world, world.a)
    assert result.out_of_sync_blocks == 0 and result.blocks == world.data_blocks
    assert not world.a.log.of_type(OutOfSyncFound)
    assert world.b.log.of_type(VerifyFinished)  # VerifyT reports its end too


def test_adjacent_differences_merge_into_one_line_and_both_sides_mark_them() -> None:
    world = PairWorld.started(2, pair_settings(verify_alg="md5"), backing_bytes=4 << 20)
    for block in (10, 11, 12, 40):
        corrupt(world.b, block)
    result = run_verify(world, world.b)  # verify may run from the Secondary too
    assert result.out_of_sync_blocks == 4
    lines = [e.line() for e in world.b.log.of_type(OutOfSyncFound)]
    assert lines == ["Out of sync: start=80, size=24 (sectors)", "Out of sync: start=320, size=8 (sectors)"]
    assert result.line() == "Online verify found 4 4k block out of sync!"
    assert HandlerInvoked("out-of-sync") in world.b.log.of_type(HandlerInvoked)
    for node in (world.a, world.b):
        assert node.replica is not None and node.replica.bitmap is not None
        assert [b for b in range(64) if node.replica.bitmap.test(b)] == [10, 11, 12, 40]


def test_verify_moves_only_digests() -> None:
    world = PairWorld.started(3, pair_settings(verify_alg="sha1"), backing_bytes=4 << 20)
    assert world.a.replica is not None and world.b.replica is not None
    sent_a = world.a.replica.ctx.counters.net_sent_bytes
    sent_b = world.b.replica.ctx.counters.net_sent_bytes
    run_verify(world, world.a)
    assert world.a.replica.ctx.counters.net_sent_bytes == sent_a  # no data payloads
    assert world.b.replica.ctx.counters.net_sent_bytes == sent_b


def test_verify_needs_a_plain_connection() -> None:
    world = PairWorld.started(4, pair_settings(verify_alg="crc32"), backing_bytes=4 << 20)
    world.network.partition()
    wait_apart(world)
    with pytest.raises(StateChangeRefused, match="connection"):
        world.a.admin(Verify(world.a.next_cmd_id()))


def test_digest_names_are_the_kernels() -> None:
    assert block_digest("crc32c", b"123456789").hex() == "e3069283"
    assert block_digest("crc32", b"123456789").hex() == "cbf43926"
    assert len(block_digest("sha256", b"")) == 32
