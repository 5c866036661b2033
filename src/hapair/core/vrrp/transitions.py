"""The states of one VRRP instance and what entering each one does, keepalived 2.2.7's way.

`InstanceTransitions` holds an instance's state (timers, priorities, counters) and the transitions:
becoming master (advert first, then VIPs, GARPs, notify), leaving it (for BACKUP quietly, for FAULT
with two priority-0 adverts, as keepalived's vrrp_state_leave_master and vrrp_restore_interface each
send one), priority changes that move a backup's down timer, and the snapshot. `VrrpInstance` in
`instance.py` decides *when* to take them.
"""

from __future__ import annotations

from collections.abc import Mapping

from hapair.core.vrrp.events import (
    AddVips,
    Effect,
    InstanceState,
    LogLine,
    NotifyState,
    RemoveVips,
    RunNotify,
    StateChanged,
)
from hapair.core.vrrp.receive import ReceiveLog
from hapair.core.vrrp.settings import InstanceSettings, OldUnicastChecksum, SettingsError
from hapair.core.vrrp.snapshot import InstanceSnapshot
from hapair.core.vrrp.timers import master_down_interval_ns
from hapair.core.vrrp.tracking import ScriptStatus, TrackedState
from hapair.core.vrrp.transmit import AdvertBuilder, garp_batch, placed_vips
from hapair.core.vrrp.wire import IPAddress

MAX_DELAYED_GARP_BATCHES = 16


