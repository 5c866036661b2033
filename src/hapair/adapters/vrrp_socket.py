"""Raw IPv4 protocol-112 socket for VRRP, set up the way keepalived 2.2.7 sets up its sockets.

One socket per (interface, mode) both sends and receives:
- sending uses IP_HDRINCL: the core builds the whole IPv4 datagram (TOS 0xc0, TTL 255, its own ID
  counter) exactly as keepalived does, so the bytes on the wire are the core's bytes;
- multicast mode joins 224.0.0.18 on the interface and binds to the group address, so unicast
  adverts are not seen; IP_MULTICAST_LOOP is off, so we never receive our own adverts;
- unicast mode binds to the configured unicast source address.
A raw IPv4 socket delivers the datagram with its IP header, which the core needs (TTL, source,
destination, total length) to validate an advert as keepalived does.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from dataclasses import dataclass

from hapair.errors import AdapterError

IPPROTO_VRRP = 112
VRRP_GROUP_V4 = "224.0.0.18"
IP_MULTICAST_ALL = 49  # not exported by Python's socket module (linux/in.h)
_RECV_BUFFER_BYTES = 65536
_SOCKET_RCVBUF_BYTES = 256 * 1024


class VrrpSocketError(AdapterError):
    """Opening or using the VRRP raw socket failed."""


@dataclass(frozen=True, slots=True)
class ReceivedDatagram:
    """An IPv4 datagram as the kernel delivered it (IP header included)."""

    data: bytes
    source: str


def _mreqn(group: str, ifindex: int) -> bytes:
    """struct ip_mreqn {imr_multiaddr, imr_address, imr_ifindex}."""
    return struct.pack("=4s4si", socket.inet_aton(group), socket.inet_aton("0.0.0.0"), ifindex)


class VrrpSocket:
    """A non-blocking raw VRRP socket bound to one interface."""

    def __init__(
        self,
        ifname: str,
        ifindex: int,
        *,
        unicast_src: str | None = None,
        multicast_group: str = VRRP_GROUP_V4,
    ) -> None:
        self.ifname = ifname
        self.ifindex = ifindex
        self.unicast_src = unicast_src
        self.multicast_group = multicast_group
        self._sock: socket.socket | None = None
        self._buffer = bytearray(_RECV_BUFFER_BYTES)

    @property
    def multicast(self) -> bool:
        return self.unicast_src is None

    def open(self) -> None:
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_VRRP)
        except OSError as exc:
            raise VrrpSocketError(f"cannot open raw VRRP socket: {exc.strerror}") from exc
        try:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, self.ifname.encode())
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SOCKET_RCVBUF_BYTES)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0xC0)
            if self.multicast:
                sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, _mreqn("0.0.0.0", self.ifindex))
                sock.setsockopt(
                    socket.IPPROTO_IP,
                    socket.IP_ADD_MEMBERSHIP,
                    _mreqn(self.multicast_group, self.ifindex),
                )
                sock.bind((self.multicast_group, 0))
            else:
                assert self.unicast_src is not None
                sock.bind((self.unicast_src, 0))
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise VrrpSocketError(
                f"cannot set up VRRP socket on {self.ifname}: {exc.strerror or exc}"
            ) from exc
        self._sock = sock

    def fileno(self) -> int:
        return self._require().fileno()

    def _require(self) -> socket.socket:
        if self._sock is None:
            raise VrrpSocketError(f"VRRP socket on {self.ifname} is not open")
        return self._sock

    def send(self, datagram: bytes, destination: str) -> None:
        """Send a complete IPv4 datagram (the core built the header)."""
        sock = self._require()
        flags = socket.MSG_DONTROUTE if self.multicast else 0
        try:
            sock.sendto(datagram, flags, (destination, 0))
        except OSError as exc:
            raise VrrpSocketError(
                f"sending VRRP advert on {self.ifname} to {destination} failed: {exc.strerror}"
            ) from exc

    def receive_all(self, limit: int = 64) -> list[ReceivedDatagram]:
        """Drain up to `limit` queued datagrams without blocking."""
        sock = self._require()
        out: list[ReceivedDatagram] = []
        view = memoryview(self._buffer)
        for _ in range(limit):
            try:
                size, address = sock.recvfrom_into(view)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                raise VrrpSocketError(f"receiving on {self.ifname} failed: {exc.strerror}") from exc
            out.append(ReceivedDatagram(bytes(view[:size]), str(address[0])))
        return out

    def close(self) -> None:
        if self._sock is None:
            return
        if self.multicast:
            # The interface may be gone already; closing drops the membership anyway.
            with contextlib.suppress(OSError):
                self._sock.setsockopt(
                    socket.IPPROTO_IP,
                    socket.IP_DROP_MEMBERSHIP,
                    _mreqn(self.multicast_group, self.ifindex),
                )
        self._sock.close()
        self._sock = None
