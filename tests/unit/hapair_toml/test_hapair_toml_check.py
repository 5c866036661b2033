"""hapair.toml with what it refers to: cross-references, unsafe combinations, advice, native tables."""

from __future__ import annotations

import pytest
from hapair_toml_support import ETC, SOURCES, TOML_PATH, check, messages, runbook, runbook_files

from hapair.config.hapair_toml import Level
from hapair.core.orchestrator import FencingPolicy
from hapair.core.vrrp import TrackedCondition

GROUP = """\
[[group]]
name = "r0"
vrrp_instance = "VI_1"
fstype = "xfs"
mount_point = "/drbd-fs"
"""


def test_the_runbook_setup_checks_clean_on_both_nodes() -> None:
    for node in ("NODE1", "NODE2"):
        checked = check(SOURCES + GROUP, node=node)
        assert checked.ok, messages(checked)
        [group] = checked.groups
        assert group.settings.device == "/dev/drbd0", "the resource's device on this node"
        assert group.settings.fencing is FencingPolicy.DONT_CARE and not group.settings.witness
        assert group.resource.node_name == node


def test_the_daemon_gets_vrrp_settings_tracking_the_group() -> None:
    [group] = check(SOURCES + GROUP).groups
    settings = group.vrrp_instance_settings()
    assert settings.name == "VI_1" and settings.nopreempt
    assert settings.track_conditions == (
        TrackedCondition("hapair-r0", 0),
        TrackedCondition("hapair-r0-apart", -253),
    )


def test_without_a_witness_the_check_says_split_brain_is_possible() -> None:
    warnings = messages(check(SOURCES + GROUP), Level.WARNING)
    assert warnings == [
        f"{TOML_PATH}:4: warning: group r0: no [witness] and fencing dont-care: a node that loses its peer "
        "promotes on its own, so split brain is possible"
    ]
    witness = '[witness]\naddress = "10.30.31.172"\nsecret = "sixteen bytes!!!"\n'
    assert messages(check(SOURCES + witness + GROUP), Level.WARNING) == []


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('vrrp_instance = "VI_9"\n', "VRRP instance 'VI_9' is not configured (there is VI_1)"),
        ('resource = "r9"\n', "resource 'r9' is not configured (there is r0)"),
        ('device = "/dev/drbd1"\n', "/dev/drbd1 is not a device of resource r0 on NODE1 (it has /dev/drbd0)"),
        ('vips = ["10.30.31.172"]\n', "VIP 10.30.31.172 is not in VRRP instance VI_1 (it has 10.30.31.171)"),
        ('vips = ["not-an-ip"]\n', "'not-an-ip' is not an IP address"),
        ('fsck = true\nfstype = "xfs"\n', None),
    ],
)
def test_cross_references_are_checked_at_the_group_s_line(extra: str, expected: str | None) -> None:
    group = (
        '[[group]]\nname = "r0"\n'
        + extra
        + ('vrrp_instance = "VI_1"\n' if "vrrp_instance" not in extra else "")
    )
    errors = messages(check(SOURCES + group))
    if expected is None:
        assert errors == []
        return
    [error] = errors
    assert error == f"{TOML_PATH}:6: group r0: {expected}"


def test_a_node_without_a_host_section_is_told_to_say_its_name() -> None:
    [error] = messages(check(SOURCES + GROUP, node="web3"))
    assert error == (
        f"{TOML_PATH}:4: group r0: resource r0 has no host section for this node "
        "(web3; it has NODE1, NODE2): set [node] name"
    )
    assert check('[node]\nname = "NODE2"\n' + SOURCES + GROUP, node="web3").ok


def test_two_primaries_under_a_filesystem_that_is_not_cluster_aware_is_refused() -> None:
    files = runbook_files()
    files[f"{ETC}/global_common.conf"] = "common { net { protocol C; allow-two-primaries yes; } }\n"
    [error] = messages(check(SOURCES + GROUP, files=files))
    assert error.startswith(
        f"{TOML_PATH}:7: group r0: resource r0 allows two primaries, but xfs is not cluster-aware"
    )
    assert check(SOURCES + GROUP.replace('"xfs"', '"gfs2"'), files=files).ok


def test_settings_the_orchestrator_refuses_are_placed_at_their_key() -> None:
    [error] = messages(check(SOURCES + GROUP.replace('"/drbd-fs"', '"drbd-fs"')))
    assert error == f"{TOML_PATH}:8: group r0: mount_point: 'drbd-fs' must be an absolute path other than /"
    [error] = messages(check(SOURCES + GROUP + 'service = { start = "/bin/app" }\n'))
    assert error == f"{TOML_PATH}:9: group r0: service: start needs a stop command"


