"""Statements to declarations: legacy mapping, option checks, host and connection grammar."""

from __future__ import annotations

import pytest

from hapair.config.drbd import Address, DrbdConfig, MetaDisk, MetaDiskKind, UsageCount, parse_config_text
from hapair.errors import ConfigErrors

HOSTS = "on a { address 10.0.0.1:7789; } on b { address 10.0.0.2:7789; }"
VOLUME = "device /dev/drbd1; disk /dev/sdb1; meta-disk internal;"


def resource(body: str, hosts: str = HOSTS) -> str:
    return f"resource r {{\n{body}\n{VOLUME}\n{hosts}\n}}\n"


def load(text: str) -> DrbdConfig:
    return parse_config_text(text, "t.conf")


def errors(text: str) -> list[tuple[int, str]]:
    with pytest.raises(ConfigErrors) as caught:
        load(text)
    return [(e.line, e.message) for e in caught.value.errors]


def section(config: DrbdConfig, name: str) -> dict[str, object]:
    sections = config.resource("r").decl.sections.named()
    return {o.name: o.value for o in sections[name]}


def test_syncer_options_are_distributed_as_drbdadm_84_does() -> None:
    config = load(
        resource(
            "syncer { rate 10M; after r; al-extents 257; verify-alg sha1; csums-alg md5; "
            "use-rle; cpu-mask 3; on-no-data-accessible suspend-io; }"
        )
    )
    assert section(config, "disk") == {"resync-rate": 10240, "resync-after": "r", "al-extents": 257}
    assert section(config, "net") == {"verify-alg": "sha1", "csums-alg": "md5", "use-rle": True}
    assert section(config, "options") == {"cpu-mask": "3", "on-no-data-accessible": "suspend-io"}


def test_resource_level_protocol_and_disk_fencing_go_to_net() -> None:
    config = load(resource("protocol A;\ndisk { fencing resource-only; on-io-error pass_on; }"))
    assert section(config, "net") == {"protocol": "A", "fencing": "resource-only"}
    assert section(config, "disk") == {"on-io-error": "pass_on"}


def test_fencing_in_a_volume_disk_section_is_refused() -> None:
    text = (
        "resource r "
        "{ volume 0 { device minor 1; disk /dev/x; meta-disk internal; disk { fencing dont-care; } } "
        + HOSTS
        + " }"
    )
    assert errors(text) == [(1, "'fencing' belongs in the resource's net section, not here")]


def test_booleans_bare_and_negated() -> None:
    config = load(
        resource("net { allow-two-primaries; tcp-cork no; }\ndisk { no-disk-flushes; no-md-flushes; }")
    )
    assert section(config, "net") == {"allow-two-primaries": True, "tcp-cork": False}
    assert section(config, "disk") == {"disk-flushes": False, "md-flushes": False}
    assert config.resource("r").decl.sections.disk.get("disk-flushes") is not None


def test_value_problems_are_reported_at_their_line() -> None:
    assert errors(resource("net {\n timeout;\n no-timeout;\n ping-int 5 6;\n protocol { }\n}")) == [
        (3, "Parse error: option 'timeout' needs a value"),
        (4, "Parse error: 'no-timeout' is only allowed for yes/no options and takes no value"),
        (5, "Parse error: ';' expected, but got '6'"),
        (6, "Parse error: unexpected section 'protocol' inside a net section"),
    ]


def test_outdate_peer_handler_is_fence_peer() -> None:
    config = load(resource('handlers { outdate-peer "/sbin/x -t 5"; }'))
    assert section(config, "handlers") == {"fence-peer": "/sbin/x -t 5"}


def test_an_option_twice_in_one_place_is_refused_even_via_syncer() -> None:
    assert errors(resource("disk { al-extents 100; }\nsyncer { al-extents 200; }")) == [
        (3, "option 'al-extents' given twice in one section (first at t.conf:2)")
    ]


def test_a_section_twice_in_a_resource_is_refused() -> None:
    assert errors(resource("net { protocol A; }\nnet { timeout 50; }")) == [
        (3, "conflicting use of net section in resource r (first at t.conf:2)")
    ]


