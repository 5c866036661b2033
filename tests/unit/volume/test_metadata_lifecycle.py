"""Superblock flags over a volume's life (attach, state changes), create-md, get-gi, dump-md."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hapair.core.volume.activity_log import initialized_block
from hapair.core.volume.metadata import (
    DRBD_MD_MAGIC_09,
    MdFlags,
    MetadataError,
    MetadataExists,
    Superblock,
    encode_slot,
    internal_layout,
    read_superblock,
)
from hapair.core.volume.metadata_dump import render_bitmap, render_dump_md
from hapair.core.volume.metadata_lifecycle import (
    MetadataWrite,
    MetadataZeroFill,
    attach_decision,
    check_create_md,
    create_md_plan,
    existing_metadata,
    flags_for_state,
    gi_text,
)
from hapair.core.volume.states import ConnState, DiskState, FencingPolicy, ReplicaState, Role
from hapair.core.volume.uuids import GenerationIds

GIB = 1 << 30
F = MdFlags
LAYOUT = internal_layout(GIB)


def sb(flags: MdFlags, *, clean: bool = False) -> Superblock:
    return replace(Superblock.fresh(LAYOUT, 1237), flags=flags, clean=clean)


def test_flags_follow_the_state() -> None:
    primary = ReplicaState(
        Role.PRIMARY, Role.SECONDARY, ConnState.CONNECTED, DiskState.UP_TO_DATE, DiskState.UP_TO_DATE
    )
    flags = flags_for_state(F.AL_CLEAN | F.FULL_SYNC, primary, crashed_primary=False)
    assert flags == F.PRIMARY_IND | F.CONNECTED_IND | F.CONSISTENT | F.WAS_UP_TO_DATE | F.FULL_SYNC
    outdated_peer = replace(primary, conn=ConnState.CONNECTING, peer=Role.UNKNOWN, pdsk=DiskState.OUTDATED)
    assert flags_for_state(F.NONE, outdated_peer, crashed_primary=True) == (
        F.PRIMARY_IND | F.CONSISTENT | F.WAS_UP_TO_DATE | F.PEER_OUT_DATED | F.CRASHED_PRIMARY
    )
    target = ReplicaState(
        Role.SECONDARY, Role.PRIMARY, ConnState.SYNC_TARGET, DiskState.INCONSISTENT, DiskState.UP_TO_DATE
    )
    assert flags_for_state(F.CONSISTENT, target, crashed_primary=False) == F.CONNECTED_IND
    outdated = ReplicaState(disk=DiskState.OUTDATED)
    assert flags_for_state(F.NONE, outdated, crashed_primary=False) == F.CONSISTENT


def test_attach_disk_states() -> None:
    dont_care = FencingPolicy.DONT_CARE
    assert attach_decision(sb(F.NONE), dont_care).disk is DiskState.INCONSISTENT
    assert attach_decision(sb(F.CONSISTENT), dont_care).disk is DiskState.OUTDATED
    assert attach_decision(sb(F.CONSISTENT | F.WAS_UP_TO_DATE), dont_care).disk is DiskState.UP_TO_DATE
    fenced = attach_decision(sb(F.CONSISTENT | F.WAS_UP_TO_DATE), FencingPolicy.RESOURCE_ONLY)
    assert (fenced.disk, fenced.pdsk) == (DiskState.CONSISTENT, DiskState.DUNKNOWN)
    known = attach_decision(
        sb(F.CONSISTENT | F.WAS_UP_TO_DATE | F.PEER_OUT_DATED), FencingPolicy.RESOURCE_ONLY
    )
    assert (known.disk, known.pdsk) == (DiskState.UP_TO_DATE, DiskState.OUTDATED)


def test_attach_after_a_primary_crash() -> None:
    crashed = attach_decision(sb(F.PRIMARY_IND | F.CONSISTENT | F.WAS_UP_TO_DATE), FencingPolicy.DONT_CARE)
    assert (
        crashed.crashed_primary
        and crashed.apply_al
        and crashed.use_degr_wfc_timeout
        and not crashed.full_sync
    )
    connected = attach_decision(sb(F.PRIMARY_IND | F.CONNECTED_IND), FencingPolicy.DONT_CARE)
    assert connected.crashed_primary and not connected.use_degr_wfc_timeout
    no_al = attach_decision(sb(F.PRIMARY_IND | F.AL_DISABLED), FencingPolicy.DONT_CARE)
    assert no_al.full_sync
    clean = attach_decision(sb(F.AL_CLEAN | F.CONSISTENT, clean=True), FencingPolicy.DONT_CARE)
    assert not (clean.crashed_primary or clean.apply_al or clean.full_sync)
    assert attach_decision(sb(F.FULL_SYNC), FencingPolicy.DONT_CARE).full_sync
    assert attach_decision(sb(F.CRASHED_PRIMARY), FencingPolicy.DONT_CARE).crashed_primary


def test_gi_text_matches_drbdmeta_get_gi() -> None:
    assert gi_text(Superblock.fresh(LAYOUT, 257)) == (
        "0000000000000004:0000000000000000:0000000000000000:0000000000000000:0:0:0:0:0:0:0"
    )
    busy = replace(sb(F.CONSISTENT | F.WAS_UP_TO_DATE), uuids=GenerationIds(0x1234567890ABCDEF))
    assert (
        gi_text(busy) == "1234567890ABCDEF:0000000000000000:0000000000000000:0000000000000000:1:1:0:0:0:0:0"
    )


def test_create_md_refuses_to_destroy_metadata() -> None:
    assert existing_metadata(bytes(4096)) is None
    assert check_create_md(bytes(4096), force=False) is None
    ours = encode_slot(replace(Superblock.fresh(LAYOUT, 1237), sequence=3), 0) + bytes(3584)
    found = existing_metadata(ours)
    assert found is not None and found.kind == "hapair"
    with pytest.raises(MetadataExists, match="refusing to overwrite it without --force"):
        check_create_md(ours, force=False)
    assert check_create_md(ours, force=True) == found
    drbd9 = bytearray(4096)
    drbd9[0x3C:0x40] = DRBD_MD_MAGIC_09.to_bytes(4, "big")
    found = existing_metadata(bytes(drbd9))
    assert found is not None and found.description == "DRBD v09 meta data"


def test_create_md_plan_writes_superblock_last() -> None:
    fresh, writes = create_md_plan(LAYOUT, 1237)
    assert fresh.uuids == GenerationIds.just_created() and fresh.flags == F.AL_CLEAN and fresh.sequence == 1
    zero, al, superblock = writes
    assert zero == MetadataZeroFill(0, 32768)
    assert isinstance(al, MetadataWrite) and al.offset == 32768 and al.data == initialized_block() * 8
    assert (
        isinstance(superblock, MetadataWrite) and superblock.offset == 65536 and len(superblock.data) == 4096
    )
    read = read_superblock(superblock.data)
    assert (read.slot, read.superblock) == (0, fresh)
    assert fresh.fits(LAYOUT) == []
    with pytest.raises(MetadataError):
        create_md_plan(LAYOUT, 7000)


DRBDMETA_DUMP_FRESH_BITMAP = """{
   # at 0kB
    0xFFFFFFFFFFFFFFFF; 0x0000000000000001; 0x0000000000000000; 0x0000000000000000;
    4092 times 0x0000000000000000;
}"""


def test_dump_md_matches_drbdmeta() -> None:
    # The bitmap part is what drbdmeta 9.22 printed for la-size-sect 2097016 with bits 0..64 set.
    bitmap = bytearray(32768)
    bitmap[0:9] = b"\xff" * 8 + b"\x01"
    text, bits = render_bitmap(bytes(bitmap))
    assert (text, bits) == (DRBDMETA_DUMP_FRESH_BITMAP, 65)
    superblock = replace(
        Superblock.fresh(LAYOUT, 257), uuids=GenerationIds(0x1234567890ABCDEF), la_size_sect=2097016,
        la_peer_max_bio_size=1048576,
    )  # fmt: skip
    dump = render_dump_md(superblock, LAYOUT, bitmap, header=("2026-11-26 23:04:28 +0000 [1795734268]",))
    assert dump == (
        "# DRBD meta data dump\n# 2026-11-26 23:04:28 +0000 [1795734268]\n#\n\n"
        'version "v08";\n\n'
        "# md_size_sect 136\n# md_offset 1073737728\n# al_offset 1073704960\n# bm_offset 1073672192\n\n"
        "uuid {\n    0x1234567890ABCDEF; 0x0000000000000000; 0x0000000000000000; 0x0000000000000000;\n"
        "    flags 0x00000080;\n}\n"
        "# al-extents 257;\nla-size-sect 2097016;\nbm-byte-per-bit 4096;\ndevice-uuid 0x0000000000000000;\n"
        "la-peer-max-bio-size 1048576;\nal-stripes 1;\nal-stripe-size-4k 8;\n# bm-bytes 32768;\n"
        f"bm {DRBDMETA_DUMP_FRESH_BITMAP}\n# bits-set 65;\n"
    )


def test_dump_md_of_an_empty_bitmap_and_with_slot_comment() -> None:
    dump = render_dump_md(Superblock.fresh(LAYOUT, 257), LAYOUT, b"", slot=1)
    assert "# hapair superblock slot 1 sequence 0\n" in dump
    assert "# bm-bytes 0;\nbm {\n}\n# bits-set 0;\n" in dump
    with pytest.raises(ValueError):
        render_dump_md(replace(Superblock.fresh(LAYOUT, 257), la_size_sect=8), LAYOUT, b"")


def test_render_bitmap_runs_and_markers() -> None:
    words = bytes(range(1, 33)) * 4 + bytes(640) + b"\x11\x22\x33\x44" * 24
    text, _ = render_bitmap(words)
    lines = text.splitlines()
    assert lines[1] == "   # at 0kB"
    assert lines[2] == "    0x0807060504030201; 0x100F0E0D0C0B0A09; 0x1817161514131211; 0x201F1E1D1C1B1A19;"
    assert "    80 times 0x0000000000000000;" in lines
    assert "    12 times 0x4433221144332211;" in lines
    assert lines[lines.index("    80 times 0x0000000000000000;") + 1] == "   # at 24576kB"
    with pytest.raises(ValueError):
        render_bitmap(b"\x00" * 3)
