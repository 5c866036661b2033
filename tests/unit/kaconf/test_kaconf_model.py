"""The typed model: keepalived's defaults and derived rules, field by field."""

from __future__ import annotations

import ipaddress

import pytest
from kaconf_support import config_of, instance_text, messages, parse

from hapair.config.keepalived import (
    PREFERRED_LFT_FOREVER,
    AddressFamily,
    AuthType,
    InitialState,
    NotifyFifo,
    TrackedInterface,
    TrackedScript,
    UnicastPeer,
)

SCRIPTS = (
    'vrrp_script chk {\n  script "/bin/true"\n  weight 7 reverse\n}\n'
    "vrrp_script plain {\n  script /bin/true\n}\n"
)


@pytest.mark.parametrize(
    ("body", "priority", "state"),
    [
        ("", 100, InitialState.BACKUP),
        ("  state MASTER", 255, InitialState.MASTER),
        ("  state MASTER\n  priority 150", 150, InitialState.MASTER),
        ("  priority 255", 255, InitialState.MASTER),
        ("  state BACKUP\n  priority 255", 255, InitialState.BACKUP),
    ],
)
def test_priority_and_state_default_from_each_other(body: str, priority: int, state: InitialState) -> None:
    instance = config_of(instance_text(body)).instances[0]
    assert (instance.priority, instance.initial_state) == (priority, state)


def test_version_defaults_to_global_vrrp_version_and_ipv6_forces_3() -> None:
    head = "global_defs {\n  vrrp_version 3\n}\n"
    v4 = config_of(instance_text("", head=head)).instances[0]
    assert (v4.version, v4.family) == (3, AddressFamily.IPV4)
    v6_text = instance_text("").replace("10.0.0.5/24", "fe80::5")
    v6 = config_of(v6_text).instances[0]
    assert (v6.version, v6.family) == (3, AddressFamily.IPV6)
    assert config_of(instance_text("")).instances[0].version == 2


@pytest.mark.parametrize(
    ("body", "advert_us"),
    [
        ("", 1_000_000),
        ("  advert_int 3", 3_000_000),
        ("  version 3\n  advert_int 0.1", 100_000),
        ("  version 3\n  advert_int 40.95", 40_950_000),
    ],
)
def test_advert_interval_in_microseconds(body: str, advert_us: int) -> None:
    assert config_of(instance_text(body)).instances[0].advert_int_us == advert_us


@pytest.mark.parametrize(
    ("body", "advert_us"),
    [
        ("  advert_int 0.4", 1_000_000),
        ("  advert_int 1.4", 1_000_000),
        ("  advert_int 1.5", 2_000_000),
        ("  advert_int 2.5", 3_000_000),
        ("  version 3\n  advert_int 0.125", 130_000),
        ("  version 3\n  advert_int 0.994", 990_000),
        ("  version 3\n  advert_int 50", 40_950_000),
        ("  version 3\n  advert_int 40.955", 40_950_000),  # keepalived: 40.96 s, which does not fit
    ],
)
def test_advert_interval_rounding_matches_keepalived_dumps(body: str, advert_us: int) -> None:
    config, _ = parse(instance_text(body))
    assert config is not None
    assert config.instances[0].advert_int_us == advert_us


def test_authentication_truncated_to_eight_bytes_and_dropped_for_v3() -> None:
    text = instance_text("  authentication {\n    auth_type PASS\n    auth_pass 123456789\n  }")
    config, _ = parse(text)
    assert config is not None
    auth = config.instances[0].authentication
    assert auth is not None and (auth.auth_type, auth.password) == (AuthType.PASS, b"12345678")
    config, _ = parse(text.replace("  authentication", "  version 3\n  authentication"))
    assert config is not None and config.instances[0].authentication is None


def test_nopreempt_is_cleared_for_master_and_kept_for_backup() -> None:
    config, _ = parse(instance_text("  state MASTER\n  priority 100\n  nopreempt"))
    assert config is not None and config.instances[0].nopreempt is False
    assert config_of(instance_text("  nopreempt")).instances[0].nopreempt is True
    assert config_of(instance_text("  nopreempt\n  preempt")).instances[0].nopreempt is False


