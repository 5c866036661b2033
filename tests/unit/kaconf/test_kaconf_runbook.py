"""The runbook's three keepalived.conf files load as they are (Korean comments, stray tabs)."""

from __future__ import annotations

import ipaddress

import pytest
from kaconf_support import DATA

from hapair.adapters.config_files import FileSystemSources
from hapair.config.keepalived import (
    AddressFamily,
    Authentication,
    AuthType,
    InitialState,
    KeepalivedConfig,
    NotifyScript,
    VrrpInstance,
    check_config,
    config_test_exit_code,
    format_diagnostics,
)
from hapair.errors import SourceLocation


def load(name: str) -> KeepalivedConfig:
    config, diagnostics = check_config(str(DATA / name), FileSystemSources())
    assert format_diagnostics(diagnostics) == ""
    assert config_test_exit_code(diagnostics) == 0
    assert config is not None
    return config


def only_instance(config: KeepalivedConfig) -> VrrpInstance:
    assert [i.name for i in config.instances] == ["VI_1"]
    return config.instances[0]


@pytest.mark.parametrize(
    "name", ["keepalived-node1.conf", "keepalived-node2.conf", "keepalived-with-notify.conf"]
)
def test_the_shared_vip_is_the_same_in_every_file(name: str) -> None:
    instance = only_instance(load(name))
    assert instance.interface == "eth1"
    assert instance.virtual_router_id == 51
    assert instance.advert_int_us == 1_000_000
    assert instance.version == 2
    assert instance.family is AddressFamily.IPV4
    assert instance.authentication == Authentication(AuthType.PASS, b"1111")
    [vip] = instance.virtual_addresses
    assert vip.address == ipaddress.ip_interface("10.30.31.171/32")
    assert vip.device == "eth1"
    assert vip.scope == "global"
    assert vip.describe() == "10.30.31.171 dev eth1 scope global"


def test_node1_is_a_nopreempt_backup_with_priority_100() -> None:
    instance = only_instance(load("keepalived-node1.conf"))
    assert instance.initial_state is InitialState.BACKUP
    assert instance.priority == 100
    assert instance.nopreempt is True
    assert instance.location == SourceLocation(str(DATA / "keepalived-node1.conf"), 1)


def test_node2_starts_as_master_with_priority_90_and_preempts() -> None:
    instance = only_instance(load("keepalived-node2.conf"))
    assert instance.initial_state is InitialState.MASTER
    assert instance.priority == 90
    assert instance.nopreempt is False


def test_notify_scripts_of_the_runbook() -> None:
    instance = only_instance(load("keepalived-with-notify.conf"))
    assert instance.initial_state is InitialState.MASTER
    assert instance.priority == 100
    assert instance.notify_master is not None
    assert instance.notify_master.argv == ("/usr/local/sbin/drbd_master.sh",)
    assert instance.notify_backup == NotifyScript(
        ("/usr/local/sbin/drbd_backup.sh",),
        None,
        None,
        SourceLocation(str(DATA / "keepalived-with-notify.conf"), 15),
    )
    assert instance.notify_fault is not None
    assert instance.notify_fault.argv == ("/usr/local/sbin/drbd_backup.sh",)
    assert instance.notify is None and instance.notify_stop is None


def test_runbook_defaults_are_keepalived_defaults() -> None:
    config = load("keepalived-node1.conf")
    instance = only_instance(config)
    assert config.global_defs.router_id is None
    assert (instance.garp_master_delay_s, instance.garp_master_repeat) == (5, 5)
    assert (instance.garp_master_refresh_s, instance.garp_master_refresh_repeat) == (0, 1)
    assert (instance.garp_lower_prio_delay_s, instance.garp_lower_prio_repeat) == (5, 5)
    assert instance.down_timer_adverts == 3
    assert instance.accept is True
    assert instance.preempt_delay_us == 0
    assert instance.lower_prio_no_advert is False
    assert instance.unicast_peers == ()
    assert instance.source_ip is None
