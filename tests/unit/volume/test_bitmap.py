"""The quick-sync bitmap: ranges, byte-range rules, DRBD's on-disk layout, dirty pages, speed."""

from __future__ import annotations

import time

import pytest

from hapair.core.volume.bitmap import (
    BITS_PER_AL_EXTENT,
    BLOCK_SIZE,
    PAGE_SIZE,
    QuickSyncBitmap,
    bitmap_bytes,
    bits_for_size,
)

MIB = 1 << 20


def test_sizes_follow_drbd() -> None:
    assert bits_for_size(1 << 30) == 262144  # "1 GB disk => 32 KB bitmap"
    assert bitmap_bytes(262144) == 32768
    assert bits_for_size(4097) == 2
    assert bitmap_bytes(65) == 16  # whole 64-bit words
    bm = QuickSyncBitmap(4097)
    assert (bm.nbits, bm.nbytes, bm.page_count) == (2, 8, 1)


def test_on_disk_layout_is_little_endian_64_bit_words() -> None:
    bm = QuickSyncBitmap(1 << 30)
    bm.set_range(0, 64)
    bm.set_range(64, 65)
    data = bm.to_bytes()
    # drbdmeta dump-md prints these two words as 0xFFFFFFFFFFFFFFFF; 0x0000000000000001;
    assert int.from_bytes(data[0:8], "little") == 0xFFFF_FFFF_FFFF_FFFF
    assert int.from_bytes(data[8:16], "little") == 1
    assert bm.weight == 65
    bm.set_range(9, 10)
    assert bm.weight == 65
    assert QuickSyncBitmap(1 << 30, data).to_bytes() == data


@pytest.mark.parametrize(
    ("start", "end"), [(0, 1), (3, 5), (7, 9), (0, 8), (8, 16), (5, 70), (1, 1000), (0, 1024)]
)
def test_set_clear_count_ranges(start: int, end: int) -> None:
    bm = QuickSyncBitmap(1024 * BLOCK_SIZE)
    assert bm.set_range(start, end) == end - start
    assert bm.set_range(start, end) == 0
    assert bm.count() == bm.weight == end - start
    assert bm.count(start, end) == end - start
    assert bm.count(0, start) == 0 and bm.count(end, 1024) == 0
    assert [bm.test(i) for i in (start, end - 1)] == [True, True]
    assert list(bm.runs()) == [(start, end)]
    assert bm.clear_range(start + 1, end) == end - start - 1
    assert list(bm.runs()) == [(start, start + 1)]
    assert bm.clear_all() == 1 and bm.weight == 0


def test_runs_find_and_bounds() -> None:
    bm = QuickSyncBitmap(100 * BLOCK_SIZE)
    for a, b in ((3, 4), (10, 20), (63, 65), (99, 100)):
        bm.set_range(a, b)
    assert list(bm.runs()) == [(3, 4), (10, 20), (63, 65), (99, 100)]
    assert list(bm.runs(12, 64)) == [(12, 20), (63, 64)]
    assert bm.find_next_set(0) == 3 and bm.find_next_set(21) == 63 and bm.find_next_set(100) is None
    assert bm.find_next_clear(10) == 20 and bm.find_next_clear(99) is None
    with pytest.raises(ValueError):
        bm.set_range(5, 101)
    with pytest.raises(IndexError):
        bm.test(100)
    with pytest.raises(ValueError):
        bm.find_next_set(-1)


def test_padding_bits_stay_clear() -> None:
    bm = QuickSyncBitmap(3 * BLOCK_SIZE, b"\xff" * 8)
    assert bm.weight == 3 and bm.to_bytes() == b"\x07" + bytes(7)
    assert bm.find_next_clear(0) is None
    with pytest.raises(ValueError):
        QuickSyncBitmap(1 << 20, b"\x00")


def test_writes_mark_every_touched_block() -> None:
    bm = QuickSyncBitmap(64 * BLOCK_SIZE)
    assert bm.mark_out_of_sync(BLOCK_SIZE - 1, 2) == 2  # straddles blocks 0 and 1
    assert bm.mark_out_of_sync(10 * BLOCK_SIZE, BLOCK_SIZE) == 1
    assert list(bm.runs()) == [(0, 2), (10, 11)]
    assert bm.block_range(512, 0) == (0, 0)
    assert not bm.is_clear(0, 1) and bm.is_clear(2 * BLOCK_SIZE, 8 * BLOCK_SIZE)


