"""The instance state machine fed directly: transitions, their effects in order, totality.

Expected sequences for start-up in FAULT, MASTER -> FAULT and the address owner come from runs of
keepalived 2.2.7 made for this work (two namespaces, a veth pair, a tracked veth toggled).
"""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from vrrp_craft import craft

from hapair.core.vrrp import (
    AddVips,
    AdvertReceived,
    Effect,
    InitialState,
    InstanceAlreadyStarted,
    InstanceInput,
    InstanceSettings,
    InstanceState,
    InterfaceStateChanged,
    LogLine,
    NotifyState,
    RemoveVips,
    RunNotify,
    ScriptStatus,
    ScriptStatusChanged,
    SendAdvert,
    SendGarps,
    StartRequested,
    StateChanged,
    StopRequested,
    TimerExpired,
    TrackedInterface,
    TrackedScript,
    UnicastPeer,
    VirtualIp,
    VrrpInstance,
    seconds,
)
from hapair.core.vrrp.packet import decode_ipv4_datagram
from hapair.errors import LocalProtocolError

LOCAL = IPv4Address("10.0.0.1")
VIPS = (VirtualIp.of("10.0.0.100/24"),)
MDI_150 = 3_414_062_000


def adv(src: str = "10.0.0.2", **kw: object) -> bytes:
    """A valid v2 advert for VRID 51 carrying our single VIP."""
    return craft(src, vips=("10.0.0.100",), **kw)  # type: ignore[arg-type]


def make(script_statuses: dict[str, ScriptStatus] | None = None, **kw: object) -> VrrpInstance:
    base: dict[str, object] = {"name": "VI_1", "virtual_router_id": 51, "interface": "vA", "vips": VIPS}
    base.update(kw)
    return VrrpInstance(InstanceSettings(**base), interface_address=LOCAL, script_statuses=script_statuses)  # type: ignore[arg-type]


def lines(effects: list[Effect], detailed: bool = True) -> list[str]:
    return [e.text for e in effects if isinstance(e, LogLine) and (detailed or not e.detailed)]


def kinds(effects: list[Effect]) -> list[str]:
    return [
        type(e).__name__ for e in effects if not (isinstance(e, LogLine) and e.text.startswith("Sending gr"))
    ]


def master(inst: VrrpInstance) -> int:
    inst.handle(StartRequested(), 0)
    deadline = inst.next_deadline()
    assert deadline is not None
    inst.handle(TimerExpired(), deadline)
    assert inst.state is InstanceState.MASTER
    return deadline


def test_start_enters_backup_with_full_down_timer_even_with_state_master() -> None:
    inst = make(priority=150, state=InitialState.MASTER)
    effects = inst.handle(StartRequested(), 0)
    assert kinds(effects) == ["LogLine", "RemoveVips", "LogLine", "StateChanged", "RunNotify"]
    assert lines(effects) == ["(VI_1) removing VIPs.", "(VI_1) Entering BACKUP STATE (init)"]
    assert inst.next_deadline() == MDI_150


def test_timeout_makes_master_advert_first_then_vips_garps_notify() -> None:
    inst = make(priority=150)
    inst.handle(StartRequested(), 0)
    effects = inst.handle(TimerExpired(), MDI_150)
    assert kinds(effects) == [
        "LogLine", "SendAdvert", "LogLine", "LogLine", "AddVips",
        "LogLine", "SendGarps", "StateChanged", "RunNotify",
    ]  # fmt: skip
    garps = next(e for e in effects if isinstance(e, SendGarps))
    assert len(garps.targets) == 5
    assert inst.next_deadline() == MDI_150 + seconds(1)


def test_address_owner_start() -> None:
    """keepalived: VIP removal, "Receive advertisement timeout" (-D), then MASTER at once."""
    inst = make(priority=255, state=InitialState.MASTER)
    effects = inst.handle(StartRequested(), 0)
    assert lines(effects, detailed=False) == ["(VI_1) Entering MASTER STATE"]
    assert lines(effects)[:2] == ["(VI_1) removing VIPs.", "(VI_1) Receive advertisement timeout"]
    assert [e.priority for e in effects if isinstance(e, SendAdvert)] == [255]
    notifies = [e for e in effects if isinstance(e, RunNotify)]
    assert [n.state for n in notifies] == [NotifyState.MASTER]


