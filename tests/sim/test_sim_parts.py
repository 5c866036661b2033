"""The simulator's own parts: scheduler order, seeded streams, disk cache semantics, stream network."""

from __future__ import annotations

import errno

import pytest

from hapair.core.volume.effects import BytesReceived, DialFailed, TransportDown, TransportInput, TransportUp
from hapair.sim.disk import SimDisk
from hapair.sim.network import SimNetwork
from hapair.sim.rng import SimRandom, derive_seed
from hapair.sim.scheduler import Scheduler, StepLimitExceeded

MS = 1_000_000


def test_scheduler_runs_in_time_then_insertion_order() -> None:
    s = Scheduler()
    seen: list[str] = []
    s.schedule(5, lambda: seen.append("b"))
    s.schedule(1, lambda: seen.append("a"))
    s.schedule(5, lambda: seen.append("c"))
    t = s.schedule(3, lambda: seen.append("x"))
    t.cancel()
    s.run_until(10)
    assert seen == ["a", "b", "c"] and s.now_ns == 10


def test_scheduler_step_budget_catches_livelock() -> None:
    s = Scheduler()

    def again() -> None:
        s.call_soon(again)

    s.call_soon(again)
    with pytest.raises(StepLimitExceeded):
        s.run_until(1, max_steps=100)


def test_run_while_stops_on_condition_or_timeout() -> None:
    s = Scheduler()
    box = [0]
    for i in range(10):
        s.schedule(i * 10, lambda: box.__setitem__(0, box[0] + 1))
    assert s.run_while(lambda: box[0] < 3, timeout_ns=1000)
    assert box[0] == 3
    assert not s.run_while(lambda: True, timeout_ns=50)


def test_named_streams_are_independent_and_stable() -> None:
    a, b = SimRandom(7), SimRandom(7)
    a.stream("net").random()
    assert a.stream("disk").random() == b.stream("disk").random()
    assert derive_seed(7, "x") == derive_seed(7, "x") != derive_seed(8, "x")


def make_disk(size: int = 64 * 1024) -> tuple[Scheduler, SimDisk]:
    s = Scheduler()
    return s, SimDisk("d", size, s, SimRandom(1).stream("disk"))


def test_write_is_volatile_until_flushed() -> None:
    s, d = make_disk()
    results: list[int] = []
    d.submit_write(4096, b"\x11" * 4096, False, results.append)
    s.run_for(10 * MS)
    assert results == [0] and d.read(4096, 4096) == b"\x11" * 4096
    assert d.stable[4096:8192] == bytes(4096) and d.cached_sectors == 8
    d.submit_flush(results.append)
    s.run_for(10 * MS)
    assert d.stable[4096:8192] == b"\x11" * 4096 and d.cached_sectors == 0


def test_fua_write_is_durable_and_supersedes_cache() -> None:
    s, d = make_disk()
    d.submit_write(0, b"\x01" * 512, False, lambda e: None)
    s.run_for(10 * MS)
    d.submit_write(0, b"\x02" * 512, True, lambda e: None)
    s.run_for(10 * MS)
    d.power_loss()
    assert d.read(0, 512) == b"\x02" * 512


def test_power_loss_keeps_only_some_unflushed_sectors_but_process_crash_keeps_all() -> None:
    s, d = make_disk(1 << 20)
    d.submit_write(0, b"\x07" * (1 << 19), False, lambda e: None)
    s.run_for(10 * MS)
    lost = d.power_loss()
    assert 0 < lost < 1024
    s, d = make_disk(1 << 20)
    d.submit_write(0, b"\x07" * 8192, False, lambda e: None)
    s.run_for(10 * MS)
    d.process_crash()
    assert d.read(0, 8192) == b"\x07" * 8192


def test_in_flight_write_is_torn_by_a_crash_and_never_completes() -> None:
    s, d = make_disk(1 << 20)
    done: list[int] = []
    d.submit_write(0, b"\x09" * 65536, False, done.append)
    d.process_crash()
    s.run_for(10 * MS)
    got = d.read(0, 65536)
    assert done == [] and 0 < got.count(b"\x09" * 512) < 128


