"""The activity log under random writes: the on-disk ring always replays to the hot set.

This is the crash-safety claim: after any persisted transaction, replaying the ring (what attach
does after a crash) yields exactly the extents the log holds, so every extent a write may have
touched is resynced; a torn transaction leaves the set as it was before that transaction.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.core.volume.activity_log import ActivityLog, AlLayout, initialized_block, replay

EXT = 4 << 20
STEPS = st.lists(
    st.tuples(st.sampled_from(["begin", "end", "commit", "tear"]), st.integers(0, 300)), max_size=120
)


@settings(max_examples=150, deadline=None)
@given(st.integers(67, 150), st.sampled_from([(1, 8), (2, 4), (1, 3)]), STEPS)
def test_ring_replays_to_the_hot_set(
    nr: int, geometry: tuple[int, int], steps: list[tuple[str, int]]
) -> None:
    layout = AlLayout(*geometry)
    al = ActivityLog(min(nr, layout.max_extents), layout)
    ring = [initialized_block()] * layout.ring_blocks
    in_flight: list[int] = []
    for verb, extent in steps:
        if verb == "begin":
            al.begin_io(extent * EXT, 4096)
            in_flight.append(extent)
        elif verb == "end" and in_flight:
            done = in_flight.pop(extent % len(in_flight))
            al.end_io(done * EXT, 4096)
        elif verb in ("commit", "tear"):
            before = al.active_extents()
            tr = al.prepare_transaction()
            if tr is None:
                continue
            if verb == "tear":
                torn = list(ring)
                torn[tr.block] = tr.data[:1000] + bytes(len(tr.data) - 1000)
                assert replay(torn, layout).hot_extents == before
                al.transaction_failed(tr)
                continue
            ring[tr.block] = tr.data
            al.transaction_persisted(tr)
            assert replay(ring, layout).hot_extents == al.active_extents()
        # Writes may only run in hot extents; the log never forgets an extent in use.
        assert {e for e in in_flight if al.is_hot(e)} <= al.active_extents()
        assert len(al.active_extents()) <= al.nr_extents
