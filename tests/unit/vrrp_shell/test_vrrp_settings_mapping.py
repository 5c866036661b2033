"""keepalived.conf model -> VRRP core settings (hapair.config.vrrp_settings)."""

from __future__ import annotations

import shlex
from ipaddress import IPv4Address, IPv4Interface

import pytest

from hapair.config.keepalived import InMemorySources, check_config
from hapair.config.vrrp_settings import runtime_config
from hapair.core.vrrp import AuthType, InitialState, VrrpNode
from hapair.errors import ConfigErrors
from hapair.lab.runbook import runbook_file


def load(text: str, name: str = "/etc/keepalived/keepalived.conf"):  # type: ignore[no-untyped-def]
    config, diagnostics = check_config(name, InMemorySources({name: text}))
    assert config is not None, diagnostics
    return config


def test_runbook_node1_maps_to_the_core_settings() -> None:
    text = runbook_file("keepalived-node1.conf").read_text(encoding="utf-8")
    runtime = runtime_config(load(text))
    (vi,) = runtime.instances
    assert vi.name == "VI_1"
    assert vi.virtual_router_id == 51
    assert vi.interface == "eth1"
    assert vi.priority == 100
    assert vi.state is InitialState.BACKUP
    assert vi.nopreempt is True
    assert vi.advert_int == 1_000_000_000
    assert vi.version == 2
    assert vi.auth_type is AuthType.PASS and vi.auth_pass == b"1111"
    assert [str(v.address) for v in vi.vips] == ["10.30.31.171/32"]
    assert vi.vips[0].device == "eth1"
    assert vi.garp_master_delay == 5_000_000_000 and vi.garp_master_repeat == 5
    # The settings are accepted by the core as they are.
    VrrpNode(runtime.instances, runtime.scripts, interface_addresses={"eth1": [IPv4Address("10.30.31.168")]})


def test_runbook_notify_scripts_round_trip_through_the_command_line() -> None:
    text = runbook_file("keepalived-with-notify.conf").read_text(encoding="utf-8")
    (vi,) = runtime_config(load(text)).instances
    assert vi.notify_master == "/usr/local/sbin/drbd_master.sh"
    assert vi.notify_backup == vi.notify_fault == "/usr/local/sbin/drbd_backup.sh"


def test_quoted_arguments_survive_the_mapping() -> None:
    text = """
vrrp_script chk {
    script "/bin/check 'two words' x"
    interval 2
    weight -20
    fall 3
    rise 2
}
vrrp_instance VI_9 {
    interface eth0
    virtual_router_id 9
    version 3
    advert_int 0.05
    unicast_src_ip 192.0.2.1
    unicast_peer {
        192.0.2.2
    }
    track_script {
        chk
    }
    notify "/bin/notify 'a b'"
    virtual_ipaddress {
        192.0.2.100/24 dev eth0 label eth0:vip
    }
}
"""
    runtime = runtime_config(load(text))
    (vi,) = runtime.instances
    (script,) = runtime.scripts
    assert shlex.split(script.script) == ["/bin/check", "two words", "x"]
    assert script.interval == 2_000_000_000 and script.weight == -20
    assert (script.fall, script.rise) == (3, 2)
    assert shlex.split(vi.notify or "") == ["/bin/notify", "a b"]
    assert vi.version == 3 and vi.advert_int == 50_000_000
    assert vi.unicast_src_ip == IPv4Address("192.0.2.1") and vi.mcast_src_ip is None
    assert [p.address for p in vi.unicast_peers] == [IPv4Address("192.0.2.2")]
    assert vi.track_scripts[0].name == "chk" and vi.track_scripts[0].weight == -20
    assert vi.vips[0].address == IPv4Interface("192.0.2.100/24") and vi.vips[0].label == "eth0:vip"


def test_a_setting_the_core_refuses_is_a_located_config_error() -> None:
    text = """vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    authentication {
        auth_type AH
        auth_pass secret
    }
    virtual_ipaddress {
        10.0.0.1
    }
}
"""
    with pytest.raises(ConfigErrors) as caught:
        runtime_config(load(text, "/tmp/ah.conf"))
    (error,) = caught.value.errors
    assert error.file == "/tmp/ah.conf" and error.line == 1
    assert "AH authentication is not supported" in error.message
    assert error.keepalived_style().startswith("(/tmp/ah.conf: Line 1) (VI_1)")
