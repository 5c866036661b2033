"""Inheritance, derived connections and node ids, and the structural rules."""

from __future__ import annotations

import pytest

from hapair.config.drbd import DrbdConfig, parse_config_text
from hapair.config.drbd.node_ids import crc32c, derived_node_ids
from hapair.errors import ConfigErrors

VOLUME = "device /dev/drbd1; disk /dev/sdb1; meta-disk internal;"
HOSTS = "on a { address 10.0.0.1:7789; } on b { address 10.0.0.2:7789; }"


def load(text: str) -> DrbdConfig:
    return parse_config_text(text, "t.conf")


def errors(text: str) -> list[tuple[int, str]]:
    with pytest.raises(ConfigErrors) as caught:
        load(text)
    return [(e.line, e.message) for e in caught.value.errors]


def values(options: object) -> dict[str, object]:
    assert isinstance(options, dict)
    return {name: option.value for name, option in options.items()}


def test_common_then_resource_then_volume() -> None:
    text = (
        "common { disk { al-extents 500; on-io-error pass_on; } net { ko-count 3; timeout 50; } }\n"
        "resource r {\n"
        " disk { on-io-error detach; }\n"
        " net { timeout 40; }\n"
        " volume 0 { device minor 1; disk /dev/x; meta-disk internal; }\n"
        " on a { address 10.0.0.1:1; volume 0 { disk { disk-timeout 30; al-extents 600; } } }\n"
        " on b { address 10.0.0.2:1; }\n"
        "}\n"
    )
    resource = load(text).resource("r")
    a, b = resource.hosts
    assert values(a.volumes[0].disk_options) == {
        "al-extents": 600,
        "disk-timeout": 30,
        "on-io-error": "detach",
    }
    assert values(b.volumes[0].disk_options) == {"al-extents": 500, "on-io-error": "detach"}
    assert values(resource.connections[0].net) == {"ko-count": 3, "timeout": 40}


def test_two_parents_with_different_values_are_ambiguous_as_in_drbdadm_9() -> None:
    text = (
        "common { disk { al-extents 500; } }\n"
        "resource r {\n"
        " volume 0 { device minor 1; disk /dev/x; meta-disk internal; disk { al-extents 2000; } }\n"
        f" {HOSTS}\n"
        "}\n"
    )
    assert errors(text) == [
        (
            2,
            'in resource r, ambiguous inheritance for option "al-extents": should be "500" (t.conf:1) '
            'and "2000" (t.conf:3) at the same time',
        )
    ]
    # the same value from both parents is fine, and a host's own value settles it
    assert load(text.replace("2000", "500"))
    assert load(
        text.replace(
            "on a { address 10.0.0.1:7789; }",
            "on a { address 10.0.0.1:7789; volume 0 { disk { al-extents 9; } } }",
        ).replace(
            "on b { address 10.0.0.2:7789; }",
            "on b { address 10.0.0.2:7789; volume 0 { disk { al-extents 9; } } }",
        )
    )


def test_peer_device_options_from_connection_and_volumes() -> None:
    text = (
        "resource r {\n"
        " volume 0 { device minor 1; disk /dev/x; meta-disk internal; }\n"
        " volume 1 { device minor 2; disk /dev/y; meta-disk internal; disk { resync-rate 20M; } }\n"
        " on a { node-id 0; address 10.0.0.1:1; }\n"
        " on b { node-id 1; address 10.0.0.2:1; }\n"
        " connection { host a; host b; disk { c-max-rate 50M; } volume 0 { disk { resync-rate 5M; } } }\n"
        "}\n"
    )
    conn = load(text).resource("r").connections[0]
    assert values(conn.peer_device(0)) == {"resync-rate": 5120, "c-max-rate": 51200}
    assert values(conn.peer_device(1)) == {"resync-rate": 20480, "c-max-rate": 51200}
    conflicting = text.replace("c-max-rate 50M", "resync-rate 1M").replace(
        " volume 0 { disk { resync-rate 5M; } }", ""
    )
    assert "ambiguous inheritance" in errors(conflicting)[0][1]


def test_volumes_are_inherited_into_hosts() -> None:
    text = (
        "resource r {\n"
        " volume 0 { device /dev/drbd3; meta-disk internal; }\n"
        " on a { address 10.0.0.1:1; volume 0 { disk /dev/a; } }\n"
        " on b { address 10.0.0.2:1; volume 0 { disk /dev/b; } }\n"
        "}\n"
    )
    hosts = load(text).resource("r").hosts
    assert [(v.device, v.minor, v.disk) for h in hosts for v in h.volumes] == [
        ("/dev/drbd3", 3, "/dev/a"),
        ("/dev/drbd3", 3, "/dev/b"),
    ]


def test_volume_rules() -> None:
    assert errors(
        "resource r { on a { address 10.0.0.1:1; volume 0 { disk /dev/x; meta-disk internal; } }\n"
        "on b { address 10.0.0.2:1; volume 0 { device minor 1; disk /dev/x; meta-disk internal; } } }"
    ) == [(1, "in resource r, on a { ... }: 'device' keyword missing (volume 0)")]
    assert errors("resource r {\n device minor 1; disk /dev/x;\n" + HOSTS + "\n}")[0] == (
        3,
        "in resource r, on a { ... }: 'meta-disk' keyword missing (volume 0)",
    )
    diskless = load("resource r {\n device minor 1;\n" + HOSTS + "\n}").resource("r").hosts[0].volumes[0]
    assert diskless.disk is None and diskless.meta_disk is None


