"""keepalived's words, placed as `(FILE: Line N) message`, for mistakes in vrrp_instance.

The expected strings are what `keepalived -t` 2.2.7 prints for the same lines (checked against
the real binary by tests/interop/test_kaconf_vs_keepalived.py); messages keepalived prints
without a place are placed at the `vrrp_instance` line (Line 1) by hapair.
"""

from __future__ import annotations

import pytest
from kaconf_support import instance_text, messages, parse

from hapair.config.keepalived import Severity, config_test_exit_code

L7 = "(keepalived.conf: Line 7)"
L1 = "(keepalived.conf: Line 1)"

CASES = [
    (
        "virtual_router_id 300",
        [
            f"{L7} number '300' outside range [1, 255]",
            f"{L7} (X): VRID '300' not valid - must be between 1 & 255",
        ],
    ),
    (
        "priority 0",
        [
            f"{L7} number '0' outside range [1, 255]",
            f"{L7} (X) Priority not valid! must be between 1 & 255. Using default 100",
        ],
    ),
    (
        "priority abc",
        [
            f"{L7} invalid number 'abc'",
            f"{L7} (X) Priority not valid! must be between 1 & 255. Using default 100",
        ],
    ),
    (
        "priority -5",
        [
            f"{L7} negative number '-5'",
            f"{L7} (X) Priority not valid! must be between 1 & 255. Using default 100",
        ],
    ),
    (
        "priority 99999999999",
        [
            f"{L7} number '99999999999' outside unsigned integer range",
            f"{L7} (X) Priority not valid! must be between 1 & 255. Using default 100",
        ],
    ),
    (
        "advert_int 0",
        [
            f"{L7} number '0' outside range [0.010000, 255.000000]",
            f"{L7} (X) Advert interval (0) not valid! Must be > 0 - ignoring",
        ],
    ),
    (
        "advert_int abc",
        [f"{L7} invalid number 'abc'", f"{L7} (X) Advert interval (abc) not valid! Must be > 0 - ignoring"],
    ),
    ("advert_int 0.4", [f"{L1} (X) VRRPv2 advertisement interval 0.400000s must be an integer. rounding"]),
    (
        "advert_int 0.1234567",
        [
            f"{L7} number '0.1234567' has too many decimal places",
            f"{L1} (X) VRRPv2 advertisement interval 0.123457s must be an integer. rounding",
        ],
    ),
    (
        "version 3\n  advert_int 0.123",
        [f"{L1} (X) VRRPv3 advertisement interval 0.123000s must be in units of 10ms - rounding"],
    ),
    (
        "version 3\n  advert_int 50",
        [
            f"{L1} (X) VRRPv3 advertisement interval 50.00s is out of range. Must be less than"
            " 40.96s. Setting to 40.95s"
        ],
    ),
    ("version 4", [f"{L7} number '4' outside range [2, 3]", f"{L7} (X): Version must be either 2 or 3"]),
    ("state master", [f"{L7} (X) unknown state 'master', defaulting to BACKUP"]),
    (
        "state MASTER\n  priority 100\n  state BACKUP",
        ["(keepalived.conf: Line 9) (X) state previously set as MASTER - ignoring BACKUP"],
    ),
    (
        "state MASTER\n  priority 100\n  nopreempt",
        [f"{L1} (X) Warning - nopreempt will not work with initial state MASTER - clearing"],
    ),
    (
        "state MASTER\n  nopreempt",
        [f"{L1} (X) nopreempt is incompatible with priority 255. resetting nopreempt"],
    ),
    (
        "state MASTER\n  priority 100\n  preempt_delay 5",
        [f"{L1} (X) Warning - preempt delay will not work with initial state MASTER - clearing"],
    ),
    (
        "nopreempt\n  preempt_delay 3",
        [f"{L1} (X) preempt_delay is incompatible with nopreempt mode - resetting"],
    ),
    (
        "preempt_delay 1001",
        [
            f"{L7} number '1001' outside range [0.000000, 1000.000000]",
            f"{L7} (X) Preempt_delay not valid! must be between 0-1000",
        ],
    ),
    ("preempt_delay abc", [f"{L7} invalid number 'abc'"]),
    (
        "authentication {\n    auth_type PASS\n    auth_pass 123456789\n  }",
        ["(keepalived.conf: Line 9) Truncating auth_pass to 8 characters"],
    ),
    (
        "version 3\n  authentication {\n    auth_type PASS\n    auth_pass 1\n  }",
        [f"{L1} (X) VRRP version 3 does not support authentication. Ignoring."],
    ),
    (
        "authentication {\n    auth_type PASS\n  }",
        [f"{L1} (X) Authentication specified but no password given. Ignoring"],
    ),
    (
        "authentication {\n    auth_type XX\n    auth_pass 1\n  }",
        ["(keepalived.conf: Line 8) (X) unknown authentication type 'XX'"],
    ),
    (
        "state MASTER\n  priority 100\n  authentication {\n    auth_type AH\n    auth_pass 1\n  }",
        [f"{L1} (X) Initial state master is incompatible with AH authentication - clearing"],
    ),
    ("garp_master_repeat 0", [f"{L7} (X): garp_master_repeat must be greater than 0, setting to 1"]),
    (
        "garp_master_delay x",
        [f"{L7} invalid number 'x'", f"{L7} (X): garp_master_delay 'x' invalid - ignoring"],
    ),
    (
        "garp_lower_prio_repeat -1",
        [f"{L7} negative number '-1'", f"{L7} (X): Invalid garp_lower_prio_repeat '-1'"],
    ),
    (
        "down_timer_adverts 101",
        [f"{L7} number '101' outside range [1, 100]", f"{L7} (X): Invalid down_timer_adverts [1:100] '101'"],
    ),
    (
        "debug 5",
        [f"{L7} number '5' outside range [0, 4]", f"{L7} (X) Debug value '5' not valid; must be between 0-4"],
    ),
    ("lower_prio_no_advert x", [f"{L7} (X) invalid lower_prio_no_advert x specified"]),
    ("smtp_alert x", [f"{L7} Invalid vrrp_instance smtp_alert parameter x"]),
    (
        "unicast_ttl 5",
        ["(keepalived.conf: Line 8) (X): Cannot use unicast_ttl without unicast peers - resetting"],
    ),
    (
        "unicast_src_ip 10.0.0.1",
        [
            f"{L1} (X) A unicast keyword has been specified without any unicast peers."
            " Defaulting to multicast. This usage is deprecated - please update your configuration."
        ],
    ),
    (
        "unicast_src_ip abc",
        [
            f"{L7} Configuration error: VRRP instance[X] malformed src address[abc]. Skipping...",
            f"{L1} (X) A unicast keyword has been specified without any unicast peers."
            " Defaulting to multicast. This usage is deprecated - please update your configuration.",
        ],
    ),
    ("mcast_dst_ip 10.0.0.1", [f"{L7} (X) mcast_dst_ip 10.0.0.1 not multicast. Skipping..."]),
    ("native_ipv6", [f"{L7} (X) Cannot specify native_ipv6 with IPv4 addresses"]),
    ("interface averyveryverylongname", [f"{L7} Interface name 'averyveryverylongname' too long - ignoring"]),
    (
        "notify_master /bin/true\n  notify_master /bin/false",
        ["(keepalived.conf: Line 8) (X) notify_master script already specified - ignoring /bin/false"],
    ),
    (
        "priority",
        [
            f"{L7} *** Configuration line starting `priority` is missing a parameter after keyword"
            " `priority` at word position 2"
        ],
    ),
]