def test_start_with_tracked_interface_down_and_recovery() -> None:
    inst = make(priority=150, track_interfaces=(TrackedInterface("vcxT"),))
    inst.handle(InterfaceStateChanged("vcxT", False), 0)
    effects = inst.handle(StartRequested(), 0)
    assert lines(effects) == [
        "(VI_1): entering FAULT state (interface vcxT down)",
        "(VI_1) entering FAULT state",
        "(VI_1) removing VIPs.",
    ]
    assert inst.state is InstanceState.FAULT and inst.next_deadline() is None
    assert [e.state for e in effects if isinstance(e, RunNotify)] == [NotifyState.FAULT]
    effects = inst.handle(InterfaceStateChanged("vcxT", True), seconds(2))
    assert lines(effects) == ["(VI_1) Entering BACKUP STATE"]
    assert [e.state for e in effects if isinstance(e, RunNotify)] == [NotifyState.BACKUP]
    assert inst.next_deadline() == seconds(2) + MDI_150


def test_master_to_fault_sends_two_priority_zero_adverts() -> None:
    inst = make(priority=150, track_interfaces=(TrackedInterface("vcxT"),))
    master(inst)
    effects = inst.handle(InterfaceStateChanged("vcxT", False), seconds(5))
    assert lines(effects) == [
        "(VI_1) Entering FAULT STATE",
        "(VI_1) sent 0 priority",
        "(VI_1) removing VIPs.",
    ]
    zeros = [e for e in effects if isinstance(e, SendAdvert)]
    assert [e.priority for e in zeros] == [0, 0]
    ids = [decode_ipv4_datagram(e.data).ip_header.identification for e in zeros]  # type: ignore[union-attr]
    assert ids == [2, 3]
    stats = inst.snapshot().stats
    assert (stats.pri_zero_sent, stats.release_master, stats.advert_sent) == (1, 1, 3)
    assert inst.next_deadline() == MDI_150 + seconds(5), "only the delayed GARP timer is left"
    assert inst.handle(TimerExpired(), MDI_150 + seconds(5)) == [], "no GARPs outside MASTER"


def test_stop_from_each_state() -> None:
    inst = make(priority=150)
    assert kinds(inst.handle(StopRequested(), 0)) == ["StateChanged"], "never started: nothing to undo"
    assert inst.state is InstanceState.STOP
    backup = make()
    backup.handle(StartRequested(), 0)
    effects = backup.handle(StopRequested(), 1)
    assert kinds(effects) == ["StateChanged", "RunNotify"]
    m = make(priority=150)
    master(m)
    effects = m.handle(StopRequested(), seconds(4))
    assert lines(effects) == ["(VI_1) sent 0 priority", "(VI_1) removing VIPs."]
    assert [e.priority for e in effects if isinstance(e, SendAdvert)] == [0]
    assert m.next_deadline() is None and m.handle(StopRequested(), seconds(5)) == []


def test_start_twice_is_refused_and_restart_after_stop_works() -> None:
    inst = make()
    inst.handle(StartRequested(), 0)
    with pytest.raises(InstanceAlreadyStarted):
        inst.handle(StartRequested(), 1)
    inst.handle(StopRequested(), 2)
    inst.handle(StartRequested(), 3)
    assert inst.state is InstanceState.BACKUP


def test_notify_effect_carries_scripts_and_keepalived_arguments() -> None:
    inst = make(priority=150, notify="/bin/notify", notify_backup="/bin/nb 'two words'")
    notify = next(e for e in inst.handle(StartRequested(), 0) if isinstance(e, RunNotify))
    assert (notify.script, notify.generic) == ("/bin/nb 'two words'", "/bin/notify")
    assert notify.generic_args == ("INSTANCE", "VI_1", "BACKUP", "150")
    assert notify.fifo_line == 'INSTANCE "VI_1" BACKUP 150\n'


def test_priority_change_moves_backup_deadline_by_mdi_difference() -> None:
    inst = make(priority=150, track_interfaces=(TrackedInterface("e1", -60),))
    inst.handle(StartRequested(), 0)
    effects = inst.handle(InterfaceStateChanged("e1", False), seconds(1))
    assert lines(effects) == ["(VI_1) Changing effective priority from 150 to 90"]
    assert inst.next_deadline() == MDI_150 + (3_648_437_000 - MDI_150)


