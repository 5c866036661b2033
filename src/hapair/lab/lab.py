"""`Lab`: a topology made real as network namespaces, with the tools tests and demos need.

    lab = Lab(runbook_topology(), prefix="t1a2b3")
    lab.up()                                   # idempotent
    proc = lab.spawn("node1", ["hapair", "vrrp", "-f", conf, "-n", "-l"], tmp / "node1.log")
    lab.run("client", ["ping", "-c1", "10.30.31.171"]).check()
    with lab.block("node2", PacketFilter("vrrp")):   # cut VRRP to and from node2
        ...
    lab.down()                                 # also removes leftovers of a crashed run

Everything is created inside namespaces named after the prefix (see `topology`); the root
namespace gains no link, address or route. Only root can build a lab.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, ip_address
from pathlib import Path
from types import TracebackType
from typing import Self

from hapair.lab.errors import LabError, UnknownHostError
from hapair.lab.faults import FilterHandle, HostFirewall, PacketFilter
from hapair.lab.netlink import AddressRecord, LinkRecord, NamespaceNetlink, NeighbourEntry
from hapair.lab.netns import (
    NamespaceProcess,
    create_namespace,
    end_processes_in,
    is_mounted_namespace,
    list_namespaces,
    processes_in,
    remove_namespace,
    require_root,
    signal_pid,
)
from hapair.lab.processes import CommandResult, LabProcess, run_command, run_interactive
from hapair.lab.status import HostStatus, InterfaceStatus, LabStatus, ProcessStatus, SwitchStatus
from hapair.lab.topology import (
    DEFAULT_PREFIX,
    SWITCH,
    SWITCH_PORT_PREFIX,
    HostSpec,
    LabNames,
    Topology,
    runbook_topology,
)

# The switch namespace gets no IPv6, so the bridge sends no router solicitations or MLD reports
# onto the segment: what a capture on the switch shows comes from the hosts.
_SWITCH_SYSCTLS = ("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")


@dataclass(frozen=True, slots=True)
class DownReport:
    """What `Lab.down` removed."""

    namespaces: tuple[str, ...]
    processes: tuple[NamespaceProcess, ...]


class Lab:
    """Hosts of `topology` as namespaces `<prefix>-<host>` on a bridge in `<prefix>-sw`."""

    def __init__(self, topology: Topology | None = None, prefix: str = DEFAULT_PREFIX) -> None:
        self.topology = topology if topology is not None else runbook_topology()
        self.names = LabNames(prefix)
        self._spawned: list[LabProcess] = []
        self._firewalls: dict[str, HostFirewall] = {}

    def __repr__(self) -> str:
        return f"<Lab {self.prefix}: {', '.join(self.hosts)}>"

    # names and addresses

    @property
    def prefix(self) -> str:
        return self.names.prefix

    @property
    def hosts(self) -> tuple[str, ...]:
        return self.topology.host_names

    @property
    def vip(self) -> IPv4Address | None:
        return self.topology.vip

    def host(self, name: str) -> HostSpec:
        spec = self.topology.host(name)
        if spec is None:
            raise UnknownHostError(name, self.hosts)
        return spec

    def namespace(self, host: str) -> str:
        """The namespace name of `host`, for `ip netns exec` or `ip -n`.

        `host` may also be SWITCH ("sw"), the switch's namespace, where `br0` carries every frame
        of the segment: `lab.spawn(SWITCH, ["tcpdump", "-ni", "br0", ...], log)` sees them all.
        `run`, `spawn`, `exec_interactive`, `links` and `processes_in` accept it too.
        """
        if host == SWITCH:
            return self.names.switch_namespace
        return self.names.host_namespace(self.host(host).name)

    def address(self, host: str) -> IPv4Address:
        return self.host(host).address.ip

    def mac(self, host: str) -> str:
        """The MAC address the lab gives the host's interface."""
        return self.host(host).mac

    # lifecycle

    def __enter__(self) -> Self:
        self.up()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.down()

    def up(self) -> None:
        """Build whatever part of the topology is missing or wrong; leave what is right alone.

        Addresses are only added, never removed, so a VIP that VRRP holds survives a second `up`.
        """
        require_root()
        switch = self.names.switch_namespace
        create_namespace(switch)
        run_command(SWITCH, switch, ["sysctl", "-q", "-w", *_SWITCH_SYSCTLS], 10.0).check()
        for spec in self.topology.hosts:
            create_namespace(self.names.host_namespace(spec.name))
        with NamespaceNetlink(switch) as sw:
            _ensure_loopback(sw)
            bridge = _ensure_bridge(sw, self.topology.bridge)
            for spec in self.topology.hosts:
                with NamespaceNetlink(self.names.host_namespace(spec.name)) as host:
                    self._ensure_host(spec, sw, host, bridge)

    def _ensure_host(
        self, spec: HostSpec, sw: NamespaceNetlink, host: NamespaceNetlink, bridge: LinkRecord
    ) -> None:
        _ensure_loopback(host)
        port_name = self.names.switch_port(spec.name)
        port, iface = sw.link(port_name), host.link(spec.ifname)
        if not _is_veth_pair(port, iface):
            if port is not None:
                sw.delete_link(port.index)  # takes its peer with it
            stale = host.link(spec.ifname)
            if stale is not None:
                host.delete_link(stale.index)
            sw.add_veth(port_name, spec.ifname, host.namespace, spec.mac)
            port, iface = sw.link(port_name), host.link(spec.ifname)
        if port is None or iface is None:
            raise LabError(f"{spec.name}: veth {port_name} <-> {spec.ifname} vanished after creation")
        if iface.mac != spec.mac:
            host.set_up(iface.index, False)
            host.set_mac(iface.index, spec.mac)
            iface = host.link(spec.ifname) or iface
        if not any(a.index == iface.index and a.interface == spec.address for a in host.addresses()):
            host.add_address(iface.index, spec.address)
        if not iface.admin_up:
            host.set_up(iface.index)
        if port.master_index != bridge.index:
            sw.set_master(port.index, bridge.index)
        if not port.admin_up:
            sw.set_up(port.index)

    def owned_namespaces(self) -> list[str]:
        """Every namespace of this prefix that exists, including those of hosts not in the topology."""
        return [name for name in list_namespaces() if self.names.owns(name)]

    def down(self, grace: float = 2.0) -> DownReport:
        """Remove everything of this prefix: end the processes inside (SIGTERM, SIGKILL after
        `grace` s, by PID), then remove the namespaces, which takes links and rules with them."""
        require_root()
        owned = self.owned_namespaces()
        try:
            ended = end_processes_in(owned, grace)
            for proc in self._spawned:
                if proc.running:  # not inside a namespace of ours any more, but still ours to end
                    proc.kill()
                proc.wait(5.0)  # reap it: no zombie, no "still running" warning from Popen
        finally:  # a process that would not die must not keep the names alive
            for name in owned:
                remove_namespace(name)
            self._spawned.clear()
            self._firewalls.clear()
        return DownReport(tuple(owned), tuple(ended))

    def is_up(self) -> bool:
        return self.status().complete

    # commands and processes

    def _live_namespace(self, host: str) -> str:
        """`host`'s namespace, checked to exist (so a lab that is down gives a clear error)."""
        require_root()
        namespace = self.namespace(host)
        if not is_mounted_namespace(namespace):
            raise LabError(f"host {host} has no namespace {namespace}; bring the lab up first")
        return namespace

    def run(
        self,
        host: str,
        argv: Sequence[str],
        timeout: float = 10.0,
        *,
        check: bool = False,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> CommandResult:
        """Run a short command inside `host` and capture its output; LabTimeoutError after `timeout` s.

        With `check=True` a non-zero exit raises CommandFailedError.
        """
        result = run_command(host, self._live_namespace(host), argv, timeout, stdin=stdin, env=env, cwd=cwd)
        return result.check() if check else result

    def exec_interactive(self, host: str, argv: Sequence[str]) -> int:
        """Run a command inside `host` on this terminal and return its exit code."""
        return run_interactive(self._live_namespace(host), argv)

    def spawn(
        self,
        host: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> LabProcess:
        """Start a long-running process inside `host`, output appended to `log_path`.

        The lab keeps track of it; `down` ends it (and anything else inside the lab) by PID.
        """
        namespace = self._live_namespace(host)
        proc = LabProcess(host, namespace, argv, log_path, env=env, cwd=cwd)
        self._spawned.append(proc)
        return proc

    @property
    def spawned(self) -> tuple[LabProcess, ...]:
        """The processes this Lab object started, running or not."""
        return tuple(self._spawned)

    def processes_in(self, host: str) -> list[NamespaceProcess]:
        """Every process inside `host`'s namespace, whoever started it."""
        return processes_in(self.namespace(host))

    # inspection

    def _netlink(self, host: str) -> NamespaceNetlink:
        require_root()
        return NamespaceNetlink(self.namespace(host))

    def links(self, host: str) -> list[LinkRecord]:
        with self._netlink(host) as nl:
            return nl.links()

    def addresses(self, host: str) -> list[IPv4Interface]:
        """The IPv4 addresses on `host` (any interface), e.g. [10.30.31.168/27, 10.30.31.171/27]."""
        with self._netlink(host) as nl:
            return [a.interface for a in nl.addresses() if isinstance(a.interface, IPv4Interface)]

    def neighbours(self, host: str) -> list[NeighbourEntry]:
        """`host`'s ARP and NDP cache."""
        with self._netlink(host) as nl:
            return nl.neighbours()

    def neighbour(self, host: str, ip: IPv4Address | str) -> NeighbourEntry | None:
        """`host`'s ARP entry for `ip` (e.g. the client's entry for the VIP), if it has one."""
        wanted = ip_address(ip)
        return next((n for n in self.neighbours(host) if n.ip == wanted), None)

    def vip_holders(self) -> list[str]:
        """The hosts that have the VIP on an interface right now (normally zero or one)."""
        if self.vip is None:
            return []
        return [h for h in self.hosts if any(a.ip == self.vip for a in self.addresses(h))]

    def ping(self, source: str, target: str | IPv4Address, count: int = 1, wait: float = 1.0) -> bool:
        """True if `source` gets an answer from `target` (a host name or an address)."""
        spec = self.topology.host(str(target))
        destination = str(spec.address.ip) if spec is not None else str(ip_address(target))
        argv = ["ping", "-n", "-q", "-c", str(count), "-W", f"{wait:g}", destination]
        return self.run(source, argv, timeout=count * wait + 5.0).ok

    def status(self) -> LabStatus:
        """A snapshot of the whole lab; works on a lab that is down or half built."""
        require_root()
        owned = self.owned_namespaces()
        logs = {p.pid: str(p.log_path) for p in self._spawned}
        expected = {self.names.switch_namespace} | {self.names.host_namespace(h) for h in self.hosts}
        switch = self._switch_status(logs)
        hosts = tuple(self._host_status(spec, switch, logs) for spec in self.topology.hosts)
        return LabStatus(
            prefix=self.prefix,
            network=str(self.topology.network),
            vip=str(self.vip) if self.vip is not None else None,
            vip_holders=tuple(h.name for h in hosts if h.holds_vip),
            switch=switch,
            hosts=hosts,
            stray_namespaces=tuple(n for n in owned if n not in expected),
        )

    def _switch_status(self, logs: Mapping[int, str]) -> SwitchStatus:
        name = self.names.switch_namespace
        if not is_mounted_namespace(name):
            return SwitchStatus(name, False, self.topology.bridge, False, (), ())
        with NamespaceNetlink(name) as sw:
            links = sw.links()
            addresses = sw.addresses()
        bridge = next((link for link in links if link.name == self.topology.bridge), None)
        enslaved = {link.index for link in links if bridge is not None and link.master_index == bridge.index}
        ports = tuple(
            _interface_status(link, links, addresses)
            for link in links
            if link.index in enslaved or link.name.startswith(SWITCH_PORT_PREFIX)
        )
        bridge_up = bridge is not None and bridge.kind == "bridge" and bridge.admin_up
        return SwitchStatus(name, True, self.topology.bridge, bridge_up, ports, _processes(name, logs))

    def _host_status(self, spec: HostSpec, switch: SwitchStatus, logs: Mapping[int, str]) -> HostStatus:
        name = self.names.host_namespace(spec.name)
        if not is_mounted_namespace(name):
            address = str(spec.address)
            return HostStatus(spec.name, name, False, False, spec.ifname, address, spec.mac, (), (), False)
        with NamespaceNetlink(name) as nl:
            links = nl.links()
            addresses = nl.addresses()
        interfaces = tuple(_interface_status(link, links, addresses) for link in links)
        iface = next((i for i in interfaces if i.name == spec.ifname), None)
        port = next((p for p in switch.ports if p.name == self.names.switch_port(spec.name)), None)
        ready = (
            iface is not None
            and iface.admin_up
            and iface.mac == spec.mac
            and str(spec.address) in iface.addresses
            and port is not None
            and port.admin_up
            and port.master == self.topology.bridge
        )
        vip = self.topology.vip_interface
        holds_vip = vip is not None and any(a.interface.ip == vip.ip for a in addresses)
        return HostStatus(
            name=spec.name,
            namespace=name,
            present=True,
            ready=ready,
            ifname=spec.ifname,
            address=str(spec.address),
            mac=spec.mac,
            interfaces=interfaces,
            processes=_processes(name, logs),
            holds_vip=holds_vip,
        )

    # faults

    def kill(self, pid: int, sig: int = signal.SIGKILL) -> None:
        """Signal any process by PID (kill -9 by default): the crash fault."""
        signal_pid(pid, sig)

    def pause(self, pid: int) -> None:
        """SIGSTOP a process by PID: it hangs with its sockets and addresses in place."""
        signal_pid(pid, signal.SIGSTOP)

    def resume(self, pid: int) -> None:
        signal_pid(pid, signal.SIGCONT)

    def set_link(self, host: str, up: bool) -> None:
        """Take `host`'s interface down or up: carrier loss on both ends of its cable."""
        spec = self.host(host)
        with self._netlink(host) as nl:
            link = nl.link(spec.ifname)
            if link is None:
                raise LabError(f"{host} has no interface {spec.ifname}; run `up` first")
            nl.set_up(link.index, up)

    def link_down(self, host: str) -> None:
        self.set_link(host, False)

    def link_up(self, host: str) -> None:
        self.set_link(host, True)

    def firewall(self, host: str) -> HostFirewall:
        """The lab's fault chains on `host` (see `faults`)."""
        self.host(host)
        if host not in self._firewalls:
            self._firewalls[host] = HostFirewall(host, lambda argv: self.run(host, argv))
        return self._firewalls[host]

    def block(self, host: str, packet_filter: PacketFilter) -> FilterHandle:
        """Cut what `packet_filter` describes on `host` until the handle is removed (or the `with` ends)."""
        return self.firewall(host).add(packet_filter)

    def clear_faults(self) -> None:
        """Lift every packet filter and bring every host interface up."""
        for host in self.hosts:
            self.firewall(host).clear()
            self.set_link(host, True)


def _ensure_loopback(nl: NamespaceNetlink) -> None:
    lo = nl.link("lo")
    if lo is not None and not lo.admin_up:
        nl.set_up(lo.index)


def _ensure_bridge(sw: NamespaceNetlink, name: str) -> LinkRecord:
    bridge = sw.link(name)
    if bridge is not None and bridge.kind != "bridge":
        sw.delete_link(bridge.index)
        bridge = None
    if bridge is None:
        sw.add_bridge(name)
        bridge = sw.link(name)
        if bridge is None:
            raise LabError(f"bridge {name} vanished after creation")
    if not bridge.admin_up:
        sw.set_up(bridge.index)
    return bridge


def _is_veth_pair(port: LinkRecord | None, iface: LinkRecord | None) -> bool:
    return (
        port is not None
        and iface is not None
        and port.kind == "veth"
        and iface.kind == "veth"
        and port.peer_index == iface.index
        and iface.peer_index == port.index
    )


def _interface_status(
    link: LinkRecord, links: Sequence[LinkRecord], addresses: Sequence[AddressRecord]
) -> InterfaceStatus:
    mine = [a.interface for a in addresses if a.index == link.index]
    mine.sort(key=lambda i: (i.version, i.ip))
    master = next((m.name for m in links if m.index == link.master_index), None)
    return InterfaceStatus(
        name=link.name,
        index=link.index,
        kind=link.kind,
        mac=link.mac,
        admin_up=link.admin_up,
        operstate=link.operstate,
        addresses=tuple(str(i) for i in mine),
        master=master,
    )


def _processes(namespace: str, logs: Mapping[int, str]) -> tuple[ProcessStatus, ...]:
    return tuple(ProcessStatus(p.pid, p.argv, logs.get(p.pid)) for p in processes_in(namespace))
