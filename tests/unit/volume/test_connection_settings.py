"""VolumeSettings: DRBD's defaults, limits and contradictions, named in DRBD's words."""

from __future__ import annotations

import pytest

from hapair.core.volume.settings import InvalidSettings, Protocol, VolumeSettings
from hapair.core.volume.split_brain import AfterSbPolicy
from hapair.core.volume.states import FencingPolicy

NS = 1_000_000_000


def make(**kw: object) -> VolumeSettings:
    return VolumeSettings(node_name="alice", peer_name="bob", **kw)  # type: ignore[arg-type]


def test_defaults_are_drbds() -> None:
    s = make()
    assert s.protocol is Protocol.C and s.al_extents == 1237 and s.resync_rate_kib == 250
    assert (s.ping_int_ns, s.ping_timeout_ns, s.timeout_ns, s.connect_int_ns) == (
        10 * NS,
        NS // 2,
        6 * NS,
        10 * NS,
    )
    assert s.ko_count == 7 and s.c_plan_ahead_ds == 20 and s.c_max_rate_kib == 102400
    assert not s.authenticates and s.cram_hmac_alg is None
    assert s.split_brain_policies.after_sb_0pri is AfterSbPolicy.DISCONNECT


def test_secret_without_algorithm_uses_sha256_and_runbook_sha1_is_kept() -> None:
    assert make(shared_secret="x").cram_hmac_alg == "sha256"
    assert make(cram_hmac_alg="sha1", shared_secret="FooFunFactory").cram_hmac_alg == "sha1"


@pytest.mark.parametrize(
    ("kw", "word"),
    [
        ({"al_extents": 66}, "al-extents"),
        ({"ping_timeout_ds": 0}, "ping-timeout"),
        ({"timeout_ds": 100}, "timeout must be smaller"),
        ({"cram_hmac_alg": "sha1"}, "shared-secret is not"),
        ({"shared_secret": "x" * 65}, "shared-secret"),
        ({"shared_secret": "x", "cram_hmac_alg": "md5"}, "not supported"),
        ({"verify_alg": "whirlpool"}, "verify-alg"),
        ({"protocol": Protocol.A, "fencing": FencingPolicy.RESOURCE_AND_STONITH}, "protocol B or C"),
        ({"after_sb_1pri": AfterSbPolicy.DISCARD_ZERO_CHANGES}, "after-sb-1pri"),
        ({"allow_two_primaries": True}, "allow-two-primaries"),
        ({"size_bytes": 1000}, "sectors"),
    ],
)
def test_bad_values_are_refused_by_name(kw: dict[str, object], word: str) -> None:
    with pytest.raises(InvalidSettings, match=word):
        make(**kw)


def test_names_must_differ() -> None:
    with pytest.raises(InvalidSettings):
        VolumeSettings(node_name="alice", peer_name="alice")