@pytest.mark.parametrize(("body", "expected"), CASES, ids=[case[0].split("\n")[-1] for case in CASES])
def test_instance_mistakes_in_keepalived_words(body: str, expected: list[str]) -> None:
    _, diagnostics = parse(instance_text("  " + body))
    assert messages(diagnostics) == expected
    assert config_test_exit_code(diagnostics) == 3


VIP_CASES = [
    ("10.0.0.300", ["VRRP parsed invalid IP 10.0.0.300. skipping IP..."]),
    (
        "10.0.0.5/33",
        [
            "number '33' outside range [0, 32]",
            "Invalid address prefix len 33 for address 10.0.0.5/33 - using 32",
        ],
    ),
    ("10.0.0.5 dev", ["No dev parameter specified for 10.0.0.5"]),
    ("10.0.0.5 scope bogus", ["Invalid scope 'bogus' specified for 10.0.0.5 - ignoring"]),
    ("10.0.0.5 brd foo", ["VRRP is trying to assign invalid broadcast foo. skipping VIP..."]),
    ("10.0.0.5/24 peer 10.0.0.6", ["Cannot specify address prefix when specifying peer address - ignoring"]),
    (
        "10.0.0.5 peer 10.0.0.6 peer 10.0.0.7",
        [
            "Peer 10.0.0.7 - another peer has already been specified",
            "Unknown configuration entry '10.0.0.7' for ip address - ignoring",
        ],
    ),
    (
        "10.0.0.5 brd 10.0.0.255 peer 10.0.0.6",
        ["Cannot specify broadcast and peer addresses - ignoring broadcast address"],
    ),
    (
        "10.0.0.5 label vA:averyveryverylonglabel",
        ["Address label vA:averyveryverylonglabel is longer than maximum length 15 - removing address"],
    ),
    ("10.0.0.5 nonsense", ["Unknown configuration entry 'nonsense' for ip address - ignoring"]),
    ("10.0.0.5 dev vA dev vB", ["Cannot specify ipaddress device more than once for 10.0.0.5"]),
    ("10.0.0.5 dev eth9", ["WARNING - interface eth9 for ip address 10.0.0.5 doesn't exist"]),
    ("10.0.0.5 preferred_lft x", ["invalid number 'x'", "preferred_lft x is invalid"]),
    ("fe80::1", ["(X): address family must match VRRP instance [fe80::1] - ignoring"]),
]


