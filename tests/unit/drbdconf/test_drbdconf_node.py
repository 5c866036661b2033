"""The per-node view: host selection as drbdadm does it, and typed values in DRBD's units."""

from __future__ import annotations

from pathlib import Path

import pytest

from hapair.adapters.drbd_files import LocalFileReader
from hapair.config.drbd import (
    Address,
    AfterSb0Pri,
    AfterSb1Pri,
    AfterSb2Pri,
    DrbdConfig,
    Fencing,
    MetaDisk,
    MetaDiskKind,
    OnIoError,
    OnNoDataAccessible,
    OnNoQuorum,
    Protocol,
    QuorumKeyword,
    RrConflict,
    dump_config,
    hostnames_equal,
    load_resources,
    parse_config_text,
)
from hapair.config.drbd.node import build_node_view
from hapair.errors import ConfigError, ConfigErrors

DATA = Path(__file__).resolve().parents[2] / "data" / "drbd"
VOLUME = "device /dev/drbd1; disk /dev/sdb1; meta-disk internal;"


def corpus(path: str, hostname: str | None = None) -> DrbdConfig:
    return load_resources(str(DATA / path), LocalFileReader(), hostname)


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("node1", "NODE1", True),
        ("node1", "node1.example.com", True),
        ("node1.example.com", "NODE1.EXAMPLE.COM", True),
        ("node1.a.com", "node1.b.com", False),
        ("node1", "node10", False),
        ("node", "node1.example.com", False),
    ],
)
def test_hostnames_compare_like_drbdadm(a: str, b: str, equal: bool) -> None:
    assert hostnames_equal(a, b) is equal
    assert hostnames_equal(b, a) is equal


def test_this_node_is_chosen_by_hostname() -> None:
    config = corpus("runbook/drbd.conf", hostname="node1.lab")
    view = config.node("r0")
    assert (view.node_name, view.node_id) == ("NODE1", 1)
    assert view.peer.name == "NODE2" and view.peer.node_id == 0
    assert view.volume(0).disk == "/dev/mapper/drbd1-drbd1lv"
    assert config.node("r0", "NODE2").volume(0).disk == "/dev/mapper/drbd2-drbd2lv"
    assert not config.is_ignored("r0")


def test_a_resource_without_this_node_is_ignored_not_an_error() -> None:
    config = corpus("runbook/drbd.conf", hostname="elsewhere")
    assert config.is_ignored("r0") and config.nodes() == []
    with pytest.raises(ConfigError, match="'r0' not defined in your config"):
        config.node("r0")


def test_two_host_sections_for_one_node_are_refused() -> None:
    hosts = "on a { address 10.0.0.1:1; }\non A.example.com { address 10.0.0.2:1; }"
    text = f"resource r {{ {VOLUME} {hosts} }}"
    with pytest.raises(ConfigErrors, match="There are multiple host sections for this node"):
        parse_config_text(text, "t.conf", hostname="a")


def test_floating_sections_match_a_local_address() -> None:
    hosts = "floating 10.9.0.1:7740 { node-id 0; } floating 10.9.0.2:7740 { node-id 1; }"
    text = f"resource r {{ {VOLUME} {hosts} }}"
    from hapair.config.drbd import MemoryReader

    config = load_resources("t.conf", MemoryReader({"t.conf": text}), "box", local_addresses=["10.9.0.2"])
    view = config.node("r")
    assert view.node_id == 1 and view.address == Address("ipv4", "10.9.0.2", 7740)
    assert view.peer.address == Address("ipv4", "10.9.0.1", 7740)


