"""Two (or three) VRRP nodes back to back on the in-memory LAN, on a fake clock.

Where the research ran the same scenario with two keepalived 2.2.7 daemons, the log lines each of
our nodes produces are compared with that daemon's log (B_v2.log, B_v3.log, A_s.log, B_s.log).
"""

from __future__ import annotations

from ipaddress import IPv4Address

from vrrp_evidence import log_lines

from hapair.core.vrrp import (
    InitialState,
    InstanceSettings,
    InstanceState,
    LogLine,
    SendAdvert,
    StopRequested,
    TrackedInterface,
    TrackedScript,
    UnicastPeer,
    VirtualIp,
    VrrpNode,
    VrrpScriptSettings,
    seconds,
)
from hapair.core.vrrp.events import InterfaceStateChanged
from hapair.core.vrrp.lan import LanHost, SimulatedLan
from hapair.core.vrrp.packet import decode_ipv4_datagram

VIP = IPv4Address("10.0.0.100")
VIPS = (VirtualIp.of("10.0.0.100/24"), VirtualIp.of("10.0.0.101/24"))
ADDR = {"A": IPv4Address("10.0.0.1"), "B": IPv4Address("10.0.0.2"), "C": IPv4Address("10.0.0.3")}
IFACE = {"A": "vA", "B": "vB", "C": "vC"}


def settings(host: str, **kw: object) -> InstanceSettings:
    base: dict[str, object] = {
        "name": "VI_1",
        "virtual_router_id": 51,
        "interface": IFACE[host],
        "vips": VIPS,
    }
    base.update(kw)
    return InstanceSettings(**base)  # type: ignore[arg-type]


def add(lan: SimulatedLan, host: str, scripts: tuple[VrrpScriptSettings, ...] = (), **kw: object) -> LanHost:
    node = VrrpNode([settings(host, **kw)], scripts, interface_addresses={IFACE[host]: [ADDR[host]]})
    return lan.add_host(host, node, IFACE[host], ADDR[host])


def vi1_lines(host: LanHost) -> list[str]:
    return [
        line
        for line in host.logs()
        if line.startswith(("(VI_1)", "Sending gratuitous", "VRRP_Script", "Script `"))
    ]


def evidence(name: str) -> list[str]:
    return [
        line
        for line in log_lines(name)
        if line.startswith(("(VI_1)", "Sending gratuitous", "VRRP_Script", "Script `"))
    ]


def test_v2_preemption_and_priority_zero_release_like_keepalived() -> None:
    """B_v2.log: B (100) alone becomes master; A (150) starts 5 s later and preempts after its MDI;
    A stops (priority 0) and B takes over after its skew time, 0.609 s."""
    lan = SimulatedLan()
    a, b = add(lan, "A", priority=150), add(lan, "B", priority=100)
    lan.start("B")
    lan.run_for(seconds(5))
    assert lan.masters("VI_1") == ["B"] and lan.holders(VIP) == ["B"]
    lan.start("A")
    lan.run_for(seconds("3.5"))
    assert lan.masters("VI_1") == ["A"] and lan.holders(VIP) == ["A"]
    stop_at = lan.now + seconds("0.1")
    lan.inject("A", StopRequested(), seconds("0.1"))
    lan.run_for(seconds("0.65"))
    assert lan.masters("VI_1") == []
    lan.run_for(seconds("0.1"))
    assert lan.masters("VI_1") == ["B"]
    took_over = next(t for t, e in b.sent() if t > stop_at)
    assert took_over - stop_at == lan.latency_ns + 609_375_000
    lan.run_for(seconds("5.1"))  # B's delayed GARP batch, 5 s after it became master
    lan.stop("B")
    lan.run_for(seconds(1))
    assert vi1_lines(b) == evidence("B_v2.log")
    assert a.node.instance("VI_1").state is InstanceState.STOP


