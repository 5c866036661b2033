"""The options of one replicated volume, with DRBD 8.4's defaults and limits (drbd_limits.h).

The lead fills `VolumeSettings` from the parsed `.res` file; values keep DRBD's units, named in
the field (`_ds` tenths of a second, `_s` seconds, `_kib` KiB or KiB/s, `_sectors` 512 bytes), so
a config value can be copied across unchanged. Properties give the nanosecond and byte forms the
cores use. Out-of-range or contradictory values raise `InvalidSettings` naming the option.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hapair.core.volume.auth import DEFAULT_ALGORITHM, MAX_SECRET_LEN, normalise_algorithm
from hapair.core.volume.digests import DIGESTS
from hapair.core.volume.split_brain import (
    AFTER_SB_0PRI_POLICIES,
    AFTER_SB_1PRI_POLICIES,
    AFTER_SB_2PRI_POLICIES,
    AfterSbPolicy,
    RrConflict,
    SplitBrainPolicies,
)
from hapair.core.volume.states import FencingPolicy, OnNoDataAccessible
from hapair.errors import HapairError

NS_PER_DS = 100_000_000
NS_PER_S = 1_000_000_000


class InvalidSettings(HapairError, ValueError):
    """An option is out of DRBD's range or contradicts another option."""


class Protocol(enum.Enum):
    """When an application write completes (DRBD `protocol`)."""

    A = "A"  # local disk + handed to the network
    B = "B"  # local disk + peer received it
    C = "C"  # local disk + peer's disk


class OnIoError(enum.Enum):
    DETACH = "detach"
    PASS_ON = "pass_on"
    CALL_LOCAL_IO_ERROR = "call-local-io-error"


def _policies_by_keyword(allowed: frozenset[AfterSbPolicy]) -> str:
    return ", ".join(sorted(p.keyword for p in allowed))


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise InvalidSettings(f"{name} {value} is out of range {low}..{high}")