def test_fencing_and_the_witness_reach_the_group_settings() -> None:
    files = runbook_files()
    files[f"{ETC}/global_common.conf"] = "common { net { protocol C; fencing resource-and-stonith; } }\n"
    witness = '[witness]\naddress = "10.30.31.172"\nsecret_file = "/etc/hapair/witness.secret"\n'
    [group] = check(SOURCES + witness + GROUP, files=files).groups
    assert group.settings.fencing is FencingPolicy.RESOURCE_AND_STONITH and group.settings.witness


def test_advice_for_the_runbook_s_notify_configuration() -> None:
    files = runbook_files()
    files[f"{ETC}/keepalived.conf"] = runbook("keepalived-with-notify.conf")
    checked = check(SOURCES + GROUP, files=files)
    assert checked.ok
    warnings = messages(checked, Level.WARNING)
    assert any("VI_1 preempts" in w for w in warnings)
    assert any(
        "notify_master, notify_backup, notify_fault of VI_1 will run after the built-in steps" in w
        for w in warnings
    )
    quiet = check(SOURCES + GROUP + "keepalived_notify = false\n", files=files)
    assert not any("will run after" in w for w in messages(quiet, Level.WARNING))


def test_keepalived_and_drbd_errors_come_through_with_their_own_files() -> None:
    files = runbook_files()
    files[f"{ETC}/keepalived.conf"] = files[f"{ETC}/keepalived.conf"].replace("priority 100", "priority 300")
    files[f"{ETC}/r0.res"] = files[f"{ETC}/r0.res"].replace("device /dev/drbd0;", "device;", 1)
    errors = messages(check(SOURCES + GROUP, files=files))
    assert (
        f"{ETC}/keepalived.conf:6: (VI_1) Priority not valid! must be between 1 & 255. Using default 100"
        in errors
    )
    assert any(e.startswith(f"{ETC}/r0.res:") for e in errors), errors


def test_missing_sources_are_errors_when_there_are_groups() -> None:
    errors = messages(check(GROUP))
    assert errors == [
        f"{TOML_PATH}:1: no keepalived configuration: set sources.keepalived or write "
        "[vrrp_instance.NAME] tables",
        f"{TOML_PATH}:1: no DRBD configuration: set sources.drbd or write [resource.NAME] tables",
    ]
    assert messages(check("")) == []
    [unreadable] = messages(check(SOURCES + GROUP, files={}))[:1]
    assert "keepalived.conf" in unreadable


NATIVE = """\
[node]
name = "NODE1"

[vrrp_instance.VI_1]
state = "BACKUP"
interface = "eth1"
virtual_router_id = 51
priority = 100
advert_int = 1
nopreempt = true
authentication = { auth_type = "PASS", auth_pass = "1111" }
virtual_ipaddress = ["10.30.31.171 dev eth1"]
notify_master = "/usr/local/bin/tell master"

[resource.r0.net]
protocol = "C"
cram-hmac-alg = "sha1"
shared-secret = "sync_disk"

[resource.r0.on.NODE1]
device = "/dev/drbd0"
disk = "/dev/vg/lv1"
address = "10.30.31.168:7788"
meta-disk = "internal"

[resource.r0.on.NODE2]
device = "/dev/drbd0"
disk = "/dev/vg/lv2"
address = "10.30.31.170:7788"
meta-disk = "internal"

[[group]]
name = "r0"
vrrp_instance = "VI_1"
mount_point = "/drbd-fs"
"""


def test_the_same_said_natively() -> None:
    checked = check(NATIVE, files={})
    assert checked.ok, messages(checked)
    [group] = checked.groups
    settings = group.vrrp_instance_settings()
    assert (settings.priority, settings.auth_pass, settings.notify_master) == (
        100,
        b"1111",
        "/usr/local/bin/tell master",
    )
    assert [str(v.address) for v in settings.vips] == ["10.30.31.171/32"]
    assert group.resource.peer.address.host == "10.30.31.170"
    assert group.settings.device == "/dev/drbd0"


def test_native_mistakes_are_placed_at_the_toml_line() -> None:
    bad = NATIVE.replace("priority = 100", "priority = 300").replace('protocol = "C"', 'protocol = "Z"')
    errors = messages(check(bad, files={}))
    assert any(e.startswith(f"{TOML_PATH}:8: ") and "priority" in e.lower() for e in errors), errors
    assert any(e.startswith(f"{TOML_PATH}:16: ") for e in errors), errors