def test_v3_interval_learning_and_restoring_like_keepalived() -> None:
    """B_v3.log: B (100, 0.5 s) learns A's 1 s interval when A (150) takes over, and goes back to
    its own 0.5 s when it becomes master again after A's priority-0 advert."""
    lan = SimulatedLan()
    add(lan, "A", priority=150, version=3)
    b = add(lan, "B", priority=100, version=3, advert_int=seconds("0.5"))
    lan.start("B")
    lan.run_for(seconds(3))
    lan.start("A")
    lan.run_for(seconds(6))
    snap = b.node.instance("VI_1").snapshot()
    assert snap.state is InstanceState.BACKUP and snap.master_adver_int == 1.0
    lan.stop("A")
    lan.run_for(seconds(3))
    assert b.node.instance("VI_1").snapshot().master_adver_int == 0.5
    lan.stop("B")
    lan.run_for(seconds(1))
    b_adverts = [decode_ipv4_datagram(e.data).packet().adver_int for _, e in b.sent()]
    assert set(b_adverts) == {50}
    assert vi1_lines(b) == evidence("B_v3.log")


def test_track_script_weight_moves_priority_and_takeover_follows_after_mdi() -> None:
    """A_s.log / B_s.log: A (150) tracks chk (weight -60, fall 2, rise 2). chk fails: A drops to 90,
    B (100) takes over when its down timer expires; chk recovers: A preempts after its MDI."""
    chk = VrrpScriptSettings("chk", "./chk.sh", weight=-60, fall=2, rise=2)
    lan = SimulatedLan()
    a = add(lan, "A", (chk,), priority=150, vips=VIPS[:1], track_scripts=(TrackedScript("chk", -60),))
    b = add(lan, "B", priority=100, vips=VIPS[:1])
    lan.start()
    lan.run_for(seconds("5.5"))
    a.script_ok["chk"] = False
    lan.run_for(seconds(5))
    assert a.node.instance("VI_1").effective_priority == 90
    assert lan.masters("VI_1") == ["B"]
    a.script_ok["chk"] = True
    lan.run_for(seconds(5))
    assert lan.masters("VI_1") == ["A"] and a.node.instance("VI_1").effective_priority == 150
    lan.stop("A")
    lan.run_for(seconds("0.5"))
    assert vi1_lines(a) == evidence("A_s.log")
    assert vi1_lines(b)[: len(evidence("B_s.log"))] == evidence("B_s.log")


def test_fault_via_weight_zero_tracked_interface() -> None:
    lan = SimulatedLan()
    a = add(lan, "A", priority=150, track_interfaces=(TrackedInterface("vA2"),))
    add(lan, "B", priority=100)
    lan.start()
    lan.run_for(seconds(5))
    assert lan.masters("VI_1") == ["A"]
    lan.inject("A", InterfaceStateChanged("vA2", False))
    lan.run_for(seconds(1))
    assert a.state("VI_1") is InstanceState.FAULT
    assert lan.masters("VI_1") == ["B"], "B took over after A's priority-0 adverts (skew time)"
    zeros = [e for _, e in a.sent() if e.priority == 0]
    assert len(zeros) == 2, "keepalived sends two priority-0 adverts when leaving MASTER for FAULT"
    lan.inject("A", InterfaceStateChanged("vA2", True))
    lan.run_for(seconds("0.1"))
    assert a.state("VI_1") is InstanceState.BACKUP
    lan.run_for(seconds("3.5"))
    assert lan.masters("VI_1") == ["A"]
    assert "Netlink reports vA2 down" in a.logs() and "(VI_1) Entering FAULT STATE" in a.logs()


def test_nopreempt_keeps_the_running_master() -> None:
    lan = SimulatedLan()
    a = add(lan, "A", priority=150, nopreempt=True)
    add(lan, "B", priority=100)
    lan.start("B")
    lan.run_for(seconds(5))
    lan.start("A")
    lan.run_for(seconds(20))
    assert lan.masters("VI_1") == ["B"] and a.state("VI_1") is InstanceState.BACKUP
    assert not [line for line in a.logs() if "discarding" in line]


def test_preempt_delay_postpones_takeover() -> None:
    lan = SimulatedLan()
    a = add(lan, "A", priority=150, preempt_delay=seconds(5))
    add(lan, "B", priority=100)
    lan.start("B")
    lan.run_for(seconds(5))
    lan.start("A")
    lan.run_for(seconds(7))
    assert lan.masters("VI_1") == ["B"], "lower adverts are accepted while the delay runs"
    lan.run_for(seconds(3))
    assert lan.masters("VI_1") == ["A"]
    assert "(VI_1) start preempt delay (5.000000)" in a.logs()
    first_master = next(t for t, e in a.sent())
    assert seconds(5) + seconds(5) < first_master < seconds(5) + seconds(5) + seconds(4)


