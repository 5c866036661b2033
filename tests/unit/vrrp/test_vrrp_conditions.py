"""Tracked conditions: hapair's host-reported `track_script` look-alike (volume health for the VRRP core).

A weight-0 condition holds the instance in FAULT while it fails and until its first report, so a node
whose disk is not UpToDate never wins an election; a weighted one moves the priority like a script.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address

import pytest

from hapair.core.vrrp import (
    AddVips,
    ConditionChanged,
    InstanceSettings,
    InstanceState,
    LogLine,
    SendAdvert,
    SettingsError,
    StartRequested,
    StateChanged,
    StopRequested,
    TimerExpired,
    TrackedCondition,
    UnknownCondition,
    VirtualIp,
    VrrpInstance,
    VrrpNode,
    seconds,
)
from hapair.core.vrrp.lan import SimulatedLan

LOCAL = IPv4Address("10.0.0.1")
VIP = VirtualIp.of("10.0.0.100/24")


def settings(name: str = "VI_1", **kw: object) -> InstanceSettings:
    base: dict[str, object] = {
        "name": name,
        "virtual_router_id": 51,
        "interface": "vA",
        "vips": (VIP,),
        "priority": 150,
    }
    base.update(kw)
    return InstanceSettings(**base)  # type: ignore[arg-type]


def instance(**kw: object) -> VrrpInstance:
    return VrrpInstance(settings("VI_1", **kw), interface_address=LOCAL)


def state(inst: VrrpInstance) -> InstanceState:
    """The state, read through a call so that mypy does not narrow it across handle() calls."""
    return inst.state


def texts(effects: Sequence[object]) -> list[str]:
    return [e.text for e in effects if isinstance(e, LogLine)]


def test_condition_settings_are_checked_like_track_scripts() -> None:
    with pytest.raises(SettingsError, match="track_condition: duplicate entries"):
        settings(track_conditions=(TrackedCondition("disk"), TrackedCondition("disk")))
    with pytest.raises(SettingsError, match=r"weight for disk must be in \[-253..253\]"):
        settings(track_conditions=(TrackedCondition("disk", 254),))
    with pytest.raises(SettingsError, match="names must not be empty"):
        settings(track_conditions=(TrackedCondition(""),))


def test_weight_zero_condition_holds_fault_silently_until_reported() -> None:
    inst = instance(track_conditions=(TrackedCondition("disk"),))
    out = inst.handle(StartRequested(), 0)
    assert state(inst) is InstanceState.FAULT
    assert texts(out) == ["(VI_1) removing VIPs."], "waiting for a first report is silent, as for scripts"
    assert inst.next_deadline() is None
    out = inst.handle(ConditionChanged("disk", True), seconds(1))
    assert state(inst) is InstanceState.BACKUP
    assert "(VI_1) Entering BACKUP STATE" in texts(out)
    assert inst.next_deadline() is not None


def test_failing_condition_makes_a_master_resign_with_priority_zero() -> None:
    inst = instance(track_conditions=(TrackedCondition("disk"),))
    inst.handle(ConditionChanged("disk", True), 0)
    inst.handle(StartRequested(), 0)
    inst.handle(TimerExpired(), seconds(10))
    assert state(inst) is InstanceState.MASTER
    out = inst.handle(ConditionChanged("disk", False), seconds(11))
    assert state(inst) is InstanceState.FAULT
    zero = [e for e in out if isinstance(e, SendAdvert) and e.priority == 0]
    assert len(zero) == 2, "leaving MASTER for FAULT sends priority 0 twice, as keepalived does"
    assert StateChanged("VI_1", InstanceState.MASTER, InstanceState.FAULT) in out
    out = inst.handle(ConditionChanged("disk", True), seconds(12))
    assert state(inst) is InstanceState.BACKUP


def test_fault_cause_names_the_condition_at_start() -> None:
    inst = instance(track_conditions=(TrackedCondition("disk"),))
    inst.handle(ConditionChanged("disk", False), 0)
    out = inst.handle(StartRequested(), 1)
    assert texts(out)[:2] == [
        "(VI_1): entering FAULT state due to condition disk",
        "(VI_1) entering FAULT state",
    ]


def test_reverse_condition_faults_while_ok() -> None:
    inst = instance(track_conditions=(TrackedCondition("maintenance", 0, reverse=True),))
    inst.handle(ConditionChanged("maintenance", False), 0)
    inst.handle(StartRequested(), 0)
    assert state(inst) is InstanceState.BACKUP
    inst.handle(ConditionChanged("maintenance", True), 1)
    assert state(inst) is InstanceState.FAULT


@pytest.mark.parametrize(
    ("weight", "reverse", "ok", "expected"),
    [
        (-60, False, False, 90),
        (-60, False, True, 150),
        (20, False, True, 170),
        (20, False, False, 150),
        (20, True, True, 130),
        (-60, True, False, 210),
    ],
)
def test_weighted_condition_moves_priority_like_a_script(
    weight: int, reverse: bool, ok: bool, expected: int
) -> None:
    inst = instance(track_conditions=(TrackedCondition("disk", weight, reverse),))
    inst.handle(StartRequested(), 0)
    assert state(inst) is InstanceState.BACKUP, "a weighted condition never holds FAULT"
    assert inst.effective_priority == 150, "no report yet: no adjustment"
    inst.handle(ConditionChanged("disk", ok), 1)
    assert inst.effective_priority == expected


def test_an_instance_ignores_conditions_it_does_not_track() -> None:
    inst = instance()
    inst.handle(StartRequested(), 0)
    assert inst.handle(ConditionChanged("disk", False), 1) == []
    assert state(inst) is InstanceState.BACKUP


@pytest.mark.parametrize("start", list(InstanceState))
@pytest.mark.parametrize("ok", [True, False])
def test_condition_changes_are_handled_in_every_state(start: InstanceState, ok: bool) -> None:
    inst = instance(track_conditions=(TrackedCondition("disk"),))
    inst.handle(ConditionChanged("disk", True), 0)
    match start:
        case InstanceState.INITIALIZE:
            pass
        case InstanceState.BACKUP:
            inst.handle(StartRequested(), 0)
        case InstanceState.MASTER:
            inst.handle(StartRequested(), 0)
            inst.handle(TimerExpired(), seconds(10))
        case InstanceState.FAULT:
            inst.handle(StartRequested(), 0)
            inst.handle(ConditionChanged("disk", False), 1)
        case InstanceState.STOP:
            inst.handle(StartRequested(), 0)
            inst.handle(StopRequested(), 1)
    assert state(inst) is start
    out = inst.handle(ConditionChanged("disk", ok), seconds(20))
    running = start in (InstanceState.BACKUP, InstanceState.MASTER, InstanceState.FAULT)
    if running:
        assert (state(inst) is InstanceState.FAULT) == (not ok)
    else:
        assert state(inst) is start and out == [], "recorded, applied at start"
    assert not [e for e in out if isinstance(e, AddVips)], "a condition change never makes a master"


def test_node_fans_out_logs_changes_once_and_refuses_unknown_names() -> None:
    node = VrrpNode(
        [
            settings("VI_1", track_conditions=(TrackedCondition("disk"),)),
            settings("VI_2", virtual_router_id=52, track_conditions=(TrackedCondition("disk", -50),)),
        ],
        interface_addresses={"vA": [LOCAL]},
    )
    node.handle(StartRequested(), 0)
    assert node.instance("VI_1").state is InstanceState.FAULT
    out = node.handle(ConditionChanged("disk", True), 1)
    assert texts(out)[0] == "Tracked condition disk succeeded"
    assert node.instance("VI_1").state is InstanceState.BACKUP
    out = node.handle(ConditionChanged("disk", True), 2)
    assert "Tracked condition disk succeeded" not in texts(out)
    out = node.handle(ConditionChanged("disk", False), 3)
    assert texts(out)[0] == "Tracked condition disk failed"
    assert node.instance("VI_1").state is InstanceState.FAULT
    assert node.instance("VI_2").effective_priority == 100
    with pytest.raises(UnknownCondition):
        node.handle(ConditionChanged("nope", True), 4)


def test_a_node_whose_condition_fails_cannot_win_the_election() -> None:
    """The higher-priority node has an unhealthy disk: the VIP lands on the other one, and moves
    back only once the condition recovers (preempt)."""
    lan = SimulatedLan()
    a_addr, b_addr = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")
    for name, address, priority in (("a", a_addr, 100), ("b", b_addr, 90)):
        node = VrrpNode(
            [settings(priority=priority, track_conditions=(TrackedCondition("disk"),))],
            interface_addresses={"vA": [address]},
        )
        lan.add_host(name, node, "vA", address)
    lan.inject("a", ConditionChanged("disk", False))
    lan.inject("b", ConditionChanged("disk", True))
    lan.start()
    lan.run_for(seconds(10))
    assert lan.masters("VI_1") == ["b"] and lan.holders(VIP.ip) == ["b"]
    lan.inject("a", ConditionChanged("disk", True))
    lan.run_for(seconds(10))
    assert lan.masters("VI_1") == ["a"] and lan.holders(VIP.ip) == ["a"]
