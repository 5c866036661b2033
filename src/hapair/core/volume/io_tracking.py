"""Bookkeeping for local I/O: completion routing by id, and ordering of overlapping requests.

`IoRegistry` hands out `io_id`s and remembers what to do when each completes, so completions
(which the shell delivers in any order) find their continuation.

`OverlapGate` keeps overlapping requests to the backing device in arrival order: a request waits
while an earlier request that conflicts with it (any overlapping write, or a read against a write)
is in flight or still waiting. Both nodes admit the same writes in the same order (the Primary
in the order it sends them, the Secondary in the order they arrive), so two in-flight writes to
the same block can never land in different orders on the two disks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from hapair.errors import LocalProtocolError

Completion = Callable[[int, bytes | memoryview], None]  # (errno, data)


class IoRegistry:
    """Pending local I/O by id."""

    def __init__(self) -> None:
        self._next = 1
        self._pending: dict[int, Completion] = {}

    def register(self, on_done: Completion) -> int:
        io_id = self._next
        self._next += 1
        self._pending[io_id] = on_done
        return io_id

    def complete(self, io_id: int, error: int, data: bytes | memoryview = b"") -> None:
        on_done = self._pending.pop(io_id, None)
        if on_done is None:
            raise LocalProtocolError(f"completion for unknown io_id {io_id}")
        on_done(error, data)

    def __len__(self) -> int:
        return len(self._pending)


@dataclass(slots=True)
class _Waiter:
    start: int
    end: int
    is_write: bool
    begin: Callable[[], None]
    running: bool = False


def _conflict(a: _Waiter, b: _Waiter) -> bool:
    return (a.is_write or b.is_write) and a.start < b.end and b.start < a.end


class OverlapGate:
    """Admits byte-range requests, holding back those that conflict with earlier ones."""

    def __init__(self) -> None:
        self._running: list[_Waiter] = []
        self._waiting: deque[_Waiter] = deque()

    def admit(self, offset: int, length: int, is_write: bool, begin: Callable[[], None]) -> object:
        """Call `begin()` now or once no earlier conflicting request remains; returns a token for
        `release`."""
        item = _Waiter(offset, offset + length, is_write, begin)
        if any(_conflict(item, other) for other in self._running) or any(
            _conflict(item, other) for other in self._waiting
        ):
            self._waiting.append(item)
        else:
            self._start(item)
        return item

    def release(self, token: object) -> None:
        """The request behind `token` completed; start waiters that no longer conflict."""
        assert isinstance(token, _Waiter)
        self._running.remove(token)
        still: deque[_Waiter] = deque()
        while self._waiting:
            item = self._waiting.popleft()
            if any(_conflict(item, other) for other in self._running) or any(
                _conflict(item, other) for other in still
            ):
                still.append(item)
            else:
                self._start(item)
        self._waiting = still

    def _start(self, item: _Waiter) -> None:
        item.running = True
        self._running.append(item)
        item.begin()

    def overlaps_running_write(self, offset: int, length: int) -> bool:
        probe = _Waiter(offset, offset + length, False, lambda: None)
        return any(_conflict(probe, other) for other in self._running)

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def waiting(self) -> int:
        return len(self._waiting)