def test_equal_priority_backup_accepts_either_address() -> None:
    """In BACKUP an equal priority is accepted whatever the address ("greater or equal"): the first
    of two equal nodes to become master keeps it, even with the lower address."""
    lan = SimulatedLan()
    add(lan, "A", priority=100)
    b = add(lan, "B", priority=100)
    lan.start("A")
    lan.run_for(seconds(5))
    lan.start("B")
    lan.run_for(seconds(10))
    assert lan.masters("VI_1") == ["A"] and lan.holders(VIP) == ["A"]
    assert b.state("VI_1") is InstanceState.BACKUP
    assert not [line for line in b.logs() if "discarding" in line]


def test_equal_priority_tie_break_when_both_are_master() -> None:
    """Start both at once: both time out together, both become master, the lower address yields."""
    lan = SimulatedLan()
    a = add(lan, "A", priority=100)
    add(lan, "B", priority=100)
    lan.start()
    lan.run_for(seconds(5))
    assert lan.masters("VI_1") == ["B"]
    assert (
        "(VI_1) Master received advert from 10.0.0.2 with same priority 100 but higher IP address than ours"
        in a.logs()
    )


def test_address_owner_is_master_at_once_and_stays() -> None:
    lan = SimulatedLan()
    a = add(lan, "A", priority=255, state=InitialState.MASTER)
    add(lan, "B", priority=100)
    lan.start()
    lan.run_for(0)
    assert lan.masters("VI_1") == ["A"]
    lan.run_for(seconds(10))
    assert lan.masters("VI_1") == ["A"] and lan.holders(VIP) == ["A"]
    assert a.sent()[0][1].priority == 255


def test_two_address_owners_resolve_to_one() -> None:
    lan = SimulatedLan()
    add(lan, "A", priority=255, state=InitialState.MASTER)
    b = add(lan, "B", priority=255, state=InitialState.MASTER)
    lan.start()
    lan.run_for(seconds(5))
    assert len(lan.masters("VI_1")) == 1
    assert any("both configured as address owner" in line for h in (lan["A"], b) for line in h.logs())


def test_unicast_pair_with_per_peer_checksums() -> None:
    lan = SimulatedLan()
    a = add(
        lan, "A", priority=150, version=3, unicast_src_ip=ADDR["A"], unicast_peers=(UnicastPeer(ADDR["B"]),)
    )
    b = add(
        lan, "B", priority=100, version=3, unicast_src_ip=ADDR["B"], unicast_peers=(UnicastPeer(ADDR["A"]),)
    )
    lan.start()
    lan.run_for(seconds(6))
    assert lan.masters("VI_1") == ["A"]
    assert {e.destination for _, e in a.sent()} == {ADDR["B"]}
    assert b.node.instance("VI_1").snapshot().stats.advert_rcvd >= 2
    assert not [line for line in b.logs() if "Invalid" in line]


def test_three_nodes_highest_wins_and_next_takes_over_on_stop() -> None:
    lan = SimulatedLan()
    add(lan, "A", priority=150)
    add(lan, "B", priority=100)
    add(lan, "C", priority=120)
    lan.start()
    lan.run_for(seconds(5))
    assert lan.masters("VI_1") == ["A"]
    lan.stop("A")
    lan.run_for(seconds(2))
    assert lan.masters("VI_1") == ["C"] and lan.holders(VIP) == ["C"]


