"""On-disk metadata: where it lives, the superblock codec, and its crash-safe update.

Layout and sizing are DRBD's, checked against drbdmeta 9.22 (`create-md`): internal metadata sits
at the end of the backing device as `[data][bitmap][activity log][4 KiB superblock]`, with the
bitmap sized for the whole device (`bm_bytes`) and the superblock in the last whole 4 KiB block;
external metadata is `[superblock][activity log][bitmap]` from offset 0 of a dedicated device
(flexible) or of a 128 MiB slot (indexed). All offsets below are bytes; DRBD's own fields stay in
sectors.

The superblock keeps DRBD 8.4's field layout (`struct meta_data_on_disk`, big-endian) in the first
0x60 bytes, so drbdmeta can read a slot. DRBD 8.4 has no checksum and writes the block in place.
hapair adds, in DRBD's reserved area, a sequence number and a CRC-32C, and keeps **two copies**:
512-byte slots at offsets 0 and 512 of the superblock block, written alternately, one at a time.
A torn write damages at most the slot being written; the other still holds the previous state.
Reading picks the valid slot with the higher sequence; if neither is valid, the disk is not
attached.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, replace

from hapair.core.volume.activity_log import AlLayout
from hapair.core.volume.crc32c import crc32c
from hapair.core.volume.uuids import GenerationIds
from hapair.errors import HapairError

SECTOR = 512
MD_4K = 4096
MD_RESERVED_SECT_07 = (128 << 20) // SECTOR  # one indexed external slot: 128 MiB
BM_BYTES_PER_BIT = 4096
MAX_DATA_BYTES = 1 << 50  # DRBD's announced limit: 1 PiB

DRBD_MD_MAGIC_07 = 0x8374026A
DRBD_MD_MAGIC_08 = 0x8374026B
DRBD_MD_MAGIC_84_UNCLEAN = 0x8374026C
DRBD_MD_MAGIC_09 = 0x8374026D
DRBD_MAGICS = {
    DRBD_MD_MAGIC_07: "v07",
    DRBD_MD_MAGIC_08: "v08",
    DRBD_MD_MAGIC_84_UNCLEAN: "v08 (unclean)",
    DRBD_MD_MAGIC_09: "v09",
}
HAPAIR_MAGIC = 0x48415052  # "HAPR"
HAPAIR_MD_VERSION = 1
SLOT_SIZE = 512
SLOT_COUNT = 2
_DRBD_FIELDS = struct.Struct(">Q4QQ8xIIIiIiIIII")
_EXTENSION = struct.Struct(">IHHQ")
_EXT_AT = 0x60
_CRC_AT = SLOT_SIZE - 4


class MetadataError(HapairError):
    """Metadata is missing, damaged, or does not fit the device; the disk must not be attached."""


class MetadataExists(MetadataError):
    """create-md found metadata it would destroy; repeat with --force to overwrite it."""


class MdFlags(enum.IntFlag):
    """DRBD's MDF_* superblock flags."""

    NONE = 0
    CONSISTENT = 1 << 0
    PRIMARY_IND = 1 << 1
    CONNECTED_IND = 1 << 2
    FULL_SYNC = 1 << 3
    WAS_UP_TO_DATE = 1 << 4
    PEER_OUT_DATED = 1 << 5
    CRASHED_PRIMARY = 1 << 6
    AL_CLEAN = 1 << 7
    AL_DISABLED = 1 << 8


class MetadataKind(enum.Enum):
    INTERNAL = "internal"
    FLEX_EXTERNAL = "flex-external"
    INDEXED_EXTERNAL = "indexed"


