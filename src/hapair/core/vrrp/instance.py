"""One VRRP instance (`vrrp_instance`): the keepalived 2.2.7 state machine, pure.

`VrrpInstance.handle(event, now_ns)` takes one input and returns the effects the shell must carry
out, in order; `next_deadline()` says when to deliver `TimerExpired`. The behaviour is keepalived's
(`vrrp/vrrp.c`, `vrrp/vrrp_scheduler.c`, `vrrp/vrrp_track.c`), including its departures from the RFC:

* every instance starts in BACKUP with a full Master_Down_Interval, even with `state MASTER`; only
  an address owner (priority 255) with `state MASTER` becomes master at once;
* a master that hears a lower priority answers at once ("forcing new election") and re-sends GARPs;
* a master restarts its advert timer after every valid advert it processes for its VRID;
* leaving MASTER for FAULT or on stop sends priority-0 adverts; a priority change never makes a
  master step down by itself (the backup takes over when its down timer expires);
* an instance whose tracked interface or weight-0 script fails goes to FAULT and comes back to BACKUP
  with a full down timer.

Deliberate differences, all on the safe side: a rejected packet does not restart a master's advert
timer (keepalived's does, so junk sent faster than advert_int would silence its master); the v3
master interval is reset to our own on becoming master whether or not -D logging is on (keepalived
resets it only when it logs); an address owner goes to MASTER inside `StartRequested` instead of
after a 1 us timer (same effects and log lines).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_never

from hapair.core.vrrp.events import (
    AdvertReceived,
    AdvertReceivedV6,
    ConditionChanged,
    Effect,
    GarpTarget,
    InstanceInput,
    InstanceState,
    InterfaceStateChanged,
    LogLine,
    NotifyState,
    RunNotify,
    ScriptStatusChanged,
    SendGarps,
    StartRequested,
    StopRequested,
    TimerExpired,
)
from hapair.core.vrrp.packet import ReceivedDatagram, decode_ipv4_datagram, decode_ipv6_payload
from hapair.core.vrrp.settings import InitialState
from hapair.core.vrrp.timers import NS_PER_US, owner_down_interval_ns, skew_time_ns
from hapair.core.vrrp.transitions import InstanceTransitions
from hapair.core.vrrp.transmit import garp_batch
from hapair.core.vrrp.validation import Rejection, RejectReason, ValidAdvert, check_received
from hapair.core.vrrp.wire import IPAddress, MalformedPacket
from hapair.errors import LocalProtocolError


class InstanceAlreadyStarted(LocalProtocolError):
    """StartRequested reached an instance that is already running."""


class VrrpInstance(InstanceTransitions):
    """A keepalived-compatible VRRP instance; see the module docstring."""

    def handle(self, event: InstanceInput, now_ns: int) -> list[Effect]:
        match event:
            case StartRequested():
                return self._on_start(now_ns)
            case StopRequested():
                return self._on_stop(now_ns)
            case TimerExpired():
                return self._on_timer(now_ns)
            case AdvertReceived(datagram=datagram):
                return self._on_bytes(lambda: decode_ipv4_datagram(datagram), now_ns)
            case AdvertReceivedV6(payload=payload, source=src, destination=dst, hop_limit=hops):
                return self._on_bytes(lambda: decode_ipv6_payload(payload, src, dst, hops), now_ns)
            case InterfaceStateChanged(name=name, up=up):
                return self._on_tracking(self._tracking.set_interface(name, up), now_ns)
            case ScriptStatusChanged(name=name, ok=ok):
                return self._on_tracking(self._tracking.set_script(name, ok), now_ns)
            case ConditionChanged(name=name, ok=ok):
                return self._on_tracking(self._tracking.set_condition(name, ok), now_ns)
            case _:
                assert_never(event)

    # ------------------------------------------------------------------------------ start and stop

    def _on_start(self, now: int) -> list[Effect]:
        match self.state:
            case InstanceState.INITIALIZE | InstanceState.STOP:
                pass
            case InstanceState.BACKUP | InstanceState.MASTER | InstanceState.FAULT:
                raise InstanceAlreadyStarted(f"({self.name}) already started ({self.state.name})")
            case _:
                assert_never(self.state)
        effects: list[Effect] = []
        self._master_adver_int_cs = self.settings.advert_int_cs
        self._set_effective_priority(self._tracking.effective_priority(), now, effects)
        owner_master = self.settings.state is InitialState.MASTER and self._base_priority == 255
        if self._tracking.down():
            # keepalived 2.2.7: "(VI_1): entering FAULT state (interface X down)", "(VI_1) entering FAULT
            # state", then the start-up VIP removal; a weight-0 script without a result is silent.
            causes = self._tracking.fault_causes()
            effects += [LogLine(c) for c in causes]
            if causes:
                effects.append(LogLine(f"({self.name}) entering FAULT state"))
            effects += self._vip_removal(force=True)
            self._want = InstanceState.FAULT
            self._enter(InstanceState.FAULT, now, effects, notify=bool(causes))
            return effects
        effects += self._vip_removal(force=True)
        if owner_master:
            effects.append(LogLine(f"({self.name}) Receive advertisement timeout", detailed=True))
            self._want = InstanceState.MASTER
            self._goto_master(now, effects)
            return effects
        effects.append(LogLine(f"({self.name}) Entering BACKUP STATE (init)"))
        self._want = InstanceState.BACKUP
        self._ms_down_timer = self._mdi()
        self._enter(InstanceState.BACKUP, now, effects)
        self._sands = now + self._ms_down_timer
        return effects

    def _on_stop(self, now: int) -> list[Effect]:
        effects: list[Effect] = []
        match self.state:
            case InstanceState.STOP:
                return effects
            case InstanceState.INITIALIZE:
                self._enter(InstanceState.STOP, now, effects, notify=False)
                return effects
            case InstanceState.MASTER:
                effects += self._send_priority_zero()
                effects += self._vip_removal(force=False)
            case InstanceState.BACKUP | InstanceState.FAULT:
                pass
            case _:
                assert_never(self.state)
        self._enter(InstanceState.STOP, now, effects)
        self._want = InstanceState.STOP
        self._sands = None
        self._delayed_garps.clear()
        return effects

    # ------------------------------------------------------------------------------------- timers

    def _on_timer(self, now: int) -> list[Effect]:
        effects: list[Effect] = []
        due = [repeat for t, repeat in self._delayed_garps if t <= now]
        self._delayed_garps = [(t, r) for t, r in self._delayed_garps if t > now]
        for repeat in due:
            # keepalived does not cancel these when leaving MASTER; they only send while VIPs are set
            if self.state is InstanceState.MASTER and self._vipset:
                effects += garp_batch(self.settings, repeat)
        if self._sands is None or now < self._sands:
            return effects
        match self.state:
            case InstanceState.BACKUP:
                effects.append(LogLine(f"({self.name}) Receive advertisement timeout", detailed=True))
                self._want = InstanceState.MASTER
                self._goto_master(now, effects)
            case InstanceState.MASTER:
                effects += self._advert(self._effective)
                refresh = self.settings.garp_master_refresh
                if refresh and self._garp_refresh_at is not None and now > self._garp_refresh_at:
                    effects += garp_batch(self.settings, self.settings.garp_master_refresh_repeat)
                    self._garp_refresh_at = now + refresh
                self._sands = now + self.settings.advert_int
            case InstanceState.INITIALIZE | InstanceState.FAULT | InstanceState.STOP:
                self._sands = None
            case _:
                assert_never(self.state)
        return effects

    # ------------------------------------------------------------------------------------ adverts

    def _on_bytes(self, decode: Callable[[], ReceivedDatagram], now: int) -> list[Effect]:
        match self.state:
            case InstanceState.INITIALIZE | InstanceState.FAULT | InstanceState.STOP:
                return []  # keepalived ignores adverts while not running or in FAULT
            case InstanceState.BACKUP | InstanceState.MASTER:
                pass
            case _:
                assert_never(self.state)
        try:
            received = decode()
        except MalformedPacket as exc:
            return self._rx.rejected_line(Rejection(RejectReason.MALFORMED, str(exc)))
        s = self.settings
        if received.ipv6 != s.ipv6:  # a socket of the other family: the shell's mistake, not the peer's
            family = "IPv6" if received.ipv6 else "IPv4"
            text = f"({self.name}) {family} advert on an IPv{6 if s.ipv6 else 4} instance - ignoring"
            return self._rx.rejected_line(Rejection(RejectReason.MALFORMED, text))
        if received.vrid != s.virtual_router_id:  # the dispatcher's job; a lone instance drops it here
            iface = s.interface or "?"
            text = f"Unknown VRID({received.vrid}) received on interface({iface}). ignoring..."
            return self._rx.rejected_line(Rejection(RejectReason.VRID, text), detailed=True)
        if received.ipv6 and received.destination.is_multicast == s.unicast:
            cast, mine = ("mult", "un") if s.unicast else ("un", "mult")
            return [
                LogLine(f"({self.name}) discarding {cast}icast packet on {mine}icast instance", detailed=True)
            ]
        if self.state is InstanceState.BACKUP:
            return self._backup_rx(received, now)
        return self._master_rx(received, now)

    def _check(
        self, received: ReceivedDatagram, check_vip_addr: bool
    ) -> tuple[ValidAdvert | None, list[Effect]]:
        verdict = check_received(
            self.settings,
            received,
            check_vip_addr=check_vip_addr,
            old_checksum_active=self._adverts.old_unicast_checksum,
        )
        effects: list[Effect] = []
        form = verdict.checksum_form
        if form is not None and self._rx.switches_to_old_checksum(form, self._adverts.old_unicast_checksum):
            self._adverts.old_unicast_checksum = True
            effects.append(LogLine(f"({self.name}) Setting unicast VRRPv3 checksum to old version"))
        if isinstance(verdict, Rejection):
            effects += self._rx.rejected_line(verdict)
            return None, effects
        self._rx.accepted(verdict)
        return verdict, effects

    def _backup_rx(self, received: ReceivedDatagram, now: int) -> list[Effect]:
        s = self.settings
        check_addr = not s.skip_check_adv_addr or received.source != self._master_address
        advert, effects = self._check(received, check_addr)
        ignore = advert is None
        if advert is None:
            pass
        elif advert.packet.priority == 0:
            effects.append(LogLine(f"({self.name}) Backup received priority 0 advertisement", detailed=True))
            self._ms_down_timer = skew_time_ns(s.version, self._effective, self._master_adver_int_cs)
        elif s.nopreempt or advert.packet.priority >= self._effective or self._within_preempt_delay(now):
            self._learn_interval(advert, effects)
            self._ms_down_timer = self._mdi()
            self._master_address = advert.source
            self._master_priority = advert.packet.priority
            if s.preempt_delay:
                self._track_preempt_delay(advert.packet.priority, now, effects)
            self._want = InstanceState.BACKUP
        else:
            effects.append(
                LogLine(
                    f"({self.name}) received lower priority ({advert.packet.priority}) advert from "
                    f"{advert.source} - discarding",
                    rate_limit_key=f"{self.name}:lower_priority",
                )
            )
            self._master_address = advert.source
            ignore = True
        if ignore:
            # keepalived shrinks ms_down_timer to what is left, so the deadline stays where it was
            if self._sands is not None:
                self._ms_down_timer = max(0, self._sands - now)
        else:
            self._sands = now + self._ms_down_timer
        return effects

    def _within_preempt_delay(self, now: int) -> bool:
        return bool(self.settings.preempt_delay) and (self._preempt_time is None or self._preempt_time > now)

    def _track_preempt_delay(self, priority: int, now: int, effects: list[Effect]) -> None:
        if priority >= self._effective:
            if self._preempt_time is not None:
                effects.append(LogLine(f"({self.name}) stop preempt delay", detailed=True))
                self._preempt_time = None
        elif self._preempt_time is None:
            us = self.settings.preempt_delay // NS_PER_US
            effects.append(
                LogLine(
                    f"({self.name}) start preempt delay ({us // 1_000_000}.{us % 1_000_000:06d})",
                    detailed=True,
                )
            )
            self._preempt_time = now + self.settings.preempt_delay

    def _learn_interval(self, advert: ValidAdvert, effects: list[Effect]) -> None:
        if self.settings.version != 3:
            return
        learned = advert.packet.adver_int
        if learned != self._master_adver_int_cs:
            effects.append(
                LogLine(
                    f"({self.name}) advertisement interval updated from {self._master_adver_int_cs * 10}ms "
                    f"to {learned * 10}ms by master",
                    detailed=True,
                )
            )
            self._master_adver_int_cs = learned

    def _master_rx(self, received: ReceivedDatagram, now: int) -> list[Effect]:
        advert, effects = self._check(received, True)
        if advert is None:
            # A bad packet changes nothing. (keepalived 2.2.7 restarts its advert timer after any
            # packet for the VRID, so a stream of junk could silence a master; we do not copy that.)
            return effects
        effects += self._master_decides(advert, now)
        if self.state is InstanceState.MASTER and not self.settings.lower_prio_no_advert:
            self._sands = now + self.settings.advert_int
        return effects

    def _master_decides(self, advert: ValidAdvert, now: int) -> list[Effect]:
        """keepalived's vrrp_state_master_rx for an advert that passed the checks."""
        effects: list[Effect] = []
        s = self.settings
        prio = advert.packet.priority
        cmp = _compare_addresses(advert.source, self._adverts.source)
        higher = prio > self._effective or (prio == self._effective and cmp > 0)
        if prio == 0 or (s.higher_prio_send_advert and higher):
            effects += self._advert(self._effective)
            if prio == 0:
                effects.append(LogLine(f"({self.name}) Master received priority 0 message", detailed=True))
                return effects
        if prio == self._effective:
            if cmp == 0:
                effects.append(
                    LogLine(
                        f"({self.name}) WARNING - equal priority advert received from remote host "
                        "with our IP address."
                    )
                )
            elif self._effective == 255:
                effects.append(
                    LogLine(
                        f"({self.name}) CONFIGURATION ERROR: local instance and a remote instance are both "
                        "configured as address owner, please fix - reducing local priority"
                    )
                )
                self._base_priority = self._effective = 254
        if prio < self._effective or (prio == self._effective and cmp < 0):
            self._answer_lower_priority(advert, now, effects)
        elif prio > self._effective or (prio == self._effective and cmp > 0):
            if prio > self._effective:
                text = f"with higher priority {prio}, ours {self._effective}"
            else:
                text = f"with same priority {prio} but higher IP address than ours"
            effects.append(LogLine(f"({self.name}) Master received advert from {advert.source} {text}"))
            self._learn_interval(advert, effects)
            self._master_priority = prio
            self._master_address = advert.source
            self._leave_master(InstanceState.BACKUP, now, effects)
        return effects

    def _answer_lower_priority(self, advert: ValidAdvert, now: int, effects: list[Effect]) -> None:
        s = self.settings
        suffix = "" if s.lower_prio_no_advert else ", forcing new election"
        effects.append(
            LogLine(
                f"({self.name}) Received advert from {advert.source} with lower priority "
                f"{advert.packet.priority}, ours {self._effective}{suffix}",
                rate_limit_key=f"{self.name}:lower_priority",
            )
        )
        if not s.lower_prio_no_advert:
            effects += self._advert(self._effective)
        if s.lower_prio_repeat:
            effects += garp_batch(s, s.lower_prio_repeat)
            if s.lower_prio_delay:
                self._delay_garps(now + s.lower_prio_delay, s.lower_prio_repeat)
        effects.append(
            RunNotify(
                self.name,
                NotifyState.MASTER_RX_LOWER_PRI,
                self._effective,
                s.notify_master_rx_lower_pri,
                None,
            )
        )

    # ----------------------------------------------------------------------------------- tracking

    def _on_tracking(self, relevant: bool, now: int) -> list[Effect]:
        effects: list[Effect] = []
        if not relevant:
            return effects
        match self.state:
            case InstanceState.INITIALIZE | InstanceState.STOP:
                return effects  # recorded; applied at start
            case InstanceState.BACKUP | InstanceState.MASTER | InstanceState.FAULT:
                pass
            case _:
                assert_never(self.state)
        self._set_effective_priority(self._tracking.effective_priority(), now, effects)
        down = self._tracking.down()
        if down and self.state is not InstanceState.FAULT:
            self._want = InstanceState.FAULT
            if self.state is InstanceState.MASTER:
                self._leave_master(InstanceState.FAULT, now, effects)
            else:
                self._enter(InstanceState.FAULT, now, effects, log=True)
                self._sands = None
        elif down and self._tracking.faulted():
            self._notify(NotifyState.FAULT, effects)  # was only waiting for a first script result
        elif not down and self.state is InstanceState.FAULT:
            self._leave_fault(now, effects)
        return effects

    def _leave_fault(self, now: int, effects: list[Effect]) -> None:
        s = self.settings
        self._master_adver_int_cs = s.advert_int_cs
        owner = s.state is InitialState.MASTER and self._base_priority == 255
        if owner:
            self._ms_down_timer = owner_down_interval_ns(
                s.version, self._effective, self._master_adver_int_cs
            )
            self._want = InstanceState.MASTER
            self._goto_master(now, effects)
            return
        self._want = InstanceState.BACKUP
        self._ms_down_timer = self._mdi()
        self._preempt_time = None
        self._enter(InstanceState.BACKUP, now, effects, log=True)
        if s.unicast and s.interface is not None:
            source = self._adverts.source
            kind = "NA" if s.ipv6 else "ARP"
            effects.append(LogLine(f"{self.name}: sending gratuitous {kind} for {source}", detailed=True))
            effects.append(SendGarps(self.name, (GarpTarget(s.interface, source),)))
        self._sands = now + self._ms_down_timer


def _compare_addresses(remote: IPAddress, local: IPAddress) -> int:
    """keepalived's vrrp_saddr_cmp: numeric comparison in network order (<0, 0, >0)."""
    if remote.version != local.version:
        return 0
    return (int(remote) > int(local)) - (int(remote) < int(local))
