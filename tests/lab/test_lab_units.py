"""Pure parts of the lab: packet-filter rules, status rendering, waiting (no root needed)."""

from __future__ import annotations

import json
import time
from ipaddress import IPv4Address

import pytest

from hapair.lab import (
    Direction,
    FaultSpecError,
    HostStatus,
    InterfaceStatus,
    LabStatus,
    LabTimeoutError,
    PacketFilter,
    ProcessStatus,
    SwitchStatus,
    wait_until,
)
from hapair.lab.netlink import nud_state_name


def test_vrrp_filter_cuts_protocol_112_both_ways() -> None:
    assert PacketFilter("vrrp").rules() == [
        ("HAPAIR-IN", ("-p", "112", "-j", "DROP")),
        ("HAPAIR-OUT", ("-p", "112", "-j", "DROP")),
    ]
    assert PacketFilter(112, direction=Direction.INPUT).rules() == [
        ("HAPAIR-IN", ("-p", "112", "-j", "DROP"))
    ]


def test_port_filter_matches_either_end_and_peer_by_direction() -> None:
    rules = PacketFilter("tcp", port=7788, peer=IPv4Address("10.30.31.170"), reject=True).rules()
    reset = ("-j", "REJECT", "--reject-with", "tcp-reset")
    not_rst = ("!", "--tcp-flags", "RST", "RST")  # the resets this host sends must get out
    assert rules == [
        ("HAPAIR-IN", ("-p", "tcp", "-s", "10.30.31.170/32", "--dport", "7788", *reset)),
        ("HAPAIR-IN", ("-p", "tcp", "-s", "10.30.31.170/32", "--sport", "7788", *reset)),
        ("HAPAIR-OUT", ("-p", "tcp", "-d", "10.30.31.170/32", "--dport", "7788", *not_rst, *reset)),
        ("HAPAIR-OUT", ("-p", "tcp", "-d", "10.30.31.170/32", "--sport", "7788", *not_rst, *reset)),
    ]


def test_loss_and_reject_for_other_protocols() -> None:
    (rule,) = PacketFilter("udp", direction=Direction.OUTPUT, probability=0.25, reject=True).rules()
    assert rule == (
        "HAPAIR-OUT",
        (
            "-p",
            "udp",
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            "0.25",
            "-j",
            "REJECT",
            "--reject-with",
            "icmp-port-unreachable",
        ),
    )
    assert PacketFilter("vrrp", probability=0.5).describe() == "vrrp both p=0.5 drop"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"protocol": "sctp"}, "unknown protocol"),
        ({"protocol": 256}, "out of range"),
        ({"protocol": "icmp", "port": 80}, "needs protocol tcp or udp"),
        ({"protocol": "tcp", "port": 0}, "out of range"),
        ({"protocol": "udp", "port": 65536}, "out of range"),
        ({"protocol": "icmp", "reject": True}, "reject needs protocol tcp or udp"),
        ({"probability": 0.0}, "not in"),
        ({"probability": 1.5}, "not in"),
    ],
)
def test_bad_filters_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        PacketFilter(**kwargs)  # type: ignore[arg-type]


def test_neighbour_state_names() -> None:
    assert nud_state_name(0x02) == "REACHABLE"
    assert nud_state_name(0x80) == "PERMANENT"
    assert nud_state_name(0x04 | 0x08) == "STALE,DELAY"
    assert nud_state_name(0) == "NONE"


def _iface(name: str, addresses: tuple[str, ...] = (), master: str | None = None) -> InterfaceStatus:
    return InterfaceStatus(name, 2, "veth", "02:00:0a:1e:1f:a8", True, "UP", addresses, master)


def _status(node1_ready: bool, holders: tuple[str, ...]) -> LabStatus:
    switch = SwitchStatus("p-sw", True, "br0", True, (_iface("sw-node1", master="br0"),), ())
    node1 = HostStatus(
        "node1",
        "p-node1",
        True,
        node1_ready,
        "eth1",
        "10.30.31.168/27",
        "02:00:0a:1e:1f:a8",
        (_iface("eth1", ("10.30.31.168/27", "10.30.31.171/27", "fe80::1/64")),),
        (ProcessStatus(42, ("hapair", "vrrp"), "/tmp/n1.log"),),
        "node1" in holders,
    )
    return LabStatus("p", "10.30.31.160/27", "10.30.31.171", holders, switch, (node1,), ("p-ghost",))


def test_status_complete_absent_and_json() -> None:
    status = _status(True, ("node1",))
    assert status.complete and not status.absent
    assert not _status(False, ()).complete
    data = json.loads(json.dumps(status.to_dict()))
    assert data["complete"] is True and data["vip_holders"] == ["node1"]
    assert data["hosts"][0]["processes"] == [
        {"pid": 42, "argv": ["hapair", "vrrp"], "log_path": "/tmp/n1.log"}
    ]
    assert [p.pid for p in status.processes] == [42]


def test_status_text_names_what_matters() -> None:
    text = _status(True, ("node1",)).render()
    assert "VIP 10.30.31.171 held by node1" in text
    assert "10.30.31.168/27 10.30.31.171/27" in text and "fe80" not in text
    assert "pid 42: hapair vrrp  (log /tmp/n1.log)" in text
    assert "stray namespace p-ghost" in text
    assert "incomplete" in _status(False, ()).render()
    assert "held by nobody" in _status(False, ()).render()


def test_wait_until_returns_the_first_truthy_value() -> None:
    answers = iter([None, 0, "", "yes"])
    assert wait_until(lambda: next(answers), 1.0, "an answer", interval=0.001) == "yes"


def test_wait_until_times_out_near_its_deadline_and_says_why() -> None:
    start = time.monotonic()
    with pytest.raises(LabTimeoutError, match=r"waiting for the moon \(last: False\)"):
        wait_until(lambda: False, 0.05, "the moon")
    assert 0.05 <= time.monotonic() - start < 0.5


def test_wait_until_lets_probe_errors_through() -> None:
    def broken() -> bool:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        wait_until(broken, 1.0, "nothing")