def test_implicit_connection_and_node_ids_from_addresses() -> None:
    # drbdadm hashes each address with CRC32C(seed 0x1a656f21), compares as signed ints, and gives
    # the greater hash node id 0 (observed with drbdadm 9.22 for these pairs).
    observed = [
        ("10.68.32.66", "192.168.60.127", 1),
        ("10.230.241.167", "192.168.194.202", 0),
        ("10.30.31.168", "10.30.31.170", 1),
        ("10.1.1.31", "10.1.1.32", 0),
    ]
    for first, second, first_id in observed:
        text = f"resource r {{ {VOLUME} on a {{ address {first}:1; }} on b {{ address {second}:1; }} }}"
        resource = load(text).resource("r")
        assert [h.node_id for h in resource.hosts] == [first_id, 1 - first_id], first
        assert resource.connections[0].origin == "implicit"


def test_crc32c_is_castagnoli_without_inversion() -> None:
    assert crc32c(0, b"") == 0
    assert crc32c(0xFFFFFFFF, b"123456789") ^ 0xFFFFFFFF == 0xE3069283  # the standard check value


def test_node_id_rules() -> None:
    hosts = "on a { node-id 0; address 10.0.0.1:1; }\non b { address 10.0.0.2:1; }"
    text = f"resource r {{ {VOLUME}\n{hosts}\n}}"
    assert errors(text) == [(3, "in resource r, on b { ... }: 'node-id' keyword missing")]
    hosts = "on a { address 10.0.0.1:1; }\non b { address 10.0.0.2:1; }\non c { address 10.0.0.3:1; }"
    three = f"resource r {{ {VOLUME}\n{hosts}\n}}"
    assert errors(three)[0] == (
        1,
        "resource r: use explicit 'connection' sections (or a 'connection-mesh') with more than two host "
        "sections",
    )


def test_mesh_makes_one_connection_per_pair() -> None:
    text = (
        f"resource r {{ {VOLUME}\n"
        "on a { node-id 0; address 10.0.0.1:1; } on b { node-id 1; address 10.0.0.2:1; } on c "
        "{ node-id 2; address 10.0.0.3:1; }\n"
        "net { ping-int 3; }\n"
        "connection-mesh { hosts a b c; net { protocol A; } }\n}"
    )
    connections = load(text).resource("r").connections
    assert [c.hosts for c in connections] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert all(values(c.net) == {"protocol": "A", "ping-int": 3} for c in connections)
    assert errors(text.replace("hosts a b c", "hosts a b x"))[0] == (
        4,
        "in resource r: there is no 'on' section for hostname 'x' named in the connection-mesh",
    )


def test_connection_endpoint_rules() -> None:
    base = f"resource r {{ {VOLUME}\non a {{ node-id 0; }}\non b {{ node-id 1; address 10.0.0.2:1; }}\n"
    assert errors(base + "connection { host a; host b; }\n}") == [
        (4, "Resource r, host a: cannot determine which address to use")
    ]
    assert errors(base + "connection { host a address 10.0.0.2:1; host b; }\n}") == [
        (4, "in resource r ipv4:10.0.0.2:1 is used for both endpoints")
    ]
    assert errors(base + "connection { host a address 10.0.0.1:1; host z; }\n}")[0][1].startswith(
        'in resource r a hostname ("z") is given'
    )
    assert errors(base + "connection { host a address 10.0.0.1:1; }\n}") == [
        (4, "Resource r: connection needs to have two endpoints")
    ]


def test_hosts_must_define_the_same_volumes() -> None:
    text = (
        "resource r {\n"
        " on a { address 10.0.0.1:1; volume 0 { device minor 1; disk /x; meta-disk internal; }\n"
        "        volume 1 { device minor 2; disk /y; meta-disk internal; } }\n"
        " on b { address 10.0.0.2:1; volume 0 { device minor 1; disk /x; meta-disk internal; } }\n"
        "}\n"
    )
    assert errors(text) == [(2, "in resource r, on a { ... }: volume 1 not defined on b")]


def test_derived_node_ids_are_symmetric() -> None:
    for a, b in (("10.0.0.1", "10.0.0.2"), ("192.168.1.10", "192.168.1.20"), ("fd00::1", "fd00::2")):
        assert derived_node_ids(b, a) == tuple(reversed(derived_node_ids(a, b) or ()))
    assert derived_node_ids("10.0.0.1", "10.0.0.1") is None


def test_become_primary_on_both_needs_two_primaries() -> None:
    text = f"resource r {{ {VOLUME}\nstartup {{ become-primary-on both; }}\n{HOSTS}\n}}"
    assert errors(text) == [
        (2, "in resource r: become-primary-on is set to both, but allow-two-primaries is not set.")
    ]
    assert load(text.replace("startup", "net { allow-two-primaries; } startup"))


def test_resync_after_must_name_one_known_volume() -> None:
    two = (
        "resource t { volume 0 { device minor 5; disk /t0; meta-disk internal; }\n"
        " volume 1 { device minor 6; disk /t1; meta-disk internal; }\n"
        " on a { address 10.0.0.1:2; } on b { address 10.0.0.2:2; } }\n"
    )

    def with_after(target: str) -> str:
        return two + f"resource r {{ {VOLUME}\ndisk {{ resync-after {target}; }}\n{HOSTS}\n}}\n"

    assert errors(with_after("t")) == [
        (5, "in resource r: resync-after contains 't', which is ambiguous, since it contains 2 volumes")
    ]
    assert errors(with_after("t/7")) == [
        (5, "in resource r: resource 't/7' mentioned in 'resync-after' option is not known")
    ]
    assert errors(with_after("nowhere")) == [
        (5, "in resource r: resource 'nowhere' mentioned in 'resync-after' option is not known")
    ]
    assert load(with_after("t/1")).node("r", "a").volume(0).options.resync_after == 6
