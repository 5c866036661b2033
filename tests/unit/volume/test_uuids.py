"""Generation ids and the DRBD 8.4 events that change them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hapair.core.volume.states import ConnState, DiskState, ReplicaState, Role
from hapair.core.volume.uuids import (
    UUID_JUST_CREATED,
    UUID_NEW_BM_OFFSET,
    GenerationIds,
    UuidFlags,
    UuidReport,
    accepts_skip_initial_sync,
    may_skip_initial_sync,
    on_demote,
    on_new_current_uuid,
    on_promote,
    on_resync_finished,
    on_skip_initial_sync_received,
    on_state_change,
    on_sync_source_start,
    on_sync_uuid_received,
    strip_role_bit,
    uuid_flags,
)


class CountingSource:
    """A deterministic id source: 0x1000, 0x2000, ... (even, so bit 0 is the role's)."""

    def __init__(self) -> None:
        self.n = 0

    def random_u64(self) -> int:
        self.n += 1
        return self.n << 12


C, D, R = ConnState, DiskState, Role
CONNECTED = ReplicaState(R.SECONDARY, R.SECONDARY, C.CONNECTED, D.UP_TO_DATE, D.UP_TO_DATE)
ALONE = ReplicaState(R.SECONDARY, R.UNKNOWN, C.CONNECTING, D.UP_TO_DATE, D.DUNKNOWN)


def test_text_and_words() -> None:
    ids = GenerationIds(0xABC, 4, (1, 2))
    assert ids.text() == "0000000000000ABC:0000000000000004:0000000000000001:0000000000000002"
    assert GenerationIds.from_words(ids.words()) == ids
    assert GenerationIds.just_created().is_just_created
    assert GenerationIds(5).is_just_created  # the role bit does not count


def test_ids_are_validated() -> None:
    with pytest.raises(ValueError):
        GenerationIds(1 << 64)
    with pytest.raises(ValueError):
        GenerationIds(1, -1)


def test_role_bit() -> None:
    ids = GenerationIds(0x1000)
    assert ids.with_role(True).current == 0x1001
    assert ids.with_role(True).with_role(False).current == 0x1000
    assert strip_role_bit(0xFFFF_FFFF_FFFF_FFFF) == 0xFFFF_FFFF_FFFF_FFFE


def test_promote_while_disconnected_starts_a_new_generation() -> None:
    rng = CountingSource()
    ids = on_promote(GenerationIds(0xA000), ALONE, rng, forced=False)
    assert ids == GenerationIds(0x1001, 0xA000)


def test_promote_while_connected_keeps_the_generation() -> None:
    ids = on_promote(GenerationIds(0xA000), CONNECTED, CountingSource(), forced=False)
    assert ids == GenerationIds(0xA001)


def test_promote_with_an_open_bitmap_generation_keeps_it() -> None:
    ids = on_promote(GenerationIds(0xA000, 0xB000), ALONE, CountingSource(), forced=False)
    assert ids == GenerationIds(0xA001, 0xB000)


def test_promote_connected_to_a_failed_peer_disk_starts_a_generation() -> None:
    state = replace(CONNECTED, pdsk=D.FAILED)
    assert on_promote(GenerationIds(0xA000), state, CountingSource(), forced=False).bitmap == 0xA000


def test_forced_promote_always_starts_a_generation() -> None:
    ids = on_promote(GenerationIds.just_created(), CONNECTED, CountingSource(), forced=True)
    assert ids == GenerationIds(0x1001, UUID_JUST_CREATED)


def test_demote_drops_the_role_bit_only() -> None:
    assert on_demote(GenerationIds(0xA001, 0xB000, (1, 2))) == GenerationIds(0xA000, 0xB000, (1, 2))


def test_primary_losing_the_peer_starts_a_generation() -> None:
    primary = replace(CONNECTED, role=R.PRIMARY)
    lost = replace(primary, conn=C.NETWORK_FAILURE, peer=R.UNKNOWN, pdsk=D.DUNKNOWN)
    ids = on_state_change(GenerationIds(0xA001), primary, lost, CountingSource())
    assert ids == GenerationIds(0x1001, 0xA001)


def test_secondary_losing_a_secondary_peer_changes_nothing() -> None:
    lost = replace(CONNECTED, conn=C.NETWORK_FAILURE, peer=R.UNKNOWN, pdsk=D.DUNKNOWN)
    assert on_state_change(GenerationIds(0xA000), CONNECTED, lost, CountingSource()) is None


def test_losing_the_peer_with_an_open_bitmap_generation_changes_nothing() -> None:
    primary = replace(CONNECTED, role=R.PRIMARY)
    lost = replace(primary, conn=C.NETWORK_FAILURE, peer=R.UNKNOWN, pdsk=D.DUNKNOWN)
    assert on_state_change(GenerationIds(0xA001, 0xB000), primary, lost, CountingSource()) is None


def test_diskless_peer_becoming_primary_starts_a_generation() -> None:
    os = replace(CONNECTED, pdsk=D.DISKLESS)
    ns = replace(os, peer=R.PRIMARY)
    assert on_state_change(GenerationIds(0xA000), os, ns, CountingSource()) == GenerationIds(0x1000, 0xA000)


def test_sync_source_start_offsets_the_bitmap_id() -> None:
    ids, sync_uuid = on_sync_source_start(
        GenerationIds(0xA001, 0xB000, (0xC000, 0xD000)), CountingSource(), primary=True
    )
    assert sync_uuid == 0xB000 + UUID_NEW_BM_OFFSET
    assert ids == GenerationIds(0xA001, sync_uuid, (0xB000, 0xC000))


def test_sync_source_start_without_bitmap_id_draws_one() -> None:
    ids, sync_uuid = on_sync_source_start(
        GenerationIds(0xA001, UUID_JUST_CREATED), CountingSource(), primary=True
    )
    assert sync_uuid == 0x1000
    assert ids == GenerationIds(0xA001, 0x1000, (UUID_JUST_CREATED, 0))


def test_sync_target_adopts_the_sync_uuid() -> None:
    ids = on_sync_uuid_received(GenerationIds(0xA000, 0xB000, (1, 2)), 0xE000, primary=False)
    assert ids == GenerationIds(0xE000, 0, (1, 2))


def test_resync_end_leaves_identical_tuples() -> None:
    source = GenerationIds(0xA001, 0xB000, (0xC000, 0))
    target = GenerationIds(0xB000)
    source_at_handshake = source
    source, sync_uuid = on_sync_source_start(source, CountingSource(), primary=True)
    target = on_sync_uuid_received(target, sync_uuid, primary=False)
    target = on_resync_finished(target, was_target=True, peer=source_at_handshake, primary=False)
    source = on_resync_finished(source, was_target=False, peer=None, primary=True)
    assert source.masked() == target.masked()
    assert target == GenerationIds(0xA000, 0, (sync_uuid, 0xB000))


def test_resync_end_on_a_target_needs_the_peers_ids() -> None:
    with pytest.raises(ValueError):
        on_resync_finished(GenerationIds(0xA000), was_target=True, peer=None, primary=False)


def test_new_current_uuid_rotates_and_starts_a_generation() -> None:
    ids = on_new_current_uuid(GenerationIds(0xA000, 0xB000, (0xC000, 0)), CountingSource(), primary=False,
                              skip_initial_sync=False)  # fmt: skip
    assert ids == GenerationIds(0x1000, 0xA000, (0xB000, 0xC000))


def test_skip_initial_sync() -> None:
    fresh = GenerationIds.just_created()
    assert may_skip_initial_sync(fresh, C.CONNECTED)
    assert not may_skip_initial_sync(fresh, C.CONNECTING)
    assert not may_skip_initial_sync(GenerationIds(0xA000), C.CONNECTED)
    mine = on_new_current_uuid(fresh, CountingSource(), primary=False, skip_initial_sync=True)
    assert mine == GenerationIds(0x1000, 0, (0, 0))
    assert accepts_skip_initial_sync(fresh, C.CONNECTED, UuidFlags.SKIP_INITIAL_SYNC)
    assert not accepts_skip_initial_sync(fresh, C.CONNECTED, UuidFlags.NONE)
    theirs = on_skip_initial_sync_received(fresh, mine.current, primary=False)
    assert theirs == mine


def test_uuid_flags_and_report_line() -> None:
    flags = uuid_flags(
        discard_my_data=True, crashed_primary=True, disk=D.INCONSISTENT, skip_initial_sync=True
    )
    assert int(flags) == 15
    assert uuid_flags(discard_my_data=False, crashed_primary=False, disk=D.UP_TO_DATE) == UuidFlags.NONE
    report = UuidReport(GenerationIds(0xA001, 0xB000), 7, UuidFlags.CRASHED_PRIMARY)
    assert report.log_line("self") == (
        "self 000000000000A001:000000000000B000:0000000000000000:0000000000000000 bits:7 flags:2"
    )
