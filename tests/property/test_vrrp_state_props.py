"""Property tests of the VRRP state machine.

1. Any sequence of inputs, at non-decreasing times, is handled (only a second StartRequested is refused,
   with a typed error) and leaves the instance consistent: a running instance always has a deadline,
   its VIPs are set exactly while it is MASTER, its priority stays in range.
2. Two or three nodes on the in-memory LAN, put through random faults (cut links, frozen hosts,
   stopped daemons, failed tracked interfaces) converge once the faults are repaired: exactly one
   master, the highest priority, and only it holds the VIP.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.core.vrrp import (
    AdvertPacket,
    AdvertReceived,
    InstanceAlreadyStarted,
    InstanceInput,
    InstanceSettings,
    InstanceState,
    InterfaceStateChanged,
    ScriptStatusChanged,
    StartRequested,
    StopRequested,
    TimerExpired,
    TrackedInterface,
    TrackedScript,
    VirtualIp,
    VrrpInstance,
    VrrpNode,
    seconds,
)
from hapair.core.vrrp.lan import SimulatedLan
from hapair.core.vrrp.wire import build_ipv4_datagram

VIP = IPv4Address("10.0.0.100")
GROUP = IPv4Address("224.0.0.18")


def advert(priority: int, source: str, adver_int: int = 1) -> bytes:
    src = IPv4Address(source)
    packet = AdvertPacket(version=2, vrid=51, priority=priority, addresses=(VIP,), adver_int=adver_int)
    return build_ipv4_datagram(packet.encode(src, GROUP), src, GROUP, 1)


inputs: st.SearchStrategy[InstanceInput] = st.one_of(
    st.just(StartRequested()),
    st.just(StopRequested()),
    st.just(TimerExpired()),
    st.builds(
        AdvertReceived,
        st.builds(advert, st.integers(0, 255), st.sampled_from(["10.0.0.2", "10.0.0.1", "10.0.0.0"])),
    ),
    st.builds(AdvertReceived, st.binary(max_size=60)),
    st.builds(InterfaceStateChanged, st.sampled_from(["eth0", "t0", "t1"]), st.booleans()),
    st.builds(ScriptStatusChanged, st.sampled_from(["s0", "s1"]), st.booleans()),
)


@settings(max_examples=200)
@given(
    priority=st.integers(1, 255),
    steps=st.lists(st.tuples(st.integers(0, seconds(3)), inputs), max_size=40),
)
def test_any_input_sequence_keeps_the_instance_consistent(
    priority: int, steps: list[tuple[int, InstanceInput]]
) -> None:
    s = InstanceSettings(
        name="VI_1",
        virtual_router_id=51,
        interface="eth0",
        priority=priority,
        state="MASTER",  # type: ignore[arg-type]
        vips=(VirtualIp.of("10.0.0.100/24"),),
        track_interfaces=(TrackedInterface("t0"), TrackedInterface("t1", -30)),
        track_scripts=(TrackedScript("s0", 40), TrackedScript("s1")),
    )
    inst = VrrpInstance(s, interface_address=IPv4Address("10.0.0.1"))
    now = 0
    for gap, event in steps:
        now += gap
        due = inst.next_deadline()
        if isinstance(event, TimerExpired) and due is not None:
            now = max(now, due)
        running = inst.state in (InstanceState.BACKUP, InstanceState.MASTER, InstanceState.FAULT)
        try:
            inst.handle(event, now)
        except InstanceAlreadyStarted:
            assert isinstance(event, StartRequested) and running
        snap = inst.snapshot()
        if inst.state in (InstanceState.BACKUP, InstanceState.MASTER):
            assert inst.next_deadline() is not None
        assert snap.vipset == (inst.state is InstanceState.MASTER)
        assert 1 <= snap.effective_priority <= 255
        assert snap.effective_priority == 255 or snap.effective_priority <= 254


FAULTS = st.sampled_from(["cut", "heal", "freeze", "thaw", "stop", "start", "down", "up"])


@settings(max_examples=60, deadline=None)
@given(
    priorities=st.lists(st.integers(1, 254), min_size=2, max_size=3, unique=True),
    version=st.sampled_from([2, 3]),
    events=st.lists(
        st.tuples(st.integers(0, seconds(4)), FAULTS, st.integers(0, 2), st.integers(0, 2)), max_size=12
    ),
)
def test_random_faults_then_repair_converge_to_the_highest_priority(
    priorities: list[int], version: int, events: list[tuple[int, str, int, int]]
) -> None:
    lan = SimulatedLan()
    names = [f"H{i}" for i in range(len(priorities))]
    for i, (name, priority) in enumerate(zip(names, priorities, strict=True)):
        settings_ = InstanceSettings(
            name="VI_1",
            virtual_router_id=51,
            interface="eth0",
            priority=priority,
            version=version,
            advert_int=seconds("0.5") if version == 3 else seconds(1),
            vips=(VirtualIp.of("10.0.0.100/24"),),
            track_interfaces=(TrackedInterface("up0"),),
        )
        address = IPv4Address(f"10.0.0.{i + 1}")
        lan.add_host(name, VrrpNode([settings_], interface_addresses={"eth0": [address]}), "eth0", address)
    lan.start()
    stopped: set[str] = set()
    for gap, action, x, y in events:
        lan.run_for(gap)
        a, b = names[x % len(names)], names[y % len(names)]
        match action:
            case "cut" if a != b:
                lan.cut(a, b)
            case "heal":
                lan.heal(a, b)
            case "freeze":
                lan.freeze(a)
            case "thaw":
                lan.thaw(a)
            case "stop" if a not in stopped:
                lan.stop(a)
                stopped.add(a)
            case "start" if a in stopped:
                lan.inject(a, StartRequested())
                stopped.discard(a)
            case "down":
                lan.inject(a, InterfaceStateChanged("up0", False))
            case "up":
                lan.inject(a, InterfaceStateChanged("up0", True))
            case _:
                pass
    for a in names:
        lan.thaw(a)
        lan.inject(a, InterfaceStateChanged("up0", True))
        for b in names:
            lan.heal(a, b)
        if a in stopped:
            lan.inject(a, StartRequested())
    lan.run_for(seconds(15))
    best = names[priorities.index(max(priorities))]
    assert lan.masters("VI_1") == [best]
    assert lan.holders(VIP) == [best]
