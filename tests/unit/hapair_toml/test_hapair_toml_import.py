"""`hapair config import`: the runbook's setup becomes a group; the notify scripts' intent is read."""

from __future__ import annotations

import tomllib

import pytest
from hapair_toml_support import check, messages, runbook

from hapair.config.drbd import MemoryReader
from hapair.config.hapair_toml import Level, parse_hapair_toml
from hapair.config.hapair_toml.importer import ImportResult, import_setup, toml_string
from hapair.config.hapair_toml.scripts import read_intent
from hapair.config.keepalived import InMemorySources
from hapair.errors import ConfigErrors

SRV = "/srv/runbook"


def import_runbook(
    keepalived: str = "keepalived-with-notify.conf",
    scripts: dict[str, str] | None = None,
    node: str | None = None,
) -> ImportResult:
    files = {
        f"{SRV}/global_common.conf": runbook("global_common.conf"),
        f"{SRV}/r0.res": runbook("r0.res"),
    }
    script_files = (
        {
            f"{SRV}/drbd_master.sh": runbook("drbd_master.sh"),
            f"{SRV}/drbd_backup.sh": runbook("drbd_backup.sh"),
        }
        if scripts is None
        else scripts
    )

    def read_script(path: str) -> str:
        if path in script_files:
            return script_files[path]
        raise FileNotFoundError(2, "No such file or directory", path)

    return import_setup(
        f"{SRV}/keepalived.conf",
        [f"{SRV}/global_common.conf", f"{SRV}/r0.res"],
        InMemorySources({f"{SRV}/keepalived.conf": runbook(keepalived)}),
        MemoryReader(files),
        read_script,
        node=node,
    )


def test_the_runbook_becomes_one_group_with_the_scripts_intent() -> None:
    result = import_runbook()
    config, warnings = parse_hapair_toml(result.toml, "/etc/hapair/hapair.toml")
    assert warnings == []
    assert config.keepalived == f"{SRV}/keepalived.conf"
    assert config.drbd == (f"{SRV}/global_common.conf", f"{SRV}/r0.res")
    [group] = config.groups
    assert (group.name, group.vrrp_instance, group.resource) == ("r0", "VI_1", "r0")
    assert (group.device, group.mount_point, group.fstype) == ("/dev/drbd0", "/drbd-fs", None)
    assert group.keepalived_notify is False
    assert config.node is None and config.witness is None
    notes = "\n".join(result.notes)
    for said in (
        "VI_1: /usr/local/sbin/drbd_master.sh read from /srv/runbook/drbd_master.sh",
        "VI_1: resource r0 (from `drbdadm primary r0`)",
        "VI_1: mount point /drbd-fs (from `mount /dev/drbd0 /drbd-fs`)",
        "VI_1: drbd_backup.sh:2: `umount -f` is not copied",
        "VI_1: drbd_backup.sh:3: rmdir /drbd-fs is not copied: hapair never removes the mount point",
        "VI_1: the scripts give no filesystem type",
        "no witness in this setup",
    ):
        assert said in notes
    assert "#   notify_master /usr/local/sbin/drbd_master.sh" in result.toml


def test_the_imported_file_checks_clean_against_the_same_files_on_each_node() -> None:
    result = import_runbook(node="NODE2")
    files = {
        f"{SRV}/keepalived.conf": runbook("keepalived-with-notify.conf"),
        f"{SRV}/global_common.conf": runbook("global_common.conf"),
        f"{SRV}/r0.res": runbook("r0.res"),
    }
    checked = check(result.toml, files=files, node="elsewhere")
    assert checked.ok, messages(checked)
    assert checked.node == "NODE2"
    assert not any("will run after" in w for w in messages(checked, Level.WARNING))


def test_unreadable_scripts_are_said_and_the_only_resource_is_used() -> None:
    result = import_runbook(scripts={})
    notes = "\n".join(result.notes)
    assert "notify_master /usr/local/sbin/drbd_master.sh could not be read" in notes
    assert "resource r0 (the only one in the DRBD files)" in notes
    [group] = parse_hapair_toml(result.toml, "x.toml")[0].groups
    assert (group.resource, group.device, group.mount_point) == ("r0", "/dev/drbd0", None)


def test_a_setup_without_notify_scripts_still_gets_a_group() -> None:
    result = import_runbook(keepalived="keepalived-node1.conf")
    [group] = parse_hapair_toml(result.toml, "x.toml")[0].groups
    assert group.keepalived_notify is True and group.device == "/dev/drbd0"


def test_unreadable_configuration_is_an_error() -> None:
    with pytest.raises(ConfigErrors):
        import_setup("/nope.conf", [], InMemorySources({}), MemoryReader({}), lambda p: "")


def test_script_intent() -> None:
    text = """#!/bin/sh
set -e
sudo drbdadm primary --force r1 && mount -t ext4 -o noatime,ro /dev/drbd1 /srv/data
systemctl start nginx; logger done
umount -l /srv/data
"""
    intent = read_intent(text, "x.sh")
    assert intent.promotes == ["r1"]
    assert intent.mounts == [("/dev/drbd1", "/srv/data", "ext4", ("noatime", "ro"))]
    assert intent.services_started == ["nginx.service"]
    assert intent.unmounts == ["/srv/data"]
    assert intent.not_understood == ["x.sh:2: set -e", "x.sh:4: logger done"]
    assert any("--force` is not carried over" in n for n in intent.notes)
    assert any("never forces or detaches" in n for n in intent.notes)


@pytest.mark.parametrize("text", ["plain", 'quote " and \\ backslash', "tab\tand\nnewline", "ünïcode"])
def test_toml_strings_read_back(text: str) -> None:
    assert tomllib.loads(f"v = {toml_string(text)}")["v"] == text