def test_garp_settings_default_to_the_globals() -> None:
    head = (
        "global_defs"
        " {\n  vrrp_garp_master_delay 7\n  vrrp_garp_master_repeat 3\n  vrrp_garp_master_refresh 60\n"
        "  vrrp_garp_master_refresh_repeat 2\n  vrrp_garp_lower_prio_repeat 4\n  vrrp_lower_prio_no_advert\n"
        "  vrrp_higher_prio_send_advert\n  vrrp_down_timer_adverts 5\n}\n"
    )
    config = config_of(instance_text("  garp_master_repeat 2", head=head))
    g = config.global_defs
    assert (g.vrrp_garp_lower_prio_delay_s, g.vrrp_garp_lower_prio_repeat) == (7, 4)
    i = config.instances[0]
    assert (i.garp_master_delay_s, i.garp_master_repeat, i.garp_master_refresh_s) == (7, 2, 60)
    assert (i.garp_master_refresh_repeat, i.garp_lower_prio_delay_s, i.garp_lower_prio_repeat) == (2, 7, 4)
    assert (i.lower_prio_no_advert, i.higher_prio_send_advert, i.down_timer_adverts) == (True, True, 5)


@pytest.mark.parametrize(
    ("globals_", "expected"),
    [
        ("", (5, 5, 1, 5, 5)),
        ("vrrp_min_garp", (0, 1, 0, 0, 1)),
        ("vrrp_garp_master_repeat 3\n vrrp_min_garp", (0, 3, 0, 0, 3)),
        ("vrrp_min_garp\n vrrp_garp_master_repeat 3", (0, 3, 0, 0, 3)),
        ("vrrp_min_garp\n vrrp_garp_master_delay 7", (7, 1, 0, 7, 1)),
        ("vrrp_garp_master_delay 7\n vrrp_garp_lower_prio_delay 2", (7, 5, 1, 2, 5)),
    ],
)
def test_vrrp_min_garp_as_keepalived_dumps_it(
    globals_: str, expected: tuple[int, int, int, int, int]
) -> None:
    """(delay, repeat, refresh repeat, lower-priority delay, lower-priority repeat) per keepalived -d."""
    g = config_of(instance_text("", head=f"global_defs {{\n {globals_}\n}}\n")).global_defs
    assert (
        g.vrrp_garp_master_delay_s,
        g.vrrp_garp_master_repeat,
        g.vrrp_garp_master_refresh_repeat,
        g.vrrp_garp_lower_prio_delay_s,
        g.vrrp_garp_lower_prio_repeat,
    ) == expected


def test_strict_mode_changes_the_defaults() -> None:
    i = config_of(instance_text("", head="global_defs {\n  vrrp_strict\n}\n")).instances[0]
    assert i.strict_mode is True
    assert (i.accept, i.lower_prio_no_advert, i.garp_lower_prio_repeat, i.garp_lower_prio_delay_s) == (
        False,
        True,
        0,
        0,
    )


def test_global_settings_the_engine_uses() -> None:
    head = (
        "global_defs {\n  router_id R1\n  vrrp_garp_interval 0.001\n  vrrp_gna_interval 0.002\n"
        "  vrrp_startup_delay 2.5\n  vrrp_check_unicast_src\n  vrrp_skip_check_adv_addr\n "
        " script_user nobody nogroup\n"
        "  enable_script_security\n  notify_fifo /run/a.fifo\n  vrrp_notify_fifo /run/b.fifo root\n"
        "  vrrp_mcast_group4 224.0.0.19\n  notification_email {\n    a@b\n    c@d\n  }\n}\n"
    )
    config = config_of(instance_text("", head=head))
    g = config.global_defs
    assert g.router_id == "R1"
    assert (g.vrrp_garp_interval_us, g.vrrp_gna_interval_us, g.vrrp_startup_delay_us) == (
        1000,
        2000,
        2_500_000,
    )
    assert (g.vrrp_check_unicast_src, g.vrrp_skip_check_adv_addr) == (True, True)
    assert (g.script_user, g.script_group, g.enable_script_security) == ("nobody", "nogroup", True)
    assert g.notify_fifo == NotifyFifo("/run/a.fifo")
    assert g.vrrp_notify_fifo == NotifyFifo("/run/b.fifo", "root")
    assert g.vrrp_mcast_group4 == ipaddress.IPv4Address("224.0.0.19")
    assert g.notification_email == ("a@b", "c@d")
    i = config.instances[0]
    assert (i.check_unicast_src, i.skip_check_adv_addr) == (True, True)


def test_virtual_address_options() -> None:
    body = (
        "  virtual_ipaddress_excluded {\n    2001:db8::1/64 dev vB -nodad\n"
        "    10.0.0.9 preferred_lft forever\n  }"
    )
    text = instance_text(body).replace(
        "    10.0.0.5/24\n",
        "    10.0.0.5/24 brd 10.0.0.255 dev vB scope link label vB:1\n    10.0.0.6 peer 10.0.0.7\n",
    )
    i = config_of(text).instances[0]
    first, second = i.virtual_addresses
    assert (first.device, first.scope, first.label, str(first.broadcast)) == (
        "vB",
        "link",
        "vB:1",
        "10.0.0.255",
    )
    assert first.describe() == "10.0.0.5/24 brd 10.0.0.255 dev vB scope link label vB:1"
    assert second.peer == ipaddress.ip_interface("10.0.0.7/32")
    evip6, evip4 = i.excluded_addresses
    assert (evip6.family, evip6.no_dad, evip6.device) == (AddressFamily.IPV6, True, "vB")
    assert evip4.preferred_lft == PREFERRED_LFT_FOREVER


