"""The activity log: DRBD 8.4 transaction blocks, LRU slots, replay after a crash."""

from __future__ import annotations

import struct

import pytest

from hapair.core.volume.activity_log import (
    AL_BLOCK_SIZE,
    AL_CONTEXT_PER_TRANSACTION,
    AL_MAGIC,
    AL_TR_INITIALIZED,
    LC_FREE,
    ActivityLog,
    ActivityLogError,
    AlLayout,
    AlTransaction,
    decode_transaction,
    encode_transaction,
    extents_for,
    initialized_block,
    replay,
)

EXT = 4 << 20


def persist(al: ActivityLog, ring: list[bytes]) -> AlTransaction:
    tr = al.prepare_transaction()
    assert tr is not None
    ring[tr.block] = tr.data
    al.transaction_persisted(tr)
    return tr


def persist_all(al: ActivityLog, ring: list[bytes]) -> list[AlTransaction]:
    done = []
    while al.pending:
        done.append(persist(al, ring))
    return done


def fresh_ring(layout: AlLayout | None = None) -> list[bytes]:
    return [initialized_block()] * (layout or AlLayout()).ring_blocks


def test_initialized_block_is_byte_identical_to_drbdmeta() -> None:
    block = initialized_block()
    # drbdmeta 9.22 create-md writes magic 0x69cb65a2, tr 0, crc32c 0x709cc651, type 0xffff.
    assert block[:16] == bytes.fromhex("69cb65a2 00000000 709cc651 ffff0000")
    assert block[16:] == bytes(AL_BLOCK_SIZE - 16)
    decoded = decode_transaction(block)
    assert decoded is not None and decoded.tr_type == AL_TR_INITIALIZED


def test_transaction_layout() -> None:
    slots = [7, LC_FREE, 9]
    block = encode_transaction(5, [(1, 42)], 0, slots)
    magic, tr, _crc, tr_type, n, size, start = struct.unpack_from(">IIIHHHH", block)
    assert (magic, tr, tr_type, n, size, start) == (AL_MAGIC, 5, 0, 1, 3, 0)
    decoded = decode_transaction(block)
    assert decoded is not None
    assert decoded.updates == ((1, 42),)
    assert decoded.context[:4] == (7, LC_FREE, 9, LC_FREE)
    assert len(decoded.context) == AL_CONTEXT_PER_TRANSACTION
    with pytest.raises(ValueError):
        encode_transaction(0, [(i, i) for i in range(65)], 0, slots)


def test_damaged_blocks_do_not_decode() -> None:
    block = bytearray(encode_transaction(1, [(0, 3)], 0, [3]))
    block[100] ^= 1
    assert decode_transaction(bytes(block)) is None
    assert decode_transaction(bytes(AL_BLOCK_SIZE)) is None
    assert decode_transaction(b"short") is None


def test_ring_geometry_and_limits() -> None:
    assert AlLayout().ring_blocks == 8 and AlLayout().max_extents == 6433
    striped = AlLayout(stripes=2, stripe_size_4k=4)
    assert [striped.block_for_transaction(t) for t in range(8)] == [0, 4, 1, 5, 2, 6, 3, 7]
    assert AlLayout(1, 100).max_extents == 65534
    with pytest.raises(ValueError):
        AlLayout(0, 8)
    with pytest.raises(ValueError):
        ActivityLog(6434)
    with pytest.raises(ValueError):
        ActivityLog(66)


def test_extents_for_byte_ranges() -> None:
    assert extents_for(0, 4096) == range(1)
    assert extents_for(EXT - 1, 2) == range(2)
    assert extents_for(3 * EXT, 0) == range(3, 4)


def test_cold_write_waits_for_a_transaction_hot_write_does_not() -> None:
    al = ActivityLog(67)
    assert not al.begin_io(0, 4096)
    assert al.pending and not al.covers(0, 4096)
    tr = al.prepare_transaction()
    assert tr is not None and tr.updates == ((0, 0),) and tr.evicted == ()
    assert al.prepare_transaction() is None  # one in flight at a time
    assert al.transaction_persisted(tr) == (0,)
    assert al.covers(0, 4096) and al.is_hot(0)
    assert al.begin_io(100, 4096)
    al.end_io(0, 4096)
    al.end_io(100, 4096)
    with pytest.raises(ActivityLogError):
        al.end_io(0, 4096)
    assert al.transactions_written == 1 and al.next_tr_number == 1


