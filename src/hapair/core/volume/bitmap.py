"""The quick-sync bitmap: one bit per 4 KiB block of the volume, set while the copies may differ.

Bits are set when a write could not reach the peer (disconnected, or in flight when the link
dropped) and cleared as resync moves blocks. After a reconnect only set blocks travel, in disk
order. The in-memory form is a `bytearray` whose layout *is* DRBD's on-disk layout: an array of
little-endian 64-bit words, bit n in word n/64 at position n%64, i.e. byte n/8, bit n%8. So
serialising is a copy, and a 4 KiB page of it covers 32768 blocks (128 MiB of data).

Range operations work on whole bytes with slice assignment and count with `int.bit_count`, so
setting, clearing or counting a range of a 1 TiB volume (32 MiB of bitmap) never loops per bit in
Python. Pages touched since the last write-out are tracked, so the shell writes only those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

BLOCK_SHIFT = 12
BLOCK_SIZE = 1 << BLOCK_SHIFT
SECTOR_SIZE = 512
SECTORS_PER_BLOCK = BLOCK_SIZE // SECTOR_SIZE
PAGE_SIZE = 4096
"""Bitmap bytes per on-disk page (the unit of lazy write-out)."""
AL_EXTENT_SHIFT = 22
AL_EXTENT_SIZE = 1 << AL_EXTENT_SHIFT
BITS_PER_AL_EXTENT = AL_EXTENT_SIZE // BLOCK_SIZE
_CHUNK = 1 << 20  # bytes per step when counting or merging huge ranges
_NONZERO = re.compile(rb"[^\x00]")
_NOT_FULL = re.compile(rb"[^\xff]")


def bits_for_size(size_bytes: int) -> int:
    """Bits needed to cover `size_bytes` of data (a partial last block still needs a bit)."""
    return -(-size_bytes // BLOCK_SIZE)


def bitmap_bytes(nbits: int) -> int:
    """In-memory size: whole 64-bit words, as DRBD keeps it."""
    return -(-nbits // 64) * 8


class QuickSyncBitmap:
    """Out-of-sync bits for a volume of `size_bytes` bytes, at 4 KiB granularity."""

    __slots__ = ("_bits", "_dirty", "_weight", "nbits", "size_bytes")

    def __init__(self, size_bytes: int, data: bytes | bytearray | memoryview | None = None) -> None:
        if size_bytes < 0:
            raise ValueError("size must not be negative")
        self.size_bytes = size_bytes
        self.nbits = bits_for_size(size_bytes)
        nbytes = bitmap_bytes(self.nbits)
        if data is None:
            self._bits = bytearray(nbytes)
        else:
            if len(data) < nbytes:
                raise ValueError(f"bitmap data has {len(data)} bytes, need {nbytes}")
            self._bits = bytearray(data[:nbytes])
            self._clear_padding()
        self._weight = self._count_bytes(0, nbytes)
        self._dirty: set[int] = set()

    # -- whole-bitmap views ----------------------------------------------------------------------

    @property
    def weight(self) -> int:
        """Number of set bits (blocks out of sync)."""
        return self._weight

    @property
    def out_of_sync_bytes(self) -> int:
        return self._weight * BLOCK_SIZE

    def __len__(self) -> int:
        return self.nbits

    def to_bytes(self) -> bytes:
        """DRBD's on-disk layout (little-endian u64 words), without page padding."""
        return bytes(self._bits)

    def on_disk_bytes(self) -> bytes:
        """`to_bytes()` padded with zeros to whole 4 KiB pages."""
        pad = -len(self._bits) % PAGE_SIZE
        return bytes(self._bits) + bytes(pad)

    @property
    def page_count(self) -> int:
        return -(-len(self._bits) // PAGE_SIZE)

    def page(self, index: int) -> bytes:
        """One 4 KiB page of the on-disk layout (the last one zero-padded)."""
        if not 0 <= index < self.page_count:
            raise IndexError(f"bitmap page {index} out of range")
        chunk = bytes(self._bits[index * PAGE_SIZE : (index + 1) * PAGE_SIZE])
        return chunk + bytes(PAGE_SIZE - len(chunk))

    def dirty_pages(self) -> list[int]:
        """Pages changed since the last `take_dirty_pages`, in disk order."""
        return sorted(self._dirty)

    def take_dirty_pages(self) -> list[tuple[int, bytes]]:
        """(page index, page bytes) for each changed page; forgets them (the caller writes them)."""
        pages = [(i, self.page(i)) for i in sorted(self._dirty)]
        self._dirty.clear()
        return pages

    def mark_all_dirty(self) -> None:
        self._dirty.update(range(self.page_count))

    # -- bit ranges ------------------------------------------------------------------------------

    def test(self, bit: int) -> bool:
        self._check_bit(bit)
        return bool(self._bits[bit >> 3] >> (bit & 7) & 1)

    def count(self, start: int = 0, end: int | None = None) -> int:
        """Set bits in [start, end)."""
        a, b = self._clamp(start, end)
        return self._count_bits(a, b)

    def set_range(self, start: int, end: int) -> int:
        """Set bits [start, end); returns how many were newly set."""
        a, b = self._clamp(start, end)
        if a >= b:
            return 0
        before = self._count_bits(a, b)
        self._fill(a, b, set_bits=True)
        self._weight += (b - a) - before
        return (b - a) - before

    def clear_range(self, start: int, end: int) -> int:
        """Clear bits [start, end); returns how many were newly cleared."""
        a, b = self._clamp(start, end)
        if a >= b:
            return 0
        before = self._count_bits(a, b)
        self._fill(a, b, set_bits=False)
        self._weight -= before
        return before

    def set_all(self) -> int:
        return self.set_range(0, self.nbits)

    def clear_all(self) -> int:
        return self.clear_range(0, self.nbits)

    def find_next_set(self, bit: int = 0) -> int | None:
        """The first set bit at or after `bit`, or None."""
        return self._find(bit, _NONZERO, invert=False)

    def find_next_clear(self, bit: int = 0) -> int | None:
        """The first clear bit at or after `bit` (below `nbits`), or None."""
        return self._find(bit, _NOT_FULL, invert=True)

    def runs(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
        """Maximal runs [first, last+1) of set bits within [start, end), in disk order."""
        a, b = self._clamp(start, end)
        pos = a
        while pos < b:
            first = self.find_next_set(pos)
            if first is None or first >= b:
                return
            after = self.find_next_clear(first)
            stop = b if after is None or after > b else after
            yield first, stop
            pos = stop

    # -- byte ranges (what writes and resync speak) ------------------------------------------------

    def block_range(self, offset: int, length: int) -> tuple[int, int]:
        """Bits [first, end) touched by a byte range (partial blocks count)."""
        self._check_byte_range(offset, length)
        if length == 0:
            return offset >> BLOCK_SHIFT, offset >> BLOCK_SHIFT
        return offset >> BLOCK_SHIFT, ((offset + length - 1) >> BLOCK_SHIFT) + 1

    def mark_out_of_sync(self, offset: int, length: int) -> int:
        """A write to [offset, offset+length) did not reach the peer: every block it touches."""
        first, end = self.block_range(offset, length)
        return self.set_range(first, end)

    def mark_in_sync(self, offset: int, length: int) -> int:
        """[offset, offset+length) is now equal on both nodes: clear the blocks it *fully* covers.

        A partially covered block stays marked (DRBD's rule), except the volume's last block when
        the range reaches the end of a volume whose size is not a multiple of 4 KiB.
        """
        self._check_byte_range(offset, length)
        first = -(-offset // BLOCK_SIZE)
        stop = offset + length
        end = self.nbits if stop == self.size_bytes else stop >> BLOCK_SHIFT
        return self.clear_range(first, end) if first < end else 0

    def is_clear(self, offset: int, length: int) -> bool:
        first, end = self.block_range(offset, length)
        return self.count(first, end) == 0

    # -- activity-log extents (4 MiB) --------------------------------------------------------------

    def extent_bits(self, extent: int) -> tuple[int, int]:
        """Bits [first, end) of one 4 MiB activity-log extent (clipped to the volume)."""
        first = extent * BITS_PER_AL_EXTENT
        return min(first, self.nbits), min(first + BITS_PER_AL_EXTENT, self.nbits)

    def mark_extents(self, extents: Iterable[int]) -> int:
        """Set every bit of the given extents (activity-log replay after a crash)."""
        added = 0
        for extent in sorted(extents):
            added += self.set_range(*self.extent_bits(extent))
        return added

    def pages_for_extents(self, extents: Iterable[int]) -> list[int]:
        """On-disk bitmap pages holding the bits of these extents (to write before an AL eviction)."""
        pages: set[int] = set()
        for extent in extents:
            first, end = self.extent_bits(extent)
            if first < end:
                pages.update(range((first >> 3) // PAGE_SIZE, ((end - 1) >> 3) // PAGE_SIZE + 1))
        return sorted(pages)

    # -- merging (reconnect: both sides' bits are OR-ed) -------------------------------------------

    def merge(self, other: QuickSyncBitmap | bytes | bytearray | memoryview, at_byte: int = 0) -> int:
        """OR other bits in, starting at byte `at_byte` (for chunked transfer); returns newly set."""
        data = other._bits if isinstance(other, QuickSyncBitmap) else other
        if at_byte < 0 or at_byte + len(data) > len(self._bits):
            raise ValueError("bitmap chunk does not fit")
        before = self._weight
        view = memoryview(data)
        for pos in range(0, len(data), _CHUNK):
            piece = view[pos : pos + _CHUNK]
            lo = at_byte + pos
            hi = lo + len(piece)
            mine = int.from_bytes(self._bits[lo:hi], "little")
            merged = mine | int.from_bytes(piece, "little")
            if merged != mine:
                self._bits[lo:hi] = merged.to_bytes(hi - lo, "little")
                self._dirty.update(range(lo // PAGE_SIZE, (hi - 1) // PAGE_SIZE + 1))
        self._clear_padding()
        self._weight = self._count_bytes(0, len(self._bits))
        return self._weight - before

    def chunk(self, at_byte: int, length: int) -> bytes:
        """Raw bytes [at_byte, at_byte+length) of the on-disk layout (bitmap exchange)."""
        if at_byte < 0 or length < 0 or at_byte + length > len(self._bits):
            raise ValueError("bitmap chunk out of range")
        return bytes(self._bits[at_byte : at_byte + length])

    @property
    def nbytes(self) -> int:
        return len(self._bits)

    # -- internals ---------------------------------------------------------------------------------

    def _check_bit(self, bit: int) -> None:
        if not 0 <= bit < self.nbits:
            raise IndexError(f"bit {bit} out of range 0..{self.nbits - 1}")

    def _check_byte_range(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > self.size_bytes:
            raise ValueError(f"byte range {offset}+{length} outside a {self.size_bytes}-byte volume")

    def _clamp(self, start: int, end: int | None) -> tuple[int, int]:
        b = self.nbits if end is None else end
        if start < 0 or b > self.nbits or start > b:
            raise ValueError(f"bit range [{start}, {b}) outside 0..{self.nbits}")
        return start, b

    def _count_bytes(self, lo: int, hi: int) -> int:
        total = 0
        for pos in range(lo, hi, _CHUNK):
            total += int.from_bytes(self._bits[pos : min(pos + _CHUNK, hi)], "little").bit_count()
        return total

    def _count_bits(self, a: int, b: int) -> int:
        if a >= b:
            return 0
        lo, hi = a >> 3, (b - 1) >> 3
        if lo == hi:
            return (self._bits[lo] >> (a & 7) & ((1 << (b - a)) - 1)).bit_count()
        head = (self._bits[lo] >> (a & 7)).bit_count()
        tail = (self._bits[hi] & ((1 << (((b - 1) & 7) + 1)) - 1)).bit_count()
        return head + self._count_bytes(lo + 1, hi) + tail

    def _fill(self, a: int, b: int, *, set_bits: bool) -> None:
        lo, hi = a >> 3, (b - 1) >> 3
        if lo == hi:
            masks = [(lo, ((1 << (b - a)) - 1) << (a & 7))]
        else:
            masks = [(lo, (0xFF << (a & 7)) & 0xFF), (hi, (1 << (((b - 1) & 7) + 1)) - 1)]
            if hi - lo > 1:
                self._bits[lo + 1 : hi] = (b"\xff" if set_bits else b"\x00") * (hi - lo - 1)
        for index, mask in masks:
            if set_bits:
                self._bits[index] |= mask
            else:
                self._bits[index] &= ~mask & 0xFF
        self._dirty.update(range(lo // PAGE_SIZE, hi // PAGE_SIZE + 1))

    def _find(self, bit: int, pattern: re.Pattern[bytes], *, invert: bool) -> int | None:
        if bit < 0:
            raise ValueError("bit must not be negative")
        if bit >= self.nbits:
            return None
        byte_index = bit >> 3
        first = self._bits[byte_index] ^ (0xFF if invert else 0)
        first &= (0xFF << (bit & 7)) & 0xFF
        if first:
            found = (byte_index << 3) + ((first & -first).bit_length() - 1)
            return found if found < self.nbits else None
        match = pattern.search(self._bits, byte_index + 1)
        if match is None:
            return None
        index = match.start()
        value = self._bits[index] ^ (0xFF if invert else 0)
        found = (index << 3) + ((value & -value).bit_length() - 1)
        return found if found < self.nbits else None

    def _clear_padding(self) -> None:
        extra = len(self._bits) * 8 - self.nbits
        if extra <= 0:
            return
        first_pad = self.nbits
        lo = first_pad >> 3
        self._bits[lo] &= (1 << (first_pad & 7)) - 1
        self._bits[lo + 1 :] = bytes(len(self._bits) - lo - 1)
