"""`dump-md`: the metadata as text, in drbdmeta's format (`drbdmeta ... v08 ... dump-md`).

The layout of the text, the run-length compression of the bitmap (`N times 0x...;`) and the
`# at NkB` markers follow drbdmeta's `fprintf_bm`, so the output diffs cleanly against a real
drbdmeta dump. One deliberate difference: drbdmeta 9.22 prints `flags 0x00000000` for v08
meta data whatever the flags are; we print the real flags. hapair-only facts (slot, sequence)
are `#` comments, which drbdmeta's parser ignores.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hapair.core.volume.metadata import SECTOR, MetadataLayout, Superblock, bm_bytes

_WORDS_PER_LINE = 8  # 32-bit words, printed as four 64-bit values
_RUN_OF = {b"\x00" * 4: re.compile(rb"[^\x00]"), b"\xff" * 4: re.compile(rb"[^\xff]")}


def render_dump_md(
    sb: Superblock,
    layout: MetadataLayout,
    bitmap: bytes | bytearray | memoryview,
    *,
    header: Sequence[str] = (),
    slot: int | None = None,
) -> str:
    """The dump text. `bitmap` is the on-disk bitmap (at least the bytes covering la-size-sect);
    `header` lines (time, host and command, as drbdmeta prints them) go after the title."""
    lines = ["# DRBD meta data dump"]
    lines += [f"# {h}" for h in header]
    lines += ["#", "", 'version "v08";', ""]
    lines += [
        f"# md_size_sect {sb.md_size_sect}",
        f"# md_offset {layout.md_offset}",
        f"# al_offset {layout.md_offset + sb.al_offset_sect * SECTOR}",
        f"# bm_offset {layout.md_offset + sb.bm_offset_sect * SECTOR}",
    ]
    if slot is not None:
        lines.append(f"# hapair superblock slot {slot} sequence {sb.sequence}")
    u = sb.uuids.words()
    lines += [
        "",
        "uuid {",
        "    " + " ".join(f"0x{w:016X};" for w in u),
        f"    flags 0x{int(sb.flags):08X};",
        "}",
        f"# al-extents {sb.al_nr_extents};",
        f"la-size-sect {sb.la_size_sect};",
        f"bm-byte-per-bit {sb.bm_bytes_per_bit};",
        f"device-uuid 0x{sb.device_uuid:016X};",
        f"la-peer-max-bio-size {sb.la_peer_max_bio_size};",
        f"al-stripes {sb.al_stripes};",
        f"al-stripe-size-4k {sb.al_stripe_size_4k};",
    ]
    nbytes = bm_bytes(sb.la_size_sect) if sb.la_size_sect else 0
    if len(bitmap) < nbytes:
        raise ValueError(f"dump-md needs {nbytes} bitmap bytes, got {len(bitmap)}")
    lines.append(f"# bm-bytes {nbytes};")
    text, bits_set = render_bitmap(bytes(bitmap[:nbytes]))
    lines.append("bm " + text)
    lines.append(f"# bits-set {bits_set};")
    return "\n".join(lines) + "\n"


def render_bitmap(data: bytes) -> tuple[str, int]:
    """drbdmeta's `fprintf_bm` for one bitmap: `{ ... }` text and the number of set bits."""
    if len(data) % 4:
        raise ValueError("bitmap length must be whole 32-bit words")
    n = len(data) // 4
    out: list[str] = ["{"]
    i = 0
    while i < n:
        if i % _WORDS_PER_LINE == 0:
            out.append(f"\n   # at {128 * i}kB\n   " if i % 64 == 0 else "\n   ")
            run = _run_end(data, i, n) - i
            run -= run % _WORDS_PER_LINE
            if run > _WORDS_PER_LINE:
                word = data[4 * i : 4 * i + 4][::-1].hex().upper()
                out.append(f" {run // 2} times 0x{word}{word};")
                i += run
                continue
        low = data[4 * i : 4 * i + 4][::-1].hex().upper()
        high = data[4 * i + 4 : 4 * i + 8][::-1].hex().upper()
        out.append(f" 0x{high}{low};")
        i += 2
    out.append("\n}")
    return "".join(out), int.from_bytes(data, "little").bit_count()


def _run_end(data: bytes, i: int, n: int) -> int:
    """Index of the first 32-bit word at or after `i` that differs from word `i`."""
    word = data[4 * i : 4 * i + 4]
    pattern = _RUN_OF.get(word)
    if pattern is not None:
        match = pattern.search(data, 4 * i)
        return n if match is None else match.start() // 4
    j = i + 1
    while j < n and data[4 * j : 4 * j + 4] == word:
        j += 1
    return j
