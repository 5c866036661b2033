"""What `hapair lab status` reports: a snapshot of the lab as the kernel sees it, as records.

The records are built by `Lab.status()`; this module only holds them and renders them, as JSON-ready
dicts (`--json`) or as a table for people.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class InterfaceStatus:
    name: str
    index: int
    kind: str | None
    mac: str
    admin_up: bool
    operstate: str
    addresses: tuple[str, ...]  # "10.30.31.168/27", IPv4 first, then IPv6
    master: str | None  # the bridge a switch port is enslaved to


@dataclass(frozen=True, slots=True)
class ProcessStatus:
    """A process found inside a lab namespace; `log_path` is known for those this Lab spawned."""

    pid: int
    argv: tuple[str, ...]
    log_path: str | None


@dataclass(frozen=True, slots=True)
class HostStatus:
    name: str
    namespace: str
    present: bool  # the namespace exists
    ready: bool  # its interface exists, is up, has its address and MAC, and its switch port is up
    ifname: str
    address: str
    mac: str
    interfaces: tuple[InterfaceStatus, ...]
    processes: tuple[ProcessStatus, ...]
    holds_vip: bool


@dataclass(frozen=True, slots=True)
class SwitchStatus:
    namespace: str
    present: bool
    bridge: str
    bridge_up: bool
    ports: tuple[InterfaceStatus, ...]
    processes: tuple[ProcessStatus, ...]


@dataclass(frozen=True, slots=True)
class LabStatus:
    prefix: str
    network: str
    vip: str | None
    vip_holders: tuple[str, ...]  # more than one is a split brain worth seeing
    switch: SwitchStatus
    hosts: tuple[HostStatus, ...]
    stray_namespaces: tuple[str, ...]  # owned by the prefix but not in the topology (a crashed run)

    @property
    def complete(self) -> bool:
        """Every piece of the topology is in place (what `up` guarantees)."""
        return self.switch.present and self.switch.bridge_up and all(h.ready for h in self.hosts)

    @property
    def absent(self) -> bool:
        """Nothing of this prefix exists (what `down` guarantees)."""
        return (
            not self.switch.present and not any(h.present for h in self.hosts) and not self.stray_namespaces
        )

    @property
    def processes(self) -> tuple[ProcessStatus, ...]:
        return self.switch.processes + tuple(p for h in self.hosts for p in h.processes)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: only str, int, bool, None, lists and dicts."""
        data: dict[str, object] = asdict(self)
        data["complete"] = self.complete
        data["absent"] = self.absent
        return data

    def render(self) -> str:
        if self.absent:
            return f"lab {self.prefix}: down (no namespaces)"
        state = "up" if self.complete else "incomplete (run `hapair lab up`)"
        holders = ", ".join(self.vip_holders) if self.vip_holders else "nobody"
        vip = f"; VIP {self.vip} held by {holders}" if self.vip else ""
        lines = [f"lab {self.prefix}: {state}; network {self.network}{vip}"]
        switch_state = "present" if self.switch.present else "MISSING"
        lines.append(f"switch {self.switch.namespace}: {switch_state}, bridge {self.switch.bridge}")
        for port in self.switch.ports:
            lines.append(f"  port {port.name:<15} {port.operstate:<14} master {port.master or '-'}")
        header = f"{'HOST':<12} {'NAMESPACE':<24} {'IFACE':<8} {'STATE':<14} {'MAC':<17}  ADDRESSES"
        lines.append(header)
        for host in self.hosts:
            if not host.present:
                lines.append(f"{host.name:<12} {host.namespace:<24} (namespace missing)")
                continue
            iface = next((i for i in host.interfaces if i.name == host.ifname), None)
            if iface is None:
                lines.append(f"{host.name:<12} {host.namespace:<24} {host.ifname:<8} MISSING")
            else:
                v4 = " ".join(a for a in iface.addresses if ":" not in a)
                lines.append(
                    f"{host.name:<12} {host.namespace:<24} {iface.name:<8} {iface.operstate:<14} "
                    f"{iface.mac:<17}  {v4}"
                )
            for proc in host.processes:
                log = f"  (log {proc.log_path})" if proc.log_path else ""
                lines.append(f"  pid {proc.pid}: {' '.join(proc.argv)}{log}")
        for name in self.stray_namespaces:
            lines.append(f"stray namespace {name} (not in the topology; `hapair lab down` removes it)")
        return "\n".join(lines)
