"""Gratuitous ARP on an AF_PACKET socket, byte-identical to keepalived's.

The frame itself is built by the pure core (`build_garp_frame`); this adapter only owns the
AF_PACKET socket bound to the interface and learns the interface's MAC address from it, which
works inside a network namespace whose /sys is not remounted.
"""

from __future__ import annotations

import socket

from hapair.errors import AdapterError


class GarpError(AdapterError):
    """Sending a gratuitous ARP failed."""


class GarpSender:
    """Sends prebuilt Ethernet frames on one interface."""

    def __init__(self, ifname: str) -> None:
        self.ifname = ifname
        self._sock: socket.socket | None = None
        self.mac = b""

    def open(self) -> None:
        try:
            # Protocol 0: the socket sends complete frames and receives nothing, so no ARP traffic
            # queues up on a socket nobody reads.
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            sock.bind((self.ifname, 0))
            sock.setblocking(False)
        except OSError as exc:
            raise GarpError(f"cannot open AF_PACKET socket on {self.ifname}: {exc.strerror}") from exc
        self.mac = bytes(sock.getsockname()[4])
        self._sock = sock

    def send(self, frame: bytes) -> None:
        if self._sock is None:
            raise GarpError(f"GARP socket on {self.ifname} is not open")
        try:
            self._sock.send(frame)
        except OSError as exc:
            raise GarpError(f"sending gratuitous ARP on {self.ifname} failed: {exc.strerror}") from exc

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
