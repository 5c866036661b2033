"""A UDP socket on the asyncio loop with a bounded receive queue (witness traffic).

Datagrams beyond the queue's bound are dropped and counted (the witness protocol retries), so a
flood can cost memory only up to the bound. Addresses are exchanged as "host:port" strings, the
form the pure witness cores use for senders.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hapair.errors import AdapterError

DEFAULT_QUEUE = 1024


class UdpError(AdapterError):
    """The UDP socket could not be opened or used."""


def split_address(text: str, default_port: int) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    try:
        return host, int(port)
    except ValueError:
        raise UdpError(f"bad address {text!r}: the port is not a number") from None


def join_address(host: str, port: int) -> str:
    return f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class Datagram:
    data: bytes
    sender: str


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, queue: asyncio.Queue[Datagram]) -> None:
        self.queue = queue
        self.dropped = 0

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if self.queue.full():
            self.dropped += 1
            return
        self.queue.put_nowait(Datagram(data, join_address(str(addr[0]), int(str(addr[1])))))

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (port unreachable while the peer is down) are expected; the protocol retries.
        pass


class UdpEndpoint:
    """One bound UDP socket: `receive()` the next datagram, `send(data, "host:port")`."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE) -> None:
        self._queue: asyncio.Queue[Datagram] = asyncio.Queue(maxsize=queue_size)
        self._protocol = _Protocol(self._queue)
        self._transport: asyncio.DatagramTransport | None = None

    async def open(self, local: tuple[str, int] | None = None, remote: tuple[str, int] | None = None) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: self._protocol, local_addr=local, remote_addr=remote
            )
        except OSError as exc:
            raise UdpError(f"cannot open UDP socket {local or remote}: {exc.strerror or exc}") from exc
        self._transport = transport

    @property
    def local_address(self) -> tuple[str, int]:
        """The address the socket is bound to (useful when opened on port 0)."""
        if self._transport is None:
            raise UdpError("UDP socket is not open")
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    @property
    def dropped(self) -> int:
        return self._protocol.dropped

    async def receive(self) -> Datagram:
        return await self._queue.get()

    def send(self, data: bytes, destination: str | None = None) -> None:
        if self._transport is None:
            raise UdpError("UDP socket is not open")
        if destination is None:
            self._transport.sendto(data)
        else:
            host, port = split_address(destination, 0)
            self._transport.sendto(data, (host, port))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
