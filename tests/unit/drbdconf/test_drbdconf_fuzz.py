"""Garbage in, ConfigErrors out: the parser never crashes, and whatever it accepts it can dump
and read back to the same meaning."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hapair.config.drbd import DrbdConfig, MemoryReader, dump_config, load_resources, normalized_form
from hapair.config.drbd.options import (
    DISK_OPTIONS,
    HANDLERS,
    NET_OPTIONS,
    PEER_DEVICE_OPTIONS,
    RESOURCE_OPTIONS,
    OptionSpec,
    ValueKind,
)
from hapair.errors import ConfigError, ConfigErrors

DATA = Path(__file__).resolve().parents[2] / "data" / "drbd"
SEEDS = [*sorted((DATA / "good").glob("*.conf")), DATA / "runbook" / "r0.res"]
SEED_TEXTS = [p.read_text(encoding="utf-8") for p in SEEDS]

VOCABULARY = [
    "global", "common", "resource", "r0", "on", "alice", "bob", "floating", "stacked-on-top-of",
    "volume", "0", "1", "device", "/dev/drbd1", "minor", "disk", "/dev/sdb1", "none", "meta-disk",
    "internal", "flexible-meta-disk", "address", "ipv4", "ipv6", "10.0.0.1", "7789", "node-id",
    "net", "protocol", "C", "syncer", "rate", "100M", "after", "startup", "wfc-timeout",
    "become-primary-on", "handlers", "split-brain", "options", "quorum", "majority", "connection",
    "host", "port", "path", "connection-mesh", "hosts", "skip", "include", "usage-count", "yes",
    "no", "no-disk-flushes", "fencing", "resource-only", "after-sb-0pri", "discard-node-alice",
    "resync-after", "al-extents", "3", "{", "}", ";", ":", "[0]", "[fd00::1]", '"quoted value"',
    "#comment\n", "\n", "=", "\u00e9", "proxy", "via",
]  # fmt: skip


def load_text(text: str) -> DrbdConfig:
    return load_resources("fuzz.conf", MemoryReader({"fuzz.conf": text}))


def exercise(text: str) -> None:
    """Load `text`; on success, every node view, the dump, and its round trip must work."""
    try:
        config = load_text(text)
    except ConfigErrors as errors:
        assert errors.errors, "ConfigErrors without an error"
        for error in errors.errors:
            assert error.file == "fuzz.conf" and error.line >= 0 and error.message
        return
    for resource in config:
        for host in resource.hosts:
            try:
                view = config.node(resource.name, host.name)
            except ConfigError:
                continue
            assert view.resource == resource.name
    again = load_text(dump_config(config))
    assert normalized_form(again) == normalized_form(config)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=400))
def test_arbitrary_text(text: str) -> None:
    exercise(text)


@FUZZ
@given(st.lists(st.sampled_from(VOCABULARY), max_size=80).map(" ".join))
def test_token_soup(text: str) -> None:
    exercise(text)


@st.composite
def mutated_seed(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(SEED_TEXTS)).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "duplicate", "insert", "truncate", "swap"]))
        if action == "drop":
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "insert":
            lines.insert(at, " ".join(draw(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=5))))
        elif action == "truncate":
            cut = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:cut]
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
    return "\n".join(lines) + "\n"


@FUZZ
@given(mutated_seed())
def test_mutated_corpus_files(text: str) -> None:
    exercise(text)


def test_every_seed_loads_as_is() -> None:
    for path, text in zip(SEEDS, SEED_TEXTS, strict=True):
        if path.name == "r0.res":
            continue  # needs nothing else; loaded through runbook/drbd.conf elsewhere
        exercise(text)
        assert load_text(text).resources, path


def _value_text(spec: OptionSpec, draw: st.DrawFn) -> str:
    """A valid written value for `spec`, in any of the forms drbdadm accepts."""
    if spec.kind is ValueKind.NUMBER:
        number = draw(st.integers(spec.minimum, min(spec.maximum, spec.minimum + 100_000)))
        unit = {"1": "", "k": "k", "s": "s"}[spec.scale]
        return f"{number}{draw(st.sampled_from(['', unit])) if number else ''}"
    if spec.kind is ValueKind.BOOLEAN:
        return draw(st.sampled_from(["yes", "no"]))
    if spec.kind in (ValueKind.ENUM, ValueKind.ENUM_NUMBER):
        return draw(st.sampled_from(spec.choices))
    text = draw(st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), min_size=1, max_size=30))
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def valid_config(draw: st.DrawFn) -> str:
    sections = []
    for name, tables in (
        ("net", [NET_OPTIONS]),
        ("disk", [DISK_OPTIONS, PEER_DEVICE_OPTIONS]),
        ("options", [RESOURCE_OPTIONS]),
        ("handlers", [HANDLERS]),
    ):
        specs = [s for t in tables for s in t.values() if s.name not in ("resync-after", "after-sb-0pri")]
        chosen = draw(st.lists(st.sampled_from(specs), unique_by=lambda s: s.name, max_size=6))
        body = " ".join(f"{s.name} {_value_text(s, draw)};" for s in chosen)
        sections.append(f"{name} {{ {body} }}")
    common = draw(st.booleans())
    place = "common { " + sections[0] + " }\n" if common else ""
    return (
        place
        + "resource r {\n "
        + "\n ".join(sections[1:] if common else sections)
        + "\n device minor 3; disk /dev/sdz; meta-disk internal;\n"
        + " on a { address 10.0.0.1:7000; } on b { address 10.0.0.2:7000; }\n}\n"
    )


@FUZZ
@given(valid_config())
def test_valid_values_load_and_round_trip(text: str) -> None:
    config = load_text(text)
    exercise(text)
    view = config.node("r", "a")
    assert view.peer.net.protocol.value in ("A", "B", "C")
