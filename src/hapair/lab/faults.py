"""Packet filters for fault injection: cut one protocol, port or peer on one lab host.

Rules go into two chains of the host's own filter table, `HAPAIR-IN` (jumped to first from INPUT)
and `HAPAIR-OUT` (first from OUTPUT), so removing the lab's faults never touches other rules and
`iptables -S HAPAIR-IN` shows exactly what is cut. The rules live in the host's network namespace
and vanish with it. iptables (the Debian nf_tables backend) rather than nft because its rule syntax
is what the research notes and DRBD's test suite use, and each rule can be deleted by its spec.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from types import TracebackType
from typing import Self

from hapair.errors import HapairError
from hapair.lab.errors import LabError
from hapair.lab.processes import CommandResult

CHAIN_IN = "HAPAIR-IN"
CHAIN_OUT = "HAPAIR-OUT"
PROTOCOL_ALIASES = {"vrrp": "112", "all": "all", "tcp": "tcp", "udp": "udp", "icmp": "icmp"}


class FaultSpecError(HapairError):
    """A fault was described in a way that cannot be turned into a rule."""


class Direction(enum.Enum):
    """Which traffic of the host a filter cuts: what it receives, what it sends, or both."""

    INPUT = "input"
    OUTPUT = "output"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class PacketFilter:
    """Which packets to cut on a host.

    - `protocol`: "all", "tcp", "udp", "icmp", "vrrp" (IP protocol 112) or an IP protocol number;
    - `port`: with tcp or udp, packets with this port at either end (so both the side that listens
      and the side that connects lose the connection);
    - `peer`: only packets from (input) or to (output) this address;
    - `reject`: with tcp or udp, answer instead of dropping silently (a TCP reset, or ICMP port
      unreachable), the "peer is up but refuses" fault. The resets the host sends are let out
      (`! --tcp-flags RST RST` on output), or the reject would silently drop its own answer;
    - `probability`: drop only this fraction of matching packets, at random (packet loss).
    """

    protocol: str | int = "all"
    port: int | None = None
    peer: IPv4Address | None = None
    direction: Direction = Direction.BOTH
    reject: bool = False
    probability: float | None = None

    def __post_init__(self) -> None:
        proto = self.protocol_arg
        if self.port is not None:
            if proto not in ("tcp", "udp"):
                raise FaultSpecError(f"a port filter needs protocol tcp or udp, not {self.protocol!r}")
            if not 0 < self.port < 65536:
                raise FaultSpecError(f"port {self.port} is out of range 1-65535")
        if self.reject and proto not in ("tcp", "udp"):
            raise FaultSpecError(f"reject needs protocol tcp or udp, not {self.protocol!r}; use a drop")
        if self.probability is not None and not 0.0 < self.probability <= 1.0:
            raise FaultSpecError(f"probability {self.probability} is not in (0, 1]")

    @property
    def protocol_arg(self) -> str:
        """The value for `iptables -p`."""
        if isinstance(self.protocol, int):
            if not 0 <= self.protocol <= 255:
                raise FaultSpecError(f"IP protocol {self.protocol} is out of range 0-255")
            return str(self.protocol)
        try:
            return PROTOCOL_ALIASES[self.protocol.lower()]
        except KeyError:
            known = ", ".join(sorted(PROTOCOL_ALIASES))
            raise FaultSpecError(f"unknown protocol {self.protocol!r}; use {known} or a number") from None

    def rules(self) -> list[tuple[str, tuple[str, ...]]]:
        """The rule specs this filter needs, as (chain, iptables arguments after the chain)."""
        out: list[tuple[str, tuple[str, ...]]] = []
        chains = {
            Direction.INPUT: ((CHAIN_IN, "-s"),),
            Direction.OUTPUT: ((CHAIN_OUT, "-d"),),
            Direction.BOTH: ((CHAIN_IN, "-s"), (CHAIN_OUT, "-d")),
        }[self.direction]
        ports: tuple[tuple[str, ...], ...] = (
            ((),) if self.port is None else (("--dport", str(self.port)), ("--sport", str(self.port)))
        )
        for chain, peer_flag in chains:
            for port_match in ports:
                spec: list[str] = ["-p", self.protocol_arg]
                if self.peer is not None:
                    spec += [peer_flag, f"{self.peer}/32"]
                spec += port_match
                if self.reject and self.protocol_arg == "tcp" and chain == CHAIN_OUT:
                    spec += ["!", "--tcp-flags", "RST", "RST"]
                if self.probability is not None:
                    spec += ["-m", "statistic", "--mode", "random", "--probability", f"{self.probability:g}"]
                spec += self._target()
                out.append((chain, tuple(spec)))
        return out

    def _target(self) -> list[str]:
        if not self.reject:
            return ["-j", "DROP"]
        if self.protocol_arg == "tcp":
            return ["-j", "REJECT", "--reject-with", "tcp-reset"]
        return ["-j", "REJECT", "--reject-with", "icmp-port-unreachable"]  # udp

    def describe(self) -> str:
        parts = [self.protocol_arg if self.protocol_arg != "112" else "vrrp"]
        if self.port is not None:
            parts.append(f"port {self.port}")
        if self.peer is not None:
            parts.append(f"peer {self.peer}")
        parts.append(self.direction.value)
        if self.probability is not None:
            parts.append(f"p={self.probability:g}")
        parts.append("reject" if self.reject else "drop")
        return " ".join(parts)


class HostFirewall:
    """The lab's two filter chains on one host; `run` executes one iptables argument list there."""

    def __init__(self, host: str, run: Callable[[Sequence[str]], CommandResult]) -> None:
        self.host = host
        self._run = run
        self._ready = False

    def _iptables(self, *args: str) -> CommandResult:
        return self._run(["iptables", "-w", "5", *args])

    def ensure_chains(self) -> None:
        """Create HAPAIR-IN/OUT and their jumps from INPUT/OUTPUT unless they are there already."""
        if self._ready:
            return
        for chain, parent in ((CHAIN_IN, "INPUT"), (CHAIN_OUT, "OUTPUT")):
            created = self._iptables("-N", chain)
            if not created.ok and "exists" not in created.stderr:
                created.check()
            if not self._iptables("-C", parent, "-j", chain).ok:
                self._iptables("-I", parent, "1", "-j", chain).check()
        self._ready = True

    def add(self, packet_filter: PacketFilter) -> FilterHandle:
        """Start cutting what `packet_filter` describes; the handle undoes exactly that."""
        self.ensure_chains()
        added: list[tuple[str, tuple[str, ...]]] = []
        try:
            for chain, spec in packet_filter.rules():
                self._iptables("-A", chain, *spec).check()
                added.append((chain, spec))
        except LabError:
            for chain, spec in added:
                self._iptables("-D", chain, *spec)
            raise
        return FilterHandle(self, packet_filter)

    def remove(self, packet_filter: PacketFilter) -> None:
        """Stop cutting `packet_filter`; rules already gone are not an error."""
        for chain, spec in packet_filter.rules():
            self._iptables("-D", chain, *spec)

    def clear(self) -> None:
        """Remove every lab fault rule on this host (the chains stay, empty)."""
        for chain in (CHAIN_IN, CHAIN_OUT):
            flushed = self._iptables("-F", chain)
            if not flushed.ok and "No chain" not in flushed.stderr:
                flushed.check()

    def active_rules(self) -> list[str]:
        """The fault rules in force, as `iptables -S` prints them (empty when none)."""
        lines: list[str] = []
        for chain in (CHAIN_IN, CHAIN_OUT):
            listed = self._iptables("-S", chain)
            if listed.ok:
                lines += [line for line in listed.stdout.splitlines() if line.startswith("-A ")]
        return lines


class FilterHandle:
    """One active packet filter; `remove()` (or leaving the `with` block) lifts it."""

    def __init__(self, firewall: HostFirewall, packet_filter: PacketFilter) -> None:
        self.firewall = firewall
        self.filter = packet_filter
        self.active = True

    def __repr__(self) -> str:
        state = "active" if self.active else "removed"
        return f"<FilterHandle {self.firewall.host}: {self.filter.describe()} ({state})>"

    def remove(self) -> None:
        if self.active:
            self.firewall.remove(self.filter)
            self.active = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()
