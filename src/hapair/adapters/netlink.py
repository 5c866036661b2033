"""Interface facts, floating addresses and link events through pyroute2's asyncio API.

pyroute2's synchronous `IPRoute` cannot be used from inside a running event loop, so everything
here uses `AsyncIPRoute`. Adding an address that exists (EEXIST) and deleting one that is gone
(EADDRNOTAVAIL) count as success: VIP changes must be idempotent, because a restart after a crash
finds the addresses of the previous run.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

from hapair.errors import AdapterError

IFF_UP = 0x1
IFF_RUNNING = 0x40
IFF_LOWER_UP = 0x10000


class NetlinkFailed(AdapterError):
    """A netlink request was refused by the kernel."""

    def __init__(self, what: str, code: int) -> None:
        super().__init__(f"{what}: {errno.errorcode.get(code, str(code))} ({code})")
        self.code = code


@dataclass(frozen=True, slots=True)
class InterfaceInfo:
    """What the VRRP engine needs to know about its interface."""

    name: str
    index: int
    mac: bytes
    up: bool
    ipv4: tuple[ipaddress.IPv4Interface, ...]

    @property
    def primary_ipv4(self) -> ipaddress.IPv4Address | None:
        """The first address of the interface, as keepalived picks its source address."""
        return self.ipv4[0].ip if self.ipv4 else None


@dataclass(frozen=True, slots=True)
class LinkChanged:
    """An interface went up or down (RTM_NEWLINK) or disappeared (RTM_DELLINK)."""

    name: str
    index: int
    up: bool


def link_is_up(flags: int) -> bool:
    """keepalived's notion of a usable interface: administratively up and carrier present."""
    return bool(flags & IFF_UP) and bool(flags & IFF_RUNNING)


def _mac_bytes(text: str | None) -> bytes:
    if not text:
        return b""
    return bytes(int(part, 16) for part in text.split(":"))


class NetlinkClient:
    """One rtnetlink socket for queries and address changes in the current namespace."""

    def __init__(self) -> None:
        self._ipr: Any = None

    async def open(self) -> None:
        self._ipr = AsyncIPRoute()
        await self._ipr.setup_endpoint()

    async def close(self) -> None:
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None

    def _require(self) -> Any:
        if self._ipr is None:
            raise AdapterError("netlink client is not open")
        return self._ipr

    async def interface(self, name: str) -> InterfaceInfo:
        ipr = self._require()
        try:
            indexes = await ipr.link_lookup(ifname=name)
            if not indexes:
                raise AdapterError(f"interface {name} does not exist")
            index = int(indexes[0])
            links = [link async for link in await ipr.get_links(index)]
            addrs = [a async for a in await ipr.get_addr(index=index, family=socket.AF_INET)]
        except NetlinkError as exc:
            raise NetlinkFailed(f"query of interface {name}", exc.code) from exc
        link = links[0]
        ipv4 = tuple(ipaddress.IPv4Interface(f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}") for a in addrs)
        return InterfaceInfo(
            name=name,
            index=index,
            mac=_mac_bytes(link.get("IFLA_ADDRESS")),
            up=link_is_up(int(link["flags"])),
            ipv4=ipv4,
        )

    async def add_address(
        self, index: int, address: ipaddress.IPv4Interface, label: str | None = None
    ) -> bool:
        """Add an address; returns False when it was already there."""
        ipr = self._require()
        kwargs: dict[str, Any] = {
            "index": index,
            "address": str(address.ip),
            "prefixlen": address.network.prefixlen,
        }
        if label:
            kwargs["label"] = label
        if address.network.prefixlen < 32:
            kwargs["broadcast"] = str(address.network.broadcast_address)
        try:
            await ipr.addr("add", **kwargs)
        except NetlinkError as exc:
            if exc.code == errno.EEXIST:
                return False
            raise NetlinkFailed(f"adding {address} on ifindex {index}", exc.code) from exc
        return True

    async def remove_address(self, index: int, address: ipaddress.IPv4Interface) -> bool:
        """Remove an address; returns False when it was not there."""
        ipr = self._require()
        try:
            await ipr.addr("del", index=index, address=str(address.ip), prefixlen=address.network.prefixlen)
        except NetlinkError as exc:
            if exc.code in (errno.EADDRNOTAVAIL, errno.ENODEV):
                return False
            raise NetlinkFailed(f"removing {address} from ifindex {index}", exc.code) from exc
        return True


class LinkMonitor:
    """Streams link up/down events, like keepalived's "Netlink reports IF down"."""

    def __init__(self, queue_size: int = 256) -> None:
        self._ipr: Any = None
        self._queue: asyncio.Queue[LinkChanged] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._ipr = AsyncIPRoute()
        await self._ipr.bind()
        self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        assert self._ipr is not None
        while True:  # each get() yields the messages of one read from the socket
            async for msg in self._ipr.get():
                event = msg.get("event")
                if event not in ("RTM_NEWLINK", "RTM_DELLINK"):
                    continue
                change = LinkChanged(
                    name=str(msg.get("IFLA_IFNAME")),
                    index=int(msg["index"]),
                    up=event == "RTM_NEWLINK" and link_is_up(int(msg["flags"])),
                )
                if self._queue.full():
                    self._queue.get_nowait()  # keep the newest: only the latest link state matters
                self._queue.put_nowait(change)

    async def events(self) -> AsyncIterator[LinkChanged]:
        while True:
            yield await self._queue.get()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, NetlinkError, OSError):
                await self._task
            self._task = None
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None
