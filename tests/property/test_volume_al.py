"""The activity log under random writes: the on-disk ring always replays to the hot set.

This is the crash-safety claim: after any persisted transaction, replaying the ring (what attach
does after a crash) yields exactly the extents the log holds, so every extent a write may have
touched is resynced; a torn transaction leaves the set as it was before that transaction.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from hapair.core.volume.activity_log import ActivityLog, AlLayout, initialized_block, replay

EXT = 4 << 20


class ActivityLogMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.al = ActivityLog()
        self.layout = AlLayout()
        self.ring: list[bytes] = []
        self.in_flight: list[int] = []
        self.evictions = 0

    @initialize(nr=st.integers(67, 75), geometry=st.sampled_from([(1, 8), (2, 4), (1, 3)]))
    def setup(self, nr: int, geometry: tuple[int, int]) -> None:
        self.layout = AlLayout(*geometry)
        self.al = ActivityLog(nr, self.layout)
        self.ring = [initialized_block()] * self.layout.ring_blocks

    @rule(extent=st.integers(0, 200), count=st.integers(1, 20))
    def begin(self, extent: int, count: int) -> None:
        for e in range(extent, extent + count):
            self.al.begin_io(e * EXT, 4096)
            self.in_flight.append(e)

    @precondition(lambda self: bool(self.in_flight))
    @rule(pick=st.integers(0, 10**6), count=st.integers(1, 30))
    def end(self, pick: int, count: int) -> None:
        for _ in range(min(count, len(self.in_flight))):
            done = self.in_flight.pop(pick % len(self.in_flight))
            self.al.end_io(done * EXT, 4096)

    @rule()
    def commit(self) -> None:
        tr = self.al.prepare_transaction()
        if tr is None:
            return
        self.evictions += len(tr.evicted)
        self.ring[tr.block] = tr.data
        self.al.transaction_persisted(tr)
        assert replay(self.ring, self.layout).hot_extents == self.al.active_extents()

    @rule(cut=st.integers(1, 4095))
    def torn_commit(self, cut: int) -> None:
        before = self.al.active_extents()
        tr = self.al.prepare_transaction()
        if tr is None:
            return
        torn = list(self.ring)
        torn[tr.block] = tr.data[:cut] + bytes(len(tr.data) - cut)
        assert replay(torn, self.layout).hot_extents == before
        self.al.transaction_failed(tr)

    @invariant()
    def writes_run_only_in_hot_extents_that_stay_hot(self) -> None:
        running = {e for e in self.in_flight if self.al.is_hot(e)}
        assert running <= self.al.active_extents()
        assert len(self.al.active_extents()) <= self.al.nr_extents


ActivityLogMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=40, deadline=None)
TestActivityLog = ActivityLogMachine.TestCase