def test_runbook_values_in_drbd_units() -> None:
    view = corpus("runbook/drbd.conf").node("r0", "NODE1")
    net = view.peer.net
    assert (net.protocol, net.cram_hmac_alg, net.shared_secret) == (Protocol.C, "sha1", "sync_disk")
    assert (net.timeout, net.ping_int, net.ping_timeout, net.connect_int, net.ko_count) == (60, 10, 5, 10, 7)
    assert (net.timeout_ns, net.ping_int_ns, net.ping_timeout_ns) == (
        6_000_000_000,
        10_000_000_000,
        500_000_000,
    )
    assert net.ko_timeout_ns == 42_000_000_000
    resync = view.peer.volume(0)
    assert resync.resync_rate == 102400 and resync.resync_rate_bytes == 100 * 1024 * 1024  # rate 100M
    assert (resync.c_plan_ahead, resync.c_fill_target, resync.c_max_rate, resync.c_min_rate) == (
        20,
        100,
        102400,
        250,
    )
    disk = view.volume(0).options
    assert (disk.al_extents, disk.on_io_error, disk.disk_flushes, disk.md_flushes) == (
        257,
        OnIoError.DETACH,
        True,
        True,
    )
    assert view.volume(0).meta_disk == MetaDisk(MetaDiskKind.INTERNAL)
    assert (view.startup.wfc_timeout, view.startup.degr_wfc_timeout) == (30, 30)
    assert view.options.on_no_data_accessible is OnNoDataAccessible.IO_ERROR
    assert view.peer.paths == (
        (Address("ipv4", "10.30.31.168", 7788), Address("ipv4", "10.30.31.170", 7788)),
    )
    assert str(view.peer.local_address.ip) == "10.30.31.168" and view.peer.address.port == 7788


def test_units_file_values() -> None:
    view = corpus("good/units.conf").node("units", "left")
    net = view.peer.net
    assert (net.sndbuf_size, net.rcvbuf_size, net.max_buffers) == (512 * 1024, 2 * 1024 * 1024, 8192)
    assert net.congestion_fill == 2 * 1024 * 1024  # 1G in sectors
    assert (net.ping_timeout, net.ko_count) == (10, 0)
    pd = view.peer.volume(0)
    assert (pd.resync_rate, pd.c_fill_target, pd.c_max_rate, pd.c_min_rate) == (40960, 2048, 1048576, 2048)
    assert view.volume(0).options.rs_discard_granularity == 65536


def test_three_node_connections_and_per_connection_resync() -> None:
    view = corpus("good/example-three-nodes.conf").node("drbd_9_two_connection", "alpha")
    bravo, charlie = view.peers
    assert (bravo.name, bravo.net.protocol, bravo.net.ko_count) == ("bravo", Protocol.C, 3)
    assert (charlie.name, charlie.net.protocol) == ("charlie", Protocol.A)
    assert charlie.local_address == Address("ipv4", "192.168.31.1", 7801)
    assert charlie.address == Address("ipv4", "192.168.31.3", 7801)
    assert bravo.volume(0).resync_rate == 250
    pd = charlie.volume(0)
    assert (pd.resync_rate, pd.c_min_rate, pd.c_max_rate, pd.c_fill_target) == (10240, 10, 102400, 100)
    with pytest.raises(ConfigError, match="hapair runs two-node resources"):
        _ = view.peer


def test_split_brain_policies_and_discard_node() -> None:
    config = corpus("good/dual-primary.conf")
    d1, d2 = config.node("dual", "d1").peer.net, config.node("dual", "d2").peer.net
    assert d1.after_sb_0pri is AfterSb0Pri.DISCARD_LOCAL and d2.after_sb_0pri is AfterSb0Pri.DISCARD_REMOTE
    assert (d1.after_sb_1pri, d1.after_sb_2pri, d1.rr_conflict) == (
        AfterSb1Pri.CONSENSUS,
        AfterSb2Pri.CALL_PRI_LOST_AFTER_SB,
        RrConflict.CALL_PRI_LOST,
    )
    assert d1.allow_two_primaries and d1.always_asbp
    startup = config.node("dual", "d1").startup
    assert startup.become_primary_on == ("both",) and startup.wait_after_sb


