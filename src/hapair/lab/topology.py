"""What a lab is made of: hosts on one switch, and the names every piece gets.

A lab is a set of hosts, each a network namespace with one interface, all joined by one bridge (the
"switch") that lives in a namespace of its own. Nothing lives in the root namespace. The names:

- namespaces `<prefix>-<host>` and `<prefix>-sw`, bind-mounted under /run/netns like `ip netns add`;
- in a host namespace, its interface (`eth1` by default) and `lo`;
- in the switch namespace, the bridge `br0` and one veth end `sw-<host>` per host.

Interface names are therefore independent of the prefix and always fit in IFNAMSIZ - 1 = 15 bytes.

Ownership: a namespace belongs to prefix P when it is `P-<word>` where `<word>` is a valid host name
(which has no dash) or `sw`. So labs with prefixes `t1` and `t1-x` never claim each other's
namespaces, and `down` can find leftovers of a crashed run whatever topology that run had.

This module is pure: it only describes and validates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from hapair.lab.errors import TopologyError

IFNAME_MAX = 15
HOST_NAME_MAX = 12  # so that the switch-side name sw-<host> fits in 15 bytes
SWITCH_SUFFIX = "sw"
SWITCH = SWITCH_SUFFIX  # what Lab methods take as a host name to mean the switch namespace
SWITCH_PORT_PREFIX = "sw-"
DEFAULT_BRIDGE = "br0"
DEFAULT_PREFIX = "hapair"

_HOST_NAME = re.compile(r"[a-z][a-z0-9]*")
_PREFIX = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_PREFIX_MAX = 40
# Linux dev_valid_name(): not empty, not "." or "..", no "/", ":" or whitespace. We are stricter.
_IFNAME = re.compile(r"[A-Za-z0-9_.-]+")


def validate_prefix(prefix: str) -> str:
    """Return `prefix` if it can name a lab: lower-case letters, digits and inner dashes."""
    if not (0 < len(prefix) <= _PREFIX_MAX and _PREFIX.fullmatch(prefix)):
        raise TopologyError(
            f"invalid lab prefix {prefix!r}: use 1-{_PREFIX_MAX} lower-case letters, digits and inner dashes"
        )
    return prefix


def validate_host_name(name: str) -> str:
    """Return `name` if it can name a host: a letter then letters or digits, at most 12, not `sw`."""
    if not (len(name) <= HOST_NAME_MAX and _HOST_NAME.fullmatch(name)) or name == SWITCH_SUFFIX:
        raise TopologyError(
            f"invalid host name {name!r}: use a lower-case letter then letters or digits, "
            f"at most {HOST_NAME_MAX} characters, not {SWITCH_SUFFIX!r}"
        )
    return name


def validate_ifname(name: str) -> str:
    """Return `name` if Linux accepts it as an interface name (we also refuse odd characters)."""
    if not (len(name.encode()) <= IFNAME_MAX and _IFNAME.fullmatch(name)) or name in (".", ".."):
        raise TopologyError(f"invalid interface name {name!r}: 1-{IFNAME_MAX} of [A-Za-z0-9_.-]")
    return name


def mac_for_address(address: IPv4Address) -> str:
    """A locally administered unicast MAC that spells the IPv4 address: 10.30.31.168 -> 02:00:0a:1e:1f:a8.

    Readable in `ip neigh` output, distinct for distinct addresses, the same on every run.
    """
    return "02:00:" + ":".join(f"{b:02x}" for b in address.packed)


def validate_mac(mac: str) -> str:
    """Return `mac` in lower case if it is a unicast Ethernet address written as six hex pairs."""
    if not re.fullmatch(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}", mac):
        raise TopologyError(f"invalid MAC address {mac!r}: use six hex pairs like 02:00:0a:1e:1f:a8")
    if int(mac[:2], 16) & 1:
        raise TopologyError(f"invalid MAC address {mac!r}: multicast bit set")
    return mac.lower()


@dataclass(frozen=True, slots=True)
class HostSpec:
    """One host: a namespace with one interface on the switch and one IPv4 address on it."""

    name: str
    address: IPv4Interface
    ifname: str = "eth1"
    mac: str = ""  # empty means mac_for_address(address.ip)

    def __post_init__(self) -> None:
        validate_host_name(self.name)
        validate_ifname(self.ifname)
        if not isinstance(self.address, IPv4Interface):
            raise TopologyError(f"host {self.name}: address must be an IPv4 interface like 10.0.0.1/24")
        if self.address.network.prefixlen >= 31:
            raise TopologyError(f"host {self.name}: prefix /{self.address.network.prefixlen} is too long")
        if self.address.ip in (self.address.network.network_address, self.address.network.broadcast_address):
            raise TopologyError(f"host {self.name}: {self.address} is not a host address")
        mac = validate_mac(self.mac) if self.mac else mac_for_address(self.address.ip)
        object.__setattr__(self, "mac", mac)

    @classmethod
    def of(cls, name: str, address: str, ifname: str = "eth1", mac: str = "") -> HostSpec:
        """Build from text, e.g. `HostSpec.of("node1", "10.30.31.168/27")`; bad text is a TopologyError."""
        try:
            interface = IPv4Interface(address)
        except ValueError as exc:
            raise TopologyError(f"host {name}: {exc}") from None
        if "/" not in address:
            raise TopologyError(f"host {name}: address {address!r} needs a prefix length, e.g. /24")
        return cls(name, interface, ifname, mac)


@dataclass(frozen=True, slots=True)
class Topology:
    """Hosts on one switch, plus the service address (VIP) that the lab never assigns itself.

    All hosts share one IPv4 subnet; the VIP, when given, lies in it and belongs to no host.
    """

    hosts: tuple[HostSpec, ...]
    vip: IPv4Address | None = None
    bridge: str = DEFAULT_BRIDGE
    _by_name: dict[str, HostSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.hosts:
            raise TopologyError("a topology needs at least one host")
        validate_ifname(self.bridge)
        by_name: dict[str, HostSpec] = {}
        for host in self.hosts:
            if host.name in by_name:
                raise TopologyError(f"host {host.name} appears twice")
            by_name[host.name] = host
        _require_distinct("address", [(h.name, str(h.address.ip)) for h in self.hosts])
        _require_distinct("MAC", [(h.name, h.mac) for h in self.hosts])
        network = self.hosts[0].address.network
        for host in self.hosts[1:]:
            if host.address.network != network:
                raise TopologyError(
                    f"host {host.name}: {host.address} is not in {network} like {self.hosts[0].name}"
                )
        if self.vip is not None:
            if self.vip not in network or self.vip in (network.network_address, network.broadcast_address):
                raise TopologyError(f"VIP {self.vip} is not a host address of {network}")
            for host in self.hosts:
                if host.address.ip == self.vip:
                    raise TopologyError(f"VIP {self.vip} is host {host.name}'s own address")
        object.__setattr__(self, "_by_name", by_name)

    @property
    def network(self) -> IPv4Network:
        return self.hosts[0].address.network

    @property
    def host_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hosts)

    @property
    def vip_interface(self) -> IPv4Interface | None:
        """The VIP with the hosts' prefix length, as keepalived would add it."""
        if self.vip is None:
            return None
        return IPv4Interface(f"{self.vip}/{self.network.prefixlen}")

    def host(self, name: str) -> HostSpec | None:
        return self._by_name.get(name)


