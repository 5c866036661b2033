"""hapair and the real keepalived 2.2.7 as VRRP peers in the lab (issue 2, section 5, interop).

For VRRPv2 (the runbook's files: advert_int 1, PASS auth) and VRRPv3 (advert_int 0.1), with
keepalived on node1 and hapair on node2 and the other way round: exactly one master; failover from
node1 to node2 and back; keepalived never logs a bad packet from hapair and hapair never counts one
from keepalived. A password mismatch is rejected and logged by both.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from hapair.lab import Lab
from hapair.lab.runbook import runbook_file
from hapair.lab.vrrp_nodes import Engine, VrrpEngineProcess, pair_config, start_engine
from labkit import wait_for

pytestmark = [
    pytest.mark.root,
    pytest.mark.lab,
    pytest.mark.interop,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed"),
]

VIP = "10.30.31.171"
KEEPALIVED_COMPLAINTS = (
    "Invalid VRRPv",
    "wrong version",
    "invalid passwd",
    "auth, expecting",
    "Invalid auth type",
    "too short",
    "too long",
    "invalid TTL",
    "interval mismatch",
    "unexpected ip number count",
    "not present in MASTER advert",
    "ip_tot_len mismatch",
    "Invalid packet type",
)


def mdi_s(advert_s: float, priority: int) -> float:
    return 3 * advert_s + (256 - priority) / 256 * advert_s


def configs(tmp_path: Path, version: int) -> tuple[Path, Path, float]:
    """The two keepalived.conf files and the advert interval in seconds."""
    if version == 2:
        return runbook_file("keepalived-node1.conf"), runbook_file("keepalived-node2.conf"), 1.0
    paths = []
    for node in (1, 2):
        path = tmp_path / f"v3-node{node}.conf"
        path.write_text(pair_config(node=node, version=3, advert_int="0.1"), encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1], 0.1


def hapair_rejections(engine: VrrpEngineProcess) -> dict[str, int]:

    document = json.loads(engine.state_file.read_text(encoding="utf-8"))
    rejected: dict[str, int] = document["instances"][0]["hapair"]["rejected"]
    return rejected


def assert_no_complaints(*engines: VrrpEngineProcess) -> None:
    for engine in engines:
        if engine.engine is Engine.KEEPALIVED:
            bad = [
                line
                for line in engine.log_text().splitlines()
                if any(word in line for word in KEEPALIVED_COMPLAINTS)
            ]
            assert bad == [], f"keepalived on {engine.host} complained: {bad}"
        elif engine.process.running:
            assert hapair_rejections(engine) == {}


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize(
    ("engine1", "engine2"),
    [(Engine.KEEPALIVED, Engine.HAPAIR), (Engine.HAPAIR, Engine.KEEPALIVED)],
    ids=["keepalived-node1", "hapair-node1"],
)
def test_mixed_pair_elects_one_master_and_fails_over_both_ways(
    lab: Lab, tmp_path: Path, version: int, engine1: Engine, engine2: Engine
) -> None:
    conf1, conf2, advert_s = configs(tmp_path, version)
    node1 = start_engine(lab, "node1", engine1, conf1, tmp_path)
    wait_for(lambda: node1.state() == "MASTER", mdi_s(advert_s, 100) + 3, "node1 to become MASTER")
    node2 = start_engine(lab, "node2", engine2, conf2, tmp_path)
    wait_for(lambda: node2.state() == "BACKUP", 5, "node2 to settle as BACKUP")
    time.sleep(mdi_s(advert_s, 90) + 2 * advert_s)
    assert (node1.state(), node2.state()) == ("MASTER", "BACKUP"), "exactly one master"
    assert lab.vip_holders() == ["node1"]
    assert lab.ping("client", VIP)
    assert_no_complaints(node1, node2)

    # node1 dies: node2 takes over within its master down interval.
    crashed = time.monotonic()
    node1.crash()
    wait_for(lambda: node2.state() == "MASTER", mdi_s(advert_s, 90) + 2, "node2 to take over")
    assert time.monotonic() - crashed <= mdi_s(advert_s, 90) + 0.5
    wait_for(lambda: "node2" in lab.vip_holders(), 2, "the VIP on node2")

    # node1 returns (nopreempt): BACKUP. Then node2 dies: node1 takes over again.
    node1 = start_engine(lab, "node1", engine1, conf1, tmp_path)
    wait_for(lambda: node1.state() == "BACKUP", 5, "node1 to come back as BACKUP")
    time.sleep(mdi_s(advert_s, 100) + 2 * advert_s)
    assert (node1.state(), node2.state()) == ("BACKUP", "MASTER")
    assert_no_complaints(node1, node2)
    crashed = time.monotonic()
    node2.crash()
    wait_for(lambda: node1.state() == "MASTER", mdi_s(advert_s, 100) + 2, "node1 to take over")
    assert time.monotonic() - crashed <= mdi_s(advert_s, 100) + 0.5
    wait_for(lambda: "node1" in lab.vip_holders(), 2, "the VIP on node1")
    assert_no_complaints(node1, node2)
    node1.stop()


def test_password_mismatch_is_rejected_and_logged_by_both(lab: Lab, tmp_path: Path) -> None:
    conf1 = tmp_path / "pass-1111.conf"
    conf1.write_text(pair_config(node=1, auth_pass="1111"), encoding="utf-8")
    conf2 = tmp_path / "pass-2222.conf"
    conf2.write_text(pair_config(node=2, auth_pass="2222"), encoding="utf-8")
    keepalived = start_engine(lab, "node1", Engine.KEEPALIVED, conf1, tmp_path)
    hapair = start_engine(lab, "node2", Engine.HAPAIR, conf2, tmp_path)
    # Neither accepts the other's adverts, so both end up MASTER: the classic dual master.
    wait_for(
        lambda: (keepalived.state(), hapair.state()) == ("MASTER", "MASTER"),
        mdi_s(1.0, 90) + 3,
        "both to become MASTER",
    )
    wait_for(
        lambda: "(VI_1) received an invalid passwd!" in keepalived.log_text(),
        3,
        "keepalived to log the bad password",
    )
    wait_for(
        lambda: "(VI_1) received an invalid passwd!" in hapair.log_text(),
        3,
        "hapair to log the bad password",
    )
    assert hapair_rejections(hapair).get("auth_failure", 0) >= 1
    keepalived.stop()
    hapair.stop()