def test_legacy_syncer_values_and_resync_after_minor() -> None:
    view = corpus("good/legacy-syncer.conf").node("legacy", "left")
    assert view.volume(0).options.resync_after == 30  # `after base`: base's minor
    assert view.peer.net.fencing is Fencing.RESOURCE_AND_STONITH
    assert (view.peer.net.verify_alg, view.peer.net.csums_alg, view.peer.net.protocol) == (
        "md5",
        "crc32c",
        Protocol.B,
    )
    assert view.peer.volume(0).c_plan_ahead == 0 and view.peer.volume(0).resync_rate == 33 * 1024
    assert view.options.cpu_mask == "3"
    assert view.handlers.fence_peer == "/usr/lib/heartbeat/drbd-peer-outdater -t 5"
    assert view.handlers.command("local-io-error") is not None


def test_quorum_options_and_diskless_peer() -> None:
    config = corpus("good/example-mesh-diskless.conf")
    options = config.node("drbd_9_mesh", "alpha").options
    assert (options.quorum, options.on_no_quorum, options.quorum_minimum_redundancy) == (
        QuorumKeyword.MAJORITY,
        OnNoQuorum.IO_ERROR,
        QuorumKeyword.OFF,
    )
    fat = config.node("dless", "fat-tyre")
    assert fat.peer.volume(0).bitmap is False  # no bitmap towards a diskless peer
    other = config.node("dless", "other")
    assert other.volume(0).disk is None and other.volume(0).meta_disk is None
    assert other.peer.volume(0).bitmap is True


def test_defaults_when_nothing_is_written() -> None:
    view = parse_config_text(
        f"resource r {{ {VOLUME} on a {{ address 10.0.0.1:1; }} on b {{ address 10.0.0.2:1; }} }}"
    ).node("r", "a")
    net, pd, disk, options = view.peer.net, view.peer.volume(0), view.volume(0).options, view.options
    assert (net.protocol, net.after_sb_0pri, net.fencing, net.max_buffers, net.cram_hmac_alg) == (
        Protocol.C,
        AfterSb0Pri.DISCONNECT,
        Fencing.DONT_CARE,
        2048,
        None,
    )
    assert (pd.resync_rate, pd.c_plan_ahead, pd.c_max_rate) == (250, 20, 102400)
    assert (disk.al_extents, disk.on_io_error, disk.resync_after, disk.size) == (
        1237,
        OnIoError.DETACH,
        -1,
        0,
    )
    assert (options.auto_promote, options.quorum, options.max_io_depth) == (True, QuorumKeyword.OFF, 8000)
    assert view.handlers.split_brain is None and view.startup.wfc_timeout == 0


STACKED = """
resource lower {
  device /dev/drbd0; disk /dev/sda1; meta-disk internal;
  on alice { address 10.0.0.1:7788; }
  on bob { address 10.0.0.2:7788; }
}
resource upper {
  net { protocol A; }
  stacked-on-top-of lower {
    device /dev/drbd10;
    address 192.168.1.10:7789;
  }
  on charlie {
    device /dev/drbd10; disk /dev/sdb1; meta-disk internal;
    address 192.168.1.20:7789;
  }
}
"""


def test_stacked_resources_parse_but_a_node_view_refuses_them() -> None:
    config = parse_config_text(STACKED, "s.conf")
    upper = config.resource("upper")
    assert [(h.kind.value, h.name, h.node_id) for h in upper.hosts] == [
        ("stacked-on-top-of", "lower", 0),
        ("on", "charlie", 1),
    ]  # node ids as drbdadm 9.22 derives them for this file
    assert "    stacked-on-top-of lower {\n        # on alice bob \n        node-id 0;\n" in dump_config(
        config
    )
    stacked = upper.hosts[0]
    with pytest.raises(ConfigError, match="stacked resources"):
        build_node_view(upper, stacked, {})
    with pytest.raises(ConfigErrors, match="referenced resource 'nowhere' not defined"):
        parse_config_text(STACKED.replace("stacked-on-top-of lower", "stacked-on-top-of nowhere"), "s.conf")
