"""Track scripts and tracked interfaces: when scripts run, their rise/fall state, and what it does to
an instance's priority and FAULT state.

`ScriptTracker` is one `vrrp_script`: it decides when the script must run (effect `RunTrackScript`
every `interval`, never two runs at once) and turns results into a status with keepalived's rise/fall
counter (`vrrp_script_child_thread`). Several instances may track one script; the tracker is shared
and reports status changes, which `VrrpNode` hands to every subscribed instance.

`TrackedState` is one instance's view: the latest status of each tracked script, interface and
condition (hapair's `TrackedCondition`, reported by the host and weighed exactly like a script), from
which the effective priority and the FAULT condition are computed. keepalived adjusts a running total
as events arrive; computing the same total from the current statuses is equivalent and cannot drift:

    weight > 0: +weight while OK            weight < 0: -|weight| while failed
    reverse:   the sign flips                weight 0:  FAULT while failed (reverse: while OK)
    no result yet: no adjustment; a weight-0 script without a result holds the instance in FAULT

and the effective priority is base + adjustments clamped to [1, 254], never changed for priority 255.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from hapair.core.vrrp.events import Effect, LogLine, RunTrackScript, ScriptOutcome, ScriptResult
from hapair.core.vrrp.settings import InstanceSettings, TrackedCondition, TrackedScript, VrrpScriptSettings


class ScriptStatus(enum.Enum):
    INIT = "init"  # no result yet
    OK = "ok"
    FAILED = "failed"


class ScriptTracker:
    """One vrrp_script: run schedule and rise/fall state."""

    def __init__(self, settings: VrrpScriptSettings) -> None:
        self.settings = settings
        self._rise = settings.rise
        self._fall = settings.fall
        # keepalived's `result`: >= rise means OK; rise + fall - 1 is "fully OK".
        self._result = 0 if settings.init_fail else settings.rise - 1
        self._initial = not settings.init_fail
        self._last_exit_status = 0
        self._running = False
        self._next_run: int | None = None
        self.status = ScriptStatus.FAILED if settings.init_fail else ScriptStatus.INIT

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def running(self) -> bool:
        return self._running

    def next_deadline(self) -> int | None:
        return self._next_run

    def start(self, now_ns: int) -> list[Effect]:
        """Begin the schedule: the first run is immediate, like keepalived's start-up event."""
        self._next_run = now_ns
        return self.on_timer(now_ns)

    def stop(self) -> None:
        self._next_run = None

    def on_timer(self, now_ns: int) -> list[Effect]:
        if self._next_run is None or now_ns < self._next_run:
            return []
        self._next_run = now_ns + self.settings.interval
        if self._running:
            return [
                LogLine(
                    f"Track script {self.name} is already running, expect idle - skipping run",
                    rate_limit_key=f"script-busy:{self.name}",
                )
            ]
        self._running = True
        return [RunTrackScript(self.name, self.settings.script, self.settings.effective_timeout)]

    def on_result(self, result: ScriptResult) -> tuple[list[Effect], ScriptStatus | None]:
        """Consume one finished run; return log lines and the new status if it changed."""
        self._running = False
        effects: list[Effect] = []
        if result.outcome is ScriptOutcome.EXITED:
            if result.code != self._last_exit_status:
                effects.append(LogLine(f"Script `{self.name}` now returning {result.code}"))
            self._last_exit_status = result.code
        changed: ScriptStatus | None = None
        full = self._rise + self._fall - 1
        if result.ok:
            if self._result < self._rise - 1:
                self._result += 1
            elif self._result != full:
                if self._result < self._rise:
                    effects.append(LogLine(f"VRRP_Script({self.name}) succeeded"))
                    changed = ScriptStatus.OK
                self._result = full
        elif self._result > self._rise:
            self._result -= 1
        else:
            if self._result == self._rise or self._initial:
                effects.append(LogLine(f"VRRP_Script({self.name}) {_failure_words(result)}"))
                changed = ScriptStatus.FAILED
            self._result = 0
        self._initial = False
        if changed is not None:
            self.status = changed
        return effects, changed


def _failure_words(result: ScriptResult) -> str:
    if result.outcome is ScriptOutcome.TIMED_OUT:
        return "timed_out"
    if result.outcome is ScriptOutcome.SIGNALLED:
        return f"failed (due to signal {result.code})"
    return f"failed (exited with status {result.code})"