def test_global_section() -> None:
    config = load(
        "global { usage-count no; disable-ip-verification; minor-count 64; dialog-refresh 0; "
        "udev-always-use-vnr; cmd-timeout-medium 300; }\n" + resource("")
    )
    g = config.global_options
    assert (g.usage_count, g.disable_ip_verification, g.minor_count, g.dialog_refresh) == (
        UsageCount.NO,
        True,
        64,
        0,
    )
    assert g.udev_always_use_vnr and g.cmd_timeout_medium == 300 and g.cmd_timeout_short is None
    assert errors("global { usage-count maybe; minor-count 0; bogus; }\nglobal { }\n") == [
        (1, "Parse error: 'yes | no | ask' expected after usage-count"),
        (1, "minor-count 0 => 0 out of range [1..255]"),
        (
            1,
            "Parse error: 'dialog-refresh | minor-count | disable-ip-verification | usage-count | "
            "udev-always-use-vnr | cmd-timeout-short | cmd-timeout-medium | cmd-timeout-long' expected, "
            "but got 'bogus'",
        ),
        (2, "conflicting use of global section (only one global section is allowed)"),
    ]


def test_device_forms() -> None:
    def volume(device: str) -> tuple[str, int]:
        text = f"resource r {{ device {device}; disk /dev/x; meta-disk internal; {HOSTS} }}"
        host = load(text).resource("r").hosts[0]
        return host.volumes[0].device, host.volumes[0].minor

    assert volume("/dev/drbd7") == ("/dev/drbd7", 7)
    assert volume("drbd7") == ("/dev/drbd7", 7)
    assert volume("minor 7") == ("/dev/drbd7", 7)
    assert volume("/dev/drbd7 minor 7") == ("/dev/drbd7", 7)
    assert volume('"/dev/drbd_web" minor 9') == ("/dev/drbd_web", 9)


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("/dev/sdb", "device name must start with /dev/drbd (/dev/ is optional, but drbd is required)"),
        ("/dev/drbd_web", "no minor given nor device name contains a minor number"),
        (
            "/dev/drbd1 minor 2",
            'explicit minor number must match with device name: try "device /dev/drbd2 minor 2;"',
        ),
        ("/dev/drbdweb minor 2", "arbitrary device name must start with /dev/drbd_ (mind the '_')"),
        ("minor 1048576", "minor number 1048576 => 1048576 out of range [0..1048575]"),
        ("/dev/drbd1 major 2", "Parse error: 'minor | ;' expected, but got 'major'"),
    ],
)
def test_device_mistakes(device: str, message: str) -> None:
    assert errors(f"resource r {{\ndevice {device}; disk /dev/x; meta-disk internal; {HOSTS} }}") == [
        (2, message)
    ]


def test_meta_disk_forms() -> None:
    text = (
        "resource r { device minor 1; disk /dev/x;\n"
        "on a { address 10.0.0.1:1; meta-disk internal; }\n"
        "on b { address 10.0.0.2:1; meta-disk /dev/md [3]; }\n"
        "on c { address 10.0.0.3:1; flexible-meta-disk /dev/md2; }\n"
        "connection { host a; host b; } connection { host a; host c; } }"
    )
    config = load(
        text.replace("on a {", "on a { node-id 0;")
        .replace("on b {", "on b { node-id 1;")
        .replace("on c {", "on c { node-id 2;")
    )
    metas = [h.volumes[0].meta_disk for h in config.resource("r").hosts]
    assert metas == [
        MetaDisk(MetaDiskKind.INTERNAL),
        MetaDisk(MetaDiskKind.INDEXED, "/dev/md", 3),
        MetaDisk(MetaDiskKind.FLEXIBLE, "/dev/md2"),
    ]


def test_addresses() -> None:
    text = resource("", "on a { address ipv6 [fd00::1]:7789; }\non b { address ipv4 10.0.0.2:7789; }")
    hosts = load(text).resource("r").hosts
    assert hosts[0].address == Address("ipv6", "fd00::1", 7789)
    assert hosts[1].address == Address("ipv4", "10.0.0.2", 7789)
    assert hosts[0].address.setup_text() == "ipv6:[fd00::1]:7789"


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("sdp 10.0.0.1:7789", "address family 'sdp' is not supported by hapair (ipv4 and ipv6 are)"),
        ("10.0.0.1:0", "port 0 => 0 out of range [1..65535]"),
        ("10.0.0.1:70000", "port 70000 => 70000 out of range [1..65535]"),
        ("10.0.0.300:7789", "'10.0.0.300' is not a valid ipv4 address"),
        ("ipv6 [fd00::zz]:7789", "'fd00::zz' is not a valid ipv6 address"),
        ("ipv6 10.0.0.1:7789", "Parse error: an address of the form 'ipv6 [ADDRESS]:PORT' expected"),
        ("10.0.0.1", "Parse error: an address of the form '[ipv4] ADDRESS:PORT' expected"),
        ("10.0.0.1:7789 extra", "Parse error: ';' expected, but got 'extra'"),
    ],
)
def test_address_mistakes(address: str, message: str) -> None:
    text = f"resource r {{ {VOLUME}\non a {{ address {address}; }}\non b {{ address 10.0.0.2:7789; }} }}"
    assert errors(text) == [(2, message)]


