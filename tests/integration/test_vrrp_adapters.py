"""The VRRP adapters against real kernel objects in lab namespaces.

Sockets and netlink handles are created inside a host's namespace (pyroute2's pushns/popns switch
the calling thread) and keep working from the test's own namespace afterwards.
"""

from __future__ import annotations

import asyncio
import ipaddress
import select
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pyroute2 import netns as pyroute2_netns

from hapair.adapters.garp import GarpSender
from hapair.adapters.netlink import LinkMonitor, NetlinkClient
from hapair.adapters.scripts import ScriptRunner
from hapair.adapters.vrrp_socket import VrrpSocket
from hapair.lab import Lab
from labkit import wait_for

pytestmark = [pytest.mark.root, pytest.mark.lab]

VIP = ipaddress.IPv4Interface("10.30.31.171/27")


@contextmanager
def inside(lab: Lab, host: str) -> Iterator[None]:
    pyroute2_netns.pushns(lab.namespace(host))
    try:
        yield
    finally:
        pyroute2_netns.popns()


def ip_header(src: str, dst: str, payload_len: int) -> bytes:
    return struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0xC0, 20 + payload_len, 1, 0, 255, 112, 0,
        socket.inet_aton(src), socket.inet_aton(dst),
    )  # fmt: skip


ADVERT = bytes.fromhex("2133640100016d0a0a1e1fab0000000000000000")  # v2, VRID 51, 1 VIP


def receive_one(sock: VrrpSocket, timeout: float = 2.0) -> list[tuple[str, bytes]]:
    ready, _, _ = select.select([sock.fileno()], [], [], timeout)
    if not ready:
        return []
    return [(d.source, d.data) for d in sock.receive_all()]


def test_multicast_advert_reaches_the_peer_and_not_ourselves(lab: Lab) -> None:
    with inside(lab, "node1"):
        sender = VrrpSocket("eth1", socket.if_nametoindex("eth1"))
        sender.open()
    with inside(lab, "node2"):
        receiver = VrrpSocket("eth1", socket.if_nametoindex("eth1"))
        receiver.open()
    try:
        datagram = ip_header("10.30.31.168", "224.0.0.18", len(ADVERT)) + ADVERT
        sender.send(datagram, "224.0.0.18")
        got = receive_one(receiver)
        assert len(got) == 1
        source, data = got[0]
        assert source == "10.30.31.168"
        assert data[20:] == ADVERT
        assert data[8] == 255  # TTL as we built it
        assert receive_one(sender, timeout=0.2) == []  # multicast loop is off
    finally:
        sender.close()
        receiver.close()


def test_unicast_socket_receives_only_what_is_addressed_to_it(lab: Lab) -> None:
    with inside(lab, "node1"):
        sender = VrrpSocket("eth1", socket.if_nametoindex("eth1"), unicast_src="10.30.31.168")
        sender.open()
    with inside(lab, "node2"):
        unicast = VrrpSocket("eth1", socket.if_nametoindex("eth1"), unicast_src="10.30.31.170")
        unicast.open()
    try:
        sender.send(ip_header("10.30.31.168", "10.30.31.170", len(ADVERT)) + ADVERT, "10.30.31.170")
        got = receive_one(unicast)
        assert [s for s, _ in got] == ["10.30.31.168"]
        sender.send(ip_header("10.30.31.168", "224.0.0.18", len(ADVERT)) + ADVERT, "224.0.0.18")
        assert receive_one(unicast, timeout=0.3) == []
    finally:
        sender.close()
        unicast.close()


def test_gratuitous_arp_moves_the_clients_entry(lab: Lab) -> None:
    stale_mac = "02:00:00:00:00:99"
    lab.run(
        "client",
        ["ip", "neigh", "replace", str(VIP.ip), "lladdr", stale_mac, "dev", "eth1", "nud", "stale"],
        check=True,
    )
    with inside(lab, "node2"):
        garp = GarpSender("eth1")
        garp.open()
    try:
        assert garp.mac.hex(":") == lab.mac("node2")
        vip = VIP.ip.packed
        frame = (
            b"\xff" * 6 + garp.mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
            + garp.mac + vip + b"\xff" * 6 + vip
        )  # fmt: skip
        garp.send(frame)
        entry = wait_for(
            lambda: (e := lab.neighbour("client", VIP.ip)) and e.mac == lab.mac("node2") and e,
            3.0,
            "the client's ARP entry for the VIP to point at node2",
        )
        assert entry
    finally:
        garp.close()


def test_netlink_adds_and_removes_the_vip_idempotently(lab: Lab) -> None:
    async def scenario() -> None:
        with inside(lab, "node1"):
            client = NetlinkClient()
            await client.open()
        try:
            info = await client.interface("eth1")
            assert info.mac.hex(":") == lab.mac("node1")
            assert info.up
            assert str(info.primary_ipv4) == "10.30.31.168"
            assert await client.add_address(info.index, VIP) is True
            assert await client.add_address(info.index, VIP) is False
            assert VIP in lab.addresses("node1")
            assert lab.vip_holders() == ["node1"]
            assert await client.remove_address(info.index, VIP) is True
            assert await client.remove_address(info.index, VIP) is False
            assert lab.vip_holders() == []
        finally:
            await client.close()

    asyncio.run(scenario())


def test_link_monitor_reports_the_interface_going_down(lab: Lab) -> None:
    async def scenario() -> None:
        with inside(lab, "node1"):
            monitor = LinkMonitor()
            await monitor.open()
        try:
            await asyncio.to_thread(lab.link_down, "node1")

            async def first_down() -> str:
                async for change in monitor.events():
                    if not change.up:
                        return change.name
                raise AssertionError("unreachable")

            assert await asyncio.wait_for(first_down(), 3.0) == "eth1"
            # The monitor keeps going after the first batch of messages.
            await asyncio.to_thread(lab.link_up, "node1")
            await asyncio.to_thread(lab.link_down, "node1")
            assert await asyncio.wait_for(first_down(), 3.0) == "eth1"
        finally:
            await monitor.close()
            await asyncio.to_thread(lab.link_up, "node1")

    asyncio.run(scenario())


def test_script_runner_reports_status_and_kills_on_timeout(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"

    async def scenario() -> None:
        runner = ScriptRunner(max_running=4)
        assert (await runner.run(["true"], 5)).ok
        failed = await runner.run(["sh", "-c", "exit 3"], 5)
        assert failed.exit_status == 3 and not failed.ok
        missing = await runner.run(["/nonexistent/script"], 5)
        assert missing.error and not missing.ok
        started = time.monotonic()
        # The child of the shell must die with it: the whole process group is killed.
        hung = await runner.run(["sh", "-c", f"sleep 30 & echo $! > {pidfile}; sleep 30"], 0.3)
        assert hung.timed_out and not hung.ok
        assert time.monotonic() - started < 3
        child = int(pidfile.read_text())
        wait_for(lambda: not Path(f"/proc/{child}").exists(), 2.0, "the script's child to be gone")
        runner.start(["sleep", "30"], timeout_s=60)
        assert runner.running == 1
        await runner.close()
        assert runner.running == 0

    asyncio.run(scenario())
