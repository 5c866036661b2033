"""Timer arithmetic against the research figures and keepalived's microsecond truncation."""

from __future__ import annotations

import pytest

from hapair.core.vrrp.timers import (
    cs_to_ns,
    master_down_interval_ns,
    ns_to_cs,
    owner_down_interval_ns,
    skew_time_ns,
    skew_time_us,
)


@pytest.mark.parametrize(
    ("version", "priority", "interval_cs", "mdi_ns"),
    [
        (2, 100, 100, 3_609_375_000),  # research 2.1: prio 100, advert 1 s
        (2, 150, 100, 3_414_062_000),  # 3 + 106/256 = 3.4140625 -> truncated to the microsecond
        (2, 254, 100, 3_007_812_000),
        (2, 1, 100, 3_996_093_000),
        (2, 100, 300, 9_609_375_000),  # v2 skew ignores the interval
        (3, 100, 100, 3_609_375_000),
        (3, 100, 10, 360_937_000),  # advert 0.1 s: measured 0.361 s
        (3, 100, 2, 72_187_000),  # advert 0.02 s: measured 0.073 s
        (3, 150, 50, 1_707_031_000),
        (3, 100, 0, 0),  # a master advertising 0 cs: keepalived's backup times out at once
    ],
)
def test_master_down_interval(version: int, priority: int, interval_cs: int, mdi_ns: int) -> None:
    assert master_down_interval_ns(version, priority, interval_cs) == mdi_ns


def test_skew_times() -> None:
    assert skew_time_ns(2, 100, 100) == 609_375_000  # clean-stop takeover measured 0.614 s
    assert skew_time_ns(3, 100, 10) == 60_937_000  # measured 0.061 s
    assert skew_time_us(3, 100, 2) == 12_187
    assert skew_time_us(2, 0, 100) == 1_000_000
    assert skew_time_us(2, 255, 100) == 3_906


def test_down_timer_adverts_and_owner_interval() -> None:
    assert master_down_interval_ns(2, 100, 100, down_timer_adverts=5) == 5_609_375_000
    assert owner_down_interval_ns(2, 255, 100) == 1_003_906_000
    with pytest.raises(ValueError):
        master_down_interval_ns(2, 100, 100, down_timer_adverts=0)
    with pytest.raises(ValueError):
        skew_time_us(2, 256, 100)


def test_unit_conversions() -> None:
    assert cs_to_ns(4095) == 40_950_000_000
    assert ns_to_cs(19_999_999) == 1
