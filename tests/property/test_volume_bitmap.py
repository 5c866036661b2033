"""The bitmap against a plain integer bit set, under random operation sequences."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.core.volume.bitmap import BLOCK_SIZE, QuickSyncBitmap


def runs_of(ref: int, nbits: int) -> list[tuple[int, int]]:
    out, start = [], None
    for i in range(nbits + 1):
        bit = i < nbits and ref >> i & 1
        if bit and start is None:
            start = i
        elif not bit and start is not None:
            out.append((start, i))
            start = None
    return out


def mask(a: int, b: int) -> int:
    return ((1 << (b - a)) - 1) << a if b > a else 0


OPS = st.tuples(
    st.sampled_from(["set", "clear", "out", "in", "merge"]), st.integers(0, 10**9), st.integers(0, 10**9)
)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3000 * BLOCK_SIZE), st.lists(OPS, max_size=25), st.integers(0, 10**9))
def test_bitmap_matches_a_reference_bit_set(size: int, ops: list[tuple[str, int, int]], probe: int) -> None:
    bm = QuickSyncBitmap(size)
    n = bm.nbits
    ref = 0
    for op, x, y in ops:
        if op in ("set", "clear", "merge"):
            a, b = sorted((x % (n + 1), y % (n + 1)))
            if op == "set":
                assert bm.set_range(a, b) == (mask(a, b) & ~ref).bit_count()
                ref |= mask(a, b)
            elif op == "clear":
                assert bm.clear_range(a, b) == (mask(a, b) & ref).bit_count()
                ref &= ~mask(a, b)
            else:
                other = QuickSyncBitmap(size)
                other.set_range(a, b)
                bm.merge(other)
                ref |= mask(a, b)
        else:
            offset = x % (size + 1)
            length = y % (size - offset + 1)
            if op == "out":
                first, end = offset // BLOCK_SIZE, (offset + length - 1) // BLOCK_SIZE + 1
                if length:
                    ref |= mask(first, end)
                bm.mark_out_of_sync(offset, length)
            else:
                first = -(-offset // BLOCK_SIZE)
                end = n if offset + length == size else (offset + length) // BLOCK_SIZE
                ref &= ~mask(first, end)
                bm.mark_in_sync(offset, length)
        assert bm.weight == ref.bit_count()
    assert bm.to_bytes() == ref.to_bytes(bm.nbytes, "little")
    assert list(bm.runs()) == runs_of(ref, n)
    p = probe % n
    next_set = [i for i in range(p, n) if ref >> i & 1]
    next_clear = [i for i in range(p, n) if not ref >> i & 1]
    assert bm.find_next_set(p) == (next_set[0] if next_set else None)
    assert bm.find_next_clear(p) == (next_clear[0] if next_clear else None)
    assert QuickSyncBitmap(size, bm.on_disk_bytes()).to_bytes() == bm.to_bytes()