@pytest.mark.parametrize(("entry", "expected"), VIP_CASES, ids=[case[0] for case in VIP_CASES])
def test_virtual_address_mistakes(entry: str, expected: list[str]) -> None:
    text = (
        "vrrp_instance X {\n  interface vA\n  virtual_router_id 5\n  virtual_ipaddress {\n"
        f"    10.0.0.1\n    {entry}\n  }}\n}}\n"
    )
    _, diagnostics = parse(text)
    located = [m for m in messages(diagnostics) if m.startswith("(keepalived.conf: Line 6) ")]
    assert [m.removeprefix("(keepalived.conf: Line 6) ") for m in located] == expected


def test_a_missing_interface_is_reported_once_more_at_the_end() -> None:
    _, diagnostics = parse(
        instance_text("  track_interface {\n    nosuch0\n  }").replace("interface vA", "interface nosuch1")
    )
    assert messages(diagnostics) == [
        "(keepalived.conf: Line 2) WARNING - interface nosuch1 for vrrp_instance X doesn't exist",
        "(keepalived.conf: Line 8) (X) tracked interface nosuch0 doesn't exist",
        "Non-existent interface specified in configuration",
    ]


def test_instances_keepalived_cannot_run_are_dropped_each_with_its_reason() -> None:
    text = (
        "vrrp_instance A {\n  interface vA\n}\n"
        "vrrp_instance B {\n  virtual_router_id 6\n}\n"
        "vrrp_instance C {\n  interface vA\n  virtual_router_id 7\n  version 3\n}\n"
        "vrrp_instance D {\n  interface vA\n  virtual_router_id 8\n}\n"
    )
    config, diagnostics = parse(text)
    assert messages(diagnostics) == [
        "(keepalived.conf: Line 1) (A) the virtual router id must be set",
        "(keepalived.conf: Line 4) (B) Unknown interface!",
        "(keepalived.conf: Line 7) (C) No VIP specified; at least one is required",
        "(keepalived.conf: Line 12) (D) No VIP specified; at least one is sensible",
    ]
    assert config is not None
    assert [i.name for i in config.instances] == ["D"]
    severities = [d.severity for d in diagnostics]
    assert severities == [Severity.ERROR, Severity.ERROR, Severity.ERROR, Severity.WARNING]


def test_duplicate_and_nameless_instances() -> None:
    text = (
        "vrrp_instance X {\n interface vA\n virtual_router_id 5\n virtual_ipaddress {\n  10.0.0.5\n }\n}\n"
        "vrrp_instance X {\n interface eth0\n}\nvrrp_instance\nvrrp_instance A B {\n interface vB\n}\n"
    )
    config, diagnostics = parse(text)
    assert messages(diagnostics) == [
        "(keepalived.conf: Line 8) vrrp instance X already defined",
        "(keepalived.conf: Line 11) vrrp_instance must have a name",
        "(keepalived.conf: Line 12) Missing '{' at beginning of configuration block",
        "(keepalived.conf: Line 12) Unknown keyword 'vrrp_instance'",
        "(keepalived.conf: Line 12) Unexpected '{' - ignoring",
    ]
    assert config is not None
    # keepalived applies a refused block's keywords to the instance before it
    assert config.instance("X").interface == "vB"
