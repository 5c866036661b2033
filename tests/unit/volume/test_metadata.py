"""Metadata layout (sized as drbdmeta sizes it), the two-slot superblock, and its store."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hapair.core.volume.activity_log import AlLayout
from hapair.core.volume.metadata import (
    DRBD_MD_MAGIC_08,
    DRBD_MD_MAGIC_84_UNCLEAN,
    SLOT_SIZE,
    MdFlags,
    MetadataError,
    MetadataKind,
    Superblock,
    SuperblockStore,
    bm_bytes,
    decode_slot,
    encode_slot,
    external_layout,
    internal_layout,
    read_superblock,
)
from hapair.core.volume.uuids import GenerationIds

GIB = 1 << 30

# (backing bytes, al stripes, al stripe KiB) -> (md_size_sect, md_offset, al_offset, bm_offset), as
# printed by `drbdmeta --force 0 v08 /dev/loopN internal create-md` + `dump-md` (drbd-utils 9.22).
DRBDMETA_INTERNAL = [
    ((4194304, 1, 32), (80, 4190208, 4157440, 4153344)),
    ((67108864, 1, 32), (80, 67104768, 67072000, 67067904)),
    ((104859136, 1, 32), (80, 104853504, 104820736, 104816640)),
    ((1073741824, 1, 32), (136, 1073737728, 1073704960, 1073672192)),
    ((10737418240, 1, 32), (712, 10737414144, 10737381376, 10737053696)),
    ((1099511627776, 1, 32), (65608, 1099511623680, 1099511590912, 1099478036480)),
    ((2199029563904, 1, 32), (131152, 2199029559296, 2199029526528, 2198962413568)),
    ((1073741824, 2, 64), (328, 1073737728, 1073606656, 1073573888)),
    ((5000000512, 4, 128), (1336, 4999995392, 4999471104, 4999315456)),
]


@pytest.mark.parametrize(("device", "expected"), DRBDMETA_INTERNAL)
def test_internal_layout_matches_drbdmeta(device: tuple[int, int, int], expected: tuple[int, ...]) -> None:
    size, stripes, stripe_kib = device
    layout = internal_layout(size, al=AlLayout(stripes, stripe_kib // 4))
    assert (layout.md_size_sect, layout.md_offset, layout.al_offset, layout.bm_offset) == expected
    assert layout.kind is MetadataKind.INTERNAL
    assert layout.area_offset == layout.bm_offset
    assert layout.area_offset + layout.area_size == layout.md_offset + 4096
    assert layout.max_data_bytes() == layout.bm_offset
    assert layout.bitmap_capacity_bytes >= bm_bytes(layout.max_data_bytes() // 512)


def test_internal_layout_of_the_1_gib_example() -> None:
    # The research note's local experiment: 68 KiB = 32 KiB bitmap + 32 KiB AL + 4 KiB superblock.
    layout = internal_layout(GIB)
    assert (layout.bitmap_at, layout.al_at, layout.superblock_at) == (0, 32768, 65536)
    assert (layout.slot_at(0), layout.slot_at(1)) == (65536, 66048)
    assert layout.data_bytes(GIB) == GIB - 68 * 1024
    assert layout.data_bytes(GIB, requested=1 << 29) == 1 << 29
    with pytest.raises(MetadataError):
        layout.data_bytes(GIB, requested=GIB)
    with pytest.raises(ValueError):
        layout.slot_at(2)


def test_external_layouts_match_drbdmeta() -> None:
    flex = external_layout(64 << 20)
    assert (flex.md_size_sect, flex.md_offset, flex.al_offset, flex.bm_offset) == (131072, 0, 4096, 36864)
    assert (flex.superblock_at, flex.al_at, flex.bitmap_at) == (0, 4096, 36864)
    assert flex.max_data_bytes() == ((64 << 20) - 36864) * 8 * 4096
    assert flex.data_bytes(GIB) == GIB
    indexed = external_layout(256 << 20, index=1)
    assert (indexed.md_size_sect, indexed.md_offset, indexed.al_offset, indexed.bm_offset) == (
        262144, 134217728, 134221824, 134254592,
    )  # fmt: skip
    with pytest.raises(MetadataError):
        external_layout(100 << 20, index=1)
    with pytest.raises(MetadataError):
        external_layout(256 << 20, index=300)


def test_tiny_and_huge_devices_are_refused() -> None:
    with pytest.raises(MetadataError):
        internal_layout(8192)
    with pytest.raises(MetadataError):
        internal_layout(1 << 51)


def sample(layout_bytes: int = GIB) -> Superblock:
    layout = internal_layout(layout_bytes)
    return replace(
        Superblock.fresh(layout, 1237),
        uuids=GenerationIds(0x1234567890ABCDEF, 0xA000, (0xB000, 0xC000)),
        flags=MdFlags.CONSISTENT | MdFlags.WAS_UP_TO_DATE,
        la_size_sect=2097016,
        la_peer_max_bio_size=1 << 20,
        clean=False,
        sequence=41,
    )


def test_slot_keeps_drbds_field_layout() -> None:
    data = encode_slot(sample(), 0)
    assert len(data) == SLOT_SIZE
    assert data[0:8] == (2097016).to_bytes(8, "big")
    assert data[8:16] == bytes.fromhex("1234567890ABCDEF")
    assert int.from_bytes(data[0x38:0x3C], "big") == 0x11
    assert int.from_bytes(data[0x3C:0x40], "big") == DRBD_MD_MAGIC_84_UNCLEAN
    assert int.from_bytes(data[0x40:0x44], "big") == 136
    assert int.from_bytes(data[0x44:0x48], "big", signed=True) == -64
    assert int.from_bytes(data[0x4C:0x50], "big", signed=True) == -128
    clean = encode_slot(replace(sample(), clean=True), 1)
    assert int.from_bytes(clean[0x3C:0x40], "big") == DRBD_MD_MAGIC_08


def test_slot_round_trip_and_damage() -> None:
    sb = sample()
    assert decode_slot(encode_slot(sb, 1), 1) == sb
    bad = bytearray(encode_slot(sb, 0))
    bad[200] ^= 0x40
    with pytest.raises(MetadataError, match="bad checksum"):
        decode_slot(bytes(bad), 0)
    with pytest.raises(MetadataError, match="written for slot 0"):
        decode_slot(encode_slot(sb, 0), 1)
    with pytest.raises(MetadataError):
        decode_slot(b"\x00" * 10, 0)
    with pytest.raises(ValueError):
        encode_slot(sb, 2)


def test_reading_picks_the_newer_valid_slot() -> None:
    old, new = sample(), replace(sample(), sequence=42, la_size_sect=100)
    block = encode_slot(old, 0) + encode_slot(new, 1)
    read = read_superblock(block)
    assert (read.slot, read.superblock, read.other_problem) == (1, new, None)
    torn = encode_slot(old, 0) + encode_slot(new, 1)[:300] + bytes(212)
    read = read_superblock(torn)
    assert (read.slot, read.superblock) == (0, old)
    assert read.other_problem == "superblock slot 1: bad checksum"


def test_no_valid_slot_means_no_attach() -> None:
    with pytest.raises(MetadataError, match="no valid meta data found"):
        read_superblock(bytes(1024))
    drbd_native = bytearray(4096)
    drbd_native[0x3C:0x40] = DRBD_MD_MAGIC_08.to_bytes(4, "big")
    with pytest.raises(MetadataError, match="DRBD v08 meta data without hapair's checksum"):
        read_superblock(bytes(drbd_native))
    with pytest.raises(MetadataError):
        read_superblock(b"\x00")


def test_superblock_must_fit_its_layout() -> None:
    layout = internal_layout(GIB)
    assert sample().fits(layout) == []
    moved = replace(sample(), al_offset_sect=-128, la_size_sect=1 << 40)
    assert moved.fits(layout) == [
        "unexpected al_offset: -128 (expected -64)",
        f"la-size-sect {1 << 40} exceeds what the meta data covers",
    ]


def test_store_alternates_slots_one_write_at_a_time() -> None:
    layout = internal_layout(GIB)
    store = SuperblockStore(layout, sample(), slot=0)
    first = store.update(replace(sample(), la_size_sect=1))
    assert first is not None and first.slot == 1 and first.offset == layout.slot_at(1)
    assert first.superblock.sequence == 42
    busy_while_writing = store.busy
    assert store.update(replace(sample(), la_size_sect=2)) is None
    assert store.update(replace(sample(), la_size_sect=3)) is None
    assert store.latest.la_size_sect == 3 and store.durable.sequence == 41
    second = store.write_done(first)
    assert second is not None and second.slot == 0 and second.superblock.la_size_sect == 3
    assert second.superblock.sequence == 43 and store.durable.la_size_sect == 1
    assert store.write_done(second) is None
    assert (busy_while_writing, store.busy) == (True, False)
    with pytest.raises(MetadataError):
        store.write_done(second)


def test_a_torn_write_of_either_slot_leaves_the_previous_state_readable() -> None:
    layout = internal_layout(GIB)
    block = bytearray(1024)
    block[0:512] = encode_slot(sample(), 0)
    store = SuperblockStore.from_read(layout, read_superblock(bytes(block)))
    for n in range(1, 6):
        write = store.update(replace(sample(), la_size_sect=n))
        assert write is not None
        at = write.offset - layout.superblock_at
        for cut in range(0, SLOT_SIZE, 64):  # the write stops after `cut` bytes
            torn = bytearray(block)
            torn[at : at + cut] = write.data[:cut]
            assert read_superblock(bytes(torn)).superblock == store.durable
        block[at : at + SLOT_SIZE] = write.data
        store.write_done(write)
        assert read_superblock(bytes(block)).superblock.la_size_sect == n