def bm_bytes(data_sectors: int) -> int:
    """drbdmeta `bm_bytes`: one bit per 4 KiB, whole 64-bit words, whole 4 KiB pages."""
    bits = -(-data_sectors // (BM_BYTES_PER_BIT // SECTOR))
    bits = -(-bits // 64) * 64
    return -(-(bits // 8) // MD_4K) * MD_4K


@dataclass(frozen=True, slots=True)
class MetadataLayout:
    """Where the metadata of one volume lives, on the device that holds it.

    `md_offset` is the absolute byte offset of the superblock block; `al_offset_sect` and
    `bm_offset_sect` are DRBD's signed sector offsets relative to it. The "area" is the whole
    metadata region; the `*_at` offsets are relative to its start, for callers that read it as
    one buffer.
    """

    kind: MetadataKind
    device_bytes: int
    md_offset: int
    md_size_sect: int
    al_offset_sect: int
    bm_offset_sect: int
    al: AlLayout

    @property
    def area_offset(self) -> int:
        return min(self.md_offset, self.al_offset, self.bm_offset)

    @property
    def area_size(self) -> int:
        return self.md_size_sect * SECTOR

    @property
    def al_offset(self) -> int:
        return self.md_offset + self.al_offset_sect * SECTOR

    @property
    def bm_offset(self) -> int:
        return self.md_offset + self.bm_offset_sect * SECTOR

    @property
    def superblock_at(self) -> int:
        return self.md_offset - self.area_offset

    @property
    def al_at(self) -> int:
        return self.al_offset - self.area_offset

    @property
    def bitmap_at(self) -> int:
        return self.bm_offset - self.area_offset

    def slot_at(self, slot: int) -> int:
        """Offset of superblock slot 0 or 1 within the area."""
        if slot not in (0, 1):
            raise ValueError("superblock slot is 0 or 1")
        return self.superblock_at + slot * SLOT_SIZE

    @property
    def bitmap_capacity_bytes(self) -> int:
        if self.kind is MetadataKind.INTERNAL:
            return self.al_offset - self.bm_offset
        return self.area_size - self.bm_offset_sect * SECTOR

    def max_data_bytes(self) -> int:
        """The most data this metadata can describe (internal: everything before the bitmap)."""
        if self.kind is MetadataKind.INTERNAL:
            return self.area_offset // SECTOR * SECTOR
        return self.bitmap_capacity_bytes * 8 * BM_BYTES_PER_BIT

    def data_bytes(self, backing_bytes: int, requested: int = 0) -> int:
        """Usable volume size: the backing device (or `requested`, DRBD's `size`), capped."""
        limit = min(self.max_data_bytes(), backing_bytes // SECTOR * SECTOR)
        if requested:
            if requested > limit:
                raise MetadataError(f"requested size {requested} exceeds the usable {limit} bytes")
            return requested
        return limit


def internal_layout(backing_bytes: int, *, al: AlLayout | None = None) -> MetadataLayout:
    """drbdmeta's flexible internal metadata for a backing device of `backing_bytes`."""
    al = al or AlLayout()
    al_sect = al.size_bytes // SECTOR
    if backing_bytes > MAX_DATA_BYTES:
        raise MetadataError(f"backing device of {backing_bytes} bytes exceeds DRBD's 1 PiB limit")
    md_offset = ((backing_bytes - MD_4K) // MD_4K) * MD_4K
    md_size_sect = -(-(bm_bytes(backing_bytes // SECTOR) // SECTOR) // 8) * 8 + 8 + al_sect
    if md_offset < 0 or md_size_sect * SECTOR > backing_bytes:
        raise MetadataError(f"device of {backing_bytes} bytes is too small for internal meta data")
    return MetadataLayout(
        kind=MetadataKind.INTERNAL,
        device_bytes=backing_bytes,
        md_offset=md_offset,
        md_size_sect=md_size_sect,
        al_offset_sect=-al_sect,
        bm_offset_sect=-md_size_sect + 8,
        al=al,
    )


def external_layout(
    meta_bytes: int, *, index: int | None = None, al: AlLayout | None = None
) -> MetadataLayout:
    """External metadata: the whole device (`index=None`, flex-external) or 128 MiB slot `index`."""
    al = al or AlLayout()
    al_sect = al.size_bytes // SECTOR
    if index is None:
        kind, md_offset, md_size_sect = MetadataKind.FLEX_EXTERNAL, 0, meta_bytes // SECTOR
    else:
        if not 0 <= index <= 255:
            raise MetadataError(f"meta-disk index {index} outside 0..255")
        kind, md_offset, md_size_sect = (
            MetadataKind.INDEXED_EXTERNAL,
            index * (128 << 20),
            MD_RESERVED_SECT_07,
        )
    if md_offset + md_size_sect * SECTOR > meta_bytes or md_size_sect <= 8 + al_sect:
        raise MetadataError(f"meta-data device of {meta_bytes} bytes is too small")
    return MetadataLayout(kind, meta_bytes, md_offset, md_size_sect, 8, 8 + al_sect, al)


@dataclass(frozen=True, slots=True)
class Superblock:
    """The superblock's contents. Sizes are DRBD's sectors; `clean` is DRBD's magic choice
    (8.4 writes "unclean" while attached, so a crash leaves the activity log to apply)."""

    uuids: GenerationIds
    flags: MdFlags
    md_size_sect: int
    al_offset_sect: int
    bm_offset_sect: int
    al_nr_extents: int
    la_size_sect: int = 0
    device_uuid: int = 0
    la_peer_max_bio_size: int = 0
    al_stripes: int = 1
    al_stripe_size_4k: int = 8
    bm_bytes_per_bit: int = BM_BYTES_PER_BIT
    clean: bool = True
    sequence: int = 0

    @classmethod
    def fresh(cls, layout: MetadataLayout, al_extents: int) -> Superblock:
        """What create-md writes: just-created ids, no size yet, activity log clean."""
        return cls(
            uuids=GenerationIds.just_created(),
            flags=MdFlags.AL_CLEAN,
            md_size_sect=layout.md_size_sect,
            al_offset_sect=layout.al_offset_sect,
            bm_offset_sect=layout.bm_offset_sect,
            al_nr_extents=al_extents,
            al_stripes=layout.al.stripes,
            al_stripe_size_4k=layout.al.stripe_size_4k,
        )

    def fits(self, layout: MetadataLayout) -> list[str]:
        """Disagreements with the expected layout, in DRBD's words (empty when it fits)."""
        problems = []
        for name, found, want in (
            ("md_size", self.md_size_sect, layout.md_size_sect),
            ("al_offset", self.al_offset_sect, layout.al_offset_sect),
            ("bm_offset", self.bm_offset_sect, layout.bm_offset_sect),
            ("al_stripes", self.al_stripes, layout.al.stripes),
            ("al_stripe_size_4k", self.al_stripe_size_4k, layout.al.stripe_size_4k),
        ):
            if found != want:
                problems.append(f"unexpected {name}: {found} (expected {want})")
        if self.la_size_sect * SECTOR > layout.max_data_bytes():
            problems.append(f"la-size-sect {self.la_size_sect} exceeds what the meta data covers")
        return problems


def encode_slot(sb: Superblock, slot: int) -> bytes:
    """One 512-byte superblock copy for slot 0 or 1: DRBD's fields, hapair's sequence and CRC."""
    if slot not in (0, 1):
        raise ValueError("superblock slot is 0 or 1")
    block = bytearray(SLOT_SIZE)
    _DRBD_FIELDS.pack_into(
        block, 0,
        sb.la_size_sect, *sb.uuids.words(), sb.device_uuid, int(sb.flags),
        DRBD_MD_MAGIC_08 if sb.clean else DRBD_MD_MAGIC_84_UNCLEAN,
        sb.md_size_sect, sb.al_offset_sect, sb.al_nr_extents, sb.bm_offset_sect,
        sb.bm_bytes_per_bit, sb.la_peer_max_bio_size, sb.al_stripes, sb.al_stripe_size_4k,
    )  # fmt: skip
    _EXTENSION.pack_into(block, _EXT_AT, HAPAIR_MAGIC, HAPAIR_MD_VERSION, slot, sb.sequence)
    struct.pack_into(">I", block, _CRC_AT, crc32c(block[:_CRC_AT]))
    return bytes(block)


def decode_slot(data: bytes | bytearray | memoryview, slot: int) -> Superblock:
    """A superblock copy; MetadataError saying what is wrong (checksum, magic, slot, values)."""
    if len(data) != SLOT_SIZE:
        raise MetadataError(f"superblock slot {slot}: {len(data)} bytes, expected {SLOT_SIZE}")
    raw = bytes(data)
    (stored,) = struct.unpack_from(">I", raw, _CRC_AT)
    if crc32c(raw[:_CRC_AT]) != stored:
        raise MetadataError(f"superblock slot {slot}: bad checksum")
    ext_magic, version, written_slot, sequence = _EXTENSION.unpack_from(raw, _EXT_AT)
    if ext_magic != HAPAIR_MAGIC or version != HAPAIR_MD_VERSION:
        raise MetadataError(f"superblock slot {slot}: not hapair meta data version {HAPAIR_MD_VERSION}")
    if written_slot != slot:
        raise MetadataError(f"superblock slot {slot}: holds a copy written for slot {written_slot}")
    (la_size, cur, bm, h1, h2, device_uuid, flags, magic, md_size, al_off, al_nr, bm_off, per_bit,
     peer_bio, stripes, stripe_4k) = _DRBD_FIELDS.unpack_from(raw, 0)  # fmt: skip
    if magic not in (DRBD_MD_MAGIC_08, DRBD_MD_MAGIC_84_UNCLEAN):
        raise MetadataError(f"superblock slot {slot}: magic {magic:#010x} is not DRBD 8.4's")
    if per_bit != BM_BYTES_PER_BIT:
        raise MetadataError(f"superblock slot {slot}: bm-byte-per-bit {per_bit}, only 4096 is supported")
    try:
        return Superblock(
            uuids=GenerationIds.from_words((cur, bm, h1, h2)),
            flags=MdFlags(flags),
            md_size_sect=md_size,
            al_offset_sect=al_off,
            bm_offset_sect=bm_off,
            al_nr_extents=al_nr,
            la_size_sect=la_size,
            device_uuid=device_uuid,
            la_peer_max_bio_size=peer_bio,
            al_stripes=stripes,
            al_stripe_size_4k=stripe_4k,
            bm_bytes_per_bit=per_bit,
            clean=magic == DRBD_MD_MAGIC_08,
            sequence=sequence,
        )
    except ValueError as exc:
        raise MetadataError(f"superblock slot {slot}: {exc}") from None


@dataclass(frozen=True, slots=True)
class SuperblockRead:
    """The newest valid copy, which slot held it, and what was wrong with the other one."""

    superblock: Superblock
    slot: int
    other_problem: str | None


def read_superblock(block: bytes | bytearray | memoryview) -> SuperblockRead:
    """Choose between the two slots of a superblock block (at least 1024 bytes read from it)."""
    if len(block) < SLOT_COUNT * SLOT_SIZE:
        raise MetadataError("superblock block too short")
    found: list[tuple[Superblock, int]] = []
    problems: list[str] = []
    for slot in range(SLOT_COUNT):
        try:
            found.append((decode_slot(block[slot * SLOT_SIZE : (slot + 1) * SLOT_SIZE], slot), slot))
        except MetadataError as exc:
            problems.append(str(exc))
    if not found:
        native = block_magic(block)
        if native is not None:
            problems.append(f"found DRBD {DRBD_MAGICS[native]} meta data without hapair's checksum")
        raise MetadataError("no valid meta data found: " + "; ".join(problems))
    found.sort(key=lambda pair: pair[0].sequence)
    sb, slot = found[-1]
    other = None
    if len(found) == 1:
        other = problems[0]
    elif found[0][0].sequence == sb.sequence:
        other = f"both slots carry sequence {sb.sequence}"
    return SuperblockRead(sb, slot, other)


def block_magic(block: bytes | bytearray | memoryview) -> int | None:
    """A DRBD meta-data magic at DRBD's offset (0x3c; the same in 8.4 and 9), if any."""
    if len(block) < 0x40:
        return None
    (magic,) = struct.unpack_from(">I", block, 0x3C)
    return magic if magic in DRBD_MAGICS else None


@dataclass(frozen=True, slots=True)
class SuperblockWrite:
    """Write `data` at `offset` within the metadata area, durably (FUA or write + flush)."""

    slot: int
    offset: int
    data: bytes
    superblock: Superblock


class SuperblockStore:
    """Alternating, one-at-a-time superblock updates.

    Two writes in flight could tear both slots, so `update` returns a write only when none is in
    flight; otherwise it remembers the newest wanted contents and `write_done` returns that write
    next (intermediate states are skipped, the latest always lands).
    """

    def __init__(self, layout: MetadataLayout, current: Superblock, slot: int) -> None:
        self.layout = layout
        self._durable = current
        self._durable_slot = slot
        self._wanted: Superblock | None = None
        self._in_flight: SuperblockWrite | None = None

    @classmethod
    def from_read(cls, layout: MetadataLayout, read: SuperblockRead) -> SuperblockStore:
        return cls(layout, read.superblock, read.slot)

    @property
    def durable(self) -> Superblock:
        """The contents a crash now would leave on disk."""
        return self._durable

    @property
    def latest(self) -> Superblock:
        if self._wanted is not None:
            return self._wanted
        return self._in_flight.superblock if self._in_flight else self._durable

    @property
    def busy(self) -> bool:
        return self._in_flight is not None

    def update(self, sb: Superblock) -> SuperblockWrite | None:
        """Ask for `sb` to be persisted (its `sequence` is assigned here)."""
        self._wanted = sb
        return None if self._in_flight else self._issue()

    def write_done(self, write: SuperblockWrite) -> SuperblockWrite | None:
        """The write landed durably; returns the next (coalesced) write, if any."""
        if write is not self._in_flight:
            raise MetadataError("completion for a superblock write that is not in flight")
        self._durable, self._durable_slot = write.superblock, write.slot
        self._in_flight = None
        return self._issue() if self._wanted is not None else None

    def _issue(self) -> SuperblockWrite:
        assert self._wanted is not None
        slot = 1 - self._durable_slot
        sb = replace(self._wanted, sequence=self._durable.sequence + 1)
        self._wanted = None
        self._in_flight = SuperblockWrite(slot, self.layout.slot_at(slot), encode_slot(sb, slot), sb)
        return self._in_flight
