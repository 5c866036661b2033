"""Block digests for `verify-alg` and `csums-alg`, by DRBD's (kernel crypto) names.

hashlib and zlib do the work; crc32c (Castagnoli) has no C implementation in the standard library
and is computed in Python (`crc32c.py`), which is correct but slow: prefer sha1, md5 or crc32 for
large volumes.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Callable

from hapair.core.volume.crc32c import crc32c

Digest = Callable[[bytes | memoryview], bytes]


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