def test_unicast_peers_and_source_address() -> None:
    body = (
        "  unicast_src_ip 10.0.0.1\n  unicast_peer {\n    10.0.0.2\n    10.0.0.3 min_ttl 250 max_ttl 255\n  }"
    )
    i = config_of(instance_text(body)).instances[0]
    assert i.source_ip == ipaddress.IPv4Address("10.0.0.1")
    assert [(p.address, p.min_ttl, p.max_ttl) for p in i.unicast_peers] == [
        (ipaddress.IPv4Address("10.0.0.2"), 0, 255),
        (ipaddress.IPv4Address("10.0.0.3"), 250, 255),
    ]
    assert i.check_unicast_src is True  # a TTL range turns the source check on
    assert isinstance(i.unicast_peers[0], UnicastPeer)


def test_tracking_weights_resolve_from_the_script() -> None:
    body = (
        "  track_script {\n    chk\n    plain weight -10\n  }\n"
        "  track_interface {\n    eth0\n    eth1 weight 5 reverse\n  }"
    )
    i = config_of(instance_text(body, head=SCRIPTS)).instances[0]
    assert [(t.name, t.weight, t.reverse) for t in i.track_scripts] == [
        ("chk", 7, True),
        ("plain", -10, False),
    ]
    assert [(t.name, t.weight, t.reverse) for t in i.track_interfaces] == [
        ("eth0", 0, False),
        ("eth1", 5, True),
    ]


def test_track_entries_keep_or_drop_like_keepalived() -> None:
    body = (
        "  track_script {\n    chk weight 300\n    plain bogus\n  }\n"
        "  track_interface {\n    eth0 weight 300 reverse\n    eth1 bogus\n    vB weight 254\n  }"
    )
    config, diagnostics = parse(instance_text(body, head=SCRIPTS))
    assert config is not None
    i = config.instances[0]
    assert [(t.name, t.weight, t.reverse) for t in i.track_scripts] == [("chk", 7, True)]
    assert [(t.name, t.weight, t.reverse) for t in i.track_interfaces] == [
        ("eth0", 0, True),
        ("vB", 253, False),
    ]
    assert len(messages(diagnostics)) == 7


def test_weights_are_ignored_for_address_owners_and_sync_group_members() -> None:
    text = (
        SCRIPTS
        + instance_text(
            "  priority 255\n  track_script {\n    chk\n  }\n  track_interface {\n    eth0 weight 3\n  }",
            name="A",
        )
        + instance_text(
            "  track_script {\n    chk\n  }\n  track_interface {\n    eth0 weight 3\n  }", name="B"
        )
        + instance_text("", name="C")
        + "vrrp_sync_group G {\n  group {\n    B\n    C\n  }\n}\n"
    )
    config, diagnostics = parse(text.replace("virtual_router_id 5", "virtual_router_id 6", 1))
    assert config is not None
    a, b = config.instance("A"), config.instance("B")
    assert (a.track_scripts, a.track_interfaces) == ((), ())
    assert b.track_scripts == ()
    assert [(t.name, t.weight) for t in b.track_interfaces] == [("eth0", 0)]
    assert (b.sync_group, config.instance("C").sync_group) == ("G", "G")
    assert [m.split(") ", 1)[1] for m in messages(diagnostics)] == [
        "(A) ignoring eth0 tracked interface due to address owner",
        "(A) ignoring tracked script chk with weights due to address_owner",
        "(B) ignoring eth0 tracked interface weight due to SYNC group",
        "(B) ignoring tracked script chk with weights due to SYNC group",
    ]


def test_vrrp_script_fields_and_defaults() -> None:
    head = (
        "vrrp_script full"
        " {\n  script \"/bin/echo a 'b c'\"\n  interval 3\n  timeout 2\n  weight -20 reverse\n"
        "  rise 2\n  fall 4\n  user nobody nogroup\n  init_fail\n}\n" + SCRIPTS
    )
    config = config_of(instance_text("", head=head))
    full, chk, plain = config.scripts
    assert full.script.argv == ("/bin/echo", "a", "b c")
    assert (full.interval_s, full.timeout_s, full.weight, full.weight_reverse) == (3, 2, -20, True)
    assert (full.rise, full.fall, full.user, full.group, full.init_fail) == (2, 4, "nobody", "nogroup", True)
    assert (plain.interval_s, plain.timeout_s, plain.rise, plain.fall, plain.weight) == (1, 1, 1, 1, 0)
    assert chk.script.argv == ("/bin/true",)