def test_errors_and_freeze() -> None:
    s, d = make_disk()
    d.fail_writes(0, 4096, errno.ENOSPC)
    d.fail_reads(8192, 8704)
    out: list[object] = []
    d.submit_write(0, b"\x01" * 512, False, out.append)
    d.submit_read(8192, 512, lambda data, err: out.append(err))
    s.run_for(10 * MS)
    assert set(out) == {errno.EIO, errno.ENOSPC}
    assert d.read(0, 512) == bytes(512)
    d.repair()
    d.freeze()
    d.submit_write(0, b"\x01" * 512, False, out.append)
    s.run_for(10 * MS)
    assert len(out) == 2
    d.thaw()
    s.run_for(10 * MS)
    assert out[-1] == 0
    with pytest.raises(ValueError):
        d.submit_write(100, b"x" * 512, False, out.append)


class Endpoint:
    def __init__(self) -> None:
        self.inputs: list[TransportInput] = []
        self.data = bytearray()

    def __call__(self, item: TransportInput) -> None:
        self.inputs.append(item)
        if isinstance(item, BytesReceived):
            self.data += item.data


def make_net() -> tuple[Scheduler, SimNetwork, Endpoint, Endpoint]:
    s = Scheduler()
    n = SimNetwork(s, SimRandom(3).stream("net"), max_chunk=100)
    a, b = Endpoint(), Endpoint()
    n.register("a", a)
    n.register("b", b)
    return s, n, a, b


def connect(s: Scheduler, n: SimNetwork, a: Endpoint, b: Endpoint) -> tuple[int, int]:
    n.listen("b", True)
    n.dial("a")
    s.run_for(10 * MS)
    ua = [i for i in a.inputs if isinstance(i, TransportUp)]
    ub = [i for i in b.inputs if isinstance(i, TransportUp)]
    assert ua[-1].dialed and not ub[-1].dialed
    return ua[-1].transport_id, ub[-1].transport_id


def test_stream_delivers_in_order_in_chunks() -> None:
    s, n, a, b = make_net()
    ta, _tb = connect(s, n, a, b)
    payload = bytes(range(256)) * 40
    n.send("a", ta, payload[:5000])
    n.send("a", ta, payload[5000:])
    s.run_for(10 * MS)
    assert bytes(b.data) == payload
    assert n.stats.chunks_delivered > 10


def test_dial_refused_when_not_listening_and_timeout_when_partitioned() -> None:
    s, n, a, _b = make_net()
    n.dial("a")
    s.run_for(10 * MS)
    assert isinstance(a.inputs[-1], DialFailed) and a.inputs[-1].reason == "refused"
    n.partition()
    n.listen("b", True)
    n.dial("a")
    s.run_for(2000 * MS)
    assert isinstance(a.inputs[-1], DialFailed) and a.inputs[-1].reason == "timed out"


def test_partition_breaks_streams_silently_and_reset_notifies() -> None:
    s, n, a, b = make_net()
    ta, _tb = connect(s, n, a, b)
    n.partition()
    n.send("a", ta, b"lost")
    s.run_for(10 * MS)
    assert b.data == b"" and not any(isinstance(i, TransportDown) for i in a.inputs + b.inputs)
    n.heal()
    n.send("a", ta, b"still lost")
    s.run_for(10 * MS)
    assert b.data == b""
    ta, _tb = connect(s, n, a, b)
    n.reset()
    s.run_for(10 * MS)
    assert isinstance(a.inputs[-1], TransportDown) and isinstance(b.inputs[-1], TransportDown)


def test_graceful_close_delivers_then_signals() -> None:
    s, n, a, b = make_net()
    ta, _tb = connect(s, n, a, b)
    n.send("a", ta, b"bye" * 100)
    n.close("a", ta)
    s.run_for(10 * MS)
    assert bytes(b.data) == b"bye" * 100 and isinstance(b.inputs[-1], TransportDown)


def test_stall_holds_bytes_then_releases_in_order() -> None:
    s, n, a, b = make_net()
    ta, _tb = connect(s, n, a, b)
    n.stall("a", 500 * MS)
    n.send("a", ta, b"one")
    n.send("a", ta, b"two")
    s.run_for(100 * MS)
    assert b.data == b""
    s.run_for(500 * MS)
    assert bytes(b.data) == b"onetwo"


def test_crash_resets_the_peer_and_isolate_is_silent() -> None:
    s, n, a, b = make_net()
    ta, _tb = connect(s, n, a, b)
    n.crash("a")
    s.run_for(10 * MS)
    assert isinstance(b.inputs[-1], TransportDown)
    ta, _tb = connect(s, n, a, b)
    before = len(b.inputs)
    n.isolate("a")
    n.send("a", ta, b"x")
    s.run_for(10 * MS)
    assert len(b.inputs) == before
