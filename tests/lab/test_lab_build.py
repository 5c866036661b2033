"""Building and removing labs for real: topology, isolation, idempotence, crash leftovers."""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
from ipaddress import IPv4Interface

import pytest

from hapair.lab import SWITCH, HostSpec, Lab, Topology
from hapair.lab.netns import NETNS_DIR, is_mounted_namespace, processes_in
from labkit import LabFactory, assert_no_leftovers, unique_prefix, wait_for

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.timeout(120)]


def root_namespace_snapshot() -> dict[str, list[str]]:
    """Links (name, MAC), addresses and routes of the root namespace, as `ip -j` reports them."""

    def ip_json(*args: str) -> list[dict[str, object]]:
        out = subprocess.run(["ip", "-j", *args], check=True, capture_output=True, text=True).stdout
        data: list[dict[str, object]] = json.loads(out)
        return data

    links = sorted(f"{link['ifname']} {link.get('address')}" for link in ip_json("link", "show"))
    addrs = sorted(
        f"{entry['ifname']} {info['local']}/{info['prefixlen']}"
        for entry in ip_json("addr", "show")
        for info in entry["addr_info"]  # type: ignore[attr-defined]
    )
    routes = sorted(json.dumps(r, sort_keys=True) for r in ip_json("route", "show", "table", "all"))
    return {"links": links, "addresses": addrs, "routes": routes}


def sleeping_in(namespace: str) -> bool:
    return any(p.argv[:1] == ("sleep",) for p in processes_in(namespace))