def test_notify_commands_are_split_as_keepalived_splits_them() -> None:
    body = (
        "  notify_master \"/x/nm.sh arg1 'two words'\" nobody nogroup\n  notify_backup /x/b.sh"
        " extra-is-the-user\n"
        '  notify \'/x/n.sh\'\n  notify_stop "/x/s.sh \\"q\\""\n  notify_master_rx_lower_pri /x/l.sh'
    )
    i = config_of(instance_text(body)).instances[0]
    assert i.notify_master is not None and i.notify_backup is not None and i.notify is not None
    assert (i.notify_master.argv, i.notify_master.user, i.notify_master.group) == (
        ("/x/nm.sh", "arg1", "two words"),
        "nobody",
        "nogroup",
    )
    assert (i.notify_backup.argv, i.notify_backup.user) == (("/x/b.sh",), "extra-is-the-user")
    assert i.notify.argv == ("/x/n.sh",)
    assert i.notify_stop is not None and i.notify_stop.argv == ("/x/s.sh", "q")
    assert i.notify_master_rx_lower_pri is not None and i.notify_master_rx_lower_pri.command == "/x/l.sh"


def test_sync_group_model() -> None:
    text = (
        SCRIPTS
        + instance_text("", name="A")
        + instance_text("", name="B").replace("virtual_router_id 5", "virtual_router_id 6")
        + 'vrrp_sync_group G {\n  group {\n    A\n    B\n  }\n  notify "/x/g.sh"\n  notify_fault /x/f.sh\n'
        "  track_script {\n    chk weight 5\n  }\n  track_interface {\n    eth0\n  }\n  smtp_alert\n"
        "  sync_group_tracking_weight\n}\n"
    )
    [group] = config_of(text).sync_groups
    assert group.members == ("A", "B")
    assert group.notify is not None and group.notify.argv == ("/x/g.sh",)
    assert group.notify_fault is not None and group.notify_fault.argv == ("/x/f.sh",)
    assert group.track_scripts == (TrackedScript("chk", 5, True, group.track_scripts[0].location),)
    assert group.track_interfaces == (TrackedInterface("eth0", 0, False, group.track_interfaces[0].location),)
    assert (group.smtp_alert, group.sync_group_tracking_weight) == (True, True)


def test_sync_group_problems() -> None:
    text = (
        instance_text("", name="X")
        + "vrrp_sync_group G1 {\n  group {\n    X\n    NOPE\n  }\n}\nvrrp_sync_group G2 {\n}\n"
        "vrrp_sync_group G3 {\n  group {\n    X\n  }\n}\nvrrp_sync_group G1 {\n}\n"
    )
    config, diagnostics = parse(text)
    assert messages(diagnostics) == [
        "(keepalived.conf: Line 22) vrrp sync group G1 already defined",
        "(keepalived.conf: Line 12) Virtual router NOPE specified in sync group G1 doesn't exist - ignoring",
        "(keepalived.conf: Line 9) Sync group G1 has only 1 virtual router(s) - this probably isn't"
        " what you want",
        "(keepalived.conf: Line 15) Sync group G2 has no virtual router(s). removing",
        "(keepalived.conf: Line 19) Virtual router X cannot exist in more than one sync group; ignoring G3",
        "(keepalived.conf: Line 17) Sync group G3, no matching virtual router found in group"
        " declaration - removing",
    ]
    assert config is not None and [g.name for g in config.sync_groups] == ["G1"]


def test_keywords_hapair_does_not_use_are_noted_not_refused() -> None:
    text = (
        "global_defs {\n  lvs_flush\n}\nvirtual_server 10.0.0.5 80"
        " {\n  real_server 10.0.0.6 80 {\n    weight 1\n  }\n}\n"
        + instance_text("  use_vmac\n  virtual_routes {\n    10.1.0.0/16 via 10.0.0.254 dev vA\n  }")
    )
    config, diagnostics = parse(text)
    assert messages(diagnostics) == []
    assert config is not None
    assert [k.keyword for k in config.ignored] == [
        "lvs_flush",
        "virtual_server",
        "use_vmac",
        "virtual_routes",
    ]
    assert messages(diagnostics, notes=True)[0] == (
        "(keepalived.conf: Line 2) 'lvs_flush' is accepted for compatibility but not used by hapair"
    )
