"""Interop with the real drbdmeta (drbd-utils): sizing, our metadata and activity log as DRBD
reads them, and dump-md's bitmap text. Needs root (loop devices) and drbdmeta."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hapair.core.volume.activity_log import ActivityLog, AlLayout
from hapair.core.volume.metadata import MdFlags, encode_slot, internal_layout, read_superblock
from hapair.core.volume.metadata_dump import render_bitmap
from hapair.core.volume.metadata_lifecycle import MetadataWrite, create_md_plan, existing_metadata

pytestmark = [
    pytest.mark.interop,
    pytest.mark.root,
    pytest.mark.skipif(shutil.which("drbdmeta") is None, reason="drbdmeta (drbd-utils) is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="loop devices need root"),
]
GIB = 1 << 30
EXT = 4 << 20


def run(*args: str) -> str:
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False
    )
    return done.stdout + done.stderr


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    image = tmp_path / "backing.img"
    image.touch()
    os.truncate(image, GIB)
    device = run("losetup", "--show", "-f", str(image)).strip()
    assert device.startswith("/dev/loop"), device
    try:
        yield device, image
    finally:
        run("losetup", "-d", device)


def resize(device: str, image: Path, size: int) -> None:
    os.truncate(image, size)
    run("losetup", "-c", device)


def drbdmeta(device: str, *command: str) -> str:
    return run("drbdmeta", "--force", "0", "v08", device, "internal", *command)


def dumped_offsets(dump: str) -> tuple[int, ...]:
    values = []
    for field in ("md_size_sect", "md_offset", "al_offset", "bm_offset"):
        found = re.search(rf"^# {field} (\d+)$", dump, re.M)
        assert found is not None, dump
        values.append(int(found.group(1)))
    return tuple(values)


@pytest.mark.parametrize("size", [64 << 20, GIB, 10 * GIB + 3 * 512, 100 * GIB])
def test_internal_sizing_matches_drbdmeta(loop_device: tuple[str, Path], size: int) -> None:
    device, image = loop_device
    resize(device, image, size)
    assert "successfully created" in drbdmeta(device, "create-md")
    layout = internal_layout(size)
    assert dumped_offsets(drbdmeta(device, "dump-md")) == (
        layout.md_size_sect, layout.md_offset, layout.al_offset, layout.bm_offset,
    )  # fmt: skip
    with open(device, "rb") as f:
        f.seek(layout.md_offset)
        block = f.read(4096)
    found = existing_metadata(block)
    assert found is not None and found.kind == "drbd"


def test_drbdmeta_reads_our_create_md(loop_device: tuple[str, Path]) -> None:
    device, _ = loop_device
    layout = internal_layout(GIB)
    _, writes = create_md_plan(layout, 1237)
    with open(device, "r+b") as f:
        for w in writes:
            f.seek(layout.area_offset + w.offset)
            f.write(w.data if isinstance(w, MetadataWrite) else bytes(w.length))
    assert drbdmeta(device, "get-gi").splitlines()[0] == (
        "0000000000000004:0000000000000000:0000000000000000:0000000000000000:0:0:0:0:0:0:0"
    )
    assert "# al-extents 1237;" in drbdmeta(device, "dump-md")


def test_drbdmeta_applies_our_activity_log(loop_device: tuple[str, Path]) -> None:
    device, _ = loop_device
    layout = internal_layout(GIB)
    _, writes = create_md_plan(layout, 257)
    al = ActivityLog(257, AlLayout())
    with open(device, "r+b") as f:
        for w in writes:
            f.seek(layout.area_offset + w.offset)
            f.write(w.data if isinstance(w, MetadataWrite) else bytes(w.length))
        for t in range(12):  # more transactions than ring blocks: the ring wraps
            for e in (t, 40 + 3 * t):
                al.begin_io(e * EXT, 4096)
            tr = al.prepare_transaction()
            assert tr is not None
            f.seek(layout.al_offset + tr.block * 4096)
            f.write(tr.data)
            al.transaction_persisted(tr)
        f.seek(layout.md_offset)
        sb = read_superblock(f.read(1024)).superblock
        crashed = replace(
            sb,
            la_size_sect=layout.max_data_bytes() // 512,
            flags=MdFlags.PRIMARY_IND | MdFlags.CONSISTENT,
            clean=False,
        )
        f.seek(layout.md_offset)
        f.write(encode_slot(crashed, 0))
    out = drbdmeta(device, "apply-al")
    assert "Marked additional" in out
    dump = drbdmeta(device, "dump-md")
    assert f"# bits-set {len(al.active_extents()) * 1024};" in dump


def test_dump_md_bitmap_text_matches_drbdmeta(loop_device: tuple[str, Path]) -> None:
    device, _ = loop_device
    layout = internal_layout(GIB)
    drbdmeta(device, "create-md")
    bitmap = bytearray(32768)
    for i in range(0, 32768, 7):
        bitmap[i] = (i * 37) & 0xFF
    bitmap[100:3000] = b"\xff" * 2900
    bitmap[20000:20064] = b"\x01\x00\x00\x00" * 16
    with open(device, "r+b") as f:
        f.seek(layout.md_offset)
        block = bytearray(f.read(4096))
        block[0:8] = (layout.max_data_bytes() // 512).to_bytes(8, "big")
        f.seek(layout.md_offset)
        f.write(block)
        f.seek(layout.bm_offset)
        f.write(bitmap)
    dump = drbdmeta(device, "dump-md")
    start = dump.index("bm {") + 3
    end = dump.index("\n}", start) + 2
    text, bits = render_bitmap(bytes(bitmap))
    assert dump[start:end] == text
    assert f"# bits-set {bits};" in dump