def test_delayed_and_refresh_garps() -> None:
    inst = make(priority=150, garp_master_refresh=seconds(2))
    became = master(inst)
    garps_at: list[int] = []
    now = became
    while now < became + seconds(6):
        deadline = inst.next_deadline()
        assert deadline is not None
        now = deadline
        if any(isinstance(e, SendGarps) for e in inst.handle(TimerExpired(), now)):
            garps_at.append(now - became)
    # refresh checked at adverts once 2 s have passed (strictly later), plus the batch after 5 s
    assert garps_at == [seconds(3), seconds(5), seconds(6)]


def test_master_answers_lower_priority_and_priority_zero() -> None:
    inst = make(priority=150)
    became = master(inst)
    effects = inst.handle(AdvertReceived(adv(prio=100), "vA"), became + seconds("0.5"))
    assert lines(effects, detailed=False) == [
        "(VI_1) Received advert from 10.0.0.2 with lower priority 100, ours 150, forcing new election"
    ]
    assert [type(e).__name__ for e in effects if not isinstance(e, LogLine)] == [
        "SendAdvert",
        "SendGarps",
        "RunNotify",
    ]
    assert inst.next_deadline() == became + seconds("1.5"), "timer restarts after the answer"
    effects = inst.handle(AdvertReceived(adv(prio=0), "vA"), became + seconds(1))
    assert lines(effects) == ["(VI_1) Master received priority 0 message"]
    assert [e.priority for e in effects if isinstance(e, SendAdvert)] == [150]


def test_lower_prio_no_advert() -> None:
    inst = make(priority=150, lower_prio_no_advert=True, garp_lower_prio_repeat=0)
    became = master(inst)
    effects = inst.handle(AdvertReceived(adv(prio=100), "vA"), became + seconds("0.5"))
    assert lines(effects) == ["(VI_1) Received advert from 10.0.0.2 with lower priority 100, ours 150"]
    assert not [e for e in effects if isinstance(e, SendAdvert | SendGarps)]
    assert inst.next_deadline() == became + seconds(1)


def test_higher_prio_send_advert_and_equal_priority_from_own_address() -> None:
    inst = make(priority=150, higher_prio_send_advert=True)
    became = master(inst)
    effects = inst.handle(AdvertReceived(adv(prio=200), "vA"), became + 1)
    assert kinds(effects)[:2] == ["SendAdvert", "LogLine"]
    assert inst.state is InstanceState.BACKUP
    other = make(priority=150)
    became = master(other)
    effects = other.handle(AdvertReceived(adv("10.0.0.1", prio=150), "vA"), became + 1)
    assert lines(effects) == [
        "(VI_1) WARNING - equal priority advert received from remote host with our IP address."
    ]
    assert other.state is InstanceState.MASTER


def test_weight_zero_script_holds_instance_until_first_result() -> None:
    inst = make(track_scripts=(TrackedScript("chk"),), script_statuses={"chk": ScriptStatus.INIT})
    effects = inst.handle(StartRequested(), 0)
    assert inst.state is InstanceState.FAULT
    assert not [e for e in effects if isinstance(e, RunNotify)], "silent while waiting"
    effects = inst.handle(ScriptStatusChanged("chk", True), 1)
    assert lines(effects) == ["(VI_1) Entering BACKUP STATE"]
    failing = make(track_scripts=(TrackedScript("chk"),))
    failing.handle(StartRequested(), 0)
    effects = failing.handle(ScriptStatusChanged("chk", False), 1)
    assert [e.state for e in effects if isinstance(e, RunNotify)] == [NotifyState.FAULT]
    assert lines(effects) == []


def test_unicast_backup_leaving_fault_sends_garp_for_own_address() -> None:
    inst = make(
        unicast_src_ip=LOCAL,
        unicast_peers=(UnicastPeer(IPv4Address("10.0.0.2")),),
        track_interfaces=(TrackedInterface("e1"),),
    )
    inst.handle(StartRequested(), 0)
    inst.handle(InterfaceStateChanged("e1", False), 1)
    effects = inst.handle(InterfaceStateChanged("e1", True), 2)
    garp = next(e for e in effects if isinstance(e, SendGarps))
    assert [(t.interface, t.address) for t in garp.targets] == [("vA", LOCAL)]
    assert "VI_1: sending gratuitous ARP for 10.0.0.1" in lines(effects)