def _require_distinct(what: str, pairs: Iterable[tuple[str, str]]) -> None:
    seen: dict[str, str] = {}
    for owner, value in pairs:
        if value in seen:
            raise TopologyError(f"hosts {seen[value]} and {owner} have the same {what} {value}")
        seen[value] = owner


def runbook_topology() -> Topology:
    """The runbook's hosts: node1 .168, node2 .170, client .172 on 10.30.31.160/27; VIP .171."""
    return Topology(
        hosts=(
            HostSpec.of("node1", "10.30.31.168/27"),
            HostSpec.of("node2", "10.30.31.170/27"),
            HostSpec.of("client", "10.30.31.172/27"),
        ),
        vip=IPv4Address("10.30.31.171"),
    )


@dataclass(frozen=True, slots=True)
class LabNames:
    """The names a lab with a given prefix uses (see the module docstring)."""

    prefix: str

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)

    @property
    def switch_namespace(self) -> str:
        return f"{self.prefix}-{SWITCH_SUFFIX}"

    def host_namespace(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    @staticmethod
    def switch_port(host: str) -> str:
        return f"{SWITCH_PORT_PREFIX}{host}"

    def owns(self, namespace: str) -> bool:
        """True if `namespace` is one this prefix creates: `<prefix>-sw` or `<prefix>-<host name>`."""
        head = f"{self.prefix}-"
        if not namespace.startswith(head):
            return False
        rest = namespace[len(head) :]
        return rest == SWITCH_SUFFIX or (
            len(rest) <= HOST_NAME_MAX and _HOST_NAME.fullmatch(rest) is not None
        )

    def host_of(self, namespace: str) -> str | None:
        """The host name in an owned host namespace; None for the switch or a foreign namespace."""
        if not self.owns(namespace) or namespace == self.switch_namespace:
            return None
        return namespace[len(self.prefix) + 1 :]
