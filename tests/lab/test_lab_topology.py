"""Topology description, naming and namespace ownership (pure; no root needed)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.lab import HostSpec, LabNames, Topology, TopologyError, runbook_topology
from hapair.lab.topology import (
    HOST_NAME_MAX,
    IFNAME_MAX,
    mac_for_address,
    validate_ifname,
    validate_prefix,
)

host_names = st.from_regex(r"[a-z][a-z0-9]{0,11}", fullmatch=True).filter(lambda n: n != "sw")
prefixes = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


def test_runbook_topology_is_the_runbooks() -> None:
    topo = runbook_topology()
    assert [(h.name, str(h.address), h.ifname) for h in topo.hosts] == [
        ("node1", "10.30.31.168/27", "eth1"),
        ("node2", "10.30.31.170/27", "eth1"),
        ("client", "10.30.31.172/27", "eth1"),
    ]
    assert topo.vip == IPv4Address("10.30.31.171")
    assert topo.vip_interface == IPv4Interface("10.30.31.171/27")
    assert str(topo.network) == "10.30.31.160/27"
    assert len({h.mac for h in topo.hosts}) == 3


def test_mac_spells_the_address_and_is_local_unicast() -> None:
    assert mac_for_address(IPv4Address("10.30.31.168")) == "02:00:0a:1e:1f:a8"
    first_octet = int(mac_for_address(IPv4Address("192.0.2.1"))[:2], 16)
    assert first_octet & 0b10 and not first_octet & 0b01


def test_names_of_the_pieces() -> None:
    names = LabNames("hapair")
    assert names.switch_namespace == "hapair-sw"
    assert names.host_namespace("node1") == "hapair-node1"
    assert names.switch_port("client") == "sw-client"


@given(host_names)
def test_every_valid_host_fits_interface_name_limits(name: str) -> None:
    spec = HostSpec.of(name, "10.0.0.1/24")
    assert len(LabNames.switch_port(spec.name)) <= IFNAME_MAX
    assert validate_ifname(LabNames.switch_port(spec.name))


@given(prefixes, prefixes, host_names)
def test_a_prefix_owns_only_its_own_namespaces(mine: str, other: str, host: str) -> None:
    names = LabNames(mine)
    assert names.owns(names.host_namespace(host))
    assert names.owns(names.switch_namespace)
    assert names.host_of(names.host_namespace(host)) == host
    assert names.host_of(names.switch_namespace) is None
    theirs = LabNames(other)
    if other != mine:
        assert not names.owns(theirs.host_namespace(host))
        assert not names.owns(theirs.switch_namespace)


def test_a_longer_prefix_is_not_claimed_by_its_stem() -> None:
    assert not LabNames("t1").owns("t1-x-node1")
    assert not LabNames("t1").owns("t1-x-sw")
    assert not LabNames("t1").owns("t1")
    assert not LabNames("t1").owns("t1-")
    assert not LabNames("t1").owns("t1-Node1")
    assert LabNames("t1-x").owns("t1-x-node1")


@pytest.mark.parametrize("prefix", ["", "-a", "a-", "A", "a_b", "a b", "x" * 41, "a/b"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(TopologyError, match="invalid lab prefix"):
        validate_prefix(prefix)
    with pytest.raises(TopologyError):
        LabNames(prefix)


@pytest.mark.parametrize("name", ["", "1node", "Node", "node-1", "sw", "n" * (HOST_NAME_MAX + 1)])
def test_bad_host_names_are_refused(name: str) -> None:
    with pytest.raises(TopologyError, match="invalid host name"):
        HostSpec.of(name, "10.0.0.1/24")


@pytest.mark.parametrize("ifname", ["", "a" * 16, "eth 1", "eth/1", "eth:1", ".", ".."])
def test_bad_interface_names_are_refused(ifname: str) -> None:
    with pytest.raises(TopologyError, match="invalid interface name"):
        HostSpec.of("node1", "10.0.0.1/24", ifname=ifname)


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("10.0.0.1", "needs a prefix length"),
        ("10.0.0.300/24", "host node1"),
        ("10.0.0.0/24", "not a host address"),
        ("10.0.0.255/24", "not a host address"),
        ("10.0.0.1/31", "too long"),
        ("fe80::1/64", "host node1"),
    ],
)
def test_bad_addresses_are_refused(address: str, message: str) -> None:
    with pytest.raises(TopologyError, match=message):
        HostSpec.of("node1", address)


@pytest.mark.parametrize("mac", ["01:00:00:00:00:01", "02:00:00:00:00", "zz:00:00:00:00:01"])
def test_bad_macs_are_refused(mac: str) -> None:
    with pytest.raises(TopologyError, match="invalid MAC"):
        HostSpec.of("node1", "10.0.0.1/24", mac=mac)


def test_explicit_mac_is_kept_in_lower_case() -> None:
    assert HostSpec.of("node1", "10.0.0.1/24", mac="02:AB:00:00:00:01").mac == "02:ab:00:00:00:01"


def _two(a: HostSpec, b: HostSpec, vip: str | None = None) -> Topology:
    return Topology((a, b), IPv4Address(vip) if vip else None)


def test_topology_rules() -> None:
    a = HostSpec.of("a", "10.0.0.1/24")
    with pytest.raises(TopologyError, match="at least one host"):
        Topology(())
    with pytest.raises(TopologyError, match="appears twice"):
        _two(a, HostSpec.of("a", "10.0.0.2/24"))
    with pytest.raises(TopologyError, match="same address"):
        _two(a, HostSpec.of("b", "10.0.0.1/24"))
    with pytest.raises(TopologyError, match="same MAC"):
        _two(a, HostSpec.of("b", "10.0.0.2/24", mac=a.mac))
    with pytest.raises(TopologyError, match=r"is not in 10\.0\.0\.0/24"):
        _two(a, HostSpec.of("b", "10.0.1.2/24"))
    with pytest.raises(TopologyError, match="not a host address of"):
        _two(a, HostSpec.of("b", "10.0.0.2/24"), vip="10.0.1.9")
    with pytest.raises(TopologyError, match="own address"):
        _two(a, HostSpec.of("b", "10.0.0.2/24"), vip="10.0.0.2")
    with pytest.raises(TopologyError, match="invalid interface name"):
        Topology((a,), bridge="a-very-long-bridge")
    topo = _two(a, HostSpec.of("b", "10.0.0.2/24"), vip="10.0.0.9")
    assert topo.host("b") is not None and topo.host("c") is None
    assert topo.host_names == ("a", "b")