def test_up_builds_exactly_the_topology_and_nothing_in_the_root_namespace(lab_factory: LabFactory) -> None:
    before = root_namespace_snapshot()
    lab = lab_factory()
    assert root_namespace_snapshot() == before

    assert sorted(lab.owned_namespaces()) == sorted(
        [f"{lab.prefix}-sw", f"{lab.prefix}-node1", f"{lab.prefix}-node2", f"{lab.prefix}-client"]
    )
    macs = set()
    for host in lab.hosts:
        spec = lab.host(host)
        links = {link.name: link for link in lab.links(host)}
        assert sorted(links) == ["eth1", "lo"]
        assert links["lo"].admin_up
        assert links["eth1"].kind == "veth" and links["eth1"].admin_up
        assert links["eth1"].mac == spec.mac
        macs.add(links["eth1"].mac)
        assert lab.addresses(host) == [IPv4Interface("127.0.0.1/8"), spec.address]
        routes = lab.run(host, ["ip", "-4", "route", "show", "table", "all"], check=True).stdout
        assert "default" not in routes
        assert "10.30.31.160/27 dev eth1" in routes
        assert lab.run(host, ["sysctl", "-n", "net.ipv4.ip_forward"], check=True).stdout == "0\n"
        unreachable = lab.run(host, ["ip", "route", "get", "192.0.2.1"])
        assert not unreachable.ok and "unreachable" in unreachable.stderr
    assert len(macs) == 3

    status = lab.status()
    assert status.complete and status.switch.bridge_up
    assert sorted(p.name for p in status.switch.ports) == ["sw-client", "sw-node1", "sw-node2"]
    assert all(p.master == "br0" and p.admin_up for p in status.switch.ports)
    assert status.vip_holders == () and lab.vip_holders() == []

    # `ip netns` sees the same namespaces, and `ip netns exec` works on them.
    listed = subprocess.run(["ip", "netns", "list"], check=True, capture_output=True, text=True).stdout
    assert f"{lab.prefix}-node1" in listed
    via_ip = subprocess.run(
        ["ip", "netns", "exec", lab.namespace("node2"), "ip", "-4", "-o", "addr", "show", "eth1"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "10.30.31.170/27" in via_ip.stdout


def test_client_reaches_both_nodes_and_nothing_else(module_lab: Lab) -> None:
    lab = module_lab
    assert lab.ping("client", "node1")
    assert lab.ping("client", "node2")
    assert lab.ping("node1", "node2")
    assert not lab.ping("client", "10.30.31.171", wait=0.3)  # the VIP: nobody holds it yet
    entry = lab.neighbour("client", lab.address("node1"))
    assert entry is not None and entry.mac == lab.mac("node1") and entry.ifname == "eth1"


def test_the_lab_works_from_inside_an_asyncio_loop(module_lab: Lab) -> None:
    """pyroute2's sync API cannot run inside a running loop; the lab moves that work to a thread."""

    async def look() -> tuple[bool, list[IPv4Interface]]:
        return module_lab.status().complete, module_lab.addresses("node2")

    complete, addresses = asyncio.run(look())
    assert complete and IPv4Interface("10.30.31.170/27") in addresses


def test_up_twice_changes_nothing(module_lab: Lab) -> None:
    lab = module_lab
    links_before = {h: lab.links(h) for h in lab.hosts}
    status_before = lab.status()
    lab.up()
    assert {h: lab.links(h) for h in lab.hosts} == links_before
    assert lab.status() == status_before


def test_up_repairs_a_damaged_lab_and_keeps_extra_addresses(lab: Lab) -> None:
    lab.run("client", ["ip", "link", "del", "eth1"], check=True)
    lab.run("node2", ["ip", "addr", "flush", "dev", "eth1"], check=True)
    lab.run("node2", ["ip", "link", "set", "lo", "down"], check=True)
    lab.run("node1", ["ip", "link", "set", "eth1", "down"], check=True)
    lab.run("node1", ["ip", "addr", "add", "10.30.31.171/27", "dev", "eth1"], check=True)  # as VRRP would
    lab.run(SWITCH, ["ip", "link", "set", "sw-node2", "nomaster"], check=True)
    status = lab.status()
    assert not status.complete
    assert [h.name for h in status.hosts if not h.ready] == ["node1", "node2", "client"]

    lab.up()
    assert lab.status().complete
    assert lab.vip_holders() == ["node1"]
    assert next(link for link in lab.links("node2") if link.name == "lo").admin_up
    assert lab.ping("client", "node2") and lab.ping("client", "10.30.31.171")


def test_up_completes_a_partly_built_lab(lab_factory: LabFactory) -> None:
    prefix = unique_prefix()
    first = lab_factory(Topology((HostSpec.of("node1", "10.30.31.168/27"),)), prefix=prefix)
    assert first.status().complete
    full = lab_factory(prefix=prefix)  # the same prefix, now with all three hosts
    assert full.status().complete
    assert full.ping("client", "node1")


def test_down_twice_and_status_after(lab_factory: LabFactory) -> None:
    lab = lab_factory()
    first = lab.down()
    assert len(first.namespaces) == 4
    assert_no_leftovers(lab.prefix)
    second = lab.down()
    assert second.namespaces == () and second.processes == ()
    assert lab.status().absent


def test_down_cleans_up_after_a_crashed_run() -> None:
    """A run died: its namespaces stay, with processes inside that no Lab object knows about, a
    namespace of a host not in today's topology, and a namespace file that was never mounted."""
    prefix = unique_prefix()
    crashed = Lab(prefix=prefix)
    orphans: list[subprocess.Popen[bytes]] = []
    try:
        crashed.up()
        subprocess.run(["ip", "netns", "add", f"{prefix}-ghost"], check=True)
        for namespace in (crashed.namespace("node1"), crashed.namespace("client"), f"{prefix}-ghost"):
            orphans.append(
                subprocess.Popen(
                    ["ip", "netns", "exec", namespace, "sh", "-c", "trap '' TERM; sleep 300"],
                    start_new_session=True,
                )
            )
        half = NETNS_DIR / f"{prefix}-half"
        half.touch()
        for namespace in (crashed.namespace("node1"), crashed.namespace("client"), f"{prefix}-ghost"):
            wait_for(functools.partial(sleeping_in, namespace), 5, f"sleep running inside {namespace}")
        assert f"{prefix}-ghost" in crashed.status().stray_namespaces

        report = Lab(prefix=prefix).down(grace=0.2)  # a fresh object: nothing tracked

        assert sorted(report.namespaces) == sorted(
            [f"{prefix}-{n}" for n in ("sw", "node1", "node2", "client", "ghost", "half")]
        )
        assert len(report.processes) >= 3
        assert_no_leftovers(prefix)
        assert not half.exists() and not is_mounted_namespace(f"{prefix}-ghost")
        for orphan in orphans:
            assert orphan.wait(5) != 0  # ended by SIGKILL (SIGTERM is trapped) or by the shell's death
    finally:
        for orphan in orphans:
            if orphan.poll() is None:
                orphan.kill()
            orphan.wait(5)
        Lab(prefix=prefix).down(grace=0.2)
        assert_no_leftovers(prefix)


def test_two_labs_coexist_even_when_one_prefix_extends_the_other(lab_factory: LabFactory) -> None:
    stem = unique_prefix()
    a = lab_factory(prefix=stem)
    b = lab_factory(prefix=f"{stem}-x")
    assert a.ping("client", "node1") and b.ping("client", "node1")
    assert a.status().stray_namespaces == ()
    b.down()
    assert a.status().complete
    assert a.ping("client", "node2")
    assert_no_leftovers(b.prefix)
