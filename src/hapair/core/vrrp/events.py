"""The vocabulary between the VRRP core and its shell: states, inputs and effects.

Inputs are what happened (a datagram arrived, a timer fired, an interface went down); effects are
what the shell must do, in list order (send these bytes, add these addresses, run this script, log
this line). Every effect that concerns one instance names it in `instance`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv6Address

from hapair.core.vrrp.settings import VirtualIp
from hapair.core.vrrp.wire import IPAddress


class InstanceState(enum.Enum):
    """keepalived's instance states, with the numbers its JSON dump uses."""

    INITIALIZE = 0
    BACKUP = 1
    MASTER = 2
    FAULT = 3
    STOP = 98


class NotifyState(enum.Enum):
    """What a notification reports; the value is the word keepalived passes to `notify` scripts."""

    MASTER = "MASTER"
    BACKUP = "BACKUP"
    FAULT = "FAULT"
    STOP = "STOP"
    MASTER_RX_LOWER_PRI = "MASTER_RX_LOWER_PRI"


class ScriptOutcome(enum.Enum):
    EXITED = "exited"
    SIGNALLED = "signalled"
    TIMED_OUT = "timed_out"


# ---------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class StartRequested:
    """Start the instance (keepalived start-up)."""


@dataclass(frozen=True, slots=True)
class StopRequested:
    """Stop the instance (keepalived shutdown): a master sends priority 0 and drops its VIPs."""


@dataclass(frozen=True, slots=True)
class TimerExpired:
    """The deadline from `next_deadline()` has passed; the core handles everything due by now."""


@dataclass(frozen=True, slots=True)
class AdvertReceived:
    """An IPv4 datagram from a raw protocol-112 socket, IP header included.

    `interface` is the interface the socket is bound to; `VrrpNode` uses it to tell apart instances
    that share a VRID on different interfaces.
    """

    datagram: bytes
    interface: str | None = None


@dataclass(frozen=True, slots=True)
class AdvertReceivedV6:
    """A VRRP payload from a raw IPv6 socket, with what recvmsg reported as ancillary data."""

    payload: bytes
    source: IPv6Address
    destination: IPv6Address
    hop_limit: int = -1
    interface: str | None = None


@dataclass(frozen=True, slots=True)
class InterfaceStateChanged:
    """An interface's link went up or down (the VRRP interface or a tracked one)."""

    name: str
    up: bool


@dataclass(frozen=True, slots=True)
class ScriptStatusChanged:
    """A tracked vrrp_script crossed its rise/fall threshold (from `ScriptTracker`)."""

    name: str
    ok: bool


@dataclass(frozen=True, slots=True)
class ConditionChanged:
    """A tracked condition (`TrackedCondition`, e.g. the orchestrator's volume health) changed.

    Reported by the host, not measured by the core: there is no rise/fall counting, `ok` is taken
    as it comes. Repeating the current value changes nothing.
    """

    name: str
    ok: bool


@dataclass(frozen=True, slots=True)
class ScriptResult:
    """One run of a vrrp_script finished; `code` is the exit status or the signal number."""

    name: str
    outcome: ScriptOutcome = ScriptOutcome.EXITED
    code: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome is ScriptOutcome.EXITED and self.code == 0


InstanceInput = (
    StartRequested
    | StopRequested
    | TimerExpired
    | AdvertReceived
    | AdvertReceivedV6
    | InterfaceStateChanged
    | ScriptStatusChanged
    | ConditionChanged
)
NodeInput = (
    StartRequested
    | StopRequested
    | TimerExpired
    | AdvertReceived
    | AdvertReceivedV6
    | InterfaceStateChanged
    | ScriptResult
    | ConditionChanged
)


# --------------------------------------------------------------------------------------------- effects


@dataclass(frozen=True, slots=True)
class LogLine:
    """A log line in keepalived's words. `detailed` lines are the ones keepalived prints only with -D.

    `rate_limit_key` is set on lines a peer can trigger at will (bad packets, lower-priority
    adverts); the shell may rate-limit lines sharing a key.
    """

    text: str
    detailed: bool = False
    rate_limit_key: str | None = None


@dataclass(frozen=True, slots=True)
class SendAdvert:
    """Send one advert. IPv4: `data` is the whole datagram, for a raw socket with IP_HDRINCL.

    IPv6: `data` is the VRRP message; send it from `source` to `destination` with hop limit 255 and
    traffic class 0xc0 (the kernel recomputes the checksum with IPV6_CHECKSUM).
    """

    instance: str
    interface: str | None
    data: bytes
    source: IPAddress
    destination: IPAddress
    priority: int

    @property
    def ipv6(self) -> bool:
        return isinstance(self.destination, IPv6Address)


@dataclass(frozen=True, slots=True)
class AddVips:
    """Add these addresses (each with its `device` resolved); adding an existing one is not an error."""

    instance: str
    vips: tuple[VirtualIp, ...]


@dataclass(frozen=True, slots=True)
class RemoveVips:
    """Remove these addresses; removing a missing one is not an error."""

    instance: str
    vips: tuple[VirtualIp, ...]


@dataclass(frozen=True, slots=True)
class GarpTarget:
    interface: str
    address: IPAddress


@dataclass(frozen=True, slots=True)
class SendGarps:
    """Send one gratuitous ARP (IPv4) or unsolicited neighbour advert (IPv6) per target, in order.

    Repeats are already expanded (keepalived's rounds x VIPs order); frames come from
    `hapair.core.vrrp.frames`.
    """

    instance: str
    targets: tuple[GarpTarget, ...]


@dataclass(frozen=True, slots=True)
class RunNotify:
    """Run the notify scripts for a transition: `script` (notify_master, ...) without arguments, and
    `generic` (keepalived's `notify`) with the four arguments `generic_args`."""

    instance: str
    state: NotifyState
    priority: int
    script: str | None
    generic: str | None

    @property
    def generic_args(self) -> tuple[str, str, str, str]:
        return ("INSTANCE", self.instance, self.state.value, str(self.priority))

    @property
    def fifo_line(self) -> str:
        """The line keepalived writes to a notify FIFO, newline included."""
        return f'INSTANCE "{self.instance}" {self.state.value} {self.priority}\n'


@dataclass(frozen=True, slots=True)
class RunTrackScript:
    """Run a vrrp_script now, killing it after `timeout` ns; report back with `ScriptResult`."""

    name: str
    script: str
    timeout: int


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The instance moved between states (for the journal, metrics and the orchestrator)."""

    instance: str
    previous: InstanceState
    current: InstanceState


Effect = LogLine | SendAdvert | AddVips | RemoveVips | SendGarps | RunNotify | RunTrackScript | StateChanged
