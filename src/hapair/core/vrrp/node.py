"""All VRRP instances and track scripts of one host, behind one `handle(event, now_ns)`.

This is what keepalived's VRRP process is: it dispatches received adverts to the instance owning the
VRID (by family, interface, and multicast vs unicast), runs the vrrp_script schedule, fans a script's
status, an interface's link state and a host-reported condition (`ConditionChanged`) out to every
instance that tracks them, and merges deadlines.
The shell only moves bytes in and executes effects out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from ipaddress import IPv6Address
from typing import assert_never

from hapair.core.vrrp.events import (
    AdvertReceived,
    AdvertReceivedV6,
    ConditionChanged,
    Effect,
    InterfaceStateChanged,
    LogLine,
    NodeInput,
    ScriptResult,
    ScriptStatusChanged,
    StartRequested,
    StopRequested,
    TimerExpired,
)
from hapair.core.vrrp.instance import VrrpInstance
from hapair.core.vrrp.packet import ReceivedDatagram, decode_ipv4_datagram, decode_ipv6_payload
from hapair.core.vrrp.settings import InstanceSettings, SettingsError, VrrpScriptSettings
from hapair.core.vrrp.snapshot import InstanceSnapshot
from hapair.core.vrrp.tracking import ScriptStatus, ScriptTracker
from hapair.core.vrrp.wire import IPAddress, MalformedPacket
from hapair.errors import LocalProtocolError


class UnknownScript(LocalProtocolError):
    """A ScriptResult named a vrrp_script this node does not have."""


class UnknownCondition(LocalProtocolError):
    """A ConditionChanged named a condition no instance of this node tracks."""


class VrrpNode:
    """The VRRP side of one host: instances, script trackers, dispatch."""

    def __init__(
        self,
        instances: Sequence[InstanceSettings],
        scripts: Sequence[VrrpScriptSettings] = (),
        *,
        interface_addresses: Mapping[str, Sequence[IPAddress]] | None = None,
        log_unknown_vrids: bool = False,
    ) -> None:
        addresses = interface_addresses or {}
        self.trackers: dict[str, ScriptTracker] = {}
        for script in scripts:
            if script.name in self.trackers:
                raise SettingsError(f"vrrp_script {script.name}", "name", "defined twice")
            self.trackers[script.name] = ScriptTracker(script)
        statuses = {name: t.status for name, t in self.trackers.items()}
        self.instances: dict[str, VrrpInstance] = {}
        for settings in instances:
            if settings.name in self.instances:
                raise SettingsError(settings.name, "name", "two instances have this name")
            for tracked in settings.track_scripts:
                if tracked.name not in self.trackers:
                    raise SettingsError(
                        settings.name, "track_script", f"track script {tracked.name} not found"
                    )
            self._check_vrid_conflict(settings)
            local = _local_address(settings, addresses)
            self.instances[settings.name] = VrrpInstance(
                settings, interface_address=local, script_statuses=statuses
            )
        self._log_unknown_vrids = log_unknown_vrids
        self._links: dict[str, bool] = {}
        self._conditions: dict[str, bool] = {}
        self._started = False
        self.malformed = 0
        self.unknown_vrid = 0

    def _check_vrid_conflict(self, new: InstanceSettings) -> None:
        for other in self.instances.values():
            s = other.settings
            if (
                s.virtual_router_id == new.virtual_router_id
                and s.ipv6 == new.ipv6
                and s.interface == new.interface
                and s.unicast == new.unicast
            ):
                raise SettingsError(
                    new.name,
                    "virtual_router_id",
                    f"duplicate VRID conflict with {s.name} VRID {s.virtual_router_id}",
                )

    def instance(self, name: str) -> VrrpInstance:
        return self.instances[name]

    def next_deadline(self) -> int | None:
        times = [t.next_deadline() for t in self.trackers.values()]
        times += [i.next_deadline() for i in self.instances.values()]
        present = [t for t in times if t is not None]
        return min(present) if present else None

    def snapshot(self) -> tuple[InstanceSnapshot, ...]:
        return tuple(i.snapshot() for i in self.instances.values())

    def handle(self, event: NodeInput, now_ns: int) -> list[Effect]:
        effects: list[Effect] = []
        match event:
            case StartRequested():
                self._started = True
                for inst in self.instances.values():
                    effects += inst.handle(event, now_ns)
                for tracker in self.trackers.values():
                    effects += tracker.start(now_ns)
            case StopRequested():
                self._started = False
                for tracker in self.trackers.values():
                    tracker.stop()
                for inst in self.instances.values():
                    effects += inst.handle(event, now_ns)
            case TimerExpired():
                for tracker in self.trackers.values():
                    effects += tracker.on_timer(now_ns)
                for inst in self.instances.values():
                    deadline = inst.next_deadline()
                    if deadline is not None and deadline <= now_ns:
                        effects += inst.handle(event, now_ns)
            case AdvertReceived() | AdvertReceivedV6():
                effects += self._dispatch(event, now_ns)
            case InterfaceStateChanged(name=name, up=up):
                known = self._links.get(name, True)
                self._links[name] = up
                if self._started and known != up:
                    effects.append(LogLine(f"Netlink reports {name} {'up' if up else 'down'}"))
                for inst in self.instances.values():
                    effects += inst.handle(event, now_ns)
            case ScriptResult():
                effects += self._script_result(event, now_ns)
            case ConditionChanged():
                effects += self._condition(event, now_ns)
            case _:
                assert_never(event)
        return effects

    def _script_result(self, result: ScriptResult, now_ns: int) -> list[Effect]:
        tracker = self.trackers.get(result.name)
        if tracker is None:
            raise UnknownScript(f"no vrrp_script named {result.name!r}")
        effects, changed = tracker.on_result(result)
        if changed is not None:
            update = ScriptStatusChanged(result.name, changed is ScriptStatus.OK)
            for inst in self.instances.values():
                effects += inst.handle(update, now_ns)
        return effects

    def _condition(self, event: ConditionChanged, now_ns: int) -> list[Effect]:
        trackers = [i for i in self.instances.values() if i.tracks_condition(event.name)]
        if not trackers:
            raise UnknownCondition(f"no instance tracks a condition named {event.name!r}")
        effects: list[Effect] = []
        if self._conditions.get(event.name) != event.ok:
            self._conditions[event.name] = event.ok
            effects.append(LogLine(f"Tracked condition {event.name} {'succeeded' if event.ok else 'failed'}"))
        for inst in trackers:
            effects += inst.handle(event, now_ns)
        return effects

    def _dispatch(self, event: AdvertReceived | AdvertReceivedV6, now_ns: int) -> list[Effect]:
        try:
            if isinstance(event, AdvertReceived):
                received = decode_ipv4_datagram(event.datagram)
            else:
                received = decode_ipv6_payload(
                    event.payload, event.source, event.destination, event.hop_limit
                )
        except MalformedPacket as exc:
            self.malformed += 1
            return [LogLine(str(exc), rate_limit_key="malformed")]
        target = self._owner(received, event.interface)
        if target is None:
            self.unknown_vrid += 1
            if not self._log_unknown_vrids:
                return []
            text = (
                f"Unknown VRID({received.vrid}) received on interface({event.interface or '?'}). ignoring..."
            )
            return [LogLine(text, rate_limit_key="unknown_vrid")]
        return target.handle(event, now_ns)

    def _owner(self, received: ReceivedDatagram, interface: str | None) -> VrrpInstance | None:
        candidates = [
            inst
            for inst in self.instances.values()
            if inst.settings.virtual_router_id == received.vrid
            and inst.settings.ipv6 == received.ipv6
            and (interface is None or inst.settings.interface in (None, interface))
        ]
        multicast = received.destination.is_multicast
        for inst in candidates:
            if multicast != inst.settings.unicast and (
                multicast or inst.source_address == received.destination
            ):
                return inst
        return candidates[0] if candidates else None


def _local_address(
    settings: InstanceSettings, addresses: Mapping[str, Sequence[IPAddress]]
) -> IPAddress | None:
    """The instance's interface address of its family: the primary IPv4, or the IPv6 link-local."""
    if settings.configured_source is not None or settings.interface is None:
        return None
    family = [a for a in addresses.get(settings.interface, ()) if (a.version == 6) == settings.ipv6]
    if settings.ipv6:
        family.sort(key=lambda a: not (isinstance(a, IPv6Address) and a.is_link_local))
    return family[0] if family else None
