"""Waiting for a condition with a deadline: the one place tests and demos poll.

Kernel state (an address appearing, an ARP entry changing, a process writing a log line) has no
event we can await from a plain thread, so we poll: often at first, then less often, never past the
deadline, and on failure say what we waited for and what we last saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from hapair.lab.errors import LabTimeoutError

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T | None],
    timeout: float,
    what: str,
    interval: float = 0.01,
    max_interval: float = 0.2,
) -> T:
    """Call `probe` until it returns something truthy and return that; LabTimeoutError after `timeout` s.

    The poll interval starts at `interval` and doubles up to `max_interval`. Exceptions from `probe`
    propagate at once (a broken probe should not look like a slow condition).
    """
    deadline = time.monotonic() + timeout
    pause = interval
    last: T | None = None
    while True:
        last = probe()
        if last:
            return last
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LabTimeoutError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, max_interval)
