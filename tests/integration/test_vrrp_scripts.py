"""Track scripts and notify scripts run for real by `hapair vrrp` in the lab (issue 2, section 3).

node1 tracks a vrrp_script (`test -f FLAG`, weight 0: failing means FAULT) and records every
notify call; VRRPv3 with advert_int 0.1 keeps the test short.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hapair.lab import Lab
from hapair.lab.vrrp_nodes import Engine, pair_config, start_engine
from labkit import wait_for

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.slow]


def write_script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def node1_config(tmp_path: Path, flag: Path, record: Path) -> Path:
    notify = write_script(tmp_path / "notify.sh", f'echo "notify $*" >> {record}')
    master = write_script(tmp_path / "master.sh", f'echo "master $*" >> {record}')
    backup = write_script(tmp_path / "backup.sh", f'echo "backup $*" >> {record}')
    fault = write_script(tmp_path / "fault.sh", f'echo "fault $*" >> {record}')
    base = pair_config(node=1, version=3, advert_int="0.1")
    script_block = (
        f'vrrp_script chk_flag {{\n    script "/usr/bin/test -f {flag}"\n    interval 1\n'
        "    fall 1\n    rise 1\n}\n"
    )
    hooks = (
        "    track_script {\n        chk_flag\n    }\n"
        f'    notify "{notify}"\n    notify_master "{master} arg1"\n'
        f'    notify_backup "{backup}"\n    notify_fault "{fault}"\n'
    )
    text = base.replace("vrrp_instance VI_1 {", script_block + "vrrp_instance VI_1 {\n" + hooks, 1)
    conf = tmp_path / "node1.conf"
    conf.write_text(text, encoding="utf-8")
    return conf


def test_failing_track_script_faults_the_master_and_notifies(lab: Lab, tmp_path: Path) -> None:
    flag = tmp_path / "healthy"
    flag.touch()
    record = tmp_path / "notify.log"
    conf2 = tmp_path / "node2.conf"
    conf2.write_text(pair_config(node=2, version=3, advert_int="0.1"), encoding="utf-8")
    node1 = start_engine(lab, "node1", Engine.HAPAIR, node1_config(tmp_path, flag, record), tmp_path)
    wait_for(lambda: node1.state() == "MASTER", 5, "node1 to become MASTER")
    node2 = start_engine(lab, "node2", Engine.HAPAIR, conf2, tmp_path)
    wait_for(lambda: node2.state() == "BACKUP", 5, "node2 to settle as BACKUP")

    def recorded() -> list[str]:
        return record.read_text(encoding="utf-8").splitlines() if record.exists() else []

    wait_for(lambda: "notify INSTANCE VI_1 MASTER 100" in recorded(), 3, "the generic notify for MASTER")
    assert "master arg1" in recorded()
    # The (init) BACKUP state at start is notified too, as keepalived does.
    assert "backup" in [line.strip() for line in recorded()]

    flag.unlink()
    wait_for(lambda: node1.state() == "FAULT", 5, "node1 to enter FAULT when its script fails")
    wait_for(lambda: node2.state() == "MASTER", 3, "node2 to take over")
    wait_for(lambda: "notify INSTANCE VI_1 FAULT 100" in recorded(), 3, "the generic notify for FAULT")
    assert "fault" in [line.strip() for line in recorded()]
    log = node1.log_text()
    assert "(VI_1) Entering FAULT STATE" in log
    assert lab.vip_holders() == ["node2"]

    flag.touch()
    wait_for(lambda: node1.state() == "BACKUP", 5, "node1 to leave FAULT once the script succeeds")
    assert lab.vip_holders() == ["node2"]  # nopreempt: the VIP stays
    node1.stop()
    wait_for(lambda: "notify INSTANCE VI_1 STOP 100" in recorded(), 3, "the generic notify for STOP")
    node2.stop()


def test_interface_down_faults_the_instance_and_up_recovers(lab: Lab, tmp_path: Path) -> None:
    conf1 = tmp_path / "node1.conf"
    conf1.write_text(pair_config(node=1, version=3, advert_int="0.1"), encoding="utf-8")
    node1 = start_engine(lab, "node1", Engine.HAPAIR, conf1, tmp_path)
    wait_for(lambda: node1.state() == "MASTER", 5, "node1 to become MASTER")
    lab.link_down("node1")
    wait_for(lambda: node1.state() == "FAULT", 3, "node1 to enter FAULT with eth1 down")
    assert "Netlink reports eth1 down" in node1.log_text()
    lab.link_up("node1")
    wait_for(lambda: node1.state() in ("BACKUP", "MASTER"), 3, "node1 to leave FAULT with eth1 up")
    node1.stop()
