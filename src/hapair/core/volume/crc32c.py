"""CRC-32C (Castagnoli), the checksum DRBD puts in activity-log transactions.

DRBD computes it with the kernel's `crc32c(0, buf, len)`: reflected polynomial 0x82F63B78, initial
value 0 and no final inversion (not the iSCSI convention of ~0 in and out). `crc32c_drbd` matches
that, so our activity-log blocks are byte-identical to DRBD's and drbdmeta can read them; `crc32c`
is the standard convention (RFC 3720), used for hapair's own superblock checksum.
"""

from __future__ import annotations


def _make_tables() -> tuple[tuple[int, ...], ...]:
    base = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        base.append(crc)
    tables = [tuple(base)]
    for _ in range(3):
        prev = tables[-1]
        tables.append(tuple((prev[i] >> 8) ^ base[prev[i] & 0xFF] for i in range(256)))
    return tuple(tables)


_T0, _T1, _T2, _T3 = _make_tables()


def _update(crc: int, data: bytes | bytearray | memoryview) -> int:
    view = memoryview(data).cast("B")
    n = len(view)
    whole = n - n % 4
    i = 0
    while i < whole:
        crc ^= view[i] | view[i + 1] << 8 | view[i + 2] << 16 | view[i + 3] << 24
        crc = _T3[crc & 0xFF] ^ _T2[crc >> 8 & 0xFF] ^ _T1[crc >> 16 & 0xFF] ^ _T0[crc >> 24]
        i += 4
    while i < n:
        crc = (crc >> 8) ^ _T0[(crc ^ view[i]) & 0xFF]
        i += 1
    return crc


def crc32c_drbd(data: bytes | bytearray | memoryview, seed: int = 0) -> int:
    """The Linux kernel's `crc32c(seed, data)`: no pre- or post-inversion."""
    return _update(seed & 0xFFFFFFFF, data)


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """Standard CRC-32C (RFC 3720): crc32c(b"123456789") == 0xE3069283."""
    return _update(0xFFFFFFFF, data) ^ 0xFFFFFFFF
