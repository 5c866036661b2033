"""What the superblock flags mean over a volume's life: attach, state changes, create-md.

DRBD 8.4 rewrites the MDF_* flags on every state change (`__drbd_set_state`) and reads them back
at attach (`drbd_adm_attach`) to decide the disk state a node starts in, whether it crashed as
Primary, and whether it must assume a full resync. `create-md` refuses to destroy metadata it
finds unless forced. `gi_text` is drbdmeta's `get-gi` line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hapair.core.volume.activity_log import initialized_block
from hapair.core.volume.metadata import (
    DRBD_MAGICS,
    MD_4K,
    SLOT_COUNT,
    SLOT_SIZE,
    MdFlags,
    MetadataError,
    MetadataExists,
    MetadataLayout,
    Superblock,
    block_magic,
    encode_slot,
    read_superblock,
)
from hapair.core.volume.states import ConnState, DiskState, FencingPolicy, ReplicaState, Role

_STATE_FLAGS = (
    MdFlags.CONSISTENT
    | MdFlags.PRIMARY_IND
    | MdFlags.CONNECTED_IND
    | MdFlags.WAS_UP_TO_DATE
    | MdFlags.PEER_OUT_DATED
    | MdFlags.CRASHED_PRIMARY
    | MdFlags.AL_CLEAN
)


def flags_for_state(flags: MdFlags, state: ReplicaState, *, crashed_primary: bool) -> MdFlags:
    """The flags after a state change, as `__drbd_set_state` computes them (AL_CLEAN drops:
    the activity log is live while attached)."""
    mdf = flags & ~_STATE_FLAGS
    if crashed_primary:
        mdf |= MdFlags.CRASHED_PRIMARY
    if state.role is Role.PRIMARY or (state.pdsk < DiskState.INCONSISTENT and state.peer is Role.PRIMARY):
        mdf |= MdFlags.PRIMARY_IND
    if state.conn > ConnState.WF_REPORT_PARAMS:
        mdf |= MdFlags.CONNECTED_IND
    if state.disk > DiskState.INCONSISTENT:
        mdf |= MdFlags.CONSISTENT
    if state.disk > DiskState.OUTDATED:
        mdf |= MdFlags.WAS_UP_TO_DATE
    if DiskState.INCONSISTENT <= state.pdsk <= DiskState.OUTDATED:
        mdf |= MdFlags.PEER_OUT_DATED
    return mdf


@dataclass(frozen=True, slots=True)
class AttachDecision:
    """What attaching a disk with these flags means (drbd_nl.c `drbd_adm_attach`).

    `disk`/`pdsk` are the states to enter; `crashed_primary` is DRBD's CRASHED_PRIMARY bit (this
    node was Primary when it went down uncleanly, or still carries the mark); `full_sync` means
    "set every bitmap bit"; `apply_al` means the activity log holds extents to mark out of sync;
    `use_degr_wfc_timeout` is the init script's hint that the node crashed as a lone Primary.
    """

    disk: DiskState
    pdsk: DiskState
    crashed_primary: bool
    full_sync: bool
    apply_al: bool
    use_degr_wfc_timeout: bool


def attach_decision(sb: Superblock, fencing: FencingPolicy, *, primary_now: bool = False) -> AttachDecision:
    flags = sb.flags
    crashed = bool(flags & MdFlags.CRASHED_PRIMARY) or bool(flags & MdFlags.PRIMARY_IND and not primary_now)
    if flags & MdFlags.CONSISTENT:
        disk = DiskState.CONSISTENT if flags & MdFlags.WAS_UP_TO_DATE else DiskState.OUTDATED
    else:
        disk = DiskState.INCONSISTENT
    pdsk = DiskState.OUTDATED if flags & MdFlags.PEER_OUT_DATED else DiskState.DUNKNOWN
    if disk is DiskState.CONSISTENT and (pdsk is DiskState.OUTDATED or fencing is FencingPolicy.DONT_CARE):
        disk = DiskState.UP_TO_DATE
    full_sync = bool(flags & MdFlags.FULL_SYNC) or (crashed and bool(flags & MdFlags.AL_DISABLED))
    apply_al = bool(flags & MdFlags.PRIMARY_IND) and not (flags & MdFlags.AL_CLEAN and sb.clean)
    degraded = not primary_now and bool(flags & MdFlags.PRIMARY_IND) and not flags & MdFlags.CONNECTED_IND
    return AttachDecision(disk, pdsk, crashed, full_sync, apply_al, degraded)


def gi_text(sb: Superblock) -> str:
    """drbdmeta `get-gi`: `CUR:BM:H1:H2:c:u:p:n:f:o:x` (consistent, was-up-to-date, primary,
    connected, full-sync, peer-outdated, crashed-primary)."""
    bits = (
        MdFlags.CONSISTENT,
        MdFlags.WAS_UP_TO_DATE,
        MdFlags.PRIMARY_IND,
        MdFlags.CONNECTED_IND,
        MdFlags.FULL_SYNC,
        MdFlags.PEER_OUT_DATED,
        MdFlags.CRASHED_PRIMARY,
    )
    return sb.uuids.text() + "".join(f":{int(bool(sb.flags & bit))}" for bit in bits)


@dataclass(frozen=True, slots=True)
class ExistingMetadata:
    """Metadata found where create-md would write."""

    kind: str
    description: str


def existing_metadata(superblock_block: bytes | bytearray | memoryview) -> ExistingMetadata | None:
    """What is at the superblock position now: hapair metadata (either slot valid), DRBD's
    (any version's magic), or None for nothing recognisable."""
    try:
        read = read_superblock(superblock_block)
    except MetadataError:
        magic = block_magic(superblock_block)
        if magic is None:
            return None
        return ExistingMetadata("drbd", f"DRBD {DRBD_MAGICS[magic]} meta data")
    sb = read.superblock
    return ExistingMetadata(
        "hapair", f"hapair meta data, generation {sb.uuids.text()}, {sb.la_size_sect} sectors"
    )


def check_create_md(
    superblock_block: bytes | bytearray | memoryview, *, force: bool
) -> ExistingMetadata | None:
    """create-md's safety check: raise MetadataExists unless `force` when metadata is present.

    Returns what will be overwritten (None for nothing), so the caller can say so.
    """
    found = existing_metadata(superblock_block)
    if found is not None and not force:
        raise MetadataExists(f"Found {found.description}; refusing to overwrite it without --force")
    return found


@dataclass(frozen=True, slots=True)
class MetadataWrite:
    """Write `data` at `offset` in the metadata area."""

    offset: int
    data: bytes


@dataclass(frozen=True, slots=True)
class MetadataZeroFill:
    """Zero `length` bytes at `offset` in the metadata area (the bitmap can be megabytes)."""

    offset: int
    length: int


def create_md_plan(
    layout: MetadataLayout, al_extents: int
) -> tuple[Superblock, list[MetadataWrite | MetadataZeroFill]]:
    """Everything create-md writes, in order: a zeroed bitmap, an initialized activity log, then
    the superblock block (slot 0 valid with sequence 1, slot 1 and the rest zeroed so no older
    copy can win). The superblock goes last: until it lands, the device has no metadata."""
    if not 1 <= al_extents <= layout.al.max_extents:
        raise MetadataError(
            f"al-extents {al_extents} does not fit a {layout.al.size_bytes // 1024} KiB activity log"
        )
    sb = replace(Superblock.fresh(layout, al_extents), sequence=1)
    block = bytearray(MD_4K)
    block[0:SLOT_SIZE] = encode_slot(sb, 0)
    assert SLOT_COUNT * SLOT_SIZE <= MD_4K
    writes: list[MetadataWrite | MetadataZeroFill] = [
        MetadataZeroFill(layout.bitmap_at, layout.bitmap_capacity_bytes),
        MetadataWrite(layout.al_at, initialized_block() * layout.al.ring_blocks),
        MetadataWrite(layout.superblock_at, bytes(block)),
    ]
    return sb, writes
