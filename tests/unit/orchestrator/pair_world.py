"""Two nodes and a witness in one process, on a fake clock: the real VRRP, orchestrator and witness
cores, a test-only fake volume, and a shell per node that does what the daemon will do.

Each node runs a `VrrpNode` (instance VI_1 tracking the group's condition), a `ResourceGroup`, a
`WitnessClient` and a `FakeReplicatedVolume`; its clock is the world's plus an offset, so nothing can
lean on synchronised clocks. The shell holds VRRP's `AddVips`/`SendGarps`/`RunNotify` for the grouped
instance and adds the VIP only when the group says so (`AddVip`). Links (VRRP, replication, witness)
can be cut per node; a node can crash. A client writes to whoever holds the VIP every 100 ms. After
every event the world checks: at most one node accepts writes, and a node holding the VIP has the
service up on a mounted, attached, Primary volume.
"""

from __future__ import annotations

import functools
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from fake_volume import FakeReplicatedVolume, VolumeRefused

from hapair.core import orchestrator as orch
from hapair.core import vrrp
from hapair.core import witness as wit

MS = 1_000_000
S = 1_000_000_000
VIP = vrrp.VirtualIp.of("10.0.0.100/24", device="eth1")
SECRET = b"pair world witness secret"
STEP_LATENCY = 20 * MS
NETWORK_LATENCY = 1 * MS
WRITE_PERIOD = 100 * MS
MAX_EVENTS = 2_000_000


@dataclass
class Node:
    name: str
    address: IPv4Address
    offset: int
    vrrp: vrrp.VrrpNode
    group: orch.ResourceGroup
    witness: wit.WitnessClient
    volume: FakeReplicatedVolume
    alive: bool = True
    master: bool = False
    roles: tuple[bool, bool] | None = None  # (primary, master) last told to the witness client
    vip: bool = False
    mounted: bool = False
    service: bool = False
    busy_mount: bool = False
    journal: list[tuple[int, object]] = field(default_factory=list)
    hooks: list[tuple[int, orch.VrrpRole]] = field(default_factory=list)
    observed: orch.VolumeObserved | None = None

    def local(self, now: int) -> int:
        return now + self.offset


