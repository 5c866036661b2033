"""Lease arithmetic for the witness vote: why a holder never outlives its lease, under clock drift.

The witness grants a lease of `L` nanoseconds *on its own clock*, starting when the request reaches
it. The holder does not know that moment; it only knows when *it* sent the request. It believes it
holds the vote for `V` nanoseconds *on its own clock*, starting at that send time. No clocks are
synchronised: only their rates are bounded.

**Drift bound.** Every clock (each node's monotonic clock, the witness's) runs at a rate within
`[1 - rho, 1 + rho]` of real time, `rho = drift_ppm / 1_000_000`. So a local interval `d` lasts a
real time `r` with `d / (1 + rho) <= r <= d / (1 - rho)`. Offsets between clocks do not matter.

**The arithmetic.** The request leaves the holder at real time `t_s` and reaches the witness at
`t_r >= t_s` (delay is never negative). The witness frees the vote when its clock has advanced `L`
past `t_r`: at real time at least `t_r + L / (1 + rho)`. The holder stops believing when its clock
has advanced `V` past `t_s`: at real time at most `t_s + V / (1 - rho)`. The holder must stop
strictly before the witness frees, for any drift within the bound and any delay:

    t_s + V / (1 - rho)  <  t_r + L / (1 + rho)      which holds for all t_r >= t_s when
    V  <  L * (1 - rho) / (1 + rho)

`holder_validity_ns` computes `floor(L * (1e6 - ppm) / (1e6 + ppm)) - 1 us - margin`, which
satisfies the strict inequality with room for the rounding of clock readings (a reading is a whole
nanosecond, up to 1 ns below the ideal clock, on each side: a few ns at most). The margin (default
0.5 s) is time the holder gives up on top, so that the shell has time to act on the expiry
(suspend I/O) before the witness could grant the vote away.
Example: L = 10 s, drift 1 % (10,000 ppm): V = 9.802 s - 1 us - 0.5 s.

**Witness restarts.** A restarted witness has forgotten its grants. It grants nothing for a quiet
period of `L` on its own clock after it starts. Any lease granted before the crash (at real
`t_r <= crash <= restart`) was given up by its holder before `t_r + L / (1 + rho)`, and the quiet
period ends at real time at least `restart + L / (1 + rho)`, which is later.

**What a lease cannot do.** A process paused between checking its lease and acting on it (a write
issued just before a SIGSTOP) acts late; leases bound that window, they do not close it. The volume
therefore suspends I/O itself when it loses its peer and resumes only when told the vote is held.
"""

from __future__ import annotations

from dataclasses import dataclass

from hapair.errors import HapairError

PPM = 1_000_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
DEFAULT_LEASE_NS = 10 * NS_PER_S
DEFAULT_DRIFT_PPM = 10_000  # 1 %: generous for NTP-disciplined or free-running monotonic clocks
DEFAULT_MARGIN_NS = 500 * NS_PER_MS
MAX_DRIFT_PPM = 100_000  # 10 %: beyond this a "clock" is not one
READING_SLACK_NS = 1_000  # covers whole-nanosecond clock readings on both sides


class LeaseTermsError(HapairError):
    """Lease parameters that cannot give a safe, useful lease."""


@dataclass(frozen=True, slots=True)
class LeaseTerms:
    """How long the witness grants (`lease_ns`), the clock drift both sides assume, and the margin a
    holder gives up. Validated: the holder's validity must stay positive."""

    lease_ns: int = DEFAULT_LEASE_NS
    drift_ppm: int = DEFAULT_DRIFT_PPM
    margin_ns: int = DEFAULT_MARGIN_NS

    def __post_init__(self) -> None:
        if not 0 <= self.drift_ppm <= MAX_DRIFT_PPM:
            raise LeaseTermsError(f"drift bound {self.drift_ppm} ppm is outside [0, {MAX_DRIFT_PPM}]")
        if self.margin_ns < 0:
            raise LeaseTermsError("the margin must not be negative")
        if self.lease_ns <= 0 or holder_validity_ns(self.lease_ns, self.drift_ppm, self.margin_ns) <= 0:
            raise LeaseTermsError(
                f"a lease of {self.lease_ns} ns leaves the holder nothing after drift "
                f"({self.drift_ppm} ppm) and margin ({self.margin_ns} ns)"
            )

    def holder_validity(self, granted_lease_ns: int) -> int:
        """How long after sending its request a holder may believe a lease of `granted_lease_ns`."""
        return holder_validity_ns(granted_lease_ns, self.drift_ppm, self.margin_ns)

    @property
    def quiet_period_ns(self) -> int:
        """What a (re)started witness waits before its first grant."""
        return self.lease_ns


def holder_validity_ns(lease_ns: int, drift_ppm: int, margin_ns: int = 0) -> int:
    """`floor(lease * (1 - rho) / (1 + rho)) - 1 us - margin`, never negative (0: no validity)."""
    if lease_ns <= 0:
        return 0
    return max(0, (lease_ns * (PPM - drift_ppm)) // (PPM + drift_ppm) - READING_SLACK_NS - margin_ns)


def real_elapsed_bounds(local_ns: int, drift_ppm: int) -> tuple[int, int]:
    """The real time a local interval may last under the drift bound: (at least, at most), in ns,
    rounded outwards. For tests and for the status page's "worst case" figures."""
    low = (local_ns * PPM) // (PPM + drift_ppm)
    high = -((-local_ns * PPM) // (PPM - drift_ppm))
    return low, high


DEFAULT_TERMS = LeaseTerms()
