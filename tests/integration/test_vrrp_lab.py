"""Two hapair VRRP engines in the lab with the runbook's own keepalived.conf files (issue 2, section 5).

node1: state BACKUP, priority 100, nopreempt; node2: state MASTER, priority 90; advert_int 1, PASS
authentication. node1 is started first so it wins the first election, as in the runbook.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from hapair.lab import Lab
from hapair.lab.runbook import runbook_file
from hapair.lab.vrrp_nodes import Engine, VrrpEngineProcess, start_engine
from labkit import wait_for

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.slow]

VIP = "10.30.31.171"
# Master down interval of the backup: 3 x advert_int + (256 - priority) / 256 s.
MDI_NODE2_S = 3 + (256 - 90) / 256
MDI_NODE1_S = 3 + (256 - 100) / 256
STARTUP_S = MDI_NODE1_S + 2.0


def client_arp_mac(lab: Lab) -> str | None:
    entry = lab.neighbour("client", VIP)
    return entry.mac if entry is not None else None


def start(lab: Lab, host: str, workdir: Path) -> VrrpEngineProcess:
    return start_engine(lab, host, Engine.HAPAIR, runbook_file(f"keepalived-{host}.conf"), workdir)


def elect_node1(lab: Lab, workdir: Path) -> tuple[VrrpEngineProcess, VrrpEngineProcess]:
    node1 = start(lab, "node1", workdir)
    wait_for(lambda: node1.state() == "MASTER", STARTUP_S, "node1 to become MASTER")
    node2 = start(lab, "node2", workdir)
    wait_for(lambda: node2.state() == "BACKUP", 5, "node2 to settle as BACKUP")
    return node1, node2


def test_runbook_pair_elects_one_master_and_fails_over(lab: Lab, tmp_path: Path) -> None:
    node1, node2 = elect_node1(lab, tmp_path)
    assert lab.vip_holders() == ["node1"]
    assert lab.ping("client", VIP)
    entry = lab.neighbour("client", VIP)
    assert entry is not None and entry.mac == lab.mac("node1")
    # Both stay where they are: the backup keeps hearing adverts.
    time.sleep(MDI_NODE2_S + 0.5)
    assert (node1.state(), node2.state()) == ("MASTER", "BACKUP")

    killed_at = time.monotonic()
    node1.crash()
    wait_for(lambda: "node2" in lab.vip_holders(), MDI_NODE2_S + 2, "node2 to take the VIP")
    takeover_s = time.monotonic() - killed_at
    assert takeover_s <= MDI_NODE2_S + 0.5, f"takeover took {takeover_s:.3f}s"
    assert node2.state() == "MASTER"
    wait_for(
        lambda: client_arp_mac(lab) == lab.mac("node2"),
        2,
        "the client's ARP entry for the VIP to show node2's MAC",
    )
    log = node2.log_text()
    assert "(VI_1) Entering MASTER STATE" in log
    assert "Sending gratuitous ARP on eth1 for 10.30.31.171" in log

    # The old master returns (its kill -9 left the VIP on eth1, as keepalived's does); with
    # nopreempt it removes it, stays BACKUP, and the VIP stays on node2.
    node1 = start(lab, "node1", tmp_path)
    wait_for(lambda: node1.state() == "BACKUP", 5, "node1 to come back as BACKUP")
    wait_for(lambda: lab.vip_holders() == ["node2"], 3, "the stale VIP to leave node1")
    time.sleep(MDI_NODE1_S + 1.0)
    assert (node1.state(), node2.state()) == ("BACKUP", "MASTER")
    assert lab.vip_holders() == ["node2"]
    assert lab.ping("client", VIP)
    node1.stop()
    node2.stop()


def test_graceful_stop_hands_over_after_skew_time(lab: Lab, tmp_path: Path) -> None:
    node1, node2 = elect_node1(lab, tmp_path)
    stopped_at = time.monotonic()
    assert node1.stop() == 0
    wait_for(lambda: node2.state() == "MASTER", 3, "node2 to take over after the priority-0 advert")
    # Priority 0 makes the backup wait only its skew time, (256 - 90) / 256 = 0.65 s.
    assert time.monotonic() - stopped_at < 1.5
    assert "(VI_1) sent 0 priority" in node1.log_text()
    assert "(VI_1) Backup received priority 0 advertisement" in node2.log_text()
    assert lab.vip_holders() == ["node2"]
    node2.stop()


def test_status_command_reports_the_running_instance(lab: Lab, tmp_path: Path) -> None:
    node1, node2 = elect_node1(lab, tmp_path)
    result = lab.run(
        "node1",
        [*node1.process.argv[:3], "vrrp", "status", "--json", "--state-file", str(node1.state_file)],
        check=True,
    )
    document = json.loads(result.stdout)
    assert document["running"] is True
    (instance,) = document["instances"]
    assert instance["data"]["iname"] == "VI_1"
    assert instance["data"]["state"] == 2
    assert instance["data"]["base_priority"] == instance["data"]["effective_priority"] == 100
    assert instance["stats"]["advert_sent"] >= 1
    assert instance["hapair"]["master_address"] == "10.30.31.168"
    status = [*node2.process.argv[:3], "vrrp", "status", "--state-file", str(node2.state_file)]

    def status_after_first_advert() -> str | None:
        out = lab.run("node2", status, check=True).stdout
        return None if "received 0 " in out else out

    text = wait_for(status_after_first_advert, 3, "node2's status to count received adverts")
    assert "(VI_1) BACKUP vrid 51 v2 priority 90/90 master 10.30.31.168" in text
    assert "bad packets: none" in text
    node1.stop()
    node2.stop()