def test_in_sync_clears_only_fully_covered_blocks() -> None:
    bm = QuickSyncBitmap(64 * BLOCK_SIZE)
    bm.set_all()
    assert bm.mark_in_sync(512, BLOCK_SIZE) == 0  # covers no block fully
    assert bm.mark_in_sync(512, 2 * BLOCK_SIZE) == 1  # block 1 only
    assert bm.mark_in_sync(4 * BLOCK_SIZE, 3 * BLOCK_SIZE) == 3
    assert not bm.test(1) and bm.test(0) and bm.test(2)
    with pytest.raises(ValueError):
        bm.mark_in_sync(63 * BLOCK_SIZE, 2 * BLOCK_SIZE)


def test_in_sync_clears_a_partial_last_block_at_the_end_of_the_volume() -> None:
    bm = QuickSyncBitmap(10 * BLOCK_SIZE + 512)
    bm.set_all()
    assert bm.nbits == 11
    assert bm.mark_in_sync(10 * BLOCK_SIZE, 512) == 1
    assert bm.weight == 10


def test_extents() -> None:
    bm = QuickSyncBitmap(10 * MIB)
    assert bm.extent_bits(0) == (0, BITS_PER_AL_EXTENT)
    assert bm.extent_bits(2) == (2048, 2560)  # clipped: the volume ends at 10 MiB
    assert bm.mark_extents({2, 0}) == BITS_PER_AL_EXTENT + 512
    assert bm.pages_for_extents([0, 2]) == [0]
    big = QuickSyncBitmap(1 << 30)
    assert big.pages_for_extents([0, 31, 32, 255]) == [0, 1, 7]


def test_merge_ors_chunks_in() -> None:
    a, b = QuickSyncBitmap(1 << 30), QuickSyncBitmap(1 << 30)
    a.set_range(0, 10)
    b.set_range(5, 20)
    b.set_range(200_000, 200_001)
    assert a.merge(b) == 11
    assert list(a.runs()) == [(0, 20), (200_000, 200_001)]
    c = QuickSyncBitmap(1 << 30)
    assert c.merge(a.chunk(24_996, 8), at_byte=24_996) == 1
    assert list(c.runs()) == [(200_000, 200_001)]
    with pytest.raises(ValueError):
        c.merge(b"\x01", at_byte=c.nbytes)
    with pytest.raises(ValueError):
        c.chunk(c.nbytes - 1, 2)


def test_dirty_pages_track_what_changed() -> None:
    bm = QuickSyncBitmap(1 << 32)  # 128 KiB of bitmap: 32 pages
    assert bm.dirty_pages() == []
    bm.set_range(0, 1)
    bm.set_range(PAGE_SIZE * 8 * 5 + 3, PAGE_SIZE * 8 * 5 + 4)
    pages = bm.take_dirty_pages()
    assert [i for i, _ in pages] == [0, 5]
    assert all(len(p) == PAGE_SIZE for _, p in pages)
    assert pages[0][1][0] == 1 and bm.dirty_pages() == []
    bm.clear_range(0, PAGE_SIZE * 8 * 2 + 1)
    assert bm.dirty_pages() == [0, 1, 2]
    bm.mark_all_dirty()
    assert len(bm.dirty_pages()) == 32
    assert bm.on_disk_bytes()[: bm.nbytes] == bm.to_bytes()
    with pytest.raises(IndexError):
        bm.page(32)


def test_a_terabyte_volume_is_handled_without_per_bit_loops() -> None:
    bm = QuickSyncBitmap(1 << 40)  # 2**28 bits, 32 MiB of bitmap
    start = time.perf_counter()
    assert bm.set_range(1, bm.nbits - 1) == bm.nbits - 2
    assert bm.count(12345, bm.nbits - 12345) == bm.nbits - 2 * 12345
    assert list(bm.runs()) == [(1, bm.nbits - 1)]
    assert bm.mark_in_sync(1 << 39, 1 << 30) == 1 << 18
    assert bm.find_next_clear(2) == (1 << 39) // BLOCK_SIZE
    other = QuickSyncBitmap(1 << 40)
    other.set_all()
    assert bm.merge(other) == 2 + (1 << 18)
    assert time.perf_counter() - start < 5.0