def test_implicit_and_explicit_volumes_do_not_mix() -> None:
    text = "resource r {\ndevice minor 1;\nvolume 1 { device minor 2; }\n" + HOSTS + "}"
    assert errors(text)[0] == (
        3,
        "Explicit and implicit volumes not allowed (use 'volume N { ... }' for every volume)",
    )


def test_unknown_keywords_in_every_context() -> None:
    text = (
        "frob;\n"
        "common { on x { } }\n"
        "resource r {\n"
        " frob;\n"
        " volume 0 { frob; }\n"
        " on a { frob; }\n"
        " connection { frob; }\n"
        " connection-mesh { frob; }\n"
        " proxy { }\n"
        ' include "x";\n'
        "}\n"
    )
    assert [line for line, _ in errors(text)] == [1, 2, 4, 5, 6, 7, 8, 8, 9, 10]


def test_connections_and_paths() -> None:
    text = (
        "resource r {\n"
        f"{VOLUME}\n"
        "on a { node-id 0; address 10.0.0.1:7789; }\n"
        "on b { node-id 1; address 10.0.0.2:7789; }\n"
        "connection { host a port 7800; host b address 10.0.1.2:7801; net { protocol A; } }\n"
        "}\n"
    )
    conn = load(text).resource("r").connections[0]
    ends = conn.paths[0].ends
    assert ends == (("a", Address("ipv4", "10.0.0.1", 7800)), ("b", Address("ipv4", "10.0.1.2", 7801)))
    assert conn.net["protocol"].value == "A"


def test_connection_mistakes() -> None:
    base = (
        "resource r {\n"
        + VOLUME
        + "\non a { node-id 0; address 10.0.0.1:1; }\non b { node-id 1; address 10.0.0.2:1; }\n"
    )
    assert errors(base + "connection { host a; host b; host a; }\n}")[0] == (
        5,
        "only two 'host' keywords per connection or path allowed",
    )
    assert errors(base + "connection { host a; path { host a; host b; } }\n}")[0] == (
        5,
        "a connection has either 'host' statements or 'path' sections, not both",
    )
    assert errors(base + "connection { host a via proxy on a { inside 1.1.1.1:1; } host b; }\n}")[0] == (
        5,
        "'via proxy' (DRBD proxy) is not supported by hapair",
    )
    assert errors(base + "connection { net { } net { } host a; host b; }\n}")[0] == (
        5,
        "only one 'net' section per connection allowed",
    )
    assert errors(base + "connection-mesh { net { protocol A; } }\n}")[0] == (
        5,
        "connection-mesh needs a 'hosts NAME...;' statement",
    )


def test_names_may_be_quoted_and_resource_names_must_be_unique() -> None:
    config = load(
        'resource "my res" { ' + VOLUME + ' on "a" { address 10.0.0.1:1; } on b { address 10.0.0.2:1; } }'
    )
    assert config.names() == ["my res"] and config.resource("my res").hosts[0].name == "a"
    assert errors(
        resource("") + resource("").replace("7789", "7790").replace("drbd1", "drbd2").replace("sdb1", "sdb2")
    ) == [(6, "conflicting use of resource section 'r' (first used at t.conf:1)")]


def test_resource_options_in_a_host_section_are_refused() -> None:
    """drbdadm 9.22 accepts `on HOST { options { } }` but never applies it (drbdsetup new-resource
    gets the resource's options only); hapair refuses instead of ignoring it silently."""
    hosts = (
        "on a { node-id 0; address 10.0.0.1:1; options { quorum 1; } }\n"
        "on b { node-id 1; address 10.0.0.2:1; }"
    )
    text = f"resource r {{ {VOLUME}\n{hosts} }}"
    assert errors(text) == [
        (2, "resource options belong in the resource's options section, not in a host section")
    ]
