"""Block digests for `verify-alg` and `csums-alg`, by DRBD's (kernel crypto) names.

hashlib and zlib do the work; crc32c (Castagnoli) has no C implementation in the standard library
and is computed here with a byte table, which is correct but slow (about 1 ms per 4 KiB): prefer
sha1, md5 or crc32 for large volumes.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Callable

Digest = Callable[[bytes | memoryview], bytes]


def _crc32c_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC32C_TABLE = _crc32c_table()


def crc32c(data: bytes | memoryview, crc: int = 0) -> int:
    """CRC-32C (iSCSI polynomial, reflected), as the kernel's crc32c and DRBD's metadata use it."""
    crc ^= 0xFFFFFFFF
    table = _CRC32C_TABLE
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _hashlib(name: str) -> Digest:
    def digest(data: bytes | memoryview) -> bytes:
        return hashlib.new(name, data).digest()

    return digest


DIGESTS: dict[str, Digest] = {
    "md5": _hashlib("md5"),
    "sha1": _hashlib("sha1"),
    "sha256": _hashlib("sha256"),
    "sha512": _hashlib("sha512"),
    "crc32": lambda data: struct.pack(">I", zlib.crc32(data)),
    "crc32c": lambda data: struct.pack(">I", crc32c(data)),
}


def block_digest(algorithm: str, data: bytes | memoryview) -> bytes:
    """The digest of one block's content; `algorithm` must be a key of DIGESTS."""
    return DIGESTS[algorithm](data)
