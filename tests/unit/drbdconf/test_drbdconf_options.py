"""Option values: units, limits, enums, booleans, strings, as drbdadm checks them."""

from __future__ import annotations

import pytest

from hapair.config.drbd.options import (
    DISK_OPTIONS,
    HANDLERS,
    NET_OPTIONS,
    PEER_DEVICE_OPTIONS,
    RESOURCE_OPTIONS,
    STARTUP_OPTIONS,
    ValueKind,
    check_value,
    parse_number,
)


@pytest.mark.parametrize(
    ("text", "scale", "value"),
    [
        ("100M", "k", 102400),  # resync-rate 100M = 102400 KiB/s
        ("100m", "k", 102400),
        ("250", "k", 250),
        ("1G", "k", 1 << 20),
        ("8k", "1", 8192),
        ("8K", "1", 8192),
        ("10M", "1", 10 << 20),
        ("1M", "s", 2048),  # c-fill-target 1M = 2048 sectors
        ("2048s", "s", 2048),
        ("1s", "k", 1),  # half a KiB rounds up, as new_strtoll does
        ("3s", "k", 2),
        ("4096s", "k", 2048),
        ("60", "1", 60),
    ],
)
def test_numbers_in_the_default_unit(text: str, scale: str, value: int) -> None:
    assert parse_number(text, scale) == value


@pytest.mark.parametrize("text", ["", "M", "1.5", "10T", "10MB", "-1", "0x10", "1 0"])
def test_not_numbers(text: str) -> None:
    assert parse_number(text, "1") is None


def test_ranges_and_messages() -> None:
    timeout = NET_OPTIONS["timeout"]
    assert check_value(timeout, "60") == (60, "")
    assert check_value(timeout, "0") == (None, "Value is too small (0 < 1)")
    assert check_value(timeout, "601") == (None, "Value is too big (601 > 600)")
    assert check_value(timeout, "1k")[0] is None
    assert check_value(timeout, "sixty") == (None, "Value is not a number")


def test_al_extents_are_clamped_like_drbdadm() -> None:
    spec = DISK_OPTIONS["al-extents"]
    assert check_value(spec, "3") == (67, "")
    assert check_value(spec, "100000") == (65534, "")


def test_booleans_and_enums() -> None:
    assert check_value(NET_OPTIONS["allow-two-primaries"], "yes") == (True, "")
    assert check_value(NET_OPTIONS["allow-two-primaries"], "no") == (False, "")
    assert check_value(NET_OPTIONS["allow-two-primaries"], "on")[0] is None
    assert check_value(NET_OPTIONS["protocol"], "c") == ("C", "")  # drbdsetup compares case-insensitively
    assert check_value(NET_OPTIONS["after-sb-1pri"], "consensus") == ("consensus", "")
    value, why = check_value(NET_OPTIONS["after-sb-1pri"], "bogus")
    assert value is None and "Allowed values are: disconnect | consensus" in why


def test_discard_node_is_accepted_for_after_sb_0pri_only() -> None:
    assert check_value(NET_OPTIONS["after-sb-0pri"], "discard-node-alice") == ("discard-node-alice", "")
    assert check_value(NET_OPTIONS["after-sb-0pri"], "discard-node-")[0] is None
    assert check_value(NET_OPTIONS["after-sb-1pri"], "discard-node-alice")[0] is None


def test_quorum_takes_a_keyword_or_a_count() -> None:
    quorum = RESOURCE_OPTIONS["quorum"]
    assert check_value(quorum, "majority") == ("majority", "")
    assert check_value(quorum, "2") == (2, "")
    assert check_value(quorum, "0")[0] is None
    assert check_value(quorum, "33")[0] is None
    assert check_value(quorum, "most")[0] is None


def test_shared_secret_is_at_most_63_characters() -> None:
    secret = NET_OPTIONS["shared-secret"]
    assert check_value(secret, "x" * 63) == ("x" * 63, "")
    assert check_value(secret, "x" * 64)[0] is None


def test_flags_take_no_value() -> None:
    assert check_value(STARTUP_OPTIONS["stacked-timeouts"], "yes")[0] is None


def test_every_spec_is_consistent() -> None:
    for table in (
        NET_OPTIONS,
        DISK_OPTIONS,
        PEER_DEVICE_OPTIONS,
        RESOURCE_OPTIONS,
        STARTUP_OPTIONS,
        HANDLERS,
    ):
        for name, spec in table.items():
            assert spec.name == name
            if spec.kind is ValueKind.NUMBER:
                assert isinstance(spec.default, int)
                assert spec.minimum <= spec.default <= spec.maximum, name
                assert spec.scale in ("1", "k", "s")
            if spec.kind is ValueKind.ENUM:
                assert spec.default in spec.choices, name