def weight_adjustment(weight: int, reverse: bool, ok: bool | None) -> int:
    """What one weighted tracked object adds to the priority total (`ok` None: no result yet)."""
    if ok is None or weight == 0:
        return 0
    sign = -1 if reverse else 1
    if weight > 0:
        return weight * sign if ok else 0
    return weight * sign if not ok else 0


class TrackedState:
    """One instance's tracked scripts and interfaces, and what they imply."""

    def __init__(self, settings: InstanceSettings) -> None:
        self._settings = settings
        self._scripts: dict[str, ScriptStatus] = {t.name: ScriptStatus.INIT for t in settings.track_scripts}
        self._interfaces: dict[str, bool] = {t.name: True for t in settings.track_interfaces}
        self._conditions: dict[str, ScriptStatus] = {
            t.name: ScriptStatus.INIT for t in settings.track_conditions
        }
        self._primary_up = True

    def set_initial_script_statuses(self, statuses: Mapping[str, ScriptStatus]) -> None:
        for name, status in statuses.items():
            if name in self._scripts:
                self._scripts[name] = status

    def tracks_script(self, name: str) -> bool:
        return name in self._scripts

    def tracks_interface(self, name: str) -> bool:
        return name in self._interfaces or name == self._settings.interface

    def set_script(self, name: str, ok: bool) -> bool:
        """Record a script status; True if this instance tracks it."""
        if name not in self._scripts:
            return False
        self._scripts[name] = ScriptStatus.OK if ok else ScriptStatus.FAILED
        return True

    def tracks_condition(self, name: str) -> bool:
        return name in self._conditions

    def set_condition(self, name: str, ok: bool) -> bool:
        """Record a condition's status; True if this instance tracks it."""
        if name not in self._conditions:
            return False
        self._conditions[name] = ScriptStatus.OK if ok else ScriptStatus.FAILED
        return True

    def set_interface(self, name: str, up: bool) -> bool:
        """Record an interface state; True if this instance cares about it."""
        cares = False
        if name == self._settings.interface:
            self._primary_up = up
            cares = True
        if name in self._interfaces:
            self._interfaces[name] = up
            cares = True
        return cares

    def effective_priority(self) -> int:
        base = self._settings.priority
        if base == 255:
            return base
        total = base
        for iface in self._settings.track_interfaces:
            total += weight_adjustment(iface.weight, iface.reverse, self._interfaces[iface.name])
        for _, tracked, status in self._reported():
            ok = None if status is ScriptStatus.INIT else status is ScriptStatus.OK
            total += weight_adjustment(tracked.weight, tracked.reverse, ok)
        return max(1, min(254, total))

    def _reported(self) -> list[tuple[str, TrackedScript | TrackedCondition, ScriptStatus]]:
        """Every tracked script and condition with its status (both are weighed the same way)."""
        out: list[tuple[str, TrackedScript | TrackedCondition, ScriptStatus]] = [
            ("script", t, self._scripts[t.name]) for t in self._settings.track_scripts
        ]
        out += [("condition", t, self._conditions[t.name]) for t in self._settings.track_conditions]
        return out

    def fault_causes(self) -> list[str]:
        """keepalived's start-up lines for each reason the instance is down (empty: not faulted)."""
        name = self._settings.name
        causes: list[str] = []
        if not self._primary_up and not self._settings.dont_track_primary and self._settings.interface:
            causes.append(f"({name}): entering FAULT state (interface {self._settings.interface} down)")
        for iface in self._settings.track_interfaces:
            if iface.weight == 0 and self._interfaces[iface.name] == iface.reverse:
                causes.append(f"({name}): entering FAULT state (interface {iface.name} down)")
        for kind, tracked, status in self._reported():
            if (
                tracked.weight == 0
                and status is not ScriptStatus.INIT
                and (status is ScriptStatus.OK) == tracked.reverse
            ):
                causes.append(f"({name}): entering FAULT state due to {kind} {tracked.name}")
        return causes

    def faulted(self) -> bool:
        return bool(self.fault_causes())

    def awaiting_scripts(self) -> bool:
        """A weight-0 script (or condition) has not reported yet: keepalived keeps the instance down
        until it does."""
        return any(t.weight == 0 and status is ScriptStatus.INIT for _, t, status in self._reported())

    def down(self) -> bool:
        return self.faulted() or self.awaiting_scripts()