def test_lru_eviction_skips_extents_in_use() -> None:
    al = ActivityLog(67)
    ring = fresh_ring()
    for e in range(67):
        al.begin_io(e * EXT, 1)
    assert len(persist_all(al, ring)) == 2  # 64 updates per transaction
    for e in range(67):
        if e != 0:
            al.end_io(e * EXT, 1)
    al.begin_io(5 * EXT, 1)  # touch 5: most recently used now
    al.end_io(5 * EXT, 1)
    al.begin_io(100 * EXT, 1)
    al.begin_io(101 * EXT, 1)
    (tr,) = persist_all(al, ring)
    assert tr.evicted == (1, 2)  # 0 is busy, 1 and 2 are the least recently used
    assert al.active_extents() == (frozenset(range(67)) - {1, 2}) | {100, 101}


def test_starved_log_waits_for_completions() -> None:
    al = ActivityLog(67)
    for e in range(67):
        al.begin_io(e * EXT, 1)
    persist_all(al, fresh_ring())
    al.begin_io(200 * EXT, 1)
    assert al.prepare_transaction() is None and al.pending and al.in_use == 68
    al.end_io(7 * EXT, 1)
    tr = al.prepare_transaction()
    assert tr is not None and tr.evicted == (7,)


def test_failed_transaction_puts_extents_back() -> None:
    al = ActivityLog(67)
    al.begin_io(0, 1)
    tr = al.prepare_transaction()
    assert tr is not None
    al.transaction_failed(tr)
    assert al.pending and not al.is_hot(0)
    with pytest.raises(ActivityLogError):
        al.transaction_persisted(tr)
    again = al.prepare_transaction()
    assert again is not None and again.tr_number == tr.tr_number


def test_replay_reconstructs_the_hot_set_after_wraparound() -> None:
    al = ActivityLog(257)
    ring = fresh_ring()
    for t in range(30):
        al.begin_io(t * EXT, 4096)
        al.begin_io((500 + 7 * t) * EXT, 4096)
        persist(al, ring)
        al.end_io(t * EXT, 4096)
        al.end_io((500 + 7 * t) * EXT, 4096)
    result = replay(ring, AlLayout())
    assert result.hot_extents == al.active_extents()
    assert (result.last_tr_number, result.valid_blocks, result.corrupt_blocks) == (29, 8, 0)
    assert result.needs_apply


def test_replay_with_more_extents_than_one_context_window() -> None:
    al = ActivityLog(2000)
    ring = fresh_ring()
    for t in range(40):
        for k in range(60):
            al.begin_io((t * 60 + k) * EXT, 1)
        persist(al, ring)
        for k in range(60):
            al.end_io((t * 60 + k) * EXT, 1)
    assert len(al.active_extents()) == 2000
    assert replay(ring, AlLayout()).hot_extents == al.active_extents()


def test_a_torn_newest_transaction_is_ignored() -> None:
    al = ActivityLog(67)
    ring = fresh_ring()
    al.begin_io(0, 1)
    persist(al, ring)
    before = al.active_extents()
    al.begin_io(9 * EXT, 1)
    tr = al.prepare_transaction()
    assert tr is not None
    torn = bytearray(tr.data)
    torn[2048:] = bytes(2048)
    ring[tr.block] = bytes(torn)
    result = replay(ring, AlLayout())
    assert result.hot_extents == before and result.corrupt_blocks == 1


def test_replay_of_a_clean_log_and_of_a_wrong_ring() -> None:
    result = replay(fresh_ring(), AlLayout())
    assert result.hot_extents == frozenset() and result.last_tr_number is None and not result.needs_apply
    with pytest.raises(ValueError):
        replay(fresh_ring()[:3], AlLayout())


def test_tr_numbers_wrap_at_32_bits() -> None:
    al = ActivityLog(67, next_tr_number=0xFFFF_FFFE)
    ring = fresh_ring()
    for t in range(4):
        al.begin_io(t * EXT, 1)
        persist(al, ring)
    assert al.next_tr_number == 2
    result = replay(ring, AlLayout())
    assert result.hot_extents == frozenset(range(4)) and result.last_tr_number == 1


def test_failed_transaction_restores_the_extents_it_would_have_evicted() -> None:
    al = ActivityLog(67)
    ring = fresh_ring()
    for e in range(67):
        al.begin_io(e * EXT, 1)
    persist_all(al, ring)
    for e in range(67):
        al.end_io(e * EXT, 1)
    al.begin_io(500 * EXT, 1)
    tr = al.prepare_transaction()
    assert tr is not None and tr.evicted == (0,) and not al.is_hot(0)
    al.transaction_failed(tr)
    assert al.is_hot(0) and al.active_extents() == replay(ring, AlLayout()).hot_extents
    again = al.prepare_transaction()
    assert again is not None and again.evicted == (0,)  # still the least recently used
