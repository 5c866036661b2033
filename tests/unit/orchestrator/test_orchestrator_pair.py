"""Two nodes and a witness, in process: the real VRRP, orchestrator and witness cores over a fake clock.

The scenarios follow the fault matrix (research/reliability.md): the master dies; only the replication
link breaks; the Primary is isolated with the witness on the other side, then the partition heals; the
survivor's disk cannot be promoted. Every event is checked by the world (at most one node accepts
writes; a VIP holder has its whole stack up), and each scenario ends with a converged pair.
"""

from __future__ import annotations

from pair_world import MS, PairWorld, S

from hapair.core import orchestrator as orch


def started_pair(**kw: object) -> PairWorld:
    world = PairWorld(**kw)  # type: ignore[arg-type]
    world.start()
    world.run_for(5 * S)
    return world


def test_the_pair_starts_with_the_service_and_vip_on_the_higher_priority_node() -> None:
    world = started_pair()
    assert world.node1.group.state is orch.GroupState.STARTED
    assert world.node2.group.state is orch.GroupState.STOPPED
    assert world.vip_holders() == ["node1"]
    assert world.node1.volume.role is orch.VolumeRole.PRIMARY
    assert world.node2.volume.role is orch.VolumeRole.SECONDARY
    assert world.writes and all(name == "node1" for _, name in world.writes)
    assert (world.node1.hooks[-1][1], world.node2.hooks[-1][1]) == (
        orch.VrrpRole.MASTER,
        orch.VrrpRole.BACKUP,
    )
    assert world.violations == []


def test_when_the_master_dies_the_other_node_takes_over_with_the_witness_vote() -> None:
    world = started_pair()
    crash_at = world.now
    world.crash("node1")
    world.run_for(5 * S)
    assert world.vip_holders() == ["node2"]
    assert world.node2.group.state is orch.GroupState.STARTED
    started = next(t for t, state, _ in world.states("node2") if state is orch.GroupState.STARTED)
    first_write = next(t for t, name in world.writes if name == "node2")
    # detection (3 adverts of 0.1 s + skew) + standby delay 0.3 s + witness round trip + 6 steps
    assert started - crash_at < 1500 * MS, (started - crash_at) / S
    assert first_write - crash_at < 1600 * MS
    cause = next(c for _, state, c in world.states("node2") if state is orch.GroupState.STARTING)
    assert cause == "VRRP VI_1 is MASTER and the peer is unreachable and this node holds the witness's vote"
    assert world.violations == []


def test_a_cut_replication_link_leaves_the_service_where_it_is() -> None:
    world = started_pair()
    world.cut_link("node1", "replication")
    world.run_for(5 * S)
    assert world.vip_holders() == ["node1"]
    assert world.node1.group.state is orch.GroupState.STARTED
    assert world.node2.volume.role is orch.VolumeRole.SECONDARY
    suspends = [e for _, e in world.node1.journal if isinstance(e, orch.SuspendIo)]
    resumes = [e for _, e in world.node1.journal if isinstance(e, orch.ResumeIo)]
    assert len(suspends) == 1 and len(resumes) == 1, "frozen only until the vote came back"
    last = world.last_write("node1")
    assert last is not None and world.now - last <= 100 * MS, "node1 still accepts writes"
    assert world.violations == []


def test_an_isolated_primary_stops_writing_and_the_other_side_takes_over_then_the_pair_converges() -> None:
    world = started_pair()
    cut_at = world.now
    world.cut_link("node1", "vrrp", "replication", "witness")
    world.run_for(5 * S)
    # node1: no peer, no vote: its writes are held at once, and it steps out of VRRP after the grace
    last_node1 = world.last_write("node1")
    assert last_node1 is not None and last_node1 < cut_at + 100 * MS
    assert world.node2.group.state is orch.GroupState.STARTED
    assert world.node2.volume.writable() and not world.node1.volume.writable()
    after_cut = [(state, cause) for t, state, cause in world.states("node1") if t > cut_at]
    assert after_cut[0] == (orch.GroupState.STOPPING, "VRRP VI_1 is FAULT")
    assert orch.GroupState.STARTED not in [state for state, _ in after_cut]
    # Alone, it is VRRP master again, but at priority 1 and unable to promote without the vote.
    assert world.node1.group.state is orch.GroupState.WAITING
    assert world.node1.vrrp.instance("VI_1").effective_priority == 1
    assert world.node1.volume.role is orch.VolumeRole.SECONDARY
    world.heal("node1", "vrrp", "replication", "witness")
    world.run_for(10 * S)
    assert world.vip_holders() == ["node2"]
    assert world.node2.group.state is orch.GroupState.STARTED
    assert world.node1.volume.role is orch.VolumeRole.SECONDARY
    assert world.node1.volume.disk is orch.DiskState.UP_TO_DATE, "resynced from node2"
    assert world.node1.volume.generation == world.node2.volume.generation
    assert world.violations == []


def test_a_survivor_whose_disk_is_not_up_to_date_never_takes_the_vip() -> None:
    world = started_pair()
    world.node2.volume.disk = orch.DiskState.INCONSISTENT
    world.node2.volume.resync_until = world.now + 3600 * S
    world.crash("node1")  # also reports the volume change on node2
    world.run_for(10 * S)
    assert world.vip_holders() == []
    assert world.node2.vrrp.instance("VI_1").state.name == "FAULT"
    refused = [e for _, e in world.node2.journal if isinstance(e, orch.PromotionRefused)]
    assert all(e.reason is orch.GateReason.DISK_NOT_UP_TO_DATE for e in refused)
    assert world.node2.volume.role is orch.VolumeRole.SECONDARY
    assert world.violations == []


def test_without_a_witness_the_isolated_nodes_both_promote_and_the_status_says_so() -> None:
    """The configuration DRBD calls fencing dont-care: availability over safety, said out loud."""
    world = started_pair(witness=False)
    assert world.node1.group.status(world.now).split_brain_possible
    world.cut_link("node1", "vrrp", "replication")
    world.run_for(5 * S)
    assert world.node1.volume.writable() and world.node2.volume.writable()
    assert any("two writable Primaries" in v for v in world.violations), "the checker sees it"


def test_when_vrrp_heals_before_replication_the_stale_node_does_not_take_the_vip_back() -> None:
    """VRRP adverts flow again at once; the replication link reconnects seconds later. The isolated
    node (higher configured priority, stale data) must not displace the working master meanwhile."""
    world = started_pair()
    world.cut_link("node1", "vrrp", "replication", "witness")
    world.run_for(5 * S)
    took_over = next(t for t, state, _ in world.states("node2") if state is orch.GroupState.STARTED)
    world.heal("node1", "vrrp", "witness")
    world.run_for(3 * S)
    assert world.vip_holders() == ["node2"]
    assert world.node1.vrrp.instance("VI_1").state.name == "BACKUP"
    world.heal("node1", "replication")
    world.run_for(5 * S)
    node2_changes = [state for t, state, _ in world.states("node2") if t > took_over]
    assert node2_changes == [], "node2 kept the service the whole time"
    assert world.vip_holders() == ["node2"]
    assert world.node1.volume.disk is orch.DiskState.UP_TO_DATE
    assert world.node1.vrrp.instance("VI_1").effective_priority == 100, "reconnected: full priority again"
    assert world.violations == []
