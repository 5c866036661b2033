"""`hapair lab demo`: the runbook's VRRP failover test, automated, on one machine.

The runbook builds two servers and a test VM, installs keepalived on both servers, pings the VIP
from the VM, powers the master off, and watches the VIP and the VM's ARP entry move. This does the
same with the lab's namespaces and hapair's VRRP engine reading the runbook's keepalived.conf files
as they are, and measures what the runbook could only eyeball: how long the client lost the VIP.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from hapair.lab.client_probe import start_ping
from hapair.lab.lab import Lab
from hapair.lab.runbook import runbook_file
from hapair.lab.topology import runbook_topology
from hapair.lab.vrrp_nodes import Engine, VrrpEngineProcess, start_engine
from hapair.lab.waiting import wait_until

VIP = "10.30.31.171"
MDI_NODE2_S = 3 + (256 - 90) / 256


class DemoFailed(Exception):
    """A step of the demo did not happen in time."""


class Narrator:
    """Prints numbered steps with the elapsed time, so the story reads top to bottom."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.2f}s] {text}", file=self.out, flush=True)

    def detail(self, text: str) -> None:
        print(f"          {text}", file=self.out, flush=True)


def _wait(condition: Callable[[], object], timeout: float, what: str) -> None:
    try:
        wait_until(condition, timeout, what)
    except TimeoutError as exc:
        raise DemoFailed(str(exc)) from exc
    except Exception as exc:
        if type(exc).__name__ == "LabTimeoutError":
            raise DemoFailed(str(exc)) from exc
        raise


def _log_excerpt(engine: VrrpEngineProcess, say: Narrator, *, last: int = 4) -> None:
    lines = [line for line in engine.log_text().splitlines() if "(VI_1)" in line]
    for line in lines[-last:]:
        say.detail(f"{engine.host} log: {line.split(': ', 1)[-1]}")


def _arp(lab: Lab, host: str) -> str:
    entry = lab.neighbour("client", VIP)
    mac = entry.mac if entry else "(none)"
    owner = next((h for h in ("node1", "node2") if lab.mac(h) == mac), "?")
    return f"{mac} ({owner})"


def run_demo(prefix: str = "hapair-demo", out: TextIO = sys.stdout, workdir: Path | None = None) -> int:
    say = Narrator(out)
    work = workdir or Path(tempfile.mkdtemp(prefix="hapair-demo-"))
    lab = Lab(runbook_topology(), prefix=prefix)
    lab.down()  # leftovers of an interrupted earlier demo
    try:
        _story(lab, say, work)
    except DemoFailed as exc:
        say.say(f"DEMO FAILED: {exc}")
        say.detail(f"logs are in {work}")
        return 1
    finally:
        lab.down()
        say.say(f"lab removed (namespaces {prefix}-*); logs kept in {work}")
    return 0


def _story(lab: Lab, say: Narrator, work: Path) -> None:
    say.say("hapair lab demo: the runbook's keepalived failover test, on one machine")
    lab.up()
    for host in ("node1", "node2", "client"):
        say.detail(f"{host:7s} {lab.address(host)}/27 on eth1, MAC {lab.mac(host)}")
    say.say(f"lab up: three hosts as network namespaces {lab.prefix}-*, one switch; VIP {VIP}")

    conf1, conf2 = runbook_file("keepalived-node1.conf"), runbook_file("keepalived-node2.conf")
    say.say(f"node1: hapair vrrp -f {conf1.name}  (state BACKUP, priority 100, nopreempt)")
    node1 = start_engine(lab, "node1", Engine.HAPAIR, conf1, work, detailed=True)
    _wait(lambda: node1.state() == "MASTER", 8, "node1 to become MASTER")
    say.say("node1 is MASTER (no other router answered within its master down interval)")
    say.say(f"node2: hapair vrrp -f {conf2.name}  (state MASTER, priority 90)")
    node2 = start_engine(lab, "node2", Engine.HAPAIR, conf2, work, detailed=True)
    _wait(lambda: node2.state() == "BACKUP", 5, "node2 to settle as BACKUP")
    say.say("node2 is BACKUP: node1's adverts (priority 100) win over its 90")
    _wait(lambda: lab.vip_holders() == ["node1"], 3, "the VIP on node1")
    _wait(lambda: lab.ping("client", VIP), 3, "the client to reach the VIP")
    say.say(f"VIP {VIP} is on {', '.join(lab.vip_holders())}; client's ARP entry: {_arp(lab, 'client')}")

    ping = start_ping(lab, "client", VIP, work / "client-ping.log")
    _wait(lambda: len(ping.replies()) >= 20, 5, "the client's ping to run")
    say.say("client pings the VIP every 10 ms (ping -i 0.01)")

    say.say("POWER OFF node1: eth1 down and kill -9 of its hapair (runbook: poweroff / ifconfig eth1 down)")
    lab.link_down("node1")
    killed_wall = time.time()
    killed = time.monotonic()
    node1.crash()
    _wait(lambda: node2.state() == "MASTER", MDI_NODE2_S + 3, "node2 to become MASTER")
    takeover = time.monotonic() - killed
    say.say(f"node2 is MASTER {takeover:.2f}s after the crash (master down interval {MDI_NODE2_S:.2f}s)")
    _log_excerpt(node2, say, last=5)
    _wait(lambda: ping.first_reply_after(killed_wall) is not None, 5, "the VIP to answer again")
    outage = ping.outage_after(killed_wall) or 0.0
    gap = ping.gap_around(killed_wall) or outage
    _wait(lambda: (e := lab.neighbour("client", VIP)) is not None and e.mac == lab.mac("node2"), 3,
          "the client's ARP entry to move")  # fmt: skip
    say.say(f"client: VIP answers again {outage:.2f}s after the power-off; no answer for {gap:.2f}s")
    say.say(f"client's ARP entry for {VIP} moved to {_arp(lab, 'client')} (gratuitous ARP from node2)")

    say.say("node1 powers back on: eth1 up, hapair restarted with the same keepalived.conf")
    lab.link_up("node1")
    node1 = start_engine(lab, "node1", Engine.HAPAIR, conf1, work, detailed=True)
    _wait(lambda: node1.state() == "BACKUP", 5, "node1 to come back as BACKUP")
    time.sleep(3 + (256 - 100) / 256 + 1)
    if node1.state() != "BACKUP" or lab.vip_holders() != ["node2"]:
        raise DemoFailed(f"node1 is {node1.state()}, VIP on {lab.vip_holders()}")
    say.say("node1 stays BACKUP although its priority is higher: nopreempt, as the runbook wants")
    _log_excerpt(node1, say, last=2)
    say.say(f"VIP still on {', '.join(lab.vip_holders())}; client's ARP entry {_arp(lab, 'client')}")
    lost = [r for r in ping.replies() if r.wall_s > killed_wall]
    say.say(f"client ping: {len(ping.replies())} answers in all, {len(lost)} since the crash")
    ping.stop()
    node1.stop()
    node2.stop()
    say.say("summary: VIP moved node1 -> node2 in "
            f"{takeover:.2f}s, client outage {outage:.2f}s, old master rejoined as BACKUP")  # fmt: skip