def test_split_brain_heals_with_forcing_new_election() -> None:
    """Cut the link: both become master. Heal it: the lower one yields at the higher one's next
    advert; the higher one, hearing the lower master, answers at once and re-sends GARPs."""
    lan = SimulatedLan()
    a = add(lan, "A", priority=150)
    b = add(lan, "B", priority=100)
    lan.start()
    lan.run_for(seconds(5))
    lan.cut("A", "B")
    lan.run_for(seconds(5))
    assert sorted(lan.masters("VI_1")) == ["A", "B"]
    assert sorted(lan.holders(VIP)) == ["A", "B"]
    lan.heal("A", "B")
    lan.run_for(seconds("1.1"))
    assert lan.masters("VI_1") == ["A"] and lan.holders(VIP) == ["A"]
    assert "(VI_1) Master received advert from 10.0.0.1 with higher priority 150, ours 100" in b.logs()
    # B (cut off, now master) spoke first after the heal; A answered at once ("forcing new election")
    # and B yielded to that answer, 100 us (one LAN latency) later.
    forced = [t for t, e in a.effects if isinstance(e, LogLine) and "forcing new election" in e.text]
    yielded = [t for t, e in b.effects if isinstance(e, LogLine) and e.text == "(VI_1) Entering BACKUP STATE"]
    assert len(forced) == 1 and yielded[-1] - forced[0] == lan.latency_ns


def test_frozen_master_is_replaced_and_yields_when_thawed() -> None:
    lan = SimulatedLan()
    a = add(lan, "A", priority=150, version=3, advert_int=seconds("0.1"))
    b = add(lan, "B", priority=100, version=3, advert_int=seconds("0.1"))
    lan.start()
    lan.run_for(seconds(1))
    assert lan.masters("VI_1") == ["A"]
    frozen_at = lan.now
    lan.freeze("A")
    lan.run_for(seconds(1))
    took_over = next(t for t, e in b.sent() if t > frozen_at)
    assert took_over - frozen_at <= 361_000_000, "0.3 s + skew 0.061 s, as measured with keepalived"
    lan.thaw("A")
    lan.run_for(seconds("0.3"))
    assert lan.masters("VI_1") == ["A"]
    assert any(isinstance(e, SendAdvert) for _, e in a.effects)


def runbook_node(name: str, **kw: object) -> VrrpNode:
    """The runbook's keepalived-node1/2.conf: VRID 51, advert 1 s, PASS 1111, VIP 10.30.31.171 dev eth1."""
    settings_ = InstanceSettings(
        name="VI_1",
        virtual_router_id=51,
        interface="eth1",
        advert_int=seconds(1),
        auth_type=1,  # type: ignore[arg-type]
        auth_pass=b"1111",
        vips=(VirtualIp.of("10.30.31.171", device="eth1"),),
        **kw,  # type: ignore[arg-type]
    )
    return VrrpNode([settings_], interface_addresses={"eth1": [RUNBOOK[name]]})


RUNBOOK = {"node1": IPv4Address("10.30.31.169"), "node2": IPv4Address("10.30.31.170")}
RUNBOOK_VIP = IPv4Address("10.30.31.171")


def test_runbook_pair_fails_over_on_kill_and_nopreempt_keeps_the_vip() -> None:
    """node1: BACKUP prio 100 nopreempt; node2: MASTER prio 90. node1 wins the start-up election;
    kill -9 of node1 (no priority 0) moves the VIP to node2 after its MDI; node1 comes back and,
    with nopreempt, stays BACKUP although its priority is higher."""
    lan = SimulatedLan()
    lan.add_host("node1", runbook_node("node1", priority=100, nopreempt=True), "eth1", RUNBOOK["node1"])
    lan.add_host("node2", runbook_node("node2", priority=90, state="MASTER"), "eth1", RUNBOOK["node2"])
    lan.start()
    lan.run_for(seconds(10))
    assert lan.holders(RUNBOOK_VIP) == ["node1"]
    killed_at = lan.now
    # kill -9: no priority 0; the next daemon starts from scratch (its VIPs are cleaned up by it)
    lan["node1"].node = runbook_node("node1", priority=100, nopreempt=True)
    lan["node1"].vips.clear()
    lan.run_for(seconds(5))
    assert lan.masters("VI_1") == ["node2"] and lan.holders(RUNBOOK_VIP) == ["node2"]
    took_over = next(t for t, e in lan["node2"].sent() if t > killed_at and e.priority == 90)
    assert took_over - killed_at <= 3_648_437_000 + seconds(1), "at most one advert interval + MDI(90)"
    lan.start("node1")  # the restarted daemon
    lan.run_for(seconds(20))
    assert lan.masters("VI_1") == ["node2"] and lan.holders(RUNBOOK_VIP) == ["node2"]
    assert not [line for line in lan["node1"].logs() if "Invalid" in line or "auth" in line]
