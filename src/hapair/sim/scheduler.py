"""Virtual time: one heap of timed actions, run in (time, insertion order).

Actions are plain callables. `schedule` returns a handle that can be cancelled (cancelled entries
stay in the heap and are skipped, so cancelling is O(1)). Ties run in the order they were
scheduled, which makes a run a pure function of the seed.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

Action = Callable[[], None]


@dataclass(order=True, slots=True)
class _Entry:
    at_ns: int
    seq: int
    action: Action = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Timer:
    """A handle for a scheduled action."""

    __slots__ = ("_entry",)

    def __init__(self, entry: _Entry) -> None:
        self._entry = entry

    @property
    def at_ns(self) -> int:
        return self._entry.at_ns

    @property
    def pending(self) -> bool:
        return not self._entry.cancelled

    def cancel(self) -> None:
        self._entry.cancelled = True


class StepLimitExceeded(RuntimeError):
    """A run did not settle within its step budget (a livelock or a runaway timer)."""


class Scheduler:
    """The virtual clock and its agenda."""

    def __init__(self, start_ns: int = 0) -> None:
        self.now_ns = start_ns
        self._heap: list[_Entry] = []
        self._seq = 0
        self.steps = 0

    def schedule(self, at_ns: int, action: Action) -> Timer:
        """Run `action` at `at_ns` (not before now)."""
        entry = _Entry(max(at_ns, self.now_ns), self._seq, action)
        self._seq += 1
        heapq.heappush(self._heap, entry)
        return Timer(entry)

    def call_soon(self, action: Action) -> Timer:
        return self.schedule(self.now_ns, action)

    def call_later(self, delay_ns: int, action: Action) -> Timer:
        return self.schedule(self.now_ns + max(0, delay_ns), action)

    def next_time(self) -> int | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].at_ns if self._heap else None

    def step(self) -> bool:
        """Run the next action; False when the agenda is empty."""
        while self._heap:
            entry = heapq.heappop(self._heap)
            if entry.cancelled:
                continue
            self.now_ns = entry.at_ns
            entry.cancelled = True
            self.steps += 1
            entry.action()
            return True
        return False

    def run_until(self, deadline_ns: int, max_steps: int = 10_000_000) -> None:
        """Run every action due up to `deadline_ns`, then set the clock to it."""
        budget = max_steps
        while (t := self.next_time()) is not None and t <= deadline_ns:
            if budget == 0:
                raise StepLimitExceeded(f"more than {max_steps} steps before t={deadline_ns}")
            budget -= 1
            self.step()
        self.now_ns = max(self.now_ns, deadline_ns)

    def run_for(self, duration_ns: int, max_steps: int = 10_000_000) -> None:
        self.run_until(self.now_ns + duration_ns, max_steps)

    def run_while(self, condition: Callable[[], bool], timeout_ns: int, max_steps: int = 10_000_000) -> bool:
        """Run until `condition()` is false or `timeout_ns` passed; True if it became false."""
        deadline = self.now_ns + timeout_ns
        budget = max_steps
        while condition():
            t = self.next_time()
            if t is None or t > deadline:
                self.now_ns = max(self.now_ns, deadline)
                return not condition()
            if budget == 0:
                raise StepLimitExceeded(f"more than {max_steps} steps")
            budget -= 1
            self.step()
        return True
