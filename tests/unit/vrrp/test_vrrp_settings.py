"""Settings: keepalived's defaults, unit helpers, and typed errors for values keepalived refuses."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from hapair.core.vrrp import (
    AuthType,
    InitialState,
    InstanceSettings,
    SettingsError,
    TrackedScript,
    UnicastPeer,
    VirtualIp,
    VrrpScriptSettings,
    seconds,
)


def make(**kw: object) -> InstanceSettings:
    base: dict[str, object] = {"name": "VI_1", "virtual_router_id": 51, "interface": "eth0"}
    base.update(kw)
    return InstanceSettings(**base)  # type: ignore[arg-type]


def test_keepalived_defaults() -> None:
    s = make()
    assert (s.priority, s.state, s.version, s.advert_int) == (100, InitialState.BACKUP, 2, seconds(1))
    assert (s.garp_master_delay, s.garp_master_repeat, s.garp_master_refresh) == (seconds(5), 5, 0)
    assert (s.lower_prio_delay, s.lower_prio_repeat, s.down_timer_adverts) == (seconds(5), 5, 3)
    assert s.multicast_group == IPv4Address("224.0.0.18") and not s.unicast
    assert s.auth_data == bytes(8) and s.wire_adver_int == 1


def test_derived_values() -> None:
    v6 = make(version=3, vips=(VirtualIp.of("fe80::1/64"),), advert_int=seconds("0.02"))
    assert v6.ipv6 and v6.multicast_group == IPv6Address("ff02::12") and v6.wire_adver_int == 2
    pw = make(auth_type=1, auth_pass=b"abc")
    assert pw.auth_type is AuthType.PASS and pw.auth_data == b"abc\0\0\0\0\0"
    assert make(state="MASTER").state is InitialState.MASTER
    assert VirtualIp.of("10.0.0.1").address.network.prefixlen == 32
    assert seconds("0.01") == 10_000_000 and seconds(2) == 2_000_000_000


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"virtual_router_id": 0}, "virtual_router_id"),
        ({"virtual_router_id": 256}, "virtual_router_id"),
        ({"priority": 0}, "priority"),
        ({"priority": 256}, "priority"),
        ({"version": 4}, "version"),
        ({"advert_int": 0}, "advert_int"),
        ({"advert_int": seconds("0.5")}, "advert_int"),
        ({"advert_int": seconds(256)}, "advert_int"),
        ({"version": 3, "advert_int": seconds("0.005")}, "advert_int"),
        ({"version": 3, "advert_int": seconds("40.96")}, "advert_int"),
        ({"vips": (VirtualIp.of("fe80::1"),)}, "version"),
        ({"vips": (VirtualIp.of("10.0.0.1"), VirtualIp.of("fe80::1")), "version": 3}, "virtual_ipaddress"),
        ({"down_timer_adverts": 0}, "down_timer_adverts"),
        ({"down_timer_adverts": 101}, "down_timer_adverts"),
        ({"garp_master_repeat": 0}, "garp_master_repeat"),
        ({"preempt_delay": -1}, "preempt_delay"),
        ({"unicast_ttl": 256}, "unicast_ttl"),
        ({"auth_type": 2, "auth_pass": b"x"}, "auth_type"),
        ({"auth_type": 1}, "auth_pass"),
        ({"auth_type": 1, "auth_pass": b"123456789"}, "auth_pass"),
        ({"auth_type": 1, "auth_pass": b"x", "version": 3}, "auth_type"),
        ({"auth_type": 7}, "auth_type"),
        ({"state": "UP"}, "state"),
        ({"mcast_dst_ip": IPv4Address("10.0.0.1")}, "mcast_dst_ip"),
        (
            {"vips": (VirtualIp.of("10.0.0.100"),), "unicast_peers": (UnicastPeer(IPv6Address("fe80::2")),)},
            "unicast_peer",
        ),
        ({"unicast_peers": (UnicastPeer(IPv4Address("10.0.0.2"), min_ttl=9, max_ttl=8),)}, "unicast_peer"),
        ({"track_scripts": (TrackedScript("a"), TrackedScript("a"))}, "track_script"),
        ({"track_scripts": (TrackedScript("a", 254),)}, "track_script"),
        ({"interface": None}, "interface"),
    ],
)
def test_out_of_range_values_raise_settings_error(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(SettingsError) as info:
        make(**kwargs)
    assert info.value.field_name == field
    assert str(info.value).startswith("(VI_1) ")


def test_unicast_without_interface_needs_unicast_src_ip() -> None:
    s = make(
        interface=None,
        unicast_src_ip=IPv4Address("10.0.0.1"),
        unicast_peers=(UnicastPeer(IPv4Address("10.0.0.2")),),
    )
    assert s.unicast and s.configured_source == IPv4Address("10.0.0.1")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"interval": 0},
        {"timeout": 0},
        {"weight": 254},
        {"rise": 0},
        {"fall": 0},
        {"script": ""},
        {"name": ""},
    ],
)
def test_vrrp_script_validation(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"name": "chk", "script": "/bin/true"}
    base.update(kwargs)
    with pytest.raises(SettingsError):
        VrrpScriptSettings(**base)  # type: ignore[arg-type]
