"""Logging in keepalived's words, with its console format and a rate limit for peer-driven lines.

keepalived -l writes `Thu Nov 26 21:34:04 2026: (VI_1) Entering MASTER STATE` to the console; without
-D it leaves out the detailed lines. Lines a peer can trigger at will (bad adverts, "received lower
priority ... discarding") carry a rate-limit key: per key at most `burst` lines per `window_ns`; what
was held back is summarised on the next line that gets through, so nothing is silently lost.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import TextIO

KEEPALIVED_DATEFMT = "%a %b %d %H:%M:%S %Y"


def console_handler(stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s: %(message)s", KEEPALIVED_DATEFMT))
    return handler


def syslog_handler(ident: str = "Keepalived_vrrp") -> logging.Handler:
    """Log to the local syslog socket as keepalived does, falling back to stderr without one."""
    from logging.handlers import SysLogHandler

    try:
        handler: logging.Handler = SysLogHandler(address="/dev/log")
    except OSError:
        return console_handler()
    handler.setFormatter(logging.Formatter(f"{ident}[%(process)d]: %(message)s"))
    return handler


@dataclass
class _Window:
    start_ns: int
    count: int = 0
    suppressed: int = 0


@dataclass
class RateLimitedLog:
    """Writes core log lines to a logger; `detailed` lines only when `detailed_enabled`."""

    logger: logging.Logger
    detailed_enabled: bool = False
    burst: int = 5
    window_ns: int = 10_000_000_000
    _windows: dict[str, _Window] = field(default_factory=dict)

    def line(self, text: str, now_ns: int, *, detailed: bool = False, key: str | None = None) -> bool:
        """Log `text`; returns False if it was left out (detail off, or rate-limited)."""
        if detailed and not self.detailed_enabled:
            return False
        if key is None:
            self.logger.info("%s", text)
            return True
        window = self._windows.get(key)
        if window is None or now_ns - window.start_ns >= self.window_ns:
            held = window.suppressed if window is not None else 0
            window = self._windows[key] = _Window(start_ns=now_ns)
            if held:
                text = f"{text} ({held} similar messages suppressed)"
        if window.count >= self.burst:
            window.suppressed += 1
            return False
        window.count += 1
        self.logger.info("%s", text)
        return True
