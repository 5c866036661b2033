"""Fault tools for real: link down/up, and packet filters that cut VRRP, ICMP to one peer, a TCP port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hapair.lab import Direction, Lab, PacketFilter
from labkit import wait_for

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.timeout(120)]

PROBE = "hapair-lab-probe"
# Joins the VRRP group 224.0.0.18 on the host's address and reports the first probe it receives.
VRRP_RECEIVER = f"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
group = struct.pack("4s4s", socket.inet_aton("224.0.0.18"), socket.inet_aton(sys.argv[1]))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
s.settimeout(float(sys.argv[2]))
print("ready", flush=True)
while True:
    try:
        data, (source, _) = s.recvfrom(2048)
    except TimeoutError:
        print("timeout", flush=True)
        break
    if data[(data[0] & 0x0F) * 4:] == b"{PROBE}":
        print("got", source, flush=True)
        break
"""
# Sends probes as IP protocol 112 to 224.0.0.18 with TTL 255, like a VRRP advert.
VRRP_SENDER = f"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[1]))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
for _ in range(int(sys.argv[2])):
    try:
        s.sendto(b"{PROBE}", ("224.0.0.18", 0))
    except PermissionError:
        print("send refused", flush=True)
    time.sleep(0.05)
"""
TCP_SERVER = """
import socket
server = socket.create_server(("0.0.0.0", 7788))
print("listening", flush=True)
while True:
    conn, _ = server.accept()
    conn.sendall(b"hello")
    conn.close()
"""
TCP_CLIENT = """
import socket, sys
try:
    with socket.create_connection((sys.argv[1], 7788), timeout=3) as c:
        print(c.recv(5).decode())
except ConnectionRefusedError:
    print("refused")
except TimeoutError:
    print("timeout")
"""


@pytest.fixture
def lab(module_lab: Lab) -> Iterator[Lab]:
    """The module's lab, with every fault lifted after each test (even a failed one)."""
    yield module_lab
    module_lab.clear_faults()
    for host in module_lab.hosts:
        assert module_lab.firewall(host).active_rules() == []


def sender_argv(lab: Lab, count: int) -> list[str]:
    return [sys.executable, "-c", VRRP_SENDER, str(lab.address("node1")), str(count)]


def vrrp_probe(lab: Lab, tmp_path: Path, receiver_timeout: float) -> str:
    """Send VRRP-like multicast from node1; return what node2's receiver printed last."""
    log = tmp_path / f"receiver-{len(list(tmp_path.iterdir()))}.log"
    receiver = lab.spawn(
        "node2", [sys.executable, "-c", VRRP_RECEIVER, str(lab.address("node2")), str(receiver_timeout)], log
    )
    try:
        wait_for(lambda: "ready" in receiver.read_log(), 10, "the VRRP receiver to join the group")
        sent = lab.run("node1", sender_argv(lab, count=5), check=True)
        assert sent.stdout == ""
        receiver.wait(receiver_timeout + 5)
    finally:
        receiver.stop()
    return receiver.read_log().splitlines()[-1]


def test_vrrp_multicast_crosses_the_switch_and_a_proto_112_filter_cuts_it(lab: Lab, tmp_path: Path) -> None:
    assert vrrp_probe(lab, tmp_path, 5.0) == "got 10.30.31.168"

    with lab.block("node2", PacketFilter("vrrp", direction=Direction.INPUT)) as handle:
        assert lab.firewall("node2").active_rules() == ["-A HAPAIR-IN -p vrrp -j DROP"]
        assert vrrp_probe(lab, tmp_path, 1.0) == "timeout"
        assert lab.ping("node1", "node2")  # only VRRP is cut
    assert not handle.active
    assert lab.firewall("node2").active_rules() == []
    assert vrrp_probe(lab, tmp_path, 5.0) == "got 10.30.31.168"


def test_an_output_filter_stops_the_sender(lab: Lab) -> None:
    with lab.block("node1", PacketFilter("vrrp", direction=Direction.OUTPUT)):
        sent = lab.run("node1", sender_argv(lab, count=1), check=True)
        assert sent.stdout == "send refused\n"


def test_icmp_cut_towards_one_peer_only(lab: Lab) -> None:
    handle = lab.block("client", PacketFilter("icmp", peer=lab.address("node1")))
    assert not lab.ping("client", "node1", wait=0.3)
    assert lab.ping("client", "node2")
    handle.remove()
    handle.remove()  # twice is harmless
    assert lab.ping("client", "node1")


def test_tcp_port_reject_resets_connections(lab: Lab, tmp_path: Path) -> None:
    server = lab.spawn("node1", [sys.executable, "-c", TCP_SERVER], tmp_path / "server.log")
    try:
        wait_for(lambda: "listening" in server.read_log(), 10, "the TCP server to listen")
        connect = [sys.executable, "-c", TCP_CLIENT, str(lab.address("node1"))]
        assert lab.run("node2", connect, check=True).stdout == "hello\n"
        with lab.block("node1", PacketFilter("tcp", port=7788, reject=True)):
            assert lab.run("node2", connect, check=True).stdout == "refused\n"
            assert lab.ping("node2", "node1")
        assert lab.run("node2", connect, check=True).stdout == "hello\n"
    finally:
        server.stop()


def test_link_down_and_up(lab: Lab) -> None:
    assert lab.ping("client", "node1")
    lab.link_down("node1")
    (eth1,) = (link for link in lab.links("node1") if link.name == "eth1")
    assert not eth1.admin_up and eth1.operstate == "DOWN"
    assert not lab.ping("client", "node1", wait=0.3)
    assert not lab.status().complete
    lab.link_up("node1")
    wait_for(lambda: lab.ping("client", "node1", wait=0.3), 10, "node1 to answer again")
    assert lab.status().complete


def test_clear_faults_lifts_everything(lab: Lab) -> None:
    lab.block("client", PacketFilter("icmp"))
    lab.block("node2", PacketFilter("tcp", port=7788, peer=lab.address("node1")))
    lab.link_down("node2")
    assert len(lab.firewall("node2").active_rules()) == 4
    lab.clear_faults()
    assert all(lab.firewall(h).active_rules() == [] for h in lab.hosts)
    wait_for(lambda: lab.ping("client", "node2", wait=0.3), 10, "node2 to answer after clear_faults")