def test_snapshot_json_has_keepalived_keys() -> None:
    sample = json.loads((Path(__file__).parent / "evidence" / "keepalived.json.sample").read_text())[0]
    inst = make(priority=150)
    master(inst)
    ours = inst.snapshot().to_keepalived_json()
    assert set(ours) == {"data", "stats"}
    data, stats = ours["data"], ours["stats"]
    assert isinstance(data, dict) and isinstance(stats, dict)
    assert set(data) == set(sample["data"]) and set(stats) == set(sample["stats"])
    assert data["state"] == 2 and data["vips"] == ["10.0.0.100/24 dev vA scope global set"]


INPUTS: list[InstanceInput] = [
    StartRequested(),
    StopRequested(),
    TimerExpired(),
    AdvertReceived(adv(prio=200)),
    AdvertReceived(adv(prio=50)),
    AdvertReceived(b"junk"),
    InterfaceStateChanged("e1", False),
    InterfaceStateChanged("e1", True),
    InterfaceStateChanged("unrelated", False),
    ScriptStatusChanged("chk", False),
    ScriptStatusChanged("chk", True),
]


def in_state(state: InstanceState) -> VrrpInstance:
    inst = make(
        priority=150, track_interfaces=(TrackedInterface("e1"),), track_scripts=(TrackedScript("chk", -10),)
    )
    match state:
        case InstanceState.INITIALIZE:
            pass
        case InstanceState.BACKUP:
            inst.handle(StartRequested(), 0)
        case InstanceState.MASTER:
            master(inst)
        case InstanceState.FAULT:
            inst.handle(StartRequested(), 0)
            inst.handle(InterfaceStateChanged("e1", False), 1)
        case InstanceState.STOP:
            inst.handle(StartRequested(), 0)
            inst.handle(StopRequested(), 1)
    assert inst.state is state
    return inst


@pytest.mark.parametrize("state", list(InstanceState))
@pytest.mark.parametrize("event", INPUTS, ids=lambda e: type(e).__name__)
def test_every_state_input_pair_is_handled_or_refused_with_a_typed_error(
    state: InstanceState, event: InstanceInput
) -> None:
    inst = in_state(state)
    try:
        effects = inst.handle(event, seconds(100))
    except LocalProtocolError:
        assert isinstance(event, StartRequested) and state in (
            InstanceState.BACKUP, InstanceState.MASTER, InstanceState.FAULT,
        )  # fmt: skip
        return
    assert isinstance(effects, list)
    if inst.state in (InstanceState.BACKUP, InstanceState.MASTER):
        assert inst.next_deadline() is not None
    changes = [e for e in effects if isinstance(e, StateChanged)]
    assert all(c.previous is not c.current for c in changes)
    if changes:
        assert changes[-1].current is inst.state
    vips = [e for e in effects if isinstance(e, AddVips)]
    assert not vips or inst.state is InstanceState.MASTER
    removed = [e for e in effects if isinstance(e, RemoveVips)]
    assert not removed or inst.state is not InstanceState.MASTER


def test_delayed_garp_batches_are_bounded() -> None:
    inst = make(priority=150)
    became = master(inst)
    for i in range(100):
        inst.handle(AdvertReceived(adv(prio=100), "vA"), became + i)
    due = [e for e in inst.handle(TimerExpired(), became + seconds(6)) if isinstance(e, SendGarps)]
    assert len(due) == 16


def test_advert_of_the_wrong_family_is_dropped() -> None:
    v6 = VrrpInstance(
        InstanceSettings(
            name="VI_6", virtual_router_id=51, interface="vA", version=3, vips=(VirtualIp.of("fe80::1"),)
        ),
        interface_address=IPv6Address("fe80::2"),
    )
    v6.handle(StartRequested(), 0)
    assert lines(v6.handle(AdvertReceived(adv(ver=3)), 1)) == [
        "(VI_6) IPv4 advert on an IPv6 instance - ignoring"
    ]
    assert v6.state is InstanceState.BACKUP
