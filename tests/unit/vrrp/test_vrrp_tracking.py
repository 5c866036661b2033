"""vrrp_script rise/fall, schedule and log lines; weight arithmetic; fault conditions."""

from __future__ import annotations

import pytest

from hapair.core.vrrp import (
    InstanceSettings,
    LogLine,
    RunTrackScript,
    ScriptOutcome,
    ScriptResult,
    ScriptStatus,
    ScriptTracker,
    TrackedInterface,
    TrackedScript,
    VrrpScriptSettings,
    seconds,
)
from hapair.core.vrrp.tracking import TrackedState, weight_adjustment


def tracker(**kw: object) -> ScriptTracker:
    base: dict[str, object] = {"name": "chk", "script": "/bin/chk"}
    base.update(kw)
    return ScriptTracker(VrrpScriptSettings(**base))  # type: ignore[arg-type]


def texts(effects: list[object]) -> list[str]:
    return [e.text for e in effects if isinstance(e, LogLine)]


def feed(t: ScriptTracker, *codes: int) -> list[tuple[list[str], ScriptStatus | None]]:
    out = []
    for code in codes:
        effects, changed = t.on_result(ScriptResult("chk", ScriptOutcome.EXITED, code))
        out.append((texts(list(effects)), changed))
    return out


def test_first_success_is_enough_and_is_logged() -> None:
    t = tracker(rise=3, fall=2)
    assert feed(t, 0) == [(["VRRP_Script(chk) succeeded"], ScriptStatus.OK)]


def test_first_failure_is_reported_at_once() -> None:
    t = tracker(rise=2, fall=2)
    assert feed(t, 1) == [
        (
            ["Script `chk` now returning 1", "VRRP_Script(chk) failed (exited with status 1)"],
            ScriptStatus.FAILED,
        )
    ]


def test_fall_and_rise_counts_like_keepalived_a_s() -> None:
    """A_s.log: fall 2 rise 2; 'now returning 1' at the first failure, 'failed' at the second."""
    t = tracker(rise=2, fall=2)
    feed(t, 0)
    assert feed(t, 1, 1, 1) == [
        (["Script `chk` now returning 1"], None),
        (["VRRP_Script(chk) failed (exited with status 1)"], ScriptStatus.FAILED),
        ([], None),
    ]
    assert feed(t, 0, 0, 0) == [
        (["Script `chk` now returning 0"], None),
        (["VRRP_Script(chk) succeeded"], ScriptStatus.OK),
        ([], None),
    ]


def test_a_failure_between_successes_does_not_flip_with_fall_2() -> None:
    t = tracker(rise=2, fall=2)
    feed(t, 0)
    assert [c for _, c in feed(t, 1, 0, 1, 0)] == [None, None, None, None]
    assert t.status is ScriptStatus.OK


def test_init_fail_starts_failed_and_needs_rise_successes() -> None:
    t = tracker(rise=2, init_fail=True)
    assert t.status is ScriptStatus.FAILED
    assert [c for _, c in feed(t, 1, 0, 0)] == [None, None, ScriptStatus.OK]


def test_timeout_and_signal_wording() -> None:
    t = tracker()
    effects, changed = t.on_result(ScriptResult("chk", ScriptOutcome.TIMED_OUT))
    assert texts(list(effects)) == ["VRRP_Script(chk) timed_out"] and changed is ScriptStatus.FAILED
    t2 = tracker()
    effects, _ = t2.on_result(ScriptResult("chk", ScriptOutcome.SIGNALLED, 9))
    assert texts(list(effects)) == ["VRRP_Script(chk) failed (due to signal 9)"]


def test_schedule_runs_at_interval_and_never_twice_at_once() -> None:
    t = tracker(interval=seconds(2), timeout=seconds(1))
    assert t.start(0) == [RunTrackScript("chk", "/bin/chk", seconds(1))]
    assert t.next_deadline() == seconds(2)
    assert t.on_timer(seconds(1)) == []
    busy = t.on_timer(seconds(2))
    assert texts(list(busy)) == ["Track script chk is already running, expect idle - skipping run"]
    t.on_result(ScriptResult("chk"))
    assert isinstance(t.on_timer(seconds(4))[0], RunTrackScript)
    t.stop()
    assert t.next_deadline() is None and t.on_timer(seconds(10)) == []


def test_timeout_defaults_to_interval() -> None:
    assert tracker(interval=seconds(3)).settings.effective_timeout == seconds(3)


@pytest.mark.parametrize(
    ("weight", "reverse", "ok", "adjustment"),
    [
        (10, False, True, 10),
        (10, False, False, 0),
        (-10, False, True, 0),
        (-10, False, False, -10),
        (10, True, True, -10),
        (10, True, False, 0),
        (-10, True, False, 10),
        (-10, True, True, 0),
        (10, False, None, 0),
        (0, False, False, 0),
    ],
)
def test_weight_adjustment(weight: int, reverse: bool, ok: bool | None, adjustment: int) -> None:
    assert weight_adjustment(weight, reverse, ok) == adjustment


def state(**kw: object) -> TrackedState:
    base: dict[str, object] = {"name": "VI_1", "virtual_router_id": 1, "interface": "eth0"}
    base.update(kw)
    return TrackedState(InstanceSettings(**base))  # type: ignore[arg-type]


def test_effective_priority_is_clamped_and_owner_is_fixed() -> None:
    s = state(priority=250, track_interfaces=(TrackedInterface("e1", 10), TrackedInterface("e2", -253)))
    assert s.effective_priority() == 254
    s.set_interface("e2", False)
    assert s.effective_priority() == 7
    s.set_interface("e1", False)
    assert s.effective_priority() == 1
    owner = state(priority=255, track_interfaces=(TrackedInterface("e1", -50),))
    owner.set_interface("e1", False)
    assert owner.effective_priority() == 255


def test_fault_conditions() -> None:
    s = state(
        track_interfaces=(TrackedInterface("e1"), TrackedInterface("e2", reverse=True)),
        track_scripts=(TrackedScript("chk"),),
    )
    assert s.awaiting_scripts()
    assert s.fault_causes() == ["(VI_1): entering FAULT state (interface e2 down)"], "reverse: down while up"
    s.set_script("chk", True)
    assert not s.awaiting_scripts()
    s.set_interface("e2", False)
    assert not s.down()
    s.set_interface("eth0", False)
    assert s.fault_causes() == ["(VI_1): entering FAULT state (interface eth0 down)"]
    assert not s.set_interface("other", False) and not s.set_script("other", False)


def test_dont_track_primary() -> None:
    s = state(dont_track_primary=True)
    s.set_interface("eth0", False)
    assert not s.down()
