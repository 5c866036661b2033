"""Typed netlink access to one named namespace, through pyroute2's `IPRoute(netns=...)`.

Why pyroute2 and not `ip`: links, addresses and neighbours come back as structured messages
(no parsing of `ip` output), errors carry errno, and a netlink socket opened inside the namespace
costs one short fork instead of one `ip` process per call. pyroute2 values are `Any`; this module
turns them into the frozen records below so nothing untyped leaks into the rest of the lab.

pyroute2's synchronous `IPRoute` runs an event loop of its own, which cannot run in a thread where
an asyncio loop is already running. So when it is called from such a thread (an async test or
demo), `NamespaceNetlink` does its netlink work in a private worker thread and waits for it: the
caller's loop is blocked for those milliseconds, as with any synchronous call, but it works.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface, ip_address, ip_interface
from socket import AF_INET, AF_INET6
from types import TracebackType
from typing import Any, Self, TypeVar

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from hapair.lab.errors import LabError
from hapair.lab.netns import is_mounted_namespace, quiet_fork_child

T = TypeVar("T")
IFF_UP = 0x1
NETLINK_TIMEOUT = 30.0  # seconds for one netlink call made through the worker thread
# Neighbour (ARP/NDP) entry states, from linux/neighbour.h.
NUD_STATES = (
    (0x01, "INCOMPLETE"),
    (0x02, "REACHABLE"),
    (0x04, "STALE"),
    (0x08, "DELAY"),
    (0x10, "PROBE"),
    (0x20, "FAILED"),
    (0x40, "NOARP"),
    (0x80, "PERMANENT"),
)


def nud_state_name(state: int) -> str:
    """`ip neigh` style name of a neighbour state bit set, e.g. 0x02 -> REACHABLE; 0 -> NONE."""
    names = [name for bit, name in NUD_STATES if state & bit]
    return ",".join(names) if names else "NONE"


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """One interface as the kernel reports it."""

    index: int
    name: str
    kind: str | None  # "veth", "bridge", ... ; None for lo and physical devices
    mac: str
    admin_up: bool
    operstate: str  # UP, DOWN, LOWERLAYERDOWN, UNKNOWN, ...
    peer_index: int | None  # IFLA_LINK: a veth's peer ifindex (in the peer's namespace)
    master_index: int | None


@dataclass(frozen=True, slots=True)
class AddressRecord:
    index: int
    interface: IPv4Interface | IPv6Interface


@dataclass(frozen=True, slots=True)
class NeighbourEntry:
    """One ARP (IPv4) or NDP (IPv6) cache entry, as `ip neigh` shows it."""

    ip: IPv4Address | IPv6Address
    mac: str | None
    state: str
    ifname: str


def _asyncio_loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _open_iproute(name: str) -> Any:
    with quiet_fork_child():
        return IPRoute(netns=name, flags=0)


def _int_or_none(value: Any) -> int | None:
    return int(value) if value is not None else None


class NamespaceNetlink:
    """A netlink socket inside namespace `name`; use as a context manager so the socket is closed."""

    def __init__(self, name: str) -> None:
        if not is_mounted_namespace(name):
            raise LabError(f"network namespace {name} does not exist")
        self.namespace = name
        self._worker = ThreadPoolExecutor(1, "lab-netlink") if _asyncio_loop_running() else None
        try:
            self._ipr: Any = self._in_worker(_open_iproute, name)
        except OSError as exc:
            self._stop_worker()
            raise LabError(f"cannot open netlink in namespace {name}: {exc}") from exc

    def _in_worker(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._worker is None:
            return func(*args, **kwargs)
        return self._worker.submit(func, *args, **kwargs).result(timeout=NETLINK_TIMEOUT)

    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=True)

    def close(self) -> None:
        try:
            self._in_worker(self._ipr.close)
        finally:
            self._stop_worker()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._in_worker(getattr(self._ipr, method), *args, **kwargs)
        except NetlinkError as exc:
            raise LabError(f"{self.namespace}: {what}: {exc.args[-1]} (errno {exc.code})") from exc
        except OSError as exc:
            raise LabError(f"{self.namespace}: {what}: {exc}") from exc

    # reading

    def links(self) -> list[LinkRecord]:
        out = []
        for msg in self._call("list links", "link", "dump"):
            out.append(
                LinkRecord(
                    index=int(msg["index"]),
                    name=str(msg.get("ifname")),
                    kind=_str_or_none(msg.get(("linkinfo", "kind"))),
                    mac=str(msg.get("address") or ""),
                    admin_up=bool(int(msg["flags"]) & IFF_UP),
                    operstate=str(msg.get("operstate") or "UNKNOWN"),
                    peer_index=_int_or_none(msg.get("link")),
                    master_index=_int_or_none(msg.get("master")),
                )
            )
        return sorted(out, key=lambda link: link.index)

    def link(self, name: str) -> LinkRecord | None:
        return next((link for link in self.links() if link.name == name), None)

    def addresses(self) -> list[AddressRecord]:
        out = []
        for msg in self._call("list addresses", "addr", "dump"):
            family = int(msg["family"])
            if family not in (AF_INET, AF_INET6):
                continue
            text = msg.get("local") or msg.get("address")
            if text is None:
                continue
            out.append(AddressRecord(int(msg["index"]), ip_interface(f"{text}/{int(msg['prefixlen'])}")))
        return out

    def neighbours(self) -> list[NeighbourEntry]:
        names = {link.index: link.name for link in self.links()}
        out = []
        for msg in self._call("list neighbours", "neigh", "dump"):
            if int(msg["family"]) not in (AF_INET, AF_INET6) or msg.get("dst") is None:
                continue
            out.append(
                NeighbourEntry(
                    ip=ip_address(str(msg.get("dst"))),
                    mac=_str_or_none(msg.get("lladdr")),
                    state=nud_state_name(int(msg["state"])),
                    ifname=names.get(int(msg["ifindex"]), str(msg["ifindex"])),
                )
            )
        return out

    # changing

    def set_up(self, index: int, up: bool = True) -> None:
        state = "up" if up else "down"
        self._call(f"set link {index} {state}", "link", "set", index=index, state=state)

    def set_mac(self, index: int, mac: str) -> None:
        self._call(f"set link {index} address {mac}", "link", "set", index=index, address=mac)

    def set_master(self, index: int, master_index: int) -> None:
        self._call(f"enslave link {index} to {master_index}", "link", "set", index=index, master=master_index)

    def delete_link(self, index: int) -> None:
        self._call(f"delete link {index}", "link", "del", index=index)

    def add_bridge(self, name: str) -> None:
        """A bridge with STP off (ports forward at once) and no multicast snooping (VRRP floods)."""
        options = {"ifname": name, "kind": "bridge", "br_stp_state": 0, "br_mcast_snooping": 0}
        self._call(f"add bridge {name}", "link", "add", **options)

    def add_veth(self, name: str, peer_name: str, peer_namespace: str, peer_mac: str) -> None:
        """A veth pair: `name` here, `peer_name` (with `peer_mac`) created directly in `peer_namespace`."""
        peer = {"ifname": peer_name, "net_ns_fd": peer_namespace, "address": peer_mac}
        what = f"add veth {name} <-> {peer_namespace}/{peer_name}"
        self._call(what, "link", "add", ifname=name, kind="veth", peer=peer)

    def add_address(self, index: int, interface: IPv4Interface) -> None:
        options = {
            "index": index,
            "address": str(interface.ip),
            "prefixlen": interface.network.prefixlen,
            "broadcast": str(interface.network.broadcast_address),
        }
        self._call(f"add address {interface} to link {index}", "addr", "add", **options)


def _str_or_none(value: Any) -> str | None:
    return str(value) if value is not None else None