class InstanceTransitions:
    """State and transitions of one instance (the event handling is in `VrrpInstance`)."""

    def __init__(
        self,
        settings: InstanceSettings,
        *,
        interface_address: IPAddress | None = None,
        script_statuses: Mapping[str, ScriptStatus] | None = None,
    ) -> None:
        source = settings.configured_source or interface_address
        if source is None:
            raise SettingsError(settings.name, "interface_address", "no source address: give the interface's")
        if source.version != (6 if settings.ipv6 else 4):
            raise SettingsError(
                settings.name, "interface_address", f"{source} is not of the instance's family"
            )
        self.settings = settings
        self.name = settings.name
        self.state = InstanceState.INITIALIZE
        self._want = InstanceState.INITIALIZE
        self._since = 0
        self._tracking = TrackedState(settings)
        self._tracking.set_initial_script_statuses(script_statuses or {})
        self._base_priority = settings.priority
        self._effective = settings.priority
        self._master_adver_int_cs = settings.advert_int_cs
        self._ms_down_timer = 0
        self._sands: int | None = None
        self._preempt_time: int | None = None
        self._master_address: IPAddress | None = None
        self._master_priority = 0
        self._vipset = False
        self._garp_refresh_at: int | None = None
        self._delayed_garps: list[tuple[int, int]] = []
        self._notified: NotifyState | None = None
        self._adverts = AdvertBuilder(settings, source)
        self._adverts.old_unicast_checksum = settings.old_unicast_checksum is OldUnicastChecksum.ALWAYS
        self._rx = ReceiveLog(settings.name)

    @property
    def source_address(self) -> IPAddress:
        return self._adverts.source

    @property
    def effective_priority(self) -> int:
        return self._effective

    def tracks_condition(self, name: str) -> bool:
        return self._tracking.tracks_condition(name)

    def next_deadline(self) -> int | None:
        """The earliest time at which `TimerExpired` has work to do, or None."""
        times = [t for t, _ in self._delayed_garps]
        if self._sands is not None and self.state in (InstanceState.BACKUP, InstanceState.MASTER):
            times.append(self._sands)
        return min(times) if times else None

    def snapshot(self) -> InstanceSnapshot:
        s = self.settings
        return InstanceSnapshot(
            iname=s.name,
            vrid=s.virtual_router_id,
            version=s.version,
            state=self.state,
            wantstate=self._want,
            last_transition_ns=self._since,
            base_priority=self._base_priority,
            effective_priority=self._effective,
            master_priority=self._master_priority,
            master_address=self._adverts.source
            if self.state is InstanceState.MASTER
            else self._master_address,
            adver_int=s.advert_int / 1e9,
            master_adver_int=self._master_adver_int_cs / 100,
            ifp_ifname=s.interface,
            vips=tuple(
                f"{v.address} dev {v.device} scope {v.scope or 'global'}{' set' if self._vipset else ''}"
                for v in placed_vips(s)
            ),
            vipset=self._vipset,
            nopreempt=s.nopreempt,
            preempt_delay=s.preempt_delay / 1e9,
            garp_delay=s.garp_master_delay / 1e9,
            garp_rep=s.garp_master_repeat,
            garp_refresh=s.garp_master_refresh / 1e9,
            garp_refresh_rep=s.garp_master_refresh_repeat,
            garp_lower_prio_delay=s.lower_prio_delay / 1e9,
            garp_lower_prio_rep=s.lower_prio_repeat,
            lower_prio_no_advert=s.lower_prio_no_advert,
            higher_prio_send_advert=s.higher_prio_send_advert,
            dont_track_primary=s.dont_track_primary,
            skip_check_adv_addr=s.skip_check_adv_addr,
            auth_type=int(s.auth_type),
            last_checksum_form=self._rx.last_checksum_form,
            old_unicast_checksum=self._adverts.old_unicast_checksum,
            stats=self._rx.stats(),
            rejected=self._rx.rejected(),
        )

    def _set_effective_priority(self, new: int, now: int, effects: list[Effect]) -> None:
        if self._base_priority == 255 or new == self._effective:
            return
        effects.append(LogLine(f"({self.name}) Changing effective priority from {self._effective} to {new}"))
        self._effective = new
        old_down = self._ms_down_timer
        self._ms_down_timer = self._mdi()
        if self.state is InstanceState.BACKUP and self._sands is not None:
            self._sands += self._ms_down_timer - old_down

    # -------------------------------------------------------------------------------- transitions

    def _goto_master(self, now: int, effects: list[Effect]) -> None:
        s = self.settings
        effects += self._advert(self._effective)
        effects.append(LogLine(f"({self.name}) Entering MASTER STATE"))
        self._rx.count("become_master")
        if s.version == 3 and self._master_adver_int_cs != s.advert_int_cs:
            effects.append(
                LogLine(
                    f"({self.name}) changing advert interval from {self._master_adver_int_cs * 10}ms "
                    f"to locally configured {s.advert_int_cs * 10}ms",
                    detailed=True,
                )
            )
        self._master_adver_int_cs = s.advert_int_cs
        if s.all_vips():
            effects.append(LogLine(f"({self.name}) setting VIPs.", detailed=True))
            effects.append(AddVips(self.name, placed_vips(s)))
        self._vipset = True
        effects += garp_batch(s, s.garp_master_repeat)
        self._garp_refresh_at = now + s.garp_master_refresh if s.garp_master_refresh else None
        self._enter(InstanceState.MASTER, now, effects)
        if s.garp_master_delay:
            self._delay_garps(now + s.garp_master_delay, s.garp_master_repeat)
        self._sands = now + s.advert_int

    def _leave_master(self, to: InstanceState, now: int, effects: list[Effect]) -> None:
        """keepalived's vrrp_state_leave_master: to BACKUP quietly, to FAULT with priority-0 adverts."""
        effects.append(LogLine(f"({self.name}) Entering {to.name} STATE"))
        if to is InstanceState.FAULT:
            effects += self._advert(0)  # vrrp_state_leave_master's own priority-0 advert ...
            effects += self._send_priority_zero()  # ... and vrrp_restore_interface's, counted and logged
        effects += self._vip_removal(force=False)
        self._preempt_time = None
        self._want = to
        self._enter(to, now, effects)
        self._ms_down_timer = self._mdi()
        self._sands = now + self._ms_down_timer if to is InstanceState.BACKUP else None
        self._rx.count("release_master")

    def _enter(
        self, state: InstanceState, now: int, effects: list[Effect], *, log: bool = False, notify: bool = True
    ) -> None:
        """Move to `state`: optional "Entering ... STATE" line, StateChanged, then the notification."""
        previous = self.state
        if log and previous is not state:
            effects.append(LogLine(f"({self.name}) Entering {state.name} STATE"))
        self.state = state
        if previous is not state:
            self._since = now
            effects.append(StateChanged(self.name, previous, state))
        if notify and state is not InstanceState.INITIALIZE:
            self._notify(NotifyState(state.name), effects)

    def _notify(self, state: NotifyState, effects: list[Effect]) -> None:
        if self._notified is state:
            return
        self._notified = state
        s = self.settings
        script = {
            NotifyState.MASTER: s.notify_master,
            NotifyState.BACKUP: s.notify_backup,
            NotifyState.FAULT: s.notify_fault,
            NotifyState.STOP: s.notify_stop,
            NotifyState.MASTER_RX_LOWER_PRI: s.notify_master_rx_lower_pri,
        }[state]
        effects.append(RunNotify(self.name, state, self._effective, script, s.notify))

    # ------------------------------------------------------------------------------------ helpers

    def _mdi(self) -> int:
        s = self.settings
        return master_down_interval_ns(
            s.version, self._effective, self._master_adver_int_cs, s.down_timer_adverts
        )

    def _advert(self, priority: int) -> list[Effect]:
        self._rx.count("advert_sent")
        return list(self._adverts.build(priority))

    def _send_priority_zero(self) -> list[Effect]:
        effects = self._advert(0)
        self._rx.count("pri_zero_sent")
        effects.append(LogLine(f"({self.name}) sent 0 priority", detailed=True))
        return effects

    def _vip_removal(self, *, force: bool) -> list[Effect]:
        if not (force or self._vipset):
            return []
        self._vipset = False
        if not self.settings.all_vips():
            return []
        return [
            LogLine(f"({self.name}) removing VIPs.", detailed=True),
            RemoveVips(self.name, placed_vips(self.settings)),
        ]

    def _delay_garps(self, when: int, repeat: int) -> None:
        """Schedule a later GARP batch. keepalived starts one timer per trigger; a peer sending
        lower-priority adverts in a burst could make that list long, so it is capped."""
        if len(self._delayed_garps) < MAX_DELAYED_GARP_BATCHES:
            self._delayed_garps.append((when, repeat))
            self._delayed_garps.sort()
