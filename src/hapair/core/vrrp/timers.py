"""VRRP timer arithmetic, exactly as keepalived 2.2.7 computes it.

keepalived keeps time in microseconds and truncates at the same places as its macros
(`keepalived/include/vrrp.h`):

    VRRP_TIMER_SKEW   v2: (256 - prio) * 1000000 / 256
                      v3: (256 - prio) * (master_adver_int / 10000) * 625 / 16
    VRRP_MS_DOWN_TIMER  down_timer_adverts * master_adver_int + skew

with the *effective* priority and, for VRRPv3, the master advertisement interval learned from the
current master. We compute in microseconds with the same truncation and hand out nanoseconds, so the
figures match keepalived's to the microsecond (prio 100, advert 1 s: MDI 3.609375 s).
"""

from __future__ import annotations

NS_PER_US = 1_000
NS_PER_CS = 10_000_000
NS_PER_S = 1_000_000_000
US_PER_S = 1_000_000
US_PER_CS = 10_000


def cs_to_ns(centiseconds: int) -> int:
    return centiseconds * NS_PER_CS


def ns_to_cs(nanoseconds: int) -> int:
    """Whole centiseconds in `nanoseconds` (truncating, like keepalived's `adver_int / TIMER_CENTI_HZ`)."""
    return nanoseconds // NS_PER_CS


def skew_time_us(version: int, priority: int, master_adver_int_cs: int) -> int:
    """Skew_Time in microseconds for `priority` (0..255) and the master's interval in centiseconds."""
    if not 0 <= priority <= 255:
        raise ValueError(f"priority {priority} out of range 0..255")
    if version == 3:
        return ((256 - priority) * master_adver_int_cs * 625) // 16
    return ((256 - priority) * US_PER_S) // 256


def skew_time_ns(version: int, priority: int, master_adver_int_cs: int) -> int:
    return skew_time_us(version, priority, master_adver_int_cs) * NS_PER_US


def master_down_interval_ns(
    version: int, priority: int, master_adver_int_cs: int, down_timer_adverts: int = 3
) -> int:
    """Master_Down_Interval: `down_timer_adverts` x the master's interval + Skew_Time, in nanoseconds."""
    if down_timer_adverts < 1:
        raise ValueError(f"down_timer_adverts must be at least 1, got {down_timer_adverts}")
    master_us = master_adver_int_cs * US_PER_CS
    return (down_timer_adverts * master_us + skew_time_us(version, priority, master_adver_int_cs)) * NS_PER_US


def owner_down_interval_ns(version: int, priority: int, master_adver_int_cs: int) -> int:
    """The shorter wait keepalived gives an address owner leaving FAULT: one interval + skew."""
    master_us = master_adver_int_cs * US_PER_CS
    return (master_us + skew_time_us(version, priority, master_adver_int_cs)) * NS_PER_US
