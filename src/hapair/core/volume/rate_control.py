"""How fast a SyncTarget (or VerifyS) asks for blocks: DRBD's fixed rate or its dynamic controller.

The engine calls `requests_for_tick` every `TICK_NS` (DRBD's SLEEP_TIME, 100 ms of virtual time)
with the sectors that arrived since the last tick and the sectors still in flight; it gets the
number of sectors to request now.

- `c-plan-ahead 0`: a fixed rate, `resync-rate` KiB/s.
- otherwise DRBD 8.4's `drbd_rs_controller` (drbd_worker.c): keep `c-fill-target` sectors in
  flight (or, if that is 0, what arrives in `c-delay-target`), spreading the correction over a
  plan of `c-plan-ahead` ticks; never more than `c-max-rate`. At the very start nothing is in
  flight and nothing arrived, so the first plan is filled at `resync-rate`.

Either way the in-flight amount is capped at `max-buffers / 2` pages of 4 KiB, as DRBD does.
While application writes are going on, the resync is throttled down to `c-min-rate` (DRBD's
`drbd_rs_should_slow_down`; 0 means never throttle), so it does not starve the application.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from hapair.core.volume.settings import VolumeSettings

TICK_NS = 100_000_000
TICKS_PER_SECOND = 10
SECTORS_PER_KIB = 2
SECTORS_PER_BLOCK = 8


@dataclass(frozen=True, slots=True)
class ControllerParams:
    resync_rate_kib: int = 250
    c_plan_ahead: int = 20
    c_fill_target_sectors: int = 100
    c_delay_target: int = 10
    c_max_rate_kib: int = 102400
    c_min_rate_kib: int = 250
    max_buffers: int = 2048

    @classmethod
    def from_settings(cls, s: VolumeSettings) -> ControllerParams:
        return cls(
            resync_rate_kib=s.resync_rate_kib,
            c_plan_ahead=s.c_plan_ahead_ds,
            c_fill_target_sectors=s.c_fill_target_sectors,
            c_delay_target=s.c_delay_target_ds,
            c_max_rate_kib=s.c_max_rate_kib,
            c_min_rate_kib=s.c_min_rate_kib,
            max_buffers=s.max_buffers,
        )

    @property
    def max_in_flight_sectors(self) -> int:
        return (self.max_buffers // 2) * SECTORS_PER_BLOCK


class ResyncController:
    """One resync or verify run's rate decisions."""

    def __init__(self, params: ControllerParams) -> None:
        self.params = params
        steps = max(1, params.c_plan_ahead)
        self._plan: deque[int] = deque([0] * steps)
        self._plan_total = 0
        self._carry = 0  # fixed rate: sectors owed by rounding

    @property
    def dynamic(self) -> bool:
        return self.params.c_plan_ahead > 0

    def requests_for_tick(self, sect_in: int, in_flight: int, *, application_busy: bool = False) -> int:
        """Sectors to request in this tick; `application_busy`: application writes happened since
        the last tick."""
        p = self.params
        if not self.dynamic:
            rate = p.resync_rate_kib * SECTORS_PER_KIB + self._carry
            self._carry = rate % TICKS_PER_SECOND
            wanted = rate // TICKS_PER_SECOND
        else:
            wanted = self._controller(sect_in, in_flight)
        if application_busy and p.c_min_rate_kib:
            wanted = min(wanted, max(1, p.c_min_rate_kib * SECTORS_PER_KIB // TICKS_PER_SECOND))
        room = p.max_in_flight_sectors - in_flight
        return max(0, min(wanted, room))

    def _controller(self, sect_in: int, in_flight: int) -> int:
        p = self.params
        steps = len(self._plan)
        if in_flight + sect_in == 0:
            want = (p.resync_rate_kib * SECTORS_PER_KIB // TICKS_PER_SECOND) * steps
        elif p.c_fill_target_sectors:
            want = p.c_fill_target_sectors
        else:
            want = sect_in * p.c_delay_target
        correction = want - in_flight - self._plan_total
        per_step = int(correction / steps)  # C division truncates toward zero
        if per_step:
            for i in range(steps):
                self._plan[i] += per_step
            self._plan_total += per_step * steps
        current = self._plan.popleft()
        self._plan.append(0)
        self._plan_total -= current
        requested = max(0, sect_in + current)
        max_sectors = p.c_max_rate_kib * SECTORS_PER_KIB // TICKS_PER_SECOND
        return min(requested, max_sectors)
