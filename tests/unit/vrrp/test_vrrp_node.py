"""VrrpNode: dispatch by VRID / interface / cast, script fan-out, link logs, configuration checks."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address

import pytest
from vrrp_craft import craft
from vrrp_evidence import ipv6_vrrp

from hapair.core.vrrp import (
    AdvertReceived,
    AdvertReceivedV6,
    InstanceSettings,
    InstanceState,
    InterfaceStateChanged,
    LogLine,
    RunTrackScript,
    ScriptOutcome,
    ScriptResult,
    SettingsError,
    StartRequested,
    StopRequested,
    TimerExpired,
    TrackedScript,
    UnicastPeer,
    UnknownScript,
    VirtualIp,
    VrrpNode,
    VrrpScriptSettings,
    seconds,
)

LOCAL = IPv4Address("10.0.0.1")
VIPS = (VirtualIp.of("10.0.0.100/24"), VirtualIp.of("10.0.0.101/24"))


def inst(name: str, vrid: int = 51, **kw: object) -> InstanceSettings:
    base: dict[str, object] = {"name": name, "virtual_router_id": vrid, "interface": "vA", "vips": VIPS}
    base.update(kw)
    return InstanceSettings(**base)  # type: ignore[arg-type]


def node(
    *instances: InstanceSettings, scripts: tuple[VrrpScriptSettings, ...] = (), **kw: object
) -> VrrpNode:
    return VrrpNode(
        instances,
        scripts,
        interface_addresses={"vA": [LOCAL, IPv6Address("fe80::ff:fe00:a")], "vX": [IPv4Address("10.9.0.1")]},
        **kw,  # type: ignore[arg-type]
    )


def texts(effects: Sequence[object]) -> list[str]:
    return [e.text for e in effects if isinstance(e, LogLine)]


def test_dispatch_by_vrid_and_interface() -> None:
    n = node(inst("VI_1"), inst("VI_2", vrid=52), inst("VI_X", interface="vX"))
    n.handle(StartRequested(), 0)
    n.handle(AdvertReceived(craft(vrid=52), "vA"), 1)
    n.handle(AdvertReceived(craft(), "vX"), 2)
    stats = {s.iname: s.stats.advert_rcvd for s in n.snapshot()}
    assert stats == {"VI_1": 0, "VI_2": 1, "VI_X": 1}


def test_unknown_vrid_and_malformed_at_node_level() -> None:
    n = node(inst("VI_1"), log_unknown_vrids=True)
    n.handle(StartRequested(), 0)
    out = n.handle(AdvertReceived(craft(vrid=99), "vA"), 1)
    assert texts(out) == ["Unknown VRID(99) received on interface(vA). ignoring..."]
    assert texts(n.handle(AdvertReceived(b"\x45\x00", "vA"), 2)) == ["IPv4 VRRP packet too short - 2 bytes"]
    assert (n.unknown_vrid, n.malformed) == (1, 1)
    quiet = node(inst("VI_1"))
    assert quiet.handle(AdvertReceived(craft(vrid=99), "vA"), 1) == []


def test_multicast_and_unicast_instances_sharing_a_vrid() -> None:
    uni = inst("VI_U", version=3, unicast_src_ip=LOCAL, unicast_peers=(UnicastPeer(IPv4Address("10.0.0.2")),))
    n = node(inst("VI_M", version=3), uni)
    n.handle(StartRequested(), 0)
    n.handle(AdvertReceived(craft(ver=3, dst="10.0.0.1"), "vA"), 1)
    n.handle(AdvertReceived(craft(ver=3), "vA"), 2)
    assert {s.iname: s.stats.advert_rcvd for s in n.snapshot()} == {"VI_M": 1, "VI_U": 1}


def test_ipv6_instance_uses_link_local_and_receives_keepalived_adverts() -> None:
    v6 = inst(
        "VI_6", vrid=52, version=3, vips=(VirtualIp.of("fe80::52/64"), VirtualIp.of("2001:db8::100/64"))
    )
    n = node(v6)
    assert n.instance("VI_6").source_address == IPv6Address("fe80::ff:fe00:a")
    n.handle(StartRequested(), 0)
    first = ipv6_vrrp("v6.pcap")[0]
    n.handle(AdvertReceivedV6(first.payload, first.source, first.destination, first.hop_limit, "vA"), 1)
    snap = n.instance("VI_6").snapshot()
    assert snap.stats.advert_rcvd == 1 and snap.rejected == ()


def test_script_results_fan_out_to_every_tracking_instance() -> None:
    chk = VrrpScriptSettings("chk", "/bin/chk", interval=seconds(2))
    n = node(
        inst("VI_1", priority=150, track_scripts=(TrackedScript("chk", -60),)),
        inst("VI_2", vrid=52, priority=120, track_scripts=(TrackedScript("chk", 20),)),
        scripts=(chk,),
    )
    start = n.handle(StartRequested(), 0)
    assert [e for e in start if isinstance(e, RunTrackScript)] == [
        RunTrackScript("chk", "/bin/chk", seconds(2))
    ]
    out = n.handle(ScriptResult("chk", ScriptOutcome.EXITED, 0), 1)
    assert texts(out) == ["VRRP_Script(chk) succeeded", "(VI_2) Changing effective priority from 120 to 140"]
    out = n.handle(ScriptResult("chk", ScriptOutcome.EXITED, 3), 2)
    assert texts(out) == [
        "Script `chk` now returning 3",
        "VRRP_Script(chk) failed (exited with status 3)",
        "(VI_1) Changing effective priority from 150 to 90",
        "(VI_2) Changing effective priority from 140 to 120",
    ]
    assert n.next_deadline() == seconds(2)
    assert [e for e in n.handle(TimerExpired(), seconds(2)) if isinstance(e, RunTrackScript)]
    with pytest.raises(UnknownScript):
        n.handle(ScriptResult("nope"), 3)


def test_link_changes_are_logged_once_started_and_reach_instances() -> None:
    n = node(inst("VI_1"))
    assert n.handle(InterfaceStateChanged("vA", False), 0) == []
    n.handle(InterfaceStateChanged("vA", True), 0)
    n.handle(StartRequested(), 1)
    out = n.handle(InterfaceStateChanged("vA", False), 2)
    assert texts(out)[:2] == ["Netlink reports vA down", "(VI_1) Entering FAULT STATE"]
    assert n.instance("VI_1").state is InstanceState.FAULT
    assert texts(n.handle(InterfaceStateChanged("vA", False), 3)) == []


def test_stop_stops_scripts_and_instances() -> None:
    n = node(
        inst("VI_1", track_scripts=(TrackedScript("chk", 5),)), scripts=(VrrpScriptSettings("chk", "/x"),)
    )
    n.handle(StartRequested(), 0)
    n.handle(StopRequested(), 1)
    assert n.next_deadline() is None and n.instance("VI_1").state is InstanceState.STOP


@pytest.mark.parametrize(
    ("instances", "scripts"),
    [
        ((inst("VI_1"), inst("VI_1", vrid=52)), ()),
        ((inst("VI_1"), inst("VI_2")), ()),
        ((inst("VI_1", track_scripts=(TrackedScript("missing"),)),), ()),
        ((inst("VI_1"),), (VrrpScriptSettings("a", "/x"), VrrpScriptSettings("a", "/y"))),
        ((inst("VI_1", interface="vNone"),), ()),
    ],
)
def test_configuration_errors(
    instances: tuple[InstanceSettings, ...], scripts: tuple[VrrpScriptSettings, ...]
) -> None:
    with pytest.raises(SettingsError):
        node(*instances, scripts=scripts)
