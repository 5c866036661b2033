"""DRBD's option tables: names, types, limits, defaults and units, for DRBD 8.4 and 9 together.

The numbers are the ones `drbdsetup xml-help <command>` prints for drbd-utils 9.22 (v9 and the
8.4 compatibility binary `drbdsetup-84`), i.e. `drbd_limits.h`; where the two versions differ the
union is taken (the wider range, every enum value either accepts). The interop test
`tests/interop/test_drbdconf_tables.py` compares these tables with `drbdsetup xml-help`.

Numbers are stored in DRBD's *default unit* for the option ("scale"): ``1`` (plain: seconds,
tenths of seconds, bytes, counts, as the `unit` says), ``k`` (KiB, e.g. resync-rate in KiB/s) or
``s`` (512-byte sectors). A value may carry a suffix K/M/G (powers of 1024, either case) or ``s``
(sectors); converting to a smaller default unit rounds up, as drbdsetup's ``new_strtoll`` does.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import assert_never

CanonicalValue = int | bool | str


class ValueKind(enum.Enum):
    NUMBER = "number"
    BOOLEAN = "boolean"
    ENUM = "enum"
    STRING = "string"
    ENUM_NUMBER = "enum-or-number"  # quorum: off | majority | all | N
    WORDS = "words"  # become-primary-on: one or more host names
    FLAG = "flag"  # stacked-timeouts: present or absent, no value


@dataclass(frozen=True, slots=True)
class OptionSpec:
    name: str
    kind: ValueKind
    default: CanonicalValue | None = None
    minimum: int = 0
    maximum: int = 0
    scale: str = "1"
    unit: str = ""
    choices: tuple[str, ...] = ()
    max_length: int = 0  # strings: length must stay below this (drbdadm: strlen >= max is too long)
    clamp: bool = False  # out-of-range numbers are clamped silently (al-extents), not rejected


def _num(
    name: str, lo: int, hi: int, default: int, *, scale: str = "1", unit: str = "", clamp: bool = False
) -> OptionSpec:
    return OptionSpec(name, ValueKind.NUMBER, default, lo, hi, scale, unit, clamp=clamp)


def _bool(name: str, default: bool) -> OptionSpec:
    return OptionSpec(name, ValueKind.BOOLEAN, default)


def _enum(name: str, default: str, *choices: str) -> OptionSpec:
    return OptionSpec(name, ValueKind.ENUM, default, choices=choices)


def _str(name: str, max_length: int = 0) -> OptionSpec:
    return OptionSpec(name, ValueKind.STRING, None, max_length=max_length)


def _table(*specs: OptionSpec) -> Mapping[str, OptionSpec]:
    return {spec.name: spec for spec in specs}


TENTHS = "1/10 seconds"
AFTER_SB_0PRI = (
    "disconnect",
    "discard-younger-primary",
    "discard-older-primary",
    "discard-zero-changes",
    "discard-least-changes",
    "discard-local",
    "discard-remote",
)
DISCARD_NODE_PREFIX = "discard-node-"

NET_OPTIONS = _table(
    _enum("protocol", "C", "A", "B", "C"),
    _num("timeout", 1, 600, 60, unit=TENTHS),
    _num("max-epoch-size", 1, 20000, 2048),
    _num("max-buffers", 32, 131072, 2048, unit="pages"),
    _num("unplug-watermark", 1, 131072, 128),
    _num("connect-int", 1, 120, 10, unit="seconds"),
    _num("ping-int", 1, 120, 10, unit="seconds"),
    _num("sndbuf-size", 0, 10 << 20, 0, unit="bytes"),
    _num("rcvbuf-size", 0, 10 << 20, 0, unit="bytes"),
    _num("ko-count", 0, 200, 7),
    _bool("allow-two-primaries", False),
    _str("cram-hmac-alg"),
    _str("shared-secret", max_length=64),
    _enum("after-sb-0pri", "disconnect", *AFTER_SB_0PRI),
    _enum(
        "after-sb-1pri",
        "disconnect",
        "disconnect",
        "consensus",
        "discard-secondary",
        "call-pri-lost-after-sb",
        "violently-as0p",
    ),
    _enum("after-sb-2pri", "disconnect", "disconnect", "call-pri-lost-after-sb", "violently-as0p"),
    _bool("always-asbp", False),
    _enum(
        "rr-conflict",
        "disconnect",
        "disconnect",
        "call-pri-lost",
        "violently",
        "retry-connect",
        "auto-discard",
    ),
    _num("ping-timeout", 1, 300, 5, unit=TENTHS),
    _str("data-integrity-alg"),
    _bool("tcp-cork", True),
    _enum("on-congestion", "block", "block", "pull-ahead", "disconnect"),
    _num("congestion-fill", 0, 20971520, 0, scale="s", unit="bytes"),
    _num("congestion-extents", 67, 65534, 1237),
    _str("csums-alg"),
    _bool("csums-after-crash-only", False),
    _str("verify-alg"),
    _bool("use-rle", True),
    _num("socket-check-timeout", 0, 300, 0, unit=TENTHS),
    _enum("fencing", "dont-care", "dont-care", "resource-only", "resource-and-stonith"),
    _bool("allow-remote-read", True),
    _str("transport"),
)

DISK_OPTIONS = _table(
    _enum("on-io-error", "detach", "pass_on", "call-local-io-error", "detach"),
    _bool("disk-barrier", False),
    _bool("disk-flushes", True),
    _bool("disk-drain", True),
    _bool("md-flushes", True),
    _str("resync-after"),
    _num("al-extents", 67, 65534, 1237, clamp=True),
    _bool("al-updates", True),
    _bool("discard-zeroes-if-aligned", True),
    _bool("disable-write-same", False),
    _num("disk-timeout", 0, 6000, 0, unit=TENTHS),
    _enum(
        "read-balancing",
        "prefer-local",
        "prefer-local",
        "prefer-remote",
        "round-robin",
        "least-pending",
        "when-congested-remote",
        "32K-striping",
        "64K-striping",
        "128K-striping",
        "256K-striping",
        "512K-striping",
        "1M-striping",
    ),
    _num("rs-discard-granularity", 0, 1 << 20, 0, unit="bytes"),
    _num("max-bio-bvecs", 0, 128, 0),
    _num("size", 0, 2 << 40, 0, scale="s", unit="bytes"),
)

# DRBD 9 calls these peer-device options; they may be written in any disk section (DRBD 8.4 had
# them as plain disk options) and also in a connection's disk section.
PEER_DEVICE_OPTIONS = _table(
    _num("resync-rate", 1, 8 << 20, 250, scale="k", unit="bytes/second"),
    _num("c-plan-ahead", 0, 300, 20, unit=TENTHS),
    _num("c-delay-target", 1, 100, 10, unit=TENTHS),
    _num("c-fill-target", 0, 1 << 20, 100, scale="s", unit="bytes"),
    _num("c-max-rate", 0, 4 << 20, 102400, scale="k", unit="bytes/second"),
    _num("c-min-rate", 0, 4 << 20, 250, scale="k", unit="bytes/second"),
    _bool("bitmap", True),
)

RESOURCE_OPTIONS = _table(
    _str("cpu-mask"),
    _enum("on-no-data-accessible", "io-error", "io-error", "suspend-io"),
    _bool("auto-promote", True),
    _num("peer-ack-window", 2048, 204800, 4096, scale="s", unit="bytes"),
    _num("peer-ack-delay", 1, 10000, 100, unit="milliseconds"),
    _num("twopc-timeout", 50, 600, 300, unit=TENTHS),
    _num("twopc-retry-timeout", 1, 50, 1, unit=TENTHS),
    _num("auto-promote-timeout", 0, 600, 20, unit=TENTHS),
    _num("max-io-depth", 4, 4294967295, 8000),
    OptionSpec("quorum", ValueKind.ENUM_NUMBER, "off", 1, 32, choices=("off", "majority", "all")),
    _enum("on-no-quorum", "suspend-io", "io-error", "suspend-io"),
    OptionSpec(
        "quorum-minimum-redundancy", ValueKind.ENUM_NUMBER, "off", 1, 32, choices=("off", "majority", "all")
    ),
    _enum("on-suspended-primary-outdated", "disconnect", "disconnect", "force-secondary"),
)

STARTUP_OPTIONS = _table(
    _num("wfc-timeout", 0, 300000, 0, unit="seconds"),
    _num("degr-wfc-timeout", 0, 300000, 0, unit="seconds"),
    _num("outdated-wfc-timeout", 0, 300000, 0, unit="seconds"),
    _bool("wait-after-sb", False),
    OptionSpec("become-primary-on", ValueKind.WORDS),
    OptionSpec("stacked-timeouts", ValueKind.FLAG, False),
)

HANDLERS = _table(
    *(
        _str(name)
        for name in (
            "pri-on-incon-degr",
            "pri-lost-after-sb",
            "pri-lost",
            "initial-split-brain",
            "split-brain",
            "fence-peer",
            "unfence-peer",
            "local-io-error",
            "before-resync-target",
            "after-resync-target",
            "before-resync-source",
            "out-of-sync",
            "quorum-lost",
            "disconnected",
        )
    )
)

# Old names drbdadm still accepts: `syncer { rate; after; }` and the `outdate-peer` handler.
ALIASES: Mapping[str, str] = {"rate": "resync-rate", "after": "resync-after", "outdate-peer": "fence-peer"}

_NUMBER = re.compile(r"([0-9]+)([kKmMgGs]?)")
_SCALE_SHIFT = {"1": 0, "k": -10, "s": -9}
_UNIT_SHIFT = {"": 0, "k": 10, "K": 10, "m": 20, "M": 20, "g": 30, "G": 30, "s": 9}


def parse_number(text: str, scale: str) -> int | None:
    """`text` ("100M", "8k", "60", "1s") in units of `scale`; None when it is not a number."""
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    value = int(match.group(1))
    if not match.group(2):
        return value  # a plain number is already in the default unit
    shift = _SCALE_SHIFT[scale] + _UNIT_SHIFT[match.group(2)]
    if shift < 0:
        return (value + (1 << -shift) - 1) >> -shift
    return value << shift


def check_value(spec: OptionSpec, text: str) -> tuple[CanonicalValue | None, str]:
    """Convert one written value. Returns (canonical value, "") or (None, why it is wrong)."""
    match spec.kind:
        case ValueKind.NUMBER:
            return _check_number(spec, text)
        case ValueKind.BOOLEAN:
            if text in ("yes", "no"):
                return text == "yes", ""
            return None, "Value is not 'yes' or 'no'"
        case ValueKind.ENUM:
            if spec.name == "protocol" and text.upper() in spec.choices:
                return text.upper(), ""
            if text in spec.choices:
                return text, ""
            if spec.name == "after-sb-0pri" and text.startswith(DISCARD_NODE_PREFIX) and len(text) > 13:
                return text, ""
            return None, "Value is not valid. Allowed values are: " + " | ".join(spec.choices)
        case ValueKind.ENUM_NUMBER:
            if text in spec.choices:
                return text, ""
            if parse_number(text, spec.scale) is None:
                allowed = " | ".join(spec.choices)
                return (
                    None,
                    f"Value is not valid. Allowed values are: {allowed} | {spec.minimum}..{spec.maximum}",
                )
            return _check_number(spec, text)
        case ValueKind.STRING | ValueKind.WORDS:
            if spec.max_length and len(text) >= spec.max_length:
                return None, f"Value is too long (at most {spec.max_length - 1} characters)"
            return text, ""
        case ValueKind.FLAG:
            return None, f"{spec.name} takes no value"
        case _:
            assert_never(spec.kind)


def _check_number(spec: OptionSpec, text: str) -> tuple[int | None, str]:
    value = parse_number(text, spec.scale)
    if value is None:
        return None, "Value is not a number"
    unit = "" if spec.scale == "1" else spec.scale
    if value < spec.minimum:
        if spec.clamp:
            return spec.minimum, ""
        return None, f"Value is too small ({value}{unit} < {spec.minimum}{unit})"
    if value > spec.maximum:
        if spec.clamp:
            return spec.maximum, ""
        return None, f"Value is too big ({value}{unit} > {spec.maximum}{unit})"
    return value, ""