class PairWorld:
    def __init__(self, *, witness: bool = True, resync_ns: int = 2 * S) -> None:
        self.now = 0
        self.resync_ns = resync_ns
        self.queue: list[tuple[int, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.cut: set[tuple[str, str]] = set()  # (node, link) with link in vrrp|replication|witness
        terms = wit.LeaseTerms(lease_ns=2 * S, drift_ppm=10_000, margin_ns=200 * MS)
        self.arbiter = wit.WitnessArbiter(
            wit.ArbiterSettings(SECRET, terms, nodes=frozenset({"node1", "node2"})), boot=99, started_ns=0
        )
        self.witness_up = True
        generations = itertools.count(2)
        self.nodes: dict[str, Node] = {}
        for index, (name, priority) in enumerate((("node1", 100), ("node2", 90))):
            address = IPv4Address(f"10.0.0.{index + 1}")
            settings = orch.GroupSettings(
                name="r0",
                instance="VI_1",
                resource="r0",
                device="/dev/drbd0",
                vips=("10.0.0.100",),
                fstype="xfs",
                mount_point="/drbd-fs",
                service=orch.ServiceSpec(unit="app.service"),
                witness=witness,
            )
            instance = vrrp.InstanceSettings(
                name="VI_1",
                virtual_router_id=51,
                interface="eth1",
                priority=priority,
                version=3,
                advert_int=100 * MS,
                nopreempt=True,
                vips=(VIP,),
                track_conditions=tuple(vrrp.TrackedCondition(n, w) for n, w in settings.vrrp_conditions()),
            )
            client = wit.WitnessClient(
                wit.ClientSettings(name, SECRET, terms, retry_ns=100 * MS, standby_delay_ns=300 * MS),
                boot=index + 1,
                resources=["r0"],
            )
            volume = FakeReplicatedVolume(name, freeze_on_peer_loss=witness, generations=generations)
            node = Node(
                name=name,
                address=address,
                offset=(index + 1) * 7_777_777_777,
                vrrp=vrrp.VrrpNode([instance], interface_addresses={"eth1": [address]}),
                group=orch.ResourceGroup(settings),
                witness=client,
                volume=volume,
            )
            self.nodes[name] = node
        self.node1, self.node2 = self.nodes["node1"], self.nodes["node2"]
        self.node1.volume.peer, self.node2.volume.peer = self.node2.volume, self.node1.volume
        self.writes: list[tuple[int, str]] = []
        self.violations: list[str] = []

    # ---------------------------------------------------------------------------------- controls

    def start(self) -> None:
        for node in self.nodes.values():
            self._volume_report(node)
            self.vrrp_input(node, vrrp.StartRequested())
        self.at(WRITE_PERIOD, self._client_write)

    def at(self, when: int, action: Callable[[], None]) -> None:
        heapq.heappush(self.queue, (when, next(self.seq), action))

    def crash(self, name: str) -> None:
        node = self.nodes[name]
        node.alive = False
        node.vip = False
        self._replication_changed()

    def cut_link(self, name: str, *links: str) -> None:
        self.cut.update((name, link) for link in links)
        self._replication_changed()

    def heal(self, name: str, *links: str) -> None:
        self.cut.difference_update((name, link) for link in links)
        self._replication_changed()

    def up(self, name: str, link: str) -> bool:
        return self.nodes[name].alive and (name, link) not in self.cut

    # ------------------------------------------------------------------------------------ running

    def run_until(self, end: int) -> None:
        for _ in range(MAX_EVENTS):
            when = self._next_time()
            if when is None or when > end:
                self.now = end
                return
            self.now = when
            self._step()
            self._check()
        raise RuntimeError("the pair did not settle")

    def run_for(self, duration: int) -> None:
        self.run_until(self.now + duration)

    def _deadlines(self) -> list[int]:
        times = []
        for node in self.nodes.values():
            if not node.alive:
                continue
            for core in (node.vrrp, node.group, node.witness):
                deadline = core.next_deadline()
                if deadline is not None:
                    times.append(max(self.now, deadline - node.offset))
            if node.volume.resync_until is not None:
                times.append(max(self.now, node.volume.resync_until))
        deadline = self.arbiter.next_deadline()
        if deadline is not None and self.witness_up:
            times.append(max(self.now, deadline))
        return times

    def _next_time(self) -> int | None:
        times = self._deadlines() + [q[0] for q in self.queue[:1]]
        return min(times) if times else None

    def _step(self) -> None:
        while self.queue and self.queue[0][0] <= self.now:
            _, _, action = heapq.heappop(self.queue)
            action()
        for node in self.nodes.values():
            if not node.alive:
                continue
            local = node.local(self.now)
            if node.volume.tick(self.now):
                self._volume_report(node)
            deadline = node.vrrp.next_deadline()
            if deadline is not None and deadline <= local:
                self.vrrp_input(node, vrrp.TimerExpired())
            deadline = node.witness.next_deadline()
            if deadline is not None and deadline <= local:
                self.witness_input(node, wit.TimerExpired())
            deadline = node.group.next_deadline()
            if deadline is not None and deadline <= local:
                self.group_input(node, orch.TimerExpired())
        deadline = self.arbiter.next_deadline()
        if deadline is not None and deadline <= self.now and self.witness_up:
            self.arbiter.handle(wit.TimerExpired(), self.now)

    # ---------------------------------------------------------------------------------- the shells

    def vrrp_input(self, node: Node, event: vrrp.NodeInput) -> None:
        if not node.alive:
            return
        for effect in node.vrrp.handle(event, node.local(self.now)):
            match effect:
                case vrrp.SendAdvert():
                    self._advert(node, effect)
                case vrrp.RemoveVips():
                    node.vip = False  # removing first is always safe
                case vrrp.StateChanged(current=current):
                    node.master = current is vrrp.InstanceState.MASTER
                    self._roles_report(node)
                    self.group_input(node, orch.VrrpStateObserved(orch.VrrpRole[current.name]))
                case _:
                    pass  # AddVips, SendGarps, RunNotify: held for the group; log lines

    def _advert(self, sender: Node, advert: vrrp.SendAdvert) -> None:
        for node in self.nodes.values():
            if node is not sender and self.up(sender.name, "vrrp") and self.up(node.name, "vrrp"):
                arrival = vrrp.AdvertReceived(advert.data, "eth1")
                self.at(self.now + NETWORK_LATENCY, functools.partial(self.vrrp_input, node, arrival))

    def group_input(self, node: Node, event: orch.GroupInput) -> None:
        if not node.alive:
            return
        for effect in node.group.handle(event, node.local(self.now)):
            node.journal.append((self.now, effect))
            self._group_effect(node, effect)

    def _group_effect(self, node: Node, effect: orch.GroupEffect) -> None:
        match effect:
            case orch.VrrpConditionChanged(condition=condition, ok=ok):
                self.vrrp_input(node, vrrp.ConditionChanged(condition, ok))
            case orch.SuspendIo():
                node.volume.io = "suspend"
            case orch.FailIo():
                node.volume.io = "error"
            case orch.ResumeIo():
                node.volume.io = "run"
            case orch.FenceVolume():
                node.volume.fence()
                node.vip = False
                self._volume_report(node)
            case orch.RunNotifyHooks(state=state):
                node.hooks.append((self.now, state))
            case _ if isinstance(effect, orch.StepEffect):
                self.at(self.now + STEP_LATENCY, lambda: self._carry_out(node, effect))
            case _:
                pass  # journal events

    def _carry_out(self, node: Node, effect: orch.StepEffect) -> None:
        if not node.alive:
            return
        try:
            step = self._apply(node, effect)
        except VolumeRefused as refused:
            self.group_input(node, orch.StepFailed(effect.op, _step_of(effect), str(refused)))
            return
        self.group_input(node, orch.StepSucceeded(effect.op, step))
        self._volume_report(node)

    def _apply(self, node: Node, effect: orch.StepEffect) -> orch.Step:
        volume = node.volume
        match effect:
            case orch.PromoteVolume():
                volume.promote()
            case orch.DemoteVolume():
                volume.demote()
            case orch.AttachDevice():
                if volume.role is not orch.VolumeRole.PRIMARY:
                    raise VolumeRefused("attach: not Primary")
                volume.attached = True
            case orch.DetachDevice():
                if node.mounted:
                    raise VolumeRefused("detach: mounted")
                volume.attached = False
            case orch.MountFilesystem():
                if not volume.attached:
                    raise VolumeRefused("mount: no device")
                node.mounted = True
            case orch.UnmountFilesystem():
                if node.busy_mount or node.service:
                    raise VolumeRefused("umount: target is busy")
                node.mounted = False
            case orch.KillHolders():
                node.busy_mount = False
            case orch.StartService():
                if not node.mounted:
                    raise VolumeRefused("service: nothing mounted")
                node.service = True
            case orch.StopService():
                node.service = False
            case orch.AddVip():
                node.vip = True
            case orch.RemoveVip():
                node.vip = False
            case orch.CheckFilesystem():
                pass
        return _step_of(effect)

    def _volume_report(self, node: Node) -> None:
        observed = node.volume.observed()
        if observed == node.observed or not node.alive:
            return
        previous, node.observed = node.observed, observed
        self.group_input(node, observed)
        visible = observed.connected
        if previous is None or previous.connected != visible:
            self.witness_input(node, wit.PeerVisibilityChanged("r0", visible))
        self._roles_report(node)

    def _roles_report(self, node: Node) -> None:
        observed = node.observed
        roles = (observed is not None and observed.role is orch.VolumeRole.PRIMARY, node.master)
        if roles != node.roles:
            node.roles = roles
            self.witness_input(node, wit.LocalRoleChanged("r0", *roles))

    def witness_input(self, node: Node, event: wit.ClientInput) -> None:
        if not node.alive:
            return
        for effect in node.witness.handle(event, node.local(self.now)):
            match effect:
                case wit.SendToWitness(data=data):
                    if self.up(node.name, "witness") and self.witness_up:
                        self.at(self.now + NETWORK_LATENCY, functools.partial(self._at_witness, data, node))
                case wit.VoteChanged(held_until_ns=until):
                    self.group_input(node, orch.WitnessVoteChanged(until))
                case wit.ClientNote():
                    pass

    def _at_witness(self, data: bytes, sender: Node) -> None:
        if not self.witness_up:
            return
        for effect in self.arbiter.handle(wit.DatagramReceived(data, sender.name), self.now):
            if isinstance(effect, wit.SendReply) and self.up(sender.name, "witness"):
                reply = wit.ReplyReceived(effect.data)
                self.at(self.now + NETWORK_LATENCY, functools.partial(self.witness_input, sender, reply))

    def _replication_changed(self) -> None:
        a, b = self.node1, self.node2
        up = self.up("node1", "replication") and self.up("node2", "replication")
        if up and not (a.volume.connected and b.volume.connected):
            a.volume.link_up(self.now, self.resync_ns)
        elif not up and (a.volume.connected or b.volume.connected):
            a.volume.link_down()
            b.volume.link_down()
        for node in (a, b):
            self._volume_report(node)

    # ------------------------------------------------------------------------------------ client

    def _client_write(self) -> None:
        holders = [n for n in self.nodes.values() if n.alive and n.vip]
        if len(holders) == 1 and holders[0].service and holders[0].volume.write():
            self.writes.append((self.now, holders[0].name))
        self.at(self.now + WRITE_PERIOD, self._client_write)

    # ---------------------------------------------------------------------------------- checking

    def _check(self) -> None:
        writable = [n.name for n in self.nodes.values() if n.alive and n.volume.writable()]
        if len(writable) > 1:
            self.violations.append(f"{self.now}: two writable Primaries {writable}")
        for node in self.nodes.values():
            if (
                node.alive
                and node.vip
                and not (
                    node.service
                    and node.mounted
                    and node.volume.attached
                    and node.volume.role is orch.VolumeRole.PRIMARY
                )
            ):
                self.violations.append(f"{self.now}: {node.name} holds the VIP without the stack under it")

    def vip_holders(self) -> list[str]:
        return [n.name for n in self.nodes.values() if n.alive and n.vip]

    def states(self, name: str) -> list[tuple[int, orch.GroupState, str]]:
        node = self.nodes[name]
        return [(t, e.current, e.cause) for t, e in node.journal if isinstance(e, orch.GroupStateChanged)]

    def last_write(self, name: str) -> int | None:
        times = [t for t, n in self.writes if n == name]
        return times[-1] if times else None


STEP_OF: dict[type, orch.Step] = {
    orch.PromoteVolume: orch.Step.PROMOTE,
    orch.DemoteVolume: orch.Step.DEMOTE,
    orch.AttachDevice: orch.Step.ATTACH,
    orch.DetachDevice: orch.Step.DETACH,
    orch.CheckFilesystem: orch.Step.FSCK,
    orch.MountFilesystem: orch.Step.MOUNT,
    orch.UnmountFilesystem: orch.Step.UNMOUNT,
    orch.KillHolders: orch.Step.KILL_HOLDERS,
    orch.StartService: orch.Step.START_SERVICE,
    orch.StopService: orch.Step.STOP_SERVICE,
    orch.AddVip: orch.Step.ADD_VIP,
    orch.RemoveVip: orch.Step.REMOVE_VIP,
}


def _step_of(effect: orch.StepEffect) -> orch.Step:
    return STEP_OF[type(effect)]
