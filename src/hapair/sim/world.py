"""Two simulated nodes, their disks and the network between them, under one seed.

    world = PairWorld(seed=7)
    world.start()                      # create-md + up on both, wait until Connected
    world.initial_sync("alice")        # primary --force on alice, wait until UpToDate/UpToDate
    world.workload.burst(world.a, 20)
    world.run_for(seconds(1))

`run_for` / `run_until` step the scheduler one action at a time and check the per-step invariant
(`single_primary`) after each; a failing check raises at the exact step, and the same seed replays
the same run. Tests grow scenarios out of these verbs; the simulation issue grows the fault mix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from hapair.core.volume.commands import Primary
from hapair.core.volume.settings import VolumeSettings
from hapair.core.volume.states import ConnState, DiskState
from hapair.sim import checkers
from hapair.sim.disk import SimDisk
from hapair.sim.network import SimNetwork
from hapair.sim.node import SimNode
from hapair.sim.rng import SimRandom
from hapair.sim.scheduler import Scheduler
from hapair.sim.workload import BLOCK, Workload

MS = 1_000_000
S = 1_000_000_000
MIB = 1 << 20


def seconds(value: float) -> int:
    return int(value * S)


def pair_settings(**options: object) -> VolumeSettings:
    """Settings for alice (peer bob) with a fast fixed-rate resync unless `options` say otherwise."""
    values: dict[str, object] = {"c_plan_ahead_ds": 0, "resync_rate_kib": 100_000, **options}
    return VolumeSettings(node_name="alice", peer_name="bob", **values)  # type: ignore[arg-type]


class SimTimeout(AssertionError):
    """A condition did not come true within its virtual-time budget."""


class PairWorld:
    def __init__(
        self,
        seed: int,
        *,
        settings: VolumeSettings | None = None,
        backing_bytes: int = 16 * MIB,
        names: tuple[str, str] = ("alice", "bob"),
        disk_latency_ns: tuple[int, int] = (50_000, 400_000),
        net_latency_ns: tuple[int, int] = (50_000, 300_000),
        max_chunk: int = 16 * 1024,
    ) -> None:
        self.seed = seed
        self.random = SimRandom(seed)
        self.sched = Scheduler()
        self.network = SimNetwork(
            self.sched, self.random.stream("net"), latency_ns=net_latency_ns, max_chunk=max_chunk
        )
        base = settings or VolumeSettings(node_name=names[0], peer_name=names[1])
        a_name, b_name = names
        self.settings = {
            a_name: replace(base, node_name=a_name, peer_name=b_name),
            b_name: replace(base, node_name=b_name, peer_name=a_name),
        }
        self.nodes: dict[str, SimNode] = {}
        for name in names:
            disk = SimDisk(
                name, backing_bytes, self.sched, self.random.stream(f"disk:{name}"), disk_latency_ns
            )
            self.nodes[name] = SimNode(
                name,
                self.settings[name],
                disk=disk,
                network=self.network,
                scheduler=self.sched,
                random=self.random,
            )
        self.a, self.b = (self.nodes[n] for n in names)
        self.allow_dual_primary_apart = False
        self.workload = Workload(self.random.stream("workload"), blocks=64)

    @classmethod
    def started(
        cls,
        seed: int,
        settings: VolumeSettings | None = None,
        *,
        sync: bool = True,
        backing_bytes: int = 16 * MIB,
    ) -> PairWorld:
        """A connected pair (default `pair_settings()`), initially synced from alice if `sync`."""
        world = cls(seed, settings=settings or pair_settings(), backing_bytes=backing_bytes)
        world.start()
        if sync:
            world.initial_sync("alice")
        return world

    # ---- running ----

    def check_step(self) -> None:
        checkers.require(
            checkers.single_primary(self.nodes.values(), allow_while_apart=self.allow_dual_primary_apart)
        )

    def run_for(self, duration_ns: int, max_steps: int = 5_000_000) -> None:
        deadline = self.sched.now_ns + duration_ns
        for _ in range(max_steps):
            t = self.sched.next_time()
            if t is None or t > deadline:
                self.sched.now_ns = max(self.sched.now_ns, deadline)
                return
            self.sched.step()
            self.check_step()
        raise SimTimeout(f"seed {self.seed}: more than {max_steps} steps in {duration_ns} ns")

    def run_until(self, condition: Callable[[], bool], timeout_ns: int, what: str = "condition") -> None:
        deadline = self.sched.now_ns + timeout_ns
        while not condition():
            t = self.sched.next_time()
            if t is None or t > deadline:
                raise SimTimeout(f"seed {self.seed}: {what} not reached within {timeout_ns / S:.1f} s")
            self.sched.step()
            self.check_step()

    # ---- set-up verbs ----

    def start(self) -> None:
        """create-md and up on both nodes; wait until they are connected."""
        for node in self.nodes.values():
            node.create_md()
            node.boot()
            node.up_and_connect()
        self.run_until(self.connected, seconds(30), "connection")
        self.workload.blocks = min(self.workload.blocks, self.data_blocks)

    @property
    def data_blocks(self) -> int:
        r = self.a.replica
        return r.data_size // BLOCK if r is not None else 0

    def connected(self) -> bool:
        return all(
            n.replica is not None and n.replica.state.conn >= ConnState.CONNECTED for n in self.nodes.values()
        )

    def in_sync(self) -> bool:
        for n in self.nodes.values():
            r = n.replica
            if r is None or r.state.conn is not ConnState.CONNECTED:
                return False
            if r.state.disk is not DiskState.UP_TO_DATE or r.state.pdsk is not DiskState.UP_TO_DATE:
                return False
            if r.bitmap is not None and r.bitmap.weight:
                return False
        return True

    def initial_sync(self, primary: str, timeout_ns: int = seconds(120)) -> None:
        """`primary --force` on one node, then wait for the full sync to finish."""
        node = self.nodes[primary]
        node.admin(Primary(node.next_cmd_id(), force=True))
        self.run_until(self.in_sync, timeout_ns, "initial sync")

    def wait_attached(self, name: str, timeout_ns: int = seconds(5)) -> None:
        node = self.nodes[name]
        self.run_until(
            lambda: node.replica is not None and node.replica.state.disk > DiskState.ATTACHING,
            timeout_ns,
            f"{name} attached",
        )

    def wait_idle(self, timeout_ns: int = seconds(10)) -> None:
        self.run_until(lambda: self.workload.in_flight == 0, timeout_ns, "workload drained")

    def heal_and_converge(self, timeout_ns: int = seconds(120)) -> None:
        """Heal the network, then require UpToDate/UpToDate, identical data, clear bitmaps."""
        self.network.heal()
        self.run_until(self.in_sync, timeout_ns, "convergence")
        self.run_for(seconds(1))
        checkers.require(checkers.converged(self.a, self.b))