@dataclass(frozen=True, slots=True, kw_only=True)
class VolumeSettings:
    """Everything the replica needs to know about its resource; defaults are DRBD's."""

    resource: str = "r0"
    node_name: str
    peer_name: str
    # net
    protocol: Protocol = Protocol.C
    # discard-node-NAME arrives resolved (split_brain.parse_after_sb) as DISCARD_LOCAL/_REMOTE
    after_sb_0pri: AfterSbPolicy = AfterSbPolicy.DISCONNECT
    after_sb_1pri: AfterSbPolicy = AfterSbPolicy.DISCONNECT
    after_sb_2pri: AfterSbPolicy = AfterSbPolicy.DISCONNECT
    rr_conflict: RrConflict = RrConflict.DISCONNECT
    always_asbp: bool = False
    allow_two_primaries: bool = False
    cram_hmac_alg: str | None = None
    shared_secret: str | None = None
    ping_int_s: int = 10
    ping_timeout_ds: int = 5
    timeout_ds: int = 60
    connect_int_s: int = 10
    ko_count: int = 7
    max_buffers: int = 2048
    max_epoch_size: int = 2048
    verify_alg: str | None = None
    csums_alg: str | None = None
    fencing: FencingPolicy = FencingPolicy.DONT_CARE
    # disk
    al_extents: int = 1237
    resync_rate_kib: int = 250
    c_plan_ahead_ds: int = 20
    c_fill_target_sectors: int = 100
    c_delay_target_ds: int = 10
    c_max_rate_kib: int = 102400
    c_min_rate_kib: int = 250
    on_io_error: OnIoError = OnIoError.DETACH
    disk_flushes: bool = True
    md_flushes: bool = True
    size_bytes: int = 0  # `size`: 0 = use the whole backing device
    # options
    on_no_data_accessible: OnNoDataAccessible = OnNoDataAccessible.IO_ERROR

    def __post_init__(self) -> None:
        if not self.node_name or not self.peer_name or self.node_name == self.peer_name:
            raise InvalidSettings("node and peer need two different, non-empty names")
        for name, value, allowed in (
            ("after-sb-0pri", self.after_sb_0pri, AFTER_SB_0PRI_POLICIES),
            ("after-sb-1pri", self.after_sb_1pri, AFTER_SB_1PRI_POLICIES),
            ("after-sb-2pri", self.after_sb_2pri, AFTER_SB_2PRI_POLICIES),
        ):
            if value not in allowed:
                raise InvalidSettings(f"{name} {value.keyword} is not one of {_policies_by_keyword(allowed)}")
        _check_range("ping-int", self.ping_int_s, 1, 120)
        _check_range("ping-timeout", self.ping_timeout_ds, 1, 300)
        _check_range("timeout", self.timeout_ds, 1, 600)
        _check_range("connect-int", self.connect_int_s, 1, 120)
        _check_range("ko-count", self.ko_count, 0, 200)
        _check_range("max-buffers", self.max_buffers, 32, 131072)
        _check_range("max-epoch-size", self.max_epoch_size, 1, 20000)
        _check_range("al-extents", self.al_extents, 67, 65534)
        _check_range("resync-rate", self.resync_rate_kib, 1, 4 << 20)
        _check_range("c-plan-ahead", self.c_plan_ahead_ds, 0, 300)
        _check_range("c-fill-target", self.c_fill_target_sectors, 0, 1 << 20)
        _check_range("c-delay-target", self.c_delay_target_ds, 1, 100)
        _check_range("c-max-rate", self.c_max_rate_kib, 250, 4 << 20)
        _check_range("c-min-rate", self.c_min_rate_kib, 0, 4 << 20)
        if self.size_bytes < 0 or self.size_bytes % 512:
            raise InvalidSettings(f"size {self.size_bytes} is not a whole number of sectors")
        if self.timeout_ds >= 10 * min(self.ping_int_s, self.connect_int_s):
            raise InvalidSettings("timeout must be smaller than ping-int and connect-int")
        if self.allow_two_primaries:
            raise InvalidSettings(
                "allow-two-primaries is not supported: hapair has no concurrent-write conflict detection"
            )
        if self.protocol is Protocol.A and self.fencing is FencingPolicy.RESOURCE_AND_STONITH:
            raise InvalidSettings("fencing resource-and-stonith needs protocol B or C")
        for name, alg in (("verify-alg", self.verify_alg), ("csums-alg", self.csums_alg)):
            if alg is not None and alg not in DIGESTS:
                raise InvalidSettings(f"{name} {alg!r} is not one of {', '.join(sorted(DIGESTS))}")
        self._check_auth()

    def _check_auth(self) -> None:
        if self.shared_secret is None:
            if self.cram_hmac_alg is not None:
                raise InvalidSettings("cram-hmac-alg is set but shared-secret is not")
            return
        if not 1 <= len(self.shared_secret.encode()) <= MAX_SECRET_LEN:
            raise InvalidSettings(f"shared-secret must be 1..{MAX_SECRET_LEN} bytes")
        try:
            object.__setattr__(
                self, "cram_hmac_alg", normalise_algorithm(self.cram_hmac_alg or DEFAULT_ALGORITHM)
            )
        except ValueError as exc:
            raise InvalidSettings(str(exc)) from None

    # ---- derived forms ----

    @property
    def split_brain_policies(self) -> SplitBrainPolicies:
        return SplitBrainPolicies(
            after_sb_0pri=self.after_sb_0pri,
            after_sb_1pri=self.after_sb_1pri,
            after_sb_2pri=self.after_sb_2pri,
            always_asbp=self.always_asbp,
            rr_conflict=self.rr_conflict,
        )

    @property
    def authenticates(self) -> bool:
        return self.shared_secret is not None

    @property
    def ping_int_ns(self) -> int:
        return self.ping_int_s * NS_PER_S

    @property
    def ping_timeout_ns(self) -> int:
        return self.ping_timeout_ds * NS_PER_DS

    @property
    def timeout_ns(self) -> int:
        return self.timeout_ds * NS_PER_DS

    @property
    def connect_int_ns(self) -> int:
        return self.connect_int_s * NS_PER_S

    @property
    def resolves_conflicts(self) -> bool:
        """The tie-break bit (DRBD RESOLVE_CONFLICTS): held by the node whose name sorts first."""
        return self.node_name < self.peer_name
