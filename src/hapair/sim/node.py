"""A simulated host running one real `Replica`: it executes the core's effects on a `SimDisk` and
the `SimNetwork`, keeps the core's single timer armed at `next_deadline()`, and can crash.

This is the simulator's stand-in for the daemon's driver and adapters (same contract, see
`effects.py`): disk I/O completes through the scheduler, frames go out on the stream network,
client completions go to whoever asked (the workload), events are recorded with their time.

Failure kinds (research/architecture.md 7.1): `crash()` kills the process (the disk's cache
survives, the peer sees a reset); `power_loss()` loses the cache too and vanishes from the
network silently. `restart()` boots a fresh core and attaches the disk as the daemon would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hapair.core.volume.commands import AdminCommand, Attach, Up
from hapair.core.volume.effects import (
    AdminCompleted,
    CloseTransport,
    CompleteClientRequest,
    DialPeer,
    Effect,
    Emit,
    Listen,
    LocalFlushDone,
    LocalReadDone,
    LocalWriteDone,
    MetadataWriteDone,
    SendFrame,
    SubmitFlush,
    SubmitLocalRead,
    SubmitLocalWrite,
    TimerFired,
    TransportInput,
    WriteMetadata,
)
from hapair.core.volume.events import VolumeEvent
from hapair.core.volume.metadata import MetadataLayout, internal_layout
from hapair.core.volume.metadata_lifecycle import MetadataWrite, MetadataZeroFill, create_md_plan
from hapair.core.volume.replica import Input, Replica
from hapair.core.volume.settings import VolumeSettings
from hapair.sim.disk import SimDisk
from hapair.sim.network import SimNetwork
from hapair.sim.rng import SimRandom, StreamEntropy
from hapair.sim.scheduler import Scheduler, Timer

ClientCallback = Callable[[int, bytes | memoryview | None], None]


@dataclass(slots=True)
class NodeLog:
    """What happened on a node: events with their times, admin results."""

    events: list[tuple[int, VolumeEvent]] = field(default_factory=list)
    admin_results: dict[int, str] = field(default_factory=dict)

    def of_type(self, kind: type) -> list[VolumeEvent]:
        return [e for _, e in self.events if isinstance(e, kind)]

    def lines(self) -> list[str]:
        return [e.line() for _, e in self.events]


class SimNode:
    def __init__(
        self,
        name: str,
        settings: VolumeSettings,
        *,
        disk: SimDisk,
        network: SimNetwork,
        scheduler: Scheduler,
        random: SimRandom,
    ) -> None:
        self.name = name
        self.settings = settings
        self.disk = disk
        self.network = network
        self.sched = scheduler
        self.random = random
        self.layout: MetadataLayout = internal_layout(disk.size)
        self.replica: Replica | None = None
        self.incarnation = 0
        self.log = NodeLog()
        self._timer: Timer | None = None
        self._clients: dict[int, ClientCallback] = {}
        self._next_cmd = 1
        network.register(name, self._from_network)

    # ---- life cycle ----

    @property
    def up(self) -> bool:
        return self.replica is not None

    def create_md(self) -> None:
        """`drbdadm create-md`: lay out fresh metadata directly on stable storage."""
        _sb, writes = create_md_plan(self.layout, self.settings.al_extents)
        base = self.layout.area_offset
        for w in writes:
            match w:
                case MetadataWrite(offset, data):
                    self.disk.stable[base + offset : base + offset + len(data)] = data
                case MetadataZeroFill(offset, length):
                    self.disk.stable[base + offset : base + offset + length] = bytes(length)

    def boot(self) -> None:
        """Start a fresh core (StandAlone, Diskless)."""
        self.incarnation += 1
        entropy = StreamEntropy(self.random.stream(f"core:{self.name}:{self.incarnation}"))
        self.replica = Replica(self.settings, entropy)
        self.network.rejoin(self.name)

    def attach_command(self) -> Attach:
        area = self.disk.read(self.layout.area_offset, self.layout.area_size)
        return Attach(self.next_cmd_id(), self.layout, self.disk.size, area)

    def up_and_connect(self) -> None:
        """`drbdadm up`: attach, then connect."""
        attach = self.attach_command()
        self.admin(Up(attach.cmd_id, attach.layout, attach.backing_bytes, attach.md_area))

    def crash(self) -> None:
        """The process dies: the OS keeps the disk cache; the peer's kernel sees a reset."""
        self._stop()
        self.disk.process_crash()
        self.network.crash(self.name)

    def power_loss(self) -> None:
        """Power cut: unflushed data may be lost; the node vanishes from the network silently."""
        self._stop()
        self.disk.power_loss()
        self.network.isolate(self.name)

    def restart(self, connect: bool = True) -> None:
        """Boot a fresh core and attach the disk (`drbdadm up` when `connect`)."""
        self.boot()
        attach = self.attach_command()
        if connect:
            self.admin(Up(attach.cmd_id, attach.layout, attach.backing_bytes, attach.md_area))
        else:
            self.admin(attach)

    def _stop(self) -> None:
        self.replica = None
        self.incarnation += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for callback in self._clients.values():
            callback(-1, None)  # the client sees its connection to this node drop
        self._clients.clear()

    # ---- driving the core ----

    def next_cmd_id(self) -> int:
        value = self._next_cmd
        self._next_cmd += 1
        return value

    def admin(self, command: AdminCommand) -> int:
        """Run an admin verb (typed errors propagate); returns its cmd_id."""
        assert self.replica is not None, f"{self.name} is down"
        effects = self.replica.admin(command, self.sched.now_ns)
        self._execute(effects)
        return command.cmd_id

    def feed(self, item: Input) -> None:
        if self.replica is None:
            return
        self._execute(self.replica.handle(item, self.sched.now_ns))

    def submit(self, item: Input, on_done: ClientCallback) -> None:
        """A client request; `on_done(errno, data)` when answered (-1: the node went down)."""
        req_id = getattr(item, "req_id")  # noqa: B009 - every client request has one
        if self.replica is None:
            on_done(-1, None)
            return
        self._clients[req_id] = on_done
        self.feed(item)

    def _from_network(self, item: TransportInput) -> None:
        self.feed(item)

    def _execute(self, effects: list[Effect]) -> None:
        incarnation = self.incarnation
        for effect in effects:
            match effect:
                case SubmitLocalWrite(io_id, offset, data, fua):
                    self.disk.submit_write(offset, data, fua, self._done(incarnation, LocalWriteDone, io_id))
                case SubmitLocalRead(io_id, offset, length):
                    self.disk.submit_read(offset, length, self._read_done(incarnation, io_id))
                case SubmitFlush(io_id):
                    self.disk.submit_flush(self._done(incarnation, LocalFlushDone, io_id))
                case WriteMetadata(io_id, offset, data):
                    at = self.layout.area_offset + offset
                    self.disk.submit_write(at, data, True, self._done(incarnation, MetadataWriteDone, io_id))
                case SendFrame(transport_id, head, payload):
                    self.network.send(self.name, transport_id, head + bytes(payload))
                case CloseTransport(transport_id):
                    self.network.close(self.name, transport_id)
                case DialPeer():
                    self.network.dial(self.name)
                case Listen(enabled):
                    self.network.listen(self.name, enabled)
                case CompleteClientRequest(req_id, error, data):
                    callback = self._clients.pop(req_id, None)
                    if callback is not None:
                        callback(error, data)
                case AdminCompleted(cmd_id, refusal):
                    self.log.admin_results[cmd_id] = refusal
                case Emit(event):
                    self.log.events.append((self.sched.now_ns, event))
        self._arm_timer()

    def _done(
        self,
        incarnation: int,
        kind: type[LocalWriteDone] | type[LocalFlushDone] | type[MetadataWriteDone],
        io_id: int,
    ) -> Callable[[int], None]:
        def done(error: int) -> None:
            if incarnation == self.incarnation:
                self.feed(kind(io_id, error))

        return done

    def _read_done(self, incarnation: int, io_id: int) -> Callable[[bytes, int], None]:
        def done(data: bytes, error: int) -> None:
            if incarnation == self.incarnation:
                self.feed(LocalReadDone(io_id, data, error))

        return done

    def _arm_timer(self) -> None:
        if self.replica is None:
            return
        deadline = self.replica.next_deadline()
        if self._timer is not None and self._timer.pending and self._timer.at_ns == deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            incarnation = self.incarnation

            def fire() -> None:
                if incarnation == self.incarnation:
                    self._timer = None
                    self.feed(TimerFired())

            self._timer = self.sched.schedule(deadline, fire)
