"""Property tests: whatever the text, the reader returns diagnostics, never an exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from kaconf_support import MAIN, instance_text, parse

from hapair.config.keepalived import InMemorySources, Severity, check_config, dump_config, format_diagnostics

KEYWORDS = [
    "global_defs", "vrrp_instance", "vrrp_script", "vrrp_sync_group", "virtual_server", "interface", "state",
    "MASTER", "BACKUP", "priority", "advert_int", "virtual_router_id", "virtual_ipaddress", "unicast_peer",
    "track_script", "track_interface", "authentication", "auth_type", "auth_pass", "PASS", "notify_master",
    "notify", "script", "weight", "reverse", "include", "group", "nopreempt", "version", "dev", "scope",
    "label", "brd", "peer", "10.0.0.1/24", "fe80::1", "300", "-1", "0.5", "abc", "VI_1", "chk",
    "{", "}", "{", "}",
    '"', "'", "#", "!", "\\", "$X=", "$X", "${X}", "${_RANDOM 1 2}", "@node1", "@^node1",
    "~SEQ(N, 1, 3)", "~LST(L, a, b)", "\t", "한국어", "\x00",
]  # fmt: skip

tokens = st.lists(st.sampled_from(KEYWORDS) | st.text(max_size=6), max_size=40)
lines = st.lists(tokens.map(" ".join), max_size=30).map("\n".join)


def check_invariants(text: str, files: dict[str, str] | None = None) -> None:
    config, diagnostics = parse(text, files, config_id="node1")
    for diagnostic in diagnostics:
        assert isinstance(diagnostic.severity, Severity)
        assert diagnostic.message
        if diagnostic.location is not None:
            assert diagnostic.location.line >= 0
    assert format_diagnostics(diagnostics) is not None
    if config is not None:
        assert dump_config(config).startswith("Configuration file")
        for instance in config.instances:
            assert 1 <= instance.virtual_router_id <= 255
            assert 1 <= instance.priority <= 255
            assert instance.version in (2, 3)
            assert instance.advert_int_us > 0
    else:
        assert any(d.severity is Severity.FATAL for d in diagnostics)


@settings(max_examples=300, deadline=None)
@given(lines)
def test_random_token_streams_only_yield_diagnostics(text: str) -> None:
    check_invariants(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_only_yields_diagnostics(text: str) -> None:
    check_invariants(text)


@settings(max_examples=200, deadline=None)
@given(tokens.map(" ".join), st.integers(min_value=0, max_value=7))
def test_garbage_inside_a_valid_instance_only_yields_diagnostics(garbage: str, where: int) -> None:
    valid = instance_text("  priority 100\n  nopreempt").split("\n")
    valid.insert(where, garbage)
    check_invariants("\n".join(valid), {"inc.conf": garbage})


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_undecodable_and_control_bytes(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    config, diagnostics = check_config(MAIN, InMemorySources({MAIN: text}))
    assert config is not None or diagnostics
