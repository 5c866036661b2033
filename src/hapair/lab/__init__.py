"""The network-namespace lab: the runbook's hosts (or any topology) on one machine.

`Lab` builds and tears down the hosts and offers the process and fault tools that multi-host tests
and demos use; `hapair lab` (hapair.cli.lab) is its command line.
"""

from hapair.lab.errors import (
    CommandFailedError,
    LabError,
    LabPermissionError,
    LabTimeoutError,
    TopologyError,
    UnknownHostError,
)
from hapair.lab.faults import Direction, FaultSpecError, FilterHandle, HostFirewall, PacketFilter
from hapair.lab.lab import DownReport, Lab
from hapair.lab.netlink import LinkRecord, NeighbourEntry
from hapair.lab.netns import NamespaceProcess
from hapair.lab.processes import CommandResult, LabProcess
from hapair.lab.status import HostStatus, InterfaceStatus, LabStatus, ProcessStatus, SwitchStatus
from hapair.lab.topology import DEFAULT_PREFIX, SWITCH, HostSpec, LabNames, Topology, runbook_topology
from hapair.lab.waiting import wait_until

__all__ = [
    "DEFAULT_PREFIX",
    "SWITCH",
    "CommandFailedError",
    "CommandResult",
    "Direction",
    "DownReport",
    "FaultSpecError",
    "FilterHandle",
    "HostFirewall",
    "HostSpec",
    "HostStatus",
    "InterfaceStatus",
    "Lab",
    "LabError",
    "LabNames",
    "LabPermissionError",
    "LabProcess",
    "LabStatus",
    "LabTimeoutError",
    "LinkRecord",
    "NamespaceProcess",
    "NeighbourEntry",
    "PacketFilter",
    "ProcessStatus",
    "SwitchStatus",
    "Topology",
    "TopologyError",
    "UnknownHostError",
    "runbook_topology",
    "wait_until",
]
