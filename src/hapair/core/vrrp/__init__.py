"""Pure VRRP core, wire- and behaviour-compatible with keepalived 2.2.7.

Start with `VrrpNode` (all instances and track scripts of one host; the shell feeds it inputs and
executes its effects) or `VrrpInstance` (one instance). Settings are in `settings`, the input and
effect types in `events`, packet codecs in `packet` and `frames`, timer arithmetic in `timers`.
"""

from hapair.core.vrrp.events import (
    AddVips,
    AdvertReceived,
    AdvertReceivedV6,
    ConditionChanged,
    Effect,
    GarpTarget,
    InstanceInput,
    InstanceState,
    InterfaceStateChanged,
    LogLine,
    NodeInput,
    NotifyState,
    RemoveVips,
    RunNotify,
    RunTrackScript,
    ScriptOutcome,
    ScriptResult,
    ScriptStatusChanged,
    SendAdvert,
    SendGarps,
    StartRequested,
    StateChanged,
    StopRequested,
    TimerExpired,
)
from hapair.core.vrrp.frames import build_garp_frame, build_unsolicited_na_frame
from hapair.core.vrrp.instance import InstanceAlreadyStarted, VrrpInstance
from hapair.core.vrrp.node import UnknownCondition, UnknownScript, VrrpNode
from hapair.core.vrrp.packet import AdvertPacket, AuthType, ChecksumForm
from hapair.core.vrrp.settings import (
    InitialState,
    InstanceSettings,
    OldUnicastChecksum,
    SettingsError,
    TrackedCondition,
    TrackedInterface,
    TrackedScript,
    UnicastPeer,
    VirtualIp,
    VrrpScriptSettings,
    seconds,
)
from hapair.core.vrrp.snapshot import InstanceSnapshot, InstanceStats
from hapair.core.vrrp.tracking import ScriptStatus, ScriptTracker
from hapair.core.vrrp.validation import RejectReason
from hapair.core.vrrp.wire import MalformedPacket

__all__ = [
    "AddVips",
    "AdvertPacket",
    "AdvertReceived",
    "AdvertReceivedV6",
    "AuthType",
    "ChecksumForm",
    "ConditionChanged",
    "Effect",
    "GarpTarget",
    "InitialState",
    "InstanceAlreadyStarted",
    "InstanceInput",
    "InstanceSettings",
    "InstanceSnapshot",
    "InstanceState",
    "InstanceStats",
    "InterfaceStateChanged",
    "LogLine",
    "MalformedPacket",
    "NodeInput",
    "NotifyState",
    "OldUnicastChecksum",
    "RejectReason",
    "RemoveVips",
    "RunNotify",
    "RunTrackScript",
    "ScriptOutcome",
    "ScriptResult",
    "ScriptStatus",
    "ScriptStatusChanged",
    "ScriptTracker",
    "SendAdvert",
    "SendGarps",
    "SettingsError",
    "StartRequested",
    "StateChanged",
    "StopRequested",
    "TimerExpired",
    "TrackedCondition",
    "TrackedInterface",
    "TrackedScript",
    "UnicastPeer",
    "UnknownCondition",
    "UnknownScript",
    "VirtualIp",
    "VrrpInstance",
    "VrrpNode",
    "VrrpScriptSettings",
    "build_garp_frame",
    "build_unsolicited_na_frame",
    "seconds",
]
