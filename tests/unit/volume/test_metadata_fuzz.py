"""Superblock slots: round trips for any contents, and damage or garbage only ever yields
`MetadataError` (the disk is then not attached)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.core.volume.metadata import (
    SLOT_SIZE,
    MdFlags,
    MetadataError,
    Superblock,
    decode_slot,
    encode_slot,
    read_superblock,
)
from hapair.core.volume.uuids import GenerationIds

U64 = st.integers(0, 2**64 - 1)
U32 = st.integers(0, 2**32 - 1)
S32 = st.integers(-(2**31), 2**31 - 1)
SUPERBLOCKS = st.builds(
    Superblock,
    uuids=st.builds(GenerationIds, U64, U64, st.tuples(U64, U64)),
    flags=st.integers(0, 511).map(MdFlags),
    md_size_sect=U32,
    al_offset_sect=S32,
    bm_offset_sect=S32,
    al_nr_extents=U32,
    la_size_sect=U64,
    device_uuid=U64,
    la_peer_max_bio_size=U32,
    al_stripes=U32,
    al_stripe_size_4k=U32,
    clean=st.booleans(),
    sequence=U64,
)


@settings(max_examples=300, deadline=None)
@given(SUPERBLOCKS, st.sampled_from([0, 1]))
def test_round_trip(sb: Superblock, slot: int) -> None:
    assert decode_slot(encode_slot(sb, slot), slot) == sb


@settings(max_examples=300, deadline=None)
@given(SUPERBLOCKS, st.integers(0, SLOT_SIZE * 8 - 1))
def test_any_flipped_bit_is_detected(sb: Superblock, bit: int) -> None:
    data = bytearray(encode_slot(sb, 0))
    data[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(MetadataError):
        decode_slot(bytes(data), 0)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=2048))
def test_garbage_only_raises_metadata_error(garbage: bytes) -> None:
    with contextlib.suppress(MetadataError):
        read_superblock(garbage)
    padded = garbage[:SLOT_SIZE].ljust(SLOT_SIZE, b"\0")
    with pytest.raises(MetadataError):
        decode_slot(padded, 0)
